/**
 * The figures of docs/metrics.md, from sums over any set of 15-minute
 * buckets. Pure: the rollups and the raw events give the same sums, so the
 * same figures.
 */

export const intervals = ['15m', 'hour', 'day', 'week', 'month'] as const;
export type Interval = (typeof intervals)[number];

export interface QueueSums {
  offered: number; answered: number; abandoned: number; short_abandoned: number; answered_within_sl: number;
  /** callers still waiting whose wait is not past their threshold: neither a hit nor a miss yet */
  waiting_within_sl: number;
  waits: number; wait_sum: number; wait_max: number | null; answered_wait_sum: number;
  handled: number; talk_sum: number; wrap_sum: number; callbacks: number; transfers: number; overflows: number;
  /** hold seconds and holds of the handled entries (talk_sum excludes hold) */
  hold_sum: number; holds: number;
}

/** `handled` is the rollup column's name: the queue entries the agent answered (the figure `answered`). */
export interface AgentSums {
  login_s: number; available_s: number; ringing_s: number; talk_s: number; wrap_s: number; pause_s: number;
  handled: number; missed: number;
  /** hold seconds and holds of the entries the agent answered (talk_s, time on_call, includes them) */
  hold_s: number; holds: number;
}

/** Seconds to the millisecond. */
const seconds = (value: number): number => Math.round(value * 1000) / 1000;
/** A percentage with two decimals; null when there is nothing to divide by. */
const percent = (part: number, whole: number): number | null => (whole > 0 ? Math.round((10000 * part) / whole) / 100 : null);
const average = (sum: number, count: number): number | null => (count > 0 ? seconds(sum / count) : null);

export interface QueueFigures {
  offered: number; answered: number; abandoned: number; shortAbandoned: number; abandonRate: number | null;
  answeredWithinThreshold: number; serviceLevel: number | null;
  asa: number | null; averageWait: number | null; longestWait: number | null;
  handled: number; talkTime: number; averageTalk: number | null; wrapUpTime: number; averageWrapUp: number | null;
  holdTime: number; holds: number; averageHold: number | null; aht: number | null;
  callbacksRequested: number; transfers: number; overflows: number;
}

export function queueFigures(s: QueueSums): QueueFigures {
  const hold = s.hold_sum;
  return {
    offered: s.offered,
    answered: s.answered,
    abandoned: s.abandoned,
    shortAbandoned: s.short_abandoned,
    abandonRate: percent(s.abandoned, s.offered),
    answeredWithinThreshold: s.answered_within_sl,
    serviceLevel: percent(s.answered_within_sl, s.offered - s.short_abandoned - s.waiting_within_sl),
    asa: average(s.answered_wait_sum, s.answered),
    averageWait: average(s.wait_sum, s.waits),
    longestWait: s.wait_max === null ? null : seconds(s.wait_max),
    handled: s.handled,
    talkTime: seconds(s.talk_sum),
    averageTalk: average(s.talk_sum, s.handled),
    wrapUpTime: seconds(s.wrap_sum),
    averageWrapUp: average(s.wrap_sum, s.handled),
    holdTime: seconds(hold),
    holds: s.holds,
    averageHold: average(hold, s.handled),
    aht: average(s.talk_sum + hold + s.wrap_sum, s.handled),
    callbacksRequested: s.callbacks,
    transfers: s.transfers,
    overflows: s.overflows,
  };
}

export interface AgentFigures {
  loginTime: number; availableTime: number; ringingTime: number; talkTime: number; holdTime: number; holds: number; wrapUpTime: number; pauseTime: number;
  pauseByReason: Record<string, number>;
  answered: number; missed: number; handleTime: number;
  occupancy: number | null; utilization: number | null; callsPerHour: number | null;
}

export function agentFigures(s: AgentSums, pauses: Record<string, number>): AgentFigures {
  const handle = s.talk_s + s.wrap_s;
  return {
    loginTime: seconds(s.login_s),
    availableTime: seconds(s.available_s),
    ringingTime: seconds(s.ringing_s),
    // on_call time less hold: talk as the queues count it; handle time keeps both
    talkTime: seconds(Math.max(0, s.talk_s - s.hold_s)),
    holdTime: seconds(s.hold_s),
    holds: s.holds,
    wrapUpTime: seconds(s.wrap_s),
    pauseTime: seconds(s.pause_s),
    pauseByReason: Object.fromEntries(Object.entries(pauses).map(([k, v]) => [k, seconds(v)])),
    answered: s.handled,
    missed: s.missed,
    handleTime: seconds(handle),
    occupancy: percent(handle, handle + s.available_s),
    utilization: percent(handle, s.login_s),
    callsPerHour: s.login_s > 0 ? Math.round((s.handled / (s.login_s / 3600)) * 100) / 100 : null,
  };
}

