import type { OutboundOutcome } from './store.js';

/**
 * How a dial that was not answered ended, from Asterisk's dial status and the
 * customer channel's hang-up cause (Q.850): a 404 from the carrier comes as
 * CHANUNAVAIL with cause 1 (unallocated number), a 503 as CONGESTION (34),
 * a 486 as BUSY (17); our own ring timeout as NOANSWER.
 */
export function outcomeOf(dialStatus: string | undefined, cause: number): OutboundOutcome {
  if (dialStatus === 'BUSY' || cause === 17) return 'busy';
  if (dialStatus === 'NOANSWER' || cause === 18 || cause === 19) return 'no_answer';
  if (cause === 1 || cause === 3 || cause === 28) return 'invalid';
  if (dialStatus === 'CONGESTION' || cause === 34 || cause === 38 || cause === 41 || cause === 42) return 'congestion';
  if (dialStatus === 'CANCEL') return 'cancelled';
  return 'failed';
}

/** What the agent hears when the customer was not reached (the project's prompts, sounds/<lang>/centralita). */
export function spokenFailure(outcome: OutboundOutcome): string[] {
  switch (outcome) {
    case 'busy': return ['sound:centralita/outbound-busy'];
    case 'no_answer': return ['sound:centralita/outbound-no-answer'];
    case 'invalid': return ['sound:centralita/outbound-invalid'];
    default: return ['sound:centralita/outbound-failed'];
  }
}
