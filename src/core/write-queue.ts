import { sql, type Kysely } from 'kysely';
import { Journal } from './journal.js';
import type { Logger } from './logger.js';
import { sleep } from './sleep.js';

type Row = Record<string, unknown>;

/**
 * One statement of an event record, as data, so that it can be written to the
 * journal and applied again after a crash. Values must survive JSON: dates
 * become ISO strings (Postgres reads them back into timestamptz), and jsonb
 * columns are given as JSON text.
 */
export type WriteOp =
  | { insert: string; values: Row; onConflictDoNothing?: string[] }
  /** `where` is equality on each column; null means `is null`. */
  | { update: string; set: Row; where: Row };

interface Write {
  what: string;
  ops: WriteOp[];
  /** The leader lease's epoch it was made under (HA; none without it). */
  epoch?: number;
  /** Run once the ops are stored (not journaled: lost with a crash, so only for tidying up). */
  after?: () => Promise<void>;
  seq: number;
  /** Taken from the journal after a crash: may have been stored already. */
  replayed: boolean;
  /** Refused by the database for its data; its `after` is not run. */
  dropped?: boolean;
  done: () => void;
}

/** Errors that mean "the database is not reachable now", worth retrying. */
export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') return code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '25006' || /^E[A-Z]+$/.test(code);
  // node-postgres reports a lost server without a code
  return /connect|terminat|timeout|ECONN|not queryable/i.test((err as Error)?.message ?? '');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Applies one op outside the queue (for the few writes that must be awaited where they are made). */
export async function runWriteOp(db: AnyDb, op: WriteOp): Promise<void> {
  if ('insert' in op) {
    await insertRows(db, op.insert, [op.values], op.onConflictDoNothing);
    return;
  }
  await matching(db.updateTable(op.update).set(op.set), op.where).execute();
}

/** Equality on each column of `row` (null: `is null`; undefined: not compared). */
function matching<Q extends { where(column: string, op: string, value: unknown): Q }>(query: Q, row: Row): Q {
  let matched = query;
  for (const [column, value] of Object.entries(row)) {
    if (value !== undefined) matched = value === null ? matched.where(column, 'is', null) : matched.where(column, '=', value);
  }
  return matched;
}

async function insertRows(db: AnyDb, table: string, rows: Row[], onConflictDoNothing: string[] | undefined): Promise<void> {
  const query = db.insertInto(table).values(rows);
  await (onConflictDoNothing ? query.onConflict((oc) => oc.columns(onConflictDoNothing).doNothing()) : query).execute();
}

/**
 * An insert taken from the journal may have been stored just before the
 * crash (the process died between the commit and the journal's note of it):
 * it is skipped when an identical row exists. Rows without a natural key
 * (traces, state changes) are identical only when they are the same event.
 */
async function insertIfAbsent(db: AnyDb, op: Extract<WriteOp, { insert: string }>): Promise<void> {
  if (op.onConflictDoNothing) return insertRows(db, op.insert, [op.values], op.onConflictDoNothing);
  const found = await matching(db.selectFrom(op.insert).select(db.fn.countAll().as('n')), op.values).executeTakeFirst();
  if (Number(found?.n ?? 0) === 0) await insertRows(db, op.insert, [op.values], undefined);
}

/** One statement: a write's op, or consecutive inserts merged. */
interface Statement { ops: WriteOp[]; replayed: boolean }

/**
 * Consecutive inserts into the same table with the same columns become one
 * multi-row statement; inserts taken from the journal stay on their own (each
 * is checked for a row stored already).
 */
function statements(writes: readonly Write[]): Statement[] {
  const out: Statement[] = [];
  let last: { key: string; statement: Statement } | undefined;
  for (const write of writes) {
    for (const op of write.ops) {
      const key = 'insert' in op && !write.replayed
        ? `${op.insert}|${(op.onConflictDoNothing ?? []).join(',')}|${Object.keys(op.values).filter((k) => op.values[k] !== undefined).sort().join(',')}`
        : undefined;
      if (key !== undefined && last?.key === key) {
        last.statement.ops.push(op);
        continue;
      }
      const statement = { ops: [op], replayed: write.replayed };
      out.push(statement);
      last = key !== undefined ? { key, statement } : undefined;
    }
  }
  return out;
}

async function applyStatement(db: AnyDb, { ops, replayed }: Statement): Promise<void> {
  const first = ops[0]!;
  if ('insert' in first && ops.length > 1) {
    await insertRows(db, first.insert, ops.map((op) => (op as typeof first).values), first.onConflictDoNothing);
  } else if ('insert' in first && replayed) {
    await insertIfAbsent(db, first);
  } else {
    await runWriteOp(db, first);
  }
}

