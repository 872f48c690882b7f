import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';
import { waitFor } from '../support/harness.js';

const secrets = {
  CENTRALITA_ADMIN_TOKEN: 'process-test-admin-token-5f1c0123456789abcdef',
  CENTRALITA_ARI_PASSWORD: 'centralita-lab-ari',
  CENTRALITA_AMI_PASSWORD: 'centralita-lab-ami',
};

interface Running { output: () => string; exited: Promise<number | null>; kill: (signal?: NodeJS.Signals) => void }

/** `npm start` as an operator runs it (tsx src/main.ts), with only the environment given. */
function runService(env: Record<string, string>, entry = 'src/main.ts'): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { output: () => output, exited, kill: (signal = 'SIGTERM') => child.kill(signal) };
}

describe('the service process', () => {
  it('refuses an invalid config value with one clear line', async () => {
    const service = runService({ ...secrets, CENTRALITA_ARI_USER: 'centralita', CENTRALITA_AMI_USER: 'centralita', CENTRALITA_PORT: 'abc' });
    const code = await service.exited;
    assert.equal(code, 78);
    const lines = service.output().trim().split('\n');
    assert.deepEqual(lines, ["centralita: invalid configuration: CENTRALITA_PORT: must be a port number from 1 to 65535, got 'abc'"]);
  });

  it('refuses a missing secret by name, without a stack trace', async () => {
    const service = runService({ CENTRALITA_ADMIN_TOKEN: secrets.CENTRALITA_ADMIN_TOKEN, CENTRALITA_ARI_USER: 'centralita', CENTRALITA_AMI_USER: 'centralita', CENTRALITA_AMI_PASSWORD: 'x' });
    assert.equal(await service.exited, 78);
    assert.equal(service.output().trim(), 'centralita: invalid configuration: CENTRALITA_ARI_PASSWORD: is required but not set');
  });

  it('migrates with npm run migrate, once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'centralita-migrate-'));
    try {
      const first = runService({ CENTRALITA_DATA_DIR: dataDir }, 'src/migrate.ts');
      assert.equal(await first.exited, 0, first.output());
      assert.match(first.output(), /001_foundation\.sql/);
      const second = runService({ CENTRALITA_DATA_DIR: dataDir }, 'src/migrate.ts');
      assert.equal(await second.exited, 0, second.output());
      assert.match(second.output(), /database up to date/);
      assert.doesNotMatch(second.output(), /migration applied/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('runs on the embedded database without DATABASE_URL, and never logs a secret', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'centralita-pglite-'));
    const port = 39000 + Math.floor(Math.random() * 1000);
    const service = runService({
      ...secrets,
      CENTRALITA_PORT: String(port),
      CENTRALITA_DATA_DIR: dataDir,
      CENTRALITA_LOG_LEVEL: 'trace',
      CENTRALITA_ARI_USER: 'centralita',
      CENTRALITA_AMI_USER: 'centralita',
      // its own Stasis application, so it takes no calls from other tests
      CENTRALITA_ARI_APP: 'centralita-process-test',
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      // About 5 s here (migrations on PGlite); a loaded CI machine needs more.
      // If it does not come up, say why: its exit code and its own log.
      const health = await Promise.race([
        waitFor(async () => {
          const res = await fetch(`${base}/health`);
          const body = (await res.json()) as { db: string; ari: string; ami: string };
          return body.db === 'up' && body.ari === 'up' && body.ami === 'up' ? body : undefined;
        }, 90_000, 'the service did not come up healthy on PGlite'),
        service.exited.then((code) => { throw new Error(`the service exited (${code}) before it was healthy:\n${service.output().slice(-4000)}`); }),
      ]).catch((err: Error) => { throw new Error(`${err.message}\n--- its log ---\n${service.output().slice(-4000)}`); });
      assert.equal(health.db, 'up');
      const ok = await fetch(`${base}/api/v1/calls`, { headers: { authorization: `Bearer ${secrets.CENTRALITA_ADMIN_TOKEN}` } });
      assert.equal(ok.status, 200);
      const created = await fetch(`${base}/api/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secrets.CENTRALITA_ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'leak check', role: 'supervisor' }),
      });
      assert.equal(created.status, 201);
      const { token } = (await created.json()) as { token: string };
      assert.equal((await fetch(`${base}/api/v1/calls`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal((await fetch(`${base}/api/v1/tokens`, { headers: { authorization: 'Bearer wrong-token-value-123' } })).status, 401);

      service.kill('SIGTERM');
      assert.equal(await service.exited, 0);
      const output = service.output();
      assert.match(output, /migration applied/);
      assert.match(output, /embedded PGlite/);
      for (const secret of [...Object.values(secrets), token, 'wrong-token-value-123']) {
        assert.ok(!output.includes(secret), `the log contains a secret (${secret.slice(0, 6)}…)`);
      }
    } finally {
      service.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
