import type { Module } from '../shared.js';
import { scheduleEventRetention } from './events.js';

declare module '../core/capability.js' {
  interface Capabilities {
    retention: void;
  }
}

/**
 * The event retention (CENTRALITA_EVENT_RETENTION_DAYS): a job over every
 * capability's event tables through their stores (docs/architecture.md, the
 * exceptions); it owns no table.
 */
export const retentionModule: Module<'retention'> = {
  name: 'retention',
  needs: [],
  tables: [],
  emits: [],
  consumes: [],
  build() {},
  start(_built, { db, config, logger, ha }) {
    return scheduleEventRetention(db, config.eventRetentionDays, logger.child({ component: 'retention' }), ha.held);
  },
};