/** The leader lease, as the write queue sees it (src/core/lease.ts): HA only. */
export interface WriteFence {
  /** The epoch this process holds (or last held); null before it ever led. */
  readonly epoch: number | null;
  /** Whether this process may act now. */
  held(): boolean;
}

export interface WriteQueueOptions {
  /**
   * HA: each write is stamped with the lease's epoch, none is made while the
   * lease is not held, and each batch is checked in its transaction against
   * the lease row: a write made under an older epoch (a fenced leader's, or
   * its journal's after a takeover) adds the rows it inserts that are not
   * there yet (history, idempotent) and changes nothing that exists (its
   * updates are skipped: that state is the new leader's now).
   */
  fence?: WriteFence;
  /**
   * File where each write is noted before it is applied, so that a crash
   * (SIGKILL, a power loss aside: the file is not fsynced) loses no record:
   * the next start applies what was not stored. None: memory only.
   */
  journalPath?: string;
  /** Most writes applied in one transaction. */
  batchSize?: number;
  backoff?: { firstMs: number; maxMs: number };
}

/**
 * Writes of events as they happen, applied in the order they were made,
 * several at a time (one transaction, consecutive inserts of one table in one
 * statement) when they come faster than the database takes them. When the
 * database is unreachable the queue holds them and retries with a capped
 * backoff, so a short Postgres outage delays records instead of losing them,
 * and the call path never waits for a retry. A write Postgres refuses for its
 * data (a constraint) is logged and dropped: retrying it would block every
 * write behind it.
 *
 * Each write is appended to a journal file before it is queued, and the
 * journal is emptied whenever the queue is: after a crash, `open` applies
 * what the journal holds beyond the last batch it saw stored.
 */
export class WriteQueue {
  private readonly queue: Write[] = [];
  private running = false;
  private failures = 0;
  /** Writes were held by an outage and its backlog is not written yet. */
  private held = false;
  private idle: Array<() => void> = [];
  private closed = false;
  private seq = 0;
  private journal: Journal | undefined;
  private readonly batchSize: number;
  /** HA: records refused before they were made (the lease not held). */
  notMade = 0;
  /** HA: updates of writes made under an older epoch, not applied. */
  staleSkipped = 0;
  private leaseTable = false;
  private readonly backoff: { firstMs: number; maxMs: number };

  constructor(private readonly db: AnyDb, private readonly logger: Logger, private readonly options: WriteQueueOptions = {}) {
    this.batchSize = options.batchSize ?? 200;
    this.backoff = options.backoff ?? { firstMs: 200, maxMs: 2000 };
  }

  get pending(): number { return this.queue.length; }

  /** The journal file's size now (0 without one): it grows while writes are held and shrinks to its header when the queue empties. */
  get journalBytes(): number {
    return this.journal?.bytes ?? 0;
  }

  /** Whether writes are being held (the database is unreachable) or the backlog of an outage is still being written. */
  get holding(): boolean { return this.held; }

  /**
   * Opens the journal and queues again what an earlier process noted but
   * did not see stored. `database` names the database the journal's writes
   * belong to: a journal of another database is set aside, not applied.
   * `schema` (the database's last applied migration) is the schema the
   * journal's writes are made for: a journal written for another one (the
   * database was migrated by another version since) is set aside too.
   * Returns how many writes were taken up.
   */
  open(database: string, schema?: string): number {
    const path = this.options.journalPath;
    if (!path) return 0;
    const opened = Journal.open(path, database, schema, this.logger);
    if (!opened) return 0;
    this.journal = opened.journal;
    const { pending } = opened;
    for (const write of pending) {
      this.seq += 1;
      this.queue.push({ ...write, seq: this.seq, replayed: true, done: () => undefined });
    }
    if (pending.length > 0) {
      this.logger.warn({ writes: pending.length, path }, 'applying event records an earlier run noted but did not see stored');
      void this.pump();
    }
    return pending.length;
  }

  /**
   * After the migrations: the journal's writes from now on are made for
   * `schema`. Only an empty queue is relabelled (what is still queued was
   * made for the old schema); returns whether it was.
   */
  markSchema(schema: string): boolean {
    if (!this.journal) return false;
    if (this.queue.length > 0 || this.running) {
      this.logger.warn({ schema }, 'the write journal still holds records of the previous schema: its label stays');
      return false;
    }
    this.journal.relabel(schema);
    return true;
  }

  /** Stops applying writes and closes the journal; what is still queued stays in it for the next start. */
  close(): void {
    this.closed = true;
    this.journal?.close();
    this.journal = undefined;
  }

