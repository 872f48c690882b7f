import { randomUUID } from 'node:crypto';
import type { AgentCommand } from '../agents/state-machine.js';
import type { StateSource } from '../agents/store.js';
import type { Ari } from '../asterisk/ari.js';
import type { AriHelpers } from '../asterisk/ari-helpers.js';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import type { Media } from '../asterisk/media.js';
import type { ChannelRegistry } from '../asterisk/registry.js';
import type { AsteriskSite } from '../asterisk/site.js';
import type { Logger } from '../core/logger.js';
import { conflict } from '../core/errors.js';
import type { WriteQueue } from '../core/write-queue.js';
import { outcomeOf, spokenFailure } from './outcome.js';
import type { OutboundCallRow, OutboundOrigin, OutboundOutcome, OutboundStore } from './store.js';

export const agentLegArg = 'outbound-agent';
export const customerLegArg = 'outbound-customer';
/** How long the agent's phone rings for their own call, and the customer's. */
const agentRingSeconds = 30;
const customerRingSeconds = 45;

/** What the dialer needs of the other capabilities (ports, bound in module.ts). */
export interface DialerPorts {
  /** The call's record (the calls capability): a new outbound call on the agent's leg, or a desk phone's call that dials out. */
  callStarted: (call: { channelId: string; callerId: string; number: string; at: Date }) => string;
  becameOutbound: (channelId: string, number: string) => string | undefined;
  callAnswered: (channelId: string, at: Date) => void;
  /** A leg that never came to be (or whose end no event will tell): its call row ends now. */
  callGone: (channelId: string, at: Date) => void;
  agentCommand: (agentId: string, command: AgentCommand, source: StateSource) => Promise<unknown>;
  /** Records the call when the queue's policy says so (the recording capability). */
  record: (callId: string, queueId: string | null, agentId: string) => Promise<void>;
  wrapUpSeconds: (queueId: string | null) => Promise<number>;
}

export interface DialerDeps {
  ari: Ari;
  helpers: AriHelpers;
  registry: ChannelRegistry;
  media: Media;
  site: AsteriskSite;
  writes: WriteQueue;
  store: OutboundStore;
  logger: Logger;
  /** The dial string for an outside number (CENTRALITA_OUTBOUND_ENDPOINT). */
  endpoint: (number: string) => string;
}

export interface OutboundRequest {
  agentId: string;
  extension: string;
  /** As dialled: the number the trunk is given. */
  number: string;
  callerId: string;
  queueId: string | null;
  origin: OutboundOrigin;
  /**
   * The agent was available: their state follows the call (ringing, on_call,
   * wrap-up). A paused agent stays paused through it (no queue call comes).
   */
  followState: boolean;
}

type Phase = 'agent_ringing' | 'customer_ringing' | 'talking' | 'over';

interface Dial {
  callId: string;
  request: OutboundRequest;
  agentLeg: string;
  customerLeg: string;
  bridgeId: string;
  phase: Phase;
  /** The agent's state went to ringing (the API's call) or straight to on_call (the desk phone's). */
  agentState: 'offered' | 'on_call' | 'none';
  ringback: string | undefined;
  dialStatus: string | undefined;
  /** Why the customer was not reached, once known (the agent may hang up while being told). */
  failure: OutboundOutcome | undefined;
  answeredAt: Date | undefined;
  ended: Promise<void>;
  end: () => void;
}

/**
 * Places an agent's outbound call: the agent's phone first (unless the call
 * comes from the phone itself), then the customer on the trunk, both in one
 * mixing bridge. The call is one `calls` row (direction outbound) on the
 * agent's channel and one `outbound_calls` row; the agent is on_call for it
 * and wraps up after it; the call is linked in the registry so that it can
 * be monitored and recorded like a queue call.
 *
 * The dials in progress live in memory. After a restart of centralita,
 * `reconcile` takes up the calls an earlier process left talking (their
 * bridge `outbound-<callId>` still holds both legs) and closes the others;
 * until it has run, their agents count as busy (`leftOpen`, loaded from the
 * open rows at start) so that the queues' reconciliation leaves them on_call.
 */
