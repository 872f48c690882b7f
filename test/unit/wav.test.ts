import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alawToLinear, InvalidAudioError, mulawToLinear, parseWav, toTelephoneWav } from '../../src/prompts/wav.js';
import { alawDecodeSample, alawEncodeSample, mulawDecodeSample, mulawEncodeSample, rms, toneLevels } from '../phones/audio.js';

// WAV files are built here by hand, independently of src/prompts/wav.ts.

function chunk(id: string, body: Buffer, declaredSize = body.length): Buffer {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(declaredSize, 4);
  return Buffer.concat([header, body, Buffer.alloc(body.length % 2)]);
}

function riff(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat(chunks);
  const header = Buffer.alloc(12);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(4 + body.length, 4);
  header.write('WAVE', 8, 'latin1');
  return Buffer.concat([header, body]);
}

interface Fmt { format?: number; channels?: number; rate?: number; bits?: number; extensibleSubformat?: number }

function fmt({ format = 1, channels = 1, rate = 8000, bits = 16, extensibleSubformat }: Fmt = {}): Buffer {
  const body = Buffer.alloc(extensibleSubformat === undefined ? 16 : 40);
  const blockAlign = (channels * bits) / 8;
  body.writeUInt16LE(extensibleSubformat === undefined ? format : 0xfffe, 0);
  body.writeUInt16LE(channels, 2);
  body.writeUInt32LE(rate, 4);
  body.writeUInt32LE(rate * blockAlign, 8);
  body.writeUInt16LE(blockAlign, 12);
  body.writeUInt16LE(bits, 14);
  if (extensibleSubformat !== undefined) {
    body.writeUInt16LE(22, 16);
    body.writeUInt16LE(bits, 18);
    body.writeUInt32LE(channels === 2 ? 3 : 4, 20);
    body.writeUInt16LE(extensibleSubformat, 24);
    Buffer.from('000000001000800000aa00389b71', 'hex').copy(body, 26);
  }
  return chunk('fmt ', body);
}

/** Interleaves the channels as 16-bit little-endian PCM. */
function pcm16(...channels: Int16Array[]): Buffer {
  const frames = channels[0]?.length ?? 0;
  const out = Buffer.alloc(frames * channels.length * 2);
  for (let i = 0; i < frames; i++) channels.forEach((c, k) => out.writeInt16LE(c[i] ?? 0, (i * channels.length + k) * 2));
  return out;
}

function sineAt(hz: number, rate: number, seconds: number, amplitude = 8000): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** The converted file must be the canonical 44-byte-header 8 kHz mono 16-bit WAV; returns its samples. */
function canonicalSamples(wav: Buffer): Int16Array {
  assert.equal(wav.toString('latin1', 0, 4), 'RIFF');
  assert.equal(wav.readUInt32LE(4), wav.length - 8);
  assert.equal(wav.toString('latin1', 8, 16), 'WAVEfmt ');
  assert.deepEqual([wav.readUInt32LE(16), wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt32LE(28), wav.readUInt16LE(32), wav.readUInt16LE(34)],
    [16, 1, 1, 8000, 16000, 2, 16]);
  assert.equal(wav.toString('latin1', 36, 40), 'data');
  assert.equal(wav.readUInt32LE(40), wav.length - 44);
  const out = new Int16Array((wav.length - 44) / 2);
  for (let i = 0; i < out.length; i++) out[i] = wav.readInt16LE(44 + i * 2);
  return out;
}

