import { randomUUID } from 'node:crypto';
import type { Channel } from '../asterisk/ari-types.generated.js';
import { conflict } from '../core/errors.js';
import type { Entry, QueueEntries } from './entries.js';
import type { Holds } from './hold.js';

export const consultArg = 'consult-leg';
/** The colleague's channel of a phone's attended transfer, brought into Stasis through this context (dialplan). */
export const attendedArg = 'attended';
export const attendedContext = 'centralita-attended';

/** The agent consulting a colleague's phone about a queue call: the colleague's leg and the bridge the agent talks to them in. */
interface Consult {
  entryId: string; extension: string; legId: string; bridgeId: string;
  state: 'ringing' | 'talking' | 'conference';
}

/** A call the agent handed over after a consult: the caller and the colleague in the call's bridge, no agent. */
interface HandedOver { callerId: string; legId: string; bridgeId: string; finish: () => void }

export interface ConsultPorts {
  noteCallEvent: (channelId: string, type: string, detail: Record<string, unknown>) => void;
}

export type ConsultStep = 'consult' | 'consult_answered' | 'consult_cancelled' | 'consult_completed' | 'conference' | 'taken_over';

/**
 * Consult (attended) transfer and conference of a connected queue call,
 * from the API and the desk page. The agent puts the caller on hold (the
 * caller stays alone in the call's bridge with the queue's music, so the
 * recording's snoop on the caller keeps going), and talks to a colleague's
 * phone in a bridge of their own. Then:
 * - complete: the colleague joins the caller in the call's bridge, the agent's
 *   leg is hung up (wrap-up); the entry is closed as transferred to the phone;
 * - cancel: the colleague's leg is hung up, the agent is back with the caller;
 * - conference: agent and colleague join the caller; if the agent then hangs
 *   up, the caller and the colleague go on (as a completed consult).
 * Each step is an event on the call and on the live feed (`queue.call`).
 */
export class Consults {
  private readonly byEntry = new Map<string, Consult>();
  private readonly byLeg = new Map<string, string>();
  /** Handed-over calls, by the caller's and by the colleague's channel. */
  private readonly handedOver = new Map<string, HandedOver>();

  constructor(private readonly q: QueueEntries, private readonly holds: Holds, private readonly ports: ConsultPorts) {}

  isConsultLeg(channelId: string): boolean {
    return this.byLeg.has(channelId) || this.handedOver.has(channelId);
  }

  of(entry: Entry): Consult | undefined {
    return this.byEntry.get(entry.id);
  }

  /** The agent calls a colleague's phone; the caller waits on hold with the queue's music. */
  async start(entry: Entry, extension: string): Promise<void> {
    const { ari, helpers, site } = this.q.deps;
    if (!entry.connected) throw conflict('the call is not connected to an agent');
    if (this.byEntry.has(entry.id)) throw conflict('a consult is going on already');
    const { legId: agentLeg, bridgeId } = entry.connected;
    // Known at once, before the first request: a second consult asked meanwhile is refused.
    const legId = `${entry.id}-consult-${randomUUID().slice(0, 8)}`;
    const consult: Consult = { entryId: entry.id, extension, legId, bridgeId: '', state: 'ringing' };
    this.byEntry.set(entry.id, consult);
    this.byLeg.set(legId, entry.id);
    /** Still this consult (the caller may hang up, or the consult be cancelled, between two requests). */
    const current = (): boolean => this.byEntry.get(entry.id) === consult;
    try {
      if (!entry.hold.since) await this.holds.hold(entry);
      consult.bridgeId = (await ari.request('bridges.create', { type: 'mixing', name: `consult-${entry.call.callId}` })).id;
      if (!current()) throw new Error('the call changed while the consult was being set up');
      this.step(entry, 'consult', { extension });
      await helpers.removeFromBridge(bridgeId, agentLeg);
      await ari.request('bridges.addChannel', { bridgeId: consult.bridgeId, channel: agentLeg });
      await helpers.intoStasis(legId, () => ari.request('channels.create', {
        endpoint: site.phone(extension), app: ari.app, appArgs: `${consultArg},${entry.id}`, channelId: legId,
      }));
      if (!current()) throw new Error('the call changed while the consult was being set up');
      await ari.request('bridges.addChannel', { bridgeId: consult.bridgeId, channel: legId });
      await ari.request('channels.dial', { channelId: legId, caller: agentLeg, timeout: 30 });
    } catch (err) {
      this.q.deps.logger.warn({ err, entryId: entry.id, extension }, 'could not call the colleague for a consult');
      // Undone here, whatever was made: the colleague's leg, the bridge, the agent back with a caller off hold.
      const wasCurrent = current();
      this.forget(consult);
      await helpers.hangup(legId);
      if (entry.connected && wasCurrent) {
        await helpers.quietly('taking the agent back to the caller', { channelId: agentLeg }, () => ari.request('bridges.addChannel', { bridgeId, channel: agentLeg, absorbDTMF: true }));
        if (entry.hold.since) await this.holds.release(entry);
      }
      if (consult.bridgeId) await helpers.destroyBridge(consult.bridgeId);
      throw conflict(`could not call ${extension}`);
    }
  }

