import type { Selectable } from 'kysely';
import type { Logger } from '../core/logger.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { CallbackStatus, QueueCallbacksTable, QueueRow } from '../queues/store.js';
import type { OutboundDialer } from './dialer.js';
import { EarlyEnds } from './early-ends.js';
import { PassFailures } from './pass-failures.js';
import type { OutboundOutcome } from './store.js';

type CallbackRow = Selectable<QueueCallbacksTable>;

/** An agent who did not answer is not offered the same callback again for this long. */
const agentMissedDelayMs = 30_000;

export interface CallbackPorts {
  due: (now: Date, limit: number) => Promise<CallbackRow[]>;
  queue: (queueId: string) => Promise<QueueRow | undefined>;
  members: (queueId: string) => Promise<string[]>;
  /** Whether the agent is free for a callback now (available, checked in, not in a campaign session), and their phone. */
  freeAgent: (agentId: string) => { extension: string } | undefined;
  changed: (id: string, set: { status: CallbackStatus; attempts?: number; next_attempt_at?: Date | null; last_attempt_at?: Date; last_outcome?: string; last_call_id?: string | null }) => WriteOp;
}

/**
 * Callbacks that are dialled (docs/outbound.md, "Callbacks"): every two
 * seconds each due request (a caller's, or one an agent scheduled) is
 * offered to a free agent of its queue (the one it is for, if any): their
 * phone rings first showing the number, then the customer is dialled, as a
 * click-to-call with origin `callback`. Answered: done. Busy, no answer,
 * invalid, congestion: tried again after the queue's callbackRetryMinutes,
 * up to its callbackMaxAttempts, then failed. The agent not answering
 * counts no attempt. Each change is written through the write queue.
 */
export class CallbackDialer {
  private readonly inFlight = new Map<string, { callback: CallbackRow; queue: QueueRow }>();
  private readonly taking = new Set<string>();
  /** Calls that ended before fromApi returned their id (a refusal at once): judged when it does. */
  private readonly endedEarly = new EarlyEnds<OutboundOutcome>();
  private ticking = false;
  private readonly failures: PassFailures;

  constructor(private readonly d: { dialer: OutboundDialer; writes: WriteQueue; logger: Logger; clock: () => Date; callerId: string }, private readonly ports: CallbackPorts) {
    d.dialer.onEnded((callId, outcome) => this.ended(callId, outcome));
    this.failures = new PassFailures(d.logger, "the callbacks' pass");
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const reserved = new Set<string>();
      for (const callback of await this.ports.due(this.d.clock(), 50)) {
        if (this.taking.has(callback.id)) continue;
        const queue = await this.ports.queue(callback.queue_id);
        if (!queue) continue;
        const candidates = callback.agent_id ? [callback.agent_id] : await this.ports.members(queue.id);
        const agentId = candidates.find((id) => !reserved.has(id) && this.ports.freeAgent(id));
        if (!agentId) continue;
        reserved.add(agentId);
        await this.offer(callback, queue, agentId, this.ports.freeAgent(agentId)!.extension);
      }
      this.failures.ok();
    } catch (err) {
      this.failures.failed(err);
    } finally {
      this.ticking = false;
    }
  }

  private async offer(callback: CallbackRow, queue: QueueRow, agentId: string, extension: string): Promise<void> {
    this.taking.add(callback.id);
    this.write(callback.id, { status: 'in_progress' });
    try {
      const { callId } = await this.d.dialer.fromApi({
        agentId, extension, number: callback.caller_number, callerId: this.d.callerId, queueId: queue.id, origin: 'callback', followState: true,
      });
      this.write(callback.id, { status: 'in_progress', last_call_id: callId, last_attempt_at: this.d.clock() });
      this.inFlight.set(callId, { callback, queue });
      const early = this.endedEarly.take(callId);
      if (early) this.ended(callId, early);
      this.d.logger.info({ callbackId: callback.id, agentId, callId }, 'callback offered to an agent');
    } catch (err) {
      this.taking.delete(callback.id);
      this.d.logger.info({ err: (err as Error).message, callbackId: callback.id, agentId }, 'callback not offered now');
      this.write(callback.id, { status: 'pending', next_attempt_at: new Date(this.d.clock().getTime() + agentMissedDelayMs) });
    }
  }

  private ended(callId: string, outcome: OutboundOutcome): void {
    const flight = this.inFlight.get(callId);
    if (!flight) {
      // Maybe ours, ended before its id was known here.
      this.endedEarly.note(callId, outcome);
      return;
    }
    this.inFlight.delete(callId);
    const { callback, queue } = flight;
    this.taking.delete(callback.id);
    const now = this.d.clock();
    if (outcome === 'agent_no_answer' || outcome === 'cancelled') {
      this.write(callback.id, { status: 'pending', last_outcome: outcome, next_attempt_at: new Date(now.getTime() + agentMissedDelayMs) });
      return;
    }
    const attempts = callback.attempts + 1;
    callback.attempts = attempts;
    if (outcome === 'answered') return this.write(callback.id, { status: 'done', attempts, last_outcome: outcome, next_attempt_at: null });
    const failed = attempts >= queue.callback_max_attempts;
    this.write(callback.id, {
      status: failed ? 'failed' : 'pending', attempts, last_outcome: outcome,
      next_attempt_at: failed ? null : new Date(now.getTime() + queue.callback_retry_minutes * 60_000),
    });
  }

  private write(id: string, set: Parameters<CallbackPorts['changed']>[1]): void {
    void this.d.writes.enqueue(`callback ${id} ${set.status}`, this.ports.changed(id, set));
  }
}
