import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { describeSource, roleLabel } from "../access-words";
import { Badge, Empty, ErrorNotice, formatTime, Loading, Select } from "../components/ui";
import { sourceOf } from "./Members";
import { useLoad } from "../useLoad";

type Flag = Schemas["ReviewedUser"]["flags"][number];
const FLAG_LABELS: Record<Flag, string> = { elevated: "Elevated", temporary_grant: "Temporary grant", inactive_90_days: "Inactive 90 days", suspended: "Suspended" };
const ORGANIZATION_FLAGS: Record<string, string> = { vacant_ownership: "The organization has no active Owner.", saml_certificate_expires_soon: "A SAML signing certificate expires soon." };
const FILTERS = [{ id: "", label: "Every member" }, ...Object.entries(FLAG_LABELS).map(([id, label]) => ({ id, label: `Flagged: ${label}` }))];

/** The access review: every member's role and where it comes from, with the findings a reviewer looks for. */
export function AccessReviewPage() {
  const { state } = useLoad(() => unwrap(api.GET("/access-review")), "review");
  const [flag, setFlag] = useState("");

  return (
    <main id="main">
      <div className="page-head">
        <h1>Access review</h1>
        <a className="button button-secondary" href="/api/v1/access-review.csv" download>
          Export CSV
        </a>
      </div>
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
