import { AuditTrail } from "../audit/audit-trail";
import type { Database } from "../storage/connection";
import type { ChangeJournal } from "../storage/change-journal";
import { OrganizationStore, ScimTokenStore } from "../storage/organizations";
import { UserStore } from "../storage/users";
import { AuthFailureCounters } from "../storage/auth-failures";
import { Organizations } from "./organizations";
import { ScimTokens } from "./scim-tokens";
import { UserDirectory } from "./users";
import { GroupDirectory } from "./groups";
import { GroupStore } from "../storage/groups";
import { AccessDirectory } from "./access";
import type { AccessCatalog } from "../domain/catalog";
import { MemberAdministration } from "./members";
import { SamlConnections } from "./saml-connections";
import { AccessReview } from "./access-review";
import { Outbox } from "../storage/outbox";
import { SamlAssertionLedger, SamlRequestCache, sweepSamlState } from "../storage/saml-state";
import { SamlSignIn } from "./saml-sign-in";
import { SessionStore } from "../storage/sessions";
import type { SessionTimeouts } from "../domain/session";
import { Sessions } from "./sessions";
import { SamlLogout } from "./saml-logout";
import { Deprovisioning } from "./deprovisioning";
import { AuthFailures } from "./auth-failures";
import { SamlState } from "./saml-state";
import { OffboardingStore } from "../storage/offboardings";
import { OffboardingOutcomes } from "./offboarding-outcomes";
import { Offboardings } from "./offboardings";
import { EmailDomainStore, SamlTestStore, SignInLinkStore } from "../storage/sign-in";
import { SamlTests } from "./saml-tests";
import { EmailDomains } from "./email-domains";
import { SignInPolicy } from "./sign-in-policy";
import { SignInLinks } from "./sign-in-links";
import { ProvisioningActivity } from "./provisioning-activity";
import { GroupOverview } from "./group-overview";
import { AccessChanges } from "./access-changes";
import { GroupMappings } from "./mappings";
import { CertificateWatch } from "./certificate-watch";
import { DirectoryEvents } from "./directory-events";
import { defaultDeliverySchedule, Webhooks, type DeliverySchedule } from "./webhooks";
import { defaultOutboundPolicy, WebhookSender, type OutboundPolicy } from "./webhook-sender";
import { WebhookStore } from "../storage/webhooks";
import { directoryEventLogOf } from "../storage/directory-events";
import { PersonalTokens } from "./personal-tokens";
import { ReviewCompletions } from "./review-completions";
import { PersonalDataErasure } from "./personal-data-erasure";
import { AuditErasureStore } from "../storage/audit-erasure";

/** Every use-case, wired to one database. Built once per process (or per test). */
export interface Services {
  audit: AuditTrail;
  organizations: Organizations;
  scimTokens: ScimTokens;
  users: UserDirectory;
  /** The cascade when a user loses access (the HR offboarding trigger calls it too). */
  deprovisioning: Deprovisioning;
  groups: GroupDirectory;
  access: AccessDirectory;
  /** `user.access_changed`, derived from each change's own event as the outbox delivers it (services/access-changes.ts). */
  accessChanges: AccessChanges;
  /** Editing a mapping and previewing a mapping's effect (services/mappings.ts). */
  mappings: GroupMappings;
  members: MemberAdministration;
  saml: SamlConnections;
  accessReview: AccessReview;
  authFailures: AuthFailures;
  samlSignIn: SamlSignIn;
  samlLogout: SamlLogout;
  /** SAML request ids and used assertions, shared by every instance (services/saml-state.ts). */
  samlState: SamlState;
  sessions: Sessions;
  /** HR offboarding, now or on a date (services/offboardings.ts; its scheduler: offboarding-scheduler.ts). */
  offboardings: Offboardings;
  /** Sign-in to the console besides SAML: email domains (discovery), break-glass links, requireSso. */
  emailDomains: EmailDomains;
  signInPolicy: SignInPolicy;
  signInLinks: SignInLinks;
  provisioningActivity: ProvisioningActivity;
  /** SAML test sign-ins: the real flow, no session (services/saml-tests.ts). */
  samlTests: SamlTests;
  /** Groups as administrators look at them (admin/group-routes.ts). */
  groupOverview: GroupOverview;
  /** The identity providers' signing certificates noticed expiring (services/certificate-watch.ts). */
  certificateWatch: CertificateWatch;
  /** Directory events for the product: the events API (services/directory-events.ts). */
  directoryEvents: DirectoryEvents;
  /** Webhook endpoints and their delivery (services/webhooks.ts); the server starts delivery. */
  webhooks: Webhooks;
  /** Members' own personal API tokens (issue 13 §2). */
  personalTokens: PersonalTokens;
  /** Reviewers' sign-offs of the access review, in the audit trail (issue 13 §3). */
  reviewCompletions: ReviewCompletions;
  /** A deleted member's personal data replaced by a pseudonym in the audit trail (issue 13 §3). */
  personalDataErasure: PersonalDataErasure;
  /** The audit outbox's recovery: run at start-up and by the maintenance timer (storage/outbox.ts). */
  recoverAuditOutbox(): Promise<number>;
  /** Waits for background writes to finish (shutdown). */
  settle(): Promise<void>;
  /**
   * With `residentDirectory`: reads users and groups into memory (storage/resident-directory.ts).
   * The server awaits it before it listens; without resident mode it does nothing.
   */
  load(): Promise<void>;
}

