import { RoutedAri } from '../asterisk/media-servers.js';
import { recordingsDiskProbe } from '../recording/files.js';
import type { Module } from '../shared.js';
import { metricsRoutes } from './routes.js';
import { MetricsService } from './service.js';

declare module '../core/capability.js' {
  interface Capabilities {
    metrics: { service: MetricsService };
  }
}

/** Prometheus: counters from the bus's events, gauges read from the services at each scrape. */
export const metricsModule: Module<'metrics', 'calls' | 'agents' | 'queues' | 'auth'> = {
  name: 'metrics',
  needs: ['calls', 'agents', 'queues', 'auth'],
  tables: [],
  emits: [],
  consumes: ['call.started', 'call.ended', 'ivr.left', 'queue.entry', 'queue.connected', 'recording.failed', 'recording.skipped'],
  build({ bus, ari, ami, database, writes, config, logger, calls, agents, queues, ha }) {
    const service = new MetricsService(bus, {
      callsInProgress: () => calls.service.liveCalls(),
      agentStatuses: () => agents.service.allStates().map((s) => s.status),
      queues: () => queues.service.list(),
      waitSeconds: (queueId) => queues.engine.waiting(queueId).map((w) => w.waitSeconds),
      queueName: async (queueId) => (await queues.service.findQueue(queueId))?.name,
      ariUp: () => ari.state === 'up',
      standby: () => ha.role() === 'standby',
      amiUp: () => ami.state === 'up',
      ...(ari instanceof RoutedAri && ari.routed ? { mediaServers: () => ari.serverStates().map((s) => ({ name: s.name, up: s.state === 'up', lost: s.lost })) } : {}),
      dbUp: () => database.ping(),
      pendingWrites: () => writes.pending,
      journalBytes: () => writes.journalBytes,
      recordingsDisk: recordingsDiskProbe(config.recordingsDir, 0),
      onAriRequest: (handler) => ari.onRequest(handler),
      onDbStatement: (handler) => database.onStatement?.(handler) ?? (() => undefined),
    }, logger.child({ component: 'metrics' }));
    return { service };
  },
  routes({ service }, { http, config, auth }) {
    metricsRoutes(http, service, { auth: auth.service, token: config.metricsToken, behindProxy: config.trustProxy.length > 0 });
  },
  stop({ service }) {
    service.stop();
  },
};
