import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { TestPhone } from '../phones/sip-phone.js';
import { featureCall } from '../support/feature-call.js';
import { FeedClient } from '../support/live-feed.js';
import { resetDatabase, startTestApp, waitFor, type TestApp } from '../support/harness.js';

describe('agents on their desk phones', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let feed: FeedClient;
  const deskPhone = async (ext: string): Promise<TestPhone> => {
    // Asterisk keeps one contact per extension (remove_existing): a phone
    // left registered by an earlier test takes the extension back at its
    // next refresh (60 s after it registered) and answers the calls and
    // qualify OPTIONS meant for this one. Each test closes its phones.
    assert.ok(!phones.some((p) => p.user === ext), `a phone of this test file is still registered as ${ext}`);
    const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
    phones.push(phone);
    await phone.register();
    // AMI reports the registration a moment after the 200 OK: an agent
    // checked in before that is (rightly) paused as unreachable at first.
    await waitFor(() => t.app.agents.phoneOn(ext) !== 'unreachable', 5000, `AMI did not see ${ext} registered`);
    return phone;
  };
  const stateOf = async (id: string): Promise<string> => {
    const s = (await t.api(`/api/v1/agents/${id}/state`)).body;
    return s.status === 'paused' ? `paused(${s.reason})` : s.status;
  };
  const rowsOf = async (id: string): Promise<string[]> => {
    // State changes are visible at once; their rows go through the write queue.
    await t.app.writes.drain();
    const rows = await sql<{ to_state: string; to_reason: string | null; source: string }>`
      select to_state, to_reason, source from agent_state_events where agent_id = ${id} order by id`.execute(t.app.database.db);
    return rows.rows.map((r) => `${r.to_state}${r.to_reason ? `(${r.to_reason})` : ''}:${r.source}`);
  };
  const createAgent = async (number: string, extension?: string) =>
    (await t.api('/api/v1/agents', { method: 'POST', json: { number, name: `Agente ${number}`, pin: '2468', ...(extension ? { extension } : {}) } })).body as { id: string };

  before(async () => {
    t = await startTestApp({ directCallWrapUpSeconds: 2 });
    await resetDatabase(t.app);
    await t.app.agents.load();
    feed = await FeedClient.connect(t.baseUrl, (await import('../support/harness.js')).adminToken);
  });
  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
  });
  after(async () => {
    feed?.close();
    await t?.stop();
  });

  it('checks in with *45 (number and PIN), pauses with *47 then 2, readies with *48 and checks out with *46', async () => {
    const agent = await createAgent('301');
    const phone = await deskPhone('1005');
    await featureCall(phone, '*45', ['301#', '2468#']);
    assert.equal(await stateOf(agent.id), 'available');
    assert.equal((await t.api(`/api/v1/agents/${agent.id}/state`)).body.extension, '1005');
    await featureCall(phone, '*47', ['2']);
    assert.equal(await stateOf(agent.id), 'paused(lunch)');
    await featureCall(phone, '*48');
    assert.equal(await stateOf(agent.id), 'available');
    await featureCall(phone, '*46');
    assert.equal(await stateOf(agent.id), 'logged_out');
    assert.deepEqual(await rowsOf(agent.id), ['available:phone', 'paused(lunch):phone', 'available:phone', 'logged_out:phone']);
    const keyed = await sql<{ n: number }>`select count(*)::int as n from call_events where type = 'dtmf'`.execute(t.app.database.db);
    assert.equal(keyed.rows[0]!.n, 0, 'digits keyed on feature codes (PINs) must not be stored');
    await waitFor(() => feed.agentStates(agent.id).length === 4, 2000, 'the live feed did not carry every change');
    assert.deepEqual(feed.agentStates(agent.id), ['available', 'paused(lunch)', 'available', 'logged_out']);
  });

  it('speaks an error for a wrong PIN, an unknown pause code, and codes without a checked-in agent, changing nothing', async () => {
    const agent = await createAgent('302');
    const phone = await deskPhone('1006');
    // Wrong PIN three times: each attempt is answered by a spoken "login incorrect", then goodbye.
    await featureCall(phone, '*45', ['302#', '1111#', '302#', '1111#', '302#', '1111#']);
    assert.equal(await stateOf(agent.id), 'logged_out');
    await featureCall(phone, '*48');
    await featureCall(phone, '*472');
    assert.deepEqual(await rowsOf(agent.id), []);

    await featureCall(phone, '*45', ['302#', '2468#']);
    await featureCall(phone, '*479');
    assert.equal(await stateOf(agent.id), 'available');
    await featureCall(phone, '*46');
    assert.deepEqual(await rowsOf(agent.id), ['available:phone', 'logged_out:phone']);
  });

  it('checks in a phone bound to its agent without asking, and takes a pause asked during a call after wrap-up', async () => {
    const agent = await createAgent('303', '1007');
    const phone = await deskPhone('1007');
    await featureCall(phone, '*45');
    assert.equal(await stateOf(agent.id), 'available');

    const colleague = await deskPhone('1008');
    const incoming = colleague.waitForIncoming(10_000);
    const outgoing = phone.call('1008');
    const answered = await (await incoming).answer();
    const call = await outgoing;
    await waitFor(async () => (await stateOf(agent.id)) === 'on_call', 5000, 'a call on the desk phone did not make the agent on_call');

    const pause = await t.api(`/api/v1/agents/${agent.id}/pause`, { method: 'POST', json: { reason: 'break' } });
    assert.equal(pause.status, 200);
    assert.deepEqual([pause.body.status, pause.body.pendingPause], ['on_call', 'break']);

    await call.hangup();
    await answered.ended;
    const wrapUp = await waitFor(async () => {
      const s = (await t.api(`/api/v1/agents/${agent.id}/state`)).body;
      return s.status === 'wrap_up' ? s : undefined;
    }, 5000, 'the agent did not enter wrap-up');
    assert.equal(wrapUp.pendingPause, 'break');
    await waitFor(async () => (await stateOf(agent.id)) === 'paused(break)', 5000, 'the pending pause did not start after wrap-up');
    const rows = await rowsOf(agent.id);
    assert.deepEqual(rows, ['available:phone', 'on_call:system', 'on_call:api', 'wrap_up:system', 'paused(break):system']);
    await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
  });

  it('pauses an agent whose phone unregisters as unreachable, and restores the state when it registers again', async () => {
    const agent = await createAgent('304', '1009');
    const phone = await deskPhone('1009');
    await t.api(`/api/v1/agents/${agent.id}/login`, { method: 'POST', json: {} });
    await t.api(`/api/v1/agents/${agent.id}/pause`, { method: 'POST', json: { reason: 'training' } });
    await phone.unregister();
    await waitFor(async () => (await stateOf(agent.id)) === 'paused(unreachable)', 5000, 'the agent was not made unreachable');
    const ready = await t.api(`/api/v1/agents/${agent.id}/ready`, { method: 'POST' });
    assert.equal(ready.status, 409);
    assert.match(ready.body.error.message, /not reachable/);
    await phone.register();
    await waitFor(async () => (await stateOf(agent.id)) === 'paused(training)', 5000, 'the agent did not go back to their pause');
    assert.deepEqual(await rowsOf(agent.id), ['available:api', 'paused(training):api', 'paused(unreachable):system', 'paused(training):system']);
    await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
  });

  it('pauses an agent whose phone stops answering qualify checks, and restores it when it answers again', { timeout: 60_000 }, async () => {
    const agent = await createAgent('306', '1005');
    const phone = await deskPhone('1005');
    await t.api(`/api/v1/agents/${agent.id}/login`, { method: 'POST', json: {} });
    phone.setReachable(false);
    // Asterisk notices at the first qualify after the last answered one:
    // qualify_frequency 5 s + qualify_timeout 3 s in the lab's pjsip.conf.
    await waitFor(async () => (await stateOf(agent.id)) === 'paused(unreachable)', 25_000, 'a phone that stopped answering OPTIONS did not make the agent unreachable');
    phone.setReachable(true);
    await waitFor(async () => (await stateOf(agent.id)) === 'available', 25_000, 'the agent did not come back when the phone answered again');
    await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
  });

  it('finishes a wrap-up that was running when the service restarted', async () => {
    // The wrap-up must outlast the restart below, which took over 2 s (the
    // file's wrap-up) on a busy 2-core machine: a longer one for this test.
    await t.stop();
    t = await startTestApp({ ...t.app.config, directCallWrapUpSeconds: 8, port: 0 });
    const agent = await createAgent('307', '1006');
    const phone = await deskPhone('1006');
    const colleague = await deskPhone('1008');
    await t.api(`/api/v1/agents/${agent.id}/login`, { method: 'POST', json: {} });
    const incoming = colleague.waitForIncoming(10_000);
    const outgoing = phone.call('1008');
    await (await incoming).answer();
    const call = await outgoing;
    await waitFor(async () => (await stateOf(agent.id)) === 'on_call', 5000, 'not on_call');
    await t.api(`/api/v1/agents/${agent.id}/pause`, { method: 'POST', json: { reason: 'lunch' } });
    await call.hangup();
    await waitFor(async () => (await stateOf(agent.id)) === 'wrap_up', 5000, 'not in wrap-up');
    const config = t.app.config;
    await t.stop();
    t = await startTestApp({ ...config, port: 0 });
    const state = (await t.api(`/api/v1/agents/${agent.id}/state`)).body;
    assert.deepEqual([state.status, state.pendingPause], ['wrap_up', 'lunch']);
    await waitFor(async () => (await stateOf(agent.id)) === 'paused(lunch)', 12_000, 'the wrap-up did not end after the restart');
    await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
  });

  it('keeps every agent state and every event across a restart of the service', async () => {
    const agent = await createAgent('305', '1010');
    await deskPhone('1010');
    await t.api(`/api/v1/agents/${agent.id}/login`, { method: 'POST', json: {} });
    await t.api(`/api/v1/agents/${agent.id}/pause`, { method: 'POST', json: { reason: 'back_office' } });
    const before = await rowsOf(agent.id);
    const config = t.app.config;
    await t.stop();
    t = await startTestApp({ ...config, port: 0 });
    assert.equal(await stateOf(agent.id), 'paused(back_office)');
    assert.deepEqual(await rowsOf(agent.id), before);
    await t.api(`/api/v1/agents/${agent.id}/ready`, { method: 'POST' });
    assert.equal(await stateOf(agent.id), 'available');
    await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
  });
});
