import { useEffect, useRef, useState } from "react";
import { Form } from "react-aria-components";
import { api, unwrap, type Member, type Schemas } from "../api/client";
import { PROJECT_ROLE_OPTIONS, roleId, roleLabel } from "../access-words";
import { Badge, Button, DialogButton, Empty, ErrorNotice, formatTime, Loading, Select, TextField, useAction } from "../components/ui";
import { useIsAdministrator, useMay, useSession, useSignedIn } from "../session";
import { useLoad } from "../useLoad";

const PAGE_SIZE = 25;
const GRANTABLE_ROLES = ["read_only", "user", "admin"].map((id) => ({ id, label: roleLabel(id) }));

/** Where a member comes from, as the Members table shows it. */
export function sourceOf(member: Pick<Member, "managedBy" | "managedVia">): string {
  if (member.managedBy === "scim") return `SCIM${member.managedVia ? ` (${member.managedVia})` : ""}`;
  if (member.managedBy === "saml") return "SAML just-in-time";
  return "Local";
}

const STATUS_FILTERS = [
  { id: "all", label: "Any status" },
  { id: "active", label: "Active" },
  { id: "suspended", label: "Suspended" },
  { id: "deactivated", label: "Deactivated" },
];

function StatusBadge({ member }: { member: Member }) {
  if (member.status === "suspended") return <Badge tone="warning">Suspended</Badge>;
  if (member.status === "deactivated") return <Badge tone="danger">Deactivated</Badge>;
  return <Badge tone="ok">Active</Badge>;
}

/** Who suspended a member, when and why, in a sentence (parts Gatehouse did not keep are left out). */
function describeSuspension(suspended: NonNullable<Member["suspended"]>): string {
  const when = suspended.since ? ` since ${formatTime(suspended.since)}` : "";
  const by = suspended.by ? ` by ${suspended.by.name}` : "";
  const why = suspended.reason ? `: “${suspended.reason}”` : "";
  return `Suspended${when}${by}${why}.`;
}

const managedByLabel = (member: Member) => member.managedVia ?? (member.managedBy === "saml" ? "SAML sign-in" : "the identity provider");

/**
 * The member list (GET /users, keyset paging with `nextCursor`), searchable; each member's
 * controls in a dialog. Members an identity provider manages keep their role and projects there.
 */
export function MembersPage() {
  const isAdministrator = useIsAdministrator();
  const may = useMay();
  const [query, setQuery] = useState("");
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("all");
  // The cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const { state, reload } = useLoad(
    () => unwrap(api.GET("/users", { params: { query: { count: PAGE_SIZE, ...(search ? { q: search } : {}), ...(status !== "all" ? { status: status as Member["status"] } : {}), ...(cursor ? { cursor } : {}) } } })),
    `${search}|${status}|${cursor ?? ""}`,
  );

  if (!isAdministrator) {
    return (
      <main id="main">
        <h1>Members</h1>
        <p>Only Admins and the Owner see the member list.</p>
      </main>
    );
  }

  return (
    <main id="main">
      <div className="page-head">
        <h1>Members</h1>
        {may("add_users") ? (
          <DialogButton label="Invite member" title="Invite a member" variant="primary">
            {(close) => <InviteForm close={close} onInvited={reload} />}
          </DialogButton>
        ) : null}
      </div>
      <Form
        role="search"
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          setCursors([]);
          setSearch(query.trim());
        }}
      >
        <TextField label="Search members" type="search" value={query} onChange={setQuery} description="Names, user names and emails." />
        <Button type="submit">Search</Button>
        <Select
          label="Status"
          options={STATUS_FILTERS}
          value={status}
          onChange={(value) => {
            setCursors([]);
            setStatus(value);
          }}
        />
      </Form>
      {state.status === "loading" ? <Loading what="members" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        state.data.users.length === 0 ? (
          <Empty>{search || status !== "all" ? `No member matches${search ? ` “${search}”` : ""}${status !== "all" ? ` with status ${status}` : ""}.` : "The organization has no members yet."}</Empty>
        ) : (
          <>
            <p className="hint" role="status">
              {state.data.totalResults} {state.data.totalResults === 1 ? "member" : "members"}
              {search ? ` matching “${search}”` : ""}
              {status !== "all" ? ` with status ${status}` : ""}; page {cursors.length + 1}.
            </p>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">User name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Projects</th>
                    <th scope="col">Status</th>
                    <th scope="col">Source</th>
                    <th scope="col">Last sign-in</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {state.data.users.map((member) => (
                    <tr key={member.id}>
                      <td>{member.displayName ?? "—"}</td>
                      <td>{member.userName}</td>
                      <td>{member.isOwner ? "Owner" : roleLabel(member.role)}</td>
                      <td>{member.allProjects ? "All" : member.projects.length}</td>
                      <td>
                        <StatusBadge member={member} />
                      </td>
                      <td>{member.managedBy === "local" ? "Local" : <Badge tone="managed">Managed by {managedByLabel(member)}</Badge>}</td>
                      <td>{formatTime(member.lastLogin)}</td>
                      <td>
                        <DialogButton label="Manage" ariaLabel={`Manage ${member.userName}`} title={member.displayName ?? member.userName}>
                          {(close) => <MemberControls member={member} close={close} onChanged={reload} />}
                        </DialogButton>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="pager">
              <Button isDisabled={cursors.length === 0} onPress={() => setCursors(cursors.slice(0, -1))}>
                Previous page
              </Button>
              <Button isDisabled={!state.data.nextCursor} onPress={() => state.data.nextCursor && setCursors([...cursors, state.data.nextCursor])}>
                Next page
              </Button>
            </div>
          </>
        )
      ) : null}
    </main>
  );
}

