import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { createLogger } from '../../src/core/logger.js';
import { migrate, migrationsDir } from '../../src/core/migrate.js';
import { PGliteDialect } from '../../src/core/pglite-dialect.js';
import { projectRoot } from '../../src/core/paths.js';

/**
 * An in-memory PGlite database with every migration applied, for the fast
 * tier. A new PGlite runs initdb first (about 10 s of one core, measured on
 * this 2-core machine); one loaded from a dump of its data folder skips it
 * (about 1.5 s). So the first test process makes a migrated database, dumps
 * it to the system's temp folder under a name that changes with the
 * migrations and PGlite's version, and every later one starts from that dump.
 */
export async function migratedPGlite(): Promise<PGlite> {
  const file = join(tmpdir(), `centralita-pglite-${templateKey()}.tar`);
  if (existsSync(file)) return PGlite.create({ loadDataDir: new Blob([readFileSync(file)]) });
  const pglite = await PGlite.create();
  await migrate(new Kysely<unknown>({ dialect: new PGliteDialect(pglite) }), createLogger('silent'));
  const dump = await pglite.dumpDataDir('none');
  // Written aside and renamed: a process reading it never sees half a file.
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
  return pglite;
}

function templateKey(): string {
  const hash = createHash('sha256');
  hash.update(JSON.parse(readFileSync(join(projectRoot, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')).version as string);
  for (const name of readdirSync(migrationsDir).sort()) hash.update(name).update(readFileSync(join(migrationsDir, name)));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The fast tier starts about twenty apps per process, one after another;
 * loading the dump costs about 2 s of CPU each time (measured, session 18),
 * emptying the tables a few tens of ms. So an app borrows a migrated
 * database here and gives it back when it stops: the next borrower gets the
 * same PGlite with every table as the migrations left it (their seed rows
 * and sequences put back), or a new one when none is free. A database not
 * borrowed again within a second is closed: an open PGlite keeps Node from
 * exiting, and the next test file borrows within milliseconds.
 */
const spares = new Map<PGlite, NodeJS.Timeout>();
const seeds = new WeakMap<PGlite, Seed>();
const IDLE_CLOSE_MS = 1000;

interface Seed {
  tables: string[];
  rows: Map<string, unknown[]>;
  sequences: { name: string; lastValue: string | null }[];
}

export async function borrowMigratedPGlite(): Promise<PGlite> {
  const [spare, idle] = spares.entries().next().value ?? [];
  if (spare) {
    clearTimeout(idle);
    spares.delete(spare);
    await resetToSeed(spare, seeds.get(spare)!);
    return spare;
  }
  const pglite = await migratedPGlite();
  seeds.set(pglite, await readSeed(pglite));
  return pglite;
}

/** Gives a borrowed database back for the next app; a closed one is dropped. */
export function returnMigratedPGlite(pglite: PGlite): void {
  if (pglite.closed || !seeds.has(pglite) || spares.has(pglite)) return;
  spares.set(pglite, setTimeout(() => {
    spares.delete(pglite);
    void pglite.close();
  }, IDLE_CLOSE_MS).unref());
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

async function readSeed(pglite: PGlite): Promise<Seed> {
  const tables = (await pglite.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations' order by tablename",
  )).rows.map((r) => r.name);
  const rows = new Map<string, unknown[]>();
  for (const table of tables) {
    const found = (await pglite.query<{ rows: unknown[] | null }>(`select json_agg(t) as rows from ${quote(table)} t`)).rows[0]?.rows;
    if (found?.length) rows.set(table, found);
  }
  const sequences = (await pglite.query<{ name: string; lastValue: string | null }>(
    "select sequencename as name, last_value::text as \"lastValue\" from pg_sequences where schemaname = 'public'",
  )).rows;
  return { tables, rows, sequences };
}

async function resetToSeed(pglite: PGlite, seed: Seed): Promise<void> {
  await pglite.transaction(async (tx) => {
    await tx.query(`truncate ${seed.tables.map(quote).join(', ')} restart identity cascade`);
    // The seed rows as they were: no triggers, no foreign-key checks on the way in.
    await tx.query('set local session_replication_role = replica');
    for (const [table, rows] of seed.rows) {
      await tx.query(`insert into ${quote(table)} select * from json_populate_recordset(null::${quote(table)}, $1)`, [JSON.stringify(rows)]);
    }
    for (const { name, lastValue } of seed.sequences) {
      await tx.query(lastValue === null ? `alter sequence ${quote(name)} restart` : `select setval('${quote(name)}', ${Number(lastValue)}, true)`);
    }
  });
}
