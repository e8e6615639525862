import express, { type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { requireProjectMembersViewer, type ProjectAccessReport } from "../services/access-review";
import type { ApiActor } from "../services/members";
import { ForbiddenError } from "../errors";
import { scopeOf } from "./http";
import { mount, operation } from "./operation";
import { presentPermissions, presentSource } from "./presenters";
import { ManagedBy, named, OrganizationRole, OrganizationRoleSource, PermissionMap, ProjectRole, ProjectRoleSource } from "./schemas";

/**
 * Who has access to a project and through what (issue 14, the console's Projects page): the
 * members the access review shows with access to it, each with the project role they act as, what
 * it allows and every source — from the same evaluation `/authorize` and `/users/{id}/access` use
 * (services/access-review.ts `projectAccess`).
 */

const wholeNumber = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const ProjectMember = named(
  "ProjectMember",
  z.object({
    id: z.string().describe("The user's id (the SCIM id)."),
    userName: z.string(),
    displayName: z.string().min(1).optional().describe("Present when the user has one."),
    managedBy: ManagedBy,
    organizationRole: OrganizationRole,
    projectRole: ProjectRole.describe("The project role the member acts as here: the strongest assigned, or the one reaching every project gives (Editor for Admin and Owner in the shipped catalog)."),
    permissions: PermissionMap.describe("What the member may do in the project, the organization role's ceiling applied: what `POST /authorize` decides with."),
    sources: z.array(ProjectRoleSource).describe("Every source that assigned a role in this project (a mapping and its group, a local grant, a temporary grant and its end), strongest first; empty when only the organization role gives access."),
    allProjectsThrough: z
      .array(OrganizationRoleSource)
      .optional()
      .describe("Present when the member's organization role reaches every project: where that role comes from (ownership, a mapping and its group, a local or temporary grant, the default role)."),
  }),
  "A member with access to a project, and through what.",
);

export const getProjectAccess = operation({
  method: "get",
  path: "/projects/:id/access",
  operationId: "getProjectAccess",
  tag: "Projects",
  summary: "Who has access to a project, and through what",
  description:
    "Admin and Owner, and a manager of the project (a project role carrying the catalog's member invitation or access-change permission there (`add_users`, `edit_user_permissions` in the shipped catalog)). The members with access to the project — assigned by a group mapping, locally or temporarily, or reaching every project through their organization role — each with the project role they act as, what it allows and every source, ordered by userName; page with `startIndex` and `count`. Suspended and deactivated members have no access and are not listed.",
  security: "personal",
  authorize: (actor: ApiActor) => {
    if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
  },
  params: z.object({ id: z.string().min(1).describe("The project's id.") }),
  query: z
    .object({
      startIndex: wholeNumber(1, 1_000_000_000).default(1).describe("The 1-based index of the page's first member."),
      count: wholeNumber(0, 500).default(100).describe("The most members on the page."),
    })
    .strict(),
  responses: {
    200: {
      description: "A page of the project's members.",
      schema: named(
        "ProjectAccessPage",
        z.object({
          projectId: z.string(),
          projectName: z.string(),
          totalResults: z.number().int().min(0).describe("Members with access to the project, on all pages."),
          startIndex: z.number().int().min(1),
          members: z.array(ProjectMember).describe("This page, ordered by userName."),
        }),
      ),
    },
  },
  errors: { 404: "No such project in the organization" },
});

export const projectAccessOperations = [getProjectAccess];

function present(report: ProjectAccessReport): z.input<(typeof getProjectAccess)["responses"][200]["schema"]> {
  return {
    projectId: report.projectId,
    projectName: report.projectName,
    totalResults: report.totalResults,
    startIndex: report.startIndex,
    members: report.members.map((m) => ({
      id: m.id,
      userName: m.userName,
      ...(m.displayName ? { displayName: m.displayName } : {}),
      managedBy: m.managedBy,
      organizationRole: m.organizationRole,
      projectRole: m.projectRole,
      permissions: presentPermissions(m.permissions),
      sources: m.sources.map((s) => presentSource(s, "project")),
      ...(m.allProjectsThrough ? { allProjectsThrough: m.allProjectsThrough.map((s) => presentSource(s, "organization")) } : {}),
    })),
  };
}

export function projectAccessRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, getProjectAccess, async ({ params, query }, req) => {
    requireProjectMembersViewer(req.apiActor!, params.id);
    return present(await services.accessReview.projectAccess(scopeOf(req), params.id, query));
  });
  return router;
}
