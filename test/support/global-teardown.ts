import { rmSync } from "node:fs";

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__GATEHOUSE_TEST_DB__;
  if (!state) return;
  await state.database?.stop();
  if (state.dataDir) rmSync(state.dataDir, { recursive: true, force: true });
}
