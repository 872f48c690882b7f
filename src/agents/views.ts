import type { AgentStatus } from './state-machine.js';
import type { AgentRow, PauseReasonRow, StateSource } from './store.js';

// What the agents capability shows of its rows and state (API, events).

export interface AgentView {
  id: string;
  number: string;
  name: string;
  extension: string | null;
  team: string | null;
  skills: Record<string, number>;
  isSupervisor: boolean;
  /** The external numbers the agent may transfer callers to, as dialplan patterns (dialing-rights.ts). */
  dialingRights: string[];
  active: boolean;
}

export interface AgentStateView {
  agentId: string;
  status: AgentStatus;
  reason: string | null;
  pendingPause: string | null;
  extension: string | null;
  wrapUpEndsAt: string | null;
  callId: string | null;
  since: string | null;
}

export interface AgentStateChange extends AgentStateView {
  from: { status: AgentStatus; reason: string | null };
  source: StateSource;
  /** A supervisor's forced change: who and why (also on the event's row). */
  forced?: { by: string; why: string };
}

export interface TimelineEntry {
  from: string; to: string; status: AgentStatus; reason: string | null; pendingPause: string | null;
  extension: string | null; callId: string | null; source: StateSource; at: string;
  /** A supervisor's forced change: who and why. */
  forcedBy?: string; forcedWhy?: string;
}

declare module '../core/events.js' {
  interface DomainEvents {
    'agent.state': AgentStateChange;
    'agent.access.removed': AgentAccessRemoved;
  }
}

/**
 * An agent lost access (offboarding): deleted, deactivated, or no longer a
 * supervisor. Auth revokes the API tokens bound to them on it.
 */
export interface AgentAccessRemoved { agentId: string; change: 'deleted' | 'deactivated' | 'supervisor_removed' }

export interface AgentInput {
  number: string;
  name: string;
  extension?: string | null;
  pin: string;
  team?: string | null;
  skills?: Record<string, number>;
  isSupervisor?: boolean;
  dialingRights?: string[];
}

export interface PauseReasonView { name: string; code: string | null; label: string; productive: boolean; system: boolean }

export const agentView = (row: AgentRow): AgentView => ({
  id: row.id, number: row.number, name: row.name, extension: row.extension, team: row.team,
  skills: row.skills, isSupervisor: row.is_supervisor, dialingRights: row.dialing_rights, active: row.active,
});

export const pauseReasonView = (row: PauseReasonRow): PauseReasonView => ({ ...row });
