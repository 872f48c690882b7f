import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFastApp, type FastApp } from '../support/fast-harness.js';

/**
 * The flow editor's two helpers (issue 21): the problems of a document with
 * the nodes they concern, and a walk of a simulated call through it (keys,
 * lookup answers, the hour) that runs the real engine without Asterisk,
 * sends no lookup and stores nothing.
 */
describe('IVR flow check and walk', () => {
  let t: FastApp;
  let lookupServer: Server;
  let lookupHits = 0;
  let url = '';

  /** Open Monday to Friday 9:00-18:00 in Madrid; a menu; a lookup deciding a VIP's priority; the queue. */
  const flow = () => ({
    start: 'hours',
    nodes: {
      hours: { type: 'schedule', timezone: 'Europe/Madrid', hours: { mon: [['09:00', '18:00']], tue: [['09:00', '18:00']] }, open: 'welcome', closed: 'closed' },
      closed: { type: 'hangup', media: ['sound:closed-now'] },
      welcome: {
        type: 'menu', prompt: ['sound:press-1-or-2'], options: { 1: 'account', 2: 'desk' }, retries: 2,
        invalidPrompt: ['sound:invalid'], timeoutPrompt: ['sound:nothing-pressed'],
      },
      account: { type: 'collect', prompt: ['sound:enter-account'], variable: 'account', maxDigits: 8, next: 'vip', onFail: 'desk' },
      vip: { type: 'lookup', url, send: ['account'], next: 'isVip', onError: 'q' },
      isVip: { type: 'condition', rules: [{ variable: 'tier', op: 'eq', value: 'gold', next: 'first' }], else: 'q' },
      first: { type: 'setPriority', priority: 7, next: 'q' },
      q: { type: 'queue', queue: 'ventas', language: 'en' },
      desk: { type: 'transfer', extension: '2001' },
    },
  });
  const walk = (body: Record<string, unknown>, token?: string) => t.api('/api/v1/ivr-flows/walk', { method: 'POST', json: { document: flow(), ...body }, ...(token ? { token } : {}) });
  const path = (body: { steps: { node: string }[] }) => body.steps.map((s) => s.node);
  const mondayAt10 = '2026-11-30T10:00:00+01:00';

  before(async () => {
    t = await startFastApp({ lookupAllow: ['127.0.0.1'] });
    lookupServer = createServer((_req, res) => {
      lookupHits += 1;
      res.end('{"tier": "gold"}');
    });
    await new Promise<void>((resolve) => lookupServer.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(lookupServer.address() as AddressInfo).port}/tier`;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'ventas', strategy: 'longest_idle' } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
  });
  after(async () => {
    lookupServer?.closeAllConnections();
    lookupServer?.close();
    await t?.stop();
  });

  it('follows the keys, the typed lookup answer and the hour to the queue, with what each node plays', async () => {
    const flowsBefore = (await t.api('/api/v1/ivr-flows')).body.length;
    const res = await walk({ keys: ['9', '', '1', '12345#'], lookups: { vip: { tier: 'gold', name: 'Ana' } }, at: mondayAt10, caller: '600100200', language: 'es' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(path(res.body), ['hours', 'welcome', 'account', 'vip', 'isVip', 'first', 'q']);
    const [hours, welcome, account, vip, isVip] = res.body.steps;
    assert.equal(hours.detail.open, true);
    // Three tries at the menu: a wrong key, nothing, then 1; each asked again with its own message.
    assert.deepEqual(welcome.played.map((p: { media: string[] }) => p.media.join(' ')),
      ['sound:press-1-or-2', 'sound:invalid', 'sound:press-1-or-2', 'sound:nothing-pressed', 'sound:press-1-or-2']);
    assert.equal(welcome.input, '1');
    assert.equal(welcome.played[0].language, 'es');
    assert.equal(account.input, '12345');
    assert.deepEqual(vip.detail.result, { tier: 'gold', name: 'Ana' });
    assert.equal(isVip.detail.matched, 0);
    assert.deepEqual(res.body.end, { kind: 'queue', node: 'q', queue: 'ventas', priority: 7, skills: {}, language: 'en' });
    assert.equal(res.body.variables.account, '12345');
    assert.equal(res.body.variables.tier, 'gold');
    assert.equal(res.body.variables.caller, '600100200');
    assert.equal(lookupHits, 0, 'the walk sent the lookup');
    assert.equal((await t.api('/api/v1/ivr-flows')).body.length, flowsBefore);
  });

  it('takes the closed branch out of hours, the lookup error without an answer, and stops where keys run out', async () => {
    const sunday = await walk({ at: '2026-11-29T10:00:00+01:00' });
    assert.deepEqual(path(sunday.body), ['hours', 'closed']);
    assert.deepEqual(sunday.body.end, { kind: 'hangup', node: 'closed' });
    assert.deepEqual(sunday.body.steps[1].played, [{ media: ['sound:closed-now'], language: 'es' }]);
    // 20:30 in Madrid on a Monday is closed too (19:30 UTC): the schedule reads the flow's time zone.
    assert.deepEqual(path((await walk({ at: '2026-11-30T19:30:00Z' })).body), ['hours', 'closed']);

    const noAnswer = await walk({ keys: ['1', '42#'], at: mondayAt10 });
    assert.deepEqual(path(noAnswer.body), ['hours', 'welcome', 'account', 'vip', 'q']);
    assert.match(String(noAnswer.body.steps[3].detail.error), /no answer/);
    assert.equal(noAnswer.body.end.priority, 0);

    const waiting = await walk({ keys: [], at: mondayAt10 });
    assert.deepEqual(waiting.body.end, { kind: 'waitingForKeys', node: 'welcome' });
    assert.deepEqual(waiting.body.steps[1].played, [{ media: ['sound:press-1-or-2'], language: 'es' }]);

    const transfer = await walk({ keys: ['2'], at: mondayAt10 });
    assert.deepEqual(transfer.body.end, { kind: 'transfer', node: 'desk', extension: '2001' });
    assert.equal(lookupHits, 0);
  });

  it('refuses a document with problems, and bad fields by name; supervisors may walk, agents may not', async () => {
    const broken = await t.api('/api/v1/ivr-flows/walk', { method: 'POST', json: { document: { start: 'x', nodes: { a: { type: 'play' } } } } });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'invalid_flow');
    assert.ok(broken.body.error.problems.length >= 2, JSON.stringify(broken.body));
    const badKey = await walk({ keys: ['1a'] });
    assert.equal(badKey.status, 400);
    assert.match(badKey.body.error.message, /keys/);
    const badAt = await walk({ at: 'monday' });
    assert.equal(badAt.status, 400);
    assert.match(badAt.body.error.message, /at/);
    const supervisor = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'walk-sup', role: 'supervisor' } })).body.token;
    assert.equal((await walk({ at: mondayAt10 }, supervisor)).status, 200);
    const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: '7301', name: 'Walker', pin: '1234' } });
    const agentToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'walk-agent', role: 'agent', agentId: agent.body.id } })).body.token;
    assert.equal((await walk({}, agentToken)).status, 403);
    assert.equal((await t.api('/api/v1/ivr-flows/walk', { method: 'POST', json: { document: flow() }, token: null })).status, 401);
  });

  it('lists every problem of a document with the nodes it concerns, references included', async () => {
    const check = (document: unknown) => t.api('/api/v1/ivr-flows/check', { method: 'POST', json: { document } });
    const res = await check({
      start: 'menu',
      nodes: {
        menu: { type: 'menu', prompt: ['sound:x'], options: { 1: 'gone' } },
        a: { type: 'play', media: ['sound:a'], next: 'b' },
        b: { type: 'play', media: ['sound:b'], next: 'a' },
      },
    });
    assert.equal(res.status, 200);
    const byMessage = new Map(res.body.problems.map((p: { message: string; nodes: string[] }) => [p.message, p.nodes]));
    assert.deepEqual(byMessage.get('nodes.menu leads to gone, which is not a node'), ['menu']);
    assert.deepEqual(byMessage.get('nodes.a cannot be reached from start'), ['a']);
    assert.deepEqual(byMessage.get('nodes a → b → a loop without asking the caller anything (add a menu or collect)'), ['a', 'b']);
    const refs = await check({ start: 'p', nodes: { p: { type: 'play', media: ['prompt:nope'], next: 'q' }, q: { type: 'queue', queue: 'nada' } } });
    assert.deepEqual(refs.body.problems, [
      { message: 'nodes.p plays prompt:nope, but no prompt by that name was uploaded', nodes: ['p'] },
      { message: 'nodes.q.queue names no queue (by id or name): "nada"', nodes: ['q'] },
    ]);
    assert.deepEqual((await check(flow())).body.problems, []);
    assert.deepEqual((await check({ start: 'x', nodes: {} })).body.problems, [{ message: 'nodes must be an object of named nodes, with at least one', nodes: [] }]);
  });
});
