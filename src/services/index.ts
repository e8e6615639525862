import { AuditTrail } from "../audit/audit-trail";
import type { Database } from "../storage/connection";
import { OrganizationStore, ScimTokenStore } from "../storage/organizations";
import { UserStore } from "../storage/users";
import { AuthFailureCounters } from "../storage/auth-failures";
import { Organizations } from "./organizations";
import { ScimTokens } from "./scim-tokens";
import { UserDirectory } from "./users";
import { GroupDirectory } from "./groups";
import { GroupStore } from "../storage/groups";
import { AccessDirectory } from "./access";
import { MemberAdministration } from "./members";
import { SamlConnections } from "./saml-connections";
import { AccessReview } from "./access-review";
import { Outbox } from "../storage/outbox";
import { SessionStore } from "../storage/sessions";
import type { SessionTimeouts } from "../domain/session";
import { Sessions } from "./sessions";

/** Every use-case, wired to one database. Built once per process (or per test). */
export interface Services {
  audit: AuditTrail;
  organizations: Organizations;
  scimTokens: ScimTokens;
  users: UserDirectory;
  groups: GroupDirectory;
  access: AccessDirectory;
  members: MemberAdministration;
  saml: SamlConnections;
  accessReview: AccessReview;
  authFailures: AuthFailureCounters;
  sessions: Sessions;
  /** The audit outbox's recovery: run at start-up and by the maintenance timer (storage/outbox.ts). */
  recoverAuditOutbox(): Promise<number>;
  /** Waits for background writes to finish (shutdown). */
  settle(): Promise<void>;
}

export function createServices(
  db: Database,
  options: {
    authFailureWindowSeconds: number;
    outbox?: Outbox;
    onAuditDeliveryFailure?: (error: unknown) => void;
    /** Session timeouts (Config.sessions); 30 minutes idle, 12 hours absolute when absent. */
    sessions?: SessionTimeouts;
    /** The sessions' clock, for tests of the timeouts. */
    sessionClock?: () => Date;
  },
): Services {
  const outbox = options.outbox ?? new Outbox(db.models, options.onAuditDeliveryFailure);
  const audit = new AuditTrail(db.models);
  const tokenStore = new ScimTokenStore(db.models, outbox);
  const scimTokens = new ScimTokens(tokenStore, audit);
  const userStore = new UserStore(db.models, outbox);
  const organizationStore = new OrganizationStore(db.models, outbox);
  const groupStore = new GroupStore(db.models, outbox);
  const sessionStore = new SessionStore(db.models, outbox);
  const groups = new GroupDirectory(groupStore, userStore, audit);
  const users = new UserDirectory(userStore, audit);
  const access = new AccessDirectory(organizationStore, userStore, groups, audit);
  const organizations = new Organizations(organizationStore, scimTokens, users, audit);
  users.seatLimitOf = (ctx) => access.seatLimit(ctx);
  // Deprovisioning cuts the user's personal API tokens at once; reactivation does not revive them.
  users.deprovisioned = async (ctx, user, why) => {
    // An identity provider may deprovision the Owner: security first, ownership becomes vacant
    // (flagged in the audit trail and the access review) until the operator's break-glass.
    if (why !== "suspended" && (await access.ownerOf(ctx)) === user.id) await organizations.vacateOwnership(ctx, user.id, why);
    const revoked = await scimTokens.revokeAllOf(ctx, user.id);
    if (revoked.length) {
      await audit.record(ctx, { action: "user.access_revoked", target: { type: "user", id: user.id, display: user.userName }, after: { why, personalTokens: revoked } });
    }
  };
  return {
    audit,
    scimTokens,
    organizations,
    users,
    groups,
    access,
    members: new MemberAdministration(users, access, organizations),
    saml: new SamlConnections(organizationStore, audit),
    accessReview: new AccessReview(users, access),
    authFailures: new AuthFailureCounters(db.models, options.authFailureWindowSeconds),
    sessions: new Sessions(sessionStore, users, audit, options.sessions, options.sessionClock),
    async recoverAuditOutbox() {
      let recovered = 0;
      for (const store of [organizationStore, tokenStore, userStore, groupStore, sessionStore]) recovered += await store.recoverOutbox();
      return recovered;
    },
    settle: () => outbox.settle(),
  };
}
