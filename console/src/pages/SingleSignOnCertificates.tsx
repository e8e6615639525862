import { Badge, formatTime } from "../components/ui";
import type { Schemas } from "../api/client";

type Connection = Schemas["SamlConnection"];
interface CertificateExpiry {
  subject: string;
  validTo: string;
  expiresSoon: boolean;
}

const DAY_MS = 86_400_000;

/**
 * How long a certificate has left, in days, read against this browser's clock: "expires in 12
 * days", "expires today", "expired 3 days ago". Whether to warn is the server's judgement
 * (`expiresSoon`: within its warning window of 30 days, or expired), never recomputed here.
 */
export function expiryWords(validTo: string, now = Date.now()): { expired: boolean; words: string } {
  const left = new Date(validTo).getTime() - now;
  if (left <= 0) {
    const ago = Math.floor(-left / DAY_MS);
    return { expired: true, words: ago === 0 ? "expired today" : `expired ${ago} day${ago === 1 ? "" : "s"} ago` };
  }
  const days = Math.ceil(left / DAY_MS);
  return { expired: false, words: days <= 1 ? "expires within a day" : `expires in ${days} days` };
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The badge beside a certificate the server flags: how many days remain, or how long ago it expired. */
export function CertificateExpiryBadge({ certificate }: { certificate: CertificateExpiry }) {
  if (!certificate.expiresSoon) return null;
  const { expired, words } = expiryWords(certificate.validTo);
  return <Badge tone={expired ? "danger" : "warning"}>{capitalized(words)}</Badge>;
}

/**
 * The warning at the top of the Single sign-on page while a signing certificate is within the
 * server's warning window or has expired: the identity provider's (sign-in fails once it signs with
 * a certificate Gatehouse does not have, or its certificate lapses) and Gatehouse's own (single
 * logout messages).
 */
export function CertificateExpiryNotice({ connection }: { connection: Connection }) {
  const identityProvider = connection.certificates.filter((c) => c.expiresSoon);
  const own = connection.serviceProvider.signingCertificate?.expiresSoon ? connection.serviceProvider.signingCertificate : null;
  if (!identityProvider.length && !own) return null;
  return (
    <div className="notice notice-warning" role="alert">
      <p>
        <strong>Certificate expiry</strong>
      </p>
      <ul>
        {identityProvider.map((certificate) => (
          <li key={certificate.pem}>
            The identity provider's signing certificate {certificate.subject} {expiryWords(certificate.validTo).words} ({formatTime(certificate.validTo)}). Add its successor from the identity
            provider's metadata below before then: once it signs with a certificate Gatehouse does not have, sign-in fails.
          </li>
        ))}
        {own ? (
          <li>
            Gatehouse's own signing certificate {own.subject} {expiryWords(own.validTo).words} ({formatTime(own.validTo)}). Replace SAML_SP_CERT_FILE and give the identity provider the new
            metadata.
          </li>
        ) : null}
      </ul>
    </div>
  );
}
