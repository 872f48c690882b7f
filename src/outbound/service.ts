import type { Channel } from '../asterisk/ari-types.generated.js';
import type { Media } from '../asterisk/media.js';
import { badRequest, conflict, forbidden, HttpError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { OutboundDialer } from './dialer.js';
import type { OutboundCallRow, OutboundStore } from './store.js';

/** What the service asks of the agents and queues (ports, bound in module.ts). */
export interface OutboundPorts {
  /** The agent's current phone and state; undefined for an unknown agent. */
  agent: (agentId: string) => Promise<{ extension: string | null; status: string } | undefined>;
  agentOnExtension: (extension: string) => string | undefined;
  mayDial: (agentId: string, number: string) => Promise<boolean>;
  queueExists: (queueId: string) => Promise<boolean>;
  /** Whether the agent is on an outbound call already, or in a campaign session. */
  busyOutbound: (agentId: string) => boolean;
  /** The global do-not-call list's number a number as dialled is, if any (campaigns' DncService). */
  doNotCall: (number: string) => Promise<string | undefined>;
}

export interface OutboundCallView {
  callId: string;
  agentId: string;
  queueId: string | null;
  number: string;
  callerId: string;
  origin: string;
  startedAt: string;
  agentAnsweredAt: string | null;
  answeredAt: string | null;
  endedAt: string | null;
  outcome: string | null;
  talkSeconds: number | null;
  endedBy: string | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
export const outboundView = (r: OutboundCallRow): OutboundCallView => ({
  callId: r.call_id, agentId: r.agent_id, queueId: r.queue_id, number: r.number, callerId: r.caller_id, origin: r.origin,
  startedAt: r.started_at.toISOString(), agentAnsweredAt: iso(r.agent_answered_at), answeredAt: iso(r.answered_at), endedAt: iso(r.ended_at),
  outcome: r.outcome, talkSeconds: r.talk_seconds, endedBy: r.ended_by,
});

/** A number as typed (spaces, dashes, dots, brackets allowed) → as dialled: digits, optionally after a +. */
export function dialledNumber(typed: string): string | undefined {
  const number = typed.replace(/[\s().-]/g, '');
  return /^\+?[0-9]{3,20}$/.test(number) ? number : undefined;
}

/** `*` + number from a desk phone: a code that is none of the agents' (*45-*49) or monitoring's (*22-*24) codes. */
export function outboundCode(code: string): string | undefined {
  const m = /^\*([0-9]{3,20})$/.exec(code);
  return m && !/^(2[234]|4[5-9])/.test(m[1]!) ? m[1] : undefined;
}

const say = {
  notAllowed: 'sound:centralita/outbound-not-allowed',
  notLoggedIn: 'sound:centralita/agent-not-logged-in',
  notNow: 'sound:centralita/agent-not-now',
  failed: 'sound:centralita/outbound-failed',
  doNotCall: 'sound:centralita/outbound-do-not-call',
} as const;

/**
 * Click-to-call and the desk phone's `*` + number (docs/outbound.md): who
 * may call what, then the dialer places the call.
 */
export class OutboundService {
  constructor(
    private readonly store: OutboundStore,
    private readonly dialer: OutboundDialer,
    private readonly ports: OutboundPorts,
    private readonly options: { endpoint: string | undefined; callerId: string },
    private readonly logger: Logger,
  ) {}

  async clickToCall(input: { agentId: string; number: string; queueId?: string }, by: { role: string; agentId: string | null }): Promise<{ callId: string }> {
    if (by.role === 'agent' && by.agentId !== input.agentId) throw forbidden('an agent may place calls only from their own phone');
    const number = dialledNumber(input.number);
    if (!number) throw badRequest('body/number: must be a phone number (3 to 20 digits, optionally after a +; spaces and dashes are ignored)');
    const agent = await this.ports.agent(input.agentId);
    if (!agent) throw notFound('agent');
    if (input.queueId && !(await this.ports.queueExists(input.queueId))) throw notFound('queue');
    if (!(await this.ports.mayDial(input.agentId, number))) throw forbidden(`body/number: ${number} is outside the agent's dialing rights`);
    const listed = await this.ports.doNotCall(number);
    if (listed) throw conflict(`body/number: ${number} is on the do-not-call list (as ${listed})`);
    if (!this.options.endpoint) throw conflict('outbound calls are not set up (CENTRALITA_OUTBOUND_ENDPOINT)');
    if (!agent.extension) throw conflict('the agent is not checked in on a phone');
    if (agent.status !== 'available' && agent.status !== 'paused') throw conflict(`the agent is ${agent.status}; only an available or paused agent can place a call`);
    if (this.ports.busyOutbound(input.agentId)) throw conflict('the agent is on an outbound call already, or in a campaign session');
    return this.dialer.fromApi({
      agentId: input.agentId, extension: agent.extension, number, callerId: this.options.callerId, queueId: input.queueId ?? null, origin: 'api',
      followState: agent.status === 'available',
    });
  }

  /** `*` + number on the desk phone: every refusal is spoken. */
  async fromPhone(channel: Channel, extension: string, number: string, media: Media): Promise<void> {
    const speak = (sound: string) => media.playToEnd(channel.id, [sound]);
    const agentId = this.ports.agentOnExtension(extension);
    if (!agentId) return void (await speak(say.notLoggedIn));
    if (!this.options.endpoint) return void (await speak(say.failed));
    const agent = await this.ports.agent(agentId);
    if (agent?.status !== 'available' && agent?.status !== 'paused') return void (await speak(say.notNow));
    if (!(await this.ports.mayDial(agentId, number))) {
      this.logger.info({ agentId, number }, 'an outbound call from the desk phone is outside the agent\'s dialing rights');
      return void (await speak(say.notAllowed));
    }
    const listed = await this.ports.doNotCall(number);
    if (listed) {
      this.logger.info({ agentId, number, listed }, 'an outbound call from the desk phone is to a number on the do-not-call list');
      return void (await speak(say.doNotCall));
    }
    try {
      await this.dialer.fromPhone(channel, { agentId, extension, number, callerId: this.options.callerId, queueId: null, origin: 'phone', followState: agent.status === 'available' });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      await speak(say.notNow);
    }
  }

  async get(callId: string): Promise<OutboundCallView> {
    const row = await this.store.get(callId);
    if (!row) throw notFound('outbound call');
    return outboundView(row);
  }

  async list(filter: { agentId?: string; from?: Date; to?: Date; limit: number; offset: number }, by: { role: string; agentId: string | null }): Promise<OutboundCallView[]> {
    if (by.role === 'agent' && filter.agentId !== by.agentId) throw forbidden('an agent may list only their own calls (agentId)');
    return (await this.store.list(filter)).map(outboundView);
  }
}
