import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * Postgres stopped and started for real (pg_ctlcluster; needs root and the
 * lab lock: it affects everyone on the machine): the outage tests'.
 */
const cluster = (() => {
  try {
    return readdirSync('/etc/postgresql').sort()[0] ?? '15';
  } catch {
    return '15';
  }
})();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Stopped and started without blocking the test's process (centralita and the phones may run in it);
// the synchronous forms only on the way out.
const run = promisify(execFile);
const pgctl = (action: 'stop' | 'start') => ['--skip-systemctl-redirect', cluster, 'main', action, ...(action === 'stop' ? ['-m', 'fast'] : [])];
const isready = ['-q', '-h', '127.0.0.1', '-p', '5432'];
let postgresStopped = false;
export async function stopPostgres(): Promise<void> {
  postgresStopped = true;
  await run('pg_ctlcluster', pgctl('stop'));
}
export const accepting = () => run('pg_isready', isready).then(() => true, () => false);
/** Starts Postgres if this test stopped it (or it is down) and waits until it accepts connections. */
export async function startPostgres(): Promise<void> {
  if (!postgresStopped && await accepting()) return;
  await run('pg_ctlcluster', pgctl('start')).catch(() => undefined);
  for (let i = 0; i < 100 && !(await accepting()); i += 1) await sleep(100);
  postgresStopped = false;
}
/** Postgres must never stay down because this test died: started again on any way out. */
function startPostgresNow(): void {
  if (!postgresStopped) return;
  try {
    execFileSync('pg_ctlcluster', pgctl('start'), { stdio: 'ignore' });
  } catch {
    // already running
  }
  postgresStopped = false;
}
process.on('exit', startPostgresNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    startPostgresNow();
    process.exit(130);
  });
}

