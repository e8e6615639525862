import { randomBytes } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { EffectiveAccess } from "../domain/access";
import type { RequestContext } from "../domain/context";
import { SamlRefusal, type SamlConnection } from "../domain/saml";
import { NotFoundError } from "../errors";
import type { SamlTestStore, StoredSamlTest } from "../storage/sign-in";
import { SamlSignIn, type AssertedIdentity, type SignInContext } from "./saml-sign-in";
import type { SamlConnections } from "./saml-connections";

type Scope = Pick<RequestContext, "organizationId">;

/** How long a started test waits for the identity provider's answer. */
export const samlTestLifetimeMs = 10 * 60_000;

/** The RelayState that marks a sign-in as a test: a path, so the login route passes it on unchanged. */
const MARKER = /^\/__gatehouse\/saml-test\/([0-9a-f]{32})$/;

/** What the assertion carried: everything a person setting up the connection compares with the identity provider's configuration. */
export interface AssertionContents {
  readonly nameId: string;
  readonly nameIdFormat?: string;
  readonly sessionIndex?: string;
  /** Every attribute as sent, by name (names are often URIs, so a list rather than an object). */
  readonly attributes: readonly { readonly name: string; readonly values: readonly string[] }[];
  /** What Gatehouse read from it with the connection's attribute names. */
  readonly identity: AssertedIdentity;
}

/** The access the person would have, and where it would come from. */
export interface AccessSummary {
  readonly organizationRole: string | null;
  readonly allProjects: boolean;
  readonly projects: readonly { readonly projectId: string; readonly role: string }[];
  readonly sources: readonly { readonly kind: string; readonly role: string; readonly groupName?: string; readonly mappingId?: string }[];
}

export type SamlTestOutcome =
  | { readonly result: "would_sign_in"; readonly at: Date; readonly assertion: AssertionContents; readonly member: { readonly id: string | null; readonly userName: string; readonly createdJustInTime: boolean }; readonly access: AccessSummary }
  | { readonly result: "refused"; readonly at: Date; readonly assertion?: AssertionContents; readonly refusal: { readonly reason: string; readonly message: string; readonly detail?: string } };

export interface SamlTest {
  readonly id: string;
  readonly created: Date;
  readonly expires: Date;
  readonly startedBy: { readonly id: string; readonly name: string };
  readonly outcome?: SamlTestOutcome;
}

/**
 * The SAML test sign-in: an administrator starts the real flow (`POST /api/v1/saml-connection/test`
 * gives the URL to open); the identity provider's answer comes back to the assertion consumer with
 * the test's marker as RelayState, is checked exactly as a sign-in is (signature, issuer, audience,
 * times, replay, this browser), and then — instead of a session — its contents and what Gatehouse
 * would decide (who would get in, with what access, or why not) are stored for the administrator
 * (`GET /api/v1/saml-connection/test/{id}`). Nothing else is written: no just-in-time member, no
 * recorded sign-in. Audited: `saml_connection.test_started`, `saml_connection.test_completed`.
 * A test takes one answer, within ten minutes.
 */
