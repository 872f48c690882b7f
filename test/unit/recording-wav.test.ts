import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { datedPath, durationOf, insertSilence, pcmOf, silenceInserts, wavOf } from '../../src/recording/wav-edit.js';

const pcm = (values: number[]): Buffer => Buffer.from(Int16Array.from(values).buffer);
const values = (buffer: Buffer): number[] => [...new Int16Array(buffer.buffer, buffer.byteOffset, buffer.length / 2)];

describe('recording files', () => {
  it('wraps PCM in a WAV and reads it back, trusting the file length over a stale header', () => {
    const file = wavOf(pcm([1, 2, 3, 4]));
    assert.deepEqual(values(pcmOf(file)), [1, 2, 3, 4]);
    const stale = Buffer.from(file);
    stale.writeUInt32LE(0, 40); // a crashed writer's data size
    assert.deepEqual(values(pcmOf(Buffer.concat([stale, pcm([5])]))), [1, 2, 3, 4, 5]);
    assert.equal(durationOf(pcm(new Array(16000).fill(0))), 2);
    assert.throws(() => pcmOf(Buffer.from('not a wav at all')), /not a WAV/);
  });

  it('puts each pause back as silence where it began, less the earlier pauses', () => {
    const start = new Date(0);
    const inserts = silenceInserts(start, [
      { from: new Date(3000), to: new Date(4000) },
      { from: new Date(1000), to: new Date(1500) },
    ]);
    assert.deepEqual(inserts, [{ atSample: 8000, samples: 4000 }, { atSample: 20000, samples: 8000 }]);
    assert.deepEqual(values(insertSilence(pcm([1, 2, 3, 4]), [{ atSample: 1, samples: 2 }, { atSample: 3, samples: 1 }])), [1, 0, 0, 2, 3, 0, 4]);
    assert.deepEqual(values(insertSilence(pcm([1]), [{ atSample: 9, samples: 1 }])), [1, 0], 'beyond the end goes at the end');
  });

  it('files recordings by UTC date and call id', () => {
    assert.equal(datedPath('abc', new Date('2026-11-24T23:30:00Z')), '2026/11/24/abc.wav');
    assert.equal(datedPath('abc', new Date('2026-01-02T00:00:00Z'), 1), '2026/01/02/abc-2.wav');
  });
});
