import { useState } from "react";
import { Button as AriaButton, Disclosure, DisclosurePanel, Form, Heading } from "react-aria-components";
import { useLocation } from "react-router";
import { api, unwrap } from "../api/client";
import { Button, ErrorNotice, TextField, useAction } from "../components/ui";

/** Starts SAML sign-in: a navigation, not a fetch — the sign-in redirects to the identity provider. */
const startSignIn = (url: string) => window.location.assign(url);

/**
 * Signed out: single sign-on through the organization's SAML identity provider. The person gives
 * their work email; sign-in discovery (POST /sign-in/discover) finds the organization that
 * declared its domain and answers where its SAML sign-in starts, and the browser goes there and
 * comes back here, to the page it asked for, with a session. When no organization declared the
 * domain, the API's words say so, and the organization's id is the way left (a disclosure below).
 */
export function SignInPage({ message }: { message?: string }) {
  const location = useLocation();
  const returnTo = location.pathname === "/sign-in" ? "/" : location.pathname + location.search;
  const [email, setEmail] = useState("");
  const [refusal, setRefusal] = useState<string | null>(null);
  const discover = useAction();
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Gatehouse</h1>
      {message ? <p role="status">{message}</p> : null}
      <Form
        onSubmit={(event) => {
          event.preventDefault();
          setRefusal(null);
          void discover.run(async () => {
            const found = await unwrap(api.POST("/sign-in/discover", { body: { email: email.trim(), returnTo } }));
            if (found.signInUrl) startSignIn(found.signInUrl);
            else setRefusal(found.message ?? "Single sign-on cannot start for this address.");
          });
        }}
      >
        <TextField
          label="Work email"
          type="email"
          name="email"
          value={email}
          onChange={(value) => {
            setEmail(value);
            setRefusal(null);
          }}
          isRequired
          autoFocus
          description="Your organization's single sign-on is found from the address's domain."
        />
        {refusal ? <ErrorNotice message={refusal} /> : null}
        {discover.error ? <ErrorNotice message={discover.error} /> : null}
        <Button type="submit" variant="primary" isDisabled={discover.busy}>
          Continue with single sign-on
        </Button>
      </Form>
      <SignInWithOrganizationId returnTo={returnTo} />
    </main>
  );
}

/** The way in when the email's domain leads nowhere: the organization's id, which the administrator has. */
function SignInWithOrganizationId({ returnTo }: { returnTo: string }) {
  const [organization, setOrganization] = useState("");
  return (
    <Disclosure className="disclosure">
      <Heading level={2} className="disclosure-heading">
        <AriaButton slot="trigger" className="disclosure-trigger">
          <span aria-hidden="true" className="disclosure-chevron">
            ▸
          </span>
          Sign in with your organization id
        </AriaButton>
      </Heading>
      <DisclosurePanel className="disclosure-panel">
        <Form
          onSubmit={(event) => {
            event.preventDefault();
            startSignIn(`/auth/saml/${encodeURIComponent(organization.trim())}/login?RelayState=${encodeURIComponent(returnTo)}`);
          }}
        >
          <TextField
            label="Organization id"
            value={organization}
            onChange={setOrganization}
            isRequired
            description="Your administrator has it; it is in the single sign-on URL of your identity provider's Gatehouse app."
          />
          <Button type="submit">Continue with organization id</Button>
        </Form>
      </DisclosurePanel>
    </Disclosure>
  );
}
