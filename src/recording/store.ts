import { sql, type Generated, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import { runWriteOp, type WriteOp } from '../core/write-queue.js';

export type RecordingPolicy = 'always' | 'never' | 'on_demand';
/** `skipped`: the caller hung up before the recording could start (its note says `caller_gone: …`); no file, and no failure. */
export type RecordingStatus = 'recording' | 'complete' | 'missing' | 'failed' | 'skipped' | 'deleted';
export interface Pause { from: string; to: string }

export interface RecordingsTable {
  id: string;
  call_id: string;
  queue_id: string | null;
  agent_ids: Generated<string[]>;
  /** Where Asterisk writes while the call lasts, relative to the recordings dir, without extension. */
  asterisk_name: string;
  /** The finished file, relative to the recordings dir: YYYY/MM/DD/<call-id>.wav */
  path: string | null;
  format: Generated<string>;
  status: RecordingStatus;
  started_at: Date;
  ended_at: Date | null;
  duration_seconds: number | null;
  bytes: number | null;
  sha256: string | null;
  pauses: Generated<Pause[]>;
  paused_since: Date | null;
  retention_days: number;
  deleted_at: Date | null;
  note: string | null;
  /** A call's recording, or a caller's comment at a post-call survey (migration 029). */
  kind: Generated<RecordingKind>;
}
export type RecordingKind = 'call' | 'survey_comment';

export interface RecordingAuditTable {
  id: Generated<number>;
  recording_id: string;
  action: 'playback' | 'delete';
  token_id: string | null;
  role: string;
  agent_id: string | null;
  detail: Record<string, unknown>;
  at: Generated<Date>;
}

export interface RecordingTables { recordings: RecordingsTable; recording_audit: RecordingAuditTable }
export type RecordingRow = Selectable<RecordingsTable>;

/** A row as far as its file goes: the backup's manifest and verify-recordings. */
export type RecordingFileRow = Pick<RecordingRow, 'id' | 'call_id' | 'path' | 'asterisk_name' | 'format' | 'status' | 'bytes' | 'sha256'>;

/** Statuses whose file is still kept (a row being recorded names Asterisk's file in progress). */
const keptStatuses: RecordingStatus[] = ['recording', 'complete'];

/** The file of a row being recorded, relative to the recordings dir: where Asterisk writes. */
export function inProgressFile(row: Pick<RecordingRow, 'asterisk_name' | 'format'>): string {
  return `${row.asterisk_name}.${row.format}`;
}

/** callIds: only these calls' recordings (the calls of a caller's number, which the calls capability knows). */
export interface RecordingFilter { from?: Date; to?: Date; agentId?: string; queueId?: string; callId?: string; callIds?: string[]; kind?: RecordingKind; limit: number; offset: number }

/** bigint and numeric come back from pg as strings. */
function normalize(row: RecordingRow): RecordingRow {
  return {
    ...row,
    bytes: row.bytes === null ? null : Number(row.bytes),
    duration_seconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
  };
}

export class RecordingsStore {
  constructor(private readonly db: Kysely<RecordingTables>) {}

  // The writes of a recording's row, for the write queue.
  insert(row: Insertable<RecordingsTable>): WriteOp {
    return { insert: 'recordings', values: { ...row, ...(row.pauses ? { pauses: JSON.stringify(row.pauses) } : {}) } };
  }

  update(id: string, change: Updateable<RecordingsTable>): WriteOp {
    return { update: 'recordings', set: { ...change, ...(change.pauses ? { pauses: JSON.stringify(change.pauses) } : {}) }, where: { id } };
  }

  /** Applies a write at once, outside the write queue. */
  async apply(op: WriteOp): Promise<void> { await runWriteOp(this.db, op); }

  async get(id: string): Promise<RecordingRow | undefined> {
    const row = await this.db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
    return row && normalize(row);
  }

  async byCall(callId: string): Promise<RecordingRow[]> {
    return (await this.db.selectFrom('recordings').selectAll().where('call_id', '=', callId).orderBy('started_at').execute()).map(normalize);
  }

  async open(): Promise<RecordingRow[]> {
    return (await this.db.selectFrom('recordings').selectAll().where('status', '=', 'recording').execute()).map(normalize);
  }

  async pathTaken(path: string): Promise<boolean> {
    return (await this.db.selectFrom('recordings').select('id').where('path', '=', path).executeTakeFirst()) !== undefined;
  }

  async list(filter: RecordingFilter): Promise<RecordingRow[]> {
    let query = this.db.selectFrom('recordings').selectAll();
    if (filter.from) query = query.where('started_at', '>=', filter.from);
    if (filter.to) query = query.where('started_at', '<', filter.to);
    if (filter.queueId) query = query.where('queue_id', '=', filter.queueId);
    if (filter.callId) query = query.where('call_id', '=', filter.callId);
    if (filter.kind) query = query.where('kind', '=', filter.kind);
    if (filter.agentId) query = query.where(sql<boolean>`${filter.agentId}::uuid = any(agent_ids)`);
    if (filter.callIds) {
      if (filter.callIds.length === 0) return [];
      query = query.where('call_id', 'in', filter.callIds);
    }
    return (await query.orderBy('started_at', 'desc').limit(filter.limit).offset(filter.offset).execute()).map(normalize);
  }

  /** Finished recordings whose retention has run out at `now`. */
  async expired(now: Date): Promise<RecordingRow[]> {
    return (await this.db.selectFrom('recordings').selectAll().where('status', '=', 'complete')
      .where(sql<boolean>`started_at + make_interval(days => retention_days) < ${now}`).execute()).map(normalize);
  }

  /**
   * The rows that name a file (a finished path, or Asterisk's file while
   * recording), whatever their status, by id after `afterId`: `limit` at a
   * time, so a large archive is never read whole.
   */
  async withFiles(afterId: string | null, limit: number): Promise<RecordingFileRow[]> {
    let query = this.db.selectFrom('recordings').select(['id', 'call_id', 'path', 'asterisk_name', 'format', 'status', 'bytes', 'sha256'])
      .where((eb) => eb.or([eb('path', 'is not', null), eb('status', '=', 'recording')]));
    if (afterId !== null) query = query.where('id', '>', afterId);
    return (await query.orderBy('id').limit(limit).execute()).map((row) => ({ ...row, bytes: row.bytes === null ? null : Number(row.bytes) }));
  }

  /**
   * Of these calls, those with recording rows (`any`: the rows, and the
   * audit of their deletion, refer to the call) and those with a recording
   * still kept (`kept`: being recorded, or complete).
   */
  async callsWithRecordings(callIds: string[]): Promise<{ any: Set<string>; kept: Set<string> }> {
    if (callIds.length === 0) return { any: new Set(), kept: new Set() };
    const rows = await this.db.selectFrom('recordings').select(['call_id', 'status']).where('call_id', 'in', callIds).execute();
    return {
      any: new Set(rows.map((row) => row.call_id)),
      kept: new Set(rows.filter((row) => keptStatuses.includes(row.status)).map((row) => row.call_id)),
    };
  }

  async audit(row: Insertable<RecordingAuditTable>): Promise<void> {
    await this.db.insertInto('recording_audit').values({ ...row, detail: JSON.stringify(row.detail) as unknown as Record<string, unknown> }).execute();
  }

  async auditOf(recordingId: string): Promise<Selectable<RecordingAuditTable>[]> {
    return this.db.selectFrom('recording_audit').selectAll().where('recording_id', '=', recordingId).orderBy('id').execute();
  }
}
