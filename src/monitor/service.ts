import { randomUUID } from 'node:crypto';
import type { AgentsService, AgentView } from '../agents/service.js';
import type { Ari } from '../asterisk/ari.js';
import type { AriHelpers } from '../asterisk/ari-helpers.js';
import type { DirectCalls } from '../asterisk/direct-calls.js';
import type { Media } from '../asterisk/media.js';
import type { CallParties, ChannelRegistry } from '../asterisk/registry.js';
import type { AsteriskSite } from '../asterisk/site.js';
import type { StasisRouter } from '../asterisk/stasis-router.js';
import type { Principal } from '../auth/service.js';
import type { CallsService } from '../calls/service.js';
import { conflict, forbidden, HttpError, notFound } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { isUuid } from '../core/schemas.js';
import type { WriteQueue } from '../core/write-queue.js';
import { Connector, legArg, monitorPrompts, snoopArg } from './connector.js';
import { reconcileSessions, type AriView, type RestartDeps } from './restart.js';
import { rowView, Sessions, viewOf, type MonitorSessionView, type Session } from './sessions.js';
import type { EndReason, MonitorMode, MonitorStore, SessionFilter } from './store.js';
import { beside } from '../asterisk/media-servers.js';

export { monitorPrompts } from './connector.js';
export type { MonitorSessionView, SegmentView } from './sessions.js';

export interface MonitorRequest {
  supervisorId: string;
  target: { agentId: string } | { callId: string };
  mode: MonitorMode;
  follow?: boolean;
}

export interface MonitorOptions {
  sameTeamOnly: boolean;
  followAgent: boolean;
  /** How long the supervisor's phone rings before the session is given up. */
  ringSeconds?: number;
  /** How desk phones are dialled (CENTRALITA_PHONE_ENDPOINT). */
  site?: AsteriskSite;
}

export interface MonitorDeps {
  ari: Ari;
  helpers: AriHelpers;
  router: StasisRouter;
  /** Who is on each call: queue calls as the queues link them, direct calls as `direct` finds them. */
  registry: ChannelRegistry;
  direct: DirectCalls;
  media: Media;
  agents: AgentsService;
  calls: Pick<CallsService, 'liveCall' | 'get'>;
  store: MonitorStore;
  writes: WriteQueue;
  bus: EventBus;
  logger: Logger;
  /** The queues hand a call to the supervisor's leg and drop the agent's (take over). */
  takeOver?: (callId: string, supervisorChannelId: string, supervisorId: string) => Promise<void>;
  /** Whether the queues would hand that call over now (checked before the session lets the supervisor's leg go). */
  canTakeOver?: (callId: string) => boolean;
}

/** A followed agent's outgoing direct call is looked for every second for up to a minute of ringing. */
const followTries = 60;
const followEveryMs = 1000;
const dialReasons: Record<string, EndReason> = { BUSY: 'busy', NOANSWER: 'no_answer', CHANUNAVAIL: 'unreachable', CONGESTION: 'unreachable' };

/** What a refusal says: the API answers with it, the phone speaks `prompt`. */
export class MonitorRefusal extends HttpError {
  constructor(status: number, message: string, readonly prompt: string) {
    super(status, status === 403 ? 'forbidden' : status === 404 ? 'not_found' : 'conflict', message);
  }
}

/**
 * Supervisor monitoring with ARI, verified at the phones: listen, whisper
 * and barge on any call an agent is on, a queue call or a direct one (the
 * call registry says who is on it; connector.ts says how each mode is made).
 * Sessions start from the API (the supervisor's desk phone is rung) or from
 * the supervisor's phone (*22/*23/*24); sessions and each mode's stretch are
 * written as they happen (the audit, sessions.ts); a restart adopts them
 * (restart.ts).
 */
export class MonitorService {
  private readonly sessions: Sessions;
  private readonly connector: Connector;
  private readonly restart: RestartDeps;

