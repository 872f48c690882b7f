import cron from 'node-cron';
import type { Logger } from '../core/logger.js';
import { isTransientDbError } from '../core/write-queue.js';
import type { ReportsService } from './service.js';

/** A minute after each quarter hour, when the quarter just ended is complete. */
export const rollupSchedule = '1,16,31,46 * * * *';

/**
 * Keeps the 15-minute rollups: the last 26 hours are rebuilt from the raw
 * events at each run (so events written late, after a database outage,
 * correct the numbers). Reads rebuild what came after the last run
 * themselves. Returns the stop function.
 */
export function scheduleRollups(reports: ReportsService, logger: Logger, held: () => boolean = () => true): () => void {
  // HA: a leader whose lease ran out starts no rollup.
  const task = cron.schedule(rollupSchedule, () => { if (held()) void rollupOnce(reports, logger); });
  reports.checkDayZone().catch((err: unknown) => logger.error({ err }, 'daily report rollups not remade for the new time zone'));
  return () => { void task.stop(); };
}

/** One scheduled run: a failure is logged, never thrown (the next run tries again). */
export async function rollupOnce(reports: Pick<ReportsService, 'rebuildRecent'>, logger: Logger): Promise<void> {
  try {
    await reports.rebuildRecent();
  } catch (err) {
    // A database outage is already told once (the write queue, the call-path cache); the next run catches up.
    if (isTransientDbError(err)) logger.warn({ err: (err as Error).message }, 'report rollups not rebuilt: the database is unreachable; the next run tries again');
    else logger.error({ err }, 'report rollups not rebuilt; the next run tries again');
  }
}
