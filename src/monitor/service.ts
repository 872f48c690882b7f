import { randomUUID } from 'node:crypto';
import type { AgentsService, AgentView } from '../agents/service.js';
import { AriError, type AriClient } from '../asterisk/ari.js';
import { isGone, type AriHelpers } from '../asterisk/ari-helpers.js';
import type { StasisRouter } from '../asterisk/stasis-router.js';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import type { Media } from '../asterisk/media.js';
import { defaultSite, type AsteriskSite } from '../asterisk/site.js';
import type { Principal } from '../auth/service.js';
import type { CallsService } from '../calls/service.js';
import { conflict, forbidden, HttpError, notFound } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { isUuid } from '../core/schemas.js';
import { sleep } from '../core/sleep.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { ConnectedParties, QueueEngine } from '../queues/engine.js';
import type { EndReason, MonitorMode, MonitorStore, SegmentRow, SegmentSource, SessionFilter, SessionRow, SessionStatus } from './store.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A monitoring session changed: supervisors and admins only (the agent must not know). */
    'monitor.session': MonitorSessionView & { event: 'ringing' | 'started' | 'mode' | 'call' | 'ended' };
  }
}

export interface SegmentView { mode: MonitorMode; callId: string; source: SegmentSource; startedAt: string; endedAt: string | null }
export interface MonitorSessionView {
  id: string; supervisorId: string; agentId: string; callId: string; currentCallId: string | null; extension: string;
  source: 'api' | 'phone'; follow: boolean; status: SessionStatus; mode: MonitorMode;
  createdAt: string; answeredAt: string | null; endedAt: string | null; endReason: EndReason | null;
  segments: SegmentView[];
}

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

interface Segment { id: string; mode: MonitorMode; callId: string; source: SegmentSource; startedAt: Date; endedAt: Date | null }

interface Session {
  id: string;
  supervisorId: string;
  agentId: string;
  firstCallId: string;
  extension: string;
  source: 'api' | 'phone';
  follow: boolean;
  mode: MonitorMode;
  status: SessionStatus;
  createdAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  endReason: EndReason | null;
  /** The supervisor's channel: a leg we rang (API) or the phone's own call (feature code). */
  channelId: string;
  /** The call being monitored now; undefined between calls (following) or after it ended. */
  call: ConnectedParties | undefined;
  /** Which bridge the supervisor's channel is in. */
  where: 'none' | 'monitor' | 'call';
  monitorBridgeId: string | undefined;
  snoopId: string | undefined;
  snoops: number;
  segments: Segment[];
  dialStatus: string | undefined;
  /** Operations on a session run one after another (keys, API calls, call events); the first waits for the session's row. */
  ops: Promise<void>;
  open: () => void;
  ended: Promise<void>;
  resolveEnded: () => void;
}

const legArg = 'monitor-leg';
const farewellMs = 4000;
const snoopArg = 'monitor-snoop';
const dialReasons: Record<string, EndReason> = { BUSY: 'busy', NOANSWER: 'no_answer', CHANUNAVAIL: 'unreachable', CONGESTION: 'unreachable' };

/** What a refusal says: the API answers with it, the phone speaks `prompt`. */
export class MonitorRefusal extends HttpError {
  constructor(status: number, message: string, readonly prompt: string) {
    super(status, status === 403 ? 'forbidden' : status === 404 ? 'not_found' : 'conflict', message);
  }
}

/** Spoken on the supervisor's phone; `centralita/…` are the project's own prompts (sounds/). */
export const monitorPrompts = {
  notSupervisor: 'sound:centralita/monitor-not-supervisor',
  askAgent: 'sound:centralita/monitor-agent-number',
  unknownAgent: 'sound:centralita/monitor-unknown-agent',
  notOnCall: 'sound:centralita/monitor-agent-not-on-call',
  notAllowed: 'sound:centralita/monitor-not-allowed',
  busy: 'sound:centralita/monitor-already',
  callEnded: 'sound:centralita/monitor-call-ended',
} as const;

