import express, { type Request, type Router } from "express";
import { z } from "zod";
import { NotFoundError, PolicyRefusedError } from "../errors";
import type { AccessSettings } from "../domain/access";
import type { Services } from "../services";
import { isMemberCursor, requireAdministration, type AdministrativeTask, type ApiActor } from "../services/members";
import { ORGANIZATION_NAME_MAX } from "../services/organizations";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { presentCustomRole, presentIssuedToken, presentMapping, presentMember, presentProject, presentSettings, presentToken } from "./presenters";
import {
  CustomRole,
  DefaultRole,
  Permission,
  PersonalTokenMaximumDays,
  GrantableRole,
  IssuedToken,
  Mapping,
  MappingMatch,
  MappingProject,
  Member,
  MemberPage,
  MemberStatus,
  temporaryAccessMaximumDays,
  named,
  Project,
  ProjectItem,
  ProjectRequest,
  reasonQuery,
  ScimTokenSummary,
  Settings,
  toAssignment,
} from "./schemas";

/**
 * The organization side of the local admin API: members (list, invite, remove), ownership
 * transfer, projects, group mappings and SCIM tokens. Each route checks the permission matrix
 * (domain/permissions.ts) for the person behind the personal token.
 */

/** Checked before the request is read: only a person whose access grants the catalog's permission for the task. */
const needs = (task: AdministrativeTask) => (actor: ApiActor) => void requireAdministration(actor, task);

const idParams = (what: string) => z.object({ id: z.string().min(1).describe(`The ${what}'s id.`) });

// --- Members ----------------------------------------------------------------------------------------

export const listUsers = operation({
  method: "get",
  path: "/users",
  operationId: "listUsers",
  tag: "Members",
  summary: "List members",
  description:
    "Admin and Owner only. Ordered by userName. Page with `cursor` (keyset: each page's `nextCursor` gives the next, and no member is skipped or shown twice while others are added or removed) or with `startIndex`.",
  security: "personal",
  query: z.object({
    q: z
      .string()
      .optional()
      .describe(
        "Only members whose userName, given, family or formatted name, display name or emails contain each word of this (ignoring case). On MongoDB (MONGODB_URI) each word must begin a word of those: `ada` finds Ada Lovelace and ada@example.com, `love` finds Lovelace, `lace` does not.",
      ),
    status: MemberStatus.optional().describe("Only members in this state: `active`, `suspended` (active but suspended here) or `deactivated`."),
    startIndex: z.coerce.number().int().min(1).default(1).describe("The 1-based index of the first member of the page; ignored with `cursor`."),
    cursor: z
      .string()
      .min(1)
      .max(1000)
      .refine(isMemberCursor, "is not a nextCursor this API gave")
      .optional()
      .describe("The `nextCursor` of the previous page: the page starts after the last member that page showed."),
    count: z.coerce.number().int().min(0).max(200).default(50).describe("The most members on the page."),
  }),
  responses: { 200: { description: "A page of members.", schema: MemberPage } },
  errors: { 400: ["invalid_request"] },
});

export const inviteUser = operation({
  method: "post",
  path: "/users",
  operationId: "inviteUser",
  tag: "Members",
  summary: "Invite a local user",
  description: "Needs `add_users`. Creates a local user with a role (never above the inviter's own) and projects; the seat limit applies.",
  security: "personal",
  body: named(
    "Invitation",
    z
      .object({
        email: z.email().describe("Becomes the userName and the primary work email."),
        displayName: z.string().min(1).max(256).optional(),
        role: GrantableRole.optional().describe("Never above the inviter's own role."),
        projects: z.array(ProjectItem).optional(),
      })
      .strict(),
  ),
  responses: { 201: { description: "The new member.", schema: Member } },
  errors: { 400: ["invalid"], 403: ["seat_limit_reached"], 409: ["conflict"] },
});

export const removeUser = operation({
  method: "delete",
  path: "/users/:id",
  operationId: "removeUser",
  tag: "Members",
  summary: "Remove a local member",
  description: "Admin and Owner only; never the Owner, and not users an identity provider manages.",
  security: "personal",
  params: z.object({ id: z.string().min(1).describe("The user's id (the SCIM id).") }),
  query: reasonQuery,
  responses: { 204: { description: "Removed." } },
  errors: { 403: ["owner_protected"], 404: "No such user in the organization", 409: ["managed_by_identity_provider"] },
});

