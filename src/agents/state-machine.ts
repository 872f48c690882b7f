/**
 * The agent state machine, as pure functions: a state and a command give the
 * next state or the reason the command is refused. The service persists each
 * accepted change as one agent_state_events row.
 */

export const agentStatuses = ['logged_out', 'available', 'ringing', 'on_call', 'wrap_up', 'paused'] as const;
export type AgentStatus = (typeof agentStatuses)[number];

export interface AgentState {
  status: AgentStatus;
  /** The pause reason while paused. */
  reason: string | null;
  /** A pause asked for during a call; taken when the call and wrap-up end. */
  pendingPause: string | null;
  /** While paused(unreachable): the state to go back to when the phone returns. */
  resume: { status: 'available' | 'paused'; reason: string | null } | null;
  /** The phone the agent is checked in on. */
  extension: string | null;
  wrapUpEndsAt: Date | null;
  callId: string | null;
  /**
   * In wrap-up, the queue requires a wrap-up code (disposition) not set yet:
   * the agent cannot end the wrap-up; it ends when the code is set or at its
   * maximum (wrapUpEndsAt). Held in memory only: after a restart the wrap-up
   * ends at its maximum or when the agent says ready.
   */
  awaitingDisposition?: boolean;
}

export type AgentCommand =
  | { type: 'login'; extension: string }
  | { type: 'logout' }
  | { type: 'pause'; reason: string }
  | { type: 'ready' }
  /** A call is offered: the phone rings. */
  | { type: 'offer'; callId: string | null }
  | { type: 'answer'; callId: string | null }
  /** The phone rang out: the agent is paused so no more calls are offered (RONA). */
  | { type: 'noAnswer' }
  /** The offer was taken back (the caller left, or another agent answered first). */
  | { type: 'withdraw' }
  | { type: 'callEnded'; wrapUpEndsAt: Date | null; awaitingDisposition?: boolean }
  /** The required wrap-up code was set: the wrap-up ends at `wrapUpEndsAt` (its usual length), or now when null. */
  | { type: 'dispositionSet'; wrapUpEndsAt: Date | null }
  /** A supervisor sets the agent's state (audited by the service). */
  | { type: 'force'; to: 'available' | 'logged_out' | 'paused'; reason?: string }
  | { type: 'wrapUpDone' }
  | { type: 'unreachable' }
  | { type: 'reachable' };

export type Transition = { ok: true; next: AgentState } | { ok: false; message: string };

export const loggedOut: AgentState = {
  status: 'logged_out', reason: null, pendingPause: null, resume: null, extension: null, wrapUpEndsAt: null, callId: null,
};

export const describeState = (s: Pick<AgentState, 'status' | 'reason'>): string => (s.status === 'paused' ? `paused(${s.reason})` : s.status);

const refuse = (message: string): Transition => ({ ok: false, message });
const to = (state: AgentState, change: Partial<AgentState>): Transition => ({ ok: true, next: { ...state, ...change } });

/** Where an agent lands when a call and its wrap-up are over: the pending pause, else available. */
const afterWork = (state: AgentState): Partial<AgentState> => ({
  status: state.pendingPause ? 'paused' : 'available',
  reason: state.pendingPause,
  pendingPause: null,
  wrapUpEndsAt: null,
  callId: null,
  awaitingDisposition: false,
});

const busy = (s: AgentState): boolean => s.status === 'ringing' || s.status === 'on_call' || s.status === 'wrap_up';
const unreachable = (s: AgentState): boolean => s.status === 'paused' && s.reason === 'unreachable';

