import { useEffect, useState } from "react";
import { Form, Label, Meter } from "react-aria-components";
import { api, unwrap, type Schemas } from "../api/client";
import { roleId, roleLabel } from "../access-words";
import { Button, ErrorNotice, Loading, Select, Switch, TextField, useAction } from "../components/ui";
import { useMay } from "../session";
import { useLoad } from "../useLoad";

const DEFAULT_ROLES = ["none", "read_only", "user"].map((id) => ({ id, label: roleLabel(id) }));

/**
 * The organization's name and settings, seat usage against the operator's limit, and the sign-in
 * policy (require single sign-on). All of it needs `modify_account_settings`, as the API says.
 */
export function SettingsPage() {
  const may = useMay();
  const mayChange = may("modify_account_settings");
  const { state, reload } = useLoad(async () => {
    const [settings, policy] = await Promise.all([unwrap(api.GET("/settings")), mayChange ? unwrap(api.GET("/sign-in-policy")) : Promise.resolve(null)]);
    return { settings, policy };
  }, `settings:${mayChange}`);
  return (
    <main id="main">
      <h1>Settings</h1>
      {state.status === "loading" ? <Loading what="settings" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        <>
          <OrganizationName name={state.data.settings.name} mayChange={mayChange} onSaved={reload} />
          <Seats used={state.data.settings.seatsUsed} limit={state.data.settings.seatLimit} />
          <AccessSettingsForm settings={state.data.settings} mayChange={mayChange} onSaved={reload} />
          {state.data.policy && mayChange ? <SignInPolicySwitch policy={state.data.policy} /> : null}
        </>
      ) : null}
    </main>
  );
}

function OrganizationName({ name, mayChange, onSaved }: { name: string; mayChange: boolean; onSaved(): void }) {
  const [draft, setDraft] = useState(name);
  useEffect(() => setDraft(name), [name]);
  const save = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="organization-heading">
      <h2 id="organization-heading">Organization</h2>
      <Form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(null);
          void save.run(async () => {
            const answered = await unwrap(api.PATCH("/settings", { body: { name: draft } }));
            setSaved(answered.name);
            onSaved();
          });
        }}
      >
        <TextField label="Organization name" value={draft} onChange={setDraft} isRequired isDisabled={!mayChange} description="As your members see it, on the sign-in page and here." />
        <Button type="submit" isDisabled={!mayChange || save.busy || draft.trim() === name}>
          Rename
        </Button>
      </Form>
      {save.error ? <ErrorNotice message={save.error} /> : null}
      {saved ? <p role="status">The organization is now called {saved}.</p> : null}
    </section>
  );
}

/** Seats taken (active members, suspended ones included) against the operator's limit: a meter, or “no limit”. */
function Seats({ used, limit }: { used: number; limit: number | null }) {
  const seats = (n: number) => `${n} ${n === 1 ? "seat" : "seats"}`;
  return (
    <section className="card" aria-labelledby="seats-heading">
      <h2 id="seats-heading">Seats</h2>
      {limit === null ? (
        <p>{seats(used)} used; no limit.</p>
      ) : (
        <Meter className="meter" value={used} minValue={0} maxValue={limit} valueLabel={`${used} of ${seats(limit)} used`}>
          {({ percentage, valueText }) => (
            <>
              <span className="meter-label">
                <Label>Seats used</Label>
                <span>{valueText}</span>
              </span>
              <span className="meter-track" aria-hidden="true">
                <span className={`meter-fill${used >= limit ? " meter-fill-full" : ""}`} style={{ width: `${percentage}%` }} />
              </span>
            </>
          )}
        </Meter>
      )}
      <p className="hint">Every active member takes a seat, a suspended one too; the limit is set by your Gatehouse operator.</p>
    </section>
  );
}

function AccessSettingsForm({ settings, mayChange, onSaved }: { settings: Schemas["Settings"]; mayChange: boolean; onSaved(): void }) {
  const [draft, setDraft] = useState(settings);
  useEffect(() => setDraft(settings), [settings]);
  const save = useAction();
  const [saved, setSaved] = useState(false);
  return (
    <section className="card" aria-labelledby="access-heading">
      <h2 id="access-heading">Access</h2>
      <Select label="Default role" options={DEFAULT_ROLES} value={roleId(draft.defaultRole) ?? "none"} onChange={(defaultRole) => setDraft({ ...draft, defaultRole })} isDisabled={!mayChange} description="The role of a member no grant or mapping gives one." />
      <Switch label="Read-only members may comment" isSelected={draft.readOnlyMayComment} onChange={(readOnlyMayComment) => setDraft({ ...draft, readOnlyMayComment })} isDisabled={!mayChange} description="Lets Read-only members comment on reports." />
      <Switch
        label="Require a mapped group"
        isSelected={draft.requireMappingForAccess}
        onChange={(requireMappingForAccess) => setDraft({ ...draft, requireMappingForAccess })}
        isDisabled={!mayChange}
        description="Members the identity provider manages get access only through a group mapping, never the default role."
      />
      {save.error ? <ErrorNotice message={save.error} /> : null}
      {saved ? <p role="status">Settings saved.</p> : null}
      <Button
        variant="primary"
        isDisabled={!mayChange || save.busy}
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
  );
}

/** Require single sign-on: takes effect when switched, as the API answers it. */
function SignInPolicySwitch({ policy }: { policy: Schemas["SignInPolicy"] }) {
  const [requireSso, setRequireSso] = useState(policy.requireSso);
  const change = useAction();
  const [changed, setChanged] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="sign-in-heading">
      <h2 id="sign-in-heading">Sign-in</h2>
      <Switch
        label="Require single sign-on"
        isSelected={requireSso}
        isDisabled={change.busy}
        onChange={(wanted) => {
          setChanged(null);
          void change.run(async () => {
            const answered = await unwrap(api.PUT("/sign-in-policy", { body: { requireSso: wanted } }));
            setRequireSso(answered.requireSso);
            setChanged(answered.requireSso ? "Single sign-on is now required." : "Single sign-on is no longer required.");
          });
        }}
        description="Everyone but the Owner must sign in through your identity provider: break-glass sign-in links and personal API tokens then work for the Owner only."
      />
      {change.error ? <ErrorNotice message={change.error} /> : null}
      {changed ? <p role="status">{changed}</p> : null}
    </section>
  );
}
