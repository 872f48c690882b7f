import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { verify } from '../../src/webhooks/signature.js';
import { TestPhone } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, testDatabaseUrl, waitFor, type TestApp } from '../support/harness.js';
import { runService } from '../support/service-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long the receiver is away in the first test (the 60 s scaled down for the suite's time; the backoff is the same code). */
const awayMs = 8000;

interface Receipt { status: number; id: string; type: string; body: string; timestamp: number; signature: string; at: number }

/**
 * A webhook receiver on 127.0.0.1 whose answer the test decides: a status,
 * or away (its port closed: connections refused), then back on the same port.
 */
class Receiver {
  readonly receipts: Receipt[] = [];
  answer: (n: number) => number = () => 200;
  port = 0;
  private server: Server | undefined;

  async listen(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        const status = this.answer(this.receipts.length);
        const parsed = JSON.parse(body) as { id: string; type: string };
        this.receipts.push({
          status, id: parsed.id, type: parsed.type, body, at: Date.now(),
          timestamp: Number(req.headers['x-centralita-timestamp']), signature: String(req.headers['x-centralita-signature']),
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async away(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The events accepted (answered 2xx), in the order they came. */
  accepted(): Receipt[] {
    return this.receipts.filter((r) => r.status >= 200 && r.status < 300);
  }
}

/** Every receipt's signature is valid; each event accepted once, in the outbox's order; any repeat is the same event (same id and body). */
function checkDelivered(receiver: Receiver, secret: string, expectedIds: string[]): void {
  for (const r of receiver.receipts) assert.equal(verify(secret, r.timestamp, r.body, r.signature), true, `signature of ${r.id}`);
  const accepted = receiver.accepted();
  const firsts: string[] = [];
  for (const r of accepted) if (!firsts.includes(r.id)) firsts.push(r.id);
  assert.deepEqual(firsts, expectedIds, 'every event accepted, in order');
  const bodies = new Map<string, string>();
  for (const r of receiver.receipts) {
    assert.ok(expectedIds.includes(r.id), `only known events (${r.id})`);
    if (bodies.has(r.id)) assert.equal(r.body, bodies.get(r.id), 'a repeat is the same event');
    bodies.set(r.id, r.body);
  }
}

describe('webhooks on the lab: durable, signed, in order', () => {
  let t: TestApp | undefined;
  const phones: TestPhone[] = [];
  const receivers: Receiver[] = [];
  const db = new pg.Client({ connectionString: testDatabaseUrl });
  before(() => db.connect());
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await Promise.all(receivers.map((r) => r.away()));
    await t?.stop();
    await db.end();
  });

  /** The subscription's delivered events, in the outbox's order. */
  const outbox = async (webhookId: string) => (await db.query<{ event_id: string; status: string; event_type: string }>(
    'select event_id, status, event_type from webhook_deliveries where webhook_id = $1 and not replay order by seq', [webhookId])).rows;

  it('a receiver that fails 3 times, then is away, then back gets every event of calls and agents, in order, signed', { timeout: 90_000 }, async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    await receiver.listen();
    receiver.answer = (n) => (n < 3 ? 500 : 200);
    t = await startTestApp({ lookupAllow: [`127.0.0.1:${receiver.port}`], webhooks: { retryBaseMs: 200, giveUpHours: 1, timeoutMs: 2000 } });
    await resetDatabase(t.app);
    await t.app.agents.load();
    const hook = await t.api('/api/v1/webhooks', {
      method: 'POST', json: { url: `http://127.0.0.1:${receiver.port}/crm`, events: ['call.started', 'call.answered', 'call.ended', 'queue.entered', 'queue.answered', 'queue.left', 'queue.abandoned', 'agent.state'] },
    });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    const { id: webhookId, secret } = hook.body as { id: string; secret: string };

    const desk = await TestPhone.start({ user: '1005', password: 'lab-1005' });
    await desk.register();
    phones.push(desk);
    const agentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1005', name: 'Eva', pin: '1234', extension: '1005' } })).body.id;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'crm', strategy: 'longest_idle', wrapUpSeconds: 0, maxWaitSeconds: 120 } });
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    await routeDid(t, '5554401', { start: 'q', nodes: { q: { type: 'queue', queue: 'crm' } } });
    assert.equal((await t.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' })).status, 200);

    // A real call: the agent answers, both hang up.
    const rings = desk.waitForIncoming(10_000);
    const callerPhone = await TestPhone.start({ user: '600440001' });
    phones.push(callerPhone);
    const caller = await callerPhone.call('5554401');
    const agent = await (await rings).answer();
    caller.playTone(440);
    await agent.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.hangup();
    await agent.ended;
    await waitFor(() => receiver.receipts.length >= 3, 10_000, 'the receiver was not tried 3 times');

    // Away: connections refused; events keep happening meanwhile.
    await receiver.away();
    for (const reason of ['break', 'lunch']) {
      await t.api(`/api/v1/agents/${agentId}/pause`, { method: 'POST', json: { reason } });
      await t.api(`/api/v1/agents/${agentId}/ready`, { method: 'POST' });
    }
    await sleep(awayMs);
    const waiting = await outbox(webhookId);
    assert.ok(waiting.some((d) => d.status === 'pending'), 'deliveries wait while the receiver is away');
    await receiver.listen(receiver.port);

    await waitFor(async () => (await outbox(webhookId)).every((d) => d.status === 'delivered'), 30_000, 'not every delivery was made once the receiver came back');
    const rows = await outbox(webhookId);
    const types = rows.map((r) => r.event_type);
    for (const type of ['call.started', 'queue.entered', 'queue.answered', 'call.ended', 'queue.left', 'agent.state']) assert.ok(types.includes(type), `${type} delivered (${types.join(', ')})`);
    assert.ok(types.indexOf('call.started') < types.indexOf('queue.entered') && types.indexOf('queue.entered') < types.indexOf('queue.answered'), 'in the order they happened');
    checkDelivered(receiver, secret, rows.map((r) => r.event_id));
    const states = receiver.accepted().filter((r) => r.type === 'agent.state').map((r) => JSON.parse(r.body).data as { status: string; reason: string | null });
    const lastSix = states.slice(-6).map((s) => (s.status === 'paused' ? `paused(${s.reason})` : s.status));
    assert.deepEqual(lastSix.slice(-4), ['paused(break)', 'available', 'paused(lunch)', 'available']);
    await t.api(`/api/v1/agents/${agentId}/logout`, { method: 'POST' });
    await t.stop();
    t = undefined;
  });

  it('a SIGKILL of centralita while 1000 events wait for a failing receiver loses none: all delivered after the restart, in order', { timeout: 150_000 }, async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    await receiver.listen();
    receiver.answer = () => 503;
    const setup = await startTestApp();
    await resetDatabase(setup.app);
    await setup.app.agents.load();
    const agentId = (await setup.api('/api/v1/agents', { method: 'POST', json: { number: '1005', name: 'Eva', pin: '1234', extension: '1005' } })).body.id;
    await setup.stop();

    const env = { CENTRALITA_LOOKUP_ALLOW: `127.0.0.1:${receiver.port}`, CENTRALITA_WEBHOOK_RETRY_BASE_MS: '200' };
    const port = 20000 + Math.floor(Math.random() * 20000);
    let service = await runService(port, env);
    try {
      const hook = await service.api('/api/v1/webhooks', { method: 'POST', json: { url: `http://127.0.0.1:${receiver.port}/crm`, events: ['agent.state'] } });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      const { id: webhookId, secret } = hook.body as { id: string; secret: string };
      const desk = await TestPhone.start({ user: '1005', password: 'lab-1005' });
      await desk.register();
      phones.push(desk);
      assert.equal((await service.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' })).status, 200);
      // 1000 state changes after the check-in: pause and ready, 500 times.
      for (let i = 0; i < 500; i += 1) {
        assert.equal((await service.api(`/api/v1/agents/${agentId}/pause`, { method: 'POST', json: { reason: 'break' } })).status, 200);
        assert.equal((await service.api(`/api/v1/agents/${agentId}/ready`, { method: 'POST' })).status, 200);
      }
      await service.kill();
      const stored = (await db.query<{ n: number }>('select count(*)::int as n from webhook_deliveries where webhook_id = $1', [webhookId])).rows[0]!.n;

      receiver.answer = () => 200;
      service = await runService(port, env);
      // The check-in and the 1000 changes asked over the API (the system may add its own: the phone's reachability).
      await waitFor(async () => {
        const rows = await outbox(webhookId);
        return rows.length >= 1001 && rows.every((d) => d.status === 'delivered');
      }, 60_000, `not every event delivered after the restart (${stored} stored at the kill)`);
      const rows = await outbox(webhookId);
      checkDelivered(receiver, secret, rows.map((r) => r.event_id));
      const states = receiver.accepted().filter((r, i, all) => all.findIndex((x) => x.id === r.id) === i)
        .map((r) => JSON.parse(r.body).data as { status: string; source: string })
        .filter((d) => d.source === 'api').map((d) => d.status);
      assert.equal(states.length, 1001, 'every change asked over the API delivered once');
      assert.deepEqual(states.slice(0, 5), ['available', 'paused', 'available', 'paused', 'available']);
      assert.ok(states.every((s, i) => s === (i % 2 === 0 ? 'available' : 'paused')), 'the 1001 states in the order they happened');
      await service.api(`/api/v1/agents/${agentId}/logout`, { method: 'POST' });
    } finally {
      await service.kill();
    }
  });
});
