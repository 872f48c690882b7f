import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Config } from '../core/config.js';
import { openDatabase } from '../core/db.js';
import { copyVerified, digestFile, listFiles, type FileDigest } from '../core/files.js';
import { journalPathIn, parseJournal } from '../core/journal.js';
import type { Logger } from '../core/logger.js';
import { appliedMigrations } from '../core/migrate.js';
import { plural } from '../core/text.js';
import { QueuesStore } from '../queues/store.js';
import { RecordingsStore } from '../recording/store.js';
import { recordingOwners, type FileOwner } from '../recording/verify.js';
import { openEmbedded, refuseWhileRunning } from './embedded.js';
import { centralitaSchema, pgDump, postgresTool, serverMajor } from './database.js';
import { centralitaVersion, journalFile, recordingsFolder, writeManifest, type Manifest, type ManifestFile } from './manifest.js';

export interface BackupOptions {
  /** Copy the recording files into the backup (else they are only listed, with their sha256). */
  recordings: boolean;
}

export const postgresDumpFile = 'database.dump';
export const pgliteDumpFile = 'pglite-datadir.tar.gz';

type Say = (line: string) => void;

/** What the database part of a backup gives the rest: its manifest entry, the rows as of the dump, and the journal's copy. */
interface DatabasePart { database: Manifest['database']; migrations: string[]; owners: Map<string, FileOwner>; journal: Manifest['journal'] }

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the recordings' and queues' tables
async function ownersAndMigrations(db: Kysely<any>): Promise<{ owners: Map<string, FileOwner>; migrations: string[] }> {
  const owners = await recordingOwners(new RecordingsStore(db), await new QueuesStore(db).messageRecordings());
  return { owners, migrations: await appliedMigrations(db) };
}

/** Postgres's "lock not available" (lock_timeout): the hold gave way to a writer, and is tried again. */
const lockNotAvailable = '55P03';

/**
 * Runs `fn` while no one can write to centralita's tables: one transaction
 * holds every table in SHARE mode (writers wait; readers and pg_dump do
 * not). Taking the locks waits for the writes under way to commit. Its
 * lock_timeout is shorter than Postgres's deadlock_timeout (1 s), so when the
 * hold and a write queue's batch wait on each other it is the hold that
 * gives way (and is tried again), never the service's write; writers wait at
 * most that long, plus the few milliseconds `fn` takes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every table, whatever the schema version
async function holdingWrites<T>(db: Kysely<any>, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const held = await db.connection().execute(async (conn): Promise<{ done: true; value: T } | { done: false }> => {
      await sql`begin`.execute(conn);
      try {
        await sql`set local lock_timeout = '300ms'`.execute(conn);
        const { rows } = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = ${centralitaSchema} order by tablename`.execute(conn);
        if (rows.length > 0) await sql`lock table ${sql.join(rows.map((r) => sql.table(`${centralitaSchema}.${r.tablename}`)))} in share mode`.execute(conn);
      } catch (err) {
        await sql`rollback`.execute(conn);
        if ((err as { code?: string }).code === lockNotAvailable && attempt < 10) return { done: false };
        throw err;
      }
      try {
        return { done: true, value: await fn() };
      } finally {
        await sql`rollback`.execute(conn);
      }
    });
    if (held.done) return held.value;
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

/**
 * The moment of a PostgreSQL backup: with the writes held, `conn` begins the
 * repeatable-read transaction whose exported snapshot pg_dump then reads,
 * and the write journal is copied. An event record is noted in the journal
 * before its write, and leaves it only once the write has committed; no
 * write commits between the snapshot and the copy, so every record noted
 * before the snapshot is in the dump or in the copy. Copying the journal
 * before the snapshot lost the records noted between the two; copying it
 * after, without the hold, lost the ones noted before the snapshot and stored
 * (so gone from the journal) before the copy. A record in both (stored, its
 * note of being stored not yet written) is harmless: replaying skips an
 * insert whose identical row exists (write-queue.ts, insertIfAbsent).
 * `whileHeld` is for the tests, to widen the moment.
 * The caller commits `conn`'s transaction once the dump is written.
 */
export async function snapshotWithJournal(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every table
  db: Kysely<any>, conn: Kysely<any>, config: Pick<Config, 'dataDir'>, dir: string, whileHeld?: () => Promise<void>,
): Promise<{ snapshot: string; journal: Manifest['journal'] }> {
  return holdingWrites(db, async () => {
    await sql`begin transaction isolation level repeatable read, read only`.execute(conn);
    try {
      const { rows } = await sql<{ snapshot: string }>`select pg_export_snapshot() as snapshot`.execute(conn);
      await whileHeld?.();
      return { snapshot: rows[0]!.snapshot, journal: await copyJournal(config, dir) };
    } catch (err) {
      await sql`rollback`.execute(conn);
      throw err;
    }
  });
}

/**
 * pg_dump of the snapshot one repeatable-read transaction exports: the rows
 * that transaction reads for the manifest are the dump's, to the write,
 * while the service goes on writing.
 */
