import { conflict } from '../core/errors.js';
import type { Entry, QueueEntries } from './entries.js';

/** Who put the caller on hold: the agent's phone (its HOLD key, a re-INVITE) or the API / desk page. */
export type HoldSource = 'phone' | 'api';

/** An entry's holds: how many, their seconds, and the one going on now. */
export interface HoldState { count: number; seconds: number; since: Date | null; by: HoldSource | null }

export const noHold = (): HoldState => ({ count: 0, seconds: 0, since: null, by: null });

/** The hold going on (if any) closed at `at`: its seconds added. */
export function closeHold(hold: HoldState, at: Date): HoldState {
  if (!hold.since) return hold;
  return { count: hold.count, seconds: hold.seconds + Math.max(0, (at.getTime() - hold.since.getTime()) / 1000), since: null, by: null };
}

/** What holds need of the engine: a note on the call's record. */
export interface HoldPorts {
  noteCallEvent: (channelId: string, type: string, detail: Record<string, unknown>) => void;
}

/**
 * The agent puts the caller on hold and takes them back.
 *
 * - The phone's HOLD key: the agent's phone re-INVITEs `sendonly`; Asterisk
 *   raises ChannelHold on the agent's leg and passes the hold through the
 *   mixing bridge to the caller's channel, which plays its music class (set
 *   to the queue's when the call was bridged). Nothing to do in Asterisk:
 *   only the hold is counted.
 * - The API and the desk page: `channels.hold` on the caller's channel does
 *   the same as the phone's key (the caller's channel plays its music); the
 *   caller's own voice is muted on its way to the agent meanwhile, as a desk
 *   phone on hold does not hear the caller either.
 *
 * The recording (a snoop on the caller's channel) keeps what the caller
 * hears: the music. Hold time is stored per entry (one agent's handling of
 * the call) as it happens: the count and the start when a hold begins, the
 * seconds when it ends (or the caller leaves on hold).
 */
export class Holds {
  constructor(private readonly q: QueueEntries, private readonly ports: HoldPorts) {}

  /** A hold begins (by the phone's key or the API); false when the caller was on hold already. */
  begin(entry: Entry, by: HoldSource, at = new Date()): boolean {
    if (!entry.connected || entry.hold.since) return false;
    entry.hold = { ...entry.hold, count: entry.hold.count + 1, since: at, by };
    this.q.write(`queue entry ${entry.id} hold`, this.q.deps.store.updateEntry(entry.id, { hold_count: entry.hold.count, hold_started_at: at }));
    this.note(entry, 'hold', { by });
    return true;
  }

  /** The hold ends: the caller is back with the agent (a caller leaving on hold: QueueEntries.leave); false when not on hold. */
  end(entry: Entry, at = new Date()): boolean {
    if (!entry.hold.since) return false;
    const by = entry.hold.by;
    entry.hold = closeHold(entry.hold, at);
    const seconds = entry.hold.seconds;
    this.q.write(`queue entry ${entry.id} unhold`, this.q.deps.store.updateEntry(entry.id, { hold_seconds: seconds, hold_started_at: null }));
    this.note(entry, 'unhold', { by, holdSeconds: Math.round(seconds * 1000) / 1000 });
    return true;
  }

  /** The API's hold: the caller hears the queue's music, the agent no longer hears the caller. */
  async hold(entry: Entry): Promise<void> {
    if (!entry.connected) throw conflict('the call is not connected to an agent');
    if (entry.hold.since) throw conflict('the caller is on hold already');
    const { ari } = this.q.deps;
    const channelId = entry.call.channelId;
    this.begin(entry, 'api');
    try {
      await ari.request('channels.mute', { channelId, direction: 'in' });
      await ari.request('channels.hold', { channelId });
    } catch (err) {
      // Not held after all (the caller hung up meanwhile): the record follows.
      await this.release(entry);
      throw conflict(`the caller could not be put on hold: ${(err as Error).message}`);
    }
  }

  /** The API's unhold; also takes back a hold made with the phone's key (the phone itself is not told). */
  async unhold(entry: Entry): Promise<void> {
    if (!entry.connected) throw conflict('the call is not connected to an agent');
    if (!entry.hold.since) throw conflict('the caller is not on hold');
    await this.release(entry);
  }

  /**
   * The caller off hold whatever held them, on every way out of a hold
   * (unhold, a transfer, a consult's end): the music stops, their voice is
   * no longer muted (an ARI mute outlives Stasis: a caller passed on muted
   * would not be heard), and the hold time is closed. Never throws: a caller
   * already gone has nothing to release.
   */
  async release(entry: Entry): Promise<void> {
    const { helpers, ari } = this.q.deps;
    const channelId = entry.call.channelId;
    await helpers.quietly('taking the caller off hold', { channelId }, () => ari.request('channels.unhold', { channelId }));
    await helpers.quietly('unmuting the caller', { channelId }, () => ari.request('channels.unmute', { channelId, direction: 'in' }));
    this.end(entry);
  }

  private note(entry: Entry, type: 'hold' | 'unhold', detail: Record<string, unknown>): void {
    const agentId = entry.connected?.agentId;
    this.ports.noteCallEvent(entry.call.channelId, type, { entryId: entry.id, agentId, ...detail });
    this.q.deps.bus.emit('queue.call', {
      queueId: entry.queue.id, entryId: entry.id, callId: entry.call.callId, agentId: agentId ?? null, event: type,
      holdSince: entry.hold.since?.toISOString() ?? null, at: new Date().toISOString(),
    });
  }
}
