import { randomUUID } from 'node:crypto';
import type { AgentsService, AgentView } from '../agents/service.js';
import type { AriClient } from '../asterisk/ari.js';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import { isGone, type AriHelpers } from '../asterisk/ari-helpers.js';
import type { StasisRouter } from '../asterisk/stasis-router.js';
import type { Media } from '../asterisk/media.js';
import { defaultSite, type AsteriskSite } from '../asterisk/site.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { sleep } from '../core/sleep.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import { conflict, HttpError } from '../core/errors.js';
import type { IvrCall, QueueRequest } from '../ivr/engine.js';
import type { Language } from '../ivr/flow.js';
import type { OfferResult, OpenEntryRow, Outcome, QueueRow, QueuesStore, TransferTarget } from './store.js';
import { announcementMedia, estimateMinutes } from './announcements.js';
import type { QueueEnginePorts } from './ports.js';
import { callerOrder, chooseAgents, type Candidate, type CallerNeeds } from './strategy.js';
import { digitTimeoutMs, TransferKeys } from './transfer-keys.js';

export interface QueueReconcileReport { adopted: number; resumed: number; closed: number; legsHungUp: number; agentsCorrected: number }

export interface WaitingView { entryId: string; callId: string; caller: string; priority: number; enteredAt: string; waitSeconds: number; ringing: string[] }

declare module '../core/events.js' {
  interface DomainEvents {
    'queue.entry': {
      queueId: string; entryId: string; callId: string; event: 'entered' | 'offered' | 'answered' | 'announced' | 'left';
      outcome?: Outcome; agentId?: string; position?: number; estimateMinutes?: number; at: string;
    };
    /** Caller and agent are both in their mixing bridge (internal: not on the live feed). */
    'queue.connected': ConnectedParties;
  }
}

/** A queue call in progress with an agent: who and where, for those who join it (monitoring). */
export interface ConnectedParties {
  entryId: string; callId: string; queueId: string; agentId: string;
  callerChannelId: string; agentChannelId: string; bridgeId: string;
}

interface Entry {
  id: string;
  call: IvrCall;
  queue: QueueRow;
  priority: number;
  skills: Record<string, number>;
  language: string | null;
  /** The language the caller hears prompts in. */
  callLanguage: Language;
  /** An announcement is playing (the next one waits for its turn). */
  announcing: boolean;
  enteredAt: Date;
  holdingBridgeId: string | undefined;
  state: 'waiting' | 'offering' | 'connected' | 'done';
  /** Agent legs ringing now: leg channel id → agent id. */
  legs: Map<string, string>;
  connected: { agentId: string; legId: string; bridgeId: string } | undefined;
  timers: NodeJS.Timeout[];
  ringTimer: NodeJS.Timeout | undefined;
  finished: (outcome: void | 'released') => void;
}

const legArg = 'queue-leg';
const legMark = '-leg-';
/** Stored recordings of messages left at an overflow: <recordings dir>/queue-messages/<entry>.wav */
export const messageFolder = 'queue-messages';

/** Database reads shared by one dispatch pass: a queue's members, an agent's row. */
interface PassReads {
  /** Per queue: its members free at the start of the pass (not busy, not reserved, available). */
  free: Map<string, ReturnType<QueuesStore['members']>>;
  agents: Map<string, Promise<AgentView | undefined>>;
  /** Agents with a caller of the queues (ringing or talking) at the start of the pass. */
  busy: Set<string>;
}

/**
 * The ACD: callers wait in a holding bridge with music on hold; the queue's
 * strategy picks available, qualified members; their phones are rung with
 * ARI (channels.create + dial); the first to answer is bridged with the
 * caller. Entries and offers are written as they happen.
 *
 * Entries live in memory and in queue_entries. On every ARI (re)connection
 * reconcile() brings both in line with the channels and bridges Asterisk
 * has: after a restart of centralita, calls already bridged with an agent are
 * adopted (they go on and end properly), callers still waiting or ringing are
 * resumed (back on hold, offered again), and entries whose caller is gone
 * are closed; after a restart of Asterisk every entry's caller is gone.
 */
export class QueueEngine {
  private readonly entries = new Map<string, Entry>();
  /** Agent leg channel → its entry. */
  private readonly legs = new Map<string, string>();
  /** Caller channel → its entry. */
  private readonly callers = new Map<string, string>();
  private readonly lastOffered = new Map<string, Date>();
  /** Runs an IVR flow for an overflow (port: the IVR). */
  readonly runFlow: QueueEnginePorts['runFlow'];
  /** Notes an event on the call's record (port: the calls capability). */
  readonly noteCallEvent: QueueEnginePorts['noteCallEvent'];
  /** Transfer keys being pressed on connected agent legs. */
  private readonly keys = new Map<string, { keys: TransferKeys; timer: NodeJS.Timeout | undefined }>();
  private dispatching = false;
  private dispatchAgain = false;
  /** Agents chosen for an offer whose ringing is still being set up. */
  private readonly reserved = new Set<string>();

