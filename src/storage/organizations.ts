import type { AuditEvent } from "../domain/audit";
import type { AccessSettings, GroupMapping } from "../domain/access";
import { defaultSamlAttributes, defaultSamlSignatures, defaultSamlSubject, type SamlConnection } from "../domain/saml";
import { defaultAccessSettings, type AccessPolicy, type CustomRole, type Organization, type Project, type ScimToken } from "../domain/organization";
import { guarded } from "./database-errors";
import { LookupKeys } from "./lookup-keys";
import { readById } from "./read-by-id";
import type { ChangeJournal } from "./change-journal";
import { readThrough, ResidentDocuments, type DocumentsById } from "./resident-documents";
import { writeQueueOf } from "./write-queue";
import type { LookupKeyDocument, Models, OrganizationDocument, ScimTokenDocument } from "./models";
import type { Outbox } from "./outbox";
import { plainData } from "./plain";

function toOrganization(doc: OrganizationDocument): Organization {
  return { id: doc._id, name: doc.name, created: doc.createdAt };
}

/** A stored connection as the domain reads it: fields added since it was stored take their defaults. */
function toSamlConnection(stored: Record<string, unknown>): SamlConnection {
  const connection = stored as Partial<SamlConnection>;
  return {
    ...(connection as SamlConnection),
    jit: connection.jit ?? false,
    groupSync: connection.groupSync ?? false,
    idpInitiated: connection.idpInitiated ?? false,
    attributes: { ...defaultSamlAttributes, ...(connection.attributes ?? {}) },
    signatures: connection.signatures ?? defaultSamlSignatures,
    // Connections stored before the subject key existed matched the NameID against userName.
    subject: connection.subject ?? defaultSamlSubject,
    signAuthnRequests: connection.signAuthnRequests ?? false,
  };
}

function toScimToken(doc: ScimTokenDocument): ScimToken {
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    purpose: doc.purpose ?? "scim",
    ...(doc.userId ? { userId: doc.userId } : {}),
    name: doc.name,
    secretHash: doc.secretHash,
    created: doc.createdAt,
    lastUsed: doc.lastUsedAt ?? undefined,
    expires: doc.expiresAt ?? undefined,
    revoked: doc.revokedAt ?? undefined,
    ...(doc.scopes ? { scopes: [...doc.scopes] } : {}),
  };
}

/**
 * One document by `_id`, read from the database each time — or, given the change journal (the
 * embedded database's one server process), kept resident in memory (storage/resident-documents.ts).
 */
function documentsById<T>(model: { collection: { collectionName: string; findOne(filter: object): Promise<unknown> } }, journal: ChangeJournal | undefined, options: { rememberMissing?: boolean } = {}): DocumentsById<T> {
  const load = (id: string) => guarded(() => readById<T>(model, id));
  return journal ? new ResidentDocuments(model.collection.collectionName, load, journal, options) : readThrough(load);
}

/**
 * Organizations and their access policy. Every change is one update of the organization document
 * carrying its audit event (storage/outbox.ts). The document is read on every SCIM create (the
 * seat limit) and deactivation (the owner), so the one server of the embedded database keeps it
 * resident when given the change journal.
 */
