import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { installAuth } from '../../src/auth/http.js';
import { AuthService, hashToken } from '../../src/auth/service.js';
import type { TokenStore } from '../../src/auth/store.js';
import { EventBus } from '../../src/core/events.js';
import { createHttpApp, type HttpApp } from '../../src/core/http.js';
import { securityRoutes } from '../../src/security/routes.js';
import { SecurityService } from '../../src/security/service.js';
import { memoryStore } from '../support/security-memory.js';

const adminToken = 'admin-token-for-the-route-tests-0123456789';
const tokens = {
  admin2: { id: '11111111-1111-4111-8111-111111111111', role: 'admin' as const },
  supervisor: { id: '22222222-2222-4222-8222-222222222222', role: 'supervisor' as const },
  agent: { id: '33333333-3333-4333-8333-333333333333', role: 'agent' as const },
};

describe('PIN lockout API (/api/v1/security/lockouts)', () => {
  let app: HttpApp;
  let security: SecurityService;
  const logLines: Array<Record<string, unknown>> = [];

  before(async () => {
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { logLines.push(JSON.parse(String(chunk))); done(); } }));
    app = await createHttpApp(pino({ level: 'silent' }));
    const tokenStore = {
      findActiveByHash: async (hash: string) => {
        const found = Object.entries(tokens).find(([name]) => hashToken(name) === hash)?.[1];
        return found && { ...found, agent_id: null, name: 'x', token_hash: hash, created_at: new Date(), revoked_at: null };
      },
    } as unknown as TokenStore;
    installAuth(app, new AuthService(tokenStore, adminToken, new EventBus(), async () => undefined, pino({ level: 'silent' })));
    const { store, writes } = memoryStore();
    security = new SecurityService(store, writes, logger);
    securityRoutes(app, security);
    await app.ready();
  });
  after(() => app.close());

  const call = async (method: 'GET' | 'DELETE', url: string, token: string | null = adminToken) => {
    const res = await app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.statusCode, body: res.json() };
  };

  const lockNumber = (number: string) => {
    for (let i = 0; i < 5; i += 1) security.loginFailed({ extension: `10${i}`, number });
  };

  it('lists the locks in force for admins only (401 without a token, 403 for supervisors and agents)', async () => {
    lockNumber('301');
    assert.equal((await call('GET', '/api/v1/security/lockouts', null)).status, 401);
    const refused = await call('GET', '/api/v1/security/lockouts', 'supervisor');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'forbidden');
    assert.equal((await call('GET', '/api/v1/security/lockouts', 'agent')).status, 403);
    const listed = await call('GET', '/api/v1/security/lockouts');
    assert.equal(listed.status, 200);
    const lock = listed.body.find((l: { subject: string }) => l.subject === '301');
    assert.ok(lock, JSON.stringify(listed.body));
    assert.deepEqual(Object.keys(lock).sort(), ['failures', 'id', 'kind', 'lockedAt', 'subject', 'until']);
    assert.deepEqual([lock.kind, lock.failures], ['number', 5]);
    assert.equal(Date.parse(lock.until) - Date.parse(lock.lockedAt), 15 * 60_000);
    assert.equal((await call('GET', '/api/v1/security/lockouts', 'admin2')).status, 200);
    const phones = await call('GET', '/api/v1/security/lockouts?kind=phone');
    assert.deepEqual(phones.body, []);
  });

  it('refuses bad parameters with 400 naming the field', async () => {
    const badKind = await call('GET', '/api/v1/security/lockouts?kind=agent');
    assert.equal(badKind.status, 400);
    assert.match(badKind.body.error.message, /querystring\/kind must be one of number, phone/);
    const extra = await call('GET', '/api/v1/security/lockouts?subject=301');
    assert.equal(extra.status, 400);
    assert.match(extra.body.error.message, /querystring\/subject is not allowed/);
    const badId = await call('DELETE', '/api/v1/security/lockouts/not-a-uuid');
    assert.equal(badId.status, 400);
    assert.match(badId.body.error.message, /params\/id must match format "uuid"/);
  });

  it('clears a lock (admin only), logging who did it; 404 for an unknown or cleared one', async () => {
    lockNumber('302');
    const lock = (await call('GET', '/api/v1/security/lockouts')).body.find((l: { subject: string }) => l.subject === '302');
    assert.equal((await call('DELETE', `/api/v1/security/lockouts/${lock.id}`, null)).status, 401);
    assert.equal((await call('DELETE', `/api/v1/security/lockouts/${lock.id}`, 'supervisor')).status, 403);
    assert.ok(security.numberLock('302'), 'a refused request cleared nothing');
    const cleared = await call('DELETE', `/api/v1/security/lockouts/${lock.id}`, 'admin2');
    assert.equal(cleared.status, 200);
    assert.deepEqual(cleared.body, lock);
    assert.equal(security.numberLock('302'), undefined);
    assert.ok(!(await call('GET', '/api/v1/security/lockouts')).body.some((l: { id: string }) => l.id === lock.id));
    const line = logLines.find((l) => l.lockId === lock.id && /cleared/.test(String(l.msg)));
    assert.deepEqual(line?.clearedBy, { tokenId: tokens.admin2.id, role: 'admin' });
    const again = await call('DELETE', `/api/v1/security/lockouts/${lock.id}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'not_found');
    assert.equal((await call('DELETE', '/api/v1/security/lockouts/00000000-0000-4000-8000-000000000000')).status, 404);
  });

  it('logs each failure and each lock, never a PIN', () => {
    const failures = logLines.filter((l) => /wrong agent number or PIN/.test(String(l.msg)));
    const locks = logLines.filter((l) => /locked out/.test(String(l.msg)));
    assert.equal(failures.length, 10);
    assert.deepEqual(locks.map((l) => [l.kind, l.subject]), [['number', '301'], ['number', '302']]);
    assert.ok(logLines.every((l) => !('pin' in l)));
  });
});
