/**
 * Imported first by the files under test/integration/resident/: every startTestApp of that test
 * file then runs with the resident directory (storage/resident-directory.ts), as the server runs
 * on the embedded database. A global of the test file's own environment, not process.env, so it
 * cannot leak into the next test file the same jest worker runs.
 */
(globalThis as { gatehouseResidentDirectory?: boolean }).gatehouseResidentDirectory = true;

export {};
