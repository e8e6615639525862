import { guarded, isDuplicateKey } from "./database-errors";
import type { Models } from "./models";
import { readById } from "./read-by-id";
import { writeQueueOf } from "./write-queue";

/** One attempt (or a manual redelivery) as the endpoint's delivery log shows it. */
export interface DeliveryLogEntry {
  eventId: string;
  sequence: number;
  type: string;
  attempt: number;
  redelivery?: boolean;
  at: Date;
  durationMs: number;
  outcome: "delivered" | "failed" | "refused";
  httpStatus?: number;
  error?: string;
  /** The start of the receiver's answer (capped). */
  response?: string;
}

export interface WebhookSecret {
  secret: string;
  createdAt: Date;
  /** Set when a newer secret replaced it: it still signs until then (rotation's overlap). */
  expiresAt?: Date;
}

/** A registered endpoint and where its delivery stands (one document, `_id` = its id). */
export interface WebhookEndpointDocument {
  _id: string;
  organizationId: string;
  url: string;
  /** Event types delivered; absent: all. */
  types?: string[];
  description?: string;
  secrets: WebhookSecret[];
  status: "enabled" | "disabled";
  disabledAt?: Date;
  disabledReason?: string;
  createdAt: Date;
  /** The last event sequence number handled (delivered, or skipped as of another type). */
  position: number;
  /** Failed attempts at the next event so far (0: none). */
  attempt: number;
  nextAttemptAt?: Date;
  /** When the current run of failures began; cleared by a success. */
  failingSince?: Date;
  /** Manual redeliveries waiting, oldest first. */
  redeliveries: { id: string; sequence: number; requestedAt: Date }[];
  /** The newest attempts, oldest first (at most `deliveryLogSize`). */
  log: DeliveryLogEntry[];
}

export const deliveryLogSize = 100;
const registryId = "registry";

/**
 * Webhook endpoints, their delivery state and the claims that keep two instances from making the
 * same attempt. Every operation is by exact `_id` (../shared/MONGODB.md): the `registry` document
 * lists the endpoints, each endpoint is one document, and a claim is a document whose `_id` names
 * the state it acts on (endpoint, position, attempt) — inserted, which is atomic on MongoDB and
 * FerretDB alike, so exactly one instance holds it.
 */
export class WebhookStore {
  constructor(private readonly models: Models) {}

  private get endpoints() {
    return this.models.WebhookEndpoint.collection;
  }

  private get claims() {
    return this.models.WebhookAttempt.collection;
  }

  private get writes() {
    return writeQueueOf(this.models);
  }

  async all(): Promise<{ id: string; organizationId: string }[]> {
    const registry = await guarded(() => readById<{ endpoints?: { id: string; organizationId: string }[] }>(this.models.WebhookEndpoint, registryId));
    return registry?.endpoints ?? [];
  }

  async find(id: string): Promise<WebhookEndpointDocument | undefined> {
    if (id === registryId) return undefined;
    return (await guarded(() => readById<WebhookEndpointDocument>(this.models.WebhookEndpoint, id))) ?? undefined;
  }

  async insert(endpoint: WebhookEndpointDocument): Promise<void> {
    await guarded(() => this.endpoints.insertOne(endpoint as never));
    const entry = { id: endpoint._id, organizationId: endpoint.organizationId };
    await guarded(() => this.writes.document(this.endpoints.collectionName, registryId, () => this.endpoints.updateOne({ _id: registryId } as never, { $addToSet: { endpoints: entry } } as never, { upsert: true })));
  }

  /** An update by `_id`, in the write queue (FerretDB applies updates by reading and writing back). */
  async update(id: string, update: Record<string, unknown>): Promise<void> {
    await guarded(() => this.writes.document(this.endpoints.collectionName, id, () => this.endpoints.updateOne({ _id: id } as never, update as never)));
  }

  async remove(endpoint: WebhookEndpointDocument): Promise<void> {
    const entry = { id: endpoint._id, organizationId: endpoint.organizationId };
    await guarded(() => this.writes.document(this.endpoints.collectionName, registryId, () => this.endpoints.updateOne({ _id: registryId } as never, { $pullAll: { endpoints: [entry] } } as never)));
    await guarded(() => this.endpoints.deleteOne({ _id: endpoint._id } as never));
  }

  /**
   * Claims the right to act on `key` (an endpoint's state): true for exactly one caller. A claim
   * older than `leaseMs` was left by an instance that died mid-attempt; the next caller then takes
   * over under the key's next generation (`key#1`, `#2` …), itself a claim by insert.
   * Returns the claim's `_id` to release, or undefined.
   */
  async claim(key: string, now: Date, leaseMs: number): Promise<string | undefined> {
    for (let generation = 0; generation < 20; generation++) {
      const id = `${key}#${generation}`;
      const taken = await guarded(async () => {
        try {
          await this.claims.insertOne({ _id: id, claimedAt: now } as never);
          return false;
        } catch (error) {
          if (isDuplicateKey(error)) return true;
          throw error;
        }
      });
      if (!taken) return id;
      const held = await guarded(() => readById<{ claimedAt?: Date }>(this.models.WebhookAttempt, id));
      if (held?.claimedAt && now.getTime() - held.claimedAt.getTime() < leaseMs) return undefined;
    }
    return undefined;
  }

  async release(claimId: string): Promise<void> {
    await guarded(() => this.claims.deleteOne({ _id: claimId } as never));
  }
}
