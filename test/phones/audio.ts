/**
 * Audio helpers for the test phone: G.711 (μ-law, A-law) at 8 kHz, tone
 * generation and a Goertzel tone detector that tells which test tones a
 * phone actually heard.
 */

export const SAMPLE_RATE = 8000;

export type Codec = 'PCMU' | 'PCMA';

/** Static RTP payload types of the two codecs (RFC 3551). */
export const PAYLOAD_TYPE: Readonly<Record<Codec, number>> = { PCMU: 0, PCMA: 8 };

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

export function mulawEncodeSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawDecodeSample(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

const ALAW_SEGMENT_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

export function alawEncodeSample(sample: number): number {
  // A-law works on 13-bit magnitudes; the sign lives in the mask.
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3;
  let mask: number;
  if (pcm >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const segment = ALAW_SEGMENT_END.findIndex((end) => pcm <= end);
  if (segment === -1) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (pcm >> 1) & 0x0f : (pcm >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

export function alawDecodeSample(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) t += 8;
  else if (segment === 1) t += 0x108;
  else t = (t + 0x108) << (segment - 1);
  return a & 0x80 ? t : -t;
}

export function encode(codec: Codec, samples: Int16Array): Buffer {
  const encodeSample = codec === 'PCMU' ? mulawEncodeSample : alawEncodeSample;
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encodeSample(samples[i] ?? 0);
  return out;
}

export function decode(codec: Codec, bytes: Uint8Array): Int16Array {
  const decodeSample = codec === 'PCMU' ? mulawDecodeSample : alawDecodeSample;
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = decodeSample(bytes[i] ?? 0);
  return out;
}

export interface SineOptions {
  /** Peak amplitude; the default is about -12 dBFS, loud yet far from clipping. */
  amplitude?: number;
  /** Index of the first sample, so consecutive frames continue the same wave. */
  startSample?: number;
}

export function sine(hz: number, count: number, { amplitude = 8000, startSample = 0 }: SineOptions = {}): Int16Array {
  const out = new Int16Array(count);
  const step = (2 * Math.PI * hz) / SAMPLE_RATE;
  for (let i = 0; i < count; i++) out[i] = Math.round(amplitude * Math.sin(step * (startSample + i)));
  return out;
}

/** Sample-wise sum, clipped to 16 bits. */
export function mix(...signals: Int16Array[]): Int16Array {
  const length = Math.max(0, ...signals.map((s) => s.length));
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    let sum = 0;
    for (const s of signals) sum += s[i] ?? 0;
    out[i] = Math.max(-32768, Math.min(32767, sum));
  }
  return out;
}

export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

/** |X(f)|² of the block at any frequency (not only DFT bins). */
function goertzelPower(samples: Int16Array, start: number, end: number, hz: number): number {
  const omega = (2 * Math.PI * hz) / SAMPLE_RATE;
  const coefficient = 2 * Math.cos(omega);
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < end; i++) {
    const s0 = (samples[i] ?? 0) + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

export interface ToneDetectOptions {
  /**
   * Block length. 40 ms gives 25 Hz resolution: test tones a few hundred Hz
   * apart are separated, and white noise puts only about 2/320 of its power
   * in any one frequency.
   */
  blockMs?: number;
}

/**
 * For each frequency, the share of the signal's power found at it: a pure
 * tone at that frequency gives about 1, an equal mix of two tones about 0.5
 * each, silence 0 and white noise about 0.006. Blocks are weighted by their
 * energy, so stretches of silence do not dilute a tone that was heard.
 */
export function toneLevels(samples: Int16Array, freqsHz: readonly number[], { blockMs = 40 }: ToneDetectOptions = {}): number[] {
  const blockSize = Math.min(samples.length, Math.max(1, Math.round((SAMPLE_RATE * blockMs) / 1000)));
  const tonePower = freqsHz.map(() => 0);
  let totalPower = 0;
  for (let start = 0; blockSize > 0 && start + blockSize <= samples.length; start += blockSize) {
    const end = start + blockSize;
    let energy = 0;
    for (let i = start; i < end; i++) energy += (samples[i] ?? 0) ** 2;
    if (energy === 0) continue;
    totalPower += energy;
    // A sine of amplitude A has |X(f)|² = (A·N/2)² and energy A²·N/2, so
    // 2·|X(f)|²/N equals the energy when all of it is at f.
    freqsHz.forEach((hz, k) => {
      tonePower[k] = (tonePower[k] ?? 0) + (2 * goertzelPower(samples, start, end, hz)) / blockSize;
    });
  }
  // Quantisation noise alone (a few LSB) is silence, not a signal to analyse.
  const silenceFloor = 4 * 4 * samples.length;
  if (totalPower <= silenceFloor) return freqsHz.map(() => 0);
  return tonePower.map((p) => Math.min(1, p / totalPower));
}

/** The candidate frequencies whose level reaches the threshold, in the order given. */
export function tonesPresent(
  samples: Int16Array,
  candidateFreqs: readonly number[],
  threshold = 0.1,
  options: ToneDetectOptions = {},
): number[] {
  const levels = toneLevels(samples, candidateFreqs, options);
  return candidateFreqs.filter((_, k) => (levels[k] ?? 0) >= threshold);
}
