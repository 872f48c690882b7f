import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toCsv } from '../../src/core/csv.js';
import { agentColumns, pauseReasonColumns, reportCsv, type PauseReasonName } from '../../src/reports/csv.js';
import { agentFigures, queueFigures, type AgentSums } from '../../src/reports/figures.js';
import type { AgentReportRow, QueueReportRow } from '../../src/reports/service.js';

/** The reasons of a fresh install (migrations/002_agents.sql), listed out of order on purpose. */
const defined: PauseReasonName[] = [
  { name: 'rona', code: null, system: true },
  { name: 'training', code: '3', system: false },
  { name: 'unreachable', code: null, system: true },
  { name: 'break', code: '1', system: false },
  { name: 'back_office', code: '4', system: false },
  { name: 'lunch', code: '2', system: false },
];
const reasonColumns = 'pauseByReason.break,pauseByReason.lunch,pauseByReason.training,pauseByReason.back_office,pauseByReason.rona,pauseByReason.unreachable';
const agentHeader = `period,agentId,agent,team,loginTime,availableTime,ringingTime,talkTime,holdTime,holds,wrapUpTime,pauseTime,${reasonColumns},answered,missed,handleTime,occupancy,utilization,callsPerHour,csat,csatAnswers,outboundCalls,outboundTalkTime`;

const sums = (s: Partial<AgentSums>): AgentSums => ({ login_s: 0, available_s: 0, ringing_s: 0, talk_s: 0, wrap_s: 0, pause_s: 0, handled: 0, missed: 0, hold_s: 0, holds: 0, ...s });
const agentRow = (period: string | null, s: Partial<AgentSums>, pauses: Record<string, number>): AgentReportRow =>
  ({ period, agentId: 'a1', agent: 'ana', team: 'A', ...agentFigures(sums(s), pauses), csat: null, csatAnswers: 0, outboundCalls: 0, outboundTalkTime: 0 });

// ana, 08:00-09:00: 300 s talk + 60 s wrap-up on 2 calls, a 900 s break, the rest (3600 - 360 - 900 = 2340 s) available.
const eight = agentRow('2026-03-10T08:00:00.000Z', { login_s: 3600, available_s: 2340, talk_s: 300, wrap_s: 60, pause_s: 900, handled: 2 }, { break: 900 });
// 09:00-10:00: 1800 s lunch, 1800 s available, no calls.
const nine = agentRow('2026-03-10T09:00:00.000Z', { login_s: 3600, available_s: 1800, pause_s: 1800 }, { lunch: 1800 });
// The two hours: 7200 s login, 2340 + 1800 = 4140 s available, 900 + 1800 = 2700 s paused.
const total = agentRow(null, { login_s: 7200, available_s: 4140, talk_s: 300, wrap_s: 60, pause_s: 2700, handled: 2 }, { break: 900, lunch: 1800 });

const lines = (csv: string): string[] => csv.split('\r\n').slice(0, -1);

