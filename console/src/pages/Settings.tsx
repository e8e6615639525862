import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { roleId, roleLabel } from "../access-words";
import { Button, ErrorNotice, Loading, Select, Switch, useAction } from "../components/ui";
import { useLoad } from "../useLoad";

const DEFAULT_ROLES = ["none", "read_only", "user"].map((id) => ({ id, label: roleLabel(id) }));

/** The organization's settings, and seat usage against the operator's limit. */
export function SettingsPage() {
  const { state, reload } = useLoad(async () => {
    const [settings, members] = await Promise.all([unwrap(api.GET("/settings")), unwrap(api.GET("/users", { params: { query: { count: 0 } } }))]);
    return { settings, seatsUsed: members.totalResults };
  }, "settings");
  return (
    <main id="main">
      <h1>Settings</h1>
      {state.status === "loading" ? <Loading what="settings" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? <SettingsForm settings={state.data.settings} seatsUsed={state.data.seatsUsed} onSaved={reload} /> : null}
    </main>
  );
}

function SettingsForm({ settings, seatsUsed, onSaved }: { settings: Schemas["Settings"]; seatsUsed: number; onSaved(): void }) {
  const [draft, setDraft] = useState(settings);
  useEffect(() => setDraft(settings), [settings]);
  const save = useAction();
  const [saved, setSaved] = useState(false);
  return (
    <>
      <section className="card" aria-labelledby="seats-heading">
        <h2 id="seats-heading">Seats</h2>
        <p>
          {seatsUsed} {seatsUsed === 1 ? "member" : "members"}
          {settings.seatLimit === null ? " (no seat limit)" : ` of ${settings.seatLimit} seats`}.
        </p>
      </section>
      <section className="card" aria-labelledby="access-heading">
        <h2 id="access-heading">Access</h2>
        <Select label="Default role" options={DEFAULT_ROLES} value={roleId(draft.defaultRole) ?? "none"} onChange={(defaultRole) => setDraft({ ...draft, defaultRole })} description="The role of a member no grant or mapping gives one." />
        <Switch label="Read-only members may comment" isSelected={draft.readOnlyMayComment} onChange={(readOnlyMayComment) => setDraft({ ...draft, readOnlyMayComment })} description="Lets Read-only members comment on reports." />
        <Switch
          label="Require a mapped group"
          isSelected={draft.requireMappingForAccess}
          onChange={(requireMappingForAccess) => setDraft({ ...draft, requireMappingForAccess })}
          description="Members the identity provider manages get access only through a group mapping, never the default role."
        />
        {save.error ? <ErrorNotice message={save.error} /> : null}
        {saved ? <p role="status">Settings saved.</p> : null}
        <Button
          variant="primary"
          isDisabled={save.busy}
          onPress={() => {
            setSaved(false);
            void save
              .run(() => unwrap(api.PATCH("/settings", { body: { defaultRole: draft.defaultRole, readOnlyMayComment: draft.readOnlyMayComment, requireMappingForAccess: draft.requireMappingForAccess } })))
              .then((ok) => {
                if (ok) {
                  setSaved(true);
                  onSaved();
                }
              });
          }}
        >
          Save settings
        </Button>
      </section>
    </>
  );
}
