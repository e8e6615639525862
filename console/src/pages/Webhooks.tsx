import { useEffect, useRef, useState } from "react";
import { Form, ListBox, ListBoxItem, type Selection } from "react-aria-components";
import { api, unwrap, type Schemas } from "../api/client";
import { Badge, Button, DialogButton, Empty, ErrorNotice, formatTime, Loading, Switch, TextField, SecretShownOnce, useAction } from "../components/ui";
import { useLoad } from "../useLoad";

type Endpoint = Schemas["WebhookEndpoint"];
type Attempt = Schemas["WebhookDeliveryAttempt"];
type EventType = Exclude<Endpoint["types"], "all">[number];

/**
 * The documented event types (README "Events"), what each means to the receiving product. A
 * Record over the API's own enum: a type added to or removed from the API fails the console build.
 */
const EVENT_TYPES: Record<EventType, string> = {
  "member.provisioned": "a member was created",
  "member.updated": "a member's profile changed",
  "member.deactivated": "the identity provider deactivated a member",
  "member.reactivated": "a deactivated member became active again",
  "member.deleted": "a member was deleted",
  "member.suspended": "an administrator suspended a member",
  "member.lifted": "a member's suspension was lifted",
  "member.access_changed": "a member's effective access changed",
  "group.created": "a group was created",
  "group.renamed": "a group was renamed",
  "group.deleted": "a group was deleted",
  "group.membership_changed": "members were added to or removed from a group",
  "session.revoked": "every session of a member ended",
  "organization.ownership_vacated": "the organization has no able Owner",
  "certificate.expiring": "a SAML signing certificate expires soon",
  "offboarding.scheduled": "an offboarding was scheduled",
  "offboarding.cancelled": "a scheduled offboarding was cancelled",
  "offboarding.carried_out": "an offboarding took effect",
  "offboarding.reminder": "an offboarding takes effect within a day",
  "offboarding.completed": "the identity provider deactivated an offboarded member",
  "offboarding.conflict_flagged": "the identity provider reactivated an offboarded member",
  "webhook.endpoint_disabled": "a webhook endpoint was disabled after failing",
};

/** A secret the API gives once: kept in this page's memory only, never reloaded. */
interface ShownSecret {
  url: string;
  secret: string;
  note: string;
}

/** An endpoint with its newest delivery attempt (the log is newest first). */
interface Row {
  endpoint: Endpoint;
  last: Attempt | undefined;
}

/**
 * Webhook endpoints (README "Webhooks"): registered with the event types they receive, their
 * signing secret shown once (at registration and rotation), enabled or disabled, their delivery
 * log with manual redelivery, removal. Every call needs `manage_integrations`; the API's refusal
 * is shown as it is.
 */