export const transferOwnership = operation({
  method: "post",
  path: "/ownership/transfer",
  operationId: "transferOwnership",
  tag: "Organization",
  summary: "Transfer ownership",
  description: "The Owner only, to an active, unsuspended member; the former Owner becomes an Admin.",
  security: "personal",
  body: named("OwnershipTransferRequest", z.object({ userId: z.string().min(1).describe("An active, unsuspended member.") }).strict()),
  responses: { 200: { description: "The new Owner.", schema: Member } },
  errors: { 403: ["owner_protected"], 404: "No such user in the organization" },
});

// --- Settings ---------------------------------------------------------------------------------------

export const getSettings = operation({
  method: "get",
  path: "/settings",
  operationId: "getSettings",
  tag: "Organization",
  summary: "The organization's name and access settings",
  description: "Needs `modify_account_settings`. The organization's name; also says whether the organization has lost its Owner (`ownerVacant`, with the operator's break-glass in `ownerVacancy`) and how many seats are taken.",
  security: "personal",
  authorize: needs("changeSettings"),
  responses: { 200: { description: "The settings.", schema: Settings } },
});

export const updateSettings = operation({
  method: "patch",
  path: "/settings",
  operationId: "updateSettings",
  tag: "Organization",
  summary: "Rename the organization, change access settings",
  description:
    "Needs `modify_account_settings`. Properties left out keep their value. A new `name` is audited as `organization.renamed`, the access settings as `organization.access_settings_changed` (each only when it changes). The seat limit is the operator's: a body that names `seatLimit` is refused whole (`403 forbidden`).",
  security: "personal",
  authorize: needs("changeSettings"),
  body: named(
    "SettingsChange",
    z
      .object({
        name: z
          .string()
          .trim()
          .min(1, "name: an organization needs a name")
          .max(ORGANIZATION_NAME_MAX, `name: at most ${ORGANIZATION_NAME_MAX} characters`)
          .optional()
          .describe(`The organization's name, as people see it (the console, the sign-in page); trimmed, 1 to ${ORGANIZATION_NAME_MAX} characters.`),
        defaultRole: DefaultRole.optional(),
        readOnlyMayComment: z.boolean().optional(),
        requireMappingForAccess: z.boolean().optional(),
        temporaryAccessMaximumDays: temporaryAccessMaximumDays.optional(),
        seatLimit: z
          .number()
          .int()
          .min(1)
          .nullable()
          .optional()
          .describe("Refused (`403 forbidden`, nothing changed): the seat limit is the operator's, set with the CLI (`gatehouse access-settings --seat-limit`)."),
        personalTokenMaximumDays: PersonalTokenMaximumDays.optional(),
      })
      .strict(),
  ),
  bodyRequired: false,
  responses: { 200: { description: "The settings after the change.", schema: Settings } },
});

// --- Projects ---------------------------------------------------------------------------------------

export const listProjects = operation({
  method: "get",
  path: "/projects",
  operationId: "listProjects",
  tag: "Projects",
  summary: "The organization's projects",
  description: "Any member with access, and service tokens.",
  security: "personalOrService",
  responses: { 200: { description: "The projects.", schema: named("ProjectList", z.object({ projects: z.array(Project) })) } },
});

export const createProject = operation({
  method: "post",
  path: "/projects",
  operationId: "createProject",
  tag: "Projects",
  summary: "Create a project",
  description: "Needs `modify_account_settings`.",
  security: "personal",
  authorize: needs("changeSettings"),
  body: ProjectRequest,
  responses: { 201: { description: "The new project.", schema: Project } },
  errors: { 400: ["invalid"] },
});

