import { tablesOf } from '../core/capability.js';
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
  needs: ['agents', 'queues', 'calls'],
  tables: tablesOf<MonitorTables>({ monitor_sessions: true, monitor_segments: true }),
  emits: ['monitor.session'],
  consumes: ['queue.entry', 'queue.connected', 'agent.access.removed'],
  build({ ari, ariHelpers, stasis, media, db, writes, bus, logger, config, site, agents, queues, calls }) {
    const service = new MonitorService(ari, ariHelpers, stasis, media, agents.service, queues.engine, calls.service, new MonitorStore(db), writes, bus, logger.child({ component: 'monitor' }), {
      sameTeamOnly: config.monitorSameTeamOnly, followAgent: config.monitorFollowAgent, site,
    });
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
