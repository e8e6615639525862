import { Fragment, useState } from "react";
import { Form } from "react-aria-components";
import { api, unwrap, type Schemas } from "../api/client";
import { Button, Empty, ErrorNotice, formatTime, Loading, Select, TextField } from "../components/ui";
import { useLoad } from "../useLoad";

const PAGE_SIZE = 25;
const SOURCE_LABELS: Record<string, string> = { scim: "SCIM", saml: "SAML", admin: "Admin API", cli: "CLI", system: "System" };
const SOURCES = [{ id: "", label: "Any source" }, ...Object.entries(SOURCE_LABELS).map(([id, label]) => ({ id, label }))];

interface Filters {
  action: string;
  actor: string;
  target: string;
  source: string;
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { action: "", actor: "", target: "", source: "", from: "", to: "" };

/** The filters the API takes, without the empty ones. */
function queryOf(filters: Filters) {
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(filters)) if (value.trim()) query[name] = value.trim();
  return query as { action?: string; actor?: string; target?: string; source?: Schemas["ChangeSource"]; from?: string; to?: string };
}

const json = (value: unknown) => (value === undefined ? "—" : JSON.stringify(value, null, 2));

/** The audit trail: filter, page through newest first, each event's before and after side by side, CSV of the filtered view. */
export function AuditLogPage() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [cursors, setCursors] = useState<string[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const cursor = cursors.at(-1);
  const query = queryOf(filters);
  const { state } = useLoad(
    () => unwrap(api.GET("/audit", { params: { query: { ...query, limit: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) } } })),
    JSON.stringify([query, cursor]),
  );
  const csvHref = `/api/v1/audit/export.csv${Object.keys(query).length ? `?${new URLSearchParams(query).toString()}` : ""}`;
  const field = (name: keyof Filters) => ({ value: draft[name], onChange: (value: string) => setDraft({ ...draft, [name]: value }) });

  return (
    <main id="main">
      <div className="page-head">
        <h1>Audit log</h1>
        <a className="button button-secondary" href={csvHref} download>
          Export CSV
        </a>
      </div>
      <Form
        className="filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          setCursors([]);
          setOpen(null);
          setFilters(draft);
        }}
      >
        <TextField label="Action" {...field("action")} description="Exactly, e.g. user.deactivated" />
        <TextField label="Actor id" {...field("actor")} />
        <TextField label="Target id" {...field("target")} />
        <Select label="Source" options={SOURCES} {...field("source")} />
        <TextField label="From" type="date" {...field("from")} />
        <TextField label="To (before)" type="date" {...field("to")} />
        <div className="actions">
          <Button type="submit" variant="primary">
            Apply filters
          </Button>
          <Button
            onPress={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
              setCursors([]);
            }}
          >
            Clear
          </Button>
        </div>
      </Form>
      {state.status === "loading" ? <Loading what="audit events" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        state.data.events.length === 0 ? (
          <Empty>No audit event matches these filters.</Empty>
        ) : (
          <>
            <div className="table-wrap">
              <table className="audit">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Target</th>
                    <th scope="col">Source</th>
                    <th scope="col">Reason</th>
                    <th scope="col">
                      <span className="visually-hidden">Details</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {state.data.events.map((event) => (
                    <Fragment key={event.id}>
                      <tr>
                        <td>{formatTime(event.at)}</td>
                        <td><code>{event.action}</code></td>
                        <td>{event.actor.name}</td>
                        <td>{event.target.display ?? event.target.id} <span className="hint">({event.target.type})</span></td>
                        <td>{event.source}</td>
                        <td>{event.reason ?? ""}</td>
                        <td>
                          <Button aria-expanded={open === event.id} aria-controls={`event-${event.id}`} onPress={() => setOpen(open === event.id ? null : event.id)}>
                            {open === event.id ? "Hide change" : "Show change"}
                          </Button>
                        </td>
                      </tr>
                      {open === event.id ? (
                        <tr id={`event-${event.id}`} className="event-detail">
                          <td colSpan={7}>
                            <div className="before-after">
                              <figure>
                                <figcaption>Before</figcaption>
                                <pre>{json(event.before)}</pre>
                              </figure>
                              <figure>
                                <figcaption>After</figcaption>
                                <pre>{json(event.after)}</pre>
                              </figure>
                            </div>
                            <p className="hint">Request {event.requestId}</p>
                          </td>
                        </tr>
                      ) : null}
                    </Fragment>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="pager">
              <Button isDisabled={cursors.length === 0} onPress={() => setCursors(cursors.slice(0, -1))}>
                Newer events
              </Button>
              <Button isDisabled={!state.data.nextCursor} onPress={() => state.data.nextCursor && setCursors([...cursors, state.data.nextCursor])}>
                Older events
              </Button>
            </div>
          </>
        )
      ) : null}
    </main>
  );
}
