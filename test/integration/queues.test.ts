import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { TestPhone, type IncomingCall } from '../phones/sip-phone.js';
import { FeedClient } from '../support/live-feed.js';
import { adminToken, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

describe('queues on the lab: callers reach agents', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  const desks = new Map<string, TestPhone>();
  const agents = { ana: '', ben: '' };
  let queueId: string;

  const desk = (name: string): TestPhone => desks.get(name)!;
  const stateOf = async (id: string): Promise<string> => {
    const s = (await t.api(`/api/v1/agents/${id}/state`)).body;
    return s.status === 'paused' ? `paused(${s.reason})` : s.status;
  };
  const caller = async (did: string, user: string) => {
    const phone = await TestPhone.start({ user });
    phones.push(phone);
    return phone.call(did);
  };
  const entries = async () => (await sql<{ outcome: string | null; answered_by: string | null; wait_seconds: string | null; priority: number; id: string }>`
    select id, outcome, answered_by, wait_seconds, priority from queue_entries order by entered_at`.execute(t.app.database.db)).rows;
  const offersOf = async (entryId: string) => (await sql<{ agent_id: string; result: string | null }>`
    select agent_id, result from queue_offers where entry_id = ${entryId} order by id`.execute(t.app.database.db)).rows.map((r) => `${r.agent_id === agents.ana ? 'ana' : 'ben'}:${r.result}`);

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    for (const [name, ext, skills] of [['ana', '1005', { es: 8 }], ['ben', '1006', { en: 7 }]] as const) {
      const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
      await phone.register();
      phones.push(phone);
      desks.set(name, phone);
      const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: ext, name, pin: '1234', extension: ext, skills } });
      agents[name as 'ana' | 'ben'] = agent.body.id;
    }
    const queue = await t.api('/api/v1/queues', {
      method: 'POST', json: { name: 'ventas', strategy: 'longest_idle', ringTimeoutSeconds: 5, wrapUpSeconds: 2, maxWaitSeconds: 120 },
    });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    queueId = queue.body.id;
    const members = await t.api(`/api/v1/queues/${queueId}/members`, { method: 'PUT', json: { members: [{ agentId: agents.ana }, { agentId: agents.ben }] } });
    assert.equal(members.status, 200);
    await routeDid(t, '5554001', { start: 'q', nodes: { q: { type: 'queue', queue: 'ventas' } } });
    await t.api(`/api/v1/agents/${agents.ana}/login`, { method: 'POST' });
    await new Promise((r) => setTimeout(r, 50));
    await t.api(`/api/v1/agents/${agents.ben}/login`, { method: 'POST' });
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('rings the longest-idle agent, bridges the answer both ways, then wrap-up and available', async () => {
    const feed = await FeedClient.connect(t.baseUrl, adminToken);
    const ringing = desk('ana').waitForIncoming(10_000);
    const call = await caller('5554001', '600400001');
    const incoming: IncomingCall = await ringing;
    assert.equal(incoming.from.user, '600400001', 'the agent sees the caller');
    assert.equal(await stateOf(agents.ana), 'ringing');
    const agentCall = await incoming.answer();
    await waitFor(async () => (await stateOf(agents.ana)) === 'on_call', 5000, 'ana not on_call');
    call.playTone(440);
    agentCall.playTone(1000);
    await agentCall.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await call.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    const live = await t.api(`/api/v1/queues/${queueId}/live`);
    assert.deepEqual(live.body.waiting, []);
    await call.hangup();
    await agentCall.ended;
    await waitFor(async () => (await stateOf(agents.ana)) === 'wrap_up', 5000, 'ana not in wrap-up');
    await waitFor(async () => (await stateOf(agents.ana)) === 'available', 5000, 'ana not available after wrap-up');
    const [entry] = await entries();
    assert.equal(entry!.outcome, 'answered');
    assert.equal(entry!.answered_by, agents.ana);
    assert.ok(Number(entry!.wait_seconds) > 0);
    assert.deepEqual(await offersOf(entry!.id), ['ana:answered']);
    const events = feed.messages.filter((m) => m.type === 'queue.entry' && m.data.entryId === entry!.id).map((m) => m.data.event);
    feed.close();
    assert.deepEqual(events, ['entered', 'offered', 'answered', 'left']);
  });

  it('pauses an agent who does not answer (RONA) and offers the caller to the next', async () => {
    // ben has been idle longest now
    const benRings = desk('ben').waitForIncoming(10_000);
    const call = await caller('5554001', '600400002');
    const ignored = await benRings;
    const anaRings = desk('ana').waitForIncoming(15_000);
    await ignored.cancelled;
    assert.equal(await stateOf(agents.ben), 'paused(rona)');
    const agentCall = await (await anaRings).answer();
    await waitFor(async () => (await stateOf(agents.ana)) === 'on_call', 5000, 'ana not on_call');
    await agentCall.hangup();
    await waitFor(() => !call.isActive, 5000, 'the caller was not hung up when the agent hung up');
    const entry = (await entries()).at(-1)!;
    assert.equal(entry.outcome, 'answered');
    assert.deepEqual(await offersOf(entry.id), ['ben:no_answer', 'ana:answered']);
    await waitFor(async () => (await stateOf(agents.ana)) === 'available', 8000, 'ana not available again');
    await t.api(`/api/v1/agents/${agents.ben}/ready`, { method: 'POST' });
  });

  it('records a caller who hangs up while waiting as abandoned, with the wait time, having heard music on hold', async () => {
    await t.api(`/api/v1/agents/${agents.ana}/pause`, { method: 'POST', json: { reason: 'break' } });
    await t.api(`/api/v1/agents/${agents.ben}/pause`, { method: 'POST', json: { reason: 'break' } });
    const call = await caller('5554001', '600400003');
    await call.waitForAudio({ minMs: 500, timeoutMs: 5000 });
    const live = await waitFor(async () => (await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting[0], 3000, 'not listed as waiting');
    assert.equal(live.caller, '600400003');
    await new Promise((r) => setTimeout(r, 1500));
    await call.hangup();
    const entry = await waitFor(async () => (await entries()).find((e) => e.outcome === 'abandoned'), 5000, 'no abandoned entry');
    const wait = Number(entry.wait_seconds);
    assert.ok(wait >= 1.5 && wait < 6, `wait ${wait}; entries ${JSON.stringify(await entries())}`);
    assert.deepEqual(await offersOf(entry.id), []);
  });

  it('serves a VIP caller who entered last first, and offers a caller needing es ≥ 5 only to agents with it', async () => {
    const vip = await routeDid(t, '5554002', { start: 'p', nodes: { p: { type: 'setPriority', priority: 10, next: 'q' }, q: { type: 'queue', queue: 'ventas' } } });
    assert.ok(vip.id);
    const first = await caller('5554001', '600400004');
    await waitFor(async () => (await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting.length === 1, 5000, 'first caller not waiting');
    const vipCall = await caller('5554002', '600400005');
    await waitFor(async () => (await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting.length === 2, 5000, 'vip not waiting');
    assert.deepEqual((await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting.map((w: { caller: string }) => w.caller), ['600400005', '600400004']);
    const rings = desk('ana').waitForIncoming(10_000);
    await t.api(`/api/v1/agents/${agents.ana}/ready`, { method: 'POST' });
    const incoming = await rings;
    assert.equal(incoming.from.user, '600400005', 'the VIP is served first');
    await incoming.reject(486);
    await first.hangup();
    await vipCall.hangup();
    await waitFor(async () => (await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting.length === 0, 5000, 'callers still waiting');

    await t.api(`/api/v1/agents/${agents.ana}/ready`, { method: 'POST' }).catch(() => undefined);
    await t.api(`/api/v1/agents/${agents.ben}/ready`, { method: 'POST' });
    const es = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'soporte-es', strategy: 'longest_idle', requiredSkills: { es: 5 }, ringTimeoutSeconds: 5 } });
    await t.api(`/api/v1/queues/${es.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: agents.ana }, { agentId: agents.ben }] } });
    await t.api(`/api/v1/agents/${agents.ana}/pause`, { method: 'POST', json: { reason: 'break' } }).catch(() => undefined);
    await routeDid(t, '5554003', { start: 'q', nodes: { q: { type: 'queue', queue: 'soporte-es' } } });
    const spanish = await caller('5554003', '600400006');
    await waitFor(async () => (await t.api(`/api/v1/queues/${es.body.id}/live`)).body.waiting.length === 1, 5000, 'not waiting');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await stateOf(agents.ben), 'available', 'ben (no es) must not be offered the call though idle');
    const anaRings = desk('ana').waitForIncoming(10_000);
    await t.api(`/api/v1/agents/${agents.ana}/ready`, { method: 'POST' });
    const offered = await anaRings;
    assert.equal(offered.from.user, '600400006');
    await spanish.hangup();
  });
});
