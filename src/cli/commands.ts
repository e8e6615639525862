import { readFileSync } from "node:fs";
import os from "node:os";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { presentSamlConnection } from "../admin/presenters";
import { defaultSamlAttributes, SAML_SIGNATURE_REQUIREMENTS, type SamlConnection, type SamlSignatureRequirement, type SamlSubjectKey } from "../domain/saml";
import { parseIdentityProviderMetadata } from "../saml/idp-metadata";
import type { Services } from "../services";
import type { SamlConnectionSummary, ServiceProviderSummary } from "../services/saml-connections";

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
                 [--slo-url URL] [--jit|--no-jit] [--group-sync|--no-group-sync]
                 [--idp-initiated|--no-idp-initiated] [--sign-requests|--no-sign-requests]
                 [--signatures assertion|response|both] [--subject-nameid | --subject-attribute NAME]
                 [--email-attribute NAME] [--name-attribute NAME] [--groups-attribute NAME] [--reset] [--json]
                                       the organization's SAML identity provider, from its metadata XML
                                       or from its values (certificates in PEM). Settings not given keep
                                       their current value (defaults on a new connection; with --reset,
                                       all defaults); prints what changed. The subject key is the NameID
                                       matched against userName (default), or --subject-attribute NAME
                                       matched against externalId. --slo-url (single logout,
                                       HTTP-Redirect) overrides the metadata's
  saml show --org ID [--json]          the URLs to give the identity provider (also before any connection
                                       exists), then the connection and each certificate's expiry
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

/** The service provider's values an identity provider asks for, as `saml show` prints them. */
function describeServiceProvider(summary: ServiceProviderSummary, configured: boolean): string[] {
  const { serviceProvider: sp } = summary;
  return [
    ...(configured ? [] : ["No identity provider is configured yet (saml configure). Give these values to it first:", ""]),
    "Service provider (give these to the identity provider):",
    `  Entity ID:        ${sp.entityId}`,
    `  ACS URL:          ${sp.acsUrl}`,
    `  Metadata URL:     ${sp.metadataUrl}`,
    `  Login URL:        ${sp.loginUrl}`,
    `  Logout URL:       ${sp.logoutUrl}`,
    `  Signing cert:     ${summary.serviceProviderCertificate ? `${summary.serviceProviderCertificate.subject}, valid to ${summary.serviceProviderCertificate.validTo.toISOString()}` : "(none: logout requests are unsigned; set SAML_SP_KEY_FILE and SAML_SP_CERT_FILE for Okta)"}`,
  ];
}

/** The subject key in words an administrator can check against the identity provider's set-up. */
function describeSubject(subject: SamlSubjectKey): string {
  return subject.source === "nameId"
    ? "NameID, matched against userName (ASCII case ignored for email addresses only)"
    : `attribute ${subject.attribute}, matched exactly against externalId`;
}

const onOff = (on: boolean) => (on ? "on" : "off");

/** `saml show` for a person: the identity provider, the settings, the certificates, then what to give the identity provider. */
function describeSamlConnection(summary: SamlConnectionSummary): string[] {
  const { connection: c } = summary;
  return [
    `Identity provider:  ${c.idpEntityId}`,
    `SSO URL:            ${c.ssoUrl}`,
    `SLO URL:            ${c.sloUrl ?? "(none: signing out ends the Gatehouse session only)"}`,
    `Subject key:        ${describeSubject(c.subject)}`,
    `Signatures:         ${c.signatures}`,
    `Signed requests:    ${onOff(c.signAuthnRequests)}`,
    `JIT:                ${onOff(c.jit)}`,
    `Group sync:         ${onOff(c.groupSync)}`,
    `IdP-initiated:      ${c.idpInitiated ? "on (such sign-ins answer no request, so they cannot be bound to the browser: login CSRF is possible)" : "off (every sign-in is bound to the browser that started it)"}`,
    `Attributes:         email=${c.attributes.email}, name=${c.attributes.name}, groups=${c.attributes.groups}`,
    "",
    "Certificates:",
    ...table(summary.certificates.map((s) => ({ subject: s.subject, validTo: s.validTo, expiresSoon: s.expiresSoon }))).map((line) => `  ${line}`),
    "",
    ...describeServiceProvider(summary, true),
    ...(summary.certificateExpiresSoon ? ["", ...certificateWarnings(summary)] : []),
  ];
}