/**
 * Supervisor monitoring of queue calls with ARI, verified at the phones:
 * - listen: a snoop on the agent's channel (spy both, whisper none) in a
 *   bridge of its own with the supervisor: nobody hears the supervisor;
 * - whisper: the same snoop with whisper out: only the agent hears them;
 * - barge: the supervisor joins the call's own mixing bridge.
 * A snoop's mode cannot change, so a switch replaces it. Sessions and each
 * mode's stretch are written as they happen (the audit).
 */
export class MonitorService {
  private readonly sessions = new Map<string, Session>();
  private readonly byChannel = new Map<string, string>();
  private readonly ringSeconds: number;

  constructor(
    private readonly ari: AriClient,
    private readonly helpers: AriHelpers,
    router: StasisRouter,
    private readonly media: Media,
    private readonly agents: AgentsService,
    private readonly engine: QueueEngine,
    private readonly calls: CallsService,
    private readonly store: MonitorStore,
    private readonly writes: WriteQueue,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly options: MonitorOptions,
  ) {
    this.ringSeconds = options.ringSeconds ?? 30;
    // The supervisor's leg and the snoops: ring() and connect() wait for their StasisStart (intoStasis).
    router.claim(legArg, { role: 'supervisor' });
    router.claim(snoopArg, { role: 'snoop' });
    ari.on('ChannelStateChange', (event) => {
      const session = this.sessionOfChannel(event.channel.id);
      if (session?.status === 'ringing' && event.channel.state === 'Up') this.run(session, () => this.answered(session));
    });
    ari.on('Dial', (event) => {
      const session = this.sessionOfChannel(event.peer.id);
      if (session && event.dialstatus) session.dialStatus = event.dialstatus;
    });
    const gone = (channelId: string): void => {
      const session = this.sessionOfChannel(channelId);
      if (!session) return;
      const reason = session.status === 'ringing' ? dialReasons[session.dialStatus ?? ''] ?? 'no_answer' : 'supervisor_hangup';
      this.run(session, () => this.finish(session, reason, null));
    };
    ari.on('StasisEnd', (event) => gone(event.channel.id));
    ari.on('ChannelDestroyed', (event) => gone(event.channel.id));
    ari.on('ChannelDtmfReceived', (event) => {
      const session = this.sessionOfChannel(event.channel.id);
      const mode = ({ 4: 'listen', 5: 'whisper', 6: 'barge' } as Record<string, MonitorMode>)[event.digit];
      if (session?.status === 'active' && mode) this.run(session, () => this.switchTo(session, mode, 'phone'));
    });
    bus.on('queue.entry', (entry) => {
      if (entry.event !== 'left') return;
      for (const session of this.sessions.values()) {
        if (session.call?.entryId === entry.entryId) this.run(session, () => this.callLeft(session));
      }
    });
    bus.on('queue.connected', (parties) => {
      for (const session of this.sessions.values()) {
        if (session.agentId === parties.agentId && session.follow && !session.call && session.status !== 'ended') {
          this.run(session, () => this.nextCall(session, parties));
        }
      }
    });
    // Offboarding: a supervisor deleted, deactivated or no longer a
    // supervisor stops listening at once, a following session included.
    bus.on('agent.access.removed', ({ agentId, change }) => {
      for (const session of this.sessions.values()) {
        if (session.supervisorId !== agentId) continue;
        this.logger.warn({ sessionId: session.id, supervisorId: agentId, change }, 'monitoring session ended: its supervisor lost access');
        this.run(session, () => this.finish(session, 'offboarded', null));
      }
    });
    // Reconciled after each (re)connection by the calls' reconciliation
    // (app.ts), once the queues have adopted their calls: see reconcile().
  }

  // ---- starting ----

