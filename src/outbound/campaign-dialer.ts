import { randomUUID } from 'node:crypto';
import type { AgentCommand } from '../agents/state-machine.js';
import type { Ari } from '../asterisk/ari.js';
import type { AriHelpers } from '../asterisk/ari-helpers.js';
import type { Media } from '../asterisk/media.js';
import type { ChannelRegistry } from '../asterisk/registry.js';
import type { StasisRouter } from '../asterisk/stasis-router.js';
import type { CallOutcome } from '../campaigns/rules.js';
import type { ClaimedContact } from '../campaigns/service.js';
import type { CampaignView } from '../campaigns/views.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { QueueRow } from '../queues/store.js';
import type { Logger } from '../core/logger.js';
import type { BusyAgent } from '../campaigns/pacing.js';
import type { CampaignCodes } from './campaign-codes.js';
import type { CampaignPacing } from './campaign-pacing.js';
import { outcomeOf } from './outcome.js';
import { PassFailures } from './pass-failures.js';
import type { CampaignSessions, Session } from './sessions.js';
import type { OutboundOutcome, OutboundStore } from './store.js';
import { beside as besideOf, sameServer } from '../asterisk/media-servers.js';

export const customerArg = 'campaign-customer';
export const amdArg = 'campaign-amd';
/** The dialplan context that runs AMD() on an answered person and returns to Stasis (docs/outbound.md). */
export const amdContext = 'centralita-amd';
/** A person who answered and has no agent within this is abandoned (Ofcom's rule). */
const connectGraceMs = 2000;

/** What the campaign dialer asks of the campaigns and the others (bound in module.ts). */
export interface CampaignDialerPorts {
  campaign: (id: string) => Promise<CampaignView | undefined>;
  claim: (campaignId: string, n: number, now: Date) => Promise<ClaimedContact[]>;
  isCallable: (campaignId: string, numberE164: string) => Promise<boolean>;
  attemptStarted: (row: { id: string; campaignId: string; contactId: string; numberE164: string; startedAt: Date }) => WriteOp;
  attemptAnswered: (attemptId: string, at: Date, agentId: string | null) => WriteOp;
  attemptCall: (attemptId: string, callId: string) => WriteOp;
  released: (contact: ClaimedContact) => WriteOp;
  /** The campaign's queue (its wrap-up codes), when a person is put through. */
  queue: (queueId: string) => Promise<QueueRow | undefined>;
  callStarted: (call: { channelId: string; callerId: string; number: string; at: Date }) => string;
  callAnswered: (channelId: string, at: Date) => void;
  agentCommand: (agentId: string, command: AgentCommand) => Promise<unknown>;
  record: (callId: string, queueId: string, agentId: string) => Promise<void>;
  wrapUpSeconds: (queueId: string) => Promise<number>;
  /** The agent's state, since when, and their call (an agent in wrap-up is about to be free: the pacing counts them). */
  agentPhase: (agentId: string) => { status: string; since: Date | undefined; callId: string | null };
}

interface Line {
  id: string;
  campaign: CampaignView;
  /** The campaign's queue when the line was dialled: its wrap-up codes. */
  queue: QueueRow | undefined;
  contact: ClaimedContact;
  channelId: string;
  phase: 'ringing' | 'amd' | 'connecting' | 'talking' | 'over';
  dialStatus: string | undefined;
  callId: string | undefined;
  session: Session | undefined;
  answeredAt: Date | undefined;
  dialledAt: number;
  /** When AMD said it is a person, and when an agent took them. */
  humanAt: number;
  connectedAt: number;
  /** Set when the agent's side ended the conversation (their session ended). */
  endedByAgent: boolean;
}

/**
 * The campaigns' dialer (docs/outbound.md, "Campaigns"): every half second,
 * for each running progressive or predictive campaign with agents in
 * sessions, it claims as many contacts as the pacing says, checks each
 * number against the do-not-call lists again, and dials it. A person who
 * answers passes through AMD() in the dialplan (amdContext) and comes back:
 * a person goes to the longest-waiting agent's bridge, or is abandoned
 * (the campaign's message, then hung up) when no agent is free within 2 s;
 * a machine is hung up, left the campaign's message, or passed on as a
 * person, by the campaign's `amd`. Each dial's end is written through the
 * campaigns' rules (the contact's next state).
 *
 * Memory only: the lines in progress when centralita stops are lost; their
 * contacts stay in_progress until the campaigns' stale-claim release.
 */
export class CampaignDialer {
  private readonly lines = new Map<string, Line>();
  private readonly byChannel = new Map<string, Line>();
  private ticking = false;
  private readonly failures: PassFailures;

