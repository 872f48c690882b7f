import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import type { WriteOp } from '../core/write-queue.js';

export interface WebhooksTable {
  id: string;
  url: string;
  events: string[];
  secret: string;
  description: string;
  enabled: boolean;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface WebhookDeliveriesTable {
  seq: Generated<string>;
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  occurred_at: Date;
  body: string;
  status: Generated<DeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  latency_ms: number | null;
  replay: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface WebhooksTables { webhooks: WebhooksTable; webhook_deliveries: WebhookDeliveriesTable }
export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

export class WebhooksStore {
  constructor(private readonly db: Kysely<WebhooksTables>) {}

  list(): Promise<WebhookRow[]> {
    return this.db.selectFrom('webhooks').selectAll().orderBy('created_at').execute();
  }

  get(id: string): Promise<WebhookRow | undefined> {
    return this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: Omit<WebhooksTable, 'created_at' | 'updated_at'>): Promise<WebhookRow> {
    return this.db.insertInto('webhooks').values(row).returningAll().executeTakeFirstOrThrow();
  }

  update(id: string, change: Partial<Pick<WebhooksTable, 'url' | 'events' | 'secret' | 'description' | 'enabled'>>): Promise<WebhookRow | undefined> {
    return this.db.updateTable('webhooks').set({ ...change, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async remove(id: string): Promise<boolean> {
    return Number((await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst()).numDeletedRows) > 0;
  }

  /** A delivery to make, for the write queue: written as the event happens. */
  insertDelivery(row: Pick<WebhookDeliveriesTable, 'id' | 'webhook_id' | 'event_id' | 'event_type' | 'occurred_at' | 'body'>): WriteOp {
    return { insert: 'webhook_deliveries', values: { ...row }, onConflictDoNothing: ['id'] };
  }

  /** Subscriptions with a delivery due now (the worker's pass). */
  async due(now: Date): Promise<string[]> {
    return (await this.db.selectFrom('webhook_deliveries').select('webhook_id').distinct()
      .where('status', '=', 'pending').where('next_attempt_at', '<=', now).execute()).map((r) => r.webhook_id);
  }

  /** A subscription's next deliveries in order: the first pending ones, whether due or not (order is kept: a later one never passes an earlier). */
  next(webhookId: string, limit: number): Promise<DeliveryRow[]> {
    return this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).where('status', '=', 'pending')
      .orderBy('seq').limit(limit).execute();
  }

  /** Deliveries made: marked in one statement (the worker marks a run of them at once). */
  async delivered(done: { seq: string; status: number; latencyMs: number; at: Date }[]): Promise<void> {
    if (done.length === 0) return;
    await sql`update webhook_deliveries d set status = 'delivered', attempts = d.attempts + 1, last_status = x.status, last_error = null,
        delivered_at = x.at, latency_ms = x.latency
      from (select unnest(${done.map((d) => d.seq)}::bigint[]) as seq, unnest(${done.map((d) => d.status)}::int[]) as status,
        unnest(${done.map((d) => d.at.toISOString())}::timestamptz[]) as at, unnest(${done.map((d) => d.latencyMs)}::int[]) as latency) x
      where d.seq = x.seq`.execute(this.db);
  }

  async failed(seq: string, outcome: { status: number | null; error: string; next: Date | null }): Promise<void> {
    await this.db.updateTable('webhook_deliveries').set({
      attempts: sql`attempts + 1`, last_status: outcome.status, last_error: outcome.error.slice(0, 500),
      ...(outcome.next ? { next_attempt_at: outcome.next } : { status: 'dead' as const }),
    }).where('seq', '=', seq).execute();
  }

  /** A subscription's deliveries, newest first (the delivery log). */
  log(webhookId: string, filter: { status?: DeliveryStatus; limit: number }): Promise<DeliveryRow[]> {
    let query = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
    if (filter.status) query = query.where('status', '=', filter.status);
    return query.orderBy('seq', 'desc').limit(filter.limit).execute();
  }

  /**
   * Deliveries of the events that happened in [from, to) made again, in
   * their first order, as new pending rows (the same event ids: receivers
   * drop duplicates by id). The number queued.
   */
  async replay(webhookId: string, from: Date, to: Date, newId: () => string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const originals = await trx.selectFrom('webhook_deliveries').select(['event_id', 'event_type', 'occurred_at', 'body'])
        .where('webhook_id', '=', webhookId).where('replay', '=', false)
        .where('occurred_at', '>=', from).where('occurred_at', '<', to).orderBy('seq').execute();
      for (let i = 0; i < originals.length; i += 500) {
        await trx.insertInto('webhook_deliveries').values(originals.slice(i, i + 500).map((o) => ({ ...o, id: newId(), webhook_id: webhookId, replay: true }))).execute();
      }
      return originals.length;
    });
  }

  /** Delivered or dead rows older than `before` go (the delivery log's retention). */
  async purge(before: Date): Promise<number> {
    const result = await this.db.deleteFrom('webhook_deliveries').where('status', '!=', 'pending').where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
