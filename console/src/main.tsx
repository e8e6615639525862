import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import "./styles.css";
import { Layout } from "./components/Layout";
import { SessionProvider, useSession } from "./session";
import { SignInPage } from "./pages/SignIn";
import { YourAccessPage } from "./pages/YourAccess";
import { MembersPage } from "./pages/Members";
import { AuditLogPage } from "./pages/AuditLog";
import { AccessReviewPage } from "./pages/AccessReview";
import { ProjectsPage } from "./pages/Projects";
import { ProvisioningPage } from "./pages/Provisioning";
import { SingleSignOnPage } from "./pages/SingleSignOn";
import { SettingsPage } from "./pages/Settings";
import { WebhooksPage } from "./pages/Webhooks";
import { GroupsPage } from "./pages/Groups";
import { ErrorNotice, Loading } from "./components/ui";

function Console() {
  const { state } = useSession();
  if (state.status === "loading") return <main className="centered"><Loading what="your session" /></main>;
  if (state.status === "error") return <main className="centered"><ErrorNotice message={state.message} /></main>;
  if (state.status === "signed-out") {
    return (
      <Routes>
        <Route path="*" element={<SignInPage {...(state.message ? { message: state.message } : {})} />} />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<YourAccessPage />} />
        <Route path="members" element={<MembersPage />} />
        <Route path="projects" element={<ProjectsPage />} />
        <Route path="groups" element={<GroupsPage />} />
        <Route path="single-sign-on" element={<SingleSignOnPage />} />
        <Route path="provisioning" element={<ProvisioningPage />} />
        <Route path="audit" element={<AuditLogPage />} />
        <Route path="access-review" element={<AccessReviewPage />} />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="webhooks" element={<WebhooksPage />} />
        <Route path="sign-in" element={<Navigate to="/" replace />} />
        <Route path="*" element={<main id="main"><h1>Not found</h1><p>There is no such page in the console.</p></main>} />
      </Route>
    </Routes>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <BrowserRouter>
      <SessionProvider>
        <Console />
      </SessionProvider>
    </BrowserRouter>
  </StrictMode>,
);
