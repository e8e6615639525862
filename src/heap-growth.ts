import v8 from "node:v8";

/**
 * How far V8 lets the old generation grow past what survived its last full collection before it
 * collects again, in percent, when this process holds the directory in memory (the embedded
 * database: storage/resident-directory.ts).
 *
 * Why: V8 grows that limit by a factor of up to 4 for a heap that allocates fast. With 100,000
 * resident users (~180 MB live) the garbage of request handling — objects kept across a database
 * round trip are promoted, then die — piled up to 405 MB of heap before the first full collection
 * of the SCIM create workload, for a peak RSS of 420–506 MB; what survived that collection was 181
 * MB. A fixed factor of 1.2 collects at 1.2 × the live heap instead. The price is more frequent
 * full collections (marked concurrently, off the request path for most of their work).
 *
 * Unlike the semi-space and old-space sizes, which V8 reads once when it creates the heap (so only
 * `node --max-…` flags set them), this flag is read at every full collection, so the process can
 * set it itself: `npm start`, the Dockerfile's `node dist/main.js` and the benchmark all run the same.
 */
export const residentHeapGrowingPercent = 20;

/**
 * Applies `residentHeapGrowingPercent`, unless the operator chose a heap growing percent on the
 * node command line (`node --heap-growing-percent=N dist/main.js`; 0 is V8's own heuristic): theirs stands.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${residentHeapGrowingPercent}`);
  return true;
}
