import { randomUUID } from 'node:crypto';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import { conflict } from '../core/errors.js';
import type { Entry, QueueEntries } from './entries.js';
import type { QueueRow } from './store.js';
import type { Holds } from './hold.js';
import { beside } from '../asterisk/media-servers.js';

export const consultArg = 'consult-leg';
/** The colleague's channel of a phone's attended transfer, brought into Stasis through this context (dialplan). */
export const attendedArg = 'attended';
export const attendedContext = 'centralita-attended';

/** Whom a consult calls: a phone (a colleague, a supervisor), or a free agent of a queue. */
export type ConsultTarget = { extension: string } | { queue: QueueRow };

/**
 * The consulted colleague when they are an agent: kept off queue calls while
 * the consult lasts (ringing, then on_call), to wrap-up once the call they
 * took ends. Set for an agent picked from a queue, and for an agent checked
 * in and free at the phone consulted.
 */
interface Colleague { agentId: string; wrapUpSeconds: number; answered: boolean }

/** The agent consulting a colleague about a queue call: the colleague's leg and the bridge the agent talks to them in. */
interface Consult {
  entryId: string; extension: string; legId: string; bridgeId: string;
  state: 'ringing' | 'talking' | 'conference';
  colleague: Colleague | null;
  /** A consult of a queue: the queue its agent was picked from. */
  queueId: string | null;
}

/** A call the agent handed over after a consult: the caller and the colleague in the call's bridge, no agent. */
interface HandedOver { callerId: string; legId: string; bridgeId: string; colleague: Colleague | null; finish: () => void }

export interface ConsultPorts {
  noteCallEvent: (channelId: string, type: string, detail: Record<string, unknown>) => void;
  /** The colleague's leg is a call of its own (the calls capability), tied to the caller's call. */
  legStarted: (leg: { channelId: string; parentCallId: string; callerNumber: string; calledNumber: string; at: Date }) => void;
  legAnswered: (channelId: string) => void;
  /** The agents of a queue free to take a consult, best first by the queue's strategy (dispatcher.ts). */
  freeAgents: (queue: QueueRow, exclude: string) => Promise<string[]>;
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

  /** Agents a consult keeps off queue calls now (ringing or talking to an agent, or holding a call handed to them). */
  colleagueAgents(): string[] {
    return [...this.byEntry.values(), ...this.handedOver.values()].flatMap((c) => (c.colleague ? [c.colleague.agentId] : []));
  }

