import SCIMMY from "scimmy";
import type { Criteria } from "../domain/criteria";
import { InvalidFilterError, parseFilter, resolveAttributePath, type FilterSchema } from "./filter";

/** Query parameters of a list or search request (RFC 7644 §3.4.2), as they arrived. */
export interface ListParameters {
  filter?: unknown;
  sortBy?: unknown;
  sortOrder?: unknown;
  startIndex?: unknown;
  count?: unknown;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

export interface ListRequest {
  criteria?: Criteria;
  sortBy?: string;
  descending: boolean;
  startIndex: number;
  count: number;
}

type ScimObject = Record<string, unknown>;

/**
 * Splits scimmy Resource constructor arguments into what scimmy may see and the list parameters
 * Gatehouse handles itself: scimmy's own filter parser is wrong for `not` and repeated value
 * filters, and its paging slices a database-paged page a second time (../shared/SCIMMY.md §1).
 */
export function separateListParameters(args: unknown[]): { scimmyArgs: unknown[]; list: ListParameters } {
  const [id, config] = args;
  const params = ((typeof id === "string" || config !== undefined ? config : id) ?? {}) as ScimObject;
  const { filter, sortBy, sortOrder, startIndex, count, ...rest } = params;
  const list: ListParameters = { filter, sortBy, sortOrder, startIndex, count, attributes: rest.attributes, excludedAttributes: rest.excludedAttributes };
  return { scimmyArgs: typeof id === "string" ? [id, rest] : [rest], list };
}

function invalid(scimType: string, message: string) {
  return new SCIMMY.Types.Error(400, scimType, message);
}

function integerParameter(name: string, value: unknown): number | undefined {
  if (value === undefined || value === "") return undefined;
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(number)) throw invalid("invalidValue", `${name} must be an integer`);
  return number;
}

/** Validates list parameters into a database query: 400 invalidFilter / invalidValue otherwise. */
export function parseListRequest(params: ListParameters, schema: FilterSchema, maxResults: number): ListRequest {
  const { filter, sortBy, sortOrder, startIndex, count } = params;
  let criteria: Criteria | undefined;
  let sortPath: string | undefined;
  try {
    if (filter !== undefined) {
      if (typeof filter !== "string" || !filter.trim()) throw new InvalidFilterError("filter must be a non-empty string");
      criteria = parseFilter(filter, schema);
    }
    if (sortBy !== undefined && sortBy !== "") {
      if (typeof sortBy !== "string") throw new InvalidFilterError("sortBy must be an attribute path");
      sortPath = resolveAttributePath(sortBy, schema).domainPath;
    }
  } catch (error) {
    if (error instanceof InvalidFilterError) throw invalid("invalidFilter", error.message);
    throw error;
  }
  if (sortOrder !== undefined && sortOrder !== "ascending" && sortOrder !== "descending") {
    throw invalid("invalidValue", 'sortOrder must be "ascending" or "descending"');
  }
  // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1, a negative count as 0; count is capped.
  return {
    criteria,
    sortBy: sortPath,
    descending: sortOrder === "descending",
    startIndex: Math.max(integerParameter("startIndex", startIndex) ?? 1, 1),
    count: Math.min(Math.max(integerParameter("count", count) ?? maxResults, 0), maxResults),
  };
}

/** A ListResponse for one database-paged page, built so scimmy does not page it again. */
export function listResponse(resources: unknown[], total: number, startIndex: number) {
  const response = new SCIMMY.Messages.ListResponse(resources as never, { startIndex: 1, itemsPerPage: resources.length, totalResults: total } as never);
  response.startIndex = startIndex;
  return response;
}

/** Whether a response must include an attribute, given `attributes` / `excludedAttributes` (RFC 7644 §3.9). */
export function attributeRequested(params: ListParameters, name: string): boolean {
  const names = (value: unknown) =>
    typeof value === "string" ? value.split(",").map((a) => a.trim().toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:\w+:/, "")) : [];
  const wanted = name.toLowerCase();
  const attributes = names(params.attributes);
  if (attributes.length) return attributes.some((a) => a === wanted || a.startsWith(`${wanted}.`));
  return !names(params.excludedAttributes).includes(wanted);
}
