import cron from 'node-cron';
import type { Logger } from './logger.js';

/**
 * Runs `job` on a cron `expression` (server time), one run at a time; a
 * run that throws is logged and the next one tries again. The timer never
 * keeps the process alive. Returns the function that stops it.
 */
export function scheduleJob(name: string, expression: string, job: () => Promise<void>, logger: Logger, held: () => boolean = () => true): () => Promise<void> {
  const task = cron.schedule(expression, async () => {
    // HA: a leader whose lease ran out (frozen, resumed) starts no job (docs/ha.md).
    if (!held()) return void logger.warn({ job: name }, `${name} not run: the leader lease is not held`);
    try {
      await job();
    } catch (err) {
      logger.error({ err, job: name }, `${name} run failed; the next run tries again`);
    }
  }, {
    name,
    noOverlap: true,
    unref: true,
    logger: {
      info: (message) => logger.debug(message),
      warn: (message) => logger.warn(message),
      error: (message, err) => logger.error({ err: err ?? message }, `${name} scheduler`),
      debug: (message) => logger.debug({ message }, `${name} scheduler`),
    },
  });
  return async () => {
    await task.destroy();
  };
}
