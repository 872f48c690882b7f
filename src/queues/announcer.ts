import { isGone } from '../asterisk/ari-helpers.js';
import { sleep } from '../core/sleep.js';
import { announcementMedia, estimateMinutes } from './announcements.js';
import type { Entry, QueueEntries } from './entries.js';
import { beside } from '../asterisk/media-servers.js';

/**
 * What a waiting caller hears: the queue's music in a holding bridge of
 * their own, and now and then their position and estimated wait
 * (announcements.ts says what is said).
 */
export class Announcer {
  constructor(private readonly q: QueueEntries) {}

  /**
   * The caller waits in a holding bridge of their own with the queue's music.
   * `entry.holding` is this work until it is done: whoever takes the caller
   * out of the bridge (answered, left, overflowed) waits for it first.
   */
  hold(entry: Entry): Promise<void> {
    const work = entry.holding.then(() => this.putOnHold(entry));
    entry.holding = work;
    return work;
  }

  private async putOnHold(entry: Entry): Promise<void> {
    const { ari, helpers, logger } = this.q.deps;
    try {
      const bridge = await beside(ari, entry.call.channelId, () => ari.request('bridges.create', { type: 'holding', name: `queue-${entry.queue.name}` }));
      // The caller may have left (hung up, pressed a key, been answered)
      // while the bridge was being made: then it is not theirs any more.
      if (entry.state === 'done' || entry.state === 'connected') {
        await helpers.destroyBridge(bridge.id);
        return;
      }
      entry.holdingBridgeId = bridge.id;
      await ari.request('bridges.addChannel', { bridgeId: bridge.id, channel: entry.call.channelId });
      await ari.request('bridges.startMoh', { bridgeId: bridge.id, mohClass: entry.queue.music_on_hold });
    } catch (err) {
      // Gone: the caller hung up meanwhile (their ChannelDestroyed closes the entry).
      if (!isGone(err)) logger.error({ err, entryId: entry.id }, 'could not put the caller on hold');
    }
  }

  /** Tells a waiting caller their position (and the estimated wait, when the queue asks for it). */
  async announcePosition(entry: Entry): Promise<void> {
    const { ari, helpers, media: player, store, agents, logger } = this.q.deps;
    if (entry.state !== 'waiting' || entry.announcing) return;
    const position = this.q.waiting(entry.queue.id).findIndex((w) => w.entryId === entry.id) + 1;
    if (position <= 0) return;
    let estimate: number | null = null;
    if (entry.queue.announcements.estimate) {
      // The estimate is optional: a database outage leaves it out (no estimate), the position is still told;
      // the same for the members read just below.
      const handle = await store.recentHandleSeconds(entry.queue.id).catch(() => null);
      const members = await store.members(entry.queue.id).catch(() => []);
      const staffed = members.filter((m) => agents.stateOf(m.agent_id).status !== 'logged_out').length;
      estimate = estimateMinutes(position, handle, staffed);
    }
    const media = announcementMedia(position, entry.queue.announcements, estimate);
    const bridgeId = entry.holdingBridgeId;
    if (media.length === 0 || !bridgeId || entry.state !== 'waiting') return;
    this.q.announce(entry, 'announced', { position, ...(estimate !== null ? { estimateMinutes: estimate } : {}) });
    // A holding bridge plays one thing at a time: the music pauses for the announcement.
    // It takes one announcer channel (the music's or a playback's) and refuses
    // a second, and stopMoh answers before the music's channel has left: a
    // playback started in that moment fails at once (Asterisk logs "tried to
    // be an announcer. Bridge already has one"). ARI hides announcer channels
    // from the bridge's channel list, so there is nothing to wait for: a
    // failed announcement is played again a moment later.
    entry.announcing = true;
    const holding = () => entry.state !== 'done' && entry.holdingBridgeId === bridgeId;
    try {
      await helpers.quietly('stopping the music', { bridgeId }, () => ari.request('bridges.stopMoh', { bridgeId }));
      let failures = 0;
      // A play refused outright (the bridge gone, or the same announcer race) is treated like one that failed.
      while ((await player.playToBridge(bridgeId, media, entry.callLanguage).catch(() => 'failed' as const)) === 'failed') {
        failures += 1;
        await sleep(100 * failures);
        if (!holding()) break;
        if (failures === 3) {
          logger.error({ entryId: entry.id, bridgeId, media }, 'a position announcement could not be played');
          break;
        }
        logger.warn({ entryId: entry.id, bridgeId, media, failures }, 'a position announcement failed to play; playing it again');
      }
      if (holding()) await helpers.quietly('starting the music again', { bridgeId }, () => ari.request('bridges.startMoh', { bridgeId, mohClass: entry.queue.music_on_hold }));
    } finally {
      entry.announcing = false;
    }
  }
}
