import { createCentralita } from './app.js';
import { ConfigError, loadConfig } from './core/config.js';
import { doctor } from './doctor/run.js';

// A bad config is one clear line on stderr, not a stack trace.
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`centralita: invalid configuration: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

const app = await createCentralita(config);
const address = await app.start();
app.logger.info({ address }, 'centralita listening');

// What docs/install.md asks of Asterisk, checked once at start (without the
// probes that make Asterisk record or change a device state): a problem is a
// warning naming its fix, as `npm run doctor` prints it.
void doctor(config, app.logger.child({ component: 'doctor' }), { probes: false }).then((verdicts) => {
  for (const v of verdicts) {
    if (v.status === 'problem') app.logger.warn({ check: v.check, fix: v.fix }, `doctor: ${v.detail}`);
    else app.logger.info({ check: v.check }, `doctor: ${v.status} ${v.detail}`);
  }
}, (err: unknown) => app.logger.warn({ err }, 'doctor checks at start failed'));

// A renewed certificate (certbot's deploy hook, logrotate-style): `systemctl reload centralita` sends SIGHUP.
process.on('SIGHUP', () => {
  try {
    if (!app.reloadTls()) app.logger.info('SIGHUP: no TLS certificate to reload (CENTRALITA_TLS_CERT unset)');
  } catch (err) {
    app.logger.error({ err }, 'TLS certificate not reloaded: the old one stays in use');
  }
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'stopping');
    app.stop().then(() => process.exit(0), (err: unknown) => {
      app.logger.error({ err }, 'stop failed');
      process.exit(1);
    });
  });
}