  /** The colleague's phone answered. */
  answered(legId: string): void {
    const entry = this.q.entries.get(this.byLeg.get(legId) ?? '');
    const consult = entry && this.byEntry.get(entry.id);
    if (!entry || !consult || consult.state !== 'ringing') return;
    consult.state = 'talking';
    this.step(entry, 'consult_answered', { extension: consult.extension });
  }

  /** Back to the caller: the colleague's leg (if any) is hung up, the agent rejoins the caller, who leaves hold. */
  async cancel(entry: Entry): Promise<void> {
    const consult = this.byEntry.get(entry.id);
    if (!consult) throw conflict('no consult is going on');
    const { helpers, ari } = this.q.deps;
    this.forget(consult);
    await helpers.hangup(consult.legId);
    if (entry.connected) {
      await helpers.removeFromBridge(consult.bridgeId, entry.connected.legId);
      await helpers.quietly('taking the agent back to the caller', { channelId: entry.connected.legId }, () => ari.request('bridges.addChannel', {
        bridgeId: entry.connected!.bridgeId, channel: entry.connected!.legId, absorbDTMF: true,
      }));
    }
    await helpers.destroyBridge(consult.bridgeId);
    if (entry.hold.since) await this.holds.release(entry);
    this.step(entry, 'consult_cancelled', { extension: consult.extension });
  }

  /** All three together in the call's bridge. */
  async conference(entry: Entry): Promise<void> {
    const consult = this.byEntry.get(entry.id);
    if (!consult || consult.state !== 'talking') throw conflict('no answered consult to bring into a conference');
    if (!entry.connected) throw conflict('the call is not connected to an agent');
    const { ari, helpers } = this.q.deps;
    const { legId: agentLeg, bridgeId } = entry.connected;
    consult.state = 'conference';
    await helpers.removeFromBridge(consult.bridgeId, agentLeg);
    await helpers.removeFromBridge(consult.bridgeId, consult.legId);
    await helpers.destroyBridge(consult.bridgeId);
    await ari.request('bridges.addChannel', { bridgeId, channel: agentLeg, absorbDTMF: true });
    await ari.request('bridges.addChannel', { bridgeId, channel: consult.legId });
    if (entry.hold.since) await this.holds.unhold(entry);
    this.step(entry, 'conference', { extension: consult.extension });
  }

  /**
   * The caller goes to the colleague: the agent's leg is hung up (wrap-up), the
   * entry closed as transferred to the phone; the caller and the colleague go
   * on in the call's bridge until either hangs up.
   */
  async complete(entry: Entry): Promise<void> {
    const consult = this.byEntry.get(entry.id);
    if (!consult || consult.state === 'ringing') throw conflict('no answered consult to hand the caller to');
    if (!entry.connected) throw conflict('the call is not connected to an agent');
    const { ari, helpers } = this.q.deps;
    const { legId: agentLeg, bridgeId } = entry.connected;
    if (consult.state === 'talking') {
      await helpers.removeFromBridge(consult.bridgeId, consult.legId);
      await helpers.removeFromBridge(consult.bridgeId, agentLeg);
      await helpers.destroyBridge(consult.bridgeId);
      await ari.request('bridges.addChannel', { bridgeId, channel: consult.legId });
      if (entry.hold.since) await this.holds.unhold(entry);
    }
    this.handOver(entry, consult);
    await helpers.hangup(agentLeg);
  }

