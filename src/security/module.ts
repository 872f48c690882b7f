import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { securityRoutes } from './routes.js';
import { SecurityService } from './service.js';
import { SecurityStore, type SecurityTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    security: { service: SecurityService };
  }
}

/** The phone PIN lockout. */
export const securityModule: Module<'security'> = {
  name: 'security',
  needs: [],
  tables: tablesOf<SecurityTables>({ security_login_failures: true, security_lockouts: true }),
  emits: [],
  consumes: [],
  async build({ db, writes, logger }) {
    const service = new SecurityService(new SecurityStore(db), writes, logger.child({ component: 'security' }));
    // Its memory is rebuilt from its tables (the journal's writes applied
    // before the capabilities are built) before any phone is answered.
    await service.load();
    return { service };
  },
  routes({ service }, { http }) {
    securityRoutes(http, service);
  },
};
