import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { waitFor } from '../support/harness.js';
import { verify } from '../../src/webhooks/signature.js';

/** The webhook API (admins) and the delivery of events to a receiver on 127.0.0.1, on the fast tier. */
describe('webhooks API', () => {
  let t: FastApp;
  let receiver: Server;
  let port = 0;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let answer = 200;
  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as { port: number }).port;
    t = await startFastApp({ lookupAllow: [`127.0.0.1:${port}`], webhooks: { retryBaseMs: 50, giveUpHours: 1, timeoutMs: 2000 } });
  });
  after(async () => {
    await t?.stop();
    receiver?.close();
  });

  it('validates subscriptions: fields named in 400s, the outbound policy on the URL, admins only, 404s; nothing stored on refusal', async () => {
    const cases: [unknown, RegExp][] = [
      [{ url: 'http://127.0.0.1:8088/ari', events: ['call.started'] }, /body\/url .*127\.0\.0\.1 is a loopback address.*CENTRALITA_LOOKUP_ALLOW/],
      [{ url: 'http://169.254.169.254/latest', events: ['call.started'] }, /body\/url .*cloud metadata/],
      [{ url: 'ftp://example.com/x', events: ['call.started'] }, /body\/url/],
      [{ url: `http://127.0.0.1:${port}/h`, events: ['call.nope'] }, /body\/events/],
      [{ url: `http://127.0.0.1:${port}/h`, events: [] }, /body\/events/],
      [{ url: `http://127.0.0.1:${port}/h`, events: ['call.started', 'call.started'] }, /body\/events/],
      [{ url: `http://127.0.0.1:${port}/h`, events: ['call.started'], secret: 'short' }, /body\/secret/],
      [{ url: `http://127.0.0.1:${port}/h`, events: ['call.started'], extra: 1 }, /body/],
    ];
    for (const [json, message] of cases) {
      const res = await t.api('/api/v1/webhooks', { method: 'POST', json });
      assert.equal(res.status, 400, `${JSON.stringify(json)} → ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, message);
    }
    assert.deepEqual((await t.api('/api/v1/webhooks')).body, [], 'nothing stored');
    const supervisor = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
    assert.equal((await t.api('/api/v1/webhooks', { token: supervisor })).status, 403);
    assert.equal((await t.api('/api/v1/webhooks', { token: null })).status, 401);
    const missing = '00000000-0000-4000-8000-000000000000';
    assert.equal((await t.api(`/api/v1/webhooks/${missing}`)).status, 404);
    assert.equal((await t.api(`/api/v1/webhooks/${missing}`, { method: 'PATCH', json: { enabled: false } })).status, 404);
    assert.equal((await t.api(`/api/v1/webhooks/${missing}/deliveries`)).status, 404);
    assert.equal((await t.api(`/api/v1/webhooks/${missing}`, { method: 'DELETE' })).status, 404);
    assert.equal((await t.api('/api/v1/webhooks/not-a-uuid')).status, 400);
  });

  it('signs and delivers the events subscribed to, in order; shows the secret once; logs deliveries; replays a range with the same ids', async () => {
    const created = await t.api('/api/v1/webhooks', { method: 'POST', json: { url: `http://127.0.0.1:${port}/hook`, events: ['agent.state'], description: 'CRM' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, secret } = created.body as { id: string; secret: string };
    assert.ok(secret.length >= 24);
    const shown = (await t.api(`/api/v1/webhooks/${id}`)).body;
    assert.equal(shown.secret, undefined, 'the secret is never shown again');
    assert.equal(shown.secretFingerprint, createHash('sha256').update(secret).digest('hex').slice(0, 8));
    assert.ok(!JSON.stringify(shown).includes(secret), 'not the secret');

    const agent = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '501', name: 'Webhook', pin: '1234' } })).body.id as string;
    await t.api(`/api/v1/agents/${agent}/login`, { method: 'POST', json: { extension: '1006' } });
    for (const reason of ['break', 'lunch']) {
      await t.api(`/api/v1/agents/${agent}/pause`, { method: 'POST', json: { reason } });
      await t.api(`/api/v1/agents/${agent}/ready`, { method: 'POST' });
    }
    const states = () => received.filter((r) => r.headers['x-centralita-event'] === 'agent.state').map((r) => JSON.parse(r.body) as { id: string; data: { status: string; reason: string | null } });
    await waitFor(() => states().length >= 5, 5000, 'the agent.state events were not all delivered');
    assert.deepEqual(states().map((e) => e.data.status === 'paused' ? `paused(${e.data.reason})` : e.data.status), ['available', 'paused(break)', 'available', 'paused(lunch)', 'available']);
    for (const r of received) {
      const timestamp = Number(r.headers['x-centralita-timestamp']);
      assert.ok(Math.abs(timestamp - Date.now() / 1000) < 60);
      assert.equal(verify(secret, timestamp, r.body, String(r.headers['x-centralita-signature'])), true, 'a valid signature');
      assert.equal(r.headers['content-type'], 'application/json');
    }
    // A delivery is logged once its answer is back and written (through the write queue): a moment after the receiver has it.
    const delivered = async () => (await t.api(`/api/v1/webhooks/${id}/deliveries?status=delivered`)).body as { eventId: string; attempts: number; latencyMs: number; lastStatus: number }[];
    await waitFor(async () => (await delivered()).length === 5, 5000, 'the deliveries were not all logged');
    const log = await delivered();
    assert.ok(log.every((d) => d.attempts === 1 && d.lastStatus === 200 && d.latencyMs >= 0));
    assert.equal((await t.api(`/api/v1/webhooks/${id}/deliveries?status=lost`)).status, 400);

    // A replay of the range sends the same events again, in order, with the same ids.
    const firstIds = states().map((e) => e.id);
    const replay = await t.api(`/api/v1/webhooks/${id}/replay`, { method: 'POST', json: { from: new Date(Date.now() - 60_000).toISOString(), to: new Date(Date.now() + 1000).toISOString() } });
    assert.deepEqual([replay.status, replay.body.queued], [202, 5]);
    await waitFor(() => states().length >= 10, 5000, 'the replay was not delivered');
    assert.deepEqual(states().slice(5).map((e) => e.id), firstIds);
    const backwards = await t.api(`/api/v1/webhooks/${id}/replay`, { method: 'POST', json: { from: new Date().toISOString(), to: new Date(Date.now() - 1000).toISOString() } });
    assert.equal(backwards.status, 400);
    assert.match(backwards.body.error.message, /body\/to/);

    // A failing receiver: tried again with backoff, in order, until it answers.
    answer = 503;
    await t.api(`/api/v1/agents/${agent}/pause`, { method: 'POST', json: { reason: 'break' } });
    await waitFor(async () => ((await t.api(`/api/v1/webhooks/${id}/deliveries?status=pending`)).body as { attempts: number }[]).some((d) => d.attempts >= 2), 5000, 'no retry');
    const pending = ((await t.api(`/api/v1/webhooks/${id}/deliveries?status=pending`)).body as { lastStatus: number; lastError: string }[])[0]!;
    assert.deepEqual([pending.lastStatus, pending.lastError], [503, 'HTTP 503']);
    answer = 200;
    await waitFor(async () => ((await t.api(`/api/v1/webhooks/${id}/deliveries?status=pending`)).body as unknown[]).length === 0, 5000, 'not delivered once the receiver answers');

    // Disabled: events are not queued for it; deleted: its deliveries go with it.
    assert.equal((await t.api(`/api/v1/webhooks/${id}`, { method: 'PATCH', json: { enabled: false } })).body.enabled, false);
    const before = (await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where webhook_id = ${id}`.execute(t.app.database.db)).rows[0]!.n;
    await t.api(`/api/v1/agents/${agent}/ready`, { method: 'POST' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where webhook_id = ${id}`.execute(t.app.database.db)).rows[0]!.n, before);
    assert.equal((await t.api(`/api/v1/webhooks/${id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where webhook_id = ${id}`.execute(t.app.database.db)).rows[0]!.n, 0);
  });
});
