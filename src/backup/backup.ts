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
import { pgDump, postgresTool, serverMajor } from './database.js';
import { centralitaVersion, journalFile, recordingsFolder, writeManifest, type Manifest, type ManifestFile } from './manifest.js';

export interface BackupOptions {
  /** Copy the recording files into the backup (else they are only listed, with their sha256). */
  recordings: boolean;
}

export const postgresDumpFile = 'database.dump';
export const pgliteDumpFile = 'pglite-datadir.tar.gz';

type Say = (line: string) => void;

/** What the database part of a backup gives the rest: its manifest entry and the rows as of the dump. */
interface DatabasePart { database: Manifest['database']; migrations: string[]; owners: Map<string, FileOwner> }

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the recordings' and queues' tables
async function ownersAndMigrations(db: Kysely<any>): Promise<{ owners: Map<string, FileOwner>; migrations: string[] }> {
  const owners = await recordingOwners(new RecordingsStore(db), await new QueuesStore(db).messageRecordings());
  return { owners, migrations: await appliedMigrations(db) };
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
      await sql`begin transaction isolation level repeatable read, read only`.execute(conn);
      try {
        const { rows } = await sql<{ snapshot: string }>`select pg_export_snapshot() as snapshot`.execute(conn);
        await pgDump(tool.path, config.databaseUrl!, join(dir, postgresDumpFile), rows[0]!.snapshot);
        const { owners, migrations } = await ownersAndMigrations(conn);
        return { database: { kind: 'postgres', file: postgresDumpFile, serverVersion: version, tool: `pg_dump ${tool.version}` }, migrations, owners };
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
    const tarball = await embedded.pglite.dumpDataDir('gzip');
    await writeFile(join(dir, pgliteDumpFile), Buffer.from(await tarball.arrayBuffer()));
    return { database: { kind: 'pglite', file: pgliteDumpFile }, migrations, owners };
  } finally {
    await embedded.close();
  }
}

/**
 * A copy of the write journal as it is now: the event records noted and not
 * yet stored. Taken just before the database's snapshot, so a record is in
 * the dump, in this copy, or both (replaying is idempotent); only one noted
 * and still unstored in the instant between the two is in neither.
 */
async function copyJournal(config: Config, dir: string): Promise<Manifest['journal']> {
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
  const journal = await copyJournal(config, dir);
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
