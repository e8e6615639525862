import type { CacheItem, CacheProvider } from "@node-saml/passport-saml";
import { guarded, isDuplicateKey, translateDatabaseError } from "./database-errors";
import type { Models, SamlRequestDocument } from "./models";
import { readById } from "./read-by-id";

/**
 * The AuthnRequest (or LogoutRequest) ids an organization's SAML connection is waiting for, as
 * node-saml's CacheProvider, in MongoDB: the instance that answers the identity provider is rarely
 * the one that sent the user there. The two kinds are kept apart, so a LogoutResponse can never
 * answer a sign-in nor the reverse. Entries expire on read and are deleted by the maintenance
 * sweep (no TTL index: FerretDB has none).
 */
export class SamlRequestCache implements CacheProvider {
  constructor(
    private readonly models: Models,
    private readonly organizationId: string,
    private readonly lifetimeMs: number,
    private readonly now: () => Date = () => new Date(),
    private readonly kind: "authn" | "logout" = "authn",
  ) {}

  private key(id: string): string {
    return this.kind === "logout" ? `${this.organizationId}/logout/${id}` : `${this.organizationId}/${id}`;
  }

  async saveAsync(id: string, value: string): Promise<CacheItem | null> {
    const createdAt = this.now();
    try {
      await this.models.SamlRequest.collection.insertOne({ _id: this.key(id), createdAt, expiresAt: new Date(createdAt.getTime() + this.lifetimeMs) } as never);
    } catch (error) {
      if (isDuplicateKey(error)) return null;
      throw translateDatabaseError(error);
    }
    return { value, createdAt: createdAt.getTime() };
  }

  /** node-saml stores the request's creation time as the value and reads it back as a date. */
  async getAsync(id: string): Promise<string | null> {
    const doc = await guarded(() => readById<SamlRequestDocument>(this.models.SamlRequest, this.key(id)));
    if (!doc || doc.expiresAt <= this.now()) return null;
    return doc.createdAt.toISOString();
  }

  async removeAsync(id: string | null): Promise<string | null> {
    if (!id) return null;
    const removed = await guarded(() => this.models.SamlRequest.collection.findOneAndDelete({ _id: this.key(id) } as never));
    return removed ? id : null;
  }
}

/**
 * Assertions already used to sign in (and identity providers' LogoutRequests already acted on,
 * under "logout/<id>"), until they expire: a replay is refused on every instance.
 */
export class SamlAssertionLedger {
  constructor(private readonly models: Models) {}

  /** Records the assertion as used; false when it was used before (a replay). */
  async claim(organizationId: string, assertionId: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.models.SamlAssertion.collection.insertOne({ _id: `${organizationId}/${assertionId}`, expiresAt } as never);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw translateDatabaseError(error);
    }
  }
}

/** Deletes expired request ids and assertion ids (the maintenance timer; bounded batches). */
export async function sweepSamlState(models: Models, now: Date): Promise<number> {
  let removed = 0;
  for (const model of [models.SamlRequest, models.SamlAssertion] as const) {
    const expired = await guarded(() => (model as typeof models.SamlRequest).find({ expiresAt: { $lt: now } }).select({ _id: 1 }).limit(1000).lean<{ _id: string }[]>());
    for (const { _id } of expired) {
      await guarded(() => (model as typeof models.SamlRequest).collection.deleteOne({ _id } as never));
      removed++;
    }
  }
  return removed;
}
