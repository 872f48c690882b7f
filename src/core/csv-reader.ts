/**
 * Reading CSV as it arrives (RFC 4180: fields separated by a delimiter,
 * records by CRLF, LF or CR; a field in double quotes may hold the
 * delimiter, line breaks and "" for a quote), one record at a time, so a
 * file of any size is read in bounded memory. Each record carries the line
 * it starts on (a quoted line break makes a record span lines) and, rather
 * than an exception, what is wrong with it, so that a caller can list every
 * bad record of a file. Only a file that is not UTF-8 or is too large stops
 * the reading (CsvError). The exports' writer is csv.ts.
 */

export interface CsvRecord {
  /** The line the record starts on, 1 for the first. */
  line: number;
  fields: string[];
  /** What is wrong with it (a field too long, a stray quote…); its fields are then not to be trusted. */
  problem?: string;
}

export interface CsvOptions {
  delimiter?: ',' | ';' | '\t';
  /** Longest field, in characters; longer ones are cut and the record marked. */
  maxFieldLength: number;
  /** Most fields in a record; more are dropped and the record marked. */
  maxFields: number;
  /** Most bytes read; more stops the reading with CsvError('too_large'). */
  maxBytes: number;
}

export class CsvError extends Error {
  constructor(readonly kind: 'not_utf8' | 'too_large', message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

const enum At { FieldStart, Unquoted, Quoted, QuoteInQuoted, AfterQuoted }

/** The records of a CSV byte stream (a request body), blank lines skipped, a UTF-8 byte order mark dropped. */
export async function* readCsv(source: AsyncIterable<Uint8Array | string>, options: CsvOptions): AsyncGenerator<CsvRecord> {
  const delimiter = options.delimiter ?? ',';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  let line = 1;
  let at = At.FieldStart as At;
  let recordLine = 1;
  let fields: string[] = [];
  let field = '';
  let problem: string | undefined;
  // A CR ended the last record: an LF right after it is the same line break.
  let afterCr = false;

  const mark = (why: string) => { problem ??= why; };
  const endField = () => {
    if (fields.length < options.maxFields) fields.push(field);
    else mark(`has more than ${options.maxFields} fields`);
    field = '';
  };
  const append = (ch: string) => {
    if (field.length < options.maxFieldLength) field += ch;
    else mark(`field ${fields.length + 1} is longer than ${options.maxFieldLength} characters`);
  };
  /** Ends the record; returns it unless it was a blank line. */
  const endRecord = (): CsvRecord | undefined => {
    endField();
    const record = fields.length === 1 && fields[0] === '' && !problem ? undefined : { line: recordLine, fields, ...(problem ? { problem } : {}) };
    fields = [];
    problem = undefined;
    at = At.FieldStart;
    return record;
  };

  const decode = function* (text: string): Generator<CsvRecord> {
    for (const ch of text) {
      if (afterCr) {
        afterCr = false;
        if (ch === '\n') continue;
      }
      const lineBreak = ch === '\n' || ch === '\r';
      switch (at) {
        case At.Quoted:
          if (ch === '"') at = At.QuoteInQuoted;
          else if (lineBreak) {
            // A line break inside quotes is kept as \n, whichever the file used.
            line += 1;
            afterCr = ch === '\r';
            append('\n');
          } else append(ch);
          continue;
        case At.QuoteInQuoted:
          // "" inside quotes is a quote; a single one closed the field.
          if (ch === '"') { append('"'); at = At.Quoted; continue; }
          at = At.AfterQuoted;
          break;
        default:
          break;
      }
      if (ch === delimiter) { endField(); at = At.FieldStart; continue; }
      if (lineBreak) {
        line += 1;
        afterCr = ch === '\r';
        const record = endRecord();
        recordLine = line;
        if (record) yield record;
        continue;
      }
      if (at === At.FieldStart && ch === '"') { at = At.Quoted; continue; }
      if (at === At.AfterQuoted) mark(`field ${fields.length + 1} has text after its closing quote`);
      else if (ch === '"') mark(`field ${fields.length + 1} has a quote but does not start with one (write "" inside a quoted field)`);
      at = at === At.AfterQuoted ? At.AfterQuoted : At.Unquoted;
      append(ch);
    }
  };

  for await (const chunk of source) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += data.byteLength;
    if (bytes > options.maxBytes) throw new CsvError('too_large', `the file is larger than ${options.maxBytes} bytes`);
    let text: string;
    try {
      text = decoder.decode(data, { stream: true });
    } catch {
      throw new CsvError('not_utf8', `the file is not UTF-8 text (near line ${line}): save it as CSV UTF-8`);
    }
    yield* decode(text);
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new CsvError('not_utf8', `the file is not UTF-8 text (it ends inside a character): save it as CSV UTF-8`);
  }
  yield* decode(rest);
  if (at === At.Quoted) mark(`field ${fields.length + 1} opens a quote that is never closed`);
  if (at === At.QuoteInQuoted) at = At.AfterQuoted;
  const last = endRecord();
  if (last) yield last;
}
