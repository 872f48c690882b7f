import { tablesOf } from '../core/capability.js';
import { scheduleJob } from '../core/schedule.js';
import { AllowList, OutboundPolicy } from '../core/outbound.js';
import { buildInfo } from '../core/version.js';
import type { Module } from '../shared.js';
import { listenForWebhookEvents } from './events.js';
import { webhookRoutes } from './routes.js';
import { WebhooksService } from './service.js';
import { WebhooksStore, type WebhooksTables } from './store.js';
import { DeliveryWorker } from './worker.js';

/** How long delivered and dead deliveries are kept without CENTRALITA_EVENT_RETENTION_DAYS. */
const defaultLogDays = 30;

declare module '../core/capability.js' {
  interface Capabilities {
    webhooks: { service: WebhooksService; worker: DeliveryWorker; store: WebhooksStore };
  }
}

/**
 * Webhooks (docs/webhooks.md): subscriptions, the outbox written as events
 * happen, and the worker that delivers it (the leader's job under HA).
 */
export const webhooksModule: Module<'webhooks'> = {
  name: 'webhooks',
  needs: [],
  tables: tablesOf<WebhooksTables>({ webhooks: true, webhook_deliveries: true }),
  emits: [],
  consumes: ['call.started', 'call.answered', 'call.ended', 'queue.entry', 'queue.call', 'agent.state', 'recording.completed', 'survey.completed', 'monitor.session'],
  async build({ db, writes, bus, logger, config }) {
    const webhooksLogger = logger.child({ component: 'webhooks' });
    // The same outbound policy as IVR lookups: private addresses only where the operator allowed them.
    const policy = new OutboundPolicy(new AllowList(config.lookupAllow), { setting: 'CENTRALITA_LOOKUP_ALLOW' });
    const store = new WebhooksStore(db);
    const service = new WebhooksService(store, writes, policy, webhooksLogger);
    await service.load();
    const worker = new DeliveryWorker(store, (id) => service.row(id), policy, {
      pollMs: 250, retryBaseMs: config.webhooks.retryBaseMs, giveUpMs: config.webhooks.giveUpHours * 3_600_000, timeoutMs: config.webhooks.timeoutMs,
      userAgent: `centralita/${buildInfo.version}`,
    }, webhooksLogger);
    // Each event's rows stored: the worker looks at once rather than at its next poll.
    // (A record the write queue refused is logged there.)
    listenForWebhookEvents(bus, (type, at, data) => service.publish(type, at, data)?.then(() => worker.nudge(), () => undefined));
    return { service, worker, store };
  },
  routes({ service }, { http }) {
    webhookRoutes(http, service);
  },
  // Delivered by the leader only (HA): the worker is a job.
  start({ service, worker, store }, { config, logger, ha }) {
    void service.load();
    worker.start();
    // The delivery log goes with the event retention when it is set (retention/events.ts); else after 30 days, daily at 04:15.
    const stopPurge = config.eventRetentionDays === undefined ? scheduleJob('webhook-log-purge', '15 4 * * *', async () => {
      const purged = await store.purge(new Date(Date.now() - defaultLogDays * 86_400_000));
      if (purged > 0) logger.child({ component: 'webhooks' }).info({ purged, days: defaultLogDays }, 'old webhook deliveries purged');
    }, logger, ha.held) : undefined;
    return async () => {
      await stopPurge?.();
      await worker.stop();
    };
  },
};
