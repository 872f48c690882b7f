import type { AgentsService } from '../agents/service.js';
import type { AmiClient } from '../asterisk/ami.js';
import type { Ari } from '../asterisk/ari.js';
import type { AriHelpers } from '../asterisk/ari-helpers.js';
import type { Media } from '../asterisk/media.js';
import type { AsteriskSite } from '../asterisk/site.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import { HttpError } from '../core/errors.js';
import type { IvrCall, QueueRequest } from '../ivr/engine.js';
import type { Language } from '../ivr/flow.js';
import type { OfferResult, Outcome, QueueRow, QueuesStore } from './store.js';
import { callerOrder } from './strategy.js';
import { closeHold, type HoldState } from './hold.js';
import { transition, type EntryEffect, type EntryEvent, type EntryStatus, type EntryTransition } from './entry.js';

/** A queue call in progress with an agent: who and where, for those who join it (monitoring). */
export interface ConnectedParties {
  entryId: string; callId: string; queueId: string; agentId: string;
  callerChannelId: string; agentChannelId: string; bridgeId: string;
}

export interface WaitingView { entryId: string; callId: string; caller: string; priority: number; enteredAt: string; waitSeconds: number; ringing: string[] }

/** A caller in a queue. `state` and `legs` change only through QueueEntries.apply (the pure transitions of entry.ts). */
export interface Entry {
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
  /**
   * The caller being put on hold (bridge made, caller added, music started),
   * settled when done. Whoever takes the caller out of the holding bridge
   * waits for it first (`QueueEntries.leaveHold`): torn down while the hold's
   * requests were in flight, the caller was once left in no bridge at all.
   */
  holding: Promise<void>;
  state: EntryStatus;
  /** Agent legs ringing now: leg channel id → agent id. */
  legs: Map<string, string>;
  connected: { agentId: string; legId: string; bridgeId: string } | undefined;
  /** The caller's holds while connected (hold.ts). */
  hold: HoldState;
  /** The wrap-up code set during the call (dispositions.ts). */
  disposition: string | null;
  timers: NodeJS.Timeout[];
  ringTimer: NodeJS.Timeout | undefined;
  finished: (outcome: void | 'released') => void;
  /** The agent hung up first and the post-call survey was asked for (exits.ts). */
  afterCall?: boolean;
}

export type EntryEventName = 'entered' | 'offered' | 'answered' | 'announced' | 'left';

/** What the parts of the queue engine share: its dependencies. */
export interface QueueDeps {
  ari: Ari; helpers: AriHelpers; media: Media; store: QueuesStore; agents: AgentsService;
  bus: EventBus; writes: WriteQueue; logger: Logger; site: AsteriskSite;
  /** AMI: moves a channel that is not in Stasis (the phone's attended transfer: consult.ts). */
  ami?: Pick<AmiClient, 'action'>;
}

/** The entry's parts that are not its state: looking for agents again, and the ring timeout. */
export interface EntryHooks {
  dispatch: () => void;
  ringTimeout: (entry: Entry) => void;
  /** The agent's wrap-up when their call ends (dispositions.ts: a required code holds it). */
  wrapUp: (entry: Entry, agentId: string) => { wrapUpEndsAt: Date | null; awaitingDisposition: boolean };
  /** Agents busy outside the entries: a colleague consulted about a call (consult.ts). */
  busyElsewhere?: () => string[];
}

export const legArg = 'queue-leg';
export const legMark = '-leg-';

/**
 * The callers the queues hold, in memory, with the three ways to find one
 * (by entry, by caller channel, by ringing agent leg), and the shared
 * plumbing of the parts: applying an entry's transitions and carrying out
 * their effects, writes, bus events, agent state changes. Rebuilt from
 * queue_entries and ARI's channels after a restart (reconcile.ts).
 */
export class QueueEntries {
  readonly entries = new Map<string, Entry>();
  /** Agent leg channel → its entry. */
  readonly legs = new Map<string, string>();
  /** Caller channel → its entry. */
  readonly callers = new Map<string, string>();

  constructor(readonly deps: QueueDeps, private readonly hooks: EntryHooks) {}

  /**
   * Moves an entry by the pure transition and carries out its effects in
   * order (agent state changes awaited, hang-ups and dispatch not). Returns
   * the transition: `ignored` when the event did not apply.
   */
  async apply(entry: Entry, event: EntryEvent): Promise<EntryTransition> {
    const result = this.step(entry, event);
    for (const effect of result.effects) await this.effect(entry, effect);
    return result;
  }

