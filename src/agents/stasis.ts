import type { Channel } from '../asterisk/ari-types.generated.js';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Media } from '../asterisk/media.js';
import { defaultSite, type AsteriskSite } from '../asterisk/site.js';
import { HttpError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { LockView, SecurityService } from '../security/service.js';
import { verifyPin, type AgentsService } from './service.js';
import type { AgentRow } from './store.js';

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
  dispositionSaved: 'sound:centralita/disposition-saved',
  dispositionUnknown: 'sound:centralita/disposition-invalid-code',
  dispositionNoCall: 'sound:centralita/disposition-no-call',
  dispositionNoteNeeded: 'sound:centralita/disposition-note-needed',
} as const;

/** The queues' *49 code #: sets the wrap-up code of the agent's call (a port: the agents know no queues). */
export type PhoneDisposition = (agentId: string, code: string) => Promise<'set' | 'no_call' | 'unknown_code' | 'note_needed'>;

const loginAttempts = 3;
const noSuchPin = 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/**
 * Asks a phone user for their agent number and PIN (up to three tries).
 * Shared by check-in and supervisors' monitoring codes. Guessing is held back
 * by the security capability's lockout (per agent number and per phone,
 * stored): a locked phone or number hears "not now" and no PIN is checked.
 */
export class PhoneLogin {
  constructor(private readonly media: Media, private readonly digits: DigitCollector, private readonly agents: AgentsService, private readonly security: SecurityService, private readonly logger: Logger) {}

  /** Says "not now" and logs when a lock is in force; true then. */
  private async refused(channelId: string, extension: string, lock: LockView | undefined): Promise<boolean> {
    if (!lock) return false;
    this.logger.info({ extension, kind: lock.kind, subject: lock.subject, until: lock.until }, 'phone login refused: locked out after repeated wrong PINs');
    await this.media.playToEnd(channelId, [say.notNow]);
    return true;
  }

  /** The agent who keyed a right number and PIN; undefined after the last wrong try (goodbye said), a lockout (said) or a hang-up. */
  async ask(channelId: string, extension: string): Promise<AgentRow | undefined> {
    for (let i = 0; i < loginAttempts; i += 1) {
      if (await this.refused(channelId, extension, this.security.phoneLock(extension))) return undefined;
      const number = await this.digits.collect(channelId, [i === 0 ? say.askNumber : say.wrongLogin], { maxDigits: 10, timeoutMs: 8000 });
      if (number === null) return undefined;
      // A locked number is refused before its PIN is asked for.
      if (number && await this.refused(channelId, extension, this.security.numberLock(number))) return undefined;
      const pin = number ? await this.digits.collect(channelId, [say.askPin], { maxDigits: 12, timeoutMs: 8000 }) : '';
      if (pin === null) return undefined;
      const agent = number ? await this.agents.findByNumber(number) : undefined;
      // The PIN is checked even for an unknown number, so both take as long.
      const pinOk = await verifyPin(pin, agent?.pin_hash ?? noSuchPin);
      // Asked again: another phone may have locked the number (or this phone
      // a parallel call) meanwhile; a guess that raced the lock is not taken.
      const raced = this.security.phoneLock(extension) ?? (number ? this.security.numberLock(number) : undefined);
      if (await this.refused(channelId, extension, raced)) return undefined;
      const attempt = { extension, number: number || null };
      if (agent && pinOk) {
        this.security.loginSucceeded(attempt);
        return agent;
      }
      this.security.loginFailed(attempt);
    }
    await this.media.playToEnd(channelId, [say.goodbye]);
    return undefined;
  }
}

/**
 * Desk-phone feature codes: *45 check in, *46 check out, *47 (+ reason
 * digit) pause, *48 ready, *49 (+ code) the wrap-up code of the call just
 * ended. Every outcome is spoken, errors included, and a refused request
 * changes nothing.
 */
export function featureCodeRoute(
  media: Media, digits: DigitCollector, agents: AgentsService, logger: Logger, login: PhoneLogin, site: AsteriskSite = defaultSite,
  disposition?: PhoneDisposition,
) {
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

  const dispositionSaid = { set: say.dispositionSaved, no_call: say.dispositionNoCall, unknown_code: say.dispositionUnknown, note_needed: say.dispositionNoteNeeded } as const;
  const setDisposition = async (channel: Channel, agentId: string, code: string): Promise<void> => {
    if (!disposition || !code) return void (await speak(channel.id, code ? say.dispositionNoCall : say.dispositionUnknown));
    const result = await disposition(agentId, code);
    logger.info({ agentId, code, result }, 'wrap-up code keyed on the phone');
    await speak(channel.id, dispositionSaid[result]);
  };

  return async (channel: Channel, code: string): Promise<void> => {
    const extension = site.extensionOfChannel(channel);
    const feature = /^\*(4[5-9])(\d*)$/.exec(code);
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
    } else if (which === '49') {
      await setDisposition(channel, agentId, rest);
    } else if (await attempt(channel.id, () => agents.command(agentId, { type: 'ready' }, 'phone'),
      agents.stateOf(agentId).reason === 'unreachable' ? say.unreachable : say.notNow)) {
      await speak(channel.id, say.available);
    }
  }
}
