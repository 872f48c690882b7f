import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { installAuth } from './http.js';
import { tokenRoutes } from './routes.js';
import { AuthService } from './service.js';
import { TokenStore, type AuthTables } from './store.js';
import { userRoutes } from './user-routes.js';
import { UsersService } from './users.js';
import { scheduleJob } from '../core/schedule.js';
import { UsersStore } from './users-store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    auth: { service: AuthService; users: UsersService };
  }
}

/** API tokens, the people who sign in to the pages, and roles: every /api/v1 route goes through its guard. */
export const authModule: Module<'auth', 'agents' | 'security'> = {
  name: 'auth',
  needs: ['agents', 'security'],
  tables: tablesOf<AuthTables>({ api_tokens: true, users: true, user_sessions: true }),
  emits: ['token.revoked'],
  consumes: ['agent.access.removed'],
  build({ db, config, bus, logger, writes, agents, security }) {
    const log = logger.child({ component: 'auth' });
    const service = new AuthService(new TokenStore(db), config.adminToken, bus, (id) => agents.service.access(id), log, config.authFailuresPerMinute);
    const users = new UsersService(new UsersStore(db), {
      access: (id) => agents.service.access(id),
      findByNumber: (number) => agents.service.findByNumber(number),
    }, security.service, writes, bus, log, { idleMs: config.sessionIdleMinutes * 60_000, maxMs: config.sessionMaxHours * 3_600_000 });
    // Offboarding: the tokens and sessions of an agent who lost access stop working at once.
    bus.on('agent.access.removed', ({ agentId, change }) => {
      void service.revokeBoundTo(agentId, change);
      void users.endSessionsOfAgent(agentId, change);
    });
    return { service, users };
  },
  start({ users }, { logger, ha }) {
    return scheduleJob('session-sweep', '*/5 * * * *', async () => {
      // A database outage skips a sweep (a warning, not an error): expired sessions also end at their next use.
      const ended = await users.sweep().catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'sessions past their expiry not swept: the database did not answer');
        return 0;
      });
      if (ended > 0) logger.info({ ended }, 'sessions past their expiry ended');
    }, logger, ha.held);
  },
  guard({ service, users }, { http }) {
    installAuth(http, service, users);
  },
  routes({ service, users }, { http, logger, config }) {
    tokenRoutes(http, service);
    userRoutes(http, users, logger.child({ component: 'auth' }), config.authFailuresPerMinute);
  },
};
