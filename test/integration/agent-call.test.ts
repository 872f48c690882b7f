import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { toneLevels } from '../phones/audio.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The lab's `lab-tone` music class (config/asterisk/musiconhold.conf) is a 600 Hz tone. */
const musicHz = 600;

/**
 * The agent's call on the lab (issue 23): hold by the phone's key and by the
 * API, wrap-up codes (API and *49 on the phone, a required code holding the
 * wrap-up), a supervisor forcing states, and auto-pause after N misses.
 * Audio is checked at the phones.
 */
describe('the agent handles the call: hold, wrap-up codes, forced states, missed offers', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let desk: TestPhone;
  let agentId = '';
  let agentToken = '';
  let otherToken = '';
  let queueId = '';

  const stateOf = async (): Promise<string> => {
    const s = (await t.api(`/api/v1/agents/${agentId}/state`)).body;
    return s.status === 'paused' ? `paused(${s.reason})` : s.status;
  };
  const entryOf = async (callId: string) => (await sql<{ hold_count: number; hold_seconds: number; hold_started_at: Date | null; disposition: string | null; disposition_note: string | null }>`
    select hold_count, hold_seconds, hold_started_at, disposition, disposition_note from queue_entries where call_id = ${callId}`.execute(t.app.database.db)).rows[0];
  const callEvents = async (callId: string) => ((await t.api(`/api/v1/calls/${callId}`)).body.events as { type: string; detail: Record<string, unknown> }[]);

  /** A caller answered by the agent, both ways heard; the call's id. */
  const answered = async (callerNumber: string): Promise<{ caller: Call; agent: Call; callId: string }> => {
    const ringing = desk.waitForIncoming(10_000);
    const phone = await TestPhone.start({ user: callerNumber });
    phones.push(phone);
    const caller = await phone.call('5554201');
    const agent = await (await ringing).answer();
    await waitFor(async () => (await stateOf()) === 'on_call', 5000, 'agent not on_call');
    const live = (await t.api('/api/v1/calls/live')).body as { id: string; callerNumber: string }[];
    const callId = live.find((c) => c.callerNumber === callerNumber)!.id;
    caller.playTone(440);
    await agent.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    caller.stopTone();
    return { caller, agent, callId };
  };

  /** A lab desk phone registered for this test (closed with the others at the end). */
  const registered = async (user: string): Promise<TestPhone> => {
    const phone = await TestPhone.start({ user, password: `lab-${user}` });
    await phone.register();
    phones.push(phone);
    return phone;
  };
  /** The call's queue entry once it is closed: its outcome and where it was transferred. */
  const closedEntry = (callId: string) => waitFor(async () => (await sql<{ outcome: string | null; transferred_to: unknown }>`
    select outcome, transferred_to from queue_entries where call_id = ${callId}`.execute(t.app.database.db)).rows.find((e) => e.outcome), 5000, 'entry not closed');
  /** The call's `transferred` event, once written. */
  const transferEvent = (callId: string) => waitFor(async () => (await callEvents(callId)).find((e) => e.type === 'transferred'), 5000, 'no transfer on the call');

  /** What `phone` hears for `ms`, from now. */
  const listen = async (call: Call, ms: number): Promise<Int16Array> => {
    const mark = call.mark();
    await sleep(ms);
    return call.receivedSince(mark);
  };

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    desk = await TestPhone.start({ user: '1005', password: 'lab-1005' });
    await desk.register();
    phones.push(desk);
    agentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1005', name: 'ana', pin: '1234', extension: '1005' } })).body.id;
    const other = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1006', name: 'ben', pin: '1234', extension: '1006' } })).body.id;
    agentToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'ana', role: 'agent', agentId } })).body.token;
    otherToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'ben', role: 'agent', agentId: other } })).body.token;
    const queue = await t.api('/api/v1/queues', {
      method: 'POST',
      json: {
        name: 'cobros', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 1, maxWaitSeconds: 300, musicOnHold: 'lab-tone',
        dispositions: [{ code: '1', label: 'Pago acordado', outcome: 'done' }, { code: '2', label: 'Reclamación', requiresNote: true }],
      },
    });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    queueId = queue.body.id;
    await t.api(`/api/v1/queues/${queueId}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    await routeDid(t, '5554201', { start: 'q', nodes: { q: { type: 'queue', queue: 'cobros' } } });
    assert.equal((await t.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' })).status, 200);
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it("holds by the phone's HOLD key and by the API: the caller hears the queue's music, never the agent; hold is stored and shown", async () => {
    const { caller, agent, callId } = await answered('600700001');
    // The phone's key: a re-INVITE sendonly. The agent keeps talking: the caller must not hear it.
    agent.playTone(1000);
    await agent.hold();
    await caller.waitForTone(musicHz, { timeoutMs: 5000, threshold: 0.5 });
    const onHold = await listen(caller, 1500);
    const [music, agentVoice] = toneLevels(onHold, [musicHz, 1000]);
    assert.ok(music! > 0.5 && agentVoice! < 0.05, `on hold the caller hears the queue's music only (600 Hz ${music}, agent ${agentVoice})`);
    assert.equal(await stateOf(), 'on_call', 'the agent stays on_call while the caller is on hold');
    const live = await waitFor(async () => ((await t.api('/api/v1/stats/live')).body.calls as { callId: string; holdSince: string | null }[])
      .find((c) => c.callId === callId && c.holdSince !== null), 5000, 'the wallboard does not show the hold');
    assert.ok(live.holdSince);
    await agent.unhold();
    await caller.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    agent.stopTone();

    // The API (the desk page's button): only the call's own agent, once.
    const path = `/api/v1/calls/${callId}/hold`;
    assert.equal((await t.api(path, { method: 'POST', token: otherToken })).status, 403, "another agent may not hold ana's call");
    assert.equal((await t.api('/api/v1/calls/00000000-0000-4000-8000-000000000000/hold', { method: 'POST', token: agentToken })).status, 404);
    assert.equal((await t.api(`/api/v1/calls/${callId}/unhold`, { method: 'POST', token: agentToken })).status, 409, 'not on hold');
    assert.equal((await t.api(path, { method: 'POST', token: agentToken })).status, 204);
    assert.equal((await t.api(path, { method: 'POST', token: agentToken })).status, 409, 'on hold already');
    caller.playTone(440);
    agent.playTone(1000);
    await caller.waitForTone(musicHz, { timeoutMs: 5000, threshold: 0.5 });
    const [callerHears] = toneLevels(await listen(caller, 1500), [1000]);
    const [agentHears] = toneLevels(await listen(agent, 1500), [440]);
    assert.ok(callerHears! < 0.05 && agentHears! < 0.05, `neither hears the other on hold (caller hears agent ${callerHears}, agent hears caller ${agentHears})`);
    assert.equal((await t.api(`/api/v1/calls/${callId}/unhold`, { method: 'POST', token: agentToken })).status, 204);
    await caller.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    await agent.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    caller.stopTone();
    agent.stopTone();

    // Wrap-up codes during the call: the queue's codes only, a note where the code asks for one.
    const disposition = `/api/v1/calls/${callId}/disposition`;
    const unknown = await t.api(disposition, { method: 'PUT', json: { code: '9' }, token: agentToken });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /body\/code/);
    const noNote = await t.api(disposition, { method: 'PUT', json: { code: '2' }, token: agentToken });
    assert.equal(noNote.status, 400);
    assert.match(noNote.body.error.message, /body\/note/);
    assert.equal((await t.api(disposition, { method: 'PUT', json: { code: '2', note: 'factura duplicada' }, token: otherToken })).status, 403);
    assert.equal((await t.api(disposition, { method: 'PUT', json: { code: '2', note: 'factura duplicada' }, token: agentToken })).status, 200);
    await caller.hangup();
    await agent.ended;

    const entry = await waitFor(async () => {
      const row = await entryOf(callId);
      return row && Number(row.hold_seconds) > 0 && row.disposition ? row : undefined;
    }, 5000, 'hold and code not stored');
    assert.equal(entry.hold_count, 2);
    assert.ok(Number(entry.hold_seconds) >= 3 && Number(entry.hold_seconds) < 20, `hold seconds ${entry.hold_seconds}`);
    assert.equal(entry.hold_started_at, null);
    assert.deepEqual([entry.disposition, entry.disposition_note], ['2', 'factura duplicada']);
    const types = await waitFor(async () => {
      const listed = (await callEvents(callId)).map((e) => e.type).filter((type) => ['hold', 'unhold', 'disposition'].includes(type));
      return listed.length === 5 ? listed : undefined;
    }, 5000, 'the call does not list its holds and code');
    assert.deepEqual(types, ['hold', 'unhold', 'hold', 'unhold', 'disposition']);
    await waitFor(async () => (await stateOf()) === 'available', 5000, 'agent not available after wrap-up');
  });

  it("the phone's TRANSFER key (a blind REFER) sends the caller on to another phone; the transfer is on the entry", async () => {
    const other = await registered('1007');
    const { caller, agent, callId } = await answered('600700006');
    const rings = other.waitForIncoming(10_000);
    assert.equal(await agent.refer('1007'), 202, 'Asterisk accepts the REFER');
    await agent.ended;
    const colleague = await (await rings).answer();
    caller.playTone(440);
    colleague.playTone(1000);
    await colleague.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    await caller.hangup();
    await colleague.ended;
    assert.deepEqual(await closedEntry(callId), { outcome: 'transferred', transferred_to: { extension: '1007' } });
    assert.equal((await transferEvent(callId)).detail.source, 'refer');
    await other.close();
    await waitFor(async () => (await stateOf()) === 'available', 5000, 'agent not available after the transfer');
  });

  it("the phone's own attended transfer: HOLD, a call to a colleague from the desk phone, then TRANSFER (REFER with Replaces)", async () => {
    const colleaguePhone = await registered('1007');
    const { caller, agent, callId } = await answered('600700009');
    caller.playTone(440);
    await agent.hold();
    await caller.waitForTone(musicHz, { timeoutMs: 5000, threshold: 0.5 });
    const rings = colleaguePhone.waitForIncoming(10_000);
    const dialling = desk.call('1007');
    const colleague = await (await rings).answer();
    const consultCall = await dialling;
    colleague.playTone(1400);
    consultCall.playTone(1000);
    await colleague.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    assert.equal(await agent.refer(consultCall), 202, 'Asterisk accepts the REFER');
    await agent.ended;
    await consultCall.ended;
    await caller.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });
    await colleague.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.hangup();
    await colleague.ended;
    assert.deepEqual(await closedEntry(callId), { outcome: 'transferred', transferred_to: { extension: '1007' } });
    assert.equal((await transferEvent(callId)).detail.source, 'refer');
    // The colleague's channel, made by the desk phone, became a call of its own tied to the caller's.
    const leg = await waitFor(async () => ((await t.api(`/api/v1/calls/${callId}`)).body.legs as { calledNumber: string; answeredAt: string | null; endedAt: string | null }[])
      .find((l) => l.endedAt !== null), 5000, 'the colleague\'s leg is not an ended call of the caller\'s');
    assert.equal(leg.calledNumber, '1007');
    assert.ok(leg.answeredAt);
    await colleaguePhone.close();
    await waitFor(async () => (await stateOf()) === 'available', 8000, 'agent not available');
  });

  it("transfers to external numbers only within the agent's dialing rights, keyed or by the API", async () => {
    const pstn = await TestPhone.start({ user: 'pstn', password: 'lab-pstn' });
    await pstn.register();
    phones.push(pstn);
    assert.equal((await t.api(`/api/v1/agents/${agentId}`, { method: 'PATCH', json: { dialingRights: ['_09XXXXXXXX'] } })).status, 200);
    try {
      // Outside the rights: refused by the API (403) and on the phone (the agent hears "invalid"); the caller stays with the agent.
      const first = await answered('600700012');
      const refused = await t.api(`/api/v1/calls/${first.callId}/transfer`, { method: 'POST', json: { number: '0044123456' }, token: agentToken });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.match(refused.body.error.message, /body\/number: 0044123456 .*dialing rights/);
      await first.agent.sendDtmf('##0044123456#');
      await sleep(1500);
      first.caller.playTone(440);
      await first.agent.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
      assert.equal(await stateOf(), 'on_call', 'the caller is still with the agent');

      // Within the rights, keyed: the caller goes out to the number (the lab's PSTN phone), the agent to wrap-up.
      const rings = pstn.waitForIncoming(10_000);
      await first.agent.sendDtmf('##0911222333#');
      const outside = await (await rings).answer();
      await first.agent.ended;
      outside.playTone(1400);
      await outside.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
      await first.caller.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });
      await first.caller.hangup();
      await outside.ended;
      assert.deepEqual(await closedEntry(first.callId), { outcome: 'transferred', transferred_to: { external: '0911222333' } });
      assert.equal((await transferEvent(first.callId)).detail.source, 'phone');
      await waitFor(async () => (await stateOf()) === 'available', 8000, 'agent not available');

      // Within the rights, by the API (the desk page's transfer box).
      const second = await answered('600700013');
      const ringsAgain = pstn.waitForIncoming(10_000);
      assert.equal((await t.api(`/api/v1/calls/${second.callId}/transfer`, { method: 'POST', json: { number: '0911222444' }, token: agentToken })).status, 202);
      const outsideAgain = await (await ringsAgain).answer();
      await second.agent.ended;
      await second.caller.hangup();
      await outsideAgain.ended;
      assert.deepEqual(await closedEntry(second.callId), { outcome: 'transferred', transferred_to: { external: '0911222444' } });
      await waitFor(async () => (await stateOf()) === 'available', 8000, 'agent not available');
    } finally {
      await t.api(`/api/v1/agents/${agentId}`, { method: 'PATCH', json: { dialingRights: [] } });
    }
  });

  it('consults a colleague (the caller hears music, not the consult), goes back, brings all three together, then hands the caller over', async () => {
    const colleaguePhone = await registered('1007');
    const { caller, agent, callId } = await answered('600700007');
    const path = (what: string) => `/api/v1/calls/${callId}/${what}`;
    assert.equal((await t.api(path('consult/complete'), { method: 'POST', token: agentToken })).status, 409, 'no consult yet');
    assert.equal((await t.api(path('consult'), { method: 'POST', json: { extension: '4999' }, token: agentToken })).status, 400, 'no such phone');
    caller.playTone(440);
    agent.playTone(1000);

    const consult = async (): Promise<Call> => {
      const rings = colleaguePhone.waitForIncoming(10_000);
      assert.equal((await t.api(path('consult'), { method: 'POST', json: { extension: '1007' }, token: agentToken })).status, 202);
      const colleague = await (await rings).answer();
      colleague.playTone(1400);
      await colleague.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
      await agent.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });
      return colleague;
    };
    const first = await consult();
    await caller.waitForTone(musicHz, { timeoutMs: 5000, threshold: 0.5 });
    const [music, agentSide, colleagueSide] = toneLevels(await listen(caller, 1500), [musicHz, 1000, 1400]);
    assert.ok(music! > 0.5 && agentSide! < 0.05 && colleagueSide! < 0.05, `the caller hears the music only (${music}, ${agentSide}, ${colleagueSide})`);
    assert.equal(await stateOf(), 'on_call');
    assert.equal((await t.api(path('consult'), { method: 'POST', json: { extension: '1007' }, token: agentToken })).status, 409, 'one consult at a time');
    assert.equal((await t.api(path('transfer'), { method: 'POST', json: { extension: '1007' }, token: agentToken })).status, 409, 'no blind transfer during a consult');

    // Back to the caller: the colleague's call ends, agent and caller hear each other.
    assert.equal((await t.api(path('consult/cancel'), { method: 'POST', token: agentToken })).status, 204);
    await first.ended;
    await caller.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    await agent.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });

    // A conference: each hears the other two.
    const second = await consult();
    assert.equal((await t.api(path('consult/conference'), { method: 'POST', token: agentToken })).status, 204);
    await caller.waitForTone(1000, { timeoutMs: 5000, threshold: 0.2 });
    await caller.waitForTone(1400, { timeoutMs: 5000, threshold: 0.2 });
    await agent.waitForTone(440, { timeoutMs: 5000, threshold: 0.2 });
    await second.waitForTone(440, { timeoutMs: 5000, threshold: 0.2 });

    // Handed over: the agent leaves to wrap-up; caller and colleague hear each other.
    assert.equal((await t.api(path('consult/complete'), { method: 'POST', token: agentToken })).status, 204);
    await agent.ended;
    const [callerHearsColleague] = toneLevels(await listen(caller, 1500), [1400]);
    assert.ok(callerHearsColleague! > 0.5, `the caller hears the colleague only (${callerHearsColleague})`);
    await second.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await waitFor(async () => ['wrap_up', 'available'].includes(await stateOf()), 5000, 'the agent is not out of the call');
    await caller.hangup();
    await second.ended;
    assert.deepEqual(await closedEntry(callId), { outcome: 'transferred', transferred_to: { extension: '1007' } });
    const steps = await waitFor(async () => {
      const listed = (await callEvents(callId)).map((e) => e.type).filter((type) => type.startsWith('consult') || type === 'conference');
      return listed.length >= 6 ? listed : undefined;
    }, 5000, 'the consult steps are not on the call');
    assert.deepEqual(steps, ['consult', 'consult_answered', 'consult_cancelled', 'consult', 'consult_answered', 'conference', 'consult_completed']);
    await colleaguePhone.close();
    await waitFor(async () => (await stateOf()) === 'available', 5000, 'agent not available');
  });

  it('an agent who hangs up while talking to the consulted colleague hands the caller over', async () => {
    const colleaguePhone = await registered('1007');
    const { caller, agent, callId } = await answered('600700010');
    const rings = colleaguePhone.waitForIncoming(10_000);
    assert.equal((await t.api(`/api/v1/calls/${callId}/consult`, { method: 'POST', json: { extension: '1007' }, token: agentToken })).status, 202);
    const colleague = await (await rings).answer();
    colleague.playTone(1400);
    await agent.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });
    await agent.hangup();
    caller.playTone(440);
    await caller.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });
    await colleague.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.hangup();
    await colleague.ended;
    await colleaguePhone.close();
    await waitFor(async () => (await stateOf()) === 'available', 8000, 'agent not available');
  });

  it("consults a queue: its free agent is rung and kept off calls, the leg is a call of its own, and the agent who took the caller wraps up", async () => {
    const benPhone = await registered('1006');
    const ben = (await t.api('/api/v1/agents')).body.find((a: { number: string }) => a.number === '1006').id as string;
    const benState = async (): Promise<string> => {
      const s = (await t.api(`/api/v1/agents/${ben}/state`)).body;
      return s.status === 'paused' ? `paused(${s.reason})` : s.status;
    };
    const soporte = await t.api('/api/v1/queues', {
      method: 'POST', json: { name: 'soporte', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 2, maxWaitSeconds: 300, extension: '7702' },
    });
    assert.equal(soporte.status, 201, JSON.stringify(soporte.body));
    await t.api(`/api/v1/queues/${soporte.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }, { agentId: ben }] } });
    assert.equal((await t.api(`/api/v1/agents/${ben}/login`, { method: 'POST' })).status, 200);
    assert.equal((await t.api(`/api/v1/agents/${ben}/pause`, { method: 'POST', json: { reason: 'break' } })).status, 200);
    const { caller, agent, callId } = await answered('600700011');
    const path = (what: string) => `/api/v1/calls/${callId}/${what}`;
    // Ben is paused and ana is on this call: nobody of soporte is free.
    const none = await t.api(path('consult'), { method: 'POST', json: { queueId: 'soporte' }, token: agentToken });
    assert.equal(none.status, 409, JSON.stringify(none.body));
    assert.match(none.body.error.message, /nobody in queue soporte is free/);
    assert.equal((await t.api(path('consult'), { method: 'POST', json: { queueId: 'nada' }, token: agentToken })).status, 400, 'no such queue');
    assert.equal((await t.api(`/api/v1/agents/${ben}/ready`, { method: 'POST' })).status, 200);

    // The queue's extension, as an agent would key it: ben's phone rings, ben is held for the consult.
    const rings = benPhone.waitForIncoming(10_000);
    assert.equal((await t.api(path('consult'), { method: 'POST', json: { extension: '7702' }, token: agentToken })).status, 202);
    const incoming = await rings;
    assert.equal(await benState(), 'ringing', 'the consulted agent is held while the phone rings');
    const colleague = await incoming.answer();
    await waitFor(async () => (await benState()) === 'on_call', 5000, 'the consulted agent is not on_call');
    agent.playTone(1000);
    colleague.playTone(1400);
    await colleague.waitForTone(1000, { timeoutMs: 5000, threshold: 0.5 });
    await agent.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });

    // The colleague's leg is a call of its own, tied to the caller's.
    const leg = await waitFor(async () => ((await t.api(`/api/v1/calls/${callId}`)).body.legs as { id: string; parentCallId: string; calledNumber: string; answeredAt: string | null; direction: string }[])
      .find((l) => l.answeredAt !== null), 5000, 'the consult leg is not a call of the caller\'s');
    assert.equal(leg.parentCallId, callId);
    assert.equal(leg.calledNumber, '1006');
    assert.equal(leg.direction, 'internal');

    // Handed over: ana to wrap-up; the caller and ben hear each other; ben stays on_call, then wraps up.
    assert.equal((await t.api(path('consult/complete'), { method: 'POST', token: agentToken })).status, 204);
    await agent.ended;
    caller.playTone(440);
    await colleague.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });
    assert.equal(await benState(), 'on_call', 'ben is on the call he took');
    // A restart of centralita: the handed-over call is taken up again, ben stays on it (not ended, not freed).
    await t.stop();
    t = await startTestApp();
    await t.app.agents.load();
    const reconciled = await waitFor(() => t.app.queues.lastReconcile, 10_000, 'the new process did not reconcile the queues');
    assert.ok(reconciled.adopted >= 1, `the handed-over call is taken up (${JSON.stringify(reconciled)})`);
    assert.equal(await benState(), 'on_call', 'ben is still on the call after a restart');
    assert.ok(caller.isActive && colleague.isActive, 'nobody was hung up by the restart');
    await colleague.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.hangup();
    await colleague.ended;
    await waitFor(async () => (await benState()) === 'wrap_up', 5000, 'the agent who took the caller does not wrap up');
    assert.deepEqual(await closedEntry(callId), { outcome: 'transferred', transferred_to: { queueId: soporte.body.id, extension: '1006', agentId: ben } });
    const ended = await waitFor(async () => (await t.api(`/api/v1/calls/${leg.id}`)).body.endedAt as string | null, 5000, 'the leg\'s call is not ended');
    assert.ok(ended);
    await waitFor(async () => (await benState()) === 'available', 8000, 'ben not available after wrap-up');
    assert.equal((await t.api(`/api/v1/agents/${ben}/logout`, { method: 'POST' })).status, 200);
    await benPhone.close();
    await waitFor(async () => (await stateOf()) === 'available', 8000, 'agent not available');
  });

  it('a supervisor barging in takes the call over: the agent drops to wrap-up, the supervisor stays with the caller (audited)', async () => {
    const supervisorId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '2001', name: 'Sofía', pin: '1234', extension: '2001', isSupervisor: true } })).body.id;
    const supervisorDesk = await registered('2001');
    const { caller, agent, callId } = await answered('600700008');
    const rings = supervisorDesk.waitForIncoming(10_000);
    const started = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId, callId, mode: 'listen' } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id as string;
    const supervisor = await (await rings).answer();
    supervisor.playTone(1400);
    await waitFor(async () => (await t.api(`/api/v1/monitor/${id}`)).body.status === 'active', 5000, 'session not active');
    assert.equal((await t.api(`/api/v1/monitor/${id}/take-over`, { method: 'POST' })).status, 409, 'only from barge');
    assert.equal((await t.api(`/api/v1/monitor/${id}`, { method: 'PATCH', json: { mode: 'barge' } })).status, 200);
    caller.playTone(440);
    await caller.waitForTone(1400, { timeoutMs: 5000, threshold: 0.2 });
    const taken = await t.api(`/api/v1/monitor/${id}/take-over`, { method: 'POST' });
    assert.equal(taken.status, 200, JSON.stringify(taken.body));
    await agent.ended;
    await supervisor.waitForTone(440, { timeoutMs: 5000, threshold: 0.5 });
    await caller.waitForTone(1400, { timeoutMs: 5000, threshold: 0.5 });
    await waitFor(async () => ['wrap_up', 'available'].includes(await stateOf()), 5000, 'the agent is still on the call');
    const session = await waitFor(async () => {
      const body = (await t.api(`/api/v1/monitor/${id}`)).body;
      return body.endReason === 'taken_over' ? body : undefined;
    }, 5000, 'the session is not ended as taken_over');
    assert.equal(session.status, 'ended');
    await caller.hangup();
    await supervisor.ended;
    assert.equal((await transferEvent(callId)).detail.source, 'take_over');
    await supervisorDesk.close();
    await waitFor(async () => (await stateOf()) === 'available', 5000, 'agent not available');
  });

  it('a required wrap-up code holds the wrap-up until *49 code on the phone sets it, or records none at the maximum', async () => {
    const patched = await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { dispositionRequired: true, dispositionMaxSeconds: 10 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const first = await answered('600700002');
    await first.caller.hangup();
    await first.agent.ended;
    await waitFor(async () => (await stateOf()) === 'wrap_up', 5000, 'agent not in wrap-up');
    await sleep(1500); // past the usual 1 s wrap-up: held by the missing code
    assert.equal(await stateOf(), 'wrap_up');
    const ready = await t.api(`/api/v1/agents/${agentId}/ready`, { method: 'POST', token: agentToken });
    assert.equal(ready.status, 409, 'the agent cannot leave wrap-up without the code');
    // The phone: a code the queue does not have is refused aloud, and nothing changes.
    const wrong = await desk.call('*497');
    await wrong.waitForAudio({ minMs: 500, timeoutMs: 5000 });
    await wrong.ended;
    assert.equal(await stateOf(), 'wrap_up');
    const right = await desk.call('*491');
    await right.waitForAudio({ minMs: 500, timeoutMs: 5000 });
    await right.ended;
    await waitFor(async () => (await stateOf()) === 'available', 3000, 'agent not available once the code was set');
    await waitFor(async () => (await entryOf(first.callId))?.disposition === '1', 3000, 'code keyed on the phone not stored');
    const keyed = await waitFor(async () => (await callEvents(first.callId)).find((e) => e.type === 'disposition'), 5000, 'no disposition event on the call');
    assert.equal(keyed.detail.source, 'phone');

    const second = await answered('600700003');
    await second.caller.hangup();
    await second.agent.ended;
    await waitFor(async () => (await stateOf()) === 'wrap_up', 5000, 'agent not in wrap-up');
    await waitFor(async () => (await stateOf()) === 'available', 15_000, 'wrap-up did not end at its maximum');
    await waitFor(async () => (await entryOf(second.callId))?.disposition === 'none', 3000, 'none not recorded at the maximum');
    await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { dispositionRequired: false } });
  });

  it('a supervisor forces states (audited, the phone told at the next call); an agent is paused only after N missed offers', async () => {
    const force = `/api/v1/agents/${agentId}/force`;
    assert.equal((await t.api(force, { method: 'POST', json: { state: 'paused', reason: 'break', why: 'x' }, token: agentToken })).status, 403);
    const badReason = await t.api(force, { method: 'POST', json: { state: 'paused', reason: 'rona', why: 'x' } });
    assert.equal(badReason.status, 400);
    assert.match(badReason.body.error.message, /body\/reason/);
    const noWhy = await t.api(force, { method: 'POST', json: { state: 'available' } });
    assert.equal(noWhy.status, 400);
    const paused = await t.api(force, { method: 'POST', json: { state: 'paused', reason: 'break', why: 'reunión de equipo' } });
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(await stateOf(), 'paused(break)');
    assert.equal((await t.api(force, { method: 'POST', json: { state: 'available', why: 'fin de la reunión' } })).status, 200);
    type Change = { to: string; source: string; forcedBy?: string; forcedWhy?: string };
    const forced = await waitFor(async () => {
      const changes = ((await t.api(`/api/v1/agents/${agentId}/timeline`)).body as Change[]).filter((e) => e.source === 'supervisor');
      return changes.length === 2 ? changes : undefined;
    }, 5000, 'the forced changes are not in the timeline');
    assert.deepEqual(forced.map((e) => [e.to, e.forcedWhy]), [['paused(break)', 'reunión de equipo'], ['available', 'fin de la reunión']]);
    assert.ok(forced.every((e) => e.forcedBy), 'who forced it is kept');

    // The next call: the agent's phone says a supervisor changed the state; the caller stays silent meanwhile.
    const ringing = desk.waitForIncoming(10_000);
    const phone = await TestPhone.start({ user: '600700004' });
    phones.push(phone);
    const caller = await phone.call('5554201');
    const agent = await (await ringing).answer();
    await agent.waitForAudio({ minMs: 800, timeoutMs: 5000 });
    await caller.hangup();
    await agent.ended;
    await waitFor(async () => (await stateOf()) === 'available', 5000, 'agent not available after the call');

    // Two misses in a row before the pause: the first only puts the agent back to available.
    await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { ronaAfterMisses: 2, ringTimeoutSeconds: 5 } });
    const missed = await TestPhone.start({ user: '600700005' });
    phones.push(missed);
    const waiting = await missed.call('5554201');
    const firstRing = await desk.waitForIncoming(10_000);
    await firstRing.cancelled;
    const secondRing = await desk.waitForIncoming(10_000);
    assert.ok(['available', 'ringing'].includes(await stateOf()), 'not paused after the first miss');
    await secondRing.cancelled;
    await waitFor(async () => (await stateOf()) === 'paused(rona)', 5000, 'not paused after the second miss');
    await waiting.hangup();
    await t.api(`/api/v1/agents/${agentId}/ready`, { method: 'POST' });
  });
});
