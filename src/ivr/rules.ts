import { localTime } from '../core/time-zone.js';
import type { ConditionRule, ScheduleNode } from './flow.js';

/** Whether a schedule is open at `now`: a holiday is closed all day; ranges include their start, not their end. */
export function isOpen(schedule: Pick<ScheduleNode, 'timezone' | 'hours' | 'holidays'>, now: Date): boolean {
  const local = localTime(now, schedule.timezone);
  if (schedule.holidays?.includes(local.date)) return false;
  return (schedule.hours[local.weekday] ?? []).some(([from, to]) => local.time >= from && local.time < to);
}

const numeric = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined);

/** Whether a condition rule holds for the call's variables and caller number. */
export function ruleHolds(rule: ConditionRule, variables: ReadonlyMap<string, string>, caller: string): boolean {
  if (rule.callerIn) return rule.callerIn.includes(caller);
  const value = rule.variable ? variables.get(rule.variable) : undefined;
  switch (rule.op) {
    case 'exists': return value !== undefined && value !== '';
    case 'in': return value !== undefined && Array.isArray(rule.value) && rule.value.map(String).includes(value);
    case 'eq': return value !== undefined && value === String(rule.value);
    case 'ne': return value !== String(rule.value);
    default: {
      const a = numeric(value);
      const b = numeric(rule.value);
      if (a === undefined || b === undefined) return false;
      return rule.op === 'gt' ? a > b : rule.op === 'gte' ? a >= b : rule.op === 'lt' ? a < b : a <= b;
    }
  }
}
