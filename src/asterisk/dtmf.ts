import type { Ari } from './ari.js';
import type { Media } from './media.js';

export interface CollectOptions {
  /** Stop after this many digits (the terminator ends earlier). */
  maxDigits: number;
  /** How long to wait for the first digit after the prompt, and between digits. */
  timeoutMs: number;
  /** Ends the input without being part of it; null for none. */
  terminator?: '#' | null;
  lang?: string;
}

interface Collection {
  digits: string;
  options: CollectOptions;
  timer: NodeJS.Timeout | undefined;
  playbackId: string | undefined;
  resolve: (digits: string | null) => void;
}

/**
 * Prompts and digit collection on a channel. ARI has no "collect digits"
 * call: ChannelDtmfReceived arrives when each digit ends, so the prompt is
 * stopped on the first digit and the timers are our own.
 */
export class DigitCollector {
  private readonly collections = new Map<string, Collection>();
  /** Digits pressed on tracked channels while nothing was collecting (barge-in, type-ahead). */
  private readonly buffers = new Map<string, string>();
  private readonly interrupts = new Map<string, () => void>();

  constructor(ari: Ari, private readonly media: Media) {
    ari.on('ChannelDtmfReceived', (event) => this.digit(event.channel.id, event.digit));
    ari.on('StasisEnd', (event) => this.forget(event.channel.id));
    ari.on('ChannelDestroyed', (event) => this.forget(event.channel.id));
    // Without the events socket no digit or playback end will come: let the
    // waiting flows end instead of hanging.
    ari.onStateChange((state) => {
      if (state === 'up') return;
      for (const channelId of new Set([...this.collections.keys(), ...this.interrupts.keys()])) this.forget(channelId);
    });
  }

  /** Keeps digits pressed between collections on this channel for the next one. */
  track(channelId: string): void {
    if (!this.buffers.has(channelId)) this.buffers.set(channelId, '');
  }

  /** Forgets keys pressed before now (a post-call survey must not take keys pressed during the call as answers). */
  discardTyped(channelId: string): void {
    this.buffers.set(channelId, '');
  }

  /**
   * Plays media that a key press interrupts (barge-in); the key stays for
   * the next collection. 'digit' if a key was or is pressed.
   */
  async playInterruptible(channelId: string, media: string[], lang?: string): Promise<'done' | 'digit' | 'gone'> {
    if (this.buffers.get(channelId)) return 'digit';
    const playback = await this.media.play(channelId, media, lang);
    const pressed = new Promise<'digit'>((resolve) => this.interrupts.set(channelId, () => resolve('digit')));
    const outcome = await Promise.race([playback.finished, pressed]);
    this.interrupts.delete(channelId);
    if (outcome === 'digit') {
      await this.media.stop(playback.playbackId);
      return 'digit';
    }
    return outcome === 'channel_gone' ? 'gone' : 'done';
  }

  private forget(channelId: string): void {
    this.finish(channelId, null);
    this.buffers.delete(channelId);
    this.interrupts.get(channelId)?.();
    this.interrupts.delete(channelId);
  }

  /**
   * Plays the prompt and collects digits. Resolves with the digits (without
   * the terminator; '' if none came in time), or null if the caller left.
   */
  async collect(channelId: string, prompt: string[], options: CollectOptions): Promise<string | null> {
    this.finish(channelId, null);
    const result = new Promise<string | null>((resolve) => {
      this.collections.set(channelId, { digits: '', options, timer: undefined, playbackId: undefined, resolve });
    });
    const collection = this.collections.get(channelId)!;
    const typedAhead = this.buffers.get(channelId) ?? '';
    if (typedAhead) {
      // Keys pressed before (or during an earlier prompt) answer this one: no prompt.
      this.buffers.set(channelId, '');
      for (const digit of typedAhead) this.digit(channelId, digit);
      if (this.collections.get(channelId) === collection) this.arm(channelId, collection);
    } else if (prompt.length > 0) {
      try {
        const playback = await this.media.play(channelId, prompt, options.lang);
        collection.playbackId = playback.playbackId;
        void playback.finished.then((outcome) => {
          if (this.collections.get(channelId) !== collection) return;
          if (outcome === 'channel_gone') this.finish(channelId, null);
          else if (collection.digits === '') this.arm(channelId, collection);
        });
      } catch {
        this.finish(channelId, null);
      }
    } else {
      this.arm(channelId, collection);
    }
    return result;
  }

  private arm(channelId: string, collection: Collection): void {
    clearTimeout(collection.timer);
    collection.timer = setTimeout(() => this.finish(channelId, collection.digits), collection.options.timeoutMs);
  }

  private digit(channelId: string, digit: string): void {
    const collection = this.collections.get(channelId);
    if (!collection) {
      const buffered = this.buffers.get(channelId);
      if (buffered !== undefined) this.buffers.set(channelId, buffered + digit);
      this.interrupts.get(channelId)?.();
      return;
    }
    if (collection.digits === '' && collection.playbackId) void this.media.stop(collection.playbackId);
    const terminator = collection.options.terminator === undefined ? '#' : collection.options.terminator;
    if (terminator && digit === terminator) {
      this.finish(channelId, collection.digits);
      return;
    }
    collection.digits += digit;
    if (collection.digits.length >= collection.options.maxDigits) this.finish(channelId, collection.digits);
    else this.arm(channelId, collection);
  }

  private finish(channelId: string, digits: string | null): void {
    const collection = this.collections.get(channelId);
    if (!collection) return;
    this.collections.delete(channelId);
    clearTimeout(collection.timer);
    collection.resolve(digits);
  }
}
