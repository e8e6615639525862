import SCIMMY from "scimmy";
import type { RequestContext } from "../domain/context";
import type { Group } from "../domain/group";
import type { User } from "../domain/user";
import type { GroupDirectory } from "../services/groups";
import type { UserDirectory } from "../services/users";
import { toScimError } from "./errors";
import { filterSchemaFromScimmy, type FilterSchema } from "./filter";
import { userGroupsToScim } from "./group-mapping";
import { attributeRequested, listResponse, parseListRequest, separateListParameters, type ListParameters } from "./list-request";
import { activeReplacement, normalizeIncomingUser, normalizeUserPatch, type PatchOperation } from "./quirks";
import { presentResource, validateIncoming } from "./resource-io";
import { checkPatchPath } from "./patch-path";
import { coreUserSchema, enterpriseUserSchema, profileFromScim, userToScim } from "./user-mapping";

/** What every SCIM handler receives as scimmy's `ctx` (built per request by scim/router.ts). */
export interface ScimContext {
  request: RequestContext;
  users: UserDirectory;
  groups: GroupDirectory;
  /** Absolute SCIM base URL, e.g. https://gatehouse.example.com/scim/v2. */
  baseUrl: string;
  maxResults: number;
  /** From If-Match (RFC 7644 §3.14): a write applies only to this version. */
  expectedVersion?: number;
}

type ScimObject = Record<string, unknown>;
const activePaths = new Set(["active", `${coreUserSchema}:active`.toLowerCase()]);
type Instance = InstanceType<typeof SCIMMY.Schemas.User>;

let userFilterSchema: FilterSchema | undefined;
function filterSchema(): FilterSchema {
  if (!userFilterSchema) {
    const schema = filterSchemaFromScimmy(SCIMMY.Schemas.User.definition, { extensionPrefixes: { [enterpriseUserSchema]: "enterprise" } });
    // A user's groups are stored as ids only: `groups.display` or `groups.type` could only ever
    // match nothing, so they are refused (400 invalidFilter) rather than answered wrongly.
    const groups = schema.attributes.find((a) => a.name === "groups");
    if (groups) groups.subAttributes = groups.subAttributes?.filter((a) => a.name === "value");
    userFilterSchema = schema;
  }
  return userFilterSchema;
}

/**
 * The SCIM Users endpoint on scimmy's User resource. It keeps scimmy's schema validation, attribute
 * selection and PatchOp, and replaces what falls short for a database-backed server
 * (../shared/SCIMMY.md): filters are parsed from the raw expression and run in the database,
 * paging happens once (in the database), every error keeps its real status, and provider quirks
 * are normalised before validation.
 */
export class UserResource extends SCIMMY.Resources.User {
  private readonly listParameters: ListParameters;

  constructor(...args: unknown[]) {
    const { scimmyArgs, list } = separateListParameters(args);
    super(...(scimmyArgs as []));
    this.listParameters = list;
  }

  override async read(ctx?: unknown): Promise<never> {
    const scim = ctx as ScimContext;
    try {
      if (this.id) return this.present(await this.scimUser(scim, await scim.users.get(scim.request, this.id))) as never;
      const request = parseListRequest(this.listParameters, filterSchema(), scim.maxResults);
      const page = await scim.users.list(scim.request, request);
      const cache = new Map<string, Promise<Group | undefined>>();
      const resources = await Promise.all(page.users.map(async (user) => this.present(await this.scimUser(scim, user, cache))));
      return listResponse(resources, page.total, request.startIndex) as never;
    } catch (error) {
      throw toScimError(error);
    }
  }

  /** POST and PUT: quirks normalised, then scimmy's inbound validation, then the directory. */
  override async write(instance: unknown, ctx?: unknown): Promise<never> {
    const scim = ctx as ScimContext;
    const validated = validateIncoming(SCIMMY.Schemas.User as never, normalizeIncomingUser(instance), this.id ? "PUT" : "POST");
    try {
      return this.present(await ingest(scim, this.id, validated)) as never;
    } catch (error) {
      throw toScimError(error);
    }
  }

