import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createFirstAdmin } from './auth/create-admin.js';
import { backup } from './backup/backup.js';
import { refuseWhileRunning } from './backup/embedded.js';
import { restore } from './backup/restore.js';
import { ConfigError, loadConfig, loadToolConfig, type Config } from './core/config.js';
import { openDatabase, pgliteDir, type DatabaseHandle } from './core/db.js';
import { createLogger, type Logger } from './core/logger.js';
import { formatVerdict } from './doctor/checks.js';
import { doctor } from './doctor/run.js';
import type { Database } from './db-schema.js';
import { QueuesStore } from './queues/store.js';
import { RecordingsStore } from './recording/store.js';
import { formatProblem, formatSummary, recordingOwners, verifyRecordings } from './recording/verify.js';
import { purgeOldEvents } from './retention/events.js';

const usage = `usage: centralita <command>   (npm run centralita -- <command>; node dist/cli.js <command> when built)
  backup DIR [--no-recordings]   the database, the write journal and the recordings (or only their list) into DIR, with manifest.json
  restore DIR [--force]          a backup into the configured database and folders (--force: over rows and differing files)
  verify-recordings              every complete recording against its file, and every file against the rows
  purge-events                   the event retention now (CENTRALITA_EVENT_RETENTION_DAYS), as the daily job does
  create-admin NAME              the first admin who signs in to the pages, once (refused when an admin user exists);
                                 the password from CENTRALITA_NEW_PASSWORD, or the first line of standard input
  doctor                         what docs/install.md asks of Asterisk, Postgres and the folders: one line per check, exit 1 on a problem
                                 (npm run doctor)
Configuration as the service's: the environment, or the file CENTRALITA_CONFIG names.`;

class UsageError extends Error {}

const say = (line: string): void => { process.stdout.write(`${line}\n`); };

/**
 * The configured database, for a command that reads or changes it: the
 * embedded one only while no service runs on it (one writer), and only when
 * it exists (opening it would create an empty one).
 */
async function openExisting(config: Config, logger: Logger, what: string): Promise<DatabaseHandle<Database>> {
  if (!config.databaseUrl) {
    refuseWhileRunning(config, what);
    if (!existsSync(pgliteDir(config.dataDir))) throw new Error(`there is no embedded database in ${pgliteDir(config.dataDir)} (is DATABASE_URL or CENTRALITA_DATA_DIR missing?)`);
  }
  return openDatabase<Database>(config, logger);
}

async function verify(config: Config, logger: Logger): Promise<number> {
  const database = await openExisting(config, logger, 'read the embedded database');
  try {
    const store = new RecordingsStore(database.db);
    const queues = new QueuesStore(database.db);
    const report = await verifyRecordings(config.recordingsDir, async () => recordingOwners(store, await queues.messageRecordings()));
    for (const problem of report.problems) say(formatProblem(problem));
    say(formatSummary(report));
    return report.problems.length === 0 ? 0 : 1;
  } finally {
    await database.close();
  }
}

async function purgeEvents(config: Config, logger: Logger): Promise<number> {
  if (config.eventRetentionDays === undefined) throw new UsageError('CENTRALITA_EVENT_RETENTION_DAYS is not set: events are kept for ever');
  const database = await openExisting(config, logger, 'change the embedded database');
  try {
    const report = await purgeOldEvents(database.db, config.eventRetentionDays);
    say(`deleted events from before ${report.cutoff}: ${report.calls} calls, ${report.callEvents} call events, ${report.ivrTraces} IVR steps, `
      + `${report.queueEntries} queue entries, ${report.queueOffers} offers, ${report.agentStates} agent state changes; `
      + `${report.callsKeptForRecordings} old calls kept for their recordings, ${report.callRowsKeptAsReference} call rows kept as reference`);
    if (report.purgedBefore) say(`report rollups up to ${report.purgedBefore} are kept as they are: never rebuilt, and source=raw reports start after it`);
    return 0;
  } finally {
    await database.close();
  }
}

/** The first line of standard input (a password piped in, or typed: it is echoed then, so prefer the variable or a pipe). */
async function firstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

async function createAdmin(config: Config, logger: Logger, name: string): Promise<number> {
  const password = process.env.CENTRALITA_NEW_PASSWORD ?? (await firstLine());
  const database = await openExisting(config, logger, 'change the embedded database');
  try {
    const id = await createFirstAdmin(database.db, name, password);
    say(`admin ${name} created (${id}): sign in at /ui/ with that name and password`);
    return 0;
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { 'no-recordings': { type: 'boolean' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    say(usage);
    return command === undefined && !values.help ? 64 : 0;
  }
  const folder = (): string => {
    if (rest.length !== 1) throw new UsageError(`${command} takes one folder`);
    return resolve(rest[0]!);
  };
  const only = (allowed: string[]): void => {
    const given = Object.entries(values).filter(([, on]) => on).map(([name]) => name).filter((name) => !allowed.includes(name));
    if (given.length > 0) throw new UsageError(`${command} does not take --${given[0]}`);
    if (!['backup', 'restore', 'create-admin'].includes(command) && rest.length > 0) throw new UsageError(`${command} takes no arguments`);
  };
  // doctor talks to Asterisk: the service's whole configuration; the others need only the database and folders.
  const config = command === 'doctor' ? loadConfig() : loadToolConfig();
  // Logs (the database's warnings) go to stderr; stdout is the command's report.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
  switch (command) {
    case 'backup': {
      only(['no-recordings']);
      const dir = folder();
      await backup(config, dir, { recordings: !values['no-recordings'] }, logger, say);
      say(`backup written to ${dir}`);
      return 0;
    }
    case 'restore': {
      only(['force']);
      const summary = await restore(config, folder(), { force: values.force === true }, logger, say);
      return summary.recordings.failed.length === 0 ? 0 : 1;
    }
    case 'verify-recordings':
      only([]);
      return verify(config, logger);
    case 'purge-events':
      only([]);
      return purgeEvents(config, logger);
    case 'create-admin':
      only([]);
      if (rest.length !== 1) throw new UsageError('create-admin takes one name');
      return createAdmin(config, logger, rest[0]!);
    case 'doctor': {
      only([]);
      const verdicts = await doctor(config, createLogger('silent'), { probes: true });
      for (const v of verdicts) say(formatVerdict(v));
      const problems = verdicts.filter((v) => v.status === 'problem').length;
      const manual = verdicts.filter((v) => v.status === 'manual').length;
      const byHand = manual ? `; ${manual} to check by hand (manual, above)` : '';
      say(problems ? `${problems} problem(s): see docs/install.md${byHand}` : `all checks passed${byHand}`);
      return problems ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`centralita: invalid configuration: ${err.message}\n`);
    process.exitCode = 78; // EX_CONFIG
  } else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`centralita: ${(err as Error).message}\n${usage}\n`);
    process.exitCode = 64; // EX_USAGE
  } else if ((err as { code?: string }).code === '42P01') {
    // undefined_table
    process.stderr.write(`centralita: ${(err as Error).message}: the database has no centralita tables yet (run npm run migrate, or start the service once)\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`centralita: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
