import type { AuditTrail } from "../audit/audit-trail";
import type { Actor, RequestContext } from "../domain/context";
import { SamlRefusal, subjectMatchesUserName, type SamlConnection } from "../domain/saml";
import { ConflictError, InvalidError } from "../errors";
import type { User } from "../domain/user";
import type { AccessDirectory } from "./access";
import type { EffectiveAccess } from "../domain/access";
import type { UserDirectory } from "./users";

/** Who a verified assertion says the person is (the SAML adapter reads it from the assertion). */
export interface AssertedIdentity {
  /** The assertion's NameID, as sent: with the `nameId` subject key, matched against userName. */
  readonly nameId: string;
  /** With the `attribute` subject key: every value of that attribute (exactly one is needed). */
  readonly subjectAttributeValues?: readonly string[];
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
    let user = await this.memberNamed(at, connection, identity);
    if (!user || (user.managedBy === "local" && connection.jit)) {
      if (!connection.jit) throw unknownSubject(`no member matches ${describeSubject(connection, identity)}`);
      user = await this.provisionJustInTime(providerCtx, connection, identity, user);
    }
    // A member the subject key found is the only one signed in, whatever else the assertion says.
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

  /**
   * What `signIn` would decide for this assertion, without writing anything (no just-in-time
   * member, no recorded sign-in, no audit event): the SAML test sign-in an administrator runs
   * (services/saml-tests.ts). The member it would sign in (or that JIT would create) and their
   * effective access, or the refusal `signIn` would throw.
   */
  async preview(at: SignInContext, connection: SamlConnection, identity: AssertedIdentity): Promise<{ user: Pick<User, "id" | "userName">; created: boolean; access: EffectiveAccess }> {
    let user = await this.memberNamed(at, connection, identity);
    let created = false;
    if (!user || (user.managedBy === "local" && connection.jit)) {
      if (!connection.jit) throw unknownSubject(`no member matches ${describeSubject(connection, identity)}`);
      if (!user) {
        if (identity.nameId.trim() !== identity.nameId) throw unknownSubject(`NameID ${JSON.stringify(identity.nameId)} has white space around it`);
        const now = new Date();
        // The member JIT would create: no groups, no local access (the organization's default role applies).
        user = { id: "(new member)", organizationId: at.organizationId, userName: identity.nameId, managedBy: "saml", active: true, created: now, lastModified: now, version: 0, groupIds: [] };
        created = true;
      }
    }
    if (!user.active) throw new SamlRefusal("inactive_user", "Your account in this organization is deactivated.", `user ${user.id} is inactive`);
    if (user.suspended) throw new SamlRefusal("suspended_user", "Your account in this organization is suspended. Contact an administrator.", `user ${user.id} is suspended`);
    const samlGroups = connection.groupSync && identity.groups !== "overage" ? (identity.groups ?? []) : undefined;
    const access = await this.access.accessOf(at, user, samlGroups ? { samlGroups } : {});
    if (!access.organizationRole) throw new SamlRefusal("no_access", "You have no access to this organization. Ask an administrator to add you to a group that grants it.", access.denial ?? "no access");
    return { user: { id: user.id, userName: user.userName }, created, access };
  }

  /**
   * The member the connection's subject key names, and nobody else: the NameID against userName
   * (ASCII case ignored for email-shaped values only), or the one value of the subject attribute
   * against externalId. A NameID that finds a member by the store's case-insensitive userName key
   * but does not match by these rules (a look-alike, another case of a non-email value) is refused
   * rather than treated as unknown: JIT must not create a twin nor link that member.
   */
  private async memberNamed(at: SignInContext, connection: SamlConnection, identity: AssertedIdentity): Promise<User | undefined> {
    const nameId = identity.nameId;
    if (!nameId.trim()) throw new SamlRefusal("invalid_response", "The identity provider did not say who you are.", "empty NameID");
    if (connection.subject.source === "nameId") {
      const found = await this.users.findByUserName(at, nameId);
      if (found && !subjectMatchesUserName(nameId, found.userName)) throw unknownSubject(`NameID ${JSON.stringify(nameId)} differs from the userName of member ${found.id}`);
      return found;
    }
    const value = subjectAttributeValue(connection, identity);
    const found = await this.users.findByExternalId(at, value);
    if (found.length > 1) throw unknownSubject(`${found.length} members have externalId ${JSON.stringify(value)}`);
    return found[0];
  }

  /**
   * Just-in-time provisioning: the person the subject key named becomes a member managed by SAML,
   * with the NameID as userName (and, with the attribute key, the attribute's value as externalId).
   * `local` is the local member the key found, linked (same id and access); no other member is
   * ever linked, so a userName taken by someone else is a refusal, not a takeover.
   */
  private async provisionJustInTime(ctx: RequestContext, connection: SamlConnection, identity: AssertedIdentity, local: User | undefined): Promise<User> {
    const byAttribute = connection.subject.source === "attribute";
    const userName = local ? local.userName : identity.nameId;
    if (!local && userName.trim() !== userName) throw unknownSubject(`NameID ${JSON.stringify(userName)} has white space around it`);
    try {
      return await this.users.provision(
        ctx,
        {
          userName,
          ...(byAttribute ? { externalId: subjectAttributeValue(connection, identity) } : local?.externalId !== undefined ? { externalId: local.externalId } : {}),
          ...(identity.email ? { emails: [{ value: identity.email, type: "work", primary: true }] } : {}),
          ...(identity.displayName ? { displayName: identity.displayName } : {}),
        },
        "saml",
        undefined,
        (candidate) => candidate.id === local?.id,
      );
    } catch (error) {
      if (error instanceof ConflictError) throw unknownSubject(`userName ${JSON.stringify(userName)} belongs to another member`);
      if (error instanceof InvalidError) throw unknownSubject(`cannot create a member named ${JSON.stringify(userName)}: ${error.message}`);
      throw error;
    }
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

const unknownSubjectMessage = "You do not have an account in this organization. Ask an administrator to add you.";

function unknownSubject(detail: string): SamlRefusal {
  return new SamlRefusal("unknown_subject", unknownSubjectMessage, detail);
}

/** The single value of the subject attribute; a refusal when it is absent or has several. */
function subjectAttributeValue(connection: SamlConnection, identity: AssertedIdentity): string {
  if (connection.subject.source !== "attribute") throw new Error("the connection's subject key is the NameID");
  const values = identity.subjectAttributeValues ?? [];
  if (values.length !== 1 || !values[0]) throw unknownSubject(`attribute ${connection.subject.attribute} has ${values.length} values, one is needed`);
  return values[0];
}

function describeSubject(connection: SamlConnection, identity: AssertedIdentity): string {
  return connection.subject.source === "nameId" ? `NameID ${JSON.stringify(identity.nameId)}` : `externalId ${JSON.stringify(identity.subjectAttributeValues?.[0] ?? "")}`;
}
