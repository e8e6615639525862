import os from "node:os";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import type { Services } from "../services";

/** What a command prints; the caller writes it out, so tests can read it. */
export interface CommandOutput {
  stdout: string[];
  exitCode: number;
}

export const usage = `Usage: gatehouse <command>

  org create NAME [--json]             create an organization and its first SCIM token
  org list [--json]                    list organizations
  token create --org ID [--name N] [--expires ISO-DATE] [--json]
                                       issue another SCIM token (shown once)
  token list --org ID [--json]         list an organization's SCIM tokens (never their secrets)
  token revoke TOKEN_ID                revoke a SCIM token; it stops working on the next request

Environment: MONGODB_URI (or the embedded database in GATEHOUSE_DATA_DIR, default ./data).`;

export class UsageError extends Error {}

function operatorContext() {
  const name = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return "unknown";
    }
  })();
  return {
    actor: { type: "operator" as const, id: name, name: `CLI operator ${name}` },
    source: "cli" as const,
    requestId: `cli-${randomUUID()}`,
  };
}

function table(rows: Record<string, unknown>[]): string[] {
  if (rows.length === 0) return ["(none)"];
  const columns = Object.keys(rows[0]);
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === undefined || v === null ? "" : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))];
}

/** Runs one CLI command against the services; throws UsageError for bad arguments. */
export async function runCommand(services: Services, argv: string[]): Promise<CommandOutput> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      org: { type: "string" },
      name: { type: "string" },
      expires: { type: "string" },
    },
  });
  const [noun, verb, ...rest] = positionals;
  const out: string[] = [];
  const ctx = operatorContext();

  switch (`${noun ?? ""} ${verb ?? ""}`) {
    case "org create": {
      const name = rest.join(" ").trim();
      if (!name) throw new UsageError("org create needs a NAME");
      const { organization, scimToken } = await services.organizations.create(name, ctx);
      if (values.json) {
        out.push(JSON.stringify({ id: organization.id, name: organization.name, scimToken: scimToken.token, scimTokenId: scimToken.id }));
      } else {
        out.push(`Organization: ${organization.name}`, `ID:           ${organization.id}`, `SCIM token:   ${scimToken.token}`, "", "The token is shown only now. Give it to your identity provider with the SCIM base URL.");
      }
      return { stdout: out, exitCode: 0 };
    }
    case "org list": {
      const organizations = await services.organizations.list();
      out.push(...(values.json ? [JSON.stringify(organizations)] : table(organizations.map((o) => ({ id: o.id, name: o.name, created: o.created })))));
      return { stdout: out, exitCode: 0 };
    }
    case "token create": {
      if (!values.org) throw new UsageError("token create needs --org ID");
      if (!(await services.organizations.get(values.org))) throw new UsageError(`No organization ${values.org}`);
      const expires = values.expires ? new Date(values.expires) : undefined;
      if (expires && Number.isNaN(expires.getTime())) throw new UsageError("--expires must be an ISO date");
      const token = await services.scimTokens.issue({ ...ctx, organizationId: values.org }, { name: values.name, expires });
      out.push(values.json ? JSON.stringify({ id: token.id, name: token.name, token: token.token }) : `SCIM token ${token.id} (${token.name}): ${token.token}`);
      return { stdout: out, exitCode: 0 };
    }
    case "token list": {
      if (!values.org) throw new UsageError("token list needs --org ID");
      const tokens = await services.scimTokens.list(values.org);
      out.push(...(values.json ? [JSON.stringify(tokens)] : table(tokens.map((t) => ({ id: t.id, name: t.name, created: t.created, lastUsed: t.lastUsed, expires: t.expires, revoked: t.revoked })))));
      return { stdout: out, exitCode: 0 };
    }
    case "token revoke": {
      const [tokenId] = rest;
      if (!tokenId) throw new UsageError("token revoke needs a TOKEN_ID");
      const token = await services.scimTokens.find(tokenId);
      if (!token) throw new UsageError(`No SCIM token ${tokenId}`);
      await services.scimTokens.revoke({ ...ctx, organizationId: token.organizationId }, tokenId);
      out.push(`Revoked SCIM token ${tokenId} (${token.name}).`);
      return { stdout: out, exitCode: 0 };
    }
    default:
      throw new UsageError(noun ? `Unknown command: ${positionals.join(" ")}` : "No command given");
  }
}
