import type { AuditTrail } from "../audit/audit-trail";
import type { AuditEvent } from "../domain/audit";
import type { RequestContext } from "../domain/context";
import { identifiersOf, PersonalDataEraser, pseudonymOf } from "../domain/erasure";
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, PolicyRefusedError } from "../errors";
import type { AuditErasureStore } from "../storage/audit-erasure";
import type { ScimTokenStore } from "../storage/organizations";
import type { SessionStore } from "../storage/sessions";
import { externalIdKeyKind } from "../storage/users";
import type { AccessDirectory } from "./access";
import type { ApiActor } from "./members";
import type { UserDirectory } from "./users";

/** The audit action of an erasure (the existing `user.<past tense>` naming). */
export const PERSONAL_DATA_ERASED = "user.personal_data_erased";

export interface ErasureReport {
  /** What the member is called in the trail from now on. */
  readonly pseudonym: string;
  /** The organization's events read, and those rewritten. */
  readonly eventsScanned: number;
  readonly eventsRewritten: number;
  readonly personalTokens: number;
  readonly sessions: number;
  /** How long the erasure took. */
  readonly ms: number;
}

/**
 * Personal data erasure (issue 13 §3, GDPR Art. 17): once a member is deleted, the Owner (admin
 * API) or the operator (`gatehouse erase-personal-data`) replaces their names, emails, userName and
 * id in every audit event of the organization — actor, target, before and after, reason — with one
 * stable pseudonym, `erased-` and an HMAC of their id under a secret of the organization. Counts,
 * times, actions, sources and the shape of each event stay, and every event they made still shows
 * one (pseudonymous) actor. Also rewritten: their personal tokens' names and owner; deleted: their
 * remaining sessions (IP address, user agent, NameID) and lookup keys named after their values.
 *
 * Irreversible (the old values are overwritten, the secret never leaves the database) and
 * confirmed: `confirm` must be the member's userName as the trail records it. Refused while the
 * member exists (`409`: delete them first), and `404` when the trail holds nothing about the id
 * (never a member here, or already erased). The erasure is itself audited, as
 * `user.personal_data_erased` naming only the pseudonym and the counts.
 */
export class PersonalDataErasure {
  constructor(
    private readonly store: AuditErasureStore,
    private readonly tokens: ScimTokenStore,
    private readonly sessions: SessionStore,
    private readonly users: UserDirectory,
    private readonly access: AccessDirectory,
    private readonly audit: AuditTrail,
  ) {}

  /** The admin API's check: the organization's Owner, in person. */
  async mayErase(ctx: Pick<RequestContext, "organizationId">, actor: ApiActor): Promise<void> {
    if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
    if ((await this.access.ownerOf(ctx)) !== actor.user.id) throw new PolicyRefusedError("forbidden", "only the Owner erases a member's personal data");
  }

  async erase(ctx: RequestContext, userId: string, confirm: string): Promise<ErasureReport> {
    const began = performance.now();
    const existing = await this.users.get(ctx, userId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (existing) throw new ConflictError(`${existing.userName} is still a member: delete them first, then erase their personal data`);

    const about = await this.eventsAbout(ctx.organizationId, userId);
    if (!about.length) throw new NotFoundError(`The audit trail holds nothing about user ${userId}: never a member of this organization, or already erased`);
    const identifiers = identifiersOf(userId, about);
    const confirmed = confirm.trim().toLowerCase();
    if (!identifiers.userNames.some((name) => name.toLowerCase() === confirmed)) {
      throw new InvalidError("confirm must be the deleted member's userName, as the audit trail records it: erasure cannot be undone");
    }

    const pseudonym = pseudonymOf(userId, await this.store.organizationSecret(ctx.organizationId));
    const eraser = new PersonalDataEraser(identifiers, pseudonym);
    const sessionIds = about.flatMap((event) => {
      const sessionId = event.action === "session.started" && event.target.id === userId ? (event.after as { sessionId?: unknown } | undefined)?.sessionId : undefined;
      return typeof sessionId === "string" ? [sessionId] : [];
    });

    const sessions = await this.sessions.deleteForErasure(sessionIds);
    const personalTokens = await this.tokens.erasePersonalTokens(ctx.organizationId, userId, pseudonym, (name) => eraser.text(name));
    const { scanned, rewritten } = await this.store.rewriteTrail(ctx.organizationId, (event) => eraser.rewrite(event));
    await this.store.deleteUnownedKeys(ctx.organizationId, [externalIdKeyKind, "session.samlSession"], identifiers.unique);

    const report = { pseudonym, eventsScanned: scanned, eventsRewritten: rewritten, personalTokens, sessions, ms: Math.round(performance.now() - began) };
    await this.audit.record(ctx, {
      action: PERSONAL_DATA_ERASED,
      target: { type: "user", id: pseudonym, display: pseudonym },
      after: { eventsRewritten: rewritten, personalTokens, sessions },
    });
    return report;
  }

  /** The events with the member as actor or target: through the indexes (MongoDB) or the resident audit index. */
  private async eventsAbout(organizationId: string, userId: string): Promise<AuditEvent[]> {
    const events = new Map<string, AuditEvent>();
    for (const filter of [{ targetId: userId }, { actorId: userId }]) {
      for await (const page of this.audit.searchAll(organizationId, filter)) for (const event of page) events.set(event.id, event);
    }
    return [...events.values()];
  }
}
