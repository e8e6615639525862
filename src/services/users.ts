import { isDeepStrictEqual } from "node:util";
import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { profileOf, userNameKey, type ProfileInput, type User, type UserManagement, type UserProfile } from "../domain/user";
import { InvalidError, NotFoundError, VersionMismatchError } from "../errors";
import type { UserListing, UserPage, UserStore } from "../storage/users";

export interface WriteOptions {
  /** Optimistic concurrency: the version the client last saw (RFC 7644 §3.14 If-Match). */
  expectedVersion?: number;
}

/**
 * Provisioning and deprovisioning of users: the use-cases SCIM (and later SAML and the admin API)
 * call. Each write takes the request context and leaves an audit event.
 */
export class UserDirectory {
  constructor(
    private readonly store: UserStore,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(ctx: Pick<RequestContext, "organizationId">, id: string): Promise<User> {
    const user = await this.store.findById(ctx.organizationId, id);
    if (!user) throw new NotFoundError(`User ${id} not found`);
    return user;
  }

  list(ctx: Pick<RequestContext, "organizationId">, listing: UserListing): Promise<UserPage> {
    return this.store.list(ctx.organizationId, listing);
  }

  /** Creates a user; absent `active` means active (RFC 7643 §4.1.1, as both IdPs assume). */
  async provision(ctx: RequestContext, input: ProfileInput, managedBy: UserManagement): Promise<User> {
    const profile: UserProfile = { ...input, active: input.active ?? true };
    validateProfile(profile);
    const at = this.now();
    const user: User = { ...profile, id: randomUUID(), organizationId: ctx.organizationId, managedBy, created: at, lastModified: at, version: 1, groupIds: [] };
    await this.store.insert(user);
    await this.audit.record(ctx, { action: "user.provisioned", target: userTarget(user), after: profileOf(user) });
    return user;
  }

  /**
   * Replaces what the identity provider owns of a user. An identical profile is not a change: the
   * version stays and nothing is written, so repeated syncs are cheap and quiet. A replacement
   * that leaves `active` out keeps the current state: it never reactivates a deactivated user.
   */
  async replace(ctx: RequestContext, id: string, input: ProfileInput, options: WriteOptions = {}): Promise<User> {
    const before = await this.get(ctx, id);
    const profile: UserProfile = { ...input, active: input.active ?? before.active };
    validateProfile(profile);
    checkVersion(before, options);
    if (isDeepStrictEqual(stripUndefined(profileOf(before)), stripUndefined(profile))) return before;

    const after: User = {
      ...profile,
      id,
      organizationId: before.organizationId,
      managedBy: before.managedBy,
      created: before.created,
      lastModified: this.now(),
      version: before.version + 1,
      groupIds: before.groupIds,
    };
    const renamed = userNameKey(before.userName) !== userNameKey(after.userName);
    if (renamed) await this.store.claimUserName(ctx.organizationId, after.userName, id);
    await this.store.replace(before, after);
    if (renamed) await this.store.releaseUserName(ctx.organizationId, before.userName, id);

    const action = before.active && !after.active ? "user.deactivated" : !before.active && after.active ? "user.reactivated" : "user.updated";
    await this.audit.record(ctx, { action, target: userTarget(after), before: profileOf(before), after: profileOf(after) });
    return after;
  }

  /** Deletes the user; the audit trail keeps what they were. */
  async remove(ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
    const user = await this.get(ctx, id);
    checkVersion(user, options);
    await this.store.delete(user);
    await this.audit.record(ctx, { action: "user.deleted", target: userTarget(user), before: profileOf(user) });
  }
}

function userTarget(user: User) {
  return { type: "user", id: user.id, display: user.userName };
}

function checkVersion(user: User, options: WriteOptions): void {
  if (options.expectedVersion !== undefined && options.expectedVersion !== user.version) {
    throw new VersionMismatchError(`User ${user.id} has changed: its version is ${user.version}, not ${options.expectedVersion}`);
  }
}

function validateProfile(profile: UserProfile): void {
  if (typeof profile.userName !== "string" || !profile.userName.trim()) throw new InvalidError("userName is required and must not be empty");
  if (typeof profile.active !== "boolean") throw new InvalidError("active must be a boolean");
}

function stripUndefined(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}
