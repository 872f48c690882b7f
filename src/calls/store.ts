import type { Generated, Kysely, Selectable } from 'kysely';
import type { WriteOp } from '../core/write-queue.js';

export interface CallsTable {
  id: string;
  channel_id: string;
  direction: 'inbound' | 'internal' | 'outbound';
  caller_number: string;
  caller_name: string;
  did: string | null;
  language: string | null;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  hangup_cause: number | null;
  hangup_cause_text: string | null;
  end_reason: 'hangup' | 'lost' | null;
  /** A leg placed for another call (a consult): that call. */
  parent_call_id: string | null;
  /** What a leg called (a colleague's extension). */
  called_number: string | null;
}

export interface CallEventsTable {
  id: Generated<number>;
  call_id: string;
  type: string;
  detail: Record<string, unknown>;
  at: Date;
}

export interface CallsTables { calls: CallsTable; call_events: CallEventsTable }
export type CallRow = Selectable<CallsTable>;
export type CallEventRow = Selectable<CallEventsTable>;

export interface CallListFilter { from?: Date; to?: Date; did?: string; callerNumber?: string; limit: number; offset: number }

export class CallsStore {
  constructor(private readonly db: Kysely<CallsTables>) {}

  // The writes of a call's record, for the write queue.
  insertCall(row: CallsTable): WriteOp {
    // The row's id, not its channel's: Asterisk reuses channel ids after a restart (migration 019).
    return { insert: 'calls', values: { ...row }, onConflictDoNothing: ['id'] };
  }

  /** A desk phone's call that turned out to dial an outside number (`*` + number). */
  setOutbound(id: string, calledNumber: string): WriteOp {
    return { update: 'calls', set: { direction: 'outbound', called_number: calledNumber }, where: { id } };
  }

  setAnswered(id: string, at: Date): WriteOp {
    return { update: 'calls', set: { answered_at: at }, where: { id, answered_at: null } };
  }

  setEnded(id: string, end: { at: Date; cause: number | null; causeText: string | null; reason: 'hangup' | 'lost' }): WriteOp {
    return {
      update: 'calls',
      set: { ended_at: end.at, hangup_cause: end.cause, hangup_cause_text: end.causeText, end_reason: end.reason },
      where: { id, ended_at: null },
    };
  }

  insertEvent(event: Omit<CallEventsTable, 'id'>): WriteOp {
    return { insert: 'call_events', values: { ...event, detail: JSON.stringify(event.detail) } };
  }

  listOpen(): Promise<CallRow[]> {
    return this.db.selectFrom('calls').selectAll().where('ended_at', 'is', null).orderBy('started_at').execute();
  }

  list(filter: CallListFilter): Promise<CallRow[]> {
    let query = this.db.selectFrom('calls').selectAll();
    if (filter.from) query = query.where('started_at', '>=', filter.from);
    if (filter.to) query = query.where('started_at', '<', filter.to);
    if (filter.did) query = query.where('did', '=', filter.did);
    if (filter.callerNumber) query = query.where('caller_number', '=', filter.callerNumber);
    return query.orderBy('started_at', 'desc').limit(filter.limit).offset(filter.offset).execute();
  }

  /** What other capabilities read of these calls' records (the queues' open entries after a restart). */
  async facts(callIds: string[]): Promise<Pick<CallRow, 'id' | 'channel_id' | 'caller_number' | 'did' | 'language'>[]> {
    if (callIds.length === 0) return [];
    return this.db.selectFrom('calls').select(['id', 'channel_id', 'caller_number', 'did', 'language']).where('id', 'in', callIds).execute();
  }

  /** The ids of every call from this number (the recordings' filter by caller). */
  async idsOfCaller(callerNumber: string): Promise<string[]> {
    return (await this.db.selectFrom('calls').select('id').where('caller_number', '=', callerNumber).execute()).map((row) => row.id);
  }

  /** The legs placed for a call (consults), oldest first. */
  legsOf(id: string): Promise<CallRow[]> {
    return this.db.selectFrom('calls').selectAll().where('parent_call_id', '=', id).orderBy('started_at').execute();
  }

  get(id: string): Promise<CallRow | undefined> {
    return this.db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirst();
  }

  events(callId: string): Promise<CallEventRow[]> {
    return this.db.selectFrom('call_events').selectAll().where('call_id', '=', callId).orderBy('at').orderBy('id').execute();
  }

  /** Ended calls that started before `cutoff`, oldest first, after `after` (the last of the previous page). */
  endedBefore(cutoff: Date, after: { startedAt: Date; id: string } | undefined, limit: number): Promise<Pick<CallRow, 'id' | 'started_at'>[]> {
    let query = this.db.selectFrom('calls').select(['id', 'started_at']).where('started_at', '<', cutoff).where('ended_at', 'is not', null);
    if (after) query = query.where((eb) => eb(eb.refTuple('started_at', 'id'), '>', eb.tuple(after.startedAt, after.id)));
    return query.orderBy('started_at').orderBy('id').limit(limit).execute();
  }

  /** Deletes what happened during these calls; the number of rows. */
  async deleteEventsOf(callIds: string[]): Promise<number> {
    if (callIds.length === 0) return 0;
    const result = await this.db.deleteFrom('call_events').where('call_id', 'in', callIds).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes the rows of these calls (their events and every row referring to them must be gone). */
  async deleteCalls(callIds: string[]): Promise<number> {
    if (callIds.length === 0) return 0;
    const result = await this.db.deleteFrom('calls').where('id', 'in', callIds).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