  /**
   * The agent calls a colleague's phone, or a free agent of a queue; the
   * caller waits on hold with the queue's music.
   */
  async start(entry: Entry, target: ConsultTarget): Promise<void> {
    const { ari, helpers, site, agents } = this.q.deps;
    if (!entry.connected) throw conflict('the call is not connected to an agent');
    if (this.byEntry.has(entry.id)) throw conflict('a consult is going on already');
    const { legId: agentLeg, bridgeId, agentId } = entry.connected;
    // Known at once, before the first request: a second consult asked meanwhile is refused.
    const legId = `${entry.id}-consult-${randomUUID().slice(0, 8)}`;
    const consult: Consult = { entryId: entry.id, extension: '', legId, bridgeId: '', state: 'ringing', colleague: null, queueId: null };
    this.byEntry.set(entry.id, consult);
    this.byLeg.set(legId, entry.id);
    try {
      const colleague = await this.reserveColleague(entry, target, agentId);
      consult.colleague = colleague?.colleague ?? null;
      consult.extension = colleague?.extension ?? ('extension' in target ? target.extension : '');
      consult.queueId = 'queue' in target ? target.queue.id : null;
    } catch (err) {
      this.forget(consult);
      throw err;
    }
    const extension = consult.extension;
    /** Still this consult (the caller may hang up, or the consult be cancelled, between two requests). */
    const current = (): boolean => this.byEntry.get(entry.id) === consult;
    try {
      if (!entry.hold.since) await this.holds.hold(entry);
      consult.bridgeId = (await beside(ari, agentLeg, () => ari.request('bridges.create', { type: 'mixing', name: `consult-${entry.call.callId}` }))).id;
      if (!current()) throw new Error('the call changed while the consult was being set up');
      this.step(entry, 'consult', { extension, ...(consult.queueId ? { queueId: consult.queueId } : {}), colleagueAgentId: consult.colleague?.agentId ?? null });
      await helpers.removeFromBridge(bridgeId, agentLeg);
      await ari.request('bridges.addChannel', { bridgeId: consult.bridgeId, channel: agentLeg });
      await beside(ari, agentLeg, () => helpers.intoStasis(legId, () => ari.request('channels.create', {
        endpoint: site.phone(extension), app: ari.app, appArgs: `${consultArg},${entry.id}`, channelId: legId,
      })));
      // The colleague's leg: a call of its own, whose end is ChannelDestroyed (kept coming past StasisEnd).
      this.ports.legStarted({ channelId: legId, parentCallId: entry.call.callId, callerNumber: agents.presence(agentId).extension ?? '', calledNumber: extension, at: new Date() });
      void helpers.subscribe(legId);
      if (!current()) throw new Error('the call changed while the consult was being set up');
      await ari.request('bridges.addChannel', { bridgeId: consult.bridgeId, channel: legId });
      await ari.request('channels.dial', { channelId: legId, caller: agentLeg, timeout: 30 });
    } catch (err) {
      this.q.deps.logger.warn({ err, entryId: entry.id, extension }, 'could not call the colleague for a consult');
      // Undone here, whatever was made: the colleague's leg, the bridge, the agent back with a caller off hold.
      const wasCurrent = current();
      this.forget(consult);
      await this.releaseColleague(consult);
      await helpers.hangup(legId);
      if (entry.connected && wasCurrent) {
        await helpers.quietly('taking the agent back to the caller', { channelId: agentLeg }, () => ari.request('bridges.addChannel', { bridgeId, channel: agentLeg, absorbDTMF: true }));
        if (entry.hold.since) await this.holds.release(entry);
      }
      if (consult.bridgeId) await helpers.destroyBridge(consult.bridgeId);
      throw conflict(`could not call ${extension}`);
    }
  }

  /**
   * The consulted agent, held (offered: ringing) so that no queue call is
   * offered to them meanwhile: for a queue, its first free member by the
   * queue's strategy (none free: 409); for a phone, the agent checked in at
   * it if they are free (else the phone just rings: a supervisor, a paused
   * colleague).
   */
  private async reserveColleague(entry: Entry, target: ConsultTarget, self: string): Promise<{ colleague: Colleague; extension: string } | undefined> {
    const { agents } = this.q.deps;
    const callId = entry.call.callId;
    const hold = async (agentId: string, wrapUpSeconds: number): Promise<{ colleague: Colleague; extension: string } | undefined> => {
      const extension = agents.presence(agentId).extension;
      if (!extension) return undefined;
      // Refused (409) when the agent was offered a call or changed state meanwhile.
      const held = await agents.command(agentId, { type: 'offer', callId }, 'system').then(() => true, () => false);
      return held ? { colleague: { agentId, wrapUpSeconds, answered: false }, extension } : undefined;
    };
    if ('queue' in target) {
      for (const agentId of await this.ports.freeAgents(target.queue, self)) {
        const held = await hold(agentId, target.queue.wrap_up_seconds);
        if (held) return held;
      }
      throw conflict(`nobody in queue ${target.queue.name} is free to take a consult now`);
    }
    const atPhone = agents.allStates().find((s) => s.extension === target.extension && s.status === 'available' && s.agentId !== self);
    return atPhone ? hold(atPhone.agentId, entry.queue.wrap_up_seconds) : undefined;
  }

