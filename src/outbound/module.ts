import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { agentLegArg, customerLegArg, OutboundDialer } from './dialer.js';
import { outboundRoutes } from './routes.js';
import { OutboundService } from './service.js';
import { OutboundStore, type OutboundTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    outbound: { store: OutboundStore; service: OutboundService; dialer: OutboundDialer };
  }
}

/**
 * Outbound calls (docs/outbound.md): click-to-call from the API and the desk
 * page, `*` + number from the desk phone (through the dialplan's
 * `outboundPhone` port); the agent's phone first, then the customer on the
 * trunk (CENTRALITA_OUTBOUND_ENDPOINT).
 */
export const outboundModule: Module<'outbound', 'calls' | 'agents' | 'queues' | 'recording' | 'dialplan'> = {
  name: 'outbound',
  needs: ['calls', 'agents', 'queues', 'recording', 'dialplan'],
  tables: tablesOf<OutboundTables>({ outbound_calls: true }),
  emits: [],
  consumes: [],
  async build({ config, ari, ariHelpers, channels, stasis, media, site, writes, db, logger, calls, agents, queues, recording, dialplan }) {
    const outboundLogger = logger.child({ component: 'outbound' });
    const store = new OutboundStore(db);
    const template = config.outbound.endpoint;
    stasis.claim(agentLegArg, { role: 'agent' });
    stasis.claim(customerLegArg, { role: 'caller' });
    const dialer = new OutboundDialer({
      ari, helpers: ariHelpers, registry: channels, media, site, writes, store, logger: outboundLogger,
      endpoint: (number) => (template ?? '').replace('${number}', number),
    }, {
      callStarted: ({ channelId, callerId, number, at }) => calls.service.callArrived({
        channelId, direction: 'outbound', callerNumber: callerId, callerName: '', did: null, language: null, at, calledNumber: number,
      }).id,
      becameOutbound: (channelId, number) => calls.service.becameOutbound(channelId, number),
      callAnswered: (channelId, at) => calls.service.callAnswered(channelId, at),
      agentCommand: (agentId, command, source) => agents.service.command(agentId, command, source),
      record: (callId, queueId, agentId) => recording.service.recordOutbound(callId, queueId, agentId),
      wrapUpSeconds: async (queueId) => (queueId ? (await queues.store.get(queueId))?.wrap_up_seconds ?? 0 : config.directCallWrapUpSeconds),
    });
    queues.engine.busyOutside.push(() => dialer.busyAgents());
    const service = new OutboundService(store, dialer, {
      agent: async (agentId) => {
        await agents.service.getAgent(agentId); // 404 for an unknown agent
        const presence = agents.service.presence(agentId);
        return { extension: presence.extension, status: presence.status };
      },
      agentOnExtension: (extension) => agents.service.agentOnExtension(extension),
      mayDial: (agentId, number) => agents.service.mayDial(agentId, number),
      queueExists: async (queueId) => (await queues.store.get(queueId)) !== undefined,
    }, config.outbound, outboundLogger);
    await dialer.loadLeftOpen();
    dialplan.outboundPhone.bind((channel, extension, number) => service.fromPhone(channel, extension, number, media));
    return { store, service, dialer };
  },
  routes({ service }, { http }) {
    void outboundRoutes(http, { outbound: service });
  },
  async reconcile({ dialer }, view) {
    return dialer.reconcile(view);
  },
};
