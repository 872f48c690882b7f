import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { FeedClient } from '../support/live-feed.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { adminToken, waitFor } from '../support/harness.js';
import { at, day, seedScriptedDay } from '../support/scripted-day.js';

/**
 * The scripted morning of test/support/scripted-day.ts (Tuesday 10 March
 * 2026, Madrid = UTC+1); every figure below is worked out by hand in the
 * comments, from docs/metrics.md.
 */

describe('reports: a scripted day gives every figure as computed by hand', () => {
  let t: FastApp;
  let ids: Record<string, string>;
  let queueId: string;

  const db = () => t.app.database.db;
  const range = `from=${encodeURIComponent(`${day}T00:00:00+01:00`)}&to=${encodeURIComponent('2026-03-11T00:00:00+01:00')}&timezone=Europe/Madrid`;
  const report = async (path: string, query: string) => {
    const res = await t.api(`/api/v1/reports/${path}?${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };


  before(async () => {
    // No phones here: an app name of its own, so it never takes the lab's Stasis app from another test.
    t = await startFastApp();
    ({ ids, queueId } = await seedScriptedDay(t));
    await t.app.agents.load();
  });
  after(async () => {
    await t?.stop();
  });

  it('queue figures for the day, by hand', async () => {
    const rebuilt = await t.api('/api/v1/reports/rebuild', { method: 'POST', json: { from: `${day}T00:00:00Z`, to: '2026-03-11T00:00:00Z' } });
    assert.equal(rebuilt.status, 200, JSON.stringify(rebuilt.body));
    const body = await report('queues', `${range}&interval=day`);
    assert.equal(body.rows.length, 1);
    const { period, queueId: q, queue, ...figures } = body.rows[0];
    assert.equal(period, '2026-03-09T23:00:00.000Z', 'the day starts at midnight in Madrid');
    assert.equal(q, queueId);
    assert.equal(queue, 'ventas');
    assert.deepEqual(figures, {
      offered: 6, // c1-c6
      answered: 3, // c1, c3, c4
      abandoned: 2, // c2 (3 s), c5 (60 s)
      shortAbandoned: 1, // c2: under 5 s
      abandonRate: 33.33, // 2 / 6
      answeredWithinThreshold: 2, // c1 (15 s), c3 (20 s ≤ 20); c4 waited 32 s
      serviceLevel: 40, // 2 / (6 - 1)
      asa: 22.333, // (15 + 20 + 32) / 3
      averageWait: 26.667, // (15 + 3 + 20 + 32 + 60 + 30) / 6
      longestWait: 60,
      handled: 3,
      talkTime: 705, // 240 + 180 + 360 less the 75 s on hold
      averageTalk: 235,
      wrapUpTime: 130, // 30 + 40 + 60
      averageWrapUp: 43.333,
      holdTime: 75, // c1 45 (two holds) + c4 30
      holds: 3,
      averageHold: 25, // 75 / 3 handled
      aht: 303.333, // (705 + 75 + 130) / 3
      callbacksRequested: 1, // c6
      transfers: 0,
      overflows: 0,
    });
    assert.deepEqual(body.totals.map((r: { offered: number }) => r.offered), [6]);
    const quarters = await report('queues', `${range}&interval=15m`);
    assert.deepEqual(quarters.rows.map((r: { period: string; offered: number; answered: number }) => [r.period.slice(11, 16), r.offered, r.answered]),
      [['08:00', 1, 1], ['08:15', 2, 1], ['08:30', 2, 0], ['08:45', 1, 1]], 'each entry in the quarter hour it entered (UTC shown)');
  });

  it('agent figures for the day, by hand, and the team filter', async () => {
    // ben's click-to-call at 08:50 (answered, 95 s of talk) and one the customer did not answer: outbound figures from their rows.
    for (const [answered, talk] of [[true, 95], [false, null]] as const) {
      await sql`insert into outbound_calls (call_id, agent_id, number, caller_id, origin, started_at, answered_at, ended_at, outcome, talk_seconds)
        values (${randomUUID()}, ${ids.ben}, '0612345678', '+34910000000', 'api', ${at('08:50:00')}, ${answered ? at('08:50:10') : null}, ${at('08:51:45')},
          ${answered ? 'answered' : 'no_answer'}, ${talk})`.execute(db());
    }
    const body = await report('agents', `${range}&interval=day`);
    const byName = Object.fromEntries(body.rows.map((r: { agent: string }) => [r.agent, r]));
    assert.deepEqual(Object.keys(byName).sort(), ['ana', 'ben'], 'carla did nothing');
    const { period: _p1, agentId: _a1, agent: _n1, team: _t1, ...ana } = byName.ana;
    assert.deepEqual(ana, {
      loginTime: 3600,
      availableTime: 1943, // 600 + 325 + 540 + 300 + 178
      ringingTime: 22, // 5 + 15 + 2
      talkTime: 525, // on_call 240 + 360, less 75 on hold
      holdTime: 75,
      holds: 3,
      wrapUpTime: 90, // 30 + 60
      pauseTime: 945, // rona 45 + break 900
      pauseByReason: { rona: 45, break: 900 },
      answered: 2,
      missed: 1, // c3 rang out on ana
      handleTime: 690, // on_call 600 (hold included) + wrap-up 90
      occupancy: 26.21, // 690 / (690 + 1943)
      utilization: 19.17, // 690 / 3600
      callsPerHour: 2,
      csat: null, // no post-call survey that day
      csatAnswers: 0,
      outboundCalls: 0,
      outboundTalkTime: 0,
    });
    const { period: _p2, agentId: _a2, agent: _n2, team: _t2, ...ben } = byName.ben;
    assert.deepEqual(ben, {
      loginTime: 3600, availableTime: 2175, ringingTime: 5, talkTime: 180, holdTime: 0, holds: 0, wrapUpTime: 40, pauseTime: 1200, pauseByReason: { lunch: 1200 },
      answered: 1, missed: 0, handleTime: 220, occupancy: 9.19, utilization: 6.11, callsPerHour: 1, csat: null, csatAnswers: 0,
      outboundCalls: 1, outboundTalkTime: 95, // the answered click-to-call only
    });
    const teamB = await report('agents', `${range}&interval=day&team=B`);
    assert.deepEqual(teamB.rows, []);
    const onlyBen = await report('agents', `${range}&interval=hour&agent=${ids.ben}`);
    assert.deepEqual(onlyBen.rows.map((r: { period: string; loginTime: number }) => [r.period, r.loginTime]), [['2026-03-10T08:00:00.000Z', 3600]]);
  });

  it('handled calls by wrap-up code: count, share and AHT (talk + hold + wrap-up), in JSON and CSV', async () => {
    const body = await report('dispositions', `${range}&interval=day`);
    assert.deepEqual(body.rows.map((r: { code: string; label: string | null; count: number; share: number; aht: number }) => [r.code, r.label, r.count, r.share, r.aht]), [
      ['1', 'Venta', 1, 33.33, 270], // c1: 240 s answered (45 of it on hold) + 30 s wrap-up
      ['2', 'Reclamación', 1, 33.33, 220], // c3: 180 + 40
      ['unset', 'no code', 1, 33.33, 420], // c4: 360 (30 on hold) + 60
    ]);
    const res = await fetch(`${t.baseUrl}/api/v1/reports/dispositions?${range}&interval=day&format=csv`, { headers: { authorization: `Bearer ${adminToken}` } });
    const lines = (await res.text()).trim().split('\r\n');
    assert.equal(lines[0], 'period,queueId,queue,code,label,count,share,aht');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',').slice(3).join(',')), ['1,Venta,1,33.33,270', '2,Reclamación,1,33.33,220', 'unset,no code,1,33.33,420']);
  });

  it('IVR nodes: visits and where callers hung up; peak hours', async () => {
    const ivr = await report('ivr', `${range}&interval=day`);
    assert.deepEqual(ivr.rows.map((r: { node: string; visits: number; hangups: number }) => [r.node, r.visits, r.hangups]),
      [['menu', 7, 1], ['q', 6, 0], ['welcome', 8, 1]]);
    const peaks = await report('peak-hours', range);
    assert.deepEqual(peaks.rows, [{ weekday: 2, hour: 9, offered: 6, answered: 3 }], 'Tuesday, 09:00-10:00 in Madrid');
  });

  it('the rollups and the raw events give the same figures, for every report and interval; a late event is counted at the next read', async () => {
    for (const path of ['queues', 'agents']) {
      for (const interval of ['15m', 'hour', 'day', 'week', 'month']) {
        const rollup = await report(path, `${range}&interval=${interval}`);
        const raw = await report(path, `${range}&interval=${interval}&source=raw`);
        assert.deepEqual(rollup, raw, `${path} by ${interval}`);
        assert.ok(raw.rows.length > 0);
      }
    }
    const days = await sql<{ n: number }>`select count(*)::int as n from report_queue_day where day = ${day}::date`.execute(db());
    assert.equal(days.rows[0]!.n, 1, 'by day in the centre\'s zone, the day rollups answered');
    // A late event, months old: an abandoned caller written after the rollups were made and after a periodic run.
    await t.app.reports.rebuildRecent();
    const late = randomUUID();
    await sql`insert into calls (id, channel_id, direction, started_at, ended_at) values (${late}, ${`chan-late-${late}`}, 'inbound', ${at('08:30:00')}, ${at('08:31:00')})`.execute(db());
    await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, left_at, outcome, wait_seconds)
      values (${randomUUID()}, ${late}, ${queueId}, 0, ${at('08:30:00')}, ${at('08:31:00')}, 'abandoned', 60)`.execute(db());
    const after = (await report('queues', `${range}&interval=day`)).rows[0];
    assert.deepEqual([after.offered, after.abandoned, after.serviceLevel], [7, 3, 33.33], 'counted at once: 2 within 20 s of 7 - 1');
    assert.deepEqual(await report('queues', `${range}&interval=15m`), await report('queues', `${range}&interval=15m&source=raw`));
  });

  it('CSV gives the same rows as JSON', async () => {
    const json = await report('queues', `${range}&interval=15m`);
    const res = await fetch(`${t.baseUrl}/api/v1/reports/queues?${range}&interval=15m`, { headers: { authorization: `Bearer ${adminToken}`, accept: 'text/csv' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    const [header, ...lines] = (await res.text()).trim().split('\r\n');
    const columns = header!.split(',');
    assert.equal(lines.length, json.rows.length);
    lines.forEach((line, k) => {
      const cells = line.split(',');
      for (const [i, column] of columns.entries()) {
        const expected = json.rows[k][column];
        assert.equal(cells[i], expected === null ? '' : String(expected), `row ${k} ${column}`);
      }
    });
  });

  it('CSV: a team name that a spreadsheet would run as a formula is escaped; the figures stay numbers', async () => {
    const team = '=HYPERLINK("http://127.0.0.1/x","y")';
    assert.equal((await t.api(`/api/v1/agents/${ids.ana}`, { method: 'PATCH', json: { team } })).status, 200);
    try {
      const res = await t.api(`/api/v1/reports/agents?${range}&interval=day&agent=${ids.ana}&format=csv`);
      assert.equal(res.status, 200);
      const [header, line] = (res.body as string).split('\r\n');
      const columns = header!.split(',');
      assert.ok(line!.includes(`,"'=HYPERLINK(""http://127.0.0.1/x"",""y"")",`), line);
      // The team's quoted cell holds commas: the cells after it are split on their own.
      const afterTeam = line!.slice(line!.lastIndexOf('",') + 2).split(',');
      assert.equal(afterTeam[columns.indexOf('loginTime') - columns.indexOf('team') - 1], '3600', 'a figure is written as a plain number');
    } finally {
      await t.api(`/api/v1/agents/${ids.ana}`, { method: 'PATCH', json: { team: 'A' } });
    }
  });

  it('plain dates as a person types them: midnight in the report\'s time zone, to= including that day', async () => {
    const typed = await report('queues', `from=${day}&to=${day}&timezone=Europe/Madrid&interval=day`);
    assert.deepEqual(typed, await report('queues', `${range}&interval=day`));
    assert.equal(typed.rows.length, 1);
    const byDefault = await report('queues', `from=${day}&to=${day}&interval=hour`);
    assert.deepEqual(byDefault.rows.map((r: { period: string }) => r.period), ['2026-03-10T08:00:00.000Z'], 'CENTRALITA_TIMEZONE (Madrid) by default');
    const utc = await report('queues', `from=${day}&to=${day}&timezone=UTC&interval=day`);
    assert.equal(utc.rows[0].period, '2026-03-10T00:00:00.000Z', 'the day in UTC');
    assert.equal((await report('queues', `from=2026-03-11&to=2026-03-11&interval=day`)).rows.length, 0, 'the next day is another day');
    assert.deepEqual(await report('peak-hours', `from=${day}&to=${day}`), await report('peak-hours', range));
  });

  it('refuses bad parameters with 400 and a clear message', async () => {
    const bad = async (query: string, pattern: RegExp) => {
      const res = await t.api(`/api/v1/reports/queues?${query}`);
      assert.equal(res.status, 400, query);
      assert.match(res.body.error.message, pattern);
    };
    await bad(`from=2026-03-11T00:00:00Z&to=2026-03-10T00:00:00Z&interval=day`, /from must be before/);
    await bad(`from=2026-03-10T00:00:00Z&to=2026-03-11T00:00:00Z&interval=fortnight`, /interval/);
    await bad(`from=2026-03-10T00:00:00Z&to=2026-03-11T00:00:00Z&interval=day&timezone=Mars/Olympus`, /unknown time zone/);
    await bad(`from=yesterday&to=2026-03-11T00:00:00Z&interval=day`, /from/);
    await bad(`from=2026-02-30&to=2026-03-11&interval=day`, /querystring\/from must be a date/);
    await bad(`from=2026-03-10&to=2026-03-09&interval=day`, /from must be before/);
    await bad(`to=2026-03-11T00:00:00Z&interval=day`, /from/);
    await bad(`from=2016-03-10T00:00:00Z&to=2026-03-11T00:00:00Z&interval=15m`, /periods/);
    const agentToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'a', role: 'agent', agentId: ids.ana } })).body.token;
    assert.equal((await t.api(`/api/v1/reports/queues?${range}&interval=day`, { token: agentToken })).status, 403);
    assert.equal((await t.api(`/api/v1/stats/live`, { token: agentToken })).status, 403);
  });

  it('live figures: today per queue and each agent\'s state, pushed on the events feed when something changes', async () => {
    const now = new Date();
    const call = randomUUID();
    await sql`insert into calls (id, channel_id, direction, started_at, ended_at) values (${call}, ${`chan-today-${call}`}, 'inbound', ${now}, ${now})`.execute(db());
    await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, left_at, outcome, wait_seconds)
      values (${randomUUID()}, ${call}, ${queueId}, 0, ${new Date(now.getTime() - 1000)}, ${now}, 'abandoned', 1)`.execute(db());
    const live = (await t.api('/api/v1/stats/live')).body;
    const ventas = live.queues.find((q: { name: string }) => q.name === 'ventas');
    assert.deepEqual(ventas.today, { offered: 1, answered: 0, abandoned: 1, serviceLevel: null, serviceLevelSeconds: 20, csat: null, csatAnswers: 0 }, 'a short abandon only: no service level yet');
    assert.equal(ventas.waiting, 0);
    assert.deepEqual(ventas.agents, { available: 0, ringing: 0, on_call: 0, wrap_up: 0, paused: 0, logged_out: 2 });
    assert.equal(live.agents.find((a: { agentId: string }) => a.agentId === ids.ana).status, 'logged_out');

    const feed = await FeedClient.connect(t.baseUrl, adminToken);
    try {
      assert.equal((await t.api(`/api/v1/agents/${ids.ana}/login`, { method: 'POST', json: { extension: '1009' } })).status, 200);
      const pushed = await waitFor(() => feed.messages.find((m) => m.type === 'stats.live'
        && (m.data.agents as { agentId: string; status: string }[]).some((a) => a.agentId === ids.ana && a.status !== 'logged_out')), 5000, 'no stats.live after the check-in');
      const queue = (pushed.data.queues as { name: string; agents: Record<string, number> }[]).find((q) => q.name === 'ventas')!;
      assert.equal(queue.agents.logged_out, 1, 'ana is counted checked in');
      await t.api(`/api/v1/agents/${ids.ana}/logout`, { method: 'POST' });
    } finally {
      feed.close();
    }
  });
});
