import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { seedHistory, writeEntries, writeShift, type History } from '../support/history-days.js';

/**
 * The reports over weeks of stored history (test/support/history-days.ts):
 * every range below starts with agents in the middle of something, and
 * every figure is worked out by hand in the comments from docs/metrics.md,
 * then checked in the raw report, the rollups and the CSV alike.
 *
 * Madrid is UTC+2 until Sunday 25 October 2026 01:00Z, UTC+1 after; the
 * periods are shown in UTC.
 */

const queueKeys = ['offered', 'answered', 'abandoned', 'shortAbandoned', 'abandonRate', 'answeredWithinThreshold', 'serviceLevel', 'asa', 'averageWait',
  'longestWait', 'handled', 'talkTime', 'averageTalk', 'wrapUpTime', 'averageWrapUp', 'holdTime', 'aht', 'callbacksRequested', 'transfers', 'overflows'] as const;
interface AgentRow {
  loginTime: number; availableTime: number; ringingTime: number; talkTime: number; wrapUpTime: number; pauseTime: number; pauseByReason: Record<string, number>;
  answered: number; missed: number; handleTime: number; occupancy: number | null; utilization: number | null; callsPerHour: number | null;
}

/** A queue row: the twenty figures in docs/metrics.md's order. */
const Q = (period: string | null, queue: string, v: (number | null)[]): Record<string, unknown> => {
  assert.equal(v.length, queueKeys.length, `${queue} ${period}: twenty figures`);
  return { period, queue, ...Object.fromEntries(queueKeys.map((k, i) => [k, v[i]])) };
};
const A = (period: string | null, agent: string, figures: AgentRow): Record<string, unknown> => ({ period, agent, ...figures });

/** The row as compared: the named figures only; pause reasons with no time left out (fixed CSV columns may bring zeros). */
function queueView(row: Record<string, unknown>): Record<string, unknown> {
  return { period: row.period, queue: row.queue, ...Object.fromEntries(queueKeys.map((k) => [k, row[k]])) };
}
function agentView(row: Record<string, any>): Record<string, unknown> {
  const pauses = Object.fromEntries(Object.entries((row.pauseByReason ?? {}) as Record<string, number>).filter(([, s]) => s !== 0));
  return {
    period: row.period, agent: row.agent, loginTime: row.loginTime, availableTime: row.availableTime, ringingTime: row.ringingTime, talkTime: row.talkTime,
    wrapUpTime: row.wrapUpTime, pauseTime: row.pauseTime, pauseByReason: pauses, answered: row.answered, missed: row.missed,
    handleTime: row.handleTime, occupancy: row.occupancy, utilization: row.utilization, callsPerHour: row.callsPerHour,
  };
}

/** RFC 4180: quoted cells may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i += 1; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell); rows.push(row); row = []; cell = ''; i += 1;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
}
function flat(row: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v !== null && typeof v === 'object') Object.assign(out, flat(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

const enc = encodeURIComponent;
const tz = 'timezone=Europe/Madrid';

// Periods (UTC).
const fri = '2026-10-22T22:00:00.000Z'; // Fri 23 00:00 CEST
const sun = '2026-10-24T22:00:00.000Z'; // Sun 25 00:00 CEST (the day ends at Mon 26 00:00 CET = 25 23:00Z: 25 hours)
const mon = '2026-10-25T23:00:00.000Z'; // Mon 26 00:00 CET
const thu = '2026-10-21T22:00:00.000Z'; // Thu 22 00:00 CEST
const tue = '2026-10-26T23:00:00.000Z'; // Tue 27 00:00 CET
const week = '2026-10-18T22:00:00.000Z'; // Mon 19 00:00 CEST
const october = '2026-09-30T22:00:00.000Z'; // Thu 1 Oct 00:00 CEST
const hourZ = (h: string): string => `2026-10-${h}:00:00.000Z`;

/** A carla hour of the DST night with nothing but waiting: 3600 available. */
const carlaIdleHour = (period: string): Record<string, unknown> => A(period, 'carla', {
  loginTime: 3600, availableTime: 3600, ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 0, pauseByReason: {},
  answered: 0, missed: 0, handleTime: 0, occupancy: 0, utilization: 0, callsPerHour: 0, // 0 / (0 + 3600); 0 / 3600; 0 / 1 h
});

interface Case { name: string; query: string; queues: Record<string, unknown>[]; agents: Record<string, unknown>[]; queueTotals?: Record<string, unknown>[]; agentTotals?: Record<string, unknown>[] }

const noPeriod = (rows: Record<string, unknown>[]) => rows.map((r) => ({ ...r, period: null }));

// ---- Fri 23 10:15-10:30 CEST by 15m: ana is on call c5 (since 10:05:05) when it starts ----
const c15m: Case = {
  name: 'Fri 23 10:15-10:30 by 15m, ana mid-call',
  query: `from=${enc('2026-10-23T10:15:00+02:00')}&to=${enc('2026-10-23T10:30:00+02:00')}&interval=15m&${tz}`,
  queues: [
    // c20 (soporte, entered 10:16:00, hung up after 8 s: a long abandon); c5 entered at 10:04:50, in the quarter before.
    Q('2026-10-23T08:15:00.000Z', 'soporte', [1, 0, 1, 0, 100, 0,
      0, // 0 / (1 - 0)
      null, 8, 8, 0, 0, null, 0, null, 0, null, 0, 0, 0]),
  ],
  agents: [
    // ben: last change Thu 22 14:00 logged_out; carla: Fri 06:00 logged_out: no rows.
    A('2026-10-23T08:15:00.000Z', 'ana', {
      loginTime: 900,
      availableTime: 555, // 10:20:45-10:30:00
      ringingTime: 0,
      talkTime: 305, // on call since 10:05:05: 10:15:00-10:20:05
      wrapUpTime: 40, // 10:20:05-10:20:45
      pauseTime: 0, pauseByReason: {},
      answered: 0, // c5 was answered at 10:05:05, in the quarter before
      missed: 0,
      handleTime: 345, // 305 + 40
      occupancy: 38.33, // 345 / (345 + 555) = 0.38333
      utilization: 38.33, // 345 / 900
      callsPerHour: 0,
    }),
  ],
};

