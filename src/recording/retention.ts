import { unlink } from 'node:fs/promises';
import type { Logger } from '../core/logger.js';
import { scheduleJob } from '../core/schedule.js';
import { recordingFile } from './files.js';
import type { RecordingsStore } from './store.js';

/** Every day at 03:15 server time, when a contact centre is quietest. */
export const retentionSchedule = '15 3 * * *';

export interface PurgeReport { deleted: number; failed: number }

/**
 * Deletes the finished recordings whose retention (days from the start of
 * the call, per row) has run out at `now`: the file first (already gone is
 * fine), then the audit row, then the row is marked deleted. A failure
 * leaves the row complete, so the next run tries it again; the audit row
 * comes before the mark so no recording is ever deleted without one.
 */
export async function purgeExpired(store: RecordingsStore, recordingsDir: string, logger: Logger, now = new Date()): Promise<PurgeReport> {
  const report: PurgeReport = { deleted: 0, failed: 0 };
  for (const row of await store.expired(now)) {
    try {
      if (row.path) {
        await unlink(recordingFile(recordingsDir, row.path)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      }
      await store.audit({
        recording_id: row.id, action: 'delete', token_id: null, role: 'system', agent_id: null,
        detail: { reason: 'retention', retentionDays: row.retention_days },
      });
      await store.apply(store.update(row.id, { status: 'deleted', deleted_at: now }));
      logger.info({ recordingId: row.id, path: row.path, retentionDays: row.retention_days }, 'recording deleted: its retention ran out');
      report.deleted += 1;
    } catch (err) {
      logger.error({ err, recordingId: row.id, path: row.path }, 'expired recording not deleted; the next run tries again');
      report.failed += 1;
    }
  }
  return report;
}

/**
 * Runs purgeExpired daily at 03:15 server time (one run at a time); returns
 * the function that stops it. A day missed while the service was down is
 * caught up by the next run, which deletes everything expired by then.
 */
export function scheduleRetention(store: RecordingsStore, recordingsDir: string, logger: Logger, held?: () => boolean): () => Promise<void> {
  return scheduleJob('recordings-retention', retentionSchedule, async () => {
    const report = await purgeExpired(store, recordingsDir, logger);
    if (report.deleted > 0 || report.failed > 0) logger.info(report, 'recording retention run');
  }, logger, held);
}
