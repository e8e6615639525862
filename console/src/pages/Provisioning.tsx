import { useState } from "react";
import { Form } from "react-aria-components";
import { api, unwrap, type Schemas } from "../api/client";
import { Button, CopyValue, DialogButton, Empty, ErrorNotice, Loading, TextField, SecretShownOnce, useAction } from "../components/ui";
import { useLoad } from "../useLoad";
import { TokenTable } from "../components/TokenTable";
import { ProvisioningActivity } from "./ProvisioningActivity";

/**
 * SCIM provisioning: the base URL and the tokens Okta or Entra ID authenticate with. A new token's
 * secret is shown once, in the answer that created it; the list never has it.
 */
export function ProvisioningPage() {
  const { state, reload } = useLoad(() => unwrap(api.GET("/scim-tokens")), "tokens");
  const [issued, setIssued] = useState<Schemas["IssuedToken"] | null>(null);
  const revoke = useAction();
  const baseUrl = `${window.location.origin}/scim/v2`;

  return (
    <main id="main">
      <h1>Provisioning</h1>
      <section className="card" aria-labelledby="scim-heading">
        <h2 id="scim-heading">SCIM connection</h2>
        <p>Give your identity provider this base URL and a token below (Okta: “SCIM connector base URL”, Entra ID: “Tenant URL”).</p>
        <CopyValue label="SCIM base URL" value={baseUrl} />
      </section>
      <section className="card" aria-labelledby="activity-heading">
        <h2 id="activity-heading">Recent provisioning activity</h2>
        <ProvisioningActivity />
      </section>
      <section className="card" aria-labelledby="tokens-heading">
        <div className="page-head">
          <h2 id="tokens-heading">SCIM tokens</h2>
          <DialogButton label="Create token" title="Create a SCIM token" variant="primary">
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
        {issued ? (
          <SecretShownOnce label="New SCIM token" value={issued.token} onDone={() => setIssued(null)}>
            <strong>Copy the token “{issued.name}” now: it is not shown again.</strong>
          </SecretShownOnce>
        ) : null}
        {state.status === "loading" ? <Loading what="SCIM tokens" /> : null}
        {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
        {revoke.error ? <ErrorNotice message={revoke.error} /> : null}
        {state.status === "ready" ? (
          state.data.tokens.length === 0 ? (
            <Empty>No SCIM token yet: create one for your identity provider.</Empty>
          ) : (
            <TokenTable tokens={state.data.tokens} busy={revoke.busy} onRevoke={(token) => void revoke.run(() => unwrap(api.DELETE("/scim-tokens/{id}", { params: { path: { id: token.id } } }))).then(reload)} />
          )
        ) : null}
      </section>
    </main>
  );
}

function CreateToken({ close, onCreated }: { close(): void; onCreated(token: Schemas["IssuedToken"]): void }) {
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const create = useAction();
  return (
    <Form
      onSubmit={(event) => {
        event.preventDefault();
        void create.run(async () => {
          const token = await unwrap(api.POST("/scim-tokens", { body: { name: name.trim(), ...(expires ? { expires: new Date(`${expires}T23:59:59`).toISOString() } : {}) } }));
          onCreated(token);
          close();
        });
      }}
    >
      <TextField label="Name" value={name} onChange={setName} isRequired autoFocus description="Say which connection uses it, e.g. “Okta production”." />
      <TextField label="Expires" type="date" value={expires} onChange={setExpires} description="Leave empty for a token that does not expire." />
      {create.error ? <ErrorNotice message={create.error} /> : null}
      <div className="actions">
        <Button onPress={close}>Cancel</Button>
        <Button type="submit" variant="primary" isDisabled={create.busy}>
          Create
        </Button>
      </div>
    </Form>
  );
}
