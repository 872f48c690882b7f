/**
 * CSV for every export (RFC 4180, CRLF lines, a header row). Opened in a
 * spreadsheet, a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
 * carriage return would be read as a formula (OWASP "CSV injection"): such a
 * cell is written with a leading `'` and quoted, so it shows as the text it
 * is. Numbers are written as numbers, a negative one included: only text can
 * come from a user (a name, a team), and a figure the export computed is not
 * a formula.
 */

const formulaStart = /^[=+\-@\t\r]/;

/** One cell: '' for null and undefined; text that could be a formula escaped; quoted when it must be. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  let text = value instanceof Date ? value.toISOString() : String(value);
  const formula = formulaStart.test(text);
  if (formula) text = `'${text}`;
  return formula || /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Flattens a row: nested objects become `key.sub` columns. */
export function flatten(row: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      Object.assign(out, flatten(value as Record<string, unknown>, `${prefix}${key}.`));
    } else out[`${prefix}${key}`] = value;
  }
  return out;
}

/**
 * The rows as CSV. `columns`: the header, in order (a header even without
 * rows; a key no row has is an empty cell, a key not listed is left out);
 * without it, the union of the flattened rows' keys in first-seen order.
 */
export function toCsv(rows: Record<string, unknown>[], columns?: readonly string[]): string {
  const flat = rows.map((r) => flatten(r));
  const header = columns ? [...columns] : [];
  if (!columns) for (const row of flat) for (const key of Object.keys(row)) if (!header.includes(key)) header.push(key);
  return [header.map(csvCell).join(','), ...flat.map((row) => header.map((c) => csvCell(row[c])).join(','))].join('\r\n') + '\r\n';
}
