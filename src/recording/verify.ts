import { lstat } from 'node:fs/promises';
import { digestFile, listFiles } from '../core/files.js';
import { plural } from '../core/text.js';
import { recordingFile, UnsafeRecordingPath } from './files.js';
import { inProgressFile, type RecordingsStore, type RecordingStatus } from './store.js';

/** What a file of the recordings folder belongs to. */
export type FileOwner =
  | { recordingId: string; status: RecordingStatus; bytes: number | null; sha256: string | null }
  | { queueMessageId: string };

/**
 * Every file the database names, by its path relative to the recordings
 * folder: each recording's finished file (whatever its status), the file
 * Asterisk is writing for a recording in progress, and callers' messages.
 * `messages`: the queues' message recordings (name without extension).
 */
export async function recordingOwners(store: RecordingsStore, messages: { id: string; recording_name: string }[]): Promise<Map<string, FileOwner>> {
  const owners = new Map<string, FileOwner>();
  // Messages are recorded by channels.record in wav (asterisk/media.ts).
  for (const message of messages) owners.set(`${message.recording_name}.wav`, { queueMessageId: message.id });
  for (let after: string | null = null; ;) {
    const page = await store.withFiles(after, 1000);
    if (page.length === 0) break;
    after = page[page.length - 1]!.id;
    for (const row of page) {
      const owner = { recordingId: row.id, status: row.status, bytes: row.bytes, sha256: row.sha256 };
      if (row.path !== null) owners.set(row.path, owner);
      if (row.status === 'recording') owners.set(inProgressFile(row), owner);
    }
  }
  return owners;
}

export type ProblemKind = 'missing' | 'size' | 'sha256' | 'no-hash' | 'no-row';
export interface RecordingProblem { kind: ProblemKind; path: string; recordingId: string | null; detail: string }
export interface VerifyReport { recordings: number; files: number; problems: RecordingProblem[] }

/**
 * Checks every complete recording against its file (there, of the row's
 * size, of the row's sha256; a complete row without its size or sha256 is a
 * problem too) and every file of the folder against the rows
 * (a file no row names, or whose recording was deleted). Files whose names
 * start with a dot are not looked at. With the service running, a recording
 * finished while this runs would look like a file with no row: the files
 * found without one are checked again against rows read afresh.
 */
export async function verifyRecordings(recordingsDir: string, loadOwners: () => Promise<Map<string, FileOwner>>): Promise<VerifyReport> {
  const owners = await loadOwners();
  const problems: RecordingProblem[] = [];
  let recordings = 0;
  for (const [path, owner] of owners) {
    if (!('recordingId' in owner) || owner.status !== 'complete') continue;
    recordings += 1;
    const problem = (kind: ProblemKind, detail: string) => problems.push({ kind, path, recordingId: owner.recordingId, detail });
    // A row marked complete is written with its file's size and sha256 (recording/service.ts): without them the file cannot be checked.
    const lacking = [owner.bytes === null ? 'size' : '', owner.sha256 === null ? 'sha256' : ''].filter(Boolean);
    if (lacking.length > 0) problem('no-hash', `the row is complete but has no ${lacking.join(' nor ')}: its file cannot be checked`);
    let file: string;
    try {
      file = recordingFile(recordingsDir, path);
    } catch (err) {
      if (err instanceof UnsafeRecordingPath) {
        problem('missing', 'the row\'s path is outside the recordings folder');
        continue;
      }
      throw err;
    }
    const kind = await lstat(file).then((s) => (s.isFile() ? 'file' : 'not a regular file'), (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return 'no such file';
      throw err;
    });
    if (kind !== 'file') {
      problem('missing', kind);
      continue;
    }
    const digest = await digestFile(file);
    if (owner.bytes !== null && digest.bytes !== owner.bytes) problem('size', `${digest.bytes} bytes, the row says ${owner.bytes}`);
    else if (owner.sha256 !== null && digest.sha256 !== owner.sha256) problem('sha256', `sha256 ${digest.sha256}, the row says ${owner.sha256}`);
  }
  const files = await listFiles(recordingsDir);
  const unowned = (known: Map<string, FileOwner>) => files.filter((path) => {
    const owner = known.get(path);
    return !owner || ('recordingId' in owner && owner.status === 'deleted');
  });
  let known = owners;
  let orphans = unowned(known);
  if (orphans.length > 0) {
    known = await loadOwners();
    orphans = unowned(known);
  }
  for (const path of orphans) {
    const owner = known.get(path);
    problems.push(owner && 'recordingId' in owner
      ? { kind: 'no-row', path, recordingId: owner.recordingId, detail: 'its recording is marked deleted, but the file is still there' }
      : { kind: 'no-row', path, recordingId: null, detail: 'no recording nor message names this file' });
  }
  return { recordings, files: files.length, problems };
}

/** One line per problem, for people and for grep. */
export function formatProblem(p: RecordingProblem): string {
  return `${p.kind.padEnd(7)} ${p.path}${p.recordingId ? ` (recording ${p.recordingId})` : ''}: ${p.detail}`;
}

export function formatSummary(report: VerifyReport): string {
  const count = (kind: ProblemKind) => report.problems.filter((p) => p.kind === kind).length;
  const problems = report.problems.length === 0 ? 'no problems'
    : `${plural(report.problems.length, 'problem')} (missing ${count('missing')}, size ${count('size')}, sha256 ${count('sha256')}, no hash ${count('no-hash')}, no row ${count('no-row')})`;
  return `checked ${plural(report.recordings, 'complete recording')} and ${plural(report.files, 'file')}: ${problems}`;
}
