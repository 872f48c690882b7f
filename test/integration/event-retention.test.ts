import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { migrate } from '../../src/core/migrate.js';
import type { Database } from '../../src/db-schema.js';
import { purgeOldEvents } from '../../src/retention/events.js';
import { testConfig } from '../support/harness.js';

/**
 * Event retention on the test database (no Asterisk): a hand-made history
 * around a 30-day cutoff, and what is left of it after the purge.
 */
describe('event retention', () => {
  let database: DatabaseHandle<Database>;
  let db: Kysely<any>;
  const now = new Date('2026-06-30T12:00:00Z');
  // 30 days before now: 2026-05-31T12:00:00Z.
  const day = (d: string) => new Date(`${d}T10:00:00Z`);
  const id = () => randomUUID();
  const calls: Record<string, string> = {};
  const agentA = id();
  const agentB = id();
  const stateIds: Record<string, number> = {};

  const call = async (name: string, started: string, ended: boolean) => {
    calls[name] = id();
    await sql`insert into calls (id, channel_id, direction, started_at, ended_at)
      values (${calls[name]}, ${`chan-${name}-${calls[name]}`}, 'inbound', ${day(started)}, ${ended ? new Date(day(started).getTime() + 60_000) : null})`.execute(db);
    return calls[name]!;
  };
  const state = async (name: string, agentId: string, at: string) => {
    const { rows } = await sql<{ id: number }>`insert into agent_state_events (agent_id, from_state, to_state, source, at)
      values (${agentId}, 'logged_out', 'available', 'api', ${day(at)}) returning id`.execute(db);
    stateIds[name] = Number(rows[0]!.id);
  };
  const count = async (table: string, where = sql`true`) => Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(db)).rows[0]!.n);

  before(async () => {
    database = await openDatabase<Database>(testConfig(), createLogger('silent'));
    db = database.db;
    await migrate(db, createLogger('silent'));
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(db);
    const emptied = tables.rows.map((t) => t.tablename).filter((name) => !['schema_migrations', 'pause_reasons'].includes(name));
    await sql.raw(`truncate ${emptied.map((name) => `"${name}"`).join(', ')} restart identity cascade`).execute(db);

    for (const [agentId, number] of [[agentA, '1'], [agentB, '2']] as const) {
      await sql`insert into agents (id, number, name, pin_hash) values (${agentId}, ${number}, ${`agent ${number}`}, 'x')`.execute(db);
    }
    const queueId = id();
    await sql`insert into queues (id, name, strategy) values (${queueId}, 'ventas', 'longest_idle')`.execute(db);
    const flowId = id();
    const entry = async (callId: string, at: string, offers: number) => {
      const entryId = id();
      await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at) values (${entryId}, ${callId}, ${queueId}, 0, ${day(at)})`.execute(db);
      for (let i = 0; i < offers; i += 1) await sql`insert into queue_offers (entry_id, agent_id, offered_at, result) values (${entryId}, ${agentA}, ${day(at)}, 'no_answer')`.execute(db);
    };
    const events = async (callId: string, at: string, n: number) => {
      for (let i = 0; i < n; i += 1) await sql`insert into call_events (call_id, type, at) values (${callId}, 'digit', ${day(at)})`.execute(db);
    };
    const traces = async (callId: string, at: string, n: number) => {
      for (let i = 0; i < n; i += 1) {
        await sql`insert into ivr_traces (call_id, flow_id, flow_version, node, node_type, at) values (${callId}, ${flowId}, 1, ${`n${i}`}, 'play', ${day(at)})`.execute(db);
      }
    };
    const recording = async (callId: string, status: string, started: string) => {
      const recordingId = id();
      await sql`insert into recordings (id, call_id, asterisk_name, path, status, started_at, retention_days)
        values (${recordingId}, ${callId}, ${`in-progress/${recordingId}`}, ${`2026/05/01/${callId}.wav`}, ${status}, ${day(started)}, 30)`.execute(db);
      if (status === 'deleted') {
        await sql`insert into recording_audit (recording_id, action, role, detail) values (${recordingId}, 'delete', 'system', '{}')`.execute(db);
      }
    };

    const surveyId = id();
    await sql`insert into surveys (id, name, current_version) values (${surveyId}, 'csat', 1)`.execute(db);
    await sql`insert into survey_versions (survey_id, version, document) values (${surveyId}, 1, '{}')`.execute(db);
    const surveyResponse = async (callId: string, at: string) => {
      const responseId = id();
      await sql`insert into survey_responses (id, survey_id, survey_version, call_id, channel_id, mode, language, offered_at)
        values (${responseId}, ${surveyId}, 1, ${callId}, ${`ch-${callId}`}, 'always', 'es', ${day(at)})`.execute(db);
      await sql`insert into survey_answers (response_id, position, question, scale, measure, value, answered_at)
        values (${responseId}, 1, 'q', '1-5', 'csat', 5, ${day(at)})`.execute(db);
    };

    const outboundCall = async (callId: string, at: string) => {
      await sql`insert into outbound_calls (call_id, agent_id, number, caller_id, origin, started_at, ended_at, outcome)
        values (${callId}, ${id()}, '0612345670', '34910000000', 'api', ${day(at)}, ${day(at)}, 'answered')`.execute(db);
    };

    // c1: old, nothing keeps it: goes whole (2 events, 3 steps, 1 entry with 2 offers, a survey response, its outbound row).
    const c1 = await call('c1', '2026-05-01', true);
    await outboundCall(c1, '2026-05-01');
    await events(c1, '2026-05-01', 2);
    await traces(c1, '2026-05-01', 3);
    await entry(c1, '2026-05-01', 2);
    await surveyResponse(c1, '2026-05-01');
    // c2: old, its recording still kept: stays whole.
    const c2 = await call('c2', '2026-05-02', true);
    await events(c2, '2026-05-02', 1);
    await traces(c2, '2026-05-02', 1);
    await entry(c2, '2026-05-02', 1);
    await recording(c2, 'complete', '2026-05-02');
    await surveyResponse(c2, '2026-05-02');
    // c3: old, its recording deleted (the row and its audit stay): events go, the call's row stays.
    const c3 = await call('c3', '2026-05-03', true);
    await events(c3, '2026-05-03', 1);
    await entry(c3, '2026-05-03', 0);
    await recording(c3, 'deleted', '2026-05-03');
    // c4: old, a callback request refers to it: events go, the row stays.
    const c4 = await call('c4', '2026-05-04', true);
    await events(c4, '2026-05-04', 1);
    await sql`insert into queue_callbacks (id, queue_id, call_id, caller_number, requested_at) values (${id()}, ${queueId}, ${c4}, '600', ${day('2026-05-04')})`.execute(db);
    // c5: started after the cutoff; c6: old but never ended (in progress): both untouched.
    const c5 = await call('c5', '2026-06-20', true);
    await events(c5, '2026-06-20', 1);
    await entry(c5, '2026-06-20', 1);
    const c6 = await call('c6', '2026-05-05', false);
    await events(c6, '2026-05-05', 1);

    // Agent A: three changes before the cutoff and one after; B: two before, none after.
    await state('a1', agentA, '2026-05-01');
    await state('a2', agentA, '2026-05-10');
    await state('a3', agentA, '2026-05-20');
    await state('a4', agentA, '2026-06-10');
    await state('b1', agentB, '2026-05-01');
    await state('b2', agentB, '2026-05-02');

    // A webhook's delivery log: an old delivered and an old dead row go; an old pending one and a recent one stay.
    const hook = id();
    await sql`insert into webhooks (id, url, events, secret) values (${hook}, 'http://crm.example/h', ${['call.ended']}, 'secret-secret-secret')`.execute(db);
    for (const [status, created] of [['delivered', '2026-05-01'], ['dead', '2026-05-02'], ['pending', '2026-05-03'], ['delivered', '2026-06-20']] as const) {
      await sql`insert into webhook_deliveries (id, webhook_id, event_id, event_type, occurred_at, body, status, created_at)
        values (${id()}, ${hook}, ${id()}, 'call.ended', ${day(created)}, '{}', ${status}, ${day(created)})`.execute(db);
    }
  });
  after(async () => {
    await database?.close();
  });

  it('deletes old calls with their events, keeps recorded calls and each agent\'s latest state, and says how many', async () => {
    const dirtyBefore = await count('report_dirty');
    // Batches of 2 calls: the four old ended calls (c1..c4) take two pages.
    const report = await purgeOldEvents(db, 30, now, 2);
    assert.deepEqual(report, {
      cutoff: '2026-05-31T12:00:00.000Z',
      purgedBefore: '2026-05-31T12:00:00.000Z', // nothing deleted counted after the cutoff
      calls: 1, // c1
      callEvents: 4, // c1's 2 + c3's 1 + c4's 1
      ivrTraces: 3, // c1's 3 (c2's one is kept with its call)
      queueEntries: 2, // c1's and c3's
      queueOffers: 2, // c1's 2
      agentStates: 3, // A's a1 and a2, B's b1
      callsKeptForRecordings: 1, // c2
      callRowsKeptAsReference: 2, // c3 (deleted recording), c4 (callback)
      surveyResponses: 1, // c1's (c2's is kept with its call)
      outboundCalls: 1, // c1's
      webhookDeliveries: 2, // the old delivered and dead ones
    });
    assert.deepEqual((await sql<{ status: string }>`select status from webhook_deliveries order by created_at`.execute(db)).rows.map((r) => r.status), ['pending', 'delivered']);
    const left = async (name: string) => count('calls', sql`id = ${calls[name]}`);
    assert.deepEqual([await left('c1'), await left('c2'), await left('c3'), await left('c4'), await left('c5'), await left('c6')], [0, 1, 1, 1, 1, 1]);
    assert.equal(await count('call_events', sql`call_id = ${calls.c2}`), 1, 'the recorded call keeps its events');
    assert.equal(await count('ivr_traces', sql`call_id = ${calls.c2}`), 1);
    assert.equal(await count('queue_entries', sql`call_id = ${calls.c2}`), 1);
    assert.equal(await count('survey_responses', sql`call_id = ${calls.c2}`), 1);
    assert.deepEqual([await count('survey_responses'), await count('survey_answers')], [1, 1], 'c1\'s response went with its answers');
    assert.equal(await count('outbound_calls'), 0, 'c1\'s outbound row went with it');
    assert.equal(await count('queue_offers'), 2, 'c2\'s offer and c5\'s');
    assert.equal(await count('call_events', sql`call_id in (${calls.c5}, ${calls.c6})`), 2, 'recent and unfinished calls keep theirs');
    assert.equal(await count('call_events', sql`call_id in (${calls.c3}, ${calls.c4})`), 0);
    assert.equal(await count('recording_audit'), 1, 'the audit of the deleted recording stays');
    const states = (await sql<{ id: number }>`select id from agent_state_events order by id`.execute(db)).rows.map((r) => Number(r.id));
    assert.deepEqual(states, [stateIds.a3, stateIds.a4, stateIds.b2], 'A keeps its latest before the cutoff and the later one; B its last');
    assert.equal(await count('report_dirty'), dirtyBefore, 'a delete records nothing for the rollups');

    // A second run finds nothing more to delete; the same calls are kept for the same reasons.
    const again = await purgeOldEvents(db, 30, now, 2);
    assert.deepEqual(again, { ...report, purgedBefore: undefined, calls: 0, callEvents: 0, ivrTraces: 0, queueEntries: 0, queueOffers: 0, agentStates: 0, surveyResponses: 0, outboundCalls: 0, webhookDeliveries: 0 });
  });
});
