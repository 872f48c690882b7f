import { randomUUID } from 'node:crypto';
import type { AgentsService } from '../agents/service.js';
import type { Media } from '../asterisk/media.js';
import { badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isUuid } from '../core/schemas.js';
import type { IvrCall, QueueRequest } from '../ivr/engine.js';
import type { QueueEngine, WaitingView } from './engine.js';
import type { QueuesServicePorts } from './ports.js';
import { screenPopProblem } from './screen-pop.js';
import { defaultThresholds, type Announcements, type Disposition, type Overflow, type QueueRow, type QueuesStore, type Thresholds, type TransferTarget } from './store.js';
import type { SurveyOffer } from './survey-offer.js';
import type { Strategy } from './strategy.js';

export interface QueueInput {
  name: string; strategy: Strategy; requiredSkills?: Record<string, number>; language?: string | null;
  ringTimeoutSeconds?: number; wrapUpSeconds?: number; maxWaitSeconds?: number; overflow?: Overflow;
  callbackMaxAttempts?: number; callbackRetryMinutes?: number;
  serviceLevelSeconds?: number; announcements?: Announcements; musicOnHold?: string;
  /** Calls answered in this queue are recorded always (a sample of them below 100 %), never, or when someone asks. */
  recordingPolicy?: 'always' | 'never' | 'on_demand'; recordingSamplePercent?: number; recordingRetentionDays?: number;
  /** A key a waiting caller presses to leave a callback request, or to go to the overflow. */
  callbackKey?: string | null; overflowKey?: string | null;
  /** The short number agents key (## number #) to transfer a caller here. */
  extension?: string | null;
  /** The wallboard's amber and red limits. */
  thresholds?: Thresholds;
  /** Wrap-up codes; with dispositionRequired the wrap-up lasts until one is set, up to dispositionMaxSeconds. */
  dispositions?: Disposition[]; dispositionRequired?: boolean; dispositionMaxSeconds?: number;
  /** Offers an agent may miss in a row before being paused (rona); 1 pauses at the first. */
  ronaAfterMisses?: number;
  /** The CRM screen pop the agent's desk page opens for the queue's calls (screen-pop.ts). */
  screenPopUrl?: string | null;
  /** The post-call survey its callers are offered (surveys/offer.ts). */
  survey?: SurveyOffer | null;
}

export interface QueueView extends Required<Omit<QueueInput, 'language' | 'callbackKey' | 'overflowKey' | 'extension' | 'screenPopUrl' | 'survey'>> {
  id: string; language: string | null; callbackKey: string | null; overflowKey: string | null; extension: string | null; screenPopUrl: string | null;
  survey: SurveyOffer | null;
  members: { agentId: string; penalty: number }[];
}

export interface CallbackView {
  id: string; callId: string | null; callerNumber: string; requestedAt: string; status: string; attempts: number; nextAttemptAt: string | null;
  lastAttemptAt: string | null; lastOutcome: string | null; lastCallId: string | null; agentId: string | null; scheduledBy: string | null;
}

export interface QueueLive { queueId: string; waiting: WaitingView[]; agents: { agentId: string; status: string; reason: string | null; since: string | null }[] }

const view = (row: QueueRow, members: { agent_id: string; penalty: number }[]): QueueView => ({
  id: row.id, name: row.name, strategy: row.strategy, requiredSkills: row.required_skills, language: row.language,
  ringTimeoutSeconds: row.ring_timeout_seconds, wrapUpSeconds: row.wrap_up_seconds, maxWaitSeconds: row.max_wait_seconds,
  overflow: row.overflow, serviceLevelSeconds: row.service_level_seconds, announcements: row.announcements,
  musicOnHold: row.music_on_hold, recordingPolicy: row.recording_policy,
  recordingSamplePercent: row.recording_sample_percent, recordingRetentionDays: row.recording_retention_days, callbackKey: row.callback_key, overflowKey: row.overflow_key,
  callbackMaxAttempts: row.callback_max_attempts, callbackRetryMinutes: row.callback_retry_minutes,
  extension: row.extension, thresholds: row.thresholds, dispositions: row.dispositions, dispositionRequired: row.disposition_required,
  dispositionMaxSeconds: row.disposition_max_seconds, ronaAfterMisses: row.rona_after_misses, screenPopUrl: row.screen_pop_url, survey: row.survey, members: members.map((m) => ({ agentId: m.agent_id, penalty: m.penalty })),
});

