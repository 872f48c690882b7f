import { randomUUID } from 'node:crypto';
import { HttpError, badRequest, conflict, notFound } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { isUuid } from '../core/schemas.js';
import type { WriteQueue } from '../core/write-queue.js';
import { describeState, loggedOut, transition, type AgentCommand, type AgentState, type AgentStatus } from './state-machine.js';
import { Phones, type PhoneCondition } from './phones.js';
import { invalidDialPattern, mayDial } from './dialing-rights.js';
import { hashPin } from './pin.js';
import { stateFromRow, type AgentRow, type AgentStateEventRow, type AgentsStore, type StateSource } from './store.js';
import {
  agentView, pauseReasonView, type AgentAccessRemoved, type AgentInput, type AgentStateView, type AgentView, type PauseReasonView, type TimelineEntry,
} from './views.js';

// What others import from the agents capability, where they always did.
export { hashPin, verifyPin } from './pin.js';
export { phoneCondition, type PhoneCondition } from './phones.js';
export type { AgentAccessRemoved, AgentInput, AgentStateChange, AgentStateView, AgentView, PauseReasonView, TimelineEntry } from './views.js';

export interface AgentsOptions {
  /** Wrap-up after a call the agent made or took outside the queues. */
  directCallWrapUpSeconds: number;
}

/**
 * Agents, their pause reasons and their state. The state of every agent is
 * held in memory and written, one row per change, to agent_state_events;
 * load() rebuilds memory from each agent's last row after a restart, and the
 * phones' current condition (AMI device states) then corrects what changed
 * while the service was down.
 */
export class AgentsService {
  private readonly states = new Map<string, AgentState>();
  private readonly since = new Map<string, Date>();
  private readonly wrapUpTimers = new Map<string, NodeJS.Timeout>();
  /** Agents a supervisor forced to a state since their last call: their phone says so at the next call. */
  private readonly forcedNotices = new Set<string>();
  private readonly phones = new Phones();

  constructor(
    private readonly store: AgentsStore,
    private readonly writes: WriteQueue,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly options: AgentsOptions,
  ) {}

  async load(): Promise<void> {
    this.stop();
    this.states.clear();
    this.since.clear();
    for (const row of await this.store.latestStates()) {
      const state = stateFromRow(row);
      this.states.set(row.agent_id, state);
      this.since.set(row.agent_id, row.at);
      this.scheduleWrapUp(row.agent_id, state);
    }
  }

  stop(): void {
    for (const timer of this.wrapUpTimers.values()) clearTimeout(timer);
    this.wrapUpTimers.clear();
    this.phones.stop();
  }

  /** Marks a phone as talking to centralita (feature codes), for the duration of `work`. */
  duringFeatureCall<T>(extension: string, work: () => Promise<T>): Promise<T> {
    return this.phones.duringFeatureCall(extension, work);
  }

  // ---- agents ----

  async listAgents(includeInactive: boolean): Promise<AgentView[]> {
    return (await this.store.listAgents(includeInactive)).map(agentView);
  }

  async getAgent(id: string): Promise<AgentView> {
    return agentView(await this.requireAgent(id));
  }

  async createAgent(input: AgentInput): Promise<AgentView> {
    await this.checkUnique(input.number, input.extension ?? null, null);
    const row = await this.store.insertAgent({
      id: randomUUID(), number: input.number, name: input.name, extension: input.extension ?? null,
      pin_hash: await hashPin(input.pin), team: input.team ?? null, skills: input.skills ?? {}, is_supervisor: input.isSupervisor ?? false,
      dialing_rights: checkedRights(input.dialingRights ?? []),
    });
    return agentView(row);
  }

