import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from './logger.js';
import type { WriteOp } from './write-queue.js';

/**
 * The write queue's journal file: one JSON line per write noted before it is
 * applied, `{done: seq}` lines as batches are stored, under a header naming
 * the database (and schema) the writes belong to. The queue (write-queue.ts)
 * decides what to note; this file owns the file, its lock and its format.
 */

/** A record noted and not seen stored. */
export interface JournalEntry { seq: number; what: string; ops: WriteOp[]; epoch?: number }

/** The write journal of a data directory, as the service opens it. */
export function journalPathIn(dataDir: string): string {
  return join(dataDir, 'write-journal.jsonl');
}

/** This boot of the machine: a lock from an earlier boot is stale whatever its pid. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/**
 * The pid of another live centralita holding the lock file, if any. A
 * crashed holder's lock is stale: its pid is gone, belongs to an earlier boot,
 * or has been reused by a process that is not Node.
 */
function lockHolder(lockPath: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, boot] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || boot !== bootId()) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node')) return undefined;
  } catch {
    // no /proc: trust the pid
  }
  return pid;
}

/** The pid of the running centralita that holds the write journal at `journalPath` (same data directory), if any. */
export function journalHolder(journalPath: string): number | undefined {
  return lockHolder(`${journalPath}.lock`);
}

/** A database URL names the same database whatever user and password reach it. */
function withoutCredentials(database: string): string {
  try {
    const url = new URL(database);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return database;
  }
}

/**
 * A journal's text: the database its header names, the records noted and
 * not seen stored, and the numbers of the lines that could not be read (a
 * torn last line, cut by a crash in the middle of its write, is not one).
 */
export function parseJournal(text: string): { database: string | undefined; schema?: string; pending: JournalEntry[]; unreadable: number[] } {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const entries: JournalEntry[] = [];
  const unreadable: number[] = [];
  let stored = 0;
  let header: { database?: string; schema?: string } | undefined;
  for (const [i, line] of lines.entries()) {
    let parsed: { journal?: number; database?: string; schema?: string; seq?: number; what?: string; ops?: WriteOp[]; done?: number; epoch?: number };
    try {
      parsed = JSON.parse(line);
    } catch {
      if (i !== lines.length - 1) unreadable.push(i + 1);
      continue;
    }
    if (parsed.journal !== undefined) header = parsed;
    else if (parsed.done !== undefined) stored = Math.max(stored, parsed.done);
    else if (parsed.seq !== undefined && parsed.ops) entries.push({ seq: parsed.seq, what: parsed.what ?? '', ops: parsed.ops, ...(typeof parsed.epoch === 'number' ? { epoch: parsed.epoch } : {}) });
  }
  return { database: header?.database, ...(header?.schema ? { schema: header.schema } : {}), pending: entries.filter((e) => e.seq > stored), unreadable };
}

/** Journals opened by this process: a second app in it on the same file would replay the first's writes. */
const openJournals = new Set<string>();

const headerLine = (owner: string, schema: string | undefined): string => `${JSON.stringify({ journal: 1, database: owner, ...(schema ? { schema } : {}) })}\n`;

