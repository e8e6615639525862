import type { Request } from "express";

/**
 * The organization id of a request under /auth/saml/:org. express 5's types give path parameters
 * as `string | string[]` (an array for a named wildcard); `:org` is a plain segment, always a string.
 */
export const organizationIdOf = (req: Request): string => String(req.params.org);
