import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import type { SamlConnection, SamlRefusal } from "../domain/saml";
import { SamlSignIn } from "./saml-sign-in";
import type { Sessions } from "./sessions";

/** Where a SAML logout message arrived: the organization and the request, as for sign-in. */
export type LogoutContext = Pick<RequestContext, "organizationId" | "requestId">;

/** Which logout message was refused: one the identity provider started, or its answer to Gatehouse's. */
export type LogoutMessage = "LogoutRequest" | "LogoutResponse";

/**
 * SAML single logout's rules (SAML Profiles §4.4): a LogoutRequest from the identity provider ends
 * the sessions begun with its NameID (and SessionIndex), on every instance at once since sessions
 * live in MongoDB; every refused logout message is audited with its reason.
 */
export class SamlLogout {
  constructor(
    private readonly sessions: Sessions,
    private readonly audit: AuditTrail,
  ) {}

  /** Ends the sessions the identity provider's verified LogoutRequest names; returns their ids. */
  async identityProviderLogout(at: LogoutContext, connection: SamlConnection, subject: { nameId: string; sessionIndexes: readonly string[] }): Promise<string[]> {
    const ctx: RequestContext = { ...at, actor: SamlSignIn.connectionActor(connection, at.organizationId), source: "saml" };
    return this.sessions.endSamlSessions(ctx, subject, "Signed out at the identity provider (SAML single logout)");
  }

  /**
   * Records a refused logout message (`saml.logout_refused`), never the message itself. `message`
   * is undefined when the request body could not even be read to tell which one it was.
   */
  async refused(at: LogoutContext, connection: SamlConnection, message: LogoutMessage | undefined, refusal: SamlRefusal): Promise<void> {
    await this.audit.record(
      { ...at, actor: SamlSignIn.connectionActor(connection, at.organizationId), source: "saml" },
      {
        action: "saml.logout_refused",
        target: { type: "organization", id: at.organizationId },
        after: { ...(message ? { message } : {}), reason: refusal.reason, ...(refusal.detail ? { detail: refusal.detail } : {}) },
        reason: refusal.message,
      },
    );
  }
}