export class OutboundDialer {
  private readonly byCall = new Map<string, Dial>();
  private readonly byChannel = new Map<string, Dial>();
  /** Calls an earlier process left open (callId → row), until the reconciliation judges them. */
  private readonly leftOpen = new Map<string, OutboundCallRow>();
  private readonly endListeners: Array<(callId: string, outcome: OutboundOutcome, answeredAt: Date | undefined) => void> = [];

  constructor(private readonly d: DialerDeps, private readonly ports: DialerPorts) {
    d.ari.on('Dial', (event) => {
      const dial = this.byChannel.get(event.peer.id);
      if (!dial || !event.dialstatus) return;
      if (event.peer.id === dial.agentLeg) {
        if (event.dialstatus === 'ANSWER') void this.agentAnswered(dial);
      } else if (event.peer.id === dial.customerLeg) {
        dial.dialStatus = event.dialstatus;
        if (event.dialstatus === 'ANSWER') void this.customerAnswered(dial);
      }
    });
    d.ari.on('ChannelDestroyed', (event) => {
      const dial = this.byChannel.get(event.channel.id);
      if (dial) void this.legGone(dial, event.channel.id, event.cause);
    });
  }

  /** Told of each call's end, its outcome and when the customer answered (the callbacks' and the preview's dialling). */
  onEnded(listener: (callId: string, outcome: OutboundOutcome, answeredAt: Date | undefined) => void): void {
    this.endListeners.push(listener);
  }

  /** Agents on an outbound call now (the queues leave them alone). */
  busyAgents(): string[] {
    return [...[...this.byCall.values()].map((d) => d.request.agentId), ...[...this.leftOpen.values()].map((r) => r.agent_id)];
  }

  /** At start: the calls an earlier process left open, judged at the first reconciliation. */
  async loadLeftOpen(): Promise<void> {
    for (const row of await this.d.store.open()) if (!this.byCall.has(row.call_id)) this.leftOpen.set(row.call_id, row);
  }

  /**
   * Each ARI (re)connection: this process's dials whose legs are gone end
   * (an Asterisk restart); calls an earlier process left are taken up when
   * both legs are still bridged, else closed and their agents freed.
   * Returns the channels it drives.
   */
  async reconcile(view: { channels: Channel[]; bridges: Bridge[] }): Promise<string[]> {
    const alive = new Map(view.channels.map((c) => [c.id, c]));
    for (const dial of [...this.byCall.values()]) {
      if (alive.has(dial.agentLeg) && (dial.phase === 'agent_ringing' || alive.has(dial.customerLeg))) continue;
      this.finish(dial, dial.answeredAt ? 'answered' : 'failed', 'system');
      await this.d.helpers.hangup(dial.agentLeg);
      await this.d.helpers.hangup(dial.customerLeg);
    }
    const driven: string[] = [];
    for (const row of [...this.leftOpen.values()]) {
      this.leftOpen.delete(row.call_id);
      const bridge = view.bridges.find((b) => b.id === `outbound-${row.call_id}`);
      const customer = bridge?.channels.find((id) => alive.get(id)?.dialplan.app_data.includes(customerLegArg));
      const agentLeg = bridge?.channels.find((id) => id !== customer && alive.has(id));
      if (bridge && customer && agentLeg && row.answered_at) {
        const request: OutboundRequest = {
          agentId: row.agent_id, extension: '', number: row.number, callerId: row.caller_id, queueId: row.queue_id, origin: row.origin, followState: true,
        };
        const dial = this.track(row.call_id, request, agentLeg, 'talking', customer);
        dial.agentState = 'on_call';
        dial.answeredAt = row.answered_at;
        this.d.registry.linkCall({
          kind: 'outbound', callId: row.call_id, agentId: row.agent_id, agentChannelId: agentLeg, callerChannelId: customer, bridgeId: bridge.id,
          ...(row.queue_id ? { queueId: row.queue_id } : {}),
        });
        void this.d.helpers.subscribe(agentLeg);
        void this.d.helpers.subscribe(customer);
        driven.push(agentLeg, customer);
        this.d.logger.info({ callId: row.call_id }, 'an outbound call left by an earlier run is taken up again');
        continue;
      }
      for (const id of bridge?.channels ?? []) await this.d.helpers.hangup(id);
      if (bridge) await this.d.helpers.destroyBridge(bridge.id);
      const at = new Date();
      void this.d.writes.enqueue(`outbound call ${row.call_id} closed`, this.d.store.ended(row.call_id, {
        at, outcome: row.answered_at ? 'answered' : 'failed', answeredAt: row.answered_at, endedBy: 'system',
      }));
      // The agent it held, if their state still names it.
      // Refused when the agent's state no longer names a call (checked out, or on another call since): nothing to correct then.
      await this.ports.agentCommand(row.agent_id, { type: 'callEnded', wrapUpEndsAt: null }, 'system').catch(() => undefined);
    }
    return driven;
  }

