import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { installAuth } from '../../src/auth/http.js';
import { AuthService, hashToken } from '../../src/auth/service.js';
import type { TokenStore } from '../../src/auth/store.js';
import type { AriRequestSample } from '../../src/asterisk/ari.js';
import type { CallView } from '../../src/calls/service.js';
import type { StatementKind } from '../../src/core/db.js';
import { EventBus } from '../../src/core/events.js';
import { createHttpApp, type HttpApp } from '../../src/core/http.js';
import { CallOutcomes } from '../../src/metrics/outcomes.js';
import { metricsRoutes } from '../../src/metrics/routes.js';
import { MetricsService, type MetricSources } from '../../src/metrics/service.js';
import { parseExposition, sample, type Samples } from '../support/prometheus.js';

/**
 * GET /metrics without a lab: who may scrape (loopback, the metrics token,
 * admin tokens), and the figures the metrics take from scripted bus events
 * and fake service getters, each computed by hand below.
 */

const silent = pino({ level: 'silent' });
const adminToken = 'admin-token-for-the-metrics-tests-0123456789';
const metricsToken = 'metrics-token-for-the-scraper-0123456789abc';
const supervisor = { id: '22222222-2222-4222-8222-222222222222', role: 'supervisor' as const };

const tokenStore = {
  findActiveByHash: async (hash: string) => (hash === hashToken('supervisor')
    ? { ...supervisor, agent_id: null, name: 'sup', token_hash: hash, created_at: new Date(), revoked_at: null } : undefined),
  knownHash: async () => false,
} as unknown as TokenStore;

/** What the fake services say now; each test sets what it reads. */
const now = {
  calls: [] as { direction: string }[],
  agents: [] as string[],
  queues: [{ id: 'q1', name: 'ventas' }, { id: 'q2', name: 'soporte' }] as { id: string; name: string }[] | Error,
  waits: { q1: [], q2: [] } as Record<string, number[]>,
  ari: true, ami: true, db: true,
  pending: 0, journal: 0,
  disk: { freeBytes: 0, totalBytes: 0 } as { freeBytes: number; totalBytes: number } | Error,
};
let ariSample: (sample: AriRequestSample) => void = () => undefined;
let dbStatement: (kind: StatementKind) => void = () => undefined;
const sources: MetricSources = {
  callsInProgress: () => now.calls,
  agentStatuses: () => now.agents,
  queues: async () => { if (now.queues instanceof Error) throw now.queues; return now.queues; },
  waitSeconds: (queueId) => now.waits[queueId] ?? [],
  queueName: async (queueId) => ({ q1: 'ventas', q2: 'soporte' } as Record<string, string>)[queueId],
  ariUp: () => now.ari,
  amiUp: () => now.ami,
  dbUp: async () => now.db,
  pendingWrites: () => now.pending,
  journalBytes: () => now.journal,
  recordingsDisk: async () => { if (now.disk instanceof Error) throw now.disk; return now.disk; },
  onAriRequest: (handler) => { ariSample = handler; return () => { ariSample = () => undefined; }; },
  onDbStatement: (handler) => { dbStatement = handler; return () => { dbStatement = () => undefined; }; },
};

const call = (id: string, over: Partial<CallView> & Pick<CallView, 'startedAt'>): CallView => ({
  id, channelId: `ch-${id}`, direction: 'inbound', callerNumber: '600000000', callerName: '', did: '5550000',
  answeredAt: null, endedAt: null, hangupCause: null, hangupCauseText: null, endReason: null, parentCallId: null, calledNumber: null, ...over,
});
const at = (time: string): string => `2026-03-10T${time}Z`;

