import { buildInfo } from '../core/version.js';
import { recordingsDiskProbe } from '../recording/files.js';
import type { Module } from '../shared.js';
import { healthRoutes } from './routes.js';

declare module '../core/capability.js' {
  interface Capabilities {
    health: void;
  }
}

/** /health and /health/live: the infrastructure's state. */
export const healthModule: Module<'health'> = {
  name: 'health',
  needs: [],
  tables: [],
  emits: [],
  consumes: [],
  build() {},
  routes(_built, { http, database, ari, ami, writes, config }) {
    healthRoutes(http, {
      db: () => database.ping(),
      ari: () => ari.state,
      ami: () => ami.state === 'up',
      pendingWrites: () => writes.pending,
      recordingsDisk: recordingsDiskProbe(config.recordingsDir, config.recordingsMinFreeMb * 1024 * 1024),
      build: buildInfo,
    });
  },
};
