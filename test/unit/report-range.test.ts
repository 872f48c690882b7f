import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../src/core/errors.js';
import { reportBound, startOfLocalDay } from '../../src/reports/range.js';

const iso = (d: Date): string => d.toISOString();

describe('report ranges as a person types them', () => {
  it('a plain date is midnight in the time zone; to= includes that day', () => {
    assert.equal(iso(reportBound('2026-01-01', 'Europe/Madrid', 'from')), '2025-12-31T23:00:00.000Z');
    assert.equal(iso(reportBound('2026-01-31', 'Europe/Madrid', 'to')), '2026-01-31T23:00:00.000Z', 'the 31st included: up to midnight of 1 February');
    assert.equal(iso(reportBound('2026-12-31', 'UTC', 'to')), '2027-01-01T00:00:00.000Z');
    assert.equal(iso(reportBound('2026-07-01', 'America/New_York', 'from')), '2026-07-01T04:00:00.000Z');
    assert.equal(iso(reportBound('2026-01-01', 'Pacific/Kiritimati', 'from')), '2025-12-31T10:00:00.000Z');
  });

  it('date-times keep their own offset', () => {
    assert.equal(iso(reportBound('2026-03-10T00:00:00+01:00', 'UTC', 'from')), '2026-03-09T23:00:00.000Z');
    assert.equal(iso(reportBound('2026-03-10T08:15:00.5Z', 'Europe/Madrid', 'to')), '2026-03-10T08:15:00.500Z');
  });

  it('days the clocks change on (figures from Postgres\'s `date::timestamp at time zone`)', () => {
    assert.equal(iso(startOfLocalDay(2026, 3, 29, 'Europe/Madrid')), '2026-03-28T23:00:00.000Z', 'spring forward at 02:00');
    assert.equal(iso(startOfLocalDay(2026, 10, 25, 'Europe/Madrid')), '2026-10-24T22:00:00.000Z', 'fall back at 03:00');
    assert.equal(iso(startOfLocalDay(2026, 9, 6, 'America/Santiago')), '2026-09-06T04:00:00.000Z', 'midnight skipped: 01:00 is the day\'s start');
    assert.equal(iso(startOfLocalDay(2026, 4, 5, 'America/Santiago')), '2026-04-05T04:00:00.000Z', 'clocks go back at midnight');
  });

  it('refuses what is not a date or a date-time, and days the calendar does not have, naming the field', () => {
    for (const [text, field] of [['yesterday', 'from'], ['2026-02-30', 'to'], ['2026-13-01', 'from'], ['2026-02-30T00:00:00Z', 'from'], ['2026-01-01T08:00', 'to'], ['1', 'from']] as const) {
      assert.throws(() => reportBound(text, 'Europe/Madrid', field), (err: unknown) => err instanceof HttpError && err.statusCode === 400 && err.message.startsWith(`querystring/${field} must be a date`), text);
    }
    assert.throws(() => reportBound('2026-01-01', 'Mars/Olympus', 'from'), /unknown time zone/);
  });
});