export class SamlTests {
  constructor(
    private readonly store: SamlTestStore,
    private readonly connections: SamlConnections,
    private readonly signIn: SamlSignIn,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The test id a RelayState names, if it is a test's marker. */
  static testIdOf(relayState: unknown): string | undefined {
    return typeof relayState === "string" ? MARKER.exec(relayState)?.[1] : undefined;
  }

  async start(ctx: RequestContext): Promise<{ test: SamlTest; signInUrl: string }> {
    if (!(await this.connections.get(ctx))) throw new NotFoundError("No SAML connection is configured: configure one before testing it");
    const created = this.now();
    const test: StoredSamlTest = {
      id: randomBytes(16).toString("hex"),
      organizationId: ctx.organizationId,
      startedBy: { ...ctx.actor },
      created,
      expires: new Date(created.getTime() + samlTestLifetimeMs),
    };
    await this.store.insert(test, this.audit.event(ctx, { action: "saml_connection.test_started", target: { type: "organization", id: ctx.organizationId }, after: { testId: test.id, expiresAt: test.expires } }));
    return { test: present(test), signInUrl: `/auth/saml/${encodeURIComponent(ctx.organizationId)}/login?RelayState=${encodeURIComponent(`/__gatehouse/saml-test/${test.id}`)}` };
  }

  async get(ctx: Scope, id: string): Promise<SamlTest> {
    const test = await this.store.find(id);
    if (!test || test.organizationId !== ctx.organizationId) throw new NotFoundError(`No SAML test ${id}`);
    return present(test);
  }

  /** Whether the organization has this test waiting for its answer (started, not expired, not answered). */
  async isWaiting(organizationId: string, id: string): Promise<boolean> {
    const test = await this.store.find(id);
    return Boolean(test && test.organizationId === organizationId && !test.outcome && this.now().getTime() < test.expires.getTime());
  }

  /** Decides, without writing anything else, what the verified assertion would do, and stores it as the test's outcome. */
  async complete(at: SignInContext, connection: SamlConnection, testId: string, assertion: AssertionContents): Promise<SamlTestOutcome> {
    let outcome: SamlTestOutcome;
    try {
      const preview = await this.signIn.preview(at, connection, assertion.identity);
      outcome = { result: "would_sign_in", at: this.now(), assertion, member: { id: preview.created ? null : preview.user.id, userName: preview.user.userName, createdJustInTime: preview.created }, access: summaryOf(preview.access) };
    } catch (error) {
      if (!(error instanceof SamlRefusal)) throw error;
      outcome = { result: "refused", at: this.now(), assertion, refusal: refusalOf(error) };
    }
    await this.store.recordOutcome(testId, toStored(outcome), this.completed(at, connection, testId, outcome));
    return outcome;
  }

  /** Stores a refusal made before the assertion could be trusted (signature, issuer, replay …). */
  async refused(at: SignInContext, connection: SamlConnection | undefined, testId: string, refusal: SamlRefusal): Promise<void> {
    const outcome: SamlTestOutcome = { result: "refused", at: this.now(), refusal: refusalOf(refusal) };
    await this.store.recordOutcome(testId, toStored(outcome), this.completed(at, connection, testId, outcome));
  }

  private completed(at: SignInContext, connection: SamlConnection | undefined, testId: string, outcome: SamlTestOutcome) {
    return this.audit.event(
      { ...at, actor: connection ? SamlSignIn.connectionActor(connection, at.organizationId) : { type: "system", id: "saml", name: "SAML" }, source: "saml" },
      {
        action: "saml_connection.test_completed",
        target: { type: "organization", id: at.organizationId },
        after: {
          testId,
          result: outcome.result,
          ...(outcome.assertion ? { nameId: outcome.assertion.nameId } : {}),
          ...(outcome.result === "refused" ? { reason: outcome.refusal.reason } : { role: outcome.access.organizationRole }),
        },
      },
    );
  }

  /** Deletes tests a day after they expired. */
  sweep(): Promise<number> {
    return this.store.deleteExpiredBefore(new Date(this.now().getTime() - 24 * 3_600_000));
  }
}

function refusalOf(refusal: SamlRefusal) {
  return { reason: refusal.reason, message: refusal.message, ...(refusal.detail ? { detail: refusal.detail } : {}) };
}

function summaryOf(access: EffectiveAccess): AccessSummary {
  return {
    organizationRole: access.organizationRole ?? null,
    allProjects: access.allProjects,
    projects: access.projects.map((p) => ({ projectId: p.projectId, role: p.role })),
    sources: access.sources.map((s) => ({ kind: s.kind, role: s.role, ...(s.groupName ? { groupName: s.groupName } : {}), ...(s.mappingId ? { mappingId: s.mappingId } : {}) })),
  };
}

/** The outcome as stored: plain data (times as Date, no undefined). */
function toStored(outcome: SamlTestOutcome): Record<string, unknown> {
  return { ...(JSON.parse(JSON.stringify(outcome)) as Record<string, unknown>), at: outcome.at };
}

/** A stored outcome as the domain reads it back. */
function fromStored(stored: Record<string, unknown>): SamlTestOutcome {
  return { ...(stored as unknown as SamlTestOutcome), at: new Date(stored.at as Date) };
}

function present(test: StoredSamlTest): SamlTest {
  return {
    id: test.id,
    created: test.created,
    expires: test.expires,
    startedBy: { id: test.startedBy.id, name: test.startedBy.name },
    ...(test.outcome ? { outcome: fromStored(test.outcome) } : {}),
  };
}