export function transition(state: AgentState, command: AgentCommand): Transition {
  switch (command.type) {
    case 'login':
      if (state.status !== 'logged_out') return refuse(`the agent is already checked in (${describeState(state)}) on ${state.extension}`);
      return to(state, { ...loggedOut, status: 'available', extension: command.extension });

    case 'logout':
      if (state.status === 'logged_out') return refuse('the agent is not checked in');
      if (busy(state)) return refuse(`the agent is ${describeState(state)}; check out when the call and wrap-up are over`);
      return to(state, loggedOut);

    case 'pause':
      if (command.reason === 'unreachable' || command.reason === 'rona') return refuse(`${command.reason} is set by the system, not asked for`);
      if (state.status === 'logged_out') return refuse('the agent is not checked in');
      if (unreachable(state)) return to(state, { resume: { status: 'paused', reason: command.reason } });
      if (busy(state)) {
        if (state.pendingPause === command.reason) return refuse(`a ${command.reason} pause is already pending`);
        return to(state, { pendingPause: command.reason });
      }
      if (state.status === 'paused' && state.reason === command.reason) return refuse(`the agent is already paused(${command.reason})`);
      return to(state, { status: 'paused', reason: command.reason });

    case 'ready':
      if (state.status === 'logged_out') return refuse('the agent is not checked in');
      if (unreachable(state)) return refuse("the agent's phone is not reachable; it becomes available when the phone is back");
      if (state.status === 'available') return refuse('the agent is already available');
      if (state.status === 'wrap_up' && state.awaitingDisposition) return refuse("the queue requires the call's wrap-up code first");
      if (state.status === 'wrap_up') return to(state, afterWork({ ...state, pendingPause: null }));
      if (busy(state)) {
        if (!state.pendingPause) return refuse(`the agent is ${describeState(state)} and has no pause pending`);
        return to(state, { pendingPause: null });
      }
      return to(state, { status: 'available', reason: null });

    case 'offer':
      if (state.status !== 'available') return refuse(`only an available agent can be offered a call; the agent is ${describeState(state)}`);
      return to(state, { status: 'ringing', callId: command.callId });

    case 'answer':
      if (state.status !== 'ringing' && state.status !== 'available') return refuse(`the agent is ${describeState(state)}, not ringing`);
      return to(state, { status: 'on_call', callId: command.callId });

    case 'noAnswer':
      if (state.status !== 'ringing') return refuse(`the agent is ${describeState(state)}, not ringing`);
      return to(state, { status: 'paused', reason: 'rona', callId: null });

    case 'withdraw':
      if (state.status !== 'ringing') return refuse(`the agent is ${describeState(state)}, not ringing`);
      return to(state, afterWork(state));

    case 'callEnded':
      if (state.status !== 'on_call') return refuse(`the agent is ${describeState(state)}, not on a call`);
      if (!command.wrapUpEndsAt) return to(state, afterWork(state));
      return to(state, { status: 'wrap_up', wrapUpEndsAt: command.wrapUpEndsAt, awaitingDisposition: command.awaitingDisposition === true });

    case 'dispositionSet':
      if (state.status !== 'wrap_up' || !state.awaitingDisposition) return refuse(`the agent is ${describeState(state)}, not waiting for a wrap-up code`);
      if (!command.wrapUpEndsAt) return to(state, afterWork(state));
      return to(state, { wrapUpEndsAt: command.wrapUpEndsAt, awaitingDisposition: false });

    case 'force': {
      const reason = command.reason ?? 'supervisor';
      if (state.status === 'logged_out') return refuse('the agent is not checked in');
      if (state.status === 'ringing' || state.status === 'on_call') {
        // The call goes on: a pause waits for its end, the rest is refused.
        if (command.to !== 'paused') return refuse(`the agent is ${describeState(state)}; take the call over or wait for its end`);
        return to(state, { pendingPause: reason });
      }
      if (command.to === 'logged_out') return to(state, loggedOut);
      if (unreachable(state)) {
        if (command.to === 'available') return refuse("the agent's phone is not reachable; it becomes available when the phone is back");
        return to(state, { resume: { status: 'paused', reason: reason } });
      }
      if (command.to === 'available') {
        if (state.status === 'available') return refuse('the agent is already available');
        return to(state, { ...afterWork(state), status: 'available', reason: null, pendingPause: null });
      }
      if (state.status === 'paused' && state.reason === reason) return refuse(`the agent is already paused(${reason})`);
      return to(state, { ...afterWork(state), status: 'paused', reason: reason, pendingPause: null });
    }

    case 'wrapUpDone':
      if (state.status !== 'wrap_up') return refuse(`the agent is ${describeState(state)}, not in wrap-up`);
      return to(state, afterWork(state));

    case 'unreachable': {
      if (state.status === 'logged_out') return refuse('the agent is not checked in');
      if (unreachable(state)) return refuse('the phone is already unreachable');
      // A call cannot go on without the phone: the agent returns available (or
      // to the pause they asked for).
      const resume = state.status === 'paused'
        ? { status: 'paused' as const, reason: state.reason }
        : state.pendingPause ? { status: 'paused' as const, reason: state.pendingPause } : { status: 'available' as const, reason: null };
      return to(state, { status: 'paused', reason: 'unreachable', resume, pendingPause: null, wrapUpEndsAt: null, callId: null });
    }

    case 'reachable':
      if (!unreachable(state) || !state.resume) return refuse('the phone was not unreachable');
      return to(state, { status: state.resume.status, reason: state.resume.reason, resume: null });
  }
}
