import { open, realpath, statfs, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A row's path that would lead outside the recordings folder: never opened nor deleted. */
export class UnsafeRecordingPath extends Error {
  constructor(path: string) {
    super(`recording path '${path}' is not inside the recordings folder`);
    this.name = 'UnsafeRecordingPath';
  }
}

function inside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * The absolute file of a recording row's relative `path`. The path comes
 * from the database, but a bad row (or a bad hand edit) must not be able to
 * send a download or a deletion anywhere else on the disk.
 */
export function recordingFile(recordingsDir: string, path: string): string {
  const root = resolve(recordingsDir);
  if (path === '' || isAbsolute(path) || path.includes('\0')) throw new UnsafeRecordingPath(path);
  const file = resolve(root, path);
  if (!inside(root, file)) throw new UnsafeRecordingPath(path);
  return file;
}

/**
 * Opens a recording for reading, checking again after symbolic links are
 * followed so a link inside the folder cannot point out of it. ENOENT and
 * the like are thrown as they come.
 */
export async function openRecording(recordingsDir: string, path: string): Promise<FileHandle> {
  const file = recordingFile(recordingsDir, path);
  const [root, real] = await Promise.all([realpath(recordingsDir), realpath(file)]);
  if (!inside(root, real)) throw new UnsafeRecordingPath(path);
  return open(real, 'r');
}

export interface RecordingsDisk { freeBytes: number; totalBytes: number; low: boolean }

/**
 * Room left on the recordings folder's file system, as an unprivileged
 * process sees it (Asterisk writes as one): low under `minFreeBytes`.
 */
export function recordingsDiskProbe(recordingsDir: string, minFreeBytes: number): () => Promise<RecordingsDisk> {
  return async () => {
    const fs = await statfs(recordingsDir);
    const freeBytes = fs.bavail * fs.bsize;
    return { freeBytes, totalBytes: fs.blocks * fs.bsize, low: freeBytes < minFreeBytes };
  };
}