  /** Queues a write; the promise settles once it is stored (or dropped). */
  enqueue(what: string, ops: WriteOp | WriteOp[], after?: () => Promise<void>): Promise<void> {
    const list = Array.isArray(ops) ? ops : [ops];
    const fence = this.options.fence;
    if (fence && !fence.held()) {
      // A standby, or a leader whose lease ran out: it makes no record.
      this.notMade += 1;
      // A standby that never led (a session's last use, say) is expected; a leader's is worth a warning.
      this.logger[fence.epoch === null ? 'debug' : 'warn']({ what, epoch: fence.epoch }, 'not the leader (or its lease ran out): record not made');
      return Promise.resolve();
    }
    const epoch = fence?.epoch ?? undefined;
    this.seq += 1;
    const seq = this.seq;
    this.journal?.note({ seq, what, ops: list, ...(epoch !== undefined ? { epoch } : {}) });
    return new Promise<void>((done) => {
      this.queue.push({ what, ops: list, after, seq, replayed: false, done, ...(epoch !== undefined ? { epoch } : {}) });
      void this.pump();
    });
  }

  /** Resolves when every queued write has been applied. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Like drain, but waits at most `ms`; true when everything was applied. */
  async drainWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([this.drain().then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); })]);
    } finally {
      // A timer left running would keep a stopped process alive for the rest of it.
      clearTimeout(timer);
    }
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.slice(0, this.batchSize);
      try {
        await this.apply(batch);
        if (this.failures > 0) this.logger.info({ pending: this.queue.length }, 'database writes resumed');
        this.failures = 0;
      } catch (err) {
        if (isTransientDbError(err)) {
          this.failures += 1;
          this.held = true;
          const delay = Math.min(this.backoff.maxMs, this.backoff.firstMs * 2 ** Math.min(this.failures - 1, 5));
          if (this.failures === 1) this.logger.warn({ err: (err as Error).message, what: batch[0]!.what, pending: this.queue.length }, 'database unreachable; holding writes');
          await sleep(delay);
          continue;
        }
        // Refused for its data: find the write, one at a time, and drop only it.
        if (!(await this.applyOneByOne(batch))) continue;
      }
      if (this.closed) break;
      this.queue.splice(0, batch.length);
      this.stored(batch[batch.length - 1]!.seq);
      for (const write of batch) {
        if (write.after && !write.dropped) await write.after().catch((err: unknown) => this.logger.warn({ err, what: write.what }, 'tidying up after a stored write failed'));
        write.done();
      }
    }
    this.running = false;
    this.held = false;
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }

  /** Returns false when the database went away meanwhile (the batch is tried again). */
  private async applyOneByOne(batch: Write[]): Promise<boolean> {
    for (const write of batch) {
      try {
        await this.apply([write]);
      } catch (err) {
        if (isTransientDbError(err)) return false;
        write.dropped = true;
        this.logger.error({ err, what: write.what }, 'database refused a write; dropped');
      }
    }
    return true;
  }

  private async apply(batch: readonly Write[]): Promise<void> {
    if (this.options.fence) return this.applyFenced(batch);
    const all = statements(batch);
    if (all.length === 1) return applyStatement(this.db, all[0]!);
    await this.db.transaction().execute(async (trx) => {
      for (const statement of all) await applyStatement(trx, statement);
    });
  }

  /**
   * With a leader lease: in one transaction that holds the lease row (a
   * takeover waits for it to end), writes of the current epoch as usual, and
   * those of an older one as history only (inserts not there yet; no update).
   */
  private async applyFenced(batch: readonly Write[]): Promise<void> {
    let skipped = 0;
    await this.db.transaction().execute(async (trx) => {
      // The journal of an older version is applied before the migrations: without the lease table yet, as usual.
      if (!this.leaseTable) this.leaseTable = (await sql<{ present: boolean }>`select to_regclass('leader_lease') is not null as present`.execute(trx)).rows[0]?.present === true;
      const row = this.leaseTable ? (await sql<{ epoch: string }>`select epoch from leader_lease where id = 1 for share`.execute(trx)).rows[0] : undefined;
      const current = row ? Number(row.epoch) : undefined;
      const stale = (w: Write) => w.epoch !== undefined && current !== undefined && w.epoch < current;
      if (!batch.some(stale)) {
        for (const statement of statements(batch)) await applyStatement(trx, statement);
        return;
      }
      for (const write of batch) {
        if (!stale(write)) {
          for (const statement of statements([write])) await applyStatement(trx, statement);
          continue;
        }
        for (const op of write.ops) {
          if ('insert' in op) await insertIfAbsent(trx, op);
          else skipped += 1;
        }
      }
    });
    if (skipped > 0) {
      this.staleSkipped += skipped;
      this.logger.warn({ updates: skipped, writes: batch.filter((w) => w.epoch !== undefined).map((w) => w.what) }, 'records made under an earlier leader epoch: their rows added as history, their updates not applied');
    }
  }

  /** Notes in the journal that everything up to `seq` is stored; an empty queue empties the journal. */
  private stored(seq: number): void {
    this.journal?.stored(seq, this.queue.length === 0);
  }
}
