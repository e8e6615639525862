import SCIMMY from "scimmy";
import type { RequestContext } from "../domain/context";
import type { UserDirectory } from "../services/users";
import { toScimError } from "./errors";
import { InvalidFilterError, filterSchemaFromScimmy, parseFilter, resolveAttributePath, type FilterSchema } from "./filter";
import { normalizeIncomingUser, normalizeUserPatch, type PatchOperation } from "./quirks";
import { enterpriseUserSchema, profileFromScim, userToScim } from "./user-mapping";

/** What every SCIM handler receives as scimmy's `ctx` (built per request by scim/router.ts). */
export interface ScimContext {
  request: RequestContext;
  users: UserDirectory;
  /** Absolute SCIM base URL, e.g. https://gatehouse.example.com/scim/v2. */
  baseUrl: string;
  maxResults: number;
  /** From If-Match (RFC 7644 §3.14): a write applies only to this version. */
  expectedVersion?: number;
}

interface ListParameters {
  filter?: unknown;
  sortBy?: unknown;
  sortOrder?: unknown;
  startIndex?: unknown;
  count?: unknown;
}

type ScimObject = Record<string, unknown>;
type Instance = InstanceType<typeof SCIMMY.Schemas.User>;

let userFilterSchema: FilterSchema | undefined;
function filterSchema(): FilterSchema {
  userFilterSchema ??= filterSchemaFromScimmy(SCIMMY.Schemas.User.definition, { extensionPrefixes: { [enterpriseUserSchema]: "enterprise" } });
  return userFilterSchema;
}

function invalid(scimType: string, message: string) {
  return new SCIMMY.Types.Error(400, scimType, message);
}

function integerParameter(name: string, value: unknown): number | undefined {
  if (value === undefined || value === "") return undefined;
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(number)) throw invalid("invalidValue", `${name} must be an integer`);
  return number;
}

/**
 * The SCIM Users endpoint on scimmy's User resource. It keeps scimmy's schema validation, attribute
 * selection and PatchOp, and replaces what falls short for a database-backed server
 * (../shared/SCIMMY.md): filters are parsed from the raw expression and run in the database,
 * paging happens once (in the database), every error keeps its real status, and provider quirks
 * are normalised before validation.
 */
export class UserResource extends SCIMMY.Resources.User {
  private listParameters: ListParameters = {};

  constructor(...args: unknown[]) {
    const [id, config] = args;
    const params = ((typeof id === "string" || config !== undefined ? config : id) ?? {}) as ScimObject;
    const { filter, sortBy, sortOrder, startIndex, count, ...rest } = params;
    // scimmy's own filter parser is wrong for `not` and repeated value filters; keep the raw text.
    if (typeof id === "string") super(id, rest as never);
    else super(rest as never);
    this.listParameters = { filter, sortBy, sortOrder, startIndex, count };
  }

  override async read(ctx?: unknown): Promise<never> {
    const scim = ctx as ScimContext;
    try {
      if (this.id) {
        const user = await scim.users.get(scim.request, this.id);
        return this.present(userToScim(user, scim.baseUrl)) as never;
      }
      return (await this.list(scim)) as never;
    } catch (error) {
      throw toScimError(error);
    }
  }

  override async write(instance: unknown, ctx?: unknown): Promise<never> {
    // scimmy validates the resource in super.write (Schemas.User "in"): normalise quirks first.
    return super.write(normalizeIncomingUser(instance) as never, ctx) as never;
  }

