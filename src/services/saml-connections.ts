import { X509Certificate } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { defaultSamlAttributes, type SamlConnection } from "../domain/saml";
import { InvalidError, NotFoundError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";

export interface CertificateStatus {
  subject: string;
  validTo: Date;
  /** Within 30 days of expiry (or expired): rotate it before logins start failing. */
  expiresSoon: boolean;
}

const soonMs = 30 * 86_400_000;

/** One SAML connection per organization: configured by administrators or the CLI, audited. */
export class SamlConnections {
  constructor(
    private readonly organizations: OrganizationStore,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(ctx: Pick<RequestContext, "organizationId">): Promise<SamlConnection | undefined> {
    return this.organizations.samlConnection(ctx.organizationId);
  }

  async configure(
    ctx: RequestContext,
    input: Omit<SamlConnection, "jit" | "groupSync" | "idpInitiated" | "attributes"> & Partial<Pick<SamlConnection, "jit" | "groupSync" | "idpInitiated" | "attributes">>,
  ): Promise<SamlConnection> {
    if (!(await this.organizations.findById(ctx.organizationId))) throw new NotFoundError(`No organization ${ctx.organizationId}`);
    if (!input.idpEntityId.trim()) throw new InvalidError("The identity provider's entity id is required");
    if (!/^https:\/\/\S+$/.test(input.ssoUrl) && !/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\//.test(input.ssoUrl)) {
      throw new InvalidError("The SSO URL must be an https:// URL");
    }
    if (!input.certificates.length) throw new InvalidError("At least one signing certificate is required");
    for (const pem of input.certificates) this.status(pem);
    const connection: SamlConnection = {
      idpEntityId: input.idpEntityId.trim(),
      ssoUrl: input.ssoUrl,
      certificates: input.certificates.map((c) => c.trim()),
      jit: input.jit ?? false,
      groupSync: input.groupSync ?? false,
      idpInitiated: input.idpInitiated ?? false,
      attributes: { ...defaultSamlAttributes, ...(input.attributes ?? {}) },
    };
    const before = await this.get(ctx);
    const summary = (c?: SamlConnection) => c && { ...c, certificates: c.certificates.map((pem) => this.status(pem)) };
    await this.organizations.setSamlConnection(
      ctx.organizationId,
      connection,
      this.audit.event(ctx, { action: "saml_connection.configured", target: { type: "organization", id: ctx.organizationId }, before: summary(before), after: summary(connection) }),
    );
    return connection;
  }

  /** Subject and expiry of a PEM certificate; InvalidError when it is not one. */
  status(pem: string): CertificateStatus {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      throw new InvalidError("A signing certificate is not a PEM X.509 certificate");
    }
    const validTo = new Date(certificate.validTo);
    return { subject: certificate.subject.replace(/\n/g, ", "), validTo, expiresSoon: validTo.getTime() - this.now().getTime() < soonMs };
  }
}
