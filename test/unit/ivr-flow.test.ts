import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lookupVariables, sayMedia } from '../../src/ivr/engine.js';
import { validateFlow } from '../../src/ivr/flow.js';
import { localTime } from '../../src/core/time-zone.js';
import { isOpen, ruleHolds } from '../../src/ivr/rules.js';

const good = {
  start: 'lang',
  language: 'en',
  nodes: {
    lang: { type: 'menu', prompt: ['sound:hello-world'], options: { 1: 'es', 2: 'hours' }, default: 'hours' },
    es: { type: 'play', language: 'es', media: ['prompt:bienvenida', 'digits:123', 'number:42', 'tone:440/200'], next: 'hours' },
    hours: { type: 'schedule', timezone: 'Europe/Madrid', hours: { mon: [['09:00', '18:00']] }, holidays: ['2026-12-25'], open: 'account', closed: 'bye' },
    account: { type: 'collect', prompt: ['sound:agent-user'], variable: 'account', minDigits: 4, maxDigits: 8, next: 'lookup', onFail: 'bye' },
    lookup: { type: 'lookup', url: 'http://127.0.0.1:9/x', send: ['account'], timeoutMs: 1500, next: 'vip', onError: 'bye' },
    vip: { type: 'condition', rules: [{ callerIn: ['600111222'], next: 'prio' }, { variable: 'balance', op: 'gt', value: 1000, next: 'prio' }], else: 'say' },
    prio: { type: 'setPriority', priority: 10, next: 'skills' },
    skills: { type: 'setSkills', skills: { es: 5 }, next: 'say' },
    say: { type: 'say', variable: 'balance', as: 'number', next: 'queue' },
    queue: { type: 'queue', queue: 'support' },
    bye: { type: 'hangup', media: ['sound:vm-goodbye'] },
  },
};

describe('flow validation', () => {
  it('accepts a flow using every node type', () => {
    assert.deepEqual(validateFlow(good), []);
    assert.deepEqual(validateFlow({ start: 't', nodes: { t: { type: 'transfer', extension: '1001' } } }), []);
  });

  it('lists every problem at once', () => {
    const problems = validateFlow({
      start: 'missing',
      nodes: {
        a: { type: 'play', media: ['http://evil'], next: 'b' },
        b: { type: 'menu', prompt: [], options: { x: 'a' } },
        c: { type: 'teleport' },
        d: { type: 'lookup', url: 'ftp://x', timeoutMs: 9000, next: 'a' },
      },
    });
    for (const expected of [
      /nodes\.a\.media\[0\] is not playable media/,
      /nodes\.b\.prompt must be a non-empty list/,
      /nodes\.b\.options: "x" is not a phone key/,
      /nodes\.c\.type "teleport" is not a node type/,
      /nodes\.d\.url must be an http\(s\) URL/,
      /nodes\.d\.timeoutMs must be a whole number from 100 to 3000/,
      /nodes\.d\.onError must name the next node/,
      /start must name one of the nodes \(there is no missing\)/,
    ]) assert.ok(problems.some((p) => expected.test(p)), `${expected} not in:\n${problems.join('\n')}`);
  });

  it('finds unreachable nodes, missing targets and silent loops, but allows loops through a menu', () => {
    const problems = validateFlow({
      start: 'a',
      nodes: {
        a: { type: 'play', media: ['sound:x'], next: 'b' },
        b: { type: 'setPriority', priority: 1, next: 'a' },
        lonely: { type: 'hangup' },
        c: { type: 'play', media: ['sound:x'], next: 'ghost' },
      },
    });
    assert.ok(problems.includes('nodes a → b → a loop without asking the caller anything (add a menu or collect)'), problems.join('\n'));
    assert.ok(problems.includes('nodes.lonely cannot be reached from start'));
    assert.ok(problems.includes('nodes.c leads to ghost, which is not a node'));
    assert.deepEqual(validateFlow({
      start: 'm',
      nodes: { m: { type: 'menu', prompt: ['sound:x'], options: { 1: 'p' } }, p: { type: 'play', media: ['sound:x'], next: 'm' } },
    }), []);
  });

  it('refuses documents that are not flows', () => {
    assert.deepEqual(validateFlow([]), ['the flow must be a JSON object with start and nodes']);
    assert.deepEqual(validateFlow({ start: 'a', nodes: {} }), ['nodes must be an object of named nodes, with at least one']);
  });
});

describe('schedules', () => {
  const schedule = { timezone: 'Europe/Madrid', hours: { mon: [['09:00', '18:00']] as [string, string][], sat: [['10:00', '14:00']] as [string, string][] }, holidays: ['2026-12-28'] };
  it('reads local time in the time zone', () => {
    assert.deepEqual(localTime(new Date('2026-11-23T08:00:00Z'), 'Europe/Madrid'), { weekday: 'mon', date: '2026-11-23', time: '09:00' });
    assert.deepEqual(localTime(new Date('2026-11-23T03:30:00Z'), 'America/Mexico_City'), { weekday: 'sun', date: '2026-11-22', time: '21:30' });
  });
  it('is open inside the ranges, closed at their end, on other days and on holidays', () => {
    assert.equal(isOpen(schedule, new Date('2026-11-23T08:00:00Z')), true); // Mon 09:00
    assert.equal(isOpen(schedule, new Date('2026-11-23T16:59:00Z')), true); // Mon 17:59
    assert.equal(isOpen(schedule, new Date('2026-11-23T17:00:00Z')), false); // Mon 18:00
    assert.equal(isOpen(schedule, new Date('2026-11-24T10:00:00Z')), false); // Tue
    assert.equal(isOpen(schedule, new Date('2026-11-28T10:00:00Z')), true); // Sat 11:00
    assert.equal(isOpen(schedule, new Date('2026-12-28T10:00:00Z')), false); // a Monday holiday
  });
});

describe('conditions, say and lookups', () => {
  const vars = new Map([['balance', '1500'], ['tier', 'gold']]);
  it('compares variables and caller lists', () => {
    assert.equal(ruleHolds({ variable: 'balance', op: 'gt', value: 1000, next: 'x' }, vars, '1'), true);
    assert.equal(ruleHolds({ variable: 'balance', op: 'lte', value: 1000, next: 'x' }, vars, '1'), false);
    assert.equal(ruleHolds({ variable: 'tier', op: 'in', value: ['gold', 'vip'], next: 'x' }, vars, '1'), true);
    assert.equal(ruleHolds({ variable: 'tier', op: 'gt', value: 3, next: 'x' }, vars, '1'), false);
    assert.equal(ruleHolds({ variable: 'nope', op: 'exists', next: 'x' }, vars, '1'), false);
    assert.equal(ruleHolds({ callerIn: ['600111222'], next: 'x' }, vars, '600111222'), true);
  });
  it('says values only in forms Asterisk can say', () => {
    assert.equal(sayMedia('1234.9', 'number'), 'number:1234');
    assert.equal(sayMedia('12-34', 'digits'), 'digits:1234');
    assert.equal(sayMedia('abc', 'number'), undefined);
    assert.equal(sayMedia('A1 b,2', 'characters'), 'characters:A1b2');
  });
  it('keeps top-level scalar fields of a lookup answer', () => {
    assert.deepEqual(lookupVariables({ balance: 12, ok: true, name: 'Ana', nested: { x: 1 }, 'bad key': 1 }), { balance: '12', ok: 'true', name: 'Ana' });
    assert.throws(() => lookupVariables([1, 2]), /not a JSON object/);
  });
});
