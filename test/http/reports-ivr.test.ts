import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';

/**
 * The IVR report's hang-ups over the whole call, and the CSV's fixed
 * columns, on stored events with known timestamps (Tuesday 10 March 2026,
 * all in UTC). Every figure is worked out by hand in the comments, from
 * docs/metrics.md.
 */

const day = '2026-03-10';
const at = (hms: string): Date => new Date(`${day}T${hms}Z`);
const range = (from: string, to: string): string => `from=${day}T${from}Z&to=${day}T${to}Z&timezone=UTC`;

describe('reports: IVR hang-ups over the whole call, fixed CSV columns', () => {
  let t: FastApp;
  const ids: Record<string, string> = {};
  const db = () => t.app.database.db;
  const report = async (path: string, query: string) => {
    const res = await t.api(`/api/v1/reports/${path}?${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const csv = async (path: string, query: string): Promise<string[]> => {
    const res = await t.api(`/api/v1/reports/${path}?${query}&format=csv`);
    assert.equal(res.status, 200, String(res.body));
    return (res.body as string).split('\r\n').slice(0, -1);
  };
  /** [HH:MM of the period, node, visits, hangups] per row. */
  const ivr = async (query: string): Promise<[string, string, number, number][]> => (await report('ivr', query)).rows
    .map((r: { period: string; node: string; visits: number; hangups: number }) => [r.period.slice(11, 16), r.node, r.visits, r.hangups]);

  before(async () => {
    // No phones here: an app name of its own, so it never takes the lab's Stasis app from another test.
    t = await startFastApp();
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'ventas', strategy: 'longest_idle', serviceLevelSeconds: 20 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    const flow = await t.api('/api/v1/ivr-flows', { method: 'POST', json: { name: 'menu', document: { start: 'welcome', nodes: {
      welcome: { type: 'play', media: ['sound:hello-world'], next: 'menu' },
      menu: { type: 'menu', prompt: ['sound:beep'], options: { 1: 'q' } },
      q: { type: 'queue', queue: 'ventas' },
    } } } });
    assert.equal(flow.status, 201, JSON.stringify(flow.body));
    const nodeType: Record<string, string> = { welcome: 'play', menu: 'menu', q: 'queue' };
    // Each call: its steps [node, time] in order, and when it ended (null: still going on).
    const calls: [string, [string, string][], string | null][] = [
      ['G', [['welcome', '09:59:58'], ['menu', '10:00:03']], '10:01:00'],
      ['B', [['welcome', '10:02:00'], ['menu', '10:02:10'], ['q', '10:02:20']], '10:08:00'],
      ['E', [['welcome', '10:10:00']], null],
      ['A', [['welcome', '10:14:50'], ['menu', '10:15:05']], '10:15:30'],
      ['C', [['welcome', '10:20:00']], '10:20:04'],
      ['D', [['welcome', '10:25:00'], ['menu', '10:25:10']], '10:26:00'],
      ['F', [['welcome', '10:29:55'], ['menu', '10:30:02']], '10:31:00'],
    ];
    for (const [name, steps, ended] of calls) {
      const id = randomUUID();
      await sql`insert into calls (id, channel_id, direction, caller_number, did, started_at, answered_at, ended_at, end_reason)
        values (${id}, ${`chan-${name}-${id}`}, 'inbound', '600000000', '5550000', ${at(steps[0]![1])}, ${at(steps[0]![1])},
          ${ended ? at(ended) : null}, ${ended ? 'hangup' : null})`.execute(db());
      for (const [node, time] of steps) {
        await sql`insert into ivr_traces (call_id, flow_id, flow_version, node, node_type, at)
          values (${id}, ${flow.body.id}, 1, ${node}, ${nodeType[node]}, ${at(time)})`.execute(db());
      }
    }

    // Agents, each alone in their hour (no state before it, so nothing depends on the state at `from`):
    // ana 08:00-08:30 with a break, ben 09:00-09:40 with lunch, carla 10:00-10:20 with `siesta`, a reason no longer defined.
    for (const [name, team] of [['ana', 'A'], ['ben', 'A'], ['carla', 'B']] as const) {
      const res = await t.api('/api/v1/agents', { method: 'POST', json: { number: `8${Object.keys(ids).length}`, name, pin: '1234', team } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[name] = res.body.id;
    }
    const state = (agent: string, hms: string, from: string, to: string, reason: string | null = null) => sql`
      insert into agent_state_events (agent_id, from_state, to_state, to_reason, extension, source, at)
      values (${ids[agent]}, ${from}, ${to}, ${reason}, '1005', 'system', ${at(hms)})`.execute(db());
    await state('ana', '08:00:00', 'logged_out', 'available');
    await state('ana', '08:10:00', 'available', 'paused', 'break');
    await state('ana', '08:20:00', 'paused', 'available');
    await state('ana', '08:30:00', 'available', 'logged_out');
    await state('ben', '09:00:00', 'logged_out', 'available');
    await state('ben', '09:10:00', 'available', 'paused', 'lunch');
    await state('ben', '09:30:00', 'paused', 'available');
    await state('ben', '09:40:00', 'available', 'logged_out');
    await state('carla', '10:00:00', 'logged_out', 'available');
    await state('carla', '10:05:00', 'available', 'paused', 'siesta');
    await state('carla', '10:15:00', 'paused', 'available');
    await state('carla', '10:20:00', 'available', 'logged_out');
    await t.app.agents.load();
  });
  after(async () => {
    await t?.stop();
  });

  it('IVR: hang-ups of two adjacent ranges add up to the whole range\'s', async () => {
    // 10:00-10:15 — steps: G menu, B welcome/menu/q, E welcome, A welcome.
    //   visits: menu 2 (G, B), q 1 (B), welcome 3 (B, E, A).
    //   hang-ups: menu 1 (G ended there); B ended in the queue; E has not ended;
    //   A's last step is menu at 10:15:05, after this range: not a hang-up at welcome.
    const first = await ivr(`${range('10:00:00', '10:15:00')}&interval=hour`);
    assert.deepEqual(first, [['10:00', 'menu', 2, 1], ['10:00', 'q', 1, 0], ['10:00', 'welcome', 3, 0]]);
    // 10:15-10:30 — steps: A menu, C welcome, D welcome/menu, F welcome.
    //   visits: menu 2 (A, D), welcome 3 (C, D, F).
    //   hang-ups: menu 2 (A, D), welcome 1 (C); F moved on to menu at 10:30:02: not a hang-up here.
    const second = await ivr(`${range('10:15:00', '10:30:00')}&interval=hour`);
    assert.deepEqual(second, [['10:00', 'menu', 2, 2], ['10:00', 'welcome', 3, 1]]);
    // 10:00-10:30: menu 2 + 2 = 4 visits, 1 + 2 = 3 hang-ups; q 1, 0; welcome 3 + 3 = 6 visits, 0 + 1 = 1 hang-up.
    const whole = await ivr(`${range('10:00:00', '10:30:00')}&interval=hour`);
    assert.deepEqual(whole, [['10:00', 'menu', 4, 3], ['10:00', 'q', 1, 0], ['10:00', 'welcome', 6, 1]]);
    // The same range by quarter hours: each quarter as its own range above.
    const quarters = await ivr(`${range('10:00:00', '10:30:00')}&interval=15m`);
    assert.deepEqual(quarters, [...first, ...second.map(([, node, v, h]) => ['10:15', node, v, h])]);
  });

  it('IVR: a call whose next step is 5 s after the range\'s end is not a hang-up in that range', async () => {
    // A: welcome at 10:14:50, menu at 10:15:05, ended 10:15:30. In 10:00-10:15 only its welcome step is seen.
    const first = await ivr(`${range('10:00:00', '10:15:00')}&interval=15m`);
    const welcome = first.find(([, node]) => node === 'welcome')!;
    assert.deepEqual(welcome, ['10:00', 'welcome', 3, 0], 'A visited welcome here, but hung up later, at menu');
    // G: welcome at 09:59:58, moved on 5 s later (menu 10:00:03): no hang-up in 09:45-10:00, its one visit.
    assert.deepEqual(await ivr(`${range('09:45:00', '10:00:00')}&interval=15m`), [['09:45', 'welcome', 1, 0]]);
  });

  it('IVR: a range given mid-quarter is widened to whole quarter hours', async () => {
    // 10:05-10:20 is read as 10:00-10:30: B (10:02), G's menu (10:00:03) and C, D, F (10:20 on) are counted.
    const widened = await ivr(`${range('10:05:00', '10:20:00')}&interval=hour`);
    assert.deepEqual(widened, [['10:00', 'menu', 4, 3], ['10:00', 'q', 1, 0], ['10:00', 'welcome', 6, 1]]);
  });

  const reasons = 'pauseByReason.break,pauseByReason.lunch,pauseByReason.training,pauseByReason.back_office,pauseByReason.rona,pauseByReason.unreachable';
  const header = (extra = '') => `period,agentId,agent,team,loginTime,availableTime,ringingTime,talkTime,holdTime,holds,wrapUpTime,pauseTime,${reasons}${extra},`
    + 'answered,missed,handleTime,occupancy,utilization,callsPerHour,csat,csatAnswers,outboundCalls,outboundTalkTime';

  it('agent CSV: the same columns for periods with different pause reasons; 0 where none', async () => {
    const eight = await csv('agents', `${range('08:00:00', '09:00:00')}&interval=hour&source=raw`);
    const nine = await csv('agents', `${range('09:00:00', '10:00:00')}&interval=hour&source=raw&agent=${ids.ben}`);
    assert.equal(eight[0], header(), 'every defined reason, agents\' by code then the system\'s');
    assert.equal(nine[0], eight[0]);
    // ana: login 08:00-08:30 = 1800 s, available 600 + 600 = 1200 s, break 600 s; no calls: occupancy 0 / (0 + 1200) = 0, utilization 0.
    assert.deepEqual(eight.slice(1), [`2026-03-10T08:00:00.000Z,${ids.ana},ana,A,1800,1200,0,0,0,0,0,600,600,0,0,0,0,0,0,0,0,0,0,0,,0,0,0`]);
    // ben: login 09:00-09:40 = 2400 s, available 600 + 600 = 1200 s, lunch 1200 s.
    assert.deepEqual(nine.slice(1), [`2026-03-10T09:00:00.000Z,${ids.ben},ben,A,2400,1200,0,0,0,0,0,1200,0,1200,0,0,0,0,0,0,0,0,0,0,,0,0,0`]);
  });

  it('agent CSV: totals=true appends the totals rows (empty period); a reason no longer defined gets a column after the others', async () => {
    const query = `${range('08:00:00', '11:00:00')}&interval=hour&source=raw`;
    const lines = await csv('agents', `${query}&totals=true`);
    assert.equal(lines[0], header(',pauseByReason.siesta'));
    // carla: login 10:00-10:20 = 1200 s, available 300 + 300 = 600 s, siesta 600 s.
    const ana = `${ids.ana},ana,A,1800,1200,0,0,0,0,0,600,600,0,0,0,0,0,0,0,0,0,0,0,0,,0,0,0`;
    const ben = `${ids.ben},ben,A,2400,1200,0,0,0,0,0,1200,0,1200,0,0,0,0,0,0,0,0,0,0,0,,0,0,0`;
    const carla = `${ids.carla},carla,B,1200,600,0,0,0,0,0,600,0,0,0,0,0,0,600,0,0,0,0,0,0,,0,0,0`;
    assert.deepEqual(lines.slice(1), [
      `2026-03-10T08:00:00.000Z,${ana}`, `2026-03-10T09:00:00.000Z,${ben}`, `2026-03-10T10:00:00.000Z,${carla}`,
      // each agent worked in one hour only: their totals are that hour's figures
      `,${ana}`, `,${ben}`, `,${carla}`,
    ]);
    assert.equal((await csv('agents', query)).length, 4, 'without totals=true: the header and the three hours');
    const json = await report('agents', query);
    assert.deepEqual(json.totals.map((r: { agent: string; pauseByReason: object }) => [r.agent, r.pauseByReason]),
      [['ana', { break: 600 }], ['ben', { lunch: 1200 }], ['carla', { siesta: 600 }]], 'the JSON keeps the reasons with time only');
    assert.equal((await t.api(`/api/v1/reports/agents?${query}&totals=maybe`)).status, 400);
  });

  it('queue CSV: the same fixed header with no rows; totals=true with no entries adds nothing', async () => {
    const lines = await csv('queues', `${range('08:00:00', '11:00:00')}&interval=hour&totals=true`);
    assert.deepEqual(lines, ['period,queueId,queue,offered,answered,abandoned,shortAbandoned,abandonRate,answeredWithinThreshold,serviceLevel,'
      + 'asa,averageWait,longestWait,handled,talkTime,averageTalk,wrapUpTime,averageWrapUp,holdTime,holds,averageHold,aht,callbacksRequested,transfers,overflows']);
  });
});
