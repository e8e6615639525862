/**
 * CSV for administrators who open exports in a spreadsheet: RFC 4180 quoting so every value comes
 * back as written, and formula-injection escaping so a value an identity provider or a user chose
 * (a display name such as `=HYPERLINK("http://evil","click")`) is shown as text, never run.
 *
 * No byte-order mark is written: RFC 4180 has none, and most CSV readers other than Excel would
 * take it as part of the first column's name. The charset is in the Content-Type instead.
 */

export type CsvValue = string | number | boolean | null | undefined;

/** RFC 4180 §2 (6, 7): records end in CRLF; fields holding CR, LF, `"` or `,` are quoted. */
export const CSV_LINE_END = "\r\n";

/**
 * Characters a spreadsheet takes as the start of a formula (OWASP "CSV Injection": `=`, `+`, `-`,
 * `@`, tab, carriage return). A value starting with one gets a leading `'`, which spreadsheets
 * treat as "this is text" and do not display. The cost is that a negative number in a free-text
 * column reads `'-1` in a plain text editor; exports here hold text, so safety wins.
 */
const FORMULA_TRIGGERS = new Set(["=", "+", "-", "@", "\t", "\r"]);

/** The text of one field, escaped against formulas and quoted as RFC 4180 requires. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (text.length > 0 && FORMULA_TRIGGERS.has(text[0]!)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF included. */
export function csvRecord(values: readonly CsvValue[]): string {
  return values.map(csvField).join(",") + CSV_LINE_END;
}

/** `attachment; filename="…"` for names built from ids and dates (nothing needs escaping in them). */
export function csvAttachment(filename: string): { "Content-Type": string; "Content-Disposition": string } {
  return { "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="${filename.replace(/["\\\r\n]/g, "_")}"` };
}