  /**
   * A supervisor barging into the call takes it over: handed over to the
   * supervisor's leg (already in the call's bridge) as after a conference,
   * and the agent's leg is hung up.
   */
  async takeOver(entry: Entry, supervisorChannelId: string, extension: string): Promise<void> {
    if (!entry.connected) throw conflict('the call is not connected to an agent');
    if (this.byEntry.has(entry.id)) throw conflict('the agent is consulting a colleague; take over once the consult is over');
    const agentLeg = entry.connected.legId;
    const consult: Consult = { entryId: entry.id, extension, legId: supervisorChannelId, bridgeId: entry.connected.bridgeId, state: 'conference' };
    if (entry.hold.since) await this.holds.release(entry);
    this.handOver(entry, consult, 'take_over');
    await this.q.deps.helpers.hangup(agentLeg);
  }

  /**
   * The phone's attended transfer (REFER with Replaces): the agent held the
   * caller and called a colleague from the desk phone (a dialplan call, not
   * ours), then pressed TRANSFER. The colleague's channel (`peer`) is moved
   * by AMI into the `centralita-attended` context, which hands it to Stasis
   * (`attended,<entry>`); `attendedArrived` then joins it to the caller.
   */
  async attendedFromPhone(entry: Entry, peer: Channel): Promise<boolean> {
    const ami = this.q.deps.ami;
    if (!ami || !entry.connected) return false;
    try {
      await ami.action('Setvar', { channel: peer.name, variable: 'CENTRALITA_ATTENDED', value: entry.id });
      await ami.action('Redirect', { channel: peer.name, context: attendedContext, exten: 's', priority: 1 });
      return true;
    } catch (err) {
      this.q.deps.logger.warn({ err, entryId: entry.id, peer: peer.name }, 'could not take the colleague of an attended transfer');
      return false;
    }
  }

  /** The colleague's channel of a phone's attended transfer is in Stasis: caller and colleague together, the agent's leg dropped. */
  async attendedArrived(channel: Channel, entryId: string): Promise<void> {
    const { ari, helpers, logger } = this.q.deps;
    const entry = this.q.entries.get(entryId);
    if (!entry?.connected || this.byEntry.has(entry.id)) {
      logger.info({ entryId, channelId: channel.id }, 'an attended transfer arrived for a call no longer with its agent');
      await helpers.hangup(channel.id);
      return;
    }
    const { legId: agentLeg, bridgeId } = entry.connected;
    await ari.request('bridges.addChannel', { bridgeId, channel: channel.id });
    // The phone's HOLD key held the caller: the music stops as the colleague joins.
    await this.holds.release(entry);
    const extension = /^PJSIP\/([^-]+)-/.exec(channel.name)?.[1] ?? channel.caller?.number ?? '';
    this.handOver(entry, { entryId: entry.id, extension, legId: channel.id, bridgeId, state: 'conference' }, 'refer');
    await helpers.hangup(agentLeg);
  }

  /** The agent hung up during a conference, or while talking to the colleague: the caller and the colleague go on. True when that was the case. */
  async agentLeft(entry: Entry): Promise<boolean> {
    const consult = this.byEntry.get(entry.id);
    if (!consult || consult.state === 'ringing') return false;
    if (consult.state === 'talking') {
      // The agent hung up while talking to the colleague: as most PBXs do, the transfer completes.
      const { ari, helpers } = this.q.deps;
      await helpers.removeFromBridge(consult.bridgeId, consult.legId);
      await helpers.destroyBridge(consult.bridgeId);
      await helpers.quietly('joining the colleague to the caller', { channelId: consult.legId }, () => ari.request('bridges.addChannel', { bridgeId: entry.connected!.bridgeId, channel: consult.legId }));
      if (entry.hold.since) await this.holds.release(entry);
    }
    this.handOver(entry, consult);
    return true;
  }

