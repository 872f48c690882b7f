import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { resetDatabase, startTestApp, type TestApp } from '../support/harness.js';

/**
 * When the rollups are rebuilt (docs/metrics.md, "Rollups"): after a
 * downtime longer than the periodic window, after a change to an entry that
 * entered before the last periodic run, and how waiting callers count in the
 * service level.
 */
describe('reports: the rollups follow every write and every gap', () => {
  let t: TestApp;
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
    t = await startTestApp({ ari: { url: 'http://127.0.0.1:8088/ari', user: 'centralita', password: 'centralita-lab-ari', app: 'centralita-reports-fresh' } });
    await resetDatabase(t.app);
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