function InviteForm({ close, onInvited }: { close(): void; onInvited(): void }) {
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [role, setRole] = useState("user");
  const invite = useAction();
  return (
    <Form
      onSubmit={(event) => {
        event.preventDefault();
        void invite
          .run(() => unwrap(api.POST("/users", { body: { email: email.trim(), role, ...(displayName.trim() ? { displayName: displayName.trim() } : {}) } })))
          .then((ok) => {
            if (ok) {
              onInvited();
              close();
            }
          });
      }}
    >
      <TextField label="Email" type="email" value={email} onChange={setEmail} isRequired autoFocus />
      <TextField label="Display name" value={displayName} onChange={setDisplayName} />
      <Select label="Role" options={GRANTABLE_ROLES} value={role} onChange={setRole} description="Never above your own role." />
      {invite.error ? <ErrorNotice message={invite.error} /> : null}
      <div className="actions">
        <Button onPress={close}>Cancel</Button>
        <Button type="submit" variant="primary" isDisabled={invite.busy}>
          Invite
        </Button>
      </div>
    </Form>
  );
}

/** One member's controls; those the signed-in person may not use are disabled with the reason. */
function MemberControls({ member, close, onChanged }: { member: Member; close(): void; onChanged(): void }) {
  const { session } = useSignedIn();
  const may = useMay();
  const managed = member.managedBy !== "local";
  const self = member.id === session.user.id;
  const [role, setRole] = useState(roleId(member.role) && member.role !== "owner" ? roleId(member.role)! : "user");
  const [reason, setReason] = useState("");
  const [until, setUntil] = useState("");
  const [temporaryRole, setTemporaryRole] = useState("admin");
  const action = useAction();
  const [done, setDone] = useState<string | null>(null);
  // The outcome takes the focus once per change: the button pressed may have gone (Suspend → Lift)
  // or been disabled while it saved, which would leave the keyboard outside the dialog.
  const statusRef = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (done) statusRef.current?.focus();
  }, [done]);

  const roleDisabledReason = managed
    ? `Managed by ${managedByLabel(member)}: the role and projects come from the identity provider's groups and Gatehouse's group mappings. Change the person's groups there, or the mapping.`
    : member.isOwner
      ? "Ownership moves only by transfer."
      : !member.editable
        ? "You may not change this member's role."
        : undefined;
  const overlayDisabledReason = member.isOwner ? "The Owner cannot be suspended or given temporary access." : self ? "Not on yourself." : undefined;

  const change = (what: string, call: () => Promise<unknown>, closeAfter = false) => {
    setDone(null);
    void action.run(call).then((ok) => {
      if (!ok) return;
      setDone(what);
      onChanged();
      if (closeAfter) close();
    });
  };

  return (
    <div className="member-controls">
      <p>
        {member.userName} · {member.isOwner ? "Owner" : roleLabel(member.role)} · {member.status}
      </p>
      {member.suspended ? <p className="state state-empty">{describeSuspension(member.suspended)}</p> : null}
      {managed ? <Badge tone="managed">Managed by {managedByLabel(member)}</Badge> : null}

      <section aria-label="Role">
        <Select label="Organization role" options={GRANTABLE_ROLES} value={role} onChange={setRole} isDisabled={roleDisabledReason !== undefined} {...(roleDisabledReason ? { description: roleDisabledReason } : {})} />
        <Button
          variant="primary"
          isDisabled={roleDisabledReason !== undefined || action.busy}
          onPress={() => change("Role changed.", () => unwrap(api.PUT("/users/{id}", { params: { path: { id: member.id } }, body: { role, ...(reason ? { reason } : {}) } })))}
        >
          Change role
        </Button>
      </section>

      {!managed && !member.isOwner ? (
        <ProjectAssignments member={member} disabledReason={roleDisabledReason} busy={action.busy} onSave={(projects) => change("Projects changed.", () => unwrap(api.PUT("/users/{id}", { params: { path: { id: member.id } }, body: { projects, ...(reason ? { reason } : {}) } })))} />
      ) : null}

      <TextField label="Reason" value={reason} onChange={setReason} description="Recorded in the audit trail with the change (required for temporary access)." />

      <section aria-label="Suspension" className="actions">
        {/* Suspend is offered to active members only, Lift to suspended ones only. */}
        {member.status === "active" ? (
          <Button
            isDisabled={overlayDisabledReason !== undefined || action.busy}
            onPress={() => change("Suspended.", () => unwrap(api.POST("/users/{id}/suspend", { params: { path: { id: member.id } }, body: reason ? { reason } : {} })))}
          >
            Suspend
          </Button>
        ) : null}
        {member.status === "suspended" ? (
          <Button
            isDisabled={overlayDisabledReason !== undefined || action.busy}
            onPress={() => change("Suspension lifted.", () => unwrap(api.POST("/users/{id}/unsuspend", { params: { path: { id: member.id } }, body: reason ? { reason } : {} })))}
          >
            Lift suspension
          </Button>
        ) : null}
        {!managed ? (
          <Button
            variant="danger"
            isDisabled={!may("remove_users") || member.isOwner || self || action.busy}
            onPress={() => change("Removed.", () => unwrap(api.DELETE("/users/{id}", { params: { path: { id: member.id }, query: reason ? { reason } : {} } })), true)}
          >
            Remove from organization
          </Button>
        ) : null}
      </section>
      {overlayDisabledReason ? <p className="hint">{overlayDisabledReason}</p> : null}
      {member.status === "deactivated" ? <p className="hint">A deactivated member has no access to suspend; the identity provider (or an operator) reactivates them.</p> : null}
      {managed ? <p className="hint">Members managed by the identity provider are removed there (unassign them from the app); suspension works here too.</p> : null}

      <section aria-label="Temporary access" className="temporary">
        <h3>Temporary access</h3>
        <Select label="Temporary role" options={GRANTABLE_ROLES} value={temporaryRole} onChange={setTemporaryRole} isDisabled={overlayDisabledReason !== undefined} />
        <TextField label="Until" type="datetime-local" value={until} onChange={setUntil} isDisabled={overlayDisabledReason !== undefined} />
        <Button
          isDisabled={overlayDisabledReason !== undefined || !until || !reason || action.busy}
          onPress={() =>
            change("Temporary access granted.", () =>
              unwrap(api.POST("/users/{id}/temporary-access", { params: { path: { id: member.id } }, body: { role: temporaryRole, until: new Date(until).toISOString(), reason } })),
            )
          }
        >
          Grant temporary access
        </Button>
      </section>

      {may("transfer_ownership") && !self ? <OwnershipTransfer member={member} onTransferred={onChanged} /> : null}

      {action.error ? <ErrorNotice message={action.error} /> : null}
      {done ? (
        <p role="status" tabIndex={-1} ref={statusRef}>
          {done}
        </p>
      ) : null}
      <div className="actions">
        <Button onPress={close}>Close</Button>
      </div>
    </div>
  );
}

