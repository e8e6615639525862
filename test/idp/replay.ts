import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type express from "express";
import type { Response } from "supertest";
import { scimClient } from "../support/app";

/** One recorded identity-provider request (test/idp/fixtures/README.md). */
export interface Fixture {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  expect: {
    status: number | number[];
    totalResults?: number;
    scimType?: string;
    active?: boolean;
    note?: string;
  };
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
 * Sends a fixture (after substituting placeholders) through `scimClient` and checks its `expect`:
 * the status (one number or a list of acceptable ones), and `totalResults`, `scimType`, `active`
 * when the fixture names them. Returns the supertest response for further checks.
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
  let response: Response;
  switch (request.method) {
    case "GET":
      response = await client.get(url);
      break;
    case "DELETE":
      response = await client.delete(url);
      break;
    case "POST":
      response = await client.post(url, body);
      break;
    case "PUT":
      response = await client.put(url, body);
      break;
    case "PATCH":
      response = await client.patch(url, body);
      break;
    default:
      throw new Error(`Unsupported fixture method ${String((request as Fixture).method)}`);
  }

  const described = `${request.method} ${url} → ${response.status} ${JSON.stringify(response.body)}`;
  const statuses = Array.isArray(request.expect.status) ? request.expect.status : [request.expect.status];
  if (!statuses.includes(response.status)) {
    throw new Error(`Expected status ${statuses.join(" or ")} for ${described}`);
  }
  expect(statuses).toContain(response.status);
  if (request.expect.totalResults !== undefined) expect(response.body.totalResults).toBe(request.expect.totalResults);
  if (request.expect.scimType !== undefined) expect(response.body.scimType).toBe(request.expect.scimType);
  if (request.expect.active !== undefined) expect(response.body.active).toBe(request.expect.active);
  return response;
}
