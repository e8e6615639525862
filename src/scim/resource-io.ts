import SCIMMY from "scimmy";
import { withResourceHeaders } from "./user-mapping";

type ScimObject = Record<string, unknown>;
type SchemaClass = new (data: unknown, direction?: string, basepath?: string, filter?: unknown) => object;

/**
 * The `schemas` of a resource on its way in (RFC 7643 §3: an array of the URIs of the schemas the
 * resource uses): when present, strings only, with the resource type's core schema among them.
 * scimmy 1.3.5 took a string, or a Group PUT naming only an unknown schema, and stored the
 * resource as if the client had said nothing. Other URIs are let through (scimmy ignores their
 * attributes): Entra ID names its own ADSCIM Group schema beside the core one.
 */
export function checkSchemas(instance: unknown, Schema: unknown): void {
  if (typeof instance !== "object" || instance === null || Array.isArray(instance)) return;
  const key = Object.keys(instance).find((k) => k.toLowerCase() === "schemas");
  if (key === undefined) return;
  const schemas = (instance as ScimObject)[key];
  if (!Array.isArray(schemas) || !schemas.every((s): s is string => typeof s === "string")) {
    throw new SCIMMY.Types.Error(400, "invalidSyntax", "schemas must be an array of schema URIs (RFC 7643 §3)");
  }
  const core = (Schema as { definition: { id: string } }).definition.id;
  if (!schemas.some((s) => s.toLowerCase() === core.toLowerCase())) throw new SCIMMY.Types.Error(400, "invalidValue", `schemas must include ${core}`);
}

/**
 * A resource body on its way in, validated by scimmy's schema (RFC 7643 types, required and
 * read-only attributes), with the checks scimmy's Resource#write makes first.
 */
export function validateIncoming(Schema: SchemaClass, instance: unknown, operation: "POST" | "PUT"): ScimObject {
  if (instance === undefined) throw new SCIMMY.Types.Error(400, "invalidSyntax", `Missing request body payload for ${operation} operation`);
  if (typeof instance !== "object" || instance === null || Array.isArray(instance)) {
    throw new SCIMMY.Types.Error(400, "invalidSyntax", `Operation ${operation} expected request body payload to be single complex value`);
  }
  checkSchemas(instance, Schema);
  try {
    return JSON.parse(JSON.stringify(new Schema(instance, "in"))) as ScimObject;
  } catch (error) {
    if (error instanceof SCIMMY.Types.Error) throw error;
    throw new SCIMMY.Types.Error(400, "invalidValue", error instanceof Error ? error.message : String(error));
  }
}

/**
 * A resource on its way out. Gatehouse's mappers build resources in SCIM shape already, with no
 * attribute that is never returned; scimmy's outbound schema pass is needed only to apply
 * `attributes` / `excludedAttributes` (RFC 7644 §3.9) — it was a third of the CPU of a create.
 */
export function presentResource(Schema: SchemaClass, resource: ScimObject, basepath: string, attributes: unknown): object {
  if (attributes === undefined) return withResourceHeaders(resource, resource);
  // scimmy leaves `schemas` out when `attributes` does not name it; RFC 7643 §3 returns it always.
  const { schemas: _schemas, ...selected } = JSON.parse(JSON.stringify(new Schema(resource, "out", basepath, attributes))) as ScimObject;
  return withResourceHeaders({ schemas: resource.schemas, ...selected }, resource);
}
