import type { NextFunction, Request, Response, Router } from "express";
import { z } from "zod";
import type { ApiActor } from "../services/members";
import { invalidRequest } from "./http";
import { ForbiddenError } from "../errors";
import type { TokenScope } from "../domain/token-scopes";

/** The scope a service token needs for an operation, if service tokens may call it at all. */
export function serviceScopeOf(spec: Pick<OperationSpec, "security" | "scope">): TokenScope | undefined {
  return spec.scope ?? (spec.security === "personalOrService" ? "authorize" : undefined);
}

/**
 * One operation of /api/v1, declared once: method, path, who may call it, the zod schemas of its
 * path parameters, query, body and of each answer, the error codes it answers with, and the words
 * that describe it. `mount` derives the request validation and the handler's types from the
 * declaration, admin/openapi.ts the OpenAPI 3.1 document (outline's `router.post("users.suspend",
 * auth(), validate(T.UsersSuspendSchema), handler)`: the schema is the validation).
 */

/** Every `error.code` the API answers with, and what it means. */
export const ERROR_CODES = {
  invalid_request: "the parameters or the body do not match this description (the message names each problem)",
  invalid_json: "the body is not valid JSON",
  invalid: "the request is well-formed but cannot be carried out as asked (the message says why)",
  unauthenticated:
    "no bearer token and no session cookie, or a token that is not a valid, live token of a kind this operation accepts, or whose user no longer exists, or a session that is not valid (ended, expired, its user deactivated, suspended, signed out everywhere or gone); the message says which",
  csrf: "a change made with a session cookie without the session's `X-CSRF-Token` header (the `csrfToken` of `GET /session`), or from a page whose `Origin` is neither Gatehouse's nor in CORS_ALLOWED_ORIGINS",
  forbidden:
    "the caller may not do this: a service token where a person is needed, a role without the permission, or a person who has no access to the organization at all (deactivated, suspended, no role)",
  owner_protected: "the change would touch the Owner's account or ownership, which moves only by transfer and never leaves the organization without an able Owner",
  no_self_elevation: "nobody raises their own access (role, projects or temporary grants)",
  seat_limit_reached: "the organization has as many active users as its seat limit allows",
  not_found: "no such user, project, mapping, token or grant in the caller's organization, or no SAML connection configured",
  managed_by_identity_provider: "the user is managed by the organization's identity provider: change their role, projects and membership there",
  conflict: "a user with that userName (email) already exists in the organization, or (personal data erasure) the member still exists",
  unavailable: "the database cannot be reached or did not answer in time; retry later",
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Who may call: `personal` — a personal API token or a session, acting as its person (a service
 * token is answered 403); `personalOrService` — service tokens too; `session` — the browser
 * session only, even of a person without access to the organization; `none` — no token at all.
 */
export type Security = "personal" | "personalOrService" | "session" | "none";

export type Method = "get" | "put" | "post" | "patch" | "delete";

/** An answer: JSON of `schema`, CSV with these `columns`, or nothing (204). */
export interface Answer {
  readonly description: string;
  readonly schema?: z.ZodType;
  readonly csv?: readonly string[];
}

export interface OperationSpec {
  readonly method: Method;
  /** The express path below /api/v1, e.g. `/users/:id`. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  readonly description: string;
  readonly security: Security;
  /**
   * The scope a service token needs (domain/token-scopes.ts). Absent: `authorize` for
   * `personalOrService` operations (what service tokens could always do); others refuse service tokens.
   */
  readonly scope?: TokenScope;
  /** Checked before the request is validated: a caller who may not do this learns no more than that. */
  readonly authorize?: (actor: ApiActor) => void;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Whether a body must be sent; a body left out is then validated as `{}`. */
  readonly bodyRequired?: boolean;
  /**
   * For a body whose variant is chosen by one property: the schema that validates this body, so
   * that errors name what is wrong in the variant meant (`body` still describes all of them).
   */
  readonly bodyVariant?: (body: unknown) => z.ZodType;
  /** Media types accepted besides JSON, whose body reaches the handler as text, unvalidated. */
  readonly textBodyTypes?: readonly string[];
  /** The successful answer, by its status (one per operation). */
  readonly responses: Readonly<Record<number, Answer>>;
  /**
   * The codes of error answers beyond those every operation of its kind has (401, 403 forbidden,
   * csrf on changes, 503; invalid_request and invalid_json with a body): 404 and 409 with what
   * they mean, more 400 and 403 codes.
   */
  readonly errors?: {
    readonly 400?: readonly ErrorCode[];
    readonly 403?: readonly ErrorCode[];
    readonly 404?: string;
    readonly 409?: readonly ErrorCode[];
  };
  /** The lead of the 400 answer's description, when it is not the usual one. */
  readonly badRequest?: string;
}

/** Declares an operation (keeping its literal types, so `mount` can type the handler). */
export const operation = <const O extends OperationSpec>(spec: O): O => spec;

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
/** What a handler receives: the validated path parameters, query and body. */
export interface Input<O extends OperationSpec> {
  params: Out<O["params"]>;
  query: Out<O["query"]>;
  body: Out<O["body"]> | (O["textBodyTypes"] extends readonly string[] ? string : never);
}

/**
 * What a handler answers: the body of the declared answer, of its schema's type, sent with the
 * declared status; nothing for an answer without content (204). A CSV answer the handler writes itself.
 */
export type Reply<O extends OperationSpec> = {
  [S in keyof O["responses"] & number]: O["responses"][S] extends { schema: z.ZodType } ? z.input<O["responses"][S]["schema"]> : void;
}[keyof O["responses"] & number];

export type Handler<O extends OperationSpec> = (input: Input<O>, req: Request, res: Response) => Promise<Reply<O>>;

/** The express route pattern of an OpenAPI path and back: `/users/:id` ⇄ `/users/{id}`. */
export const templateOf = (expressPath: string) => expressPath.replace(/:(\w+)/g, "{$1}");

function validate(res: Response, schema: z.ZodType, value: unknown, where: "body" | "query" | "params"): { ok: true; data: unknown } | { ok: false } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, data: parsed.data };
  invalidRequest(res, parsed.error.issues, where);
  return { ok: false };
}

