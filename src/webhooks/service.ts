import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { OutboundPolicy } from '../core/outbound.js';
import type { WriteQueue } from '../core/write-queue.js';
import type { WebhookEventType } from './events.js';
import type { DeliveryRow, DeliveryStatus, WebhookRow, WebhooksStore } from './store.js';

export interface WebhookView {
  id: string; url: string; events: string[]; description: string; enabled: boolean; createdAt: string; updatedAt: string;
  /** Which secret is set, without showing any of it: the first 8 hex digits of its SHA-256. */
  secretFingerprint: string;
}

export interface DeliveryView {
  id: string; eventId: string; eventType: string; occurredAt: string; status: DeliveryStatus; attempts: number;
  nextAttemptAt: string | null; lastStatus: number | null; lastError: string | null; deliveredAt: string | null; latencyMs: number | null; replay: boolean;
}

export interface WebhookInput { url: string; events: WebhookEventType[]; secret?: string; description?: string; enabled?: boolean }

/** A secret's fingerprint: tells two secrets apart, reveals nothing of either. */
export const fingerprint = (secret: string): string => createHash('sha256').update(secret).digest('hex').slice(0, 8);

const view = (row: WebhookRow): WebhookView => ({
  id: row.id, url: row.url, events: row.events, description: row.description, enabled: row.enabled,
  createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(), secretFingerprint: fingerprint(row.secret),
});

const deliveryView = (row: DeliveryRow): DeliveryView => ({
  id: row.id, eventId: row.event_id, eventType: row.event_type, occurredAt: row.occurred_at.toISOString(), status: row.status, attempts: row.attempts,
  nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null, lastStatus: row.last_status, lastError: row.last_error,
  deliveredAt: row.delivered_at?.toISOString() ?? null, latencyMs: row.latency_ms, replay: row.replay,
});

/**
 * Webhook subscriptions (admins), and the outbox: each event a subscription
 * wants becomes a delivery row written through the write queue (and its
 * journal) as the event happens, so neither a SIGKILL nor a database outage
 * loses one; the worker (worker.ts) delivers them. The enabled
 * subscriptions are held in memory for the event path.
 */
export class WebhooksService {
  private subscriptions: WebhookRow[] = [];

  constructor(
    private readonly store: WebhooksStore,
    private readonly writes: WriteQueue,
    private readonly policy: OutboundPolicy,
    private readonly logger: Logger,
  ) {}

  /** The subscriptions in memory, from the database (at start, and after every change). */
  async load(): Promise<void> {
    this.subscriptions = (await this.store.list()).filter((w) => w.enabled);
  }

  /**
   * An event happened: one delivery per enabled subscription that wants it,
   * written in the order events come. Resolves once the rows are stored
   * (undefined: nobody wants the event).
   */
  publish(type: WebhookEventType, at: string, data: Record<string, unknown>): Promise<void> | undefined {
    const wanting = this.subscriptions.filter((w) => w.events.includes(type));
    if (wanting.length === 0) return undefined;
    const eventId = randomUUID();
    const body = JSON.stringify({ id: eventId, type, at, data });
    const occurredAt = new Date(at);
    return this.writes.enqueue(`webhook event ${type}`, wanting.map((w) => this.store.insertDelivery({
      id: randomUUID(), webhook_id: w.id, event_id: eventId, event_type: type, occurred_at: Number.isNaN(occurredAt.getTime()) ? new Date() : occurredAt, body,
    })));
  }

  async list(): Promise<WebhookView[]> {
    return (await this.store.list()).map(view);
  }

  async get(id: string): Promise<WebhookView> {
    return view(await this.require(id));
  }

  /** The subscription as the worker needs it (its secret); undefined when deleted. */
  row(id: string): Promise<WebhookRow | undefined> {
    return this.store.get(id);
  }

  /** A new subscription: its URL checked against the outbound policy; the secret (made when not given) is shown this once. */
  async create(input: WebhookInput): Promise<WebhookView & { secret: string }> {
    await this.checkUrl(input.url);
    const secret = input.secret ?? randomBytes(24).toString('base64url');
    const row = await this.store.insert({
      id: randomUUID(), url: input.url, events: input.events, secret, description: input.description ?? '', enabled: input.enabled ?? true,
    });
    await this.load();
    // Its origin only: a URL's path, query or user part may carry a receiver's token.
    this.logger.info({ webhookId: row.id, origin: new URL(row.url).origin, events: row.events }, 'webhook created');
    return { ...view(row), secret };
  }

  async update(id: string, change: Partial<WebhookInput>): Promise<WebhookView> {
    await this.require(id);
    if (change.url !== undefined) await this.checkUrl(change.url);
    const row = await this.store.update(id, change);
    if (!row) throw notFound('webhook');
    await this.load();
    this.logger.info({ webhookId: id, fields: Object.keys(change).filter((k) => k !== 'secret') }, 'webhook changed');
    return view(row);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) throw notFound('webhook');
    await this.load();
    this.logger.info({ webhookId: id }, 'webhook deleted (with its deliveries)');
  }

  async deliveries(id: string, filter: { status?: DeliveryStatus; limit: number }): Promise<DeliveryView[]> {
    await this.require(id);
    return (await this.store.log(id, filter)).map(deliveryView);
  }

  /** The events of [from, to) delivered again, in their order (the same event ids). */
  async replay(id: string, from: Date, to: Date): Promise<{ queued: number }> {
    await this.require(id);
    if (to <= from) throw badRequest('body/to: must be after from');
    const queued = await this.store.replay(id, from, to, randomUUID);
    this.logger.info({ webhookId: id, from, to, queued }, 'webhook deliveries replayed');
    return { queued };
  }

  private async require(id: string): Promise<WebhookRow> {
    const row = await this.store.get(id);
    if (!row) throw notFound('webhook');
    return row;
  }

  private async checkUrl(url: string): Promise<void> {
    const why = await this.policy.checkUrl(url);
    if (why) throw badRequest(`body/url ${why.startsWith('is ') || why.startsWith('must ') ? why : `is refused: ${why}`}`);
  }
}