  constructor(private readonly d: MonitorDeps, private readonly options: MonitorOptions) {
    const { ari, router, registry, bus } = d;
    this.sessions = new Sessions(d.store, d.writes, bus, d.logger);
    this.connector = new Connector({ ...d, sessions: this.sessions }, options.ringSeconds ?? 30, options.site);
    this.restart = {
      app: ari.app, helpers: d.helpers, direct: d.direct, sessions: this.sessions, connector: this.connector, store: d.store, writes: d.writes, logger: d.logger,
      extensionOf: async (agentId) => {
        const agent = await d.agents.getAgent(agentId).catch((err: unknown) => {
          if (err instanceof HttpError && err.statusCode === 404) return undefined; // deleted meanwhile: no desk phone to look at
          throw err;
        });
        return agent?.extension ?? null;
      },
    };
    const { sessions, connector } = this;
    // The supervisor's leg and the snoops: ring() and connect() wait for their StasisStart (intoStasis).
    router.claim(legArg, { role: 'supervisor' });
    router.claim(snoopArg, { role: 'snoop' });
    ari.on('ChannelStateChange', (event) => {
      const session = sessions.ofChannel(event.channel.id);
      if (session?.status === 'ringing' && event.channel.state === 'Up') void sessions.run(session, () => connector.answered(session));
    });
    ari.on('Dial', (event) => {
      const session = sessions.ofChannel(event.peer.id);
      if (session && event.dialstatus) session.dialStatus = event.dialstatus;
    });
    const gone = (channelId: string): void => {
      const session = sessions.ofChannel(channelId);
      if (!session) return;
      const reason = session.status === 'ringing' ? dialReasons[session.dialStatus ?? ''] ?? 'no_answer' : 'supervisor_hangup';
      void sessions.run(session, () => connector.finish(session, reason, null));
    };
    ari.on('StasisEnd', (event) => gone(event.channel.id));
    ari.on('ChannelDestroyed', (event) => gone(event.channel.id));
    ari.on('ChannelDtmfReceived', (event) => {
      const session = sessions.ofChannel(event.channel.id);
      const mode = ({ 4: 'listen', 5: 'whisper', 6: 'barge' } as Record<string, MonitorMode>)[event.digit];
      if (session?.status === 'active' && mode) void sessions.run(session, () => connector.switchTo(session, mode, 'phone'));
    });
    registry.onCallEnded((call) => {
      for (const session of sessions.all()) {
        if (session.call?.callId === call.callId && session.call.entryId === call.entryId) void sessions.run(session, () => connector.callLeft(session));
      }
    });
    registry.onCallLinked((call) => {
      for (const session of sessions.all()) {
        if (session.agentId === call.agentId && session.follow && !session.call && session.status !== 'ended') {
          void sessions.run(session, () => connector.nextCall(session, call));
        }
      }
    });
    // A followed agent on a direct call: the call is found on their phone (and linked, which the handler above follows).
    bus.on('agent.state', (state) => {
      if (state.status === 'on_call' && state.callId === null) void this.followDirectCall(state.agentId, state.extension);
    });
    // Offboarding: a supervisor deleted, deactivated or no longer a
    // supervisor stops listening at once, a following session included.
    bus.on('agent.access.removed', ({ agentId, change }) => {
      for (const session of sessions.all()) {
        if (session.supervisorId !== agentId) continue;
        d.logger.warn({ sessionId: session.id, supervisorId: agentId, change }, 'monitoring session ended: its supervisor lost access');
        void sessions.run(session, () => connector.finish(session, 'offboarded', null));
      }
    });
    // Reconciled after each (re)connection by the calls' reconciliation
    // (app.ts), once the queues have adopted their calls: see reconcile().
  }

  /**
   * A followed agent on a call outside the queues: its channel is looked for
   * until it is answered (an outgoing call is still ringing when the agent
   * turns on_call), for as long as a session waits for it.
   */
  private async followDirectCall(agentId: string, extension: string | null): Promise<void> {
    const waiting = (): boolean => this.sessions.all().some((s) => s.agentId === agentId && s.follow && !s.call && s.status !== 'ended');
    for (let attempt = 0; attempt < followTries && waiting(); attempt += 1) {
      const state = this.d.agents.stateOf(agentId);
      if (state.status !== 'on_call' || state.callId !== null) return;
      const found = await this.d.direct.find(agentId, extension).catch((err: unknown) => {
        this.d.logger.warn({ err, agentId }, 'could not find the followed agent\'s direct call');
        return undefined;
      });
      if (found) return; // linked: the registry's listener joins it
      // unref: a wait for a call must not keep a stopping process alive
      await new Promise((resolve) => setTimeout(resolve, followEveryMs).unref());
    }
  }

  // ---- starting ----

