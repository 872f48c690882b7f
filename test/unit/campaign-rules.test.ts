import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toE164 } from '../../src/campaigns/phone.js';
import { hoursProblems, nextContactState, parseWindow, transitions, withinHours, type ContactProgress } from '../../src/campaigns/rules.js';
import { timezoneOf, zoneOfNumber } from '../../src/campaigns/time-zones.js';

const campaign = {
  retry: { busy: { maxAttempts: 3, delayMinutes: 10 }, no_answer: { maxAttempts: 2, delayMinutes: 60 } },
  dispositionActions: {
    1: { action: 'done' as const },
    2: { action: 'callback' as const, sameAgent: true },
    3: { action: 'retry' as const, delayMinutes: 120, maxAttempts: 4 },
    4: { action: 'callback' as const },
    9: { action: 'dnc' as const },
    8: { action: 'dnc' as const, global: true },
  },
};
const now = new Date('2026-05-04T10:00:00Z');
const fresh: ContactProgress = { state: 'in_progress', attempts: 0, callbackAgentId: null };
const minutes = (m: number) => new Date(now.getTime() + m * 60_000);

describe('campaign rules: nextContactState', () => {
  it('retries an unanswered outcome after its delay until its maximum of calls, then fails', () => {
    const first = nextContactState(fresh, { outcome: 'busy' }, campaign, now);
    assert.deepEqual(first, { state: 'retry', attempts: 1, nextAttemptAt: minutes(10), callbackAgentId: null, dnc: null, lastOutcome: 'busy', lastAttemptAt: now });
    const second = nextContactState({ ...fresh, attempts: 1 }, { outcome: 'no_answer' }, campaign, now);
    assert.deepEqual([second.state, second.attempts, second.nextAttemptAt], ['failed', 2, null], 'no_answer allows 2 calls in all, this was the second');
    assert.equal(nextContactState({ ...fresh, attempts: 1 }, { outcome: 'busy' }, campaign, now).state, 'retry');
    assert.equal(nextContactState({ ...fresh, attempts: 2 }, { outcome: 'busy' }, campaign, now).state, 'failed');
  });

  it('fails at once an outcome without a rule, and keeps a callback\'s agent for its retry', () => {
    for (const outcome of ['machine', 'abandoned', 'failed'] as const) assert.equal(nextContactState(fresh, { outcome }, campaign, now).state, 'failed', outcome);
    const retried = nextContactState({ state: 'in_progress', attempts: 1, callbackAgentId: 'agent-1' }, { outcome: 'busy' }, campaign, now);
    assert.deepEqual([retried.state, retried.callbackAgentId], ['retry', 'agent-1']);
  });

  it('applies the wrap-up code\'s action; an answer without a code, or with a code the campaign does not name, is done', () => {
    assert.equal(nextContactState(fresh, { outcome: 'answered' }, campaign, now).state, 'done');
    assert.equal(nextContactState(fresh, { outcome: 'answered', disposition: '7' }, campaign, now).state, 'done');
    assert.equal(nextContactState(fresh, { outcome: 'answered', disposition: '1' }, campaign, now).state, 'done');
    const later = nextContactState(fresh, { outcome: 'answered', disposition: '3' }, campaign, now);
    assert.deepEqual([later.state, later.attempts, later.nextAttemptAt], ['retry', 1, minutes(120)]);
    assert.equal(nextContactState({ ...fresh, attempts: 3 }, { outcome: 'answered', disposition: '3' }, campaign, now).state, 'failed', 'the fourth call was the last');
  });

  it('calls back at the time the agent gave (never in the past), else after the default day, with the same agent when the code says so', () => {
    const at = new Date('2026-05-06T17:30:00Z');
    const own = nextContactState(fresh, { outcome: 'answered', disposition: '2', agentId: 'ana', callbackAt: at }, campaign, now);
    assert.deepEqual([own.state, own.nextAttemptAt, own.callbackAgentId], ['callback', at, 'ana']);
    const anyone = nextContactState(fresh, { outcome: 'answered', disposition: '4', agentId: 'ana' }, campaign, now);
    assert.deepEqual([anyone.nextAttemptAt, anyone.callbackAgentId], [minutes(24 * 60), null]);
    assert.deepEqual(nextContactState(fresh, { outcome: 'answered', disposition: '2', callbackAt: new Date('2020-01-01T00:00:00Z') }, campaign, now).nextAttemptAt, now);
  });

  it('puts the number on the campaign\'s or the global list for a dnc code, and counts no call for a code set after the dial', () => {
    assert.deepEqual(nextContactState(fresh, { outcome: 'answered', disposition: '9' }, campaign, now), {
      state: 'dnc', attempts: 1, nextAttemptAt: null, callbackAgentId: null, dnc: 'campaign', lastOutcome: 'answered', lastAttemptAt: now,
    });
    assert.equal(nextContactState(fresh, { outcome: 'answered', disposition: '8' }, campaign, now).dnc, 'global');
    const afterwards = nextContactState({ state: 'done', attempts: 1, callbackAgentId: null }, { disposition: '2', agentId: 'ana' }, campaign, now);
    assert.deepEqual(afterwards, { state: 'callback', attempts: 1, nextAttemptAt: minutes(24 * 60), callbackAgentId: 'ana', dnc: null });
  });
});

