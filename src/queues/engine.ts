import { randomUUID } from 'node:crypto';
import type { AgentsService } from '../agents/service.js';
import type { Ari } from '../asterisk/ari.js';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import type { AriHelpers } from '../asterisk/ari-helpers.js';
import type { ChannelRegistry } from '../asterisk/registry.js';
import type { StasisRouter } from '../asterisk/stasis-router.js';
import type { Media } from '../asterisk/media.js';
import { defaultSite, type AsteriskSite } from '../asterisk/site.js';
import { conflict, HttpError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { WriteQueue } from '../core/write-queue.js';
import type { IvrCall, QueueRequest } from '../ivr/engine.js';
import type { Language } from '../ivr/flow.js';
import type { Outcome, QueueRow, QueuesStore, TransferTarget } from './store.js';
import { Announcer } from './announcer.js';
import { Dispatcher } from './dispatcher.js';
import { isWaiting } from './entry.js';
import { legArg, partiesOf, QueueEntries, type ConnectedParties, type Entry, type QueueDeps, type WaitingView } from './entries.js';
import { Exits } from './exits.js';
import { reconcileEntries, type QueueReconcileReport } from './reconcile.js';
import { Transfers, type TransferSource } from './transfers.js';
import { Holds, noHold } from './hold.js';
import { Dispositions, type OutsideCalls, type Setter } from './dispositions.js';
import { attendedArg, consultArg, Consults, type ConsultStep, type ConsultTarget } from './consult.js';
import type { QueueEnginePorts } from './ports.js';

export type { ConnectedParties, WaitingView } from './entries.js';
export type { QueueReconcileReport } from './reconcile.js';
export { messageFolder } from './exits.js';

declare module '../core/events.js' {
  interface DomainEvents {
    'queue.entry': {
      queueId: string; entryId: string; callId: string; event: 'entered' | 'offered' | 'answered' | 'announced' | 'left';
      outcome?: Outcome; agentId?: string; position?: number; estimateMinutes?: number; at: string;
    };
    /** A queue call bridged with its agent, put on hold or taken back, its wrap-up code set (on the live feed). */
    'queue.call': {
      queueId: string; entryId: string; callId: string; agentId: string | null; event: 'connected' | 'hold' | 'unhold' | 'disposition' | ConsultStep;
      holdSince: string | null; code?: string; at: string;
    };
    /** Caller and agent are both in their mixing bridge (internal: not on the live feed). */
    'queue.connected': ConnectedParties;
  }
}

/**
 * The ACD: callers wait in a holding bridge with music on hold; the queue's
 * strategy picks available, qualified members; their phones are rung with
 * ARI (channels.create + dial); the first to answer is bridged with the
 * caller. Entries and offers are written as they happen.
 *
 * A thin facade over its parts (docs/architecture.md, "Queues"): an entry's
 * life as pure transitions (entry.ts) applied by QueueEntries (entries.ts),
 * the Dispatcher (agents and offers), the Announcer (music, position), the
 * Exits (hang-up, callback, overflow), Transfers, and reconciliation.
 *
 * Entries live in memory and in queue_entries. On every ARI (re)connection
 * reconcile() brings both in line with the channels and bridges Asterisk
 * has (reconcile.ts).
 */
export class QueueEngine {
  /** Runs an IVR flow for an overflow (port: the IVR). */
  readonly runFlow: QueueEnginePorts['runFlow'];
  /** Notes an event on the call's record (port: the calls capability). */
  readonly noteCallEvent: QueueEnginePorts['noteCallEvent'];
  private readonly q: QueueEntries;
  private readonly dispatcher: Dispatcher;
  private readonly announcer: Announcer;
  private readonly exits: Exits;
  private readonly transfers: Transfers;
  private readonly holds: Holds;
  private readonly dispositions: Dispositions;
  private readonly consults: Consults;
  /**
   * Agents busy on calls the queues do not make (an agent's outbound call):
   * the reconciliation leaves their state alone. Added by those capabilities.
   */
  readonly busyOutside: Array<() => string[]> = [];
  /** Calls outside the queues that take a queue's wrap-up codes (campaign calls: the outbound capability adds its own). */
  readonly outsideCalls: OutsideCalls[] = [];
  /** The last reconciliation with Asterisk: what it did, and when it finished. */
  lastReconcile: (QueueReconcileReport & { at: Date }) | undefined;

  constructor(
    private readonly ari: Ari,
    helpers: AriHelpers,
    router: StasisRouter,
    registry: ChannelRegistry,
    media: Media,
    private readonly store: QueuesStore,
    agents: AgentsService,
    bus: EventBus,
    writes: WriteQueue,
    logger: Logger,
    ports: QueueEnginePorts,
    site: AsteriskSite = defaultSite,
    ami?: QueueDeps['ami'],
  ) {
    this.runFlow = ports.runFlow;
    this.noteCallEvent = ports.noteCallEvent;
    this.q = new QueueEntries({ ari, helpers, media, store, agents, bus, writes, logger, site, ami }, {
      dispatch: () => void this.dispatch(),
      ringTimeout: (entry) => void this.dispatcher.ringTimeout(entry),
      wrapUp: (entry, agentId) => this.dispositions.wrapUp(entry, agentId),
      busyElsewhere: () => [...this.consults.colleagueAgents(), ...this.busyOutside.flatMap((busy) => busy())],
    });
    this.dispatcher = new Dispatcher(this.q);
    this.announcer = new Announcer(this.q);
    const enqueue = (call: IvrCall, queue: QueueRow, request: QueueRequest) => this.enqueue(call, queue, request);
    this.exits = new Exits(this.q, { enqueue, runFlow: () => this.runFlow, afterCall: ports.afterCall, releaseHold: (entry) => this.holds.release(entry),
      outOfBridge: (channelId, timeoutMs) => registry.outOfBridge(channelId, timeoutMs) });
    this.transfers = new Transfers(this.q, {
      enqueue, noteCallEvent: (...args) => this.noteCallEvent(...args), attended: (entry, peer) => this.consults.attendedFromPhone(entry, peer),
      consulting: (entry) => this.consults.of(entry) !== undefined, releaseHold: (entry) => this.holds.release(entry),
    });
    this.holds = new Holds(this.q, { noteCallEvent: (...args) => this.noteCallEvent(...args) });
    this.dispositions = new Dispositions(this.q, { noteEventOfCall: (...args) => ports.noteEventOfCall(...args) }, this.outsideCalls);
    this.consults = new Consults(this.q, this.holds, {
      noteCallEvent: (...args) => this.noteCallEvent(...args), legStarted: ports.legStarted, legAnswered: ports.legAnswered,
      freeAgents: (queue, exclude) => this.dispatcher.freeAgents(queue, exclude),
    });
    // Agent legs: offer() waits for their StasisStart (intoStasis); nothing more to do on it.
    router.claim(legArg, { role: 'agent' });
    // A colleague's phone the agent consults (consult.ts).
    router.claim(consultArg, { role: 'agent' });
    // The colleague of the phone's attended transfer, brought in by the dialplan (consult.ts).
    router.claim(attendedArg, {
      role: 'agent',
      start: (event) => this.consults.attendedArrived(event.channel, event.args[1] ?? ''),
    });
    // The registry knows who is on each connected queue call: monitoring and recording read it there.
    bus.on('queue.connected', (parties) => registry.linkCall({ kind: 'queue', ...parties }));
    bus.on('queue.entry', (entry) => {
      if (entry.event === 'left') registry.unlinkCall(entry.callId, entry.entryId);
    });
    ari.on('ChannelStateChange', (event) => {
      if (event.channel.state !== 'Up') return;
      if (this.q.legs.has(event.channel.id)) void this.dispatcher.legAnswered(event.channel.id);
      else if (this.consults.isConsultLeg(event.channel.id)) this.consults.answered(event.channel.id);
    });
    // An agent leg's events end at StasisEnd (busy, rejected, hung up);
    // callers are subscribed beyond it by the calls capability, so their end
    // is ChannelDestroyed.
    ari.on('StasisEnd', (event) => {
      if (this.q.legs.has(event.channel.id)) void this.dispatcher.legGone(event.channel.id);
      else if (this.consults.isConsultLeg(event.channel.id)) void this.consults.legGone(event.channel.id);
      else void this.connectedLegGone(event.channel.id);
    });
    ari.on('ChannelDestroyed', (event) => {
      const channelId = event.channel.id;
      const entry = this.q.byCaller(channelId);
      // A consult going on, or a call handed over after one, ends with its caller.
      void this.consults.callerGone(channelId, entry).then(() => {
        if (entry) return this.exits.callerGone(channelId);
      });
    });
    // The agent's phone's HOLD key (a re-INVITE sendonly, and back): Asterisk
    // plays the caller their music by itself (hold.ts); the hold is counted.
    ari.on('ChannelHold', (event) => {
      const connected = this.q.connectedByLeg(event.channel.id);
      if (connected) this.holds.begin(connected, 'phone');
    });
    ari.on('ChannelUnhold', (event) => {
      const connected = this.q.connectedByLeg(event.channel.id);
      // Only the phone's own hold: an API hold (caller muted, on music) is ended by the API.
      if (connected?.hold.by === 'phone') this.holds.end(connected);
    });
    // The phone's TRANSFER key (SIP REFER), handed to ARI on agent legs.
    ari.on('ChannelTransfer', (event) => {
      const legId = event.referred_by.source_channel.id;
      if (this.q.connectedByLeg(legId)) void this.transfers.referred(legId, event.refer_to.requested_destination.destination, event.refer_to.connected_channel);
    });
    ari.on('ChannelDtmfReceived', (event) => {
      const connected = this.q.connectedByLeg(event.channel.id);
      if (connected) {
        this.transfers.agentKey(connected, event.digit);
        return;
      }
      const entry = this.q.byCaller(event.channel.id);
      if (!entry || !isWaiting(entry.state)) return;
      if (event.digit === entry.queue.callback_key) void this.exits.leaveCallback(entry);
      else if (event.digit === entry.queue.overflow_key) void this.exits.overflow(entry);
    });
    bus.on('agent.state', (change) => {
      if (change.status === 'available') void this.dispatch();
    });
  }

  /**
   * Brings entries in line with what Asterisk has (see the class comment).
   * `view` is one listing of channels and bridges taken after the calls were
   * reconciled; `language` is the language of callers whose call row has none.
   */
  async reconcile(view: { channels: Channel[]; bridges: Bridge[]; listedAt: Date }, language: Language): Promise<QueueReconcileReport> {
    const report = await reconcileEntries(this.q, {
      // A consult (or a handed-over call) of a caller gone meanwhile ends with the caller, as on ChannelDestroyed.
      callerGone: (channelId) => this.consults.callerGone(channelId, this.q.byCaller(channelId)).then(() => this.exits.callerGone(channelId)),
      connectedLegGone: (legId) => this.connectedLegGone(legId),
      hold: (entry) => this.announcer.hold(entry),
      startWaiting: (entry) => this.startWaiting(entry),
      dispatch: () => void this.dispatch(),
      consults: (listing) => this.consults.reconcile(listing),
    }, view, language);
    this.lastReconcile = { ...report, at: new Date() };
    return report;
  }

  /** Channels of the callers the queues hold now. */
  callerChannels(): ReadonlySet<string> {
    return new Set(this.q.callers.keys());
  }

  /** The queue a call is in now (waiting, ringing an agent or connected). */
  queueOfCall(callId: string): string | undefined {
    for (const entry of this.q.entries.values()) if (entry.call.callId === callId && entry.state !== 'done') return entry.queue.id;
    return undefined;
  }

  /** Callers waiting (or being offered) in any queue now. */
  get waitingCount(): number {
    let n = 0;
    for (const entry of this.q.entries.values()) if (isWaiting(entry.state)) n += 1;
    return n;
  }

  /** Every queue call connected to an agent now, with when it was answered and since when it is on hold. */
  connectedCalls(): (ConnectedParties & { enteredAt: string; holdSince: string | null })[] {
    const calls: (ConnectedParties & { enteredAt: string; holdSince: string | null })[] = [];
    for (const entry of this.q.entries.values()) {
      const parties = entry.state === 'connected' ? partiesOf(entry) : undefined;
      if (parties) calls.push({ ...parties, enteredAt: entry.enteredAt.toISOString(), holdSince: entry.hold.since?.toISOString() ?? null });
    }
    return calls;
  }

  /** Sets a call's wrap-up code (dispositions.ts). */
  setDisposition(callId: string, code: string, note: string | undefined, by: Setter): Promise<{ entryId: string; code: string }> {
    return this.dispositions.set(callId, code, note, by);
  }

  /** The phone's *49 code #: the code of the agent's call in wrap-up (or connected). */
  dispositionByPhone(agentId: string, code: string): Promise<'set' | 'no_call' | 'unknown_code' | 'note_needed'> {
    return this.dispositions.setByPhone(agentId, code);
  }

  /** The queue call the agent is handling (connected or in wrap-up): its queue's codes, the code set, the hold. */
  handling(agentId: string): (NonNullable<ReturnType<Dispositions['handling']>> & { consult: { extension: string; state: string } | null }) | undefined {
    const handled = this.dispositions.handling(agentId);
    if (!handled) return undefined;
    const entry = this.q.entries.get(handled.entryId);
    const consult = entry ? this.consults.of(entry) : undefined;
    return { ...handled, consult: consult ? { extension: consult.extension, state: consult.state } : null };
  }

  /** Puts a connected queue call's caller on hold (`hold`) or takes them back; 409 when not connected or already so. */
  async setHold(callId: string, hold: boolean): Promise<void> {
    const entry = this.q.connectedByCall(callId);
    if (!entry?.connected) throw conflict('the call is not connected to an agent of a queue now');
    await this.changing(callId, () => (hold ? this.holds.hold(entry) : this.holds.unhold(entry)));
  }

  /**
   * A change a person asked for on a call in progress: what Asterisk refuses
   * (the call ended or changed meanwhile) is a 409 for them, never a 500.
   */
  private async changing(callId: string, change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (err) {
      if (err instanceof HttpError) throw err;
      this.q.deps.logger.warn({ err, callId }, 'a change to a call failed in Asterisk');
      throw conflict(`the call changed meanwhile: ${(err as Error).message}`);
    }
  }

  /** Waiting callers of a queue, in the order they will be served. */
  waiting(queueId: string): WaitingView[] {
    return this.q.waiting(queueId);
  }

  /** Takes a caller into a queue; resolves when the caller has left it (answered and finished, abandoned, overflowed). */
  async enqueue(call: IvrCall, queue: QueueRow, request: QueueRequest): Promise<void | 'released'> {
    const entry: Entry = {
      id: randomUUID(), call, queue, priority: request.priority,
      skills: { ...queue.required_skills, ...request.skills }, language: queue.language ?? null,
      callLanguage: request.language, announcing: false, enteredAt: new Date(), holdingBridgeId: undefined, holding: Promise.resolve(), state: 'waiting', legs: new Map(), connected: undefined,
      hold: noHold(), disposition: null, timers: [], ringTimer: undefined, finished: () => undefined,
    };
    const done = new Promise<void | 'released'>((resolve) => { entry.finished = resolve; });
    this.q.add(entry);
    this.q.deps.logger.debug({ entryId: entry.id, callId: call.callId, queue: queue.name }, 'a caller enters the queue');
    this.q.write(`queue entry ${entry.id}`, this.store.insertEntry({
      id: entry.id, call_id: call.callId, queue_id: queue.id, priority: entry.priority, entered_at: entry.enteredAt,
      answered_at: null, answered_by: null, left_at: null, outcome: null, wait_seconds: null, service_level_seconds: queue.service_level_seconds,
    }));
    this.q.announce(entry, 'entered');
    await this.announcer.hold(entry);
    if (entry.state === 'done' || entry.state === 'connected') return done;
    this.startWaiting(entry);
    void this.dispatch();
    return done;
  }

  /** The wait's timers: the overflow at the queue's maximum wait since the caller entered, and the announcements. */
  private startWaiting(entry: Entry): void {
    const leftMs = entry.queue.max_wait_seconds * 1000 - (Date.now() - entry.enteredAt.getTime());
    entry.timers.push(setTimeout(() => void this.exits.overflow(entry), Math.max(1000, leftMs)));
    const every = entry.queue.announcements.everySeconds;
    if (every > 0) entry.timers.push(setInterval(() => void this.announcer.announcePosition(entry), every * 1000));
  }

  /** Offers waiting callers to free agents until no more matches can be made. */
  dispatch(): Promise<void> {
    return this.dispatcher.dispatch();
  }

  /** The agent hung up a connected call: the caller's side ends too, unless the agent leaves a conference (the others go on). */
  private async connectedLegGone(channelId: string): Promise<void> {
    this.transfers.forgetKeys(channelId);
    const entry = this.q.connectedByLeg(channelId);
    if (!entry) return;
    if (await this.consults.agentLeft(entry)) return;
    if (await this.exits.agentLeftFirst(entry)) return;
    await this.q.deps.helpers.hangup(entry.call.channelId);
  }

  /** Consult (attended) transfer of a connected queue call: the agent calls a colleague's phone or a queue's free agent (consult.ts). */
  async consult(callId: string, target: ConsultTarget): Promise<void> {
    const entry = this.q.connectedByCall(callId);
    if (!entry?.connected) throw conflict('the call is not connected to an agent of a queue now');
    await this.changing(callId, () => this.consults.start(entry, target));
  }

  /** The agent ends a connected queue call from the desk page: their leg is hung up, the caller's follows (as when the phone hangs up). */
  async hangUp(callId: string): Promise<void> {
    const entry = this.q.connectedByCall(callId);
    if (!entry?.connected) throw conflict('the call is not connected to an agent of a queue now');
    const legId = entry.connected.legId;
    await this.changing(callId, async () => {
      if (this.consults.of(entry)) await this.consults.cancel(entry);
    });
    await this.q.deps.helpers.hangup(legId);
  }

  /** A supervisor barging into a queue call takes it over (consult.ts): the agent's leg drops. */
  async takeOver(callId: string, supervisorChannelId: string, extension: string): Promise<void> {
    const entry = this.q.connectedByCall(callId);
    if (!entry?.connected) throw conflict('the call is not connected to an agent of a queue now');
    await this.changing(callId, () => this.consults.takeOver(entry, supervisorChannelId, extension));
  }

  /** Whether a supervisor may take this call over now (connected, no consult going on): checked before the session lets go. */
  canTakeOver(callId: string): boolean {
    const entry = this.q.connectedByCall(callId);
    return entry?.connected !== undefined && !this.consults.of(entry);
  }

  /** The consult's next step: hand the caller over, go back to the caller, or bring all three together. */
  async consultStep(callId: string, step: 'complete' | 'cancel' | 'conference'): Promise<void> {
    const entry = this.q.connectedByCall(callId);
    if (!entry?.connected) throw conflict('the call is not connected to an agent of a queue now');
    await this.changing(callId, () => (step === 'complete' ? this.consults.complete(entry) : step === 'cancel' ? this.consults.cancel(entry) : this.consults.conference(entry)));
  }

  /** Who is on a connected queue call, by call or by agent. */
  connectedParties(by: { callId: string } | { agentId: string }): ConnectedParties | undefined {
    for (const entry of this.q.entries.values()) {
      if (entry.state !== 'connected' || !entry.connected) continue;
      if ('callId' in by ? entry.call.callId === by.callId : entry.connected.agentId === by.agentId) return partiesOf(entry);
    }
    return undefined;
  }

  /** What a number keyed by an agent reaches: a queue's extension first, then a phone. */
  resolveNumber(number: string, agentId?: string): Promise<{ target: TransferTarget; queue?: QueueRow } | undefined> {
    return this.transfers.resolveNumber(number, agentId);
  }

  phoneExists(extension: string): Promise<boolean> {
    return this.transfers.phoneExists(extension);
  }

  /**
   * Blind transfer: the caller leaves the agent (who goes to wrap-up) for
   * another queue, where a new entry of the same call starts, or for a phone
   * through the dialplan. The entry is closed as `transferred` with its target.
   */
  transfer(callId: string, target: TransferTarget, source: TransferSource): Promise<void> {
    return this.transfers.transfer(callId, target, source);
  }

  /**
   * Stopping (the process ends or hands over): the waits' timers stop, and
   * the entries stay as they are in the database and in Asterisk for the
   * next process to adopt (reconcile).
   */
  stop(): void {
    for (const entry of this.q.entries.values()) {
      for (const timer of entry.timers) clearTimeout(timer);
      clearTimeout(entry.ringTimer);
    }
    this.transfers.stop();
  }
}
