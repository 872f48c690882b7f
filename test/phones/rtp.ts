/**
 * One RTP audio stream of the test phone: sends a 20 ms G.711 frame every
 * 20 ms (silence or a tone), RFC 4733 DTMF events, and keeps every audio
 * frame it receives so tests can measure what the phone actually heard.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { decode, encode, PAYLOAD_TYPE, rms, sine, toneLevels, SAMPLE_RATE, type Codec } from './audio.js';

const FRAME_MS = 20;
const FRAME_SAMPLES = (SAMPLE_RATE * FRAME_MS) / 1000;
/** After a stall of the event loop, catch up at most this many frames at once. */
const MAX_CATCH_UP_FRAMES = 10;

const DTMF_EVENT_CODES: Readonly<Record<string, number>> = {
  '0': 0, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7, '8': 8, '9': 9,
  '*': 10, '#': 11, A: 12, B: 13, C: 14, D: 15,
};
const DTMF_DIGITS = Object.fromEntries(Object.entries(DTMF_EVENT_CODES).map(([d, c]) => [c, d])) as Record<number, string>;

export interface RemoteMedia {
  address: string;
  port: number;
  codec: Codec;
  telephoneEventPt?: number;
}

export interface ToneOptions {
  amplitude?: number;
}

export interface DtmfOptions {
  /** How long each digit is held. */
  durationMs?: number;
  /** Audio between two digits. */
  gapMs?: number;
  /** Power level in -dBm0 (RFC 4733 volume field). */
  volume?: number;
}

export interface WaitForAudioOptions {
  timeoutMs?: number;
  /** Only audio received after this mark counts (see `mark()`). */
  since?: number;
  /** A 20 ms frame counts as sound when its RMS reaches this (μ-law silence decodes to 0). */
  minRms?: number;
  /** How much sound must have arrived, in total. */
  minMs?: number;
}

export interface WaitForToneOptions {
  timeoutMs?: number;
  since?: number;
  /** The tone must dominate the most recent window of this length. */
  windowMs?: number;
  /** Required share of the window's power at the tone (see `toneLevels`). */
  threshold?: number;
}

type DtmfJob =
  | { kind: 'digit'; digit: string; code: number; durationSamples: number; volume: number; startTimestamp?: number; elapsed: number; endsSent: number; done?: () => void }
  | { kind: 'gap'; frames: number; done?: () => void };

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

export class RtpSession {
  private readonly socket: dgram.Socket;
  readonly port: number;
  private remote: RemoteMedia | undefined;
  private readonly ssrc = randomInt(0, 2 ** 32);
  private sequence = randomInt(0, 2 ** 16);
  private timestamp = randomInt(0, 2 ** 32);
  private sentFrames = 0;
  private sendStartedAt = 0;
  private sendTimer: NodeJS.Timeout | undefined;
  private tone: { hz: number; amplitude: number; sample: number } | undefined;
  private readonly dtmfQueue: DtmfJob[] = [];

