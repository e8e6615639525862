import { isUtf8 } from "node:buffer";
import express, { type NextFunction, type Request, type Response } from "express";

/**
 * JSON request bodies for the SCIM and admin edges, with the checks express.json does not make.
 * Every refusal is an error with a 4xx `status` and a `type` (request-errors.ts) passed to
 * `next`, so each edge answers in its own error format:
 *
 * - UTF-8 only (RFC 8259 §8.1): another charset is 415, bytes that are not UTF-8 are 400 —
 *   Node would otherwise replace them by U+FFFD and store something the client never sent.
 * - At most `maxJsonDepth` nested objects and arrays, checked on the raw bytes before anything
 *   walks the parsed value: scimmy and the bulk processor walk it recursively, and a body of a
 *   few thousand `[` exhausted the stack (a 500 "Maximum call stack size exceeded").
 * - No string (value or member name) that is not well-formed UTF-16 — a `\ud800` escape without
 *   its pair (RFC 8259 §8.2 leaves the behaviour of such text unpredictable; MongoDB stores
 *   U+FFFD instead, so the client could never find the value it sent) — and none containing
 *   U+0000, which no identity attribute needs and which C strings downstream would cut short.
 * - Where the edge sets `maxStringLength`, no string longer than that.
 */

/** The deepest nesting of objects and arrays accepted; SCIM's deepest documents need about 6. */
export const maxJsonDepth = 32;

interface BodyRefusal extends Error {
  status: number;
  expose: true;
  type: string;
  limit?: number;
}

function refusal(status: number, type: string, message: string, limit?: number): BodyRefusal {
  return Object.assign(new Error(message), { status, type, expose: true as const, ...(limit !== undefined ? { limit } : {}) });
}

const OPEN_BRACE = 0x7b, OPEN_BRACKET = 0x5b, CLOSE_BRACE = 0x7d, CLOSE_BRACKET = 0x5d, QUOTE = 0x22, BACKSLASH = 0x5c;

/**
 * Whether the JSON text nests objects and arrays deeper than `limit`: one pass over the bytes, no
 * recursion, brackets inside strings ignored. In UTF-8 every byte of a multi-byte character is
 * ≥ 0x80, so the ASCII punctuation looked for here is never part of another character.
 */
export function nestsDeeperThan(body: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function problemWith(text: string, maxLength: number): string | undefined {
  if (text.length > maxLength) return `is longer than ${maxLength} characters`;
  if (loneSurrogate.test(text)) return "is not valid Unicode (a lone UTF-16 surrogate)";
  if (text.includes("\u0000")) return "contains a NUL character (U+0000)";
  return undefined;
}

const pathOf = (path: string, key: string | number) =>
  typeof key === "number" ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key.slice(0, 80))}]`;

/**
 * The first string in a parsed JSON value that is not acceptable text, with where it is
 * (`Operations[0].value.userName`), or undefined. Iterative (an explicit stack), like the depth check.
 */
export function invalidTextIn(value: unknown, maxLength = Infinity): { path: string; problem: string } | undefined {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length) {
    const [current, path] = stack.pop()!;
    if (typeof current === "string") {
      const problem = problemWith(current, maxLength);
      if (problem) return { path: path || "body", problem };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], pathOf(path, i)]);
    } else if (typeof current === "object" && current !== null) {
      const entries = Object.entries(current);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, member] = entries[i]!;
        const problem = problemWith(key, maxLength);
        if (problem) return { path: path ? `${path} (a member name)` : "a member name", problem };
        stack.push([member, pathOf(path, key)]);
      }
    }
  }
  return undefined;
}

export interface JsonBodyOptions {
  /** The media types parsed as JSON. */
  type: string | string[];
  /** Largest body in bytes (after Content-Encoding is undone). */
  limit: number;
  /** false: any JSON value at the top, not just objects and arrays. */
  strict?: boolean;
  /** The longest string (value or member name) accepted, in UTF-16 code units; unlimited when absent. */
  maxStringLength?: number;
  /**
   * Other media types a route reads itself (left unparsed). A body of any media type neither
   * parsed here nor listed is refused with 415: read as "no body", a PATCH would answer 200 for
   * a change it never saw.
   */
  passThrough?: readonly string[];
}

/** express.json with the checks above; a request with another media type passes through unparsed (see `passThrough`). */
export function jsonBody(options: JsonBodyOptions) {
  const parse = express.json({
    type: options.type,
    limit: options.limit,
    strict: options.strict ?? true,
    verify: (_req, _res, body) => {
      if (!isUtf8(body)) throw refusal(400, "encoding.invalid", "The request body is not valid UTF-8");
      if (nestsDeeperThan(body, maxJsonDepth)) throw refusal(400, "entity.too.deep", `The request body nests deeper than ${maxJsonDepth} levels`, maxJsonDepth);
    },
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const hasBody = Number(req.header("content-length") ?? 0) > 0 || req.header("transfer-encoding") !== undefined;
    if (options.passThrough && hasBody && !req.is(options.type) && !req.is([...options.passThrough])) {
      return next(refusal(415, "media.unsupported", `The request body must be ${[options.type].flat().join(" or ")}`));
    }
    if (req.is(options.type)) {
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.header("content-type") ?? "")?.[1]?.toLowerCase();
      if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
        return next(refusal(415, "charset.unsupported", `unsupported charset "${charset.toUpperCase()}"`));
      }
    }
    parse(req, res, (error?: unknown) => {
      if (error) return next(error);
      // express 5's body parser leaves req.body undefined when there is no body to parse; the
      // edges read a body left out as `{}` (what express 4 gave them), so a missing required body
      // is refused by its schema naming the missing members, not as "expected object".
      req.body ??= {};
      const invalid = req.body === undefined ? undefined : invalidTextIn(req.body, options.maxStringLength);
      if (invalid) return next(refusal(400, "entity.invalid.text", `${invalid.path} ${invalid.problem}`));
      next();
    });
  };
}
