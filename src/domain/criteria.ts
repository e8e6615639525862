/**
 * A query over domain attributes, independent of SCIM syntax and of the storage engine: the SCIM
 * layer parses filters into it (src/scim/filter.ts) and storage translates it
 * (src/storage/criteria-query.ts), so neither knows the other.
 *
 * `path` is a domain attribute path, dot-separated (`userName`, `name.givenName`, `emails.value`,
 * `enterprise.manager.value`, `created`, `id`).
 */

/** RFC 7644 §3.4.2.2 comparison operators; `pr` is the separate `present` criteria. */
export type Comparison = "eq" | "ne" | "co" | "sw" | "ew" | "gt" | "ge" | "lt" | "le";

/** RFC 7643 §2.3 attribute data types. */
export type AttributeType =
  | "string"
  | "boolean"
  | "decimal"
  | "integer"
  | "dateTime"
  | "reference"
  | "binary"
  | "complex";

export type Criteria =
  | { kind: "and"; all: Criteria[] }
  | { kind: "or"; any: Criteria[] }
  | { kind: "not"; criteria: Criteria }
  | { kind: "present"; path: string }
  /**
   * `value` is a JSON value as the client sent it; a dateTime is an ISO 8601 string in UTC.
   * `caseExact` false means strings compare without regard to case (RFC 7643 §2.2).
   */
  | { kind: "compare"; path: string; op: Comparison; value: string | number | boolean | null; type: AttributeType; caseExact: boolean }
  /**
   * At least one element of the multi-valued attribute `path` satisfies `criteria` as a whole
   * (RFC 7644 §3.4.2.2 "complex attribute filter grouping"); paths inside are relative to the element.
   */
  | { kind: "element"; path: string; criteria: Criteria };

/**
 * How a listing of users or groups is filtered, ordered and cut (RFC 7644 §3.4.2.2–4), in domain
 * attribute paths. The same for both resources: storage answers it the same way for both.
 */
export interface DirectoryListing {
  criteria?: Criteria;
  sortBy?: string;
  descending?: boolean;
  /** 1-based, as in SCIM. */
  startIndex: number;
  /** 0 asks for the total only. */
  count: number;
}
