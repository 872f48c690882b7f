import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeState, loggedOut, transition, type AgentCommand, type AgentState } from '../../src/agents/state-machine.js';
import { phoneCondition } from '../../src/agents/service.js';

/** Runs commands from logged out; returns the state after each, or the refusal. */
function run(...commands: AgentCommand[]): { states: string[]; final: AgentState; refused?: string } {
  let state = loggedOut;
  const states: string[] = [];
  for (const command of commands) {
    const result = transition(state, command);
    if (!result.ok) return { states, final: state, refused: result.message };
    state = result.next;
    states.push(describeState(state) + (state.pendingPause ? `+${state.pendingPause}` : ''));
  }
  return { states, final: state };
}

const login: AgentCommand = { type: 'login', extension: '1001' };
const offer: AgentCommand = { type: 'offer', callId: 'c1' };
const answer: AgentCommand = { type: 'answer', callId: 'c1' };
const endWithWrapUp: AgentCommand = { type: 'callEnded', wrapUpEndsAt: new Date(1) };

describe('agent state machine', () => {
  it('walks a working day', () => {
    const day = run(login, { type: 'pause', reason: 'break' }, { type: 'ready' }, offer, answer, endWithWrapUp, { type: 'wrapUpDone' }, { type: 'logout' });
    assert.equal(day.refused, undefined);
    assert.deepEqual(day.states, ['available', 'paused(break)', 'available', 'ringing', 'on_call', 'wrap_up', 'available', 'logged_out']);
  });

  it('holds a pause asked during a call until the call and wrap-up end', () => {
    const r = run(login, offer, answer, { type: 'pause', reason: 'lunch' }, endWithWrapUp, { type: 'wrapUpDone' });
    assert.deepEqual(r.states, ['available', 'ringing', 'on_call', 'on_call+lunch', 'wrap_up+lunch', 'paused(lunch)']);
    assert.equal(r.final.pendingPause, null);
    const noWrapUp = run(login, answer, { type: 'pause', reason: 'lunch' }, { type: 'callEnded', wrapUpEndsAt: null });
    assert.equal(noWrapUp.states.at(-1), 'paused(lunch)');
  });

  it('holds a wrap-up waiting for a required code: ready is refused, the code ends it (now or at its usual end), the maximum too', () => {
    const held: AgentCommand = { type: 'callEnded', wrapUpEndsAt: new Date(120_000), awaitingDisposition: true };
    const refused = run(login, answer, held, { type: 'ready' });
    assert.match(refused.refused ?? '', /wrap-up code/);
    assert.equal(refused.final.awaitingDisposition, true);
    assert.deepEqual(run(login, answer, held, { type: 'dispositionSet', wrapUpEndsAt: null }).states.at(-1), 'available');
    const later = run(login, answer, held, { type: 'dispositionSet', wrapUpEndsAt: new Date(5000) });
    assert.deepEqual([later.states.at(-1), later.final.wrapUpEndsAt?.getTime(), later.final.awaitingDisposition], ['wrap_up', 5000, false]);
    assert.equal(run(login, answer, held, { type: 'dispositionSet', wrapUpEndsAt: new Date(5000) }, { type: 'ready' }).states.at(-1), 'available', 'ready works once the code is set');
    assert.equal(run(login, answer, held, { type: 'wrapUpDone' }).states.at(-1), 'available', 'the maximum ends it');
    assert.match(run(login, { type: 'dispositionSet', wrapUpEndsAt: null }).refused ?? '', /not waiting/);
  });

  it('takes a supervisor\'s forced state: a pause waits for the call, the rest is refused during one; unreachable keeps its phone rule', () => {
    assert.equal(run(login, { type: 'force', to: 'paused', reason: 'break' }).states.at(-1), 'paused(break)');
    assert.equal(run(login, { type: 'pause', reason: 'break' }, { type: 'force', to: 'available' }).states.at(-1), 'available');
    assert.equal(run(login, answer, endWithWrapUp, { type: 'force', to: 'available' }).states.at(-1), 'available', 'ends a wrap-up');
    assert.equal(run(login, answer, endWithWrapUp, { type: 'force', to: 'logged_out' }).states.at(-1), 'logged_out');
    assert.equal(run(login, answer, { type: 'force', to: 'paused', reason: 'break' }).states.at(-1), 'on_call+break');
    assert.match(run(login, answer, { type: 'force', to: 'logged_out' }).refused ?? '', /take the call over/);
    assert.match(run({ type: 'force', to: 'available' }).refused ?? '', /not checked in/);
    assert.match(run(login, { type: 'unreachable' }, { type: 'force', to: 'available' }).refused ?? '', /not reachable/);
    const away = run(login, { type: 'unreachable' }, { type: 'force', to: 'paused', reason: 'lunch' }, { type: 'reachable' });
    assert.equal(away.states.at(-1), 'paused(lunch)', 'the pause is where the agent returns');
  });

  it('lets ready cancel a pending pause or end wrap-up early', () => {
    assert.equal(run(login, answer, { type: 'pause', reason: 'lunch' }, { type: 'ready' }).states.at(-1), 'on_call');
    assert.equal(run(login, answer, endWithWrapUp, { type: 'ready' }).states.at(-1), 'available');
  });

  it('refuses illegal moves with a reason', () => {
    assert.match(run({ type: 'pause', reason: 'lunch' }).refused!, /not checked in/);
    assert.match(run(login, login).refused!, /already checked in/);
    assert.match(run(login, { type: 'ready' }).refused!, /already available/);
    assert.match(run(login, offer, answer, { type: 'logout' }).refused!, /on_call/);
    assert.match(run(login, { type: 'pause', reason: 'break' }, offer).refused!, /only an available agent/);
    assert.match(run(login, { type: 'pause', reason: 'rona' }).refused!, /set by the system/);
    assert.match(run(login, { type: 'pause', reason: 'lunch' }, { type: 'pause', reason: 'lunch' }).refused!, /already paused/);
    assert.match(run(login, { type: 'reachable' }).refused!, /not unreachable/);
  });

  it('pauses a ringing agent who does not answer (RONA)', () => {
    assert.equal(run(login, offer, { type: 'noAnswer' }).states.at(-1), 'paused(rona)');
  });

  it('sends an unreachable phone to paused(unreachable) and back to where the agent was', () => {
    assert.deepEqual(run(login, { type: 'pause', reason: 'training' }, { type: 'unreachable' }, { type: 'reachable' }).states.slice(1),
      ['paused(training)', 'paused(unreachable)', 'paused(training)']);
    assert.equal(run(login, { type: 'unreachable' }, { type: 'reachable' }).states.at(-1), 'available');
    // A call cannot survive its phone: back to available, or to the pause that was pending.
    assert.equal(run(login, answer, { type: 'pause', reason: 'lunch' }, { type: 'unreachable' }, { type: 'reachable' }).states.at(-1), 'paused(lunch)');
    assert.match(run(login, { type: 'unreachable' }, { type: 'ready' }).refused!, /not reachable/);
    // A pause asked while unreachable is where the agent will land.
    assert.equal(run(login, { type: 'unreachable' }, { type: 'pause', reason: 'break' }, { type: 'reachable' }).states.at(-1), 'paused(break)');
    assert.equal(run(login, { type: 'unreachable' }, { type: 'logout' }).states.at(-1), 'logged_out');
  });

  it('reads AMI device states as phone conditions', () => {
    assert.equal(phoneCondition('UNAVAILABLE'), 'unreachable');
    assert.equal(phoneCondition('NOT_INUSE'), 'idle');
    assert.equal(phoneCondition('INUSE'), 'in_use');
    assert.equal(phoneCondition('RINGING'), 'ringing');
    assert.equal(phoneCondition('UNKNOWN'), undefined);
  });
});
