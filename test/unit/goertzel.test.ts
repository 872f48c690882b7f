import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { decode, encode, mix, sine, toneLevels, tonesPresent } from '../phones/audio.js';

const ONE_SECOND = 8000;
const candidates = [440, 1000, 1800];

function whiteNoise(count: number, amplitude: number): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = randomInt(-amplitude, amplitude + 1);
  return out;
}

describe('Goertzel tone detection', () => {
  it('finds a pure tone at about 1 and nothing at the other frequencies', () => {
    const [at440, at1000, at1800] = toneLevels(sine(440, ONE_SECOND), candidates);
    assert.ok((at440 ?? 0) > 0.95, `440 Hz level ${at440}`);
    assert.ok((at1000 ?? 1) < 0.01, `1000 Hz level ${at1000}`);
    assert.ok((at1800 ?? 1) < 0.01, `1800 Hz level ${at1800}`);
    assert.deepEqual(tonesPresent(sine(1800, ONE_SECOND), candidates), [1800]);
  });

  it('finds both tones of an equal mix at about one half each', () => {
    const both = mix(sine(440, ONE_SECOND, { amplitude: 6000 }), sine(1000, ONE_SECOND, { amplitude: 6000 }));
    const [at440, at1000, at1800] = toneLevels(both, candidates);
    assert.ok(Math.abs((at440 ?? 0) - 0.5) < 0.05, `440 Hz level ${at440}`);
    assert.ok(Math.abs((at1000 ?? 0) - 0.5) < 0.05, `1000 Hz level ${at1000}`);
    assert.ok((at1800 ?? 1) < 0.01, `1800 Hz level ${at1800}`);
    assert.deepEqual(tonesPresent(both, candidates), [440, 1000]);
  });

  it('reports nothing in silence, including μ-law silence', () => {
    assert.deepEqual(toneLevels(new Int16Array(ONE_SECOND), candidates), [0, 0, 0]);
    assert.deepEqual(toneLevels(new Int16Array(0), candidates), [0, 0, 0]);
    assert.deepEqual(tonesPresent(decode('PCMU', Buffer.alloc(ONE_SECOND, 0xff)), candidates), []);
  });

  it('reports nothing in white noise', () => {
    const levels = toneLevels(whiteNoise(ONE_SECOND, 8000), candidates);
    for (const level of levels) assert.ok(level < 0.05, `noise level ${level}`);
    assert.deepEqual(tonesPresent(whiteNoise(ONE_SECOND, 8000), candidates), []);
  });

  it('still finds a tone buried in noise of a quarter of its amplitude', () => {
    const noisy = mix(sine(1000, ONE_SECOND, { amplitude: 8000 }), whiteNoise(ONE_SECOND, 2000));
    assert.deepEqual(tonesPresent(noisy, candidates), [1000]);
  });

  it('is not diluted by silence around a tone burst', () => {
    const burst = new Int16Array(ONE_SECOND);
    burst.set(sine(440, 1600), 3200);
    const [at440] = toneLevels(burst, [440]);
    assert.ok((at440 ?? 0) > 0.9, `440 Hz level ${at440}`);
  });

  it('survives a G.711 round trip', () => {
    for (const codec of ['PCMU', 'PCMA'] as const) {
      const heard = decode(codec, encode(codec, mix(sine(440, ONE_SECOND, { amplitude: 5000 }), sine(1800, ONE_SECOND, { amplitude: 5000 }))));
      assert.deepEqual(tonesPresent(heard, candidates), [440, 1800], codec);
    }
  });
});