  /** The state part of apply, at once: the entry (and the leg index) moved, the effects returned, not carried out. */
  step(entry: Entry, event: EntryEvent): EntryTransition {
    const result = transition({ status: entry.state, legs: entry.legs }, event);
    // Each caller's path through the queue, for tracing a caller who was never connected
    // (on the queue calls' hot path: built only when debug is on).
    if (this.deps.logger.isLevelEnabled('debug')) {
      this.deps.logger.debug({ entryId: entry.id, from: entry.state, event: event.type, to: result.ignored ? null : result.next.status }, 'queue entry step');
    }
    if (result.ignored) return result;
    for (const legId of entry.legs.keys()) if (!result.next.legs.has(legId)) this.legs.delete(legId);
    for (const legId of result.next.legs.keys()) if (!entry.legs.has(legId)) this.legs.set(legId, entry.id);
    entry.state = result.next.status;
    entry.legs = new Map(result.next.legs);
    return result;
  }

  private async effect(entry: Entry, effect: EntryEffect): Promise<void> {
    switch (effect.type) {
      case 'hangup': void this.deps.helpers.hangup(effect.legId); return;
      case 'endOffer': this.endOffer(entry, effect.agentId, effect.result); return;
      case 'settleAgent': await this.settleAgent(effect.agentId, { type: this.missed(entry, effect.agentId, effect.command) }); return;
      case 'clearRingTimer': clearTimeout(entry.ringTimer); return;
      case 'startRingTimer':
        clearTimeout(entry.ringTimer);
        entry.ringTimer = setTimeout(() => this.hooks.ringTimeout(entry), entry.queue.ring_timeout_seconds * 1000);
        return;
      case 'dispatch': this.hooks.dispatch(); return;
    }
  }

  /**
   * Offers each agent missed in a row (rona): an agent is paused only at the
   * queue's `rona_after_misses`-th; before that a missed offer only puts
   * them back to available. An answer starts the count again (answered()).
   */
  private readonly misses = new Map<string, number>();

  private missed(entry: Entry, agentId: string, command: 'withdraw' | 'noAnswer'): 'withdraw' | 'noAnswer' {
    if (command !== 'noAnswer') return command;
    const count = (this.misses.get(agentId) ?? 0) + 1;
    if (count < entry.queue.rona_after_misses) {
      this.misses.set(agentId, count);
      this.deps.logger.info({ agentId, misses: count, pausedAt: entry.queue.rona_after_misses }, 'an agent missed an offer: not paused yet');
      return 'withdraw';
    }
    this.misses.delete(agentId);
    return 'noAnswer';
  }

  /** The agent answered an offer: their missed offers count from 0 again. */
  answered(agentId: string): void {
    this.misses.delete(agentId);
  }

  /** Holds an entry: found by its id and its caller's channel. */
  add(entry: Entry): void {
    this.entries.set(entry.id, entry);
    this.callers.set(entry.call.channelId, entry.id);
  }

  byCaller(channelId: string): Entry | undefined {
    return this.entries.get(this.callers.get(channelId) ?? '');
  }

  byLeg(legId: string): Entry | undefined {
    return this.entries.get(this.legs.get(legId) ?? '');
  }

  connectedByLeg(legId: string): Entry | undefined {
    for (const entry of this.entries.values()) if (entry.state === 'connected' && entry.connected?.legId === legId) return entry;
    return undefined;
  }

  connectedByCall(callId: string): Entry | undefined {
    for (const entry of this.entries.values()) if (entry.call.callId === callId && entry.state === 'connected') return entry;
    return undefined;
  }

  /** Agents ringing for or talking to a caller of the queues now. */
  busyAgents(): Set<string> {
    return new Set([
      ...[...this.entries.values()].flatMap((e) => [...e.legs.values(), ...(e.connected ? [e.connected.agentId] : [])]),
      ...(this.hooks.busyElsewhere?.() ?? []),
    ]);
  }

  /** Waiting callers of a queue, in the order they will be served. */
  waiting(queueId: string): WaitingView[] {
    const now = Date.now();
    return [...this.entries.values()].filter((e) => e.queue.id === queueId && e.state !== 'connected' && e.state !== 'done')
      .sort(byServiceOrder)
      .map((e) => ({
        entryId: e.id, callId: e.call.callId, caller: e.call.caller, priority: e.priority, enteredAt: e.enteredAt.toISOString(),
        waitSeconds: Math.round((now - e.enteredAt.getTime()) / 100) / 10, ringing: [...e.legs.values()],
      }));
  }

