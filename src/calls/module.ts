import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { callRoutes } from './routes.js';
import { CallsService } from './service.js';
import { CallsStore, type CallsTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    calls: { service: CallsService };
  }
}

/**
 * The calls' records (calls, call_events). Which capability takes a call
 * that enters through the dialplan is the dialplan module (dialplan.ts),
 * built once those capabilities exist.
 */
export const callsModule: Module<'calls'> = {
  name: 'calls',
  needs: [],
  tables: tablesOf<CallsTables>({ calls: true, call_events: true }),
  emits: ['call.started', 'call.answered', 'call.dtmf', 'call.ended'],
  consumes: [],
  build({ db, writes, bus, logger }) {
    return { service: new CallsService(new CallsStore(db), writes, bus, logger.child({ component: 'calls' })) };
  },
  routes({ service }, { http }) {
    callRoutes(http, service);
  },
};
