import { randomBytes, randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { isDirectoryEventType, type DirectoryEventType } from "../domain/directory-events";
import { InvalidError, NotFoundError } from "../errors";
import type { DirectoryEventLog } from "../storage/directory-events";
import { deliveryLogSize, type DeliveryLogEntry, type WebhookEndpointDocument, type WebhookStore } from "../storage/webhooks";
import { checkWebhookUrl, type OutboundPolicy, type WebhookSender } from "./webhook-sender";

type Scope = Pick<RequestContext, "organizationId">;

/**
 * When a failed attempt is tried again, and for how long before the endpoint is disabled. The
 * defaults follow the Standard Webhooks recommendation: exponential backoff (5 s, 10 s, 20 s …
 * capped at 5 hours) for three days; tests shorten them (Runtime.webhookDelivery).
 */
export interface DeliverySchedule {
  /** The wait after the first failure; doubled after each further one. */
  readonly firstRetryMs: number;
  readonly maxRetryMs: number;
  /** An endpoint failing this long without a single success is disabled. */
  readonly retryWindowMs: number;
  /** How often every instance looks for due work (events published here wake it at once). */
  readonly pollMs: number;
  /** A claim older than this was left by a dead instance and is taken over (must exceed the send timeout). */
  readonly leaseMs: number;
}

export const defaultDeliverySchedule: DeliverySchedule = {
  firstRetryMs: 5_000,
  maxRetryMs: 5 * 3_600_000,
  retryWindowMs: 3 * 86_400_000,
  pollMs: 1_000,
  leaseMs: 60_000,
};

export function retryDelayMs(schedule: DeliverySchedule, failures: number): number {
  return Math.min(schedule.maxRetryMs, schedule.firstRetryMs * 2 ** Math.max(0, failures - 1));
}

/** An endpoint as an administrator sees it: never a secret. */
export interface WebhookEndpointView {
  id: string;
  url: string;
  types: DirectoryEventType[] | "all";
  description?: string;
  status: "enabled" | "disabled";
  disabledAt?: Date;
  disabledReason?: string;
  createdAt: Date;
  /** Attempts at the next event so far, and when the next one is due (while failing). */
  failedAttempts: number;
  nextAttemptAt?: Date;
  failingSince?: Date;
  secrets: { createdAt: Date; expiresAt?: Date }[];
}

export function viewOf(endpoint: WebhookEndpointDocument): WebhookEndpointView {
  return {
    id: endpoint._id,
    url: endpoint.url,
    types: endpoint.types ? (endpoint.types.filter(isDirectoryEventType) as DirectoryEventType[]) : "all",
    ...(endpoint.description ? { description: endpoint.description } : {}),
    status: endpoint.status,
    ...(endpoint.disabledAt ? { disabledAt: endpoint.disabledAt } : {}),
    ...(endpoint.disabledReason ? { disabledReason: endpoint.disabledReason } : {}),
    createdAt: endpoint.createdAt,
    failedAttempts: endpoint.attempt,
    ...(endpoint.nextAttemptAt ? { nextAttemptAt: endpoint.nextAttemptAt } : {}),
    ...(endpoint.failingSince ? { failingSince: endpoint.failingSince } : {}),
    secrets: endpoint.secrets.map((s) => ({ createdAt: s.createdAt, ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}) })),
  };
}

const newSecret = () => `whsec_${randomBytes(24).toString("base64")}`;
const endpointTarget = (endpoint: { _id: string; url: string }) => ({ type: "webhook_endpoint", id: endpoint._id, display: endpoint.url });

/**
 * Webhook endpoints (issue 15 §2): registered by administrators and the operator, and delivered
 * to from the directory event log (storage/directory-events.ts).
 *
 * **Delivery.** Each endpoint has a position in its organization's event sequence. Its next event
 * (of the types it asked for) is sent until the receiver answers 2xx; then the position moves on.
 * So an endpoint receives its events in the log's order — in order per member, and overall — each
 * under the event's id as `webhook-id`, at least once (a receiver that answers after the timeout,
 * or an instance that dies after sending, causes a repeat with the same id). A failing endpoint is
 * retried with exponential backoff and, failing for the whole retry window (three days) without a
 * success, disabled with a `webhook.endpoint_disabled` event; an administrator enables it again and
 * it continues where it stopped.
 *
 * **Several instances.** Every instance runs the dispatcher. Before acting on an endpoint an
 * instance claims its state (position and attempt number) by inserting a document under that
 * name (storage/webhooks.ts) and re-reads the endpoint: only the claim's holder, while the state is
 * unchanged, sends — two instances never make the same attempt, and the state a late instance read
 * has moved on by the time it could act.
 */
