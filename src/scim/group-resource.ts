import SCIMMY from "scimmy";
import type { Group } from "../domain/group";
import { toScimError } from "./errors";
import { filterSchemaFromScimmy, type FilterSchema } from "./filter";
import { groupToScim } from "./group-mapping";
import { groupChangeFromPatch } from "./group-patch";
import { attributeRequested, listResponse, parseListRequest, separateListParameters, type ListParameters } from "./list-request";
import type { ScimContext } from "./user-resource";
import { checkSchemas, presentResource } from "./resource-io";

type ScimObject = Record<string, unknown>;
type Instance = InstanceType<typeof SCIMMY.Schemas.Group>;

let groupFilterSchema: FilterSchema | undefined;
function filterSchema(): FilterSchema {
  groupFilterSchema ??= filterSchemaFromScimmy(SCIMMY.Schemas.Group.definition, { extensionPrefixes: {} });
  return groupFilterSchema;
}

/**
 * Entra adds its own schema URN to groups
 * (http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group): accept it, keep only
 * the schemas Gatehouse serves.
 */
function normalizeIncomingGroup(resource: unknown): unknown {
  if (typeof resource !== "object" || resource === null || Array.isArray(resource)) return resource;
  const { schemas, ...rest } = resource as ScimObject;
  return Array.isArray(schemas) ? { ...rest, schemas: schemas.filter((s) => typeof s === "string" && s.startsWith("urn:ietf:params:scim:")) } : rest;
}

function memberIdsOf(instance: ScimObject): string[] {
  const members = Array.isArray(instance.members) ? (instance.members as ScimObject[]) : [];
  return members.map((member) => {
    if (String(member.type ?? "User").toLowerCase() === "group") {
      throw new SCIMMY.Types.Error(400, "invalidValue", "Nested groups are not supported; members must be users");
    }
    if (typeof member.value !== "string" || !member.value) throw new SCIMMY.Types.Error(400, "invalidValue", 'Each member needs a "value" with the user\'s id');
    return member.value;
  });
}

/**
 * The SCIM Groups endpoint on scimmy's Group resource. Reads load members only when the client
 * wants them (Entra reads with excludedAttributes=members); PATCH goes straight to the membership
 * store as a delta and answers 204 (RFC 7644 §3.5.2), or 200 with the group when `attributes`
 * or `excludedAttributes` asks for it (with members only when `attributes` names them).
 */
export class GroupResource extends SCIMMY.Resources.Group {
  private readonly listParameters: ListParameters;

  constructor(...args: unknown[]) {
    const { scimmyArgs, list } = separateListParameters(args);
    super(...(scimmyArgs as []));
    this.listParameters = list;
  }

  override async read(ctx?: unknown): Promise<never> {
    const scim = ctx as ScimContext;
    try {
      if (this.id) return this.present(await this.scimGroup(scim, await scim.groups.get(scim.request, this.id))) as never;
      const request = parseListRequest(this.listParameters, filterSchema(), scim.maxResults);
      const page = await scim.groups.list(scim.request, request);
      const resources = await Promise.all(page.groups.map(async (group) => this.present(await this.scimGroup(scim, group))));
      return listResponse(resources, page.total, request.startIndex) as never;
    } catch (error) {
      throw toScimError(error);
    }
  }

  override async write(instance: unknown, ctx?: unknown): Promise<never> {
    checkSchemas(instance, SCIMMY.Schemas.Group);
    return super.write(normalizeIncomingGroup(instance) as never, ctx) as never;
  }

  override async patch(message: unknown, ctx?: unknown): Promise<never> {
    const scim = ctx as ScimContext;
    if (!this.id) throw new SCIMMY.Types.Error(404, null as unknown as string, "PATCH operation must target a specific resource");
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      throw new SCIMMY.Types.Error(400, "invalidSyntax", "PatchOp request expected message body to be single complex value");
    }
    const change = groupChangeFromPatch(message, this.id);
    try {
      const group = await scim.groups.change(scim.request, this.id, change, { expectedVersion: scim.expectedVersion });
      // RFC 7644 §3.5.2: without attributes/excludedAttributes, 204 and no body; with either,
      // 200 and the group. Members are loaded only when `attributes` names them: a group of
      // 500,000 members is not echoed back because a client excluded some other attribute.
      const { attributes, excludedAttributes } = this.listParameters;
      if (attributes === undefined && excludedAttributes === undefined) return undefined as never;
      const wantsMembers = attributes !== undefined && attributeRequested({ attributes }, "members");
      const members = wantsMembers ? await scim.groups.members(scim.request, group.id) : undefined;
      return this.present(groupToScim(group, scim.baseUrl, members)) as never;
    } catch (error) {
      throw toScimError(error);
    }
  }

  override async dispose(ctx?: unknown): Promise<void> {
    const scim = ctx as ScimContext;
    if (!this.id) throw new SCIMMY.Types.Error(404, null as unknown as string, "DELETE operation must target a specific resource");
    try {
      await scim.groups.remove(scim.request, this.id, { expectedVersion: scim.expectedVersion });
    } catch (error) {
      throw toScimError(error);
    }
  }

  async scimGroup(scim: ScimContext, group: Group): Promise<ScimObject> {
    const members = attributeRequested(this.listParameters, "members") ? await scim.groups.members(scim.request, group.id) : undefined;
    return groupToScim(group, scim.baseUrl, members);
  }

  private present(resource: ScimObject): Instance {
    return presentResource(SCIMMY.Schemas.Group as never, resource, GroupResource.basepath() as unknown as string, this.attributes) as Instance;
  }
}

/** Declares the Groups resource and its write handler (POST creates, PUT replaces as a difference). */
export function declareGroupResource(): void {
  if (SCIMMY.Resources.declared("Group" as never)) return;
  // Gatehouse enforces displayName uniqueness per organization; say so in /Schemas (RFC 7643 §7).
  const displayName = (SCIMMY.Schemas.Group.definition.attributes as unknown as { name: string; config: { uniqueness: string } }[]).find((a) => a.name === "displayName");
  if (displayName) displayName.config.uniqueness = "server";
  (SCIMMY.Resources.declare(GroupResource as never, "Group") as unknown as typeof GroupResource)
    .ingress(async (resource: { id?: string }, instance: unknown, ctx: unknown) => {
      const scim = ctx as ScimContext;
      try {
        const data = JSON.parse(JSON.stringify(instance)) as ScimObject;
        const attributes = {
          displayName: data.displayName as string,
          externalId: typeof data.externalId === "string" && data.externalId ? data.externalId : undefined,
          members: memberIdsOf(data),
        };
        if (!resource.id) {
          const { group, members } = await scim.groups.create(scim.request, attributes);
          return groupToScim(group, scim.baseUrl, members) as never;
        }
        const group = await scim.groups.replace(scim.request, resource.id, attributes, { expectedVersion: scim.expectedVersion });
        return groupToScim(group, scim.baseUrl, await scim.groups.members(scim.request, group.id)) as never;
      } catch (error) {
        throw toScimError(error);
      }
    })
    .egress(() => {
      throw new SCIMMY.Types.Error(500, null as unknown as string, "GroupResource reads without egress");
    })
    .degress(() => {
      throw new SCIMMY.Types.Error(500, null as unknown as string, "GroupResource deletes without degress");
    });
}
