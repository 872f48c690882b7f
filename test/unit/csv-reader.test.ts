import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvError, readCsv, type CsvOptions, type CsvRecord } from '../../src/core/csv-reader.js';

const limits: CsvOptions = { maxFieldLength: 20, maxFields: 5, maxBytes: 10_000 };

async function read(chunks: (string | Uint8Array)[], options: Partial<CsvOptions> = {}): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const record of readCsv((async function* () { yield* chunks; })(), { ...limits, ...options })) out.push(record);
  return out;
}

describe('streaming CSV reader', () => {
  it('reads RFC 4180: quotes, doubled quotes, delimiters and line breaks inside quotes, each record with its first line', async () => {
    const records = await read(['a,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\r\nlines",z\n3,,\n']);
    assert.deepEqual(records, [
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, y', 'say "hi"'] },
      { line: 3, fields: ['2', 'two\nlines', 'z'] },
      { line: 5, fields: ['3', '', ''] },
    ]);
  });

  it('gives the same records whatever the chunks, a character split across two included', async () => {
    const text = 'número;ñ\n"añ\r\no";€\r\n\r\nlast;"x"';
    const bytes = Buffer.from(`\ufeff${text}`);
    const whole = await read([bytes], { delimiter: ';' });
    assert.deepEqual(whole, [{ line: 1, fields: ['número', 'ñ'] }, { line: 2, fields: ['añ\no', '€'] }, { line: 5, fields: ['last', 'x'] }], 'blank line skipped, BOM dropped');
    const byteByByte = await read([...bytes].map((b) => Uint8Array.of(b)), { delimiter: ';' });
    assert.deepEqual(byteByByte, whole);
  });

  it('marks a bad record and reads on: stray quotes, text after a closing quote, long fields, too many fields, an unclosed quote', async () => {
    const records = await read([`ok,1\nab"c,2\n"ab"c,3\n${'x'.repeat(21)},4\n1,2,3,4,5,6\nfine,5\n"never closed,6\n`]);
    assert.deepEqual(records.map((r) => [r.line, r.problem ?? null]), [
      [1, null],
      [2, 'field 1 has a quote but does not start with one (write "" inside a quoted field)'],
      [3, 'field 1 has text after its closing quote'],
      [4, 'field 1 is longer than 20 characters'],
      [5, 'has more than 5 fields'],
      [6, null],
      [7, 'field 1 opens a quote that is never closed'],
    ]);
    assert.equal(records[3]!.fields[0]!.length, 20, 'a long field is cut, not kept whole');
  });

  it('stops on a file that is not UTF-8 or is too large', async () => {
    await assert.rejects(read([Uint8Array.of(0x61, 0x0a, 0xff, 0x0a)]), (err: unknown) => err instanceof CsvError && err.kind === 'not_utf8');
    await assert.rejects(read(['a\n'.repeat(6000)]), (err: unknown) => err instanceof CsvError && err.kind === 'too_large');
  });
});
