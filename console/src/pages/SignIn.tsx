import { useState } from "react";
import { Form } from "react-aria-components";
import { useLocation } from "react-router";
import { Button, TextField } from "../components/ui";

/**
 * Signed out: single sign-on through the organization's SAML identity provider. The person gives
 * their organization's id (finding it from a work email comes with email domains); the browser
 * goes to /auth/saml/<org>/login and comes back here, to the page it asked for, with a session.
 */
export function SignInPage({ message }: { message?: string }) {
  const [organization, setOrganization] = useState("");
  const location = useLocation();
  const returnTo = location.pathname === "/sign-in" ? "/" : location.pathname + location.search;
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Gatehouse</h1>
      {message ? <p role="status">{message}</p> : null}
      <Form
        onSubmit={(event) => {
          event.preventDefault();
          // A navigation, not a form post: the sign-in redirects to the identity provider.
          window.location.assign(`/auth/saml/${encodeURIComponent(organization.trim())}/login?RelayState=${encodeURIComponent(returnTo)}`);
        }}
      >
        <TextField label="Organization id" value={organization} onChange={setOrganization} isRequired autoFocus description="Your administrator has it; it is in the single sign-on URL of your identity provider's Gatehouse app." />
        <Button type="submit" variant="primary">
          Continue with single sign-on
        </Button>
      </Form>
    </main>
  );
}
