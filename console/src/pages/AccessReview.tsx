import { useState } from "react";
import { Form } from "react-aria-components";
import { api, unwrap, type Schemas } from "../api/client";
import { describeSource, roleLabel } from "../access-words";
import { Badge, Button, DialogButton, Empty, ErrorNotice, formatTime, Loading, Select, TextField, useAction } from "../components/ui";
import { sourceOf } from "./Members";
import { useLoad } from "../useLoad";

type Flag = Schemas["ReviewedUser"]["flags"][number];
const FLAG_LABELS: Record<Flag, string> = { elevated: "Elevated", temporary_grant: "Temporary grant", inactive_90_days: "Inactive 90 days", suspended: "Suspended" };
const ORGANIZATION_FLAGS: Record<string, string> = { vacant_ownership: "The organization has no active Owner.", saml_certificate_expires_soon: "A SAML signing certificate expires soon." };
const FILTERS = [{ id: "", label: "Every member" }, ...Object.entries(FLAG_LABELS).map(([id, label]) => ({ id, label: `Flagged: ${label}` }))];

/** The access review: every member's role and where it comes from, with the findings a reviewer looks for. */
export function AccessReviewPage() {
  const { state, reload } = useLoad(() => unwrap(api.GET("/access-review")), "review");
  const completions = useLoad(() => unwrap(api.GET("/access-review/completions")), "completions");
  const [flag, setFlag] = useState("");
  const [completed, setCompleted] = useState<string | null>(null);

  return (
    <main id="main">
      <div className="page-head">
        <h1>Access review</h1>
        <div className="actions">
          <a className="button button-secondary" href="/api/v1/access-review.csv" download>
            Export CSV
          </a>
          <DialogButton label="Complete review" title="Complete the access review" variant="primary">
            {(close) => (
              <CompleteReview
                close={close}
                onCompleted={(completion) => {
                  setCompleted(`Review completed: ${completion.members} ${completion.members === 1 ? "member" : "members"} signed off, recorded in the audit trail.`);
                  reload();
                  completions.reload();
                }}
              />
            )}
          </DialogButton>
        </div>
      </div>
      {completed ? <p role="status">{completed}</p> : null}
      <section className="card" aria-labelledby="signoffs-heading">
        <h2 id="signoffs-heading">Sign-offs</h2>
        {completions.state.status === "loading" ? <Loading what="the sign-offs" /> : null}
        {completions.state.status === "error" ? <ErrorNotice message={completions.state.message} /> : null}
        {completions.state.status === "ready" ? (
          completions.state.data.completions.length === 0 ? (
            <Empty>The review has never been completed: complete it to record your sign-off as evidence for auditors.</Empty>
          ) : (
            <ul className="sources" aria-label="Recent sign-offs">
              {completions.state.data.completions.slice(0, 5).map((completion) => (
                <li key={completion.id}>
                  <strong>{formatTime(completion.at)}</strong> by {completion.reviewer.name} — {completion.scope.kind === "project" ? `project ${completion.scope.projectName}` : "the whole organization"}, {completion.members}{" "}
                  {completion.members === 1 ? "member" : "members"}
                  {completion.notes ? <>: “{completion.notes}”</> : null}
                </li>
              ))}
            </ul>
          )
        ) : null}
      </section>
      {state.status === "loading" ? <Loading what="the access review" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        <>
          <p className="hint">Generated {formatTime(state.data.generatedAt)}.</p>
          {state.data.organizationFlags.length ? (
            <ul className="findings" aria-label="Findings about the organization">
              {state.data.organizationFlags.map((finding) => (
                <li key={finding}>
                  <Badge tone="warning">{ORGANIZATION_FLAGS[finding] ?? finding}</Badge>
                </li>
              ))}
              {state.data.expiringSamlCertificates.map((certificate) => (
                <li key={certificate.subject + certificate.validTo}>
                  {certificate.subject} expires {formatTime(certificate.validTo)}
                </li>
              ))}
            </ul>
          ) : null}
          <Select label="Show" options={FILTERS} value={flag} onChange={setFlag} />
          <ReviewTable users={state.data.users.filter((user) => !flag || user.flags.includes(flag as Flag))} />
        </>
      ) : null}
    </main>
  );
}

function ReviewTable({ users }: { users: Schemas["ReviewedUser"][] }) {
  if (users.length === 0) return <Empty>No member to show.</Empty>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role and where it comes from</th>
            <th scope="col">Projects</th>
            <th scope="col">Source</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">Last reviewed</th>
            <th scope="col">Flags</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id}>
              <td>
                {user.displayName ?? user.userName}
                {user.displayName ? <div className="hint">{user.userName}</div> : null}
              </td>
              <td>
                <strong>{roleLabel(user.role)}</strong>
                {user.denial ? <div className="hint">{user.denial}</div> : null}
                <ul className="sources">
                  {user.roleSources.map((source, index) => (
                    <li key={index}>{describeSource(source)}</li>
                  ))}
                </ul>
              </td>
              <td>{user.allProjects ? "All projects" : user.projects.map((p) => `${p.name ?? p.id} (${p.role})`).join(", ") || "—"}</td>
              <td>{sourceOf(user)}</td>
              <td>{formatTime(user.lastLogin)}</td>
              <td>{user.lastReviewed ? `${formatTime(user.lastReviewed.at)} by ${user.lastReviewed.reviewer.name}` : "Never"}</td>
              <td>
                {user.flags.map((flag) => (
                  <Badge key={flag} tone={flag === "elevated" || flag === "suspended" ? "danger" : "warning"}>
                    {FLAG_LABELS[flag] ?? flag}
                  </Badge>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The reviewer's sign-off of the review as it stands (the organization, or one project), with notes for auditors. */
function CompleteReview({ close, onCompleted }: { close(): void; onCompleted(completion: Schemas["ReviewCompletion"]): void }) {
  const projects = useLoad(() => api.GET("/projects").then((r) => r.data?.projects ?? [], () => []), "projects");
  const [scope, setScope] = useState("organization");
  const [notes, setNotes] = useState("");
  const complete = useAction();
  const scopes = [{ id: "organization", label: "The whole organization" }, ...(projects.state.status === "ready" ? projects.state.data.map((p) => ({ id: p.id, label: `Project ${p.name}` })) : [])];
  return (
    <Form
      onSubmit={(event) => {
        event.preventDefault();
        void complete.run(async () => {
          const completion = await unwrap(api.POST("/access-review/completions", { body: { ...(scope !== "organization" ? { projectId: scope } : {}), ...(notes.trim() ? { notes: notes.trim() } : {}) } }));
          onCompleted(completion);
          close();
        });
      }}
    >
      <p>Records your sign-off of the review as it stands now in the audit trail (<code>access_review.completed</code>), with the members it covers.</p>
      <Select label="What you reviewed" options={scopes} value={scope} onChange={setScope} />
      <TextField label="Notes" multiline value={notes} onChange={setNotes} autoFocus description="What you checked and what you changed, for the auditors." />
      {complete.error ? <ErrorNotice message={complete.error} /> : null}
      <div className="actions">
        <Button onPress={close}>Cancel</Button>
        <Button type="submit" variant="primary" isDisabled={complete.busy}>
          Sign off
        </Button>
      </div>
    </Form>
  );
}
