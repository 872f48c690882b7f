import { ConfigError, loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { doctor } from './run.js';
import { formatVerdict } from './checks.js';

/** `npm run doctor`: one line per check of docs/install.md; exit code 1 on any problem. */
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stdout.write(`PROBLEM config: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
const verdicts = await doctor(config, createLogger('silent'), { probes: true });
for (const v of verdicts) process.stdout.write(`${formatVerdict(v)}\n`);
const problems = verdicts.filter((v) => v.status === 'problem').length;
process.stdout.write(problems ? `${problems} problem(s): see docs/install.md\n` : 'all checks passed\n');
process.exit(problems ? 1 : 0);
