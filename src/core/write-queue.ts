import type { Logger } from './logger.js';

interface Write { what: string; run: () => Promise<void>; done: () => void }

/** Errors that mean "the database is not reachable now", worth retrying. */
export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') return code.startsWith('08') || code.startsWith('57P') || code === '53300' || /^E[A-Z]+$/.test(code);
  // node-postgres reports a lost server without a code
  return /connect|terminat|timeout|ECONN|not queryable/i.test((err as Error)?.message ?? '');
}

/**
 * Writes of events as they happen, applied one after another in the order
 * they were made. When the database is unreachable the queue holds them and
 * retries with a capped backoff, so a short Postgres outage delays records
 * instead of losing them, and the call path never waits for a retry. A write
 * Postgres refuses for its data (a constraint) is logged and dropped: retrying
 * it would block every write behind it.
 *
 * Lives in memory only: what is still queued when the process dies is lost,
 * which is why the queue drains on shutdown and /health reports its length.
 */
export class WriteQueue {
  private readonly queue: Write[] = [];
  private running = false;
  private failures = 0;
  /** Writes were held by an outage and its backlog is not written yet. */
  private held = false;
  private idle: Array<() => void> = [];

  constructor(private readonly logger: Logger, private readonly backoff = { firstMs: 200, maxMs: 2000 }) {}

  get pending(): number { return this.queue.length; }

  /** Whether writes are being held (the database is unreachable) or the backlog of an outage is still being written. */
  get holding(): boolean { return this.held; }

  /** Queues a write; the promise settles once it is stored (or dropped). */
  enqueue(what: string, run: () => Promise<void>): Promise<void> {
    return new Promise<void>((done) => {
      this.queue.push({ what, run, done });
      void this.pump();
    });
  }

  /** Resolves when every queued write has been applied. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0) {
      const write = this.queue[0]!;
      try {
        await write.run();
        if (this.failures > 0) this.logger.info({ pending: this.queue.length }, 'database writes resumed');
        this.failures = 0;
      } catch (err) {
        if (isTransientDbError(err)) {
          this.failures += 1;
          this.held = true;
          const delay = Math.min(this.backoff.maxMs, this.backoff.firstMs * 2 ** Math.min(this.failures - 1, 5));
          if (this.failures === 1) this.logger.warn({ err: (err as Error).message, what: write.what, pending: this.queue.length }, 'database unreachable; holding writes');
          await new Promise((r) => setTimeout(r, delay));
          continue;
        }
        this.logger.error({ err, what: write.what }, 'database refused a write; dropped');
      }
      this.queue.shift();
      write.done();
    }
    this.running = false;
    this.held = false;
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }
}