  /** The consulted agent is free again: the offer withdrawn, or the consult's talk over (no wrap-up), or the call they took over ended (wrap-up). */
  private async releaseColleague(consult: { colleague: Colleague | null }, wrapUp = false): Promise<void> {
    const colleague = consult.colleague;
    if (!colleague) return;
    consult.colleague = null;
    const wrapUpEndsAt = wrapUp && colleague.wrapUpSeconds > 0 ? new Date(Date.now() + colleague.wrapUpSeconds * 1000) : null;
    const command = colleague.answered ? { type: 'callEnded' as const, wrapUpEndsAt } : { type: 'withdraw' as const };
    await this.q.deps.agents.command(colleague.agentId, command, 'system').catch((err: unknown) => {
      this.q.deps.logger.warn({ err: (err as Error).message, agentId: colleague.agentId }, 'the consulted agent\'s state after the consult not applied');
    });
  }

  /** The colleague's phone answered. */
  answered(legId: string): void {
    const entry = this.q.entries.get(this.byLeg.get(legId) ?? '');
    const consult = entry && this.byEntry.get(entry.id);
    if (!entry || !consult || consult.state !== 'ringing') return;
    consult.state = 'talking';
    this.ports.legAnswered(legId);
    const colleague = consult.colleague;
    if (colleague) {
      colleague.answered = true;
      void this.q.deps.agents.command(colleague.agentId, { type: 'answer', callId: entry.call.callId }, 'system').catch((err: unknown) => {
        this.q.deps.logger.warn({ err: (err as Error).message, agentId: colleague.agentId }, 'the consulted agent\'s state on answer not applied');
      });
    }
    this.step(entry, 'consult_answered', { extension: consult.extension });
  }

