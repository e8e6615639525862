import { useEffect, useRef, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { describeSource, roleLabel } from "../access-words";
import { Badge, Button, ErrorNotice, formatTime, useAction } from "../components/ui";

type SamlTest = Schemas["SamlTest"];
type Outcome = NonNullable<SamlTest["outcome"]>;
type Assertion = NonNullable<Outcome["assertion"]>;

/** How often the page asks whether the identity provider's answer has come back. */
const POLL_MS = 1_500;

/**
 * The SAML test sign-in (POST /saml-connection/test): the real flow runs in a new window at the
 * identity provider, and its answer is checked as a sign-in is, then recorded instead of starting a
 * session. This page polls the test (GET /saml-connection/test/{id}) and shows what the assertion
 * carried and what Gatehouse would have decided.
 */
export function TestSignIn() {
  const [test, setTest] = useState<SamlTest | null>(null);
  const [signInUrl, setSignInUrl] = useState<string | null>(null);
  const [blocked, setBlocked] = useState(false);
  const start = useAction();
  const poll = useAction();
  const timer = useRef<number | undefined>(undefined);

  // While the test waits, ask again; stop once it completed or expired (or the page is left).
  useEffect(() => {
    if (!test || test.status !== "waiting") return;
    timer.current = window.setTimeout(() => {
      void poll.run(async () => setTest(await unwrap(api.GET("/saml-connection/test/{id}", { params: { path: { id: test.id } } }))));
    }, POLL_MS);
    return () => window.clearTimeout(timer.current);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [test]);

  return (
    <section className="card" aria-labelledby="test-heading">
      <h2 id="test-heading">Test sign-in</h2>
      <p>
        Runs a real sign-in at the identity provider in a new window and shows what its answer carried and whether that person would get in. Nobody is signed in and nothing
        else is written. Sign in there as the person you want to check.
      </p>
      <Button
        variant="primary"
        // Offered while a test waits too: a window closed before the identity provider answered would otherwise hold it for ten minutes.
        isDisabled={start.busy}
        onPress={() => {
          // Opened at once, while the click still counts as the person's gesture (pop-up blockers).
          const popup = window.open("", "gatehouse-saml-test");
          setBlocked(false);
          void start.run(async () => {
            try {
              const started = await unwrap(api.POST("/saml-connection/test"));
              setTest(started.test);
              setSignInUrl(started.signInUrl);
              if (popup) popup.location.href = started.signInUrl;
              else setBlocked(true);
            } catch (error) {
              popup?.close();
              throw error;
            }
          });
        }}
      >
        {test ? "Test again" : "Test sign-in"}
      </Button>
      {start.error ? <ErrorNotice message={start.error} /> : null}
      {poll.error ? <ErrorNotice message={poll.error} /> : null}
      {blocked && signInUrl ? (
        <p>
          The browser did not open a new window.{" "}
          <a href={signInUrl} target="_blank" rel="opener">
            Open the test sign-in
          </a>
        </p>
      ) : null}
      {test ? <TestStatus test={test} /> : null}
    </section>
  );
}

function TestStatus({ test }: { test: SamlTest }) {
  if (test.status === "waiting") {
    return (
      <p role="status">
        Waiting for the identity provider's answer (until {formatTime(test.expiresAt)})…
      </p>
    );
  }
  if (test.status === "expired" || !test.outcome) return <p role="status">The test expired before the identity provider answered. Start another one.</p>;
  return <TestOutcome outcome={test.outcome} />;
}

function TestOutcome({ outcome }: { outcome: Outcome }) {
  return (
    <div className="test-result" role="status" aria-labelledby="test-result-heading">
      <h3 id="test-result-heading">Result</h3>
      {outcome.result === "would_sign_in" ? (
        <div className="verdict-ok">
          <p>
            <Badge tone="ok">Would get in</Badge> as <strong>{outcome.member.userName}</strong> with the organization role{" "}
            <strong>{roleLabel(outcome.access.organizationRole)}</strong>
            {outcome.member.createdJustInTime ? " (a new member, created just in time at a real sign-in)" : ""}.
          </p>
          {outcome.access.sources.length ? (
            <ul className="sources">
              {outcome.access.sources.map((source, index) => (
                <li key={index}>
                  <strong>{roleLabel(source.role)}</strong> — {describeSource(source as Schemas["OrganizationRoleSource"])}
                </li>
              ))}
            </ul>
          ) : null}
          <p>
            {outcome.access.allProjects
              ? "Every project."
              : outcome.access.projects.length
                ? `Projects: ${outcome.access.projects.map((p) => `${p.projectId} (${String(p.role)})`).join(", ")}.`
                : "No project."}
          </p>
        </div>
      ) : (
        <div className="verdict-refused">
          <p>
            <Badge tone="danger">Would be refused</Badge> {outcome.refusal.message}
          </p>
          <dl className="facts">
            <dt>Reason</dt>
            <dd>
              <code>{outcome.refusal.reason}</code>
            </dd>
            {outcome.refusal.detail ? (
              <>
                <dt>Detail</dt>
                <dd>{outcome.refusal.detail}</dd>
              </>
            ) : null}
          </dl>
        </div>
      )}
      {outcome.assertion ? <AssertionContents assertion={outcome.assertion} /> : <p>The answer could not be trusted, so what it carried is not shown.</p>}
    </div>
  );
}

function AssertionContents({ assertion }: { assertion: Assertion }) {
  const groups = assertion.identity.groups;
  return (
    <>
      <h4>What the assertion carried</h4>
      <dl className="facts">
        <dt>NameID</dt>
        <dd>
          <code>{assertion.nameId}</code>
        </dd>
        {assertion.nameIdFormat ? (
          <>
            <dt>NameID format</dt>
            <dd>{assertion.nameIdFormat}</dd>
          </>
        ) : null}
        <dt>Email</dt>
        <dd>{assertion.identity.email ?? "—"}</dd>
        <dt>Display name</dt>
        <dd>{assertion.identity.displayName ?? "—"}</dd>
        <dt>Groups</dt>
        <dd>{groups === undefined ? "none sent" : groups === "overage" ? "more than Entra ID sends (a link instead of the groups)" : groups.length ? groups.join(", ") : "none"}</dd>
      </dl>
      {assertion.attributes.length ? (
        <div className="table-wrap">
          <table>
            <caption>Attributes</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Values</th>
              </tr>
            </thead>
            <tbody>
              {assertion.attributes.map((attribute) => (
                <tr key={attribute.name}>
                  <td>
                    <code>{attribute.name}</code>
                  </td>
                  <td>{attribute.values.join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>No attributes.</p>
      )}
    </>
  );
}
