import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWaiting, transition, type EntryEvent, type EntryState, type EntryStatus } from '../../src/queues/entry.js';

const state = (status: EntryStatus, legs: Record<string, string> = {}): EntryState => ({ status, legs: new Map(Object.entries(legs)) });
const legsOf = (s: EntryState): Record<string, string> => Object.fromEntries(s.legs);

/** Runs events from a state; returns the final state and every effect, in order, as short strings. */
function run(from: EntryState, ...events: EntryEvent[]): { final: EntryState; effects: string[]; ignored: boolean[] } {
  let current = from;
  const effects: string[] = [];
  const ignored: boolean[] = [];
  for (const event of events) {
    const result = transition(current, event);
    ignored.push(result.ignored);
    current = result.next;
    for (const e of result.effects) {
      effects.push(e.type === 'hangup' ? `hangup ${e.legId}` : e.type === 'endOffer' ? `endOffer ${e.agentId} ${e.result}`
        : e.type === 'settleAgent' ? `${e.command} ${e.agentId}` : e.type);
    }
  }
  return { final: current, effects, ignored };
}

describe('queue entry transitions', () => {
  it('walks an answered call: offer, two phones ring, one answers, the other loses the race', () => {
    const r = run(state('waiting'), { type: 'offer' }, { type: 'legRinging', legId: 'L1', agentId: 'a1' },
      { type: 'legRinging', legId: 'L2', agentId: 'a2' }, { type: 'offersDone' }, { type: 'legAnswered', legId: 'L2' }, { type: 'leave' });
    assert.deepEqual(r.effects, ['startRingTimer', 'clearRingTimer', 'hangup L1', 'endOffer a1 lost_race', 'withdraw a1']);
    assert.equal(r.final.status, 'done');
    assert.deepEqual(legsOf(r.final), {});
  });

  it('offers only a waiting caller', () => {
    assert.equal(transition(state('waiting'), { type: 'offer' }).next.status, 'offering');
    for (const status of ['offering', 'connected', 'done'] as const) assert.equal(transition(state(status), { type: 'offer' }).ignored, true);
  });

  it('hangs up a leg made after the caller stopped being offered, and withdraws its agent', () => {
    const r = transition(state('waiting'), { type: 'legRinging', legId: 'L1', agentId: 'a1' });
    assert.deepEqual(legsOf(r.next), {});
    assert.deepEqual(r.effects, [{ type: 'hangup', legId: 'L1' }, { type: 'settleAgent', agentId: 'a1', command: 'withdraw' }]);
  });

  it('a leg that failed to ring is dropped, its offer failed and its agent paused (no answer)', () => {
    const r = run(state('offering', { L1: 'a1', L2: 'a2' }), { type: 'legFailed', legId: 'L1', agentId: 'a1' });
    assert.deepEqual(legsOf(r.final), { L2: 'a2' });
    assert.equal(r.final.status, 'offering');
    assert.deepEqual(r.effects, ['hangup L1', 'endOffer a1 failed', 'noAnswer a1']);
  });

  it('when the offers are made: the ring timer starts, or with no phone ringing the caller waits again', () => {
    assert.deepEqual(run(state('offering', { L1: 'a1' }), { type: 'offersDone' }).effects, ['startRingTimer']);
    const none = run(state('offering'), { type: 'offersDone' });
    assert.equal(none.final.status, 'waiting');
    assert.deepEqual(none.effects, []);
    // Answered before the dial returned: stays connected.
    assert.equal(run(state('connected'), { type: 'offersDone' }).final.status, 'connected');
  });

  it('an aborted offer puts the caller back to waiting only when no phone rings', () => {
    assert.equal(transition(state('offering'), { type: 'offerAborted' }).next.status, 'waiting');
    assert.equal(transition(state('offering', { L1: 'a1' }), { type: 'offerAborted' }).ignored, true);
    assert.equal(transition(state('connected'), { type: 'offerAborted' }).ignored, true);
  });

  it('ring timeout: every ringing agent is paused (RONA) and the caller waits for the next', () => {
    const r = run(state('offering', { L1: 'a1', L2: 'a2' }), { type: 'ringTimeout' });
    assert.equal(r.final.status, 'waiting');
    assert.deepEqual(legsOf(r.final), {});
    assert.deepEqual(r.effects, ['hangup L1', 'endOffer a1 no_answer', 'noAnswer a1', 'hangup L2', 'endOffer a2 no_answer', 'noAnswer a2', 'dispatch']);
    assert.equal(transition(state('connected'), { type: 'ringTimeout' }).ignored, true);
  });

  it('a leg that ends unanswered: its agent is paused; the last one sends the caller back to waiting', () => {
    const first = run(state('offering', { L1: 'a1', L2: 'a2' }), { type: 'legGone', legId: 'L1' });
    assert.equal(first.final.status, 'offering');
    assert.deepEqual(first.effects, ['endOffer a1 no_answer', 'noAnswer a1']);
    const last = run(first.final, { type: 'legGone', legId: 'L2' });
    assert.equal(last.final.status, 'waiting');
    assert.deepEqual(last.effects, ['endOffer a2 no_answer', 'noAnswer a2', 'clearRingTimer', 'dispatch']);
    assert.equal(transition(last.final, { type: 'legGone', legId: 'L2' }).ignored, true);
  });

  it('a leg lost while disconnected: the offer failed and the agent is withdrawn, not paused', () => {
    const r = run(state('offering', { L1: 'a1' }), { type: 'legLost', legId: 'L1' }, { type: 'offerAborted' });
    assert.deepEqual(r.effects, ['endOffer a1 failed', 'withdraw a1']);
    assert.equal(r.final.status, 'waiting');
  });

  it('an answer counts only while offering and for a ringing leg', () => {
    assert.equal(transition(state('offering', { L1: 'a1' }), { type: 'legAnswered', legId: 'L9' }).ignored, true);
    assert.equal(transition(state('waiting', { L1: 'a1' }), { type: 'legAnswered', legId: 'L1' }).ignored, true);
    assert.equal(transition(state('done', { L1: 'a1' }), { type: 'legAnswered', legId: 'L1' }).ignored, true);
    const r = transition(state('offering', { L1: 'a1' }), { type: 'legAnswered', legId: 'L1' });
    assert.equal(r.next.status, 'connected');
    assert.deepEqual(r.effects, [{ type: 'clearRingTimer' }]);
  });

  it('a caller leaving while offered withdraws every offer (caller_left) and keeps its status until it leaves', () => {
    const r = run(state('offering', { L1: 'a1', L2: 'a2' }), { type: 'withdrawOffers' });
    assert.equal(r.final.status, 'offering');
    assert.deepEqual(legsOf(r.final), {});
    assert.deepEqual(r.effects, ['hangup L1', 'endOffer a1 caller_left', 'withdraw a1', 'hangup L2', 'endOffer a2 caller_left', 'withdraw a2']);
  });

  it('adopts a bridged call, and leaves once', () => {
    assert.equal(transition(state('waiting'), { type: 'adopt' }).next.status, 'connected');
    assert.equal(transition(state('connected'), { type: 'leave' }).next.status, 'done');
    assert.equal(transition(state('done'), { type: 'leave' }).ignored, true);
    assert.equal(transition(state('done'), { type: 'adopt' }).ignored, true);
  });

  it('does not change the state it was given', () => {
    const before = state('offering', { L1: 'a1' });
    transition(before, { type: 'ringTimeout' });
    assert.equal(before.status, 'offering');
    assert.deepEqual(legsOf(before), { L1: 'a1' });
  });

  it('says which states wait for an agent', () => {
    assert.deepEqual((['waiting', 'offering', 'connected', 'done'] as const).map(isWaiting), [true, true, false, false]);
  });
});
