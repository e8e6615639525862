import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { PROJECT_ROLE_OPTIONS, roleLabel } from "../access-words";
import { Button, Empty, ErrorNotice, formatTime, Loading, Select, useAction, type Option } from "../components/ui";
import { useLoad } from "../useLoad";

type Mapping = Schemas["Mapping"];
type GroupDetail = Schemas["GroupDetail"];
type Project = Schemas["Project"];
type Preview = Schemas["MappingPreview"];
type PreviewRequest = Schemas["MappingPreviewRequest"];
type ProjectRole = Schemas["MappingProject"]["role"];

const PAGE = 50;
const MEMBERS_SHOWN = 100;
const ORGANIZATION_ROLES: Option[] = [{ id: "none", label: "No organization role" }, ...["read_only", "user", "admin"].map((id) => ({ id, label: roleLabel(id) }))];
const PROJECT_ROLES: Option[] = PROJECT_ROLE_OPTIONS;
const MATCH_LABELS: Record<Schemas["MappingMatch"]["kind"], string> = {
  group_id: "the group's id (follows renames)",
  external_id: "the identity provider's id for the group (follows renames)",
  display_name: "the group's name (case-insensitive)",
  app_role: "an Entra ID app role",
};

/**
 * The groups the identity provider pushed and the mappings that turn them into access. Every
 * mapping change is previewed first — who gains and who loses which access, by the same evaluation
 * the authorization answers use — and saving is offered only for the change that was previewed.
 */
