import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:net';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { FeedClient } from '../support/live-feed.js';
import { waitFor } from '../support/harness.js';

/**
 * People sign in to the pages with a name and a password (issue 21, point
 * 1): users an admin keeps, sessions in an HttpOnly SameSite=Strict cookie,
 * a CSRF token on every change, idle and absolute expiry, sign-out, an admin
 * ending sessions, resetting and disabling, the phone PIN's lockout rules
 * for wrong passwords, and offboarding ending sessions at once.
 */
describe('sign-in with a name and a password', () => {
  let t: FastApp;
  let agentId: string;
  let supervisorAgentId: string;
  const feeds: FeedClient[] = [];

  before(async () => {
    // Wrong passwords are tried often here: the address limit is not the subject.
    t = await startFastApp({ authFailuresPerMinute: 1000 });
    const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: '4101', name: 'Ana', pin: '1234' } });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    agentId = agent.body.id;
    const sup = await t.api('/api/v1/agents', { method: 'POST', json: { number: '4102', name: 'Sol', pin: '1234', isSupervisor: true } });
    supervisorAgentId = sup.body.id;
  });
  after(async () => {
    for (const feed of feeds) feed.close();
    await t?.stop();
  });

  /** A request with the session cookie (and the CSRF token when given) instead of a bearer token. */
  const withCookie = (cookie: string, path: string, init: { method?: string; json?: unknown; csrf?: string; origin?: string } = {}) =>
    t.api(path, {
      token: null, method: init.method ?? 'GET', ...(init.json !== undefined ? { json: init.json } : {}),
      headers: { cookie, ...(init.csrf ? { 'x-csrf-token': init.csrf } : {}), ...(init.origin ? { origin: init.origin } : {}) },
    });
  const signIn = async (username: string, password: string) => {
    const res = await t.app.http.inject({ method: 'POST', url: '/api/v1/sign-in', payload: { username, password } });
    const setCookie = String(res.headers['set-cookie'] ?? '');
    return { status: res.statusCode, body: JSON.parse(res.body), setCookie, cookie: setCookie.split(';')[0]!, retryAfter: res.headers['retry-after'] };
  };
  const userCount = async () => (await sql<{ n: number }>`select count(*)::int as n from users`.execute(t.app.database.db)).rows[0]!.n;

  it('an admin adds users; bad ones are refused naming the field, and nothing is stored', async () => {
    const before = await userCount();
    const refused = [
      [{ username: 'x', password: 'short', role: 'admin' }, 'password'],
      [{ username: 'bad name', password: 'long enough 1', role: 'admin' }, 'username'],
      [{ username: 'ana', password: 'long enough 1', role: 'agent' }, 'agentId'],
      [{ username: 'sol', password: 'long enough 1', role: 'supervisor', agentId }, 'agentId'],
      [{ username: 'root', password: 'long enough 1', role: 'admin', agentId }, 'agentId'],
      [{ username: 'ana', password: 'long enough 1', role: 'agent', agentId, extra: 1 }, 'extra'],
    ] as const;
    for (const [json, field] of refused) {
      const res = await t.api('/api/v1/users', { method: 'POST', json });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.error.message, new RegExp(field), `${JSON.stringify(json)}: ${res.body.error.message}`);
    }
    assert.equal(await userCount(), before);
    for (const json of [
      { username: 'root', password: 'root password 1', role: 'admin' },
      { username: 'ana', password: 'ana password 1', role: 'agent', agentId },
      { username: 'Sol', password: 'sol password 1', role: 'supervisor', agentId: supervisorAgentId },
    ]) {
      const res = await t.api('/api/v1/users', { method: 'POST', json });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.passwordHash, undefined);
      assert.doesNotMatch(JSON.stringify(res.body), /password 1|scrypt/);
    }
    assert.equal((await t.api('/api/v1/users', { method: 'POST', json: { username: 'SOL', password: 'another one 1', role: 'admin' } })).status, 409, 'names are unique in any case');
    assert.equal((await t.api('/api/v1/users', { method: 'POST', json: { username: 'ana2', password: 'another one 1', role: 'agent', agentId } })).status, 409, 'one user per agent');
    const stored = (await sql<{ password_hash: string }>`select password_hash from users`.execute(t.app.database.db)).rows;
    assert.ok(stored.every((r) => r.password_hash.startsWith('scrypt$') && !r.password_hash.includes('password')));
    const noToken = await t.api('/api/v1/users', { token: null });
    assert.equal(noToken.status, 401);
  });

  it('signs in with an HttpOnly SameSite=Strict cookie; /me gives the CSRF token; a change needs it, from this site', async () => {
    assert.equal((await signIn('root', 'wrong password')).status, 401);
    assert.equal((await signIn('nobody', 'root password 1')).status, 401);
    const ok = await signIn('ROOT', 'root password 1');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match(ok.setCookie, /^centralita_session=cts_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.equal(ok.body.user.role, 'admin');
    const me = await withCookie(ok.cookie, '/api/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.user.username, 'root');
    assert.equal(me.body.csrfToken, ok.body.csrfToken);

    const body = { name: 'csrf-probe', role: 'admin' };
    const noCsrf = await withCookie(ok.cookie, '/api/v1/tokens', { method: 'POST', json: body });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 'csrf_failed');
    const wrongCsrf = await withCookie(ok.cookie, '/api/v1/tokens', { method: 'POST', json: body, csrf: 'x'.repeat(32) });
    assert.equal(wrongCsrf.status, 403);
    const otherSite = await withCookie(ok.cookie, '/api/v1/tokens', { method: 'POST', json: body, csrf: ok.body.csrfToken, origin: 'https://evil.example' });
    assert.equal(otherSite.status, 403);
    const tokens = await t.api('/api/v1/tokens');
    assert.ok(!tokens.body.some((tk: { name: string }) => tk.name === 'csrf-probe'), 'a refused change changed nothing');
    const made = await withCookie(ok.cookie, '/api/v1/tokens', { method: 'POST', json: body, csrf: ok.body.csrfToken });
    assert.equal(made.status, 201, JSON.stringify(made.body));
  });

  it('an agent signs in with the agent number and reaches only what agents may', async () => {
    const ok = await signIn('4101', 'ana password 1');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.user.role, 'agent');
    assert.equal(ok.body.user.agentId, agentId);
    assert.equal((await withCookie(ok.cookie, '/api/v1/users')).status, 403);
    assert.equal((await withCookie(ok.cookie, `/api/v1/agents/${agentId}/state`)).status, 200);
    const sup = await signIn('sol', 'sol password 1');
    assert.equal(sup.status, 200);
    assert.equal((await withCookie(sup.cookie, '/api/v1/users', { method: 'POST', csrf: sup.body.csrfToken, json: { username: 'x1', password: 'long enough 1', role: 'admin' } })).status, 403);
  });

  it('locks a name after 5 wrong passwords like the phone PIN: 429 even with the right one, listed, cleared by an admin', async () => {
    for (let i = 0; i < 5; i += 1) assert.equal((await signIn('Ana', `wrong ${i}`)).status, 401);
    const locked = await signIn('ana', 'ana password 1');
    assert.equal(locked.status, 429, JSON.stringify(locked.body));
    assert.equal(locked.body.error.code, 'locked_out');
    assert.ok(Number(locked.retryAfter) > 800, `Retry-After ${String(locked.retryAfter)}`);
    const locks = await t.api('/api/v1/security/lockouts?kind=user');
    assert.deepEqual(locks.body.map((l: { subject: string; failures: number }) => [l.subject, l.failures]), [['ana', 5]]);
    await t.app.writes.drain();
    const rows = (await sql<{ n: number }>`select count(*)::int as n from security_lockouts where kind = 'user' and subject = 'ana'`.execute(t.app.database.db)).rows[0]!.n;
    assert.equal(rows, 1, 'the lock is stored (a restart keeps it)');
    assert.equal((await t.api(`/api/v1/security/lockouts/${locks.body[0].id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await signIn('ana', 'ana password 1')).status, 200);
  });

  it('guesses sent at once meet the lock as a series would; the agent number and the name are one account; a wrong current password counts', async () => {
    // Seven wrong passwords at once: five are checked and refused, then the account is locked.
    const burst = await Promise.all(Array.from({ length: 7 }, (_, i) => signIn(i % 2 ? 'Sol' : 'sol', `wrong ${i}`)));
    assert.deepEqual(burst.map((r) => r.status).sort(), [401, 401, 401, 401, 401, 429, 429]);
    assert.equal((await signIn('sol', 'sol password 1')).status, 429, 'locked: the right password too');
    const lock = (await t.api('/api/v1/security/lockouts?kind=user')).body.find((l: { subject: string }) => l.subject === 'sol');
    assert.equal((await t.api(`/api/v1/security/lockouts/${lock.id}`, { method: 'DELETE' })).status, 200);

    // The agent's number and the user's name count for the same account.
    for (const name of ['ana', '4101', 'ANA', '4101', 'ana']) assert.equal((await signIn(name, 'not it')).status, 401);
    assert.equal((await signIn('4101', 'ana password 1')).status, 429);
    const anaLock = (await t.api('/api/v1/security/lockouts?kind=user')).body.find((l: { subject: string }) => l.subject === 'ana');
    assert.equal((await t.api(`/api/v1/security/lockouts/${anaLock.id}`, { method: 'DELETE' })).status, 200);

    // An open session is no way to guess the password: a wrong current password counts too.
    const session = await signIn('ana', 'ana password 1');
    for (let i = 0; i < 5; i += 1) {
      const res = await withCookie(session.cookie, '/api/v1/me/password', { method: 'PUT', csrf: session.body.csrfToken, json: { current: `guess ${i}`, password: 'a new password 1' } });
      assert.equal(res.status, 400, JSON.stringify(res.body));
    }
    const locked = await withCookie(session.cookie, '/api/v1/me/password', { method: 'PUT', csrf: session.body.csrfToken, json: { current: 'ana password 1', password: 'a new password 1' } });
    assert.equal(locked.status, 429);
    const again = (await t.api('/api/v1/security/lockouts?kind=user')).body.find((l: { subject: string }) => l.subject === 'ana');
    assert.equal((await t.api(`/api/v1/security/lockouts/${again.id}`, { method: 'DELETE' })).status, 200);
    // Unknown names lock nothing and are not stored (people type passwords there).
    assert.equal((await signIn('my-secret-password', 'x')).status, 401);
    await t.app.writes.drain();
    const stored = (await sql<{ n: number }>`select count(*)::int as n from security_login_failures where username like '%secret%'`.execute(t.app.database.db)).rows[0]!.n;
    assert.equal(stored, 0);
  });

  it('a malformed upgrade request to the events socket is refused with 400, and the service goes on', async () => {
    const port = Number(new URL(t.baseUrl).port);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('GET // HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk) => { text += String(chunk); });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.equal((await t.api('/api/v1/me')).status, 200, 'still serving');
  });

  it('sessions: listed for an admin, ended by an admin, by sign-out, by a password reset, by disabling; idle and absolute expiry', async () => {
    const a = await signIn('ana', 'ana password 1');
    const list = await t.api('/api/v1/sessions');
    assert.equal(list.status, 200);
    const mine = list.body.find((s: { username: string }) => s.username === 'ana');
    assert.ok(mine, JSON.stringify(list.body));
    const feed = await FeedClient.connectWith(t.baseUrl, { cookie: a.cookie });
    feeds.push(feed);
    assert.equal((await FeedClient.connectWith(t.baseUrl, { cookie: a.cookie, origin: 'https://evil.example' }).then(() => 'open', (e: Error) => e.message)), 'refused with 403');

    // An admin ends every session of ana's: the cookie stops working and the feed closes.
    const open = (await t.api('/api/v1/sessions')).body.filter((s: { username: string }) => s.username === 'ana');
    for (const s of open) assert.equal((await t.api(`/api/v1/sessions/${s.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await withCookie(a.cookie, '/api/v1/me')).status, 401);
    await waitFor(() => feed.closedWith === 4001, 2000, 'the feed did not close');
    assert.equal((await t.api(`/api/v1/sessions/${mine.id}`, { method: 'DELETE' })).status, 404, 'ended already');

    const b = await signIn('ana', 'ana password 1');
    const out = await withCookie(b.cookie, '/api/v1/sign-out', { method: 'POST', csrf: b.body.csrfToken });
    assert.equal(out.status, 204);
    assert.equal((await withCookie(b.cookie, '/api/v1/me')).status, 401);

    const c = await signIn('ana', 'ana password 1');
    const users = (await t.api('/api/v1/users')).body as { id: string; username: string }[];
    const ana = users.find((u) => u.username === 'ana')!;
    assert.equal((await t.api(`/api/v1/users/${ana.id}/password`, { method: 'PUT', json: { password: 'short' } })).status, 400);
    assert.equal((await t.api(`/api/v1/users/${ana.id}/password`, { method: 'PUT', json: { password: 'ana password 2' } })).status, 200);
    assert.equal((await withCookie(c.cookie, '/api/v1/me')).status, 401, 'a reset ends the sessions');
    assert.equal((await signIn('ana', 'ana password 1')).status, 401);

    const d = await signIn('ana', 'ana password 2');
    assert.equal((await t.api(`/api/v1/users/${ana.id}`, { method: 'PATCH', json: { active: false } })).status, 200);
    assert.equal((await withCookie(d.cookie, '/api/v1/me')).status, 401, 'disabling ends the sessions');
    assert.equal((await signIn('ana', 'ana password 2')).status, 401, 'a disabled user cannot sign in');
    assert.equal((await t.api(`/api/v1/users/${ana.id}`, { method: 'PATCH', json: { active: true } })).status, 200);

    const db = t.app.database.db;
    const idle = await signIn('ana', 'ana password 2');
    await sql`update user_sessions set last_seen_at = now() - interval '31 minutes' where ended_at is null`.execute(db);
    assert.equal((await withCookie(idle.cookie, '/api/v1/me')).status, 401, 'idle for longer than 30 minutes');
    const old = await signIn('ana', 'ana password 2');
    await sql`update user_sessions set expires_at = now() - interval '1 second' where ended_at is null`.execute(db);
    assert.equal((await withCookie(old.cookie, '/api/v1/me')).status, 401, 'past its absolute expiry');
    // A page left open on the live feed is closed by the sweep at its idle expiry, not at its next use.
    const left = await signIn('ana', 'ana password 2');
    const leftFeed = await FeedClient.connectWith(t.baseUrl, { cookie: left.cookie });
    feeds.push(leftFeed);
    const leftId = (await withCookie(left.cookie, '/api/v1/me')).body.sessionId as string;
    await t.app.users.sweep();
    assert.equal(leftFeed.closedWith, undefined, 'a session in use is kept');
    assert.equal((await withCookie(left.cookie, '/api/v1/me')).status, 200);
    assert.ok(await t.app.users.sweep(Date.now() + 31 * 60_000) >= 1);
    await waitFor(() => leftFeed.closedWith === 4001, 2000, 'the idle session\'s feed did not close');
    assert.equal((await t.api('/api/v1/sessions')).body.some((s: { id: string }) => s.id === leftId), false);
    const reasons = (await sql<{ end_reason: string }>`select end_reason from user_sessions where end_reason is not null order by ended_at`.execute(db)).rows.map((r) => r.end_reason);
    for (const reason of ['ended_by_admin', 'signed_out', 'password_changed', 'user_disabled', 'idle', 'expired']) assert.ok(reasons.includes(reason), `${reason} in ${reasons.join(', ')}`);
  });

  it('offboarding: removing the supervisor or deleting the agent ends their sessions at once', async () => {
    const ana = await signIn('ana', 'ana password 2');
    const sol = await signIn('sol', 'sol password 1');
    const removedAt = new Date();
    assert.equal((await t.api(`/api/v1/agents/${supervisorAgentId}`, { method: 'PATCH', json: { isSupervisor: false } })).status, 200);
    assert.equal((await withCookie(sol.cookie, '/api/v1/me')).status, 401);
    assert.equal((await signIn('sol', 'sol password 1')).status, 401, 'no longer a supervisor: no sign-in as one');
    assert.equal((await withCookie(ana.cookie, '/api/v1/me')).status, 200);
    const sols = (await sql<{ end_reason: string | null }>`select s.end_reason from user_sessions s join users u on u.id = s.user_id where u.username = 'Sol' and (s.ended_at is null or s.ended_at >= ${removedAt})`.execute(t.app.database.db)).rows;
    assert.deepEqual([...new Set(sols.map((r) => r.end_reason))], ['supervisor_removed'], 'every session of the supervisor ended');
    // An agent with no history is deleted (with history, deactivated: test/http/offboarding.test.ts): the user goes with them.
    const feed = await FeedClient.connectWith(t.baseUrl, { cookie: ana.cookie });
    feeds.push(feed);
    assert.equal((await t.api(`/api/v1/agents/${agentId}`, { method: 'DELETE' })).status, 200);
    assert.equal((await withCookie(ana.cookie, '/api/v1/me')).status, 401);
    await waitFor(() => feed.closedWith === 4001, 2000, 'the feed did not close');
    assert.ok(!(await t.api('/api/v1/users')).body.some((u: { username: string }) => u.username === 'ana'));
  });
});