/** An open journal file (and its lock), appended to as writes are noted. */
export class Journal {
  private constructor(
    private fd: number,
    readonly path: string,
    private headerBytes: number,
    /** The journal's database label (a hash of its URL without credentials). */
    private readonly owner: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Takes the journal at `path` for this process and returns it with what an
   * earlier process noted but did not see stored, rewritten under a header
   * for `database` and `schema`; none (memory only) when this process or
   * another running centralita has it open. A journal of another database,
   * or written for another schema, is set aside beside it, not returned.
   */
  static open(path: string, database: string, schema: string | undefined, logger: Logger): { journal: Journal; pending: Array<{ what: string; ops: WriteOp[]; epoch?: number }> } | undefined {
    if (openJournals.has(path)) {
      logger.warn({ path }, 'the write journal is open in this process already; this instance keeps its writes in memory only');
      return undefined;
    }
    mkdirSync(dirname(path), { recursive: true });
    const holder = lockHolder(`${path}.lock`);
    if (holder !== undefined) {
      logger.error({ path, pid: holder }, 'another running centralita holds the write journal (same data directory); this one keeps its writes in memory only');
      return undefined;
    }
    writeFileSync(`${path}.lock`, `${process.pid} ${bootId()}`);
    const owner = createHash('sha256').update(withoutCredentials(database)).digest('hex').slice(0, 16);
    const pending = existsSync(path) ? readPending(path, owner, schema, logger) : [];
    const header = headerLine(owner, schema);
    const body = pending.map((w, i) => `${JSON.stringify({ seq: i + 1, what: w.what, ops: w.ops, ...(w.epoch !== undefined ? { epoch: w.epoch } : {}) })}\n`).join('');
    writeFileSync(`${path}.tmp`, header + body);
    renameSync(`${path}.tmp`, path);
    const journal = new Journal(openSync(path, 'a'), path, Buffer.byteLength(header), owner, logger);
    openJournals.add(path);
    return { journal, pending };
  }

  /** The file's size now: it grows while writes are held and shrinks to its header when the queue empties. */
  get bytes(): number {
    try {
      return fstatSync(this.fd).size;
    } catch {
      // Only a descriptor closed under us fails here: a gauge has nothing better to say.
      return 0;
    }
  }

  /** Rewrites the journal as an empty one labelled with `schema` (the caller has nothing queued). */
  relabel(schema: string): void {
    const header = headerLine(this.owner, schema);
    closeSync(this.fd);
    writeFileSync(`${this.path}.tmp`, header);
    renameSync(`${this.path}.tmp`, this.path);
    this.fd = openSync(this.path, 'a');
    this.headerBytes = Buffer.byteLength(header);
  }

  /** Appends one line (a write, or a `done` mark); a failure is logged, the record stays in memory. */
  note(entry: object): void {
    try {
      writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    } catch (err) {
      this.logger.error({ err }, 'could not write to the write journal; the record is kept in memory only');
    }
  }

  /** Notes that everything up to `seq` is stored; with nothing left queued the journal is emptied to its header instead. */
  stored(seq: number, queueEmpty: boolean): void {
    if (queueEmpty) {
      try {
        ftruncateSync(this.fd, this.headerBytes);
        return;
      } catch (err) {
        this.logger.warn({ err }, 'could not empty the write journal');
      }
    }
    this.note({ done: seq });
  }

  /** Closes the file and frees its lock; what it holds stays for the next start. */
  close(): void {
    closeSync(this.fd);
    rmSync(`${this.path}.lock`, { force: true });
    openJournals.delete(this.path);
  }
}

function readPending(path: string, owner: string, schema: string | undefined, logger: Logger): Array<{ what: string; ops: WriteOp[]; epoch?: number }> {
  const { database, schema: written, pending, unreadable } = parseJournal(readFileSync(path, 'utf8'));
  for (const line of unreadable) logger.error({ path, line }, 'unreadable line in the write journal; skipped');
  if (pending.length > 0 && database !== owner) {
    const aside = `${path}.other-database-${Date.now()}`;
    renameSync(path, aside);
    logger.error({ path: aside, writes: pending.length }, 'the write journal belongs to another database; set aside, not applied');
    return [];
  }
  if (pending.length > 0 && written && written !== schema) {
    const aside = `${path}.other-schema-${Date.now()}`;
    renameSync(path, aside);
    logger.error({ path: aside, writes: pending.length, written, database: schema },
      `the write journal was written for schema ${written} but the database is at ${schema} (another version migrated it): set aside, not applied; apply it by starting the version that wrote it on a restored backup (docs/upgrade.md)`);
    return [];
  }
  return pending;
}
