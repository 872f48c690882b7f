import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import type { LastKnownGood } from '../core/last-known-good.js';
import type { WriteOp } from '../core/write-queue.js';
import type { AgentState, AgentStatus } from './state-machine.js';

export interface AgentsTable {
  id: string;
  number: string;
  name: string;
  extension: string | null;
  pin_hash: string;
  team: string | null;
  skills: Record<string, number>;
  is_supervisor: boolean;
  /** Patterns of the external numbers the agent may send callers to (dialing-rights.ts). */
  dialing_rights: string[];
  active: Generated<boolean>;
  created_at: Generated<Date>;
  deactivated_at: Date | null;
}

export interface PauseReasonsTable {
  name: string;
  code: string | null;
  label: string;
  productive: boolean;
  system: boolean;
}

export type StateSource = 'phone' | 'api' | 'system' | 'supervisor';

export interface AgentStateEventsTable {
  id: Generated<number>;
  agent_id: string;
  from_state: AgentStatus;
  from_reason: string | null;
  to_state: AgentStatus;
  to_reason: string | null;
  pending_pause: string | null;
  resume_state: 'available' | 'paused' | null;
  resume_reason: string | null;
  extension: string | null;
  wrap_up_ends_at: Date | null;
  call_id: string | null;
  source: StateSource;
  at: Date;
  /** A supervisor's forced change: who and why (migration 023). */
  forced_by?: string | null;
  forced_why?: string | null;
}

export interface AgentsTables { agents: AgentsTable; pause_reasons: PauseReasonsTable; agent_state_events: AgentStateEventsTable }
export type AgentRow = Selectable<AgentsTable>;
export type PauseReasonRow = Selectable<PauseReasonsTable>;
export type AgentStateEventRow = Selectable<AgentStateEventsTable>;

export function stateFromRow(row: AgentStateEventRow): AgentState {
  return {
    status: row.to_state,
    reason: row.to_reason,
    pendingPause: row.pending_pause,
    resume: row.resume_state ? { status: row.resume_state, reason: row.resume_reason } : null,
    extension: row.extension,
    wrapUpEndsAt: row.wrap_up_ends_at,
    callId: row.call_id,
  };
}

export class AgentsStore {
  /** cache: the reads calls depend on fall back to their last known value while the database is down. */
  constructor(private readonly db: Kysely<AgentsTables>, private readonly cache?: LastKnownGood) {}

  private read<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.cache ? this.cache.read(key, load) : load();
  }

  /** Every agent and pause reason, into the cache (at start). */
  async warm(remember: (key: string, value: unknown) => void): Promise<void> {
    for (const row of await this.listAgents(true)) {
      remember(`agent:${row.id}`, row);
      if (!row.active) continue;
      remember(`agent-number:${row.number}`, row);
      if (row.extension) remember(`agent-extension:${row.extension}`, row);
    }
    const reasons = await this.listPauseReasons();
    remember('pause-reasons', reasons);
    for (const row of reasons) remember(`pause-reason:${row.name}`, row);
  }

  listAgents(includeInactive: boolean): Promise<AgentRow[]> {
    let query = this.db.selectFrom('agents').selectAll();
    if (!includeInactive) query = query.where('active', '=', true);
    return query.orderBy('number').execute();
  }

  getAgent(id: string): Promise<AgentRow | undefined> {
    return this.read(`agent:${id}`, () => this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst());
  }

  findActiveByNumber(number: string): Promise<AgentRow | undefined> {
    return this.read(`agent-number:${number}`, () => this.db.selectFrom('agents').selectAll().where('number', '=', number).where('active', '=', true).executeTakeFirst());
  }

  findActiveByExtension(extension: string): Promise<AgentRow | undefined> {
    return this.read(`agent-extension:${extension}`, () => this.db.selectFrom('agents').selectAll().where('extension', '=', extension).where('active', '=', true).executeTakeFirst());
  }

  async insertAgent(row: Omit<AgentsTable, 'active' | 'created_at' | 'deactivated_at'>): Promise<AgentRow> {
    return this.db.insertInto('agents').values({ ...row, skills: JSON.stringify(row.skills) as unknown as Record<string, number> })
      .returningAll().executeTakeFirstOrThrow();
  }

  async updateAgent(id: string, change: Partial<Pick<AgentsTable, 'name' | 'number' | 'extension' | 'pin_hash' | 'team' | 'skills' | 'is_supervisor' | 'dialing_rights'>>): Promise<AgentRow | undefined> {
    const values = change.skills ? { ...change, skills: JSON.stringify(change.skills) as unknown as Record<string, number> } : change;
    return this.db.updateTable('agents').set(values).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async deactivate(id: string, at: Date): Promise<AgentRow | undefined> {
    return this.db.updateTable('agents').set({ active: false, deactivated_at: at }).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async deleteAgent(id: string): Promise<void> {
    await this.db.deleteFrom('agents').where('id', '=', id).execute();
  }

  async hasHistory(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('agent_state_events').select('id').where('agent_id', '=', id).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  listPauseReasons(): Promise<PauseReasonRow[]> {
    return this.read('pause-reasons', () => this.db.selectFrom('pause_reasons').selectAll().orderBy('system').orderBy('code').orderBy('name').execute());
  }

  getPauseReason(name: string): Promise<PauseReasonRow | undefined> {
    return this.read(`pause-reason:${name}`, () => this.db.selectFrom('pause_reasons').selectAll().where('name', '=', name).executeTakeFirst());
  }

  async upsertPauseReason(row: PauseReasonRow): Promise<PauseReasonRow> {
    return this.db.insertInto('pause_reasons').values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet({ code: row.code, label: row.label, productive: row.productive }))
      .returningAll().executeTakeFirstOrThrow();
  }

  /** The write of one state change, for the write queue. */
  insertStateEvent(row: Omit<AgentStateEventsTable, 'id'>): WriteOp {
    return { insert: 'agent_state_events', values: { ...row } };
  }

  /** Each agent's last row: the current state of everyone. */
  async latestStates(): Promise<AgentStateEventRow[]> {
    const result = await sql<AgentStateEventRow>`
      select distinct on (agent_id) * from agent_state_events order by agent_id, id desc`.execute(this.db);
    return result.rows;
  }

  /**
   * Deletes up to `limit` state changes from before `cutoff`, keeping each
   * agent's latest change before it (the agent's state at any moment after
   * the cutoff, which reports start every range from) and each agent's last
   * row (the current state); returns how many went.
   */
  async deleteStatesBefore(cutoff: Date, limit: number): Promise<number> {
    const result = await sql`delete from agent_state_events where id in (
      select e.id from agent_state_events e
      where e.at < ${cutoff}
        and exists (select 1 from agent_state_events l where l.agent_id = e.agent_id and l.at < ${cutoff} and (l.at, l.id) > (e.at, e.id))
        and e.id < (select max(m.id) from agent_state_events m where m.agent_id = e.agent_id)
      limit ${limit})`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }

  /** The newest `limit` changes in the range, oldest first. */
  async timeline(agentId: string, from: Date | undefined, to: Date | undefined, limit = 10_000): Promise<AgentStateEventRow[]> {
    let query = this.db.selectFrom('agent_state_events').selectAll().where('agent_id', '=', agentId);
    if (from) query = query.where('at', '>=', from);
    if (to) query = query.where('at', '<', to);
    return (await query.orderBy('id', 'desc').limit(limit).execute()).reverse();
  }
}
