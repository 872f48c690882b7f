import type { CallView } from '../calls/service.js';
import type { DomainEvents } from '../core/events.js';
import type { Outcome } from '../queues/store.js';

/**
 * How a call ended, for `centralita_calls_finished_total`:
 * - `answered`: an agent of a queue answered it (whatever came after: a transfer, a hang-up);
 * - `abandoned`: the caller hung up while waiting in a queue;
 * - `overflow`, `callback`: its last queue sent it to the overflow, or took a callback request;
 * - `ivr_transfer`: the IVR handed it to an extension (a transfer node);
 * - `ivr`: it ended in the IVR (hung up in a menu, a hang-up node, a DID with no route);
 * - `consult`: a leg centralita placed for another call (an agent consulting a colleague);
 * - `feature_code`: a desk phone's feature-code call (log-in, pause, monitoring);
 * - `lost`: its channel was gone when centralita (re)connected to Asterisk.
 */
export const callOutcomes = ['answered', 'abandoned', 'overflow', 'callback', 'ivr_transfer', 'ivr', 'feature_code', 'consult', 'lost'] as const;
export type CallOutcome = (typeof callOutcomes)[number];

/** Where a DID call's time in the IVR ended: handed to a queue, to an extension, or the call ended there. */
export const ivrExits = ['queue', 'transfer', 'hangup'] as const;
export type IvrExit = (typeof ivrExits)[number];

export interface OutcomeSinks {
  finished(outcome: CallOutcome): void;
  ivr(exit: IvrExit, seconds: number): void;
  wait(queueId: string, outcome: Outcome, seconds: number): void;
}

interface Tracked {
  /** When this process first heard of the call (Date.now()), for the sweep. */
  seenAt: number;
  /** When the call's IVR time started (its arrival); null once it left the IVR, or for calls that never were in one. */
  ivrSince: string | null;
  inQueue: boolean;
  answered: boolean;
  /** How its last queue entry ended. */
  queueOutcome: Outcome | undefined;
  ivrTransfer: boolean;
}

/** Anything older is dropped at the next scrape: a call (or a wait) of a day is one whose end was missed. */
const forgetAfterMs = 24 * 3600_000;

const secondsBetween = (from: string, to: string): number => Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

/**
 * Follows each call through the domain events (arrival, IVR exit, queue
 * entries, end) to time its IVR and its queue waits and to name its outcome
 * when it ends. Times are the events' own, not the clock's when they are
 * heard. Held in memory only: a call adopted after a restart is judged on
 * what this process saw of it (its IVR time before the restart is not
 * counted; a waiting caller's wait only if it entered the queue again).
 */
export class CallOutcomes {
  private readonly calls = new Map<string, Tracked>();
  /** Queue entries waiting now: entry id → queue and entry time. */
  private readonly waits = new Map<string, { queueId: string; enteredAt: string; seenAt: number }>();

  constructor(private readonly sinks: OutcomeSinks, private readonly now: () => number = Date.now) {}

  started(call: CallView): void {
    const tracked = this.track(call.id);
    if (call.direction === 'inbound') tracked.ivrSince = call.startedAt;
  }

  leftIvr(callId: string, exit: 'queue' | 'transfer', at: string): void {
    const tracked = this.track(callId);
    if (exit === 'transfer') tracked.ivrTransfer = true;
    this.endIvr(tracked, exit, at);
  }

  queueEntry(entry: DomainEvents['queue.entry']): void {
    if (entry.event === 'entered') {
      const tracked = this.track(entry.callId);
      tracked.inQueue = true;
      this.endIvr(tracked, 'queue', entry.at);
      this.waits.set(entry.entryId, { queueId: entry.queueId, enteredAt: entry.at, seenAt: this.now() });
    } else if (entry.event === 'answered') {
      this.track(entry.callId).answered = true;
      this.endWait(entry.entryId, 'answered', entry.at);
    } else if (entry.event === 'left') {
      // Not tracked again: the call may have ended (and been forgotten) before its entry closed.
      const tracked = this.calls.get(entry.callId);
      if (tracked) {
        tracked.inQueue = false;
        tracked.queueOutcome = entry.outcome;
        if (entry.outcome === 'answered' || entry.outcome === 'transferred') tracked.answered = true;
      }
      if (entry.outcome) this.endWait(entry.entryId, entry.outcome, entry.at);
      this.waits.delete(entry.entryId);
    }
  }

  /** Caller and agent bridged: also said for calls adopted after a restart, which had no 'answered' in this process. */
  connected(callId: string): void {
    this.track(callId).answered = true;
  }

  ended(call: CallView): void {
    const tracked = this.calls.get(call.id);
    this.calls.delete(call.id);
    if (tracked && call.endReason !== 'lost' && call.endedAt) this.endIvr(tracked, 'hangup', call.endedAt);
    this.sinks.finished(outcomeOf(call, tracked));
  }

  /** Forgets calls and waits whose end never came (missed events): memory stays bounded. */
  sweep(now: number): void {
    for (const [id, call] of this.calls) if (now - call.seenAt > forgetAfterMs) this.calls.delete(id);
    for (const [id, wait] of this.waits) if (now - wait.seenAt > forgetAfterMs) this.waits.delete(id);
  }

  /** Calls and waits followed now (tests). */
  get size(): { calls: number; waits: number } {
    return { calls: this.calls.size, waits: this.waits.size };
  }

  private track(callId: string): Tracked {
    let tracked = this.calls.get(callId);
    if (!tracked) {
      tracked = { seenAt: this.now(), ivrSince: null, inQueue: false, answered: false, queueOutcome: undefined, ivrTransfer: false };
      this.calls.set(callId, tracked);
    }
    return tracked;
  }

  private endIvr(tracked: Tracked, exit: IvrExit, at: string): void {
    if (tracked.ivrSince === null) return;
    this.sinks.ivr(exit, secondsBetween(tracked.ivrSince, at));
    tracked.ivrSince = null;
  }

  /** Only a wait this process saw begin: one adopted after a restart has no start here. */
  private endWait(entryId: string, outcome: Outcome, at: string): void {
    const wait = this.waits.get(entryId);
    if (!wait) return;
    this.waits.delete(entryId);
    this.sinks.wait(wait.queueId, outcome, secondsBetween(wait.enteredAt, at));
  }
}

function outcomeOf(call: CallView, tracked: Tracked | undefined): CallOutcome {
  if (call.endReason === 'lost') return 'lost';
  if (call.parentCallId) return 'consult';
  if (call.direction === 'internal') return 'feature_code';
  if (!tracked) return 'ivr';
  if (tracked.answered) return 'answered';
  // Still in a queue when the call ended (its entry closes just after): the caller hung up waiting.
  if (tracked.inQueue) return 'abandoned';
  const last = tracked.queueOutcome;
  if (last === 'abandoned' || last === 'overflow' || last === 'callback') return last;
  if (tracked.ivrTransfer) return 'ivr_transfer';
  return 'ivr';
}