/** The Owner hands ownership to another member, after confirming; the former Owner becomes an Admin. */
function OwnershipTransfer({ member, onTransferred }: { member: Member; onTransferred(): void }) {
  const { reload } = useSession();
  const [confirming, setConfirming] = useState(false);
  const transfer = useAction();
  const unavailable = !member.active ? "Only an active member can become the Owner." : undefined;
  return (
    <section aria-label="Ownership" className="temporary">
      <h3>Ownership</h3>
      {confirming ? (
        <>
          <p role="alert">
            {member.userName} becomes the Owner of the organization and you become an Admin. Only the new Owner can give ownership back.
          </p>
          <div className="actions">
            <Button onPress={() => setConfirming(false)}>Cancel</Button>
            <Button
              variant="danger"
              isDisabled={transfer.busy}
              onPress={() =>
                void transfer.run(() => unwrap(api.POST("/ownership/transfer", { body: { userId: member.id } }))).then((ok) => {
                  if (!ok) return;
                  onTransferred();
                  // The signed-in person's own role has changed: the console offers what an Admin may do.
                  reload();
                })
              }
            >
              Confirm transfer to {member.userName}
            </Button>
          </div>
        </>
      ) : (
        <Button isDisabled={unavailable !== undefined} onPress={() => setConfirming(true)}>
          Transfer ownership…
        </Button>
      )}
      {unavailable ? <p className="hint">{unavailable}</p> : null}
      {transfer.error ? <ErrorNotice message={transfer.error} /> : null}
    </section>
  );
}

