import { api, unwrap } from "../api/client";
import { Badge, Empty, ErrorNotice, formatTime, Loading } from "../components/ui";
import { useLoad } from "../useLoad";

/**
 * Whether Okta or Entra ID is syncing, at a glance: what SCIM changed per day over the last 14
 * UTC days (from the audit trail), the newest change, the last use of a SCIM token and the last
 * SCIM request this server answered with its status (GET /provisioning/activity).
 */
export function ProvisioningActivity() {
  const { state } = useLoad(() => unwrap(api.GET("/provisioning/activity")), "activity");
  if (state.status === "loading") return <Loading what="provisioning activity" />;
  if (state.status === "error") return <ErrorNotice message={state.message} />;
  const activity = state.data;
  const busyDays = activity.days.filter((d) => d.creates + d.updates + d.deactivations + d.deletes > 0).reverse();
  const last = activity.lastRequest;
  return (
    <>
      <dl className="facts">
        <dt>Last SCIM request</dt>
        <dd>
          {last ? (
            <>
              {formatTime(last.at)} · <code>{last.method}</code> answered{" "}
              <Badge tone={last.status < 400 ? "ok" : "danger"}>{last.status}</Badge>
            </>
          ) : (
            "None since the server started"
          )}
        </dd>
        <dt>Last change through SCIM</dt>
        <dd>{activity.lastChange ? `${formatTime(activity.lastChange.at)} · ${activity.lastChange.action}` : "None yet"}</dd>
        <dt>A SCIM token last used</dt>
        <dd>{activity.lastTokenUse ? formatTime(activity.lastTokenUse) : "Never"}</dd>
      </dl>
      {busyDays.length === 0 ? (
        <Empty>No change through SCIM in the last 14 days: check that provisioning is turned on in your identity provider and that it has a live token.</Empty>
      ) : (
        <div className="table-wrap">
          <table aria-label="Changes through SCIM per day (UTC), newest first">
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col">Creates</th>
                <th scope="col">Updates</th>
                <th scope="col">Deactivations</th>
                <th scope="col">Deletes</th>
              </tr>
            </thead>
            <tbody>
              {busyDays.map((day) => (
                <tr key={day.date}>
                  <td>{day.date}</td>
                  <td>{day.creates}</td>
                  <td>{day.updates}</td>
                  <td>{day.deactivations}</td>
                  <td>{day.deletes}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="hint">Days without a change are left out.</p>
    </>
  );
}
