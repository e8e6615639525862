import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCommand } from "../../src/cli/commands";
import { operator, startTestApp, type TestApp } from "../support/app";
import { makeSigningKey } from "../support/saml-idp";

/**
 * The configuration → services wiring is written once (src/composition.ts): the server, the CLI and
 * the test app all come through it, so what the tests run is the server's own wiring.
 */
const root = path.resolve(__dirname, "..", "..");
const source = (file: string) => readFileSync(path.join(root, file), "utf8");
const typescriptFiles = (dir: string): string[] =>
  readdirSync(path.join(root, dir)).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(path.join(root, file)).isDirectory() ? typescriptFiles(file) : file.endsWith(".ts") ? [file] : [];
  });

describe("one composition root", () => {
  it("builds the server (main.ts) and the test app with composeServer, and the CLI with composeServices", () => {
    for (const file of ["src/main.ts", "test/support/app.ts"]) {
      expect(source(file)).toMatch(/\bcomposeServer\(config, db, \{/);
    }
    expect(source("src/cli/main.ts")).toMatch(/\bcomposeServices\(config, /);
    for (const file of ["src/main.ts", "src/cli/main.ts", "test/support/app.ts"]) {
      // None of them maps the configuration onto the services or builds the app by itself.
      expect(source(file)).not.toMatch(/\bcreateServices\(|\bbuildApp\(|authFailureWindowSeconds|publicBaseUrl:/);
    }
  });

  it("is the only caller of createServices and buildApp in the application", () => {
    const callers = typescriptFiles("src").filter((file) => /\b(createServices|buildApp)\(/.test(source(file)));
    expect(callers.sort()).toEqual(["src/app.ts", "src/composition.ts", "src/services/index.ts"]);
  });
});

describe("the test app, wired as the server is", () => {
  let t: TestApp;
  let dir: string;
  let now = new Date();
  const spKey = makeSigningKey("composition-sp");

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-composition-"));
    writeFileSync(path.join(dir, "sp.key"), spKey.privateKey, { mode: 0o600 });
    writeFileSync(path.join(dir, "sp.crt"), spKey.certificate);
    t = await startTestApp(
      {
        PUBLIC_BASE_URL: "https://sso.composition.example",
        SAML_SP_KEY_FILE: path.join(dir, "sp.key"),
        SAML_SP_CERT_FILE: path.join(dir, "sp.crt"),
        SESSION_IDLE_TIMEOUT_MINUTES: "7",
        SESSION_ABSOLUTE_TIMEOUT_HOURS: "2",
        AUTH_FAILURE_WINDOW_SECONDS: "7",
      },
      { sessionClock: () => now },
    );
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("derives the service provider's URLs from PUBLIC_BASE_URL and shows the SAML_SP_CERT_FILE certificate", async () => {
    const org = JSON.parse((await runCommand(t.services, ["org", "create", "Wired Co", "--json"])).stdout[0]!);
    const shown = (await runCommand(t.services, ["saml", "show", "--org", org.id])).stdout.join("\n");
    expect(shown).toContain(`ACS URL:          https://sso.composition.example/auth/saml/${org.id}/acs`);
    expect(shown).toMatch(/Signing cert:\s+CN=composition-sp, valid to \d{4}-/);
  });

  it("ends sessions after SESSION_ABSOLUTE_TIMEOUT_HOURS and SESSION_IDLE_TIMEOUT_MINUTES, on the session clock it is given", async () => {
    const { organization, owner } = await t.services.organizations.create("Sessions Co", operator, { ownerEmail: "owner@sessions.example" });
    const ctx = { ...operator, organizationId: organization.id };
    now = new Date();
    const started = await t.services.sessions.start(ctx, owner!, { via: "saml" });
    expect(started.expiresAt.getTime() - now.getTime()).toBe(2 * 3_600_000);
    now = new Date(now.getTime() + 6 * 60_000);
    await expect(t.services.sessions.authenticate(started.cookieValue)).resolves.toMatchObject({ user: { id: owner!.id } });
    now = new Date(now.getTime() + 7 * 60_000 + 1000);
    await expect(t.services.sessions.authenticate(started.cookieValue)).rejects.toThrow();
  });

  it("counts failed authentications in windows of AUTH_FAILURE_WINDOW_SECONDS", async () => {
    const before = Date.now();
    const { resetsAt } = await t.services.authFailures.recordFailure("203.0.113.9");
    expect(resetsAt.getTime() % 7000).toBe(0);
    expect(resetsAt.getTime() - before).toBeLessThanOrEqual(7000);
  });
});
