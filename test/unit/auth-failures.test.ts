import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AuthFailures, failureKey } from '../../src/auth/failures.js';
import { installAuth } from '../../src/auth/http.js';
import { AuthService, hashToken } from '../../src/auth/service.js';
import type { TokenStore } from '../../src/auth/store.js';
import { EventBus } from '../../src/core/events.js';
import { createHttpApp, type HttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';
import { installLiveFeed } from '../../src/live/feed.js';

const adminToken = 'unit-admin-token-0123456789abcdef0123';
/** An offboarded user's token: it exists (revoked), so refusing it is no guess. */
const revokedToken = 'ctl_revoked-token-of-an-offboarded-user';
const noTokens = {
  findActiveByHash: async () => undefined, get: async () => undefined,
  knownHash: async (hash: string) => hash === hashToken(revokedToken),
} as unknown as TokenStore;

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger('info', { write: (line: string) => { lines.push(line); } }) };
}

describe('failed bearer-token authentications', () => {
  it('lock an address after the limit within a minute, for a minute, logged once', () => {
    let now = 0;
    const { lines, logger } = capture();
    const failures = new AuthFailures(logger, { limit: 3, now: () => now });
    failures.fail('10.0.0.1');
    now += 61_000;
    failures.fail('10.0.0.1');
    failures.fail('10.0.0.1');
    assert.equal(failures.retryAfter('10.0.0.1'), 0, 'a failure older than a minute does not count');
    failures.fail('10.0.0.1');
    assert.equal(failures.retryAfter('10.0.0.1'), 60);
    assert.equal(failures.retryAfter('10.0.0.2'), 0, 'per address');
    now += 59_500;
    assert.equal(failures.retryAfter('10.0.0.1'), 1, 'retry-after is rounded up');
    now += 501;
    assert.equal(failures.retryAfter('10.0.0.1'), 0);
    assert.equal(lines.filter((l) => l.includes('address locked')).length, 1);
  });

  it('key an IPv6 client by its /64, and an IPv4-mapped address as IPv4', () => {
    assert.equal(failureKey('192.0.2.7'), '192.0.2.7');
    assert.equal(failureKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(failureKey('::ffff:c000:207'), '192.0.2.7');
    assert.equal(failureKey('2001:db8:1:2::a'), '2001:db8:1:2::/64');
    assert.equal(failureKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(failureKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(failureKey('::1'), '0:0:0:0::/64');
    const { logger } = capture();
    const failures = new AuthFailures(logger, { limit: 10, now: () => 0 });
    for (let i = 0; i < 10; i++) failures.fail(`2001:db8:1:2::${(i + 1).toString(16)}`);
    assert.equal(failures.retryAfter('2001:db8:1:2:dead:beef:0:1'), 60, 'one address per guess in the same /64 is still one client');
    assert.equal(failures.retryAfter('2001:db8:1:3::1'), 0, 'the next /64 is another client');
    for (let i = 0; i < 10; i++) failures.fail('::ffff:198.51.100.1');
    assert.equal(failures.retryAfter('198.51.100.1'), 60, 'mapped and plain IPv4 share a budget');
  });

  describe('over HTTP and the events socket', () => {
    let app: HttpApp;
    let base: string;
    const { lines, logger } = capture();
    before(async () => {
      app = await createHttpApp(logger);
      const auth = new AuthService(noTokens, adminToken, new EventBus(), async () => undefined, logger, 10);
      installAuth(app, auth);
      installLiveFeed(app, new EventBus(), auth);
      app.get('/api/v1/thing', { config: { roles: ['admin'] } }, async () => ({ ok: true }));
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    });
    after(() => app.close());

    const get = (token: string, remoteAddress: string) =>
      app.inject({ url: '/api/v1/thing', remoteAddress, headers: { authorization: `Bearer ${token}` } });
    const feed = (token: string) => new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events?token=${token}`);
      socket.once('open', () => { socket.terminate(); resolve(101); });
      socket.once('unexpected-response', (_req, res) => { resolve(res.statusCode!); socket.terminate(); });
      socket.once('error', reject);
    });

    it('answer 429 with retry-after after 10 failures from one address, to a right token too; others are not slowed', async () => {
      for (let i = 0; i < 10; i++) assert.equal((await get(`ctl_guess-${i}`, '10.9.9.9')).statusCode, 401);
      const locked = await get('ctl_guess-11', '10.9.9.9');
      assert.equal(locked.statusCode, 429);
      assert.equal(locked.headers['retry-after'], '60');
      assert.equal(locked.json().error.code, 'too_many_requests');
      assert.equal((await get(adminToken, '10.9.9.9')).statusCode, 429, 'a locked address is refused even with a right token');
      assert.equal((await get(adminToken, '10.9.9.8')).statusCode, 200, 'another address is not affected');
      for (let i = 0; i < 20; i++) assert.equal((await get(adminToken, '10.9.9.7')).statusCode, 200, 'successful requests are never limited');
      assert.equal((await app.inject({ url: '/api/v1/thing', remoteAddress: '10.9.9.9' })).statusCode, 401, 'no token: not a guess, a plain 401');
      assert.equal(lines.filter((l) => l.includes('address locked')).length, 1, 'logged once per lockout, not per request');
      assert.ok(lines.every((l) => !l.includes('ctl_guess')), 'the guesses are not logged');
    });

    it('do not count a known but revoked token: an offboarded user\'s open tab does not lock out the address', async () => {
      for (let i = 0; i < 15; i++) assert.equal((await get(revokedToken, '10.7.7.7')).statusCode, 401);
      assert.equal((await get(adminToken, '10.7.7.7')).statusCode, 200, 'colleagues on that address still sign in');
      for (let i = 0; i < 11; i++) assert.equal(await feed(revokedToken), 401);
      assert.equal(await feed(adminToken), 101, 'nor on the events socket');
      for (let i = 0; i < 10; i++) assert.equal((await get(`ctl_guess-${i}`, '10.7.7.7')).statusCode, 401);
      assert.equal((await get(adminToken, '10.7.7.7')).statusCode, 429, 'unknown tokens still count');
    });

    it('count failures on the events socket, and lock it too', async () => {
      assert.equal(await feed(adminToken), 101);
      for (let i = 0; i < 10; i++) assert.equal(await feed(`ctl_guess-${i}`), 401);
      assert.equal(await feed(adminToken), 429);
      assert.equal((await get(adminToken, '127.0.0.1')).statusCode, 429, 'one budget for REST and the socket');
    });
  });

  describe('behind a trusted reverse proxy (CENTRALITA_TRUST_PROXY)', () => {
    let app: HttpApp;
    let base: string;
    before(async () => {
      const { logger } = capture();
      app = await createHttpApp(logger, { trustProxy: ['127.0.0.1'] });
      const auth = new AuthService(noTokens, adminToken, new EventBus(), async () => undefined, logger, 10);
      installAuth(app, auth);
      installLiveFeed(app, new EventBus(), auth);
      app.get('/api/v1/thing', { config: { roles: ['admin'] } }, async () => ({ ok: true }));
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    });
    after(() => app.close());

    const get = (token: string, remoteAddress: string, client: string) =>
      app.inject({ url: '/api/v1/thing', remoteAddress, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
    const feed = (token: string, client: string) => new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events?token=${token}`, { headers: { 'x-forwarded-for': client } });
      socket.once('open', () => { socket.terminate(); resolve(101); });
      socket.once('unexpected-response', (_req, res) => { resolve(res.statusCode!); socket.terminate(); });
      socket.once('error', reject);
    });

    it('count failures per client the proxy names, not per proxy', async () => {
      for (let i = 0; i < 10; i++) assert.equal((await get(`ctl_guess-${i}`, '127.0.0.1', '203.0.113.5')).statusCode, 401);
      assert.equal((await get(adminToken, '127.0.0.1', '203.0.113.5')).statusCode, 429, 'the guesser is locked');
      assert.equal((await get(adminToken, '127.0.0.1', '203.0.113.6')).statusCode, 200, 'another client behind the same proxy is not');
      assert.equal(await feed(adminToken, '203.0.113.5'), 429, 'the events socket sees the same client');
      assert.equal(await feed(adminToken, '203.0.113.6'), 101);
    });

    it('ignore X-Forwarded-For from a peer that is not the trusted proxy', async () => {
      for (let i = 0; i < 10; i++) assert.equal((await get(`ctl_guess-${i}`, '10.1.1.1', `198.51.100.${i}`)).statusCode, 401);
      assert.equal((await get(adminToken, '10.1.1.1', '198.51.100.99')).statusCode, 429, 'a forged header does not spread the guesses');
    });
  });
});
