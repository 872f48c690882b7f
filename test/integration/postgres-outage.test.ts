import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { pino } from 'pino';
import type { Centralita } from '../../src/app.js';
import { writeWav } from '../../src/prompts/wav.js';
import { sine } from '../phones/audio.js';
import { TestPhone } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';
import { accepting, startPostgres, stopPostgres } from '../support/postgres-control.js';

/**
 * Postgres stopped for 30 s while real calls go on (issue 10): IVR → queue →
 * agent, with audio checked at the phones before, during and after. Every
 * event row centralita made is counted in memory and then in the database.
 * Needs root (pg_ctlcluster) and the lab lock: stopping Postgres affects
 * everyone on the machine.
 */
const outageMs = 30_000;
const beforeMs = 8_000;
const afterMs = 8_000;
const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Median and longest of some durations. */
const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted.at(-1) ?? 0 };
};

type Phase = 'before' | 'during' | 'after';
interface CallResult { number: string; did: string; phase: Phase; promptHeard: boolean; connected: boolean; agentHeardCaller: boolean; error?: string; ms: number; asterisk?: unknown }

/** What a write in the write queue becomes in the database, by its description. */
function kindOf(what: string): string {
  const [head, second, third, fourth, fifth] = what.split(' ');
  if (head === 'call') return ['started', 'answered', 'ended'].includes(third ?? '') ? `call ${third}` : 'call event';
  if (head === 'ivr') return 'ivr trace';
  if (head === 'queue' && second === 'entry') return fourth ? `queue entry ${fourth}` : 'queue entry';
  if (head === 'queue' && second === 'offer') return fifth ? 'queue offer ended' : 'queue offer';
  if (head === 'agent') return 'agent state';
  if (head === 'recording') return `recording ${third}`;
  return what;
}

