import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransferKeys } from '../../src/queues/transfer-keys.js';

function press(keys: TransferKeys, sequence: string, start = 0, gap = 200) {
  return [...sequence].map((key, i) => keys.press(key, start + i * gap));
}

describe('blind-transfer keys (## number #)', () => {
  it('reads the number between ## and #', () => {
    const keys = new TransferKeys();
    const results = press(keys, '##701#');
    assert.deepEqual(results.at(-1), { kind: 'number', number: '701' });
    assert.ok(results.slice(0, -1).every((r) => r.kind === 'collecting'));
    assert.equal(keys.keying, false);
  });

  it('ends the number when the digit timer runs out', () => {
    const keys = new TransferKeys();
    press(keys, '##1002');
    assert.equal(keys.keying, true);
    assert.deepEqual(keys.timeout(), { kind: 'number', number: '1002' });
  });

  it('ignores single # and other digits in conversation', () => {
    const keys = new TransferKeys();
    assert.deepEqual(press(keys, '1#2#3').map((r) => r.kind), ['idle', 'collecting', 'idle', 'collecting', 'idle']);
    assert.equal(keys.keying, false);
  });

  it('needs the two # close together', () => {
    const keys = new TransferKeys();
    keys.press('#', 0);
    assert.deepEqual(keys.press('#', 5000), { kind: 'collecting' }); // a new first #
    assert.equal(keys.keying, false);
    keys.press('#', 5100);
    assert.equal(keys.keying, true);
  });

  it('### cancels', () => {
    const keys = new TransferKeys();
    assert.deepEqual(press(keys, '###').at(-1), { kind: 'cancelled' });
    assert.equal(keys.keying, false);
  });

  it('stops at twenty digits (an external number: 00 and up to 15 digits, # ends it sooner)', () => {
    const keys = new TransferKeys();
    assert.deepEqual(press(keys, '##0012345678901234567890').at(-3), { kind: 'number', number: '00123456789012345678' });
    assert.deepEqual(press(new TransferKeys(), '##00441234567#').at(-1), { kind: 'number', number: '00441234567' });
  });
});
