import path from "node:path";
import type * as EmbeddedDatabaseModule from "../src/storage/embedded-database";

/**
 * The bench drives Gatehouse's production build (dist/, from tsconfig.build.json), never a copy
 * compiled with the bench: the server, the CLI, and the embedded database launcher, whose
 * scripts/ it finds relative to dist/. The bench itself compiles to .bench-dist/ (bench/tsconfig.json).
 */
export const projectRoot = path.resolve(__dirname, "..", "..");
export const gatehouseMain = path.join(projectRoot, "dist", "main.js");
export const gatehouseCli = path.join(projectRoot, "dist", "cli", "main.js");

const launcher = require(path.join(projectRoot, "dist", "storage", "embedded-database.js")) as typeof EmbeddedDatabaseModule;
export const startEmbeddedDatabase = launcher.startEmbeddedDatabase;
export type EmbeddedDatabase = EmbeddedDatabaseModule.EmbeddedDatabase;
