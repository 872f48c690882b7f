import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { installAuth } from '../../src/auth/http.js';
import { AuthService } from '../../src/auth/service.js';
import type { TokenStore } from '../../src/auth/store.js';
import { openDatabase, type DatabaseHandle } from '../../src/core/db.js';
import { EventBus } from '../../src/core/events.js';
import { createHttpApp, type HttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';
import { migrate } from '../../src/core/migrate.js';
import type { Database } from '../../src/db-schema.js';
import type { Interval } from '../../src/reports/figures.js';
import { eventsPurgedBefore } from '../../src/reports/purged.js';
import { rebuildRollups } from '../../src/reports/rollup.js';
import { reportRoutes } from '../../src/reports/routes.js';
import { ReportsService } from '../../src/reports/service.js';
import { purgeOldEvents } from '../../src/retention/events.js';
import { testConfig } from '../support/harness.js';

/**
 * The event retention and the report rollups (no Asterisk): the rollups of
 * the purged time are all that is left of it, so no rebuild (forced, dirty,
 * periodic, a quarter still changing) may make them again from what the purge
 * left, and `source=raw` says it cannot answer there.
 */
describe('event retention: the rollups of the purged time stay', () => {
  let database: DatabaseHandle<Database>;
  let db: Kysely<any>;
  let reports: ReportsService;
  let http: HttpApp;
  const adminToken = 'admin-token-for-the-retention-tests-0123456789';
  const options = { shortAbandonSeconds: 5, timezone: 'UTC' };
  const now = new Date('2026-06-30T12:00:00Z'); // the purge's cutoff, 30 days before: 2026-05-31T12:00:00Z
  const at = (text: string) => new Date(`2026-${text}:00Z`);
  const agentId = randomUUID();
  const queueId = randomUUID();
  const flowId = randomUUID();
  const history = { from: at('05-01T00:00'), to: at('07-01T00:00') };
  /** What the reports said of 10 May (purged) and of the quarters around the cutoff, before the purge. */
  let kept: unknown;

  const call = async (started: string, ended: string | null): Promise<string> => {
    const id = randomUUID();
    await sql`insert into calls (id, channel_id, direction, started_at, ended_at)
      values (${id}, ${`chan-${id}`}, 'inbound', ${at(started)}, ${ended ? at(ended) : null})`.execute(db);
    return id;
  };
  const entry = async (callId: string, entered: string, fields: { answered?: string; left?: string; outcome?: string; wait?: number } = {}): Promise<string> => {
    const id = randomUUID();
    await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds)
      values (${id}, ${callId}, ${queueId}, 0, ${at(entered)}, ${fields.answered ? at(fields.answered) : null}, ${fields.answered ? agentId : null},
        ${fields.left ? at(fields.left) : null}, ${fields.outcome ?? null}, ${fields.wait ?? null})`.execute(db);
    return id;
  };
  const state = (when: string, from: string, to: string, callId: string | null = null) => sql`
    insert into agent_state_events (agent_id, from_state, to_state, call_id, source, at) values (${agentId}, ${from}, ${to}, ${callId}, 'system', ${at(when)})`.execute(db);
  const report = async (from: string, to: string, interval: Interval) => {
    const query = { from: at(from), to: at(to), interval, timezone: 'UTC', source: 'rollup' as const };
    return { queues: await reports.queues(query), agents: await reports.agents(query) };
  };
  /** 10 May by quarter and by day (the day tables), and the quarters either side of the watermark. */
  const purgedTime = async () => ({
    quarters: await report('05-10T09:00', '05-10T11:00', '15m'),
    day: await report('05-10T00:00', '05-11T00:00', 'day'),
    cutoff: await report('05-31T11:45', '05-31T12:45', '15m'),
  });
  const offered = async (from: string, to: string) => (await report(from, to, '15m')).queues.totals[0]?.offered ?? 0;
  const api = async (method: 'GET' | 'POST', url: string, body?: object) => {
    const res = await http.inject({ method, url, headers: { authorization: `Bearer ${adminToken}` }, ...(body ? { payload: body } : {}) });
    return { status: res.statusCode, body: res.json() };
  };

  before(async () => {
    database = await openDatabase<Database>(testConfig(), createLogger('silent'));
    db = database.db;
    await migrate(db, createLogger('silent'));
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(db);
    const emptied = tables.rows.map((t) => t.tablename).filter((name) => !['schema_migrations', 'pause_reasons'].includes(name));
    await sql.raw(`truncate ${emptied.map((name) => `"${name}"`).join(', ')} restart identity cascade`).execute(db);
    reports = new ReportsService(db, options, createLogger('silent'));
    http = await createHttpApp(pino({ level: 'silent' }));
    installAuth(http, new AuthService({ findActiveByHash: async () => undefined } as unknown as TokenStore, adminToken, new EventBus(), async () => undefined, pino({ level: 'silent' })));
    reportRoutes(http, reports, async () => ({}) as never, async () => []);
    await http.ready();

    await sql`insert into agents (id, number, name, pin_hash) values (${agentId}, '71', 'ana', 'x')`.execute(db);
    await sql`insert into queues (id, name, strategy) values (${queueId}, 'ventas', 'longest_idle')`.execute(db);
    // 10 May, 10:00-10:15: c1 answered by ana (talk 10:03-10:08, wrap-up to 10:09), c2 abandoned; both ended: purged.
    const c1 = await call('05-10T10:00', '05-10T10:09');
    await entry(c1, '05-10T10:02', { answered: '05-10T10:03', left: '05-10T10:08', outcome: 'answered', wait: 60 });
    await sql`insert into ivr_traces (call_id, flow_id, flow_version, node, node_type, at) values (${c1}, ${flowId}, 1, 'menu', 'menu', ${at('05-10T10:01')})`.execute(db);
    const c2 = await call('05-10T10:04', '05-10T10:06');
    await entry(c2, '05-10T10:05', { left: '05-10T10:06', outcome: 'abandoned', wait: 60 });
    // c3, in the same quarter, never ended (a crash left its entry waiting): kept, and its quarter counts as still changing.
    await entry(await call('05-10T10:10', null), '05-10T10:10');
    await state('05-10T09:00', 'logged_out', 'available');
    await state('05-10T10:03', 'available', 'on_call', c1);
    await state('05-10T10:08', 'on_call', 'wrap_up', c1);
    await state('05-10T10:09', 'wrap_up', 'available');
    await state('05-10T18:00', 'available', 'logged_out');
    // c4 started ten minutes before the cutoff and reached the queue twenty minutes after it: purged, so the watermark is 12:20.
    await entry(await call('05-31T11:50', '05-31T12:30'), '05-31T12:20', { left: '05-31T12:25', outcome: 'abandoned', wait: 300 });
    // 20 June: after the cutoff, untouched.
    await entry(await call('06-20T10:00', '06-20T10:05'), '06-20T10:01', { left: '06-20T10:02', outcome: 'abandoned', wait: 60 });
    await state('06-20T09:00', 'logged_out', 'available');
    await state('06-20T17:00', 'available', 'logged_out');

    await reports.rebuild([history], now);
    kept = await purgedTime();
    // What the test relies on: the rollups had the purged calls.
    assert.equal(await offered('05-10T10:00', '05-10T10:15'), 3);
    assert.equal(await offered('05-31T12:15', '05-31T12:30'), 1);
  });
  after(async () => {
    await http?.close();
    await database?.close();
  });

  it('the purge moves the watermark, in its transactions, to the latest moment it deleted; the rollups stay', async () => {
    assert.equal(await eventsPurgedBefore(db), undefined, 'nothing purged yet');
    const report = await purgeOldEvents(db, 30, now);
    assert.equal(report.cutoff, '2026-05-31T12:00:00.000Z');
    assert.equal(report.purgedBefore, '2026-05-31T12:20:00.000Z', 'c4 entered the queue after the cutoff');
    assert.deepEqual([report.calls, report.queueEntries, report.ivrTraces], [3, 3, 1], 'c1, c2, c4; c3 is not over');
    assert.deepEqual(await eventsPurgedBefore(db), at('05-31T12:20'));
    assert.deepEqual(await purgedTime(), kept);
    // A later run that deletes nothing leaves it where it is.
    assert.equal((await purgeOldEvents(db, 30, now)).purgedBefore, undefined);
    assert.deepEqual(await eventsPurgedBefore(db), at('05-31T12:20'));
  });

  it('a forced rebuild (POST /api/v1/reports/rebuild, rebuildRollups) starts after the watermark', async () => {
    // A call written late on 20 June (an import): its quarter is rebuilt, the purged ones are not.
    await entry(await call('06-20T11:00', '06-20T11:05'), '06-20T11:01', { left: '06-20T11:02', outcome: 'abandoned', wait: 60 });
    await sql`delete from report_dirty`.execute(db); // as if only a rebuild by hand could find it
    const rebuilt = await api('POST', '/api/v1/reports/rebuild', { from: history.from.toISOString(), to: history.to.toISOString() });
    assert.equal(rebuilt.status, 200, JSON.stringify(rebuilt.body));
    assert.deepEqual(rebuilt.body, { from: '2026-05-31T12:30:00.000Z', to: '2026-07-01T00:00:00.000Z', keptBefore: '2026-05-31T12:30:00.000Z' });
    assert.deepEqual(await purgedTime(), kept);
    assert.equal(await offered('06-20T00:00', '06-21T00:00'), 2, 'after the watermark the rebuild happens');
    const before = await api('POST', '/api/v1/reports/rebuild', { from: '2026-05-01T00:00:00Z', to: '2026-05-31T12:30:00Z' });
    assert.equal(before.status, 409);
    assert.equal(before.body.error.code, 'events_purged');
    assert.match(before.body.error.message, /2026-05-31T12:30:00\.000Z/);
    // The function itself, whoever calls it, with and without the dirty stretches.
    const done = await rebuildRollups(db, [history], { ...options, now });
    assert.deepEqual(done, [{ from: at('05-31T12:30'), to: history.to }]);
    await rebuildRollups(db, [history], { ...options, now, dirty: true });
    assert.deepEqual(await purgedTime(), kept);
  });

  it('neither the periodic job nor a report read rebuilds a purged quarter that is dirty or still changing', async () => {
    // A ring-no-answer for c3 written late (replayed from the journal): dirty on 10 May, discarded.
    const c3Entry = (await sql<{ id: string }>`select id from queue_entries where entered_at = ${at('05-10T10:10')}`.execute(db)).rows[0]!.id;
    await sql`insert into queue_offers (entry_id, agent_id, offered_at, ended_at, result) values (${c3Entry}, ${agentId}, ${at('05-10T10:11')}, ${at('05-10T10:11')}, 'no_answer')`.execute(db);
    assert.ok(Number((await sql<{ n: number }>`select count(*) as n from report_dirty`.execute(db)).rows[0]!.n) > 0);
    await reports.rebuildRecent(new Date(now.getTime() + 3600_000));
    await reports.rebuildRecent(new Date(now.getTime() + 2 * 3600_000));
    assert.deepEqual(await purgedTime(), kept, 'c3 still waiting keeps 10 May 10:00 "still changing"');
    assert.equal(Number((await sql<{ n: number }>`select count(*) as n from report_dirty`.execute(db)).rows[0]!.n), 0, 'the dirty stretch is forgotten');
  });

  it('source=raw and IVR reports refuse a range that starts before the watermark (409 events_purged); after it they answer', async () => {
    const range = (from: string, to: string) => `from=${from}&to=${to}&interval=hour&timezone=UTC`;
    for (const url of [
      `/api/v1/reports/queues?${range('2026-05-10', '2026-05-10')}&source=raw`,
      `/api/v1/reports/agents?${range('2026-05-31T12:15:00Z', '2026-06-01T00:00:00Z')}&source=raw`,
      `/api/v1/reports/peak-hours?from=2026-05-01&to=2026-06-30&timezone=UTC&source=raw`,
      `/api/v1/reports/ivr?${range('2026-05-10', '2026-05-10')}`,
    ]) {
      const res = await api('GET', url);
      assert.equal(res.status, 409, url);
      assert.equal(res.body.error.code, 'events_purged', url);
      assert.match(res.body.error.message, /before 2026-05-31T12:30:00\.000Z/, url);
    }
    // The rollups answer for the purged time; raw answers from the first whole quarter on, with the same figures.
    assert.equal((await api('GET', `/api/v1/reports/queues?${range('2026-05-10', '2026-05-10')}`)).body.totals[0].offered, 3);
    const after = range('2026-05-31T12:30:00Z', '2026-06-30T00:00:00Z');
    const raw = await api('GET', `/api/v1/reports/queues?${after}&source=raw`);
    assert.equal(raw.status, 200, JSON.stringify(raw.body));
    assert.deepEqual(raw.body, (await api('GET', `/api/v1/reports/queues?${after}`)).body);
    assert.equal(raw.body.totals[0].offered, 2);
    assert.equal((await api('GET', `/api/v1/reports/ivr?${after}`)).status, 200);
  });
});
