import type { AuditEvent } from "../domain/audit";
import { guarded } from "./database-errors";
import { readById } from "./read-by-id";
import type { EmailDomainDocument, Models, SamlTestDocument, SignInLinkDocument } from "./models";
import type { Outbox } from "./outbox";

/** An organization's declared email domain, as stored. */
export interface StoredEmailDomain {
  readonly domain: string;
  readonly organizationId: string;
  readonly created: Date;
}

/**
 * Email domains (`email_domains`, `_id` = the lower-cased domain). The `_id` makes "one
 * organization per domain" hold on FerretDB and on MongoDB across instances without a check
 * before the write; discovery is one `_id` read.
 */
export class EmailDomainStore {
  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
  ) {}

  private get collection() {
    return this.models.EmailDomain.collection;
  }

  /** Declares the domain for the organization; a ConflictError when any organization holds it already. */
  async insert(domain: StoredEmailDomain, event: AuditEvent): Promise<void> {
    await this.outbox.insert(this.collection, { _id: domain.domain, organizationId: domain.organizationId, createdAt: domain.created }, [event], `The email domain ${domain.domain} is already declared`);
  }

  async find(domain: string): Promise<StoredEmailDomain | undefined> {
    const doc = await guarded(() => readById<EmailDomainDocument>(this.models.EmailDomain, domain));
    return doc ? { domain: doc._id, organizationId: doc.organizationId, created: doc.createdAt } : undefined;
  }

  /** The organization's domains in order: the {organizationId, _id} index on MongoDB; a small collection scanned on FerretDB. */
  async listFor(organizationId: string): Promise<StoredEmailDomain[]> {
    const docs = await guarded(() => this.models.EmailDomain.find({ organizationId }).sort({ _id: 1 }).limit(1000).lean<EmailDomainDocument[]>());
    return docs.map((doc) => ({ domain: doc._id, organizationId: doc.organizationId, created: doc.createdAt }));
  }

  /** Removes the organization's domain; false when it does not hold it (gone, or re-declared by another meanwhile). */
  async delete(domain: string, organizationId: string): Promise<boolean> {
    const result = await guarded(() => this.collection.deleteOne({ _id: domain, organizationId } as never));
    return result.deletedCount > 0;
  }

  recoverOutbox(): Promise<number> {
    return this.outbox.recover(this.collection, async () => undefined);
  }
}

export interface StoredSignInLink {
  readonly id: string;
  readonly organizationId: string;
  readonly userId: string;
  readonly secretHash: string;
  readonly created: Date;
  readonly expires: Date;
  readonly used?: Date;
}

/** Break-glass sign-in links (`sign_in_links`, `_id` = the link's id): read by `_id` only. */
export class SignInLinkStore {
  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
  ) {}

  private get collection() {
    return this.models.SignInLink.collection;
  }

  async insert(link: StoredSignInLink, event: AuditEvent): Promise<void> {
    await this.outbox.insert(
      this.collection,
      { _id: link.id, organizationId: link.organizationId, userId: link.userId, secretHash: link.secretHash, createdAt: link.created, expiresAt: link.expires },
      [event],
    );
  }

  async find(id: string): Promise<StoredSignInLink | undefined> {
    const doc = await guarded(() => readById<SignInLinkDocument>(this.models.SignInLink, id));
    return doc ? { id: doc._id, organizationId: doc.organizationId, userId: doc.userId, secretHash: doc.secretHash, created: doc.createdAt, expires: doc.expiresAt, ...(doc.usedAt ? { used: doc.usedAt } : {}) } : undefined;
  }

  /** Records the use, with its audit event, in one write. */
  async markUsed(id: string, at: Date, event: AuditEvent): Promise<void> {
    await this.outbox.update(this.collection, id, { $set: { usedAt: at } }, [event]);
  }

  /** Deletes links that expired before `cutoff` (bounded batches; the maintenance timer may run it). */
  async deleteExpiredBefore(cutoff: Date, limit = 500): Promise<number> {
    const expired = await guarded(() => this.models.SignInLink.find({ expiresAt: { $lt: cutoff } }).select({ _id: 1 }).limit(limit).lean<{ _id: string }[]>());
    for (const { _id } of expired) await guarded(() => this.collection.deleteOne({ _id } as never));
    return expired.length;
  }

  recoverOutbox(): Promise<number> {
    return this.outbox.recover(this.collection, async () => undefined);
  }
}

export interface StoredSamlTest {
  readonly id: string;
  readonly organizationId: string;
  readonly startedBy: { readonly type: string; readonly id: string; readonly name: string };
  readonly created: Date;
  readonly expires: Date;
  readonly outcome?: Record<string, unknown>;
}

/** SAML test sign-ins (`saml_tests`, `_id` = the test's id): read and written by `_id` only. */
export class SamlTestStore {
  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
  ) {}

  private get collection() {
    return this.models.SamlTest.collection;
  }

  async insert(test: StoredSamlTest, event: AuditEvent): Promise<void> {
    await this.outbox.insert(this.collection, { _id: test.id, organizationId: test.organizationId, startedBy: { ...test.startedBy }, createdAt: test.created, expiresAt: test.expires }, [event]);
  }

  async find(id: string): Promise<StoredSamlTest | undefined> {
    const doc = await guarded(() => readById<SamlTestDocument>(this.models.SamlTest, id));
    return doc
      ? { id: doc._id, organizationId: doc.organizationId, startedBy: doc.startedBy, created: doc.createdAt, expires: doc.expiresAt, ...(doc.outcome ? { outcome: doc.outcome } : {}) }
      : undefined;
  }

  /** Stores the outcome, with its audit event, in one write. */
  async recordOutcome(id: string, outcome: Record<string, unknown>, event: AuditEvent): Promise<void> {
    await this.outbox.update(this.collection, id, { $set: { outcome } }, [event]);
  }

  /** Deletes tests that expired before `cutoff` (bounded batches). */
  async deleteExpiredBefore(cutoff: Date, limit = 500): Promise<number> {
    const expired = await guarded(() => this.models.SamlTest.find({ expiresAt: { $lt: cutoff } }).select({ _id: 1 }).limit(limit).lean<{ _id: string }[]>());
    for (const { _id } of expired) await guarded(() => this.collection.deleteOne({ _id } as never));
    return expired.length;
  }

  recoverOutbox(): Promise<number> {
    return this.outbox.recover(this.collection, async () => undefined);
  }
}
