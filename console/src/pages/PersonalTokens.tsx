import { useState } from "react";
import { Form } from "react-aria-components";
import { api, unwrap, type Schemas } from "../api/client";
import { Button, DialogButton, Empty, ErrorNotice, Loading, TextField, SecretShownOnce, useAction } from "../components/ui";
import { useLoad } from "../useLoad";
import { TokenTable } from "../components/TokenTable";

/** A date `days` from today, as the date field wants it (local time). */
function dateIn(days: number): string {
  const day = new Date(Date.now() + days * 24 * 3600_000);
  return new Date(day.getTime() - day.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

/**
 * The member's own personal API tokens (GET/POST/DELETE /me/tokens): created with an expiry (the
 * organization's maximum is the API's to enforce, and its refusal is shown as it is), the secret
 * shown once in the answer that created it, revoked here.
 */
export function PersonalTokens() {
  const { state, reload } = useLoad(() => unwrap(api.GET("/me/tokens")), "me-tokens");
  const [issued, setIssued] = useState<Schemas["IssuedPersonalToken"] | null>(null);
  const revoke = useAction();
  return (
    <section aria-labelledby="tokens-heading" className="card">
      <div className="page-head">
        <h2 id="tokens-heading">Your personal API tokens</h2>
        <DialogButton label="Create personal token" title="Create a personal API token" variant="primary">
          {(close) => (
            <CreateToken
              close={close}
              onCreated={(token) => {
                setIssued(token);
                reload();
              }}
            />
          )}
        </DialogButton>
      </div>
      <p className="hint">A token acts as you, with your access at each request and never more: a suspension or a lowered role applies to it at once.</p>
      {issued ? (
        <SecretShownOnce label="New personal token" value={issued.token} onDone={() => setIssued(null)}>
          <strong>Copy the token “{issued.name}” now: it is not shown again.</strong>
        </SecretShownOnce>
      ) : null}
      {state.status === "loading" ? <Loading what="your tokens" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {revoke.error ? <ErrorNotice message={revoke.error} /> : null}
      {state.status === "ready" ? (
        state.data.tokens.length === 0 ? (
          <Empty>You have no personal API token.</Empty>
        ) : (
          <TokenTable tokens={state.data.tokens} busy={revoke.busy} onRevoke={(token) => void revoke.run(() => unwrap(api.DELETE("/me/tokens/{id}", { params: { path: { id: token.id } } }))).then(reload)} />
        )
      ) : null}
    </section>
  );
}

function CreateToken({ close, onCreated }: { close(): void; onCreated(token: Schemas["IssuedPersonalToken"]): void }) {
  const [name, setName] = useState("");
  const [expires, setExpires] = useState(dateIn(30));
  const create = useAction();
  return (
    <Form
      onSubmit={(event) => {
        event.preventDefault();
        void create.run(async () => {
          const token = await unwrap(api.POST("/me/tokens", { body: { ...(name.trim() ? { name: name.trim() } : {}), expires: new Date(`${expires}T23:59:59`).toISOString() } }));
          onCreated(token);
          close();
        });
      }}
    >
      <TextField label="Name" value={name} onChange={setName} autoFocus description="Say what uses it, e.g. “reporting script”." />
      <TextField label="Expires" type="date" value={expires} onChange={setExpires} isRequired description="Required; at most the organization's maximum ahead (90 days unless an administrator changed it)." />
      {create.error ? <ErrorNotice message={create.error} /> : null}
      <div className="actions">
        <Button onPress={close}>Cancel</Button>
        <Button type="submit" variant="primary" isDisabled={create.busy || !expires}>
          Create
        </Button>
      </div>
    </Form>
  );
}