/** `saml show --json` before any connection: whether one is configured, and the service provider's values. */
function presentServiceProvider(summary: ServiceProviderSummary) {
  const { serviceProvider: sp, serviceProviderCertificate: cert } = summary;
  return {
    entityId: sp.entityId,
    metadataUrl: sp.metadataUrl,
    loginUrl: sp.loginUrl,
    acsUrl: sp.acsUrl,
    logoutUrl: sp.logoutUrl,
    signingCertificate: cert ? { subject: cert.subject, validTo: cert.validTo.toISOString(), expiresSoon: cert.expiresSoon } : null,
  };
}

/** A switch given on the command line (`--jit` / `--no-jit`), or nothing: it then keeps its value. */
function switchSetting<K extends string>(key: K, on: boolean | undefined, off: boolean | undefined, flag: string): Partial<Record<K, boolean>> {
  if (on && off) throw new UsageError(`--${flag} and --no-${flag} exclude each other`);
  return on ? ({ [key]: true } as Record<K, boolean>) : off ? ({ [key]: false } as Record<K, boolean>) : {};
}

function subjectSetting(nameId: boolean | undefined, attribute: string | undefined): { subject?: SamlSubjectKey } {
  if (nameId && attribute !== undefined) throw new UsageError("--subject-nameid and --subject-attribute exclude each other");
  if (nameId) return { subject: { source: "nameId" } };
  if (attribute !== undefined) {
    if (!attribute.trim()) throw new UsageError("--subject-attribute needs an attribute NAME");
    return { subject: { source: "attribute", attribute } };
  }
  return {};
}

/** Attribute names given on the command line, over the current ones (or the defaults with --reset). */
function attributeSetting(before: SamlConnection | undefined, email: string | undefined, name: string | undefined, groups: string | undefined, reset: boolean) {
  if (email === undefined && name === undefined && groups === undefined) return {};
  for (const [flag, value] of [["email-attribute", email], ["name-attribute", name], ["groups-attribute", groups]] as const) {
    if (value !== undefined && !value.trim()) throw new UsageError(`--${flag} needs an attribute NAME`);
  }
  const current = reset || !before ? defaultSamlAttributes : before.attributes;
  return { attributes: { email: email ?? current.email, name: name ?? current.name, groups: groups ?? current.groups } };
}

