import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { presentSamlConnection } from "../admin/presenters";
import { defaultSamlAttributes, SAML_SIGNATURE_REQUIREMENTS, type SamlConnection, type SamlSignatureRequirement, type SamlSubjectKey } from "../domain/saml";
import { parseIdentityProviderMetadata } from "../saml/idp-metadata";
import type { Services } from "../services";
import type { SamlConnectionSummary, ServiceProviderSummary } from "../services/saml-connections";
import { requireOrganization, withOrganization } from "./organizations";
import { collect, nonBlank, oneOf, runs, switchOption, table, UsageError, type OperatorContext } from "./program";

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
  return subject.source === "nameId" ? "NameID, matched against userName (ASCII case ignored for email addresses only)" : `attribute ${subject.attribute}, matched exactly against externalId`;
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
function switchSetting<K extends string>(key: K, value: boolean | undefined): Partial<Record<K, boolean>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, boolean>);
}

function subjectSetting(nameId: boolean | undefined, attribute: string | undefined): { subject?: SamlSubjectKey } {
  if (nameId) return { subject: { source: "nameId" } };
  if (attribute !== undefined) return { subject: { source: "attribute", attribute } };
  return {};
}

/** Attribute names given on the command line, over the current ones (or the defaults with --reset). */
function attributeSetting(before: SamlConnection | undefined, email: string | undefined, name: string | undefined, groups: string | undefined, reset: boolean) {
  if (email === undefined && name === undefined && groups === undefined) return {};
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

interface SamlConfigureOptions {
  org: string;
  idpMetadata?: string;
  entityId?: string;
  ssoUrl?: string;
  cert?: string[];
  sloUrl?: string;
  jit?: boolean;
  groupSync?: boolean;
  idpInitiated?: boolean;
  signRequests?: boolean;
  signatures?: SamlSignatureRequirement;
  subjectNameid?: boolean;
  subjectAttribute?: string;
  emailAttribute?: string;
  nameAttribute?: string;
  groupsAttribute?: string;
  reset?: boolean;
  json?: boolean;
}

function readFile(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`Cannot read ${what} file ${file}`);
  }
}

/**
 * `saml configure`: the organization's identity provider from its metadata or its values. Settings
 * not given keep their current value (re-importing metadata must not switch JIT off); with --reset
 * they start from the defaults. Prints what changed.
 */
async function configureSaml(services: Services, ctx: OperatorContext, options: SamlConfigureOptions): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  let identityProvider: { idpEntityId: string; ssoUrl: string; sloUrl?: string; certificates: readonly string[]; signAuthnRequests?: boolean };
  if (options.idpMetadata !== undefined) {
    identityProvider = parseIdentityProviderMetadata(readFile(options.idpMetadata, "metadata"));
  } else {
    if (!options.entityId || !options.ssoUrl || !options.cert?.length) {
      throw new UsageError("saml configure needs --idp-metadata FILE, or --entity-id, --sso-url and at least one --cert FILE");
    }
    identityProvider = { idpEntityId: options.entityId, ssoUrl: options.ssoUrl, certificates: options.cert.map((file) => readFile(file, "certificate")) };
  }
  if (options.sloUrl !== undefined) identityProvider = { ...identityProvider, sloUrl: options.sloUrl };
  const before = await services.saml.get({ organizationId: org });
  const connection = await services.saml.configure(
    { ...ctx, organizationId: org },
    {
      ...identityProvider,
      ...switchSetting("jit", options.jit),
      ...switchSetting("groupSync", options.groupSync),
      ...switchSetting("idpInitiated", options.idpInitiated),
      ...switchSetting("signAuthnRequests", options.signRequests),
      ...(options.signatures !== undefined ? { signatures: options.signatures } : {}),
      ...subjectSetting(options.subjectNameid, options.subjectAttribute),
      ...attributeSetting(before, options.emailAttribute, options.nameAttribute, options.groupsAttribute, options.reset === true),
      ...(options.reset ? { reset: true } : {}),
    },
  );
  const summary = services.saml.summarize(org, connection);
  if (options.json) return [JSON.stringify(presentSamlConnection(summary))];
  const changes = connectionChanges(before, connection);
  return [
    `SAML connection ${before ? "updated" : "configured"} for ${org}: ${connection.idpEntityId}`,
    ...(changes.length ? ["Changed:", ...changes.map((line) => `  ${line}`)] : ["Nothing changed."]),
    ...certificateWarnings(summary),
  ];
}

