import { randomUUID } from 'node:crypto';
import type { Ari } from './ari.js';

export type PlaybackOutcome = 'done' | 'stopped' | 'failed' | 'channel_gone';
export interface RecordingOutcome { outcome: 'done' | 'failed' | 'channel_gone'; durationSeconds: number | null }

interface Waiter { channelId: string; resolve: (outcome: PlaybackOutcome) => void }

/**
 * Plays media to channels and tells when it finished. ARI answers a play
 * request at once; the end comes later as PlaybackFinished, or never if the
 * channel hangs up first, which is why channel destruction also settles it.
 */
export class Media {
  private readonly waiters = new Map<string, Waiter>();
  private readonly recordings = new Map<string, { channelId: string; resolve: (outcome: RecordingOutcome) => void }>();

  constructor(private readonly ari: Ari) {
    ari.on('PlaybackFinished', (event) => {
      this.settle(event.playback.id, event.playback.state === 'failed' ? 'failed' : 'done');
    });
    ari.on('ChannelDestroyed', (event) => {
      for (const [id, waiter] of this.waiters) if (waiter.channelId === event.channel.id) this.settle(id, 'channel_gone');
      for (const [name, waiter] of this.recordings) if (waiter.channelId === event.channel.id) this.settleRecording(name, { outcome: 'channel_gone', durationSeconds: null });
    });
    ari.on('RecordingFinished', (event) => this.settleRecording(event.recording.name, { outcome: 'done', durationSeconds: event.recording.duration ?? null }));
    ari.on('RecordingFailed', (event) => this.settleRecording(event.recording.name, { outcome: 'failed', durationSeconds: null }));
    ari.on('BridgeDestroyed', (event) => {
      for (const [id, waiter] of this.waiters) if (waiter.channelId === `bridge:${event.bridge.id}`) this.settle(id, 'channel_gone');
    });
    ari.onStateChange((state) => {
      // Events for playbacks in flight are lost with the socket.
      if (state !== 'up') for (const id of [...this.waiters.keys()]) this.settle(id, 'failed');
    });
  }

  /** Starts playing; returns the playback id and a promise of how it ended. */
  async play(channelId: string, media: string | string[], lang?: string): Promise<{ playbackId: string; finished: Promise<PlaybackOutcome> }> {
    const playbackId = randomUUID();
    const finished = new Promise<PlaybackOutcome>((resolve) => this.waiters.set(playbackId, { channelId, resolve }));
    try {
      await this.ari.request('channels.play', { channelId, media, playbackId, ...(lang ? { lang } : {}) });
    } catch (err) {
      this.waiters.delete(playbackId);
      throw err;
    }
    return { playbackId, finished };
  }

  /**
   * Plays to everyone in a bridge and waits for the end. A channel in a
   * holding bridge does not hear its own playbacks until it leaves the
   * bridge, so announcements to a waiting caller go to their bridge.
   */
  async playToBridge(bridgeId: string, media: string[], lang?: string): Promise<PlaybackOutcome> {
    const playbackId = randomUUID();
    const finished = new Promise<PlaybackOutcome>((resolve) => this.waiters.set(playbackId, { channelId: `bridge:${bridgeId}`, resolve }));
    try {
      await this.ari.request('bridges.play', { bridgeId, media, playbackId, ...(lang ? { lang } : {}) });
    } catch (err) {
      this.waiters.delete(playbackId);
      throw err;
    }
    return finished;
  }

  /**
   * Records what a channel says into a stored recording (WAV) and waits for
   * the end: the terminating key, the time limit, or the hang-up.
   */
  async record(channelId: string, name: string, options: { maxDurationSeconds: number; beep: boolean; terminateOn: '#' | 'none' }): Promise<RecordingOutcome> {
    const finished = new Promise<RecordingOutcome>((resolve) => this.recordings.set(name, { channelId, resolve }));
    try {
      await this.ari.request('channels.record', { channelId, name, format: 'wav', ifExists: 'fail', maxSilenceSeconds: 10, ...options });
    } catch (err) {
      this.recordings.delete(name);
      throw err;
    }
    return finished;
  }

  private settleRecording(name: string, outcome: RecordingOutcome): void {
    const waiter = this.recordings.get(name);
    if (!waiter) return;
    this.recordings.delete(name);
    waiter.resolve(outcome);
  }

  /** Plays and waits for the end (or the caller hanging up). */
  async playToEnd(channelId: string, media: string | string[], lang?: string): Promise<PlaybackOutcome> {
    return (await this.play(channelId, media, lang)).finished;
  }

  /** Stops a playback, e.g. when the caller presses a key; a finished one is fine. */
  async stop(playbackId: string): Promise<void> {
    // Refused only for a playback that ended meanwhile (404), which is what was asked.
    await this.ari.request('playbacks.stop', { playbackId }).catch(() => undefined);
    this.settle(playbackId, 'stopped');
  }

  private settle(playbackId: string, outcome: PlaybackOutcome): void {
    const waiter = this.waiters.get(playbackId);
    if (!waiter) return;
    this.waiters.delete(playbackId);
    waiter.resolve(outcome);
  }
}