// ---- Fri 23 14:00-15:00 CEST: ben is at lunch (since 13:30) when it starts ----
// c7: ventas, entered 14:39:55, answered by ben 14:40:03 (wait 8 ≤ 20), left 14:52:03 (talk 720), ben's wrap-up 14:52:03-14:52:33 (30).
const c7: (number | null)[] = [1, 1, 0, 0, 0, 1,
  100, // 1 / (1 - 0)
  8, 8, 8, 1, 720, 720, 30, 30, 0,
  750, // (720 + 0 + 30) / 1
  0, 0, 0];
const benFri14 = A('2026-10-23T12:00:00.000Z', 'ben', {
  loginTime: 3600,
  availableTime: 1047, // 14:30-14:40 (600) + 14:52:33-15:00 (447)
  ringingTime: 3, // 14:40:00-14:40:03
  talkTime: 720, // 14:40:03-14:52:03
  wrapUpTime: 30, // 14:52:03-14:52:33
  pauseTime: 1800, pauseByReason: { lunch: 1800 }, // 14:00-14:30
  answered: 1, missed: 0,
  handleTime: 750, // 720 + 30
  occupancy: 41.74, // 750 / (750 + 1047) = 750 / 1797 = 0.417362
  utilization: 20.83, // 750 / 3600 = 0.208333
  callsPerHour: 1, // 1 / 1 h
});
const cHour: Case = {
  name: 'Fri 23 14:00-15:00 by hour, ben mid-lunch',
  query: `from=${enc('2026-10-23T14:00:00+02:00')}&to=${enc('2026-10-23T15:00:00+02:00')}&interval=hour&${tz}`,
  queues: [Q('2026-10-23T12:00:00.000Z', 'ventas', c7)],
  agents: [benFri14], // ana logged out at 12:00, carla at 06:00
};
const cHour15: Case = {
  name: 'Fri 23 14:00-15:00 by 15m, ben mid-lunch, c7 across 14:45',
  query: `from=${enc('2026-10-23T14:00:00+02:00')}&to=${enc('2026-10-23T15:00:00+02:00')}&interval=15m&${tz}`,
  queues: [Q('2026-10-23T12:30:00.000Z', 'ventas', c7)], // entered 14:39:55: the 14:30 quarter
  queueTotals: [Q(null, 'ventas', c7)],
  agents: [
    A('2026-10-23T12:00:00.000Z', 'ben', {
      loginTime: 900, availableTime: 0, ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 900, pauseByReason: { lunch: 900 },
      answered: 0, missed: 0, handleTime: 0,
      occupancy: null, // 0 / (0 + 0)
      utilization: 0, callsPerHour: 0,
    }),
    A('2026-10-23T12:15:00.000Z', 'ben', {
      loginTime: 900, availableTime: 0, ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 900, pauseByReason: { lunch: 900 },
      answered: 0, missed: 0, handleTime: 0, occupancy: null, utilization: 0, callsPerHour: 0,
    }),
    A('2026-10-23T12:30:00.000Z', 'ben', {
      loginTime: 900,
      availableTime: 600, // 14:30-14:40
      ringingTime: 3,
      talkTime: 297, // 14:40:03-14:45:00
      wrapUpTime: 0, pauseTime: 0, pauseByReason: {},
      answered: 1, // at 14:40:03
      missed: 0, handleTime: 297,
      occupancy: 33.11, // 297 / (297 + 600) = 0.331104
      utilization: 33, // 297 / 900
      callsPerHour: 4, // 1 / 0.25 h
    }),
    A('2026-10-23T12:45:00.000Z', 'ben', {
      loginTime: 900,
      availableTime: 447, // 14:52:33-15:00
      ringingTime: 0,
      talkTime: 423, // 14:45:00-14:52:03
      wrapUpTime: 30, pauseTime: 0, pauseByReason: {}, answered: 0, missed: 0,
      handleTime: 453, // 423 + 30
      occupancy: 50.33, // 453 / (453 + 447) = 453 / 900
      utilization: 50.33, callsPerHour: 0,
    }),
  ],
  agentTotals: noPeriod([benFri14]), // 900 × 4; 297 + 423 = 720 talk; 600 + 447 = 1047 available
};

// ---- Friday 23 October, the whole local day: carla logged in since Thu 22:00 ----
const cFri: Case = {
  name: 'Fri 23 by day, carla logged in across midnight',
  query: `from=2026-10-23&to=2026-10-23&interval=day&${tz}`,
  queues: [
    // soporte: n1 (ans 10 s, talk 01:00:06-01:08:06 = 480, carla's wrap 30), c20 (abandoned 8 s), c6b (ans 38 s, talk 10:43:42-10:47:42 = 240,
    // ana's wrap 10:47:42-10:48:22 = 40 only), c9 (abandoned 4 s: short), c11 (callback after 60 s).
    Q(fri, 'soporte', [5, 2, 2, 1,
      40, // 2 / 5
      2, // 10 and 38 ≤ 60
      50, // 2 / (5 - 1)
      24, // (10 + 38) / 2
      24, // (10 + 8 + 38 + 4 + 60) / 5 = 120 / 5
      60, 2,
      720, 360, // 480 + 240; / 2
      70, 35, // 30 + 40; / 2
      0,
      395, // (720 + 70) / 2
      1, 0, 0]),
    // ventas: c5 (ans 15 s, talk 10:05:05-10:20:05 = 900, wrap 40), c6a (ans 6 s, transferred at 10:43:04: talk 180; ana's wrap
    // 10:43:04-10:43:34 = 30 only, the one before her next answer of c6), c7 (ans 8 s, talk 720, wrap 30), c10 (abandoned 12 s).
    Q(fri, 'ventas', [4, 3, 1, 0,
      25, // 1 / 4
      3, // 15, 6, 8 ≤ 20
      75, // 3 / (4 - 0)
      9.667, // (15 + 6 + 8) / 3 = 29 / 3
      10.25, // (15 + 6 + 8 + 12) / 4 = 41 / 4
      15, 3,
      1800, 600, // 900 + 180 + 720; / 3
      100, 33.333, // 40 + 30 + 30; / 3
      0,
      633.333, // (1800 + 100) / 3
      0, 1, 0]),
  ],
  agents: [
    A(fri, 'ana', {
      loginTime: 14400, // 08:00-12:00
      availableTime: 12359, // 08:00-10:05 (7500) + 10:20:45-10:40:00 (1155) + 10:43:34-10:43:40 (6) + 10:48:22-11:00 (698) + 11:10-12:00 (3000)
      ringingTime: 11, // 5 + 4 + 2
      talkTime: 1320, // c5 900 + c6 180 + c6 again 240
      wrapUpTime: 110, // 40 + 30 + 40
      pauseTime: 600, pauseByReason: { break: 600 },
      answered: 3, // c5, c6 in ventas, c6 in soporte
      missed: 0,
      handleTime: 1430, // 1320 + 110
      occupancy: 10.37, // 1430 / (1430 + 12359) = 1430 / 13789 = 0.103706
      utilization: 9.93, // 1430 / 14400 = 0.099306
      callsPerHour: 0.75, // 3 / 4 h
    }),
    A(fri, 'ben', {
      loginTime: 9000, // 13:00-15:30; his last change before the day is Thursday's logout: nothing before 13:00
      availableTime: 4647, // 13:00-13:30 (1800) + 14:30-14:40 (600) + 14:52:33-15:30 (2247)
      ringingTime: 3, talkTime: 720, wrapUpTime: 30,
      pauseTime: 3600, pauseByReason: { lunch: 3600 }, // 13:30-14:30
      answered: 1, missed: 0,
      handleTime: 750,
      occupancy: 13.9, // 750 / (750 + 4647) = 750 / 5397 = 0.138966
      utilization: 8.33, // 750 / 9000
      callsPerHour: 0.4, // 1 / 2.5 h
    }),
    A(fri, 'carla', {
      loginTime: 21600, // 00:00-06:00 (logged in since Thu 22:00)
      availableTime: 21084, // 00:00-01:00 (3600) + 01:08:36-06:00 (17484)
      ringingTime: 6, // 01:00:00-01:00:06
      talkTime: 480, // 01:00:06-01:08:06
      wrapUpTime: 30, // 01:08:06-01:08:36
      pauseTime: 0, pauseByReason: {},
      answered: 1, missed: 0,
      handleTime: 510,
      occupancy: 2.36, // 510 / (510 + 21084) = 510 / 21594 = 0.023618
      utilization: 2.36, // 510 / 21600 = 0.023611
      callsPerHour: 0.17, // 1 / 6 h
    }),
  ],
};

