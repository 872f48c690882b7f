import type { Channel } from '../asterisk/ari-types.generated.js';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Media } from '../asterisk/media.js';
import { HttpError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { verifyPin, type AgentsService } from './service.js';
import type { AgentRow } from './store.js';

/** The desk phone a channel comes from: PJSIP/1001-0000002a → 1001. */
export function extensionOf(channel: Pick<Channel, 'name'>): string | undefined {
  return /^PJSIP\/(.+)-[0-9a-f]+$/i.exec(channel.name)?.[1];
}

/** What the phone user hears; `centralita/…` are the project's own prompts (sounds/). */
const say = {
  loggedIn: 'sound:agent-loginok',
  alreadyOn: 'sound:agent-alreadyon',
  loggedOff: 'sound:agent-loggedoff',
  askNumber: 'sound:agent-user',
  askPin: 'sound:agent-pass',
  wrongLogin: 'sound:agent-incorrect',
  goodbye: 'sound:vm-goodbye',
  paused: 'sound:centralita/agent-paused',
  pausePending: 'sound:centralita/pause-pending',
  available: 'sound:centralita/agent-available',
  notLoggedIn: 'sound:centralita/agent-not-logged-in',
  notNow: 'sound:centralita/agent-not-now',
  askPauseCode: 'sound:centralita/pause-enter-code',
  badPauseCode: 'sound:centralita/pause-invalid-code',
  unreachable: 'sound:centralita/agent-unreachable',
  unknownCode: 'sound:pbx-invalid',
} as const;

const loginAttempts = 3;
/** Wrong logins from one phone before it is locked out, and for how long. */
const lockoutAfter = 6;
const lockoutMs = 10 * 60_000;
const noSuchPin = 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/**
 * Asks a phone user for their agent number and PIN (up to three tries),
 * with a lockout per phone against PIN guessing (in memory: a restart
 * forgives). Shared by check-in and supervisors' monitoring codes.
 */
export class PhoneLogin {
  private readonly wrongLogins = new Map<string, { count: number; since: number }>();

  constructor(private readonly media: Media, private readonly digits: DigitCollector, private readonly agents: AgentsService, private readonly logger: Logger) {}

  lockedOut(extension: string): boolean {
    const entry = this.wrongLogins.get(extension);
    if (entry && Date.now() - entry.since > lockoutMs) this.wrongLogins.delete(extension);
    return (this.wrongLogins.get(extension)?.count ?? 0) >= lockoutAfter;
  }

  private failed(extension: string): void {
    const entry = this.wrongLogins.get(extension) ?? { count: 0, since: Date.now() };
    entry.count += 1;
    this.wrongLogins.set(extension, entry);
    if (entry.count === lockoutAfter) this.logger.warn({ extension, minutes: lockoutMs / 60_000 }, 'phone locked out of agent logins after repeated wrong PINs');
  }

  /** The agent who keyed a right number and PIN; undefined after the last wrong try (goodbye said), a lockout (said) or a hang-up. */
  async ask(channelId: string, extension: string): Promise<AgentRow | undefined> {
    for (let i = 0; i < loginAttempts; i += 1) {
      if (this.lockedOut(extension)) return void (await this.media.playToEnd(channelId, [say.notNow]));
      const number = await this.digits.collect(channelId, [i === 0 ? say.askNumber : say.wrongLogin], { maxDigits: 10, timeoutMs: 8000 });
      if (number === null) return undefined;
      const pin = number ? await this.digits.collect(channelId, [say.askPin], { maxDigits: 12, timeoutMs: 8000 }) : '';
      if (pin === null) return undefined;
      const agent = number ? await this.agents.findByNumber(number) : undefined;
      // The PIN is checked even for an unknown number, so both take as long.
      const pinOk = await verifyPin(pin, agent?.pin_hash ?? noSuchPin);
      if (agent && pinOk) {
        this.wrongLogins.delete(extension);
        return agent;
      }
      this.failed(extension);
      this.logger.info({ extension, number }, 'phone login refused: wrong agent number or PIN');
    }
    await this.media.playToEnd(channelId, [say.goodbye]);
    return undefined;
  }
}

/**
 * Desk-phone feature codes: *45 check in, *46 check out, *47 (+ reason
 * digit) pause, *48 ready. Every outcome is spoken, errors included, and a
 * refused request changes nothing.
 */
export function featureCodeRoute(media: Media, digits: DigitCollector, agents: AgentsService, logger: Logger, login: PhoneLogin) {
  const speak = (channelId: string, sound: string) => media.playToEnd(channelId, [sound]);

  /** Runs a state change; a refusal (409) is spoken, not thrown. */
  const attempt = async (channelId: string, change: () => Promise<unknown>, refused: string): Promise<boolean> => {
    try {
      await change();
      return true;
    } catch (err) {
      if (!(err instanceof HttpError) || err.statusCode >= 500) throw err;
      logger.info({ channelId, refused: err.message }, 'feature code refused');
      await speak(channelId, refused);
      return false;
    }
  };

  const checkIn = async (channel: Channel, extension: string): Promise<void> => {
    if (agents.agentOnExtension(extension)) return void (await speak(channel.id, say.alreadyOn));
    const bound = await agents.findBoundToExtension(extension);
    if (bound) {
      if (await attempt(channel.id, () => agents.login(bound.id, extension, 'phone'), say.alreadyOn)) await speak(channel.id, say.loggedIn);
      return;
    }
    if (login.lockedOut(extension)) return void (await speak(channel.id, say.notNow));
    const agent = await login.ask(channel.id, extension);
    if (agent && await attempt(channel.id, () => agents.login(agent.id, extension, 'phone'), say.alreadyOn)) await speak(channel.id, say.loggedIn);
  };

  const pause = async (channel: Channel, agentId: string, typedCode: string): Promise<void> => {
    const code = typedCode || (await digits.collect(channel.id, [say.askPauseCode], { maxDigits: 2, timeoutMs: 6000 }));
    if (code === null) return;
    const reason = code ? await agents.pauseReasonByCode(code) : undefined;
    if (!reason) return void (await speak(channel.id, say.badPauseCode));
    let pending = false;
    const done = await attempt(channel.id, async () => {
      pending = (await agents.pause(agentId, reason.name, 'phone')).status !== 'paused';
    }, say.notNow);
    if (done) await speak(channel.id, pending ? say.pausePending : say.paused);
  };

  return async (channel: Channel, code: string): Promise<void> => {
    const extension = extensionOf(channel);
    const feature = /^\*(4[5-8])(\d*)$/.exec(code);
    if (!extension || !feature) return void (await speak(channel.id, say.unknownCode));
    return agents.duringFeatureCall(extension, () => runFeature(channel, extension, feature[1]!, feature[2] ?? ''));
  };

  async function runFeature(channel: Channel, extension: string, which: string, rest: string): Promise<void> {
    if (which === '45') return checkIn(channel, extension);
    const agentId = agents.agentOnExtension(extension);
    if (!agentId) return void (await speak(channel.id, say.notLoggedIn));
    if (which === '46') {
      if (await attempt(channel.id, () => agents.command(agentId, { type: 'logout' }, 'phone'), say.notNow)) await speak(channel.id, say.loggedOff);
    } else if (which === '47') {
      await pause(channel, agentId, rest);
    } else if (await attempt(channel.id, () => agents.command(agentId, { type: 'ready' }, 'phone'),
      agents.stateOf(agentId).reason === 'unreachable' ? say.unreachable : say.notNow)) {
      await speak(channel.id, say.available);
    }
  }
}
