import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { installAuth } from './http.js';
import { tokenRoutes } from './routes.js';
import { AuthService } from './service.js';
import { TokenStore, type AuthTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    auth: { service: AuthService };
  }
}

/** API tokens and roles: every /api/v1 route goes through its guard. */
export const authModule: Module<'auth', 'agents'> = {
  name: 'auth',
  needs: ['agents'],
  tables: tablesOf<AuthTables>({ api_tokens: true }),
  emits: ['token.revoked'],
  consumes: ['agent.access.removed'],
  build({ db, config, bus, logger, agents }) {
    const service = new AuthService(new TokenStore(db), config.adminToken, bus, (id) => agents.service.access(id), logger.child({ component: 'auth' }), config.authFailuresPerMinute);
    // Offboarding: the tokens of an agent who lost access stop working at once.
    bus.on('agent.access.removed', ({ agentId, change }) => void service.revokeBoundTo(agentId, change));
    return { service };
  },
  guard({ service }, { http }) {
    installAuth(http, service);
  },
  routes({ service }, { http }) {
    tokenRoutes(http, service);
  },
};
