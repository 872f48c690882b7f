import { randomUUID } from 'node:crypto';
import type { Ari } from '../asterisk/ari.js';
import type { AriHelpers } from '../asterisk/ari-helpers.js';
import type { AsteriskSite } from '../asterisk/site.js';
import { conflict } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const sessionLegArg = 'campaign-agent';
const ringSeconds = 30;

/**
 * An agent taking a campaign's calls: their desk phone stays connected
 * (answered once, when they join) in a bridge of their own, where the
 * dialer puts each person it reaches, so that the person hears the agent
 * at once (the abandon rule counts 2 s).
 */
export interface Session {
  agentId: string;
  campaignId: string;
  channelId: string;
  bridgeId: string;
  state: 'ringing' | 'waiting' | 'talking';
  /** Since when the agent waits (the longest-waiting agent takes the next person). */
  waitingSince: number;
  /** The dial line the agent is on while talking, and since when. */
  lineId: string | undefined;
  talkingSince: number;
  left: Promise<void>;
  leave: () => void;
}

export interface SessionPorts {
  /** Whether the agent may take a call now (their state is available). */
  available: (agentId: string) => boolean;
  /** The agent's session ended while on a call: the dialer hangs up the person. */
  lost: (session: Session) => void;
  /**
   * The agent's phone is in use for the session until `until` settles: not
   * a direct call of theirs (which would put them on_call).
   */
  holdPhone: (extension: string, until: Promise<void>) => void;
}

/**
 * The agents in campaign sessions. Memory only: after a restart of
 * centralita the agents join again (their phones' channels are hung up by
 * the module's reconcile as channels nobody drives).
 */
export class CampaignSessions {
  private readonly byAgent = new Map<string, Session>();
  private readonly byChannel = new Map<string, Session>();

  constructor(private readonly d: { ari: Ari; helpers: AriHelpers; site: AsteriskSite; logger: Logger }, private readonly ports: SessionPorts) {
    d.ari.on('Dial', (event) => {
      const session = this.byChannel.get(event.peer.id);
      if (session?.state === 'ringing' && event.dialstatus === 'ANSWER') void this.answered(session);
    });
    d.ari.on('ChannelDestroyed', (event) => {
      const session = this.byChannel.get(event.channel.id);
      if (session) this.ended(session);
    });
  }

  of(agentId: string): Session | undefined {
    return this.byAgent.get(agentId);
  }

  all(): Session[] {
    return [...this.byAgent.values()];
  }

  /** Agents in sessions: the queues offer them no calls. */
  busyAgents(): string[] {
    return [...this.byAgent.keys()];
  }

  campaignIds(): Set<string> {
    return new Set([...this.byAgent.values()].filter((s) => s.state !== 'ringing').map((s) => s.campaignId));
  }

  /** Agents waiting for a person now, longest waiting first. */
  ready(campaignId: string): Session[] {
    return [...this.byAgent.values()]
      .filter((s) => s.campaignId === campaignId && s.state === 'waiting' && this.ports.available(s.agentId))
      .sort((a, b) => a.waitingSince - b.waitingSince);
  }

  /** The agent's phone rings; the session starts when it is answered. */
  async join(campaignId: string, agentId: string, extension: string): Promise<Session> {
    if (this.byAgent.has(agentId)) throw conflict('the agent is already in a campaign session');
    const { ari, helpers, site } = this.d;
    const channelId = `campaign-agent-${randomUUID()}`;
    let leave!: () => void;
    const left = new Promise<void>((resolve) => { leave = resolve; });
    const session: Session = { agentId, campaignId, channelId, bridgeId: `campaign-agent-${agentId}`, state: 'ringing', waitingSince: 0, lineId: undefined, talkingSince: 0, left, leave };
    this.byAgent.set(agentId, session);
    this.byChannel.set(channelId, session);
    this.ports.holdPhone(extension, left);
    try {
      await helpers.intoStasis(channelId, () => ari.request('channels.create', { endpoint: site.phone(extension), app: ari.app, appArgs: `${sessionLegArg},${campaignId}`, channelId }));
      void helpers.subscribe(channelId);
      await ari.request('channels.dial', { channelId, timeout: ringSeconds });
    } catch (err) {
      this.ended(session);
      await helpers.hangup(channelId);
      throw conflict(`could not ring the agent's phone: ${(err as Error).message}`);
    }
    return session;
  }

  private async answered(session: Session): Promise<void> {
    const { ari, helpers } = this.d;
    try {
      await ari.request('bridges.create', { type: 'mixing', bridgeId: session.bridgeId, name: session.bridgeId });
      await ari.request('bridges.addChannel', { bridgeId: session.bridgeId, channel: session.channelId, absorbDTMF: true });
      session.state = 'waiting';
      session.waitingSince = Date.now();
      this.d.logger.info({ agentId: session.agentId, campaignId: session.campaignId }, 'agent joined a campaign');
    } catch (err) {
      this.d.logger.warn({ err, agentId: session.agentId }, 'could not start the agent\'s campaign session');
      await helpers.hangup(session.channelId);
    }
  }

  async leave(agentId: string): Promise<boolean> {
    const session = this.byAgent.get(agentId);
    if (!session) return false;
    await this.d.helpers.hangup(session.channelId);
    this.ended(session);
    return true;
  }

  /** The agent takes a person (the dialer's line). */
  take(session: Session, lineId: string): void {
    session.state = 'talking';
    session.lineId = lineId;
    session.talkingSince = Date.now();
  }

  /** The person left: the agent waits for the next (once their wrap-up is over: `ready` reads their state). */
  free(session: Session): void {
    if (session.state !== 'talking') return;
    session.state = 'waiting';
    session.lineId = undefined;
    session.waitingSince = Date.now();
  }

  /**
   * The dialer's sweep: sessions that have started (their phone answered,
   * in their bridge) whose channel Asterisk did not list end, as if its
   * ChannelDestroyed had come. A ringing session, or one that started
   * after the list was asked for (`listedAt`), is left to the next sweep.
   */
  sweep(alive: ReadonlySet<string>, listedAt: number): number {
    let ended = 0;
    for (const session of [...this.byAgent.values()]) {
      if (session.state === 'ringing' || session.waitingSince >= listedAt || alive.has(session.channelId)) continue;
      this.d.logger.warn({ agentId: session.agentId, campaignId: session.campaignId }, 'a campaign session\'s phone ended unseen; ended from Asterisk\'s channel list');
      this.ended(session);
      ended += 1;
    }
    return ended;
  }

  /** Sessions whose phone's channel Asterisk no longer has (a reconnection) end. */
  reconcile(alive: ReadonlySet<string>): void {
    for (const session of [...this.byAgent.values()]) if (!alive.has(session.channelId)) this.ended(session);
  }

  private ended(session: Session): void {
    if (this.byAgent.get(session.agentId) !== session) return;
    this.byAgent.delete(session.agentId);
    this.byChannel.delete(session.channelId);
    void this.d.helpers.destroyBridge(session.bridgeId);
    if (session.state === 'talking') this.ports.lost(session);
    session.leave();
  }
}
