import type { Ami } from '../asterisk/media-ami.js';
import { defaultSite, type AsteriskSite } from '../asterisk/site.js';
import type { Logger } from '../core/logger.js';
import { phoneCondition, type AgentsService } from './service.js';

/**
 * Desk phones' condition from AMI device states (their endpoint, PJSIP/<extension> by default): an
 * unregistered phone, or one that stopped answering qualify OPTIONS, is
 * UNAVAILABLE. On every AMI (re)connection the full list is read, since
 * changes made while the link was down are not replayed.
 */
export function watchPhones(ami: Ami, agents: AgentsService, logger: Logger, site: AsteriskSite = defaultSite): void {
  const feed = (device: string | undefined, state: string | undefined): void => {
    const extension = site.extensionOfDevice(device);
    const condition = phoneCondition(state ?? '');
    if (!extension || !condition) return;
    void agents.phoneChanged(extension, condition);
  };

  ami.onEvent((event) => {
    if (event.event === 'DeviceStateChange') feed(event.device, event.state);
  });

  ami.onConnected(async () => {
    const devices = await ami.listAction('DeviceStateList', 'DeviceStateListComplete');
    logger.debug({ devices: devices.length }, 'device states read');
  });
}
