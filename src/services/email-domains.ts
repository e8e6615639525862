import { domainToASCII } from "node:url";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { InvalidError, NotFoundError } from "../errors";
import type { EmailDomainStore, StoredEmailDomain } from "../storage/sign-in";

type Scope = Pick<RequestContext, "organizationId">;

/**
 * Mailbox providers anyone can have an address at: declaring one would send every person with such
 * an address to one organization's identity provider, so they are refused.
 */
const PUBLIC_MAIL_DOMAINS = new Set([
  "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "icloud.com", "me.com",
  "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com",
  "yandex.ru", "zoho.com", "fastmail.com", "hey.com", "qq.com", "163.com",
]);

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A domain as it is stored and compared: trimmed, lower-cased, without a trailing dot, and an
 * internationalized name in its ASCII form (`bücher.example` → `xn--bcher-kva.example`, RFC 5891),
 * so the same domain written two ways is one key. InvalidError for anything that is not a
 * registrable-looking host name: at least two labels of letters, digits and hyphens, a TLD that is
 * not all digits (no IP addresses), at most 253 characters.
 */
export function normalizeEmailDomain(input: string): string {
  const trimmed = input.trim().toLowerCase().replace(/\.$/, "");
  const ascii = /^[\x21-\x7e]*$/.test(trimmed) ? trimmed : domainToASCII(trimmed);
  const labels = ascii.split(".");
  if (!ascii || ascii.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels[labels.length - 1]!)) {
    throw new InvalidError(`"${input}" is not a domain name such as example.com`);
  }
  if (PUBLIC_MAIL_DOMAINS.has(ascii)) throw new InvalidError(`${ascii} is a public mailbox provider: anyone can have an address there, so it cannot lead to one organization`);
  return ascii;
}

/** The domain part of an email address, normalized; undefined when it is not an address. */
export function domainOfEmail(email: string): string | undefined {
  const at = email.trim().lastIndexOf("@");
  if (at <= 0) return undefined;
  try {
    return normalizeEmailDomain(email.trim().slice(at + 1));
  } catch {
    return undefined;
  }
}

/**
 * The email domains organizations declare, so that a person signing in with a work address is sent
 * to their organization's identity provider (services/sign-in-discovery.ts). A domain belongs to
 * one organization: the first to declare it. Declaring and removing are audited
 * (`email_domain.added`, `email_domain.removed`).
 *
 * Nothing proves the organization owns the domain (no DNS check): only administrators and the
 * operator declare them, and the worst a false claim does is show another company's people the
 * claimant's sign-in page, where their identity provider does not know them.
 */
export class EmailDomains {
  constructor(
    private readonly store: EmailDomainStore,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async add(ctx: RequestContext, input: string): Promise<StoredEmailDomain> {
    const domain: StoredEmailDomain = { domain: normalizeEmailDomain(input), organizationId: ctx.organizationId, created: this.now() };
    await this.store.insert(domain, this.audit.event(ctx, { action: "email_domain.added", target: { type: "email_domain", id: domain.domain, display: domain.domain }, after: domain }));
    return domain;
  }

  list(ctx: Scope): Promise<StoredEmailDomain[]> {
    return this.store.listFor(ctx.organizationId);
  }

  /** Removes one of the organization's domains; NotFoundError when it has no such domain (another organization's included). */
  async remove(ctx: RequestContext, input: string): Promise<void> {
    let domain: string;
    try {
      domain = normalizeEmailDomain(input);
    } catch {
      throw new NotFoundError(`The organization has no email domain ${input}`);
    }
    const stored = await this.store.find(domain);
    if (!stored || stored.organizationId !== ctx.organizationId) throw new NotFoundError(`The organization has no email domain ${domain}`);
    if (!(await this.store.delete(domain, ctx.organizationId))) throw new NotFoundError(`The organization has no email domain ${domain}`);
    await this.audit.record(ctx, { action: "email_domain.removed", target: { type: "email_domain", id: domain, display: domain }, before: stored });
  }

  /** The organization that declared the domain of this address, if any: one `_id` read. */
  async organizationFor(email: string): Promise<string | undefined> {
    const domain = domainOfEmail(email);
    return domain ? (await this.store.find(domain))?.organizationId : undefined;
  }
}
