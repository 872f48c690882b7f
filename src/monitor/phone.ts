import type { AgentsService, AgentView } from '../agents/service.js';
import type { PhoneLogin } from '../agents/stasis.js';
import type { Channel } from '../asterisk/ari-types.generated.js';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Media } from '../asterisk/media.js';
import { defaultSite, type AsteriskSite } from '../asterisk/site.js';
import { HttpError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { MonitorRefusal, monitorPrompts, type MonitorService } from './service.js';
import type { MonitorMode } from './store.js';

const codes: Record<string, MonitorMode> = { 22: 'listen', 23: 'whisper', 24: 'barge' };

/** *22 listen, *23 whisper, *24 barge, each followed by the agent's number (or asked for). */
export const isMonitorCode = (code: string): boolean => /^\*2[234]/.test(code);

/**
 * Monitoring from the supervisor's desk phone. A phone bound to a supervisor
 * needs nothing more; any other phone asks for the supervisor's number and
 * PIN first. Every refusal is spoken; the call lasts as long as the session.
 */
export function monitorFeatureRoute(media: Media, digits: DigitCollector, agents: AgentsService, monitor: MonitorService, login: PhoneLogin, logger: Logger, site: AsteriskSite = defaultSite) {
  const speak = (channelId: string, sound: string) => media.playToEnd(channelId, [sound]);

  const supervisorOn = async (channelId: string, extension: string): Promise<AgentView | undefined> => {
    const bound = await agents.findBoundToExtension(extension);
    const row = bound?.is_supervisor ? bound : await login.ask(channelId, extension);
    if (!row) return undefined;
    if (!row.is_supervisor) {
      await speak(channelId, monitorPrompts.notSupervisor);
      return undefined;
    }
    return agents.getAgent(row.id);
  };

  return async (channel: Channel, code: string): Promise<void> => {
    const extension = site.extensionOfChannel(channel);
    const match = /^\*(2[234])(\d{0,10})$/.exec(code);
    if (!extension || !match) return void (await speak(channel.id, 'sound:pbx-invalid'));
    const mode = codes[match[1]!]!;
    await agents.duringFeatureCall(extension, async () => {
      const supervisor = await supervisorOn(channel.id, extension);
      if (!supervisor) return;
      const number = match[2] || (await digits.collect(channel.id, [monitorPrompts.askAgent], { maxDigits: 10, timeoutMs: 8000, terminator: '#' }));
      if (number === null) return;
      try {
        await monitor.startFromPhone(channel.id, supervisor, number, mode, extension);
      } catch (err) {
        if (!(err instanceof HttpError) || err.statusCode >= 500) throw err;
        logger.info({ extension, refused: err.message }, 'monitoring code refused');
        await speak(channel.id, err instanceof MonitorRefusal ? err.prompt : monitorPrompts.notAllowed);
      }
    });
  };
}