  /**
   * PATCH (RFC 7644 §3.5.2): scimmy applies the operations to the full current resource, and the
   * result replaces what the identity provider owns. The directory runs this on the user as stored
   * and writes it only if nobody wrote the user in between; otherwise it runs it again on the newer
   * user (or answers 412 under If-Match), so concurrent PATCHes of different attributes all stay.
   * A PATCH that changes nothing answers 200 with the resource (scimmy would answer 204, which some
   * clients mistake for a failure on Users).
   */
  override async patch(message: unknown, ctx?: unknown): Promise<never> {
    const scim = ctx as ScimContext;
    if (!this.id) throw new SCIMMY.Types.Error(404, null as unknown as string, "PATCH operation must target a specific resource");
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      throw new SCIMMY.Types.Error(400, "invalidSyntax", "PatchOp request expected message body to be single complex value");
    }
    const body = message as { Operations?: unknown };
    // Paths are checked against RFC 7644 §3.5.2 and the schema before anything is read or applied.
    const definition = SCIMMY.Schemas.User.definition;
    const checkPaths = (operations: unknown) => {
      if (!Array.isArray(operations)) return;
      operations.forEach((operation, i) => {
        const path = (operation as { path?: unknown } | null)?.path;
        if (typeof path === "string" && path.trim()) checkPatchPath(path, definition, i + 1);
      });
    };
    checkPaths(body.Operations);
    const active = activeReplacement(body.Operations);
    // Every PATCH result is validated as a whole resource, as a PUT of it would be.
    const validatedResult = (resource: unknown) => validateIncoming(SCIMMY.Schemas.User as never, normalizeIncomingUser(resource), "PUT");
    const patched = async (user: User) => {
      if (active !== undefined) {
        // Entra's deactivation, the hottest PATCH: the one operation applied directly to the
        // resource (RFC 7644 §3.5.2.3) — without scimmy's PatchOp, whose passes over the whole
        // resource cost more than the rest of the request's CPU. Only `active` changes, and it is a
        // boolean already (activeReplacement); the rest is the user as stored, which was validated
        // when it was written, so the result is not validated again: scimmy's pass over the whole
        // resource was a third of what the request allocated. Its groups are not part of a profile.
        return profileFromScim({ ...userToScim(user, scim.baseUrl), active });
      }
      const current = new SCIMMY.Schemas.User(await this.scimUser(scim, user), "out", UserResource.basepath() as unknown as string);
      const operations = Array.isArray(body.Operations)
        ? normalizeUserPatch(body.Operations as PatchOperation[], JSON.parse(JSON.stringify(current)) as ScimObject)
        : body.Operations;
      // The extension URN path is expanded into one path per attribute: check those too.
      checkPaths(operations);
      // Nothing left to apply: Microsoft's validator sends an empty Operations list, and Okta may
      // send only a password (discarded). A no-op, answered with the resource as it is.
      if (Array.isArray(operations) && operations.length === 0) return undefined;
      // RFC 7644 §3.5.2.2: `remove` of `active` leaves it unassigned. Gatehouse reads that as
      // inactive (no access, as with active: false) and no longer shows the attribute.
      const activeRemoved =
        Array.isArray(operations) &&
        (operations as PatchOperation[]).some((o) => o.op === "remove" && typeof o.path === "string" && activePaths.has(o.path.trim().toLowerCase()));
      let profile: ReturnType<typeof profileFromScim> | undefined;
      await new SCIMMY.Messages.PatchOp({ ...body, Operations: operations } as never).apply(current as never, async (instance: unknown) => {
        const validated = validatedResult(instance);
        profile = profileFromScim(validated);
        if (activeRemoved && (validated.active === undefined || validated.active === null)) profile.active = null;
        return instance as never;
      });
      return profile;
    };
    try {
      const user = await scim.users.update(scim.request, this.id, patched, { expectedVersion: scim.expectedVersion });
      return this.present(await this.scimUser(scim, user)) as never;
    } catch (error) {
      throw toScimError(error);
    }
  }

  override async dispose(ctx?: unknown): Promise<void> {
    const scim = ctx as ScimContext;
    if (!this.id) throw new SCIMMY.Types.Error(404, null as unknown as string, "DELETE operation must target a specific resource");
    try {
      await scim.users.remove(scim.request, this.id, { expectedVersion: scim.expectedVersion });
    } catch (error) {
      throw toScimError(error);
    }
  }

  /** The SCIM form of a user, with `groups` unless the client asked to leave them out. */
  private async scimUser(scim: ScimContext, user: User, cache?: Map<string, Promise<Group | undefined>>): Promise<ScimObject> {
    const groups = attributeRequested(this.listParameters, "groups") ? await scim.groups.groupsOf(scim.request, user, cache) : [];
    return userToScim(user, scim.baseUrl, userGroupsToScim(groups, scim.baseUrl));
  }

  private present(resource: ScimObject): Instance {
    return presentResource(SCIMMY.Schemas.User as never, resource, UserResource.basepath() as unknown as string, this.attributes) as Instance;
  }
}

/** Creates (no id) or replaces a user from a validated SCIM resource; answers the SCIM resource. */
async function ingest(scim: ScimContext, id: string | undefined, resource: ScimObject): Promise<ScimObject> {
  const profile = profileFromScim(resource);
  const user = id
    ? await scim.users.replace(scim.request, id, profile, { expectedVersion: scim.expectedVersion })
    : await scim.users.provision(scim.request, profile, "scim");
  const groups = user.groupIds.length ? await scim.groups.groupsOf(scim.request, user) : [];
  return userToScim(user, scim.baseUrl, userGroupsToScim(groups, scim.baseUrl));
}

/** Declares the Users resource with the EnterpriseUser extension, and its write handler. */
export function declareUserResource(): void {
  if (SCIMMY.Resources.declared("User" as never)) return;
  relaxTypeCanonicalValues();
  (SCIMMY.Resources.declare(UserResource as never, "User") as unknown as typeof UserResource)
    .extend(SCIMMY.Schemas.EnterpriseUser as never, false)
    // UserResource#write calls ingest itself; scimmy's own write path gets the same handler.
    .ingress(async (resource: { id?: string }, instance: unknown, ctx: unknown) => {
      try {
        return (await ingest(ctx as ScimContext, resource.id, JSON.parse(JSON.stringify(instance)) as ScimObject)) as never;
      } catch (error) {
        throw toScimError(error);
      }
    })
    .egress(() => {
      throw new SCIMMY.Types.Error(500, null as unknown as string, "UserResource reads without egress");
    })
    .degress(() => {
      throw new SCIMMY.Types.Error(500, null as unknown as string, "UserResource deletes without degress");
    });
}

/**
 * RFC 7643 §7 calls canonicalValues suggestions, and identity providers send their own `type`
 * values (Entra app roles arrive as `type: "WindowsAzureActiveDirectoryRole"`, and scimmy declares
 * an empty list for roles.type that refuses everything). Accept any `type` there.
 */
function relaxTypeCanonicalValues(): void {
  for (const attribute of SCIMMY.Schemas.User.definition.attributes as unknown as { subAttributes?: { name: string; config: { canonicalValues: unknown } }[] }[]) {
    for (const sub of attribute.subAttributes ?? []) {
      if (sub.name === "type" && Array.isArray(sub.config.canonicalValues) && sub.config.canonicalValues.length === 0) {
        sub.config.canonicalValues = false;
      }
    }
  }
}
