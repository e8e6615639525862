import { ConfigError, loadConfig } from "../config";
import { composeServices } from "../composition";
import { openConfiguredDatabase } from "../storage/open";
import { runCommand, usage, UsageError } from "./commands";

/**
 * `gatehouse …` / `npm run cli -- …`: the operator's tool. It uses the same configuration as the
 * server, so next to a running `npm start` it finds the same (embedded) database by itself.
 */
async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const config = loadConfig();
  const database = await openConfiguredDatabase(config);
  const services = composeServices(config, database.db);
  try {
    const { stdout, exitCode } = await runCommand(services, argv);
    process.stdout.write(stdout.map((line) => `${line}\n`).join(""));
    return exitCode;
  } finally {
    await services.settle();
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${usage}\n`);
    else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError || error instanceof ConfigError ? 2 : 1);
  },
);
