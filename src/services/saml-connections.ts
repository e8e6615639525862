import { X509Certificate } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { defaultSamlAttributes, defaultSamlSignatures, defaultSamlSubject, SAML_SIGNATURE_REQUIREMENTS, serviceProviderUrls, type SamlConnection, type SamlSubjectKey } from "../domain/saml";
import { InvalidError, NotFoundError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";

export interface CertificateStatus {
  subject: string;
  validTo: Date;
  /** Within 30 days of expiry (or expired): rotate it before logins start failing. */
  expiresSoon: boolean;
}

/** What a connection is configured from: the identity provider's values, and the settings that differ from the current ones. */
export type SamlConnectionInput = Pick<SamlConnection, "idpEntityId" | "ssoUrl" | "certificates" | "sloUrl"> &
  Partial<Pick<SamlConnection, "jit" | "groupSync" | "idpInitiated" | "signatures" | "subject" | "signAuthnRequests">> & {
    readonly attributes?: Partial<SamlConnection["attributes"]>;
    /** Recorded with the audit event. */
    readonly reason?: string;
    /** Settings left out take their defaults instead of keeping their current values (`saml configure --reset`). */
    readonly reset?: boolean;
  };

/** The service provider's side of an organization's SAML set-up: there before any identity provider is configured. */
export interface ServiceProviderSummary {
  readonly serviceProvider: ReturnType<typeof serviceProviderUrls>;
  /** Gatehouse's own signing certificate (SAML_SP_CERT_FILE), when it has a key. */
  readonly serviceProviderCertificate?: CertificateStatus;
}

/** A connection as administrators read it: with the service provider's URLs and each certificate's expiry. */
export interface SamlConnectionSummary {
  readonly connection: SamlConnection;
  readonly serviceProvider: ReturnType<typeof serviceProviderUrls>;
  /** In the order of `connection.certificates`. */
  readonly certificates: readonly CertificateStatus[];
  /** Some certificate expires within 30 days or has expired. */
  readonly certificateExpiresSoon: boolean;
  /** Gatehouse's own signing certificate (SAML_SP_CERT_FILE), when single logout requests are signed. */
  readonly serviceProviderCertificate?: CertificateStatus;
}

/** How close to its end a signing certificate is flagged (in the CLI, the admin API and the access review). */
export const CERTIFICATE_WARNING_DAYS = 30;
const soonMs = CERTIFICATE_WARNING_DAYS * 86_400_000;

/** Subject and expiry of a PEM certificate at `now`; InvalidError when it is not one. */
export function certificateStatus(pem: string, now: Date): CertificateStatus {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new InvalidError("A signing certificate is not a PEM X.509 certificate");
  }
  const validTo = new Date(certificate.validTo);
  return { subject: certificate.subject.replace(/\n/g, ", "), validTo, expiresSoon: validTo.getTime() - now.getTime() < soonMs };
}

/** Where the browser may be sent to the identity provider: https, or plain http on this machine only (development). */
function isIdentityProviderUrl(url: string): boolean {
  return /^https:\/\/\S+$/.test(url) || /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\//.test(url);
}

/** The subject key as stored: an attribute key names its attribute (trimmed, at most 256 characters). */
function checkedSubject(subject: SamlSubjectKey): SamlSubjectKey {
  if (subject.source === "nameId") return { source: "nameId" };
  if (subject.source === "attribute") {
    const attribute = typeof subject.attribute === "string" ? subject.attribute.trim() : "";
    if (!attribute || attribute.length > 256) throw new InvalidError("The subject attribute must name an assertion attribute (1 to 256 characters)");
    return { source: "attribute", attribute };
  }
  throw new InvalidError('The subject key must be {"source":"nameId"} or {"source":"attribute","attribute":NAME}');
}