  async updateAgent(id: string, input: Partial<AgentInput>): Promise<AgentView> {
    const agent = await this.requireAgent(id);
    if (!agent.active) throw conflict('the agent is deactivated');
    await this.checkUnique(input.number ?? agent.number, input.extension === undefined ? agent.extension : input.extension, id);
    const row = await this.store.updateAgent(id, {
      ...(input.number !== undefined ? { number: input.number } : {}),
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.extension !== undefined ? { extension: input.extension } : {}),
      ...(input.pin !== undefined ? { pin_hash: await hashPin(input.pin) } : {}),
      ...(input.team !== undefined ? { team: input.team } : {}),
      ...(input.skills !== undefined ? { skills: input.skills } : {}),
      ...(input.isSupervisor !== undefined ? { is_supervisor: input.isSupervisor } : {}),
      ...(input.dialingRights !== undefined ? { dialing_rights: checkedRights(input.dialingRights) } : {}),
    });
    if (agent.is_supervisor && row && !row.is_supervisor) this.accessRemoved(id, 'supervisor_removed');
    return agentView(row!);
  }

  /** Whether the agent's dialing rights reach this external number. */
  async mayDial(agentId: string, number: string): Promise<boolean> {
    const agent = await this.store.getAgent(agentId);
    return agent !== undefined && mayDial(agent.dialing_rights, number);
  }

  /** Deletes an agent without history; deactivates one with history. */
  async removeAgent(id: string): Promise<{ deleted: boolean; agent: AgentView }> {
    const agent = await this.requireAgent(id);
    if (!agent.active) return { deleted: false, agent: agentView(agent) };
    const state = this.states.get(id) ?? loggedOut;
    if (state.status !== 'logged_out') throw conflict(`the agent is checked in (${describeState(state)}); check them out first`);
    if (await this.store.hasHistory(id)) {
      const row = await this.store.deactivate(id, new Date());
      this.accessRemoved(id, 'deactivated');
      return { deleted: false, agent: agentView(row!) };
    }
    try {
      await this.store.deleteAgent(id);
    } catch (err) {
      // Records of other capabilities refer to the agent (a supervisor's
      // monitoring audit, queue offers): keep them, deactivate instead.
      if ((err as { code?: string }).code !== '23503') throw err;
      const row = await this.store.deactivate(id, new Date());
      this.accessRemoved(id, 'deactivated');
      return { deleted: false, agent: agentView(row!) };
    }
    this.accessRemoved(id, 'deleted');
    return { deleted: true, agent: agentView(agent) };
  }

  private accessRemoved(agentId: string, change: AgentAccessRemoved['change']): void {
    this.logger.info({ agentId, change }, 'agent access removed');
    this.bus.emit('agent.access.removed', { agentId, change });
  }

  /**
   * Whether an agent exists and is active (undefined when not), and is a
   * supervisor: what a token bound to them may still do, and whether a queue
   * may take them as a member.
   */
  async access(id: string): Promise<{ isSupervisor: boolean } | undefined> {
    if (!isUuid(id)) return undefined;
    const row = await this.store.getAgent(id);
    return row?.active ? { isSupervisor: row.is_supervisor } : undefined;
  }

  async findByNumber(number: string): Promise<AgentRow | undefined> {
    return this.store.findActiveByNumber(number);
  }

  async findBoundToExtension(extension: string): Promise<AgentRow | undefined> {
    return this.store.findActiveByExtension(extension);
  }

  /** The agent checked in on a phone, if any. */
  agentOnExtension(extension: string): string | undefined {
    for (const [agentId, state] of this.states) if (state.status !== 'logged_out' && state.extension === extension) return agentId;
    return undefined;
  }

  // ---- pause reasons ----

  async listPauseReasons(): Promise<PauseReasonView[]> {
    return (await this.store.listPauseReasons()).map(pauseReasonView);
  }

  async savePauseReason(input: { name: string; code: string; label: string; productive: boolean }): Promise<PauseReasonView> {
    const existing = await this.store.getPauseReason(input.name);
    if (existing?.system) throw conflict(`${input.name} is a system reason and cannot be changed`);
    const taken = (await this.store.listPauseReasons()).find((r) => r.code === input.code && r.name !== input.name);
    if (taken) throw conflict(`code ${input.code} is already used by ${taken.name}`);
    return pauseReasonView(await this.store.upsertPauseReason({ ...input, system: false }));
  }

  async pauseReasonByCode(code: string): Promise<PauseReasonView | undefined> {
    return (await this.store.listPauseReasons()).find((r) => r.code === code);
  }

  // ---- state ----

  stateOf(agentId: string): AgentStateView {
    return this.view(agentId, this.states.get(agentId) ?? loggedOut);
  }

  /**
   * What a queue's dispatch reads of each member, several times a pass:
   * without the view stateOf builds (its dates as text), which cost
   * centralita about 4 % of its CPU on queue calls with 400 agents.
   */
  presence(agentId: string): { status: AgentStatus; extension: string | null; since: Date | undefined; callId: string | null } {
    const state = this.states.get(agentId) ?? loggedOut;
    return { status: state.status, extension: state.extension, since: this.since.get(agentId), callId: state.callId };
  }

  /** What Asterisk last said of the phone on an extension (AMI device state). */
  phoneOn(extension: string): PhoneCondition | undefined {
    return this.phones.condition(extension);
  }

  /** Every agent's state now (those never checked in are absent). */
  allStates(): AgentStateView[] {
    return [...this.states.entries()].map(([agentId, state]) => this.view(agentId, state));
  }

  async state(agentId: string): Promise<AgentStateView> {
    await this.requireAgent(agentId);
    return this.stateOf(agentId);
  }

  async timeline(agentId: string, from?: Date, to?: Date): Promise<TimelineEntry[]> {
    await this.requireAgent(agentId);
    return (await this.store.timeline(agentId, from, to)).map((row: AgentStateEventRow) => ({
      from: describeState({ status: row.from_state, reason: row.from_reason }),
      to: describeState({ status: row.to_state, reason: row.to_reason }),
      status: row.to_state, reason: row.to_reason, pendingPause: row.pending_pause,
      extension: row.extension, callId: row.call_id, source: row.source, at: row.at.toISOString(),
      ...(row.forced_by ? { forcedBy: row.forced_by, forcedWhy: row.forced_why ?? '' } : {}),
    }));
  }

  /**
   * Checks an agent in on a phone: their own unless another is given. An
   * agent acting for themselves may not take another agent's own phone.
   */
  async login(agentId: string, extension: string | undefined, source: StateSource, byTheAgent = false): Promise<AgentStateView> {
    const agent = await this.requireAgent(agentId);
    if (!agent.active) throw conflict('the agent is deactivated');
    const phone = extension ?? agent.extension;
    if (!phone) throw badRequest('body/extension is required: the agent has no desk phone of their own');
    // Every PJSIP endpoint has a device state once AMI has listed them.
    if (this.phones.listed && this.phones.condition(phone) === undefined) throw badRequest(`body/extension: Asterisk has no phone ${phone}`);
    if (byTheAgent && phone !== agent.extension) {
      const owner = await this.store.findActiveByExtension(phone);
      if (owner && owner.id !== agentId) throw new HttpError(403, 'forbidden', `${phone} is the desk phone of another agent`);
    }
    const other = this.agentOnExtension(phone);
    if (other && other !== agentId) throw conflict(`another agent is checked in on ${phone}`);
    const view = await this.apply(agentId, { type: 'login', extension: phone }, source);
    // Checked in on a phone that is not there: no call can reach it. AMI may
    // have said so already while the row was being written.
    if (this.phones.condition(phone) !== 'unreachable') return view;
    // a conflict (AMI changed the state meanwhile): the state as it is now is the answer
    return this.apply(agentId, { type: 'unreachable' }, 'system').catch(() => this.stateOf(agentId));
  }

  async pause(agentId: string, reasonName: string, source: StateSource): Promise<AgentStateView> {
    await this.requireAgent(agentId);
    const reason = await this.store.getPauseReason(reasonName);
    if (!reason) throw badRequest(`body/reason: no pause reason named ${reasonName}`);
    if (reason.system) throw new HttpError(409, 'conflict', `${reasonName} is set by the system, not asked for`);
    return this.apply(agentId, { type: 'pause', reason: reasonName }, source);
  }

  /**
   * A supervisor (or admin) sets an agent's state: paused with a reason,
   * available, or checked out. Audited on the state's row (who, why); the
   * agent's desk page gets the change with both, and their phone says so at
   * their next call (takeForcedNotice).
   */
  async force(agentId: string, to: 'available' | 'paused' | 'logged_out', reasonName: string | undefined, forced: { by: string; why: string }): Promise<AgentStateView> {
    await this.requireAgent(agentId);
    let reason: string | undefined;
    if (to === 'paused') {
      if (!reasonName) throw badRequest('body/reason: a pause needs a reason');
      const row = await this.store.getPauseReason(reasonName);
      if (!row) throw badRequest(`body/reason: no pause reason named ${reasonName}`);
      if (row.system) throw badRequest(`body/reason: ${reasonName} is set by the system, not asked for`);
      reason = row.name;
    } else if (reasonName !== undefined) throw badRequest('body/reason: only a pause takes a reason');
    const view = await this.apply(agentId, { type: 'force', to, ...(reason ? { reason } : {}) }, 'supervisor', forced);
    this.forcedNotices.add(agentId);
    this.logger.info({ agentId, to, reason, by: forced.by, why: forced.why }, 'agent state forced by a supervisor');
    return view;
  }

  /** Whether the agent's state was forced since their last call (once: the notice is then taken). */
  takeForcedNotice(agentId: string): boolean {
    return this.forcedNotices.delete(agentId);
  }

  async command(agentId: string, command: AgentCommand, source: StateSource): Promise<AgentStateView> {
    // A checked-in agent exists: removeAgent refuses one until they check
    // out. The row is read only for a checked-out one (404 for an unknown
    // id); the queues' offers, answers and call ends read it no more (three
    // selects per queue call, bench/README.md "Issue 20 after").
    if ((this.states.get(agentId) ?? loggedOut).status === 'logged_out') await this.requireAgent(agentId);
    return this.apply(agentId, command, source);
  }

  /**
   * What the phone on an extension is doing now (AMI device state). Drives
   * reachability (unreachable ↔ back) and calls outside the queues.
   */
  async phoneChanged(extension: string, condition: PhoneCondition): Promise<void> {
    if (this.phones.note(extension, condition) === condition) return;
    this.logger.debug({ extension, condition }, 'phone changed');
    const agentId = this.agentOnExtension(extension);
    if (!agentId) return;
    const state = this.states.get(agentId)!;
    const isUnreachable = state.status === 'paused' && state.reason === 'unreachable';
    let command: AgentCommand | undefined;
    if (condition === 'unreachable' && !isUnreachable) command = { type: 'unreachable' };
    else if (condition !== 'unreachable' && isUnreachable) command = { type: 'reachable' };
    else if (condition === 'in_use' && state.status === 'available') return this.checkDirectCall(extension);
    else if (condition === 'idle' && state.status === 'on_call' && state.callId === null) {
      const seconds = this.options.directCallWrapUpSeconds;
      command = { type: 'callEnded', wrapUpEndsAt: seconds > 0 ? new Date(Date.now() + seconds * 1000) : null };
    }
    if (!command) return;
    await this.apply(agentId, command, 'system').catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message, agentId, extension, condition }, 'phone change not applied');
    });
  }

  /**
   * A phone in use while its agent is available is a call outside the queues,
   * unless it is a call to centralita's own feature codes (Phones.whenDirectCall).
   */
  private checkDirectCall(extension: string): void {
    this.phones.whenDirectCall(extension, () => {
      const agentId = this.agentOnExtension(extension);
      if (!agentId || this.states.get(agentId)?.status !== 'available') return;
      this.apply(agentId, { type: 'answer', callId: null }, 'system').catch((err: unknown) => {
        this.logger.warn({ err: (err as Error).message, agentId, extension }, 'direct call not applied');
      });
    });
  }

  private async apply(agentId: string, command: AgentCommand, source: StateSource, forced?: { by: string; why: string }): Promise<AgentStateView> {
    const current = this.states.get(agentId) ?? loggedOut;
    const result = transition(current, command);
    if (!result.ok) throw conflict(result.message);
    const next = result.next;
    const at = new Date();
    this.states.set(agentId, next);
    this.since.set(agentId, at);
    this.scheduleWrapUp(agentId, next);
    // Available while the phone is already busy (a call made during wrap-up
    // or a pause): that is a call outside the queues.
    if (next.status === 'available' && next.extension && this.phones.condition(next.extension) === 'in_use') this.checkDirectCall(next.extension);
    const view = this.view(agentId, next);
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ agentId, from: current.status, command: command.type, to: next.status, callId: next.callId, source }, 'agent state');
    this.bus.emit('agent.state', { ...view, from: { status: current.status, reason: current.reason }, source, ...(forced ? { forced } : {}) });
    const written = this.writes.enqueue(`agent ${agentId} ${describeState(next)}`, this.store.insertStateEvent({
      agent_id: agentId, from_state: current.status, from_reason: current.reason,
      to_state: next.status, to_reason: next.reason, pending_pause: next.pendingPause,
      resume_state: next.resume?.status ?? null, resume_reason: next.resume?.reason ?? null,
      extension: next.extension, wrap_up_ends_at: next.wrapUpEndsAt, call_id: next.callId, source, at,
      ...(forced ? { forced_by: forced.by, forced_why: forced.why } : {}),
    }));
    // A person (API, phone) is answered once the row is stored; during a
    // database outage the row waits in the write queue and they are not kept
    // waiting for it, not even the first 2 s once the outage is known. The
    // system's own changes (offers, answers, call ends) never wait: under
    // load the write queue is behind, and each queue offer waited for it.
    if (source !== 'system' && !this.writes.holding) await Promise.race([written, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    return view;
  }

  private scheduleWrapUp(agentId: string, state: AgentState): void {
    clearTimeout(this.wrapUpTimers.get(agentId));
    this.wrapUpTimers.delete(agentId);
    if (state.status !== 'wrap_up' || !state.wrapUpEndsAt) return;
    const delay = Math.max(0, state.wrapUpEndsAt.getTime() - Date.now());
    this.wrapUpTimers.set(agentId, setTimeout(() => {
      this.wrapUpTimers.delete(agentId);
      this.apply(agentId, { type: 'wrapUpDone' }, 'system').catch((err: unknown) => {
        this.logger.warn({ err: (err as Error).message, agentId }, 'end of wrap-up not applied');
      });
    }, delay));
  }

  private view(agentId: string, state: AgentState): AgentStateView {
    return {
      agentId, status: state.status, reason: state.reason, pendingPause: state.pendingPause, extension: state.extension,
      wrapUpEndsAt: state.wrapUpEndsAt ? state.wrapUpEndsAt.toISOString() : null, callId: state.callId,
      since: this.since.get(agentId)?.toISOString() ?? null,
    };
  }

  private async requireAgent(id: string): Promise<AgentRow> {
    const agent = await this.store.getAgent(id);
    if (!agent) throw notFound('agent');
    return agent;
  }

  private async checkUnique(number: string, extension: string | null, selfId: string | null): Promise<void> {
    const byNumber = await this.store.findActiveByNumber(number);
    if (byNumber && byNumber.id !== selfId) throw conflict(`agent number ${number} is taken by ${byNumber.name}`);
    if (extension) {
      const byExtension = await this.store.findActiveByExtension(extension);
      if (byExtension && byExtension.id !== selfId) throw conflict(`extension ${extension} is the desk phone of ${byExtension.name}`);
    }
  }
}

/** Dialing rights as stored: each pattern checked in full (the schema checks only its characters). */
function checkedRights(patterns: string[]): string[] {
  const bad = invalidDialPattern(patterns);
  if (bad !== undefined) throw badRequest(`body/dialingRights: ${bad} is not a dialplan pattern (a . or ! only at the end, [ ] holding digits or ranges)`);
  return patterns;
}
