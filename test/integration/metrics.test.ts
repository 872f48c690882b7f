import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';
import { parseExposition, sample, type Samples } from '../support/prometheus.js';

/**
 * GET /metrics on the lab: scraped before, during and after real calls from
 * the test phones — one answered by an agent, one abandoned in the queue,
 * one that ends in the IVR, one the IVR transfers to a desk phone — and the
 * counters, histograms and gauges move by exactly what those calls did.
 */
describe('Prometheus metrics with real calls', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let ana: TestPhone;
  let desk: TestPhone;
  let anaId = '';

  const scrape = async (): Promise<Samples> => {
    // From loopback: no token.
    const res = await t.api('/metrics', { token: null });
    assert.equal(res.status, 200, String(res.body));
    return parseExposition(res.body as string);
  };
  /** All series of a metric added up (e.g. every operation's ARI request count). */
  const total = (s: Samples, name: string): number => [...s].filter(([key]) => key === name || key.startsWith(`${name}{`)).reduce((n, [, v]) => n + v, 0);
  const dial = async (did: string, caller: string): Promise<Call> => {
    const phone = await TestPhone.start({ user: caller });
    phones.push(phone);
    return phone.call(did);
  };
  const stateOf = async (): Promise<string> => (await t.api(`/api/v1/agents/${anaId}/state`)).body.status;

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    ana = await TestPhone.start({ user: '1005', password: 'lab-1005' });
    desk = await TestPhone.start({ user: '1009', password: 'lab-1009' });
    phones.push(ana, desk);
    await Promise.all([ana.register(), desk.register()]);
    anaId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1005', name: 'ana', pin: '1234', extension: '1005' } })).body.id;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'metricas', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 1, maxWaitSeconds: 60 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    assert.equal((await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: anaId }] } })).status, 200);
    await routeDid(t, '5559101', { start: 'q', nodes: { q: { type: 'queue', queue: 'metricas' } } });
    await routeDid(t, '5559102', { start: 'bye', nodes: { bye: { type: 'hangup' } } });
    await routeDid(t, '5559103', { start: 'desk', nodes: { desk: { type: 'transfer', extension: '1009' } } });
    assert.equal((await t.api(`/api/v1/agents/${anaId}/login`, { method: 'POST' })).status, 200);
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('moves the call outcomes, the IVR and queue-wait histograms and the agents and queue gauges as calls happen', async () => {
    const s0 = await scrape();
    assert.deepEqual(['ari', 'ami', 'db'].map((d) => sample(s0, `centralita_${d}_up`)), [1, 1, 1]);
    // The only agent (the database was emptied) has just checked in.
    assert.deepEqual(['available', 'ringing', 'on_call', 'wrap_up', 'paused'].map((state) => sample(s0, 'centralita_agents', { state })), [1, 0, 0, 0, 0]);
    assert.equal(sample(s0, 'centralita_queue_callers_waiting', { queue: 'metricas' }), 0);
    assert.equal(total(s0, 'centralita_calls_in_progress'), 0);
    const delta = (s: Samples, name: string, labels: Record<string, string> = {}) => (sample(s, name, labels) ?? 0) - (sample(s0, name, labels) ?? 0);

    // 1. Answered: ana's phone rings (ringing 1), she answers (on_call 1, one inbound call in progress), the caller hangs up.
    const rings = ana.waitForIncoming(10_000);
    const first = await dial('5559101', '600910001');
    const incoming = await rings;
    assert.equal(sample(await scrape(), 'centralita_agents', { state: 'ringing' }), 1);
    const agentLeg = await incoming.answer();
    await waitFor(async () => (await stateOf()) === 'on_call', 5000, 'ana not on_call');
    const talking = await scrape();
    assert.equal(sample(talking, 'centralita_agents', { state: 'on_call' }), 1);
    assert.equal(sample(talking, 'centralita_calls_in_progress', { direction: 'inbound' }), 1);
    await first.hangup();
    await agentLeg.ended;
    await waitFor(async () => (await stateOf()) === 'available', 5000, 'ana not available after her 1 s wrap-up');

    // 2. Abandoned: ana on a break, the caller waits (1 caller, the wait growing), then hangs up.
    assert.equal((await t.api(`/api/v1/agents/${anaId}/pause`, { method: 'POST', json: { reason: 'break' } })).status, 200);
    const second = await dial('5559101', '600910002');
    await waitFor(async () => sample(await scrape(), 'centralita_queue_callers_waiting', { queue: 'metricas' }) === 1, 5000, 'the caller is not counted waiting');
    await new Promise((r) => setTimeout(r, 1500));
    const waiting = await scrape();
    assert.equal(sample(waiting, 'centralita_agents', { state: 'paused' }), 1);
    assert.ok(sample(waiting, 'centralita_queue_longest_wait_seconds', { queue: 'metricas' })! >= 1.5, 'the longest wait counts the 1.5 s slept at least');
    await second.hangup();

    // 3. Ends in the IVR (a hang-up node). 4. Transferred by the IVR to desk phone 1009, which answers.
    const third = await dial('5559102', '600910003');
    await third.ended;
    const deskRings = desk.waitForIncoming(10_000);
    const fourth = await dial('5559103', '600910004');
    const deskLeg = await (await deskRings).answer();
    await fourth.hangup();
    await deskLeg.ended;

    // The four calls' ends reach the metrics when Asterisk reports each channel destroyed.
    const s1 = await waitFor(async () => {
      const s = await scrape();
      return total(s, 'centralita_calls_finished_total') - total(s0, 'centralita_calls_finished_total') === 4 ? s : undefined;
    }, 8000, 'four calls did not end in the metrics');
    assert.deepEqual(Object.fromEntries(['answered', 'abandoned', 'overflow', 'callback', 'ivr_transfer', 'ivr', 'feature_code', 'lost']
      .map((outcome) => [outcome, delta(s1, 'centralita_calls_finished_total', { outcome })])),
    { answered: 1, abandoned: 1, overflow: 0, callback: 0, ivr_transfer: 1, ivr: 1, feature_code: 0, lost: 0 });
    // Waits: one answered, one abandoned after more than the 1.5 s slept.
    assert.equal(delta(s1, 'centralita_queue_wait_seconds_count', { queue: 'metricas', outcome: 'answered' }), 1);
    assert.equal(delta(s1, 'centralita_queue_wait_seconds_count', { queue: 'metricas', outcome: 'abandoned' }), 1);
    assert.ok(delta(s1, 'centralita_queue_wait_seconds_sum', { queue: 'metricas', outcome: 'abandoned' }) >= 1.5);
    // IVR: calls 1 and 2 handed to the queue, call 3 ended there, call 4 transferred.
    assert.deepEqual(['queue', 'hangup', 'transfer'].map((exit) => delta(s1, 'centralita_ivr_duration_seconds_count', { exit })), [2, 1, 1]);
    // Every call was answered, played to, bridged or hung up through ARI.
    assert.ok(total(s1, 'centralita_ari_request_duration_seconds_count') - total(s0, 'centralita_ari_request_duration_seconds_count') >= 8);
    assert.ok((sample(s1, 'centralita_ari_request_duration_seconds_count', { operation: 'channels.answer' }) ?? 0) - (sample(s0, 'centralita_ari_request_duration_seconds_count', { operation: 'channels.answer' }) ?? 0) >= 4);
    assert.equal(total(s1, 'centralita_calls_in_progress'), 0);
    assert.equal(sample(s1, 'centralita_queue_callers_waiting', { queue: 'metricas' }), 0);
    assert.ok((sample(s1, 'centralita_recordings_disk_free_bytes') ?? 0) > 0);
    assert.ok((sample(s1, 'nodejs_eventloop_lag_p99_seconds') ?? -1) >= 0, 'prom-client\'s event-loop delay is there');
  });
});