// ---- Sunday 25 October, 25 hours (22:00Z Sat to 23:00Z Sun): carla's night across the clock change ----
// carla: logged in since Sat 22:00 CEST (20:00Z) until 06:00 CET (05:00Z): 22:00Z-05:00Z = 7 h in Sunday.
// break 00:10Z-00:25Z (02:10-02:25 CEST); c13 rings 01:30:00Z (02:30 CET), answered 01:30:05Z, ends 01:40:05Z, wrap to 01:40:35Z.
const soporteSun = [2, 1, 1, 1,
  50, // 1 / 2
  1, // c13 15 s ≤ 60
  100, // 1 / (2 - 1): c15 hung up after 2 s, a short abandon
  15, // 15 / 1
  8.5, // (15 + 2) / 2
  15, 1, 600, 600, 30, 30, 0,
  630, // (600 + 30) / 1
  0, 0, 0];
// ventas: c14 hung up after 35 s.
const ventasSun = [1, 0, 1, 0, 100, 0,
  0, // 0 / (1 - 0)
  null, 35, 35, 0, 0, null, 0, null, 0, null, 0, 0, 0];
const carlaSun = A(sun, 'carla', {
  loginTime: 25200, // 7 h
  availableTime: 23665, // 22:00Z-00:10Z (7800) + 00:25Z-01:30Z (3900) + 01:40:35Z-05:00Z (11965)
  ringingTime: 5, talkTime: 600, wrapUpTime: 30,
  pauseTime: 900, pauseByReason: { break: 900 },
  answered: 1, missed: 0,
  handleTime: 630,
  occupancy: 2.59, // 630 / (630 + 23665) = 630 / 24295 = 0.025931
  utilization: 2.5, // 630 / 25200
  callsPerHour: 0.14, // 1 / 7 h
});
const cSun: Case = {
  name: 'Sun 25 (25 hours) by day',
  query: `from=2026-10-25&to=2026-10-25&interval=day&${tz}`,
  queues: [Q(sun, 'soporte', soporteSun), Q(sun, 'ventas', ventasSun)],
  agents: [carlaSun], // ana's and ben's last changes (Sat 11:00, Fri 15:30) are logouts
};
const cSunHours: Case = {
  name: 'Sun 25 by hour: two 02:00s',
  query: `from=2026-10-25&to=2026-10-25&interval=hour&${tz}`,
  queues: [
    Q(hourZ('25T01'), 'soporte', [1, 1, 0, 0, 0, 1, 100, 15, 15, 15, 1, 600, 600, 30, 30, 0, 630, 0, 0, 0]), // c13, entered 01:29:50Z (02:29:50 CET)
    Q(hourZ('25T09'), 'soporte', [1, 0, 1, 1, 100, 0,
      null, // 0 / (1 - 1)
      null, 2, 2, 0, 0, null, 0, null, 0, null, 0, 0, 0]), // c15 (10:05 CET)
    Q(hourZ('25T09'), 'ventas', ventasSun), // c14 (10:00 CET)
  ],
  queueTotals: [Q(null, 'soporte', soporteSun), Q(null, 'ventas', ventasSun)],
  agents: [
    carlaIdleHour(hourZ('24T22')), // 00:00 CEST
    carlaIdleHour(hourZ('24T23')), // 01:00 CEST
    A(hourZ('25T00'), 'carla', { // 02:00 CEST
      loginTime: 3600, availableTime: 2700, // 00:00Z-00:10Z (600) + 00:25Z-01:00Z (2100)
      ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 900, pauseByReason: { break: 900 },
      answered: 0, missed: 0, handleTime: 0, occupancy: 0, utilization: 0, callsPerHour: 0, // 0 / (0 + 2700)
    }),
    A(hourZ('25T01'), 'carla', { // 02:00 CET, the second one
      loginTime: 3600, availableTime: 2965, // 01:00Z-01:30Z (1800) + 01:40:35Z-02:00Z (1165)
      ringingTime: 5, talkTime: 600, wrapUpTime: 30, pauseTime: 0, pauseByReason: {},
      answered: 1, missed: 0, handleTime: 630,
      occupancy: 17.52, // 630 / (630 + 2965) = 630 / 3595 = 0.175243
      utilization: 17.5, // 630 / 3600
      callsPerHour: 1,
    }),
    carlaIdleHour(hourZ('25T02')), // 03:00 CET
    carlaIdleHour(hourZ('25T03')),
    carlaIdleHour(hourZ('25T04')), // 05:00-06:00 CET
  ],
  agentTotals: noPeriod([carlaSun]),
};

