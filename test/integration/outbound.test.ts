import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PstnEmulator, PSTN_VOICE_HZ } from '../phones/pstn.js';
import { TestPhone } from '../phones/sip-phone.js';
import { resetDatabase, startTestApp, waitFor, type TestApp } from '../support/harness.js';

const AGENT_HZ = 1000;

/** Click-to-call and `*` + number: the agent's phone first, then the PSTN emulator's number, heard both ways. */
describe('outbound calls on the lab: click-to-call and * + number', () => {
  let t: TestApp;
  let pstn: PstnEmulator;
  let desk: TestPhone;
  let agentId = '';
  let agentToken = '';
  let queueId = '';
  let otherAgentId = '';

  const stateOf = async (id: string): Promise<string> => {
    const s = (await t.api(`/api/v1/agents/${id}/state`)).body;
    return s.status === 'paused' ? `paused(${s.reason})` : s.status;
  };
  const outboundRow = async (callId: string) => (await t.api(`/api/v1/outbound-calls/${callId}`)).body;

  before(async () => {
    pstn = await PstnEmulator.start();
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    desk = await TestPhone.start({ user: '1008', password: 'lab-1008' });
    await desk.register();
    const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: '1008', name: 'olga', pin: '1234', extension: '1008', dialingRights: ['_0X.'] } });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    agentId = agent.body.id;
    agentToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'olga', role: 'agent', agentId } })).body.token;
    otherAgentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1009', name: 'pablo', pin: '1234', extension: '1009', dialingRights: ['_0X.'] } })).body.id;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'cobros', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 1, maxWaitSeconds: 120, recordingPolicy: 'always' } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    queueId = queue.body.id;
    assert.equal((await t.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' })).status, 200);
  });
  after(async () => {
    await desk?.close();
    await t?.stop();
    await pstn?.close();
  });

  it('click-to-call rings the agent, then the customer; both hear each other; recorded for the queue; counted as outbound', async () => {
    const ringing = desk.waitForIncoming(10_000);
    const placed = await t.api('/api/v1/calls', { method: 'POST', token: agentToken, json: { agentId, number: '06 1234 5670', queueId } });
    assert.equal(placed.status, 202, JSON.stringify(placed.body));
    const callId = placed.body.callId as string;
    const incoming = await ringing;
    assert.equal(incoming.from.user, '0612345670', 'the agent\'s phone shows the number it is about to call');
    assert.equal(await stateOf(agentId), 'ringing');
    const agentCall = await incoming.answer();
    const customer = await pstn.waitForCall('0612345670');
    assert.equal(customer.callerId, '34910000000', 'the customer sees the configured caller ID');
    assert.ok(customer.call, 'the person answered');
    await waitFor(async () => (await stateOf(agentId)) === 'on_call', 5000, 'agent not on_call');
    // The person's voice reaches the agent, and the agent's the person.
    await agentCall.waitForTone(PSTN_VOICE_HZ, { timeoutMs: 8000 });
    agentCall.playTone(AGENT_HZ);
    await customer.call.waitForTone(AGENT_HZ, { timeoutMs: 5000 });
    const call = (await t.api(`/api/v1/calls/${callId}`)).body;
    assert.equal(call.direction, 'outbound');
    assert.equal(call.calledNumber, '0612345670');
    await new Promise((r) => setTimeout(r, 1200));
    await agentCall.hangup();
    await waitFor(async () => (await outboundRow(callId)).outcome === 'answered', 5000, 'outbound call not ended');
    const row = await outboundRow(callId);
    assert.equal(row.endedBy, 'agent');
    assert.equal(row.origin, 'api');
    assert.ok(row.talkSeconds >= 1, `talk time ${row.talkSeconds}`);
    await customer.call.ended;
    // The queue's wrap-up, then available.
    await waitFor(async () => (await stateOf(agentId)) === 'available', 5000, 'agent not back to available after wrap-up');
    await waitFor(async () => {
      const recs = (await t.api(`/api/v1/recordings?call=${callId}`)).body as { status: string }[];
      return recs.length === 1 && recs[0]!.status === 'complete';
    }, 10_000, 'the outbound call was not recorded');
  });

  it('a busy number: the agent hears why, the call ends busy, the agent is available again', async () => {
    const ringing = desk.waitForIncoming(10_000);
    const placed = await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number: '0612345671' } });
    assert.equal(placed.status, 202, JSON.stringify(placed.body));
    const agentCall = await (await ringing).answer();
    const mark = agentCall.mark();
    await pstn.waitForCall('0612345671');
    await agentCall.waitForAudio({ since: mark, timeoutMs: 5000, minMs: 300 });
    await agentCall.ended;
    await waitFor(async () => (await outboundRow(placed.body.callId)).outcome === 'busy', 5000, 'outcome not busy');
    await waitFor(async () => (await stateOf(agentId)) === 'available', 5000, 'agent not available');
  });

  it('refuses what it must: outside the dialing rights (403, nothing dialled), another agent\'s phone (403), unknown agent (404)', async () => {
    const before = pstn.calls.length;
    const outside = await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number: '+34612345670' } });
    assert.equal(outside.status, 403);
    assert.match(outside.body.error.message, /dialing rights/);
    const notMine = await t.api('/api/v1/calls', { method: 'POST', token: agentToken, json: { agentId: otherAgentId, number: '0612345670' } });
    assert.equal(notMine.status, 403);
    const unknown = await t.api('/api/v1/calls', { method: 'POST', json: { agentId: '00000000-0000-4000-8000-000000000000', number: '0612345670' } });
    assert.equal(unknown.status, 404);
    const loggedOut = await t.api('/api/v1/calls', { method: 'POST', json: { agentId: otherAgentId, number: '0612345670' } });
    assert.equal(loggedOut.status, 409);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(pstn.calls.length, before, 'nothing was dialled');
    assert.equal(await stateOf(agentId), 'available');
  });

  it('* + number on the desk phone calls the customer; the customer hangs up and the agent\'s call ends', async () => {
    const agentCall = await desk.call('*0612345678');
    const customer = await pstn.waitForCall('0612345678');
    assert.ok(customer.call);
    await agentCall.waitForTone(PSTN_VOICE_HZ, { timeoutMs: 8000 });
    agentCall.playTone(AGENT_HZ);
    await customer.call.waitForTone(AGENT_HZ, { timeoutMs: 5000 });
    await waitFor(async () => (await stateOf(agentId)) === 'on_call', 5000, 'agent not on_call');
    const [row] = (await t.api(`/api/v1/outbound-calls?agentId=${agentId}&limit=1`)).body;
    assert.equal(row.origin, 'phone');
    assert.equal(row.number, '0612345678');
    await customer.call.hangup();
    await agentCall.ended;
    await waitFor(async () => (await outboundRow(row.callId)).endedBy === 'customer', 5000, 'not ended by the customer');
    await waitFor(async () => (await stateOf(agentId)) === 'available', 5000, 'agent not available');
  });

  it('a restart of centralita mid-call: the call goes on, the agent stays on_call, and its end is recorded', async () => {
    const ringing = desk.waitForIncoming(10_000);
    const placed = await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number: '0612345679' } });
    assert.equal(placed.status, 202, JSON.stringify(placed.body));
    const agentCall = await (await ringing).answer();
    const customer = await pstn.waitForCall('0612345679');
    await agentCall.waitForTone(PSTN_VOICE_HZ, { timeoutMs: 8000 });
    await t.stop();
    t = await startTestApp();
    // Still talking both ways, and the agent is still on the call.
    agentCall.playTone(AGENT_HZ);
    await customer.call!.waitForTone(AGENT_HZ, { timeoutMs: 5000 });
    await agentCall.waitForTone(PSTN_VOICE_HZ, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await stateOf(agentId), 'on_call', 'the reconciliation left the agent on the call');
    await customer.call!.hangup();
    await agentCall.ended;
    await waitFor(async () => (await outboundRow(placed.body.callId)).endedBy === 'customer', 5000, 'the end after the restart not recorded');
    assert.equal((await outboundRow(placed.body.callId)).outcome, 'answered');
    await waitFor(async () => (await stateOf(agentId)) === 'available', 5000, 'agent not available after the call');
  });

  it('callbacks are dialled: a free agent of the queue is rung first; a busy number is tried again, then fails; a person is done', async () => {
    assert.equal((await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { callbackMaxAttempts: 2, callbackRetryMinutes: 0 } })).status, 200);
    await t.api(`/api/v1/queues/${queueId}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    const callbacks = async () => (await t.api(`/api/v1/queues/${queueId}/callbacks`)).body as { id: string; callerNumber: string; status: string; attempts: number; lastOutcome: string | null; lastCallId: string | null }[];
    // A busy number: two calls (the queue's attempts), then failed. The agent answers each time and hears why.
    const busy = await t.api(`/api/v1/queues/${queueId}/callbacks/scheduled`, { method: 'POST', token: agentToken, json: { number: '0612345671', agentId } });
    assert.equal(busy.status, 201, JSON.stringify(busy.body));
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const incoming = await desk.waitForIncoming(15_000);
      assert.equal(incoming.from.user, '0612345671');
      const call = await incoming.answer();
      await call.ended;
    }
    await waitFor(async () => (await callbacks()).find((c) => c.id === busy.body.id)?.status === 'failed', 10_000, 'the busy callback did not fail');
    const failed = (await callbacks()).find((c) => c.id === busy.body.id)!;
    assert.deepEqual([failed.attempts, failed.lastOutcome], [2, 'busy']);
    assert.equal(pstn.calls.filter((c) => c.number === '0612345671').length, 3, 'one busy call from the earlier test and two for the callback');
    // A person: heard both ways, then done.
    const person = await t.api(`/api/v1/queues/${queueId}/callbacks/scheduled`, { method: 'POST', json: { number: '0612345689' } });
    assert.equal(person.status, 201, JSON.stringify(person.body));
    const agentCall = await (await desk.waitForIncoming(15_000)).answer();
    const customer = await pstn.waitForCall('0612345689');
    await agentCall.waitForTone(PSTN_VOICE_HZ, { timeoutMs: 8000 });
    agentCall.playTone(AGENT_HZ);
    await customer.call!.waitForTone(AGENT_HZ, { timeoutMs: 5000 });
    await agentCall.hangup();
    await waitFor(async () => (await callbacks()).find((c) => c.id === person.body.id)?.status === 'done', 10_000, 'the callback not done');
    const done = (await callbacks()).find((c) => c.id === person.body.id)!;
    assert.equal((await outboundRow(done.lastCallId!)).origin, 'callback');
    await waitFor(async () => (await stateOf(agentId)) === 'available', 5000, 'agent not available');
  });

  it('* + a number outside the dialing rights is refused aloud and nothing is dialled', async () => {
    const before = pstn.calls.length;
    const agentCall = await desk.call('*612345670');
    await agentCall.waitForAudio({ timeoutMs: 5000, minMs: 300 });
    await agentCall.ended;
    assert.equal(pstn.calls.length, before);
  });

  it('a number on the global do-not-call list is refused: 409 by the API, spoken on the desk phone, nothing dialled', async () => {
    assert.equal((await t.api('/api/v1/dnc', { method: 'POST', json: { number: '+34612345677' } })).status, 201);
    const before = pstn.calls.length;
    const refused = await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number: '0612345677' } });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /do-not-call/);
    const played: string[] = [];
    const stopWatching = t.app.ari.on('PlaybackFinished', (event) => { played.push(event.playback.media_uri); });
    try {
      const agentCall = await desk.call('*0612345677');
      await agentCall.waitForAudio({ timeoutMs: 5000, minMs: 300 });
      await agentCall.ended;
      await waitFor(() => played.length > 0, 2000, 'no prompt finished');
    } finally {
      stopWatching();
    }
    assert.deepEqual(played, ['sound:centralita/outbound-do-not-call']);
    assert.equal(pstn.calls.length, before, 'nothing was dialled');
    // The phone has its BYE a moment before centralita has handled the channel's end.
    await waitFor(async () => (await stateOf(agentId)) === 'available', 5000, 'the agent is not available again');
    assert.equal((await t.api('/api/v1/dnc/+34612345677', { method: 'DELETE' })).status, 204);
  });
});
