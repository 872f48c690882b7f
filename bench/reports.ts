/**
 * Reports over a year of synthetic history: 500 agents, 10 queues, about
 * 5 million calls (npm run bench:reports -- [calls]). Builds the history in
 * its own database (centralita_bench, recreated), rolls it up, then times
 * the reports the issue names: a month by day per queue and per agent.
 * Not a test: the figures go to bench/README.md by hand.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { openDatabase } from '../src/core/db.js';
import { createLogger } from '../src/core/logger.js';
import { migrate } from '../src/core/migrate.js';
import { ReportsService } from '../src/reports/service.js';

const calls = Number(process.argv[2] ?? 5_000_000);
const agents = 500;
const queues = 10;
const database = 'centralita_bench';
const url = `postgres://postgres@127.0.0.1:5432/${database}`;
const logger = createLogger('warn');

const yearEnd = new Date('2026-11-01T00:00:00Z');
const yearStart = new Date('2025-11-01T00:00:00Z');

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/**
 * Working days (Monday-Friday), 08:00-20:00 UTC. Each call goes to a queue
 * and, when answered, to one of its members (the k-th call of a day to queue
 * k mod 10 and agent k mod 500); each agent's day is a login, a break, a
 * lunch and a logout, and every answered call adds on_call, wrap_up and
 * available changes.
 */
