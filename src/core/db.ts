import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, sql } from 'kysely';
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
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', ping: (ms) => ping(db, ms), close: () => db.destroy() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  mkdirSync(config.dataDir, { recursive: true });
  const pglite = new PGlite(pgliteDir(config.dataDir));
  await pglite.waitReady;
  logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: using the embedded PGlite database');
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  return { db, kind: 'pglite', ping: (ms) => ping(db, ms), close: () => db.destroy() };
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
