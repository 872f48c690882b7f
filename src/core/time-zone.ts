/**
 * Local time in an IANA time zone, for every rule that reads a wall clock
 * somewhere (IVR schedules, report periods, campaign calling hours). Intl
 * carries the time-zone database, so daylight saving is handled by it.
 */

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

/** Whether a time zone name is one the runtime knows (IANA names such as Europe/Madrid). */
export function isTimeZone(name: string): boolean {
  try {
    // Intl throws a RangeError for a time zone it does not know.
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** One formatter per zone: building one costs far more than formatting with it (a campaign's claim asks for the same few zones). */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
    // Zone names come from configuration and stored rows: a few hundred at most exist.
    if (formatters.size < 1000) formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Local weekday, date (YYYY-MM-DD) and time (HH:MM) at `now` in a time zone. */
export function localTime(now: Date, timeZone: string): { weekday: Weekday; date: string; time: string } {
  const parts = Object.fromEntries(formatterOf(timeZone).formatToParts(now).map((p) => [p.type, p.value]));
  return {
    weekday: String(parts.weekday).toLowerCase().slice(0, 3) as Weekday,
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
  };
}