export const renameProject = operation({
  method: "patch",
  path: "/projects/:id",
  operationId: "renameProject",
  tag: "Projects",
  summary: "Rename a project",
  description: "Needs `modify_account_settings`.",
  security: "personal",
  authorize: needs("changeSettings"),
  params: idParams("project"),
  body: ProjectRequest,
  responses: { 200: { description: "The renamed project.", schema: Project } },
  errors: { 400: ["invalid"], 404: "No such project in the organization" },
});

export const deleteProject = operation({
  method: "delete",
  path: "/projects/:id",
  operationId: "deleteProject",
  tag: "Projects",
  summary: "Delete a project",
  description: "Needs `modify_account_settings`. Mappings lose their assignments to it; a mapping left granting nothing is deleted too.",
  security: "personal",
  authorize: needs("changeSettings"),
  params: idParams("project"),
  responses: { 204: { description: "Deleted." } },
  errors: { 404: "No such project in the organization" },
});

// --- Mappings ---------------------------------------------------------------------------------------

export const listMappings = operation({
  method: "get",
  path: "/mappings",
  operationId: "listMappings",
  tag: "Mappings",
  summary: "Group mappings",
  description: "Needs `edit_user_permissions`.",
  security: "personal",
  authorize: needs("changeMemberAccess"),
  responses: { 200: { description: "The mappings.", schema: named("MappingList", z.object({ mappings: z.array(Mapping) })) } },
});

export const createMapping = operation({
  method: "post",
  path: "/mappings",
  operationId: "createMapping",
  tag: "Mappings",
  summary: "Map a group or app role onto a role and/or projects",
  description:
    "Needs `edit_user_permissions`. Takes effect on the next authorization answer. Give `organizationRole`, `projects`, or both: a mapping that grants nothing is answered `400 invalid`.",
  security: "personal",
  authorize: needs("changeMemberAccess"),
  body: named(
    "MappingRequest",
    z
      .object({
        match: MappingMatch,
        organizationRole: GrantableRole.optional().describe("`owner` is refused: ownership is never granted by a mapping."),
        projects: z.array(MappingProject).optional().describe("Projects of the organization."),
      })
      .strict(),
    "An organization role, projects, or both.",
  ),
  responses: { 201: { description: "The new mapping.", schema: Mapping } },
  errors: { 400: ["invalid"] },
});

export const deleteMapping = operation({
  method: "delete",
  path: "/mappings/:id",
  operationId: "deleteMapping",
  tag: "Mappings",
  summary: "Delete a mapping",
  description: "Needs `edit_user_permissions`.",
  security: "personal",
  authorize: needs("changeMemberAccess"),
  params: idParams("mapping"),
  responses: { 204: { description: "Deleted." } },
  errors: { 404: "No such mapping in the organization" },
});

// --- Custom roles -----------------------------------------------------------------------------------

export const listCustomRoles = operation({
  method: "get",
  path: "/custom-roles",
  operationId: "listCustomRoles",
  tag: "Mappings",
  summary: "The organization's custom roles",
  description: "Roles the organization added on top of the access catalog's. Needs the catalog's permission to change members' access (`edit_user_permissions` in the shipped catalog).",
  security: "personal",
  authorize: needs("changeMemberAccess"),
  responses: { 200: { description: "The custom roles.", schema: named("CustomRoleList", z.object({ customRoles: z.array(CustomRole) })) } },
});

export const createCustomRole = operation({
  method: "post",
  path: "/custom-roles",
  operationId: "createCustomRole",
  tag: "Mappings",
  summary: "Add a custom role",
  description:
    "Needs the catalog's permission to change members' access. The permissions are the catalog's, organization-wide, and never more than the caller holds (`403 no_self_elevation`); a name a role already has is `409 conflict`. Audited (`custom_role.created`).",
  security: "personal",
  authorize: needs("changeMemberAccess"),
  body: named(
    "CustomRoleRequest",
    z
      .object({
        name: z.string().min(1).max(100).describe("`custom:` and a lower-case name (a-z, 0-9, _, - and .), e.g. `custom:auditor`."),
        description: z.string().min(1).max(1000).optional(),
        permissions: z.record(Permission, z.enum(["own", "all"])).describe("Permission → scope."),
      })
      .strict(),
  ),
  responses: { 201: { description: "The new role.", schema: CustomRole } },
  errors: { 400: ["invalid"], 403: ["no_self_elevation"], 409: ["conflict"] },
});