export function GroupsPage() {
  const [startIndex, setStartIndex] = useState(1);
  const groups = useLoad(() => unwrap(api.GET("/groups", { params: { query: { startIndex, count: PAGE } } })), String(startIndex));
  // Project names are a courtesy: without them the ids are shown.
  const projects = useLoad(() => api.GET("/projects").then((r) => r.data?.projects ?? [], () => []), "projects");
  const [selected, setSelected] = useState<string | null>(null);
  const projectList = projects.state.status === "ready" ? projects.state.data : [];

  return (
    <main id="main">
      <h1>Groups and mappings</h1>
      <p className="hint">Groups come from your identity provider through SCIM and change there. A mapping gives a group's members an organization role, project roles, or both.</p>
      {groups.state.status === "loading" ? <Loading what="groups" /> : null}
      {groups.state.status === "error" ? <ErrorNotice message={groups.state.message} /> : null}
      {groups.state.status === "ready" ? (
        groups.state.data.groups.length === 0 ? (
          <Empty>No group yet: groups appear here once your identity provider pushes them (turn on group push in Okta, or assign groups in Entra ID).</Empty>
        ) : (
          <section className="card" aria-labelledby="groups-heading">
            <h2 id="groups-heading">Groups ({groups.state.data.totalResults})</h2>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Group</th>
                    <th scope="col">Identity provider's id</th>
                    <th scope="col">Members</th>
                    <th scope="col">Last changed</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {groups.state.data.groups.map((group) => (
                    <tr key={group.id} aria-current={group.id === selected ? "true" : undefined}>
                      <td>{group.displayName}</td>
                      <td>{group.externalId ? <code>{group.externalId}</code> : "—"}</td>
                      <td>{group.memberCount}</td>
                      <td>{formatTime(group.lastModified)}</td>
                      <td className="actions">
                        <Button aria-label={`Open ${group.displayName}`} onPress={() => setSelected(group.id)}>
                          Open
                        </Button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="pager">
              <Button isDisabled={startIndex === 1} onPress={() => setStartIndex(Math.max(1, startIndex - PAGE))}>
                Previous page
              </Button>
              <Button isDisabled={startIndex + PAGE > groups.state.data.totalResults} onPress={() => setStartIndex(startIndex + PAGE)}>
                Next page
              </Button>
            </div>
          </section>
        )
      ) : null}
      {selected ? <GroupPanel key={selected} groupId={selected} projects={projectList} onChanged={groups.reload} /> : null}
    </main>
  );
}

type Draft = { change: "create" } | { change: "edit"; mapping: Mapping } | { change: "delete"; mapping: Mapping };

function GroupPanel({ groupId, projects, onChanged }: { groupId: string; projects: Project[]; onChanged(): void }) {
  const { state, reload } = useLoad(() => unwrap(api.GET("/groups/{id}", { params: { path: { id: groupId }, query: { count: MEMBERS_SHOWN } } })), groupId);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const projectName = (id: string) => projects.find((p) => p.id === id)?.name ?? id;

  if (state.status === "loading") return <Loading what="the group" />;
  if (state.status === "error") return <ErrorNotice message={state.message} />;
  const group = state.data;
  return (
    <section className="card" aria-labelledby="group-heading">
      <h2 id="group-heading">{group.displayName}</h2>
      <div className="group-panel">
        <div>
          <h3>Members ({group.memberCount})</h3>
          {group.members.length === 0 ? (
            <Empty>The group has no member.</Empty>
          ) : (
            <ul className="sources" aria-label={`Members of ${group.displayName}`}>
              {group.members.map((member) => (
                <li key={member.id}>{member.displayName ? `${member.displayName} (${member.userName})` : member.userName}</li>
              ))}
            </ul>
          )}
          {group.nextAfter ? <p className="hint">The first {group.members.length} of {group.memberCount} members are shown.</p> : null}
        </div>
        <div>
          <div className="page-head">
            <h3>Mappings</h3>
            <Button variant="primary" isDisabled={draft !== null} onPress={() => { setDone(null); setDraft({ change: "create" }); }}>
              Add mapping
            </Button>
          </div>
          {group.mappings.length === 0 ? (
            <Empty>No mapping: membership of this group gives no access.</Empty>
          ) : (
            <ul className="sources">
              {group.mappings.map((mapping) => (
                <li key={mapping.id}>
                  <strong>{describeGrant(mapping, projectName)}</strong>
                  <span className="hint"> — matches {MATCH_LABELS[mapping.match.kind]}</span>
                  <span className="actions">
                    <Button aria-label={`Edit mapping ${mapping.id}`} isDisabled={draft !== null} onPress={() => { setDone(null); setDraft({ change: "edit", mapping }); }}>
                      Edit
                    </Button>
                    <Button variant="danger" aria-label={`Delete mapping ${mapping.id}`} isDisabled={draft !== null} onPress={() => { setDone(null); setDraft({ change: "delete", mapping }); }}>
                      Delete
                    </Button>
                  </span>
                </li>
              ))}
            </ul>
          )}
          {draft ? <p className="hint">Finish or cancel the change below before starting another.</p> : null}
          {done ? <p role="status">{done}</p> : null}
        </div>
      </div>
      {draft ? (
        <MappingEditor
          key={draft.change === "create" ? "create" : `${draft.change}-${draft.mapping.id}`}
          group={group}
          draft={draft}
          projects={projects}
          projectName={projectName}
          close={() => setDraft(null)}
          onSaved={(message) => {
            setDraft(null);
            setDone(message);
            reload();
            onChanged();
          }}
        />
      ) : null}
    </section>
  );
}

function describeGrant(mapping: { organizationRole?: unknown; projects?: { projectId: string; role: unknown }[] }, projectName: (id: string) => string): string {
  const parts: string[] = [];
  if (mapping.organizationRole) parts.push(`Organization role ${roleLabel(mapping.organizationRole)}`);
  for (const p of mapping.projects ?? []) parts.push(`${projectName(p.projectId)}: ${String(p.role)}`);
  return parts.length ? parts.join(", ") : "Grants nothing";
}

/** The mapping change as a preview request: the body saving would send, in the preview's envelope. */
function proposalOf(draft: Draft, group: GroupDetail, matchKind: Schemas["MappingMatch"]["kind"], role: string, projectRoles: Record<string, string>): PreviewRequest {
  if (draft.change === "delete") return { change: "delete", mappingId: draft.mapping.id };
  const projects = Object.entries(projectRoles)
    .filter(([, r]) => r !== "none")
    // The options offered are the project roles of the document (PROJECT_ROLES).
    .map(([projectId, r]) => ({ projectId, role: r as ProjectRole }));
  if (draft.change === "edit") return { change: "edit", mappingId: draft.mapping.id, mapping: { organizationRole: role === "none" ? null : role, projects } };
  const value = matchKind === "external_id" ? (group.externalId ?? group.id) : matchKind === "display_name" ? group.displayName : group.id;
  return { change: "create", mapping: { match: { kind: matchKind, value }, ...(role === "none" ? {} : { organizationRole: role }), ...(projects.length ? { projects } : {}) } };
}

function MappingEditor(props: { group: GroupDetail; draft: Draft; projects: Project[]; projectName(id: string): string; close(): void; onSaved(message: string): void }) {
  const { group, draft, projects, projectName } = props;
  const existing = draft.change === "create" ? undefined : draft.mapping;
  const [matchKind, setMatchKind] = useState<Schemas["MappingMatch"]["kind"]>("group_id");
  const [role, setRole] = useState<string>(typeof existing?.organizationRole === "string" ? existing.organizationRole : "none");
  const [projectRoles, setProjectRoles] = useState<Record<string, string>>(() =>
    Object.fromEntries(projects.map((p) => [p.id, String(existing?.projects?.find((m) => m.projectId === p.id)?.role ?? "none")])),
  );
  const [preview, setPreview] = useState<{ key: string; result: Preview } | null>(null);
  const previewing = useAction();
  const saving = useAction();

  const proposal = proposalOf(draft, group, matchKind, role, projectRoles);
  const key = JSON.stringify(proposal);
  const grantsNothing = proposal.change !== "delete" && !(proposal.mapping.organizationRole || proposal.mapping.projects?.length);
  const previewed = preview !== null && preview.key === key;
  const saveDisabledReason = grantsNothing ? "A mapping must give an organization role, a project role, or both." : !previewed ? "Preview the change before saving it." : undefined;
  const title = draft.change === "create" ? `New mapping for ${group.displayName}` : draft.change === "edit" ? "Edit the mapping" : "Delete the mapping";
  const matchOptions: Option[] = [
    { id: "group_id", label: "Group id" },
    ...(group.externalId ? [{ id: "external_id", label: "Identity provider's id" }] : []),
    { id: "display_name", label: "Group name" },
  ];

  return (
    <section className="mapping-editor" aria-labelledby="editor-heading">
      <h3 id="editor-heading">{title}</h3>
      {draft.change === "delete" ? (
        <p>Members of {group.displayName} lose what this mapping gives them ({describeGrant(draft.mapping, projectName)}), unless something else grants it.</p>
      ) : (
        <div className="editor-fields">
          {draft.change === "create" ? (
            <Select label="Match the group by" options={matchOptions} value={matchKind} onChange={(v) => setMatchKind(v as Schemas["MappingMatch"]["kind"])} description={MATCH_LABELS[matchKind]} />
          ) : null}
          <Select label="Organization role" options={ORGANIZATION_ROLES} value={role} onChange={setRole} description="Never the Owner: ownership moves only by transfer." />
          {projects.length === 0 ? <p className="hint">No project yet: create projects to map groups onto them.</p> : null}
          {projects.map((project) => (
            <Select key={project.id} label={`Role on ${project.name}`} options={PROJECT_ROLES} value={projectRoles[project.id] ?? "none"} onChange={(v) => setProjectRoles({ ...projectRoles, [project.id]: v })} />
          ))}
        </div>
      )}
      <div className="actions">
        <Button onPress={props.close}>Cancel</Button>
        <Button
          isDisabled={previewing.busy || grantsNothing}
          onPress={() => void previewing.run(async () => {
            const result = await unwrap(api.POST("/mappings/preview", { params: { query: { startIndex: 1, count: 1000 } }, body: proposal }));
            setPreview({ key, result });
          })}
        >
          Preview the effect
        </Button>
        <Button
          variant={draft.change === "delete" ? "danger" : "primary"}
          isDisabled={saving.busy || saveDisabledReason !== undefined}
          aria-describedby={saveDisabledReason ? "save-reason" : undefined}
          onPress={() => void saving.run(async () => {
            if (proposal.change === "create") await unwrap(api.POST("/mappings", { body: proposal.mapping }));
            else if (proposal.change === "edit") await unwrap(api.PATCH("/mappings/{id}", { params: { path: { id: proposal.mappingId } }, body: proposal.mapping }));
            else await unwrap(api.DELETE("/mappings/{id}", { params: { path: { id: proposal.mappingId } } }));
            props.onSaved(draft.change === "delete" ? "Mapping deleted." : "Mapping saved.");
          })}
        >
          {draft.change === "delete" ? "Delete mapping" : "Save mapping"}
        </Button>
      </div>
      {saveDisabledReason ? <p id="save-reason" className="hint">{saveDisabledReason}</p> : null}
      {previewing.error ? <ErrorNotice message={previewing.error} /> : null}
      {saving.error ? <ErrorNotice message={saving.error} /> : null}
      {preview && previewed ? <PreviewTable preview={preview.result} projectName={projectName} /> : null}
    </section>
  );
}

function grantsText(grants: Preview["changes"][number]["gained"], projectName: (id: string) => string): string {
  const parts = [...grants.organizationRoles.map((r) => roleLabel(r)), ...grants.projects.map((p) => `${projectName(p.projectId)}: ${String(p.role)}`)];
  return parts.length ? parts.join(", ") : "—";
}

function accessText(access: Schemas["AccessSummary"]): string {
  return access.organizationRole ? roleLabel(access.organizationRole) : `No access${access.denial ? ` (${access.denial})` : ""}`;
}

function PreviewTable({ preview, projectName }: { preview: Preview; projectName(id: string): string }) {
  if (preview.totalResults === 0) return <Empty>No member's access would change.</Empty>;
  return (
    <div className="table-wrap" role="region" aria-labelledby="preview-heading">
      <h4 id="preview-heading">
        {preview.totalResults === 1 ? "1 member's access would change" : `${preview.totalResults} members' access would change`}
        {preview.totalResults > preview.changes.length ? ` (the first ${preview.changes.length} are shown)` : ""}
      </h4>
      <table>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Organization role now</th>
            <th scope="col">After saving</th>
            <th scope="col">Gains</th>
            <th scope="col">Loses</th>
          </tr>
        </thead>
        <tbody>
          {preview.changes.map((change) => (
            <tr key={change.userId}>
              <td>{change.userName}</td>
              <td>{accessText(change.before)}</td>
              <td>{accessText(change.after)}</td>
              <td>{grantsText(change.gained, projectName)}</td>
              <td>{grantsText(change.lost, projectName)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