  /** POST /monitor: checks, then rings the supervisor's desk phone; the session starts when they answer. */
  async start(request: MonitorRequest, principal: Principal): Promise<MonitorSessionView> {
    const supervisor = await this.supervisorFor(request.supervisorId, principal);
    const agent = 'agentId' in request.target ? await this.d.agents.getAgent(request.target.agentId) : undefined;
    if (agent) this.checkAllowed(supervisor, agent);
    const call = await this.targetCall(request.target, agent);
    const agentView = agent ?? (await this.d.agents.getAgent(call.agentId));
    if (!agent) this.checkAllowed(supervisor, agentView);
    await this.checkPeer(supervisor, call);
    if (!supervisor.extension) throw conflict(`supervisor ${supervisor.id} has no desk phone (extension) to ring`);
    this.checkFree(supervisor);
    // Not found (404) or not answered: either way the phone cannot be rung, which the check below says.
    // Asked of the call's media server: the one that will ring the supervisor.
    const resource = supervisor.extension;
    const endpoint = await beside(this.d.ari, call.agentChannelId, () => this.d.ari.request('endpoints.get', { tech: 'PJSIP', resource })).catch(() => undefined);
    if (endpoint?.state !== 'online') throw conflict(`the supervisor's phone ${supervisor.extension} is unreachable`);

    const session = this.sessions.create({
      supervisorId: supervisor.id, agentId: agentView.id, extension: supervisor.extension, source: 'api',
      follow: request.follow ?? this.options.followAgent, mode: request.mode, channelId: randomUUID(),
    }, { call });
    try {
      await this.connector.ring(session);
    } catch (err) {
      session.status = 'ended';
      this.sessions.forget(session);
      session.open();
      await this.d.helpers.hangup(session.channelId);
      if (err instanceof HttpError) throw err;
      this.d.logger.error({ err, sessionId: session.id }, 'could not ring the supervisor');
      throw conflict(`the supervisor's phone ${supervisor.extension} could not be rung`);
    }
    this.sessions.insert(session, principal.role === 'admin' ? 'admin' : 'supervisor', principal.tokenId);
    session.open();
    this.sessions.announce(session, 'ringing');
    return viewOf(session);
  }

  /**
   * *22/*23/*24 + agent number from the supervisor's own phone (already
   * answered): resolves when the session ends. Refusals are thrown as
   * MonitorRefusal for the caller to speak.
   */
  async startFromPhone(channelId: string, supervisor: AgentView, agentNumber: string, mode: MonitorMode, extension: string): Promise<void> {
    if (!supervisor.isSupervisor) throw new MonitorRefusal(403, 'not a supervisor', monitorPrompts.notSupervisor);
    const row = agentNumber ? await this.d.agents.findByNumber(agentNumber) : undefined;
    if (!row) throw new MonitorRefusal(404, `no agent number ${agentNumber}`, monitorPrompts.unknownAgent);
    const agent = await this.d.agents.getAgent(row.id);
    this.checkAllowed(supervisor, agent);
    this.checkFree(supervisor);
    const call = await this.callOfAgent(agent);
    if (!call) throw new MonitorRefusal(409, `agent ${agent.id} is not on a call`, monitorPrompts.notOnCall);
    await this.checkPeer(supervisor, call);
    const session = this.sessions.create({
      supervisorId: supervisor.id, agentId: agent.id, extension, source: 'phone', follow: this.options.followAgent, mode, channelId,
    }, { call });
    session.status = 'active';
    session.answeredAt = session.createdAt;
    this.sessions.insert(session, 'phone', null);
    session.open();
    void this.sessions.run(session, async () => {
      this.sessions.announce(session, 'started');
      await this.connector.connect(session, mode, 'start');
    });
    await session.ended;
  }

  private async supervisorFor(supervisorId: string, principal: Principal): Promise<AgentView> {
    if (principal.role === 'supervisor' && principal.agentId && principal.agentId !== supervisorId) {
      throw forbidden('this supervisor token acts only for its own supervisor');
    }
    const supervisor = await this.d.agents.getAgent(supervisorId);
    if (!supervisor.active) throw conflict(`supervisor ${supervisorId} is deactivated`);
    if (!supervisor.isSupervisor) throw forbidden(`agent ${supervisorId} is not a supervisor`);
    return supervisor;
  }

  /** The agent's call now: a queue call, or a direct call on their desk phone. */
  private callOfAgent(agent: AgentView): Promise<CallParties | undefined> {
    const state = this.d.agents.stateOf(agent.id);
    return this.d.direct.find(agent.id, state.extension ?? agent.extension);
  }

  private async targetCall(target: MonitorRequest['target'], agent: AgentView | undefined): Promise<CallParties> {
    if (agent) {
      const call = await this.callOfAgent(agent);
      if (call) return call;
      throw conflict(`agent ${agent.id} is not on a call`);
    }
    const { callId } = target as { callId: string };
    const call = this.d.registry.callOf({ callId });
    if (call) return call;
    if (!this.d.calls.liveCall(callId)) await this.d.calls.get(callId); // 404 for an unknown call
    throw conflict(`call ${callId} is not connected to an agent`);
  }

  private checkAllowed(supervisor: AgentView, agent: AgentView): void {
    if (supervisor.id === agent.id) throw new MonitorRefusal(409, 'a supervisor cannot monitor their own call', monitorPrompts.notAllowed);
    if (this.options.sameTeamOnly && supervisor.team !== agent.team) {
      throw new MonitorRefusal(403, `supervisor ${supervisor.id} may monitor only agents of team ${supervisor.team ?? '(none)'}`, monitorPrompts.notAllowed);
    }
  }