describe('Postgres stopped for 30 s during traffic', { skip: isRoot ? false : 'needs root to stop and start Postgres' }, () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  const logLines: { level: number; msg: string }[] = [];
  const agentIds: Record<string, string> = {};
  let stopAgents = false;
  const heardByAgent = new Set<string>();

  before(async () => {
    // Set up with one centralita, then start another: the second warms its
    // cache at start from what is in the database, so a DID no call used
    // before the outage (lane B's) is still routed during it.
    const setup = await startTestApp();
    await resetDatabase(setup.app);
    await setup.app.agents.load();
    const prompt = await setup.api('/api/v1/prompts?name=pgout-t440', { method: 'POST', body: new Uint8Array(writeWav(sine(440, 8000 * 0.7))), headers: { 'content-type': 'audio/wav' } });
    assert.equal(prompt.status, 201, JSON.stringify(prompt.body));
    for (const ext of ['1007', '1008', '1009']) {
      const agent = await setup.api('/api/v1/agents', { method: 'POST', json: { number: `7${ext}`, name: `Outage ${ext}`, pin: '1234', extension: ext } });
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
      agentIds[ext] = agent.body.id;
    }
    const queue = await setup.api('/api/v1/queues', {
      method: 'POST', json: { name: 'pg-outage', strategy: 'fewest_calls', ringTimeoutSeconds: 10, wrapUpSeconds: 0, maxWaitSeconds: 120, recordingPolicy: 'always' },
    });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    await setup.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: agentIds['1007'] }, { agentId: agentIds['1008'] }] } });
    for (const did of ['5559101', '5559102']) {
      await routeDid(setup, did, {
        start: 'menu',
        nodes: {
          menu: { type: 'menu', prompt: ['prompt:pgout-t440'], options: { 1: 'q' }, timeoutMs: 4000, retries: 1, default: 'q' },
          q: { type: 'queue', queue: 'pg-outage' },
        },
      });
    }
    await setup.stop();

    const logger = pino({ level: 'info' }, { write: (line: string) => { const { level, msg } = JSON.parse(line) as { level: number; msg: string }; logLines.push({ level, msg }); } });
    t = await startTestApp({ logLevel: 'info' }, { logger });
    for (const ext of ['1007', '1008', '1009']) {
      const desk = await TestPhone.start({ user: ext, password: `lab-${ext}` });
      await desk.register();
      phones.push(desk);
      if (ext === '1009') continue;
      // Each queue agent's desk phone answers what rings, plays 1800 Hz and listens for the caller's 1000 Hz.
      void (async () => {
        while (!stopAgents) {
          const incoming = await desk.waitForIncoming(2000).catch(() => undefined);
          if (!incoming || stopAgents) continue;
          const call = await incoming.answer().catch(() => undefined);
          if (!call) continue;
          call.playTone(1800);
          const caller = incoming.from.user ?? '';
          void call.waitForTone(1000, { timeoutMs: 10_000, threshold: 0.5 }).then(() => heardByAgent.add(caller), () => undefined);
          await Promise.race([call.ended, new Promise((r) => setTimeout(r, 30_000).unref())]);
        }
      })();
    }
  });

  after(async () => {
    await startPostgres();
    stopAgents = true;
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('survives a connection the server ends while centralita holds it between queries', async () => {
    const db = t.app.database.db;
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      await db.connection().execute(async (held) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(held);
        await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(db);
        await sleep(300);
        await assert.rejects(sql`select 1`.execute(held));
      });
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    assert.deepEqual(uncaught, []);
    for (let i = 0; i < 20; i += 1) await sql`select 1`.execute(db);
  });

  it('keeps answering calls, buffers every event and writes them all when it returns', { timeout: 150_000 }, async () => {
    const app: Centralita = t.app;
    const db = app.database.db;
    await app.writes.drain();
    const countRows = async () => {
      const { rows } = await sql<Record<string, number>>`select
        (select count(*)::int from calls) as calls,
        (select count(*)::int from calls where answered_at is not null) as calls_answered,
        (select count(*)::int from calls where ended_at is not null) as calls_ended,
        (select count(*)::int from call_events) as call_events,
        (select count(*)::int from ivr_traces) as ivr_traces,
        (select count(*)::int from queue_entries) as queue_entries,
        (select count(*)::int from queue_entries where answered_at is not null) as queue_entries_answered,
        (select count(*)::int from queue_entries where left_at is not null) as queue_entries_left,
        (select count(*)::int from queue_offers) as queue_offers,
        (select count(*)::int from queue_offers where ended_at is not null) as queue_offers_ended,
        (select count(*)::int from agent_state_events) as agent_state_events,
        (select count(*)::int from recordings) as recordings,
        (select count(*)::int from recordings where status = 'complete') as recordings_complete`.execute(db);
      return rows[0]!;
    };
    const baseline = await countRows();

    // What centralita made, counted as it was handed to the write queue and as it was announced on the bus.
    const made = new Map<string, number>();
    const enqueue = app.writes.enqueue.bind(app.writes);
    app.writes.enqueue = (what, run) => {
      made.set(kindOf(what), (made.get(kindOf(what)) ?? 0) + 1);
      return enqueue(what, run);
    };
    const announced = { callsStarted: 0, agentStates: 0, queueEntered: 0 };
    app.bus.on('call.started', () => { announced.callsStarted += 1; });
    app.bus.on('agent.state', () => { announced.agentStates += 1; });
    app.bus.on('queue.entry', (e) => { if (e.event === 'entered') announced.queueEntered += 1; });

    for (const ext of ['1007', '1008']) assert.equal((await t.api(`/api/v1/agents/${agentIds[ext]}/login`, { method: 'POST' })).status, 200);

    // What ARI said of each caller's channel, to tell where a caller who was never connected stopped.
    const ariEvents = new Map<string, string[]>();
    const seen = (channelId: string | undefined, what: string) => {
      if (!channelId) return;
      const list = ariEvents.get(channelId) ?? [];
      if (list.length < 40) list.push(`${new Date().toISOString().slice(17, 23)} ${what}`);
      ariEvents.set(channelId, list);
    };
    const channelOf = (target: string | undefined) => (target?.startsWith('channel:') ? target.slice(8) : undefined);
    const unsubscribe = [
      app.ari.on('StasisStart', (e) => seen(e.channel.id, `StasisStart ${e.args.join(',')}`)),
      app.ari.on('ChannelDtmfReceived', (e) => seen(e.channel.id, `DTMF ${e.digit}`)),
      app.ari.on('PlaybackStarted', (e) => seen(channelOf(e.playback.target_uri), `PlaybackStarted ${e.playback.media_uri}`)),
      app.ari.on('PlaybackFinished', (e) => seen(channelOf(e.playback.target_uri), `PlaybackFinished ${e.playback.media_uri} ${e.playback.state}`)),
      app.ari.on('ChannelEnteredBridge', (e) => seen(e.channel?.id, `entered bridge ${e.bridge.bridge_type}`)),
      app.ari.on('ChannelLeftBridge', (e) => seen(e.channel?.id, `left bridge ${e.bridge.bridge_type}`)),
    ];

    let stoppedAt = Infinity;
    let startedAt = Infinity;
    const phaseAt = (ms: number): Phase => (ms < stoppedAt ? 'before' : ms < startedAt ? 'during' : 'after');
    const results: CallResult[] = [];
    let trafficOn = true;
    const oneCall = async (did: string, number: string): Promise<void> => {
      const began = Date.now();
      const result: CallResult = { number, did, phase: phaseAt(began), promptHeard: false, connected: false, agentHeardCaller: false, ms: 0 };
      results.push(result);
      const phone = await TestPhone.start({ user: number });
      try {
        const call = await phone.call(did, { answerTimeoutMs: 8000 });
        await call.waitForTone(440, { timeoutMs: 8000, threshold: 0.5 });
        result.promptHeard = true;
        await call.sendDtmf('1');
        call.playTone(1000);
        // Two lanes share two agents: a caller can wait for an offer that
        // rings out (10 s) and then for the other lane's call to end.
        await call.waitForTone(1800, { timeoutMs: 30_000, threshold: 0.5 });
        result.connected = true;
        result.agentHeardCaller = Boolean(await waitFor(() => heardByAgent.has(number), 8000, 'the agent did not hear the caller').catch(() => false));
        await call.hangup();
      } catch (err) {
        result.error = (err as Error).message;
        // What Asterisk holds of this caller at the failure, to say where the call stopped.
        result.asterisk = await (async () => {
          const channels = await app.ari.request('channels.list', {}) as { id: string; state: string; caller: { number: string }; dialplan: { app_name: string; app_data: string } }[];
          const mine = channels.filter((c) => c.caller.number === number);
          const bridges = await app.ari.request('bridges.list', {}) as { id: string; bridge_type: string; channels: string[] }[];
          return mine.map((c) => ({
            id: c.id, state: c.state, app: `${c.dialplan.app_name}(${c.dialplan.app_data})`,
            bridges: bridges.filter((b) => b.channels.includes(c.id)).map((b) => ({ id: b.id, type: b.bridge_type, channels: b.channels.length })),
            events: ariEvents.get(c.id) ?? [], dbDown: app.lastKnown.databaseDown, pendingWrites: app.writes.pending,
          }));
        })().catch((e: Error) => e.message);
      } finally {
        result.ms = Date.now() - began;
        await phone.close();
      }
    };
    const lane = async (did: string, prefix: string): Promise<void> => {
      for (let i = 0; trafficOn; i += 1) await oneCall(did, `${prefix}${String(i).padStart(3, '0')}`);
    };

    // Lane A calls from the start; lane B's DID is called for the first time during the outage.
    const laneA = lane('5559101', '600910');
    let laneB: Promise<void> | undefined;
    await sleep(beforeMs);

    const pendingSamples: number[] = [];
    const sampler = setInterval(() => pendingSamples.push(app.writes.pending), 200);
    const health: { during?: Record<string, unknown>; after?: Record<string, unknown>; duringStatus?: number; afterStatus?: number } = {};
    const stateChanges: { what: string; status: number; ms: number }[] = [];
    let acceptedAt: number;
    try {
      stoppedAt = Date.now();
      await stopPostgres();
      assert.equal(await accepting(), false, 'Postgres is down');
      laneB = lane('5559102', '600920');
      await sleep(5000);
      const during = await t.api('/health', { token: null });
      [health.during, health.duringStatus] = [during.body, during.status];
      // A read no cache serves says the database is unreachable (503), not "internal error".
      const history = await t.api('/api/v1/calls');
      assert.equal(history.status, 503, JSON.stringify(history.body));
      assert.equal(history.body.error.code, 'database_unavailable');
      // An agent off the queue checks in, pauses, is ready and checks out: each answered at once.
      for (const [what, path, json] of [
        ['login', 'login', undefined], ['pause', 'pause', { reason: 'break' }], ['ready', 'ready', undefined], ['logout', 'logout', undefined],
      ] as const) {
        const began = Date.now();
        const res = await t.api(`/api/v1/agents/${agentIds['1009']}/${path}`, { method: 'POST', ...(json ? { json } : {}) });
        stateChanges.push({ what, status: res.status, ms: Date.now() - began });
      }
      await sleep(stoppedAt + outageMs - Date.now());
    } finally {
      startedAt = Date.now();
      await startPostgres();
      acceptedAt = Date.now();
    }
    await waitFor(() => app.writes.pending === 0, 30_000, 'the write queue did not drain after Postgres came back');
    const drainedAt = Date.now();
    clearInterval(sampler);
    await sleep(afterMs);
    trafficOn = false;
    await Promise.all([laneA, laneB]);
    for (const off of unsubscribe) off();
    await waitFor(async () => (await sql<{ n: number }>`select count(*)::int as n from recordings where status = 'recording'`.execute(db)).rows[0]!.n === 0
      && app.writes.pending === 0, 20_000, 'recordings not finished');
    await app.writes.drain();
    const healthAfter = await t.api('/health', { token: null });
    [health.after, health.afterStatus] = [healthAfter.body, healthAfter.status];

    // Every call was handled, whichever phase it was in.
    const byPhase = (phase: Phase) => results.filter((r) => r.phase === phase);
    const failed = results.filter((r) => !r.promptHeard || !r.connected || !r.agentHeardCaller);
    assert.deepEqual(failed, [], 'every caller heard the prompt and talked with an agent both ways');
    assert.ok(byPhase('before').length >= 1 && byPhase('after').length >= 1, 'calls before and after');
    assert.ok(byPhase('during').length >= 6, `only ${byPhase('during').length} calls during the outage`);
    assert.ok(byPhase('during').some((r) => r.did === '5559102' && r.number.endsWith('000')), 'lane B\'s first call (a DID never called before) was during the outage');
    assert.deepEqual(stateChanges.map((s) => `${s.what} ${s.status}`), ['login 200', 'pause 200', 'ready 200', 'logout 200']);
    assert.ok(stateChanges.every((s) => s.ms < 1000), `state changes during the outage took ${stateChanges.map((s) => s.ms).join(', ')} ms`);
    assert.equal(health.during?.db, 'down');
    assert.equal(health.during?.status, 'degraded');
    assert.equal(health.duringStatus, 503, 'not ready while the database is down');
    assert.equal(health.afterStatus, 200);
    assert.ok(Number(health.during?.pendingWrites) > 0, 'pending writes shown during the outage');
    assert.equal(health.after?.db, 'up');
    assert.equal(health.after?.pendingWrites, 0);

    // Nothing lost: what was made is in the database.
    const rows = await countRows();
    const delta = (k: string) => rows[k]! - baseline[k]!;
    const counted = (k: string) => made.get(k) ?? 0;
    const comparison: Record<string, { made: number; stored: number; lost: number }> = {};
    const compare = (name: string, madeCount: number, stored: number) => { comparison[name] = { made: madeCount, stored, lost: madeCount - stored }; };
    compare('calls', counted('call started'), delta('calls'));
    compare('calls answered', counted('call answered'), delta('calls_answered'));
    compare('calls ended', counted('call ended'), delta('calls_ended'));
    compare('call events', counted('call event'), delta('call_events'));
    compare('ivr traces', counted('ivr trace'), delta('ivr_traces'));
    compare('queue entries', counted('queue entry'), delta('queue_entries'));
    compare('queue entries answered', counted('queue entry answered'), delta('queue_entries_answered'));
    compare('queue entries left', counted('queue entry left'), delta('queue_entries_left'));
    compare('queue offers', counted('queue offer'), delta('queue_offers'));
    compare('queue offers ended', counted('queue offer ended'), delta('queue_offers_ended'));
    compare('agent state changes', counted('agent state'), delta('agent_state_events'));
    compare('recordings', counted('recording started'), delta('recordings'));
    compare('recordings complete', counted('recording complete'), delta('recordings_complete'));

    // The bus agrees with the write queue: nothing bypassed it.
    assert.equal(announced.callsStarted, counted('call started'));
    assert.equal(announced.agentStates, counted('agent state'));
    assert.equal(announced.queueEntered, counted('queue entry'));
    // Written in the order made: each agent's changes chain (from = the previous to).
    const chain = (await sql<{ agent_id: string; from_state: string; to_state: string }>`
      select agent_id, from_state, to_state from agent_state_events order by agent_id, id`.execute(db)).rows;
    const broken = chain.filter((r, i) => i > 0 && chain[i - 1]!.agent_id === r.agent_id && chain[i - 1]!.to_state !== r.from_state);
    const outageWarnings = logLines.filter((l) => l.level === 40 && l.msg.startsWith('database unreachable; calls are served')).length;
    const readsBack = logLines.filter((l) => l.msg === 'database reads answer again').length;
    const warningsAndErrors: Record<string, number> = {};
    for (const l of logLines.filter((line) => line.level >= 40)) warningsAndErrors[`${l.level >= 50 ? 'error' : 'warn'}: ${l.msg}`] = (warningsAndErrors[`${l.level >= 50 ? 'error' : 'warn'}: ${l.msg}`] ?? 0) + 1;

    const summary = {
      calls: { before: byPhase('before').length, during: byPhase('during').length, after: byPhase('after').length, failed: failed.length },
      callSeconds: Object.fromEntries((['before', 'during', 'after'] as const).map((phase) => [phase, spread(byPhase(phase).map((r) => r.ms / 1000))])),
      maxPendingWrites: Math.max(0, ...pendingSamples),
      postgresDownMs: acceptedAt - stoppedAt,
      startCommandMs: acceptedAt - startedAt,
      drainedMsAfterStartCommand: drainedAt - startedAt,
      stateChangesDuringOutage: stateChanges,
      health,
      outageWarnings, readsBack,
      logged: warningsAndErrors,
      comparison,
    };
    console.log(JSON.stringify(summary, null, 2));
    for (const [name, c] of Object.entries(comparison)) assert.equal(c.lost, 0, `${name}: ${c.made} made, ${c.stored} stored`);
    assert.ok(comparison.calls!.made >= results.length, 'one call row per call at least');
    assert.deepEqual(broken, [], 'agent state rows chain in order');
    assert.equal(outageWarnings, 1, 'one warning for the outage, not one per call');
    assert.deepEqual(Object.keys(warningsAndErrors).filter((k) => k.startsWith('error')), [], 'nothing logged as an error');
    assert.ok(Object.values(warningsAndErrors).every((n) => n <= 10), 'no warning repeated per call or per tick');
    assert.equal(readsBack, 1);
  });
});