// ---- Monday 26 October: ben's last change before it is Friday's logout ----
const cMon: Case = {
  name: 'Mon 26 by day, ben last logged out three days before',
  query: `from=2026-10-26&to=2026-10-26&interval=day&${tz}`,
  queues: [
    // c16: answered by ana after 30 s ≤ 60, talk 09:20:10-09:26:10 = 360, wrap 09:26:10-09:26:40 = 30.
    Q(mon, 'soporte', [1, 1, 0, 0, 0, 1, 100, 30, 30, 30, 1, 360, 360, 30, 30, 0, 390, 0, 0, 0]),
    // c17: rang out on ben, answered by ana after 21 s ≤ 30 (the threshold when it entered), talk 09:40:18-09:44:18 = 240, wrap 20.
    Q(mon, 'ventas', [1, 1, 0, 0, 0, 1, 100, 21, 21, 21, 1, 240, 240, 20, 20, 0, 260, 0, 0, 0]),
  ],
  agents: [
    A(mon, 'ana', {
      loginTime: 7200, // 09:00-11:00
      availableTime: 5637, // 09:00-09:20 (1200) + 09:26:40-09:40:15 (815) + 09:44:38-10:00 (922) + 10:15-11:00 (2700)
      ringingTime: 13, // 10 + 3
      talkTime: 600, // 360 + 240
      wrapUpTime: 50, // 30 + 20
      pauseTime: 900, pauseByReason: { break: 900 },
      answered: 2, missed: 0,
      handleTime: 650,
      occupancy: 10.34, // 650 / (650 + 5637) = 650 / 6287 = 0.103388
      utilization: 9.03, // 650 / 7200 = 0.090278
      callsPerHour: 1, // 2 / 2 h
    }),
    A(mon, 'ben', {
      loginTime: 5400, // 09:00-10:30; 0 from midnight to 09:00
      availableTime: 5340, // 09:00-09:40 (2400) + 09:41-10:30 (2940)
      ringingTime: 15, // 09:40:00-09:40:15, rang out
      talkTime: 0, wrapUpTime: 0,
      pauseTime: 45, pauseByReason: { rona: 45 }, // 09:40:15-09:41:00
      answered: 0, missed: 1, handleTime: 0,
      occupancy: 0, // 0 / (0 + 5340)
      utilization: 0, callsPerHour: 0,
    }),
  ],
};

// ---- The week Mon 19 - Sun 25 October: carla logged in since Sun 18 22:00 ----
const cWeek: Case = {
  name: 'week of Mon 19 by week',
  query: `from=2026-10-19&to=2026-10-25&interval=week&${tz}`,
  queues: [
    // soporte: n1, c20, c6b, c9, c11 (Fri) + c13, c15 (Sun).
    Q(week, 'soporte', [7, 3, 3, 2,
      42.86, // 3 / 7 = 0.428571
      3, // 10, 38, 15 ≤ 60
      60, // 3 / (7 - 2)
      21, // (10 + 38 + 15) / 3 = 63 / 3
      19.571, // (10 + 8 + 38 + 4 + 60 + 15 + 2) / 7 = 137 / 7
      60, 3,
      1320, 440, // 480 + 240 + 600; / 3
      100, 33.333, // 30 + 40 + 30; / 3
      0,
      473.333, // (1320 + 100) / 3 = 1420 / 3
      1, 0, 0]),
    // ventas: c1, c2, c3, c4 (Thu) + c5, c6a, c7, c10 (Fri) + c12 (Sat) + c14 (Sun).
    Q(week, 'ventas', [10,
      6, // c1, c2, c5, c6a, c7, c12
      4, // c3, c4, c10, c14
      1, // c3 (3 s)
      40, // 4 / 10
      5, // c1 18, c5 15, c6a 6, c7 8 ≤ 20 (their threshold); c12 27 ≤ 30 (its); c2 22 > 20
      55.56, // 5 / (10 - 1) = 0.555556
      16, // (18 + 22 + 15 + 6 + 8 + 27) / 6 = 96 / 6
      18.6, // (18 + 22 + 3 + 40 + 15 + 6 + 8 + 12 + 27 + 35) / 10 = 186 / 10
      40, 6,
      2640, 440, // 360 + 180 + 900 + 180 + 720 + 300; / 6
      180, 30, // 30 + 30 + 40 + 30 + 30 + 20; / 6
      0,
      470, // (2640 + 180) / 6
      0, 1, 0]),
  ],
  agents: [
    // ana: Thu 22 (login 18000, available 13785, ringing 15, talk 540, wrap 60, lunch 3600, 2 answered)
    //    + Fri 23 (14400, 12359, 11, 1320, 110, break 600, 3) + Sat 24 (3600, 3255, 25, 300, 20, -, 1)
    A(week, 'ana', {
      loginTime: 36000, // 18000 + 14400 + 3600
      availableTime: 29399, // 13785 + 12359 + 3255
      ringingTime: 51, // 15 + 11 + 25
      talkTime: 2160, // 540 + 1320 + 300
      wrapUpTime: 190, // 60 + 110 + 20
      pauseTime: 4200, pauseByReason: { lunch: 3600, break: 600 },
      answered: 6, missed: 0,
      handleTime: 2350, // 2160 + 190
      occupancy: 7.4, // 2350 / (2350 + 29399) = 2350 / 31749 = 0.074018
      utilization: 6.53, // 2350 / 36000 = 0.065278
      callsPerHour: 0.6, // 6 / 10 h
    }),
    // ben: Thu 22 (18000, available 17025, ringing 15, rona 60 + break 900, 1 missed) + Fri 23 (9000, 4647, 3, talk 720, wrap 30, lunch 3600, 1)
    A(week, 'ben', {
      loginTime: 27000, availableTime: 21672, ringingTime: 18, talkTime: 720, wrapUpTime: 30,
      pauseTime: 4560, pauseByReason: { rona: 60, break: 900, lunch: 3600 },
      answered: 1, missed: 1, handleTime: 750,
      occupancy: 3.34, // 750 / (750 + 21672) = 750 / 22422 = 0.033449
      utilization: 2.78, // 750 / 27000 = 0.027778
      callsPerHour: 0.13, // 1 / 7.5 h
    }),
    // carla: Mon 19 00:00-06:00 (21600: available 20400, break 02:00-02:20 1200) + Thu 22:00-24:00 (7200) + Fri 23 (21600, 21084, 6, 480, 30)
    //      + Sat 22:00-24:00 (7200) + Sun 25 (25200, 23665, 5, 600, 30, break 900)
    A(week, 'carla', {
      loginTime: 82800, // 21600 + 7200 + 21600 + 7200 + 25200
      availableTime: 79549, // 20400 + 7200 + 21084 + 7200 + 23665
      ringingTime: 11, talkTime: 1080, wrapUpTime: 60,
      pauseTime: 2100, pauseByReason: { break: 2100 }, // 1200 + 900
      answered: 2, missed: 0, handleTime: 1140,
      occupancy: 1.41, // 1140 / (1140 + 79549) = 1140 / 80689 = 0.014128
      utilization: 1.38, // 1140 / 82800 = 0.013768
      callsPerHour: 0.09, // 2 / 23 h = 0.0870
    }),
  ],
};

