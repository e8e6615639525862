import express, { type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { requireAdministration, type ApiActor } from "../services/members";
import type { MappingProposal } from "../services/mappings";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { presentMapping } from "./presenters";
import { AccessSummary as AccessSummarySchema, Mapping, MappingEditRequest, MappingPreview, MappingPreviewRequest } from "./schemas";
import type { AccessDelta, AccessSummary } from "../domain/access-change";

/**
 * Editing a group mapping, and previewing what a mapping change would do to whom before it is
 * saved (the console's "Groups and mappings" page). Creating, listing and deleting mappings are in
 * organization-routes.ts.
 */

const needsAccessAdministration = (actor: ApiActor) => void requireAdministration(actor, "changeMemberAccess");

export const changeMapping = operation({
  method: "patch",
  path: "/mappings/:id",
  operationId: "changeMapping",
  tag: "Mappings",
  summary: "Edit a mapping",
  description:
    "Needs `edit_user_permissions`. Changes the group or app role matched, the organization role, the projects, or several, in place (same id). Takes effect on the next authorization answer. Audited (`mapping.changed`, with the mapping before and after), and every member whose effective access changes gets a `user.access_changed` event.",
  security: "personal",
  authorize: needsAccessAdministration,
  params: z.object({ id: z.string().min(1).describe("The mapping's id.") }),
  body: MappingEditRequest,
  responses: { 200: { description: "The mapping as saved.", schema: Mapping } },
  errors: { 400: ["invalid"], 404: "No such mapping in the organization" },
});

export const previewMapping = operation({
  method: "post",
  path: "/mappings/preview",
  operationId: "previewMapping",
  tag: "Mappings",
  summary: "Preview a mapping change: who gains and who loses which access",
  description:
    "Needs `edit_user_permissions`. Saves nothing. Answers the members whose effective access the change would change, with their access before and after, worked out by the same evaluation as `POST /authorize` — after saving, the authorization answers are what the preview said (unless something else changes in between). Validated as saving would be (`400 invalid`, `404`). Paged: `startIndex` and `count` (at most 1,000) in the query; `totalResults` counts all.",
  security: "personal",
  authorize: needsAccessAdministration,
  query: z.object({
    startIndex: z.coerce.number().int().min(1).default(1).describe("The 1-based index of the first member of the page."),
    count: z.coerce.number().int().min(1).max(1000).default(100).describe("Members per page."),
  }),
  body: MappingPreviewRequest,
  responses: { 200: { description: "The members whose access would change.", schema: MappingPreview } },
  errors: { 400: ["invalid"], 404: "No such mapping in the organization" },
});

function presentAccess(access: AccessSummary): z.input<typeof AccessSummarySchema> {
  return {
    organizationRole: access.organizationRole,
    organizationRoles: [...access.organizationRoles],
    allProjects: access.allProjects,
    projects: access.projects.map((p) => ({ projectId: p.projectId, role: p.role, roles: [...p.roles] })),
    ...(access.denial !== undefined ? { denial: access.denial } : {}),
  };
}

function presentGrants(grants: AccessDelta["gained"]) {
  return { organizationRoles: [...grants.organizationRoles], projects: grants.projects.map((p) => ({ projectId: p.projectId, role: p.role })) };
}

export const mappingOperations = [changeMapping, previewMapping];

export function mappingRoutes(services: Services): Router {
  const router = express.Router();
  const { mappings } = services;

  // Before /mappings/:id routes elsewhere could take "preview" for an id.
  mount(router, previewMapping, async ({ body, query }, req) => {
    const proposal: MappingProposal =
      body.change === "create"
        ? { change: "create", mapping: body.mapping }
        : body.change === "edit"
          ? { change: "edit", mappingId: body.mappingId, edit: body.mapping }
          : { change: "delete", mappingId: body.mappingId };
    const preview = await mappings.preview(scopeOf(req), proposal, { startIndex: query.startIndex, count: query.count });
    return {
      totalResults: preview.total,
      startIndex: preview.startIndex,
      changes: preview.changes.map((c) => ({ userId: c.userId, userName: c.userName, before: presentAccess(c.before), after: presentAccess(c.after), gained: presentGrants(c.gained), lost: presentGrants(c.lost) })),
    };
  });

  mount(router, changeMapping, async ({ params, body }, req) => presentMapping(await mappings.change(contextOf(req), params.id, body)));

  return router;
}
