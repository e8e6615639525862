import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type express from "express";
import type { Response } from "supertest";
import { scimClient } from "../support/app";

/**
 * One recorded identity-provider request and the answer Gatehouse must give to it
 * (test/idp/fixtures/README.md): the status, and the whole body — absent for an answer without one.
 */
export interface Fixture {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  expect: { status: number; body?: unknown };
}

/** Values for the placeholders of a fixture: `{ userId: "…" }` replaces `{userId}`. */
export type Placeholders = Record<string, string>;

const fixturesDir = path.join(__dirname, "fixtures");

/** Reads `fixtures/<provider>/<name>` (name with or without `.json`, or just its number prefix such as "05"). */
export function loadFixture(provider: "okta" | "entra", name: string): Fixture {
  const dir = path.join(fixturesDir, provider);
  let file = name.endsWith(".json") ? name : `${name}.json`;
  if (/^\d+$/.test(name)) {
    const match = readdirSync(dir).find((entry) => entry.startsWith(`${name}-`) && entry.endsWith(".json"));
    if (!match) throw new Error(`No fixture ${provider}/${name}-*.json`);
    file = match;
  }
  return JSON.parse(readFileSync(path.join(dir, file), "utf8")) as Fixture;
}

function replaceAll(text: string, values: Placeholders, encode: (value: string) => string): string {
  let out = text;
  for (const [key, value] of Object.entries(values)) {
    out = out.split(`{${key}}`).join(encode(value));
    // The placeholder may also appear URL-encoded inside a query string: %7BuserId%7D.
    out = out.replace(new RegExp(`%7B${key}%7D`, "gi"), encodeURIComponent(value));
  }
  return out;
}

/** Substitutes placeholders in every string of a JSON value (keys included), at any depth. */
export function substitute<T>(value: T, values: Placeholders): T {
  if (typeof value === "string") return replaceAll(value, values, (v) => v) as T;
  if (Array.isArray(value)) return value.map((item) => substitute(item, values)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [replaceAll(k, values, (x) => x), substitute(v, values)]),
    ) as T;
  }
  return value;
}

/** The fixture's path with placeholders substituted (values URL-encoded). */
export function fixturePath(fixture: Fixture, values: Placeholders): string {
  return replaceAll(fixture.path, values, encodeURIComponent);
}

function unresolved(text: string): string[] {
  return [...text.matchAll(/\{(userId|groupId|managerId)\}|%7B(userId|groupId|managerId)%7D/gi)].map((m) => m[0]);
}

/**
 * Placeholders of an expected body that stand for values the server chooses:
 * `{time}` a SCIM dateTime (RFC 7643 §2.3.5, as Gatehouse writes it: UTC with milliseconds),
 * `{version}` a weak entity tag (RFC 7644 §3.14, RFC 9110 §8.8.3). Any other `{name}` is an id:
 * the value given for it, or — for an id the answer introduces, such as a new user's — whatever
 * the answer holds at its first place, which every later place must then repeat.
 */
const GENERATED: Record<string, string> = {
  time: String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`,
  version: String.raw`W/"[^"]+"`,
};
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The expected string as a pattern: literal text, with each placeholder a capture. */
function templateOf(expected: string, values: Placeholders): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = expected
    .split(/(\{\w+\})/)
    .map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) return escapeRegExp(part);
      if (values[name] !== undefined) return escapeRegExp(values[name]);
      names.push(name);
      return `(${GENERATED[name] ?? String.raw`[^/\s"]+`})`;
    })
    .join("");
  return { pattern: new RegExp(`^${source}$`), names };
}

/**
 * The expected body with its placeholders resolved against the actual answer: a string holding
 * placeholders becomes the actual string where that matches (ids repeating their first value),
 * and stays as written where it does not, so that the comparison fails and shows the difference.
 */
export function resolveExpected(expected: unknown, actual: unknown, values: Placeholders, captured: Placeholders = {}): unknown {
  if (typeof expected === "string") {
    if (!/\{\w+\}/.test(expected)) return expected;
    const { pattern, names } = templateOf(expected, { ...values, ...captured });
    const match = typeof actual === "string" ? pattern.exec(actual) : null;
    if (!match) return substitute(expected, { ...values, ...captured });
    names.forEach((name, i) => {
      if (!(name in GENERATED)) captured[name] = match[i + 1]!;
    });
    return actual;
  }
  if (Array.isArray(expected)) return expected.map((item, i) => resolveExpected(item, Array.isArray(actual) ? actual[i] : undefined, values, captured));
  if (typeof expected === "object" && expected !== null) {
    const other = typeof actual === "object" && actual !== null ? (actual as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(expected).map(([key, item]) => [key, resolveExpected(item, other[key], values, captured)]));
  }
  return expected;
}

/**
 * Sends a fixture (after substituting placeholders) through `scimClient` and compares the answer
 * with the fixture's `expect`: the status and the whole body, deep-equal once the placeholders
 * are resolved (an answer without a body must have none). Returns the supertest response.
 */
export async function replay(
  app: express.Express,
  token: string,
  fixture: Fixture | { provider: "okta" | "entra"; name: string },
  values: Placeholders = {},
): Promise<Response> {
  const request = "provider" in fixture ? loadFixture(fixture.provider, fixture.name) : fixture;
  const url = fixturePath(request, values);
  const body = request.body === undefined ? undefined : substitute(request.body, values);
  const left = [...unresolved(url), ...unresolved(JSON.stringify(body ?? null))];
  if (left.length) throw new Error(`Fixture ${request.method} ${request.path} still has placeholders: ${left.join(", ")}`);

  const client = scimClient(app, token);
  const send = {
    GET: () => client.get(url),
    DELETE: () => client.delete(url),
    POST: () => client.post(url, body),
    PUT: () => client.put(url, body),
    PATCH: () => client.patch(url, body),
  }[request.method];
  if (!send) throw new Error(`Unsupported fixture method ${String(request.method)}`);
  const response = await send();

  const answer = { request: `${request.method} ${url}`, status: response.status, body: response.text === "" ? undefined : (response.body as unknown) };
  const expected = { request: answer.request, status: request.expect.status, body: resolveExpected(request.expect.body, answer.body, values) };
  expect(answer).toEqual(expected);
  return response;
}
