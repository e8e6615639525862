import request from "supertest";
import { parseCommandLine, runCommand, UsageError } from "../../src/cli/commands";
import { scimClient, startTestApp, type TestApp } from "../support/app";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const run = (...argv: string[]) => runCommand(t.services, argv);

describe("gatehouse CLI", () => {
  it("org create --json prints one JSON object with the id and a SCIM token that works", async () => {
    const { stdout, exitCode } = await run("org", "create", "Acme", "Corp", "--json");
    expect(exitCode).toBe(0);
    expect(stdout).toHaveLength(1);
    const created = JSON.parse(stdout[0]);
    expect(created).toMatchObject({ id: expect.any(String), name: "Acme Corp", scimToken: expect.stringMatching(/^gsc_/) });
    await scimClient(t.app, created.scimToken).get("/Users").expect(200);
    const listed = await run("org", "list");
    expect(listed.stdout.join("\n")).toContain(created.id);
  });

  it("creates, lists and revokes tokens; a revoked token stops working at once", async () => {
    const org = JSON.parse((await run("org", "create", "Tokens", "--json")).stdout[0]);
    const issued = JSON.parse((await run("token", "create", "--org", org.id, "--name", "Entra ID", "--json")).stdout[0]);
    expect(issued).toMatchObject({ name: "Entra ID", token: expect.stringMatching(/^gsc_/) });
    const client = scimClient(t.app, issued.token);
    await client.get("/Users").expect(200);

    const listing = JSON.parse((await run("token", "list", "--org", org.id, "--json")).stdout[0]);
    expect(listing.map((x: { name: string }) => x.name)).toEqual(["Initial SCIM token", "Entra ID"]);
    expect(JSON.stringify(listing)).not.toContain(issued.token.replace(/^gs[cv]_[0-9a-f]{24}_/, ""));
    expect(JSON.stringify(listing)).not.toContain("secretHash");

    await run("token", "revoke", issued.id);
    await client.get("/Users").expect(401);
    await scimClient(t.app, org.scimToken).get("/Users").expect(200);
  });

  it("stores only a hash of each token", async () => {
    const org = JSON.parse((await run("org", "create", "Hashes", "--json")).stdout[0]);
    const secret = org.scimToken.replace(/^gs[cv]_[0-9a-f]{24}_/, "");
    const stored = await t.db.models.ScimToken.find({ organizationId: org.id }).lean();
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored[0].secretHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("audits what the operator does", async () => {
    const org = JSON.parse((await run("org", "create", "Audited", "--json")).stdout[0]);
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id }).sort({ at: 1 }).lean();
    expect(events.map((e) => e.action)).toEqual(["organization.created", "scim_token.created"]);
    expect(events[0]).toMatchObject({ source: "cli", actor: { type: "operator" } });
  });

  it("service-token create --json prints exactly {\"token\"}, a token the authorization API accepts", async () => {
    const org = JSON.parse((await run("org", "create", "Service", "--json")).stdout[0]);
    const printed = JSON.parse((await run("service-token", "create", "--org", org.id, "--json")).stdout[0]);
    expect(Object.keys(printed)).toEqual(["token"]);
    expect(printed.token).toMatch(/^gsv_/);
    const user = (await scimClient(t.app, org.scimToken).post("/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "svc@example.com" }).expect(201)).body.id;
    const res = await request(t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${printed.token}`).send({ userId: user, action: "view_reports" }).expect(200);
    expect(res.body.allowed).toBe(true);
  });

  it("creates projects and group mappings, and changes access settings", async () => {
    const org = JSON.parse((await run("org", "create", "Mapped", "--json")).stdout[0]);
    const project = JSON.parse((await run("project", "create", "--org", org.id, "Web", "analytics", "--json")).stdout[0]);
    expect(project.name).toBe("Web analytics");
    const mapping = JSON.parse(
      (await run("mapping", "add", "--org", org.id, "--display-name", "Analytics Admins", "--role", "admin", "--project", `${project.id}:editor`, "--json")).stdout[0],
    );
    expect(mapping).toMatchObject({ match: { kind: "display_name", value: "Analytics Admins" }, organizationRole: "admin", projects: [{ projectId: project.id, role: "editor" }] });
    expect((await run("mapping", "list", "--org", org.id)).stdout.join("\n")).toContain("display_name:Analytics Admins");
    await expect(run("mapping", "add", "--org", org.id, "--display-name", "Owners", "--role", "owner")).rejects.toBeInstanceOf(UsageError);
    await expect(run("mapping", "add", "--org", org.id, "--role", "admin")).rejects.toBeInstanceOf(UsageError);
    await run("mapping", "remove", "--org", org.id, mapping.id);
    expect(JSON.parse((await run("mapping", "list", "--org", org.id, "--json")).stdout[0])).toEqual([]);
    const settings = JSON.parse((await run("access-settings", "--org", org.id, "--default-role", "none", "--read-only-may-comment", "true")).stdout[0]);
    expect(settings).toEqual({ defaultRole: "none", readOnlyMayComment: true, requireMappingForAccess: false, temporaryAccessMaximumDays: 7, seatLimit: null });
    expect(JSON.parse((await run("access-settings", "--org", org.id, "--seat-limit", "25")).stdout[0]).seatLimit).toBe(25);
  });

  it("org set-owner assigns a new Owner as the operator's break-glass, audited", async () => {
    const org = JSON.parse((await run("org", "create", "Vacant", "--owner", "first@vacant.example", "--json")).stdout[0]);
    const scim = scimClient(t.app, org.scimToken);
    await scim.post("/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "second@vacant.example" }).expect(201);
    await expect(run("org", "set-owner", "--org", org.id, "--email", "nobody@vacant.example")).rejects.toBeInstanceOf(UsageError);
    await run("org", "set-owner", "--org", org.id, "--email", "second@vacant.example");
    expect(await t.services.access.ownerOf({ organizationId: org.id })).not.toBe(org.ownerId);
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.ownership_transferred" }).sort({ at: 1 }).lean();
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ source: "cli", actor: { type: "operator" }, before: { ownerUserId: org.ownerId } });
  });

  it("rejects bad usage with a UsageError", async () => {
    await expect(run("token", "create")).rejects.toBeInstanceOf(UsageError);
    await expect(run("org", "create")).rejects.toBeInstanceOf(UsageError);
    await expect(run("frobnicate")).rejects.toBeInstanceOf(UsageError);
    await expect(run("token", "revoke", "nope")).rejects.toBeInstanceOf(UsageError);
  });
});

/**
 * Each command's own flags, written out by hand from the usage the CLI has always printed (not
 * read from the code under test): a command accepts these and refuses every other.
 */
const flagsOf: Record<string, { argv: string[]; flags: string[] }> = {
  "org create": { argv: ["org", "create", "Acme"], flags: ["--owner", "--json"] },
  "org list": { argv: ["org", "list"], flags: ["--json"] },
  "org set-owner": { argv: ["org", "set-owner", "--org", "o", "--email", "e@example.com"], flags: ["--org", "--email"] },
  "token create": { argv: ["token", "create", "--org", "o"], flags: ["--org", "--name", "--expires", "--json"] },
  "token list": { argv: ["token", "list", "--org", "o"], flags: ["--org", "--json"] },
  "token revoke": { argv: ["token", "revoke", "t"], flags: [] },
  "user-token create": { argv: ["user-token", "create", "--org", "o", "--email", "e@example.com"], flags: ["--org", "--email", "--name", "--json"] },
  "service-token create": { argv: ["service-token", "create", "--org", "o"], flags: ["--org", "--name", "--scope", "--json"] },
  "project create": { argv: ["project", "create", "--org", "o", "Web"], flags: ["--org", "--json"] },
  "project list": { argv: ["project", "list", "--org", "o"], flags: ["--org", "--json"] },
  "mapping add": { argv: ["mapping", "add", "--org", "o"], flags: ["--org", "--group-id", "--external-id", "--display-name", "--app-role", "--role", "--project", "--json"] },
  "mapping list": { argv: ["mapping", "list", "--org", "o"], flags: ["--org", "--json"] },
  "mapping remove": { argv: ["mapping", "remove", "--org", "o", "m"], flags: ["--org"] },
  "access-settings": { argv: ["access-settings", "--org", "o"], flags: ["--org", "--default-role", "--read-only-may-comment", "--require-mapping", "--seat-limit"] },
  "saml configure": {
    argv: ["saml", "configure", "--org", "o"],
    flags: [
      ...["--org", "--idp-metadata", "--entity-id", "--sso-url", "--cert", "--slo-url", "--jit", "--no-jit", "--group-sync", "--no-group-sync"],
      ...["--idp-initiated", "--no-idp-initiated", "--sign-requests", "--no-sign-requests", "--signatures", "--subject-nameid", "--subject-attribute"],
      ...["--email-attribute", "--name-attribute", "--groups-attribute", "--reset", "--json"],
    ],
  },
  "saml show": { argv: ["saml", "show", "--org", "o"], flags: ["--org", "--json"] },
  "saml remove": { argv: ["saml", "remove", "--org", "o"], flags: ["--org", "--reason"] },
  "email-domain add": { argv: ["email-domain", "add", "--org", "o", "d.example"], flags: ["--org", "--json"] },
  "email-domain list": { argv: ["email-domain", "list", "--org", "o"], flags: ["--org", "--json"] },
  "email-domain remove": { argv: ["email-domain", "remove", "--org", "o", "d.example"], flags: ["--org"] },
  "sign-in-link": { argv: ["sign-in-link", "--org", "o", "--email", "e@example.com"], flags: ["--org", "--email", "--json"] },
  "sign-in-policy": { argv: ["sign-in-policy", "--org", "o"], flags: ["--org", "--json", "--require-sso", "--no-require-sso"] },
  "webhook create": { argv: ["webhook", "create", "--org", "o", "--url", "https://hooks.example.com/in"], flags: ["--org", "--url", "--type", "--json"] },
  "webhook list": { argv: ["webhook", "list", "--org", "o"], flags: ["--org", "--json"] },
  "webhook remove": { argv: ["webhook", "remove", "--org", "o", "wh_1"], flags: ["--org"] },
  "webhook rotate-secret": { argv: ["webhook", "rotate-secret", "--org", "o", "wh_1"], flags: ["--org", "--overlap-minutes", "--json"] },
  "erase-personal-data": { argv: ["erase-personal-data", "--org", "o", "--user", "u", "--confirm", "c"], flags: ["--org", "--user", "--confirm", "--json"] },
};
const everyFlag = [...new Set(Object.values(flagsOf).flatMap((c) => c.flags))];

/** What a command line prints when it asks for help (it never reaches the database). */
const helpOf = (...argv: string[]) => {
  const invocation = parseCommandLine(argv);
  if (!("help" in invocation)) throw new Error(`${argv.join(" ")} is not a request for help`);
  return invocation.help;
};
const usageErrorOf = (...argv: string[]): UsageError => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`${argv.join(" ")} was accepted`);
};

describe("gatehouse CLI: flags and help per command", () => {
  it("refuses, for every command, each flag that belongs only to other commands (--jit on org list), as a usage error", () => {
    for (const [command, { argv, flags }] of Object.entries(flagsOf)) {
      expect(parseCommandLine(argv)).toMatchObject({ command });
      for (const foreign of everyFlag.filter((flag) => !flags.includes(flag))) {
        const error = usageErrorOf(...argv, foreign);
        expect(error.message.split("\n")[0]).toBe(`Unknown option '${foreign}' (gatehouse ${command})`);
        expect(error.help).toMatch(new RegExp(`^Usage: gatehouse ${command} `));
      }
    }
  });

  it("lists in each command's help exactly that command's flags", () => {
    for (const [command, { flags }] of Object.entries(flagsOf)) {
      const { stdout, exitCode } = helpOf(...command.split(" "), "--help");
      expect(exitCode).toBe(0);
      expect(stdout[0]).toMatch(new RegExp(`^Usage: gatehouse ${command}\\b`));
      const listed = stdout.filter((line) => /^ {2}(-h, )?--/.test(line)).map((line) => line.trim().replace(/^-h, /, "").split(/\s+/)[0]);
      expect(listed).toEqual([...flags, "--help"]);
      // The synopsis names no flag the command does not have.
      const synopsis = stdout.slice(0, stdout.indexOf("")).join(" ");
      for (const flag of synopsis.match(/--[a-z-]+/g) ?? []) expect(flags).toContain(flag);
    }
  });

  it("prints a command's help for `help <command>`, `<command> --help` and `<command> -h` alike", () => {
    const help = helpOf("org", "list", "--help");
    expect(help.stdout).toEqual(["Usage: gatehouse org list [--json]", "", "list organizations", "", "Options:", "  --json      print them as a JSON array", "  -h, --help  display help for command"]);
    expect(helpOf("help", "org", "list")).toEqual(help);
    expect(helpOf("org", "list", "-h")).toEqual(help);
    expect(helpOf("help", "saml", "configure").stdout.join("\n")).toContain("--no-jit                    do not create users at sign-in (SCIM provisions them)");
    expect(usageErrorOf("help", "org", "frobnicate").message).toBe("Unknown command: org frobnicate");
  });

  it("prints the overview of every command for --help (exit 0) and with no command at all (exit 2)", () => {
    const overview = helpOf("--help");
    expect(overview.exitCode).toBe(0);
    expect(helpOf("help")).toEqual(overview);
    expect(helpOf()).toEqual({ stdout: overview.stdout, exitCode: 2 });
    const commands = overview.stdout.filter((line) => /^ {2}[a-z]/.test(line)).map((line) => line.trim().split(/ [A-Z[(-]/)[0]);
    expect(commands).toEqual(Object.keys(flagsOf));
    expect(overview.stdout).toContain("  org list [--json]                    list organizations");
  });

  it("refuses an unknown command, a missing command, argument or flag value, and a value not allowed, each with its command's help", () => {
    expect(usageErrorOf("frobnicate").message).toBe("Unknown command 'frobnicate'");
    expect(usageErrorOf("org", "list", "--jsn").message).toBe("Unknown option '--jsn' (gatehouse org list)\n(Did you mean --json?)");
    expect(usageErrorOf("org", "frobnicate").message).toBe("Unknown command 'frobnicate'");
    const group = usageErrorOf("org");
    expect(group.message).toBe("gatehouse org needs a command");
    expect(group.help).toContain("  org set-owner --org ID --email EMAIL");
    expect(usageErrorOf("token", "revoke").message).toBe("Missing required argument 'TOKEN_ID'");
    expect(usageErrorOf("token", "revoke", "a", "b").message).toBe("Too many arguments. Expected 1 argument but got 2. (gatehouse token revoke)");
    expect(usageErrorOf("token", "list").message).toBe("Required option '--org <ID>' not specified");
    expect(usageErrorOf("token", "create", "--org").message).toBe("Option '--org <ID>' argument missing");
    expect(usageErrorOf("token", "create", "--org", "o", "--expires", "soon").message).toBe("Option '--expires <ISO-DATE>' argument 'soon' is invalid. Give an ISO date such as 2027-01-01 or 2027-01-01T00:00:00Z.");
    expect(usageErrorOf("access-settings", "--org", "o", "--seat-limit", "0").help).toMatch(/^Usage: gatehouse access-settings --org ID/);
    expect(usageErrorOf("mapping", "add", "--org", "o", "--group-id", "g", "--app-role", "r").message).toBe("Option '--group-id <ID>' cannot be used with option '--app-role <VALUE>'");
  });

  it("gives a usage error found while running (an unknown organization) the help of its command, and stores nothing for a refused flag", async () => {
    const error = await run("project", "list", "--org", "no-such-org").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ message: "No organization no-such-org", help: expect.stringMatching(/^Usage: gatehouse project list --org ID \[--json\]/) });
    await expect(run("org", "create", "Never", "Created", "--jit")).rejects.toBeInstanceOf(UsageError);
    expect(JSON.parse((await run("org", "list", "--json")).stdout[0]).map((o: { name: string }) => o.name)).not.toContain("Never Created");
  });
});
