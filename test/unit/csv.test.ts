import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvCell, toCsv } from '../../src/core/csv.js';

describe('CSV exports', () => {
  it('writes CSV with quoting and flattened objects', () => {
    const csv = toCsv([{ a: 'x,y', b: { c: 1 } }, { a: 'say "hi"', b: { c: null }, d: 2 }]);
    assert.equal(csv, 'a,b.c,d\r\n"x,y",1,\r\n"say ""hi""",,2\r\n');
  });

  it('escapes text a spreadsheet would read as a formula (=, +, -, @, tab, carriage return), quoted', () => {
    assert.equal(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
    assert.equal(csvCell('+34 600'), `"'+34 600"`);
    assert.equal(csvCell('-2+3'), `"'-2+3"`);
    assert.equal(csvCell('@SUM(A1)'), `"'@SUM(A1)"`);
    assert.equal(csvCell('\t=1'), `"'\t=1"`);
    assert.equal(csvCell('\r=1'), `"'\r=1"`);
    assert.equal(csvCell('-5'), `"'-5"`, 'text that looks like a number is still text (a team named -5)');
    assert.equal(csvCell('a=b'), 'a=b', 'only the first character matters');
  });

  it('writes numbers as numbers, negative ones too; null as an empty cell; dates as ISO', () => {
    assert.equal(csvCell(-5), '-5');
    assert.equal(csvCell(-0.25), '-0.25');
    assert.equal(csvCell(0), '0');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(undefined), '');
    assert.equal(csvCell(new Date('2026-01-01T00:00:00Z')), '2026-01-01T00:00:00.000Z');
  });

  it('escapes headers and nested values the same way', () => {
    const csv = toCsv([{ team: '=cmd|calc', figures: { delta: -3 }, '@k': 1 }]);
    assert.equal(csv, `team,figures.delta,"'@k"\r\n"'=cmd|calc",-3,1\r\n`);
  });
});
