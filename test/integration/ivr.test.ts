import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { writeWav } from '../../src/prompts/wav.js';
import { sine, toneLevels } from '../phones/audio.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

/** Prompts that are pure tones, so the test can tell by ear (Goertzel) which one the caller heard. */
const tones = { t440: 440, t600: 600, t1000: 1000, t1400: 1400, t1800: 1800 } as const;

interface TraceStep { node: string; type: string; input: string | null; detail: Record<string, unknown>; flowVersion: number }

describe('IVR flows on the lab', () => {
  let t: TestApp;
  let now = new Date('2026-11-23T09:30:00Z'); // a Monday, 10:30 in Madrid
  const phones: TestPhone[] = [];
  let lookupServer: Server;
  let lookupUrl: string;
  let lookupDelayMs = 0;
  /** A server on a loopback address the lookup setting does not allow: it must never be asked. */
  let refusedServer: Server;
  let refusedHits = 0;

  before(async () => {
    // Lookups may reach 127.0.0.1 (the test's lookup server) and nothing else private.
    t = await startTestApp({ lookupAllow: ['127.0.0.1'] }, { clock: () => now });
    await resetDatabase(t.app);
    for (const [name, hz] of Object.entries(tones)) {
      const res = await t.api(`/api/v1/prompts?name=${name}`, {
        method: 'POST', body: new Uint8Array(writeWav(sine(hz, 8000 * 0.7))), headers: { 'content-type': 'audio/wav' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    refusedServer = createServer((_req, res) => {
      refusedHits += 1;
      res.end('{"balance": 666}');
    });
    await new Promise<void>((resolve) => refusedServer.listen(0, '127.0.0.2', resolve));
    lookupServer = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.2:${(refusedServer.address() as AddressInfo).port}/balance` });
        return res.end();
      }
      if (url.pathname === '/big') {
        // A valid answer, only too large: 100 KiB.
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ balance: 99, padding: 'x'.repeat(100 * 1024) }));
      }
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ balance: url.searchParams.get('account') === '12345' ? 1234 : 0, status: 'ok', nested: { ignored: true } }));
      }, lookupDelayMs);
    });
    await new Promise<void>((resolve) => lookupServer.listen(0, '127.0.0.1', resolve));
    lookupUrl = `http://127.0.0.1:${(lookupServer.address() as AddressInfo).port}/balance`;
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    lookupServer?.closeAllConnections();
    lookupServer?.close();
    refusedServer?.closeAllConnections();
    refusedServer?.close();
    await t?.stop();
  });

  const dial = async (did: string): Promise<Call> => {
    const phone = await TestPhone.start({ user: `6000${did.slice(-5)}` });
    phones.push(phone);
    return phone.call(did);
  };
  const hears = (call: Call, hz: number, since?: number) => call.waitForTone(hz, { since, timeoutMs: 8000, threshold: 0.5 });
  const traceOf = async (): Promise<TraceStep[]> => {
    // Trace rows go through the write queue: the hang-up can reach the phone first.
    await t.app.writes.drain();
    const calls = await t.api('/api/v1/calls?limit=1');
    return (await t.api(`/api/v1/calls/${calls.body[0].id}/ivr-trace`)).body;
  };
  const ended = (call: Call) => waitFor(() => !call.isActive, 15_000, 'the IVR did not hang up');

  const menuFlow = (oneSays: keyof typeof tones) => ({
    start: 'menu',
    nodes: {
      menu: {
        type: 'menu', prompt: ['prompt:t440'], options: { 1: 'one' }, timeoutMs: 2000, retries: 2,
        invalidPrompt: ['prompt:t1000'], timeoutPrompt: ['prompt:t1400'], default: 'fallback',
      },
      one: { type: 'play', media: [`prompt:${oneSays}`], next: 'bye' },
      fallback: { type: 'play', media: ['prompt:t600'], next: 'bye' },
      bye: { type: 'hangup' },
    },
  });

  it('plays the invalid prompt for a wrong key and goes on with a right one', async () => {
    await routeDid(t, '5553001', menuFlow('t1800'));
    const call = await dial('5553001');
    await hears(call, 440);
    let mark = call.mark();
    await call.sendDtmf('9');
    await hears(call, 1000, mark);
    mark = call.mark();
    await hears(call, 440, mark);
    mark = call.mark();
    await call.sendDtmf('1');
    await hears(call, 1800, mark);
    await ended(call);
    const trace = await traceOf();
    assert.deepEqual(trace.map((s) => [s.node, s.input, s.detail.outcome ?? null]), [
      ['menu', '9', 'invalid'], ['menu', '1', null], ['one', null, null], ['bye', null, null],
    ]);
  });

  it('gives a silent caller the retries with the timeout prompt, then the default', async () => {
    await routeDid(t, '5553002', menuFlow('t1800'));
    const call = await dial('5553002');
    for (let i = 0; i < 3; i += 1) {
      const mark = call.mark();
      await hears(call, 1400, mark);
    }
    const mark = call.mark();
    await hears(call, 600, mark);
    await ended(call);
    const trace = await traceOf();
    assert.deepEqual(trace.map((s) => s.detail.outcome ?? s.node), ['timeout', 'timeout', 'timeout', 'default', 'fallback', 'bye']);
  });

  it('lets a key pressed during a prompt stop it and answer the menu that follows (barge-in)', async () => {
    await routeDid(t, '5553003', {
      start: 'intro',
      nodes: {
        intro: { type: 'play', media: ['prompt:t600', 'prompt:t600', 'prompt:t600', 'prompt:t600'], next: 'menu' },
        menu: { type: 'menu', prompt: ['prompt:t440'], options: { 1: 'one' }, default: 'bye' },
        one: { type: 'play', media: ['prompt:t1800'], next: 'bye' },
        bye: { type: 'hangup' },
      },
    });
    const call = await dial('5553003');
    await hears(call, 600);
    const mark = call.mark();
    await call.sendDtmf('1');
    await hears(call, 1800, mark);
    const heard = call.receivedSince(mark);
    const { toneLevels } = await import('../phones/audio.js');
    const [level440] = toneLevels(heard, [440]);
    assert.ok(level440! < 0.1, `the menu prompt should not play after a key pressed during the intro (440 Hz level ${level440})`);
    await ended(call);
    assert.deepEqual((await traceOf()).map((s) => [s.node, s.input]), [['intro', null], ['menu', '1'], ['one', null], ['bye', null]]);
  });

  const lookupFlow = () => ({
    start: 'account',
    nodes: {
      account: { type: 'collect', prompt: ['prompt:t440'], variable: 'account', minDigits: 4, maxDigits: 8, timeoutMs: 5000, next: 'balance' },
      balance: { type: 'lookup', url: lookupUrl, send: ['account'], timeoutMs: 1000, next: 'say', onError: 'sorry' },
      say: { type: 'say', variable: 'balance', as: 'number', next: 'bye' },
      sorry: { type: 'play', media: ['prompt:t600'], next: 'bye' },
      bye: { type: 'hangup' },
    },
  });

  it('collects an account number, looks it up over HTTP and says the balance', async () => {
    lookupDelayMs = 0;
    await routeDid(t, '5553004', lookupFlow());
    const call = await dial('5553004');
    await hears(call, 440);
    const mark = call.mark();
    await call.sendDtmf('12345#');
    await call.waitForAudio({ since: mark, minMs: 500, timeoutMs: 8000 });
    await ended(call);
    const trace = await traceOf();
    assert.deepEqual(trace.map((s) => s.node), ['account', 'balance', 'say', 'bye']);
    assert.equal(trace[0]!.input, '12345');
    assert.deepEqual(trace[1]!.detail, { status: 200, result: { balance: '1234', status: 'ok' } });
    assert.deepEqual(trace[2]!.detail, { variable: 'balance', value: '1234', as: 'number' });
  });

  it('takes the onError branch when the lookup times out', async () => {
    lookupDelayMs = 2500;
    await routeDid(t, '5553005', lookupFlow());
    const call = await dial('5553005');
    await hears(call, 440);
    const mark = call.mark();
    await call.sendDtmf('12345#');
    await hears(call, 600, mark);
    await ended(call);
    const trace = await traceOf();
    assert.deepEqual(trace.map((s) => s.node), ['account', 'balance', 'sorry', 'bye']);
    assert.deepEqual(trace[1]!.detail, { error: 'timeout' });
  });

  it('takes the onError branch when the policy refuses a lookup: a redirect to a refused address, an answer over 64 KiB', async () => {
    lookupDelayMs = 0;
    refusedHits = 0;
    const base = lookupUrl.replace(/\/balance$/, '');
    await routeDid(t, '5553011', {
      start: 'account',
      nodes: {
        account: { type: 'collect', prompt: ['prompt:t440'], variable: 'account', minDigits: 4, maxDigits: 8, timeoutMs: 5000, next: 'moved' },
        moved: { type: 'lookup', url: `${base}/redirect`, send: ['account'], timeoutMs: 1000, next: 'say', onError: 'big' },
        big: { type: 'lookup', url: `${base}/big`, send: ['account'], timeoutMs: 1000, next: 'say', onError: 'sorry' },
        say: { type: 'say', variable: 'balance', as: 'number', next: 'bye' },
        sorry: { type: 'play', media: ['prompt:t600'], next: 'bye' },
        bye: { type: 'hangup' },
      },
    });
    const call = await dial('5553011');
    await hears(call, 440);
    const mark = call.mark();
    await call.sendDtmf('12345#');
    await hears(call, 600, mark);
    await ended(call);
    const trace = await traceOf();
    assert.deepEqual(trace.map((s) => s.node), ['account', 'moved', 'big', 'sorry', 'bye']);
    assert.equal(trace[1]!.detail.error, 'refused');
    assert.match(String(trace[1]!.detail.reason), /redirect \(HTTP 302 to http:\/\/127\.0\.0\.2:\d+\/balance\); redirects are not followed/);
    assert.equal(trace[2]!.detail.error, 'refused');
    assert.match(String(trace[2]!.detail.reason), /larger than 65536 bytes/);
    assert.equal(refusedHits, 0, 'the redirect was not followed');
  });

  it('routes by opening hours in the flow’s time zone', async () => {
    await routeDid(t, '5553006', {
      start: 'hours',
      nodes: {
        hours: {
          type: 'schedule', timezone: 'Europe/Madrid', holidays: ['2026-12-25'],
          hours: { mon: [['09:00', '18:00']], tue: [['09:00', '18:00']], wed: [['09:00', '18:00']], thu: [['09:00', '18:00']], fri: [['09:00', '14:00']] },
          open: 'open', closed: 'closed',
        },
        open: { type: 'play', media: ['prompt:t1800'], next: 'bye' },
        closed: { type: 'play', media: ['prompt:t600'], next: 'bye' },
        bye: { type: 'hangup' },
      },
    });
    now = new Date('2026-11-23T09:30:00Z'); // Monday 10:30 in Madrid: open
    let call = await dial('5553006');
    await hears(call, 1800);
    await ended(call);
    assert.equal((await traceOf())[0]!.detail.open, true);
    now = new Date('2026-11-27T14:30:00Z'); // Friday 15:30 in Madrid: closed since 14:00
    call = await dial('5553006');
    await hears(call, 600);
    await ended(call);
    assert.equal((await traceOf())[0]!.detail.open, false);
    now = new Date('2026-12-25T10:00:00Z'); // a Friday, but a holiday
    call = await dial('5553006');
    await hears(call, 600);
    await ended(call);
  });

  it('finishes a call on the version it started on after a new version is saved, and restores versions', async () => {
    const flow = await routeDid(t, '5553007', menuFlow('t1800'));
    const call = await dial('5553007');
    await hears(call, 440);
    const saved = await t.api(`/api/v1/ivr-flows/${flow.id}`, { method: 'PUT', json: { document: menuFlow('t600') } });
    assert.equal(saved.body.currentVersion, 2);
    const mark = call.mark();
    await call.sendDtmf('1');
    await hears(call, 1800, mark); // version 1 says 1800
    await ended(call);
    assert.ok((await traceOf()).every((s) => s.flowVersion === 1));

    const next = await dial('5553007');
    await hears(next, 440);
    const mark2 = next.mark();
    await next.sendDtmf('1');
    await hears(next, 600, mark2); // version 2 says 600
    await ended(next);

    const restored = await t.api(`/api/v1/ivr-flows/${flow.id}/restore`, { method: 'POST', json: { version: 1 } });
    assert.equal(restored.body.currentVersion, 3);
    assert.deepEqual(restored.body.document, menuFlow('t1800'));
    assert.deepEqual((await t.api(`/api/v1/ivr-flows/${flow.id}/versions`)).body.map((v: { version: number }) => v.version), [1, 2, 3]);
    assert.equal((await t.api(`/api/v1/ivr-flows/${flow.id}/versions/9`)).status, 404);
  });

  it('takes a call up where it was after a restart of centralita: on its version, with what the caller had keyed', async () => {
    const resumable = (good: keyof typeof tones) => ({
      start: 'account',
      nodes: {
        account: { type: 'collect', prompt: ['prompt:t440'], variable: 'account', minDigits: 4, maxDigits: 4, timeoutMs: 8000, next: 'menu' },
        menu: { type: 'menu', prompt: ['prompt:t1000'], options: { 1: 'check' }, timeoutMs: 6000, retries: 2, default: 'bye' },
        check: { type: 'condition', rules: [{ variable: 'account', op: 'eq', value: '4321', next: 'good' }], else: 'bad' },
        good: { type: 'play', media: [`prompt:${good}`], next: 'bye' },
        bad: { type: 'play', media: ['prompt:t600'], next: 'bye' },
        bye: { type: 'hangup' },
      },
    });
    const flow = await routeDid(t, '5553010', resumable('t1800'));
    const call = await dial('5553010');
    await hears(call, 440);
    let mark = call.mark();
    await call.sendDtmf('4321');
    await hears(call, 1000, mark); // the menu
    // A new version saved meanwhile does not change the call in progress.
    assert.equal((await t.api(`/api/v1/ivr-flows/${flow.id}`, { method: 'PUT', json: { document: resumable('t1400') } })).body.currentVersion, 2);
    const callId: string = (await t.api('/api/v1/calls?limit=1')).body[0].id;
    await t.stop();
    t = await startTestApp({}, { clock: () => now });
    // The menu again, not the account prompt.
    mark = call.mark();
    await hears(call, 1000, mark);
    assert.ok(call.isActive);
    const [accountPrompt] = toneLevels(call.receivedSince(mark), [440]);
    assert.ok(accountPrompt! < 0.05, `the caller was not asked the account again (${accountPrompt})`);
    mark = call.mark();
    await call.sendDtmf('1');
    await hears(call, 1800, mark); // version 1's answer for account 4321: what was keyed before the restart was kept
    await ended(call);
    await t.app.writes.drain();
    const trace = (await t.api(`/api/v1/calls/${callId}/ivr-trace`)).body as TraceStep[];
    assert.deepEqual(trace.map((s) => [s.node, s.input]), [['account', '4321'], ['menu', '1'], ['check', null], ['good', null], ['bye', null]]);
    assert.ok(trace.every((s) => s.flowVersion === 1));
    const events = (await t.api(`/api/v1/calls/${callId}`)).body.events as { type: string }[];
    assert.ok(events.some((e) => e.type === 'resumed'), `a resumed event: ${JSON.stringify(events)}`);
  });

  it('tells a caller to a DID with no route that the number is not in service, and logs it', async () => {
    const call = await dial('5553999');
    await call.waitForAudio({ minMs: 500, timeoutMs: 5000 });
    await ended(call);
    const calls = await t.api('/api/v1/calls?did=5553999');
    const detail = await t.api(`/api/v1/calls/${calls.body[0].id}`);
    assert.ok(detail.body.events.some((e: { type: string }) => e.type === 'unrouted'));
  });

  it('transfers a caller to an extension, whose phone then hears the caller', async () => {
    await routeDid(t, '5553009', {
      start: 'vip',
      nodes: {
        vip: { type: 'condition', rules: [{ callerIn: ['600053009'], next: 'desk' }], else: 'bye' },
        desk: { type: 'transfer', extension: '1009' },
        bye: { type: 'hangup' },
      },
    });
    const desk = await TestPhone.start({ user: '1009', password: 'lab-1009' });
    phones.push(desk);
    await desk.register();
    const ringing = desk.waitForIncoming(10_000);
    const call = await dial('5553009');
    const answered = await (await ringing).answer();
    call.playTone(1000);
    await answered.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    await call.hangup();
    await answered.ended;
    const calls = await t.api('/api/v1/calls?did=5553009');
    const row = await waitFor(async () => (await t.api(`/api/v1/calls/${calls.body[0].id}`)).body.endedAt ? (await t.api(`/api/v1/calls/${calls.body[0].id}`)).body : undefined, 8000, 'the transferred call was not closed');
    assert.equal(row.hangupCause, 16);
    assert.deepEqual((await traceOf()).map((s) => s.node), ['vip', 'desk']);
  });

  it('hands a call to a queue node, named by its id or its name, with the priority and skills set before it', async () => {
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'billing', strategy: 'longest_idle', maxWaitSeconds: 60 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    // Overflows name a queue by id or name too; a name is stored as the id.
    const byName = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'billing-overflow', strategy: 'longest_idle', overflow: { action: 'queue', queueId: 'billing' } } });
    assert.equal(byName.status, 201, JSON.stringify(byName.body));
    assert.deepEqual(byName.body.overflow, { action: 'queue', queueId: queue.body.id });
    const missing = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'nowhere', strategy: 'longest_idle', overflow: { action: 'queue', queueId: 'no-such-queue' } } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /^body\/overflow\/queueId: no queue with the id or name no-such-queue/);
    const itself = await t.api(`/api/v1/queues/${queue.body.id}`, { method: 'PATCH', json: { overflow: { action: 'queue', queueId: 'billing' } } });
    assert.equal(itself.status, 400);
    assert.match(itself.body.error.message, /cannot overflow into itself/);

    for (const [did, ref] of [['5553010', queue.body.id], ['5553012', 'billing']] as const) {
      await routeDid(t, did, {
        start: 'prio',
        nodes: {
          prio: { type: 'setPriority', priority: 7, next: 'skills' },
          skills: { type: 'setSkills', skills: { es: 6, billing: 3 }, next: 'queue' },
          queue: { type: 'queue', queue: ref },
        },
      });
      const call = await dial(did);
      const waiting = await waitFor(async () => (await t.api(`/api/v1/queues/${queue.body.id}/live`)).body.waiting[0], 8000, `the caller to ${did} is not waiting in the queue`);
      assert.equal(waiting.priority, 7);
      const trace = await traceOf();
      assert.deepEqual(trace.at(-1)!.detail, { queue: ref, priority: 7, skills: { es: 6, billing: 3 } });
      await call.hangup();
      await waitFor(async () => (await t.api(`/api/v1/queues/${queue.body.id}/live`)).body.waiting.length === 0, 8000, 'the caller is still waiting');
    }
  });

  it('switches the rest of the flow to Spanish from a "para español marque 1" menu', async () => {
    await routeDid(t, '5553008', {
      start: 'language', language: 'en',
      nodes: {
        language: { type: 'menu', prompt: ['prompt:t440'], options: { 1: 'spanish', 2: 'english' }, default: 'english' },
        spanish: { type: 'play', language: 'es', media: ['sound:hello-world'], next: 'more' },
        english: { type: 'play', media: ['sound:hello-world'], next: 'more' },
        more: { type: 'play', media: ['sound:vm-goodbye'], next: 'bye' },
        bye: { type: 'hangup' },
      },
    });
    const call = await dial('5553008');
    await hears(call, 440);
    await call.sendDtmf('1');
    await ended(call);
    const trace = await traceOf();
    assert.deepEqual(trace.filter((s) => s.type === 'play').map((s) => [s.node, s.detail.language]), [['spanish', 'es'], ['more', 'es']]);
  });
});