function checkScreenPop(template: string | null): string | null {
  const problem = template === null ? undefined : screenPopProblem(template);
  if (problem) throw badRequest(`body/screenPopUrl ${problem}`);
  return template;
}

/** The limits must go the way their figure worsens: a service level's red below its amber, the others above. */
function checkThresholds(thresholds: Thresholds): Thresholds {
  if (thresholds.serviceLevel.red > thresholds.serviceLevel.amber) throw badRequest('body/thresholds/serviceLevel: red must not be above amber (a lower service level is worse)');
  for (const key of ['longestWait', 'waiting'] as const) {
    if (thresholds[key].red < thresholds[key].amber) throw badRequest(`body/thresholds/${key}: red must not be below amber`);
  }
  return thresholds;
}

/** Queues (rules and members) and the way IVR calls enter them. */
export class QueuesService {
  /** Callback requests being stored now, by queue and call (requestCallback). */
  private readonly callbacksAsked = new Set<string>();

  constructor(
    private readonly store: QueuesStore,
    private readonly engine: QueueEngine,
    private readonly agents: AgentsService,
    private readonly media: Media,
    private readonly logger: Logger,
    private readonly ports: QueuesServicePorts,
  ) {}

  async list(): Promise<QueueView[]> {
    return Promise.all((await this.store.list()).map(async (q) => view(q, await this.store.members(q.id))));
  }

  async get(id: string): Promise<QueueView> {
    const row = await this.store.get(id);
    if (!row) throw notFound('queue');
    return view(row, await this.store.members(id));
  }

  async create(input: QueueInput): Promise<QueueView> {
    if (await this.store.findByName(input.name)) throw conflict(`a queue named ${input.name} exists`);
    await this.checkExtension(input.extension, null);
    checkKeys(input.callbackKey ?? null, input.overflowKey ?? null);
    const overflow = await this.checkOverflow(input.overflow, null);
    const row = await this.store.insert({
      id: randomUUID(), name: input.name, strategy: input.strategy, required_skills: input.requiredSkills ?? {}, language: input.language ?? null,
      ring_timeout_seconds: input.ringTimeoutSeconds ?? 15, wrap_up_seconds: input.wrapUpSeconds ?? 10, max_wait_seconds: input.maxWaitSeconds ?? 600,
      overflow: overflow ?? { action: 'hangup' }, service_level_seconds: input.serviceLevelSeconds ?? 20,
      announcements: input.announcements ?? { everySeconds: 0 }, music_on_hold: input.musicOnHold ?? 'default', recording_policy: input.recordingPolicy ?? 'never',
      recording_sample_percent: input.recordingSamplePercent ?? 100, recording_retention_days: input.recordingRetentionDays ?? 365,
      callback_key: input.callbackKey ?? null, overflow_key: input.overflowKey ?? null, extension: input.extension ?? null,
      callback_max_attempts: input.callbackMaxAttempts ?? 3, callback_retry_minutes: input.callbackRetryMinutes ?? 10,
      thresholds: checkThresholds(input.thresholds ?? defaultThresholds),
      dispositions: checkDispositions(input.dispositions ?? [], input.dispositionRequired ?? false),
      disposition_required: input.dispositionRequired ?? false, disposition_max_seconds: input.dispositionMaxSeconds ?? 120,
      screen_pop_url: checkScreenPop(input.screenPopUrl ?? null),
      survey: await this.checkSurvey(input.survey ?? null),
      rona_after_misses: input.ronaAfterMisses ?? 1,
    });
    return view(row, []);
  }

