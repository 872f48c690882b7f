import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { toneLevels } from '../phones/audio.js';
import { TestPhone } from '../phones/sip-phone.js';
import { greetAndListen, lab, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

const labPidFile = `${process.env.CENTRALITA_LAB_CACHE ?? '/var/cache/centralita-lab'}/run/asterisk.pid`;

describe('Asterisk dies and comes back', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await routeDid(t, '5552000', greetAndListen, 'first');
    await routeDid(t, '5552001', greetAndListen, 'second');
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
    lab('up'); // whatever happened, leave the lab running for the next file
  });

  it('shows ari down within 5 s of a kill, reconnects by itself, closes the calls that died and handles the next call', async () => {
    const caller = await TestPhone.start({ user: '600200300' });
    phones.push(caller);
    await caller.call('5552000');
    const doomed = await waitFor(async () => (await t.api('/api/v1/calls/live')).body[0], 5000, 'the first call is not live');

    process.kill(Number(readFileSync(labPidFile, 'utf8')), 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await t.api('/health', { token: null })).body.ari === 'down', 5000, '/health did not show ari down');
    assert.ok(Date.now() - killedAt <= 5000);
    const health = (await t.api('/health', { token: null })).body;
    assert.equal(health.status, 'degraded');
    assert.equal(health.db, 'up');

    lab('up');
    await waitFor(async () => (await t.api('/health', { token: null })).body.ari === 'up', 15_000, 'centralita did not reconnect to ARI');

    const closed = await waitFor(async () => {
      const res = await t.api(`/api/v1/calls/${doomed.id}`);
      return res.body.endedAt ? res.body : undefined;
    }, 5000, 'the call that died with Asterisk was not closed');
    assert.equal(closed.endReason, 'lost');
    assert.deepEqual((await t.api('/api/v1/calls/live')).body, []);

    const next = await TestPhone.start({ user: '600200301' });
    phones.push(next);
    const call = await next.call('5552001');
    await call.waitForAudio({ minMs: 300, timeoutMs: 5000 });
    const live = await waitFor(async () => (await t.api('/api/v1/calls/live')).body[0], 5000, 'the call after the restart is not live');
    assert.equal(live.did, '5552001');
    assert.ok(live.answeredAt);
    await call.hangup();
    await waitFor(async () => (await t.api(`/api/v1/calls/${live.id}`)).body.endReason === 'hangup', 5000, 'the call after the restart was not closed');
    await waitFor(() => t.app.ami.state === 'up', 10_000, 'AMI did not reconnect');
  });
  it('puts agents back in the right state: the one talking and the one ringing are free again, and take the next call', { timeout: 90_000 }, async () => {
    await resetDatabase(t.app);
    await t.app.agents.load();
    const agent = async (number: string, queue: string) => {
      const id = (await t.api('/api/v1/agents', { method: 'POST', json: { number, name: `agente ${number}`, pin: '1234', extension: number } })).body.id as string;
      const q = await t.api('/api/v1/queues', { method: 'POST', json: { name: queue, strategy: 'longest_idle', wrapUpSeconds: 0, ringTimeoutSeconds: 60 } });
      await t.api(`/api/v1/queues/${q.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: id }] } });
      const desk = await TestPhone.start({ user: number, password: `lab-${number}` });
      await desk.register();
      phones.push(desk);
      await t.api(`/api/v1/agents/${id}/login`, { method: 'POST' });
      return { id, desk };
    };
    const talker = await agent('1007', 'caida-a');
    const ringer = await agent('1008', 'caida-b');
    await routeDid(t, '5552010', { start: 'q', nodes: { q: { type: 'queue', queue: 'caida-a' } } });
    await routeDid(t, '5552011', { start: 'q', nodes: { q: { type: 'queue', queue: 'caida-b' } } });
    const state = async (id: string): Promise<string> => (await t.api(`/api/v1/agents/${id}/state`)).body.status;
    const dial = async (user: string, did: string) => {
      const phone = await TestPhone.start({ user });
      phones.push(phone);
      return phone.call(did);
    };

    // One agent talking, the other one's phone ringing.
    const ringing = talker.desk.waitForIncoming(10_000);
    await dial('600200310', '5552010');
    await (await ringing).answer();
    await waitFor(async () => (await state(talker.id)) === 'on_call', 5000, 'the first agent is not on the call');
    const stillRinging = ringer.desk.waitForIncoming(10_000);
    await dial('600200311', '5552011');
    await stillRinging;
    await waitFor(async () => (await state(ringer.id)) === 'ringing', 5000, 'the second agent is not ringing');

    process.kill(Number(readFileSync(labPidFile, 'utf8')), 'SIGKILL');
    await waitFor(async () => (await t.api('/health', { token: null })).body.ari === 'down', 5000, '/health did not show ari down');
    lab('up');
    const upAt = Date.now();
    await waitFor(async () => (await t.api('/health', { token: null })).body.ari === 'up', 5000, 'centralita did not reconnect to ARI within 5 s of Asterisk being back');
    console.log(`reconnected ${Date.now() - upAt} ms after Asterisk was back`);

    // Neither is left on a call or ringing, and the ringing one is not paused
    // for no answer. Asterisk may have forgotten the phones' registrations:
    // then they are paused(unreachable) until the phone registers again.
    const free = async (id: string): Promise<boolean> => {
      const s = (await t.api(`/api/v1/agents/${id}/state`)).body as { status: string; reason: string | null };
      return s.status === 'available' || (s.status === 'paused' && s.reason === 'unreachable');
    };
    await waitFor(() => free(talker.id), 5000, `the talking agent is ${await state(talker.id)}`);
    await waitFor(() => free(ringer.id), 5000, `the ringing agent is ${await state(ringer.id)}`);
    const entries = await waitFor(async () => {
      const rows = (await t.app.database.db.selectFrom('queue_entries').select(['outcome', 'left_at']).orderBy('entered_at').execute());
      return rows.length === 2 && rows.every((r) => r.left_at) ? rows : undefined;
    }, 5000, 'the queue entries of the calls that died were not closed');
    assert.deepEqual(entries.map((e) => e.outcome), ['answered', 'abandoned']);
    const calls = await t.app.database.db.selectFrom('calls').select('end_reason').execute();
    assert.deepEqual(calls.map((c) => c.end_reason), ['lost', 'lost'], 'both calls marked as died with Asterisk');

    // The phones register again, both agents are available, and the next call reaches the agent.
    await talker.desk.register();
    await ringer.desk.register();
    await waitFor(async () => (await state(talker.id)) === 'available' && (await state(ringer.id)) === 'available', 10_000,
      `after registering: ${await state(talker.id)}, ${await state(ringer.id)}`);
    const next = talker.desk.waitForIncoming(10_000);
    const caller = await dial('600200312', '5552010');
    const answered = await (await next).answer();
    caller.playTone(440);
    answered.playTone(1000);
    await answered.waitForTone(440, { timeoutMs: 5000, threshold: 0.3 });
    const mark = caller.mark();
    await sleep(800);
    assert.ok((toneLevels(caller.receivedSince(mark), [1000])[0] ?? 0) > 0.3, 'the caller hears the agent');
    await caller.hangup();
    await waitFor(async () => (await state(talker.id)) === 'available', 5000, 'the agent did not become available after the next call');
  });
});
