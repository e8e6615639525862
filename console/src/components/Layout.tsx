import { NavLink, Outlet } from "react-router";
import { api, unwrap } from "../api/client";
import { useIsAdministrator, useMay, useSession, useSignedIn } from "../session";
import { Button, useAction } from "./ui";
import { roleLabel } from "../access-words";

/** The signed-in frame: who is signed in, the pages this person may use, and sign-out. */
export function Layout() {
  const { session, access } = useSignedIn();
  const { signedOut } = useSession();
  const isAdministrator = useIsAdministrator();
  const may = useMay();
  const signOut = useAction();
  const pages = [
    { to: "/", label: "Your access", shown: true },
    { to: "/members", label: "Members", shown: isAdministrator },
    { to: "/projects", label: "Projects", shown: may("modify_account_settings") },
    { to: "/groups", label: "Groups and mappings", shown: may("edit_user_permissions") },
    { to: "/single-sign-on", label: "Single sign-on", shown: may("manage_integrations") },
    { to: "/provisioning", label: "Provisioning", shown: may("manage_integrations") },
    { to: "/webhooks", label: "Webhooks", shown: may("manage_integrations") },
    { to: "/audit", label: "Audit log", shown: isAdministrator },
    { to: "/access-review", label: "Access review", shown: isAdministrator },
    { to: "/settings", label: "Settings", shown: may("modify_account_settings") },
  ].filter((page) => page.shown);
  return (
    <div className="frame">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Gatehouse</span>
        <span className="who">
          {session.user.displayName ?? session.user.userName}
          {access?.organizationRole ? <span className="role"> · {roleLabel(access.organizationRole)}</span> : null}
        </span>
        <Button
          isDisabled={signOut.busy}
          onPress={() => void signOut.run(async () => {
            await unwrap(api.POST("/session/sign-out"));
            signedOut("You have signed out.");
          })}
        >
          Sign out
        </Button>
      </header>
      {signOut.error ? <p role="alert" className="state state-error">{signOut.error}</p> : null}
      <nav className="sidebar" aria-label="Console">
        <ul>
          {pages.map((page) => (
            <li key={page.to}>
              <NavLink to={page.to} end={page.to === "/"}>
                {page.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Outlet />
    </div>
  );
}