describe('campaign rules: hours and states', () => {
  const hours = { mon: ['09:00-14:00', '16:00-21:00'], sat: ['10:00-24:00'] };

  it('reads windows, refusing those that end before they start', () => {
    assert.deepEqual(parseWindow('09:00-21:00'), { from: '09:00', to: '21:00' });
    assert.deepEqual(parseWindow('22:00-24:00'), { from: '22:00', to: '24:00' });
    for (const bad of ['21:00-09:00', '09:00-09:00', '9:00-21:00', '09:00-24:01', '24:00-24:00']) assert.equal(parseWindow(bad), undefined, bad);
    assert.deepEqual(hoursProblems(hours), []);
    assert.deepEqual(hoursProblems({ mon: ['14:00-09:00'] }, 'body/hours'), ['body/hours/mon: "14:00-09:00" is not a window HH:MM-HH:MM that ends after it starts (24:00 ends the day)']);
  });

  it('is within hours by the weekday and wall clock of the zone, daylight saving included', () => {
    // Monday 4 May 2026: Madrid is UTC+2, Canary UTC+1, Mexico City UTC-6.
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-05-04T07:00:00Z')), true, '09:00 in Madrid: open (start included)');
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-05-04T06:59:00Z')), false);
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-05-04T12:30:00Z')), false, '14:30: the midday break');
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-05-04T19:00:00Z')), false, '21:00: the end is not included');
    assert.equal(withinHours(hours, 'Atlantic/Canary', new Date('2026-05-04T19:00:00Z')), true, '20:00 in the Canaries');
    assert.equal(withinHours(hours, 'America/Mexico_City', new Date('2026-05-04T19:00:00Z')), true, '13:00 in Mexico City');
    assert.equal(withinHours(hours, 'America/Mexico_City', new Date('2026-05-05T01:30:00Z')), true, 'still Monday 19:30 there, Tuesday in UTC');
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-05-05T08:00:00Z')), false, 'Tuesday: no hours');
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-05-09T21:59:00Z')), true, 'Saturday 23:59 (24:00 ends the day)');
    // 19:30 UTC on the Monday before and after Europe's change (29 March 2026): 20:30 then 21:30 in Madrid.
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-03-23T19:30:00Z')), true);
    assert.equal(withinHours(hours, 'Europe/Madrid', new Date('2026-03-30T19:30:00Z')), false);
  });

  it('allows start from draft or paused, pause from running, finish from anything but finished', () => {
    assert.deepEqual(transitions.start, { draft: 'running', paused: 'running' });
    assert.equal(transitions.pause.draft, undefined);
    assert.equal(transitions.finish.finished, undefined);
  });
});

describe('campaign numbers and time zones', () => {
  it('normalises numbers to E.164 with the default region, and says what is wrong with the rest', () => {
    assert.deepEqual(toE164('612 34 56 78', 'ES'), { number: '+34612345678', country: 'ES', national: '612345678' });
    assert.deepEqual(toE164('+52 55 1234 5678', 'ES'), { number: '+525512345678', country: 'MX', national: '5512345678' });
    assert.deepEqual(toE164('0034 612-34-56-78', 'ES'), { number: '+34612345678', country: 'ES', national: '612345678' });
    assert.deepEqual(toE164('(212) 555-0123', 'US'), { number: '+12125550123', country: 'US', national: '2125550123' });
    assert.deepEqual(toE164('612345678', undefined), { problem: 'has no country code (+…) and no default region applies' });
    assert.deepEqual(toE164('123', 'ES'), { problem: 'is not a valid number of ES' });
    assert.deepEqual(toE164('hello', 'ES'), { problem: 'is not a phone number' });
    assert.deepEqual(toE164('  ', 'ES'), { problem: 'is empty' });
  });

  it('takes the contact\'s own zone, else the number\'s, else the campaign\'s', () => {
    assert.equal(timezoneOf('+34612345678', 'America/Bogota', 'Europe/Madrid'), 'America/Bogota');
    assert.equal(timezoneOf('+34912345678', null, 'America/Lima'), 'Europe/Madrid');
    assert.equal(zoneOfNumber('+34922123456'), 'Atlantic/Canary');
    assert.equal(zoneOfNumber('+34928123456'), 'Atlantic/Canary');
    assert.equal(zoneOfNumber('+34612345678'), 'Europe/Madrid', 'a mobile carries no place');
    assert.equal(zoneOfNumber('+351296123456'), 'Atlantic/Azores');
    assert.equal(zoneOfNumber('+525512345678'), 'America/Mexico_City');
    assert.equal(zoneOfNumber('+526641234567'), 'America/Tijuana');
    assert.equal(zoneOfNumber('+5511987654321'), 'America/Sao_Paulo');
    assert.equal(zoneOfNumber('+5592987654321'), 'America/Manaus');
    assert.equal(zoneOfNumber('+12125550123'), 'America/New_York');
    assert.equal(zoneOfNumber('+14155550123'), 'America/Los_Angeles');
    assert.equal(zoneOfNumber('+14165550123'), 'America/Toronto');
    assert.equal(zoneOfNumber('+573001234567'), 'America/Bogota');
    assert.equal(timezoneOf('+19075550123', undefined, 'America/Chicago'), 'America/Chicago', 'an area code not in the table: the campaign\'s');
    assert.equal(timezoneOf('+79161234567', undefined, 'Europe/Madrid'), 'Europe/Madrid', 'a country of many zones: the campaign\'s');
  });
});