export class OrganizationStore {
  private readonly documents: DocumentsById<OrganizationDocument>;

  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
    journal?: ChangeJournal,
  ) {
    this.documents = documentsById(models.Organization, journal);
  }

  private get collection() {
    return this.models.Organization.collection;
  }

  private async change(id: string, update: object, event: AuditEvent): Promise<void> {
    try {
      await this.outbox.update(this.collection, id, update, [event]);
    } finally {
      this.documents.written(id);
    }
  }

  async insert(organization: Organization, event: AuditEvent): Promise<void> {
    try {
      await this.outbox.insert(this.collection, { _id: organization.id, name: organization.name, createdAt: organization.created }, [event]);
    } finally {
      this.documents.written(organization.id);
    }
  }

  async findById(id: string): Promise<Organization | undefined> {
    const doc = await this.documents.get(id);
    return doc ? toOrganization(doc) : undefined;
  }

  async list(): Promise<Organization[]> {
    const docs = await guarded(() => this.models.Organization.find().sort({ createdAt: 1 }).lean<OrganizationDocument[]>());
    return docs.map(toOrganization);
  }

  /** The organization's access policy, in one `_id` read. */
  async accessPolicy(id: string): Promise<AccessPolicy | undefined> {
    const doc = await this.documents.get(id);
    if (!doc) return undefined;
    return {
      ...(doc.ownerUserId ? { ownerUserId: doc.ownerUserId } : {}),
      ...(typeof doc.seatLimit === "number" ? { seatLimit: doc.seatLimit } : {}),
      settings: { ...defaultAccessSettings, ...(doc.accessSettings ?? {}) },
      projects: doc.projects ?? [],
      mappings: doc.mappings ?? [],
      ...(doc.customRoles?.length ? { customRoles: doc.customRoles } : {}),
      ...((doc.samlConnection as { groupSync?: boolean } | undefined)?.groupSync ? { samlGroupSync: true } : {}),
    };
  }

  async addProject(id: string, project: Project, event: AuditEvent): Promise<void> {
    await this.change(id, { $push: { projects: plainData(project) } }, event);
  }

  async replaceCustomRoles(id: string, roles: readonly CustomRole[], event: AuditEvent): Promise<void> {
    await this.change(id, { $set: { customRoles: roles.map(plainData) } }, event);
  }

  async addMapping(id: string, mapping: GroupMapping & { created: Date }, event: AuditEvent): Promise<void> {
    await this.change(id, { $push: { mappings: plainData(mapping) } }, event);
  }

  async replaceProjects(id: string, projects: readonly Project[], event: AuditEvent): Promise<void> {
    await this.change(id, { $set: { projects: projects.map(plainData) } }, event);
  }

  async replaceMappings(id: string, mappings: readonly (GroupMapping & { created: Date })[], event: AuditEvent): Promise<void> {
    await this.change(id, { $set: { mappings: mappings.map(plainData) } }, event);
  }

  /** Projects and mappings in one write (deleting a project takes it out of the mappings too). */
  async replaceProjectsAndMappings(id: string, projects: readonly Project[], mappings: readonly (GroupMapping & { created: Date })[], event: AuditEvent): Promise<void> {
    await this.change(id, { $set: { projects: projects.map(plainData), mappings: mappings.map(plainData) } }, event);
  }

  async samlConnection(id: string): Promise<SamlConnection | undefined> {
    const doc = await this.documents.get(id);
    return doc?.samlConnection ? toSamlConnection(doc.samlConnection) : undefined;
  }

  async setSamlConnection(id: string, connection: SamlConnection, event: AuditEvent): Promise<void> {
    await this.change(id, { $set: { samlConnection: plainData(connection) } }, event);
  }

  async removeSamlConnection(id: string, event: AuditEvent): Promise<void> {
    await this.change(id, { $unset: { samlConnection: "" } }, event);
  }

  async setName(id: string, name: string, event: AuditEvent): Promise<void> {
    await this.change(id, { $set: { name } }, event);
  }

  async setSeatLimit(id: string, limit: number | undefined, event: AuditEvent): Promise<void> {
    await this.change(id, limit === undefined ? { $unset: { seatLimit: "" } } : { $set: { seatLimit: limit } }, event);
  }

  async setOwner(id: string, userId: string | undefined, event: AuditEvent): Promise<void> {
    await this.change(id, userId ? { $set: { ownerUserId: userId } } : { $unset: { ownerUserId: "" } }, event);
  }

  async setAccessSettings(id: string, settings: AccessSettings, event: AuditEvent): Promise<void> {
    await this.change(id, { $set: { accessSettings: plainData(settings) } }, event);
  }

  /** Whether every sign-in but SAML is refused (the Owner's excepted): services/sign-in-policy.ts. */
  async requiresSso(id: string): Promise<boolean | undefined> {
    const doc = await this.documents.get(id);
    return doc ? doc.requireSso === true : undefined;
  }

  async setRequireSso(id: string, required: boolean, event: AuditEvent): Promise<void> {
    await this.change(id, required ? { $set: { requireSso: true } } : { $unset: { requireSso: "" } }, event);
  }

  /** Moves audit events a crash left on organizations into the trail (organizations are not deleted). */
  recoverOutbox(): Promise<number> {
    return this.outbox.recover(this.collection, async () => undefined);
  }
}

/**
 * SCIM, service and personal API tokens. Every request reads its token by `_id`; the one server
 * of the embedded database keeps them resident when given the change journal, so a revocation by
 * the CLI (another process) still takes effect on the very next request.
 */
