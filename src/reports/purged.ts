import { sql, type Kysely } from 'kysely';
import type { ReportsTables } from './tables.js';

// The event retention's watermark (migration 017): raw events up to it may
// have been deleted, so the rollups up to it are final and `source=raw`
// cannot answer there. The reports own it; the retention moves it.

/**
 * The moment up to which raw events were deleted; undefined when none ever
 * were. `lock`: inside a rebuild's transaction, held (for share) until it
 * commits, so a purge batch cannot commit between this read and the rebuild's
 * reads of the raw events (the batch waits to move the watermark).
 */
export async function eventsPurgedBefore(db: Kysely<ReportsTables>, options: { lock?: boolean } = {}): Promise<Date | undefined> {
  const { rows } = await sql<{ purged_before: Date | null }>`
    select purged_before from report_events_purged ${options.lock ? sql`for share` : sql``}`.execute(db);
  return rows[0]?.purged_before ?? undefined;
}

/**
 * Moves the watermark to `before` if that is later: called in the
 * transaction that deletes the raw events, so it commits with them. (An
 * upsert: the migration's row may have been truncated away, by a test.)
 */
export async function markEventsPurged(db: Kysely<ReportsTables>, before: Date): Promise<void> {
  await sql`insert into report_events_purged (id, purged_before, updated_at) values (true, ${before}, now())
    on conflict (id) do update set purged_before = greatest(report_events_purged.purged_before, excluded.purged_before), updated_at = now()`.execute(db);
}
