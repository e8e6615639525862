import express, { type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import type { ApiActor } from "../services/members";
import type { IssuedScimToken, ScimTokenSummary } from "../services/scim-tokens";
import { ForbiddenError } from "../errors";
import type { Config } from "../config";
import { clearSessionCookie } from "../http/session-cookie";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { presentAccess, presentMember } from "./presenters";
import { Access, Member, named } from "./schemas";

/**
 * What a member sees and does about themselves (issue 13 §2, the console's "Your access"): who they
 * are, their access with where each grant comes from, and their own personal API tokens. The same
 * answers as `GET /users/{id}` and `GET /users/{id}/access` about oneself, without knowing one's id
 * (a personal token does not say whose it is). Administrators list and revoke a member's tokens
 * under `/users/{id}/tokens`.
 */

const dateTime = (description: string) => z.iso.datetime().describe(description);

const personalTokenFields = {
  id: z.string().regex(/^[0-9a-f]{24}$/),
  userId: z.string().describe("The member the token acts as."),
  name: z.string(),
  created: dateTime("When it was created."),
  lastUsed: dateTime("When the token last authenticated a request (updated at most once a minute); absent if never used.").optional(),
  expires: dateTime("When the token stops working. Tokens the operator minted before expiry was required may have none.").optional(),
  revoked: dateTime("When the token was revoked; absent while it is live.").optional(),
};
export const PersonalTokenSummary = named("PersonalTokenSummary", z.object(personalTokenFields), "A personal API token as its member sees it: never its secret.");
const IssuedPersonalToken = named(
  "IssuedPersonalToken",
  z.object({
    ...personalTokenFields,
    token: z
      .string()
      .regex(/^gpt_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/)
      .describe("The bearer token itself: shown in this answer only (Gatehouse keeps a hash)."),
  }),
  "A personal API token just created, with its secret.",
);
const PersonalTokenList = named("PersonalTokenList", z.object({ tokens: z.array(PersonalTokenSummary).describe("Revoked and expired ones included, oldest first.") }));

function presentPersonalToken(token: ScimTokenSummary): z.input<typeof PersonalTokenSummary> {
  return {
    id: token.id,
    userId: token.userId ?? "",
    name: token.name,
    created: token.created.toISOString(),
    ...(token.lastUsed ? { lastUsed: token.lastUsed.toISOString() } : {}),
    ...(token.expires ? { expires: token.expires.toISOString() } : {}),
    ...(token.revoked ? { revoked: token.revoked.toISOString() } : {}),
  };
}

function presentIssuedPersonalToken(token: IssuedScimToken): z.input<typeof IssuedPersonalToken> {
  return { ...presentPersonalToken(token), token: token.token };
}

/** Checked before the request is read: these operations are about a person, which a service token is not. */
const personOnly = (actor: ApiActor): void => {
  if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
};

const tokenIdParams = z.object({ id: z.string().min(1).describe("The token's id.") });
const memberTokenParams = z.object({ id: z.string().min(1).describe("The user's id (the SCIM id)."), tokenId: z.string().min(1).describe("The token's id.") });

export const getMe = operation({
  method: "get",
  path: "/me",
  operationId: "getMe",
  tag: "Me",
  summary: "The caller, as a member",
  description: "The member a personal API token or a session acts as: the answer of `GET /users/{id}` about oneself.",
  security: "personal",
  authorize: personOnly,
  responses: { 200: { description: "The caller.", schema: Member } },
});

export const getMyAccess = operation({
  method: "get",
  path: "/me/access",
  operationId: "getMyAccess",
  tag: "Me",
  summary: "The caller's effective access",
  description:
    "The caller's role, what it allows, and where each grant comes from (the identity provider's group and mapping, a local grant, a temporary grant and its end): the answer of `GET /users/{id}/access` about oneself.",
  security: "personal",
  authorize: personOnly,
  responses: { 200: { description: "The caller's access.", schema: Access } },
});

export const listMyTokens = operation({
  method: "get",
  path: "/me/tokens",
  operationId: "listMyTokens",
  tag: "Me",
  summary: "The caller's personal API tokens",
  description: "Never shows a secret.",
  security: "personal",
  authorize: personOnly,
  responses: { 200: { description: "The caller's tokens.", schema: PersonalTokenList } },
});

export const createMyToken = operation({
  method: "post",
  path: "/me/tokens",
  operationId: "createMyToken",
  tag: "Me",
  summary: "Create a personal API token",
  description:
    "For /api/v1, acting as the caller with the caller's access at each request, never more. `expires` is required and may be at most the organization's `personalTokenMaximumDays` ahead (`GET /settings`; 90 unless changed). The token is in this answer only; Gatehouse keeps a hash. Audited (`personal_token.created`). A member without access (suspended, deactivated, no role) is refused.",
  security: "personal",
  authorize: personOnly,
  body: named(
    "PersonalTokenRequest",
    z
      .object({
        name: z.string().min(1).max(200).optional().describe("A label, e.g. the script that uses it. Defaults to `Personal API token`."),
        expires: z.iso.datetime({ offset: true }).describe("When the token stops working: in the future, within the organization's maximum. A time with a zone."),
      })
      .strict(),
  ),
  responses: { 201: { description: "The new token, with its secret.", schema: IssuedPersonalToken } },
  errors: { 400: ["invalid"] },
});

export const revokeMyToken = operation({
  method: "delete",
  path: "/me/tokens/:id",
  operationId: "revokeMyToken",
  tag: "Me",
  summary: "Revoke one of the caller's personal API tokens",
  description: "Takes effect on the token's next request; revoking a revoked token changes nothing. Another member's token is not found. Audited (`personal_token.revoked`).",
  security: "personal",
  authorize: personOnly,
  params: tokenIdParams,
  responses: { 200: { description: "The token, revoked.", schema: PersonalTokenSummary } },
  errors: { 404: "No personal API token with that id of the caller" },
});

const MySession = named(
  "MySession",
  z.object({
    id: z.string().regex(/^[0-9a-f]{32}$/).describe("The session's id (never its secret)."),
    via: z.enum(["saml", "sign_in_link"]).describe("How it began: SAML sign-in, or a break-glass sign-in link."),
    createdAt: dateTime("When the person signed in."),
    lastSeenAt: dateTime("Its last request (written at most once a minute)."),
    expiresAt: dateTime("The absolute expiry; it ends earlier after SESSION_IDLE_TIMEOUT_MINUTES without a request."),
    ip: z.string().optional().describe("The address it signed in from, when known."),
    userAgent: z.string().optional().describe("The browser it signed in with, when known."),
    current: z.boolean().describe("It is the session making this request."),
  }),
  "One of the caller's own browser sessions.",
);

export const listMySessions = operation({
  method: "get",
  path: "/me/sessions",
  operationId: "listMySessions",
  tag: "Me",
  summary: "The caller's own browser sessions",
  description:
    "The caller's live sessions, newest first, with `current` marking the one making the request. Never a secret or its hash. Sessions started before Gatehouse listed them (before this operation existed) are not shown; signing out everywhere still ends them.",
  security: "personal",
  authorize: personOnly,
  responses: { 200: { description: "The caller's sessions.", schema: named("MySessionList", z.object({ sessions: z.array(MySession) })) } },
});

export const endMySession = operation({
  method: "delete",
  path: "/me/sessions/:id",
  operationId: "endMySession",
  tag: "Me",
  summary: "End one of the caller's sessions",
  description:
    "Ends that session as signing out does (audited as `session.ended`): it is refused from its next request. Ending the session making the request also clears its cookie. Another person's session, or one already ended, is not found.",
  security: "personal",
  authorize: personOnly,
  params: z.object({ id: z.string().min(1).max(100).describe("The session's id.") }),
  responses: { 204: { description: "Ended." } },
  errors: { 404: "No live session with that id of the caller" },
});

export const listMemberTokens = operation({
  method: "get",
  path: "/users/:id/tokens",
  operationId: "listMemberTokens",
  tag: "Members",
  summary: "A member's personal API tokens",
  description: "Admin and Owner (an Admin never for the Owner), and members about themselves. Never shows a secret.",
  security: "personal",
  authorize: personOnly,
  params: z.object({ id: z.string().min(1).describe("The user's id (the SCIM id).") }),
  responses: { 200: { description: "The member's tokens.", schema: PersonalTokenList } },
  errors: { 403: ["owner_protected"], 404: "No such user in the organization" },
});

export const revokeMemberToken = operation({
  method: "delete",
  path: "/users/:id/tokens/:tokenId",
  operationId: "revokeMemberToken",
  tag: "Members",
  summary: "Revoke a member's personal API token",
  description:
    "Admin and Owner (an Admin never for the Owner), managed members too, and members their own. Takes effect on the token's next request. Audited (`personal_token.revoked`).",
  security: "personal",
  authorize: personOnly,
  params: memberTokenParams,
  responses: { 200: { description: "The token, revoked.", schema: PersonalTokenSummary } },
  errors: { 403: ["owner_protected"], 404: "No such user in the organization, or no such token of theirs" },
});

export const meOperations = [getMe, getMyAccess, listMyTokens, createMyToken, revokeMyToken, listMySessions, endMySession, listMemberTokens, revokeMemberToken];

export function meRoutes(services: Services, config: Pick<Config, "publicBaseUrl">): Router {
  const router = express.Router();
  const { members, access, personalTokens } = services;
  const self = (actor: ApiActor | undefined) => {
    if (actor?.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
    return actor.user.id;
  };

  mount(router, getMe, async (_input, req) => presentMember(await members.view(scopeOf(req), req.apiActor!, self(req.apiActor))));

  mount(router, getMyAccess, async (_input, req) => presentAccess(await access.accessOf(scopeOf(req), self(req.apiActor))));

  mount(router, listMyTokens, async (_input, req) => ({ tokens: (await personalTokens.listOwn(contextOf(req), req.apiActor!)).map(presentPersonalToken) }));

  mount(router, createMyToken, async ({ body }, req) =>
    presentIssuedPersonalToken(await personalTokens.create(contextOf(req), req.apiActor!, { expires: new Date(body.expires), ...(body.name ? { name: body.name } : {}) })),
  );

  mount(router, revokeMyToken, async ({ params }, req) => presentPersonalToken(await personalTokens.revokeOwn(contextOf(req), req.apiActor!, params.id)));

  mount(router, listMySessions, async (_input, req) => {
    const actor = req.apiActor!;
    if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
    const current = req.apiSession?.session.id;
    const sessions = await services.sessions.listOwn(scopeOf(req), actor.user);
    return {
      sessions: sessions.map((session) => ({
        id: session.id,
        via: session.via,
        createdAt: session.createdAt.toISOString(),
        lastSeenAt: session.lastSeenAt.toISOString(),
        expiresAt: session.absoluteExpiresAt.toISOString(),
        ...(session.ip ? { ip: session.ip } : {}),
        ...(session.userAgent ? { userAgent: session.userAgent } : {}),
        current: session.id === current,
      })),
    };
  });

  mount(router, endMySession, async ({ params }, req, res) => {
    const actor = req.apiActor!;
    if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
    await services.sessions.endOwn(contextOf(req), actor.user, params.id);
    if (req.apiSession?.session.id === params.id) clearSessionCookie(res, config);
  });

  mount(router, listMemberTokens, async ({ params }, req) => ({ tokens: (await personalTokens.listFor(contextOf(req), req.apiActor!, params.id)).map(presentPersonalToken) }));

  mount(router, revokeMemberToken, async ({ params }, req) => presentPersonalToken(await personalTokens.revokeFor(contextOf(req), req.apiActor!, params.id, params.tokenId)));

  return router;
}