  /** POST /monitor: checks, then rings the supervisor's desk phone; the session starts when they answer. */
  async start(request: MonitorRequest, principal: Principal): Promise<MonitorSessionView> {
    const supervisor = await this.supervisorFor(request.supervisorId, principal);
    const agent = 'agentId' in request.target ? await this.agents.getAgent(request.target.agentId) : undefined;
    if (agent) this.checkAllowed(supervisor, agent);
    const call = await this.targetCall(request.target);
    const agentView = agent ?? (await this.agents.getAgent(call.agentId));
    if (!agent) this.checkAllowed(supervisor, agentView);
    if (!supervisor.extension) throw conflict(`supervisor ${supervisor.id} has no desk phone (extension) to ring`);
    this.checkFree(supervisor);
    // Not found (404) or not answered: either way the phone cannot be rung, which the check below says.
    const endpoint = await this.ari.request('endpoints.get', { tech: 'PJSIP', resource: supervisor.extension }).catch(() => undefined);
    if (endpoint?.state !== 'online') throw conflict(`the supervisor's phone ${supervisor.extension} is unreachable`);

    const session = this.newSession({
      supervisorId: supervisor.id, agentId: agentView.id, extension: supervisor.extension, source: 'api',
      follow: request.follow ?? this.options.followAgent, mode: request.mode, channelId: randomUUID(),
    }, { call });
    try {
      await this.ring(session);
    } catch (err) {
      session.status = 'ended';
      this.forget(session);
      session.open();
      await this.hangup(session.channelId);
      if (err instanceof HttpError) throw err;
      this.logger.error({ err, sessionId: session.id }, 'could not ring the supervisor');
      throw conflict(`the supervisor's phone ${supervisor.extension} could not be rung`);
    }
    this.insert(session, principal.role === 'admin' ? 'admin' : 'supervisor', principal.tokenId);
    session.open();
    this.announce(session, 'ringing');
    return this.view(session);
  }

  /**
   * *22/*23/*24 + agent number from the supervisor's own phone (already
   * answered): resolves when the session ends. Refusals are thrown as
   * MonitorRefusal for the caller to speak.
   */
  async startFromPhone(channelId: string, supervisor: AgentView, agentNumber: string, mode: MonitorMode, extension: string): Promise<void> {
    if (!supervisor.isSupervisor) throw new MonitorRefusal(403, 'not a supervisor', monitorPrompts.notSupervisor);
    const row = agentNumber ? await this.agents.findByNumber(agentNumber) : undefined;
    if (!row) throw new MonitorRefusal(404, `no agent number ${agentNumber}`, monitorPrompts.unknownAgent);
    const agent = await this.agents.getAgent(row.id);
    this.checkAllowed(supervisor, agent);
    this.checkFree(supervisor);
    const call = this.engine.connectedParties({ agentId: agent.id });
    if (!call) throw new MonitorRefusal(409, `agent ${agent.id} is not on a call`, monitorPrompts.notOnCall);
    const session = this.newSession({
      supervisorId: supervisor.id, agentId: agent.id, extension, source: 'phone', follow: this.options.followAgent, mode, channelId,
    }, { call });
    session.status = 'active';
    session.answeredAt = session.createdAt;
    this.insert(session, 'phone', null);
    session.open();
    this.run(session, async () => {
      this.announce(session, 'started');
      await this.connect(session, mode, 'start');
    });
    await session.ended;
  }

  private async supervisorFor(supervisorId: string, principal: Principal): Promise<AgentView> {
    if (principal.role === 'supervisor' && principal.agentId && principal.agentId !== supervisorId) {
      throw forbidden('this supervisor token acts only for its own supervisor');
    }
    const supervisor = await this.agents.getAgent(supervisorId);
    if (!supervisor.active) throw conflict(`supervisor ${supervisorId} is deactivated`);
    if (!supervisor.isSupervisor) throw forbidden(`agent ${supervisorId} is not a supervisor`);
    return supervisor;
  }

  private async targetCall(target: MonitorRequest['target']): Promise<ConnectedParties> {
    const call = this.engine.connectedParties(target);
    if (call) return call;
    if ('agentId' in target) throw conflict(`agent ${target.agentId} is not on a call`);
    if (!this.calls.liveCall(target.callId)) await this.calls.get(target.callId); // 404 for an unknown call
    throw conflict(`call ${target.callId} is not connected to an agent`);
  }

  private checkAllowed(supervisor: AgentView, agent: AgentView): void {
    if (supervisor.id === agent.id) throw new MonitorRefusal(409, 'a supervisor cannot monitor their own call', monitorPrompts.notAllowed);
    if (this.options.sameTeamOnly && supervisor.team !== agent.team) {
      throw new MonitorRefusal(403, `supervisor ${supervisor.id} may monitor only agents of team ${supervisor.team ?? '(none)'}`, monitorPrompts.notAllowed);
    }
  }

