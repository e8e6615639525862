import type { AccessSettings, GroupMapping } from "../domain/access";
import type { SamlConnection } from "../domain/saml";
import { defaultAccessSettings, type AccessPolicy, type Organization, type Project, type ScimToken } from "../domain/organization";
import { guarded } from "./database-errors";
import { LookupKeys } from "./lookup-keys";
import { readById } from "./read-by-id";
import type { Models, OrganizationDocument, ScimTokenDocument } from "./models";

function toOrganization(doc: OrganizationDocument): Organization {
  return { id: doc._id, name: doc.name, created: doc.createdAt };
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
  };
}

export class OrganizationStore {
  constructor(private readonly models: Models) {}

  async insert(organization: Organization): Promise<void> {
    await guarded(() => this.models.Organization.create({ _id: organization.id, name: organization.name, createdAt: organization.created }));
  }

  async findById(id: string): Promise<Organization | undefined> {
    const doc = await guarded(() => this.models.Organization.findById(id).lean<OrganizationDocument>());
    return doc ? toOrganization(doc) : undefined;
  }

  async list(): Promise<Organization[]> {
    const docs = await guarded(() => this.models.Organization.find().sort({ createdAt: 1 }).lean<OrganizationDocument[]>());
    return docs.map(toOrganization);
  }

  /** The organization's access policy, in one `_id` read. */
  async accessPolicy(id: string): Promise<AccessPolicy | undefined> {
    const doc = await guarded(() => readById<OrganizationDocument>(this.models.Organization, id));
    if (!doc) return undefined;
    return {
      ...(doc.ownerUserId ? { ownerUserId: doc.ownerUserId } : {}),
      ...(typeof doc.seatLimit === "number" ? { seatLimit: doc.seatLimit } : {}),
      settings: { ...defaultAccessSettings, ...(doc.accessSettings ?? {}) },
      projects: doc.projects ?? [],
      mappings: doc.mappings ?? [],
    };
  }

  async addProject(id: string, project: Project): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, { $push: { projects: project } }));
  }

  async addMapping(id: string, mapping: GroupMapping & { created: Date }): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, { $push: { mappings: mapping } }));
  }

  async replaceProjects(id: string, projects: readonly Project[]): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, { $set: { projects } }));
  }

  async replaceMappings(id: string, mappings: readonly (GroupMapping & { created: Date })[]): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, { $set: { mappings } }));
  }

  async samlConnection(id: string): Promise<SamlConnection | undefined> {
    const doc = await guarded(() => readById<OrganizationDocument>(this.models.Organization, id));
    return (doc?.samlConnection as SamlConnection | undefined) ?? undefined;
  }

  async setSamlConnection(id: string, connection: SamlConnection): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, { $set: { samlConnection: JSON.parse(JSON.stringify(connection)) } }));
  }

  async setSeatLimit(id: string, limit: number | undefined): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, limit === undefined ? { $unset: { seatLimit: "" } } : { $set: { seatLimit: limit } }));
  }

  async setOwner(id: string, userId: string | undefined): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, userId ? { $set: { ownerUserId: userId } } : { $unset: { ownerUserId: "" } }));
  }

  async setAccessSettings(id: string, settings: AccessSettings): Promise<void> {
    await guarded(() => this.models.Organization.updateOne({ _id: id }, { $set: { accessSettings: settings } }));
  }
}

export class ScimTokenStore {
  private readonly keys: LookupKeys;

  constructor(private readonly models: Models) {
    this.keys = new LookupKeys(models);
  }

  private personalTokensKey(organizationId: string, userId: string): string {
    return LookupKeys.key(organizationId, "user.personalTokens", userId);
  }

  /** A user's personal tokens, found through a lookup key (deprovisioning must not scan). */
  async personalTokensOf(organizationId: string, userId: string): Promise<ScimToken[]> {
    const ids = await this.keys.owners(this.personalTokensKey(organizationId, userId));
    const tokens = await Promise.all(ids.map((id) => this.findById(id)));
    return tokens.filter((t): t is ScimToken => t !== undefined && t.userId === userId);
  }

  async insert(token: ScimToken): Promise<void> {
    await guarded(() =>
      this.models.ScimToken.create({
        _id: token.id,
        organizationId: token.organizationId,
        purpose: token.purpose,
        userId: token.userId,
        name: token.name,
        secretHash: token.secretHash,
        createdAt: token.created,
        expiresAt: token.expires,
      }),
    );
    if (token.userId) await this.keys.addToIndex(this.personalTokensKey(token.organizationId, token.userId), token.id);
  }

  async findById(id: string): Promise<ScimToken | undefined> {
    const doc = await guarded(() => readById<ScimTokenDocument>(this.models.ScimToken, id));
    return doc ? toScimToken(doc) : undefined;
  }

  async listForOrganization(organizationId: string): Promise<ScimToken[]> {
    const docs = await guarded(() => this.models.ScimToken.find({ organizationId }).sort({ createdAt: 1 }).lean<ScimTokenDocument[]>());
    return docs.map(toScimToken);
  }

  async markRevoked(id: string, at: Date): Promise<void> {
    await guarded(() => this.models.ScimToken.updateOne({ _id: id }, { $set: { revokedAt: at } }));
  }

  async markUsed(id: string, at: Date): Promise<void> {
    await guarded(() => this.models.ScimToken.updateOne({ _id: id }, { $set: { lastUsedAt: at } }));
  }
}