async function showSaml(services: Services, _ctx: OperatorContext, options: { org: string; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const connection = await services.saml.get({ organizationId: org });
  if (!connection) {
    // The service provider's values come first: Okta asks for them before it gives its metadata.
    const sp = services.saml.serviceProviderOf(org);
    return options.json ? [JSON.stringify({ configured: false, serviceProvider: presentServiceProvider(sp) })] : describeServiceProvider(sp, false);
  }
  const summary = services.saml.summarize(org, connection);
  return options.json ? [JSON.stringify(presentSamlConnection(summary))] : describeSamlConnection(summary);
}

async function removeSaml(services: Services, ctx: OperatorContext, options: { org: string; reason?: string }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  await services.saml.remove({ ...ctx, organizationId: org }, options.reason);
  return [`Removed the SAML connection of ${org}: sign-in through it stops now.`];
}

export function samlCommands(program: Command): void {
  const saml = program.command("saml").description("The organization's SAML 2.0 connection to its identity provider.");

  const configure = withOrganization(saml.command("configure"))
    .usage(
      "--org ID (--idp-metadata FILE | --entity-id ID --sso-url URL --cert FILE [--cert FILE2 ...]) [--slo-url URL] [--jit|--no-jit] [--group-sync|--no-group-sync] [--idp-initiated|--no-idp-initiated] [--sign-requests|--no-sign-requests] [--signatures assertion|response|both] [--subject-nameid | --subject-attribute NAME] [--email-attribute NAME] [--name-attribute NAME] [--groups-attribute NAME] [--reset] [--json]",
    )
    .summary(
      "the organization's SAML identity provider, from its metadata XML or from its values (certificates in PEM). Settings not given keep their current value (defaults on a new connection; with --reset, all defaults); prints what changed",
    )
    .description(
      "Configures the organization's SAML identity provider, from its metadata XML or from its values (certificates in PEM). Settings not given keep their current value (the defaults on a new connection; with --reset, all defaults); prints what changed, or with --json the connection as GET /api/v1/saml-connection shows it. The subject key is the NameID matched against userName (the default), or --subject-attribute NAME matched against externalId.",
    )
    .addOption(new Option("--idp-metadata <FILE>", "the identity provider's metadata XML (Okta, Entra ID federation metadata)").conflicts(["entityId", "ssoUrl", "cert"]))
    .option("--entity-id <ID>", "the identity provider's entity id (without --idp-metadata)")
    .option("--sso-url <URL>", "its single sign-on URL, HTTP-Redirect (without --idp-metadata)")
    .option("--cert <FILE>", "its signing certificate in PEM (without --idp-metadata; repeat it during a rotation)", collect)
    .option("--slo-url <URL>", "its single logout URL (HTTP-Redirect); overrides the metadata's");
  switchOption(configure, "jit", "create unknown users at their first sign-in", "do not create users at sign-in (SCIM provisions them)");
  switchOption(configure, "group-sync", "set group memberships from the assertion's groups at each sign-in", "leave group memberships to SCIM");
  switchOption(configure, "idp-initiated", "accept sign-ins the identity provider starts (not bound to a browser: login CSRF is possible)", "accept only sign-ins started at Gatehouse");
  switchOption(configure, "sign-requests", "sign AuthnRequests with the service provider's key", "send AuthnRequests unsigned");
  configure
    .addOption(oneOf("--signatures <WHICH>", "what the identity provider must sign (default assertion)", SAML_SIGNATURE_REQUIREMENTS))
    .addOption(new Option("--subject-nameid", "the subject key is the NameID, matched against userName (the default)").conflicts("subjectAttribute"))
    .addOption(new Option("--subject-attribute <NAME>", "the subject key is this attribute, matched exactly against externalId").argParser(nonBlank("an attribute NAME")))
    .addOption(new Option("--email-attribute <NAME>", `the attribute with the email address (default ${defaultSamlAttributes.email})`).argParser(nonBlank("an attribute NAME")))
    .addOption(new Option("--name-attribute <NAME>", `the attribute with the display name (default ${defaultSamlAttributes.name})`).argParser(nonBlank("an attribute NAME")))
    .addOption(new Option("--groups-attribute <NAME>", `the attribute with the groups (default ${defaultSamlAttributes.groups})`).argParser(nonBlank("an attribute NAME")))
    .option("--reset", "start from the defaults instead of the current settings")
    .option("--json", "print the connection as JSON");
  runs(configure, configureSaml);

  runs(
    withOrganization(saml.command("show"))
      .summary("the URLs to give the identity provider (also before any connection exists), then the connection and each certificate's expiry")
      .description(
        "The URLs to give the identity provider (also before any connection exists), then the connection — subject key, switches, attributes — and each certificate's subject and expiry, with a warning for one that expires within 30 days.",
      )
      .option("--json", 'print the connection as JSON (before any: {"configured": false, "serviceProvider": {…}})'),
    showSaml,
  );
  runs(
    withOrganization(saml.command("remove"))
      .summary("removes the SAML connection: sign-in through it stops at once (open sessions are not ended; see sign-out-everywhere)")
      .description("Removes the SAML connection, audited as saml_connection.removed: sign-in through it stops at once. Open sessions are not ended (sign the people out everywhere for that).")
      .option("--reason <TEXT>", "why, recorded in the audit trail"),
    removeSaml,
  );
}