export class Webhooks {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** Set by stopDelivery: a pass under way stops after its current step. */
  private halted = false;
  private unsubscribe: (() => void) | undefined;
  /**
   * The last pass found no endpoint registered at all: a publication then has no one to go to, and
   * does not start a pass (one read of the registry per published batch — hundreds during a bulk
   * sync — for nothing). A registration in this process kicks a pass itself; one made by another
   * process (the CLI) is found by the next poll, within `pollMs`, and its position was taken at
   * registration, so no event is missed, only sent up to a poll later.
   */
  private noEndpoints = false;

  constructor(
    private readonly store: WebhookStore,
    private readonly log: DirectoryEventLog,
    private readonly sender: WebhookSender,
    private readonly audit: AuditTrail,
    private readonly policy: Pick<OutboundPolicy, "allowHttp" | "allowPrivateDestinations">,
    private readonly schedule: DeliverySchedule = defaultDeliverySchedule,
    private readonly now: () => Date = () => new Date(),
  ) {}

  // --- Registration ---------------------------------------------------------------------------------

  private checkTypes(types: readonly string[] | undefined): DirectoryEventType[] | undefined {
    if (!types) return undefined;
    const unknown = types.filter((type) => !isDirectoryEventType(type));
    if (unknown.length) throw new InvalidError(`types: not event types: ${unknown.join(", ")}`);
    if (!types.length) throw new InvalidError("types: give at least one event type, or leave it out for all");
    return [...new Set(types)] as DirectoryEventType[];
  }

  /** Registers an endpoint; it receives the events published from now on. The secret is in this answer only. */
  async register(ctx: RequestContext, input: { url: string; types?: readonly string[]; description?: string }): Promise<WebhookEndpointView & { secret: string }> {
    const url = checkWebhookUrl(input.url, this.policy).toString();
    const types = this.checkTypes(input.types);
    const secret = newSecret();
    const now = this.now();
    const endpoint: WebhookEndpointDocument = {
      _id: `wh_${randomBytes(12).toString("hex")}`,
      organizationId: ctx.organizationId,
      url,
      ...(types ? { types } : {}),
      ...(input.description ? { description: input.description } : {}),
      secrets: [{ secret, createdAt: now }],
      status: "enabled",
      createdAt: now,
      position: await this.log.end(ctx.organizationId),
      attempt: 0,
      redeliveries: [],
      log: [],
    };
    await this.store.insert(endpoint);
    await this.audit.record(ctx, { action: "webhook_endpoint.created", target: endpointTarget(endpoint), after: { url, types: types ?? "all" } });
    this.kick();
    return { ...viewOf(endpoint), secret };
  }

  async get(scope: Scope, id: string): Promise<WebhookEndpointDocument> {
    const endpoint = await this.store.find(id);
    if (!endpoint || endpoint.organizationId !== scope.organizationId) throw new NotFoundError(`No webhook endpoint ${id}`);
    return endpoint;
  }

  async list(scope: Scope): Promise<WebhookEndpointView[]> {
    const ids = (await this.store.all()).filter((e) => e.organizationId === scope.organizationId).map((e) => e.id);
    const endpoints = await Promise.all(ids.map((id) => this.store.find(id)));
    return endpoints.filter((e): e is WebhookEndpointDocument => e !== undefined && e.organizationId === scope.organizationId).map(viewOf);
  }