// ---- October 2026 by month: starts with carla logged in since Wed 30 Sep 22:00 ----
const cMonth: Case = {
  name: 'October by month',
  query: `from=2026-10-01&to=2026-10-31&interval=month&${tz}`,
  queues: [
    // the week's 7 + c16 (Mon 26: answered after 30 s, talk 360, wrap 30).
    Q(october, 'soporte', [8, 4, 3, 2,
      37.5, // 3 / 8
      4, // 10, 38, 15, 30 ≤ 60
      66.67, // 4 / (8 - 2)
      23.25, // (63 + 30) / 4
      20.875, // (137 + 30) / 8
      60, 4,
      1680, 420, // 1320 + 360; / 4
      130, 32.5, // 100 + 30; / 4
      0,
      452.5, // (1680 + 130) / 4
      1, 0, 0]),
    // the week's 10 + h2, h3 (Thu 15: 10 s and 18 s, talk 240 and 300, wrap 20 and 30) + c17 (Mon 26: 21 s ≤ 30, talk 240, wrap 20).
    // h1 (Wed 30 Sep) is in September.
    Q(october, 'ventas', [13, 9, 4, 1,
      30.77, // 4 / 13 = 0.307692
      8, // the week's 5 + h2 + h3 + c17
      66.67, // 8 / (13 - 1)
      16.111, // (96 + 10 + 18 + 21) / 9 = 145 / 9
      18.077, // (186 + 10 + 18 + 21) / 13 = 235 / 13
      40, 9,
      3420, 380, // 2640 + 240 + 300 + 240; / 9
      250, 27.778, // 180 + 20 + 30 + 20; / 9
      0,
      407.778, // (3420 + 250) / 9 = 3670 / 9
      0, 1, 0]),
  ],
  agents: [
    // ana: Thu 15 (7200, available 6935, ringing 5, talk 240, wrap 20, 1) + the week + Mon 26 (7200, 5637, 13, 600, 50, break 900, 2)
    A(october, 'ana', {
      loginTime: 50400, // 7200 + 36000 + 7200
      availableTime: 41971, // 6935 + 29399 + 5637
      ringingTime: 69, // 5 + 51 + 13
      talkTime: 3000, // 240 + 2160 + 600
      wrapUpTime: 260, // 20 + 190 + 50
      pauseTime: 5100, pauseByReason: { lunch: 3600, break: 1500 }, // 4200 + 900
      answered: 9, missed: 0,
      handleTime: 3260,
      occupancy: 7.21, // 3260 / (3260 + 41971) = 3260 / 45231 = 0.072074
      utilization: 6.47, // 3260 / 50400 = 0.064683
      callsPerHour: 0.64, // 9 / 14 h = 0.642857
    }),
    // ben: Thu 15 (09:00-11:10 = 7800: available 3600 + 1800 + 262 = 5662, lunch 1800, ringing 8, talk 300, wrap 30, 1)
    //    + the week (27000, 21672, 18, 720, 30, 4560, 1 answered, 1 missed) + Mon 26 (5400, 5340, 15, rona 45, 1 missed)
    A(october, 'ben', {
      loginTime: 40200, // 7800 + 27000 + 5400
      availableTime: 32674, // 5662 + 21672 + 5340
      ringingTime: 41, // 8 + 18 + 15
      talkTime: 1020, // 300 + 720
      wrapUpTime: 60, // 30 + 30
      pauseTime: 6405, pauseByReason: { lunch: 5400, rona: 105, break: 900 }, // 1800 + 4560 + 45
      answered: 2, missed: 2,
      handleTime: 1080,
      occupancy: 3.2, // 1080 / (1080 + 32674) = 1080 / 33754 = 0.031996
      utilization: 2.69, // 1080 / 40200 = 0.026866
      callsPerHour: 0.18, // 2 / 11.1667 h = 0.179104
    }),
    // carla: Thu 1 Oct 00:00-06:00 (21600) + Sun 18 22:00-24:00 (7200) + the week (82800)
    A(october, 'carla', {
      loginTime: 111600, // 21600 + 7200 + 82800
      availableTime: 108349, // 21600 + 7200 + 79549
      ringingTime: 11, talkTime: 1080, wrapUpTime: 60,
      pauseTime: 2100, pauseByReason: { break: 2100 },
      answered: 2, missed: 0, handleTime: 1140,
      occupancy: 1.04, // 1140 / (1140 + 108349) = 1140 / 109489 = 0.010412
      utilization: 1.02, // 1140 / 111600 = 0.010215
      callsPerHour: 0.06, // 2 / 31 h = 0.0645
    }),
  ],
};

