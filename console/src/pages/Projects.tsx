import { useState } from "react";
import { Form } from "react-aria-components";
import { api, unwrap, type Schemas } from "../api/client";
import { Button, DialogButton, Empty, ErrorNotice, formatTime, Loading, TextField, useAction } from "../components/ui";
import { useLoad } from "../useLoad";
import { ProjectAccess } from "./ProjectAccess";

/** The organization's projects: who has access to each and through what; create, rename, delete (mappings lose their assignments to a deleted one). */
export function ProjectsPage() {
  const { state, reload } = useLoad(() => unwrap(api.GET("/projects")), "projects");
  const remove = useAction();
  return (
    <main id="main">
      <div className="page-head">
        <h1>Projects</h1>
        <DialogButton label="Create project" title="Create a project" variant="primary">
          {(close) => <ProjectForm close={close} onSaved={reload} />}
        </DialogButton>
      </div>
      {state.status === "loading" ? <Loading what="projects" /> : null}
      {state.status === "error" ? <ErrorNotice message={state.message} /> : null}
      {remove.error ? <ErrorNotice message={remove.error} /> : null}
      {state.status === "ready" ? (
        state.data.projects.length === 0 ? (
          <Empty>No project yet.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Id</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.data.projects.map((project) => (
                  <tr key={project.id}>
                    <td>{project.name}</td>
                    <td><code>{project.id}</code></td>
                    <td>{formatTime(project.created)}</td>
                    <td className="actions">
                      <DialogButton label="Who has access" ariaLabel={`Who has access to ${project.name}`} title={`Who has access to ${project.name}`}>
                        {(close) => (
                          <>
                            <ProjectAccess project={project} />
                            <div className="actions">
                              <Button onPress={close}>Close</Button>
                            </div>
                          </>
                        )}
                      </DialogButton>
                      <DialogButton label="Rename" ariaLabel={`Rename ${project.name}`} title={`Rename ${project.name}`}>
                        {(close) => <ProjectForm project={project} close={close} onSaved={reload} />}
                      </DialogButton>
                      <DialogButton label="Delete" ariaLabel={`Delete ${project.name}`} title={`Delete ${project.name}?`} variant="danger">
                        {(close) => (
                          <>
                            <p>Members lose their access to it; mappings lose their assignments to it.</p>
                            <div className="actions">
                              <Button onPress={close}>Cancel</Button>
                              <Button
                                variant="danger"
                                onPress={() => {
                                  close();
                                  void remove.run(() => unwrap(api.DELETE("/projects/{id}", { params: { path: { id: project.id } } }))).then(reload);
                                }}
                              >
                                Delete project
                              </Button>
                            </div>
                          </>
                        )}
                      </DialogButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </main>
  );
}

function ProjectForm({ project, close, onSaved }: { project?: Schemas["Project"]; close(): void; onSaved(): void }) {
  const [name, setName] = useState(project?.name ?? "");
  const save = useAction();
  return (
    <Form
      onSubmit={(event) => {
        event.preventDefault();
        void save
          .run(() =>
            unwrap(project ? api.PATCH("/projects/{id}", { params: { path: { id: project.id } }, body: { name: name.trim() } }) : api.POST("/projects", { body: { name: name.trim() } })),
          )
          .then((ok) => {
            if (!ok) return;
            onSaved();
            close();
          });
      }}
    >
      <TextField label="Project name" value={name} onChange={setName} isRequired autoFocus />
      {save.error ? <ErrorNotice message={save.error} /> : null}
      <div className="actions">
        <Button onPress={close}>Cancel</Button>
        <Button type="submit" variant="primary" isDisabled={save.busy}>
          {project ? "Rename" : "Create"}
        </Button>
      </div>
    </Form>
  );
}
