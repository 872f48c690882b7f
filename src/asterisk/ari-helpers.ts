import type { Logger } from '../core/logger.js';
import { AriError, type AriClient } from './ari.js';

/** What the call layer uses of the ARI client (unit tests pass a fake). */
export type AriPort = Pick<AriClient, 'app' | 'state' | 'request' | 'on'>;

/**
 * The one definition of "the channel or bridge is already gone": a hang-up
 * race, not a fault. From Asterisk 22's API description:
 * - 404 from any operation: the channel (or bridge) is not found;
 * - 422 from `bridges.addChannel` ("Channel not in Stasis application": it
 *   hung up or left the app) and `bridges.removeChannel` ("Channel not in
 *   this bridge": it left already).
 * A 422 anywhere else is an unknown media format, and a 409 a channel or
 * bridge that exists in the wrong state: both are faults.
 */
export function isGone(err: unknown): boolean {
  if (!(err instanceof AriError)) return false;
  if (err.status === 404) return true;
  return err.status === 422 && (err.operation === 'bridges.addChannel' || err.operation === 'bridges.removeChannel');
}

/**
 * The ARI idioms every capability needs, written once: quiet tear-downs
 * that ignore only "already gone" and log anything else, making a channel
 * that enters our Stasis app and waiting until it has, and subscribing to a
 * channel's events beyond StasisEnd. Playing to the end is `Media.playToEnd`.
 * The wait for a StasisStart needs the StasisRouter to be built on the same
 * helpers (it tells them each channel that enters).
 */
export class AriHelpers {
  private readonly stasisWaits = new Map<string, () => void>();

  constructor(private readonly ari: AriPort, private readonly logger: Logger) {}

  /** A channel entered Stasis (told by the StasisRouter, the one StasisStart handler): settles intoStasis's wait. */
  stasisStarted(channelId: string): void {
    this.stasisWaits.get(channelId)?.();
  }

  get app(): string { return this.ari.app; }

  /**
   * Runs a request whose failure is not the caller's business: "already
   * gone" is ignored, a stopped client is noted at debug level (the next
   * process takes the call up), anything else is logged as a warning.
   * Resolves with the result, or undefined when it failed.
   */
  async quietly<T>(what: string, ids: Record<string, string>, request: () => Promise<T>): Promise<T | undefined> {
    try {
      return await request();
    } catch (err) {
      if (isGone(err)) return undefined;
      // Stopped (the process ends or hands over): the call is left to the next process.
      if (this.ari.state === 'stopped') this.logger.debug({ ...ids }, `${what} not done: the ARI client is stopped`);
      else this.logger.warn({ err, ...ids }, `${what} failed`);
      return undefined;
    }
  }

  /** Hangs up a channel; one already gone is fine. */
  async hangup(channelId: string, reason?: 'normal'): Promise<void> {
    await this.quietly('hang-up', { channelId }, () => this.ari.request('channels.hangup', { channelId, ...(reason ? { reason } : {}) }));
  }

  /** Destroys a bridge; one already gone is fine. */
  async destroyBridge(bridgeId: string): Promise<void> {
    await this.quietly('destroying a bridge', { bridgeId }, () => this.ari.request('bridges.destroy', { bridgeId }));
  }

  /** Takes a channel out of a bridge; a channel or bridge already gone (or the channel out already) is fine. */
  async removeFromBridge(bridgeId: string, channelId: string): Promise<void> {
    await this.quietly('leaving a bridge', { bridgeId, channelId }, () => this.ari.request('bridges.removeChannel', { bridgeId, channel: channelId }));
  }

  /**
   * A channel's events stop at StasisEnd, and with them ChannelDestroyed
   * (which carries the hang-up cause): a subscription keeps them coming.
   * Never throws; a failure other than "already gone" is logged.
   */
  async subscribe(channelId: string): Promise<void> {
    await this.quietly('subscribing to a channel', { channelId }, () =>
      this.ari.request('applications.subscribe', { applicationName: this.ari.app, eventSource: `channel:${channelId}` }));
  }

  /**
   * Makes a channel that enters our Stasis application (`channels.create`,
   * `channels.snoopChannel`…) and resolves once its StasisStart has come:
   * until then Asterisk refuses to dial it or bridge it. When the request
   * fails or no StasisStart comes within `timeoutMs`, the channel is hung up
   * (it may exist half made) and the error thrown.
   */
  async intoStasis<T>(channelId: string, make: () => Promise<T>, timeoutMs = 3000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const started = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      this.stasisWaits.set(channelId, () => resolve(true));
    });
    try {
      const made = await make();
      if (!(await started)) throw new Error(`channel ${channelId} never entered Stasis`);
      return made;
    } catch (err) {
      await this.hangup(channelId);
      throw err;
    } finally {
      clearTimeout(timer);
      this.stasisWaits.delete(channelId);
    }
  }
}