  isOurs(channelId: string): boolean {
    return this.byChannel.has(channelId);
  }

  /** Click-to-call: rings the agent's phone; the customer is dialled once the agent answers. Returns the call's id at once. */
  async fromApi(request: OutboundRequest): Promise<{ callId: string }> {
    const { ari, helpers, site } = this.d;
    const agentLeg = `outbound-${randomUUID()}`;
    const at = new Date();
    const callId = this.ports.callStarted({ channelId: agentLeg, callerId: request.callerId, number: request.number, at });
    const dial = this.track(callId, request, agentLeg, 'agent_ringing');
    void this.d.writes.enqueue(`outbound call ${callId} started`, this.d.store.started(this.row(callId, request, at)));
    // Refused (409) when the agent is no longer available: the phone does not ring.
    if (request.followState) {
      try {
        await this.ports.agentCommand(request.agentId, { type: 'offer', callId }, 'api');
        dial.agentState = 'offered';
      } catch (err) {
        this.finish(dial, 'cancelled', 'system');
        this.ports.callGone(agentLeg, new Date());
        throw err;
      }
    }
    try {
      await helpers.intoStasis(agentLeg, () => ari.request('channels.create', {
        endpoint: site.phone(request.extension), app: ari.app, appArgs: `${agentLegArg},${callId}`, channelId: agentLeg,
      }));
      // The agent's phone shows whom it is about to call.
      await this.callerId(agentLeg, request.number);
      void helpers.subscribe(agentLeg);
      await ari.request('channels.dial', { channelId: agentLeg, timeout: agentRingSeconds });
    } catch (err) {
      this.d.logger.warn({ err, callId, extension: request.extension }, 'could not ring the agent\'s phone for an outbound call');
      await helpers.hangup(agentLeg);
      this.finish(dial, 'failed', 'system');
      // The leg may never have existed: its call's end comes from no ChannelDestroyed.
      this.ports.callGone(agentLeg, new Date());
      throw conflict(`could not ring the agent's phone: ${(err as Error).message}`);
    }
    return { callId };
  }

  /**
   * `*` + number from the desk phone: the agent's own channel (in our
   * application, answered) calls the customer. Resolves when the call is over.
   */
  async fromPhone(channel: Channel, request: OutboundRequest): Promise<void> {
    const callId = this.ports.becameOutbound(channel.id, request.number);
    if (!callId) return;
    const dial = this.track(callId, request, channel.id, 'agent_ringing');
    void this.d.writes.enqueue(`outbound call ${callId} started`, this.d.store.started({ ...this.row(callId, request, new Date()), agent_answered_at: new Date() }));
    if (request.followState) {
      await this.ports.agentCommand(request.agentId, { type: 'answer', callId }, 'phone').then(() => {
        dial.agentState = 'on_call';
        if (dial.phase === 'over') void this.releaseAgent(dial);
      }, (err: unknown) => {
        this.d.logger.warn({ err: (err as Error).message, agentId: request.agentId }, 'the agent\'s state for their outbound call not applied');
      });
    }
    await this.dialCustomer(dial);
    await dial.ended;
  }