  /** Changes the URL or types, or enables a disabled endpoint again (it continues where it stopped). */
  async change(ctx: RequestContext, id: string, input: { url?: string; types?: readonly string[] | null; description?: string; enabled?: boolean }): Promise<WebhookEndpointView> {
    const before = await this.get(ctx, id);
    const set: Record<string, unknown> = {};
    const unset: Record<string, ""> = {};
    if (input.url !== undefined) set.url = checkWebhookUrl(input.url, this.policy).toString();
    if (input.types === null) unset.types = "";
    else if (input.types !== undefined) set.types = this.checkTypes(input.types);
    if (input.description !== undefined) set.description = input.description;
    if (input.enabled === true && before.status === "disabled") {
      Object.assign(set, { status: "enabled", attempt: 0 });
      Object.assign(unset, { disabledAt: "", disabledReason: "", nextAttemptAt: "", failingSince: "" });
    }
    if (input.enabled === false && before.status === "enabled") Object.assign(set, { status: "disabled", disabledAt: this.now(), disabledReason: "disabled by an administrator" });
    await this.store.update(id, { ...(Object.keys(set).length ? { $set: set } : {}), ...(Object.keys(unset).length ? { $unset: unset } : {}) });
    const after = await this.get(ctx, id);
    await this.audit.record(ctx, { action: "webhook_endpoint.changed", target: endpointTarget(after), before: { url: before.url, types: before.types ?? "all", status: before.status }, after: { url: after.url, types: after.types ?? "all", status: after.status } });
    this.kick();
    return viewOf(after);
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    const endpoint = await this.get(ctx, id);
    await this.store.remove(endpoint);
    await this.audit.record(ctx, { action: "webhook_endpoint.removed", target: endpointTarget(endpoint), before: { url: endpoint.url } });
  }

  /**
   * A new secret, shown once; the current ones keep signing for `overlapMs` (each message then
   * carries one signature per live secret, as the Standard Webhooks specification allows), so
   * the receiver can switch over without losing a message.
   */
  async rotateSecret(ctx: RequestContext, id: string, overlapMs: number): Promise<{ secret: string; previousExpireAt: Date }> {
    const endpoint = await this.get(ctx, id);
    const now = this.now();
    const previousExpireAt = new Date(now.getTime() + overlapMs);
    const secret = newSecret();
    const kept = endpoint.secrets
      .filter((s) => !s.expiresAt || s.expiresAt > now)
      .map((s) => ({ ...s, expiresAt: s.expiresAt && s.expiresAt < previousExpireAt ? s.expiresAt : previousExpireAt }));
    await this.store.update(id, { $set: { secrets: [{ secret, createdAt: now }, ...kept] } });
    await this.audit.record(ctx, { action: "webhook_endpoint.secret_rotated", target: endpointTarget(endpoint), after: { previousExpireAt } });
    return { secret, previousExpireAt };
  }

  async deliveries(scope: Scope, id: string): Promise<DeliveryLogEntry[]> {
    return [...(await this.get(scope, id)).log].reverse();
  }

  /** Sends an event again (one attempt, outside the order), by its id as the delivery log shows it. */
  async redeliver(ctx: RequestContext, id: string, eventId: string): Promise<{ requested: string }> {
    const endpoint = await this.get(ctx, id);
    const entry = endpoint.log.find((e) => e.eventId === eventId);
    if (!entry) throw new NotFoundError(`No event ${eventId} in the delivery log of ${id}`);
    const request = { id: randomUUID(), sequence: entry.sequence, requestedAt: this.now() };
    await this.store.update(id, { $push: { redeliveries: request } });
    await this.audit.record(ctx, { action: "webhook_endpoint.redelivery_requested", target: endpointTarget(endpoint), after: { eventId } });
    this.kick();
    return { requested: request.id };
  }

  // --- Delivery -------------------------------------------------------------------------------------

