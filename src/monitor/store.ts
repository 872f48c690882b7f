import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { WriteOp } from '../core/write-queue.js';

export const monitorModes = ['listen', 'whisper', 'barge'] as const;
export type MonitorMode = (typeof monitorModes)[number];
export type SessionStatus = 'ringing' | 'active' | 'ended';
export type EndReason = 'supervisor_hangup' | 'ended_by_api' | 'call_ended' | 'no_answer' | 'busy' | 'unreachable' | 'failed' | 'restart' | 'asterisk_lost' | 'offboarded' | 'taken_over';
export type SegmentSource = 'start' | 'api' | 'phone' | 'follow' | 'restart';

export interface MonitorSessionsTable {
  id: string;
  supervisor_id: string;
  agent_id: string;
  call_id: string;
  extension: string;
  source: 'api' | 'phone';
  requested_by_token: string | null;
  requested_by_role: 'admin' | 'supervisor' | 'phone';
  follow: boolean;
  supervisor_channel_id: string | null;
  status: SessionStatus;
  created_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  end_reason: EndReason | null;
  ended_by_token: string | null;
}

export interface MonitorSegmentsTable {
  id: string;
  session_id: string;
  mode: MonitorMode;
  call_id: string;
  source: SegmentSource;
  started_at: Date;
  ended_at: Date | null;
}

export interface MonitorTables { monitor_sessions: MonitorSessionsTable; monitor_segments: MonitorSegmentsTable }
export type SessionRow = Selectable<MonitorSessionsTable>;
export type SegmentRow = Selectable<MonitorSegmentsTable>;

export interface SessionFilter { from?: Date; to?: Date; supervisorId?: string; agentId?: string; limit: number; offset: number }

export class MonitorStore {
  constructor(private readonly db: Kysely<MonitorTables>) {}

  // The writes of the monitoring audit, for the write queue.
  insertSession(row: Insertable<MonitorSessionsTable>): WriteOp {
    return { insert: 'monitor_sessions', values: { ...row } };
  }

  updateSession(id: string, change: Updateable<MonitorSessionsTable>): WriteOp {
    return { update: 'monitor_sessions', set: { ...change }, where: { id } };
  }

  insertSegment(row: Insertable<MonitorSegmentsTable>): WriteOp {
    return { insert: 'monitor_segments', values: { ...row } };
  }

  endSegment(id: string, at: Date): WriteOp {
    return { update: 'monitor_segments', set: { ended_at: at }, where: { id, ended_at: null } };
  }

  async getSession(id: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('monitor_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Sessions started in [from, to), newest first. */
  async listSessions(filter: SessionFilter): Promise<SessionRow[]> {
    let query = this.db.selectFrom('monitor_sessions').selectAll();
    if (filter.from) query = query.where('created_at', '>=', filter.from);
    if (filter.to) query = query.where('created_at', '<', filter.to);
    if (filter.supervisorId) query = query.where('supervisor_id', '=', filter.supervisorId);
    if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
    return query.orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
  }

  async segmentsOf(sessionIds: readonly string[]): Promise<SegmentRow[]> {
    if (sessionIds.length === 0) return [];
    return this.db.selectFrom('monitor_segments').selectAll().where('session_id', 'in', sessionIds).orderBy('started_at').orderBy('id').execute();
  }

  async openSessions(): Promise<SessionRow[]> {
    return this.db.selectFrom('monitor_sessions').selectAll().where('ended_at', 'is', null).execute();
  }

  /** Closes a session and its open segment (after a restart: the old process's sessions). */
  /** A session and its open segment closed together (one transaction). */
  closeSession(id: string, at: Date, reason: EndReason): WriteOp[] {
    return [
      { update: 'monitor_segments', set: { ended_at: at }, where: { session_id: id, ended_at: null } },
      { update: 'monitor_sessions', set: { status: 'ended', ended_at: at, end_reason: reason }, where: { id, ended_at: null } },
    ];
  }
}