  /**
   * PATCH (RFC 7644 §3.5.2): scimmy applies the operations to the full current resource and hands
   * the result to ingress as a replacement. A PATCH that changes nothing answers 200 with the
   * resource (scimmy would answer 204, which some clients mistake for a failure on Users).
   */
  override async patch(message: unknown, ctx?: unknown): Promise<never> {
    const scim = ctx as ScimContext;
    if (!this.id) throw new SCIMMY.Types.Error(404, null as unknown as string, "PATCH operation must target a specific resource");
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      throw invalid("invalidSyntax", "PatchOp request expected message body to be single complex value");
    }
    let current: Instance;
    try {
      const user = await scim.users.get(scim.request, this.id);
      if (scim.expectedVersion !== undefined && scim.expectedVersion !== user.version) {
        throw new SCIMMY.Types.Error(412, null as unknown as string, `User ${this.id} has changed since version ${scim.expectedVersion}`);
      }
      current = new SCIMMY.Schemas.User(userToScim(user, scim.baseUrl), "out", UserResource.basepath() as unknown as string);
    } catch (error) {
      throw toScimError(error);
    }
    const body = message as { Operations?: unknown };
    const operations = Array.isArray(body.Operations)
      ? normalizeUserPatch(body.Operations as PatchOperation[], JSON.parse(JSON.stringify(current)) as ScimObject)
      : body.Operations;
    if (Array.isArray(operations) && operations.length === 0) {
      // Nothing left to apply: Microsoft's validator sends an empty Operations list, and Okta may
      // send only a password (discarded). A no-op, answered with the resource as it is.
      return this.present(JSON.parse(JSON.stringify(current))) as never;
    }
    const patch = new SCIMMY.Messages.PatchOp({ ...body, Operations: operations } as never);
    const patched = await patch.apply(current as never, async (instance: unknown) => (await this.write(instance, ctx)) as never);
    const result = patched ?? current;
    return this.present(JSON.parse(JSON.stringify(result))) as never;
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

  private present(resource: ScimObject): Instance {
    return new SCIMMY.Schemas.User(resource, "out", UserResource.basepath() as unknown as string, this.attributes as never);
  }

  /** A ListResponse paged once, in the database (RFC 7644 §3.4.2.4). */
  private async list(scim: ScimContext) {
    const { filter, sortBy, sortOrder, startIndex, count } = this.listParameters;
    let criteria;
    let sortPath: string | undefined;
    try {
      if (filter !== undefined) {
        if (typeof filter !== "string" || !filter.trim()) throw new InvalidFilterError("filter must be a non-empty string");
        criteria = parseFilter(filter, filterSchema());
      }
      if (sortBy !== undefined && sortBy !== "") {
        if (typeof sortBy !== "string") throw new InvalidFilterError("sortBy must be an attribute path");
        sortPath = resolveAttributePath(sortBy, filterSchema()).domainPath;
      }
    } catch (error) {
      if (error instanceof InvalidFilterError) throw invalid("invalidFilter", error.message);
      throw error;
    }
    if (sortOrder !== undefined && sortOrder !== "ascending" && sortOrder !== "descending") {
      throw invalid("invalidValue", 'sortOrder must be "ascending" or "descending"');
    }
    // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1, a negative count as 0; count is capped.
    const first = Math.max(integerParameter("startIndex", startIndex) ?? 1, 1);
    const size = Math.min(Math.max(integerParameter("count", count) ?? scim.maxResults, 0), scim.maxResults);

    const page = await scim.users.list(scim.request, {
      criteria,
      sortBy: sortPath,
      descending: sortOrder === "descending",
      startIndex: first,
      count: size,
    });
    const resources = page.users.map((user) => this.present(userToScim(user, scim.baseUrl)));
    const response = new SCIMMY.Messages.ListResponse(resources as never, {
      startIndex: 1,
      itemsPerPage: Math.max(resources.length, 0),
      totalResults: page.total,
    } as never);
    // Built as page 1 so scimmy does not slice the page a second time; then say where it starts.
    response.startIndex = first;
    return response;
  }
}

/** Installs the handlers scimmy calls for writes into UserResource (create and replace). */
export function declareUserResource(): void {
  if (SCIMMY.Resources.declared("User" as never)) return;
  relaxTypeCanonicalValues();
  (SCIMMY.Resources.declare(UserResource as never, "User") as unknown as typeof UserResource)
    .extend(SCIMMY.Schemas.EnterpriseUser as never, false)
    .ingress(async (resource: { id?: string }, instance: unknown, ctx: unknown) => {
      const scim = ctx as ScimContext;
      try {
        const profile = profileFromScim(JSON.parse(JSON.stringify(instance)) as ScimObject);
        const user = resource.id
          ? await scim.users.replace(scim.request, resource.id, profile, { expectedVersion: scim.expectedVersion })
          : await scim.users.provision(scim.request, profile, "scim");
        return userToScim(user, scim.baseUrl) as never;
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
 * an empty list for roles.type that refuses everything). Accept any `type`.
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
