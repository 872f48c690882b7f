import { randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js/max';
import { readCsv, CsvError, type CsvOptions, type CsvRecord } from '../core/csv-reader.js';
import { HttpError } from '../core/errors.js';
import { plural } from '../core/text.js';
import { isTimeZone } from '../core/time-zone.js';
import { toE164, type PhoneParts } from './phone.js';
import type { CampaignsStore, DncRow, ListRow, NewContact } from './store.js';
import { timezoneOf } from './time-zones.js';

/**
 * CSV imports (docs/campaigns.md, "Contact lists"): a campaign's contacts,
 * and numbers for a do-not-call list. Read as the body arrives; every bad
 * row is reported with its line and reason, and a file with any bad row
 * stores nothing (one transaction, rolled back).
 */

export const importLimits = {
  maxBytes: 100 * 1024 * 1024,
  maxRows: 500_000,
  maxFields: 50,
  maxFieldLength: 1000,
  maxNameLength: 200,
  maxColumnNameLength: 64,
} as const;
/** Bad rows listed in a refusal (all are counted). */
export const maxListedProblems = 1000;
/** Rows inserted per statement. */
const batchSize = 1000;

export type Delimiter = CsvOptions['delimiter'];

/** 400 listing the file's bad rows (up to maxListedProblems), nothing stored. */
export class BadFileError extends HttpError {
  constructor(problems: string[], total: number, rows: number) {
    super(400, 'invalid_csv', `${plural(total, 'bad row')} of ${rows}: nothing was imported`
      + `${total > problems.length ? ` (the first ${problems.length} are listed)` : ''}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`, { problems });
  }
}

const badHeader = (problems: string[]) => new HttpError(400, 'invalid_csv', `line 1 (the header): ${problems.join('; ')}`, { problems: problems.map((p) => `line 1: ${p}`) });

// eslint-disable-next-line no-control-regex -- finding them is the point
const controlCharacter = /[\u0000-\u001f\u007f]/;
// Custom fields may span lines (an address, a note); nothing else of the control range.
// eslint-disable-next-line no-control-regex -- finding them is the point
const controlBesidesBreaks = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** The file's columns: which holds the number, the name, the time zone, the reason; the rest as custom fields. */
interface Columns { number: number; name?: number; timezone?: number; reason?: number; custom: [string, number][]; count: number }

function readHeader(record: CsvRecord | undefined, known: readonly string[], keepOthers: boolean): Columns {
  if (!record) throw badHeader(['the file is empty: it needs a header row naming its columns, one of them number (or phone)']);
  if (record.problem) throw badHeader([record.problem]);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const columns: Partial<Columns> & { custom: [string, number][] } = { custom: [], count: record.fields.length };
  for (const [i, raw] of record.fields.entries()) {
    const name = raw.trim();
    const key = name.toLowerCase();
    if (name === '') { problems.push(`column ${i + 1} has no name`); continue; }
    if (name.length > importLimits.maxColumnNameLength || controlCharacter.test(name)) { problems.push(`column ${i + 1}'s name is over ${importLimits.maxColumnNameLength} characters or has control characters`); continue; }
    if (seen.has(key)) { problems.push(`column ${i + 1} (${name}) repeats column ${seen.get(key)! + 1}`); continue; }
    seen.set(key, i);
    const role = key === 'phone' ? 'number' : key;
    if (role === 'number' && columns.number !== undefined) problems.push(`column ${i + 1} (${name}): the number is column ${columns.number + 1} already (number or phone, not both)`);
    else if (known.includes(role)) columns[role as 'number' | 'name' | 'timezone' | 'reason'] = i;
    else if (keepOthers) columns.custom.push([name, i]);
  }
  if (columns.number === undefined) problems.push('no number (or phone) column');
  if (problems.length > 0) throw badHeader(problems);
  return columns as Columns;
}

/** Collects bad rows: all counted, the first maxListedProblems found kept, listed in line order. */
class Problems {
  private readonly found: { line: number; problem: string }[] = [];
  total = 0;
  add(line: number, problem: string): void {
    this.total += 1;
    if (this.found.length < maxListedProblems) this.found.push({ line, problem });
  }
  /** Duplicates are found a batch later than the rows' own problems: sorted back into line order. */
  get listed(): string[] {
    return [...this.found].sort((a, b) => a.line - b.line).map((p) => `line ${p.line}: ${p.problem}`);
  }
}

async function* rowsOf(body: AsyncIterable<Uint8Array | string>, delimiter: Delimiter): AsyncGenerator<CsvRecord> {
  try {
    yield* readCsv(body, { delimiter, maxBytes: importLimits.maxBytes, maxFields: importLimits.maxFields, maxFieldLength: importLimits.maxFieldLength });
  } catch (err) {
    if (err instanceof CsvError) throw new HttpError(err.kind === 'too_large' ? 413 : 400, err.kind === 'too_large' ? 'payload_too_large' : 'invalid_csv', err.message);
    throw err;
  }
}

/** One row's number, or its problem. */
function numberOf(record: CsvRecord, columns: Columns, region: CountryCode | undefined): { parts: PhoneParts; raw: string } | { problem: string } {
  if (record.problem) return { problem: record.problem };
  if (record.fields.length !== columns.count) return { problem: `has ${plural(record.fields.length, 'field')}; the header has ${columns.count}` };
  const raw = record.fields[columns.number]!.trim();
  if (raw === '') return { problem: 'no number' };
  const parsed = toE164(raw, region);
  return 'problem' in parsed ? { problem: `number ${JSON.stringify(raw)} ${parsed.problem}` } : { parts: parsed, raw };
}

export interface ContactsImport {
  campaignId: string; region: CountryCode | undefined; defaultTimezone: string; listName: string; importedBy: string | null; delimiter: Delimiter; now: Date;
}

/**
 * A campaign's contact list from CSV: a header row with `number` (or
 * `phone`), optionally `name` and `timezone`, every other column a custom
 * field. Numbers on the global or the campaign's do-not-call list are
 * stored with state `dnc` (so the list's figures show them) and never
 * called. Returns the list, or throws BadFileError (nothing stored).
 */
export async function importContacts(store: CampaignsStore, body: AsyncIterable<Uint8Array | string>, spec: ContactsImport): Promise<ListRow> {
  const rows = rowsOf(body, spec.delimiter);
  const columns = readHeader((await rows.next()).value || undefined, ['number', 'name', 'timezone'], true);
  const listId = randomUUID();
  const problems = new Problems();
  let count = 0;
  let dnc = 0;
  const zones = new Set<string>();
  try {
    return await store.importing(async (tx) => {
      await tx.insertList({ id: listId, campaign_id: spec.campaignId, name: spec.listName, imported_at: spec.now, imported_by: spec.importedBy, contacts: 0, dnc_contacts: 0, timezones: [] });
      let batch: NewContact[] = [];
      const flush = async () => {
        const listed = await tx.listed(spec.campaignId, batch.map((c) => c.number_e164));
        for (const contact of batch) {
          if (!listed.has(contact.number_e164)) continue;
          contact.state = 'dnc';
          contact.next_attempt_at = null;
        }
        const stored = await tx.insertContacts(batch);
        const refused = batch.filter((c) => !stored.has(c.id));
        const holders = await tx.holders(spec.campaignId, refused.map((c) => c.number_e164));
        for (const contact of refused) {
          const holder = holders.get(contact.number_e164);
          problems.add(contact.line, holder?.listId === listId
            ? `number ${contact.number_e164} repeats line ${holder.line}`
            : `number ${contact.number_e164} is in the campaign already${holder ? ` (list ${holder.listName}, line ${holder.line})` : ''}`);
        }
        for (const contact of batch) {
          if (!stored.has(contact.id)) continue;
          count += 1;
          if (contact.state === 'dnc') dnc += 1;
          zones.add(contact.timezone);
        }
        batch = [];
      };
      let records = 0;
      for await (const record of rows) {
        records += 1;
        if (records > importLimits.maxRows) throw new HttpError(413, 'payload_too_large', `the file has more than ${importLimits.maxRows} rows: split it into several lists`);
        const contact = contactOf(record, columns, spec, listId);
        if ('problem' in contact) problems.add(record.line, contact.problem);
        else batch.push(contact);
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      if (records === 0) throw new HttpError(400, 'invalid_csv', 'the file has a header but no rows');
      if (problems.total > 0) throw new BadFileError(problems.listed, problems.total, records);
      return tx.finishList(listId, { contacts: count, dncContacts: dnc, timezones: [...zones].sort() });
    });
  } finally {
    // A refusal before the end (too many rows): the rest of the body is not read.
    await rows.return(undefined);
  }
}

function contactOf(record: CsvRecord, columns: Columns, spec: ContactsImport, listId: string): NewContact | { problem: string } {
  const number = numberOf(record, columns, spec.region);
  if ('problem' in number) return number;
  const cell = (i: number | undefined) => (i === undefined ? '' : record.fields[i]!.trim());
  const name = cell(columns.name);
  if (name.length > importLimits.maxNameLength) return { problem: `name is longer than ${importLimits.maxNameLength} characters` };
  if (controlCharacter.test(name)) return { problem: 'name has control characters' };
  const zone = cell(columns.timezone);
  if (zone !== '' && !isTimeZone(zone)) return { problem: `timezone ${JSON.stringify(zone.slice(0, 64))} is not an IANA time zone (such as Europe/Madrid)` };
  const fields: Record<string, string> = {};
  for (const [key, i] of columns.custom) {
    const value = record.fields[i]!;
    if (controlBesidesBreaks.test(value)) return { problem: `${key} has control characters` };
    fields[key] = value;
  }
  return {
    id: randomUUID(), campaign_id: spec.campaignId, list_id: listId, line: record.line, number_e164: number.parts.number, raw_number: number.raw,
    name: name === '' ? null : name, timezone: timezoneOf(number.parts, zone || null, spec.defaultTimezone), fields, state: 'pending', next_attempt_at: spec.now,
  };
}

export interface DncImport { campaignId: string | null; region: CountryCode | undefined; addedBy: string | null; delimiter: Delimiter; now: Date }

/**
 * Numbers for a do-not-call list from CSV: a header with `number` (or
 * `phone`) and optionally `reason`; other columns are ignored. A number
 * listed already is left as it is. Returns the numbers added and how many
 * were listed already, or throws BadFileError (nothing stored).
 */
export async function importDnc(store: CampaignsStore, body: AsyncIterable<Uint8Array | string>, spec: DncImport): Promise<{ added: DncRow[]; alreadyListed: number }> {
  const rows = rowsOf(body, spec.delimiter);
  const columns = readHeader((await rows.next()).value || undefined, ['number', 'reason'], false);
  const problems = new Problems();
  const lines = new Map<string, number>();
  const added: DncRow[] = [];
  let records = 0;
  try {
    return await store.importing(async (tx) => {
      let batch: Parameters<typeof tx.addDnc>[0] = [];
      const flush = async () => {
        if (problems.total === 0) added.push(...await tx.addDnc(batch));
        batch = [];
      };
      for await (const record of rows) {
        records += 1;
        if (records > importLimits.maxRows) throw new HttpError(413, 'payload_too_large', `the file has more than ${importLimits.maxRows} rows: split it`);
        const number = numberOf(record, columns, spec.region);
        const reason = columns.reason === undefined ? '' : record.fields[columns.reason]?.trim() ?? '';
        if ('problem' in number) problems.add(record.line, number.problem);
        else if (lines.has(number.parts.number)) problems.add(record.line, `number ${number.parts.number} repeats line ${lines.get(number.parts.number)}`);
        else if (reason.length > importLimits.maxNameLength || controlCharacter.test(reason)) problems.add(record.line, `reason is over ${importLimits.maxNameLength} characters or has control characters`);
        else {
          lines.set(number.parts.number, record.line);
          batch.push({ number_e164: number.parts.number, campaign_id: spec.campaignId, reason: reason || null, source: 'import', added_by: spec.addedBy, added_at: spec.now });
        }
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      if (records === 0) throw new HttpError(400, 'invalid_csv', 'the file has a header but no rows');
      if (problems.total > 0) throw new BadFileError(problems.listed, problems.total, records);
      return { added, alreadyListed: lines.size - added.length };
    });
  } finally {
    await rows.return(undefined);
  }
}
