import { X509Certificate } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import { derivedEventId, type AuditEvent } from "../domain/audit";
import type { Organizations } from "./organizations";
import { certificateStatus, CERTIFICATE_WARNING_DAYS, type SamlConnections } from "./saml-connections";

/** The audit action (and, through domain/directory-events.ts, the directory event `certificate.expiring`). */
export const certificateExpiringAction = "saml_connection.certificate_expiring";

/**
 * Notices the identity providers' signing certificates that expire within CERTIFICATE_WARNING_DAYS
 * (or have expired): one `saml_connection.certificate_expiring` event per certificate and
 * organization, ever — its id is derived from both, so every instance may look, as often as it
 * likes, and the trail keeps it once; the product's events and webhooks hear of it once too, or,
 * when two instances look at the very same moment, twice under the one id (at least once). Run by the
 * maintenance timer (main.ts); the access review flags the same certificates for as long as they last.
 */
export class CertificateWatch {
  constructor(
    private readonly organizations: Organizations,
    private readonly saml: SamlConnections,
    private readonly audit: AuditTrail,
  ) {}

  /** Records what is newly expiring; answers how many certificates were found expiring (new or not). */
  async look(now = new Date()): Promise<number> {
    let expiring = 0;
    for (const organization of await this.organizations.list()) {
      const connection = await this.saml.get({ organizationId: organization.id });
      const events: AuditEvent[] = [];
      for (const pem of connection?.certificates ?? []) {
        const status = certificateStatus(pem, now);
        if (!status.expiresSoon) continue;
        expiring++;
        const fingerprint = new X509Certificate(pem).fingerprint256;
        events.push({
          id: derivedEventId(certificateExpiringAction, organization.id, fingerprint),
          organizationId: organization.id,
          at: now,
          actor: { type: "system", id: "maintenance", name: "Gatehouse maintenance" },
          source: "system",
          action: certificateExpiringAction,
          target: { type: "saml_connection", id: organization.id, display: status.subject },
          requestId: "maintenance",
          after: { subject: status.subject, validTo: status.validTo.toISOString(), fingerprint },
          reason: `the identity provider's signing certificate ${status.validTo.getTime() <= now.getTime() ? "has expired" : `expires within ${CERTIFICATE_WARNING_DAYS} days`}: add its successor to the SAML connection before ${status.validTo.toISOString()}`,
        });
      }
      // An event already in the trail (noticed before) is not recorded or published again.
      if (events.length) await this.audit.appendAbsent(events);
    }
    return expiring;
  }
}
