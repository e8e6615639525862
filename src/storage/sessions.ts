import type { AuditEvent } from "../domain/audit";
import type { Session } from "../domain/session";
import { guarded } from "./database-errors";
import { LookupKeys } from "./lookup-keys";
import type { Models, SessionDocument } from "./models";
import type { Outbox } from "./outbox";
import { plainData } from "./plain";
import { readById } from "./read-by-id";
import { writeQueueOf } from "./write-queue";

function toSession(doc: SessionDocument): Session {
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    userId: doc.userId,
    userEpoch: doc.userEpoch,
    via: doc.via,
    secretHash: doc.secretHash,
    createdAt: doc.createdAt,
    lastSeenAt: doc.lastSeenAt,
    absoluteExpiresAt: doc.absoluteExpiresAt,
    ...(doc.endedAt ? { endedAt: doc.endedAt } : {}),
    ...(doc.ip ? { ip: doc.ip } : {}),
    ...(doc.userAgent ? { userAgent: doc.userAgent } : {}),
    ...(doc.saml?.nameId ? { saml: doc.saml } : {}),
  };
}

/** The lookup key listing the sessions begun with this NameID (single logout finds them by `_id`). */
const samlSessionKey = (organizationId: string, nameId: string) => LookupKeys.key(organizationId, "session.samlSession", nameId);

/**
 * The lookup key listing a user's sessions (a member's own session list finds them by `_id`: on
 * the embedded FerretDB a filter on `userId` would scan every session). Sessions started before
 * this key existed are not in it, and so are not listed; they still work and still end by signing
 * out everywhere (the user's session epoch) and by their timeouts.
 */
const userSessionKey = (organizationId: string, userId: string) => LookupKeys.key(organizationId, "session.user", userId);

/**
 * Sessions, each one document under its random id. Every request's check is one `_id` read
 * (../shared/MONGODB.md: the only filter FerretDB's SQLite backend serves without a scan); start
 * and sign-out carry their audit events in the same write (storage/outbox.ts).
 */
