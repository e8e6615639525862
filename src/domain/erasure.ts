import { createHmac } from "node:crypto";
import type { AuditEvent } from "./audit";

/**
 * Erasing a deleted member's personal data from the audit trail (issue 13 §3, GDPR Art. 17): every
 * name, email, userName and identifier of theirs becomes one stable pseudonym, while each event
 * keeps its time, action, source, request and shape — the trail still counts the same events, and
 * still shows that the same (now pseudonymous) person did them. Pure, so the rewriting is tested
 * without a database.
 */

/** The pseudonym of a member: `erased-` and 16 hex digits of an HMAC of their id under the organization's secret. */
export function pseudonymOf(userId: string, organizationSecret: string): string {
  return `erased-${createHmac("sha256", organizationSecret).update(userId).digest("hex").slice(0, 16)}`;
}

/** The parts of an event (stored or not) that may hold personal data. */
export interface ErasableEvent {
  readonly actor: { readonly type: string; readonly id: string; readonly name: string };
  readonly target: { readonly type: string; readonly id: string; readonly display?: string };
  readonly before?: unknown;
  readonly after?: unknown;
  readonly reason?: string;
  /** A derived event's cause (`user.access_changed`): its target names the member too. */
  readonly cause?: unknown;
}

/** What identifies the member in the trail, as read from the events about them. */
export interface MemberIdentifiers {
  readonly userId: string;
  /** Unique to the member: userName, emails, externalId (replaced wherever they appear). */
  readonly unique: readonly string[];
  /** Names (display, given, family, formatted, nickname): replaced in events that concern the member. */
  readonly names: readonly string[];
  /** Every userName the trail recorded (the confirmation must name one). */
  readonly userNames: readonly string[];
}

/** Object keys whose values are personal wherever they sit in an event that concerns the member. */
const PERSONAL_KEYS = new Set(["ip", "userAgent", "phoneNumbers", "addresses", "photos", "ims", "profileUrl", "x509Certificates", "employeeNumber", "manager"]);

const text = (value: unknown): string | undefined => (typeof value === "string" && value.trim() ? value.trim() : undefined);

/** Reads the member's identifiers from events about them (their own snapshots, the names they acted under). */
export function identifiersOf(userId: string, events: readonly AuditEvent[]): MemberIdentifiers {
  const unique = new Set<string>();
  const names = new Set<string>();
  const userNames = new Set<string>();
  const profile = (value: unknown) => {
    if (!value || typeof value !== "object") return;
    const p = value as Record<string, unknown>;
    const userName = text(p.userName);
    if (userName) (unique.add(userName), userNames.add(userName));
    const externalId = text(p.externalId);
    if (externalId) unique.add(externalId);
    for (const email of Array.isArray(p.emails) ? p.emails : []) {
      const value = text((email as { value?: unknown } | null)?.value);
      if (value) unique.add(value);
    }
    for (const key of ["displayName", "nickName"]) {
      const value = text(p[key]);
      if (value) names.add(value);
    }
    const name = p.name as Record<string, unknown> | undefined;
    if (name && typeof name === "object") {
      for (const key of ["formatted", "givenName", "familyName", "middleName"]) {
        const value = text(name[key]);
        if (value) names.add(value);
      }
    }
  };
  for (const event of events) {
    if (event.actor.id === userId) {
      const name = text(event.actor.name);
      if (name) (unique.add(name), userNames.add(name));
    }
    if (event.target.id === userId) {
      const display = text(event.target.display);
      if (display) (unique.add(display), userNames.add(display));
      if (event.target.type === "user") (profile(event.before), profile(event.after));
    }
  }
  // A name that is also a unique identifier is replaced everywhere anyway.
  for (const value of unique) names.delete(value);
  return { userId, unique: [...unique], names: [...names], userNames: [...userNames] };
}

const escape = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Whole words only (not inside another word or address), ignoring case; longest first, so "Ada Lovelace" goes before "Ada". */
function pattern(values: readonly string[]): RegExp | undefined {
  const sorted = [...new Set(values)].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
  if (!sorted.length) return undefined;
  return new RegExp(`(?<![\\p{L}\\p{N}_.@-])(?:${sorted.map(escape).join("|")})(?![\\p{L}\\p{N}_@-]|\\.[\\p{L}\\p{N}])`, "giu");
}

/**
 * Rewrites one event, or answers undefined when nothing in it is the member's. The member's id and
 * unique identifiers are replaced wherever they appear; names and personal values (IP address, user
 * agent, phone numbers, addresses …) only in events that concern the member — their id or a unique
 * identifier appears in the event — so another person who shares a first name is left alone.
 */
export class PersonalDataEraser {
  private readonly unique: RegExp | undefined;
  private readonly all: RegExp | undefined;

  constructor(
    private readonly identifiers: MemberIdentifiers,
    readonly pseudonym: string,
  ) {
    this.unique = pattern([identifiers.userId, ...identifiers.unique]);
    this.all = pattern([identifiers.userId, ...identifiers.unique, ...identifiers.names]);
  }

  /** Whether the event mentions the member by id or a unique identifier. */
  concerns(event: ErasableEvent): boolean {
    if (event.actor.id === this.identifiers.userId || event.target.id === this.identifiers.userId) return true;
    if (!this.unique) return false;
    const unique = this.unique;
    const found = (value: unknown): boolean => {
      if (typeof value === "string") {
        unique.lastIndex = 0;
        return unique.test(value);
      }
      if (Array.isArray(value)) return value.some(found);
      if (value && typeof value === "object") return Object.values(value).some(found);
      return false;
    };
    return found([event.actor.name, event.target.display, event.before, event.after, event.reason, event.cause]);
  }

  /** A text of the member's own (a token's name): their id, identifiers and names replaced. */
  text(value: string): string {
    return value === this.identifiers.userId ? this.pseudonym : this.all ? value.replace(this.all, this.pseudonym) : value;
  }

  /** The event with the member's personal data replaced; undefined when it holds none. */
  rewrite<E extends ErasableEvent>(event: E): E | undefined {
    if (!this.concerns(event)) return undefined;
    const replace = (value: string): string => this.text(value);
    const deep = (value: unknown, personal: boolean): unknown => {
      if (typeof value === "string") return personal ? this.pseudonym : replace(value);
      if (Array.isArray(value)) return value.map((item) => deep(item, personal));
      if (value && typeof value === "object" && !(value instanceof Date)) {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, deep(item, personal || PERSONAL_KEYS.has(key))]));
      }
      return value;
    };
    const rewritten: E = {
      ...event,
      actor: { ...event.actor, id: replace(event.actor.id), name: replace(event.actor.name) },
      target: { ...event.target, id: replace(event.target.id), ...(event.target.display !== undefined ? { display: replace(event.target.display) } : {}) },
      ...(event.before !== undefined ? { before: deep(event.before, false) } : {}),
      ...(event.after !== undefined ? { after: deep(event.after, false) } : {}),
      ...(event.reason !== undefined ? { reason: replace(event.reason) } : {}),
      ...(event.cause !== undefined ? { cause: deep(event.cause, false) } : {}),
    };
    return JSON.stringify(rewritten) === JSON.stringify(event) ? undefined : rewritten;
  }
}
