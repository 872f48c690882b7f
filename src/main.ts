import { createCentralita, type Centralita } from './app.js';
import { ConfigError, loadConfig, type Config } from './core/config.js';
import { openDatabase } from './core/db.js';
import { waitForDatabase } from './core/db-wait.js';
import { createLogger } from './core/logger.js';
import { buildInfo } from './core/version.js';
import type { Database } from './db-schema.js';
import { doctor } from './doctor/run.js';
import { startStandIn } from './health/stand-in.js';

// A bad config is one clear line on stderr, not a stack trace.
function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`centralita: invalid configuration: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

const config = readConfig();
const logger = createLogger(config.logLevel);
const { version, commit } = buildInfo;

// Start-up in stages, each of which SIGTERM may interrupt: the stand-in
// health server (src/health/stand-in.ts) takes the port, the database is
// waited for with backoff, the app is built (migrations, loading), then the
// stand-in gives the port to the real server.
const stopping = new AbortController();
let app: Centralita | undefined;
let started = false;

function exitAfter(work: Promise<unknown>): void {
  work.then(() => process.exit(0), (err: unknown) => {
    logger.error({ err }, 'stop failed');
    process.exit(1);
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping.signal.aborted) return;
    logger.info({ signal }, 'stopping');
    stopping.abort();
    // Before that, the start-up sequence sees the abort at its next step.
    if (started) exitAfter(app!.stop());
  });
}

// A renewed certificate (certbot's deploy hook, logrotate-style): `systemctl reload centralita` sends SIGHUP.
process.on('SIGHUP', () => {
  // While starting, the real server has not read the certificate yet: it will read the new one.
  if (!started) return void logger.info('SIGHUP while starting: the certificate is read when the server starts');
  try {
    if (!app!.reloadTls()) logger.info('SIGHUP: no TLS certificate to reload (CENTRALITA_TLS_CERT unset)');
  } catch (err) {
    logger.error({ err }, 'TLS certificate not reloaded: the old one stays in use');
  }
});

/** A start-up failure: one log line and a non-zero exit (systemd restarts it, except for 78). */
function fail(message: string, fields: Record<string, unknown>, code = 1): never {
  logger.fatal(fields, message);
  process.exit(code);
}

logger.info({ version, commit, pid: process.pid }, 'centralita starting');
const standIn = await startStandIn(config.host, config.port, buildInfo, config.tls)
  .catch((err: unknown) => fail(`cannot listen on ${config.host}:${config.port}`, { err }));

const database = await openDatabase<Database>(config, logger).catch((err: unknown) => fail('cannot open the database', { err }));
// PGlite lives in this process: there is nothing to wait for.
if (database.kind === 'postgres') {
  const reached = await waitForDatabase(database.db, {
    logger, signal: stopping.signal, onRetry: (attempt, delayMs) => standIn.waitingForDatabase(attempt, delayMs),
  }).catch((err: unknown) => {
    // A known condition, not a bug: its message and SQLSTATE say it all, no stack.
    const { message, code } = err as { message?: string; code?: string };
    fail('the database refused the connection (waiting will not help): check DATABASE_URL and the server\'s access rules', { err: message, sqlState: code }, 78);
  });
  if (!reached) {
    await database.close();
    await standIn.close();
    process.exit(0);
  }
}
standIn.databaseUp();

try {
  app = await createCentralita(config, {
    logger, database,
    // A leader that lost its lease holds calls in memory that are another's now: it exits at
    // once (no ARI command, no write: src/core/lease.ts) and systemd starts it again as a
    // standby, whose first act is to apply its journal (docs/ha.md).
    onFenced: (why) => {
      logger.fatal({ why }, 'fenced: exiting, to start again as a standby');
      // The log line out first; meanwhile the gate refuses every command and record (counted).
      setTimeout(() => {
        logger.fatal({ ariRefused: app?.ari.fencedRequests ?? 0, recordsNotMade: app?.writes.notMade ?? 0 }, 'fenced: exited');
        process.exit(75);
      }, 200);
    },
  });
} catch (err) {
  fail('start-up failed', { err });
}
if (stopping.signal.aborted) {
  await standIn.close();
  exitAfter(app.stop());
} else {
  await standIn.close();
  const address = await app.start().catch((err: unknown) => fail('cannot start', { err }));
  started = true;
  logger.info({ address, version, commit }, 'centralita listening');
  if (stopping.signal.aborted) exitAfter(app.stop());
  else checkAsterisk(app);
}

/**
 * What docs/install.md asks of Asterisk, checked once at start (without the
 * probes that make Asterisk record or change a device state): a problem is a
 * warning naming its fix, as `npm run doctor` prints it.
 */
function checkAsterisk(running: Centralita): void {
  void doctor(config, running.logger.child({ component: 'doctor' }), { probes: false }).then((verdicts) => {
    for (const v of verdicts) {
      if (v.status === 'problem') running.logger.warn({ check: v.check, fix: v.fix }, `doctor: ${v.detail}`);
      else running.logger.info({ check: v.check }, `doctor: ${v.status} ${v.detail}`);
    }
  }, (err: unknown) => running.logger.warn({ err }, 'doctor checks at start failed'));
}
