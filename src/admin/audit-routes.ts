import express, { type Router } from "express";
import type { Services } from "../services";

/** Audit trail and access review endpoints (mounted under /api/v1 after authentication). */
export function auditRoutes(_services: Services): Router {
  return express.Router();
}