  constructor(
    private readonly d: {
      ari: Ari; helpers: AriHelpers; media: Media; registry: ChannelRegistry; router: StasisRouter; writes: WriteQueue; store: OutboundStore; logger: Logger;
      clock: () => Date; promptMedia: (name: string) => string;
      /** The trunk's dial string for a number (CENTRALITA_OUTBOUND_ENDPOINT). */
      endpoint: (number: string) => string;
      /** How long a person's line rings before it counts as not answered (CENTRALITA_CAMPAIGN_RING_SECONDS). */
      ringSeconds: number;
    },
    private readonly sessions: CampaignSessions,
    private readonly ports: CampaignDialerPorts,
    readonly pacing: CampaignPacing,
    private readonly codes: CampaignCodes,
  ) {
    this.failures = new PassFailures(d.logger, "the campaign dialer's pass");
    d.router.claim(customerArg, { role: 'caller' });
    d.router.claim(amdArg, { role: 'caller', start: (event) => {
      const [, lineId, status] = event.args;
      const line = this.lines.get(lineId ?? '');
      if (!line) return void this.d.helpers.hangup(event.channel.id);
      void this.afterAmd(line, status ?? 'NOTSURE').catch((err: unknown) => this.d.logger.error({ err, lineId }, 'campaign call handling failed'));
    } });
    d.ari.on('Dial', (event) => {
      const line = this.byChannel.get(event.peer.id);
      if (!line || !event.dialstatus) return;
      line.dialStatus = event.dialstatus;
      if (event.dialstatus === 'ANSWER') void this.answered(line);
    });
    d.ari.on('ChannelDestroyed', (event) => {
      const line = this.byChannel.get(event.channel.id);
      if (line) void this.gone(line, event.cause);
    });
  }

  /** Lines of a campaign now, for the wallboard and the pacing. */
  linesOf(campaignId: string): { dialling: number; talking: number } {
    let dialling = 0;
    let talking = 0;
    for (const line of this.lines.values()) {
      if (line.campaign.id !== campaignId) continue;
      if (line.phase === 'talking') talking += 1;
      else if (line.phase !== 'over') dialling += 1;
    }
    return { dialling, talking };
  }