  private track(callId: string, request: OutboundRequest, agentLeg: string, phase: Phase, customerLeg = `outbound-${randomUUID()}`): Dial {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => { end = resolve; });
    const dial: Dial = {
      callId, request, agentLeg, customerLeg, bridgeId: `outbound-${callId}`, phase, agentState: 'none',
      ringback: undefined, dialStatus: undefined, failure: undefined, answeredAt: undefined, ended, end,
    };
    this.byCall.set(callId, dial);
    this.byChannel.set(agentLeg, dial);
    this.byChannel.set(dial.customerLeg, dial);
    return dial;
  }

  private row(callId: string, r: OutboundRequest, at: Date) {
    return {
      call_id: callId, agent_id: r.agentId, queue_id: r.queueId, number: r.number, caller_id: r.callerId, origin: r.origin,
      started_at: at, agent_answered_at: null, answered_at: null, ended_at: null, outcome: null, talk_seconds: null, ended_by: null,
    };
  }

  private async agentAnswered(dial: Dial): Promise<void> {
    if (dial.phase !== 'agent_ringing') return;
    const at = new Date();
    void this.d.writes.enqueue(`outbound call ${dial.callId} agent answered`, this.d.store.agentAnswered(dial.callId, at));
    if (dial.agentState === 'offered') {
      await this.ports.agentCommand(dial.request.agentId, { type: 'answer', callId: dial.callId }, 'api').then(() => {
        dial.agentState = 'on_call';
        // The call ended while the answer was being applied: free the agent now (finish found them only offered).
        if (dial.phase === 'over') void this.releaseAgent(dial);
      }, (err: unknown) => {
        this.d.logger.warn({ err: (err as Error).message, agentId: dial.request.agentId }, 'the agent\'s state on answering their outbound call not applied');
      });
    }
    await this.dialCustomer(dial);
  }

  /** The agent is on the line: into the call's bridge, ringback while the customer's line rings. */
  private async dialCustomer(dial: Dial): Promise<void> {
    const { ari, helpers, media } = this.d;
    if (dial.phase === 'over') return;
    dial.phase = 'customer_ringing';
    const { customerLeg, agentLeg, request } = dial;
    try {
      await ari.request('bridges.create', { type: 'mixing', bridgeId: dial.bridgeId, name: dial.bridgeId });
      await ari.request('bridges.addChannel', { bridgeId: dial.bridgeId, channel: agentLeg, absorbDTMF: true });
      dial.ringback = (await media.play(agentLeg, 'tone:ring')).playbackId;
      await helpers.intoStasis(customerLeg, () => ari.request('channels.create', {
        endpoint: this.d.endpoint(request.number), app: ari.app, appArgs: `${customerLegArg},${dial.callId}`, channelId: customerLeg,
      }));
      void helpers.subscribe(customerLeg);
      // The agent hung up meanwhile: the new leg goes too.
      if (dial.phase !== 'customer_ringing') return void (await helpers.hangup(customerLeg));
      await ari.request('bridges.addChannel', { bridgeId: dial.bridgeId, channel: customerLeg });
      // After joining the bridge, which passes the agent's identity on as the connected line.
      if (request.callerId) await this.callerId(customerLeg, request.callerId);
      // No `caller`: Asterisk would copy the agent leg's caller ID (the customer's number) over the connected line set above.
      await ari.request('channels.dial', { channelId: customerLeg, timeout: customerRingSeconds });
    } catch (err) {
      this.d.logger.warn({ err, callId: dial.callId }, 'could not dial the customer of an outbound call');
      await helpers.hangup(customerLeg);
      await this.failed(dial, 'failed');
    }
  }

  private async callerId(channelId: string, number: string): Promise<void> {
    // The INVITE's From is the channel's connected line (chan_pjsip), set before the dial.
    for (const variable of ['CONNECTEDLINE(num)', 'CONNECTEDLINE(name)']) {
      await this.d.ari.request('channels.setChannelVar', { channelId, variable, value: number });
    }
  }

  private async customerAnswered(dial: Dial): Promise<void> {
    if (dial.phase !== 'customer_ringing') return;
    dial.phase = 'talking';
    const at = new Date();
    dial.answeredAt = at;
    // The call counts as answered when the customer answers (the agent's answer is outbound_calls' agent_answered_at).
    this.ports.callAnswered(dial.agentLeg, at);
    if (dial.ringback) await this.d.media.stop(dial.ringback);
    void this.d.writes.enqueue(`outbound call ${dial.callId} answered`, this.d.store.answered(dial.callId, at));
    this.d.registry.linkCall({
      kind: 'outbound', callId: dial.callId, agentId: dial.request.agentId, agentChannelId: dial.agentLeg,
      callerChannelId: dial.customerLeg, bridgeId: dial.bridgeId, ...(dial.request.queueId ? { queueId: dial.request.queueId } : {}),
    });
    await this.ports.record(dial.callId, dial.request.queueId, dial.request.agentId).catch((err: unknown) => {
      this.d.logger.error({ err, callId: dial.callId }, 'could not start the outbound call\'s recording');
    });
  }

  /** The customer was not reached: the agent hears why, then the call ends. */
  private async failed(dial: Dial, outcome: OutboundOutcome): Promise<void> {
    if (dial.phase === 'over') return;
    dial.phase = 'over';
    dial.failure = outcome;
    if (dial.ringback) await this.d.media.stop(dial.ringback);
    await this.d.helpers.quietly('telling the agent the customer was not reached', { channelId: dial.agentLeg }, () => this.d.media.playToEnd(dial.agentLeg, spokenFailure(outcome)));
    this.finish(dial, outcome, 'system');
    await this.d.helpers.hangup(dial.agentLeg);
  }

  private async legGone(dial: Dial, channelId: string, cause: number): Promise<void> {
    this.byChannel.delete(channelId);
    if (channelId === dial.customerLeg) {
      if (dial.phase === 'customer_ringing') return void (await this.failed(dial, outcomeOf(dial.dialStatus, cause)));
      if (dial.phase === 'talking') {
        this.finish(dial, 'answered', 'customer');
        await this.d.helpers.hangup(dial.agentLeg);
      }
      return;
    }
    // The agent's leg.
    if (dial.phase === 'agent_ringing') return void this.finish(dial, 'agent_no_answer', 'agent');
    const wasTalking = dial.phase === 'talking';
    this.finish(dial, dial.failure ?? (wasTalking ? 'answered' : 'cancelled'), 'agent');
    await this.d.helpers.hangup(dial.customerLeg);
  }

  /** Writes the end, frees the agent (wrap-up after a conversation), forgets the call. */
  private finish(dial: Dial, outcome: OutboundOutcome, endedBy: 'agent' | 'customer' | 'system'): void {
    if (!this.byCall.has(dial.callId)) return;
    dial.phase = 'over';
    this.byCall.delete(dial.callId);
    const at = new Date();
    void this.d.writes.enqueue(`outbound call ${dial.callId} ended`, this.d.store.ended(dial.callId, { at, outcome, answeredAt: dial.answeredAt, endedBy }));
    this.d.registry.unlinkCall(dial.callId);
    void this.d.helpers.destroyBridge(dial.bridgeId);
    void this.releaseAgent(dial);
    dial.end();
    for (const listener of this.endListeners) listener(dial.callId, outcome, dial.answeredAt);
    // The legs' ChannelDestroyed may still come: they are forgotten once it has (legGone), or after a minute.
    setTimeout(() => { this.byChannel.delete(dial.agentLeg); this.byChannel.delete(dial.customerLeg); }, 60_000).unref();
  }

  private async releaseAgent(dial: Dial): Promise<void> {
    const { agentId, queueId } = dial.request;
    let command: AgentCommand | undefined;
    if (dial.agentState === 'offered') command = { type: 'withdraw' };
    else if (dial.agentState === 'on_call') {
      const seconds = dial.answeredAt ? await this.ports.wrapUpSeconds(queueId).catch(() => 0) : 0;
      command = { type: 'callEnded', wrapUpEndsAt: seconds > 0 ? new Date(Date.now() + seconds * 1000) : null };
    }
    dial.agentState = 'none';
    if (!command) return;
    await this.ports.agentCommand(agentId, command, 'system').catch((err: unknown) => {
      this.d.logger.warn({ err: (err as Error).message, agentId }, 'the agent\'s state after their outbound call not applied');
    });
  }
}