  private readonly chunks: Int16Array[] = [];
  private receivedSamples = 0;
  private receivedCache: Int16Array | undefined;
  private readonly dtmfReceived: string[] = [];
  private readonly dtmfEndedTimestamps = new Set<number>();
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    this.port = socket.address().port;
    socket.on('message', (packet) => this.onPacket(packet));
  }

  static async open(address = '127.0.0.1'): Promise<RtpSession> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A late ICMP "port unreachable" after the far end closed is not a test failure.
    socket.on('error', () => undefined);
    return new RtpSession(socket);
  }

  get codec(): Codec | undefined {
    return this.remote?.codec;
  }

  /** Where to send, and in which codec; sending starts with `start()`. */
  setRemote(remote: RemoteMedia): void {
    this.remote = remote;
  }

  start(): void {
    if (this.sendTimer || this.closed) return;
    if (!this.remote) throw new Error('RTP: no remote address to send to');
    this.sendStartedAt = performance.now();
    this.sentFrames = 0;
    this.scheduleNextFrame();
  }

  /**
   * Frames are due on a fixed 20 ms grid from the start rather than 20 ms
   * after the previous one, so timer lateness does not slow the stream down.
   */
  private scheduleNextFrame(): void {
    const dueAt = this.sendStartedAt + this.sentFrames * FRAME_MS;
    this.sendTimer = setTimeout(() => {
      const due = Math.floor((performance.now() - this.sendStartedAt) / FRAME_MS) + 1;
      if (due - this.sentFrames > MAX_CATCH_UP_FRAMES) this.sentFrames = due - MAX_CATCH_UP_FRAMES;
      while (this.sentFrames < due) {
        this.sendFrame();
        this.sentFrames++;
      }
      this.scheduleNextFrame();
    }, Math.max(0, dueAt - performance.now()));
  }

  stopSending(): void {
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
  }

  playTone(hz: number, { amplitude = 8000 }: ToneOptions = {}): void {
    this.tone = { hz, amplitude, sample: 0 };
  }

  stopTone(): void {
    this.tone = undefined;
  }

  /** Sends the digits as RFC 4733 events; resolves once the last end packet has gone. */
  sendDtmf(digits: string, { durationMs = 100, gapMs = 100, volume = 10 }: DtmfOptions = {}): Promise<void> {
    if (this.remote?.telephoneEventPt === undefined) {
      return Promise.reject(new Error('RTP: the far end did not negotiate telephone-event'));
    }
    if (!this.sendTimer) return Promise.reject(new Error('RTP: not sending (call not established or ended)'));
    const jobs: DtmfJob[] = [];
    for (const digit of digits.toUpperCase()) {
      const code = DTMF_EVENT_CODES[digit];
      if (code === undefined) return Promise.reject(new Error(`RTP: ${JSON.stringify(digit)} is not a DTMF digit`));
      if (jobs.length > 0) jobs.push({ kind: 'gap', frames: Math.max(1, Math.round(gapMs / FRAME_MS)) });
      const durationSamples = Math.max(1, Math.round(durationMs / FRAME_MS)) * FRAME_SAMPLES;
      jobs.push({ kind: 'digit', digit, code, durationSamples, volume, elapsed: 0, endsSent: 0 });
    }
    const last = jobs.at(-1);
    if (!last) return Promise.resolve();
    return new Promise((resolve) => {
      last.done = resolve;
      this.dtmfQueue.push(...jobs);
    });
  }

  private sendFrame(): void {
    const remote = this.remote;
    if (!remote) return;
    const frameTimestamp = this.timestamp;
    this.timestamp = (this.timestamp + FRAME_SAMPLES) >>> 0;
    const job = this.dtmfQueue[0];
    if (job?.kind === 'digit' && remote.telephoneEventPt !== undefined) {
      this.sendDtmfPacket(job, frameTimestamp, remote.telephoneEventPt);
      return;
    }
    if (job?.kind === 'gap' && --job.frames <= 0) this.finishDtmfJob();
    let samples: Int16Array;
    if (this.tone) {
      samples = sine(this.tone.hz, FRAME_SAMPLES, { amplitude: this.tone.amplitude, startSample: this.tone.sample });
      this.tone.sample += FRAME_SAMPLES;
    } else {
      samples = new Int16Array(FRAME_SAMPLES);
    }
    this.sendPacket(PAYLOAD_TYPE[remote.codec], false, frameTimestamp, encode(remote.codec, samples));
  }

  /**
   * RFC 4733 §2.5: every packet of one event carries the event's start
   * timestamp and the duration so far; the first has the marker bit; the
   * end packet (E bit) is sent three times.
   */
  private sendDtmfPacket(job: Extract<DtmfJob, { kind: 'digit' }>, frameTimestamp: number, payloadType: number): void {
    const first = job.startTimestamp === undefined;
    job.startTimestamp ??= frameTimestamp;
    job.elapsed = Math.min(job.durationSamples, job.elapsed + FRAME_SAMPLES);
    const end = job.elapsed >= job.durationSamples;
    const payload = Buffer.alloc(4);
    payload[0] = job.code;
    payload[1] = (end ? 0x80 : 0) | (job.volume & 0x3f);
    payload.writeUInt16BE(job.elapsed, 2);
    this.sendPacket(payloadType, first, job.startTimestamp, payload);
    if (end && ++job.endsSent >= 3) this.finishDtmfJob();
  }

  private finishDtmfJob(): void {
    this.dtmfQueue.shift()?.done?.();
  }

  private sendPacket(payloadType: number, marker: boolean, timestamp: number, payload: Buffer): void {
    const remote = this.remote;
    if (!remote || this.closed) return;
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = (marker ? 0x80 : 0) | payloadType;
    header.writeUInt16BE(this.sequence, 2);
    header.writeUInt32BE(timestamp >>> 0, 4);
    header.writeUInt32BE(this.ssrc, 8);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.socket.send(Buffer.concat([header, payload]), remote.port, remote.address);
  }

  private onPacket(packet: Buffer): void {
    if (packet.length < 12 || packet[0] === undefined || packet[1] === undefined || packet[0] >> 6 !== 2) return;
    const csrcCount = packet[0] & 0x0f;
    let offset = 12 + 4 * csrcCount;
    if (packet[0] & 0x10) {
      if (packet.length < offset + 4) return;
      offset += 4 + 4 * packet.readUInt16BE(offset + 2);
    }
    let end = packet.length;
    if (packet[0] & 0x20) end -= packet[end - 1] ?? 0;
    if (end < offset) return;
    const payloadType = packet[1] & 0x7f;
    const payload = packet.subarray(offset, end);
    if (payloadType === PAYLOAD_TYPE.PCMU || payloadType === PAYLOAD_TYPE.PCMA) {
      const samples = decode(payloadType === PAYLOAD_TYPE.PCMU ? 'PCMU' : 'PCMA', payload);
      this.chunks.push(samples);
      this.receivedSamples += samples.length;
      this.receivedCache = undefined;
    } else if (payloadType === this.remote?.telephoneEventPt && payload.length >= 4) {
      // One digit per event: its packets share a timestamp, and the end is repeated.
      const timestamp = packet.readUInt32BE(4);
      const endBit = ((payload[1] ?? 0) & 0x80) !== 0;
      const digit = DTMF_DIGITS[payload[0] ?? -1];
      if (endBit && digit !== undefined && !this.dtmfEndedTimestamps.has(timestamp)) {
        this.dtmfEndedTimestamps.add(timestamp);
        this.dtmfReceived.push(digit);
      }
    } else {
      return;
    }
    for (const waiter of this.waiters) {
      if (waiter.check()) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** All audio received so far, decoded, in arrival order (no gap filling). */
  received(): Int16Array {
    if (!this.receivedCache) {
      const all = new Int16Array(this.receivedSamples);
      let at = 0;
      for (const chunk of this.chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      this.receivedCache = all;
    }
    return this.receivedCache;
  }

  /** A position in the received audio, to look later at what came after it. */
  mark(): number {
    return this.receivedSamples;
  }

  receivedSince(mark: number): Int16Array {
    return this.received().subarray(mark);
  }

  /** Milliseconds of audio received since the mark. */
  receivedMsSince(mark = 0): number {
    return ((this.receivedSamples - mark) * 1000) / SAMPLE_RATE;
  }

  /** DTMF digits received as RFC 4733 events, in order. */
  receivedDtmf(): string {
    return this.dtmfReceived.join('');
  }

  /** Resolves with the mark where sound started once enough sound arrived; rejects on timeout. */
  waitForAudio({ timeoutMs = 5000, since = this.mark(), minRms = 200, minMs = 100 }: WaitForAudioOptions = {}): Promise<number> {
    let scanned = since;
    let soundFrames = 0;
    let firstSound: number | undefined;
    const neededFrames = Math.max(1, Math.ceil(minMs / FRAME_MS));
    const check = (): boolean => {
      const audio = this.received();
      for (; scanned + FRAME_SAMPLES <= audio.length; scanned += FRAME_SAMPLES) {
        if (rms(audio.subarray(scanned, scanned + FRAME_SAMPLES)) >= minRms) {
          firstSound ??= scanned;
          soundFrames++;
        }
      }
      return soundFrames >= neededFrames;
    };
    return this.waitUntil(check, timeoutMs, () =>
      `no audio above RMS ${minRms} for ${minMs} ms within ${timeoutMs} ms ` +
      `(received ${this.receivedMsSince(since)} ms since the mark, ${soundFrames * FRAME_MS} ms of it loud enough)`,
    ).then(() => firstSound ?? since);
  }

  /** Resolves once the last `windowMs` of received audio is dominated by the tone. */
  waitForTone(hz: number, { timeoutMs = 5000, since = this.mark(), windowMs = 200, threshold = 0.5 }: WaitForToneOptions = {}): Promise<void> {
    const windowSamples = Math.round((SAMPLE_RATE * windowMs) / 1000);
    let lastLevel = 0;
    const check = (): boolean => {
      const audio = this.receivedSince(since);
      if (audio.length < windowSamples) return false;
      lastLevel = toneLevels(audio.subarray(audio.length - windowSamples), [hz])[0] ?? 0;
      return lastLevel >= threshold;
    };
    return this.waitUntil(check, timeoutMs, () =>
      `no ${hz} Hz tone (level >= ${threshold}) within ${timeoutMs} ms; last level ${lastLevel.toFixed(3)}, ` +
      `received ${this.receivedMsSince(since)} ms since the mark`,
    );
  }

  private waitUntil(check: () => boolean, timeoutMs: number, describeFailure: () => string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(describeFailure()));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Stops sending and frees the port; what was received stays readable. */
  close(): void {
    if (this.closed) return;
    this.stopSending();
    this.closed = true;
    for (const job of this.dtmfQueue.splice(0)) job.done?.();
    this.socket.close();
  }
}
