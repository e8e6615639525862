/**
 * Refusals of a request before any edge reads it: what body-parser and express attach to the
 * errors they pass on (an http-errors object with a 4xx `status` and a `type`), and what
 * json-body.ts adds. Each edge shapes them in its own error format — a SCIM error (RFC 7644
 * §3.12), the admin API's `{error: {code, message}}`, the SAML refusal page — but the status is
 * always the one decided here: a client's mistake is never a 500.
 */

/** A request the client must change before it can succeed. */
export interface ClientError {
  status: number;
  /** The admin API's error code. */
  code: string;
  message: string;
  /** The SCIM error type (RFC 7644 §3.12, Table 9), where one fits. */
  scimType?: "invalidSyntax" | "invalidValue";
}

/** What body-parser (and json-body.ts) name their refusals; every other 4xx keeps its own status. */
const known: Record<string, (limit: string) => Omit<ClientError, "status">> = {
  "entity.parse.failed": () => ({ code: "invalid_json", message: "The request body is not valid JSON", scimType: "invalidSyntax" }),
  "entity.too.large": (limit) => ({ code: "payload_too_large", message: `The request body exceeds the limit of ${limit}` }),
  "parameters.too.many": () => ({ code: "payload_too_large", message: "The request body has too many fields" }),
  "media.unsupported": () => ({ code: "unsupported_media_type", message: "The request body must be JSON (application/json)" }),
  "charset.unsupported": () => ({ code: "unsupported_media_type", message: "The request body must be sent as UTF-8" }),
  "encoding.unsupported": () => ({ code: "unsupported_media_type", message: "The request body's Content-Encoding is not supported (identity, gzip or deflate)" }),
  "encoding.invalid": () => ({ code: "invalid_encoding", message: "The request body is not valid UTF-8", scimType: "invalidSyntax" }),
  "entity.too.deep": (limit) => ({ code: "too_deeply_nested", message: `The request body nests objects and arrays deeper than ${limit} levels`, scimType: "invalidSyntax" }),
  "entity.invalid.text": () => ({ code: "invalid_request", message: "The request body holds invalid text", scimType: "invalidValue" }),
  "request.aborted": () => ({ code: "request_aborted", message: "The request body ended early" }),
  "request.size.invalid": () => ({ code: "invalid_request", message: "The request body's length differs from its Content-Length" }),
};

function statusOf(error: object): number | undefined {
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === "number" ? status : typeof statusCode === "number" ? statusCode : undefined;
  return value !== undefined && Number.isInteger(value) ? value : undefined;
}

function readableLimit(limit: unknown): string {
  if (typeof limit !== "number") return "the configured limit";
  return limit % 1024 === 0 && limit >= 1024 ? `${limit / 1024} KiB` : `${limit} bytes`;
}

/**
 * The client error an error stands for, or undefined when it is not one (then it is Gatehouse's
 * own failure). body-parser passes on zlib's error for a body it could not inflate (a false
 * `Content-Encoding: gzip`) with status 400 and no type: it keeps its 400.
 */
export function clientErrorOf(error: unknown): ClientError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = statusOf(error);
  const { type, limit, message, expose, code } = error as { type?: unknown; limit?: unknown; message?: unknown; expose?: unknown; code?: unknown };
  // express marks a path parameter that is not percent-encoded UTF-8 (`/users/%ED%A0%80`) with a bare 400.
  if (error instanceof URIError && status === 400) return { status, code: "invalid_request", message: "The request path is not valid percent-encoded UTF-8" };
  // http-errors (express, body-parser) and json-body.ts mark what may be shown to the client.
  if (status === undefined || status < 400 || status > 499 || expose !== true) return undefined;
  const described = typeof type === "string" ? known[type] : undefined;
  if (described) {
    const detail = described(type === "entity.too.deep" ? String(limit) : readableLimit(limit));
    // json-body.ts says where the invalid text is; its message is written for the client.
    return { status, ...detail, ...(type === "entity.invalid.text" && typeof message === "string" ? { message } : {}) };
  }
  if (!type && status === 400 && typeof code === "string" && code.startsWith("Z_")) return { status, code: "invalid_encoding", message: "The request body could not be decoded as its Content-Encoding says", scimType: "invalidSyntax" };
  return { status, code: "bad_request", message: typeof message === "string" && message ? message : "The request could not be accepted" };
}
