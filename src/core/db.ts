import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { PGliteDialect } from './pglite-dialect.js';

export interface DatabaseHandle<DB> {
  db: Kysely<DB>;
  kind: 'postgres' | 'pglite';
  /** true when a trivial query answers within timeoutMs. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
  /**
   * Runs after every statement sent through `db` (transactions' begin and
   * commit included), answered or failed, with its kind; returns the
   * unsubscribe. Optional: a handle built by hand (tests) may not count.
   */
  onStatement?(handler: (kind: StatementKind) => void): () => void;
}

/** What a statement does, from its first word: a label of bounded values for a metric. */
export const statementKinds = ['select', 'insert', 'update', 'delete', 'transaction', 'other'] as const;
export type StatementKind = (typeof statementKinds)[number];

export function statementKind(text: string): StatementKind {
  const word = /^\s*([a-z]+)/i.exec(text)?.[1]?.toLowerCase();
  switch (word) {
    case 'select': case 'insert': case 'update': case 'delete': return word;
    case 'begin': case 'commit': case 'rollback': case 'savepoint': case 'release': case 'start': return 'transaction';
    default: return 'other';
  }
}

/**
 * Kysely's `log` hook, fanned out to the handle's statement listeners: a
 * counter of statements costs a function call per statement (the metrics
 * and the benchmark read it), with no wrapper around the pool or the driver.
 */
function statementListeners(): { log: (event: LogEvent) => void; onStatement: (handler: (kind: StatementKind) => void) => () => void } {
  const handlers = new Set<(kind: StatementKind) => void>();
  return {
    log: (event) => {
      if (handlers.size === 0) return;
      const kind = statementKind(event.query.sql);
      for (const handler of handlers) handler(kind);
    },
    onStatement: (handler) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}

// timestamptz and bigint come back as Date and string by default; keep
// Date, and turn count(*) style bigints into numbers (they stay far below 2^53).
pg.types.setTypeParser(20, (value) => Number(value));

/** The embedded database's own folder inside the data directory. */
export function pgliteDir(dataDir: string): string {
  return `${dataDir}/pglite`;
}

export async function openDatabase<DB>(config: Pick<Config, 'databaseUrl' | 'dataDir'>, logger: Logger): Promise<DatabaseHandle<DB>> {
  if (config.databaseUrl) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10, connectionTimeoutMillis: 3000 });
    // An idle client's error (server restart) must not crash the process;
    // the pool drops the client and the next query gets a new one.
    pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres connection lost'));
    // The pool listens only to idle clients: one checked out when the server
    // goes away (between two queries of a request) would emit an 'error'
    // nobody handles, and the process would die of it. Its release then
    // discards it (it is no longer queryable).
    pool.on('connect', (client) => client.on('error', (err) => logger.debug({ err: err.message }, 'postgres connection lost while in use')));
    const statements = statementListeners();
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: statements.log });
    return { db, kind: 'postgres', ping: (ms) => ping(db, ms), close: () => db.destroy(), onStatement: statements.onStatement };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  mkdirSync(config.dataDir, { recursive: true });
  const pglite = new PGlite(pgliteDir(config.dataDir));
  await pglite.waitReady;
  logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: using the embedded PGlite database');
  const statements = statementListeners();
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite), log: statements.log });
  return { db, kind: 'pglite', ping: (ms) => ping(db, ms), close: () => db.destroy(), onStatement: statements.onStatement };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- works on any schema
async function ping(db: Kysely<any>, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