export const deleteCustomRole = operation({
  method: "delete",
  path: "/custom-roles/:name",
  operationId: "deleteCustomRole",
  tag: "Mappings",
  summary: "Delete a custom role",
  description:
    "Needs the catalog's permission to change members' access. Refused (`409 conflict`) while a mapping grants it or it is the default role; members assigned it locally keep nothing of it. Audited (`custom_role.deleted`).",
  security: "personal",
  authorize: needs("changeMemberAccess"),
  params: z.object({ name: z.string().min(1).describe("The role's name, `custom:…`.") }),
  responses: { 204: { description: "Deleted." } },
  errors: { 404: "No such custom role in the organization", 409: ["conflict"] },
});

// --- SCIM tokens ------------------------------------------------------------------------------------

export const listScimTokens = operation({
  method: "get",
  path: "/scim-tokens",
  operationId: "listScimTokens",
  tag: "SCIM tokens",
  summary: "SCIM tokens",
  description: "Needs `manage_integrations`. Never shows a token's secret.",
  security: "personal",
  authorize: needs("manageIntegrations"),
  responses: {
    200: {
      description: "The SCIM tokens.",
      schema: named("ScimTokenList", z.object({ tokens: z.array(ScimTokenSummary).describe("The organization's SCIM tokens, revoked ones included, oldest first.") })),
    },
  },
});

export const createScimToken = operation({
  method: "post",
  path: "/scim-tokens",
  operationId: "createScimToken",
  tag: "SCIM tokens",
  summary: "Create a SCIM token",
  description: "Needs `manage_integrations`. The token is in this answer only.",
  security: "personal",
  authorize: needs("manageIntegrations"),
  body: named(
    "ScimTokenRequest",
    z
      .object({
        name: z.string().min(1).max(200).optional().describe("Defaults to `SCIM token`."),
        expires: z.iso
          .datetime({ offset: true })
          .refine((text) => new Date(text).getTime() > Date.now(), "must be in the future")
          .optional()
          .describe("When the token stops working; by default it does not expire."),
      })
      .strict(),
  ),
  bodyRequired: false,
  responses: { 201: { description: "The new token, with its secret.", schema: IssuedToken } },
});

export const revokeScimToken = operation({
  method: "delete",
  path: "/scim-tokens/:id",
  operationId: "revokeScimToken",
  tag: "SCIM tokens",
  summary: "Revoke a SCIM token",
  description: "Needs `manage_integrations`. Takes effect on the token's next request; revoking a revoked token changes nothing.",
  security: "personal",
  authorize: needs("manageIntegrations"),
  params: idParams("SCIM token"),
  responses: { 200: { description: "The token, revoked.", schema: ScimTokenSummary } },
  errors: { 404: "No SCIM token with that id in the organization" },
});

export const organizationOperations = [
  listUsers,
  inviteUser,
  removeUser,
  transferOwnership,
  getSettings,
  updateSettings,
  listProjects,
  createProject,
  renameProject,
  deleteProject,
  listMappings,
  createMapping,
  deleteMapping,
  listCustomRoles,
  createCustomRole,
  deleteCustomRole,
  listScimTokens,
  createScimToken,
  revokeScimToken,
];

