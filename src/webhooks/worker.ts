import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Logger } from '../core/logger.js';
import { isTransientDbError } from '../core/write-queue.js';
import { OutboundRefused, type OutboundPolicy } from '../core/outbound.js';
import { nextAttempt } from './backoff.js';
import { sign } from './signature.js';
import type { DeliveryRow, WebhookRow, WebhooksStore } from './store.js';

export interface WorkerOptions {
  /** How often the outbox is looked at when nothing nudged it (ms). */
  pollMs: number;
  /** The first retry's wait; each next one doubles, up to an hour (ms). */
  retryBaseMs: number;
  /** After this long since the event, a delivery still failing is dead (ms). */
  giveUpMs: number;
  /** One request's time limit (ms). */
  timeoutMs: number;
  userAgent: string;
}

/** How many of a subscription's deliveries one pass sends, one after the other. */
const batch = 200;
/** How many subscriptions are delivered to at once. */
const parallel = 8;
/** How long one subscription's run may go on in a pass: a slow receiver leaves its turn to the others' new events. */
const runBudgetMs = 2000;

/**
 * Delivers the outbox: per subscription, its pending deliveries in order,
 * one at a time (at-least-once, in order: a failing one holds those after it
 * until it succeeds or is dead), each signed (signature.ts) and sent under
 * the outbound policy (no redirects, private addresses only when allowed).
 * A failure is tried again later (backoff.ts); after `giveUpMs` it is dead,
 * with its last error, and the next ones go on.
 */
export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** The outbox could not be read on the last pass (a database outage). */
  private outboxDown = false;
  /** Kept-alive connections, one agent per subscription and URL (a changed URL gets a new one). */
  private readonly agents = new Map<string, { url: string; agent: HttpAgent }>();

  constructor(
    private readonly store: WebhooksStore,
    private readonly subscription: (id: string) => Promise<WebhookRow | undefined>,
    private readonly policy: OutboundPolicy,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** The subscription's agent: one connection kept alive to its receiver (checked by the policy when it is made). */
  private agentFor(webhook: WebhookRow): HttpAgent {
    const kept = this.agents.get(webhook.id);
    if (kept?.url === webhook.url) return kept.agent;
    kept?.agent.destroy();
    const options = { keepAlive: true, maxSockets: 1, timeout: 30_000 };
    const agent = webhook.url.startsWith('https:') ? new HttpsAgent(options) : new HttpAgent(options);
    this.agents.set(webhook.id, { url: webhook.url, agent });
    return agent;
  }

  /** Something was written to the outbox: look now rather than at the next poll. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.again ? 0 : this.options.pollMs);
        this.again = false;
      });
    }, ms);
    this.timer.unref();
  }

  /** One pass: every subscription with a delivery due, `parallel` at a time (the next starts as soon as one is done). */
  async pass(): Promise<void> {
    let due: string[];
    try {
      due = await this.store.due(new Date());
    } catch (err) {
      this.outboxFailed(err);
      return;
    }
    if (this.outboxDown) {
      this.outboxDown = false;
      this.logger.info('webhook outbox readable again: deliveries go on');
    }
    const lane = async (): Promise<void> => {
      for (let id = due.shift(); id !== undefined; id = due.shift()) {
        await this.deliverFor(id).catch((err: unknown) => {
          if (isTransientDbError(err)) this.outboxFailed(err);
          else this.logger.warn({ err, webhookId: id }, 'webhook deliveries interrupted');
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, due.length) }, lane));
  }

  /** The database is away: said once per outage (each pass tries again, quietly). */
  private outboxFailed(err: unknown): void {
    if (this.outboxDown) return void this.logger.debug({ err }, 'webhook outbox still not readable');
    this.outboxDown = true;
    this.logger.warn({ err }, 'webhook outbox not readable: deliveries wait until the database is back');
  }

  private async deliverFor(webhookId: string): Promise<void> {
    const webhook = await this.subscription(webhookId);
    // Disabled: its deliveries wait (enabling it again delivers them); deleted: they went with it.
    if (!webhook) {
      this.agents.get(webhookId)?.agent.destroy();
      this.agents.delete(webhookId);
    }
    if (!webhook?.enabled) return;
    // Deliveries made are marked together (one statement per run, not per delivery): a crash
    // before the mark sends them again, which at-least-once allows (receivers drop repeats by id).
    const made: Parameters<WebhooksStore['delivered']>[0] = [];
    const until = Date.now() + runBudgetMs;
    try {
      for (const row of await this.store.next(webhookId, batch)) {
        if (this.stopped || row.next_attempt_at.getTime() > Date.now()) return;
        // Its turn is over: the rest waits for the next pass (nudged at once), behind the others' new events.
        if (Date.now() > until) {
          this.again = true;
          return;
        }
        const outcome = await this.deliver(webhook, row);
        if (outcome === 'failed') return;
        if (outcome !== 'dead') made.push(outcome);
        if (made.length >= 50) await this.store.delivered(made.splice(0));
      }
    } finally {
      await this.store.delivered(made);
    }
  }

  /** One delivery: made (to be marked), failed (tried again later: the next ones wait), or dead (the next ones go on). */
  private async deliver(webhook: WebhookRow, row: DeliveryRow): Promise<{ seq: string; status: number; latencyMs: number; at: Date } | 'failed' | 'dead'> {
    const timestamp = Math.floor(Date.now() / 1000);
    const started = process.hrtime.bigint();
    let status: number | null = null;
    let error: string;
    try {
      const answer = await this.policy.request(new URL(webhook.url), {
        method: 'POST', timeoutMs: this.options.timeoutMs, body: row.body,
        headers: {
          'content-type': 'application/json', 'user-agent': this.options.userAgent,
          'x-centralita-event': row.event_type, 'x-centralita-event-id': row.event_id, 'x-centralita-delivery': row.id,
          'x-centralita-timestamp': String(timestamp), 'x-centralita-signature': sign(webhook.secret, timestamp, row.body),
        },
      }, this.agentFor(webhook));
      status = answer.status;
      if (status >= 200 && status < 300) return { seq: row.seq, status, latencyMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6), at: new Date() };
      error = `HTTP ${status}`;
    } catch (err) {
      error = err instanceof OutboundRefused ? `refused by the outbound policy: ${err.message}` : (err as Error).message;
    }
    const now = new Date();
    const next = nextAttempt({ attempts: row.attempts + 1, since: row.created_at, now, baseMs: this.options.retryBaseMs, giveUpMs: this.options.giveUpMs, random: this.random() });
    await this.store.failed(row.seq, { status, error, next });
    if (!next) this.logger.warn({ webhookId: webhook.id, eventId: row.event_id, attempts: row.attempts + 1, error }, 'webhook delivery dead: given up');
    else if (row.attempts === 0) this.logger.info({ webhookId: webhook.id, eventId: row.event_id, error }, 'webhook delivery failed; trying again later');
    return next === null ? 'dead' : 'failed';
  }
}
