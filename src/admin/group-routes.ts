import express, { type Router } from "express";
import { z } from "zod";
import type { Group } from "../domain/group";
import type { Services } from "../services";
import { requireAdministration, type ApiActor } from "../services/members";
import { scopeOf } from "./http";
import { mount, operation } from "./operation";
import { presentMapping } from "./presenters";
import { Mapping, named } from "./schemas";

/**
 * The groups the identity provider pushed (read-only here: they change through SCIM), for the
 * administrator who maps them onto access: a page by name with member counts, and one group with
 * its members a page at a time and the mappings that reference it.
 */

/** Whoever may change members' access (and so map groups): Admin and Owner in the shipped catalog. */
const mayMapGroups = (actor: ApiActor) => void requireAdministration(actor, "changeMemberAccess");

const groupFields = {
  id: z.string(),
  displayName: z.string(),
  externalId: z.string().optional().describe("The identity provider's id for the group, when it sent one."),
  memberCount: z.number().int().min(0).describe("Direct members."),
  created: z.iso.datetime(),
  lastModified: z.iso.datetime(),
};
const GroupSummarySchema = named("GroupSummary", z.object(groupFields), "A group the identity provider pushed, with its number of direct members.");

const presentGroup = (group: Group, memberCount: number): z.input<typeof GroupSummarySchema> => ({
  id: group.id,
  displayName: group.displayName,
  ...(group.externalId !== undefined ? { externalId: group.externalId } : {}),
  memberCount,
  created: group.created.toISOString(),
  lastModified: group.lastModified.toISOString(),
});

const wholeNumber = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const listGroups = operation({
  method: "get",
  path: "/groups",
  operationId: "listGroups",
  tag: "Groups",
  summary: "The groups the identity provider pushed",
  description: "Needs `edit_user_permissions`. Ordered by displayName (ignoring case); page with `startIndex` and `count`.",
  security: "personal",
  authorize: mayMapGroups,
  query: z
    .object({
      startIndex: wholeNumber(1, 1_000_000_000).default(1).describe("The 1-based index of the page's first group."),
      count: wholeNumber(0, 200).default(50).describe("The most groups on the page."),
    })
    .strict(),
  responses: {
    200: {
      description: "A page of groups.",
      schema: named(
        "GroupPage",
        z.object({
          totalResults: z.number().int().min(0).describe("Groups of the organization, on all pages."),
          startIndex: z.number().int().min(1),
          groups: z.array(GroupSummarySchema),
        }),
      ),
    },
  },
  errors: { 400: ["invalid_request"] },
});

export const getGroup = operation({
  method: "get",
  path: "/groups/:id",
  operationId: "getGroup",
  tag: "Groups",
  summary: "One group: its members and the mappings that reference it",
  description:
    "Needs `edit_user_permissions`. Members in id order, a page at a time (`after`: the previous page's `nextAfter`). `mappings`: the organization's mappings that apply to this group's members (by its id, externalId or displayName).",
  security: "personal",
  authorize: mayMapGroups,
  params: z.object({ id: z.string().min(1).describe("The group's id (the SCIM id).") }),
  query: z
    .object({
      after: z.string().min(1).max(200).optional().describe("The `nextAfter` of the previous page: the page starts after that member."),
      count: wholeNumber(0, 500).default(100).describe("The most members on the page."),
    })
    .strict(),
  responses: {
    200: {
      description: "The group.",
      schema: named(
        "GroupDetail",
        z.object({
          ...groupFields,
          members: z.array(z.object({ id: z.string(), userName: z.string(), displayName: z.string().optional() })).describe("A page of direct members, in id order."),
          nextAfter: z.string().optional().describe("Pass as `after` for the next page of members; absent on the last page."),
          mappings: z.array(Mapping),
        }),
      ),
    },
  },
  errors: { 400: ["invalid_request"], 404: "No such group in the organization" },
});

export const groupOperations = [listGroups, getGroup];

export function groupRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, listGroups, async ({ query }, req) => {
    const page = await services.groupOverview.page(scopeOf(req), query);
    return { totalResults: page.total, startIndex: query.startIndex, groups: page.groups.map(({ group, memberCount }) => presentGroup(group, memberCount)) };
  });
  mount(router, getGroup, async ({ params, query }, req) => {
    const detail = await services.groupOverview.detail(scopeOf(req), params.id, { count: query.count, ...(query.after ? { after: query.after } : {}) });
    return {
      ...presentGroup(detail.group, detail.memberCount),
      members: detail.members.map((m) => ({ id: m.id, userName: m.userName, ...(m.displayName ? { displayName: m.displayName } : {}) })),
      ...(detail.nextAfter ? { nextAfter: detail.nextAfter } : {}),
      mappings: detail.mappings.map(presentMapping),
    };
  });
  return router;
}
