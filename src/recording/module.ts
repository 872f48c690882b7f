import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { recordingCallRoutes } from './call-routes.js';
import { scheduleRetention } from './retention.js';
import { recordingRoutes } from './routes.js';
import { RecordingService } from './service.js';
import { RecordingsStore, type RecordingTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    recording: { store: RecordingsStore; service: RecordingService };
  }
}

/** Call recordings (by the route's or the queue's policy), their files, playback and retention. */
export const recordingModule: Module<'recording', 'queues' | 'calls' | 'ivr'> = {
  name: 'recording',
  needs: ['queues', 'calls', 'ivr'],
  tables: tablesOf<RecordingTables>({ recordings: true, recording_audit: true }),
  emits: ['recording.failed', 'recording.skipped', 'recording.completed'],
  consumes: ['queue.entry', 'token.revoked'],
  build({ ari, ariHelpers, stasis, channels, db, writes, bus, logger, config, queues, calls, ivr }) {
    const store = new RecordingsStore(db);
    const service = new RecordingService(ari, ariHelpers, stasis, channels, store, queues.store, calls.service, {
      // The route's policy, cached with the route (kept while the database is down).
      routePolicy: async (did) => (await ivr.store.getRoute(did))?.recording_policy ?? null,
    }, writes, config.recordingsDir, bus, logger.child({ component: 'recording' }), config.recordingsViaAri);
    return { store, service };
  },
  routes({ store, service }, { http, config, bus, logger, calls }) {
    recordingCallRoutes(http, service);
    recordingRoutes(http, {
      store, recordingsDir: config.recordingsDir, agentsHearOwn: config.agentsHearOwnRecordings, logger: logger.child({ component: 'recording' }), bus,
      callsOfCaller: (number) => calls.service.idsOfCaller(number),
    });
  },
  start({ store }, { config, logger, ha }) {
    return scheduleRetention(store, config.recordingsDir, logger.child({ component: 'recording' }), ha.held);
  },
};
