import { plural } from '../core/text.js';

/**
 * WAV files for prompts: parse what an admin uploads and turn it into the one
 * format Asterisk's format_wav plays without transcoding, 8 kHz mono 16-bit
 * PCM. Pure functions over buffers; nothing here touches the disk.
 */

/** Refused audio; the message says what is wrong in words an admin can act on. */
export class InvalidAudioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAudioError';
  }
}

export const promptSampleRate = 8000;
export const maxPromptSeconds = 600;
/** One RTP packet's worth: anything shorter is no prompt (and would store 0 ms, which the prompts table refuses). */
export const minPromptMs = 20;
const minSampleRate = 8000;
const maxSampleRate = 48000;

type Encoding = 'pcm8' | 'pcm16' | 'alaw' | 'mulaw';

const accepted = 'send 16-bit PCM, 8-bit PCM, μ-law or A-law';

const formatNames: Record<number, string> = {
  0x0002: 'Microsoft ADPCM', 0x0003: 'floating point', 0x0011: 'IMA ADPCM', 0x0031: 'GSM 6.10',
  0x0050: 'MPEG audio', 0x0055: 'MP3', 0x0161: 'Windows Media Audio',
};

const formatCode = { pcm: 0x0001, alaw: 0x0006, mulaw: 0x0007, extensible: 0xfffe } as const;

/** The sound in a WAV, as found in its fmt and data chunks. */
export interface WavAudio {
  encoding: Encoding;
  sampleRate: number;
  channels: 1 | 2;
  /** Whole frames only: a partial last frame is dropped. */
  frames: number;
  data: Buffer;
}

/** A prompt ready for Asterisk: a canonical WAV and what it was made from. */
export interface TelephoneWav {
  wav: Buffer;
  durationMs: number;
  /** e.g. "PCM 16-bit, 44100 Hz, stereo" */
  originalFormat: string;
}

const fourCC = (buffer: Buffer, offset: number): string => buffer.toString('latin1', offset, offset + 4);

function encodingOf(code: number, bits: number): Encoding {
  if (code === formatCode.pcm) {
    if (bits === 16) return 'pcm16';
    if (bits === 8) return 'pcm8';
    throw new InvalidAudioError(`the WAV is ${bits}-bit PCM; ${accepted}`);
  }
  if (code === formatCode.mulaw || code === formatCode.alaw) {
    const name = code === formatCode.mulaw ? 'μ-law' : 'A-law';
    if (bits !== 8) throw new InvalidAudioError(`the WAV says ${name} with ${bits} bits per sample, but ${name} has 8`);
    return code === formatCode.mulaw ? 'mulaw' : 'alaw';
  }
  const name = code === 0x0003 ? `${bits}-bit floating point` : formatNames[code] ?? `audio format 0x${code.toString(16).padStart(4, '0')}`;
  throw new InvalidAudioError(`the WAV is ${name}; ${accepted}`);
}

function parseFmt(chunk: Buffer): Omit<WavAudio, 'frames' | 'data'> {
  if (chunk.length < 16) throw new InvalidAudioError(`the WAV's fmt chunk is ${chunk.length} bytes long; it needs at least 16`);
  let code = chunk.readUInt16LE(0);
  const channels = chunk.readUInt16LE(2);
  const sampleRate = chunk.readUInt32LE(4);
  const bits = chunk.readUInt16LE(14);
  if (code === formatCode.extensible) {
    // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
    if (chunk.length < 40) throw new InvalidAudioError(`the WAV's extensible fmt chunk is ${chunk.length} bytes long; it needs 40`);
    code = chunk.readUInt16LE(24);
  }
  const encoding = encodingOf(code, bits);
  if (channels !== 1 && channels !== 2) throw new InvalidAudioError(`the WAV has ${channels} channels; send mono or stereo`);
  if (sampleRate < minSampleRate || sampleRate > maxSampleRate) {
    throw new InvalidAudioError(`the WAV's sample rate is ${sampleRate} Hz; send ${minSampleRate} to ${maxSampleRate} Hz`);
  }
  return { encoding, sampleRate, channels };
}

