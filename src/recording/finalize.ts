import { createHash } from 'node:crypto';
import { link, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Ari } from '../asterisk/ari.js';
import { isGone, type AriHelpers } from '../asterisk/ari-helpers.js';
import { ensureSharedFolder } from '../core/files.js';
import type { Logger } from '../core/logger.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { RecordingFailure } from './service.js';
import type { RecordingRow, RecordingsStore } from './store.js';
import { datedPath, durationOf, insertSilence, pcmOf, silenceInserts, wavOf } from './wav-edit.js';

/** Where Asterisk writes recordings in progress, inside the recordings dir. */
export const inProgressFolder = 'in-progress';

export interface FinalizerDeps {
  ari: Ari;
  helpers: AriHelpers;
  store: RecordingsStore;
  writes: WriteQueue;
  recordingsDir: string;
  /** Asterisk on another host: files come through ARI's stored recordings API instead of the shared folder. */
  viaAri: boolean;
  logger: Logger;
  /** A recording that will not be complete (counted by the metrics). */
  failed: (recordingId: string, callId: string, reason: RecordingFailure) => void;
  /** A recording stored complete (the bus: webhooks). */
  completed: (done: { recordingId: string; callId: string; queueId: string | null; agentIds: string[]; seconds: number; bytes: number; sha256: string }) => void;
}

/**
 * What happens to a recording's file once Asterisk has finished it: read
 * from the shared folder (or through ARI), pauses put back as silence,
 * linked into its dated place, its row completed.
 */
export class Finalizer {
  /** The in-progress folder's wrong mode last warned of (once per mode). */
  private folderModeWarned: number | undefined;

  constructor(private readonly d: FinalizerDeps) {}

  /** Makes the folder Asterisk records into, and warns (once per mode) when a non-root Asterisk could not write there. */
  ensureInProgressFolder(): void {
    const inProgress = join(this.d.recordingsDir, inProgressFolder);
    // Asterisk (another user, in the folder's group) records into it: it
    // must be group-writable, and setgid so its files keep the group.
    const mode = ensureSharedFolder(inProgress);
    if ((mode & 0o070) !== 0o070 && this.folderModeWarned !== mode) {
      this.folderModeWarned = mode;
      this.d.logger.warn({ folder: inProgress, mode: mode.toString(8) }, `the in-progress recordings folder is not group-writable: a non-root Asterisk cannot record into it; run chmod 2770 ${inProgress}`);
    }
  }

