import { tablesOf } from '../core/capability.js';
import { DirectCalls } from '../asterisk/direct-calls.js';
import type { Module } from '../shared.js';
import { monitorRoutes } from './routes.js';
import { MonitorService } from './service.js';
import { MonitorStore, type MonitorTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    monitor: { service: MonitorService };
  }
}

/** Supervisors listening, whispering and barging, and the audit of it. */
export const monitorModule: Module<'monitor', 'agents' | 'queues' | 'calls'> = {
  name: 'monitor',
  // queues: built (and reconciled) first, so their calls are in the registry when sessions are adopted.
  needs: ['agents', 'queues', 'calls'],
  tables: tablesOf<MonitorTables>({ monitor_sessions: true, monitor_segments: true }),
  emits: ['monitor.session'],
  // The calls it follows come from the call registry (linked by the queues, or found on a desk phone).
  consumes: ['agent.state', 'agent.access.removed'],
  build({ ari, ariHelpers, stasis, channels, media, db, writes, bus, logger, config, site, agents, calls, queues }) {
    const service = new MonitorService({
      ari, helpers: ariHelpers, router: stasis, registry: channels, direct: new DirectCalls(ari, ariHelpers, channels, site), media,
      agents: agents.service, calls: calls.service, store: new MonitorStore(db), writes, bus, logger: logger.child({ component: 'monitor' }),
      takeOver: async (callId, channelId, supervisorId) => {
        // The supervisor's own phone names where the call went; a deleted supervisor keeps the session's.
        const supervisor = await agents.service.getAgent(supervisorId).catch((err: unknown) => {
          logger.child({ component: 'monitor' }).warn({ err, supervisorId }, 'the supervisor taking a call over could not be read');
          return undefined;
        });
        await queues.engine.takeOver(callId, channelId, supervisor?.extension ?? supervisor?.number ?? 'supervisor');
      },
      canTakeOver: (callId) => queues.engine.canTakeOver(callId),
    }, { sameTeamOnly: config.monitorSameTeamOnly, followAgent: config.monitorFollowAgent, site });
    return { service };
  },
  routes({ service }, { http }) {
    monitorRoutes(http, service);
  },
  // Monitoring sessions follow the queue calls they listen to: adopted after them (module order).
  async reconcile({ service }, view, { logger }) {
    return service.reconcile(view).catch((err: unknown) => {
      logger.child({ component: 'monitor' }).error({ err }, 'monitoring reconciliation failed');
      return new Set<string>();
    });
  },
};
