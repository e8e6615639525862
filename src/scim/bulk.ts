import SCIMMY from "scimmy";
import { scimAnswerOf } from "./errors";
import { resourceHeaders, versionFromEtag } from "./user-mapping";
import type { ScimContext } from "./user-resource";

/**
 * Bulk (RFC 7644 §3.7). scimmy validates the BulkRequest message and runs each operation through
 * the same Resource classes as the single-resource endpoints; the loop is Gatehouse's own because
 * scimmy 1.3.5's treats any reference to a later POST as circular (creating the referrer twice,
 * the second time as a 409) and ignores each operation's `version`.
 *
 * Operations run one at a time, POSTs that others reference by bulkId first (the RFC lets the
 * service provider choose the order, §3.7.2), and are answered in the order they were sent;
 * `failOnErrors` stops processing after that many errors; each operation's `version` is checked
 * like If-Match.
 */

interface BulkOperation {
  method?: unknown;
  path?: unknown;
  bulkId?: unknown;
  version?: unknown;
  data?: unknown;
}

interface BulkResult {
  method: string;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: unknown;
}

type ResourceClass = new (...args: unknown[]) => {
  write(data: unknown, ctx: unknown): Promise<unknown>;
  patch(data: unknown, ctx: unknown): Promise<unknown>;
  dispose(ctx: unknown): Promise<unknown>;
  id?: string;
};

const bulkReference = /"bulkId:([^"]+)"/g;

function referencesOf(data: unknown): string[] {
  return data === undefined ? [] : [...new Set([...JSON.stringify(data).matchAll(bulkReference)].map((m) => m[1]))];
}

/** Processing order: a POST comes before every operation that references its bulkId. */
function processingOrder(operations: BulkOperation[]): number[] {
  const creator = new Map<string, number>();
  operations.forEach((op, index) => {
    if (String(op.method).toUpperCase() === "POST" && typeof op.bulkId === "string") creator.set(op.bulkId, index);
  });
  const order: number[] = [];
  const state = new Map<number, "visiting" | "done">();
  const visit = (index: number) => {
    if (state.get(index) === "done" || state.get(index) === "visiting") return; // a cycle fails when run
    state.set(index, "visiting");
    for (const reference of referencesOf(operations[index].data)) {
      const dependency = creator.get(reference);
      if (dependency !== undefined && dependency !== index) visit(dependency);
    }
    state.set(index, "done");
    order.push(index);
  };
  operations.forEach((_, index) => visit(index));
  return order;
}

function errorResult(method: string, bulkId: string | undefined, location: string | undefined, error: unknown): BulkResult {
  const { status, scimType, detail } = scimAnswerOf(error);
  return {
    method,
    ...(bulkId ? { bulkId } : {}),
    ...(location ? { location } : {}),
    status: String(status),
    response: {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail,
    },
  };
}

export async function applyBulk(body: unknown, ctx: ScimContext, maxOperations: number) {
  const request = new SCIMMY.Messages.BulkRequest(body as never, maxOperations) as unknown as { Operations: BulkOperation[]; failOnErrors?: number };
  const resources = new Map<string, ResourceClass>(
    Object.values(SCIMMY.Resources.declared() as unknown as Record<string, ResourceClass & { endpoint: string }>).map((R) => [R.endpoint, R]),
  );
  const created = new Map<string, string | undefined>();
  const answered: [number, BulkResult][] = [];
  let errors = 0;

  for (const index of processingOrder(request.Operations)) {
    const results = { push: (result: BulkResult) => answered.push([index, result]) };
    if (request.failOnErrors && errors >= request.failOnErrors) break;
    const operation = request.Operations[index];
    const method = typeof operation.method === "string" ? operation.method.toUpperCase() : String(operation.method);
    const bulkId = typeof operation.bulkId === "string" ? operation.bulkId : undefined;
    const path = typeof operation.path === "string" ? operation.path : "";
    const [, endpoint, id, extra] = path.split("/");
    const Resource = resources.get(`/${endpoint}`);
    const location = Resource && id ? `${ctx.baseUrl}/${endpoint}/${id}` : undefined;
    const fail = (status: number, scimType: string | null, message: string) => {
      errors++;
      results.push(errorResult(method, bulkId, location, new SCIMMY.Types.Error(status, scimType as string, `Operation ${index + 1}: ${message}`)));
    };

    if (!["POST", "PUT", "PATCH", "DELETE"].includes(method)) { fail(400, "invalidValue", `method must be POST, PUT, PATCH or DELETE`); continue; }
    if (!Resource || extra !== undefined) { fail(400, "invalidValue", `path "${path}" names no resource endpoint`); continue; }
    if (method === "POST" && (!bulkId || id)) { fail(400, "invalidSyntax", "POST needs a bulkId and a path without an id"); continue; }
    if (method !== "POST" && !id) { fail(400, "invalidSyntax", `${method} needs a path with the resource's id`); continue; }
    if (method !== "DELETE" && (typeof operation.data !== "object" || operation.data === null || Array.isArray(operation.data))) {
      fail(400, "invalidSyntax", "data must be an object");
      continue;
    }

    // Resolve bulkId references (RFC 7644 §3.7.2) to the ids of resources created here.
    let data = operation.data;
    const references = referencesOf(data);
    const unresolved = references.find((reference) => !created.get(reference));
    if (unresolved !== undefined) {
      if (created.has(unresolved)) fail(412, null, `the operation creating bulkId "${unresolved}" failed`);
      else fail(400, "invalidValue", `no successful POST with bulkId "${unresolved}" before this operation (circular or unknown reference)`);
      continue;
    }
    if (references.length) {
      data = JSON.parse(JSON.stringify(data).replace(bulkReference, (_, reference: string) => JSON.stringify(created.get(reference))));
    }

    const version = typeof operation.version === "string" ? versionFromEtag(operation.version) : undefined;
    if (typeof operation.version === "string" && version === undefined) { fail(412, null, "version does not name a version of this resource"); continue; }
    const operationCtx: ScimContext = { ...ctx, expectedVersion: version };
    try {
      let value: unknown;
      switch (method) {
        case "POST":
          value = await new Resource().write(data, operationCtx);
          break;
        case "PUT":
          value = await new Resource(id).write(data, operationCtx);
          break;
        case "PATCH":
          value = await new Resource(id).patch(data, operationCtx);
          break;
        case "DELETE":
          await new Resource(id).dispose(operationCtx);
          break;
      }
      const resource = value as { id?: string; meta?: { location?: string; version?: string } } | undefined;
      if (method === "POST" && bulkId) created.set(bulkId, resource?.id);
      const headers = resourceHeaders(value);
      results.push({
        method,
        ...(bulkId ? { bulkId } : {}),
        ...((headers?.location ?? resource?.meta?.location ?? location) ? { location: headers?.location ?? resource?.meta?.location ?? location } : {}),
        ...((headers?.etag ?? resource?.meta?.version) ? { version: headers?.etag ?? resource?.meta?.version } : {}),
        status: method === "POST" ? "201" : value ? "200" : "204",
      });
    } catch (error) {
      if (method === "POST" && bulkId) created.set(bulkId, undefined);
      errors++;
      results.push(errorResult(method, bulkId, method === "POST" ? undefined : location, error));
    }
  }
  answered.sort(([a], [b]) => a - b);
  return { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], Operations: answered.map(([, result]) => result) };
}
