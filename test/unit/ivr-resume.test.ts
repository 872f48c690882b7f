import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resumePoint } from '../../src/ivr/engine.js';
import type { FlowDocument } from '../../src/ivr/flow.js';

/** A flow that uses every kind of node a trace can show before a restart. */
const flow: FlowDocument = {
  start: 'hello',
  nodes: {
    hello: { type: 'play', media: ['sound:hello-world'], next: 'lang' },
    lang: { type: 'menu', prompt: ['sound:x'], options: { 1: 'spanish', 2: 'english' }, default: 'english' },
    spanish: { type: 'setPriority', priority: 5, next: 'skills', language: 'es' },
    english: { type: 'setPriority', priority: 1, next: 'skills', language: 'en' },
    skills: { type: 'setSkills', skills: { billing: 3 }, next: 'account' },
    account: { type: 'collect', prompt: ['sound:x'], variable: 'account', maxDigits: 8, next: 'lookup' },
    lookup: { type: 'lookup', url: 'http://127.0.0.1:1/x', next: 'vip', onError: 'sorry' },
    vip: { type: 'condition', rules: [{ variable: 'tier', op: 'eq', value: 'gold', next: 'hours' }], else: 'hours' },
    hours: { type: 'schedule', timezone: 'Europe/Madrid', hours: {}, open: 'q', closed: 'closed' },
    sorry: { type: 'play', media: ['sound:x'], next: 'bye' },
    closed: { type: 'play', media: ['sound:x'], next: 'bye' },
    q: { type: 'queue', queue: 'ventas' },
    bye: { type: 'hangup' },
  },
};

const step = (node: string, input: string | null, detail: Record<string, unknown> = {}) => ({ node, input, detail });

describe('resuming an IVR call from its trace', () => {
  it('starts at the start node when nothing was traced', () => {
    assert.deepEqual(resumePoint(flow, [], 'es'), { node: 'hello', variables: {}, priority: 0, skills: {}, language: 'es' });
  });

  it('plays again a prompt that was playing, and asks again a menu whose last attempt failed', () => {
    assert.equal(resumePoint(flow, [step('hello', null, { language: 'es' })], 'es').node, 'hello');
    assert.equal(resumePoint(flow, [step('hello', null), step('lang', null, { attempt: 1, outcome: 'timeout' })], 'es').node, 'lang');
    assert.equal(resumePoint(flow, [step('hello', null), step('lang', '7', { attempt: 1, outcome: 'invalid' })], 'es').node, 'lang');
  });

  it('goes on to the branch a menu took, by key or by default', () => {
    assert.equal(resumePoint(flow, [step('hello', null), step('lang', '2', { attempt: 1 })], 'es').node, 'english');
    assert.equal(resumePoint(flow, [step('lang', null, { attempt: 3, outcome: 'timeout' }), step('lang', null, { outcome: 'default', next: 'english' })], 'es').node, 'english');
  });

  it('keeps what the caller keyed and what was looked up, the priority, skills and language, and goes on after the last finished step', () => {
    const trace = [
      step('hello', null), step('lang', '2', { attempt: 1 }), step('english', null, { priority: 1 }), step('skills', null, { skills: { billing: 3 } }),
      step('account', '12', { attempt: 1, outcome: 'too_short' }), step('account', '12345', { variable: 'account' }),
      step('lookup', null, { status: 200, result: { tier: 'gold', balance: '10' } }),
    ];
    assert.deepEqual(resumePoint(flow, trace, 'es'), {
      node: 'vip', variables: { account: '12345', tier: 'gold', balance: '10' }, priority: 1, skills: { billing: 3 }, language: 'en',
    });
    assert.equal(resumePoint(flow, trace.slice(0, 5), 'es').node, 'account', 'a too-short number is asked again');
  });

  it('follows the recorded outcome of lookups, conditions and schedules rather than deciding again', () => {
    assert.equal(resumePoint(flow, [step('lookup', null, { error: 'timeout' })], 'es').node, 'sorry');
    assert.equal(resumePoint(flow, [step('vip', null, { matched: 0, next: 'hours' })], 'es').node, 'hours');
    assert.equal(resumePoint(flow, [step('hours', null, { open: true })], 'es').node, 'q');
    assert.equal(resumePoint(flow, [step('hours', null, { open: false })], 'es').node, 'closed');
  });

  it('enters again a queue node and a hang-up it had reached; ignores nodes the version does not have', () => {
    assert.equal(resumePoint(flow, [step('q', null, { queue: 'ventas' })], 'es').node, 'q');
    assert.equal(resumePoint(flow, [step('bye', null)], 'es').node, 'bye');
    assert.equal(resumePoint(flow, [step('hello', null), step('gone', null)], 'es').node, 'hello');
  });
});
