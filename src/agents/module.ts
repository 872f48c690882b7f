import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { watchPhones } from './presence.js';
import { agentRoutes } from './routes.js';
import { AgentsService } from './service.js';
import { AgentsStore, type AgentsTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    agents: { store: AgentsStore; service: AgentsService };
  }
}

/** Agents, pause reasons, agent state (memory + agent_state_events) and their phones' device states (AMI). */
export const agentsModule: Module<'agents'> = {
  name: 'agents',
  needs: [],
  tables: tablesOf<AgentsTables>({ agents: true, pause_reasons: true, agent_state_events: true }),
  emits: ['agent.state', 'agent.access.removed'],
  consumes: [],
  async build({ db, lastKnown, writes, bus, logger, config, ami, site }) {
    const store = new AgentsStore(db, lastKnown);
    const service = new AgentsService(store, writes, bus, logger.child({ component: 'agents' }), {
      directCallWrapUpSeconds: config.directCallWrapUpSeconds,
    });
    // Each agent's last state row, before any phone or call is seen.
    await service.load();
    watchPhones(ami, service, logger.child({ component: 'agents' }), site);
    await lastKnown.warm([store]);
    return { store, service };
  },
  routes({ service }, { http }) {
    agentRoutes(http, service);
  },
  stop({ service }) {
    service.stop();
  },
};
