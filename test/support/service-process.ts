import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../src/core/paths.js';
import { adminToken, testConfig, testDatabaseUrl, waitFor } from './harness.js';

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  exited: Promise<void>;
  output(): string;
  /** fetch with the admin token; JSON in and out. */
  api(path: string, init?: { method?: string; json?: unknown }): Promise<{ status: number; body: any }>;
  kill(): Promise<void>;
}

/**
 * centralita as its own process on the lab and the test database, so a test
 * can kill it (SIGKILL) the way an operating system or an operator would.
 * Resolves once it is connected to ARI and AMI (`ready: 'any'`: or is a ready HA standby).
 */
export async function runService(port: number, env: Record<string, string> = {}, options: { ready?: 'asterisk' | 'any' } = {}): Promise<ServiceProcess> {
  const config = testConfig();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root',
      DATABASE_URL: testDatabaseUrl, CENTRALITA_PORT: String(port), CENTRALITA_ADMIN_TOKEN: adminToken, CENTRALITA_LAB: 'true',
      CENTRALITA_LOG_LEVEL: process.env.TEST_LOG_LEVEL && process.env.TEST_LOG_LEVEL !== 'silent' ? process.env.TEST_LOG_LEVEL : 'warn',
      CENTRALITA_ARI_USER: config.ari.user, CENTRALITA_ARI_PASSWORD: config.ari.password,
      CENTRALITA_AMI_USER: config.ami.user, CENTRALITA_AMI_PASSWORD: config.ami.password,
      CENTRALITA_RECORDINGS_DIR: config.recordingsDir, CENTRALITA_PROMPTS_DIR: config.promptsDir,
      // A data directory of its own (kept across its restarts): in-process apps hold data/test's write journal.
      CENTRALITA_DATA_DIR: `${config.dataDir}-process`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer): void => {
    output += d.toString();
    if (process.env.TEST_LOG_LEVEL && process.env.TEST_LOG_LEVEL !== 'silent') process.stderr.write(d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const running: ServiceProcess = {
    child, port, baseUrl, exited, output: () => output,
    async api(path, init = {}) {
      const res = await fetch(`${baseUrl}${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${adminToken}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      });
      const text = await res.text();
      let body: unknown = text;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      return { status: res.status, body };
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`centralita exited: ${output.slice(-2000)}`);
    const health = await fetch(`${baseUrl}/health`).then((r) => r.json()).catch(() => undefined) as { ari?: string; ami?: string; role?: string; ready?: boolean; starting?: string } | undefined;
    // HA: a standby is ready without Asterisk; a leader once connected.
    if (options.ready === 'any') return health?.ready === true && health.starting === undefined && (health.role === 'standby' || (health.ari === 'up' && health.ami === 'up'));
    return health?.ari === 'up' && health.ami === 'up';
  }, 30_000, 'the service did not come up');
  return running;
}
