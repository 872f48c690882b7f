import type { Kysely, Selectable } from 'kysely';
import type { WriteOp } from '../core/write-queue.js';

export type OutboundOrigin = 'api' | 'phone' | 'callback' | 'campaign';
export type OutboundOutcome = 'answered' | 'busy' | 'no_answer' | 'congestion' | 'invalid' | 'failed' | 'agent_no_answer' | 'cancelled';

export interface OutboundCallsTable {
  call_id: string;
  agent_id: string;
  queue_id: string | null;
  number: string;
  caller_id: string;
  origin: OutboundOrigin;
  started_at: Date;
  agent_answered_at: Date | null;
  answered_at: Date | null;
  ended_at: Date | null;
  outcome: OutboundOutcome | null;
  talk_seconds: number | null;
  ended_by: 'agent' | 'customer' | 'system' | null;
}

export interface OutboundTables { outbound_calls: OutboundCallsTable }
export type OutboundCallRow = Selectable<OutboundCallsTable>;

/** The outbound calls' rows: written through the write queue as the call goes (WriteOps), read for the API and reports. */
export class OutboundStore {
  constructor(private readonly db: Kysely<OutboundTables>) {}

  started(row: OutboundCallsTable): WriteOp {
    return { insert: 'outbound_calls', values: { ...row }, onConflictDoNothing: ['call_id'] };
  }

  agentAnswered(callId: string, at: Date): WriteOp {
    return { update: 'outbound_calls', set: { agent_answered_at: at }, where: { call_id: callId, agent_answered_at: null } };
  }

  answered(callId: string, at: Date): WriteOp {
    return { update: 'outbound_calls', set: { answered_at: at }, where: { call_id: callId, answered_at: null } };
  }

  /** The call's end; its talk time runs from the customer's answer (none when unanswered). */
  ended(callId: string, end: { at: Date; outcome: OutboundOutcome; answeredAt: Date | null | undefined; endedBy: 'agent' | 'customer' | 'system' }): WriteOp {
    const talkSeconds = end.answeredAt ? Math.max(0, Math.round((end.at.getTime() - end.answeredAt.getTime()) / 1000)) : null;
    return {
      update: 'outbound_calls',
      set: { ended_at: end.at, outcome: end.outcome, talk_seconds: talkSeconds, ended_by: end.endedBy },
      where: { call_id: callId, ended_at: null },
    };
  }

  async get(callId: string): Promise<OutboundCallRow | undefined> {
    return this.db.selectFrom('outbound_calls').selectAll().where('call_id', '=', callId).executeTakeFirst();
  }

  async list(filter: { agentId?: string; from?: Date; to?: Date; limit: number; offset: number }): Promise<OutboundCallRow[]> {
    let q = this.db.selectFrom('outbound_calls').selectAll();
    if (filter.agentId) q = q.where('agent_id', '=', filter.agentId);
    if (filter.from) q = q.where('started_at', '>=', filter.from);
    if (filter.to) q = q.where('started_at', '<', filter.to);
    return q.orderBy('started_at', 'desc').limit(filter.limit).offset(filter.offset).execute();
  }

  /** Calls an earlier process left open (a restart): closed by the reconciliation when their channels are gone. */
  async open(): Promise<OutboundCallRow[]> {
    return this.db.selectFrom('outbound_calls').selectAll().where('ended_at', 'is', null).execute();
  }

  /** The event retention's part: the rows of the calls it deletes. */
  async deleteOf(callIds: readonly string[]): Promise<number> {
    if (callIds.length === 0) return 0;
    const result = await this.db.deleteFrom('outbound_calls').where('call_id', 'in', callIds).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
