/**
 * The reports' CSV layout (docs/metrics.md, "CSV"): fixed columns, whatever
 * the data. A report's header depends only on the report and on the pause
 * reasons defined, never on which rows or reasons a range happens to have:
 * a spreadsheet reading column N reads the same figure every time. Pure; the
 * cells themselves are src/core/csv.ts's.
 */
import { toCsv } from '../core/csv.js';
import { agentFigures, queueFigures } from './figures.js';
import type { AgentReportRow, DispositionReportRow, IvrReportRow, PeakHour, QueueReportRow } from './service.js';

/** What the CSV needs of a pause reason (the agents service's listing). */
export interface PauseReasonName { name: string; code: string | null; system: boolean }

const zeroAgent = { login_s: 0, available_s: 0, ringing_s: 0, talk_s: 0, wrap_s: 0, pause_s: 0, handled: 0, missed: 0, hold_s: 0, holds: 0 };
const zeroQueue = {
  offered: 0, answered: 0, abandoned: 0, short_abandoned: 0, answered_within_sl: 0, waiting_within_sl: 0, waits: 0, wait_sum: 0, wait_max: null,
  answered_wait_sum: 0, handled: 0, talk_sum: 0, wrap_sum: 0, callbacks: 0, transfers: 0, overflows: 0, hold_sum: 0, holds: 0,
};

// The figures' columns come from the figure functions themselves, so a new figure gets its column without a list to keep.
const queueColumns: readonly string[] = ['period', 'queueId', 'queue', ...Object.keys(queueFigures(zeroQueue))];
const ivrColumns = ['period', 'flowId', 'flow', 'node', 'nodeType', 'visits', 'hangups'] as const satisfies readonly (keyof IvrReportRow)[];
const dispositionColumns = ['period', 'queueId', 'queue', 'code', 'label', 'count', 'share', 'aht'] as const satisfies readonly (keyof DispositionReportRow)[];
const peakColumns = ['weekday', 'hour', 'offered', 'answered'] as const satisfies readonly (keyof PeakHour)[];

/**
 * The pause reasons that get a column, in order: every defined reason, the
 * agents' own by their code (as keyed after *47, 1 before 2 before 10), then
 * the system's (rona, unreachable) by name; then reasons no longer defined
 * that have seconds in these rows, by name.
 */
export function pauseReasonColumns(defined: readonly PauseReasonName[], rows: readonly Pick<AgentReportRow, 'pauseByReason'>[]): string[] {
  const ordered = [...defined].sort((a, b) => Number(a.system) - Number(b.system)
    || Number(a.code ?? 0) - Number(b.code ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = ordered.map((r) => r.name);
  const known = new Set(names);
  const former = new Set<string>();
  for (const row of rows) for (const [reason, seconds] of Object.entries(row.pauseByReason)) if (!known.has(reason) && seconds > 0) former.add(reason);
  return [...names, ...[...former].sort()];
}

/** The agent report's header: pauseByReason.<reason> for each reason, where the JSON has the object. */
export function agentColumns(reasons: readonly string[]): string[] {
  const figures = Object.keys(agentFigures(zeroAgent, {})).flatMap((k) => (k === 'pauseByReason' ? reasons.map((r) => `pauseByReason.${r}`) : [k]));
  return ['period', 'agentId', 'agent', 'team', ...figures, 'csat', 'csatAnswers', 'outboundCalls', 'outboundTalkTime'];
}

/**
 * A report as CSV. `totals`: rows appended after the period rows, told
 * apart by their empty `period`. Agent rows get 0 for a reason they have no
 * time in (the JSON leaves it out).
 */
export function reportCsv(report: 'queues', rows: readonly QueueReportRow[], totals?: readonly QueueReportRow[]): string;
export function reportCsv(report: 'agents', rows: readonly AgentReportRow[], totals: readonly AgentReportRow[] | undefined, reasons: readonly PauseReasonName[]): string;
export function reportCsv(report: 'ivr', rows: readonly IvrReportRow[]): string;
export function reportCsv(report: 'peak-hours', rows: readonly PeakHour[]): string;
export function reportCsv(report: 'dispositions', rows: readonly DispositionReportRow[]): string;
export function reportCsv(report: 'queues' | 'agents' | 'ivr' | 'peak-hours' | 'dispositions', rows: readonly object[], totals: readonly object[] = [], reasons: readonly PauseReasonName[] = []): string {
  const all = [...rows, ...totals] as Record<string, unknown>[];
  if (report === 'queues') return toCsv(all, queueColumns);
  if (report === 'ivr') return toCsv(all, ivrColumns);
  if (report === 'peak-hours') return toCsv(all, peakColumns);
  if (report === 'dispositions') return toCsv(all, dispositionColumns);
  const agents = all as unknown as AgentReportRow[];
  const names = pauseReasonColumns(reasons, agents);
  const filled = agents.map((row) => ({ ...row, pauseByReason: Object.fromEntries(names.map((r) => [r, row.pauseByReason[r] ?? 0])) }));
  return toCsv(filled, agentColumns(names));
}
