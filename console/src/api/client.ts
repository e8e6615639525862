import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

/** Types of the admin API, generated from the OpenAPI document the server serves (scripts/console-api-types.mjs). */
export type Schemas = components["schemas"];
export type Member = Schemas["Member"];
export type Access = Schemas["Access"];
export type Session = Schemas["Session"];
export type AuditEvent = Schemas["AuditEvent"];
export type ApiError = Schemas["Error"];

/** Methods that change nothing: the API wants no CSRF token with them (RFC 9110 §9.2.1). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

let csrfToken: string | undefined;
const signedOutListeners = new Set<() => void>();

/** The session's CSRF token (GET /session), sent as X-CSRF-Token with every change. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when the API answers 401: the session has ended (signed out elsewhere, expired, deprovisioned). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method) && csrfToken) request.headers.set("X-CSRF-Token", csrfToken);
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith("/session")) for (const listener of signedOutListeners) listener();
    return response;
  },
};

/** The admin API at /api/v1, with the browser's session cookie (same origin). */
export const api = createClient<paths>({ baseUrl: "/api/v1", credentials: "same-origin" });
api.use(sessionMiddleware);

/** The API's own words for a failure, shown as they are; a body of another shape becomes the HTTP status. */
export function messageOf(error: unknown, response?: Response): string {
  const body = error as Partial<ApiError> | undefined;
  if (body && typeof body === "object" && body.error && typeof body.error.message === "string") return body.error.message;
  if (response) return `The server answered ${response.status} ${response.statusText}`.trim();
  return error instanceof Error ? error.message : String(error);
}

/** Throws the API's message when a call failed; returns its data otherwise. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new Error("Gatehouse could not be reached. Check your connection and try again.");
  }
  if (result.error !== undefined || !result.response.ok) throw new Error(messageOf(result.error, result.response));
  return result.data as T;
}
