import { coverageOf, indexName, type Coverage, type DeclaredIndex } from "./coverage-rule";
import type { RecordedQuery } from "./recorder";

/** A shape that scans on purpose, and why that is right (test/index-coverage/intentional-scans.ts). */
export interface IntentionalScan {
  /** describeShape() of the shape, exactly as the check prints it. */
  readonly shape: string;
  readonly reason: string;
}

/**
 * A family of shapes one call site sends by design, that no finite set of indexes serves (SCIM's
 * filters and sortBy on any attribute): each shape matching `shape` and sent from `site` only.
 */
export interface IntentionalFamily {
  readonly family: RegExp;
  /** The call site (as the report prints it, e.g. "src/storage/directory-store.ts:100"). */
  readonly site: string;
  readonly reason: string;
}

export interface ShapeVerdict {
  readonly key: string;
  /** Where in src/ it is sent from (first application frame of each recorded stack). */
  readonly sites: readonly string[];
  readonly testFiles: readonly string[];
  readonly coverage?: Coverage;
  /** The reason it may scan, when it is an intentional scan. */
  readonly intentional?: string;
}

export interface CoverageReport {
  readonly verdicts: readonly ShapeVerdict[];
  /** Shapes no declared index serves and no intentional-scan entry names: each fails the check. */
  readonly uncovered: readonly ShapeVerdict[];
  /** Intentional-scan entries that name a shape the index serves after all, or one no test sent. */
  readonly needlessEntries: readonly { entry: IntentionalScan; why: string }[];
}

/** Judges every recorded application query against the declared indexes. */
export function judgeQueries(
  records: readonly (RecordedQuery & { testFile?: string })[],
  indexes: readonly DeclaredIndex[],
  intentionalScans: readonly IntentionalScan[],
  intentionalFamilies: readonly IntentionalFamily[] = [],
): CoverageReport {
  const byKey = new Map<string, { record: RecordedQuery; sites: Set<string>; testFiles: Set<string> }>();
  for (const record of records) {
    if (record.origin !== "application") continue;
    const entry = byKey.get(record.key) ?? { record, sites: new Set<string>(), testFiles: new Set<string>() };
    if (record.site) entry.sites.add(record.site);
    if (record.testFile) entry.testFiles.add(record.testFile);
    byKey.set(record.key, entry);
  }
  const reasons = new Map(intentionalScans.map((entry) => [entry.shape, entry.reason]));
  const verdicts = [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, { record, sites, testFiles }]): ShapeVerdict => {
      const coverage = coverageOf(record.shape, indexes);
      const family = intentionalFamilies.find((f) => f.family.test(key) && sites.size > 0 && [...sites].every((site) => site === f.site));
      const intentional = reasons.get(key) ?? (coverage ? undefined : family?.reason);
      return { key, sites: [...sites].sort(), testFiles: [...testFiles].sort(), ...(coverage ? { coverage } : {}), ...(intentional ? { intentional } : {}) };
    });
  const needlessEntries = intentionalScans.flatMap((entry) => {
    const verdict = verdicts.find((v) => v.key === entry.shape);
    if (!verdict) return [{ entry, why: "no test sent this shape" }];
    if (verdict.coverage) return [{ entry, why: `a declared index serves it (${describeCoverage(verdict.coverage)})` }];
    return [];
  });
  for (const family of intentionalFamilies) {
    if (!verdicts.some((v) => !v.coverage && v.intentional === family.reason)) needlessEntries.push({ entry: { shape: String(family.family), reason: family.reason }, why: "no shape of this family went without an index" });
  }
  return { verdicts, uncovered: verdicts.filter((v) => !v.coverage && !v.intentional), needlessEntries };
}

export function describeCoverage(coverage: Coverage): string {
  return coverage.map((use) => `${indexName(use.index)} (${use.how})`).join(" | ");
}

/** The report the check prints: each shape, then the index that serves it and where it is sent from. */
export function formatReport(report: CoverageReport): string {
  const clip = (text: string, length: number) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);
  const rows = report.verdicts.flatMap((v) => {
    const verdict = v.coverage ? describeCoverage(v.coverage) : v.intentional ? `SCANS, intentionally: ${v.intentional}` : "NOT COVERED";
    return [clip(v.key, 200), `    → ${clip(verdict, 200)}  · ${v.sites.slice(0, 3).join(" ") || "(no application frame)"}`];
  });
  const uncovered = report.uncovered.map((v) => `  ${v.key}\n      sent from ${v.sites.join(", ") || "?"}\n      by ${v.testFiles.slice(0, 5).join(", ")}`);
  const intentional = report.verdicts.filter((v) => !v.coverage && v.intentional).length;
  return [
    ...rows,
    "",
    `${report.verdicts.length} query shapes: ${report.verdicts.filter((v) => v.coverage).length} served by an index, ${intentional} intentional scans, ${report.uncovered.length} not covered`,
    ...(uncovered.length ? ["", "Not served by any index src/storage/models.ts declares:", ...uncovered] : []),
  ].join("\n");
}