describe('report CSV: fixed columns', () => {
  it('orders the defined reasons: the agents\' by code (as a number), then the system\'s by name', () => {
    assert.deepEqual(pauseReasonColumns(defined, []), ['break', 'lunch', 'training', 'back_office', 'rona', 'unreachable']);
    const ten = [...defined, { name: 'meeting', code: '10', system: false }];
    assert.deepEqual(pauseReasonColumns(ten, []).slice(0, 5), ['break', 'lunch', 'training', 'back_office', 'meeting'], 'code 10 after 4, not after 1');
  });

  it('appends a reason no longer defined when it has seconds, sorted by name; not one with none', () => {
    const rows: { pauseByReason: Record<string, number> }[] = [
      { pauseByReason: { break: 60, zoom: 30 } },
      { pauseByReason: { coffee: 15, idle_old: 0 } },
    ];
    assert.deepEqual(pauseReasonColumns(defined, rows), ['break', 'lunch', 'training', 'back_office', 'rona', 'unreachable', 'coffee', 'zoom']);
  });

  it('the agent header is the same for periods with different reasons, and for none at all', () => {
    const breakOnly = lines(reportCsv('agents', [eight], undefined, defined));
    const lunchOnly = lines(reportCsv('agents', [nine], undefined, defined));
    const empty = lines(reportCsv('agents', [], undefined, defined));
    assert.equal(breakOnly[0], agentHeader);
    assert.equal(lunchOnly[0], agentHeader);
    assert.deepEqual(empty, [agentHeader], 'no rows: the header still');
    assert.deepEqual(agentColumns(pauseReasonColumns(defined, [])).join(','), agentHeader);
  });

  it('writes 0 for a reason the agent had no time in, and the figures by hand', () => {
    const [, a, b] = lines(reportCsv('agents', [eight, nine], undefined, defined));
    // occupancy 100 × 360 / (360 + 2340) = 13.33; utilization 100 × 360 / 3600 = 10; 2 answered in 1 h.
    assert.equal(a, '2026-03-10T08:00:00.000Z,a1,ana,A,3600,2340,0,300,0,0,60,900,900,0,0,0,0,0,2,0,360,13.33,10,2,,0,0,0');
    // no handle time: occupancy 0 / (0 + 1800) = 0, utilization 0 / 3600 = 0.
    assert.equal(b, '2026-03-10T09:00:00.000Z,a1,ana,A,3600,1800,0,0,0,0,0,1800,0,1800,0,0,0,0,0,0,0,0,0,0,,0,0,0');
  });

  it('totals: appended after the period rows, with an empty period', () => {
    const csv = lines(reportCsv('agents', [eight, nine], [total], defined));
    assert.equal(csv.length, 4, 'header, two hours, one total');
    // occupancy 100 × 360 / (360 + 4140) = 8; utilization 100 × 360 / 7200 = 5; 2 answered in 2 h = 1.
    assert.equal(csv[3], ',a1,ana,A,7200,4140,0,300,0,0,60,2700,900,1800,0,0,0,0,2,0,360,8,5,1,,0,0,0');
    assert.equal(lines(reportCsv('agents', [eight, nine], undefined, defined)).length, 3, 'without totals: no totals rows');
  });

  it('a reason no longer defined gets its column in every row, 0 where it has none', () => {
    const old = agentRow('2026-03-10T10:00:00.000Z', { login_s: 600, pause_s: 600 }, { coffee: 600 });
    const [header, a, , c] = lines(reportCsv('agents', [eight, nine, old], undefined, defined));
    const columns = header!.split(',');
    assert.equal(columns.indexOf('pauseByReason.coffee'), columns.indexOf('pauseByReason.unreachable') + 1, 'after the defined reasons');
    assert.equal(a!.split(',')[columns.indexOf('pauseByReason.coffee')], '0');
    assert.equal(c!.split(',')[columns.indexOf('pauseByReason.coffee')], '600');
  });

  it('the queue header is fixed too, with or without rows; totals appended', () => {
    const none = {
      offered: 0, answered: 0, abandoned: 0, short_abandoned: 0, answered_within_sl: 0, waiting_within_sl: 0, waits: 0, wait_sum: 0, wait_max: null,
      answered_wait_sum: 0, handled: 0, talk_sum: 0, wrap_sum: 0, callbacks: 0, transfers: 0, overflows: 0, hold_sum: 0, holds: 0,
    };
    const header = 'period,queueId,queue,offered,answered,abandoned,shortAbandoned,abandonRate,answeredWithinThreshold,serviceLevel,asa,averageWait,'
      + 'longestWait,handled,talkTime,averageTalk,wrapUpTime,averageWrapUp,holdTime,holds,averageHold,aht,callbacksRequested,transfers,overflows';
    assert.deepEqual(lines(reportCsv('queues', [])), [header]);
    const row: QueueReportRow = { period: '2026-03-10T08:00:00.000Z', queueId: 'q1', queue: 'ventas', ...queueFigures({ ...none, offered: 2, abandoned: 1, waits: 1, wait_sum: 10, wait_max: 10 }) };
    const totals: QueueReportRow = { ...row, period: null };
    const csv = lines(reportCsv('queues', [row], [totals]));
    assert.equal(csv[0], header);
    // abandonRate 100 × 1 / 2 = 50; serviceLevel 0 / (2 - 0) = 0; averageWait 10 / 1; no answers: asa and aht null (empty).
    assert.equal(csv[1], '2026-03-10T08:00:00.000Z,q1,ventas,2,0,1,0,50,0,0,,10,10,0,0,,0,,0,0,,,0,0,0');
    assert.equal(csv[2], ',q1,ventas,2,0,1,0,50,0,0,,10,10,0,0,,0,,0,0,,,0,0,0');
  });

  it('toCsv with columns: that header in that order, an empty cell for a missing key, unlisted keys left out', () => {
    assert.equal(toCsv([], ['a', 'b']), 'a,b\r\n');
    assert.equal(toCsv([{ b: 1, c: 2, n: { x: 3 } }], ['n.x', 'a', 'b']), 'n.x,a,b\r\n3,,1\r\n');
  });
});