  private checkFree(supervisor: AgentView): void {
    for (const session of this.sessions.values()) {
      if (session.supervisorId === supervisor.id) throw new MonitorRefusal(409, `supervisor ${supervisor.id} is already in monitoring session ${session.id}`, monitorPrompts.busy);
    }
  }

  private newSession(
    init: Pick<Session, 'supervisorId' | 'agentId' | 'extension' | 'source' | 'follow' | 'mode' | 'channelId'>,
    start: Pick<Session, 'call'> & Partial<Pick<Session, 'id' | 'firstCallId' | 'createdAt'>>,
  ): Session {
    let resolveEnded!: () => void;
    const ended = new Promise<void>((resolve) => { resolveEnded = resolve; });
    let open!: () => void;
    const ops = new Promise<void>((resolve) => { open = resolve; });
    const session: Session = {
      ...init, call: start.call, id: start.id ?? randomUUID(), firstCallId: start.firstCallId ?? start.call!.callId,
      status: 'ringing', createdAt: start.createdAt ?? new Date(), answeredAt: null, endedAt: null, endReason: null,
      where: 'none', monitorBridgeId: undefined, snoopId: undefined, snoops: 0, segments: [], dialStatus: undefined,
      ops, open, ended, resolveEnded,
    };
    this.sessions.set(session.id, session);
    this.byChannel.set(session.channelId, session.id);
    return session;
  }

