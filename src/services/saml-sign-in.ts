import type { AuditTrail } from "../audit/audit-trail";
import type { Actor, RequestContext } from "../domain/context";
import { SamlRefusal, type SamlConnection } from "../domain/saml";
import type { User } from "../domain/user";
import type { AccessDirectory } from "./access";
import type { UserDirectory } from "./users";

/** Who a verified assertion says the person is (the SAML adapter reads it from the assertion). */
export interface AssertedIdentity {
  /** The assertion's NameID: matched against userName. */
  readonly nameId: string;
  readonly email?: string;
  readonly displayName?: string;
  /**
   * The groups the assertion names, when it has a groups attribute; "overage" when Entra ID sent
   * a link instead of the groups (more than 150 of them).
   */
  readonly groups?: readonly string[] | "overage";
}

export interface SignInContext {
  readonly organizationId: string;
  readonly requestId: string;
}

/**
 * The login rules for a verified assertion: an active member gets in; a deactivated, suspended,
 * unknown (without JIT) or access-less member is refused with a reason; with JIT an unknown person
 * becomes a member managed by SAML; with group sync the asserted groups become theirs for access.
 * Every sign-in and every refusal is in the audit trail.
 */
export class SamlSignIn {
  constructor(
    private readonly users: UserDirectory,
    private readonly access: AccessDirectory,
    private readonly audit: AuditTrail,
    private readonly warn: (message: string, detail: Record<string, unknown>) => void = () => undefined,
  ) {}

  static connectionActor(connection: SamlConnection, organizationId: string): Actor {
    return { type: "saml_connection", id: organizationId, name: `SAML (${connection.idpEntityId})` };
  }

  async signIn(at: SignInContext, connection: SamlConnection, identity: AssertedIdentity): Promise<User> {
    const providerCtx: RequestContext = { ...at, actor: SamlSignIn.connectionActor(connection, at.organizationId), source: "saml" };
    const userName = identity.nameId.trim();
    if (!userName) throw new SamlRefusal("invalid_response", "The identity provider did not say who you are.", "empty NameID");

    let user = (await this.users.findByUserName(at, userName)) ?? (identity.email ? await this.users.findByUserName(at, identity.email) : undefined);
    if (!user || (user.managedBy === "local" && connection.jit)) {
      if (!connection.jit) throw new SamlRefusal("unknown_user", "You do not have an account in this organization. Ask an administrator to add you.", `no user ${userName}`);
      // Just-in-time provisioning; a local user with that userName is linked (keeps id and access).
      user = await this.users.provision(
        providerCtx,
        {
          userName,
          ...(identity.email ? { emails: [{ value: identity.email, type: "work", primary: true }] } : {}),
          ...(identity.displayName ? { displayName: identity.displayName } : {}),
        },
        "saml",
      );
    }
    if (!user.active) throw new SamlRefusal("inactive_user", "Your account in this organization is deactivated.", `user ${user.id} is inactive`);
    if (user.suspended) throw new SamlRefusal("suspended_user", "Your account in this organization is suspended. Contact an administrator.", `user ${user.id} is suspended`);

    const userCtx: RequestContext = { ...at, actor: { type: "user", id: user.id, name: user.userName }, source: "saml" };
    let samlGroups: readonly string[] | undefined;
    if (connection.groupSync) {
      if (identity.groups === "overage") {
        // Never strip access silently: keep what the last complete assertion said, and say so.
        this.warn("SAML group sync skipped: the identity provider sent a groups link instead of the groups (Entra ID group overage)", { organizationId: at.organizationId, userId: user.id });
        await this.audit.record(userCtx, {
          action: "saml.group_sync_skipped",
          target: { type: "user", id: user.id, display: user.userName },
          reason: "the assertion carries a link to the groups instead of the groups (Entra ID sends one for more than 150 groups); use SCIM or groups assigned to the application",
        });
      } else {
        samlGroups = identity.groups ?? [];
      }
    }
    const access = await this.access.accessOf(at, user, samlGroups ? { samlGroups } : {});
    if (!access.organizationRole) throw new SamlRefusal("no_access", "You have no access to this organization. Ask an administrator to add you to a group that grants it.", access.denial ?? "no access");
    return this.users.recordSignIn(userCtx, user, { via: "saml", ...(samlGroups ? { samlGroups } : {}) });
  }

  /** Records a refused sign-in (never the assertion itself); `nameId` when the assertion was verified. */
  async refused(at: SignInContext, connection: SamlConnection | undefined, refusal: SamlRefusal, nameId?: string): Promise<void> {
    await this.audit.record(
      {
        ...at,
        actor: connection ? SamlSignIn.connectionActor(connection, at.organizationId) : { type: "system", id: "saml", name: "SAML" },
        source: "saml",
      },
      {
        action: "saml.sign_in_refused",
        target: { type: "organization", id: at.organizationId },
        after: { reason: refusal.reason, ...(refusal.detail ? { detail: refusal.detail } : {}), ...(nameId ? { nameId } : {}) },
        reason: refusal.message,
      },
    );
  }
}
