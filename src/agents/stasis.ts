import type { Channel } from '../asterisk/ari-types.generated.js';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Media } from '../asterisk/media.js';
import { HttpError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { verifyPin, type AgentsService } from './service.js';

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

/**
 * Desk-phone feature codes: *45 check in, *46 check out, *47 (+ reason
 * digit) pause, *48 ready. Every outcome is spoken, errors included, and a
 * refused request changes nothing.
 */
export function featureCodeRoute(media: Media, digits: DigitCollector, agents: AgentsService, logger: Logger) {
  // PIN guessing: wrong logins per phone, in memory (a restart forgives them).
  const wrongLogins = new Map<string, { count: number; since: number }>();
  const lockedOut = (extension: string): boolean => {
    const entry = wrongLogins.get(extension);
    if (entry && Date.now() - entry.since > lockoutMs) wrongLogins.delete(extension);
    return (wrongLogins.get(extension)?.count ?? 0) >= lockoutAfter;
  };
  const loginFailed = (extension: string): void => {
    const entry = wrongLogins.get(extension) ?? { count: 0, since: Date.now() };
    entry.count += 1;
    wrongLogins.set(extension, entry);
    if (entry.count === lockoutAfter) logger.warn({ extension, minutes: lockoutMs / 60_000 }, 'phone locked out of check-in after repeated wrong PINs');
  };
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
    for (let i = 0; i < loginAttempts; i += 1) {
      if (lockedOut(extension)) return void (await speak(channel.id, say.notNow));
      const number = await digits.collect(channel.id, [i === 0 ? say.askNumber : say.wrongLogin], { maxDigits: 10, timeoutMs: 8000 });
      if (number === null) return;
      const pin = number ? await digits.collect(channel.id, [say.askPin], { maxDigits: 12, timeoutMs: 8000 }) : '';
      if (pin === null) return;
      const agent = number ? await agents.findByNumber(number) : undefined;
      // The PIN is checked even for an unknown number, so both take as long.
      const pinOk = await verifyPin(pin, agent?.pin_hash ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
      if (agent && pinOk) {
        wrongLogins.delete(extension);
        if (await attempt(channel.id, () => agents.login(agent.id, extension, 'phone'), say.alreadyOn)) await speak(channel.id, say.loggedIn);
        return;
      }
      loginFailed(extension);
      logger.info({ extension, number }, 'phone check-in refused: wrong agent number or PIN');
    }
    await speak(channel.id, say.goodbye);
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