export function WebhooksPage() {
  const { state, reload } = useLoad(async (): Promise<Row[]> => {
    const { endpoints } = await unwrap(api.GET("/webhooks"));
    // The list has no last delivery: each endpoint's log is asked for at once (an organization has few endpoints).
    return Promise.all(
      endpoints.map(async (endpoint) => {
        const log = await unwrap(api.GET("/webhooks/{id}/deliveries", { params: { path: { id: endpoint.id } } }));
        return { endpoint, last: log.attempts[0] };
      }),
    );
  }, "webhooks");
  const [shown, setShown] = useState<ShownSecret | null>(null);
  const [logOf, setLogOf] = useState<Endpoint | null>(null);
  const change = useAction();

  const setEnabled = (endpoint: Endpoint, enabled: boolean) =>
    void change.run(() => unwrap(api.PATCH("/webhooks/{id}", { params: { path: { id: endpoint.id } }, body: { enabled } }))).then(reload);

  return (
    <main id="main">
      <div className="page-head">
        <h1>Webhooks</h1>
        <DialogButton label="Register endpoint" title="Register a webhook endpoint" variant="primary">
          {(close) => (
            <RegisterEndpoint
              close={close}
              onRegistered={(created) => {
                setShown({ url: created.endpoint.url, secret: created.secret, note: "Copy the signing secret now: it is not shown again." });
                reload();
              }}
            />
          )}
        </DialogButton>
      </div>
      <p className="hint">
        Gatehouse sends each directory event to the endpoints below, signed by the Standard Webhooks specification (headers <code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>), and retries a failing endpoint for three days before it disables it.
      </p>
      {shown ? (
        <SecretShownOnce label="Signing secret" value={shown.secret} onDone={() => setShown(null)}>
          <strong>{shown.note}</strong> Endpoint: {shown.url}
        </SecretShownOnce>
      ) : null}
      {change.error ? <ErrorNotice message={change.error} /> : null}
      <section className="card" aria-labelledby="endpoints-heading">
        <h2 id="endpoints-heading">Endpoints</h2>
        {state.status === "loading" ? <Loading what="webhook endpoints" /> : null}
        {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
        {state.status === "ready" ? (
          state.data.length === 0 ? (
            <Empty>No webhook endpoint yet: register one to have your product hear of directory changes as they happen.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">Events</th>
                    <th scope="col">State</th>
                    <th scope="col">Last delivery</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {state.data.map(({ endpoint, last }) => (
                    <tr key={endpoint.id}>
                      <td>
                        <code>{endpoint.url}</code>
                        {endpoint.description ? <p className="hint">{endpoint.description}</p> : null}
                      </td>
                      <td>{endpoint.types === "all" ? "All event types" : endpoint.types.join(", ")}</td>
                      <td>
                        <EndpointState endpoint={endpoint} />
                      </td>
                      <td>{last ? <LastDelivery attempt={last} /> : "None yet"}</td>
                      <td className="actions">
                        <Button aria-label={`Delivery log of ${endpoint.url}`} onPress={() => setLogOf(endpoint)}>
                          Delivery log
                        </Button>
                        {endpoint.status === "enabled" ? (
                          <Button isDisabled={change.busy} aria-label={`Disable ${endpoint.url}`} onPress={() => setEnabled(endpoint, false)}>
                            Disable
                          </Button>
                        ) : (
                          <Button isDisabled={change.busy} aria-label={`Enable ${endpoint.url}`} onPress={() => setEnabled(endpoint, true)}>
                            Enable
                          </Button>
                        )}
                        <DialogButton label="Rotate secret" ariaLabel={`Rotate secret of ${endpoint.url}`} title="Rotate the signing secret">
                          {(close) => (
                            <Confirm
                              close={close}
                              text={`A new secret signs every message to ${endpoint.url}. The current one keeps signing beside it for 24 hours, so the receiver can switch at its own pace.`}
                              label="Rotate"
                              act={async () => {
                                const rotated = await unwrap(api.POST("/webhooks/{id}/rotate-secret", { params: { path: { id: endpoint.id } }, body: {} }));
                                setShown({ url: endpoint.url, secret: rotated.secret, note: `Copy the new signing secret now: it is not shown again. The previous one signs until ${formatTime(rotated.previousExpireAt)}.` });
                                reload();
                              }}
                            />
                          )}
                        </DialogButton>
                        <DialogButton label="Remove" ariaLabel={`Remove ${endpoint.url}`} title="Remove the webhook endpoint" variant="danger">
                          {(close) => (
                            <Confirm
                              close={close}
                              danger
                              text={`Nothing more is sent to ${endpoint.url}, and its delivery log goes with it.`}
                              label="Remove"
                              act={async () => {
                                await unwrap(api.DELETE("/webhooks/{id}", { params: { path: { id: endpoint.id } } }));
                                if (logOf?.id === endpoint.id) setLogOf(null);
                                reload();
                              }}
                            />
                          )}
                        </DialogButton>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        ) : null}
      </section>
      {logOf ? <DeliveryLog key={logOf.id} endpoint={logOf} onClose={() => setLogOf(null)} /> : null}
    </main>
  );
}

function EndpointState({ endpoint }: { endpoint: Endpoint }) {
  if (endpoint.status === "disabled") {
    return (
      <>
        <Badge tone="danger">Disabled</Badge>
        <p className="hint">
          {endpoint.disabledReason ?? "Disabled"}
          {endpoint.disabledAt ? ` (${formatTime(endpoint.disabledAt)})` : ""}
        </p>
      </>
    );
  }
  if (endpoint.failingSince) {
    return (
      <>
        <Badge tone="warning">Failing</Badge>
        <p className="hint">
          Failing since {formatTime(endpoint.failingSince)}, {endpoint.failedAttempts} failed {endpoint.failedAttempts === 1 ? "attempt" : "attempts"}
          {endpoint.nextAttemptAt ? `; next attempt ${formatTime(endpoint.nextAttemptAt)}` : ""}
        </p>
      </>
    );
  }
  return <Badge tone="ok">Enabled</Badge>;
}

function Outcome({ attempt }: { attempt: Attempt }) {
  const tone = attempt.outcome === "delivered" ? "ok" : "danger";
  const word = { delivered: "Delivered", failed: "Failed", refused: "Refused" }[attempt.outcome];
  return <Badge tone={tone}>{word}</Badge>;
}

function LastDelivery({ attempt }: { attempt: Attempt }) {
  return (
    <>
      <Outcome attempt={attempt} /> {attempt.type}
      <p className="hint">
        {formatTime(attempt.at)}
        {attempt.httpStatus !== undefined ? ` · HTTP ${attempt.httpStatus}` : ""}
      </p>
    </>
  );
}

/** The endpoint's last 100 attempts, newest first; each event can be sent once more, under its same webhook-id. */
function DeliveryLog({ endpoint, onClose }: { endpoint: Endpoint; onClose(): void }) {
  const { state, reload } = useLoad(() => unwrap(api.GET("/webhooks/{id}/deliveries", { params: { path: { id: endpoint.id } } })), endpoint.id);
  const redeliver = useAction();
  const [queued, setQueued] = useState<string | null>(null);
  // Opened from a row's button: the keyboard goes on to the log rather than staying in the table.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="card" aria-labelledby="log-heading">
      <div className="page-head">
        <h2 id="log-heading" ref={heading} tabIndex={-1}>Delivery log: {endpoint.url}</h2>
        <div className="actions">
          <Button onPress={reload}>Refresh</Button>
          <Button onPress={onClose}>Close</Button>
        </div>
      </div>
      {queued ? (
        <p className="state" role="status">
          {queued}
        </p>
      ) : null}
      {redeliver.error ? <ErrorNotice message={redeliver.error} /> : null}
      {state.status === "loading" ? <Loading what="the delivery log" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        state.data.attempts.length === 0 ? (
          <Empty>Nothing sent yet: the first event after registration shows here.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">HTTP status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.data.attempts.map((attempt, index) => (
                  <tr key={`${attempt.eventId}-${attempt.attempt}-${attempt.at}-${index}`}>
                    <td>{formatTime(attempt.at)}</td>
                    <td>
                      {attempt.type}
                      <p className="hint">
                        <code>{attempt.eventId}</code>
                      </p>
                    </td>
                    <td>
                      {attempt.attempt}
                      {attempt.redelivery ? " (redelivery)" : ""}
                    </td>
                    <td>
                      <Outcome attempt={attempt} />
                      {attempt.error ? <p className="hint">{attempt.error}</p> : null}
                    </td>
                    <td>{attempt.httpStatus ?? "—"}</td>
                    <td>
                      <Button
                        isDisabled={redeliver.busy}
                        aria-label={`Redeliver ${attempt.type} ${attempt.eventId}`}
                        onPress={() =>
                          void redeliver
                            .run(async () => {
                              await unwrap(api.POST("/webhooks/{id}/redeliver", { params: { path: { id: endpoint.id } }, body: { eventId: attempt.eventId } }));
                              setQueued(`Redelivery of ${attempt.type} (${attempt.eventId}) queued: it shows here once sent.`);
                            })
                            .then(reload)
                        }
                      >
                        Redeliver
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </section>
  );
}

function Confirm({ close, text, label, danger, act }: { close(): void; text: string; label: string; danger?: boolean; act(): Promise<void> }) {
  const action = useAction();
  return (
    <>
      <p>{text}</p>
      {action.error ? <ErrorNotice message={action.error} /> : null}
      <div className="actions">
        <Button onPress={close}>Cancel</Button>
        <Button variant={danger ? "danger" : "primary"} isDisabled={action.busy} onPress={() => void action.run(act).then((done) => done && close())}>
          {label}
        </Button>
      </div>
    </>
  );
}

function RegisterEndpoint({ close, onRegistered }: { close(): void; onRegistered(created: Schemas["CreatedWebhookEndpoint"]): void }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [all, setAll] = useState(true);
  const [types, setTypes] = useState<Selection>(new Set());
  const register = useAction();
  const chosen = types === "all" ? (Object.keys(EVENT_TYPES) as EventType[]) : ([...types] as EventType[]);
  return (
    <Form
      onSubmit={(event) => {
        event.preventDefault();
        void register.run(async () => {
          const body = { url: url.trim(), ...(description.trim() ? { description: description.trim() } : {}), ...(all ? {} : { types: chosen }) };
          onRegistered(await unwrap(api.POST("/webhooks", { body })));
          close();
        });
      }}
    >
      <TextField label="URL" type="url" value={url} onChange={setUrl} isRequired autoFocus description="Where your product receives events: https, a public address." />
      <TextField label="Description" value={description} onChange={setDescription} description="Optional: which system receives them." />
      <Switch label="All event types" isSelected={all} onChange={setAll} description="Includes event types added later. Turn off to choose." />
      {all ? null : (
        <div className="field">
          <p id="event-types-label">
            <strong>Event types</strong> ({chosen.length} chosen)
          </p>
          <ListBox aria-labelledby="event-types-label" className="listbox event-types" selectionMode="multiple" selectedKeys={types} onSelectionChange={setTypes}>
            {(Object.entries(EVENT_TYPES) as [EventType, string][]).map(([type, meaning]) => (
              <ListBoxItem key={type} id={type} className="listbox-item" textValue={type}>
                {({ isSelected }) => (
                  <>
                    <span aria-hidden="true">{isSelected ? "☑ " : "☐ "}</span>
                    <code>{type}</code> <span className="hint">{meaning}</span>
                  </>
                )}
              </ListBoxItem>
            ))}
          </ListBox>
        </div>
      )}
      {register.error ? <ErrorNotice message={register.error} /> : null}
      <div className="actions">
        <Button onPress={close}>Cancel</Button>
        <Button type="submit" variant="primary" isDisabled={register.busy}>
          Register
        </Button>
      </div>
    </Form>
  );
}