/** What `saml configure` changed, one line per setting, for the operator to check. */
function connectionChanges(before: SamlConnection | undefined, after: SamlConnection): string[] {
  const show = (value: unknown) => (value === undefined ? "(none)" : typeof value === "boolean" ? onOff(value) : typeof value === "string" ? value : JSON.stringify(value));
  const rows: [string, unknown, unknown][] = [
    ["Identity provider", before?.idpEntityId, after.idpEntityId],
    ["SSO URL", before?.ssoUrl, after.ssoUrl],
    ["SLO URL", before?.sloUrl, after.sloUrl],
    ["Certificates", before ? before.certificates.length : undefined, after.certificates.length],
    ["Subject key", before && describeSubject(before.subject), describeSubject(after.subject)],
    ["Signatures", before?.signatures, after.signatures],
    ["Signed requests", before?.signAuthnRequests, after.signAuthnRequests],
    ["JIT", before?.jit, after.jit],
    ["Group sync", before?.groupSync, after.groupSync],
    ["IdP-initiated", before?.idpInitiated, after.idpInitiated],
    ["Email attribute", before?.attributes.email, after.attributes.email],
    ["Name attribute", before?.attributes.name, after.attributes.name],
    ["Groups attribute", before?.attributes.groups, after.attributes.groups],
  ];
  const certificatesChanged = before !== undefined && JSON.stringify(before.certificates) !== JSON.stringify(after.certificates);
  return rows
    .filter(([label, was, now]) => JSON.stringify(was) !== JSON.stringify(now) || (label === "Certificates" && certificatesChanged))
    .map(([label, was, now]) => `${label}: ${show(was)} → ${show(now)}`);
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
      jit: { type: "boolean" },
      "no-jit": { type: "boolean" },
      "group-sync": { type: "boolean" },
      "no-group-sync": { type: "boolean" },
      "idp-initiated": { type: "boolean" },
      "no-idp-initiated": { type: "boolean" },
      "sign-requests": { type: "boolean" },
      "no-sign-requests": { type: "boolean" },
      "subject-nameid": { type: "boolean" },
      "subject-attribute": { type: "string" },
      "email-attribute": { type: "string" },
      "name-attribute": { type: "string" },
      "groups-attribute": { type: "string" },
      reset: { type: "boolean" },
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
      const signatures = values.signatures;
      if (signatures !== undefined && !(SAML_SIGNATURE_REQUIREMENTS as readonly string[]).includes(signatures)) throw new UsageError(`--signatures must be ${SAML_SIGNATURE_REQUIREMENTS.join(", ")}`);
      const readFile = (file: string, what: string) => {
        try {
          return readFileSync(file, "utf8");
        } catch {
          throw new UsageError(`Cannot read ${what} file ${file}`);
        }
      };
      let identityProvider: { idpEntityId: string; ssoUrl: string; sloUrl?: string; certificates: readonly string[]; signAuthnRequests?: boolean };
      if (values["idp-metadata"] !== undefined) {
        identityProvider = parseIdentityProviderMetadata(readFile(values["idp-metadata"], "metadata"));
      } else {
        if (!values["entity-id"] || !values["sso-url"] || !values.cert?.length) {
          throw new UsageError("saml configure needs --idp-metadata FILE, or --entity-id, --sso-url and at least one --cert FILE");
        }
        identityProvider = { idpEntityId: values["entity-id"], ssoUrl: values["sso-url"], certificates: values.cert.map((file) => readFile(file, "certificate")) };
      }
      if (values["slo-url"] !== undefined) identityProvider = { ...identityProvider, sloUrl: values["slo-url"] };
      const before = await services.saml.get({ organizationId: org });
      // Settings not given keep their current value: re-importing metadata must not switch JIT off.
      const connection = await services.saml.configure(
        { ...ctx, organizationId: org },
        {
          ...identityProvider,
          ...switchSetting("jit", values.jit, values["no-jit"], "jit"),
          ...switchSetting("groupSync", values["group-sync"], values["no-group-sync"], "group-sync"),
          ...switchSetting("idpInitiated", values["idp-initiated"], values["no-idp-initiated"], "idp-initiated"),
          ...switchSetting("signAuthnRequests", values["sign-requests"], values["no-sign-requests"], "sign-requests"),
          ...(signatures !== undefined ? { signatures: signatures as SamlSignatureRequirement } : {}),
          ...subjectSetting(values["subject-nameid"], values["subject-attribute"]),
          ...attributeSetting(before, values["email-attribute"], values["name-attribute"], values["groups-attribute"], values.reset === true),
          ...(values.reset ? { reset: true } : {}),
        },
      );
      const summary = services.saml.summarize(org, connection);
      if (values.json) {
        out.push(JSON.stringify(presentSamlConnection(summary)));
        return { stdout: out, exitCode: 0 };
      }
      out.push(`SAML connection ${before ? "updated" : "configured"} for ${org}: ${connection.idpEntityId}`);
      const changes = connectionChanges(before, connection);
      out.push(...(changes.length ? ["Changed:", ...changes.map((line) => `  ${line}`)] : ["Nothing changed."]));
      out.push(...certificateWarnings(summary));
      return { stdout: out, exitCode: 0 };
    }
    case "saml show": {
      const org = await requireOrganization(services, values.org);
      const connection = await services.saml.get({ organizationId: org });
      if (!connection) {
        // The service provider's values come first: Okta asks for them before it gives its metadata.
        const sp = services.saml.serviceProviderOf(org);
        out.push(...(values.json ? [JSON.stringify({ configured: false, serviceProvider: presentServiceProvider(sp) })] : describeServiceProvider(sp, false)));
        return { stdout: out, exitCode: 0 };
      }
      const summary = services.saml.summarize(org, connection);
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