export function createServices(
  db: Database,
  options: {
    authFailureWindowSeconds: number;
    /** Config's PUBLIC_BASE_URL: the service provider's SAML URLs are derived from it. */
    publicBaseUrl: string;
    /** Config's SAML_SP_CERT_FILE content: shown with the connection (it signs logout messages). */
    samlServiceProviderCertificate?: string;
    outbox?: Outbox;
    onAuditDeliveryFailure?: (error: unknown) => void;
    warn?: (message: string, detail: Record<string, unknown>) => void;
    /** Session timeouts (Config.sessions); 30 minutes idle, 12 hours absolute when absent. */
    sessions?: SessionTimeouts;
    /** The sessions' clock, for tests of the timeouts. */
    sessionClock?: () => Date;
    /** Config's ACCESS_CATALOG: the product's permissions and roles; the shipped catalog when absent. */
    accessCatalog?: AccessCatalog;
    /**
     * This process is the embedded database's one server: tokens and organizations stay resident in
     * memory, other processes' writes reaching them through `journal` (storage/change-journal.ts).
     */
    resident?: { journal: ChangeJournal };
    /**
     * Users and groups answered from memory (storage/resident-directory.ts): only for the embedded
     * database, which one server process serves. Then `load()` must be awaited before serving.
     */
    residentDirectory?: boolean;
    /** How other processes' writes reach the resident directory; none when absent. */
    changeJournal?: ChangeJournal;
    /** Outbound webhook safety (Config.webhooks) and, for tests, the sender's limits. */
    webhooks?: Partial<OutboundPolicy>;
    /** Test seam: a shorter retry schedule. */
    webhookSchedule?: Partial<DeliverySchedule>;
    /** Test seam: the sender (its name resolution, its limits). */
    webhookSender?: WebhookSender;
  },
): Services {
  // The embedded database's one server (`resident`) moves events into the trail after the answer,
  // behind a read barrier (storage/trail-moves.ts); elsewhere the request awaits the move.
  const outbox = options.outbox ?? new Outbox(db.models, options.onAuditDeliveryFailure, { oneServer: Boolean(options.resident) });
  const audit = new AuditTrail(db.models);
  const tokenStore = new ScimTokenStore(db.models, outbox, options.resident?.journal);
  const scimTokens = new ScimTokens(tokenStore, audit);
  const journal = options.changeJournal ?? options.resident?.journal;
  const resident = { resident: options.residentDirectory ?? false, ...(journal ? { journal } : {}) };
  const userStore = new UserStore(db.models, outbox, resident);
  const organizationStore = new OrganizationStore(db.models, outbox, options.resident?.journal);
  const groupStore = new GroupStore(db.models, outbox, resident);
  const sessionStore = new SessionStore(db.models, outbox);
  // Wiring only: every rule lives in the use-case a reader opens by name (services/deprovisioning.ts
  // for the cascade when a user loses access; services/users.ts and services/groups.ts call it).
  const access = new AccessDirectory(organizationStore, userStore, groupStore, audit, options.accessCatalog);
  const offboardingStore = new OffboardingStore(db.models, outbox);
  const accessChanges = new AccessChanges(access, userStore, groupStore, audit);
  outbox.followWith(accessChanges);
  const deprovisioning = new Deprovisioning(organizationStore, userStore, access, scimTokens, audit, new OffboardingOutcomes(offboardingStore, userStore, audit));
  const users = new UserDirectory(userStore, audit, deprovisioning, access);
  const groups = new GroupDirectory(groupStore, userStore, audit, deprovisioning);
  const organizations = new Organizations(organizationStore, scimTokens, users, audit);
  const saml = new SamlConnections(organizationStore, audit, { publicBaseUrl: options.publicBaseUrl, ...(options.samlServiceProviderCertificate ? { certificate: options.samlServiceProviderCertificate } : {}) });
  const outbound = { ...defaultOutboundPolicy, ...options.webhooks };
  const webhooks = new Webhooks(new WebhookStore(db.models), directoryEventLogOf(db.models), options.webhookSender ?? new WebhookSender(outbound), audit, outbound, { ...defaultDeliverySchedule, ...options.webhookSchedule });
  const accessReview = new AccessReview(users, access, undefined, undefined, saml);
  const sessions = new Sessions(sessionStore, users, audit, options.sessions, options.sessionClock);
  const emailDomainStore = new EmailDomainStore(db.models, outbox);
  const signInLinkStore = new SignInLinkStore(db.models, outbox);
  const signInPolicy = new SignInPolicy(organizationStore, audit);
  const samlTestStore = new SamlTestStore(db.models, outbox);
  const samlSignIn = new SamlSignIn(users, access, audit, options.warn);
  const samlState = new SamlState(
    (organizationId, lifetimeMs, kind) => new SamlRequestCache(db.models, organizationId, lifetimeMs, undefined, kind),
    new SamlAssertionLedger(db.models),
    (now) => sweepSamlState(db.models, now),
  );
  return {
    audit,
    scimTokens,
    organizations,
    users,
    deprovisioning,
    groups,
    access,
    accessChanges,
    mappings: new GroupMappings(access, organizationStore, accessChanges, audit),
    members: new MemberAdministration(users, access, organizations),
    saml,
    samlSignIn,
    samlTests: new SamlTests(samlTestStore, saml, samlSignIn, audit),
    samlState,
    offboardings: new Offboardings(offboardingStore, users, access, audit),
    directoryEvents: new DirectoryEvents(directoryEventLogOf(db.models)),
    certificateWatch: new CertificateWatch(organizations, saml, audit),
    webhooks,
    accessReview,
    reviewCompletions: new ReviewCompletions(audit, accessReview, access),
    personalDataErasure: new PersonalDataErasure(new AuditErasureStore(db.models), tokenStore, sessionStore, users, access, audit),
    authFailures: new AuthFailures(new AuthFailureCounters(db.models, options.authFailureWindowSeconds)),
    sessions,
    personalTokens: new PersonalTokens(scimTokens, access, users),
    samlLogout: new SamlLogout(sessions, audit),
    emailDomains: new EmailDomains(emailDomainStore, audit),
    signInPolicy,
    signInLinks: new SignInLinks(signInLinkStore, users, sessions, signInPolicy, samlState, audit, options.publicBaseUrl, options.sessionClock),
    provisioningActivity: new ProvisioningActivity(audit, scimTokens),
    groupOverview: new GroupOverview(groups, userStore, access),
    async recoverAuditOutbox() {
      let recovered = 0;
      for (const store of [organizationStore, tokenStore, userStore, groupStore, sessionStore, emailDomainStore, signInLinkStore, samlTestStore, offboardingStore]) recovered += await store.recoverOutbox();
      return recovered;
    },
    async settle() {
      await webhooks.stopDelivery();
      await outbox.settle();
    },
    async load() {
      await Promise.all([userStore.load(), groupStore.load()]);
    },
  };
}
