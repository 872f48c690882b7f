import type { OfferResult } from './store.js';

/**
 * A queue entry's life, as a pure function: an entry's state and an event
 * give its next state and the effects to carry out, in order (the engine's
 * parts carry them out: src/queues/entries.ts). Like the agent state
 * machine, it knows no ARI, no database and no clock.
 *
 *   waiting ──offer──► offering ──legAnswered──► connected
 *      ▲                  │ ringTimeout, last legGone,
 *      └──────────────────┘ offersDone or offerAborted with no leg ringing
 *   any ──leave──► done
 */

export type EntryStatus = 'waiting' | 'offering' | 'connected' | 'done';

export interface EntryState {
  status: EntryStatus;
  /** Agent legs ringing now: leg channel id → agent id. */
  legs: ReadonlyMap<string, string>;
}

export type EntryEvent =
  /** The dispatcher chose agents for the caller. */
  | { type: 'offer' }
  /** An agent's leg entered Stasis and is about to be dialled. */
  | { type: 'legRinging'; legId: string; agentId: string }
  /** Ringing an agent failed (making, or dialling, the leg). */
  | { type: 'legFailed'; legId: string; agentId: string }
  /** Every chosen agent has been rung (or failed): the ring timer starts. */
  | { type: 'offersDone' }
  /** The offer failed as a whole, or lost its legs: with none ringing the caller waits. */
  | { type: 'offerAborted' }
  /** Nobody answered within the queue's ring timeout. */
  | { type: 'ringTimeout' }
  /** A ringing leg ended (busy, rejected, unreachable). */
  | { type: 'legGone'; legId: string }
  /** A ringing leg vanished while the ARI connection was down (reconciliation). */
  | { type: 'legLost'; legId: string }
  /** A ringing leg answered. */
  | { type: 'legAnswered'; legId: string }
  /** The caller leaves the queue while waiting (callback, overflow, hang-up): every offer is withdrawn. */
  | { type: 'withdrawOffers' }
  /** A call found bridged with an agent after a restart. */
  | { type: 'adopt' }
  | { type: 'leave' };

export type AgentSettle = 'withdraw' | 'noAnswer';

export type EntryEffect =
  | { type: 'hangup'; legId: string }
  | { type: 'endOffer'; agentId: string; result: OfferResult }
  | { type: 'settleAgent'; agentId: string; command: AgentSettle }
  | { type: 'startRingTimer' }
  | { type: 'clearRingTimer' }
  /** Look for agents again (the caller waits again). */
  | { type: 'dispatch' };

export interface EntryTransition {
  next: EntryState;
  effects: EntryEffect[];
  /** The event does not apply in this state: nothing changed. */
  ignored: boolean;
}

/** Waiting for an agent (on hold, or ringing agents). */
export const isWaiting = (status: EntryStatus): boolean => status === 'waiting' || status === 'offering';

const ignore = (state: EntryState): EntryTransition => ({ next: state, effects: [], ignored: true });
const to = (next: EntryState, effects: EntryEffect[] = []): EntryTransition => ({ next, effects, ignored: false });

function without(legs: ReadonlyMap<string, string>, legId: string): Map<string, string> {
  const rest = new Map(legs);
  rest.delete(legId);
  return rest;
}

/** Each leg hung up (unless `hangup` is false), its offer ended with `result`, its agent settled. */
function endLegs(legs: Iterable<[string, string]>, result: OfferResult, command: AgentSettle, hangup = true): EntryEffect[] {
  return [...legs].flatMap(([legId, agentId]): EntryEffect[] => [
    ...(hangup ? [{ type: 'hangup' as const, legId }] : []),
    { type: 'endOffer', agentId, result },
    { type: 'settleAgent', agentId, command },
  ]);
}

export function transition(state: EntryState, event: EntryEvent): EntryTransition {
  const { status, legs } = state;
  switch (event.type) {
    case 'offer':
      return status === 'waiting' ? to({ status: 'offering', legs }) : ignore(state);
    case 'legRinging':
      // The caller left (or a faster agent answered) while the leg was made: it is not wanted.
      if (status !== 'offering') return to(state, [{ type: 'hangup', legId: event.legId }, { type: 'settleAgent', agentId: event.agentId, command: 'withdraw' }]);
      return to({ status, legs: new Map([...legs, [event.legId, event.agentId]]) });
    case 'legFailed':
      // In whatever state: the agent's offer failed and their phone is paused (as for no answer).
      return to({ status, legs: without(legs, event.legId) }, endLegs([[event.legId, event.agentId]], 'failed', 'noAnswer'));
    case 'offersDone':
      // A phone that answers at once is bridged before its dial request has returned: then no longer offering.
      if (status !== 'offering') return ignore(state);
      if (legs.size === 0) return to({ status: 'waiting', legs });
      return to(state, [{ type: 'startRingTimer' }]);
    case 'offerAborted':
      return status === 'offering' && legs.size === 0 ? to({ status: 'waiting', legs }) : ignore(state);
    case 'ringTimeout':
      if (status !== 'offering') return ignore(state);
      return to({ status: 'waiting', legs: new Map() }, [...endLegs(legs, 'no_answer', 'noAnswer'), { type: 'dispatch' }]);
    case 'legGone': {
      const agentId = legs.get(event.legId);
      if (agentId === undefined) return ignore(state);
      const rest = without(legs, event.legId);
      const effects = endLegs([[event.legId, agentId]], 'no_answer', 'noAnswer', false);
      if (status === 'offering' && rest.size === 0) return to({ status: 'waiting', legs: rest }, [...effects, { type: 'clearRingTimer' }, { type: 'dispatch' }]);
      return to({ status, legs: rest }, effects);
    }
    case 'legLost': {
      const agentId = legs.get(event.legId);
      if (agentId === undefined) return ignore(state);
      return to({ status, legs: without(legs, event.legId) }, endLegs([[event.legId, agentId]], 'failed', 'withdraw', false));
    }
    case 'legAnswered': {
      if (status !== 'offering' || !legs.has(event.legId)) return ignore(state);
      const others = [...legs].filter(([legId]) => legId !== event.legId);
      return to({ status: 'connected', legs: new Map() }, [{ type: 'clearRingTimer' }, ...endLegs(others, 'lost_race', 'withdraw')]);
    }
    case 'withdrawOffers':
      if (legs.size === 0) return ignore(state);
      return to({ status, legs: new Map() }, endLegs(legs, 'caller_left', 'withdraw'));
    case 'adopt':
      return status === 'done' ? ignore(state) : to({ status: 'connected', legs: new Map() });
    case 'leave':
      return status === 'done' ? ignore(state) : to({ status: 'done', legs });
  }
}
