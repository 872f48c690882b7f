import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../core/paths.js';

/** One file of the recordings folder as the backup saw it. */
export interface ManifestFile {
  /** Relative to the recordings folder, with `/`. */
  path: string;
  bytes: number;
  sha256: string;
  /** The recording row whose file (finished, or in progress) this is, in the backed-up database. */
  recordingId: string | null;
  /** The caller's message (queue_messages) whose recording this is. */
  queueMessageId?: string;
}

/** manifest.json: what a backup folder holds. */
export interface Manifest {
  format: 1;
  createdAt: string;
  centralita: { version: string };
  /** The dump, with its size and sha256 (checked before a restore changes anything). */
  database:
    | { kind: 'postgres'; file: string; bytes: number; sha256: string; serverVersion: string; tool: string }
    | { kind: 'pglite'; file: string; bytes: number; sha256: string };
  /** The migrations applied to the backed-up database, in order. */
  migrations: string[];
  /** The write journal (records noted but not yet stored), when there was one. */
  journal: { file: string; bytes: number; sha256: string; pendingRecords: number } | null;
  recordings: {
    /** Whether the files are in the backup (recordings/), or only listed (--no-recordings). */
    copied: boolean;
    files: ManifestFile[];
  };
}

export const manifestName = 'manifest.json';
export const recordingsFolder = 'recordings';
export const journalFile = 'write-journal.jsonl';

/** centralita's version, from its package.json. */
export function centralitaVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(join(dir, manifestName), `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
}

export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, manifestName), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${dir} is not a centralita backup: it has no ${manifestName}`, { cause: err });
    throw err;
  }
  const manifest = JSON.parse(text) as Manifest;
  if (manifest.format !== 1) throw new Error(`${join(dir, manifestName)}: unknown manifest format ${String(manifest.format)}`);
  return manifest;
}