  /** Back to the caller: the colleague's leg (if any) is hung up, the agent rejoins the caller, who leaves hold. */
  async cancel(entry: Entry): Promise<void> {
    const consult = this.byEntry.get(entry.id);
    if (!consult) throw conflict('no consult is going on');
    const { helpers, ari } = this.q.deps;
    this.forget(consult);
    await helpers.hangup(consult.legId);
    await this.releaseColleague(consult);
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
    const consult: Consult = { entryId: entry.id, extension, legId: supervisorChannelId, bridgeId: entry.connected.bridgeId, state: 'conference', colleague: null, queueId: null };
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
      await ami.action('Setvar', { channel: peer.name, variable: 'CENTRALITA_APP', value: this.q.deps.ari.app });
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
    // The colleague's channel, made by the agent's phone through the dialplan: a call of its own from now on.
    this.ports.legStarted({ channelId: channel.id, parentCallId: entry.call.callId, callerNumber: this.q.deps.agents.presence(entry.connected.agentId).extension ?? '', calledNumber: extension, at: new Date() });
    this.ports.legAnswered(channel.id);
    void helpers.subscribe(channel.id);
    this.handOver(entry, { entryId: entry.id, extension, legId: channel.id, bridgeId, state: 'conference', colleague: null, queueId: null }, 'refer');
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
        await this.releaseColleague(consult);
        await this.q.deps.helpers.destroyBridge(consult.bridgeId);
      }
      return;
    }
    if (consult.state === 'conference') {
      // The colleague left the conference: agent and caller go on.
      this.forget(consult);
      await this.releaseColleague(consult);
      this.step(entry, 'consult_cancelled', { extension: consult.extension });
      return;
    }
    await this.cancel(entry).catch((err: unknown) => this.q.deps.logger.warn({ err, entryId: entry.id }, 'the consult did not end cleanly after the colleague hung up'));
  }

  /**
   * Every (re)connection, before agents' states are judged: consults and
   * handed-over calls whose channels are gone (events missed while
   * disconnected, an Asterisk restart) end as they would have, their
   * colleague released; then calls an earlier process handed over are taken
   * up (adoptHandedOver). The number taken up.
   */
  async reconcile(view: { channels: Channel[]; bridges: Bridge[] }): Promise<number> {
    const alive = new Set(view.channels.map((c) => c.id));
    for (const handed of new Set(this.handedOver.values())) {
      if (!alive.has(handed.callerId) || !alive.has(handed.legId)) await this.endHandedOver(handed);
    }
    for (const consult of [...this.byEntry.values()]) {
      if (!alive.has(consult.legId)) await this.legGone(consult.legId);
    }
    return this.adoptHandedOver(view);
  }

  /**
   * After a restart: calls handed over after a consult or a take-over (the
   * caller and the colleague alone in the call's bridge, no agent, the entry
   * closed) are taken up again, so that either side hanging up ends both, and
   * a colleague who is an agent stays on_call until then, and wraps up after.
   * Runs before agents' states are
   * corrected (reconcile.ts). The number of calls taken up.
   */
  private async adoptHandedOver(view: { bridges: Bridge[] }): Promise<number> {
    const { store, agents, logger } = this.q.deps;
    // A call with an entry held now (adopted, resumed) is the entries' business.
    const held = new Set([...this.q.entries.values()].map((e) => e.call.callId));
    let adopted = 0;
    for (const bridge of view.bridges) {
      const callId = /^call-(.+)$/.exec(bridge.name)?.[1];
      if (!callId || held.has(callId) || bridge.channels.length !== 2 || bridge.channels.some((id) => this.handedOver.has(id))) continue;
      const callerId = await store.channelOfCall(callId).catch(() => undefined);
      const legId = bridge.channels.find((id) => id !== callerId);
      if (!callerId || !bridge.channels.includes(callerId) || !legId) continue;
      const holder = agents.allStates().find((s) => s.status === 'on_call' && s.callId === callId);
      const wrapUpSeconds = holder ? await store.wrapUpOfHandedOver(callId).catch(() => 0) : 0;
      const handed: HandedOver = {
        callerId, legId, bridgeId: bridge.id, colleague: holder ? { agentId: holder.agentId, wrapUpSeconds, answered: true } : null, finish: () => undefined,
      };
      this.handedOver.set(callerId, handed);
      this.handedOver.set(legId, handed);
      logger.info({ callId, colleagueAgentId: handed.colleague?.agentId ?? null }, 'a call handed over after a consult is taken up again after a restart');
      adopted += 1;
    }
    return adopted;
  }

  /** The caller hung up: a consult going on ends with the call; a handed-over call ends. */
  async callerGone(channelId: string, entry: Entry | undefined): Promise<void> {
    const handed = this.handedOver.get(channelId);
    if (handed) return this.endHandedOver(handed);
    const consult = entry && this.byEntry.get(entry.id);
    if (!consult) return;
    this.forget(consult);
    await this.releaseColleague(consult);
    await this.q.deps.helpers.hangup(consult.legId);
    await this.q.deps.helpers.destroyBridge(consult.bridgeId);
  }

  private handOver(entry: Entry, consult: Consult, source: 'consult' | 'take_over' | 'refer' = 'consult'): void {
    const { store } = this.q.deps;
    const agentId = entry.connected!.agentId;
    this.forget(consult);
    const target = consult.queueId ? { queueId: consult.queueId, extension: consult.extension, agentId: consult.colleague?.agentId ?? null } : { extension: consult.extension };
    this.q.write(`queue entry ${entry.id} transferred`, store.updateEntry(entry.id, { transferred_by: agentId, transferred_to: target }));
    this.ports.noteCallEvent(entry.call.channelId, 'transferred', { fromQueueId: entry.queue.id, entryId: entry.id, agentId, source, to: target });
    this.step(entry, source === 'take_over' ? 'taken_over' : 'consult_completed', { extension: consult.extension });
    const handed: HandedOver = {
      callerId: entry.call.channelId, legId: consult.legId, bridgeId: entry.connected!.bridgeId, colleague: consult.colleague, finish: () => entry.finished('released'),
    };
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
    // The colleague who took the caller is an agent: their call is over, wrap-up follows.
    await this.releaseColleague(handed, true);
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
