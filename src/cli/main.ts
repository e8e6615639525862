import { ConfigError, loadConfig } from "../config";
import { composeServices } from "../composition";
import { openConfiguredDatabase } from "../storage/open";
import { parseCommandLine, usage, UsageError } from "./commands";

/**
 * `gatehouse …` / `npm run cli -- …`: the operator's tool. It uses the same configuration as the
 * server, so next to a running `npm start` it finds the same (embedded) database by itself. Help
 * and usage errors are answered before any database is opened.
 */
async function main(argv: string[]): Promise<number> {
  // The access catalog names the roles the commands take; with a configuration that does not load,
  // help still answers (with the shipped catalog's names) and running a command reports the problems.
  const configured = (() => {
    try {
      return loadConfig();
    } catch (error) {
      if (error instanceof ConfigError) return undefined;
      throw error;
    }
  })();
  const invocation = parseCommandLine(argv, configured?.accessCatalog);
  if ("help" in invocation) {
    process.stdout.write(invocation.help.stdout.map((line) => `${line}\n`).join(""));
    return invocation.help.exitCode;
  }
  const config = configured ?? loadConfig();
  // Next to a running server on the embedded database, every write is recorded in its change
  // journal (storage/open.ts); an interrupted command exits through process.exit so that the
  // writes still in flight are recorded too.
  const database = await openConfiguredDatabase(config, "client");
  process.once("SIGINT", () => process.exit(130));
  process.once("SIGTERM", () => process.exit(143));
  const services = composeServices(config, database.db);
  let exitCode = 1;
  try {
    const output = await invocation.run(services);
    process.stdout.write(output.stdout.map((line) => `${line}\n`).join(""));
    exitCode = output.exitCode;
  } finally {
    await services.settle();
    await database.close();
  }
  const unrecorded = database.unrecorded();
  if (unrecorded.length) {
    process.stderr.write(
      `The running server was not told of ${unrecorded.length} change(s) (${unrecorded[0].message}); restart it so it reads them.\n`,
    );
    return 1;
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${(error.help ?? usage).trimEnd()}\n`);
    else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError || error instanceof ConfigError ? 2 : 1);
  },
);