export class ScimTokenStore {
  private readonly keys: LookupKeys;
  private readonly documents: DocumentsById<ScimTokenDocument>;
  /** The last-use writes under way, by token (markUsed). */
  private readonly lastUseWrites = new Map<string, Promise<void>>();
  /**
   * The lookup keys listing each member's personal tokens, read on every deprovisioning: resident
   * with the tokens (absent ones too — most members have none), so a deactivation of a member
   * without personal tokens reads nothing. Every write of such a key here goes through `written`;
   * other processes' writes arrive through the change journal.
   */
  private readonly personalTokenKeys: DocumentsById<LookupKeyDocument>;

  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
    journal?: ChangeJournal,
  ) {
    this.keys = new LookupKeys(models);
    this.documents = documentsById(models.ScimToken, journal);
    this.personalTokenKeys = documentsById(models.LookupKey, journal, { rememberMissing: true });
  }

  private get collection() {
    return this.models.ScimToken.collection;
  }

  private personalTokensKey(organizationId: string, userId: string): string {
    return LookupKeys.key(organizationId, "user.personalTokens", userId);
  }

  /**
   * A member about to be created holds no personal token: their key is remembered as absent
   * (resident only), so their first deprovisioning reads nothing. Set before the member exists, when
   * no token of theirs can have been issued; the first token issued forgets it (`written`, or the
   * change journal for another process).
   */
  newMember(organizationId: string, userId: string): void {
    this.personalTokenKeys.absent(this.personalTokensKey(organizationId, userId));
  }

  /** A user's personal tokens, found through a lookup key (deprovisioning must not scan). */
  async personalTokensOf(organizationId: string, userId: string): Promise<ScimToken[]> {
    const ids = (await this.personalTokenKeys.get(this.personalTokensKey(organizationId, userId)))?.owners ?? [];
    const tokens = await Promise.all(ids.map((id) => this.findById(id)));
    return tokens.filter((t): t is ScimToken => t !== undefined && t.userId === userId);
  }

  async insert(token: ScimToken, event: AuditEvent): Promise<void> {
    const doc: ScimTokenDocument = {
      _id: token.id,
      organizationId: token.organizationId,
      purpose: token.purpose,
      ...(token.userId ? { userId: token.userId } : {}),
      name: token.name,
      secretHash: token.secretHash,
      createdAt: token.created,
      ...(token.expires ? { expiresAt: token.expires } : {}),
      ...(token.scopes ? { scopes: [...token.scopes] } : {}),
    };
    try {
      await this.outbox.insert(this.collection, doc, [event]);
    } finally {
      this.documents.written(token.id);
    }
    if (token.userId) {
      const key = this.personalTokensKey(token.organizationId, token.userId);
      try {
        await this.keys.addToIndex(key, token.id);
      } finally {
        this.personalTokenKeys.written(key);
      }
    }
  }

  async findById(id: string): Promise<ScimToken | undefined> {
    const doc = await this.documents.get(id);
    return doc ? toScimToken(doc) : undefined;
  }

  async listForOrganization(organizationId: string): Promise<ScimToken[]> {
    const docs = await guarded(() => this.models.ScimToken.find({ organizationId }).sort({ createdAt: 1 }).lean<ScimTokenDocument[]>());
    return docs.map(toScimToken);
  }

  async markRevoked(id: string, at: Date, event: AuditEvent): Promise<void> {
    // Refused from memory at once; read back from the database after the write, whatever its outcome.
    this.documents.revised(id, (doc) => ({ ...doc, revokedAt: at }));
    try {
      await this.outbox.update(this.collection, id, { $set: { revokedAt: at } }, [event]);
    } finally {
      this.documents.written(id);
    }
  }

  /**
   * Personal data erasure of a deleted member: each of their personal tokens (revoked when they were
   * deprovisioned) is renamed and made to name the pseudonym instead of their id, and the lookup key
   * listing them by that id is deleted. Answers how many tokens were rewritten.
   */
  async erasePersonalTokens(organizationId: string, userId: string, pseudonym: string, rename: (name: string) => string): Promise<number> {
    const tokens = await this.personalTokensOf(organizationId, userId);
    for (const token of tokens) {
      try {
        await guarded(() => writeQueueOf(this.models).document("scim_tokens", token.id, () => this.models.ScimToken.updateOne({ _id: token.id }, { $set: { name: rename(token.name), userId: pseudonym } })));
      } finally {
        this.documents.written(token.id);
      }
    }
    const key = this.personalTokensKey(organizationId, userId);
    try {
      await this.keys.remove(key);
    } finally {
      this.personalTokenKeys.written(key);
    }
    return tokens.length;
  }

  /** Moves audit events a crash left on tokens into the trail (tokens are revoked, not deleted). */
  recoverOutbox(): Promise<number> {
    return this.outbox.recover(this.collection, async () => undefined);
  }

  /**
   * Records when a token was last used (a hint for administrators, to the minute). The resident
   * copy takes it first, so requests that read the token afterwards see it recorded; requests that
   * read it before — an identity provider's opening burst, all in flight at once — wait for the
   * one write under way instead of each queuing its own: on FerretDB, writes of one document go one
   * at a time, and the 16th request of the first burst of creates on a fresh server waited behind
   * 15 identical writes (measured: up to 0.9 s).
   */
  markUsed(id: string, at: Date): Promise<void> {
    const under = this.lastUseWrites.get(id);
    if (under) return under;
    this.documents.revised(id, (doc) => ({ ...doc, lastUsedAt: at }));
    const write = guarded(() => writeQueueOf(this.models).document("scim_tokens", id, () => this.models.ScimToken.updateOne({ _id: id }, { $set: { lastUsedAt: at } })))
      .then(() => undefined)
      .finally(() => this.lastUseWrites.delete(id));
    this.lastUseWrites.set(id, write);
    return write;
  }
}
