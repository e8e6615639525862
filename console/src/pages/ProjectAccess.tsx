import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { describeSource, roleLabel } from "../access-words";
import { Badge, Button, Empty, ErrorNotice, Loading } from "../components/ui";
import { useLoad } from "../useLoad";

const PAGE = 50;

/** Where a member's access to the project comes from, in an administrator's words. */
function throughWhat(member: Schemas["ProjectMember"]): string[] {
  const reasons = member.sources.map((source) => `${String(source.role)}: ${describeSource(source)}`);
  if (member.allProjectsThrough) {
    const role = roleLabel(member.organizationRole);
    const why = member.allProjectsThrough.map((source) => describeSource(source)).join("; ");
    reasons.push(`Every project, as ${role} (${why})`);
  }
  return reasons;
}

/**
 * Who has access to one project and through what (GET /projects/{id}/access): each member with the
 * project role they act as and every source — the group and mapping, a local grant, a temporary
 * grant and its end, an organization role that reaches every project.
 */
export function ProjectAccess({ project }: { project: Schemas["Project"] }) {
  const [startIndex, setStartIndex] = useState(1);
  const { state } = useLoad(
    () => unwrap(api.GET("/projects/{id}/access", { params: { path: { id: project.id }, query: { startIndex, count: PAGE } } })),
    `${project.id}:${startIndex}`,
  );
  if (state.status === "loading") return <Loading what={`who has access to ${project.name}`} />;
  if (state.status === "error") return <ErrorNotice message={state.message} />;
  const { members, totalResults } = state.data;
  return (
    <div className="project-access">
      <p role="status">
        {totalResults === 1 ? "1 member has" : `${totalResults} members have`} access to {project.name}.
      </p>
      {members.length === 0 ? (
        <Empty>Nobody has access to this project.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Members with access to {project.name}</caption>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Project role</th>
                <th scope="col">Through</th>
              </tr>
            </thead>
            <tbody>
              {members.map((member) => (
                <tr key={member.id}>
                  <td>
                    {member.displayName ? `${member.displayName} (${member.userName})` : member.userName}{" "}
                    {member.managedBy !== "local" ? <Badge tone="managed">Managed by {member.managedBy.toUpperCase()}</Badge> : null}
                  </td>
                  <td>{String(member.projectRole)}</td>
                  <td>
                    <ul className="sources">
                      {throughWhat(member).map((reason) => (
                        <li key={reason}>{reason}</li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {totalResults > PAGE ? (
        <div className="actions">
          <Button isDisabled={startIndex === 1} onPress={() => setStartIndex(Math.max(1, startIndex - PAGE))}>
            Previous
          </Button>
          <Button isDisabled={startIndex + PAGE > totalResults} onPress={() => setStartIndex(startIndex + PAGE)}>
            Next
          </Button>
        </div>
      ) : null}
    </div>
  );
}