async function generate(db: Kysely<unknown>): Promise<void> {
  await sql`select setseed(0.42)`.execute(db);
  await sql`insert into agents (id, number, name, pin_hash, team)
    select gen_random_uuid(), (10000 + g)::text, 'agent ' || g, 'x', 'team ' || (g % 20) from generate_series(1, ${agents}) g`.execute(db);
  await sql`insert into queues (id, name, strategy) select gen_random_uuid(), 'queue ' || g, 'longest_idle' from generate_series(1, ${queues}) g`.execute(db);
  await sql`insert into queue_members (queue_id, agent_id)
    select q.id, a.id from (select id, row_number() over (order by name) - 1 as n from queues) q
    join (select id, row_number() over (order by number) - 1 as n from agents) a on a.n % ${queues} = q.n`.execute(db);
  await sql`create temporary table days as
    select d as day from generate_series(${yearStart}::timestamptz, ${yearEnd}::timestamptz - interval '1 day', interval '1 day') d
    where extract(isodow from d) < 6`.execute(db);
  await sql`create temporary table agent_list as select id, row_number() over (order by number) - 1 as n from agents`.execute(db);
  await sql`create temporary table queue_list as select id, row_number() over (order by name) - 1 as n from queues`.execute(db);
  const dayCount = Number((await sql<{ n: string }>`select count(*) as n from days`.execute(db)).rows[0]!.n);
  await timed(`calls and queue entries (${calls})`, async () => {
    await sql`create temporary table gen as
      select gen_random_uuid() as call_id, gen_random_uuid() as entry_id, g, (g / ${dayCount}) as k,
        (select day from days offset (g % ${dayCount}) limit 1) + interval '8 hours' + random() * interval '12 hours' as started,
        random() as r, (random() * random() * 180)::numeric(10, 3) as wait, 60 + random() * 540 as talk
      from generate_series(1, ${calls}) g`.execute(db);
    await sql`insert into calls (id, channel_id, direction, caller_number, did, started_at, answered_at, ended_at, end_reason)
      select call_id, 'bench-' || g, 'inbound', '6' || (100000000 + g % 90000000)::text, '5550000', started, started,
        started + interval '10 seconds' + wait * interval '1 second' + case when r < 0.9 then talk * interval '1 second' else interval '0' end, 'hangup'
      from gen`.execute(db);
    await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds, service_level_seconds)
      select entry_id, call_id, q.id, 0, started + interval '10 seconds',
        case when r < 0.9 then started + interval '10 seconds' + wait * interval '1 second' end,
        case when r < 0.9 then a.id end,
        started + interval '10 seconds' + wait * interval '1 second' + case when r < 0.9 then talk * interval '1 second' else interval '0' end,
        case when r < 0.9 then 'answered' when r < 0.98 then 'abandoned' else 'callback' end, wait, 20
      from gen join queue_list q on q.n = k % ${queues} join agent_list a on a.n = k % ${agents}`.execute(db);
    await sql`insert into queue_offers (entry_id, agent_id, offered_at, ended_at, result)
      select entry_id, a.id, started + interval '10 seconds', started + interval '10 seconds' + wait * interval '1 second',
        case when r < 0.9 then 'answered' else 'caller_left' end
      from gen join agent_list a on a.n = k % ${agents}`.execute(db);
  });
  await timed('agent state changes', async () => {
    await sql`insert into agent_state_events (agent_id, from_state, to_state, to_reason, extension, source, at)
      select a.id, x.from_state, x.to_state, x.reason, null, 'system', d.day + x.offset_
      from agent_list a cross join days d cross join (values
        ('logged_out', 'available', null, interval '8 hours'),
        ('available', 'paused', 'break', interval '11 hours'),
        ('paused', 'available', null, interval '11 hours 15 minutes'),
        ('available', 'paused', 'lunch', interval '14 hours'),
        ('paused', 'available', null, interval '15 hours'),
        ('available', 'logged_out', null, interval '20 hours 30 minutes')
      ) as x(from_state, to_state, reason, offset_)`.execute(db);
    await sql`insert into agent_state_events (agent_id, from_state, to_state, to_reason, extension, call_id, source, at)
      select a.id, s.from_state, s.to_state, null, null, gen.call_id, 'system', s.at
      from gen join agent_list a on a.n = k % ${agents}
      cross join lateral (values
        ('available', 'on_call', started + interval '10 seconds' + wait * interval '1 second'),
        ('on_call', 'wrap_up', started + interval '10 seconds' + (wait + talk) * interval '1 second'),
        ('wrap_up', 'available', started + interval '25 seconds' + (wait + talk) * interval '1 second')
      ) as s(from_state, to_state, at)
      where gen.r < 0.9`.execute(db);
  });
  await timed('analyze', () => sql`analyze`.execute(db));
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  execFileSync('psql', ['-q', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-c', `drop database if exists ${database} with (force)`, '-c', `create database ${database}`]);
  const handle = await openDatabase<unknown>({ databaseUrl: url, dataDir: '/tmp' }, logger);
  const db = handle.db;
  await migrate(db as never, logger);
  // The year is generated in a few huge statements: the triggers that record
  // what each write changed (migration 016) are off meanwhile, and the timed
  // rebuilds below are the month-by-month ones.
  const dirtyTriggers = [['queue_entries', 'report_dirty_entries_insert'], ['queue_offers', 'report_dirty_offers_insert'], ['agent_state_events', 'report_dirty_agent_states']];
  for (const [table, trigger] of dirtyTriggers) await sql`alter table ${sql.table(table!)} disable trigger ${sql.ref(trigger!)}`.execute(db);
  await generate(db);
  for (const [table, trigger] of dirtyTriggers) await sql`alter table ${sql.table(table!)} enable trigger ${sql.ref(trigger!)}`.execute(db);
  await sql`truncate report_dirty`.execute(db);
  const reports = new ReportsService(db, { timezone: 'Europe/Madrid', shortAbandonSeconds: 5 }, logger);
  await timed('rollups for the year (month by month)', async () => {
    for (let m = new Date(yearStart); m < yearEnd; m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))) {
      await reports.rebuild([{ from: m, to: new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1)) }]);
    }
  });
  await reports.rebuildRecent();
  await timed('the periodic job (26 hours rebuilt)', () => reports.rebuild([{ from: new Date('2026-10-14T22:00:00Z'), to: new Date('2026-10-16T00:00:00Z') }]));
  // A write to an entry of three days before (an answer replayed from the journal): the next read rebuilds its quarter.
  await sql`update queue_entries set wait_seconds = wait_seconds where id = (select id from queue_entries where entered_at >= '2026-10-12T10:00:00Z' order by entered_at limit 1)`.execute(db);
  await timed('a report read after a change to an entry of days before (its quarter rebuilt first)', () => reports.queues({ from: new Date('2026-10-12T00:00:00Z'), to: new Date('2026-10-13T00:00:00Z'), interval: 'hour', timezone: 'UTC', source: 'rollup' }));
  const sizes = await sql<{ t: string; n: string }>`select 'queue_entries' as t, count(*) as n from queue_entries union all select 'agent_state_events', count(*) from agent_state_events
    union all select 'report_queue_15m', count(*) from report_queue_15m union all select 'report_agent_15m', count(*) from report_agent_15m`.execute(db);
  console.log(sizes.rows.map((r) => `${r.t}: ${r.n}`).join(', '));

  const month = { from: new Date('2026-09-30T22:00:00Z'), to: new Date('2026-10-31T23:00:00Z'), interval: 'day' as const, timezone: 'Europe/Madrid' };
  const rounds = 20;
  for (const [name, run] of [
    ['queues, a month by day (rollups)', () => reports.queues({ ...month, source: 'rollup' })],
    ['agents, a month by day (rollups)', () => reports.agents({ ...month, source: 'rollup' })],
    ['agents of one team, a month by day (rollups)', () => reports.agents({ ...month, source: 'rollup', team: 'team 3' })],
    ['peak hours, a month (rollups)', () => reports.peakHours({ ...month, source: 'rollup' })],
    ['queues, a month by day (raw events)', () => reports.queues({ ...month, source: 'raw' })],
  ] as const) {
    const times: number[] = [];
    const n = name.includes('raw') ? 3 : rounds;
    let rows = 0;
    for (let i = 0; i < n; i += 1) {
      const started = performance.now();
      const result = await run();
      times.push(performance.now() - started);
      rows = Array.isArray(result) ? result.length : result.rows.length;
    }
    console.log(`${name}: ${rows} rows, p50 ${quantile(times, 0.5).toFixed(0)} ms, p95 ${quantile(times, 0.95).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (${n} rounds)`);
  }
  await handle.close();
}

await main();
