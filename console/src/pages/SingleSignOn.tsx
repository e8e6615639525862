import { useState } from "react";
import { FileTrigger, Form } from "react-aria-components";
import { api, messageOf, unwrap, type Schemas } from "../api/client";
import { Button, CopyValue, Empty, ErrorNotice, formatTime, Loading, Select, Switch, TextField, useAction } from "../components/ui";
import { useMay, useSignedIn } from "../session";
import { useLoad } from "../useLoad";
import { CertificateExpiryBadge, CertificateExpiryNotice } from "./SingleSignOnCertificates";
import { TestSignIn } from "./SingleSignOnTest";

type Connection = Schemas["SamlConnection"];

/** Gatehouse's own values, read from its metadata (served before any connection exists: Okta asks for them first). */
async function serviceProviderFromMetadata(metadataUrl: string): Promise<{ entityId: string; acsUrl: string }> {
  const response = await fetch(metadataUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`The metadata could not be read: the server answered ${response.status}`);
  const xml = new DOMParser().parseFromString(await response.text(), "application/xml");
  const entityId = xml.documentElement.getAttribute("entityID") ?? "";
  const acsUrl = xml.getElementsByTagNameNS("*", "AssertionConsumerService")[0]?.getAttribute("Location") ?? "";
  return { entityId, acsUrl };
}

/**
 * Single sign-on set-up in the order an IT administrator works: Gatehouse's values to copy and
 * its metadata, then the identity provider's metadata, then the switches.
 */
export function SingleSignOnPage() {
  const { session } = useSignedIn();
  const may = useMay();
  const metadataUrl = `/auth/saml/${encodeURIComponent(session.organizationId)}/metadata`;
  const { state, reload } = useLoad(async () => {
    const { data, error, response } = await api.GET("/saml-connection");
    if (response.status === 404) return { connection: null, serviceProvider: await serviceProviderFromMetadata(metadataUrl) };
    if (!data) throw new Error(messageOf(error, response));
    return { connection: data, serviceProvider: data.serviceProvider };
  }, "saml");

  return (
    <main id="main">
      <h1>Single sign-on</h1>
      {state.status === "loading" ? <Loading what="the SAML connection" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        <>
          {state.data.connection ? <CertificateExpiryNotice connection={state.data.connection} /> : null}
          <section className="card" aria-labelledby="sp-heading">
            <h2 id="sp-heading">1. Give your identity provider these values</h2>
            <CopyValue label="Single sign-on URL (ACS)" value={state.data.serviceProvider.acsUrl} />
            <CopyValue label="Audience URI (SP entity id)" value={state.data.serviceProvider.entityId} />
            {"logoutUrl" in state.data.serviceProvider ? <CopyValue label="Single logout URL" value={state.data.serviceProvider.logoutUrl} /> : null}
            <p>
              <a href={metadataUrl} download="gatehouse-metadata.xml">
                Download Gatehouse's SAML metadata
              </a>{" "}
              (Entra ID: “Upload metadata file”).
            </p>
          </section>
          {state.data.connection ? <ConnectionSummary connection={state.data.connection} /> : <Empty>Single sign-on is not configured yet.</Empty>}
          {state.data.connection ? <TestSignIn /> : null}
          <ConfigureConnection connection={state.data.connection} onSaved={reload} />
          {may("modify_account_settings") ? <EmailDomains /> : null}
        </>
      ) : null}
    </main>
  );
}

function ConnectionSummary({ connection }: { connection: Connection }) {
  return (
    <section className="card" aria-labelledby="idp-heading">
      <h2 id="idp-heading">Connected identity provider</h2>
      <dl className="facts">
        <dt>Entity id</dt>
        <dd>{connection.idpEntityId}</dd>
        <dt>Sign-in URL</dt>
        <dd>{connection.ssoUrl}</dd>
        <dt>Signatures required on</dt>
        <dd>{connection.signatures}</dd>
      </dl>
      <h3>Certificates</h3>
      <ul>
        {connection.certificates.map((certificate) => (
          <li key={certificate.pem}>
            {certificate.subject}, valid until {formatTime(certificate.validTo)} <CertificateExpiryBadge certificate={certificate} />
          </li>
        ))}
      </ul>
    </section>
  );
}

const SIGNATURES = [
  { id: "assertion", label: "The assertion" },
  { id: "response", label: "The response" },
  { id: "both", label: "Both" },
];

