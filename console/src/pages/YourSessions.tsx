import { api, unwrap } from "../api/client";
import { Badge, Button, Empty, ErrorNotice, formatTime, Loading, useAction } from "../components/ui";
import { useSession } from "../session";
import { useLoad } from "../useLoad";

const VIA_WORDS = { saml: "single sign-on", sign_in_link: "a sign-in link" } as const;

/**
 * The member's own browser sessions (GET /me/sessions): when each began and how, when it was last
 * seen, from where, which one is this one; any one of them can be ended here (DELETE
 * /me/sessions/{id}). Ending this one signs out here.
 */
export function YourSessions() {
  const { signedOut } = useSession();
  const { state, reload } = useLoad(() => unwrap(api.GET("/me/sessions")), "my-sessions");
  const end = useAction();
  return (
    <section aria-labelledby="sessions-heading" className="card">
      <h2 id="sessions-heading">Your sessions</h2>
      <p className="hint">Where you are signed in. Sessions begun before Gatehouse listed them are not shown; “Sign out everywhere” ends them too.</p>
      {state.status === "loading" ? <Loading what="your sessions" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {end.error ? <ErrorNotice message={end.error} /> : null}
      {state.status === "ready" ? (
        state.data.sessions.length === 0 ? (
          <Empty>No session is listed.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Signed in</th>
                  <th scope="col">Through</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Address</th>
                  <th scope="col">Browser</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.data.sessions.map((session) => {
                  const action = session.current ? "Sign out" : "End session";
                  return (
                    <tr key={session.id}>
                      <td>
                        {formatTime(session.createdAt)} {session.current ? <Badge tone="ok">This session</Badge> : null}
                      </td>
                      <td>{VIA_WORDS[session.via]}</td>
                      <td>{formatTime(session.lastSeenAt)}</td>
                      <td>{session.ip ?? "—"}</td>
                      <td>{session.userAgent ?? "—"}</td>
                      <td className="actions">
                        <Button
                          variant="danger"
                          aria-label={`${action}: the session signed in ${formatTime(session.createdAt)}${session.current ? " (this one)" : ""}`}
                          isDisabled={end.busy}
                          onPress={() =>
                            void end
                              .run(() => unwrap(api.DELETE("/me/sessions/{id}", { params: { path: { id: session.id } } })))
                              .then((ok) => {
                                if (!ok) return;
                                if (session.current) signedOut("You have signed out.");
                                else reload();
                              })
                          }
                        >
                          {action}
                        </Button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </section>
  );
}
