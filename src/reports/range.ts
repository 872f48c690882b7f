import { badRequest } from '../core/errors.js';
import { isDateTime } from '../core/schemas.js';
import { isTimeZone } from '../core/time-zone.js';

// A report's range as people type it (`from=2026-01-01&to=2026-01-31`):
// plain dates are local days in the report's time zone.

const plainDate = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateTime = /^(\d{4})-(\d{2})-(\d{2})[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** The wall clock of an instant in a time zone, as if it were UTC (ms). */
function wallClock(instant: number, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(new Date(instant));
  const part = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
}

/**
 * The first instant of a local day (year, month 1-12, day) in a time zone:
 * its midnight, or where a clock change skips midnight (America/Santiago in
 * September), the first time the clocks show that day — as Postgres's
 * `'2026-09-06'::timestamp at time zone 'America/Santiago'`.
 */
export function startOfLocalDay(year: number, month: number, day: number, timezone: string): Date {
  const wall = Date.UTC(year, month - 1, day);
  const offset = (instant: number): number => wallClock(instant, timezone) - Math.floor(instant / 1000) * 1000;
  // The offset either side of the day's start, and in force at the first guesses: one of them is the day's.
  const first = wall - offset(wall);
  const candidates = [first, wall - offset(first), wall - offset(wall - 86_400_000), wall - offset(wall + 86_400_000)].sort((a, b) => a - b);
  const exact = candidates.find((c) => wallClock(c, timezone) === wall);
  if (exact !== undefined) return new Date(exact);
  const sameDay = candidates.find((c) => { const w = wallClock(c, timezone); return w > wall && w < wall + 86_400_000; });
  return new Date(sameDay ?? first);
}

/**
 * A report's bound as a person types it: a date-time (RFC 3339, with its
 * offset), or a plain date meaning that day in the report's time zone —
 * `from=2026-01-01` is that day's start, `to=2026-01-31` includes the 31st
 * (the range ends at the start of 1 February). 400 naming the field for
 * anything else, or for a day the calendar does not have.
 */
export function reportBound(text: string, timezone: string, field: 'from' | 'to'): Date {
  const refuse = () => badRequest(`querystring/${field} must be a date (2026-01-31) or a date-time (2026-01-31T08:00:00Z), got '${text.slice(0, 40)}'`);
  const plain = plainDate.exec(text);
  const parts = plain ?? dateTime.exec(text);
  if (!parts) throw refuse();
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) throw refuse();
  if (!plain) {
    // The API's one rule for date-times (real calendar times Date and Postgres both take).
    if (!isDateTime(text)) throw refuse();
    return new Date(text);
  }
  if (!isTimeZone(timezone)) throw badRequest(`querystring/timezone: unknown time zone '${timezone}' (use an IANA name such as Europe/Madrid)`);
  return startOfLocalDay(year, month, field === 'to' ? day + 1 : day, timezone);
}