  /** The colleague's leg ended: a consult going on ends (the agent is back with the caller), a handed-over call ends. */
  async legGone(legId: string): Promise<void> {
    const handed = this.handedOver.get(legId);
    if (handed) return this.endHandedOver(handed);
    const entryId = this.byLeg.get(legId);
    if (entryId === undefined) return;
    const entry = this.q.entries.get(entryId);
    const consult = this.byEntry.get(entryId);
    if (!entry || !consult) {
      // The entry left meanwhile: nothing to go back to, only the consult's remains to clear.
      this.byLeg.delete(legId);
      if (consult) {
        this.forget(consult);
        await this.q.deps.helpers.destroyBridge(consult.bridgeId);
      }
      return;
    }
    if (consult.state === 'conference') {
      // The colleague left the conference: agent and caller go on.
      this.forget(consult);
      this.step(entry, 'consult_cancelled', { extension: consult.extension });
      return;
    }
    await this.cancel(entry).catch((err: unknown) => this.q.deps.logger.warn({ err, entryId: entry.id }, 'the consult did not end cleanly after the colleague hung up'));
  }

  /** The caller hung up: a consult going on ends with the call; a handed-over call ends. */
  async callerGone(channelId: string, entry: Entry | undefined): Promise<void> {
    const handed = this.handedOver.get(channelId);
    if (handed) return this.endHandedOver(handed);
    const consult = entry && this.byEntry.get(entry.id);
    if (!consult) return;
    this.forget(consult);
    await this.q.deps.helpers.hangup(consult.legId);
    await this.q.deps.helpers.destroyBridge(consult.bridgeId);
  }

  private handOver(entry: Entry, consult: Consult, source: 'consult' | 'take_over' | 'refer' = 'consult'): void {
    const { store } = this.q.deps;
    const agentId = entry.connected!.agentId;
    this.forget(consult);
    const target = { extension: consult.extension };
    this.q.write(`queue entry ${entry.id} transferred`, store.updateEntry(entry.id, { transferred_by: agentId, transferred_to: target }));
    this.ports.noteCallEvent(entry.call.channelId, 'transferred', { fromQueueId: entry.queue.id, entryId: entry.id, agentId, source, to: target });
    this.step(entry, source === 'take_over' ? 'taken_over' : 'consult_completed', { extension: consult.extension });
    const handed: HandedOver = { callerId: entry.call.channelId, legId: consult.legId, bridgeId: entry.connected!.bridgeId, finish: () => entry.finished('released') };
    this.handedOver.set(handed.callerId, handed);
    this.handedOver.set(handed.legId, handed);
    this.q.leave(entry, 'transferred', false);
    void this.q.endAgentCall(entry, agentId, 'consult transfer');
  }

  private async endHandedOver(handed: HandedOver): Promise<void> {
    this.handedOver.delete(handed.callerId);
    this.handedOver.delete(handed.legId);
    const { helpers } = this.q.deps;
    await helpers.hangup(handed.callerId);
    await helpers.hangup(handed.legId);
    await helpers.destroyBridge(handed.bridgeId);
    handed.finish();
  }

  private forget(consult: Consult): void {
    this.byEntry.delete(consult.entryId);
    this.byLeg.delete(consult.legId);
  }

  private step(entry: Entry, event: ConsultStep, detail: Record<string, unknown>): void {
    const agentId = entry.connected?.agentId ?? null;
    this.ports.noteCallEvent(entry.call.channelId, event, { entryId: entry.id, agentId, ...detail });
    this.q.deps.bus.emit('queue.call', {
      queueId: entry.queue.id, entryId: entry.id, callId: entry.call.callId, agentId, event,
      holdSince: entry.hold.since?.toISOString() ?? null, at: new Date().toISOString(),
    });
  }
}
