import type { Module } from '../shared.js';
import { webRoutes } from './routes.js';

declare module '../core/capability.js' {
  interface Capabilities {
    web: void;
  }
}

/** The pages (agent, supervisor, wallboard, admin): routes only. */
export const webModule: Module<'web', 'agents' | 'calls' | 'ivr' | 'queues'> = {
  name: 'web',
  needs: ['agents', 'calls', 'ivr', 'queues'],
  tables: [],
  emits: [],
  consumes: [],
  build() {},
  routes(_built, { http, agents, calls, ivr, queues }) {
    webRoutes(http, { agents: agents.service, calls: calls.service, ivr: ivr.service, engine: queues.engine, queues: queues.service });
  },
};