/** One SAML connection per organization: configured by administrators or the CLI, audited. */
export class SamlConnections {
  constructor(
    private readonly organizations: OrganizationStore,
    private readonly audit: AuditTrail,
    private readonly serviceProvider: { publicBaseUrl: string; certificate?: string },
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(ctx: Pick<RequestContext, "organizationId">): Promise<SamlConnection | undefined> {
    return this.organizations.samlConnection(ctx.organizationId);
  }

  /**
   * The values an identity provider asks for before it hands out its own metadata (Okta's "Single
   * sign-on URL" and "Audience URI"): they depend on the organization only, not on a connection.
   */
  serviceProviderOf(organizationId: string): ServiceProviderSummary {
    return {
      serviceProvider: serviceProviderUrls(this.serviceProvider.publicBaseUrl, organizationId),
      ...(this.serviceProvider.certificate ? { serviceProviderCertificate: this.status(this.serviceProvider.certificate) } : {}),
    };
  }

  /** The connection with the service provider's URLs and certificate expiries; NotFoundError when there is none. */
  async summary(ctx: Pick<RequestContext, "organizationId">): Promise<SamlConnectionSummary> {
    const connection = await this.get(ctx);
    if (!connection) throw new NotFoundError(`No SAML connection is configured for organization ${ctx.organizationId}`);
    return this.summarize(ctx.organizationId, connection);
  }

  summarize(organizationId: string, connection: SamlConnection): SamlConnectionSummary {
    const certificates = connection.certificates.map((pem) => this.status(pem));
    return {
      connection,
      ...this.serviceProviderOf(organizationId),
      certificates,
      certificateExpiresSoon: certificates.some((c) => c.expiresSoon),
    };
  }

  /**
   * Creates or replaces the organization's connection. The identity provider's entity id, SSO URL,
   * SLO URL and certificates are always given whole (a rotation lists the old and the new
   * certificate; no SLO URL means the identity provider has none);
   * settings left out keep their current value, or take their default on a new connection (or with
   * `reset`), so re-importing an identity provider's metadata never switches JIT or group sync off
   * by accident. An identity provider that wants signed AuthnRequests is refused while Gatehouse
   * has no key to sign them with: it would refuse every sign-in.
   */
  async configure(ctx: RequestContext, input: SamlConnectionInput): Promise<SamlConnection> {
    if (!(await this.organizations.findById(ctx.organizationId))) throw new NotFoundError(`No organization ${ctx.organizationId}`);
    if (!input.idpEntityId.trim()) throw new InvalidError("The identity provider's entity id is required");
    if (!isIdentityProviderUrl(input.ssoUrl)) throw new InvalidError("The SSO URL must be an https:// URL");
    if (input.sloUrl !== undefined && !isIdentityProviderUrl(input.sloUrl)) throw new InvalidError("The SLO URL must be an https:// URL");
    if (!input.certificates.length) throw new InvalidError("At least one signing certificate is required");
    if (input.signatures !== undefined && !SAML_SIGNATURE_REQUIREMENTS.includes(input.signatures)) {
      throw new InvalidError(`The signature requirement must be one of ${SAML_SIGNATURE_REQUIREMENTS.join(", ")}`);
    }
    const subject = input.subject && checkedSubject(input.subject);
    for (const pem of input.certificates) this.status(pem);
    if (input.signAuthnRequests && !this.serviceProvider.certificate) {
      throw new InvalidError(
        'The identity provider wants signed AuthnRequests (WantAuthnRequestsSigned="true") and Gatehouse has no signing key: set SAML_SP_KEY_FILE and SAML_SP_CERT_FILE (an RSA key of 2048 bits or more and its certificate) and restart, or turn off signed requests at the identity provider',
      );
    }
    const current = await this.get(ctx);
    const before = input.reset ? undefined : current;
    const connection: SamlConnection = {
      idpEntityId: input.idpEntityId.trim(),
      ssoUrl: input.ssoUrl,
      ...(input.sloUrl !== undefined ? { sloUrl: input.sloUrl } : {}),
      certificates: [...new Set(input.certificates.map((c) => c.trim()))],
      jit: input.jit ?? before?.jit ?? false,
      groupSync: input.groupSync ?? before?.groupSync ?? false,
      idpInitiated: input.idpInitiated ?? before?.idpInitiated ?? false,
      attributes: input.attributes ? { ...defaultSamlAttributes, ...input.attributes } : (before?.attributes ?? { ...defaultSamlAttributes }),
      signatures: input.signatures ?? before?.signatures ?? defaultSamlSignatures,
      subject: subject ?? before?.subject ?? defaultSamlSubject,
      signAuthnRequests: input.signAuthnRequests ?? before?.signAuthnRequests ?? false,
    };
    await this.organizations.setSamlConnection(
      ctx.organizationId,
      connection,
      this.audit.event(ctx, {
        action: "saml_connection.configured",
        target: { type: "organization", id: ctx.organizationId },
        before: this.auditSnapshot(current),
        after: this.auditSnapshot(connection),
        ...(input.reason ? { reason: input.reason } : {}),
      }),
    );
    return connection;
  }

  /** Removes the connection: SAML sign-in to the organization stops. NotFoundError when there is none. */
  async remove(ctx: RequestContext, reason?: string): Promise<void> {
    const before = await this.get(ctx);
    if (!before) throw new NotFoundError(`No SAML connection is configured for organization ${ctx.organizationId}`);
    await this.organizations.removeSamlConnection(
      ctx.organizationId,
      this.audit.event(ctx, {
        action: "saml_connection.removed",
        target: { type: "organization", id: ctx.organizationId },
        before: this.auditSnapshot(before),
        ...(reason ? { reason } : {}),
      }),
    );
  }

  /** Subject and expiry of a PEM certificate; InvalidError when it is not one. */
  status(pem: string): CertificateStatus {
    return certificateStatus(pem, this.now());
  }

  /** The connection as the audit trail keeps it: certificates by subject and expiry rather than whole PEM blocks. */
  private auditSnapshot(connection: SamlConnection | undefined) {
    return connection && { ...connection, certificates: connection.certificates.map((pem) => this.status(pem)) };
  }
}