export function organizationRoutes(services: Services): Router {
  const router = express.Router();
  const { members, access, scimTokens, organizations } = services;

  mount(router, listUsers, async ({ query }, req) => {
    const page = await members.list(scopeOf(req), req.apiActor!, {
      ...(query.q !== undefined ? { query: query.q } : {}),
      ...(query.status !== undefined ? { status: query.status } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      startIndex: query.startIndex,
      count: query.count,
    });
    return { totalResults: page.total, startIndex: page.startIndex, users: page.members.map(presentMember), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  });

  mount(router, inviteUser, async ({ body: { projects, ...rest } }, req) => {
    const view = await members.invite(contextOf(req), req.apiActor!, { ...rest, ...(projects ? { projects: projects.map(toAssignment(access.catalog)) } : {}) });
    return presentMember(view);
  });

  mount(router, removeUser, async ({ params, query }, req) => {
    await members.remove(contextOf(req), req.apiActor!, params.id, query.reason);
  });

  mount(router, transferOwnership, async ({ body }, req) => presentMember(await members.transferOwnership(contextOf(req), req.apiActor!, body.userId)));

  /** The settings as GET and PATCH answer them: the organization's name, its access settings, seats and ownership. */
  const currentSettings = async (req: Request, settings?: AccessSettings) => {
    const scope = scopeOf(req);
    const [current, seats, ownerUserId, organization] = await Promise.all([settings ?? access.settings(scope), access.seats(scope), access.ownerOf(scope), organizations.get(scope.organizationId)]);
    if (!organization) throw new NotFoundError(`No organization ${scope.organizationId}`);
    return presentSettings(organization.name, current, seats, { organizationId: scope.organizationId, ownerUserId });
  };

  mount(router, getSettings, async (_input, req) => currentSettings(req));

  mount(router, updateSettings, async ({ body: { seatLimit, name, ...changes } }, req) => {
    // The seat limit is the operator's (what the organization pays for), never the tenant's: the
    // whole change is refused before anything is written.
    if (seatLimit !== undefined) {
      throw new PolicyRefusedError(
        "forbidden",
        `The seat limit is set by the operator, not by administrators: nothing was changed. Ask your Gatehouse operator (gatehouse access-settings --org ${scopeOf(req).organizationId} --seat-limit N|none).`,
      );
    }
    // Access settings first: they are the part the service may refuse (an unknown role), and a
    // refused change must leave the name as it was too.
    const settings = Object.keys(changes).length ? await access.setSettings(contextOf(req), changes) : undefined;
    if (name !== undefined) await organizations.rename(contextOf(req), name);
    return currentSettings(req, settings);
  });

  mount(router, listProjects, async (_input, req) => ({ projects: (await access.projects(scopeOf(req))).map(presentProject) }));

  mount(router, createProject, async ({ body }, req) => presentProject(await access.createProject(contextOf(req), body.name)));

  mount(router, renameProject, async ({ params, body }, req) => presentProject(await access.renameProject(contextOf(req), params.id, body.name)));

  mount(router, deleteProject, async ({ params }, req) => {
    await access.deleteProject(contextOf(req), params.id);
  });

  mount(router, listMappings, async (_input, req) => ({ mappings: (await access.mappings(scopeOf(req))).map(presentMapping) }));

  mount(router, createMapping, async ({ body }, req) => presentMapping(await access.addMapping(contextOf(req), body)));

  mount(router, deleteMapping, async ({ params }, req) => {
    await access.removeMapping(contextOf(req), params.id);
  });

  mount(router, listCustomRoles, async (_input, req) => ({ customRoles: (await access.customRoles(scopeOf(req))).map(presentCustomRole) }));

  mount(router, createCustomRole, async ({ body }, req) => {
    const actor = req.apiActor!;
    const ceiling = actor.kind === "user" ? actor.access.permissions : new Map();
    return presentCustomRole(await access.createCustomRole(contextOf(req), ceiling, body));
  });

  mount(router, deleteCustomRole, async ({ params }, req) => {
    await access.deleteCustomRole(contextOf(req), params.name);
  });

  mount(router, listScimTokens, async (_input, req) => ({ tokens: (await scimTokens.list(scopeOf(req).organizationId)).map(presentToken) }));

  mount(router, createScimToken, async ({ body }, req) => {
    const issued = await scimTokens.issue(contextOf(req), { ...(body.name ? { name: body.name } : {}), ...(body.expires ? { expires: new Date(body.expires) } : {}) });
    // The token is shown in this answer only; Gatehouse keeps a hash.
    return presentIssuedToken(issued);
  });

  mount(router, revokeScimToken, async ({ params }, req) => {
    const token = await scimTokens.find(params.id);
    if (!token || token.organizationId !== scopeOf(req).organizationId || token.purpose !== "scim") throw new NotFoundError(`No SCIM token ${params.id}`);
    return presentToken(await scimTokens.revoke(contextOf(req), params.id));
  });

  return router;
}