/**
 * Registers the operation's handler on the router: authorizes, validates the path parameters,
 * query and body with the declared schemas (400 invalid_request naming each problem), runs the
 * handler and sends its reply. A handler that throws or rejects needs no try/catch: express 5
 * passes the error to the router's error handler.
 */
export function mount<O extends OperationSpec>(router: Router, spec: O, handler: Handler<O>, ...before: ((req: Request, res: Response, next: NextFunction) => void)[]): void {
  const statuses = Object.keys(spec.responses).map(Number);
  if (statuses.length !== 1) throw new Error(`${spec.operationId}: one successful answer is declared, not ${statuses.length}`);
  const status = statuses[0]!;
  const answer = spec.responses[status]!;
  router[spec.method](spec.path, ...before, async (req: Request, res: Response) => {
    const scope = serviceScopeOf(spec);
    if (req.apiToken?.purpose === "service" && scope && !req.apiToken.scopes?.includes(scope)) {
      throw new ForbiddenError(`This service token lacks the scope \`${scope}\` (gatehouse service-token create --scope ${scope})`);
    }
    if (spec.authorize) spec.authorize(req.apiActor!);
    const input: Record<string, unknown> = { params: undefined, query: undefined, body: undefined };
    for (const [where, schema, value] of [
      ["params", spec.params, req.params],
      ["query", spec.query, req.query],
    ] as const) {
      if (!schema) continue;
      const checked = validate(res, schema, value, where);
      if (!checked.ok) return;
      input[where] = checked.data;
    }
    if (spec.textBodyTypes && req.is([...spec.textBodyTypes])) {
      input.body = typeof req.body === "string" ? req.body : "";
    } else if (spec.body) {
      const body: unknown = spec.bodyRequired === false ? (req.body ?? {}) : req.body;
      const checked = validate(res, spec.bodyVariant?.(body) ?? spec.body, body, "body");
      if (!checked.ok) return;
      input.body = checked.data;
    }
    const body: unknown = await handler(input as unknown as Input<O>, req, res);
    if (answer.csv) return;
    if (answer.schema) res.status(status).json(body);
    else res.status(status).end();
  });
}
