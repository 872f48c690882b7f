import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

/** Blind transfers by the agent: ## number # on the desk phone, or the API. */
describe('queues on the lab: an agent blind-transfers the caller', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  const desks = new Map<string, TestPhone>();
  const agents: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  const queues: Record<string, string> = {};
  let plainPhone: TestPhone;

  const stateOf = async (id: string): Promise<string> => {
    const s = (await t.api(`/api/v1/agents/${id}/state`)).body;
    return s.status === 'paused' ? `paused(${s.reason})` : s.status;
  };
  const entriesOf = async (callId: string) => (await sql<{ queue_id: string; outcome: string | null; answered_by: string | null; transferred_by: string | null; transferred_to: unknown }>`
    select queue_id, outcome, answered_by, transferred_by, transferred_to from queue_entries where call_id = ${callId} order by entered_at`.execute(t.app.database.db)).rows;
  const callEvents = async (callId: string) => (await t.api(`/api/v1/calls/${callId}`)).body.events as { type: string; detail: Record<string, unknown> }[];

  /** A caller in `ventas` answered by ana; returns both ends and the call id. */
  const answeredByAna = async (callerNumber: string): Promise<{ caller: Call; ana: Call; callId: string }> => {
    const ringing = desks.get('ana')!.waitForIncoming(10_000);
    const phone = await TestPhone.start({ user: callerNumber });
    phones.push(phone);
    const caller = await phone.call('5554101');
    const ana = await (await ringing).answer();
    await waitFor(async () => (await stateOf(agents.ana!)) === 'on_call', 5000, 'ana not on_call');
    const live = (await t.api('/api/v1/calls/live')).body as { id: string; callerNumber: string }[];
    const callId = live.find((c) => c.callerNumber === callerNumber)!.id;
    caller.playTone(440);
    await ana.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    caller.stopTone();
    return { caller, ana, callId };
  };

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    for (const [name, ext] of [['ana', '1005'], ['ben', '1006']] as const) {
      const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
      await phone.register();
      phones.push(phone);
      desks.set(name, phone);
      const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: ext, name, pin: '1234', extension: ext } });
      agents[name] = agent.body.id;
      tokens[name] = (await t.api('/api/v1/tokens', { method: 'POST', json: { name, role: 'agent', agentId: agent.body.id } })).body.token;
    }
    plainPhone = await TestPhone.start({ user: '1007', password: 'lab-1007' });
    await plainPhone.register();
    phones.push(plainPhone);
    for (const [name, member, extension] of [['ventas', 'ana', null], ['soporte', 'ben', '701']] as const) {
      const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name, strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 1, maxWaitSeconds: 120, extension } });
      assert.equal(queue.status, 201, JSON.stringify(queue.body));
      queues[name] = queue.body.id;
      await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: agents[member] }] } });
    }
    const taken = await t.api(`/api/v1/queues/${queues.ventas}`, { method: 'PATCH', json: { extension: '701' } });
    assert.equal(taken.status, 409, 'two queues cannot share a transfer extension');
    await routeDid(t, '5554101', { start: 'q', nodes: { q: { type: 'queue', queue: 'ventas' } } });
    for (const name of ['ana', 'ben']) assert.equal((await t.api(`/api/v1/agents/${agents[name]}/login`, { method: 'POST' })).status, 200);
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('## 701 # on the agent phone sends the caller to the soporte queue; both entries belong to the call', async () => {
    const { caller, ana, callId } = await answeredByAna('600500001');
    const benRings = desks.get('ben')!.waitForIncoming(10_000);
    await ana.sendDtmf('##701#');
    await ana.ended;
    await waitFor(async () => (await stateOf(agents.ana!)) !== 'on_call', 5000, 'ana still on_call after the transfer');
    assert.match(await stateOf(agents.ana!), /wrap_up|available/);
    const ben = await (await benRings).answer();
    caller.playTone(440);
    ben.playTone(1000);
    await ben.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    await caller.hangup();
    await ben.ended;
    await waitFor(async () => (await entriesOf(callId)).every((e) => e.outcome !== null), 5000, 'entries not closed');
    const [first, second] = await entriesOf(callId);
    assert.deepEqual(first, { queue_id: queues.ventas, outcome: 'transferred', answered_by: agents.ana, transferred_by: agents.ana, transferred_to: { queueId: queues.soporte } });
    assert.deepEqual(second, { queue_id: queues.soporte, outcome: 'answered', answered_by: agents.ben, transferred_by: null, transferred_to: null });
    const transferred = (await callEvents(callId)).find((e) => e.type === 'transferred');
    assert.equal(transferred?.detail.source, 'phone');
    await waitFor(async () => (await stateOf(agents.ana!)) === 'available' && (await stateOf(agents.ben!)) === 'available', 5000, 'agents not available after wrap-up');
  });

  it('a number that is neither a queue nor a phone: the agent hears an error and the call goes on', async () => {
    const { caller, ana, callId } = await answeredByAna('600500002');
    const mark = ana.mark();
    await ana.sendDtmf('##999#');
    await ana.waitForAudio({ since: mark, minMs: 300, timeoutMs: 5000 });
    caller.playTone(440);
    await ana.waitForTone(440, { timeoutMs: 10_000, threshold: 0.5 });
    assert.equal(await stateOf(agents.ana!), 'on_call');
    assert.ok(ana.isActive && caller.isActive, 'the call is still up');
    await caller.hangup();
    await ana.ended;
    await waitFor(async () => (await entriesOf(callId))[0]?.outcome === 'answered', 5000, 'entry not answered');
    await waitFor(async () => (await stateOf(agents.ana!)) === 'available', 5000, 'ana not available');
  });

  it('the API transfers to a phone: checks who may, then the phone rings and talks to the caller; the dial is on the call', async () => {
    const { caller, ana, callId } = await answeredByAna('600500003');
    const path = `/api/v1/calls/${callId}/transfer`;
    assert.equal((await t.api(path, { method: 'POST', json: { extension: '1007' }, token: tokens.ben })).status, 403, 'ben may not transfer ana\'s call');
    const noPhone = await t.api(path, { method: 'POST', json: { extension: '4999' }, token: tokens.ana });
    assert.equal(noPhone.status, 400);
    assert.match(noPhone.body.error.message, /extension/);
    const both = await t.api(path, { method: 'POST', json: { extension: '1007', queueId: queues.soporte }, token: tokens.ana });
    assert.equal(both.status, 400);
    const noQueue = await t.api(path, { method: 'POST', json: { queueId: 'no-such-queue' }, token: tokens.ana });
    assert.equal(noQueue.status, 400);
    assert.match(noQueue.body.error.message, /^body\/queueId: no queue with the id or name no-such-queue/);
    assert.equal((await t.api('/api/v1/calls/00000000-0000-4000-8000-000000000000/transfer', { method: 'POST', json: { extension: '1007' } })).status, 404);
    assert.equal(await stateOf(agents.ana!), 'on_call', 'refused transfers change nothing');

    const rings = plainPhone.waitForIncoming(10_000);
    const accepted = await t.api(path, { method: 'POST', json: { extension: '1007' }, token: tokens.ana });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    await ana.ended;
    const incoming = await rings;
    assert.equal(incoming.from.user, '600500003', 'the phone sees the caller');
    const desk = await incoming.answer();
    caller.playTone(440);
    desk.playTone(1000);
    await desk.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    await desk.hangup();
    await caller.ended;
    assert.equal((await t.api(path, { method: 'POST', json: { extension: '1007' } })).status, 409, 'an ended call cannot be transferred');
    await waitFor(async () => (await callEvents(callId)).some((e) => e.type === 'dial' && e.detail.status === 'ANSWER' && String(e.detail.peer).startsWith('PJSIP/1007')), 5000, 'the answered dial to 1007 is not on the call');
    const [entry] = await entriesOf(callId);
    assert.deepEqual(entry, { queue_id: queues.ventas, outcome: 'transferred', answered_by: agents.ana, transferred_by: agents.ana, transferred_to: { extension: '1007' } });
    const transferred = (await callEvents(callId)).find((e) => e.type === 'transferred');
    assert.equal(transferred?.detail.source, 'api');
  });
});