describe('GET /metrics', () => {
  let app: HttpApp;
  let proxied: HttpApp;
  const bus = new EventBus();
  const metrics = new MetricsService(bus, sources, silent, { defaultMetrics: false });

  before(async () => {
    const auth = new AuthService(tokenStore, adminToken, new EventBus(), async () => undefined, silent);
    app = await createHttpApp(silent);
    installAuth(app, auth);
    metricsRoutes(app, metrics, { auth, token: metricsToken, behindProxy: false });
    await app.ready();
    // Behind a reverse proxy on this machine that centralita is told to trust.
    proxied = await createHttpApp(silent, { trustProxy: ['127.0.0.1'] });
    installAuth(proxied, auth);
    metricsRoutes(proxied, metrics, { auth, token: metricsToken, behindProxy: true });
    await proxied.ready();
  });
  after(async () => {
    await app?.close();
    await proxied?.close();
    metrics.stop();
  });

  const scrape = async (options: { from?: string; token?: string; headers?: Record<string, string>; on?: HttpApp } = {}) => {
    const res = await (options.on ?? app).inject({
      method: 'GET', url: '/metrics', remoteAddress: options.from ?? '127.0.0.1',
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  };
  const figures = async (): Promise<Samples> => {
    // Queue names are looked up before a wait is observed: let those lookups settle.
    await new Promise((r) => setImmediate(r));
    const res = await scrape();
    assert.equal(res.status, 200, res.body);
    return parseExposition(res.body);
  };
  const refusal = (res: { status: number; body: string }, status: number, code: string, message: RegExp) => {
    assert.equal(res.status, status, res.body);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    assert.deepEqual(Object.keys(body), ['error']);
    assert.deepEqual(Object.keys(body.error), ['code', 'message']);
    assert.equal(body.error.code, code);
    assert.match(body.error.message, message);
  };

  it('answers loopback without a token, in the Prometheus text format', async () => {
    for (const from of ['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1']) {
      const res = await scrape({ from });
      assert.equal(res.status, 200, `${from}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(res.body, /^# HELP centralita_calls_in_progress /m);
      assert.match(res.body, /^# TYPE centralita_calls_finished_total counter$/m);
      assert.match(res.body, /^# TYPE centralita_queue_wait_seconds histogram$/m);
    }
  });

  it('refuses other addresses without a token (401), takes the metrics token or an admin token, and refuses other roles (403)', async () => {
    const from = '192.0.2.10';
    const none = await scrape({ from });
    refusal(none, 401, 'unauthorized', /needs a bearer token/);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await scrape({ from, token: metricsToken })).status, 200);
    assert.equal((await scrape({ from: '2001:db8::7', token: metricsToken })).status, 200);
    assert.equal((await scrape({ from, token: adminToken })).status, 200);
    refusal(await scrape({ from, token: 'supervisor' }), 403, 'forbidden', /role supervisor may not read \/metrics/);
    refusal(await scrape({ from, token: `${metricsToken}x` }), 401, 'unauthorized', /unknown or revoked/);
  });

  it('asks a token of a request a proxy forwarded to loopback', async () => {
    refusal(await scrape({ headers: { 'x-forwarded-for': '203.0.113.5' } }), 401, 'unauthorized', /needs a bearer token .* from outside this machine/);
    refusal(await scrape({ headers: { forwarded: 'for=203.0.113.5' } }), 401, 'unauthorized', /needs a bearer token/);
    refusal(await scrape({ headers: { 'x-real-ip': '203.0.113.5' } }), 401, 'unauthorized', /needs a bearer token/);
    assert.equal((await scrape({ headers: { 'x-forwarded-for': '203.0.113.5' }, token: metricsToken })).status, 200);
  });

  it('behind a trusted proxy asks a token of every request, loopback included: a proxy that sends no X-Forwarded-For looks like loopback', async () => {
    for (const headers of [{}, { 'x-forwarded-for': '127.0.0.1' }, { 'x-forwarded-for': '203.0.113.5' }] as Array<Record<string, string>>) {
      refusal(await scrape({ on: proxied, headers }), 401, 'unauthorized', /behind a trusted proxy \(CENTRALITA_TRUST_PROXY\), from loopback too/);
    }
    refusal(await scrape({ on: proxied, from: '::1' }), 401, 'unauthorized', /needs a bearer token/);
    assert.equal((await scrape({ on: proxied, token: metricsToken })).status, 200);
    assert.equal((await scrape({ on: proxied, headers: { 'x-forwarded-for': '203.0.113.5' }, token: adminToken })).status, 200);
    refusal(await scrape({ on: proxied, token: 'supervisor' }), 403, 'forbidden', /role supervisor/);
  });

  it('counts wrong tokens against the address like the API: the 11th request in a minute gets 429, even with the right token', async () => {
    const from = '192.0.2.99';
    // CENTRALITA_AUTH_FAILURES_PER_MINUTE defaults to 10: ten unknown tokens are 401 each.
    for (let i = 0; i < 10; i += 1) assert.equal((await scrape({ from, token: `guess-${i}` })).status, 401);
    const locked = await scrape({ from, token: metricsToken });
    refusal(locked, 429, 'too_many_requests', /too many failed authentications/);
    assert.ok(Number(locked.headers['retry-after']) > 0);
    assert.equal((await scrape({ from: '192.0.2.100', token: metricsToken })).status, 200, 'another address is not locked');
  });

  it('counts calls by outcome and times the IVR and the queue waits from the bus events', async () => {
    const before = await figures();
    // A: IVR 10:00:00 → queue at 10:00:04.5 (IVR 4.5 s); answered at 10:00:12 (wait 12 − 4.5 = 7.5 s).
    bus.emit('call.started', call('A', { startedAt: at('10:00:00.000') }));
    bus.emit('ivr.left', { callId: 'A', flowId: 'f', exit: 'queue', at: at('10:00:04.500') });
    bus.emit('queue.entry', { queueId: 'q1', entryId: 'eA', callId: 'A', event: 'entered', at: at('10:00:04.500') });
    bus.emit('queue.entry', { queueId: 'q1', entryId: 'eA', callId: 'A', event: 'offered', agentId: 'ana', at: at('10:00:05.000') });
    bus.emit('queue.entry', { queueId: 'q1', entryId: 'eA', callId: 'A', event: 'answered', agentId: 'ana', at: at('10:00:12.000') });
    bus.emit('queue.entry', { queueId: 'q1', entryId: 'eA', callId: 'A', event: 'left', outcome: 'answered', at: at('10:01:00.000') });
    bus.emit('call.ended', call('A', { startedAt: at('10:00:00.000'), endedAt: at('10:01:00.000'), endReason: 'hangup' }));
    // B: IVR 1.25 s, waits from 10:02:01.25; the caller hangs up at 10:02:31.25 (wait 30 s) and the call
    // ends before its queue entry closes (as Asterisk's events may come): still abandoned.
    bus.emit('call.started', call('B', { startedAt: at('10:02:00.000') }));
    bus.emit('ivr.left', { callId: 'B', flowId: 'f', exit: 'queue', at: at('10:02:01.250') });
    bus.emit('queue.entry', { queueId: 'q1', entryId: 'eB', callId: 'B', event: 'entered', at: at('10:02:01.250') });
    bus.emit('call.ended', call('B', { startedAt: at('10:02:00.000'), endedAt: at('10:02:31.250'), endReason: 'hangup' }));
    bus.emit('queue.entry', { queueId: 'q1', entryId: 'eB', callId: 'B', event: 'left', outcome: 'abandoned', at: at('10:02:31.250') });
    // C: hangs up in a menu after 9 s. D: transferred by the IVR after 2 s, talks on until 10:05.
    bus.emit('call.started', call('C', { startedAt: at('10:03:00.000') }));
    bus.emit('call.ended', call('C', { startedAt: at('10:03:00.000'), endedAt: at('10:03:09.000'), endReason: 'hangup' }));
    bus.emit('call.started', call('D', { startedAt: at('10:04:00.000') }));
    bus.emit('ivr.left', { callId: 'D', flowId: 'f', exit: 'transfer', at: at('10:04:02.000') });
    bus.emit('call.ended', call('D', { startedAt: at('10:04:00.000'), endedAt: at('10:05:00.000'), endReason: 'hangup' }));
    // E: a feature code (no IVR). F: lost while disconnected (its end is the reconnection's time: no IVR time).
    bus.emit('call.started', call('E', { direction: 'internal', did: null, startedAt: at('10:05:30.000') }));
    bus.emit('call.ended', call('E', { direction: 'internal', did: null, startedAt: at('10:05:30.000'), endedAt: at('10:05:40.000'), endReason: 'hangup' }));
    bus.emit('call.started', call('F', { startedAt: at('10:06:00.000') }));
    bus.emit('call.ended', call('F', { startedAt: at('10:06:00.000'), endedAt: at('10:30:00.000'), endReason: 'lost' }));
    // G: enters soporte at 10:07:03 (IVR 3 s, told by the queue alone), overflows at 10:08:03 (wait 60 s), ends in the overflow's flow.
    bus.emit('call.started', call('G', { startedAt: at('10:07:00.000') }));
    bus.emit('queue.entry', { queueId: 'q2', entryId: 'eG', callId: 'G', event: 'entered', at: at('10:07:03.000') });
    bus.emit('queue.entry', { queueId: 'q2', entryId: 'eG', callId: 'G', event: 'left', outcome: 'overflow', at: at('10:08:03.000') });
    bus.emit('call.ended', call('G', { startedAt: at('10:07:00.000'), endedAt: at('10:08:10.000'), endReason: 'hangup' }));

    const after = await figures();
    const delta = (name: string, labels: Record<string, string> = {}) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    assert.deepEqual(Object.fromEntries(['answered', 'abandoned', 'overflow', 'callback', 'ivr_transfer', 'ivr', 'feature_code', 'lost']
      .map((outcome) => [outcome, delta('centralita_calls_finished_total', { outcome })])),
    { answered: 1, abandoned: 1, overflow: 1, callback: 0, ivr_transfer: 1, ivr: 1, feature_code: 1, lost: 1 });
    // IVR: queue A 4.5 + B 1.25 + G 3 = 8.75 s over 3 (≤ 1 s: none; ≤ 2 s: B; ≤ 5 s: all three); transfer D 2 s; hang-up C 9 s.
    assert.equal(delta('centralita_ivr_duration_seconds_count', { exit: 'queue' }), 3);
    assert.equal(delta('centralita_ivr_duration_seconds_sum', { exit: 'queue' }), 8.75);
    assert.deepEqual(['1', '2', '5'].map((le) => delta('centralita_ivr_duration_seconds_bucket', { exit: 'queue', le })), [0, 1, 3]);
    assert.deepEqual([delta('centralita_ivr_duration_seconds_count', { exit: 'transfer' }), delta('centralita_ivr_duration_seconds_sum', { exit: 'transfer' })], [1, 2]);
    assert.deepEqual([delta('centralita_ivr_duration_seconds_count', { exit: 'hangup' }), delta('centralita_ivr_duration_seconds_sum', { exit: 'hangup' })], [1, 9]);
    // Waits: ventas answered 7.5 s (bucket ≤ 10), abandoned 30 s (≤ 30); soporte overflow 60 s.
    assert.deepEqual([delta('centralita_queue_wait_seconds_count', { queue: 'ventas', outcome: 'answered' }), delta('centralita_queue_wait_seconds_sum', { queue: 'ventas', outcome: 'answered' })], [1, 7.5]);
    assert.deepEqual(['5', '10'].map((le) => delta('centralita_queue_wait_seconds_bucket', { queue: 'ventas', outcome: 'answered', le })), [0, 1]);
    assert.deepEqual([delta('centralita_queue_wait_seconds_count', { queue: 'ventas', outcome: 'abandoned' }), delta('centralita_queue_wait_seconds_sum', { queue: 'ventas', outcome: 'abandoned' })], [1, 30]);
    assert.deepEqual(['20', '30'].map((le) => delta('centralita_queue_wait_seconds_bucket', { queue: 'ventas', outcome: 'abandoned', le })), [0, 1]);
    assert.deepEqual([delta('centralita_queue_wait_seconds_count', { queue: 'soporte', outcome: 'overflow' }), delta('centralita_queue_wait_seconds_sum', { queue: 'soporte', outcome: 'overflow' })], [1, 60]);
  });

  it('reads calls, agents, queues, dependencies, the write backlog and the recordings disk when scraped', async () => {
    Object.assign(now, {
      calls: [{ direction: 'inbound' }, { direction: 'inbound' }, { direction: 'internal' }],
      agents: ['available', 'on_call', 'on_call', 'paused', 'logged_out'],
      waits: { q1: [12.5, 3.1], q2: [] },
      ari: true, ami: false, db: true, pending: 7, journal: 2048,
      disk: { freeBytes: 5_000_000_000, totalBytes: 20_000_000_000 },
    });
    let s = await figures();
    assert.deepEqual([sample(s, 'centralita_calls_in_progress', { direction: 'inbound' }), sample(s, 'centralita_calls_in_progress', { direction: 'internal' })], [2, 1]);
    assert.deepEqual(Object.fromEntries(['logged_out', 'available', 'ringing', 'on_call', 'wrap_up', 'paused'].map((state) => [state, sample(s, 'centralita_agents', { state })])),
      { logged_out: 1, available: 1, ringing: 0, on_call: 2, wrap_up: 0, paused: 1 });
    assert.deepEqual([sample(s, 'centralita_queue_callers_waiting', { queue: 'ventas' }), sample(s, 'centralita_queue_longest_wait_seconds', { queue: 'ventas' })], [2, 12.5]);
    assert.deepEqual([sample(s, 'centralita_queue_callers_waiting', { queue: 'soporte' }), sample(s, 'centralita_queue_longest_wait_seconds', { queue: 'soporte' })], [0, 0]);
    assert.deepEqual(['ari', 'ami', 'db'].map((d) => sample(s, `centralita_${d}_up`)), [1, 0, 1]);
    assert.deepEqual([sample(s, 'centralita_write_queue_pending'), sample(s, 'centralita_write_journal_bytes')], [7, 2048]);
    assert.deepEqual([sample(s, 'centralita_recordings_disk_free_bytes'), sample(s, 'centralita_recordings_disk_total_bytes')], [5e9, 2e10]);

    // The database down: the queues listed last stand, with their waits now; the disk unreadable reads 0 free.
    Object.assign(now, { db: false, queues: new Error('connection refused'), waits: { q1: [1], q2: [] }, disk: new Error('ENOENT') });
    s = await figures();
    assert.equal(sample(s, 'centralita_db_up'), 0);
    assert.deepEqual([sample(s, 'centralita_queue_callers_waiting', { queue: 'ventas' }), sample(s, 'centralita_queue_longest_wait_seconds', { queue: 'ventas' })], [1, 1]);
    assert.equal(sample(s, 'centralita_recordings_disk_free_bytes'), 0);
    // A queue deleted is no longer a series.
    Object.assign(now, { queues: [{ id: 'q2', name: 'soporte' }] });
    s = await figures();
    assert.equal(sample(s, 'centralita_queue_callers_waiting', { queue: 'ventas' }), undefined);
  });

  it('times ARI requests by operation and counts the failed ones by status; counts failed and skipped recordings by reason', async () => {
    ariSample({ operation: 'channels.hangup', seconds: 0.004, status: 204, ok: true });
    ariSample({ operation: 'channels.hangup', seconds: 0.003, status: 404, ok: false });
    ariSample({ operation: 'channels.answer', seconds: 5, status: 0, ok: false });
    bus.emit('recording.failed', { recordingId: 'r1', callId: 'A', reason: 'file_missing' });
    bus.emit('recording.failed', { recordingId: 'r2', callId: 'B', reason: 'file_missing' });
    bus.emit('recording.failed', { recordingId: 'r3', callId: 'C', reason: 'not_started' });
    bus.emit('recording.skipped', { recordingId: 'r4', callId: 'D', reason: 'caller_gone' });
    const s = await figures();
    // hangup: 4 ms + 3 ms = 0.007 s over 2, both ≤ 5 ms and neither ≤ 2.5 ms.
    assert.equal(sample(s, 'centralita_ari_request_duration_seconds_count', { operation: 'channels.hangup' }), 2);
    assert.ok(Math.abs(sample(s, 'centralita_ari_request_duration_seconds_sum', { operation: 'channels.hangup' })! - 0.007) < 1e-9);
    assert.deepEqual(['0.0025', '0.005'].map((le) => sample(s, 'centralita_ari_request_duration_seconds_bucket', { operation: 'channels.hangup', le })), [0, 2]);
    assert.equal(sample(s, 'centralita_ari_request_duration_seconds_bucket', { operation: 'channels.answer', le: '2.5' }), 0);
    assert.equal(sample(s, 'centralita_ari_request_duration_seconds_bucket', { operation: 'channels.answer', le: '5' }), 1);
    assert.deepEqual([sample(s, 'centralita_ari_errors_total', { operation: 'channels.hangup', status: '404' }), sample(s, 'centralita_ari_errors_total', { operation: 'channels.answer', status: '0' })], [1, 1]);
    assert.equal(sample(s, 'centralita_ari_errors_total', { operation: 'channels.hangup', status: '204' }), undefined);
    assert.deepEqual(['not_started', 'asterisk_failed', 'interrupted', 'file_missing'].map((reason) => sample(s, 'centralita_recordings_failed_total', { reason })), [1, 0, 0, 2]);
    // A caller gone before the recording could start is counted apart, not as a failure.
    assert.equal(sample(s, 'centralita_recordings_skipped_total', { reason: 'caller_gone' }), 1);
  });

  it('counts database statements by kind, every kind at 0 from the start', async () => {
    const s0 = await figures();
    assert.deepEqual(['select', 'insert', 'update', 'delete', 'transaction', 'other'].map((kind) => sample(s0, 'centralita_db_statements_total', { kind })), [0, 0, 0, 0, 0, 0]);
    for (const kind of ['transaction', 'insert', 'insert', 'select', 'transaction'] as const) dbStatement(kind);
    const s = await figures();
    assert.deepEqual(['select', 'insert', 'update', 'delete', 'transaction', 'other'].map((kind) => sample(s, 'centralita_db_statements_total', { kind })), [1, 2, 0, 0, 2, 0]);
  });
});

describe('following calls for their outcomes', () => {
  it('forgets calls and waits whose end never came after a day, and nothing sooner', () => {
    let clock = Date.parse('2026-03-10T10:00:00Z');
    const seen: string[] = [];
    const outcomes = new CallOutcomes({ finished: (o) => seen.push(o), ivr: () => undefined, wait: () => undefined }, () => clock);
    outcomes.started(call('X', { startedAt: at('10:00:00.000') }));
    outcomes.queueEntry({ queueId: 'q1', entryId: 'eX', callId: 'X', event: 'entered', at: at('10:00:01.000') });
    assert.deepEqual(outcomes.size, { calls: 1, waits: 1 });
    clock += 23 * 3600_000;
    outcomes.sweep(clock);
    assert.deepEqual(outcomes.size, { calls: 1, waits: 1 });
    outcomes.sweep(clock + 2 * 3600_000);
    assert.deepEqual(outcomes.size, { calls: 0, waits: 0 });
    // A queue entry closing after its call ended (and was forgotten) does not follow the call again.
    outcomes.started(call('Y', { startedAt: at('11:00:00.000') }));
    outcomes.ended(call('Y', { startedAt: at('11:00:00.000'), endedAt: at('11:00:05.000'), endReason: 'hangup' }));
    outcomes.queueEntry({ queueId: 'q1', entryId: 'eY', callId: 'Y', event: 'left', outcome: 'abandoned', at: at('11:00:05.000') });
    assert.deepEqual(outcomes.size, { calls: 0, waits: 0 });
    assert.deepEqual(seen, ['ivr']);
  });
});
