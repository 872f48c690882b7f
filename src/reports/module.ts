import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { liveStats, pushLiveStats, type LiveStats } from './live.js';
import { reportRoutes } from './routes.js';
import { scheduleRollups } from './schedule.js';
import { ReportsService } from './service.js';
import type { ReportsTables } from './tables.js';

declare module '../core/capability.js' {
  interface Capabilities {
    reports: { service: ReportsService; live: () => Promise<LiveStats> };
  }
}

/**
 * Reports: the read model over the other capabilities' event tables (its
 * rollups read them; docs/architecture.md, the exceptions) and the
 * wallboard's live figures.
 */
export const reportsModule: Module<'reports', 'agents' | 'queues' | 'calls'> = {
  name: 'reports',
  needs: ['agents', 'queues', 'calls'],
  tables: tablesOf<ReportsTables>({
    report_queue_15m: true, report_agent_15m: true, report_agent_pause_15m: true,
    report_queue_day: true, report_agent_day: true, report_agent_pause_day: true,
    report_rollup_state: true, report_dirty: true, report_events_purged: true,
    report_survey_15m: true, report_survey_question_15m: true,
  }),
  emits: ['stats.live'],
  consumes: ['agent.state', 'queue.entry'],
  build({ db, config, logger, agents, queues, calls }) {
    const service = new ReportsService(db, { timezone: config.timezone, shortAbandonSeconds: config.shortAbandonSeconds }, logger.child({ component: 'reports' }));
    const live = () => liveStats({
      queues: queues.service, agents: agents.service, reports: service,
      connected: () => queues.engine.connectedCalls(),
      callerNumber: (callId) => calls.service.liveCalls().find((c) => c.id === callId)?.callerNumber,
    });
    return { service, live };
  },
  routes({ service, live }, { http, agents }) {
    reportRoutes(http, service, live, () => agents.service.listPauseReasons());
  },
  // Rollups every quarter hour, and the wallboard figures pushed while things change.
  start({ service, live }, { bus, logger, queues, ha }) {
    const reportsLogger = logger.child({ component: 'reports' });
    const stopRollups = scheduleRollups(service, reportsLogger, ha.held);
    const stopPush = pushLiveStats(bus, live, reportsLogger, () => queues.engine.waitingCount > 0);
    return () => { stopRollups(); stopPush(); };
  },
};
