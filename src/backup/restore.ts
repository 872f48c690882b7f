import { existsSync } from 'node:fs';
import { readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { openDatabase, pgliteDir } from '../core/db.js';
import { copyVerified, CopyMismatch, digestFile } from '../core/files.js';
import { journalPathIn, parseJournal } from '../core/journal.js';
import type { Logger } from '../core/logger.js';
import { migrationsDir } from '../core/migrate.js';
import { plural } from '../core/text.js';
import { recordingFile } from '../recording/files.js';
import { pgRestoreReplacing, postgresTool, serverMajor, tablesWithRows } from './database.js';
import { openEmbedded, refuseWhileRunning } from './embedded.js';
import { manifestName, readManifest, recordingsFolder, type Manifest, type ManifestFile } from './manifest.js';

export interface RestoreOptions {
  /** Restore over a database that holds rows, and over recording files that differ. */
  force: boolean;
}

export interface RestoreSummary {
  manifest: Manifest;
  recordings: { restored: number; alreadyThere: number; failed: string[]; notCopied?: { present: number; missing: number; differ: number } };
  journal: 'restored' | 'none';
  /** Where what the restore replaced was put, to be removed by hand once the restore is checked. */
  setAside: string[];
}

type Say = (line: string) => void;

/**
 * Checks the backup before anything is changed: every file the manifest
 * names is there with its size, and the dump and the journal have the
 * manifest's sha256 (the recordings' are checked as each is copied back).
 */
async function checkBackup(dir: string, manifest: Manifest): Promise<void> {
  const need = async (file: string, bytes?: number, sha256?: string | null) => {
    const path = join(dir, file);
    // absent or unreadable: the backup is incomplete, thrown just below
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`the backup is incomplete: ${path} is missing`);
    if (bytes !== undefined && info.size !== bytes) throw new Error(`the backup is damaged: ${path} has ${info.size} bytes, the manifest says ${bytes}`);
    if (sha256 === undefined) return;
    // A manifest written before the dump's sha256 was recorded: its dump cannot be checked.
    if (sha256 === null) throw new Error(`the backup cannot be checked: ${join(dir, manifestName)} gives no sha256 for ${path}; nothing was restored`);
    const digest = await digestFile(path);
    if (digest.sha256 !== sha256) throw new Error(`the backup is damaged: ${path} has sha256 ${digest.sha256}, the manifest says ${sha256}; nothing was restored`);
  };
  await need(manifest.database.file, manifest.database.bytes, manifest.database.sha256 ?? null);
  if (manifest.journal) await need(manifest.journal.file, manifest.journal.bytes, manifest.journal.sha256);
  if (manifest.recordings.copied) for (const file of manifest.recordings.files) await need(join(recordingsFolder, file.path), file.bytes);
  // A backup of a newer centralita has migrations this one does not know.
  const known = new Set((await readdir(migrationsDir)).filter((f) => f.endsWith('.sql')));
  const unknown = manifest.migrations.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(`the backup was made by centralita ${manifest.centralita.version} with migrations this version does not have (${unknown.join(', ')}): restore it with that version or a later one`);
  }
}

/** The database restore refuses to overwrite rows unless forced. */
function refuseFull(full: string[], force: boolean): void {
  if (full.length > 0 && !force) {
    throw new Error(`the database is not empty (rows in ${full.join(', ')}): restore into an empty database, or give --force to replace what it holds`);
  }
}

async function restorePostgres(config: Config, dir: string, manifest: Manifest, force: boolean, logger: Logger): Promise<void> {
  const handle = await openDatabase(config, logger);
  let tools: { pgRestore: string; psql: string };
  try {
    refuseFull(await tablesWithRows(handle.db), force);
    const { major } = await serverMajor(handle.db);
    tools = { pgRestore: (await postgresTool('pg_restore', major)).path, psql: (await postgresTool('psql', major)).path };
  } finally {
    await handle.close();
  }
  await pgRestoreReplacing(tools, config.databaseUrl!, join(dir, manifest.database.file));
}

/** The embedded database: the current data folder is set aside (kept), and PGlite loads the dump into a new one. */
async function restoreEmbedded(config: Config, dir: string, manifest: Manifest, force: boolean, stamp: string, setAside: string[]): Promise<void> {
  const target = pgliteDir(config.dataDir);
  if (existsSync(target)) {
    const current = await openEmbedded(config.dataDir);
    try {
      refuseFull(await tablesWithRows(current.db), force);
    } finally {
      await current.close();
    }
    await rename(target, `${target}.before-restore-${stamp}`);
    setAside.push(`${target}.before-restore-${stamp}`);
  }
  const loaded = await openEmbedded(config.dataDir, { load: new Blob([await readFile(join(dir, manifest.database.file))]) });
  await loaded.close();
}

