import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, onSignedOut, setCsrfToken, type Access, type Session } from "./api/client";

/**
 * Who is signed in (GET /api/v1/session) and what they may do (their own access,
 * GET /users/:id/access): the console offers only the controls the permission matrix allows, and
 * the API stays the judge of every change.
 */
export type SessionState =
  | { status: "loading" }
  | { status: "signed-out"; message?: string }
  | { status: "error"; message: string }
  | { status: "signed-in"; session: Session; access: Access | null; accessError?: string };

interface SessionContextValue {
  state: SessionState;
  reload(): void;
  signedOut(message?: string): void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: "loading" });

  const load = useCallback(async () => {
    try {
      const { data, error, response } = await api.GET("/session");
      if (response.status === 401) return setState({ status: "signed-out" });
      if (!data) return setState({ status: "error", message: (error as { error?: { message?: string } })?.error?.message ?? `The server answered ${response.status}` });
      setCsrfToken(data.csrfToken);
      const access = await api.GET("/users/{id}/access", { params: { path: { id: data.user.id } } });
      setState({ status: "signed-in", session: data, access: access.data ?? null, ...(access.data ? {} : { accessError: access.error?.error.message ?? `The server answered ${access.response.status}` }) });
    } catch {
      setState({ status: "error", message: "Gatehouse could not be reached. Check your connection and reload the page." });
    }
  }, []);

  useEffect(() => {
    void load();
    return onSignedOut(() => setState({ status: "signed-out", message: "Your session has ended. Sign in again." }));
  }, [load]);

  const signedOut = useCallback((message?: string) => {
    setCsrfToken(undefined);
    setState({ status: "signed-out", ...(message ? { message } : {}) });
  }, []);

  return <SessionContext.Provider value={{ state, reload: () => void load(), signedOut }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

/** The signed-in person's session and access; only rendered under a signed-in layout. */
export function useSignedIn(): { session: Session; access: Access | null } {
  const { state } = useSession();
  if (state.status !== "signed-in") throw new Error("useSignedIn while not signed in");
  return state;
}

/** Whether the signed-in person holds a permission of the organization (the API decides in the end). */
export function useMay(): (permission: string) => boolean {
  const { access } = useSignedIn();
  return (permission) => access?.permissions[permission] === "all";
}

/** Admins and the Owner: the member list, audit trail and access review are theirs. */
export function useIsAdministrator(): boolean {
  const { access } = useSignedIn();
  return access?.organizationRole === "admin" || access?.organizationRole === "owner";
}