  /** One pass over the campaigns with agents in sessions (a job: every half second on the leader). */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const campaignId of this.sessions.campaignIds()) {
        const campaign = await this.ports.campaign(campaignId);
        if (!campaign || campaign.state !== 'running' || campaign.mode === 'preview') continue;
        const n = await this.pacing.decide(campaign, this.d.clock(), this.pacingInput(campaignId));
        if (n <= 0) continue;
        // Its wrap-up codes, read before any dial: nothing waits for the database between a person and their agent.
        const queue = await this.ports.queue(campaign.queueId);
        for (const contact of await this.ports.claim(campaignId, n, this.d.clock())) await this.dial(campaign, queue, contact);
      }
      this.failures.ok();
    } catch (err) {
      this.failures.failed(err);
    } finally {
      this.ticking = false;
    }
  }

  /** What the pacer is told of a campaign now: agents waiting, busy (talking, or in wrap-up) and lines in flight. */
  private pacingInput(campaignId: string): { agentsReady: number; agentsBusy: BusyAgent[]; linesRinging: number[]; humansWaiting: number } {
    const now = Date.now();
    const agentsBusy: BusyAgent[] = [];
    for (const s of this.sessions.all()) {
      if (s.campaignId !== campaignId || s.state === 'ringing') continue;
      if (s.state === 'talking') agentsBusy.push({ sinceMs: now - s.talkingSince, phase: 'talk' });
      else {
        const phase = this.ports.agentPhase(s.agentId);
        if (phase.status === 'wrap_up') agentsBusy.push({ sinceMs: now - (phase.since?.getTime() ?? now), phase: 'wrap' });
      }
    }
    const linesRinging: number[] = [];
    let humansWaiting = 0;
    for (const line of this.lines.values()) {
      if (line.campaign.id !== campaignId) continue;
      if (line.phase === 'ringing' || line.phase === 'amd') linesRinging.push(now - line.dialledAt);
      else if (line.phase === 'connecting') humansWaiting += 1;
    }
    return { agentsReady: this.sessions.ready(campaignId).length, agentsBusy, linesRinging, humansWaiting };
  }

  private async dial(campaign: CampaignView, queue: QueueRow | undefined, contact: ClaimedContact): Promise<void> {
    const { ari, helpers, writes } = this.d;
    // Asked again right before the dial: a number listed since the claim is never called.
    if (!(await this.ports.isCallable(campaign.id, contact.numberE164).catch(() => false))) {
      void writes.enqueue(`campaign contact ${contact.id} released`, this.ports.released(contact));
      return;
    }
    const id = randomUUID();
    const line: Line = { id, campaign, queue, contact, channelId: `campaign-${id}`, phase: 'ringing', dialStatus: undefined, callId: undefined, session: undefined, answeredAt: undefined, dialledAt: Date.now(), humanAt: 0, connectedAt: 0, endedByAgent: false };
    this.lines.set(id, line);
    this.byChannel.set(line.channelId, line);
    void writes.enqueue(`campaign attempt ${id} started`, this.ports.attemptStarted({ id, campaignId: campaign.id, contactId: contact.id, numberE164: contact.numberE164, startedAt: this.d.clock() }));
    try {
      // Several media servers: the person is dialled beside one of the agents waiting (in turn), whom they can then be bridged with.
      const ready = this.sessions.ready(campaign.id);
      const beside = ready.length > 0 ? ready[this.lines.size % ready.length]!.channelId : undefined;
      await besideOf(ari, beside, () => helpers.intoStasis(line.channelId, () => ari.request('channels.create', {
        endpoint: this.d.endpoint(contact.numberE164), app: ari.app, appArgs: `${customerArg},${id}`, channelId: line.channelId,
      })));
      void helpers.subscribe(line.channelId);
      for (const variable of ['CONNECTEDLINE(num)', 'CONNECTEDLINE(name)']) {
        await ari.request('channels.setChannelVar', { channelId: line.channelId, variable, value: campaign.callerId });
      }
      await ari.request('channels.setChannelVar', { channelId: line.channelId, variable: 'CENTRALITA_LINE', value: id });
      // The AMD hop returns to the app that sent it, not the dialplan's global default.
      await ari.request('channels.setChannelVar', { channelId: line.channelId, variable: 'CENTRALITA_APP', value: ari.app });
      await ari.request('channels.dial', { channelId: line.channelId, timeout: this.d.ringSeconds });
    } catch (err) {
      this.d.logger.warn({ err, lineId: id }, 'could not dial a campaign contact');
      await helpers.hangup(line.channelId);
      this.end(line, 'failed');
    }
  }

  /** The person's line answered: to AMD in the dialplan, back to Stasis as `campaign-amd,<line>,<status>`. */
  private async answered(line: Line): Promise<void> {
    if (line.phase !== 'ringing') return;
    line.phase = 'amd';
    line.answeredAt = this.d.clock();
    try {
      await this.d.ari.request('channels.continueInDialplan', { channelId: line.channelId, context: amdContext, extension: 's', priority: 1 });
    } catch (err) {
      // No AMD (the context missing, the channel busy): the person is not left in silence; taken as not sure, like AMD's own doubt.
      this.d.logger.warn({ err, lineId: line.id }, 'could not send a campaign call to AMD; putting it through without');
      await this.afterAmd(line, 'NOTSURE');
    }
  }

  private async afterAmd(line: Line, status: string): Promise<void> {
    if (line.phase !== 'amd') return;
    const machine = status === 'MACHINE';
    const ringMs = (line.answeredAt?.getTime() ?? Date.now()) - line.dialledAt;
    this.pacing.attemptEnded(line.campaign.id, this.d.clock(), machine ? 'machine' : 'human', Math.max(0, ringMs));
    if (machine && line.campaign.amd.action !== 'agent') {
      line.phase = 'over';
      if (line.campaign.amd.action === 'message' && line.campaign.amd.messagePrompt) {
        await this.d.helpers.quietly('leaving the campaign\'s message', { channelId: line.channelId }, () => this.d.media.playToEnd(line.channelId, this.d.promptMedia(line.campaign.amd.messagePrompt!)));
      }
      this.end(line, 'machine');
      await this.d.helpers.hangup(line.channelId);
      return;
    }
    line.phase = 'connecting';
    line.humanAt = Date.now();
    const session = await this.takeAgent(line);
    // The person hung up while waiting (gone() ended the line as abandoned): the agent waits for the next.
    if (line.phase !== 'connecting') {
      if (session) this.sessions.free(session);
      return;
    }
    if (!session) {
      // Abandoned: no agent within the grace. The person hears who called (the campaign's message).
      this.d.logger.info({ lineId: line.id, sessions: this.sessions.all().map((s) => ({ agentId: s.agentId, state: s.state })) }, 'a person answered a campaign call and no agent was free: abandoned');
      line.phase = 'over';
      this.pacing.abandoned(line.campaign.id, this.d.clock());
      if (line.campaign.abandonPrompt) {
        await this.d.helpers.quietly('telling an abandoned person who called', { channelId: line.channelId }, () => this.d.media.playToEnd(line.channelId, this.d.promptMedia(line.campaign.abandonPrompt!)));
      }
      this.end(line, 'abandoned');
      await this.d.helpers.hangup(line.channelId);
      return;
    }
    await this.connect(line, session);
  }

  /**
   * The longest-waiting agent of the campaign, waiting up to the grace for
   * one, taken for this line at once: two persons back from AMD in the same
   * moment must not both be given the agent that was free.
   */
  private async takeAgent(line: Line): Promise<Session | undefined> {
    const until = Date.now() + connectGraceMs;
    // Until the person hangs up (gone() moves the line on): an agent taken for nobody would lose their place.
    while (line.phase === 'connecting') {
      // On the person's media server: nothing is bridged across servers.
      const session = this.sessions.ready(line.campaign.id).find((s) => sameServer(this.d.ari, s.channelId, line.channelId));
      if (session) {
        this.sessions.take(session, line.id);
        return session;
      }
      if (Date.now() >= until) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 100).unref());
    }
    return undefined;
  }

  private async connect(line: Line, session: Session): Promise<void> {
    const { ari, writes, store, registry } = this.d;
    line.session = session;
    line.connectedAt = Date.now();
    this.pacing.connected(line.campaign.id, this.d.clock(), line.connectedAt - line.humanAt);
    const at = this.d.clock();
    const callId = this.ports.callStarted({ channelId: line.channelId, callerId: line.campaign.callerId, number: line.contact.numberE164, at });
    line.callId = callId;
    this.ports.callAnswered(line.channelId, at);
    void writes.enqueue(`campaign attempt ${line.id} answered`, this.ports.attemptAnswered(line.id, line.answeredAt ?? at, session.agentId));
    void writes.enqueue(`campaign attempt ${line.id} call`, this.ports.attemptCall(line.id, callId));
    void writes.enqueue(`outbound call ${callId} started`, store.started({
      call_id: callId, agent_id: session.agentId, queue_id: line.campaign.queueId, number: line.contact.numberE164, caller_id: line.campaign.callerId,
      origin: 'campaign', started_at: line.answeredAt ?? at, agent_answered_at: at, answered_at: at, ended_at: null, outcome: null, talk_seconds: null, ended_by: null,
    }));
    line.phase = 'talking';
    this.codes.connected(session.agentId, { callId, attemptId: line.id, campaign: line.campaign, contact: line.contact, queue: line.queue });
    await this.ports.agentCommand(session.agentId, { type: 'answer', callId }).catch((err: unknown) => {
      this.d.logger.warn({ err: (err as Error).message, agentId: session.agentId }, 'the agent\'s state for a campaign call not applied');
    });
    try {
      await ari.request('bridges.addChannel', { bridgeId: session.bridgeId, channel: line.channelId });
    } catch (err) {
      this.d.logger.warn({ err, lineId: line.id }, 'could not put the person through to the agent');
      this.pacing.abandoned(line.campaign.id, this.d.clock());
      this.end(line, 'abandoned');
      await this.d.helpers.hangup(line.channelId);
      return;
    }
    // The person hung up while being put through.
    if (line.phase !== 'talking') return;
    registry.linkCall({ kind: 'outbound', callId, agentId: session.agentId, agentChannelId: session.channelId, callerChannelId: line.channelId, bridgeId: session.bridgeId, queueId: line.campaign.queueId });
    await this.ports.record(callId, line.campaign.queueId, session.agentId).catch((err: unknown) => {
      this.d.logger.error({ err, callId }, 'could not start the campaign call\'s recording');
    });
  }

  /**
   * Each ARI (re)connection: lines whose channel Asterisk no longer has
   * end as their phase says (a ChannelDestroyed missed while the socket
   * was down); sessions likewise (sessions.reconcile). Lines live in memory
   * only: after a restart of centralita there are none here, and the
   * campaigns' stale-claim release at start gives their contacts back.
   */
  async reconcile(alive: ReadonlySet<string>): Promise<string[]> {
    this.sessions.reconcile(alive);
    for (const line of [...this.lines.values()]) {
      if (!alive.has(line.channelId)) await this.gone(line, 0);
    }
    return [...this.lines.values()].map((l) => l.channelId);
  }

  /**
   * A line whose end never came: its ChannelDestroyed lost (seen at 250
   * agents on two cores, 21 lines of 2500). Every 15 s (module.ts), lines
   * older than a ring plus 10 s whose channel Asterisk no longer has end as
   * their phase says, with a warning; their contacts would otherwise stay
   * in_progress until the next start.
   */
  async sweep(): Promise<void> {
    const before = Date.now() - (this.d.ringSeconds + 10) * 1000;
    const old = [...this.lines.values()].filter((l) => l.dialledAt < before);
    // The agents' phones too: a session whose phone's end was lost would be given persons into an empty bridge.
    const started = this.sessions.all().some((s) => s.state !== 'ringing');
    if (old.length === 0 && !started) return;
    const listedAt = Date.now();
    const channels = await this.d.ari.request('channels.list', {}).catch((err: unknown) => {
      this.d.logger.warn({ err }, 'could not list channels to check the campaign lines');
      return undefined;
    });
    if (!channels) return;
    const alive = new Set(channels.map((c) => c.id));
    this.sessions.sweep(alive, listedAt);
    for (const line of old) {
      if (!this.lines.has(line.id) || alive.has(line.channelId)) continue;
      this.d.logger.warn({ lineId: line.id, phase: line.phase }, 'a campaign line ended unseen; ended from Asterisk\'s channel list');
      await this.gone(line, 0);
    }
  }

  /** The agent's session ended during a call: the person is hung up (their line ends answered). */
  sessionLost(session: Session): void {
    const line = session.lineId ? this.lines.get(session.lineId) : undefined;
    if (!line) return;
    line.endedByAgent = true;
    void this.d.helpers.hangup(line.channelId);
  }

  private async gone(line: Line, cause: number): Promise<void> {
    this.byChannel.delete(line.channelId);
    if (line.phase === 'over') return;
    if (line.phase === 'ringing') {
      const outcome = campaignOutcome(outcomeOf(line.dialStatus, cause));
      this.pacing.attemptEnded(line.campaign.id, this.d.clock(), outcome, Date.now() - line.dialledAt);
      return this.end(line, outcome);
    }
    // Answered, then gone before an agent: AMD running, or waiting for an agent.
    if (line.phase === 'amd') {
      this.pacing.attemptEnded(line.campaign.id, this.d.clock(), 'no_answer', Date.now() - line.dialledAt);
      return this.end(line, 'no_answer');
    }
    if (line.phase === 'connecting') {
      this.pacing.abandoned(line.campaign.id, this.d.clock());
      return this.end(line, 'abandoned');
    }
    this.end(line, 'answered');
  }

  private end(line: Line, outcome: CallOutcome): void {
    if (!this.lines.has(line.id)) return;
    this.lines.delete(line.id);
    line.phase = 'over';
    const now = this.d.clock();
    const session = line.session;
    const agentId = session?.agentId ?? null;
    // One write: the attempt's end, the contact's next state and a do-not-call mark stand or fall
    // together, with a wrap-up code set during the call.
    void this.d.writes.enqueue(`campaign attempt ${line.id} ended`, this.codes.end(agentId, line.id, line.campaign, line.contact, { outcome, agentId }));
    if (line.callId) {
      void this.d.writes.enqueue(`outbound call ${line.callId} ended`, this.d.store.ended(line.callId, {
        at: now, outcome: 'answered', answeredAt: line.answeredAt, endedBy: line.endedByAgent ? 'agent' : 'customer',
      }));
      this.d.registry.unlinkCall(line.callId);
    }
    if (session) {
      this.sessions.free(session);
      void this.wrapUp(line, session.agentId);
    }
    setTimeout(() => this.byChannel.delete(line.channelId), 60_000).unref();
  }

  private async wrapUp(line: Line, agentId: string): Promise<void> {
    const seconds = await this.ports.wrapUpSeconds(line.campaign.queueId).catch(() => 0);
    this.pacing.handled(line.campaign.id, this.d.clock(), Date.now() - line.connectedAt, seconds * 1000);
    await this.ports.agentCommand(agentId, { type: 'callEnded', wrapUpEndsAt: seconds > 0 ? new Date(Date.now() + seconds * 1000) : null }).catch((err: unknown) => {
      this.d.logger.warn({ err: (err as Error).message, agentId }, 'the agent\'s state after a campaign call not applied');
    });
  }
}

/** The outbound outcome of an unanswered dial, as the campaigns' retry rules name it. */
function campaignOutcome(outcome: OutboundOutcome): 'busy' | 'no_answer' | 'failed' {
  if (outcome === 'busy') return 'busy';
  if (outcome === 'no_answer') return 'no_answer';
  return 'failed';
}