/**
 * A local member's projects: one role per project of the organization (“No access” for none),
 * saved together — `PUT /users/{id}` replaces the member's local project assignments. An Admin's
 * or the Owner's role reaches every project anyway; the page says so rather than hide the control.
 */
function ProjectAssignments({ member, disabledReason, busy, onSave }: { member: Member; disabledReason: string | undefined; busy: boolean; onSave(projects: NonNullable<Schemas["ChangeAccessRequest"]["projects"]>): void }) {
  const { state } = useLoad(() => unwrap(api.GET("/projects")), "projects");
  const [roles, setRoles] = useState<Record<string, string>>(() => Object.fromEntries(member.projects.map((p) => [p.id, String(p.role)])));
  return (
    <section aria-labelledby={`projects-of-${member.id}`}>
      <h3 id={`projects-of-${member.id}`}>Projects</h3>
      {member.allProjects ? <p className="hint">Their role reaches every project; assignments here count once the role is lower.</p> : null}
      {state.status === "loading" ? <Loading what="projects" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        state.data.projects.length === 0 ? (
          <Empty>No project yet.</Empty>
        ) : (
          <>
            {state.data.projects.map((project) => (
              <Select
                key={project.id}
                label={`Role on ${project.name}`}
                options={PROJECT_ROLE_OPTIONS}
                value={roles[project.id] ?? "none"}
                onChange={(role) => setRoles({ ...roles, [project.id]: role })}
                isDisabled={disabledReason !== undefined}
              />
            ))}
            <Button
              isDisabled={disabledReason !== undefined || busy}
              onPress={() => onSave(Object.entries(roles).filter(([id, role]) => role !== "none" && state.data.projects.some((p) => p.id === id)).map(([id, role]) => ({ id, role })) as NonNullable<Schemas["ChangeAccessRequest"]["projects"]>)}
            >
              Save projects
            </Button>
            {disabledReason ? <p className="hint">{disabledReason}</p> : null}
          </>
        )
      ) : null}
    </section>
  );
}
