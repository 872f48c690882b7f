import type { AgentsService } from '../agents/service.js';
import { AriError, type Ari } from '../asterisk/ari.js';
import { isGone, type AriHelpers } from '../asterisk/ari-helpers.js';
import type { Media } from '../asterisk/media.js';
import type { CallParties, ChannelRegistry } from '../asterisk/registry.js';
import { defaultSite, type AsteriskSite } from '../asterisk/site.js';
import { conflict } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { sleep } from '../core/sleep.js';
import type { Session, Sessions } from './sessions.js';
import type { EndReason, MonitorMode, SegmentSource } from './store.js';
import { beside } from '../asterisk/media-servers.js';

export const legArg = 'monitor-leg';
export const snoopArg = 'monitor-snoop';
const farewellMs = 4000;

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

export interface ConnectorDeps {
  ari: Ari;
  helpers: AriHelpers;
  media: Media;
  registry: ChannelRegistry;
  agents: Pick<AgentsService, 'access'>;
  sessions: Sessions;
  logger: Logger;
}

/**
 * What a session does with channels and bridges: rings the supervisor's
 * desk phone, puts them on the call in a mode, moves them between modes
 * and calls, and takes everything down at the end.
 * - listen: a snoop on the agent's channel (spy both, whisper none) in a
 *   bridge of its own with the supervisor: nobody hears the supervisor;
 * - whisper: the same snoop with whisper out: only the agent hears them;
 * - barge on a queue call: the supervisor joins the call's own mixing
 *   bridge; on a direct call (bridged by the dialplan, not ours to join) the
 *   snoop whispers both ways, so the agent and the other party hear them.
 * A snoop's mode cannot change, so a switch replaces it.
 */
export class Connector {
  constructor(private readonly d: ConnectorDeps, private readonly ringSeconds: number, private readonly site: AsteriskSite = defaultSite) {}