  /** Starts delivering on this instance: every `pollMs`, and at once when this process publishes an event (while any endpoint exists). */
  startDelivery(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.halted = false;
    this.unsubscribe = this.log.onPublished(() => {
      if (!this.noEndpoints) this.kick();
    });
    this.timer = setInterval(() => this.kick(), this.schedule.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Stops, waiting for the pass under way. */
  async stopDelivery(): Promise<void> {
    this.stopped = true;
    this.halted = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.running;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.deliverDue().catch(() => undefined);
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
  }

  /** One pass over every endpoint: whatever is due is attempted (exported for tests and the CLI). */
  async deliverDue(): Promise<void> {
    const endpoints = await this.store.all();
    this.noEndpoints = endpoints.length === 0;
    await Promise.all(endpoints.map((e) => this.work(e.id).catch(() => undefined)));
  }

  /** Works on one endpoint until nothing is due there. */
  private async work(id: string): Promise<void> {
    for (let steps = 0; steps < 1000 && !this.halted; steps++) {
      const endpoint = await this.store.find(id);
      if (!endpoint || endpoint.status !== "enabled") return;
      const now = this.now();
      const redelivery = endpoint.redeliveries[0];
      if (redelivery) {
        if (!(await this.act(endpoint, `${id}/redelivery/${redelivery.id}`, (current) => this.redeliverOne(current, redelivery)))) return;
        continue;
      }
      if (endpoint.nextAttemptAt && endpoint.nextAttemptAt > now) return;
      const types = endpoint.types ? new Set(endpoint.types.filter(isDirectoryEventType)) : undefined;
      const page = await this.log.page(endpoint.organizationId, { after: endpoint.position, ...(types ? { types } : {}), limit: 1 });
      if (!page.events.length && page.position === endpoint.position) return;
      const acted = await this.act(endpoint, `${id}/${endpoint.position}/${endpoint.attempt}`, (current) =>
        page.events.length ? this.attempt(current, page.events[0]!, page.sequences[0]!) : this.store.update(id, { $set: { position: page.position } }),
      );
      if (!acted) return;
    }
  }

  /** Runs `transition` holding the claim on `key`, if the endpoint is still as read; false when another instance has it. */
  private async act(read: WebhookEndpointDocument, key: string, transition: (current: WebhookEndpointDocument) => Promise<void>): Promise<boolean> {
    const claim = await this.store.claim(key, this.now(), this.schedule.leaseMs);
    if (!claim) return false;
    try {
      const current = await this.store.find(read._id);
      if (!current || current.status !== "enabled" || current.position !== read.position || current.attempt !== read.attempt || current.redeliveries[0]?.id !== read.redeliveries[0]?.id) return false;
      await transition(current);
      return true;
    } finally {
      await this.store.release(claim).catch(() => undefined);
    }
  }

  private liveSecrets(endpoint: WebhookEndpointDocument, now: Date): string[] {
    return endpoint.secrets.filter((s) => !s.expiresAt || s.expiresAt > now).map((s) => s.secret);
  }

  private logged(endpoint: WebhookEndpointDocument, entry: DeliveryLogEntry): DeliveryLogEntry[] {
    return [...endpoint.log, entry].slice(-deliveryLogSize);
  }

  private async attempt(endpoint: WebhookEndpointDocument, event: import("../domain/directory-events").DirectoryEvent, sequence: number): Promise<void> {
    const now = this.now();
    const result = await this.sender.send(endpoint.url, { id: event.id, payload: JSON.stringify(event), secrets: this.liveSecrets(endpoint, now) });
    const attempt = endpoint.attempt + 1;
    const entry: DeliveryLogEntry = { eventId: event.id, sequence, type: event.type, attempt, at: now, ...result };
    const log = this.logged(endpoint, entry);
    if (result.outcome === "delivered") {
      await this.store.update(endpoint._id, { $set: { position: sequence, attempt: 0, log }, $unset: { nextAttemptAt: "", failingSince: "" } });
      return;
    }
    const failingSince = endpoint.failingSince ?? now;
    const finished = this.now();
    if (finished.getTime() - failingSince.getTime() >= this.schedule.retryWindowMs) {
      const reason = `failed without a success since ${failingSince.toISOString()} (last: ${result.error ?? result.outcome})`;
      await this.store.update(endpoint._id, { $set: { status: "disabled", disabledAt: finished, disabledReason: reason, attempt, failingSince, log }, $unset: { nextAttemptAt: "" } });
      const system = { organizationId: endpoint.organizationId, actor: { type: "system" as const, id: "webhooks", name: "Gatehouse webhooks" }, source: "system" as const, requestId: `webhook-${endpoint._id}` };
      await this.audit.record(system, { action: "webhook_endpoint.disabled", target: endpointTarget(endpoint), after: { status: "disabled", failingSince, attempts: attempt }, reason });
      return;
    }
    await this.store.update(endpoint._id, { $set: { attempt, failingSince, nextAttemptAt: new Date(finished.getTime() + retryDelayMs(this.schedule, attempt)), log } });
  }

  private async redeliverOne(endpoint: WebhookEndpointDocument, request: WebhookEndpointDocument["redeliveries"][number]): Promise<void> {
    const event = await this.log.at(endpoint.organizationId, request.sequence);
    const now = this.now();
    const result = event ? await this.sender.send(endpoint.url, { id: event.id, payload: JSON.stringify(event), secrets: this.liveSecrets(endpoint, now) }) : { outcome: "failed" as const, error: "the event is no longer kept", durationMs: 0 };
    const entry: DeliveryLogEntry = { eventId: event?.id ?? "", sequence: request.sequence, type: event?.type ?? "", attempt: 1, redelivery: true, at: now, ...result };
    await this.store.update(endpoint._id, { $set: { log: this.logged(endpoint, entry) }, $pullAll: { redeliveries: [request] } });
  }
}