async function dumpPostgres(config: Config, dir: string, logger: Logger): Promise<DatabasePart> {
  const handle = await openDatabase(config, logger);
  try {
    const { major, version } = await serverMajor(handle.db);
    const tool = await postgresTool('pg_dump', major);
    return await handle.db.connection().execute(async (conn) => {
      const { snapshot, journal } = await snapshotWithJournal(handle.db, conn, config, dir);
      try {
        const file = join(dir, postgresDumpFile);
        await pgDump(tool.path, config.databaseUrl!, file, snapshot);
        const { owners, migrations } = await ownersAndMigrations(conn);
        const { bytes, sha256 } = await digestFile(file);
        return { database: { kind: 'postgres', file: postgresDumpFile, bytes, sha256, serverVersion: version, tool: `pg_dump ${tool.version}` }, migrations, owners, journal };
      } finally {
        await sql`commit`.execute(conn);
      }
    });
  } finally {
    await handle.close();
  }
}

/**
 * The embedded database has a single writer: backed up only while the
 * service is stopped, with PGlite's own dump of its data folder
 * (dumpDataDir, a gzipped tar that PGlite's loadDataDir takes back).
 */
async function dumpEmbedded(config: Config, dir: string): Promise<DatabasePart> {
  refuseWhileRunning(config, 'back up the embedded database');
  const embedded = await openEmbedded(config.dataDir, { mustExist: true });
  try {
    const { owners, migrations } = await ownersAndMigrations(embedded.db);
    const tarball = Buffer.from(await (await embedded.pglite.dumpDataDir('gzip')).arrayBuffer());
    await writeFile(join(dir, pgliteDumpFile), tarball);
    const sha256 = createHash('sha256').update(tarball).digest('hex');
    // No service runs (refused above): the journal holds what the last one left, and no one changes it.
    const journal = await copyJournal(config, dir);
    return { database: { kind: 'pglite', file: pgliteDumpFile, bytes: tarball.length, sha256 }, migrations, owners, journal };
  } finally {
    await embedded.close();
  }
}

/** A copy of the write journal as it is now: the event records noted and not yet stored (see snapshotWithJournal). */
async function copyJournal(config: Pick<Config, 'dataDir'>, dir: string): Promise<Manifest['journal']> {
  const path = journalPathIn(config.dataDir);
  if (!existsSync(path)) return null;
  const text = await readFile(path);
  await writeFile(join(dir, journalFile), text, { flag: 'wx' });
  return {
    file: journalFile, bytes: text.length, sha256: createHash('sha256').update(text).digest('hex'),
    pendingRecords: parseJournal(text.toString('utf8')).pending.length,
  };
}

/**
 * `centralita backup DIR`: the database (pg_dump, or PGlite's dump), the
 * write journal, and the recordings folder (copied and verified, or only
 * listed) with manifest.json, written last: a folder without it is not a
 * finished backup.
 */
export async function backup(config: Config, dir: string, options: BackupOptions, logger: Logger, say: Say): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty: a backup goes into a new or empty folder`);
  const part = config.databaseUrl ? await dumpPostgres(config, dir, logger) : await dumpEmbedded(config, dir);
  say(`database: ${part.database.kind === 'postgres' ? `pg_dump of PostgreSQL ${part.database.serverVersion}` : 'the embedded PGlite database (dumpDataDir)'}, ${part.migrations.length} migrations`);

  const files: ManifestFile[] = [];
  let vanished = 0;
  for (const path of await listFiles(config.recordingsDir)) {
    const source = join(config.recordingsDir, path);
    let digest: FileDigest;
    try {
      digest = options.recordings ? await copyVerified(source, join(dir, recordingsFolder, path)) : await digestFile(source);
    } catch (err) {
      // Finished (moved) or deleted by retention since the listing.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        vanished += 1;
        continue;
      }
      throw err;
    }
    const owner = part.owners.get(path);
    files.push({
      path, ...digest,
      recordingId: owner && 'recordingId' in owner ? owner.recordingId : null,
      ...(owner && 'queueMessageId' in owner ? { queueMessageId: owner.queueMessageId } : {}),
    });
  }
  const listed = new Set(files.map((f) => f.path));
  const withoutFile = [...part.owners].filter(([path, owner]) => 'recordingId' in owner && owner.status === 'complete' && !listed.has(path)).length;
  const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
  say(`recordings: ${plural(files.length, 'file')}, ${plural(bytes, 'byte')}, ${options.recordings ? 'copied and verified (sha256)' : 'listed with their sha256, not copied (--no-recordings)'}`
    + `${vanished > 0 ? `; ${vanished} finished or deleted while the backup ran` : ''}`);
  if (withoutFile > 0) say(`warning: ${plural(withoutFile, 'complete recording')} without a file in the recordings folder (see verify-recordings)`);
  const journal = part.journal;
  say(journal ? `journal: ${plural(journal.pendingRecords, 'event record')} not yet stored` : 'journal: none');

  const manifest: Manifest = {
    format: 1,
    createdAt: new Date().toISOString(),
    centralita: { version: centralitaVersion() },
    database: part.database,
    migrations: part.migrations,
    journal,
    recordings: { copied: options.recordings, files },
  };
  await writeManifest(dir, manifest);
  return manifest;
}