/**
 * Reads a RIFF/WAVE file: chunks in any order, unknown ones skipped, odd
 * sizes padded to even as RIFF requires. Throws InvalidAudioError for
 * anything it cannot turn into a prompt.
 */
export function parseWav(file: Buffer): WavAudio {
  if (file.length === 0) throw new InvalidAudioError('the file is empty');
  if (file.length < 12 || fourCC(file, 0) !== 'RIFF' || fourCC(file, 8) !== 'WAVE') {
    throw new InvalidAudioError('the file is not a WAV (it does not start with a RIFF/WAVE header)');
  }
  let fmt: Buffer | undefined;
  let data: Buffer | undefined;
  // The RIFF size is not trusted: streaming writers leave it at 0 or 0xFFFFFFFF.
  for (let offset = 12; offset + 8 <= file.length;) {
    const id = fourCC(file, offset);
    const size = file.readUInt32LE(offset + 4);
    const start = offset + 8;
    if (id === 'fmt ' || id === 'data') {
      const present = file.length - start;
      if (size > present) {
        throw new InvalidAudioError(`the WAV is truncated: its ${id.trim()} chunk declares ${size} bytes but only ${present} are there`);
      }
      if (id === 'fmt ') fmt ??= file.subarray(start, start + size);
      else data ??= file.subarray(start, start + size);
    }
    offset = start + size + (size % 2);
  }
  if (!fmt) throw new InvalidAudioError('the WAV has no fmt chunk, so its audio format is unknown');
  const format = parseFmt(fmt);
  if (!data) throw new InvalidAudioError('the WAV has no data chunk, so it holds no audio');
  const frameBytes = format.channels * (format.encoding === 'pcm16' ? 2 : 1);
  const frames = Math.floor(data.length / frameBytes);
  if (frames === 0) throw new InvalidAudioError('the WAV holds no audio (its data chunk is empty)');
  const seconds = frames / format.sampleRate;
  if (seconds * 1000 < minPromptMs) {
    throw new InvalidAudioError(`the WAV lasts ${(seconds * 1000).toFixed(2)} ms (${plural(frames, 'sample')} at ${format.sampleRate} Hz); a prompt must last at least ${minPromptMs} ms`);
  }
  if (seconds > maxPromptSeconds) {
    throw new InvalidAudioError(`the WAV lasts ${seconds.toFixed(1)} seconds; a prompt may last at most ${maxPromptSeconds} seconds (${maxPromptSeconds / 60} minutes)`);
  }
  return { ...format, frames, data: data.subarray(0, frames * frameBytes) };
}

/** G.711 μ-law byte → linear 16-bit (ITU-T G.711). */
export function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

/** G.711 A-law byte → linear 16-bit (ITU-T G.711). */
export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const segment = (a & 0x70) >> 4;
  let magnitude = ((a & 0x0f) << 4) + 8;
  if (segment > 0) magnitude = (magnitude + 0x100) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

/** Decodes every frame and averages the channels, at the file's own rate. */
function monoSamples(audio: WavAudio): Float64Array {
  const { encoding, channels, frames, data } = audio;
  const sample = (index: number): number => {
    switch (encoding) {
      case 'pcm16': return data.readInt16LE(index * 2);
      case 'pcm8': return ((data[index] ?? 128) - 128) * 256;
      case 'mulaw': return mulawToLinear(data[index] ?? 0xff);
      case 'alaw': return alawToLinear(data[index] ?? 0xd5);
    }
  };
  const out = new Float64Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    out[frame] = channels === 1 ? sample(frame) : (sample(frame * 2) + sample(frame * 2 + 1)) / 2;
  }
  return out;
}

