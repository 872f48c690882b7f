import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { projectRoot } from '../../src/core/paths.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { adminToken } from '../support/harness.js';

describe('HTTP API foundation', () => {
  let t: FastApp;
  before(async () => {
    t = await startFastApp();
  });
  after(async () => t?.stop());

  it('reports health of the database, ARI, AMI and the recordings disk', async () => {
    const res = await t.api('/health', { token: null });
    assert.equal(res.status, 200);
    const { recordings, version, commit, ...rest } = res.body;
    assert.deepEqual(rest, { status: 'ok', ready: true, db: 'up', ari: 'up', ami: 'up', pendingWrites: 0, role: 'single' });
    assert.equal(version, JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version);
    // The checkout's commit (tests run from a git checkout).
    assert.equal(commit, execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim());
    assert.equal(recordings.lowDisk, false, 'the test config asks for no free space');
    assert.ok(recordings.freeBytes > 0 && recordings.freeBytes <= recordings.totalBytes, JSON.stringify(recordings));
  });

  it('serves the OpenAPI document with every /api/v1 route secured', async () => {
    const res = await t.api('/api/docs', { token: null });
    assert.equal(res.status, 200);
    assert.match(res.body.openapi, /^3\./);
    const paths = Object.entries(res.body.paths as Record<string, Record<string, { security?: unknown[] }>>);
    const v1 = paths.filter(([path]) => path.startsWith('/api/v1'));
    assert.ok(v1.length >= 4);
    for (const [path, methods] of v1) {
      // Only the sign-in is open to anyone, and says so.
      for (const [method, op] of Object.entries(methods)) assert.ok(op.security?.length || path === '/api/v1/sign-in', `${method} ${path} has no security`);
    }
  });

  it('answers 401 without a token or with an unknown one', async () => {
    const none = await t.api('/api/v1/calls', { token: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'unauthorized');
    const unknown = await t.api('/api/v1/calls', { token: 'ctl_not-a-real-token' });
    assert.equal(unknown.status, 401);
  });

  it('creates tokens stored only as hashes, and enforces roles with 403', async () => {
    const created = await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'Ana (supervisor)', role: 'supervisor' } });
    assert.equal(created.status, 201);
    assert.match(created.body.token, /^ctl_/);
    const rows = await sql<{ token_hash: string }>`select token_hash from api_tokens where id = ${created.body.id}`.execute(t.app.database.db);
    assert.equal(rows.rows.length, 1);
    assert.notEqual(rows.rows[0]!.token_hash, created.body.token);
    assert.ok(!JSON.stringify(rows.rows).includes(created.body.token));

    const supervisor = created.body.token as string;
    assert.equal((await t.api('/api/v1/calls', { token: supervisor })).status, 200);
    const forbidden = await t.api('/api/v1/tokens', { method: 'POST', token: supervisor, json: { name: 'x', role: 'admin' } });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, 'forbidden');
    assert.match(forbidden.body.error.message, /supervisor/);

    const noSuchAgent = await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'Luis', role: 'agent', agentId: 'a-1001' } });
    assert.equal(noSuchAgent.status, 400);
    assert.match(noSuchAgent.body.error.message, /body\/agentId: no active agent/);
    const luis = await t.api('/api/v1/agents', { method: 'POST', json: { number: '1', name: 'Luis', pin: '1234' } });
    const agent = await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'Luis', role: 'agent', agentId: luis.body.id } });
    assert.equal(agent.status, 201);
    assert.equal((await t.api('/api/v1/calls', { token: agent.body.token })).status, 403);

    const revoked = await t.api(`/api/v1/tokens/${created.body.id}`, { method: 'DELETE' });
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revokedAt);
    assert.equal((await t.api('/api/v1/calls', { token: supervisor })).status, 401);
  });

  it('answers 400 naming the field for a bad body, and changes nothing', async () => {
    const before = (await t.api('/api/v1/tokens')).body.length;
    const badRole = await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'x', role: 'boss' } });
    assert.equal(badRole.status, 400);
    assert.equal(badRole.body.error.code, 'validation_failed');
    assert.equal(badRole.body.error.message, 'body/role must be one of admin, supervisor, agent');
    const missing = await t.api('/api/v1/tokens', { method: 'POST', json: { role: 'admin' } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /body\/name is required/);
    const extra = await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'x', role: 'admin', rol: 1 } });
    assert.match(extra.body.error.message, /body\/rol is not allowed/);
    const agentWithout = await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'x', role: 'agent' } });
    assert.equal(agentWithout.status, 400);
    assert.match(agentWithout.body.error.message, /agentId/);
    const notJson = await t.api('/api/v1/tokens', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.equal((await t.api('/api/v1/tokens')).body.length, before);
  });

  it('answers 404 for unknown ids and routes, 400 for malformed ids', async () => {
    const unknown = await t.api('/api/v1/calls/00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
    assert.equal((await t.api('/api/v1/tokens/00000000-0000-4000-8000-000000000000', { method: 'DELETE' })).status, 404);
    assert.equal((await t.api('/api/v1/calls/not-a-uuid')).status, 400);
    const route = await t.api('/api/v1/nothing-here', { token: null });
    assert.equal(route.status, 404);
    assert.equal(route.body.error.code, 'not_found');
  });

  it('takes JSON bodies as sent, without converting types', async () => {
    const res = await t.api('/api/v1/agents', { method: 'POST', json: { number: '77', name: 'x', pin: 1234 } });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /body\/pin must be string/);
    const list = await t.api('/api/v1/agents', { method: 'POST', json: { number: '77', name: ['x'], pin: '1234' } });
    assert.equal(list.status, 400);
  });

  it('survives clients that reset the WebSocket upgrade, with or without a token', async () => {
    const { connect } = await import('node:net');
    const port = new URL(t.baseUrl).port;
    for (const headers of ['', 'Authorization: Bearer ctl_unknown\r\n', `Authorization: Bearer ${adminToken}\r\n`]) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`);
          socket.resetAndDestroy();
          resolve();
        });
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await t.api('/health', { token: null })).status, 200);
  });

  it('validates query strings', async () => {
    const res = await t.api('/api/v1/calls?limit=5000');
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /querystring\/limit/);
  });
});