const refused = (file: Buffer, message: string): void => {
  assert.throws(() => toTelephoneWav(file), (err: unknown) => {
    assert.ok(err instanceof InvalidAudioError, `expected InvalidAudioError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
};

describe('prompt WAV conversion', () => {
  it('passes 8 kHz mono 16-bit PCM through with the same samples', () => {
    const samples = sineAt(440, 8000, 0.5).map((s, i) => s + ((i * 7919) % 201) - 100);
    const converted = toTelephoneWav(riff(fmt(), chunk('data', pcm16(samples))));
    assert.deepEqual(canonicalSamples(converted.wav), samples);
    assert.equal(converted.durationMs, 500);
    assert.equal(converted.originalFormat, 'PCM 16-bit, 8000 Hz, mono');
  });

  it('turns 44.1 kHz stereo into 8 kHz mono with a 1000 Hz tone still at 1000 Hz and at its level', () => {
    const left = sineAt(1000, 44100, 1, 10000);
    const right = sineAt(1000, 44100, 1, 6000);
    const converted = toTelephoneWav(riff(fmt({ channels: 2, rate: 44100 }), chunk('data', pcm16(left, right))));
    const out = canonicalSamples(converted.wav);
    assert.equal(out.length, 8000);
    assert.equal(converted.durationMs, 1000);
    assert.equal(converted.originalFormat, 'PCM 16-bit, 44100 Hz, stereo');
    const [at1000, at700, at1300] = toneLevels(out, [1000, 700, 1300]);
    assert.ok((at1000 ?? 0) > 0.95, `1000 Hz level ${at1000}`);
    assert.ok((at700 ?? 1) < 0.01 && (at1300 ?? 1) < 0.01, `neighbours ${at700} ${at1300}`);
    // The channels' average is a sine of amplitude 8000: RMS 8000/√2.
    assert.ok(Math.abs(rms(out) / (8000 / Math.SQRT2) - 1) < 0.02, `rms ${rms(out)}`);
  });

  for (const rate of [11025, 16000, 22050, 32000, 48000]) {
    it(`resamples ${rate} Hz to 8 kHz keeping a 1000 Hz tone`, () => {
      const out = canonicalSamples(toTelephoneWav(riff(fmt({ rate }), chunk('data', pcm16(sineAt(1000, rate, 0.5))))).wav);
      assert.equal(out.length, 4000);
      assert.ok((toneLevels(out, [1000])[0] ?? 0) > 0.95);
    });
  }

  it('filters out what lies above 4 kHz instead of folding it down as an alias', () => {
    // 6 kHz sampled at 8 kHz would alias to 2 kHz.
    const input = sineAt(6000, 44100, 1, 10000);
    const out = canonicalSamples(toTelephoneWav(riff(fmt({ rate: 44100 }), chunk('data', pcm16(input)))).wav);
    assert.ok(rms(out) < 0.02 * rms(input), `6 kHz left ${rms(out)} of ${rms(input)} RMS`);
  });

  it('decodes μ-law and A-law as G.711 says', () => {
    for (let byte = 0; byte < 256; byte++) {
      assert.equal(mulawToLinear(byte), mulawDecodeSample(byte), `μ-law ${byte}`);
      assert.equal(alawToLinear(byte), alawDecodeSample(byte), `A-law ${byte}`);
    }
    const tone = sineAt(1000, 8000, 0.25);
    const mulaw = Buffer.from(tone.map(mulawEncodeSample));
    const fromMulaw = toTelephoneWav(riff(fmt({ format: 7, bits: 8 }), chunk('data', mulaw)));
    assert.deepEqual(canonicalSamples(fromMulaw.wav), Int16Array.from(mulaw, mulawDecodeSample));
    assert.equal(fromMulaw.originalFormat, 'μ-law, 8000 Hz, mono');
    const alaw = Buffer.from(tone.map(alawEncodeSample));
    const fromAlaw = toTelephoneWav(riff(fmt({ format: 6, bits: 8 }), chunk('data', alaw)));
    assert.deepEqual(canonicalSamples(fromAlaw.wav), Int16Array.from(alaw, alawDecodeSample));
    assert.equal(fromAlaw.originalFormat, 'A-law, 8000 Hz, mono');
  });

  it('decodes 8-bit PCM, which is unsigned around 128', () => {
    // 160 samples: the shortest prompt (20 ms)
    const converted = toTelephoneWav(riff(fmt({ bits: 8 }), chunk('data', Buffer.concat([Buffer.from([128, 255, 0, 192, 64]), Buffer.alloc(155, 128)]))));
    assert.deepEqual([...canonicalSamples(converted.wav)].slice(0, 6), [0, 127 * 256, -32768, 64 * 256, -64 * 256, 0]);
    assert.equal(converted.originalFormat, 'PCM 8-bit, 8000 Hz, mono');
  });

  it('reads chunks in any order, skips unknown ones and honours odd-size padding', () => {
    const samples = sineAt(440, 8000, 0.1);
    const list = chunk('LIST', Buffer.from('INFOISFTLavf6', 'latin1'));
    const file = riff(list, chunk('data', pcm16(samples)), chunk('junk', Buffer.alloc(3)), fmt(), chunk('id3 ', Buffer.alloc(7)));
    assert.deepEqual(canonicalSamples(toTelephoneWav(file).wav), samples);
    const parsed = parseWav(file);
    assert.deepEqual([parsed.encoding, parsed.sampleRate, parsed.channels, parsed.frames], ['pcm16', 8000, 1, samples.length]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE by its sub-format, and drops a partial last frame', () => {
    const samples = sineAt(440, 8000, 0.1);
    const file = riff(fmt({ extensibleSubformat: 1, channels: 2 }), chunk('data', Buffer.concat([pcm16(samples, samples), Buffer.from([1, 2, 3])])));
    assert.deepEqual(canonicalSamples(toTelephoneWav(file).wav), samples);
  });

  it('refuses what it cannot play, saying what is wrong', () => {
    const data = chunk('data', pcm16(sineAt(440, 8000, 0.1)));
    const accepted = 'send 16-bit PCM, 8-bit PCM, μ-law or A-law';
    refused(Buffer.alloc(0), 'the file is empty');
    refused(Buffer.from('{"not": "a wav"}'), 'the file is not a WAV (it does not start with a RIFF/WAVE header)');
    refused(Buffer.concat([Buffer.from('RIFF\x00\x00\x00\x00AVI ', 'latin1'), data]), 'the file is not a WAV (it does not start with a RIFF/WAVE header)');
    refused(riff(data), 'the WAV has no fmt chunk, so its audio format is unknown');
    refused(riff(fmt()), 'the WAV has no data chunk, so it holds no audio');
    refused(riff(fmt({ bits: 24 }), data), `the WAV is 24-bit PCM; ${accepted}`);
    refused(riff(fmt({ bits: 32 }), data), `the WAV is 32-bit PCM; ${accepted}`);
    refused(riff(fmt({ format: 3, bits: 32 }), data), `the WAV is 32-bit floating point; ${accepted}`);
    refused(riff(fmt({ extensibleSubformat: 3, bits: 32 }), data), `the WAV is 32-bit floating point; ${accepted}`);
    refused(riff(fmt({ format: 2, bits: 4 }), data), `the WAV is Microsoft ADPCM; ${accepted}`);
    refused(riff(fmt({ format: 0x11, bits: 4 }), data), `the WAV is IMA ADPCM; ${accepted}`);
    refused(riff(fmt({ format: 0x55 }), data), `the WAV is MP3; ${accepted}`);
    refused(riff(fmt({ format: 0x1234 }), data), `the WAV is audio format 0x1234; ${accepted}`);
    refused(riff(fmt({ format: 7, bits: 16 }), data), 'the WAV says μ-law with 16 bits per sample, but μ-law has 8');
    refused(riff(fmt({ channels: 6 }), data), 'the WAV has 6 channels; send mono or stereo');
    refused(riff(fmt({ rate: 6000 }), data), "the WAV's sample rate is 6000 Hz; send 8000 to 48000 Hz");
    refused(riff(fmt({ rate: 96000 }), data), "the WAV's sample rate is 96000 Hz; send 8000 to 48000 Hz");
    refused(riff(chunk('fmt ', Buffer.alloc(14)), data), "the WAV's fmt chunk is 14 bytes long; it needs at least 16");
    refused(riff(fmt(), chunk('data', Buffer.alloc(100), 16000)),
      'the WAV is truncated: its data chunk declares 16000 bytes but only 100 are there');
    refused(riff(fmt(), chunk('data', Buffer.alloc(0))), 'the WAV holds no audio (its data chunk is empty)');
    refused(riff(fmt(), chunk('data', Buffer.alloc(1))), 'the WAV holds no audio (its data chunk is empty)');
  });

  it('takes up to ten minutes and refuses more', () => {
    const tenMinutes = riff(fmt({ format: 7, bits: 8 }), chunk('data', Buffer.alloc(600 * 8000, 0xff)));
    assert.equal(toTelephoneWav(tenMinutes).durationMs, 600_000);
    refused(riff(fmt({ format: 7, bits: 8 }), chunk('data', Buffer.alloc(601 * 8000, 0xff))),
      'the WAV lasts 601.0 seconds; a prompt may last at most 600 seconds (10 minutes)');
  });

  it('takes 20 ms, the shortest prompt, and refuses shorter files (they would store 0 ms)', () => {
    for (const rate of [8000, 11025, 44100, 48000]) {
      const shortest = riff(fmt({ rate }), chunk('data', pcm16(new Int16Array(Math.ceil(rate * 0.02)))));
      assert.equal(toTelephoneWav(shortest).durationMs, 20, `${rate} Hz`);
    }
    refused(riff(fmt({ rate: 48000 }), chunk('data', pcm16(new Int16Array(1)))), 'the WAV lasts 0.02 ms (1 sample at 48000 Hz); a prompt must last at least 20 ms');
    refused(riff(fmt(), chunk('data', pcm16(new Int16Array(159)))), 'the WAV lasts 19.88 ms (159 samples at 8000 Hz); a prompt must last at least 20 ms');
  });
});
