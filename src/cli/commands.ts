import type { Command } from "commander";
import type { AccessCatalog } from "../domain/catalog";
import { SHIPPED_CATALOG } from "../domain/permissions";
import type { Services } from "../services";
import { accessCommands } from "./access";
import { organizationCommands } from "./organizations";
import { overviewOf, parseWith, type CommandOutput, type Invocation } from "./program";
import { samlCommands } from "./saml";
import { tokenCommands } from "./tokens";
import { signInCommands } from "./sign-in";
import { webhookCommands } from "./webhooks";
import { erasureCommands } from "./erasure";

export { UsageError, type CommandOutput, type Invocation } from "./program";

/** Every command of `gatehouse`, each with its own arguments, flags and help; role names are the access catalog's. */
const declareCommands = (catalog: AccessCatalog) => (program: Command): void => {
  program.description("The operator's tool: organizations, tokens, group mappings and SAML connections, on the server's database.");
  organizationCommands(program);
  tokenCommands(program);
  accessCommands(program, catalog);
  samlCommands(program);
  signInCommands(program);
  webhookCommands(program);
  erasureCommands(program);
};

/**
 * Reads a command line: help to print (`--help`, `help <command>`; with no command at all, the
 * overview and exit code 2), or the command to run. Throws UsageError for bad usage. Needs no
 * database, so the CLI answers these before it connects.
 */
export function parseCommandLine(argv: readonly string[], catalog: AccessCatalog = SHIPPED_CATALOG): Invocation {
  return parseWith(declareCommands(catalog), argv);
}

/** Runs one command line against the services; throws UsageError for bad arguments. */
export async function runCommand(services: Services, argv: readonly string[]): Promise<CommandOutput> {
  const invocation = parseCommandLine(argv, services.access.catalog);
  return "help" in invocation ? invocation.help : invocation.run(services);
}

/** The overview of every command (`gatehouse --help`), also printed after a usage error. */
export const usage = overviewOf(declareCommands(SHIPPED_CATALOG));
