import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alawDecodeSample,
  alawEncodeSample,
  decode,
  encode,
  mulawDecodeSample,
  mulawEncodeSample,
  rms,
  sine,
} from '../phones/audio.js';

describe('G.711', () => {
  it('μ-law: every code decodes to a value that encodes back to it (0x7f is the second zero)', () => {
    for (let byte = 0; byte < 256; byte++) {
      const expected = byte === 0x7f ? 0xff : byte;
      assert.equal(mulawEncodeSample(mulawDecodeSample(byte)), expected, `byte 0x${byte.toString(16)}`);
    }
  });

  it('A-law: every code decodes to a value that encodes back to it', () => {
    for (let byte = 0; byte < 256; byte++) {
      assert.equal(alawEncodeSample(alawDecodeSample(byte)), byte, `byte 0x${byte.toString(16)}`);
    }
  });

  it('uses the standard code points for silence and full scale', () => {
    assert.equal(mulawEncodeSample(0), 0xff);
    assert.equal(mulawDecodeSample(0xff), 0);
    assert.equal(mulawEncodeSample(32767), 0x80);
    assert.equal(mulawEncodeSample(-32768), 0x00);
    assert.equal(alawEncodeSample(0), 0xd5);
    assert.equal(alawDecodeSample(0xd5), 8);
    assert.equal(alawEncodeSample(32767), 0xaa);
    assert.equal(alawEncodeSample(-32768), 0x2a);
    // The G.711 tables' extremes.
    assert.equal(mulawDecodeSample(0x80), 32124);
    assert.equal(mulawDecodeSample(0x00), -32124);
    assert.equal(alawDecodeSample(0xaa), 32256);
    assert.equal(alawDecodeSample(0x2a), -32256);
  });

  it('keeps the quantisation error within the step of each segment', () => {
    for (let sample = -32768; sample <= 32767; sample += 7) {
      for (const [name, enc, dec] of [
        ['μ-law', mulawEncodeSample, mulawDecodeSample],
        ['A-law', alawEncodeSample, alawDecodeSample],
      ] as const) {
        const back = dec(enc(sample));
        // Logarithmic steps: about 1/16 of the magnitude, plus the smallest step near zero.
        assert.ok(Math.abs(back - sample) <= Math.abs(sample) / 16 + 40, `${name} ${sample} -> ${back}`);
        assert.ok(Math.sign(back) === Math.sign(sample) || Math.abs(sample) < 40, `${name} sign of ${sample} -> ${back}`);
      }
    }
  });

  it('round-trips a tone through both codecs with a small error', () => {
    const tone = sine(1000, 800);
    for (const codec of ['PCMU', 'PCMA'] as const) {
      const bytes = encode(codec, tone);
      assert.equal(bytes.length, tone.length);
      const back = decode(codec, bytes);
      const error = new Int16Array(tone.length);
      for (let i = 0; i < tone.length; i++) error[i] = (back[i] ?? 0) - (tone[i] ?? 0);
      // G.711 gives about 38 dB signal-to-quantisation-noise.
      assert.ok(rms(error) < rms(tone) / 50, `${codec}: error RMS ${rms(error)} for tone RMS ${rms(tone)}`);
    }
  });
});
