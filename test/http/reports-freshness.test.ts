import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';

/**
 * When the rollups are rebuilt (docs/metrics.md, "Rollups"): after a
 * downtime longer than the periodic window, after a change to an entry that
 * entered before the last periodic run, and how waiting callers count in the
 * service level.
 */
describe('reports: the rollups follow every write and every gap', () => {
  let t: FastApp;
  let agentId: string;
  let otherId: string;
  let queueId: string;
  const db = () => t.app.database.db;
  const hour = 3600_000;

  const report = async (path: string, query: string) => {
    const res = await t.api(`/api/v1/reports/${path}?${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const state = (agent: string, at: Date, from: string, to: string, callId: string | null = null) => sql`
    insert into agent_state_events (agent_id, from_state, to_state, extension, call_id, source, at)
    values (${agent}, ${from}, ${to}, '1005', ${callId}, 'system', ${at})`.execute(db());
  const call = async (at: Date): Promise<string> => {
    const id = randomUUID();
    await sql`insert into calls (id, channel_id, direction, started_at) values (${id}, ${`chan-${id}`}, 'inbound', ${at})`.execute(db());
    return id;
  };

  before(async () => {
    t = await startFastApp();
    agentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '81', name: 'dora', pin: '1234' } })).body.id;
    otherId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '82', name: 'eloy', pin: '1234' } })).body.id;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'cobros', strategy: 'longest_idle', serviceLevelSeconds: 20 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    queueId = queue.body.id;
  });
  after(async () => {
    await t?.stop();
  });

  it('after more than 26 hours without a run, the next run rebuilds from the last one', async () => {
    const run = new Date('2026-11-02T10:00:00Z');
    // dora checks in an hour before a periodic run and stays; eloy's last change, days before, was a check-out.
    await state(agentId, new Date(run.getTime() - hour), 'logged_out', 'available');
    const old = await call(new Date('2026-10-29T09:00:00Z'));
    await state(otherId, new Date('2026-10-29T08:00:00Z'), 'logged_out', 'available');
    await state(otherId, new Date('2026-10-29T09:00:00Z'), 'available', 'ringing', old);
    await state(otherId, new Date('2026-10-29T09:00:05Z'), 'ringing', 'logged_out');
    await t.app.reports.rebuildRecent(run);
    // centralita was down; the next run is 30 hours later.
    await t.app.reports.rebuildRecent(new Date(run.getTime() + 30 * hour));
    const range = `from=${run.toISOString()}&to=${new Date(run.getTime() + 4 * hour).toISOString()}&interval=hour&timezone=UTC`;
    const rollup = await report('agents', range);
    // 10:00-14:00, the 4 hours between the last run and the periodic window: 3600 s of login each.
    assert.deepEqual(rollup.rows.map((r: { agent: string; period: string; loginTime: number; availableTime: number }) => [r.agent, r.period.slice(11, 16), r.loginTime, r.availableTime]),
      [['dora', '10:00', 3600, 3600], ['dora', '11:00', 3600, 3600], ['dora', '12:00', 3600, 3600], ['dora', '13:00', 3600, 3600]], 'eloy, checked out days before, counts nothing');
    assert.deepEqual(rollup, await report('agents', `${range}&source=raw`));
  });

  it('a change to an entry that entered before the last run shows at the next read', async () => {
    const entered = new Date(Date.now() - 20 * 60_000); // always in a quarter before the run below
    const callId = await call(entered);
    const entryId = randomUUID();
    await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at) values (${entryId}, ${callId}, ${queueId}, 0, ${entered})`.execute(db());
    await t.app.reports.rebuildRecent();
    const range = `from=${new Date(entered.getTime() - hour).toISOString()}&to=${new Date(Date.now() + 15 * 60_000).toISOString()}&interval=15m&timezone=UTC`;
    assert.deepEqual((await report('queues', range)).rows.map((r: { offered: number; answered: number }) => [r.offered, r.answered]), [[1, 0]]);
    // Answered (after a long wait) and ended: the report read right after says so.
    await sql`update queue_entries set answered_at = ${new Date(entered.getTime() + 60_000)}, answered_by = ${agentId}, wait_seconds = 60,
      left_at = ${new Date(entered.getTime() + 120_000)}, outcome = 'answered' where id = ${entryId}`.execute(db());
    const rows = (await report('queues', range)).rows;
    assert.deepEqual(rows.map((r: { offered: number; answered: number; handled: number; talkTime: number; serviceLevel: number }) => [r.offered, r.answered, r.handled, r.talkTime, r.serviceLevel]),
      [[1, 1, 1, 60, 0]], 'answered after 60 s (over 20 s), talked 60 s');
    assert.deepEqual((await report('queues', range)), await report('queues', `${range}&source=raw`));
  });

  it('writes after a run reach the rollups: a wrap-up going on and its end, a ring-no-answer, an answer undone', async () => {
    await sql`truncate queue_entries, queue_offers cascade`.execute(db());
    // One "now" for every time below: read anew at each step, a slow step
    // (a loaded machine) would stretch the 5 minutes of wrap-up written late.
    const now = Date.now();
    const ago = (minutes: number) => new Date(now - minutes * 60_000);
    const entry = async (entered: Date, answered: Date | null, left: Date | null) => {
      const callId = await call(entered);
      const id = randomUUID();
      await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds)
        values (${id}, ${callId}, ${queueId}, 0, ${entered}, ${answered}, ${answered ? agentId : null}, ${left}, ${left ? 'answered' : null},
          ${answered ? (answered.getTime() - entered.getTime()) / 1000 : null})`.execute(db());
      return { id, callId };
    };
    // e: entered 40 min ago, answered by dora a minute later, ended 30 min ago: dora is still in wrap-up.
    const e = await entry(ago(40), ago(39), ago(30));
    await state(agentId, ago(39), 'available', 'on_call', e.callId);
    await state(agentId, ago(30), 'on_call', 'wrap_up', e.callId);
    // g: entered 50 min ago, answered by dora 15 min later (always another quarter).
    const g = await entry(ago(50), ago(35), null);
    // The periodic run was 10 minutes ago: every quarter of these entries is final.
    await t.app.reports.rebuildRecent(ago(10));
    const range = `from=${ago(60).toISOString()}&to=${new Date(Date.now() + 15 * 60_000).toISOString()}&interval=hour&timezone=UTC`;
    const queueTotals = async (source = 'rollup') => (await report('queues', `${range}&source=${source}`)).totals[0];
    const agentTotals = async (name: string) => (await report('agents', range)).totals.find((r: { agent: string }) => r.agent === name);

    // The wrap-up goes on with nothing written: 30 min so far, not the 20 min the run saw.
    const open = await queueTotals();
    assert.ok(Math.abs(open.wrapUpTime - 1800) < 5, `wrap-up going on: ${open.wrapUpTime} s, about 1800`);
    // dora ends it 25 min ago (written late): 5 min of wrap-up.
    await state(agentId, ago(25), 'wrap_up', 'available');
    assert.equal(Math.round((await queueTotals()).wrapUpTime), 300, 'the change that ends a wrap-up rebuilds the quarter the entry entered in');
    assert.equal(Math.round((await queueTotals('raw')).wrapUpTime), 300);
    // eloy did not answer g when it rang him 41 min ago (written late, nothing else written).
    await sql`insert into queue_offers (entry_id, agent_id, offered_at, ended_at, result) values (${g.id}, ${otherId}, ${ago(41)}, ${ago(40.8)}, 'no_answer')`.execute(db());
    assert.equal((await agentTotals('eloy')).missed, 1, 'a late ring-no-answer counts in its own quarter');
    // g's answer was never bridged: undone.
    assert.equal((await agentTotals('dora')).answered, 2);
    await sql`update queue_entries set answered_at = null, answered_by = null, wait_seconds = null where id = ${g.id}`.execute(db());
    assert.equal((await agentTotals('dora')).answered, 1, 'an answer undone leaves the quarter it was counted in');
  });

  it('a caller still waiting under the threshold is neither a hit nor a miss; the threshold stays with the entry', async () => {
    await sql`truncate queue_entries, queue_offers cascade`.execute(db());
    const now = new Date('2026-11-03T12:00:00Z');
    const entry = async (enteredSecondsAgo: number, answeredAfter: number | null) => {
      const entered = new Date(now.getTime() - enteredSecondsAgo * 1000);
      const callId = await call(entered);
      await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, wait_seconds)
        values (${randomUUID()}, ${callId}, ${queueId}, 0, ${entered}, ${answeredAfter === null ? null : new Date(entered.getTime() + answeredAfter * 1000)},
          ${answeredAfter === null ? null : agentId}, ${answeredAfter})`.execute(db());
    };
    await entry(60, 10); // answered after 10 s: within 20 s
    await entry(1, null); // waiting 1 s: not decided
    await entry(30, null); // waiting 30 s: already a miss
    const today = (await t.app.reports.today(now)).get(queueId)!;
    assert.deepEqual([today.offered, today.answered, today.serviceLevel], [3, 1, 50], '1 within / (3 offered - 1 still under 20 s)');
    // The queue's threshold moves to 40 s: entries that entered before keep 20 s.
    assert.equal((await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { serviceLevelSeconds: 40 } })).status, 200);
    assert.equal((await t.app.reports.today(now)).get(queueId)!.serviceLevel, 50, 'the 30 s caller stays a miss under the 20 s it entered with');
    const kept = await sql<{ s: number }>`select distinct service_level_seconds as s from queue_entries`.execute(db());
    assert.deepEqual(kept.rows.map((r) => r.s), [20]);
    await entry(30, null); // enters now, under the new 40 s: waiting 30 s is not decided yet
    assert.equal((await t.app.reports.today(now)).get(queueId)!.serviceLevel, 50, '1 within / (4 - 2 undecided)');
  });
});
