import v8 from "node:v8";
import { constants, PerformanceObserver } from "node:perf_hooks";

/**
 * How far V8 lets the old generation grow past what survived its last full collection before it
 * collects again, when this process holds the directory in memory (the embedded database:
 * storage/resident-directory.ts): 20 % of what survived, or 32 MB, whichever is more.
 *
 * Why 20 %: V8 grows that limit by a factor of up to 4 for a heap that allocates fast. With 100,000
 * resident users (~180 MB live) the garbage of request handling — objects kept across a database
 * round trip are promoted, then die — piled up to 405 MB of heap before the first full collection
 * of the SCIM create workload, for a peak RSS of 420–506 MB; what survived that collection was 181
 * MB. A factor of 1.2 collects at 1.2 × the live heap instead.
 *
 * Why at least 32 MB: 20 % of a smaller directory's heap is a few MB, collected in full every few
 * hundred requests — 115 full collections in one benchmark run at 2,000 and 20,000 users, each
 * with a main-thread pause and marking steps that slowed the requests around it (deactivations at
 * 20,000 users: 15–37 ms where their p50 is 6 ms). 32 MB is 20 % of the heap at about 160 MB live,
 * so at 100,000 users the factor is 1.2 as before.
 *
 * Unlike the semi-space and old-space sizes, which V8 reads once when it creates the heap (so only
 * `node --max-…` flags set them), the heap growing percent is read at every full collection, so the
 * process sets it itself after each one: `npm start`, the Dockerfile's `node dist/main.js` and the
 * benchmark all run the same.
 */
export const residentHeapGrowingPercent = 20;
export const residentHeapHeadroomBytes = 32 * 1024 * 1024;
/** V8's own largest growing factor is 4 (300 %). */
const largestGrowingPercent = 300;

/** The growing percent for a heap of `liveBytes` after a full collection (see above). */
export function growingPercentFor(liveBytes: number): number {
  const forHeadroom = Math.ceil((residentHeapHeadroomBytes / Math.max(liveBytes, 1)) * 100);
  return Math.min(largestGrowingPercent, Math.max(residentHeapGrowingPercent, forHeadroom));
}

/**
 * Applies the growth limit now and after every full collection, unless the operator chose a heap
 * growing percent on the node command line (`node --heap-growing-percent=N dist/main.js`; 0 is
 * V8's own heuristic): theirs stands. Answers how to stop following the collections, or undefined
 * when the operator's choice stands.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): (() => void) | undefined {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return undefined;
  let applied: number | undefined;
  const apply = () => {
    const percent = growingPercentFor(v8.getHeapStatistics().used_heap_size);
    if (percent === applied) return;
    v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
    applied = percent;
  };
  apply();
  // Reported after the collection: what is used then is what survived it, give or take the
  // allocations since; V8 uses the percent at the end of the next full collection.
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((entry) => ((entry as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) apply();
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}
