/**
 * Which agent a waiting caller is offered to, and which caller goes first:
 * pure functions of the queue's rules and the agents' situation.
 */

export const strategies = ['longest_idle', 'round_robin', 'fewest_calls', 'ring_all', 'skills'] as const;
export type Strategy = (typeof strategies)[number];

export interface Candidate {
  agentId: string;
  /** Lower is preferred; a member's penalty in this queue. */
  penalty: number;
  /** When the agent last became available (longest idle = earliest). */
  idleSince: Date;
  /** Queue calls answered today. */
  callsToday: number;
  /** When the agent was last offered a call from this queue (round robin). */
  lastOfferedAt: Date | null;
  skills: Record<string, number>;
}

export interface CallerNeeds { skills: Record<string, number>; language: string | null }

/** An agent may take a caller when every required skill (and the language, as a skill) is at its minimum level. */
export function qualifies(candidate: Pick<Candidate, 'skills'>, needs: CallerNeeds): boolean {
  for (const [skill, level] of Object.entries(needs.skills)) if ((candidate.skills[skill] ?? 0) < level) return false;
  if (needs.language && (candidate.skills[needs.language] ?? 0) < 1) return false;
  return true;
}

/** How well an agent covers the caller's needs: the sum of levels on the needed skills. */
const skillScore = (candidate: Candidate, needs: CallerNeeds): number =>
  Object.keys(needs.skills).concat(needs.language ? [needs.language] : []).reduce((sum, s) => sum + (candidate.skills[s] ?? 0), 0);

const byIdle = (a: Candidate, b: Candidate): number => a.idleSince.getTime() - b.idleSince.getTime();

/**
 * The agents to offer the call to, in order (the first one is offered; for
 * ring_all every one rings at once). Only qualified candidates appear;
 * penalties come before the strategy.
 */
export function chooseAgents(strategy: Strategy, candidates: Candidate[], needs: CallerNeeds): Candidate[] {
  const eligible = candidates.filter((c) => qualifies(c, needs));
  const order = (a: Candidate, b: Candidate): number => {
    if (a.penalty !== b.penalty) return a.penalty - b.penalty;
    switch (strategy) {
      case 'longest_idle': case 'ring_all': return byIdle(a, b) || a.agentId.localeCompare(b.agentId);
      case 'round_robin': return (a.lastOfferedAt?.getTime() ?? 0) - (b.lastOfferedAt?.getTime() ?? 0) || byIdle(a, b);
      case 'fewest_calls': return a.callsToday - b.callsToday || byIdle(a, b);
      case 'skills': return skillScore(b, needs) - skillScore(a, needs) || byIdle(a, b);
    }
  };
  const ordered = [...eligible].sort(order);
  return strategy === 'ring_all' ? ordered : ordered.slice(0, 1);
}

export interface WaitingCaller { entryId: string; priority: number; enteredAt: Date }

/** Higher priority first; equal priority, first come first served. */
export function callerOrder(a: WaitingCaller, b: WaitingCaller): number {
  return b.priority - a.priority || a.enteredAt.getTime() - b.enteredAt.getTime() || a.entryId.localeCompare(b.entryId);
}