  /** A direct call's other party: not the supervisor themselves, nor another team's agent where supervisors keep to their team. */
  private async checkPeer(supervisor: AgentView, call: CallParties): Promise<void> {
    if (!call.peerExtension) return;
    if (call.peerExtension === supervisor.extension) throw new MonitorRefusal(409, 'a supervisor cannot monitor their own call', monitorPrompts.notAllowed);
    if (!this.options.sameTeamOnly) return;
    const peer = await this.d.agents.findBoundToExtension(call.peerExtension);
    if (peer && peer.team !== supervisor.team) {
      throw new MonitorRefusal(403, `the other party of the call is an agent of team ${peer.team ?? '(none)'}`, monitorPrompts.notAllowed);
    }
  }

  private checkFree(supervisor: AgentView): void {
    for (const session of this.sessions.all()) {
      if (session.supervisorId === supervisor.id) throw new MonitorRefusal(409, `supervisor ${supervisor.id} is already in monitoring session ${session.id}`, monitorPrompts.busy);
    }
  }

  // ---- switching and ending ----

  /** PATCH /monitor/:id */
  async changeMode(id: string, mode: MonitorMode, principal: Principal): Promise<MonitorSessionView> {
    const session = await this.liveSession(id, principal);
    await this.sessions.run(session, () => this.connector.switchTo(session, mode, 'api'));
    return viewOf(session);
  }

  /** DELETE /monitor/:id */
  async end(id: string, principal: Principal): Promise<MonitorSessionView> {
    const session = await this.liveSession(id, principal);
    await this.sessions.run(session, () => this.connector.finish(session, 'ended_by_api', principal.tokenId));
    return viewOf(session);
  }

  /**
   * POST /monitor/:id/take-over: a supervisor barging into a queue call takes
   * it over: the agent's leg drops (the agent goes to wrap-up), the supervisor
   * stays with the caller, the session ends as `taken_over` (audited).
   */
  async takeOver(id: string, principal: Principal): Promise<MonitorSessionView> {
    const session = await this.liveSession(id, principal);
    const takeOver = this.d.takeOver;
    // Run in the session's order; its refusal (a 409) is the request's answer, not a logged failure.
    let refusal: unknown;
    await this.sessions.run(session, async () => {
      const call = session.call;
      if (!takeOver || session.status !== 'active' || session.mode !== 'barge' || session.where !== 'call' || !call || call.kind !== 'queue') {
        refusal = conflict('only a supervisor barging into a queue call can take it over');
        return;
      }
      if (this.d.canTakeOver && !this.d.canTakeOver(call.callId)) {
        refusal = conflict('the call cannot be taken over now (it ended, or its agent is consulting a colleague)');
        return;
      }
      await this.connector.release(session, principal.tokenId);
      await takeOver(call.callId, session.channelId, session.supervisorId).catch((err: unknown) => { refusal = err; });
    });
    if (refusal) throw refusal;
    return viewOf(session);
  }

  private async liveSession(id: string, principal: Principal): Promise<Session> {
    const session = this.sessions.get(id);
    if (!session) {
      if (isUuid(id) && (await this.d.store.getSession(id))) throw conflict(`monitoring session ${id} has ended`);
      throw notFound('monitoring session');
    }
    if (principal.role === 'supervisor' && principal.agentId && principal.agentId !== session.supervisorId) {
      throw forbidden('this supervisor token acts only on its own supervisor\'s sessions');
    }
    return session;
  }

  // ---- reading ----

  /** GET /monitor/:id: a live session from memory, an ended one from the audit. */
  async get(id: string): Promise<MonitorSessionView> {
    const live = this.sessions.get(id);
    if (live) return viewOf(live);
    const row = isUuid(id) ? await this.d.store.getSession(id) : undefined;
    if (!row) throw notFound('monitoring session');
    return rowView(row, await this.d.store.segmentsOf([id]));
  }

  /** GET /monitor: the audit, newest first. */
  async list(filter: SessionFilter): Promise<MonitorSessionView[]> {
    const rows = await this.d.store.listSessions(filter);
    const segments = await this.d.store.segmentsOf(rows.map((r) => r.id));
    return rows.map((row) => rowView(row, segments.filter((s) => s.session_id === row.id)));
  }

  live(): MonitorSessionView[] {
    return this.sessions.all().map(viewOf);
  }

  /** After each ARI (re)connection: see restart.ts. */
  reconcile(view: AriView): Promise<ReadonlySet<string>> {
    return reconcileSessions(this.restart, view);
  }
}
