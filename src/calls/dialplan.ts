import { featureCodeRoute, PhoneLogin } from '../agents/stasis.js';
import { isMonitorCode, monitorFeatureRoute } from '../monitor/phone.js';
import type { Channel } from '../asterisk/ari-types.generated.js';
import { LatePort } from '../core/late-port.js';
import { outboundCode } from '../outbound/service.js';
import type { Module } from '../shared.js';
import { registerCallHandlers } from './stasis.js';

declare module '../core/capability.js' {
  interface Capabilities {
    dialplan: { login: PhoneLogin; outboundPhone: LatePort<OutboundPhone> };
  }
}

/** `*` + number on a desk phone: the outbound capability's (built after the recording, which it needs). */
export type OutboundPhone = (channel: Channel, extension: string, number: string) => Promise<void>;

/**
 * The calls the dialplan sends (`did`, `feature`): recorded by the calls
 * capability, then a DID to the IVR, a feature code to the agents' or the
 * monitoring's phone codes; and each (re)connection's reconciliation, where
 * every capability's part (Shared.reconcile) runs after the calls' own. A
 * module of its own so that the calls' records come before the IVR and the
 * queues, which use them, and the routing after them.
 */
export const dialplanModule: Module<'dialplan', 'calls' | 'ivr' | 'agents' | 'security' | 'monitor' | 'queues'> = {
  name: 'dialplan',
  needs: ['calls', 'ivr', 'agents', 'security', 'monitor', 'queues'],
  tables: [],
  emits: [],
  consumes: [],
  build({ ari, ariHelpers, stasis, channels, media, digits, site, logger, reconcile, calls, ivr, agents, security, monitor, queues }) {
    const agentsLogger = logger.child({ component: 'agents' });
    const login = new PhoneLogin(media, digits, agents.service, security.service, agentsLogger);
    const agentFeatures = featureCodeRoute(media, digits, agents.service, agentsLogger, login, site, (agentId, code) => queues.engine.dispositionByPhone(agentId, code));
    const monitorFeatures = monitorFeatureRoute(media, digits, agents.service, monitor.service, login, logger.child({ component: 'monitor' }), site);
    const outboundPhone = new LatePort<OutboundPhone>('dialplan.outboundPhone');
    registerCallHandlers(ari, { helpers: ariHelpers, router: stasis, registry: channels }, calls.service, logger.child({ component: 'calls' }), {
      did: (channel, did, resumed) => (resumed ? ivr.service.resumeDid(channel, did) : ivr.service.answerDid(channel, did)),
      feature: (channel, code) => {
        const number = outboundCode(code);
        const extension = site.extensionOfChannel(channel);
        if (number && extension) return outboundPhone.get()(channel, extension, number);
        return isMonitorCode(code) ? monitorFeatures(channel, code) : agentFeatures(channel, code);
      },
      reconciled: (view) => reconcile(view),
    });
    return { login, outboundPhone };
  },
};
