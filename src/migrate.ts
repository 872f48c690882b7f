import { ConfigError, loadToolConfig } from './core/config.js';
import { openDatabase } from './core/db.js';
import { createLogger } from './core/logger.js';
import { migrate } from './core/migrate.js';

// npm run migrate: only the database keys matter here.
try {
  const config = loadToolConfig();
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, logger);
  const applied = await migrate(database.db, logger);
  logger.info({ applied: applied.length }, applied.length ? 'migrations applied' : 'database up to date');
  await database.close();
} catch (err) {
  process.stderr.write(`centralita migrate: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : (err as Error).message}\n`);
  process.exit(1);
}
