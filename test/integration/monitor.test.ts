import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { toneLevels } from '../phones/audio.js';
import { within } from '../phones/lab.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { FeedClient } from '../support/live-feed.js';
import { hangUpLeftovers, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

/** Each phone streams its own tone; what each one receives tells who hears whom. */
const CALLER = 440;
const AGENT = 1000;
const SUPERVISOR = 1800;
const tones = [CALLER, AGENT, SUPERVISOR];
type Party = 'caller' | 'agent' | 'supervisor';
type Mode = 'listen' | 'whisper' | 'barge';

/** Who hears which tones in each mode (the acceptance table). */
const expected: Record<Mode, Record<Party, number[]>> = {
  listen: { caller: [AGENT], agent: [CALLER], supervisor: [CALLER, AGENT] },
  whisper: { caller: [AGENT], agent: [CALLER, SUPERVISOR], supervisor: [CALLER, AGENT] },
  barge: { caller: [AGENT, SUPERVISOR], agent: [CALLER, SUPERVISOR], supervisor: [CALLER, AGENT] },
};

/** A tone counts as heard at 10 % of the received power, as absent under 2 %. */
const heardAt = 0.1;
const absentBelow = 0.02;

describe('supervisor monitoring on the lab: listen, whisper and barge, heard at the phones', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let anaDesk: TestPhone;
  let supDesk: TestPhone;
  let plainDesk: TestPhone;
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  let callers = 0;

  /** A caller in `ventas` answered by ana, every phone streaming its tone. */
  const answeredCall = async (): Promise<{ caller: Call; agent: Call; callId: string }> => {
    const number = `60070000${++callers}`;
    const ringing = anaDesk.waitForIncoming(10_000);
    const phone = await TestPhone.start({ user: number });
    phones.push(phone);
    const caller = await phone.call('5554201');
    const incoming = await ringing.catch(async (err: Error) => {
      const state = (await t.api(`/api/v1/agents/${ids.ana}/state`)).body;
      const live = (await t.api('/api/v1/calls/live')).body;
      throw new Error(`${err.message}; ana ${JSON.stringify(state)}; live calls ${JSON.stringify(live)}`);
    });
    const agent = await incoming.answer();
    const callId = await waitFor(async () => {
      const live = (await t.api('/api/v1/calls/live')).body as { id: string; callerNumber: string }[];
      const call = live.find((c) => c.callerNumber === number);
      return call && (await t.api(`/api/v1/agents/${ids.ana}/state`)).body.status === 'on_call' ? call.id : undefined;
    }, 5000, 'the call did not reach ana');
    caller.playTone(CALLER);
    agent.playTone(AGENT);
    // 0.3: a supervisor following ana may already be barging in (two tones, about 0.5 each).
    await agent.waitForTone(CALLER, { timeoutMs: 5000, threshold: 0.3 });
    await caller.waitForTone(AGENT, { timeoutMs: 5000, threshold: 0.3 });
    return { caller, agent, callId };
  };

  /**
   * What each phone receives over 1.5 s, once the change just made has
   * settled, checked against the table: each expected tone heard, each
   * other one absent.
   */
  const checkHearing = async (mode: Mode, calls: Record<Party, Call>, when: string): Promise<void> => {
    await sleep(800);
    const marks = { caller: calls.caller.mark(), agent: calls.agent.mark(), supervisor: calls.supervisor.mark() };
    await sleep(1500);
    const problems: string[] = [];
    for (const party of ['caller', 'agent', 'supervisor'] as const) {
      const levels = toneLevels(calls[party].receivedSince(marks[party]), tones);
      const own = party === 'caller' ? CALLER : party === 'agent' ? AGENT : SUPERVISOR;
      tones.forEach((hz, k) => {
        if (hz === own) return;
        const level = levels[k] ?? 0;
        const should = expected[mode][party].includes(hz);
        if (should && level < heardAt) problems.push(`${party} should hear ${hz} Hz (level ${level.toFixed(3)})`);
        if (!should && level >= absentBelow) problems.push(`${party} should not hear ${hz} Hz (level ${level.toFixed(3)})`);
      });
    }
    assert.deepEqual(problems, [], `${mode} (${when}): ${problems.join('; ')}`);
  };

  const session = async (id: string) => (await t.api(`/api/v1/monitor/${id}`)).body;
  /** The session a supervisor's feature code started, once it listens (its first segment). */
  const sessionFromPhone = () => waitFor(async () => {
    const sessions = (await t.api('/api/v1/monitor?live=true')).body as { id: string; segments: unknown[] }[];
    return sessions[0]?.segments.length ? sessions[0] : undefined;
  }, 5000, 'no live session from the phone');

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    anaDesk = await TestPhone.start({ user: '1005', password: 'lab-1005' });
    supDesk = await TestPhone.start({ user: '2001', password: 'lab-2001' });
    plainDesk = await TestPhone.start({ user: '1007', password: 'lab-1007' });
    phones.push(anaDesk, supDesk, plainDesk);
    await Promise.all([anaDesk.register(), supDesk.register(), plainDesk.register()]);
    const create = async (key: string, json: Record<string, unknown>) => {
      const res = await t.api('/api/v1/agents', { method: 'POST', json: { pin: '1234', ...json } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[key] = res.body.id;
    };
    await create('ana', { number: '1005', name: 'Ana', extension: '1005', team: 'ventas' });
    await create('sup', { number: '2001', name: 'Sofía', extension: '2001', team: 'ventas', isSupervisor: true });
    // A supervisor whose desk phone (2002) is not registered: unreachable.
    await create('away', { number: '2002', name: 'Ausente', extension: '2002', isSupervisor: true });
    for (const [key, role, agentId] of [['ana', 'agent', ids.ana], ['sup', 'supervisor', ids.sup], ['anySup', 'supervisor', undefined], ['away', 'supervisor', ids.away]] as const) {
      const res = await t.api('/api/v1/tokens', { method: 'POST', json: { name: key, role, ...(agentId ? { agentId } : {}) } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      tokens[key] = res.body.token;
    }
    const notSupervisorToken = await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'x', role: 'supervisor', agentId: ids.ana } });
    assert.equal(notSupervisorToken.status, 400, 'a supervisor token can be bound only to a supervisor');
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'ventas', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 0, maxWaitSeconds: 120 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: ids.ana }] } });
    await routeDid(t, '5554201', { start: 'q', nodes: { q: { type: 'queue', queue: 'ventas' } } });
    assert.equal((await t.api(`/api/v1/agents/${ids.ana}/login`, { method: 'POST' })).status, 200);
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('refuses with clear errors and rings nothing: agent token 403, not a supervisor 403, no call 409, unreachable phone 409, bad bodies 400', async () => {
    const post = (json: unknown, token?: string) => t.api('/api/v1/monitor', { method: 'POST', json, ...(token ? { token } : {}) });

    const notOnCall = await post({ supervisorId: ids.sup, agentId: ids.ana, mode: 'listen' });
    assert.equal(notOnCall.status, 409);
    assert.match(notOnCall.body.error.message, /not on a call/);

    const { caller, agent } = await answeredCall();
    const asAgent = await post({ supervisorId: ids.sup, agentId: ids.ana, mode: 'listen' }, tokens.ana);
    assert.equal(asAgent.status, 403);
    const notSupervisor = await post({ supervisorId: ids.ana, agentId: ids.ana, mode: 'listen' });
    assert.equal(notSupervisor.status, 403);
    assert.match(notSupervisor.body.error.message, /not a supervisor/);
    const otherSupervisor = await post({ supervisorId: ids.away, agentId: ids.ana, mode: 'listen' }, tokens.sup);
    assert.equal(otherSupervisor.status, 403, 'a bound supervisor token acts only for its supervisor');
    const unreachable = await post({ supervisorId: ids.away, agentId: ids.ana, mode: 'listen' }, tokens.away);
    assert.equal(unreachable.status, 409);
    assert.match(unreachable.body.error.message, /unreachable/);
    assert.equal((await post({ supervisorId: ids.sup, agentId: '00000000-0000-4000-8000-000000000000', mode: 'listen' })).status, 404);
    assert.equal((await post({ supervisorId: ids.sup, callId: '00000000-0000-4000-8000-000000000000', mode: 'listen' })).status, 404);
    const badMode = await post({ supervisorId: ids.sup, agentId: ids.ana, mode: 'shout' });
    assert.equal(badMode.status, 400);
    assert.match(badMode.body.error.message, /mode/);
    const both = await post({ supervisorId: ids.sup, agentId: ids.ana, callId: ids.ana, mode: 'listen' });
    assert.equal(both.status, 400);
    assert.match(both.body.error.message, /agentId or body\/callId/);
    assert.equal((await t.api('/api/v1/monitor', { token: tokens.ana })).status, 403, 'agents cannot read the audit');
    assert.equal((await t.api('/api/v1/monitor/00000000-0000-4000-8000-000000000000', { method: 'PATCH', json: { mode: 'barge' } })).status, 404);

    await assert.rejects(supDesk.waitForIncoming(1500), /no call rang/, 'no refused request rang the supervisor\'s phone');
    await t.app.writes.drain();
    assert.deepEqual((await t.api('/api/v1/monitor')).body, [], 'no refused request left a session');
    await caller.hangup();
    await within(agent.ended, 15_000, 'agent\'s call to end');
  });

  it('by API: listen → whisper → barge → listen, each heard at the three phones, without dropping the supervisor; audited and on the live feed', async () => {
    const supervisorFeed = await FeedClient.connect(t.baseUrl, tokens.anySup!);
    const agentFeed = await FeedClient.connect(t.baseUrl, tokens.ana!);
    try {
      const from = new Date(Date.now() - 1000).toISOString();
      const { caller, agent, callId } = await answeredCall();
      const supRings = supDesk.waitForIncoming(10_000);
      const started = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, callId, mode: 'listen' }, token: tokens.sup });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      assert.equal(started.body.status, 'ringing');
      const id = started.body.id as string;
      const beforeJoin = { caller: caller.mark(), agent: agent.mark() };
      const supervisor = await (await supRings).answer();
      supervisor.playTone(SUPERVISOR);
      await waitFor(async () => (await session(id)).segments.length === 1, 5000, 'the session did not start');
      assert.equal((await session(id)).status, 'active');
      const calls = { caller, agent, supervisor };
      await checkHearing('listen', calls, 'started by API');
      // No beep, no prompt: from before the supervisor joined until now the
      // caller and the agent heard each other's tone and nothing else.
      assert.ok((toneLevels(caller.receivedSince(beforeJoin.caller), [AGENT])[0] ?? 0) > 0.9, 'the caller heard only the agent');
      assert.ok((toneLevels(agent.receivedSince(beforeJoin.agent), [CALLER])[0] ?? 0) > 0.9, 'the agent heard only the caller');
      for (const mode of ['whisper', 'barge', 'listen'] as const) {
        const switched = await t.api(`/api/v1/monitor/${id}`, { method: 'PATCH', json: { mode }, token: tokens.sup });
        assert.equal(switched.status, 200, JSON.stringify(switched.body));
        assert.equal(switched.body.mode, mode);
        await checkHearing(mode, calls, 'switched by API');
        assert.ok(supervisor.isActive && caller.isActive && agent.isActive, `everyone still on the line after ${mode}`);
      }
      assert.equal((await t.api(`/api/v1/monitor/${id}`, { method: 'PATCH', json: { mode: 'whisper' }, token: tokens.away })).status, 403, 'another supervisor\'s token');
      const ended = await t.api(`/api/v1/monitor/${id}`, { method: 'DELETE', token: tokens.sup });
      assert.equal(ended.status, 200);
      await within(supervisor.ended, 15_000, 'supervisor\'s call to end');
      assert.ok(caller.isActive && agent.isActive, 'the monitored call goes on');
      assert.equal((await t.api(`/api/v1/monitor/${id}`, { method: 'PATCH', json: { mode: 'barge' } })).status, 409, 'an ended session cannot switch');
      await caller.hangup();
      await within(agent.ended, 15_000, 'agent\'s call to end');

      await t.app.writes.drain();
      const audit = (await t.api(`/api/v1/monitor?from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date().toISOString())}`)).body;
      assert.equal(audit.length, 1);
      const [row] = audit;
      assert.deepEqual({ supervisorId: row.supervisorId, agentId: row.agentId, callId: row.callId, source: row.source, status: row.status, endReason: row.endReason },
        { supervisorId: ids.sup, agentId: ids.ana, callId, source: 'api', status: 'ended', endReason: 'ended_by_api' });
      assert.deepEqual(row.segments.map((s: { mode: string; source: string }) => `${s.mode}/${s.source}`), ['listen/start', 'whisper/api', 'barge/api', 'listen/api']);
      for (const [k, s] of (row.segments as { startedAt: string; endedAt: string | null; callId: string }[]).entries()) {
        assert.equal(s.callId, callId);
        assert.ok(s.endedAt && s.endedAt >= s.startedAt, `segment ${k} has an end`);
        if (k > 0) assert.ok(s.startedAt >= row.segments[k - 1].endedAt, 'segments follow one another');
      }
      assert.equal((await t.api(`/api/v1/monitor?from=${encodeURIComponent(new Date().toISOString())}`)).body.length, 0, 'the range filters');
      assert.equal((await t.api(`/api/v1/monitor?from=${encodeURIComponent(new Date().toISOString())}&to=${encodeURIComponent(from)}`)).status, 400);

      const events = supervisorFeed.messages.filter((m) => m.type === 'monitor.session' && m.data.id === id).map((m) => `${String(m.data.event)}:${String(m.data.mode)}`);
      assert.deepEqual(events, ['ringing:listen', 'started:listen', 'mode:whisper', 'mode:barge', 'mode:listen', 'ended:listen']);
      assert.equal(agentFeed.messages.filter((m) => m.type === 'monitor.session').length, 0, 'the agent is never told');
      assert.ok(agentFeed.messages.some((m) => m.type === 'agent.state'), 'the agent feed was working');
    } finally {
      supervisorFeed.close();
      agentFeed.close();
    }
  });

  it('by phone: *22 + agent number listens, keys 5, 6 and 4 switch; the supervisor\'s call ends with the monitored call', async () => {
    const { caller, agent, callId } = await answeredCall();
    const supervisor = await supDesk.call('*221005');
    supervisor.playTone(SUPERVISOR);
    const calls = { caller, agent, supervisor };
    const live = await sessionFromPhone();
    await checkHearing('listen', calls, 'started by *22');
    for (const [key, mode] of [['5', 'whisper'], ['6', 'barge'], ['4', 'listen']] as const) {
      await supervisor.sendDtmf(key);
      await waitFor(async () => (await session(live.id)).mode === mode, 3000, `key ${key} did not switch to ${mode}`);
      await checkHearing(mode, calls, `key ${key}`);
      assert.ok(supervisor.isActive, `the supervisor is still on the line after key ${key}`);
    }
    assert.equal(agent.receivedDtmf(), '', 'the agent hears no keys');
    assert.equal(caller.receivedDtmf(), '', 'the caller hears no keys');
    await caller.hangup();
    await within(agent.ended, 15_000, 'agent\'s call to end');
    const end = await within(supervisor.ended, 15_000, 'supervisor\'s call to end');
    assert.equal(end.by, 'remote', 'centralita ended the supervisor\'s call');
    await t.app.writes.drain();
    const row = await session(live.id);
    assert.deepEqual({ source: row.source, status: row.status, endReason: row.endReason, callId: row.callId },
      { source: 'phone', status: 'ended', endReason: 'call_ended', callId });
    assert.deepEqual(row.segments.map((s: { mode: string; source: string }) => `${s.mode}/${s.source}`), ['listen/start', 'whisper/phone', 'barge/phone', 'listen/phone']);
  });

  it('a phone not bound to a supervisor asks for the supervisor\'s number and PIN; *23 whispers', async () => {
    const { caller, agent } = await answeredCall();
    const supervisor = await plainDesk.call('*231005');
    supervisor.playTone(SUPERVISOR);
    await sleep(1500); // the number prompt
    await supervisor.sendDtmf('2001#');
    await sleep(1500); // the PIN prompt
    await supervisor.sendDtmf('1234#');
    const live = await waitFor(async () => {
      const sessions = (await t.api('/api/v1/monitor?live=true')).body as { id: string; extension: string; segments: unknown[] }[];
      return sessions[0]?.segments.length ? sessions[0] : undefined;
    }, 10_000, 'no live session after the PIN');
    assert.equal(live.extension, '1007');
    await checkHearing('whisper', { caller, agent, supervisor }, 'started by *23 with a PIN');
    await supervisor.hangup();
    await waitFor(async () => (await session(live.id)).endReason === 'supervisor_hangup', 5000, 'the session did not end with the hang-up');
    assert.ok(caller.isActive && agent.isActive, 'the monitored call goes on');
    await caller.hangup();
    await within(agent.ended, 15_000, 'agent\'s call to end');
  });

  it('spoken refusals on the phone: an agent who is not on a call, an unknown agent number', async () => {
    for (const code of ['*221005', '*229999']) {
      const supervisor = await supDesk.call(code);
      await supervisor.waitForAudio({ minMs: 500, timeoutMs: 5000 });
      const end = await within(supervisor.ended, 15_000, 'supervisor\'s call to end');
      assert.equal(end.by, 'remote', `${code}: centralita hung up after saying why`);
    }
    await t.app.writes.drain();
    assert.equal((await t.api('/api/v1/monitor?live=true')).body.length, 0);
  });

  it('a session that follows the agent stays through the end of a call and listens to the next one', async () => {
    const first = await answeredCall();
    const supRings = supDesk.waitForIncoming(10_000);
    const started = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, agentId: ids.ana, mode: 'barge', follow: true } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const supervisor = await (await supRings).answer();
    supervisor.playTone(SUPERVISOR);
    await checkHearing('barge', { ...first, supervisor }, 'first call');
    await first.caller.hangup();
    await within(first.agent.ended, 15_000, 'the first call to end');
    await sleep(1000);
    assert.ok(supervisor.isActive, 'the supervisor stays between calls');
    const second = await answeredCall();
    await waitFor(async () => (await session(started.body.id)).currentCallId === second.callId, 5000, 'the session did not follow ana');
    await checkHearing('barge', { ...second, supervisor }, 'the next call');
    await t.api(`/api/v1/monitor/${started.body.id}`, { method: 'DELETE' });
    await within(supervisor.ended, 15_000, 'supervisor\'s call to end');
    await second.caller.hangup();
    await within(second.agent.ended, 15_000, 'the second call to end');
    await t.app.writes.drain();
    const row = await session(started.body.id);
    assert.deepEqual(row.segments.map((s: { callId: string; source: string }) => [s.callId, s.source]), [[first.callId, 'start'], [second.callId, 'follow']]);
  });

  /** ana's desk phone calls the other desk phone (1007) through the dialplan, outside centralita's application. */
  const directCall = async (): Promise<{ caller: Call; agent: Call }> => {
    const ringing = plainDesk.waitForIncoming(10_000);
    const dialled = anaDesk.call('1007');
    const caller = await (await ringing).answer();
    const agent = await dialled;
    caller.playTone(CALLER);
    agent.playTone(AGENT);
    await agent.waitForTone(CALLER, { timeoutMs: 5000, threshold: 0.3 });
    await caller.waitForTone(AGENT, { timeoutMs: 5000, threshold: 0.3 });
    return { caller, agent };
  };

  it('a direct call (desk phone to desk phone) by API: listen → whisper → barge → listen heard at the three phones; the session ends with the call', async () => {
    const { caller, agent } = await directCall();
    const supRings = supDesk.waitForIncoming(10_000);
    const started = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, agentId: ids.ana, mode: 'listen' }, token: tokens.sup });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id as string;
    const callId = started.body.callId as string;
    const supervisor = await (await supRings).answer();
    supervisor.playTone(SUPERVISOR);
    await waitFor(async () => (await session(id)).segments.length === 1, 5000, 'the session did not start');
    const calls = { caller, agent, supervisor };
    await checkHearing('listen', calls, 'direct call, started by API');
    for (const mode of ['whisper', 'barge', 'listen'] as const) {
      const switched = await t.api(`/api/v1/monitor/${id}`, { method: 'PATCH', json: { mode }, token: tokens.sup });
      assert.equal(switched.status, 200, JSON.stringify(switched.body));
      await checkHearing(mode, calls, 'direct call, switched by API');
      assert.ok(supervisor.isActive && caller.isActive && agent.isActive, `everyone still on the line after ${mode}`);
    }
    const again = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, callId, mode: 'listen' } });
    assert.equal(again.status, 409, 'the direct call is known by its id (an unknown one is 404): the supervisor is already on it');
    assert.match(again.body.error.message, /already in monitoring session/);
    await caller.hangup();
    await within(agent.ended, 15_000, 'agent\'s call to end');
    const end = await within(supervisor.ended, 15_000, 'supervisor\'s call to end');
    assert.equal(end.by, 'remote', 'centralita ended the supervisor\'s call with the direct call');
    await t.app.writes.drain();
    const row = await session(id);
    assert.deepEqual([row.status, row.endReason], ['ended', 'call_ended']);
    assert.deepEqual(row.segments.map((s: { mode: string; callId: string }) => [s.mode, s.callId]),
      [['listen', callId], ['whisper', callId], ['barge', callId], ['listen', callId]]);
    const ended = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, agentId: ids.ana, mode: 'listen' } });
    assert.equal(ended.status, 409, 'after the direct call ana is on no call');
  });

  it('a carrier call an IVR transferred to the agent\'s desk phone, by phone: *24 barges, key 4 listens', async () => {
    await routeDid(t, '5554202', { start: 'desk', nodes: { desk: { type: 'transfer', extension: '1005' } } });
    const ringing = anaDesk.waitForIncoming(10_000);
    const phone = await TestPhone.start({ user: '600799001' });
    phones.push(phone);
    const dialled = phone.call('5554202');
    const agent = await (await ringing).answer();
    const caller = await dialled;
    caller.playTone(CALLER);
    agent.playTone(AGENT);
    await agent.waitForTone(CALLER, { timeoutMs: 5000, threshold: 0.3 });
    const supervisor = await supDesk.call('*241005');
    supervisor.playTone(SUPERVISOR);
    const calls = { caller, agent, supervisor };
    const live = await sessionFromPhone();
    await checkHearing('barge', calls, 'transferred call, *24');
    await supervisor.sendDtmf('4');
    await waitFor(async () => (await session(live.id)).mode === 'listen', 3000, 'key 4 did not switch to listen');
    await checkHearing('listen', calls, 'transferred call, key 4');
    assert.equal(caller.receivedDtmf(), '', 'the caller hears no keys');
    await caller.hangup();
    await within(agent.ended, 15_000, 'agent\'s call to end');
    const end = await within(supervisor.ended, 15_000, 'supervisor\'s call to end');
    assert.equal(end.by, 'remote');
    await t.app.writes.drain();
    const row = await session(live.id);
    assert.deepEqual([row.source, row.endReason], ['phone', 'call_ended']);
    assert.deepEqual(row.segments.map((s: { mode: string; source: string }) => `${s.mode}/${s.source}`), ['barge/start', 'listen/phone']);
  });

  it('a session left by a stopped centralita is adopted by the next one: the supervisor stays on the call and in control, a half-made switch is finished, the audit goes on; a centre may limit supervisors to their team', async () => {
    const { caller, agent, callId } = await answeredCall();
    const supRings = supDesk.waitForIncoming(10_000);
    const started = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, agentId: ids.ana, mode: 'listen' } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id: string = started.body.id;
    const supervisor = await (await supRings).answer();
    supervisor.playTone(SUPERVISOR);
    const parties = { caller, agent, supervisor };
    // Stopped once the supervisor listens (a stop mid-connect is the chaos test's business).
    await waitFor(async () => (await session(id)).segments.length === 1, 5000, 'the session did not start');
    const adopted = async (when: string): Promise<void> => {
      await waitFor(async () => {
        const live = (await t.api('/api/v1/monitor?live=true')).body as { id: string; status: string; currentCallId: string | null }[];
        return live.find((s) => s.id === id && s.status === 'active' && s.currentCallId === callId);
      }, 10_000, `the session was not adopted ${when}`);
      assert.ok(supervisor.isActive && caller.isActive && agent.isActive, `nobody was hung up ${when}`);
    };

    await t.stop();
    t = await startTestApp({ monitorSameTeamOnly: true });
    await adopted('after a restart');
    await checkHearing('listen', parties, 'adopted after a restart');
    // The new process controls the session: a switch works.
    const switched = await t.api(`/api/v1/monitor/${id}`, { method: 'PATCH', json: { mode: 'whisper' } });
    assert.equal(switched.status, 200, JSON.stringify(switched.body));
    await checkHearing('whisper', parties, 'switched after a restart');

    // Stopped again, and the snoop is lost while nobody runs (as if the process died mid-switch):
    // the next process puts the supervisor back in whisper.
    await t.stop();
    const ari = (path: string, method = 'GET') => fetch(`http://127.0.0.1:8088/ari/${path}`, {
      method, headers: { authorization: `Basic ${Buffer.from('centralita:centralita-lab-ari').toString('base64')}` },
    });
    const snoops = ((await (await ari('channels')).json()) as { id: string }[]).filter((c) => c.id.startsWith(`${id}-snoop-`));
    assert.equal(snoops.length, 1, 'one snoop: the whisper');
    assert.equal((await ari(`channels/${encodeURIComponent(snoops[0]!.id)}`, 'DELETE')).status, 204);
    t = await startTestApp({ monitorSameTeamOnly: true });
    await adopted('after the second restart');
    await checkHearing('whisper', parties, 'put back after a restart');

    // The monitored call ends: the session ends as any other would.
    await caller.hangup();
    const end = await within(supervisor.ended, 15_000, 'supervisor\'s call to end');
    assert.equal(end.by, 'remote', 'centralita hung up the supervisor when the call ended');
    await within(agent.ended, 15_000, 'the agent\'s call to end');
    await t.app.writes.drain();
    const row = await session(id);
    assert.equal(row.endReason, 'call_ended');
    assert.deepEqual(row.segments.map((s: { mode: string; source: string; callId: string }) => [s.mode, s.source, s.callId]),
      [['listen', 'start', callId], ['whisper', 'api', callId], ['whisper', 'restart', callId]]);
    assert.ok(row.segments.every((s: { endedAt: string | null }) => s.endedAt !== null), 'no segment left open');
    assert.equal((await t.api('/api/v1/monitor?live=true')).body.length, 0);
    await hangUpLeftovers(t.app);

    // This process limits supervisors to their own team: Ausente has none.
    const otherTeam = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.away, agentId: ids.ana, mode: 'listen' } });
    assert.equal(otherTeam.status, 403);
    assert.match(otherTeam.body.error.message, /team/);
  });
  it('offboarding: deleting a listening supervisor hangs up their leg and ends the session as offboarded', async () => {
    const { caller, agent } = await answeredCall();
    const supRings = supDesk.waitForIncoming(10_000);
    const started = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, agentId: ids.ana, mode: 'listen', follow: true } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const supervisor = await (await supRings).answer();
    await waitFor(async () => (await session(started.body.id)).segments.length === 1, 5000, 'the session did not start');
    // Sofía has a monitoring audit but no state changes: deactivated, not deleted.
    const removed = await t.api(`/api/v1/agents/${ids.sup}`, { method: 'DELETE' });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const end = await within(supervisor.ended, 5000, 'the supervisor\'s leg to be hung up');
    assert.equal(end.by, 'remote');
    assert.ok(caller.isActive && agent.isActive, 'the monitored call goes on');
    await t.app.writes.drain();
    const row = await session(started.body.id);
    assert.deepEqual([row.status, row.endReason], ['ended', 'offboarded']);
    await caller.hangup();
    await within(agent.ended, 15_000, 'agent\'s call to end');
  });
});
