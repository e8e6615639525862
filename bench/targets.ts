import os from "node:os";

/**
 * The peer comparison's tables: one per size, each row with its figures, the ratio, the targets of
 * issue 12 it is judged against, and the verdict. A check that cannot be decided (no peer figure
 * at this size, a target set at another size) is shown with "?" and does not count.
 */

/** A measured figure: either a value or the reason there is none. */
export type Figure = { value: number; text: string } | { missing: string };

export interface Check {
  text: string;
  /** Undefined: not decidable in this run. */
  ok: boolean | undefined;
}

export interface Row {
  workload: string;
  /** Gatehouse first, then the peer (absent on Gatehouse-only rows). */
  figures: Figure[];
  ratio?: number;
  checks: Check[];
}

export interface Stage {
  users: number;
  /** Whether the peer was measured at this size. */
  peer: boolean;
  rows: Row[];
}

function verdict(checks: Check[]): string {
  const decided = checks.filter((check) => check.ok !== undefined);
  if (!decided.length) return "—";
  const failed = decided.filter((check) => !check.ok);
  return failed.length ? `NOT MET` : "met";
}

export function printTables(stages: Stage[], names: [string, string], run: { C: number; R: number; S: number; auditEvents: number; database: string; paging: string }): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out("");
  out(`Peer comparison — ${run.R} interleaved rounds, ${run.S} samples per latency, concurrency ${run.C}, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  out(`Gatehouse on ${run.database}; Better Auth 1.7.5 + @better-auth/scim 1.7.5 on SQLite (better-sqlite3 12, WAL). Ratio > 1: Gatehouse faster (or smaller).`);
  out(`${run.paging}.${run.auditEvents ? ` ${run.auditEvents} audit events written into the trail before the server started.` : ""}`);
  const unmet: string[] = [];
  let met = 0;
  for (const stage of stages) {
    out("");
    out(`N = ${stage.users.toLocaleString("en")} users${stage.peer ? "" : " (Gatehouse alone: above --peer-max-users)"}`);
    out("");
    const table = [["workload", names[0], names[1], "ratio", "target", "met"]];
    for (const row of stage.rows) {
      const cell = (figure: Figure | undefined) => (!figure ? "—" : "text" in figure ? figure.text : `n/a (${figure.missing})`);
      const targets = row.checks.map((check) => (check.ok === undefined ? `${check.text} (?)` : check.text)).join("; ");
      const result = verdict(row.checks);
      if (result === "met") met++;
      if (result === "NOT MET") unmet.push(`N = ${stage.users}: ${row.workload} — ${row.checks.filter((check) => check.ok === false).map((check) => check.text).join("; ")}`);
      table.push([row.workload, cell(row.figures[0]), row.figures.length > 1 ? cell(row.figures[1]) : "—", row.ratio === undefined ? "—" : row.ratio.toFixed(2), targets || "—", result]);
    }
    const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
    table.forEach((line, index) => {
      out(`| ${line.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`);
      if (index === 0) out(`| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`);
    });
  }
  out("");
  out(`Targets: ${met} rows met, ${unmet.length} not met.`);
  for (const line of unmet) out(`  not met: ${line}`);
}
