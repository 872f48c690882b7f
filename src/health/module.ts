import { RoutedAri } from '../asterisk/media-servers.js';
import { buildInfo } from '../core/version.js';
import { recordingsDiskProbe } from '../recording/files.js';
import type { Module } from '../shared.js';
import { healthRoutes, standbyGuard } from './routes.js';

declare module '../core/capability.js' {
  interface Capabilities {
    health: void;
  }
}

/** /health, /health/live and /health/leader: the infrastructure's state; a standby's refusal of writes (HA). */
export const healthModule: Module<'health'> = {
  name: 'health',
  needs: [],
  tables: [],
  emits: [],
  consumes: [],
  build() {},
  guard(_built, { http, ha }) {
    if (ha.role() !== 'single') standbyGuard(http, ha);
  },
  routes(_built, { http, database, ari, ami, writes, config, ha }) {
    healthRoutes(http, {
      ha,
      db: () => database.ping(),
      ari: () => ari.state,
      ami: () => ami.state === 'up',
      pendingWrites: () => writes.pending,
      ...(ari instanceof RoutedAri && ari.routed ? {
        mediaServers: () => ari.serverStates().map((s) => ({ name: s.name, state: s.lost ? 'lost' as const : s.state === 'up' ? 'up' as const : 'down' as const })),
      } : {}),
      recordingsDisk: recordingsDiskProbe(config.recordingsDir, config.recordingsMinFreeMb * 1024 * 1024),
      build: buildInfo,
    });
  },
};
