import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AriConnectionState } from '../../src/asterisk/ari.js';
import { backoffDelay, isUnreachable } from '../../src/core/db-wait.js';
import { createHttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';
import { healthRoutes } from '../../src/health/routes.js';
import { startStandIn } from '../../src/health/stand-in.js';

/**
 * /health as readiness (503 when the database or ARI is not there, or ARI
 * was taken by another instance; 200 otherwise, degraded or not) and
 * /health/live, on fake probes; the stand-in that answers them while the
 * service starts; the database wait's backoff.
 */

const build = { version: '9.8.7', commit: '0123456789abcdef0123456789abcdef01234567' };

async function healthWith(state: { db?: boolean; ari?: AriConnectionState; ami?: boolean; low?: boolean; diskError?: boolean }) {
  const app = await createHttpApp(createLogger('silent'));
  healthRoutes(app, {
    db: async () => state.db ?? true,
    ari: () => state.ari ?? 'up',
    ami: () => state.ami ?? true,
    pendingWrites: () => 3,
    recordingsDisk: async () => {
      if (state.diskError) throw new Error('ENOENT');
      return { freeBytes: 10, totalBytes: 100, low: state.low ?? false };
    },
    build,
  });
  const res = await app.inject({ method: 'GET', url: '/health' });
  await app.close();
  return { status: res.statusCode, body: res.json() };
}

describe('/health: readiness', () => {
  it('answers 200 ok when everything is up, with the version and commit', async () => {
    const { status, body } = await healthWith({});
    assert.equal(status, 200);
    assert.deepEqual(body, {
      status: 'ok', ready: true, db: 'up', ari: 'up', ami: 'up', pendingWrites: 3, role: 'single',
      recordings: { freeBytes: 10, totalBytes: 100, lowDisk: false }, version: '9.8.7', commit: build.commit,
    });
  });

  it('answers 503 with the same body when the database is down, ARI is down or ARI was taken over', async () => {
    for (const [state, field, value] of [
      [{ db: false }, 'db', 'down'],
      [{ ari: 'down' }, 'ari', 'down'],
      [{ ari: 'connecting' }, 'ari', 'down'],
      [{ ari: 'stopped' }, 'ari', 'down'],
      [{ ari: 'replaced' }, 'ari', 'replaced'],
    ] as const) {
      const { status, body } = await healthWith(state);
      assert.equal(status, 503, JSON.stringify(state));
      assert.equal(body.ready, false);
      assert.equal(body.status, 'degraded');
      assert.equal(body[field], value);
      assert.deepEqual(Object.keys(body).sort(), ['ami', 'ari', 'commit', 'db', 'pendingWrites', 'ready', 'recordings', 'role', 'status', 'version']);
    }
  });

  it('stays ready (200, degraded) with AMI down, a low disk or an unreadable recordings folder: calls are still handled', async () => {
    for (const state of [{ ami: false }, { low: true }, { diskError: true }]) {
      const { status, body } = await healthWith(state);
      assert.equal(status, 200, JSON.stringify(state));
      assert.equal(body.ready, true);
      assert.equal(body.status, 'degraded');
    }
    assert.equal((await healthWith({ diskError: true })).body.recordings, null);
  });

  it('/health/live answers 200 while the process runs', async () => {
    const app = await createHttpApp(createLogger('silent'));
    healthRoutes(app, { db: async () => false, ari: () => 'down', ami: () => false, pendingWrites: () => 0, build });
    const res = await app.inject({ method: 'GET', url: '/health/live' });
    await app.close();
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'alive');
    assert.ok(Number.isInteger(res.json().uptimeSeconds));
  });
});

describe('the start-up stand-in', () => {
  it('answers /health 503 naming the database, /health/live 200, anything else 503; then frees the port', async () => {
    const standIn = await startStandIn('127.0.0.1', 0, build);
    const port = standIn.port;
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.json() as Record<string, unknown>, retryAfter: res.headers.get('retry-after') };
    };
    try {
      let health = await get('/health');
      assert.equal(health.status, 503);
      assert.deepEqual(health.body, {
        status: 'degraded', ready: false, db: 'down', ari: 'down', ami: 'down', pendingWrites: 0,
        starting: 'waiting for the database', version: '9.8.7', commit: build.commit,
      });
      standIn.waitingForDatabase(3, 4000);
      health = await get('/health');
      assert.equal(health.body.starting, 'waiting for the database (attempt 3 failed; next in 4 s)');
      standIn.databaseUp();
      health = await get('/health');
      assert.equal(health.status, 503);
      assert.equal(health.body.db, 'up');
      assert.equal(health.body.starting, 'applying migrations and loading');
      assert.equal((await get('/health/live')).status, 200);
      const other = await get('/api/v1/calls');
      assert.equal(other.status, 503);
      assert.equal(other.retryAfter, '5');
      assert.deepEqual(other.body, { error: { code: 'starting', message: 'centralita is starting: applying migrations and loading' } });
    } finally {
      await standIn.close();
    }
    // The port is free again for the real server.
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once('error', reject).listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  it('speaks HTTPS with the real server\'s certificate when CENTRALITA_TLS_CERT is set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'centralita-standin-'));
    const certFile = join(dir, 'c.crt');
    const keyFile = join(dir, 'c.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=standin',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    const standIn = await startStandIn('127.0.0.1', 0, build, { certFile, keyFile });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        https.get(`https://127.0.0.1:${standIn.port}/health`, { ca: readFileSync(certFile), agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      assert.equal(status, 503);
    } finally {
      await standIn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails to start on a port already taken (a second copy stops there)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(startStandIn('127.0.0.1', port, build), /EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describe('waiting for the database', () => {
  it('backs off 1, 2, 4, 8, 16 s, then every 30 s', () => {
    // 1000 × 2^(n−1) for failure n, capped at 30 000: 1000, 2000, 4000, 8000, 16 000, 32 000 → 30 000.
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelay(n)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('waits out an absent or starting server, not a refusal it would repeat', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('connect ENOENT /run/postgresql/.s.PGSQL.5432'), { code: 'ENOENT' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('Connection terminated due to connection timeout'),
      new Error('Connection terminated unexpectedly'),
      new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], 'localhost'),
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
      new Error('something else: waited out, not a reason to stay down'),
    ]) assert.equal(isUnreachable(err), true, err.message);
    for (const err of [
      Object.assign(new Error('password authentication failed for user "centralita"'), { code: '28P01' }),
      Object.assign(new Error('database "centralita" does not exist'), { code: '3D000' }),
      Object.assign(new Error('role "centralita" does not exist'), { code: '28000' }),
      Object.assign(new Error('permission denied for database centralita'), { code: '42501' }),
    ]) assert.equal(isUnreachable(err), false, err.message);
  });
});
