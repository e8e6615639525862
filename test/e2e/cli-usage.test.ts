import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

/**
 * The built CLI as an operator runs it: help and usage errors on the right stream with the exit
 * codes the README gives, answered before any configuration is read or database opened (the
 * environment below is invalid on purpose: a command that needed it would exit with its error).
 */
const cliEntry = path.resolve(__dirname, "..", "..", "dist", "cli", "main.js");
const brokenEnvironment = { ...process.env, PORT: "eighty", MONGODB_URI: "not-a-uri" };

function gatehouse(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliEntry, ...argv], { env: brokenEnvironment }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(cliEntry)) throw new Error("dist/ is missing: run `npm run build` (npm test does)");
});

describe("gatehouse help and usage errors", () => {
  it("prints one command's help on stdout for `gatehouse help org list`, exit 0", async () => {
    const [result, flag] = await Promise.all([gatehouse("help", "org", "list"), gatehouse("org", "list", "--help")]);
    expect(result).toEqual({
      code: 0,
      stdout: "Usage: gatehouse org list [--json]\n\nlist organizations\n\nOptions:\n  --json      print them as a JSON array\n  -h, --help  display help for command\n",
      stderr: "",
    });
    expect(flag).toEqual(result);
  }, 60_000);

  it("refuses --jit on org list with exit 2: the message, then that command's usage, on stderr", async () => {
    const result = await gatehouse("org", "list", "--jit");
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "Unknown option '--jit' (gatehouse org list)\n\nUsage: gatehouse org list [--json]\n\nlist organizations\n\nOptions:\n  --json      print them as a JSON array\n  -h, --help  display help for command\n",
    );
  }, 60_000);

  it("prints the overview on stdout with no command (exit 2) and for --help (exit 0)", async () => {
    const [bare, help] = await Promise.all([gatehouse(), gatehouse("--help")]);
    expect(bare.code).toBe(2);
    expect(help.code).toBe(0);
    expect(bare.stdout).toBe(help.stdout);
    expect(help.stdout).toMatch(/^Usage: gatehouse <command> \[options\]\n/);
    expect(help.stdout).toContain("\n  saml configure --org ID\n");
  }, 60_000);

  it("reads the configuration only for a command that runs: invalid configuration exits 2 with every bad variable", async () => {
    const result = await gatehouse("org", "list");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("PORT");
    expect(result.stderr).toContain("MONGODB_URI");
  }, 60_000);
});
