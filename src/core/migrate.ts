import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Logger } from './logger.js';
import { projectRoot } from './paths.js';

export const migrationsDir = join(projectRoot, 'migrations');

/**
 * Applies the SQL files of migrations/ that are not applied yet, in name
 * order, each in its own transaction with its bookkeeping row. Forward-only:
 * a file once applied is never run again, so fixes go in a new file. An
 * advisory lock keeps two starting instances from migrating at once.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs before any schema exists
export async function migrate(db: Kysely<any>, logger: Logger, dir = migrationsDir): Promise<string[]> {
  await sql`create table if not exists schema_migrations (
    name text primary key,
    applied_at timestamptz not null default now()
  )`.execute(db);
  const files = readdirSync(dir).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const ran = await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(7240311)`.execute(trx);
      const done = await sql<{ name: string }>`select name from schema_migrations where name = ${file}`.execute(trx);
      if (done.rows.length > 0) return false;
      await sql.raw(readFileSync(join(dir, file), 'utf8')).execute(trx);
      await sql`insert into schema_migrations (name) values (${file})`.execute(trx);
      return true;
    });
    if (ran) {
      logger.info({ migration: file }, 'migration applied');
      applied.push(file);
    }
  }
  return applied;
}

/** The names of the migrations applied to the database, in order. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the bookkeeping table only
export async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from schema_migrations order by name`.execute(db);
  return rows.map((row) => row.name);
}

/** The database's schema: its last applied migration, undefined before the first. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- may run before any schema exists
export async function appliedSchema(db: Kysely<any>): Promise<string | undefined> {
  const exists = await sql<{ t: string | null }>`select to_regclass('schema_migrations')::text as t`.execute(db);
  if (!exists.rows[0]?.t) return undefined;
  const last = await sql<{ name: string }>`select name from schema_migrations order by name desc limit 1`.execute(db);
  return last.rows[0]?.name;
}
