import { ConfigError, loadToolConfig } from './core/config.js';
import { openDatabase } from './core/db.js';
import { createLogger } from './core/logger.js';
import { migrate } from './core/migrate.js';
import { journalPathIn, parseJournal } from './core/journal.js';
import { existsSync, readFileSync } from 'node:fs';

// npm run migrate: only the database keys matter here.
try {
  const config = loadToolConfig();
  const logger = createLogger(config.logLevel);
  // Records in the write journal were made for the schema the database has
  // now: the service applies them before migrating (docs/upgrade.md), so
  // migrating by hand first would strand them.
  const journal = journalPathIn(config.dataDir);
  if (existsSync(journal) && parseJournal(readFileSync(journal, 'utf8')).pending.length > 0) {
    throw new Error(`${journal} holds records not yet stored: start the service (it applies them, then migrates) instead of migrating by hand`);
  }
  const database = await openDatabase(config, logger);
  const applied = await migrate(database.db, logger);
  logger.info({ applied: applied.length }, applied.length ? 'migrations applied' : 'database up to date');
  await database.close();
} catch (err) {
  process.stderr.write(`centralita migrate: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : (err as Error).message}\n`);
  process.exit(1);
}
