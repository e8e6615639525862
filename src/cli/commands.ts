import { readFileSync } from "node:fs";
import os from "node:os";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { presentSamlConnection } from "../admin/presenters";
import { SAML_SIGNATURE_REQUIREMENTS, type SamlSignatureRequirement } from "../domain/saml";
import { parseIdentityProviderMetadata } from "../saml/idp-metadata";
import type { Services } from "../services";
import type { SamlConnectionSummary } from "../services/saml-connections";

/** What a command prints; the caller writes it out, so tests can read it. */
export interface CommandOutput {
  stdout: string[];
  exitCode: number;
}

export const usage = `Usage: gatehouse <command>

  org create NAME [--owner EMAIL] [--json]
                                       create an organization, its first SCIM token and (with
                                       --owner) its Owner as a local user
  org list [--json]                    list organizations
  org set-owner --org ID --email EMAIL the operator's break-glass: make an active member the Owner
                                       (e.g. when the identity provider deprovisioned the Owner)
  token create --org ID [--name N] [--expires ISO-DATE] [--json]
                                       issue another SCIM token (shown once)
  token list --org ID [--json]         list an organization's SCIM tokens (never their secrets)
  token revoke TOKEN_ID                revoke a SCIM or service token; it stops working on the next request
  user-token create --org ID --email EMAIL [--name N] [--json]
                                       a personal API token for /api/v1 (with --json: {"token": "…"})
  service-token create --org ID [--name N] [--json]
                                       a token for the product's back end: authorization answers
                                       at /api/v1 (with --json: {"token": "…"})
  project create --org ID NAME [--json]
  project list --org ID [--json]
  mapping add --org ID (--group-id ID | --external-id ID | --display-name NAME | --app-role VALUE)
              [--role admin|user|read_only] [--project PROJECT_ID:editor|viewer ...] [--json]
                                       map an identity-provider group or app role onto access
  mapping list --org ID [--json]
  mapping remove --org ID MAPPING_ID
  saml configure --org ID (--idp-metadata FILE | --entity-id ID --sso-url URL --cert FILE [--cert FILE2 ...])
                 [--slo-url URL] [--jit] [--group-sync] [--idp-initiated] [--signatures assertion|response|both] [--json]
                                       the organization's SAML identity provider, from its metadata XML
                                       or from its values (certificates in PEM); replaces the connection:
                                       switches not given are off, --signatures defaults to assertion;
                                       --slo-url (single logout, HTTP-Redirect) overrides the metadata's
  saml show --org ID [--json]          the SAML connection, the URLs to give the identity provider and
                                       each certificate's expiry
  saml remove --org ID [--reason TEXT] removes the SAML connection: sign-in through it stops at once
                                       (open sessions are not ended; see sign-out-everywhere)
  access-settings --org ID [--default-role user|read_only|none] [--read-only-may-comment true|false]
                  [--require-mapping true|false] [--seat-limit N|none]

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

async function requireOrganization(services: Services, id: string | undefined): Promise<string> {
  if (!id) throw new UsageError("--org ID is required");
  if (!(await services.organizations.get(id))) throw new UsageError(`No organization ${id}`);
  return id;
}

function describeMapping(m: { organizationRole?: string; projects?: readonly { projectId: string; role: string }[] }): string {
  return [m.organizationRole && `role ${m.organizationRole}`, ...(m.projects ?? []).map((p) => `project ${p.projectId} as ${p.role}`)].filter(Boolean).join(", ");
}

function certificateWarnings(summary: SamlConnectionSummary): string[] {
  return summary.certificates.filter((c) => c.expiresSoon).map((c) => `Warning: certificate ${c.subject} expires ${c.validTo.toISOString()}`);
}

/** `saml show` for a person: the identity provider, the settings, the certificates, then what to give the identity provider. */
function describeSamlConnection(summary: SamlConnectionSummary): string[] {
  const { connection: c, serviceProvider: sp } = summary;
  const onOff = (on: boolean) => (on ? "on" : "off");
  return [
    `Identity provider:  ${c.idpEntityId}`,
    `SSO URL:            ${c.ssoUrl}`,
    `SLO URL:            ${c.sloUrl ?? "(none: signing out ends the Gatehouse session only)"}`,
    `Signatures:         ${c.signatures}`,
    `JIT:                ${onOff(c.jit)}`,
    `Group sync:         ${onOff(c.groupSync)}`,
    `IdP-initiated:      ${onOff(c.idpInitiated)}`,
    `Attributes:         email=${c.attributes.email}, name=${c.attributes.name}, groups=${c.attributes.groups}`,
    "",
    "Certificates:",
    ...table(summary.certificates.map((s) => ({ subject: s.subject, validTo: s.validTo, expiresSoon: s.expiresSoon }))).map((line) => `  ${line}`),
    "",
    "Service provider (give these to the identity provider):",
    `  Entity ID:        ${sp.entityId}`,
    `  ACS URL:          ${sp.acsUrl}`,
    `  Metadata URL:     ${sp.metadataUrl}`,
    `  Login URL:        ${sp.loginUrl}`,
    `  Logout URL:       ${sp.logoutUrl}`,
    `  Signing cert:     ${summary.serviceProviderCertificate ? `${summary.serviceProviderCertificate.subject}, valid to ${summary.serviceProviderCertificate.validTo.toISOString()}` : "(none: logout requests are unsigned; set SAML_SP_KEY_FILE and SAML_SP_CERT_FILE for Okta)"}`,
    ...(summary.certificateExpiresSoon ? ["", ...certificateWarnings(summary)] : []),
  ];
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
      owner: { type: "string" },
      email: { type: "string" },
      "group-id": { type: "string" },
      "external-id": { type: "string" },
      "display-name": { type: "string" },
      "app-role": { type: "string" },
      role: { type: "string" },
      project: { type: "string", multiple: true },
      "default-role": { type: "string" },
      "read-only-may-comment": { type: "string" },
      "require-mapping": { type: "string" },
      "seat-limit": { type: "string" },
      "entity-id": { type: "string" },
      "sso-url": { type: "string" },
      "slo-url": { type: "string" },
      cert: { type: "string", multiple: true },
      jit: { type: "boolean", default: false },
      "group-sync": { type: "boolean", default: false },
      "idp-initiated": { type: "boolean", default: false },
      "idp-metadata": { type: "string" },
      signatures: { type: "string" },
      reason: { type: "string" },
    },
  });
  const [noun, verb, ...rest] = positionals;
  const out: string[] = [];
  const ctx = operatorContext();

  switch (`${noun ?? ""} ${verb ?? ""}`) {
    case "org create": {
      const name = rest.join(" ").trim();
      if (!name) throw new UsageError("org create needs a NAME");
      const { organization, scimToken, owner } = await services.organizations.create(name, ctx, { ownerEmail: values.owner });
      if (values.json) {
        out.push(
          JSON.stringify({ id: organization.id, name: organization.name, scimToken: scimToken.token, scimTokenId: scimToken.id, ...(owner ? { ownerId: owner.id } : {}) }),
        );
      } else {
        out.push(`Organization: ${organization.name}`, `ID:           ${organization.id}`, `SCIM token:   ${scimToken.token}`);
        if (owner) out.push(`Owner:        ${owner.userName} (${owner.id})`);
        out.push("", "The token is shown only now. Give it to your identity provider with the SCIM base URL.");
      }
      return { stdout: out, exitCode: 0 };
    }
    case "org set-owner": {
      const org = await requireOrganization(services, values.org);
      if (!values.email) throw new UsageError("org set-owner needs --email EMAIL");
      const user = await services.users.findByUserName({ organizationId: org }, values.email);
      if (!user) throw new UsageError(`No user ${values.email} in organization ${org}`);
      if (!user.active || user.suspended) throw new UsageError(`${values.email} is not an active, unsuspended member`);
      await services.organizations.transferOwnership({ ...ctx, organizationId: org }, user.id);
      out.push(`${user.userName} (${user.id}) is now the Owner of ${org}.`);
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
    case "user-token create": {
      const org = await requireOrganization(services, values.org);
      if (!values.email) throw new UsageError("user-token create needs --email EMAIL");
      const user = await services.users.findByUserName({ organizationId: org }, values.email);
      if (!user) throw new UsageError(`No user ${values.email} in organization ${org}`);
      const token = await services.scimTokens.issue({ ...ctx, organizationId: org }, { name: values.name ?? `Personal API token of ${user.userName}`, purpose: "personal", userId: user.id });
      out.push(values.json ? JSON.stringify({ token: token.token }) : `Personal API token ${token.id} for ${user.userName}: ${token.token}`);
      return { stdout: out, exitCode: 0 };
    }
    case "service-token create": {
      const org = await requireOrganization(services, values.org);
      const token = await services.scimTokens.issue({ ...ctx, organizationId: org }, { name: values.name ?? "Service token", purpose: "service" });
      out.push(values.json ? JSON.stringify({ token: token.token }) : `Service token ${token.id} (${token.name}): ${token.token}`);
      return { stdout: out, exitCode: 0 };
    }
    case "project create": {
      const org = await requireOrganization(services, values.org);
      const project = await services.access.createProject({ ...ctx, organizationId: org }, rest.join(" "));
      out.push(values.json ? JSON.stringify(project) : `Project ${project.id}: ${project.name}`);
      return { stdout: out, exitCode: 0 };
    }
    case "project list": {
      const org = await requireOrganization(services, values.org);
      const projects = await services.access.projects({ organizationId: org });
      out.push(...(values.json ? [JSON.stringify(projects)] : table(projects.map((p) => ({ id: p.id, name: p.name, created: p.created })))));
      return { stdout: out, exitCode: 0 };
    }
    case "mapping add": {
      const org = await requireOrganization(services, values.org);
      const matches = (
        [
          ["group_id", values["group-id"]],
          ["external_id", values["external-id"]],
          ["display_name", values["display-name"]],
          ["app_role", values["app-role"]],
        ] as const
      ).filter(([, v]) => v !== undefined);
      if (matches.length !== 1) throw new UsageError("mapping add needs exactly one of --group-id, --external-id, --display-name, --app-role");
      const [kind, value] = matches[0];
      if (values.role !== undefined && !["admin", "user", "read_only"].includes(values.role)) {
        throw new UsageError("--role must be admin, user or read_only (ownership is transferred, never mapped)");
      }
      const projects = (values.project ?? []).map((item) => {
        const [projectId, role] = item.split(":");
        if (!projectId || (role !== "editor" && role !== "viewer")) throw new UsageError(`--project ${item}: expected PROJECT_ID:editor or PROJECT_ID:viewer`);
        return { projectId, role: role as "editor" | "viewer" };
      });
      const mapping = await services.access.addMapping(
        { ...ctx, organizationId: org },
        {
          match: { kind, value: value! },
          ...(values.role ? { organizationRole: values.role as "admin" | "user" | "read_only" } : {}),
          ...(projects.length ? { projects } : {}),
        },
      );
      out.push(values.json ? JSON.stringify(mapping) : `Mapping ${mapping.id}: ${kind} "${value}" → ${describeMapping(mapping)}`);
      return { stdout: out, exitCode: 0 };
    }
    case "saml configure": {
      const org = await requireOrganization(services, values.org);
      const byValues = values["entity-id"] !== undefined || values["sso-url"] !== undefined || values.cert !== undefined;
      if (values["idp-metadata"] !== undefined && byValues) throw new UsageError("saml configure takes --idp-metadata FILE or --entity-id/--sso-url/--cert, not both");
      const signatures = values.signatures ?? "assertion";
      if (!(SAML_SIGNATURE_REQUIREMENTS as readonly string[]).includes(signatures)) throw new UsageError(`--signatures must be ${SAML_SIGNATURE_REQUIREMENTS.join(", ")}`);
      const readFile = (file: string, what: string) => {
        try {
          return readFileSync(file, "utf8");
        } catch {
          throw new UsageError(`Cannot read ${what} file ${file}`);
        }
      };
      let identityProvider: { idpEntityId: string; ssoUrl: string; sloUrl?: string; certificates: readonly string[] };
      if (values["idp-metadata"] !== undefined) {
        identityProvider = parseIdentityProviderMetadata(readFile(values["idp-metadata"], "metadata"));
      } else {
        if (!values["entity-id"] || !values["sso-url"] || !values.cert?.length) {
          throw new UsageError("saml configure needs --idp-metadata FILE, or --entity-id, --sso-url and at least one --cert FILE");
        }
        identityProvider = { idpEntityId: values["entity-id"], ssoUrl: values["sso-url"], certificates: values.cert.map((file) => readFile(file, "certificate")) };
      }
      if (values["slo-url"] !== undefined) identityProvider = { ...identityProvider, sloUrl: values["slo-url"] };
      // The command describes the whole connection: a switch left out is off, as it reads.
      const connection = await services.saml.configure(
        { ...ctx, organizationId: org },
        { ...identityProvider, jit: values.jit, groupSync: values["group-sync"], idpInitiated: values["idp-initiated"], signatures: signatures as SamlSignatureRequirement },
      );
      const summary = services.saml.summarize(org, connection);
      if (values.json) {
        out.push(JSON.stringify(presentSamlConnection(summary)));
        return { stdout: out, exitCode: 0 };
      }
      out.push(`SAML connection configured for ${org}: ${connection.idpEntityId}`);
      out.push(...certificateWarnings(summary));
      return { stdout: out, exitCode: 0 };
    }
    case "saml show": {
      const org = await requireOrganization(services, values.org);
      const summary = await services.saml.summary({ organizationId: org });
      out.push(...(values.json ? [JSON.stringify(presentSamlConnection(summary))] : describeSamlConnection(summary)));
      return { stdout: out, exitCode: 0 };
    }
    case "saml remove": {
      const org = await requireOrganization(services, values.org);
      await services.saml.remove({ ...ctx, organizationId: org }, values.reason);
      out.push(`Removed the SAML connection of ${org}: sign-in through it stops now.`);
      return { stdout: out, exitCode: 0 };
    }
    case "mapping list": {
      const org = await requireOrganization(services, values.org);
      const mappings = await services.access.mappings({ organizationId: org });
      out.push(
        ...(values.json
          ? [JSON.stringify(mappings)]
          : table(mappings.map((m) => ({ id: m.id, match: `${m.match.kind}:${m.match.value}`, grants: describeMapping(m) })))),
      );
      return { stdout: out, exitCode: 0 };
    }
    case "mapping remove": {
      const org = await requireOrganization(services, values.org);
      const [mappingId] = rest;
      if (!mappingId) throw new UsageError("mapping remove needs a MAPPING_ID");
      await services.access.removeMapping({ ...ctx, organizationId: org }, mappingId);
      out.push(`Removed mapping ${mappingId}.`);
      return { stdout: out, exitCode: 0 };
    }
    default:
      if (noun === "access-settings") {
        const org = await requireOrganization(services, values.org);
        const flag = (name: string, value: string | undefined) => {
          if (value === undefined) return undefined;
          if (value !== "true" && value !== "false") throw new UsageError(`--${name} must be true or false`);
          return value === "true";
        };
        const defaultRole = values["default-role"];
        if (defaultRole !== undefined && !["user", "read_only", "none"].includes(defaultRole)) throw new UsageError("--default-role must be user, read_only or none");
        const changes = Object.fromEntries(
          Object.entries({
            defaultRole,
            readOnlyMayComment: flag("read-only-may-comment", values["read-only-may-comment"]),
            requireMappingForAccess: flag("require-mapping", values["require-mapping"]),
          }).filter(([, v]) => v !== undefined),
        );
        const seatLimit = values["seat-limit"];
        if (seatLimit !== undefined && seatLimit !== "none" && !/^[1-9]\d*$/.test(seatLimit)) throw new UsageError("--seat-limit must be a positive number or none");
        const settings = Object.keys(changes).length
          ? await services.access.setSettings({ ...ctx, organizationId: org }, changes)
          : await services.access.settings({ organizationId: org });
        if (seatLimit !== undefined) await services.access.setSeatLimit({ ...ctx, organizationId: org }, seatLimit === "none" ? undefined : Number(seatLimit));
        out.push(JSON.stringify({ ...settings, seatLimit: (await services.access.seatLimit({ organizationId: org })) ?? null }));
        return { stdout: out, exitCode: 0 };
      }
      throw new UsageError(noun ? `Unknown command: ${positionals.join(" ")}` : "No command given");
  }
}