  /** Creates the supervisor's leg and dials it; throws when the phone cannot be rung. */
  async ring(session: Session): Promise<void> {
    const { ari, helpers } = this.d;
    // Beside the call it is for: a call lives on one media server (docs/scale-out.md).
    await beside(ari, session.call?.agentChannelId, () => helpers.intoStasis(session.channelId, () => ari.request('channels.create', {
      endpoint: this.site.phone(session.extension), app: ari.app, appArgs: legArg, channelId: session.channelId,
    })));
    await ari.request('channels.dial', { channelId: session.channelId, timeout: this.ringSeconds });
    // A phone that cannot be reached fails within moments; one that rings is left to ring.
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      await sleep(100);
      if (session.status !== 'ringing') break;
      const channel = await ari.request('channels.get', { channelId: session.channelId }).catch((err: unknown) => (isGone(err) ? null : undefined));
      if (channel === null) throw conflict(`the supervisor's phone ${session.extension} is unreachable (${session.dialStatus ?? 'no answer'})`);
      if (channel?.state === 'Ringing' || channel?.state === 'Up') break;
    }
  }

  /** The supervisor answered the leg we rang. */
  async answered(session: Session): Promise<void> {
    if (session.status !== 'ringing') return;
    session.status = 'active';
    session.answeredAt = new Date();
    this.d.sessions.answered(session);
    this.d.sessions.announce(session, 'started');
    // The call may have ended (or the agent moved on) while the phone rang.
    session.call = session.call ? this.d.registry.callOf({ callId: session.call.callId }) : undefined;
    if (session.call?.agentId !== session.agentId) session.call = undefined;
    if (!session.call) {
      if (session.follow) return;
      return this.finish(session, 'call_ended', null, monitorPrompts.callEnded);
    }
    await this.connect(session, session.mode, 'start');
  }

  async switchTo(session: Session, mode: MonitorMode, source: SegmentSource): Promise<void> {
    if (session.status === 'ended' || mode === session.mode) return;
    this.d.logger.info({ sessionId: session.id, from: session.mode, to: mode, source }, 'monitoring mode switched');
    if (session.status === 'ringing' || !session.call) {
      session.mode = mode; // applied when the supervisor answers, or at the agent's next call
      return;
    }
    await this.connect(session, mode, source);
    this.d.sessions.announce(session, 'mode');
  }

  /** Puts the supervisor on the session's call in `mode`, from wherever they are. */
  async connect(session: Session, mode: MonitorMode, source: SegmentSource): Promise<void> {
    const call = session.call;
    if (!call || session.status !== 'active') return;
    const { ari, helpers } = this.d;
    try {
      if (joinsCall(call, mode)) {
        await this.dropSnoop(session);
        if (session.where === 'monitor') await this.leave(session.monitorBridgeId!, session.channelId);
        if (session.where !== 'call') {
          await ari.request('bridges.addChannel', { bridgeId: call.bridgeId!, channel: session.channelId, absorbDTMF: true });
        }
        session.where = 'call';
      } else {
        const bridgeId = await this.monitorBridge(session);
        if (session.where === 'call' && call.bridgeId) await this.leave(call.bridgeId, session.channelId);
        if (session.where !== 'monitor') {
          await ari.request('bridges.addChannel', { bridgeId, channel: session.channelId, absorbDTMF: true });
        }
        session.where = 'monitor';
        await this.dropSnoop(session);
        const snoopId = `${session.id}-snoop-${++session.snoops}`;
        const whisper = mode === 'whisper' ? 'out' : mode === 'barge' ? 'both' : 'none';
        await helpers.intoStasis(snoopId, () => ari.request('channels.snoopChannel', {
          channelId: call.agentChannelId, spy: 'both', whisper, app: ari.app, appArgs: snoopArg, snoopId,
        }));
        session.snoopId = snoopId;
        await ari.request('bridges.addChannel', { bridgeId, channel: snoopId });
      }
    } catch (err) {
      if (isGone(err) && !this.d.registry.callOf({ callId: call.callId })) return this.callLeft(session);
      this.d.logger.error({ err, sessionId: session.id, mode }, 'could not connect the supervisor');
      return this.finish(session, 'failed', null);
    }
    session.mode = mode;
    this.d.sessions.startSegment(session, mode, call.callId, source);
  }

  private async monitorBridge(session: Session): Promise<string> {
    if (!session.monitorBridgeId) {
      // dtmf_events: the supervisor's 4/5/6 keys must reach us.
      const bridge = await beside(this.d.ari, session.channelId, () => this.d.ari.request('bridges.create', { type: 'mixing,dtmf_events', bridgeId: `${session.id}-monitor`, name: `monitor-${session.id}` }));
      session.monitorBridgeId = bridge.id;
    }
    return session.monitorBridgeId;
  }

  /** Takes the supervisor out of a bridge: gone, or the bridge out of Stasis (409: being torn down), is out already. */
  private async leave(bridgeId: string, channelId: string): Promise<void> {
    await this.d.ari.request('bridges.removeChannel', { bridgeId, channel: channelId }).catch((err: unknown) => {
      if (!isGone(err) && !(err instanceof AriError && err.status === 409)) throw err;
    });
  }

  async dropSnoop(session: Session): Promise<void> {
    const snoopId = session.snoopId;
    session.snoopId = undefined;
    if (snoopId) await this.d.helpers.hangup(snoopId);
  }

  /** The agent's part of the call ended (hang-up or transfer): end the session, or wait for the agent's next call. */
  async callLeft(session: Session): Promise<void> {
    if (session.status === 'ended' || !session.call) return;
    session.call = undefined;
    this.d.sessions.endSegment(session);
    await this.dropSnoop(session);
    if (session.where === 'call') session.where = 'none'; // the call's bridge goes with the call
    if (!session.follow) return this.finish(session, 'call_ended', null, monitorPrompts.callEnded);
    this.d.sessions.announce(session, 'call');
  }

  /** A following session joins the agent's next call. */
  async nextCall(session: Session, call: CallParties): Promise<void> {
    if (session.status === 'ended' || session.call) return;
    // A following session joins calls for hours: the supervisor must still
    // be allowed to, even if the offboarding event was missed (a change made
    // in the database some other way, another process).
    const allowed = await this.d.agents.access(session.supervisorId).then((a) => a?.isSupervisor === true, (err: unknown) => {
      this.d.logger.error({ err, sessionId: session.id }, 'could not check that the supervisor may still monitor; not joining');
      return undefined;
    });
    if (allowed !== true) return this.finish(session, allowed === false ? 'offboarded' : 'failed', null);
    session.call = call;
    if (session.status !== 'active') return;
    this.d.sessions.announce(session, 'call');
    await this.connect(session, session.mode, 'follow');
  }

  /**
   * Ends a barging session whose supervisor takes the call over: the audit is
   * closed as `taken_over`, but the supervisor's leg stays in the call's
   * bridge (the queues hand the call to it) and is not hung up.
   */
  async release(session: Session, endedByToken: string | null): Promise<void> {
    if (session.status === 'ended') return;
    const { helpers, sessions } = this.d;
    session.status = 'ended';
    session.endedAt = new Date();
    session.endReason = 'taken_over';
    sessions.endSegment(session);
    sessions.ended(session, 'taken_over', endedByToken);
    this.d.logger.info({ sessionId: session.id }, 'monitoring session ended: the supervisor took the call over');
    await this.dropSnoop(session);
    if (session.monitorBridgeId) await helpers.destroyBridge(session.monitorBridgeId);
    sessions.forget(session);
    sessions.announce(session, 'ended');
    session.resolveEnded();
  }

  /** Ends a session: the supervisor's leg is hung up, everything made for it removed, and the audit closed. */
  async finish(session: Session, reason: EndReason, endedByToken: string | null, farewell?: string): Promise<void> {
    if (session.status === 'ended') return;
    const { helpers, media, sessions } = this.d;
    const wasRinging = session.status === 'ringing';
    session.status = 'ended';
    session.endedAt = new Date();
    session.endReason = reason;
    sessions.endSegment(session);
    sessions.ended(session, reason, endedByToken);
    this.d.logger.info({ sessionId: session.id, reason, wasRinging }, 'monitoring session ended');
    await this.dropSnoop(session);
    const bridgeId = session.call?.bridgeId;
    if (session.where === 'call' && bridgeId) {
      await helpers.quietly('taking the supervisor out of the call', { sessionId: session.id, bridgeId }, () => this.leave(bridgeId, session.channelId));
    }
    if (session.monitorBridgeId) await helpers.destroyBridge(session.monitorBridgeId);
    // A playback on a channel just out of a destroyed bridge may never report
    // its end: the farewell gets a few seconds, then the hang-up comes anyway.
    if (farewell) {
      const played = helpers.quietly('the farewell prompt', { sessionId: session.id, channelId: session.channelId }, () => media.playToEnd(session.channelId, [farewell]));
      await Promise.race([played, sleep(farewellMs)]);
    }
    if (reason !== 'supervisor_hangup') await helpers.hangup(session.channelId);
    sessions.forget(session);
    sessions.announce(session, 'ended');
    session.resolveEnded();
  }
}

/** Barging into a queue call joins its mixing bridge; everything else goes through a snoop. */
export function joinsCall(call: CallParties, mode: MonitorMode): boolean {
  return mode === 'barge' && call.bridgeId !== undefined;
}
