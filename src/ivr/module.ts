import { tablesOf } from '../core/capability.js';
import { AllowList, OutboundPolicy } from '../core/outbound.js';
import { promptMedia } from '../prompts/service.js';
import type { Module } from '../shared.js';
import { ivrRoutes } from './routes.js';
import { IvrService } from './service.js';
import { IvrStore, type IvrTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    ivr: { store: IvrStore; service: IvrService };
  }
}

/** IVR flows, their versions, the DID routes and the calls' traces through them. */
export const ivrModule: Module<'ivr', 'calls' | 'prompts' | 'queues'> = {
  name: 'ivr',
  needs: ['calls', 'prompts', 'queues'],
  tables: tablesOf<IvrTables>({ ivr_flows: true, ivr_flow_versions: true, ivr_routes: true, ivr_traces: true }),
  emits: ['ivr.left'],
  consumes: [],
  async build({ ari, digits, media, db, lastKnown, writes, bus, logger, config, site, clock, calls, prompts, queues }) {
    const ivrLogger = logger.child({ component: 'ivr' });
    const store = new IvrStore(db, lastKnown);
    const service = new IvrService(store, writes, calls.service, media, {
      ari, digits, logger: ivrLogger, promptMedia, transferContext: site.transferContext, clock,
      queue: (call, request) => queues.service.enterFromIvr(call, request),
      outbound: new OutboundPolicy(new AllowList(config.lookupAllow), { setting: 'CENTRALITA_LOOKUP_ALLOW' }),
    }, ivrLogger, config.defaultLanguage, (name) => prompts.service.exists(name), (idOrName) => queues.service.queueExists(idOrName), bus);
    // The queues' overflows into flows (a cycle: the queues were built first).
    queues.ivrFlows.bind(service);
    // Which flows play each prompt (the prompts refuse to delete one in use).
    prompts.usage.add(() => service.promptUsage());
    await lastKnown.warm([store]);
    return { store, service };
  },
  routes({ service }, { http }) {
    ivrRoutes(http, service);
  },
};
