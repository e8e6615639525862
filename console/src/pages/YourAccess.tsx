import { api, unwrap } from "../api/client";
import { describeSource, roleLabel } from "../access-words";
import { Button, Empty, ErrorNotice, formatTime, Loading, useAction } from "../components/ui";
import { useSession, useSignedIn } from "../session";
import { useLoad } from "../useLoad";
import { PersonalTokens } from "./PersonalTokens";
import { YourSessions } from "./YourSessions";

/** Every member's page: their role, each project and where each grant comes from, their session. */
export function YourAccessPage() {
  const { session } = useSignedIn();
  const { signedOut } = useSession();
  const { state } = useLoad(async () => {
    const access = await unwrap(api.GET("/users/{id}/access", { params: { path: { id: session.user.id } } }));
    // Project names are a courtesy: without them the ids are shown.
    const projects = await api.GET("/projects").then((r) => r.data?.projects ?? [], () => []);
    return { access, projectNames: new Map(projects.map((p) => [p.id, p.name])) };
  }, session.user.id);
  const everywhere = useAction();

  return (
    <main id="main">
      <h1>Your access</h1>
      <section aria-labelledby="session-heading" className="card">
        <h2 id="session-heading">Your session</h2>
        <dl className="facts">
          <dt>Signed in as</dt>
          <dd>{session.user.displayName ? `${session.user.displayName} (${session.user.userName})` : session.user.userName}</dd>
          <dt>Organization</dt>
          <dd><code>{session.organizationId}</code></dd>
          <dt>Signed in</dt>
          <dd>{formatTime(session.createdAt)} through single sign-on</dd>
          <dt>Session ends</dt>
          <dd>{formatTime(session.expiresAt)} at the latest</dd>
        </dl>
        <Button
          variant="danger"
          isDisabled={everywhere.busy}
          onPress={() => void everywhere.run(async () => {
            await unwrap(api.POST("/session/sign-out-everywhere"));
            signedOut("You have signed out on every browser and device.");
          })}
        >
          Sign out everywhere
        </Button>
        <p className="hint">Ends every session you have, on every browser and device, this one included.</p>
        {everywhere.error ? <ErrorNotice message={everywhere.error} /> : null}
      </section>
      <YourSessions />

      {state.status === "loading" ? <Loading what="your access" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {state.status === "ready" ? (
        <>
          <section aria-labelledby="role-heading" className="card">
            <h2 id="role-heading">Organization role: {roleLabel(state.data.access.organizationRole)}</h2>
            {state.data.access.denial ? <p className="state state-error">{state.data.access.denial}</p> : null}
            {state.data.access.sources.length === 0 ? (
              <Empty>No grant gives you a role in this organization.</Empty>
            ) : (
              <ul className="sources">
                {state.data.access.sources.map((source, index) => (
                  <li key={index}>
                    <strong>{roleLabel(source.role)}</strong> — {describeSource(source)}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="projects-heading" className="card">
            <h2 id="projects-heading">Projects</h2>
            {state.data.access.allProjects ? <p>Your role gives you every project of the organization.</p> : null}
            {state.data.access.projects.length === 0 ? (
              <Empty>No project is assigned to you.</Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Project</th>
                      <th scope="col">Role</th>
                      <th scope="col">Granted by</th>
                    </tr>
                  </thead>
                  <tbody>
                    {state.data.access.projects.map((project) => (
                      <tr key={project.projectId}>
                        <td>{state.data.projectNames.get(project.projectId) ?? project.projectId}</td>
                        <td>{project.role}</td>
                        <td>{project.sources.map((s) => `${s.role}: ${describeSource(s)}`).join("; ")}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      ) : null}
      <PersonalTokens />
    </main>
  );
}