// ---- October 2026 by week: weeks cut by the month's edges (Mon 28 Sep holds only 1-4 Oct) ----
const sep28 = '2026-09-27T22:00:00.000Z'; // Mon 28 Sep 00:00 CEST
const oct12 = '2026-10-11T22:00:00.000Z'; // Mon 12 Oct 00:00 CEST
const cMonthWeeks: Case = {
  name: 'October by week',
  query: `from=2026-10-01&to=2026-10-31&interval=week&${tz}`,
  queues: [
    // h1 (Wed 30 Sep) is before the range: nothing in the week of 28 Sep. Week of 12 Oct: h2 (10 s, talk 240, wrap 20), h3 (18 s, talk 300, wrap 30).
    Q(oct12, 'ventas', [2, 2, 0, 0, 0, 2, 100,
      14, 14, // (10 + 18) / 2
      18, 2,
      540, 270, // 240 + 300; / 2
      50, 25, // 20 + 30; / 2
      0,
      295, // (540 + 50) / 2
      0, 0, 0]),
    ...cWeek.queues, // the week of 19 Oct
    ...cMon.queues, // the week of 26 Oct: Monday 26 only
  ],
  queueTotals: noPeriod(cMonth.queues),
  agents: [
    A(sep28, 'carla', { // Thu 1 Oct 00:00-06:00, logged in since Wed 22:00; ana and ben logged out on Wed 30 Sep
      loginTime: 21600, availableTime: 21600, ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 0, pauseByReason: {},
      answered: 0, missed: 0, handleTime: 0, occupancy: 0, utilization: 0, callsPerHour: 0,
    }),
    // the week of 5 Oct: nobody. The week of 12 Oct:
    A(oct12, 'ana', {
      loginTime: 7200, // Thu 15 09:00-11:00
      availableTime: 6935, // 09:00-09:30 (1800) + 09:34:25-11:00 (5135)
      ringingTime: 5, talkTime: 240, wrapUpTime: 20, pauseTime: 0, pauseByReason: {},
      answered: 1, missed: 0, handleTime: 260,
      occupancy: 3.61, // 260 / (260 + 6935) = 260 / 7195 = 0.036136
      utilization: 3.61, // 260 / 7200 = 0.036111
      callsPerHour: 0.5, // 1 / 2 h
    }),
    A(oct12, 'ben', {
      loginTime: 7800, // Thu 15 09:00-11:10
      availableTime: 5662, // 09:00-10:00 (3600) + 10:30-11:00 (1800) + 11:05:38-11:10 (262)
      ringingTime: 8, talkTime: 300, wrapUpTime: 30, pauseTime: 1800, pauseByReason: { lunch: 1800 },
      answered: 1, missed: 0, handleTime: 330,
      occupancy: 5.51, // 330 / (330 + 5662) = 330 / 5992 = 0.055073
      utilization: 4.23, // 330 / 7800 = 0.042308
      callsPerHour: 0.46, // 1 / 2.1667 h = 0.4615
    }),
    A(oct12, 'carla', { // Sun 18 22:00-24:00
      loginTime: 7200, availableTime: 7200, ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 0, pauseByReason: {},
      answered: 0, missed: 0, handleTime: 0, occupancy: 0, utilization: 0, callsPerHour: 0,
    }),
    ...cWeek.agents,
    ...cMon.agents, // the week of 26 Oct: Monday 26 (carla logged out on Sunday 06:00)
  ],
  agentTotals: noPeriod(cMonth.agents),
};

// ---- Thursday 22 October (queues): before and after a late abandoned caller is written ----
// ventas: c1 (18 s, talk 360, wrap 30), c2 (22 s > 20, talk 180, wrap 30), c3 (abandoned 3 s: short), c4 (abandoned 40 s).
const ventasThu = Q(thu, 'ventas', [4, 2, 2, 1,
  50, // 2 / 4
  1, // c1
  33.33, // 1 / (4 - 1)
  20, // (18 + 22) / 2
  20.75, // (18 + 22 + 3 + 40) / 4 = 83 / 4
  40, 2,
  540, 270, // 360 + 180; / 2
  60, 30, // 30 + 30; / 2
  0,
  300, // (540 + 60) / 2
  0, 0, 0]);
const anaThu = A(thu, 'ana', {
  loginTime: 18000, // 09:00-14:00
  availableTime: 13785, // 09:00-09:30 (1800) + 09:36:40-10:00:15 (1415) + 10:03:50-12:00 (6970) + 13:00-14:00 (3600)
  ringingTime: 15, // 10 + 5
  talkTime: 540, // 09:30:10-09:36:10 (360) + 10:00:20-10:03:20 (180)
  wrapUpTime: 60, // 30 + 30
  pauseTime: 3600, pauseByReason: { lunch: 3600 },
  answered: 2, missed: 0,
  handleTime: 600,
  occupancy: 4.17, // 600 / (600 + 13785) = 600 / 14385 = 0.041710
  utilization: 3.33, // 600 / 18000
  callsPerHour: 0.4, // 2 / 5 h
});
const benThu = A(thu, 'ben', {
  loginTime: 18000, // 09:00-14:00
  availableTime: 17025, // 09:00-10:00 (3600) + 10:01:15-11:00 (3525) + 11:15-14:00 (9900)
  ringingTime: 15, // c2 rang 10:00:00-10:00:15 and out
  talkTime: 0, wrapUpTime: 0,
  pauseTime: 960, pauseByReason: { rona: 60, break: 900 },
  answered: 0, missed: 1, handleTime: 0,
  occupancy: 0, // 0 / (0 + 17025)
  utilization: 0, callsPerHour: 0,
});
/** carla on Thu 22: her night shift from 22:00 (7200 available), and with the late afternoon shift 14:00-16:00 (training 15:00-15:30). */
const carlaThu = (late: boolean): Record<string, unknown> => A(thu, 'carla', late
  ? {
    loginTime: 14400, // 7200 + 7200
    availableTime: 12600, // 14:00-15:00 (3600) + 15:30-16:00 (1800) + 22:00-24:00 (7200)
    ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 1800, pauseByReason: { training: 1800 },
    answered: 0, missed: 0, handleTime: 0, occupancy: 0, utilization: 0, callsPerHour: 0,
  }
  : {
    loginTime: 7200, availableTime: 7200, ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 0, pauseByReason: {},
    answered: 0, missed: 0, handleTime: 0, occupancy: 0, utilization: 0, callsPerHour: 0,
  });
// L1: soporte, Thu 22 15:00 CEST, hung up after 50 s, written weeks later.
const soporteThuLate = Q(thu, 'soporte', [1, 0, 1, 0, 100, 0, 0, null, 50, 50, 0, 0, null, 0, null, 0, null, 0, 0, 0]);