  constructor(
    private readonly ari: AriClient,
    private readonly helpers: AriHelpers,
    router: StasisRouter,
    private readonly media: Media,
    private readonly store: QueuesStore,
    private readonly agents: AgentsService,
    private readonly bus: EventBus,
    private readonly writes: WriteQueue,
    private readonly logger: Logger,
    ports: QueueEnginePorts,
    private readonly site: AsteriskSite = defaultSite,
  ) {
    this.runFlow = ports.runFlow;
    this.noteCallEvent = ports.noteCallEvent;
    // Agent legs: offer() waits for their StasisStart (intoStasis); nothing more to do on it.
    router.claim(legArg, { role: 'agent' });
    ari.on('ChannelStateChange', (event) => {
      if (event.channel.state === 'Up' && this.legs.has(event.channel.id)) void this.legAnswered(event.channel.id);
    });
    // An agent leg's events end at StasisEnd (busy, rejected, hung up);
    // callers are subscribed beyond it by the calls capability, so their end
    // is ChannelDestroyed.
    ari.on('StasisEnd', (event) => {
      if (this.legs.has(event.channel.id)) void this.legGone(event.channel.id);
      else this.connectedLegGone(event.channel.id);
    });
    ari.on('ChannelDestroyed', (event) => {
      if (this.callers.has(event.channel.id)) void this.callerGone(event.channel.id);
    });
    ari.on('ChannelDtmfReceived', (event) => {
      const connected = this.connectedByLeg(event.channel.id);
      if (connected) {
        this.agentKey(connected, event.digit);
        return;
      }
      const entry = this.entries.get(this.callers.get(event.channel.id) ?? '');
      if (!entry || (entry.state !== 'waiting' && entry.state !== 'offering')) return;
      if (event.digit === entry.queue.callback_key) void this.leaveCallback(entry);
      else if (event.digit === entry.queue.overflow_key) void this.overflow(entry);
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
    const report: QueueReconcileReport = { adopted: 0, resumed: 0, closed: 0, legsHungUp: 0, agentsCorrected: 0 };
    const alive = new Map(view.channels.map((c) => [c.id, c]));
    // 1. Entries this process holds (a reconnection: Asterisk restarted, or the socket dropped).
    for (const entry of [...this.entries.values()]) {
      if (!alive.has(entry.call.channelId)) {
        await this.callerGone(entry.call.channelId);
        report.closed += 1;
        continue;
      }
      if (entry.state === 'connected' && entry.connected && !alive.has(entry.connected.legId)) this.connectedLegGone(entry.connected.legId);
      for (const [legId, agentId] of [...entry.legs]) {
        if (alive.has(legId)) continue;
        entry.legs.delete(legId);
        this.legs.delete(legId);
        await this.endOffer(entry, agentId, 'failed');
        await this.settleAgent(agentId, { type: 'withdraw' });
      }
      if (entry.state === 'offering' && entry.legs.size === 0) entry.state = 'waiting';
    }
    // 2. Entries an earlier process left open.
    const open = await this.store.openEntries();
    for (const row of open) {
      if (this.entries.has(row.id)) continue;
      const queue = await this.store.get(row.queue_id);
      const caller = alive.get(row.channel_id);
      if (!caller || !queue) {
        await this.closeLeftEntry(row, view.listedAt);
        report.closed += 1;
        continue;
      }
      const entry = this.entryOf(row, queue, row.language === 'en' || row.language === 'es' ? row.language : language);
      const bridge = view.bridges.find((b) => b.channels.includes(row.channel_id));
      const legId = bridge?.channels.find((id) => id.startsWith(`${row.id}${legMark}`));
      if (row.answered_by && bridge && legId && bridge.bridge_type === 'mixing') {
        entry.state = 'connected';
        entry.connected = { agentId: row.answered_by, legId, bridgeId: bridge.id };
        this.entries.set(entry.id, entry);
        this.callers.set(row.channel_id, entry.id);
        if (this.agents.stateOf(row.answered_by).callId !== row.call_id) {
          await this.settleAgent(row.answered_by, { type: 'answer', callId: row.call_id });
        }
        this.bus.emit('queue.connected', partiesOf(entry)!);
        report.adopted += 1;
        continue;
      }
      // Waiting or ringing (or answered but never bridged): the caller goes back on hold.
      if (row.answered_by) {
        this.write(`queue entry ${row.id} not bridged`, this.store.updateEntry(row.id, { answered_at: null, answered_by: null, wait_seconds: null }));
      }
      await this.store.endOpenOffers(row.id, view.listedAt, 'failed').catch((err: unknown) => {
        this.logger.warn({ err, entryId: row.id }, 'could not close the offers of a resumed caller');
      });
      if (bridge) await this.helpers.destroyBridge(bridge.id);
      this.entries.set(entry.id, entry);
      this.callers.set(row.channel_id, entry.id);
      await this.hold(entry);
      this.startWaiting(entry);
      this.logger.info({ entryId: entry.id, callId: row.call_id }, 'a waiting caller resumed after a restart');
      report.resumed += 1;
    }
    // 3. Agent legs nobody owns now (ringing when the earlier process died), and empty bridges it left.
    const owned = new Set([...this.entries.values()].flatMap((e) => [...e.legs.keys(), ...(e.connected ? [e.connected.legId] : [])]));
    for (const channel of view.channels) {
      if (channel.id.includes(legMark) && !owned.has(channel.id)) {
        await this.hangup(channel.id);
        report.legsHungUp += 1;
      }
    }
    for (const bridge of view.bridges) {
      if (bridge.channels.length === 0 && /^(queue|call)-/.test(bridge.name)) await this.helpers.destroyBridge(bridge.id);
    }
    // 4. Agents whose state names a call or an offer that is no more.
    const busy = this.busyAgents();
    for (const state of this.agents.allStates()) {
      const command = state.status === 'ringing' && !busy.has(state.agentId)
        ? { type: 'withdraw' as const }
        : state.status === 'on_call' && state.callId !== null && !busy.has(state.agentId) ? { type: 'callEnded' as const, wrapUpEndsAt: null } : undefined;
      if (!command) continue;
      // Refused only when the agent's state moved on meanwhile: then it needs no correcting.
      await this.agents.command(state.agentId, command, 'system').then(() => { report.agentsCorrected += 1; }, () => undefined);
    }
    if (Object.values(report).some((n) => n > 0)) this.logger.info(report, 'queues reconciled with Asterisk');
    void this.dispatch();
    return report;
  }

  /** Agents ringing for or talking to a caller of the queues now. */
  private busyAgents(): Set<string> {
    return new Set([...this.entries.values()].flatMap((e) => [...e.legs.values(), ...(e.connected ? [e.connected.agentId] : [])]));
  }

  /** An entry rebuilt from its row (its IVR skills are not stored: the queue's apply). */
  private entryOf(row: OpenEntryRow, queue: QueueRow, callLanguage: Language): Entry {
    const entry: Entry = {
      id: row.id, call: { channelId: row.channel_id, callId: row.call_id, caller: row.caller_number, did: row.did ?? '' }, queue, priority: row.priority,
      skills: { ...queue.required_skills }, language: queue.language ?? null, callLanguage, announcing: false, enteredAt: row.entered_at,
      holdingBridgeId: undefined, state: 'waiting', legs: new Map(), connected: undefined, timers: [], ringTimer: undefined,
      // Nobody awaits an adopted entry: when it is over the caller's channel is hung up, unless handed on.
      finished: (outcome) => {
        if (outcome !== 'released') void this.hangup(row.channel_id);
      },
    };
    return entry;
  }

  /** An entry whose caller is gone: closed as the call left it. */
  private async closeLeftEntry(row: OpenEntryRow, at: Date): Promise<void> {
    await this.store.endOpenOffers(row.id, at, 'caller_left');
    await this.store.apply(this.store.updateEntry(row.id, {
      left_at: at, outcome: row.answered_at ? 'answered' : 'abandoned',
      ...(row.answered_at ? {} : { wait_seconds: (at.getTime() - row.entered_at.getTime()) / 1000 }),
    }));
    this.bus.emit('queue.entry', { queueId: row.queue_id, entryId: row.id, callId: row.call_id, event: 'left', outcome: row.answered_at ? 'answered' : 'abandoned', at: at.toISOString() });
  }

  /** Channels of the callers the queues hold now. */
  callerChannels(): ReadonlySet<string> {
    return new Set(this.callers.keys());
  }

  /** The queue a call is in now (waiting, ringing an agent or connected). */
  queueOfCall(callId: string): string | undefined {
    for (const entry of this.entries.values()) if (entry.call.callId === callId && entry.state !== 'done') return entry.queue.id;
    return undefined;
  }

  /** Callers waiting (or being offered) in any queue now. */
  get waitingCount(): number {
    let n = 0;
    for (const entry of this.entries.values()) if (entry.state === 'waiting' || entry.state === 'offering') n += 1;
    return n;
  }

  /** Every queue call connected to an agent now, with when it was answered. */
  connectedCalls(): (ConnectedParties & { enteredAt: string })[] {
    const calls: (ConnectedParties & { enteredAt: string })[] = [];
    for (const entry of this.entries.values()) {
      const parties = entry.state === 'connected' ? partiesOf(entry) : undefined;
      if (parties) calls.push({ ...parties, enteredAt: entry.enteredAt.toISOString() });
    }
    return calls;
  }

  /** Waiting callers of a queue, in the order they will be served. */
  waiting(queueId: string): WaitingView[] {
    const now = Date.now();
    return [...this.entries.values()].filter((e) => e.queue.id === queueId && e.state !== 'connected' && e.state !== 'done')
      .sort((a, b) => callerOrder({ entryId: a.id, priority: a.priority, enteredAt: a.enteredAt }, { entryId: b.id, priority: b.priority, enteredAt: b.enteredAt }))
      .map((e) => ({
        entryId: e.id, callId: e.call.callId, caller: e.call.caller, priority: e.priority, enteredAt: e.enteredAt.toISOString(),
        waitSeconds: Math.round((now - e.enteredAt.getTime()) / 100) / 10, ringing: [...e.legs.values()],
      }));
  }

  /** Takes a caller into a queue; resolves when the caller has left it (answered and finished, abandoned, overflowed). */
  async enqueue(call: IvrCall, queue: QueueRow, request: QueueRequest): Promise<void | 'released'> {
    const entry: Entry = {
      id: randomUUID(), call, queue, priority: request.priority,
      skills: { ...queue.required_skills, ...request.skills }, language: queue.language ?? null,
      callLanguage: request.language, announcing: false, enteredAt: new Date(), holdingBridgeId: undefined, state: 'waiting', legs: new Map(), connected: undefined,
      timers: [], ringTimer: undefined, finished: () => undefined,
    };
    const done = new Promise<void | 'released'>((resolve) => { entry.finished = resolve; });
    this.entries.set(entry.id, entry);
    this.callers.set(call.channelId, entry.id);
    this.logger.debug({ entryId: entry.id, callId: call.callId, queue: queue.name }, 'a caller enters the queue');
    this.write(`queue entry ${entry.id}`, this.store.insertEntry({
      id: entry.id, call_id: call.callId, queue_id: queue.id, priority: entry.priority, entered_at: entry.enteredAt,
      answered_at: null, answered_by: null, left_at: null, outcome: null, wait_seconds: null, service_level_seconds: queue.service_level_seconds,
    }));
    this.announce(entry, 'entered');
    await this.hold(entry);
    if (entry.state === 'done' || entry.state === 'connected') return done;
    this.startWaiting(entry);
    void this.dispatch();
    return done;
  }

  /** The wait's timers: the overflow at the queue's maximum wait since the caller entered, and the announcements. */
  private startWaiting(entry: Entry): void {
    const leftMs = entry.queue.max_wait_seconds * 1000 - (Date.now() - entry.enteredAt.getTime());
    entry.timers.push(setTimeout(() => void this.overflow(entry), Math.max(1000, leftMs)));
    const every = entry.queue.announcements.everySeconds;
    if (every > 0) entry.timers.push(setInterval(() => void this.announcePosition(entry), every * 1000));
  }

  /** The caller waits in a holding bridge of their own with the queue's music. */
  private async hold(entry: Entry): Promise<void> {
    try {
      const bridge = await this.ari.request('bridges.create', { type: 'holding', name: `queue-${entry.queue.name}` });
      // The caller may have left (hung up, pressed a key, been answered)
      // while the bridge was being made: then it is not theirs any more.
      if (entry.state === 'done' || entry.state === 'connected') {
        await this.helpers.destroyBridge(bridge.id);
        return;
      }
      entry.holdingBridgeId = bridge.id;
      await this.ari.request('bridges.addChannel', { bridgeId: bridge.id, channel: entry.call.channelId });
      await this.ari.request('bridges.startMoh', { bridgeId: bridge.id, mohClass: entry.queue.music_on_hold });
    } catch (err) {
      if (!isGone(err)) this.logger.error({ err, entryId: entry.id }, 'could not put the caller on hold');
    }
  }

  /** Offers waiting callers to free agents until no more matches can be made. */
  async dispatch(): Promise<void> {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.dispatchAgain = false;
        const waiting = [...this.entries.values()].filter((e) => e.state === 'waiting')
          .sort((a, b) => callerOrder({ entryId: a.id, priority: a.priority, enteredAt: a.enteredAt }, { entryId: b.id, priority: b.priority, enteredAt: b.enteredAt }));
        const taken = new Set<string>();
        const reads: PassReads = { free: new Map(), agents: new Map(), busy: this.busyAgents() };
        for (const entry of waiting) {
          const needs = { skills: entry.skills, language: entry.language };
          const candidates = (await this.candidates(entry.queue, needs, reads)).filter((c) => !taken.has(c.agentId));
          const chosen = chooseAgents(entry.queue.strategy, candidates, needs);
          if (chosen.length === 0 || entry.state !== 'waiting') continue;
          const agentIds = chosen.map((c) => c.agentId);
          for (const id of agentIds) {
            taken.add(id);
            this.reserved.add(id);
          }
          // Offers are made side by side: each takes a few ARI round trips,
          // and made one after another they fell behind callers arriving at
          // 100 a second. The reservation keeps the agents out of the next
          // passes until their state says they are ringing (or not).
          entry.state = 'offering';
          this.offer(entry, agentIds).then(() => {
            for (const id of agentIds) this.reserved.delete(id);
            // Nobody could be rung: the caller waits again for the next agent.
            if (entry.state === 'waiting') void this.dispatch();
          }, (err: unknown) => {
            // Not retried at once (a fault that repeats would spin): the
            // caller waits for the next dispatch (an agent freed, a caller in).
            for (const id of agentIds) this.reserved.delete(id);
            this.logger.error({ err, entryId: entry.id }, 'queue offer failed');
            if (entry.state === 'offering' && entry.legs.size === 0) entry.state = 'waiting';
          });
        }
      } while (this.dispatchAgain);
    } catch (err) {
      this.logger.error({ err }, 'queue dispatch failed');
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * The queue's members free to take a caller with these needs. Under load
   * this runs for every waiting caller on every dispatch, so each database
   * read is made at most once per dispatch pass (`reads`), and an agent's row
   * is read only for its skills, when the caller needs some: an available
   * agent is checked in, and only a checked-out agent can be deactivated.
   */
  private async candidates(queue: QueueRow, needs: CallerNeeds, reads: PassReads): Promise<Candidate[]> {
    let freeRead = reads.free.get(queue.id);
    if (!freeRead) {
      reads.free.set(queue.id, freeRead = this.store.members(queue.id).then((members) => members.filter((m) =>
        !reads.busy.has(m.agent_id) && !this.reserved.has(m.agent_id) && this.agents.stateOf(m.agent_id).status === 'available')));
    }
    // Checked again: an agent's state may have changed during the pass.
    const available = (await freeRead).filter((m) => this.agents.stateOf(m.agent_id).status === 'available');
    if (available.length === 0) return [];
    const calls = queue.strategy === 'fewest_calls' ? await this.store.answeredSince(startOfDay()) : new Map<string, number>();
    const needsSkills = Object.keys(needs.skills).length > 0 || needs.language !== null;
    const agentRead = (agentId: string): Promise<AgentView | undefined> => {
      let read = reads.agents.get(agentId);
      // Rejects only for an agent deleted meanwhile (404): no candidate then.
      if (!read) reads.agents.set(agentId, read = this.agents.getAgent(agentId).catch(() => undefined));
      return read;
    };
    const agents = needsSkills ? await Promise.all(available.map((m) => agentRead(m.agent_id))) : [];
    const result: Candidate[] = [];
    available.forEach((m, i) => {
      const agent = agents[i];
      const state = this.agents.stateOf(m.agent_id);
      if ((needsSkills && !agent?.active) || !state.extension) return;
      result.push({
        agentId: m.agent_id, penalty: m.penalty, idleSince: new Date(state.since ?? 0), callsToday: calls.get(m.agent_id) ?? 0,
        lastOfferedAt: this.lastOffered.get(`${queue.id}:${m.agent_id}`) ?? null, skills: agent?.skills ?? {},
      });
    });
    return result;
  }

  private async offer(entry: Entry, agentIds: string[]): Promise<void> {
    entry.state = 'offering';
    for (const agentId of agentIds) {
      // An agent offered a call is available, so checked in at a phone.
      const extension = this.agents.stateOf(agentId).extension ?? '';
      try {
        await this.agents.command(agentId, { type: 'offer', callId: entry.call.callId }, 'system');
      } catch {
        continue; // the agent changed state meanwhile
      }
      this.lastOffered.set(`${entry.queue.id}:${agentId}`, new Date());
      // The entry's id is in the leg's: after a restart its legs are found by it.
      const legId = `${entry.id}${legMark}${randomUUID().slice(0, 8)}`;
      try {
        // Dial is refused (409) until the leg is in Stasis.
        const leg = await this.helpers.intoStasis(legId, () => this.ari.request('channels.create', {
          endpoint: this.site.phone(extension), app: this.ari.app, appArgs: `${legArg},${entry.id}`, channelId: legId,
          variables: { 'CALLERID(name)': `${entry.queue.name}: ${entry.call.caller}` },
        }));
        if (entry.state !== 'offering') {
          // The caller left (or was answered by a faster agent) meanwhile.
          void this.hangup(leg.id);
          await this.settleAgent(agentId, { type: 'withdraw' });
          continue;
        }
        entry.legs.set(leg.id, agentId);
        this.legs.set(leg.id, entry.id);
        const offeredAt = new Date();
        this.write(`queue offer ${entry.id} ${agentId}`, this.store.insertOffer({ entry_id: entry.id, agent_id: agentId, offered_at: offeredAt, ended_at: null, result: null }));
        this.announce(entry, 'offered', { agentId });
        // caller: the agent's phone shows the caller's number (connected line).
        await this.ari.request('channels.dial', { channelId: leg.id, caller: entry.call.channelId, timeout: entry.queue.ring_timeout_seconds });
      } catch (err) {
        this.legs.delete(legId);
        entry.legs.delete(legId);
        void this.hangup(legId);
        this.logger.warn({ err, agentId, entryId: entry.id }, 'could not ring the agent');
        await this.endOffer(entry, agentId, 'failed');
        await this.settleAgent(agentId, { type: 'noAnswer' });
      }
    }
    // A phone that answers at once is bridged (legAnswered) before its dial
    // request has returned: the entry is no longer offering, and stays so.
    if (entry.state !== 'offering') return;
    if (entry.legs.size === 0) {
      entry.state = 'waiting';
      return;
    }
    clearTimeout(entry.ringTimer);
    entry.ringTimer = setTimeout(() => void this.ringTimeout(entry), entry.queue.ring_timeout_seconds * 1000);
  }

  /** Nobody answered in time: those agents are paused (RONA) and the caller goes to the next. */
  private async ringTimeout(entry: Entry): Promise<void> {
    if (entry.state !== 'offering') return;
    for (const [legId, agentId] of [...entry.legs]) {
      this.dropLeg(entry, legId);
      await this.endOffer(entry, agentId, 'no_answer');
      await this.settleAgent(agentId, { type: 'noAnswer' });
    }
    entry.state = 'waiting';
    void this.dispatch();
  }

  private async legAnswered(legId: string): Promise<void> {
    const entry = this.entries.get(this.legs.get(legId)!);
    const agentId = entry?.legs.get(legId);
    if (!entry || !agentId) return;
    if (entry.state !== 'offering') return;
    entry.state = 'connected';
    clearTimeout(entry.ringTimer);
    for (const [otherLeg, otherAgent] of [...entry.legs]) {
      if (otherLeg === legId) continue;
      this.dropLeg(entry, otherLeg);
      await this.endOffer(entry, otherAgent, 'lost_race');
      await this.settleAgent(otherAgent, { type: 'withdraw' });
    }
    entry.legs.clear();
    this.legs.delete(legId);
    const answeredAt = new Date();
    await this.agents.command(agentId, { type: 'answer', callId: entry.call.callId }, 'system').catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message, agentId }, 'agent state on answer not applied');
    });
    await this.endOffer(entry, agentId, 'answered');
    const waitSeconds = (answeredAt.getTime() - entry.enteredAt.getTime()) / 1000;
    this.write(`queue entry ${entry.id} answered`, this.store.updateEntry(entry.id, { answered_at: answeredAt, answered_by: agentId, wait_seconds: waitSeconds }));
    this.announce(entry, 'answered', { agentId });
    try {
      if (entry.holdingBridgeId) await this.helpers.destroyBridge(entry.holdingBridgeId);
      entry.holdingBridgeId = undefined;
      // dtmf_events: a mixing bridge passes keys through without telling
      // ARI; the agent's ## transfer keys must reach us (and not the caller).
      const bridge = await this.ari.request('bridges.create', { type: 'mixing,dtmf_events', name: `call-${entry.call.callId}` });
      entry.connected = { agentId, legId, bridgeId: bridge.id };
      await this.ari.request('bridges.addChannel', { bridgeId: bridge.id, channel: entry.call.channelId });
      await this.ari.request('bridges.addChannel', { bridgeId: bridge.id, channel: legId, absorbDTMF: true });
      if (entry.state === 'connected') this.bus.emit('queue.connected', partiesOf(entry)!);
    } catch (err) {
      this.logger.error({ err, entryId: entry.id }, 'could not bridge the caller with the agent');
      await this.hangup(legId);
      await this.hangup(entry.call.channelId);
    }
  }

  /** An agent leg ended before anyone answered it: busy, rejected or unreachable. */
  private async legGone(legId: string): Promise<void> {
    const entry = this.entries.get(this.legs.get(legId)!);
    this.legs.delete(legId);
    const agentId = entry?.legs.get(legId);
    if (!entry || !agentId) return;
    entry.legs.delete(legId);
    await this.endOffer(entry, agentId, 'no_answer');
    await this.settleAgent(agentId, { type: 'noAnswer' });
    if (entry.state === 'offering' && entry.legs.size === 0) {
      clearTimeout(entry.ringTimer);
      entry.state = 'waiting';
      void this.dispatch();
    }
  }

  /** The agent hung up a connected call: the caller's side ends too. */
  private connectedLegGone(channelId: string): void {
    this.forgetKeys(channelId);
    const entry = this.connectedByLeg(channelId);
    if (entry) void this.hangup(entry.call.channelId);
  }

  private connectedByLeg(legId: string): Entry | undefined {
    for (const entry of this.entries.values()) if (entry.state === 'connected' && entry.connected?.legId === legId) return entry;
    return undefined;
  }

  /** Who is on a connected queue call, by call or by agent. */
  connectedParties(by: { callId: string } | { agentId: string }): ConnectedParties | undefined {
    for (const entry of this.entries.values()) {
      if (entry.state !== 'connected' || !entry.connected) continue;
      if ('callId' in by ? entry.call.callId === by.callId : entry.connected.agentId === by.agentId) return partiesOf(entry);
    }
    return undefined;
  }

  private connectedByCall(callId: string): Entry | undefined {
    for (const entry of this.entries.values()) if (entry.call.callId === callId && entry.state === 'connected') return entry;
    return undefined;
  }

  /** A key the agent pressed during a connected call: ## number # transfers the caller. */
  private agentKey(entry: Entry, digit: string): void {
    const legId = entry.connected!.legId;
    const state = this.keys.get(legId) ?? { keys: new TransferKeys(), timer: undefined };
    this.keys.set(legId, state);
    clearTimeout(state.timer);
    const result = state.keys.press(digit, Date.now());
    if (state.keys.keying) {
      state.timer = setTimeout(() => {
        const timedOut = state.keys.timeout();
        if (timedOut.kind === 'number') void this.transferByNumber(entry, timedOut.number);
      }, digitTimeoutMs);
    }
    if (result.kind === 'number') void this.transferByNumber(entry, result.number);
  }

  private forgetKeys(legId: string): void {
    clearTimeout(this.keys.get(legId)?.timer);
    this.keys.delete(legId);
  }

  /** What a number keyed by an agent reaches: a queue's extension first, then a phone. */
  async resolveNumber(number: string): Promise<{ target: TransferTarget; queue?: QueueRow } | undefined> {
    const queue = await this.store.findByExtension(number);
    if (queue) return { target: { queueId: queue.id }, queue };
    return (await this.phoneExists(number)) ? { target: { extension: number } } : undefined;
  }

  async phoneExists(extension: string): Promise<boolean> {
    return this.ari.request('endpoints.get', { tech: 'PJSIP', resource: extension }).then(() => true, (err: unknown) => {
      // 404: Asterisk has no such phone. Anything else is logged, and the number is treated as unknown.
      if (!isGone(err)) this.logger.warn({ err, extension }, 'could not look up a phone');
      return false;
    });
  }

  private async transferByNumber(entry: Entry, number: string): Promise<void> {
    const legId = entry.connected?.legId;
    if (entry.state !== 'connected' || !legId) return;
    const resolved = await this.resolveNumber(number).catch((err: unknown) => {
      this.logger.warn({ err, entryId: entry.id, number }, 'could not look up the number keyed for a transfer');
      return undefined;
    });
    if (!resolved) {
      // Only the agent hears it; the caller stays on the line.
      this.logger.info({ entryId: entry.id, number }, 'an agent keyed a transfer to an unknown number');
      await this.helpers.quietly('playing "invalid" to the agent', { channelId: legId }, () => this.media.play(legId, ['sound:pbx-invalid']));
      return;
    }
    await this.transfer(entry.call.callId, resolved.target, 'phone').catch((err: unknown) => {
      this.logger.warn({ err, entryId: entry.id }, 'transfer failed');
    });
  }

  /**
   * Blind transfer: the caller leaves the agent (who goes to wrap-up) for
   * another queue, where a new entry of the same call starts, or for a phone
   * through the dialplan. The entry is closed as `transferred` with its target.
   */
  async transfer(callId: string, target: TransferTarget, source: 'phone' | 'api'): Promise<void> {
    const entry = this.connectedByCall(callId);
    if (!entry?.connected) throw conflict('the call is not connected to an agent of a queue');
    const next = 'queueId' in target ? await this.store.get(target.queueId) : undefined;
    if ('queueId' in target && !next) throw conflict(`no queue ${target.queueId}`);
    if (entry.state !== 'connected') throw conflict('the call ended meanwhile');
    const { agentId, legId, bridgeId } = entry.connected;
    this.write(`queue entry ${entry.id} transferred`, this.store.updateEntry(entry.id, { transferred_by: agentId, transferred_to: target }));
    this.noteCallEvent(entry.call.channelId, 'transferred', { fromQueueId: entry.queue.id, entryId: entry.id, agentId, source, to: target });
    this.forgetKeys(legId);
    this.leave(entry, 'transferred', false);
    await this.helpers.removeFromBridge(bridgeId, entry.call.channelId);
    await this.helpers.destroyBridge(bridgeId);
    await this.hangup(legId);
    const wrapUp = entry.queue.wrap_up_seconds;
    await this.agents.command(agentId, { type: 'callEnded', wrapUpEndsAt: wrapUp > 0 ? new Date(Date.now() + wrapUp * 1000) : null }, 'system')
      .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'agent state at transfer not applied'));
    // The caller's next part: the flow that queued them resolves when it ends.
    const onward = async (): Promise<void | 'released'> => {
      if (next) return this.enqueue(entry.call, next, { queue: next.name, priority: entry.priority, skills: entry.skills, language: entry.callLanguage, variables: {} });
      if ('extension' in target) {
        await this.ari.request('channels.continueInDialplan', { channelId: entry.call.channelId, context: this.site.transferContext, extension: target.extension, priority: 1 });
        return 'released';
      }
    };
    void onward().catch((err: unknown) => {
      if (!isGone(err)) this.logger.error({ err, entryId: entry.id }, 'transfer failed after the agent left');
    }).then((outcome) => entry.finished(outcome));
  }

  /** The caller hung up: abandoned while waiting, or the end of an answered call. */
  private async callerGone(channelId: string): Promise<void> {
    const entry = this.entries.get(this.callers.get(channelId)!);
    if (!entry) return;
    if (entry.state === 'connected' && entry.connected) {
      // The entry goes first: with no wrap-up the agent is available at
      // once, and the dispatch that follows must not see them as busy here.
      this.leave(entry, 'answered');
      await this.hangup(entry.connected.legId);
      await this.helpers.destroyBridge(entry.connected.bridgeId);
      const wrapUp = entry.queue.wrap_up_seconds;
      await this.agents.command(entry.connected.agentId, { type: 'callEnded', wrapUpEndsAt: wrapUp > 0 ? new Date(Date.now() + wrapUp * 1000) : null }, 'system')
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'agent state at call end not applied'));
      return;
    }
    await this.takeOut(entry);
    this.leave(entry, 'abandoned');
  }

  /** Takes a waiting caller out of the queue: withdraws the offers and the hold. */
  private async takeOut(entry: Entry): Promise<void> {
    for (const [legId, agentId] of [...entry.legs]) {
      this.dropLeg(entry, legId);
      await this.endOffer(entry, agentId, 'caller_left');
      await this.settleAgent(agentId, { type: 'withdraw' });
    }
    if (entry.holdingBridgeId) {
      // The caller leaves the bridge before it is destroyed. Destroyed under
      // a position announcement with the caller still in it, the caller's
      // next playback (the overflow's message) was now and then never played
      // nor finished (docs/status.md); leaving first is the orderly way out.
      await this.helpers.removeFromBridge(entry.holdingBridgeId, entry.call.channelId);
      await this.helpers.destroyBridge(entry.holdingBridgeId);
    }
    entry.holdingBridgeId = undefined;
  }

  /** The caller pressed the callback key: the request is stored and the call ends. */
  private async leaveCallback(entry: Entry): Promise<void> {
    await this.takeOut(entry);
    const requestedAt = new Date();
    this.write(`queue callback ${entry.id}`, this.store.insertCallback({
      id: randomUUID(), queue_id: entry.queue.id, call_id: entry.call.callId, caller_number: entry.call.caller, requested_at: requestedAt,
    }));
    this.leave(entry, 'callback', false);
    await this.media.playToEnd(entry.call.channelId, ['sound:auth-thankyou']);
    entry.finished();
  }

  /** Max wait reached, or the overflow key: the queue's overflow action takes the caller. */
  private async overflow(entry: Entry): Promise<void> {
    if (entry.state !== 'waiting' && entry.state !== 'offering') return;
    await this.takeOut(entry);
    const action = entry.queue.overflow;
    this.leave(entry, 'overflow', false);
    let outcome: void | 'released' = undefined;
    try {
      if (action.action === 'hangup') {
        await this.media.playToEnd(entry.call.channelId, action.media ?? ['sound:tt-allbusy']);
      } else if (action.action === 'queue') {
        const next = await this.store.get(action.queueId);
        if (next) outcome = await this.enqueue(entry.call, next, { queue: next.name, priority: entry.priority, skills: entry.skills, language: entry.callLanguage, variables: {} });
      } else if (action.action === 'flow') {
        if (this.runFlow) outcome = await this.runFlow(entry.call, action.flowId);
        else await this.media.playToEnd(entry.call.channelId, ['sound:tt-allbusy']);
      } else {
        await this.takeMessage(entry, action.media ?? ['sound:vm-intro'], action.maxSeconds ?? 60);
      }
    } catch (err) {
      if (!isGone(err)) this.logger.error({ err, entryId: entry.id }, 'overflow failed');
    }
    entry.finished(outcome);
  }

  /** The caller leaves a message after the beep; it is stored as a recording and a row. */
  private async takeMessage(entry: Entry, prompt: string[], maxSeconds: number): Promise<void> {
    if ((await this.media.playToEnd(entry.call.channelId, prompt)) === 'channel_gone') return;
    const name = `${messageFolder}/${entry.id}`;
    const result = await this.media.record(entry.call.channelId, name, { maxDurationSeconds: maxSeconds, beep: true, terminateOn: '#' });
    if (result.outcome === 'failed') {
      this.logger.error({ entryId: entry.id }, 'recording the caller\'s message failed');
      return;
    }
    const createdAt = new Date();
    this.write(`queue message ${entry.id}`, this.store.insertMessage({
      id: randomUUID(), queue_id: entry.queue.id, call_id: entry.call.callId, caller_number: entry.call.caller,
      recording_name: name, duration_seconds: result.durationSeconds, created_at: createdAt,
    }));
    if (result.outcome === 'done') await this.media.playToEnd(entry.call.channelId, ['sound:auth-thankyou']);
  }

  private async announcePosition(entry: Entry): Promise<void> {
    if (entry.state !== 'waiting' || entry.announcing) return;
    const position = this.waiting(entry.queue.id).findIndex((w) => w.entryId === entry.id) + 1;
    if (position <= 0) return;
    let estimate: number | null = null;
    if (entry.queue.announcements.estimate) {
      // The estimate is optional: a database outage leaves it out (no estimate), the position is still told.
      const handle = await this.store.recentHandleSeconds(entry.queue.id).catch(() => null);
      const members = await this.store.members(entry.queue.id).catch(() => []);
      const staffed = members.filter((m) => this.agents.stateOf(m.agent_id).status !== 'logged_out').length;
      estimate = estimateMinutes(position, handle, staffed);
    }
    const media = announcementMedia(position, entry.queue.announcements, estimate);
    const bridgeId = entry.holdingBridgeId;
    if (media.length === 0 || !bridgeId || entry.state !== 'waiting') return;
    this.announce(entry, 'announced', { position, ...(estimate !== null ? { estimateMinutes: estimate } : {}) });
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
      await this.helpers.quietly('stopping the music', { bridgeId }, () => this.ari.request('bridges.stopMoh', { bridgeId }));
      let failures = 0;
      // A play refused outright (the bridge gone, or the same announcer race) is treated like one that failed.
      while ((await this.media.playToBridge(bridgeId, media, entry.callLanguage).catch(() => 'failed' as const)) === 'failed') {
        failures += 1;
        await sleep(100 * failures);
        if (!holding()) break;
        if (failures === 3) {
          this.logger.error({ entryId: entry.id, bridgeId, media }, 'a position announcement could not be played');
          break;
        }
        this.logger.warn({ entryId: entry.id, bridgeId, media, failures }, 'a position announcement failed to play; playing it again');
      }
      if (holding()) await this.helpers.quietly('starting the music again', { bridgeId }, () => this.ari.request('bridges.startMoh', { bridgeId, mohClass: entry.queue.music_on_hold }));
    } finally {
      entry.announcing = false;
    }
  }

  /**
   * Stopping (the process ends or hands over): the waits' timers stop, and
   * the entries stay as they are in the database and in Asterisk for the
   * next process to adopt (reconcile).
   */
  stop(): void {
    for (const entry of this.entries.values()) {
      for (const timer of entry.timers) clearTimeout(timer);
      clearTimeout(entry.ringTimer);
    }
    for (const key of this.keys.values()) clearTimeout(key.timer);
  }

  private leave(entry: Entry, outcome: Outcome, finish = true): void {
    if (entry.state === 'done') return;
    this.logger.debug({ entryId: entry.id, callId: entry.call.callId, state: entry.state, outcome }, 'a caller leaves the queue');
    entry.state = 'done';
    for (const timer of entry.timers) clearTimeout(timer);
    clearTimeout(entry.ringTimer);
    this.entries.delete(entry.id);
    this.callers.delete(entry.call.channelId);
    const leftAt = new Date();
    const waitSeconds = entry.connected ? undefined : (leftAt.getTime() - entry.enteredAt.getTime()) / 1000;
    this.write(`queue entry ${entry.id} left`, this.store.updateEntry(entry.id, {
      left_at: leftAt, outcome, ...(waitSeconds !== undefined ? { wait_seconds: waitSeconds } : {}),
    }));
    this.announce(entry, 'left', { outcome });
    if (entry.holdingBridgeId) void this.helpers.destroyBridge(entry.holdingBridgeId);
    if (finish) entry.finished(undefined);
  }

  private dropLeg(entry: Entry, legId: string): void {
    entry.legs.delete(legId);
    this.legs.delete(legId);
    void this.hangup(legId);
  }

  private async endOffer(entry: Entry, agentId: string, result: OfferResult): Promise<void> {
    const at = new Date();
    this.write(`queue offer ${entry.id} ${agentId} ${result}`, this.store.endOffer(entry.id, agentId, at, result));
  }

  private hangup(channelId: string): Promise<void> {
    return this.helpers.hangup(channelId);
  }

  /**
   * A state change the queue makes for an agent as a consequence (the offer
   * withdrawn, no answer, the call adopted). It fails only when the agent's
   * state moved on meanwhile (409: e.g. they checked out) or the agent was
   * deleted (404): then there is nothing to change. Anything else is logged.
   */
  private async settleAgent(agentId: string, command: Parameters<AgentsService['command']>[1]): Promise<void> {
    await this.agents.command(agentId, command, 'system').catch((err: unknown) => {
      if (err instanceof HttpError && (err.statusCode === 409 || err.statusCode === 404)) {
        this.logger.debug({ agentId, command: command.type, err: err.message }, 'agent state not changed: it moved on meanwhile');
      } else this.logger.warn({ err, agentId, command: command.type }, 'agent state not changed');
    });
  }

  private write(what: string, op: WriteOp): void {
    void this.writes.enqueue(what, op);
  }

  private announce(entry: Entry, event: 'entered' | 'offered' | 'answered' | 'announced' | 'left', extra: { agentId?: string; outcome?: Outcome; position?: number; estimateMinutes?: number } = {}): void {
    this.bus.emit('queue.entry', { queueId: entry.queue.id, entryId: entry.id, callId: entry.call.callId, event, ...extra, at: new Date().toISOString() });
  }
}

function partiesOf(entry: Entry): ConnectedParties | undefined {
  if (!entry.connected) return undefined;
  return {
    entryId: entry.id, callId: entry.call.callId, queueId: entry.queue.id, agentId: entry.connected.agentId,
    callerChannelId: entry.call.channelId, agentChannelId: entry.connected.legId, bridgeId: entry.connected.bridgeId,
  };
}

function startOfDay(): Date {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
}
