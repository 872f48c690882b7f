import type { Logger } from '../core/logger.js';

/**
 * A periodic pass that cannot read the database (an outage) says so once,
 * at warn, and quietly retries; the first good pass says it goes on. As the
 * webhooks' worker does: a warning per tick would bury the log.
 */
export class PassFailures {
  private down = false;

  constructor(private readonly logger: Logger, private readonly what: string) {}

  failed(err: unknown): void {
    if (this.down) return void this.logger.debug({ err }, `${this.what}: still failing`);
    this.down = true;
    this.logger.warn({ err }, `${this.what} failed (the database away?): it tries again every pass`);
  }

  ok(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.info(`${this.what} works again`);
  }
}