  /** The caller leaves the queue: the entry is closed with its outcome and forgotten; `finish` settles its enqueue. */
  leave(entry: Entry, outcome: Outcome, finish = true): void {
    const state = entry.state;
    if (this.step(entry, { type: 'leave' }).ignored) return;
    this.deps.logger.debug({ entryId: entry.id, callId: entry.call.callId, state, outcome }, 'a caller leaves the queue');
    for (const timer of entry.timers) clearTimeout(timer);
    clearTimeout(entry.ringTimer);
    this.entries.delete(entry.id);
    this.callers.delete(entry.call.channelId);
    const leftAt = new Date();
    const waitSeconds = entry.connected ? undefined : (leftAt.getTime() - entry.enteredAt.getTime()) / 1000;
    // A caller who leaves on hold (hangs up, is transferred): the hold ends with the entry.
    const onHold = entry.hold.since !== null;
    entry.hold = closeHold(entry.hold, leftAt);
    this.write(`queue entry ${entry.id} left`, this.deps.store.updateEntry(entry.id, {
      left_at: leftAt, outcome, ...(waitSeconds !== undefined ? { wait_seconds: waitSeconds } : {}),
      ...(onHold ? { hold_seconds: entry.hold.seconds, hold_started_at: null } : {}),
    }));
    this.announce(entry, 'left', { outcome });
    void this.leaveHold(entry);
    if (finish) entry.finished(undefined);
  }

  /** Takes a waiting caller out of the queue: withdraws the offers and the hold. */
  async takeOut(entry: Entry): Promise<void> {
    await this.apply(entry, { type: 'withdrawOffers' });
    await this.leaveHold(entry);
  }

  /**
   * Takes the caller out of their holding bridge and destroys it, once the
   * hold being made (if any) is done: one step after the other, never side
   * by side with the hold's own requests. The caller leaves the bridge before
   * it is destroyed: destroyed under a position announcement with the caller
   * still in it, the caller's next playback (the overflow's message) was now
   * and then never played nor finished (docs/status.md); leaving first is the
   * orderly way out, and the next bridge finds the caller in none.
   */
  async leaveHold(entry: Entry): Promise<void> {
    await entry.holding;
    const bridgeId = entry.holdingBridgeId;
    if (!bridgeId) return;
    entry.holdingBridgeId = undefined;
    await this.deps.helpers.removeFromBridge(bridgeId, entry.call.channelId);
    await this.deps.helpers.destroyBridge(bridgeId);
  }

  endOffer(entry: Entry, agentId: string, result: OfferResult): void {
    this.write(`queue offer ${entry.id} ${agentId} ${result}`, this.deps.store.endOffer(entry.id, agentId, new Date(), result));
  }

  /**
   * A state change the queue makes for an agent as a consequence (the offer
   * withdrawn, no answer, the call adopted). It fails only when the agent's
   * state moved on meanwhile (409: e.g. they checked out) or the agent was
   * deleted (404): then there is nothing to change. Anything else is logged.
   */
  async settleAgent(agentId: string, command: Parameters<AgentsService['command']>[1]): Promise<void> {
    await this.deps.agents.command(agentId, command, 'system').catch((err: unknown) => {
      if (err instanceof HttpError && (err.statusCode === 409 || err.statusCode === 404)) {
        this.deps.logger.debug({ agentId, command: command.type, err: err.message }, 'agent state not changed: it moved on meanwhile');
      } else this.deps.logger.warn({ err, agentId, command: command.type }, 'agent state not changed');
    });
  }

  /** The agent's call ended (the caller hung up, or was transferred): wrap-up, if the queue has one. */
  async endAgentCall(entry: Entry, agentId: string, what: string): Promise<void> {
    await this.deps.agents.command(agentId, { type: 'callEnded', ...this.hooks.wrapUp(entry, agentId) }, 'system')
      .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, `agent state at ${what} not applied`));
  }

  write(what: string, op: WriteOp): void {
    void this.deps.writes.enqueue(what, op);
  }

  announce(entry: Entry, event: EntryEventName, extra: { agentId?: string; outcome?: Outcome; position?: number; estimateMinutes?: number } = {}): void {
    this.deps.bus.emit('queue.entry', { queueId: entry.queue.id, entryId: entry.id, callId: entry.call.callId, event, ...extra, at: new Date().toISOString() });
  }
}

/** Callers in the order they are served: priority, then time of entry. */
export function byServiceOrder(a: Entry, b: Entry): number {
  return callerOrder({ entryId: a.id, priority: a.priority, enteredAt: a.enteredAt }, { entryId: b.id, priority: b.priority, enteredAt: b.enteredAt });
}

/** A caller taken on to another queue (a transfer, an overflow) keeps their priority, skills and language. */
export function onwardRequest(entry: Entry, next: QueueRow): QueueRequest {
  return { queue: next.name, priority: entry.priority, skills: entry.skills, language: entry.callLanguage, variables: {} };
}

export function partiesOf(entry: Entry): ConnectedParties | undefined {
  if (!entry.connected) return undefined;
  return {
    entryId: entry.id, callId: entry.call.callId, queueId: entry.queue.id, agentId: entry.connected.agentId,
    callerChannelId: entry.call.channelId, agentChannelId: entry.connected.legId, bridgeId: entry.connected.bridgeId,
  };
}
