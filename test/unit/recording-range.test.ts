import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRange } from '../../src/recording/range.js';

describe('HTTP Range of a recording', () => {
  const size = 1000;

  it('serves the whole file without a Range header', () => {
    assert.deepEqual(parseRange(undefined, size), { kind: 'whole' });
  });

  it('reads bytes=a-b, both ends inclusive, clamping the end to the file', () => {
    assert.deepEqual(parseRange('bytes=0-99', size), { kind: 'partial', start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=500-500', size), { kind: 'partial', start: 500, end: 500 });
    assert.deepEqual(parseRange('bytes=900-5000', size), { kind: 'partial', start: 900, end: 999 });
    assert.deepEqual(parseRange(' Bytes=10-20 ', size), { kind: 'partial', start: 10, end: 20 });
  });

  it('reads bytes=a- as from a to the end', () => {
    assert.deepEqual(parseRange('bytes=0-', size), { kind: 'partial', start: 0, end: 999 });
    assert.deepEqual(parseRange('bytes=999-', size), { kind: 'partial', start: 999, end: 999 });
  });

  it('reads bytes=-n as the last n bytes, the whole file when n is larger', () => {
    assert.deepEqual(parseRange('bytes=-100', size), { kind: 'partial', start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-1000', size), { kind: 'partial', start: 0, end: 999 });
    assert.deepEqual(parseRange('bytes=-99999999999999999999999', size), { kind: 'partial', start: 0, end: 999 });
  });

  it('calls a range past the end, a zero suffix, or any range of an empty file unsatisfiable', () => {
    assert.deepEqual(parseRange('bytes=1000-', size), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=1000-1100', size), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=99999999999999999999999-', size), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', size), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
  });

  it('ignores what it does not understand and serves the whole file', () => {
    for (const header of ['', 'bytes=', 'bytes=-', 'bytes=abc', 'bytes=5-2', 'bytes=0-1,5-9', 'items=0-9', 'bytes=1.5-2', 'bytes = 0-9', 'bytes=+1-2']) {
      assert.deepEqual(parseRange(header, size), { kind: 'whole' }, header);
    }
  });
});