export class SessionStore {
  private readonly keys: LookupKeys;

  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
  ) {
    this.keys = new LookupKeys(models);
  }

  private get collection() {
    return this.models.Session.collection;
  }

  async insert(session: Session, event: AuditEvent): Promise<void> {
    const doc: SessionDocument = {
      _id: session.id,
      organizationId: session.organizationId,
      userId: session.userId,
      userEpoch: session.userEpoch,
      via: session.via,
      secretHash: session.secretHash,
      createdAt: session.createdAt,
      lastSeenAt: session.lastSeenAt,
      absoluteExpiresAt: session.absoluteExpiresAt,
      ...(session.ip ? { ip: session.ip } : {}),
      ...(session.userAgent ? { userAgent: session.userAgent } : {}),
      ...(session.saml ? { saml: plainData(session.saml) } : {}),
    };
    // The index entry first: a session is never out of single logout's reach, and an entry whose
    // session was never inserted (a crash in between) names nothing and is dropped when next read.
    if (session.saml) await this.keys.addToIndex(samlSessionKey(session.organizationId, session.saml.nameId), session.id);
    // Likewise the user's list: a session is never missing from its member's own list.
    await this.keys.addToIndex(userSessionKey(session.organizationId, session.userId), session.id);
    await this.outbox.insert(this.collection, doc, [event]);
  }

  /** The ids of a user's sessions (ended ones too, until they are dropped or swept). */
  userSessionIds(organizationId: string, userId: string): Promise<string[]> {
    return this.keys.owners(userSessionKey(organizationId, userId));
  }

  /** Drops session ids from a user's list (ended, expired, or gone). */
  async forgetUserSessions(organizationId: string, userId: string, sessionIds: readonly string[]): Promise<void> {
    for (const id of sessionIds) await this.keys.removeFromIndex(userSessionKey(organizationId, userId), id);
  }

  /** The ids of the sessions begun with this NameID (ended ones too, until they are swept). */
  samlSessionIds(organizationId: string, nameId: string): Promise<string[]> {
    return this.keys.owners(samlSessionKey(organizationId, nameId));
  }

  /** Drops session ids from a NameID's list (ended by single logout, or gone). */
  async forgetSamlSessions(organizationId: string, nameId: string, sessionIds: readonly string[]): Promise<void> {
    for (const id of sessionIds) await this.keys.removeFromIndex(samlSessionKey(organizationId, nameId), id);
  }

  async findById(id: string): Promise<Session | undefined> {
    const doc = await guarded(() => readById<SessionDocument>(this.models.Session, id));
    return doc ? toSession(doc) : undefined;
  }

  /** The sliding idle timeout: one `_id` update, not audited (like a token's lastUsed). */
  async markSeen(id: string, at: Date): Promise<void> {
    await guarded(() => writeQueueOf(this.models).document("sessions", id, () => this.collection.updateOne({ _id: id } as never, { $set: { lastSeenAt: at } })));
  }

  async markEnded(id: string, at: Date, event: AuditEvent): Promise<void> {
    await this.outbox.update(this.collection, id, { $set: { endedAt: at } }, [event]);
  }

  /**
   * Deletes up to `limit` sessions that ended, expired (absolute) or went idle before `cutoff`.
   * Events still on such a session are moved to the trail first, so nothing audited is lost.
   * Returns how many were deleted.
   */
  async deleteDeadBefore(cutoff: Date, idleMs: number, limit: number): Promise<number> {
    const dead = (await guarded(() =>
      this.collection
        .find({ $or: [{ endedAt: { $lt: cutoff } }, { absoluteExpiresAt: { $lt: cutoff } }, { lastSeenAt: { $lt: new Date(cutoff.getTime() - idleMs) } }] })
        .limit(limit)
        .toArray(),
    )) as unknown as SessionDocument[];
    if (!dead.length) return 0;
    const stranded = dead.flatMap((doc) => doc.outbox ?? []);
    if (stranded.length) await guarded(() => this.outbox.append(stranded));
    const { deletedCount } = await guarded(() => this.collection.deleteMany({ _id: { $in: dead.map((doc) => doc._id) } } as never));
    for (const doc of dead) {
      if (doc.saml?.nameId) await this.forgetSamlSessions(doc.organizationId, doc.saml.nameId, [doc._id]);
      await this.forgetUserSessions(doc.organizationId, doc.userId, [doc._id]);
    }
    return deletedCount;
  }

  /**
   * Deletes sessions of a member whose personal data is erased (their IP address, user agent and
   * NameID), with their entries in the NameID lookup keys, and those keys once empty (a key's `_id`
   * holds the NameID). Events still on a session are moved to the trail first. Answers how many existed.
   */
  async deleteForErasure(ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const id of ids) {
      const doc = await guarded(() => readById<SessionDocument>(this.models.Session, id));
      if (!doc) continue;
      if (doc.outbox?.length) await guarded(() => this.outbox.append(doc.outbox!));
      await guarded(() => writeQueueOf(this.models).document("sessions", id, () => this.collection.deleteOne({ _id: id } as never)));
      if (doc.saml?.nameId) {
        const key = samlSessionKey(doc.organizationId, doc.saml.nameId);
        await this.keys.removeFromIndex(key, id);
        await this.keys.deleteIfUnowned(key);
      }
      const userKey = userSessionKey(doc.organizationId, doc.userId);
      await this.keys.removeFromIndex(userKey, id);
      await this.keys.deleteIfUnowned(userKey);
      deleted++;
    }
    return deleted;
  }

  /** Moves audit events a crash left on sessions into the trail (sessions are never tombstoned). */
  recoverOutbox(): Promise<number> {
    return this.outbox.recover(this.collection, async () => undefined);
  }
}
