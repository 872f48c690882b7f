import { isTimeZone, weekdays, type Weekday } from '../../core/time-zone.js';
import { isOpen } from '../rules.js';
import type { NodeBase, NodeKind } from './kind.js';

export { weekdays, type Weekday };

export interface ScheduleNode extends NodeBase {
  type: 'schedule'; timezone: string; hours: Partial<Record<Weekday, [string, string][]>>; holidays?: string[]; open: string; closed: string;
}

const timePattern = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;

/** Goes to open or closed by the local time (traced once done: a restart follows the recorded branch). */
export const schedule: NodeKind<ScheduleNode> = {
  type: 'schedule',
  validate(node, c) {
    c.check(typeof node.timezone === 'string' && isTimeZone(node.timezone), `${c.at}.timezone must be an IANA time zone such as Europe/Madrid`);
    const hours = node.hours;
    if (typeof hours !== 'object' || hours === null || Array.isArray(hours)) c.check(false, `${c.at}.hours must map weekdays (mon..sun) to [from, to] ranges`);
    else for (const [day, ranges] of Object.entries(hours)) {
      c.check((weekdays as readonly string[]).includes(day), `${c.at}.hours.${day} is not a weekday (mon..sun)`);
      c.check(Array.isArray(ranges) && ranges.every((r) => Array.isArray(r) && r.length === 2 && r.every((t) => typeof t === 'string' && timePattern.test(t)) && r[0] < r[1]),
        `${c.at}.hours.${day} must be a list of ["HH:MM", "HH:MM"] ranges, each ending after it starts`);
    }
    if (node.holidays !== undefined) {
      c.check(Array.isArray(node.holidays) && node.holidays.every((d) => typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d)), `${c.at}.holidays must be a list of YYYY-MM-DD dates`);
    }
    c.target('open'); c.target('closed');
  },
  targets: (node) => [node.open, node.closed],
  async run(node, ctx) {
    const now = ctx.deps.clock();
    const open = isOpen(node, now);
    ctx.trace(null, { open, at: now.toISOString() });
    return { next: open ? node.open : node.closed };
  },
  resume(node, step, state) {
    state.node = step.detail.open === true ? node.open : node.closed;
  },
};