  /** Creates the supervisor's leg and dials it; throws when the phone cannot be rung. */
  private async ring(session: Session): Promise<void> {
    await this.helpers.intoStasis(session.channelId, () => this.ari.request('channels.create', {
      endpoint: (this.options.site ?? defaultSite).phone(session.extension), app: this.ari.app, appArgs: legArg, channelId: session.channelId,
    }));
    // The call's parties ride on the supervisor's phone display.
    await this.ari.request('channels.dial', { channelId: session.channelId, timeout: this.ringSeconds });
    // A phone that cannot be reached fails within moments; one that rings is left to ring.
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      await sleep(100);
      if (session.status !== 'ringing') break;
      const channel = await this.ari.request('channels.get', { channelId: session.channelId }).catch((err: unknown) => (isGone(err) ? null : undefined));
      if (channel === null) throw conflict(`the supervisor's phone ${session.extension} is unreachable (${session.dialStatus ?? 'no answer'})`);
      if (channel?.state === 'Ringing' || channel?.state === 'Up') break;
    }
  }

  private async answered(session: Session): Promise<void> {
    if (session.status !== 'ringing') return;
    session.status = 'active';
    session.answeredAt = new Date();
    const answeredAt = session.answeredAt;
    this.write(session, 'answered', this.store.updateSession(session.id, { status: 'active', answered_at: answeredAt }));
    this.announce(session, 'started');
    // The call may have ended (or the agent moved on) while the phone rang.
    session.call = session.call ? this.engine.connectedParties({ callId: session.call.callId }) : undefined;
    if (session.call?.agentId !== session.agentId) session.call = undefined;
    if (!session.call) {
      if (session.follow) return;
      return this.finish(session, 'call_ended', null, monitorPrompts.callEnded);
    }
    await this.connect(session, session.mode, 'start');
  }

  // ---- switching ----

  /** PATCH /monitor/:id */
  async changeMode(id: string, mode: MonitorMode, principal: Principal): Promise<MonitorSessionView> {
    const session = await this.liveSession(id, principal);
    await this.run(session, () => this.switchTo(session, mode, 'api'));
    return this.view(session);
  }

  /** DELETE /monitor/:id */
  async end(id: string, principal: Principal): Promise<MonitorSessionView> {
    const session = await this.liveSession(id, principal);
    await this.run(session, () => this.finish(session, 'ended_by_api', principal.tokenId));
    return this.view(session);
  }

  private async liveSession(id: string, principal: Principal): Promise<Session> {
    const session = this.sessions.get(id);
    if (!session) {
      if (isUuid(id) && (await this.store.getSession(id))) throw conflict(`monitoring session ${id} has ended`);
      throw notFound('monitoring session');
    }
    if (principal.role === 'supervisor' && principal.agentId && principal.agentId !== session.supervisorId) {
      throw forbidden('this supervisor token acts only on its own supervisor\'s sessions');
    }
    return session;
  }

  private async switchTo(session: Session, mode: MonitorMode, source: SegmentSource): Promise<void> {
    if (session.status === 'ended' || mode === session.mode) return;
    this.logger.info({ sessionId: session.id, from: session.mode, to: mode, source }, 'monitoring mode switched');
    if (session.status === 'ringing' || !session.call) {
      session.mode = mode; // applied when the supervisor answers, or at the agent's next call
      return;
    }
    await this.connect(session, mode, source);
    this.announce(session, 'mode');
  }

  /** Puts the supervisor on the session's call in `mode`, from wherever they are. */
  private async connect(session: Session, mode: MonitorMode, source: SegmentSource): Promise<void> {
    const call = session.call;
    if (!call || session.status !== 'active') return;
    try {
      if (mode === 'barge') {
        await this.dropSnoop(session);
        if (session.where === 'monitor') await this.leave(session.monitorBridgeId!, session.channelId);
        if (session.where !== 'call') {
          await this.ari.request('bridges.addChannel', { bridgeId: call.bridgeId, channel: session.channelId, absorbDTMF: true });
        }
        session.where = 'call';
      } else {
        const bridgeId = await this.monitorBridge(session);
        if (session.where === 'call') await this.leave(call.bridgeId, session.channelId);
        if (session.where !== 'monitor') {
          await this.ari.request('bridges.addChannel', { bridgeId, channel: session.channelId, absorbDTMF: true });
        }
        session.where = 'monitor';
        await this.dropSnoop(session);
        const snoopId = `${session.id}-snoop-${++session.snoops}`;
        await this.helpers.intoStasis(snoopId, () => this.ari.request('channels.snoopChannel', {
          channelId: call.agentChannelId, spy: 'both', whisper: mode === 'whisper' ? 'out' : 'none', app: this.ari.app, appArgs: snoopArg, snoopId,
        }));
        session.snoopId = snoopId;
        await this.ari.request('bridges.addChannel', { bridgeId, channel: snoopId });
      }
    } catch (err) {
      if (isGone(err) && !this.engine.connectedParties({ callId: call.callId })) return this.callLeft(session);
      this.logger.error({ err, sessionId: session.id, mode }, 'could not connect the supervisor');
      return this.finish(session, 'failed', null);
    }
    session.mode = mode;
    this.startSegment(session, mode, call.callId, source);
  }

  private async monitorBridge(session: Session): Promise<string> {
    if (!session.monitorBridgeId) {
      // dtmf_events: the supervisor's 4/5/6 keys must reach us.
      const bridge = await this.ari.request('bridges.create', { type: 'mixing,dtmf_events', bridgeId: `${session.id}-monitor`, name: `monitor-${session.id}` });
      session.monitorBridgeId = bridge.id;
    }
    return session.monitorBridgeId;
  }

  /** Takes the supervisor out of a bridge: gone, or the bridge out of Stasis (409: being torn down), is out already. */
  private async leave(bridgeId: string, channelId: string): Promise<void> {
    await this.ari.request('bridges.removeChannel', { bridgeId, channel: channelId }).catch((err: unknown) => {
      if (!isGone(err) && !(err instanceof AriError && err.status === 409)) throw err;
    });
  }

  private async dropSnoop(session: Session): Promise<void> {
    const snoopId = session.snoopId;
    session.snoopId = undefined;
    if (snoopId) await this.hangup(snoopId);
  }

  // ---- the monitored call ends ----

  /** The agent's part of the call ended (hang-up or transfer): end the session, or wait for the agent's next call. */
  private async callLeft(session: Session): Promise<void> {
    if (session.status === 'ended' || !session.call) return;
    session.call = undefined;
    this.endSegment(session);
    await this.dropSnoop(session);
    if (session.where === 'call') session.where = 'none'; // the call's bridge goes with the call
    if (!session.follow) return this.finish(session, 'call_ended', null, monitorPrompts.callEnded);
    this.announce(session, 'call');
  }

  private async nextCall(session: Session, parties: ConnectedParties): Promise<void> {
    if (session.status === 'ended' || session.call) return;
    // A following session joins calls for hours: the supervisor must still
    // be allowed to, even if the offboarding event was missed (a change made
    // in the database some other way, another process).
    const allowed = await this.agents.access(session.supervisorId).then((a) => a?.isSupervisor === true, (err: unknown) => {
      this.logger.error({ err, sessionId: session.id }, 'could not check that the supervisor may still monitor; not joining');
      return undefined;
    });
    if (allowed !== true) return this.finish(session, allowed === false ? 'offboarded' : 'failed', null);
    session.call = parties;
    if (session.status !== 'active') return;
    this.announce(session, 'call');
    await this.connect(session, session.mode, 'follow');
  }

  /** Ends a session: the supervisor's leg is hung up, everything made for it removed, and the audit closed. */
  private async finish(session: Session, reason: EndReason, endedByToken: string | null, farewell?: string): Promise<void> {
    if (session.status === 'ended') return;
    const wasRinging = session.status === 'ringing';
    session.status = 'ended';
    session.endedAt = new Date();
    session.endReason = reason;
    this.endSegment(session);
    const endedAt = session.endedAt;
    this.write(session, 'ended', this.store.updateSession(session.id, { status: 'ended', ended_at: endedAt, end_reason: reason, ended_by_token: endedByToken }));
    this.logger.info({ sessionId: session.id, reason, wasRinging }, 'monitoring session ended');
    await this.dropSnoop(session);
    if (session.where === 'call' && session.call) {
      const { bridgeId } = session.call;
      await this.helpers.quietly('taking the supervisor out of the call', { sessionId: session.id, bridgeId }, () => this.leave(bridgeId, session.channelId));
    }
    if (session.monitorBridgeId) await this.helpers.destroyBridge(session.monitorBridgeId);
    // A playback on a channel just out of a destroyed bridge may never report
    // its end: the farewell gets a few seconds, then the hang-up comes anyway.
    if (farewell) {
      const played = this.helpers.quietly('the farewell prompt', { sessionId: session.id, channelId: session.channelId }, () => this.media.playToEnd(session.channelId, [farewell]));
      await Promise.race([played, sleep(farewellMs)]);
    }
    if (reason !== 'supervisor_hangup') await this.hangup(session.channelId);
    this.forget(session);
    this.announce(session, 'ended');
    session.resolveEnded();
  }

  private forget(session: Session): void {
    this.sessions.delete(session.id);
    this.byChannel.delete(session.channelId);
  }

  // ---- records ----

  private insert(session: Session, role: 'admin' | 'supervisor' | 'phone', tokenId: string | null): void {
    const row = {
      id: session.id, supervisor_id: session.supervisorId, agent_id: session.agentId, call_id: session.firstCallId, extension: session.extension,
      source: session.source, requested_by_token: tokenId, requested_by_role: role, follow: session.follow, supervisor_channel_id: session.channelId,
      status: session.status, created_at: session.createdAt, answered_at: session.answeredAt, ended_at: null, end_reason: null, ended_by_token: null,
    };
    this.write(session, 'started', this.store.insertSession(row));
  }

  private startSegment(session: Session, mode: MonitorMode, callId: string, source: SegmentSource): void {
    this.endSegment(session);
    const segment: Segment = { id: randomUUID(), mode, callId, source, startedAt: new Date(), endedAt: null };
    session.segments.push(segment);
    this.write(session, `segment ${mode}`, this.store.insertSegment({
      id: segment.id, session_id: session.id, mode, call_id: callId, source, started_at: segment.startedAt, ended_at: null,
    }));
  }

  private endSegment(session: Session): void {
    const open = session.segments.at(-1);
    if (!open || open.endedAt) return;
    open.endedAt = new Date();
    const at = open.endedAt;
    this.write(session, `segment ${open.mode} ended`, this.store.endSegment(open.id, at));
  }

  private write(session: Session, what: string, op: WriteOp): void {
    void this.writes.enqueue(`monitor session ${session.id} ${what}`, op);
  }

  private announce(session: Session, event: 'ringing' | 'started' | 'mode' | 'call' | 'ended'): void {
    this.bus.emit('monitor.session', { ...this.view(session), event });
  }

  // ---- reading ----

  /** GET /monitor/:id: a live session from memory, an ended one from the audit. */
  async get(id: string): Promise<MonitorSessionView> {
    const live = this.sessions.get(id);
    if (live) return this.view(live);
    const row = isUuid(id) ? await this.store.getSession(id) : undefined;
    if (!row) throw notFound('monitoring session');
    return rowView(row, await this.store.segmentsOf([id]));
  }

  /** GET /monitor: the audit, newest first. */
  async list(filter: SessionFilter): Promise<MonitorSessionView[]> {
    const rows = await this.store.listSessions(filter);
    const segments = await this.store.segmentsOf(rows.map((r) => r.id));
    return rows.map((row) => rowView(row, segments.filter((s) => s.session_id === row.id)));
  }

  live(): MonitorSessionView[] {
    return [...this.sessions.values()].map((s) => this.view(s));
  }

  private view(session: Session): MonitorSessionView {
    return {
      id: session.id, supervisorId: session.supervisorId, agentId: session.agentId, callId: session.firstCallId,
      currentCallId: session.call?.callId ?? null, extension: session.extension, source: session.source, follow: session.follow,
      status: session.status, mode: session.mode, createdAt: session.createdAt.toISOString(),
      answeredAt: session.answeredAt?.toISOString() ?? null, endedAt: session.endedAt?.toISOString() ?? null, endReason: session.endReason,
      segments: session.segments.map((s) => ({ mode: s.mode, callId: s.callId, source: s.source, startedAt: s.startedAt.toISOString(), endedAt: s.endedAt?.toISOString() ?? null })),
    };
  }

  // ---- restarts ----

  /**
   * On every ARI (re)connection, after the queues have adopted their calls
   * (the view is that reconciliation's listing): live sessions whose
   * supervisor channel is gone (Asterisk restarted) end. A session an
   * earlier process left is adopted when the supervisor's channel is still
   * up: the supervisor stays on the call in the mode they had (put back if
   * the old process died halfway through a switch), and the session goes on
   * as if it had been this process's. Sessions that cannot be adopted are
   * closed and their channels and bridges removed, so no supervisor stays
   * silently attached to an agent. Returns the channels the sessions drive.
   */
  async reconcile(view: { channels: Channel[]; bridges: Bridge[]; listedAt: Date }): Promise<ReadonlySet<string>> {
    const alive = new Map(view.channels.map((c) => [c.id, c]));
    for (const session of [...this.sessions.values()]) {
      if (!alive.has(session.channelId)) this.run(session, () => this.finish(session, 'asterisk_lost', null));
    }
    const open = (await this.store.openSessions()).filter((row) => !this.sessions.has(row.id));
    const segments = await this.store.segmentsOf(open.map((row) => row.id));
    for (const row of open) {
      const channel = alive.get(row.supervisor_channel_id ?? '');
      if (channel?.state === 'Up') {
        this.adopt(row, segments.filter((s) => s.session_id === row.id), view);
        continue;
      }
      for (const c of view.channels) {
        if (c.id === row.supervisor_channel_id || c.id.startsWith(`${row.id}-`)) await this.hangup(c.id);
      }
      await this.helpers.destroyBridge(`${row.id}-monitor`);
      await this.writes.enqueue(`monitor session ${row.id} closed after restart`, this.store.closeSession(row.id, view.listedAt, channel ? 'restart' : 'asterisk_lost'));
      this.logger.warn({ sessionId: row.id, supervisorChannel: channel?.state ?? 'gone' }, 'closed a monitoring session left open by an earlier run');
    }
    const driven = new Set<string>();
    for (const session of this.sessions.values()) {
      driven.add(session.channelId);
      if (session.snoopId) driven.add(session.snoopId);
    }
    // Monitoring channels no session owns (a leg rung or a snoop made just before a crash, before its row was written).
    for (const c of view.channels) {
      const [app, kind] = c.dialplan.app_name === 'Stasis' ? c.dialplan.app_data.split(',') : [];
      const owner = c.id.split('-snoop-')[0]!; // a live session may be making its next snoop right now
      if (app === this.ari.app && (kind === legArg || kind === snoopArg) && !driven.has(c.id) && !this.sessions.has(owner)) await this.hangup(c.id);
    }
    return driven;
  }

  /** Takes over a session an earlier process left, from what Asterisk shows of it. */
  private adopt(row: SessionRow, segments: SegmentRow[], view: { channels: Channel[]; bridges: Bridge[]; listedAt: Date }): void {
    const channelId = row.supervisor_channel_id!;
    const bridgeOf = (id: string): Bridge | undefined => view.bridges.find((b) => b.id === id);
    const call = this.engine.connectedParties({ agentId: row.agent_id });
    const monitorBridge = bridgeOf(`${row.id}-monitor`);
    const where = monitorBridge?.channels.includes(channelId) ? 'monitor' as const
      : call && bridgeOf(call.bridgeId)?.channels.includes(channelId) ? 'call' as const : 'none' as const;
    const snoopMark = `${row.id}-snoop-`;
    const snoops = view.channels.filter((c) => c.id.startsWith(snoopMark));
    const snoopId = where === 'monitor' ? monitorBridge!.channels.find((id) => id.startsWith(snoopMark)) : undefined;
    const last = segments.at(-1);
    const session = this.newSession({
      supervisorId: row.supervisor_id, agentId: row.agent_id, extension: row.extension, source: row.source, follow: row.follow,
      mode: last?.mode ?? 'listen', channelId,
    }, { id: row.id, firstCallId: row.call_id, createdAt: row.created_at, call });
    session.status = 'active';
    session.answeredAt = row.answered_at ?? view.listedAt;
    session.where = where;
    session.monitorBridgeId = monitorBridge?.id;
    session.snoopId = snoopId;
    session.snoops = Math.max(0, ...snoops.map((c) => Number(c.id.slice(snoopMark.length)) || 0));
    session.segments = segments.map((s) => ({ id: s.id, mode: s.mode, callId: s.call_id, source: s.source, startedAt: s.started_at, endedAt: s.ended_at }));
    session.open();
    this.logger.info({ sessionId: row.id, where, mode: session.mode, snoopId, callId: call?.callId ?? null }, 'adopted a monitoring session left by an earlier run');
    void this.helpers.subscribe(channelId);
    this.run(session, async () => {
      if (row.status === 'ringing') {
        const answeredAt = session.answeredAt!;
        this.write(session, 'answered', this.store.updateSession(session.id, { status: 'active', answered_at: answeredAt }));
      }
      for (const snoop of snoops) if (snoop.id !== snoopId) await this.hangup(snoop.id);
      this.announce(session, 'started');
      const open = session.segments.at(-1);
      const intact = open && !open.endedAt && open.callId === call?.callId
        && (session.mode === 'barge' ? where === 'call' : where === 'monitor' && snoopId !== undefined);
      if (intact) return;
      // The old process died between steps (a switch, a call's end, the next call): finish the step.
      this.endSegment(session);
      if (!call) {
        session.call = undefined;
        if (where === 'call') session.where = 'none';
        await this.dropSnoop(session);
        if (!session.follow) return this.finish(session, 'call_ended', null, monitorPrompts.callEnded);
        return;
      }
      await this.connect(session, session.mode, 'restart');
    });
  }

  // ---- helpers ----

  private sessionOfChannel(channelId: string): Session | undefined {
    return this.sessions.get(this.byChannel.get(channelId) ?? '');
  }

  /** Runs `work` after the session's earlier operations; errors are logged, never thrown to the event loop. */
  private run(session: Session, work: () => Promise<void>): Promise<void> {
    const next = session.ops.then(work).catch((err: unknown) => {
      this.logger.error({ err, sessionId: session.id }, 'monitoring operation failed');
    });
    session.ops = next;
    return next;
  }

  private hangup(channelId: string): Promise<void> {
    return this.helpers.hangup(channelId);
  }
}

function rowView(row: SessionRow, segments: SegmentRow[]): MonitorSessionView {
  return {
    id: row.id, supervisorId: row.supervisor_id, agentId: row.agent_id, callId: row.call_id, currentCallId: null, extension: row.extension,
    source: row.source, follow: row.follow, status: row.status, mode: segments.at(-1)?.mode ?? 'listen',
    createdAt: row.created_at.toISOString(), answeredAt: row.answered_at?.toISOString() ?? null, endedAt: row.ended_at?.toISOString() ?? null,
    endReason: row.end_reason,
    segments: segments.map((s) => ({ mode: s.mode, callId: s.call_id, source: s.source, startedAt: s.started_at.toISOString(), endedAt: s.ended_at?.toISOString() ?? null })),
  };
}