describe('reports over weeks of history: every figure by hand, in raw, rollup and CSV alike', () => {
  let t: FastApp;
  let h: History;

  const get = async (path: string, query: string): Promise<any> => {
    const res = await t.api(`/api/v1/reports/${path}?${query}`);
    assert.equal(res.status, 200, `${path}?${query}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  /** The CSV of a report against its JSON, column by column name. */
  const sameCsv = async (path: string, query: string, label: string): Promise<void> => {
    const json = await get(path, query);
    const res = await t.api(`/api/v1/reports/${path}?${query}&format=csv`);
    assert.equal(res.status, 200, label);
    const [header, ...lines] = parseCsv(res.body as string);
    assert.ok(header, `${label}: a header`);
    assert.equal(lines.length, json.rows.length, `${label}: one line a row`);
    lines.forEach((line, k) => {
      assert.equal(line.length, header.length, `${label} row ${k}: as many cells as columns`);
      const cells = Object.fromEntries(header.map((c, i) => [c, line[i]!]));
      const expected = flat(json.rows[k]);
      for (const [column, value] of Object.entries(expected)) {
        assert.ok(column in cells, `${label}: column ${column}`);
        const cell = cells[column]!;
        if (value === null || value === undefined) assert.equal(cell, '', `${label} row ${k} ${column}`);
        else if (typeof value === 'number') assert.ok(cell !== '' && Number(cell) === value, `${label} row ${k} ${column}: ${cell} != ${value}`);
        else assert.equal(cell, String(value), `${label} row ${k} ${column}`);
      }
      for (const column of header.filter((c) => !(c in expected))) {
        assert.ok(column.startsWith('pauseByReason.') && ['', '0'].includes(cells[column]!), `${label} row ${k}: extra column ${column} = ${cells[column]}`);
      }
    });
  };

  before(async () => {
    // No phones here: an app name of its own, so it never takes the lab's Stasis app from another test.
    t = await startFastApp();
    h = await seedHistory(t);
  });
  after(async () => {
    await t?.stop();
  });

  for (const c of [c15m, cHour, cHour15, cFri, cSun, cSunHours, cMon, cWeek, cMonth, cMonthWeeks]) {
    const queueTotals = c.queueTotals ?? noPeriod(c.queues);
    const agentTotals = c.agentTotals ?? noPeriod(c.agents);
    it(`${c.name}: raw figures as computed by hand`, async () => {
      const queues = await get('queues', `${c.query}&source=raw`);
      assert.deepEqual(queues.rows.map(queueView), c.queues, 'queue rows');
      assert.deepEqual(queues.totals.map(queueView), queueTotals, 'queue totals');
      const agents = await get('agents', `${c.query}&source=raw`);
      assert.deepEqual(agents.rows.map(agentView), c.agents, 'agent rows');
      assert.deepEqual(agents.totals.map(agentView), agentTotals, 'agent totals');
    });
    it(`${c.name}: the rollups give the same, with no rebuild asked`, async () => {
      const queues = await get('queues', c.query);
      assert.deepEqual(queues.rows.map(queueView), c.queues, 'queue rows');
      assert.deepEqual(queues, await get('queues', `${c.query}&source=raw`), 'queues: rollup == raw');
      const agents = await get('agents', c.query);
      assert.deepEqual(agents.rows.map(agentView), c.agents, 'agent rows');
      assert.deepEqual(agents, await get('agents', `${c.query}&source=raw`), 'agents: rollup == raw');
    });
    it(`${c.name}: CSV has the JSON's values, by column name`, async () => {
      for (const path of ['queues', 'agents']) {
        await sameCsv(path, c.query, `${path} rollup`);
        await sameCsv(path, `${c.query}&source=raw`, `${path} raw`);
      }
    });
  }

  it('filters: a team, a queue\'s members, one agent, one queue', async () => {
    const [ana, ben, carla] = cWeek.agents;
    const agents = async (filter: string) => (await get('agents', `${cWeek.query}&${filter}`)).rows.map(agentView);
    assert.deepEqual(await agents('team=B'), [carla]);
    assert.deepEqual(await agents('team=A'), [ana, ben]);
    assert.deepEqual(await agents(`queue=${h.queues.soporte}`), [ana, carla], 'soporte\'s members');
    assert.deepEqual(await agents(`queue=${h.queues.ventas}`), [ana, ben], 'ventas\'s members');
    assert.deepEqual(await agents(`agent=${h.ids.ben}`), [ben]);
    assert.deepEqual(await agents(`agent=${h.ids.ben}&source=raw`), [ben]);
    assert.deepEqual((await get('queues', `${cWeek.query}&queue=${h.queues.ventas}`)).rows.map(queueView), [cWeek.queues[1]]);
  });

  it('a late caller and a late shift written weeks later, after the rollups of their day exist, are in the rollups at once', async () => {
    const thursday = `from=2026-10-22&to=2026-10-22&interval=day&${tz}`;
    const rebuilt = await t.api('/api/v1/reports/rebuild', { method: 'POST', json: { from: '2026-10-21T22:00:00Z', to: '2026-10-22T22:00:00Z' } });
    assert.equal(rebuilt.status, 200, JSON.stringify(rebuilt.body));
    assert.deepEqual((await get('queues', thursday)).rows.map(queueView), [ventasThu], 'before: ventas only');
    assert.deepEqual((await get('agents', thursday)).rows.map(agentView), [anaThu, benThu, carlaThu(false)], 'before: carla only from 22:00');
    // Replayed from the write journal weeks later: L1 (soporte, 15:00 CEST, hung up after 50 s) and carla's afternoon
    // shift 14:00-16:00 with a training pause 15:00-15:30 (before her night shift from 22:00).
    await writeEntries(t, h, [{ key: 'L1', call: 'L1', queue: 'soporte', entered: '2026-10-22T15:00:00+02:00', left: '2026-10-22T15:00:50+02:00', outcome: 'abandoned', wait: 50 }]);
    await writeShift(t, h, 'carla', [['2026-10-22T14:00:00+02:00', 'available'], ['2026-10-22T15:00:00+02:00', 'paused', 'training'],
      ['2026-10-22T15:30:00+02:00', 'available'], ['2026-10-22T16:00:00+02:00', 'logged_out']]);
    const queues = await get('queues', thursday);
    assert.deepEqual(queues.rows.map(queueView), [soporteThuLate, ventasThu], 'the rollups count the late caller with no rebuild asked');
    assert.deepEqual(queues, await get('queues', `${thursday}&source=raw`), 'queues: rollup == raw');
    const agents = await get('agents', thursday);
    assert.deepEqual(agents.rows.map(agentView), [anaThu, benThu, carlaThu(true)], 'the rollups count the late shift with no rebuild asked');
    assert.deepEqual(agents, await get('agents', `${thursday}&source=raw`), 'agents: rollup == raw');
    const hours = `from=${enc('2026-10-22T15:00:00+02:00')}&to=${enc('2026-10-22T16:00:00+02:00')}&interval=hour&${tz}`;
    assert.deepEqual((await get('queues', hours)).rows.map(queueView), [{ ...soporteThuLate, period: '2026-10-22T13:00:00.000Z' }], 'by hour too');
    assert.deepEqual((await get('agents', hours)).rows.map(agentView), [A('2026-10-22T13:00:00.000Z', 'carla', {
      loginTime: 3600, availableTime: 1800, ringingTime: 0, talkTime: 0, wrapUpTime: 0, pauseTime: 1800, pauseByReason: { training: 1800 }, // 15:30-16:00; 15:00-15:30
      answered: 0, missed: 0, handleTime: 0, occupancy: 0, utilization: 0, callsPerHour: 0, // 0 / (0 + 1800)
    })], 'by hour too: ana and ben had logged out at 14:00');
  });

  it('a new threshold applies to callers who enter afterwards; the history does not move', async () => {
    const before = { raw: await get('queues', `${cWeek.query}&source=raw`), rollup: await get('queues', cWeek.query) };
    assert.deepEqual(before.rollup, before.raw);
    const patched = await t.api(`/api/v1/queues/${h.queues.ventas}`, { method: 'PATCH', json: { serviceLevelSeconds: 10 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(await get('queues', `${cWeek.query}&source=raw`), before.raw, 'raw: the week as before');
    assert.deepEqual(await get('queues', cWeek.query), before.rollup, 'rollup: the week as before');
    const ventas = before.raw.rows.find((r: { queue: string }) => r.queue === 'ventas');
    assert.deepEqual([ventas.answeredWithinThreshold, ventas.serviceLevel], [5, 55.56], 'c1, c5, c6a, c7 at 20 s and c12 at 30 s, of 10 - 1');

    // Tue 27: t1 enters ventas now that T = 10 s, answered by ana after 15 s: outside it.
    await writeEntries(t, h, [{ key: 't1', call: 't1', queue: 'ventas', entered: '2026-10-27T09:10:00+01:00', answeredBy: 'ana', answered: '2026-10-27T09:10:15+01:00',
      left: '2026-10-27T09:12:15+01:00', outcome: 'answered', wait: 15, offers: [['ana', '2026-10-27T09:10:00+01:00', '2026-10-27T09:10:15+01:00', 'answered']] }]);
    await writeShift(t, h, 'ana', [['2026-10-27T09:00:00+01:00', 'available'], ['2026-10-27T09:10:00+01:00', 'ringing', 't1'], ['2026-10-27T09:10:15+01:00', 'on_call', 't1'],
      ['2026-10-27T09:12:15+01:00', 'wrap_up', 't1'], ['2026-10-27T09:12:35+01:00', 'available'], ['2026-10-27T09:30:00+01:00', 'logged_out']]);
    const tuesday = `from=2026-10-27&to=2026-10-27&interval=day&${tz}`;
    const expected = [Q(tue, 'ventas', [1, 1, 0, 0, 0,
      0, // 15 > 10
      0, // 0 / (1 - 0)
      15, 15, 15, 1,
      120, 120, // 09:10:15-09:12:15
      20, 20, // 09:12:15-09:12:35
      0, 140, 0, 0, 0])];
    const raw = await get('queues', `${tuesday}&source=raw`);
    assert.deepEqual(raw.rows.map(queueView), expected, 'raw');
    assert.deepEqual(await get('queues', tuesday), raw, 'rollup == raw');
    assert.deepEqual(await get('queues', `${cWeek.query}&source=raw`), before.raw, 'and the week still as before');
  });
  it('service level: a caller still waiting under the threshold is neither a hit nor a miss', async () => {
    // Now, in soporte (T = 60 s): w1 answered by carla after 20 s and ended 60 s later; w2 waiting for 5 s (under T: not counted);
    // w3 waiting for 90 s (past T: a miss already).
    const now = Date.now();
    const iso = (secondsAgo: number): string => new Date(now - secondsAgo * 1000).toISOString();
    await writeEntries(t, h, [
      { key: 'w1', call: 'w1', queue: 'soporte', entered: iso(120), answeredBy: 'carla', answered: iso(100), left: iso(40), outcome: 'answered', wait: 20,
        offers: [['carla', iso(105), iso(100), 'answered']] },
      { key: 'w2', call: 'w2', queue: 'soporte', entered: iso(5), left: null, outcome: null, wait: null },
      { key: 'w3', call: 'w3', queue: 'soporte', entered: iso(90), left: null, outcome: null, wait: null },
    ]);
    const query = `from=${enc(iso(600))}&to=${enc(iso(-60))}&interval=hour&${tz}`;
    const expected = [Q(null, 'soporte', [3, 1, 0, 0, 0, 1,
      50, // 1 / (3 - 0 - 1 waiting under T)
      20, 20, 20, // w1's wait; w2's and w3's are not known yet
      1, 60, 60, 0, 0, 0, 60, 0, 0, 0])];
    const raw = await get('queues', `${query}&source=raw`);
    assert.deepEqual(raw.totals.map(queueView), expected, 'raw');
    assert.deepEqual((await get('queues', query)).totals.map(queueView), expected, 'rollup');
  });
  it('a caller whose wait passes the threshold with no write: the rollups follow the raw figures', async () => {
    // reclamaciones (T = 1200 s): r1 entered 1500 s ago and is still waiting. The periodic job ran 1000 s after r1
    // entered (r1 then waiting under T; rolled up to that run's quarter, after r1's); since then r1's wait passed T
    // with nothing written.
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'reclamaciones', strategy: 'longest_idle', serviceLevelSeconds: 1200 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    h.queues.reclamaciones = queue.body.id;
    const entered = Date.now() - 1500_000;
    await writeEntries(t, h, [{ key: 'r1', call: 'r1', queue: 'reclamaciones', entered: new Date(entered).toISOString(), left: null, outcome: null, wait: null }]);
    await t.app.reports.rebuildRecent(new Date(entered + 1000_000));
    const stored = await sql<{ n: number }>`select sum(waiting_within_sl)::int as n from report_queue_15m where queue_id = ${queue.body.id}`.execute(t.app.database.db);
    assert.equal(stored.rows[0]!.n, 1, 'the run saw r1 waiting under T');
    const query = `from=${enc(new Date(entered - 600_000).toISOString())}&to=${enc(new Date(Date.now() + 60_000).toISOString())}&interval=hour&queue=${queue.body.id}&${tz}`;
    const figures = (serviceLevel: number | null) => [Q(null, 'reclamaciones', [1, 0, 0, 0, 0, 0, serviceLevel, null, null, null, 0, 0, null, 0, null, 0, null, 0, 0, 0])];
    assert.deepEqual((await get('queues', `${query}&source=raw`)).totals.map(queueView), figures(0), 'raw: waiting past T, a miss: 0 / (1 - 0 - 0)');
    assert.deepEqual((await get('queues', query)).totals.map(queueView), figures(0), 'rollup: the same');
  });
});
