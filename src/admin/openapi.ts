/** The OpenAPI description of /api/v1 (filled in with the admin API's description). */
export const openApiDocument: Record<string, unknown> = { openapi: "3.1.0", info: { title: "Gatehouse API", version: "1" }, paths: {} };