  /**
   * Puts a finished recording in its place: silence for the pauses, a
   * correct header, link into YYYY/MM/DD (never over another file), then the
   * row, then the in-progress file goes.
   */
  async finalize(row: RecordingRow, endedAt: Date, failure: string | null): Promise<void> {
    const source = join(this.d.recordingsDir, `${row.asterisk_name}.wav`);
    const file = await this.readFinished(row.asterisk_name);
    if (!file) {
      this.d.logger.error({ recordingId: row.id, file: row.asterisk_name }, 'the recording\'s file is missing');
      this.write(row.id, 'missing', this.d.store.update(row.id, { status: 'missing', ended_at: endedAt, note: 'no file was found when the recording ended' }));
      this.d.failed(row.id, row.call_id, 'file_missing');
      return;
    }
    let pcm = pcmOf(file);
    const inserts = silenceInserts(row.started_at, row.pauses.map((p) => ({ from: new Date(p.from), to: new Date(p.to) })));
    if (inserts.length > 0) pcm = insertSilence(pcm, inserts);
    const wav = wavOf(pcm);
    const sha256 = createHash('sha256').update(wav).digest('hex');
    const partial = join(this.d.recordingsDir, inProgressFolder, `${row.id}.final`);
    await mkdir(dirname(partial), { recursive: true });
    await writeFile(partial, wav);
    let path: string | undefined;
    for (let attempt = 0; attempt < 100 && !path; attempt += 1) {
      const candidate = datedPath(row.call_id, row.started_at, attempt);
      const target = join(this.d.recordingsDir, candidate);
      await mkdir(dirname(target), { recursive: true });
      try {
        await link(partial, target);
        path = candidate;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // Already put there by an earlier try that crashed before its row was written?
        const there = await readFile(target).catch(() => undefined); // unreadable: not ours to take
        if (there && createHash('sha256').update(there).digest('hex') === sha256 && !(await this.d.store.pathTaken(candidate))) path = candidate;
      }
    }
    if (!path) throw new Error(`no free file name for the recording of call ${row.call_id}`);
    const finalPath = path;
    const done = { status: 'complete' as const, path: finalPath, bytes: wav.length, sha256, duration_seconds: Math.round(durationOf(pcm) * 1000) / 1000,
      ended_at: endedAt, pauses: row.pauses, paused_since: null, agent_ids: row.agent_ids, note: failure ? `Asterisk reported: ${failure}` : row.note };
    this.write(row.id, 'complete', this.d.store.update(row.id, done), async () => {
      // What is left in in-progress is only clutter (reconcile lists orphans): a failed removal is logged, not fatal.
      const removed = (err: unknown): void => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.d.logger.warn({ err, recordingId: row.id }, 'could not remove a recording\'s in-progress file');
      };
      await unlink(partial).catch(removed);
      if (this.d.viaAri) await this.d.helpers.quietly('deleting a stored recording', { recordingName: row.asterisk_name }, () => this.d.ari.request('recordings.deleteStored', { recordingName: row.asterisk_name }));
      else await unlink(source).catch(removed);
    });
    this.d.logger.info({ recordingId: row.id, callId: row.call_id, path: finalPath, bytes: wav.length, seconds: done.duration_seconds }, 'recording stored');
    this.d.completed({ recordingId: row.id, callId: row.call_id, queueId: row.queue_id, agentIds: row.agent_ids, seconds: done.duration_seconds, bytes: wav.length, sha256 });
    // Once per recording: a failure whose file is missing too was counted as file_missing above.
    if (failure) this.d.failed(row.id, row.call_id, failure.startsWith('stopped at a transfer') ? 'interrupted' : 'asterisk_failed');
  }

  /** A finished recording's bytes: from the shared folder, or through ARI when Asterisk is elsewhere. */
  private async readFinished(name: string): Promise<Buffer | undefined> {
    // Unreadable or absent: the caller marks the recording missing.
    if (!this.d.viaAri) return readFile(join(this.d.recordingsDir, `${name}.wav`)).catch(() => undefined);
    const bytes = await this.d.ari.request('recordings.getStoredFile', { recordingName: name }).catch((err: unknown) => {
      if (isGone(err)) return undefined;
      throw err;
    });
    return bytes === undefined ? undefined : Buffer.from(bytes as unknown as Buffer);
  }

  /** Whether a finished recording is there, and when it was last written (ARI does not say: now). */
  async finishedFileInfo(name: string): Promise<{ mtime: Date } | undefined> {
    if (!this.d.viaAri) return stat(join(this.d.recordingsDir, `${name}.wav`)).catch(() => undefined); // ENOENT: no file
    const stored = await this.d.ari.request('recordings.getStored', { recordingName: name }).catch((err: unknown) => {
      if (isGone(err)) return undefined;
      throw err;
    });
    return stored ? { mtime: new Date() } : undefined;
  }

  /** The files left in the in-progress folder (the reconciliation lists orphans among them). */
  async inProgressFiles(): Promise<string[]> {
    // Orphans are only listed for the report: a listing that fails lists none.
    if (!this.d.viaAri) return readdir(join(this.d.recordingsDir, inProgressFolder)).catch(() => [] as string[]);
    // a listing that fails lists none (see above)
    const stored = await this.d.ari.request('recordings.listStored', {}).catch(() => []);
    return stored.filter((r) => r.name.startsWith(`${inProgressFolder}/`)).map((r) => `${r.name.slice(inProgressFolder.length + 1)}.wav`);
  }

  private write(id: string, what: string, op: WriteOp, after?: () => Promise<void>): void {
    void this.d.writes.enqueue(`recording ${id} ${what}`, op, after);
  }
}