// Resampling to 8 kHz: each output sample is a weighted sum of the input
// samples around it, weighted by a Hann-windowed sinc low-pass. The cut-off
// sits below 4 kHz (half of 8 kHz) with room for the window's transition
// band, so what lies above is filtered out instead of folding back as
// aliases.
const cutoffHz = 3600;
/** Half the kernel's length, in output samples (16 is 2 ms either side). */
const kernelHalfWidth = 16;

/** The low-pass kernel at a distance of u output samples from its centre. */
function lowPass(u: number): number {
  if (Math.abs(u) >= kernelHalfWidth) return 0;
  const x = (Math.PI * 2 * cutoffHz * u) / promptSampleRate;
  const sinc = x === 0 ? 1 : Math.sin(x) / x;
  return sinc * (0.5 + 0.5 * Math.cos((Math.PI * u) / kernelHalfWidth));
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function resample(input: Float64Array, fromRate: number): Float64Array {
  if (fromRate === promptSampleRate) return input;
  // Output sample n sits at input position n·p/q. Its fractional part
  // repeats every q outputs, so q sets of weights, computed once, serve
  // every sample (44.1 kHz: 80 sets; 48 kHz: one).
  const divisor = gcd(fromRate, promptSampleRate);
  const p = fromRate / divisor;
  const q = promptSampleRate / divisor;
  const step = p / q;
  const reach = Math.ceil(kernelHalfWidth * step);
  const taps = 2 * reach + 1;
  const weights = new Float64Array(q * taps);
  for (let phase = 0; phase < q; phase++) {
    const fraction = ((phase * p) % q) / q;
    const set = Array.from({ length: taps }, (_, j) => lowPass((j - reach - fraction) / step));
    const sum = set.reduce((a, b) => a + b, 0);
    // Weights summing to 1 keep the gain at exactly 1.
    set.forEach((w, j) => { weights[phase * taps + j] = w / sum; });
  }
  const out = new Float64Array(Math.max(1, Math.round(input.length / step)));
  for (let n = 0; n < out.length; n++) {
    const first = Math.floor((n * p) / q) - reach;
    const offset = (n % q) * taps;
    let sum = 0;
    // Beyond either end of the input is silence.
    for (let j = Math.max(0, -first), end = Math.min(taps, input.length - first); j < end; j++) {
      sum += (weights[offset + j] ?? 0) * (input[first + j] ?? 0);
    }
    out[n] = sum;
  }
  return out;
}

/** A canonical WAV: the 44-byte header, then 16-bit PCM mono samples. */
export function writeWav(samples: Int16Array, sampleRate = promptSampleRate): Buffer {
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'latin1');
  out.write('fmt ', 12, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(formatCode.pcm, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i] ?? 0, 44 + i * 2);
  return out;
}

export function describeFormat(audio: Pick<WavAudio, 'encoding' | 'sampleRate' | 'channels'>): string {
  const encoding = { pcm16: 'PCM 16-bit', pcm8: 'PCM 8-bit', mulaw: 'μ-law', alaw: 'A-law' }[audio.encoding];
  return `${encoding}, ${audio.sampleRate} Hz, ${audio.channels === 1 ? 'mono' : 'stereo'}`;
}

/**
 * Any accepted WAV → 8 kHz mono 16-bit PCM in a canonical WAV. Throws
 * InvalidAudioError, with what is wrong, for anything else.
 */
export function toTelephoneWav(file: Buffer): TelephoneWav {
  const audio = parseWav(file);
  const resampled = resample(monoSamples(audio), audio.sampleRate);
  const samples = new Int16Array(resampled.length);
  for (let i = 0; i < resampled.length; i++) samples[i] = Math.max(-32768, Math.min(32767, Math.round(resampled[i] ?? 0)));
  return {
    wav: writeWav(samples),
    durationMs: Math.round((samples.length * 1000) / promptSampleRate),
    originalFormat: describeFormat(audio),
  };
}
