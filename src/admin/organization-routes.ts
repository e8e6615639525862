import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { requirePermission } from "../services/members";
import { contextOf, invalidRequest, scopeOf } from "./http";
import { presentMember } from "./presenters";

/**
 * The organization side of the local admin API: members (list, invite, remove), ownership
 * transfer, projects, group mappings and SCIM tokens. Each route checks the permission matrix
 * (domain/permissions.ts) for the person behind the personal token.
 */

const projectItem = z.union([z.string().min(1), z.object({ id: z.string().min(1), role: z.enum(["editor", "viewer"]) })]);
const toAssignment = (p: z.infer<typeof projectItem>) => (typeof p === "string" ? { projectId: p, role: "editor" as const } : { projectId: p.id, role: p.role });

const invitation = z
  .object({
    email: z.email(),
    displayName: z.string().min(1).max(256).optional(),
    role: z.enum(["admin", "user", "read_only"]).optional(),
    projects: z.array(projectItem).optional(),
  })
  .strict();

const mapping = z
  .object({
    // A group id, external id, display name or app role value: never kilobytes long.
    match: z.object({ kind: z.enum(["group_id", "external_id", "display_name", "app_role"]), value: z.string().min(1).max(1024) }).strict(),
    organizationRole: z.enum(["admin", "user", "read_only"]).optional(),
    projects: z.array(z.object({ projectId: z.string().min(1), role: z.enum(["editor", "viewer"]) }).strict()).optional(),
  })
  .strict();

const paging = z.object({
  q: z.string().optional(),
  startIndex: z.coerce.number().int().min(1).default(1),
  count: z.coerce.number().int().min(0).max(200).default(50),
});

type Handler = (req: Request, res: Response) => Promise<void>;
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);

export function organizationRoutes(services: Services): Router {
  const router = express.Router();
  const { members, access, scimTokens } = services;

  router.get("/users", route(async (req, res) => {
    const parsed = paging.safeParse(req.query);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    const page = await members.list(scopeOf(req), req.apiActor!, { query: parsed.data.q, startIndex: parsed.data.startIndex, count: parsed.data.count });
    res.json({ totalResults: page.total, startIndex: parsed.data.startIndex, users: page.members.map(presentMember) });
  }));

  router.post("/users", route(async (req, res) => {
    const parsed = invitation.safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    const { projects, ...rest } = parsed.data;
    const view = await members.invite(contextOf(req), req.apiActor!, { ...rest, ...(projects ? { projects: projects.map(toAssignment) } : {}) });
    res.status(201).json(presentMember(view));
  }));

  router.delete("/users/:id", route(async (req, res) => {
    await members.remove(contextOf(req), req.apiActor!, req.params.id, typeof req.query.reason === "string" ? req.query.reason : undefined);
    res.status(204).end();
  }));

  router.post("/ownership/transfer", route(async (req, res) => {
    const parsed = z.object({ userId: z.string().min(1) }).strict().safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    res.json(presentMember(await members.transferOwnership(contextOf(req), req.apiActor!, parsed.data.userId)));
  }));

  router.get("/settings", route(async (req, res) => {
    requirePermission(req.apiActor!, "modify_account_settings");
    const [settings, seatLimit] = await Promise.all([access.settings(scopeOf(req)), access.seatLimit(scopeOf(req))]);
    res.json({ ...settings, seatLimit: seatLimit ?? null });
  }));

  router.patch("/settings", route(async (req, res) => {
    requirePermission(req.apiActor!, "modify_account_settings");
    const parsed = z
      .object({
        defaultRole: z.enum(["user", "read_only", "none"]).optional(),
        readOnlyMayComment: z.boolean().optional(),
        requireMappingForAccess: z.boolean().optional(),
        seatLimit: z.number().int().min(1).nullable().optional(),
      })
      .strict()
      .safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    const { seatLimit, ...changes } = parsed.data;
    const settings = Object.keys(changes).length ? await access.setSettings(contextOf(req), changes) : await access.settings(scopeOf(req));
    if (seatLimit !== undefined) await access.setSeatLimit(contextOf(req), seatLimit ?? undefined);
    res.json({ ...settings, seatLimit: (await access.seatLimit(scopeOf(req))) ?? null });
  }));

  router.get("/projects", route(async (req, res) => {
    res.json({ projects: await access.projects(scopeOf(req)) });
  }));

  router.post("/projects", route(async (req, res) => {
    requirePermission(req.apiActor!, "modify_account_settings");
    const parsed = z.object({ name: z.string().min(1).max(200) }).strict().safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    res.status(201).json(await access.createProject(contextOf(req), parsed.data.name));
  }));

  router.patch("/projects/:id", route(async (req, res) => {
    requirePermission(req.apiActor!, "modify_account_settings");
    const parsed = z.object({ name: z.string().min(1).max(200) }).strict().safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    res.json(await access.renameProject(contextOf(req), req.params.id, parsed.data.name));
  }));

  router.delete("/projects/:id", route(async (req, res) => {
    requirePermission(req.apiActor!, "modify_account_settings");
    await access.deleteProject(contextOf(req), req.params.id);
    res.status(204).end();
  }));

  router.get("/mappings", route(async (req, res) => {
    requirePermission(req.apiActor!, "edit_user_permissions");
    res.json({ mappings: await access.mappings(scopeOf(req)) });
  }));

  router.post("/mappings", route(async (req, res) => {
    requirePermission(req.apiActor!, "edit_user_permissions");
    const parsed = mapping.safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    res.status(201).json(await access.addMapping(contextOf(req), parsed.data));
  }));

  router.delete("/mappings/:id", route(async (req, res) => {
    requirePermission(req.apiActor!, "edit_user_permissions");
    await access.removeMapping(contextOf(req), req.params.id);
    res.status(204).end();
  }));

  router.get("/scim-tokens", route(async (req, res) => {
    requirePermission(req.apiActor!, "manage_integrations");
    res.json({ tokens: await scimTokens.list(scopeOf(req).organizationId) });
  }));

  router.post("/scim-tokens", route(async (req, res) => {
    requirePermission(req.apiActor!, "manage_integrations");
    const parsed = z.object({ name: z.string().min(1).max(200).optional(), expires: z.iso.datetime({ offset: true }).optional() }).strict().safeParse(req.body ?? {});
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    if (parsed.data.expires && new Date(parsed.data.expires).getTime() <= Date.now()) {
      return invalidRequest(res, [{ code: "custom", path: ["expires"], message: "must be in the future", input: parsed.data.expires } as never]);
    }
    const issued = await scimTokens.issue(contextOf(req), { ...(parsed.data.name ? { name: parsed.data.name } : {}), ...(parsed.data.expires ? { expires: new Date(parsed.data.expires) } : {}) });
    // The token is shown in this answer only; Gatehouse keeps a hash.
    res.status(201).json(issued);
  }));

  router.delete("/scim-tokens/:id", route(async (req, res) => {
    requirePermission(req.apiActor!, "manage_integrations");
    const token = await scimTokens.find(req.params.id);
    if (!token || token.organizationId !== scopeOf(req).organizationId || token.purpose !== "scim") {
      res.status(404).json({ error: { code: "not_found", message: `No SCIM token ${req.params.id}` } });
      return;
    }
    res.json(await scimTokens.revoke(contextOf(req), req.params.id));
  }));

  return router;
}
