import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { projectRoot } from '../../src/core/paths.js';
import { testDatabaseUrl, waitFor } from '../support/harness.js';

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

  it('waits for Postgres with backoff (/health 503 naming the database), then migrates and serves', async () => {
    // A database of its own, so the migrations visibly run once Postgres is reached.
    const database = `${new URL(testDatabaseUrl).pathname.slice(1)}_wait`;
    await admin(`drop database if exists ${database} with (force)`);
    await admin(`create database ${database}`);
    const dbPort = await freePort();
    const proxy = postgresProxy(dbPort);
    const dataDir = mkdtempSync(join(tmpdir(), 'centralita-dbwait-'));
    const port = await freePort();
    const service = runService({ ...secrets, ...labEnv(dataDir, port), DATABASE_URL: databaseUrl(database, dbPort), CENTRALITA_ARI_APP: 'centralita-dbwait-test' });
    try {
      const base = `http://127.0.0.1:${port}`;
      // Attempts at 0 s and 1 s fail; the second says 2 s to the next.
      await orExit(service, waitFor(() => waits(service.output()).length >= 2, 20_000, 'no two failed attempts logged'));
      const waiting = await fetch(`${base}/health`);
      assert.equal(waiting.status, 503);
      const body = (await waiting.json()) as Record<string, unknown>;
      assert.equal(body.db, 'down');
      assert.equal(body.ready, false);
      assert.match(String(body.starting), /^waiting for the database/);
      assert.equal((await fetch(`${base}/health/live`)).status, 200);
      assert.equal((await fetch(`${base}/api/v1/calls`)).status, 503);

      await proxy.open();
      const health = await orExit(service, waitFor(async () => {
        const res = await fetch(`${base}/health`).catch(() => undefined);
        return res?.status === 200 ? (await res.json()) as Record<string, unknown> : undefined;
      }, 45_000, 'the service was not ready after Postgres came'));
      assert.equal(health.db, 'up');
      assert.equal(health.ari, 'up');

      const lines = logLines(service.output());
      const failed = waits(service.output());
      // Failure n waits 1000 × 2^(n−1) ms: 1000, 2000, 4000, 8000.
      assert.deepEqual(failed.map((l) => l.retryInMs), [1000, 2000, 4000, 8000].slice(0, failed.length));
      assert.deepEqual(failed.map((l) => l.attempt), [1, 2, 3, 4].slice(0, failed.length));
      const reached = lines.findIndex((l) => l.msg === 'database reachable');
      assert.equal(lines[reached]?.attempt, failed.length + 1);
      const firstMigration = lines.findIndex((l) => l.msg === 'migration applied');
      assert.ok(firstMigration > reached, 'migrations ran after the database was reached');

      service.kill('SIGTERM');
      assert.equal(await service.exited, 0);
    } finally {
      service.kill('SIGKILL');
      await proxy.close();
      rmSync(dataDir, { recursive: true, force: true });
      await admin(`drop database if exists ${database} with (force)`);
    }
  });

  it('stops at once on SIGTERM while waiting for Postgres, with exit code 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'centralita-dbwait-'));
    const port = await freePort();
    const service = runService({ ...secrets, ...labEnv(dataDir, port), DATABASE_URL: databaseUrl('centralita', await freePort()), CENTRALITA_ARI_APP: 'centralita-dbwait-test' });
    try {
      // The second failure: its wait is 2 s.
      await orExit(service, waitFor(() => waits(service.output()).length >= 2, 20_000, 'no two failed attempts logged'));
      const signalledAt = Date.now();
      service.kill('SIGTERM');
      assert.equal(await service.exited, 0);
      const took = Date.now() - signalledAt;
      assert.ok(took < 1500, `exited ${took} ms after SIGTERM, not at the end of the 2 s wait`);
      assert.ok(logLines(service.output()).some((l) => l.msg === 'stopping'));
      assert.doesNotMatch(service.output(), /\n\s+at /, 'no stack trace');
    } finally {
      service.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('ends with exit code 78 when Postgres refuses what waiting cannot fix (no such database)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'centralita-dbwait-'));
    const url = new URL(testDatabaseUrl);
    const service = runService({ ...secrets, ...labEnv(dataDir, await freePort()), DATABASE_URL: databaseUrl('centralita_no_such_database', Number(url.port || 5432)) });
    try {
      assert.equal(await service.exited, 78, service.output());
      const fatal = logLines(service.output()).find((l) => l.msg?.startsWith('the database refused the connection'));
      assert.ok(fatal, service.output());
      assert.equal((fatal as { sqlState?: string }).sqlState, '3D000');
      assert.deepEqual(waits(service.output()), [], 'not waited for');
    } finally {
      service.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** The promise, or the service's exit with its log if it ends first. */
function orExit<T>(service: Running, promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    service.exited.then((code): never => { throw new Error(`the service exited (${code}):\n${service.output().slice(-3000)}`); }),
  ]).catch((err: Error) => { throw new Error(`${err.message}\n--- its log ---\n${service.output().slice(-3000)}`); });
}

/** The environment of a service on the lab, its folders under dataDir. */
function labEnv(dataDir: string, port: number): Record<string, string> {
  return {
    CENTRALITA_PORT: String(port),
    CENTRALITA_DATA_DIR: dataDir,
    CENTRALITA_RECORDINGS_DIR: join(dataDir, 'recordings'),
    CENTRALITA_RECORDINGS_MIN_FREE_MB: '0',
    CENTRALITA_PROMPTS_DIR: join(dataDir, 'prompts'),
    CENTRALITA_LOG_LEVEL: 'info',
    CENTRALITA_ARI_USER: 'centralita',
    CENTRALITA_AMI_USER: 'centralita',
  };
}

function databaseUrl(database: string, port: number): string {
  const url = new URL(testDatabaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.pathname = `/${database}`;
  return url.toString();
}

/** One statement on the test database's server (create or drop a database). */
async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

type LogLine = { msg?: string; attempt?: number; retryInMs?: number };

function logLines(output: string): LogLine[] {
  return output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

const waits = (output: string): LogLine[] => logLines(output).filter((l) => l.msg === 'database not reachable; waiting for it');

/** A port nothing listens on: one the kernel gave out, then let go. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Postgres on a port of its own: nothing listens there (connections are
 * refused, as before Postgres starts at boot) until open() forwards it to
 * the test database's server. The machine's Postgres is never stopped.
 */
function postgresProxy(port: number): { open(): Promise<void>; close(): Promise<void> } {
  const target = new URL(testDatabaseUrl);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    async open() {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => { client.destroy(); upstream.destroy(); });
          socket.on('close', () => { sockets.delete(socket); client.destroy(); upstream.destroy(); });
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      if (server) await new Promise((resolve) => server!.close(resolve));
    },
  };
}