/** Files of the recordings folder that differ from the backup's: replaced only with --force. */
async function conflicts(config: Config, files: ManifestFile[]): Promise<{ same: Set<string>; differ: string[] }> {
  const same = new Set<string>();
  const differ: string[] = [];
  for (const file of files) {
    const target = recordingFile(config.recordingsDir, file.path);
    if (!existsSync(target)) continue;
    const digest = await digestFile(target);
    if (digest.sha256 === file.sha256 && digest.bytes === file.bytes) same.add(file.path);
    else differ.push(file.path);
  }
  return { same, differ };
}

/**
 * `centralita restore DIR`: the database (pg_restore --clean, in one
 * transaction; or PGlite's dump into a new data folder), then the
 * recordings (each copy's sha256 checked against the manifest), then the
 * write journal (its records are applied at the next start, when the
 * database is the one it was written for). Refuses, before changing
 * anything, while the service runs, when the database holds rows, or when
 * recording files differ from the backup's, unless forced.
 */
export async function restore(config: Config, dir: string, options: RestoreOptions, logger: Logger, say: Say): Promise<RestoreSummary> {
  const manifest = await readManifest(dir);
  await checkBackup(dir, manifest);
  refuseWhileRunning(config, 'restore');
  if (manifest.database.kind === 'postgres' && !config.databaseUrl) throw new Error('the backup is of a PostgreSQL database, and DATABASE_URL is not set: set it to the database to restore into');
  if (manifest.database.kind === 'pglite' && config.databaseUrl) throw new Error('the backup is of the embedded PGlite database, and DATABASE_URL is set: unset it to restore the embedded database');
  const copied = manifest.recordings.copied ? manifest.recordings.files : [];
  const existing = await conflicts(config, copied);
  if (existing.differ.length > 0 && !options.force) {
    throw new Error(`${existing.differ.length} recording files differ from the backup's (${existing.differ.slice(0, 3).join(', ')}${existing.differ.length > 3 ? ', …' : ''}): give --force to replace them`);
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const setAside: string[] = [];
  if (manifest.database.kind === 'postgres') await restorePostgres(config, dir, manifest, options.force, logger);
  else await restoreEmbedded(config, dir, manifest, options.force, stamp, setAside);
  say(`database: restored from the backup of ${manifest.createdAt} (centralita ${manifest.centralita.version}, ${manifest.migrations.length} migrations)`);

  const recordings: RestoreSummary['recordings'] = { restored: 0, alreadyThere: 0, failed: [] };
  for (const file of copied) {
    if (existing.same.has(file.path)) {
      recordings.alreadyThere += 1;
      continue;
    }
    try {
      await copyVerified(join(dir, recordingsFolder, file.path), recordingFile(config.recordingsDir, file.path), { bytes: file.bytes, sha256: file.sha256 });
      recordings.restored += 1;
    } catch (err) {
      if (!(err instanceof CopyMismatch)) throw err;
      recordings.failed.push(`${file.path}: ${err.message}`);
    }
  }
  if (manifest.recordings.copied) {
    say(`recordings: ${plural(recordings.restored, 'file')} restored (sha256 verified), ${recordings.alreadyThere} already there${recordings.failed.length ? `, ${recordings.failed.length} FAILED` : ''}`);
    for (const failure of recordings.failed) say(`  failed ${failure}`);
  } else {
    // Not in the backup (--no-recordings): what the manifest lists is checked where it should be.
    const notCopied = { present: 0, missing: 0, differ: 0 };
    for (const file of manifest.recordings.files) {
      // absent or unreadable: counted as missing
      const digest = await digestFile(recordingFile(config.recordingsDir, file.path)).catch(() => undefined);
      if (!digest) notCopied.missing += 1;
      else if (digest.sha256 === file.sha256) notCopied.present += 1;
      else notCopied.differ += 1;
    }
    recordings.notCopied = notCopied;
    say(`recordings: not in the backup (made with --no-recordings); of the ${plural(manifest.recordings.files.length, 'file')} it lists, ${notCopied.present} are in place, `
      + `${notCopied.missing} missing, ${notCopied.differ} differ: restore them from your file backup, then run verify-recordings`);
  }

  // The journal in place belongs to the database just replaced: set aside, never applied to the restored one.
  const journalPath = journalPathIn(config.dataDir);
  if (existsSync(journalPath) && parseJournal(await readFile(journalPath, 'utf8')).pending.length > 0) {
    await rename(journalPath, `${journalPath}.before-restore-${stamp}`);
    setAside.push(`${journalPath}.before-restore-${stamp}`);
  }
  let journal: RestoreSummary['journal'] = 'none';
  if (manifest.journal) {
    await copyVerified(join(dir, manifest.journal.file), journalPath, { bytes: manifest.journal.bytes, sha256: manifest.journal.sha256 });
    journal = 'restored';
    say(`journal: restored; its ${plural(manifest.journal.pendingRecords, 'event record')} not yet stored are applied at the next start (when DATABASE_URL names the same database as at the backup)`);
  } else {
    say('journal: none in the backup');
  }
  for (const path of setAside) say(`set aside: ${path} (remove it once the restore is checked)`);
  return { manifest, recordings, journal, setAside };
}
