import { useCallback, useEffect, useState } from "react";

/** What a page shows while it loads something from the API: loading, the data, or the API's message. */
export type Loaded<T> = { status: "loading" } | { status: "error"; message: string } | { status: "ready"; data: T };

/** Loads once per change of `key`; `reload()` loads again (after a change the page made). */
export function useLoad<T>(load: () => Promise<T>, key: string): { state: Loaded<T>; reload(): void } {
  const [state, setState] = useState<Loaded<T>>({ status: "loading" });
  const [round, setRound] = useState(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, [key, round]);
  useEffect(() => {
    let current = true;
    setState((previous) => (previous.status === "ready" && round > 0 ? previous : { status: "loading" }));
    run().then(
      (data) => current && setState({ status: "ready", data }),
      (error: unknown) => current && setState({ status: "error", message: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      current = false;
    };
  }, [run, round]);
  return { state, reload: useCallback(() => setRound((n) => n + 1), []) };
}