function ConfigureConnection({ connection, onSaved }: { connection: Connection | null; onSaved(): void }) {
  const [metadata, setMetadata] = useState("");
  const [jit, setJit] = useState(connection?.jit ?? false);
  const [groupSync, setGroupSync] = useState(connection?.groupSync ?? false);
  const [idpInitiated, setIdpInitiated] = useState(connection?.idpInitiated ?? false);
  const [signatures, setSignatures] = useState<string>(connection?.signatures ?? "assertion");
  const save = useAction();
  const [saved, setSaved] = useState(false);
  return (
    <section className="card" aria-labelledby="configure-heading">
      <h2 id="configure-heading">2. {connection ? "Replace" : "Add"} the identity provider's metadata</h2>
      <Form
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(false);
          void save
            .run(async () => {
              const { error, response } = await api.PUT("/saml-connection", {
                body: { idpMetadataXml: metadata, jit, groupSync, idpInitiated, signatures: signatures as Schemas["SamlSignatureRequirement"] },
              });
              if (!response.ok) throw new Error(messageOf(error, response));
            })
            .then((ok) => {
              if (!ok) return;
              setSaved(true);
              onSaved();
            });
        }}
      >
        <FileTrigger acceptedFileTypes={[".xml", "application/xml", "text/xml", "application/samlmetadata+xml"]} onSelect={(files) => void files?.[0]?.text().then(setMetadata)}>
          <Button>Choose metadata file…</Button>
        </FileTrigger>
        <TextField label="Identity provider metadata (XML)" multiline value={metadata} onChange={setMetadata} isRequired description="Paste it, or choose the file Okta or Entra ID gives you." />
        <Switch label="Just-in-time creation" isSelected={jit} onChange={setJit} description="Creates a member at their first sign-in when SCIM has not provisioned them." />
        <Switch label="Group sync at sign-in" isSelected={groupSync} onChange={setGroupSync} description="Takes the person's groups from the assertion at every sign-in, for group mappings." />
        <Switch
          label="Sign-in started at the identity provider"
          isSelected={idpInitiated}
          onChange={setIdpInitiated}
          description="Accepts sign-ins from the identity provider's app tile. Warning: such an answer was not asked for, so a stolen one can be replayed until it expires."
        />
        <Select label="Signature required on" options={SIGNATURES} value={signatures} onChange={setSignatures} description="What the identity provider must sign; anything unsigned is refused." />
        {save.error ? <ErrorNotice message={save.error} /> : null}
        {saved ? <p role="status">The connection is saved.</p> : null}
        <Button type="submit" variant="primary" isDisabled={save.busy || !metadata.trim()}>
          Save connection
        </Button>
      </Form>
    </section>
  );
}

/**
 * The organization's email domains (`modify_account_settings`): the sign-in page sends a person
 * with an address at one of them to this connection. A domain belongs to one organization: the
 * API's refusal (another organization declared it, a public mailbox provider) is shown as it is.
 */
function EmailDomains() {
  const { state, reload } = useLoad(() => unwrap(api.GET("/email-domains")), "email-domains");
  const [domain, setDomain] = useState("");
  const add = useAction();
  const remove = useAction();
  const [done, setDone] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="domains-heading">
      <h2 id="domains-heading">3. Email domains</h2>
      <p className="hint">People who sign in with an address at one of these domains are sent to your identity provider from the sign-in page. A domain belongs to one organization.</p>
      {state.status === "loading" ? <Loading what="the email domains" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        state.data.domains.length ? (
          <ul className="domain-list" aria-label="Email domains">
            {state.data.domains.map((d) => (
              <li key={d.domain}>
                <span>
                  <code>{d.domain}</code> <span className="hint">added {formatTime(d.created)}</span>
                </span>
                <Button
                  variant="danger"
                  aria-label={`Remove ${d.domain}`}
                  isDisabled={remove.busy}
                  onPress={() => {
                    setDone(null);
                    void remove.run(() => unwrap(api.DELETE("/email-domains/{domain}", { params: { path: { domain: d.domain } } }))).then((ok) => {
                      if (!ok) return;
                      setDone(`${d.domain} removed.`);
                      reload();
                    });
                  }}
                >
                  Remove
                </Button>
              </li>
            ))}
          </ul>
        ) : (
          <Empty>No email domain yet: people sign in with the organization's id.</Empty>
        )
      ) : null}
      {remove.error ? <ErrorNotice message={remove.error} /> : null}
      <Form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          setDone(null);
          void add.run(async () => {
            const added = await unwrap(api.POST("/email-domains", { body: { domain } }));
            setDone(`${added.domain} added.`);
            setDomain("");
            reload();
          });
        }}
      >
        <TextField label="Email domain" value={domain} onChange={setDomain} isRequired description="The part after the @, e.g. example.com." />
        <Button type="submit" isDisabled={add.busy || !domain.trim()}>
          Add domain
        </Button>
      </Form>
      {add.error ? <ErrorNotice message={add.error} /> : null}
      {done ? <p role="status">{done}</p> : null}
    </section>
  );
}
