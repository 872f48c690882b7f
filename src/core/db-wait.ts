import { sql, type Kysely } from 'kysely';
import type { Logger } from './logger.js';
import { sleep } from './sleep.js';

/** The first retry 1 s after a failed attempt, doubling, at most 30 s apart. */
export const databaseBackoff = { firstMs: 1000, maxMs: 30_000 } as const;

/** The wait before attempt `failures + 1`, after `failures` failed ones (1 or more). */
export function backoffDelay(failures: number, firstMs: number = databaseBackoff.firstMs, maxMs: number = databaseBackoff.maxMs): number {
  return Math.min(maxMs, firstMs * 2 ** Math.max(0, failures - 1));
}

/** Refusals waiting cannot fix: a wrong password, a role or database that does not exist, no right to connect. */
const permanentCodes = new Set(['28P01', '28000', '3D000', '42501']);

/**
 * Whether a failed connection is worth waiting out: anything but a refusal
 * it will repeat (permanentCodes), which the operator must fix, so it ends
 * the start (exit 78, which systemd does not restart). Postgres not
 * listening, starting or shutting down, too many connections (53300), a TLS
 * handshake cut short: all waited out, so a busy database at boot does not
 * leave the service failed.
 */
export function isUnreachable(err: unknown): boolean {
  // A host name with several addresses (localhost: ::1 and 127.0.0.1) fails with every attempt's error.
  if (err instanceof AggregateError) return err.errors.length === 0 || err.errors.some(isUnreachable);
  const { code } = (err ?? {}) as { code?: unknown };
  return !(typeof code === 'string' && permanentCodes.has(code));
}

export interface WaitOptions {
  logger: Logger;
  /** Aborted (SIGTERM) while waiting: stop waiting, resolve false. */
  signal?: AbortSignal;
  /** Told before each wait, e.g. for /health. */
  onRetry?: (attempt: number, delayMs: number) => void;
  firstMs?: number;
  maxMs?: number;
}

/**
 * Runs `select 1` until the database answers: true once it does, false if
 * `signal` is aborted first. Each failed attempt is logged once with the
 * delay before the next; an error isUnreachable does not cover is thrown.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- before migrations, any schema
export async function waitForDatabase(db: Kysely<any>, options: WaitOptions): Promise<boolean> {
  const { logger, signal } = options;
  for (let attempt = 1; ; attempt += 1) {
    if (signal?.aborted) return false;
    try {
      await sql`select 1`.execute(db);
      if (attempt > 1) logger.info({ attempt }, 'database reachable');
      return true;
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      const delayMs = backoffDelay(attempt, options.firstMs, options.maxMs);
      logger.warn({ attempt, retryInMs: delayMs, err: (err as Error).message }, 'database not reachable; waiting for it');
      options.onRetry?.(attempt, delayMs);
      if (!(await sleep(delayMs, signal))) return false;
    }
  }
}