  async update(id: string, input: Partial<QueueInput>): Promise<QueueView> {
    const current = await this.get(id);
    checkKeys(input.callbackKey === undefined ? current.callbackKey : input.callbackKey, input.overflowKey === undefined ? current.overflowKey : input.overflowKey);
    const overflow = await this.checkOverflow(input.overflow, current);
    await this.checkExtension(input.extension, id);
    await this.store.update(id, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.strategy !== undefined ? { strategy: input.strategy } : {}),
      ...(input.requiredSkills !== undefined ? { required_skills: input.requiredSkills } : {}),
      ...(input.language !== undefined ? { language: input.language } : {}),
      ...(input.ringTimeoutSeconds !== undefined ? { ring_timeout_seconds: input.ringTimeoutSeconds } : {}),
      ...(input.wrapUpSeconds !== undefined ? { wrap_up_seconds: input.wrapUpSeconds } : {}),
      ...(input.callbackMaxAttempts !== undefined ? { callback_max_attempts: input.callbackMaxAttempts } : {}),
      ...(input.callbackRetryMinutes !== undefined ? { callback_retry_minutes: input.callbackRetryMinutes } : {}),
      ...(input.maxWaitSeconds !== undefined ? { max_wait_seconds: input.maxWaitSeconds } : {}),
      ...(overflow !== undefined ? { overflow } : {}),
      ...(input.serviceLevelSeconds !== undefined ? { service_level_seconds: input.serviceLevelSeconds } : {}),
      ...(input.announcements !== undefined ? { announcements: input.announcements } : {}),
      ...(input.musicOnHold !== undefined ? { music_on_hold: input.musicOnHold } : {}),
      ...(input.recordingPolicy !== undefined ? { recording_policy: input.recordingPolicy } : {}),
      ...(input.recordingSamplePercent !== undefined ? { recording_sample_percent: input.recordingSamplePercent } : {}),
      ...(input.recordingRetentionDays !== undefined ? { recording_retention_days: input.recordingRetentionDays } : {}),
      ...(input.callbackKey !== undefined ? { callback_key: input.callbackKey } : {}),
      ...(input.overflowKey !== undefined ? { overflow_key: input.overflowKey } : {}),
      ...(input.extension !== undefined ? { extension: input.extension } : {}),
      ...(input.thresholds !== undefined ? { thresholds: checkThresholds(input.thresholds) } : {}),
      ...(input.dispositions !== undefined || input.dispositionRequired !== undefined ? {
        dispositions: checkDispositions(input.dispositions ?? current.dispositions, input.dispositionRequired ?? current.dispositionRequired),
      } : {}),
      ...(input.dispositionRequired !== undefined ? { disposition_required: input.dispositionRequired } : {}),
      ...(input.dispositionMaxSeconds !== undefined ? { disposition_max_seconds: input.dispositionMaxSeconds } : {}),
      ...(input.screenPopUrl !== undefined ? { screen_pop_url: checkScreenPop(input.screenPopUrl) } : {}),
      ...(input.survey !== undefined ? { survey: await this.checkSurvey(input.survey) } : {}),
      ...(input.ronaAfterMisses !== undefined ? { rona_after_misses: input.ronaAfterMisses } : {}),
    });
    return this.get(id);
  }

  /** A survey offer names a survey that exists (400 naming the field otherwise). */
  private async checkSurvey(offer: SurveyOffer | null): Promise<SurveyOffer | null> {
    if (offer && !(await this.ports.surveyExists(offer.surveyId))) throw badRequest(`body/survey/surveyId: no survey ${offer.surveyId}`);
    return offer;
  }

  async remove(id: string): Promise<void> {
    await this.get(id);
    if (await this.store.hasEntries(id)) throw conflict('the queue has call history; it cannot be deleted');
    await this.store.remove(id);
  }

  async setMembers(id: string, members: { agentId: string; penalty?: number }[]): Promise<QueueView> {
    await this.get(id);
    const seen = new Set<string>();
    for (const m of members) {
      if (seen.has(m.agentId)) throw badRequest(`body/members: agent ${m.agentId} is listed twice`);
      seen.add(m.agentId);
      if (!(await this.agents.access(m.agentId))) throw badRequest(`body/members: no active agent ${m.agentId}`);
    }
    await this.store.setMembers(id, members.map((m) => ({ agentId: m.agentId, penalty: m.penalty ?? 0 })));
    void this.engine.dispatch();
    return this.get(id);
  }

  async live(id: string): Promise<QueueLive> {
    const queue = await this.get(id);
    return {
      queueId: id,
      waiting: this.engine.waiting(id),
      agents: queue.members.map((m) => {
        const s = this.agents.stateOf(m.agentId);
        return { agentId: m.agentId, status: s.status, reason: s.reason, since: s.since };
      }),
    };
  }

  /** A queue by its id or its name (the IVR's queue node, overflows and transfers take either). */
  async findQueue(idOrName: string): Promise<QueueRow | undefined> {
    return (isUuid(idOrName) ? await this.store.get(idOrName) : undefined) ?? this.store.findByName(idOrName);
  }

  async queueExists(idOrName: string): Promise<boolean> {
    return (await this.findQueue(idOrName)) !== undefined;
  }

  /** The IVR's queue node: the call waits in the queue it names (by id or name). */
  async enterFromIvr(call: IvrCall, request: QueueRequest): Promise<void | 'released'> {
    const queue = await this.findQueue(request.queue);
    if (!queue) {
      this.logger.error({ queue: request.queue, callId: call.callId }, 'an IVR flow sends calls to a queue that does not exist');
      await this.media.playToEnd(call.channelId, ['sound:tt-allbusy'], request.language);
      return;
    }
    return this.engine.enqueue(call, queue, request);
  }

  async messages(id: string): Promise<{ id: string; callId: string; callerNumber: string; recordingName: string; durationSeconds: number | null; createdAt: string }[]> {
    await this.get(id);
    return (await this.store.messages(id)).map((m) => ({
      id: m.id, callId: m.call_id, callerNumber: m.caller_number, recordingName: m.recording_name, durationSeconds: m.duration_seconds, createdAt: m.created_at.toISOString(),
    }));
  }

  async callbacks(id: string): Promise<CallbackView[]> {
    await this.get(id);
    return (await this.store.callbacks(id)).map((c) => ({
      id: c.id, callId: c.call_id, callerNumber: c.caller_number, requestedAt: c.requested_at.toISOString(), status: c.status,
      attempts: c.attempts, nextAttemptAt: c.next_attempt_at?.toISOString() ?? null, lastAttemptAt: c.last_attempt_at?.toISOString() ?? null,
      lastOutcome: c.last_outcome, lastCallId: c.last_call_id, agentId: c.agent_id, scheduledBy: c.scheduled_by,
    }));
  }

  /** A supervisor cancels a callback not yet made (409 once it is being dialled or over). */
  async cancelCallback(queueId: string, callbackId: string): Promise<CallbackView> {
    const current = (await this.callbacks(queueId)).find((c) => c.id === callbackId);
    if (!current) throw notFound('callback');
    if (current.status !== 'pending') throw conflict(`the callback is ${current.status}; only a pending one can be cancelled`);
    await this.store.apply(this.store.callbackChanged(callbackId, { status: 'cancelled', next_attempt_at: null }));
    return { ...current, status: 'cancelled', nextAttemptAt: null };
  }

  /**
   * An agent (or a supervisor) schedules a callback for a number at a time:
   * for one agent only (`agentId`) or anyone in the queue. Dialled like a
   * caller's request (src/outbound/callbacks.ts).
   */
  async scheduleCallback(queueId: string, input: { number: string; at?: string; agentId?: string }, by: { role: string; agentId: string | null }): Promise<CallbackView> {
    const queue = await this.get(queueId);
    if (by.role === 'agent' && input.agentId !== undefined && input.agentId !== by.agentId) throw forbidden('an agent may schedule a callback for themselves or for anyone in the queue, not for another agent');
    if (input.agentId !== undefined && !queue.members.some((m) => m.agentId === input.agentId)) throw badRequest('body/agentId: not a member of the queue');
    // An agent schedules only numbers they may dial themselves.
    if (by.role === 'agent' && by.agentId && !(await this.agents.mayDial(by.agentId, input.number))) throw forbidden(`body/number: ${input.number} is outside the agent's dialing rights`);
    const id = randomUUID();
    const now = new Date();
    const at = input.at ? new Date(input.at) : now;
    await this.store.apply(this.store.insertCallback({
      id, queue_id: queueId, call_id: null, caller_number: input.number, requested_at: now, agent_id: input.agentId ?? null, scheduled_by: by.agentId, next_attempt_at: at,
    }));
    return (await this.callbacks(queueId)).find((c) => c.id === id)!;
  }

  /** A queue call connected now, which this principal may act on: its agent; 404 no such call, 409 not connected now, 403 another agent's. */
  private async ownConnectedCall(callId: string, principal: { role: string; agentId: string | null }, what: string): Promise<{ agentId: string }> {
    const connected = this.engine.connectedParties({ callId });
    if (!connected) {
      if (await this.ports.callExists(callId)) throw conflict('the call is not connected to an agent of a queue now');
      throw notFound('call');
    }
    if (principal.role === 'agent' && principal.agentId !== connected.agentId) throw forbidden(`an agent may ${what} only their own call`);
    return { agentId: connected.agentId };
  }

  /** Puts the caller of a connected queue call on hold, or takes them back (the desk page's button; the phone has its HOLD key). */
  async holdCall(callId: string, hold: boolean, principal: { role: string; agentId: string | null }): Promise<void> {
    await this.ownConnectedCall(callId, principal, hold ? 'hold' : 'unhold');
    await this.engine.setHold(callId, hold);
  }

  /** A supervisor asks for a callback to a caller of this queue (an abandoned call on the wallboard): stored as a waiting caller's would be. */
  async requestCallback(queueId: string, callId: string): Promise<{ id: string; callId: string; callerNumber: string; status: string }> {
    await this.get(queueId);
    const caller = await this.ports.callerOf(callId);
    if (caller === undefined) throw badRequest(`body/callId: no call ${callId}`);
    if (!caller) throw conflict('the call has no caller number to call back');
    // One request at a time per call: a double click gets 409, not a second callback.
    const key = `${queueId}:${callId}`;
    if (this.callbacksAsked.has(key)) throw conflict('a callback for this call is pending already');
    this.callbacksAsked.add(key);
    try {
      if ((await this.store.callbacks(queueId)).some((c) => c.call_id === callId && c.status === 'pending')) throw conflict('a callback for this call is pending already');
      const id = randomUUID();
      await this.store.apply(this.store.insertCallback({ id, queue_id: queueId, call_id: callId, caller_number: caller, requested_at: new Date() }));
      return { id, callId, callerNumber: caller, status: 'pending' };
    } finally {
      this.callbacksAsked.delete(key);
    }
  }

  /** An agent's latest answered queue calls (the desk page's list), with caller, queue, code and hold. */
  async recentCalls(agentId: string, limit: number, callerOf: (callIds: string[]) => Promise<Map<string, string>>): Promise<{
    callId: string; callerNumber: string | null; queue: string | null; answeredAt: string | null; endedAt: string | null; outcome: string | null;
    holdSeconds: number; disposition: string | null; dispositionLabel: string | null; note: string | null;
  }[]> {
    const rows = await this.store.answeredBy(agentId, limit);
    const callers = await callerOf([...new Set(rows.map((r) => r.call_id))]);
    const queues = new Map((await this.store.list()).map((q) => [q.id, q]));
    return rows.map((r) => {
      const queue = queues.get(r.queue_id);
      return {
        callId: r.call_id, callerNumber: callers.get(r.call_id) ?? null, queue: queue?.name ?? null,
        answeredAt: r.answered_at?.toISOString() ?? null, endedAt: r.left_at?.toISOString() ?? null, outcome: r.outcome,
        holdSeconds: Math.round(Number(r.hold_seconds) * 10) / 10, disposition: r.disposition,
        dispositionLabel: queue?.dispositions.find((d) => d.code === r.disposition)?.label ?? null, note: r.disposition_note,
      };
    });
  }

  /** Sets the wrap-up code of a call, during it or in its agent's wrap-up (dispositions.ts). */
  async setDisposition(callId: string, code: string, note: string | undefined, principal: { role: string; agentId: string | null }): Promise<{ entryId: string; code: string }> {
    if (!(await this.ports.callExists(callId))) throw notFound('call');
    return this.engine.setDisposition(callId, code, note, { role: principal.role, agentId: principal.agentId, source: 'api' });
  }

  /** The desk page's hang-up: ends the agent's queue call (agents only their own). */
  async hangUpCall(callId: string, principal: { role: string; agentId: string | null }): Promise<void> {
    await this.ownConnectedCall(callId, principal, 'hang up');
    await this.engine.hangUp(callId);
  }

  /** Consult (attended) transfer: the agent calls a colleague's phone while the caller waits on hold (consult.ts). */
  async consultCall(callId: string, to: { extension: string } | { queueId: string }, principal: { role: string; agentId: string | null }): Promise<void> {
    await this.ownConnectedCall(callId, principal, 'consult on');
    if ('queueId' in to) {
      const queue = await this.findQueue(to.queueId);
      if (!queue) throw badRequest(`body/queueId: no queue with the id or name ${to.queueId}`);
      return this.engine.consult(callId, { queue });
    }
    // A queue's extension consults the queue, as the phone's ## keys transfer to it.
    const resolved = await this.engine.resolveNumber(to.extension);
    if (!resolved) throw badRequest(`body/extension: no phone or queue ${to.extension}`);
    await this.engine.consult(callId, resolved.queue ? { queue: resolved.queue } : { extension: to.extension });
  }

  /** The consult's next step: complete (the caller goes to the colleague), cancel, or conference. */
  async consultStep(callId: string, step: 'complete' | 'cancel' | 'conference', principal: { role: string; agentId: string | null }): Promise<void> {
    await this.ownConnectedCall(callId, principal, step === 'conference' ? 'conference' : 'transfer');
    await this.engine.consultStep(callId, step);
  }

  /** An agent's blind transfer from the API (the phone's is ## number #). */
  async transferCall(callId: string, to: { queueId: string } | { extension: string } | { number: string }, principal: { role: string; agentId: string | null }): Promise<void> {
    const { agentId } = await this.ownConnectedCall(callId, principal, 'transfer');
    if ('number' in to) {
      // As keyed on the phone: a queue's extension, a phone, or an external number within the call's agent's dialing rights.
      const resolved = await this.engine.resolveNumber(to.number, agentId);
      if (!resolved) throw forbidden(`body/number: ${to.number} is no queue or phone, and outside the agent's dialing rights`);
      return this.engine.transfer(callId, resolved.target, 'api');
    }
    let target: TransferTarget = to;
    if ('queueId' in to) {
      const queue = await this.findQueue(to.queueId);
      if (!queue) throw badRequest(`body/queueId: no queue with the id or name ${to.queueId}`);
      target = { queueId: queue.id };
    }
    if ('extension' in to && !(await this.engine.phoneExists(to.extension))) throw badRequest(`body/extension: no phone ${to.extension}`);
    await this.engine.transfer(callId, target, 'api');
  }

  private async checkExtension(extension: string | null | undefined, selfId: string | null): Promise<void> {
    if (!extension) return;
    const holder = await this.store.findByExtension(extension);
    if (holder && holder.id !== selfId) throw conflict(`queue ${holder.name} already has extension ${extension}`);
  }

  /** The overflow as stored: a queue named by id or name is kept by its id (a rename does not break it). */
  private async checkOverflow<T extends Overflow | undefined>(overflow: T, self: { id: string; name: string } | null): Promise<T> {
    if (overflow?.action === 'queue') {
      if (self && (overflow.queueId === self.id || overflow.queueId === self.name)) throw badRequest('body/overflow/queueId: a queue cannot overflow into itself');
      const target = await this.findQueue(overflow.queueId);
      if (!target) throw badRequest(`body/overflow/queueId: no queue with the id or name ${overflow.queueId}`);
      if (target.id === self?.id) throw badRequest('body/overflow/queueId: a queue cannot overflow into itself');
      return { ...overflow, queueId: target.id };
    }
    if (overflow?.action === 'flow' && !(await this.ports.flowExists(overflow.flowId))) throw badRequest(`body/overflow/flowId: no IVR flow ${overflow.flowId}`);
    return overflow;
  }
}

/** Codes are unique in a queue, and a queue that requires one has some. */
function checkDispositions(dispositions: Disposition[], required: boolean): Disposition[] {
  const seen = new Set<string>();
  dispositions.forEach((d, i) => {
    if (seen.has(d.code)) throw badRequest(`body/dispositions/${i}/code: ${d.code} is listed twice`);
    if (d.code === 'none') throw badRequest(`body/dispositions/${i}/code: none is kept for a wrap-up that ended without a code`);
    seen.add(d.code);
  });
  if (required && dispositions.length === 0) throw badRequest('body/dispositionRequired: the queue has no wrap-up codes (dispositions) to require');
  return dispositions;
}

function checkKeys(callbackKey: string | null, overflowKey: string | null): void {
  if (callbackKey && callbackKey === overflowKey) throw badRequest('body/overflowKey must differ from body/callbackKey');
}
