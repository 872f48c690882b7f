import Manager, { type AmiMessage } from 'asterisk-manager';
import type { Logger } from '../core/logger.js';

export type { AmiMessage };
export type AmiConnectionState = 'connecting' | 'up' | 'down' | 'stopped';

export interface AmiOptions {
  host: string; port: number; user: string; password: string; actionTimeoutMs?: number;
  /**
   * The only events Asterisk should send this session (an AMI Filter set at
   * every login); every other event (a busy Asterisk sends many per call) is
   * not even parsed. Items of list actions are answers, not filtered.
   */
  events?: readonly string[];
}

export class AmiError extends Error {
  constructor(readonly action: string, message: string) {
    super(`AMI ${action}: ${message}`);
    this.name = 'AmiError';
  }
}

const backoffStartMs = 250;
const backoffMaxMs = 2000;
const keepaliveMs = 5000;

/**
 * A small typed adapter over asterisk-manager for what ARI lacks (contact
 * status, some actions). asterisk-manager's own keepConnected waits 10 s more
 * after every failure and logs to the console, so reconnection is done here:
 * a short capped backoff and a new login on every connection.
 */
export class AmiClient {
  state: AmiConnectionState = 'down';
  private manager: Manager | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly eventHandlers = new Set<(event: AmiMessage) => void>();
  private readonly connectedHandlers = new Set<() => void | Promise<void>>();
  private readonly downHandlers = new Set<() => void>();
  private readonly timeoutMs: number;

  constructor(private readonly options: AmiOptions, private readonly logger: Logger) {
    this.timeoutMs = options.actionTimeoutMs ?? 5000;
  }

  start(): void {
    if (this.state !== 'down' && this.state !== 'stopped') return;
    this.connect();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.reconnectTimer);
    clearInterval(this.keepaliveTimer);
    const manager = this.manager;
    this.manager = undefined;
    if (manager) await new Promise<void>((resolve) => manager.disconnect(() => resolve()));
  }

  /** Every AMI event (Event: ...), with lower-case keys as asterisk-manager gives them. */
  onEvent(handler: (event: AmiMessage) => void): () => void {
    this.eventHandlers.add(handler);
    return () => this.eventHandlers.delete(handler);
  }

  /** Runs after every successful login: events missed while down are not replayed. */
  onConnected(handler: () => void | Promise<void>): () => void {
    this.connectedHandlers.add(handler);
    return () => this.connectedHandlers.delete(handler);
  }

  /** Runs each time a logged-in link is lost: what it said (device states) is no longer current. */
  onDown(handler: () => void): () => void {
    this.downHandlers.add(handler);
    return () => this.downHandlers.delete(handler);
  }

  /** Sends one action and resolves with its Response; rejects on Error or timeout. */
  action(name: string, fields: Record<string, string | number> = {}): Promise<AmiMessage> {
    const manager = this.manager;
    if (this.state !== 'up' || !manager) return Promise.reject(new AmiError(name, 'not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new AmiError(name, 'no response')), this.timeoutMs);
      manager.action({ action: name, ...fields }, (err, res) => {
        clearTimeout(timer);
        if (err) reject(new AmiError(name, err.message ?? 'error'));
        else resolve(res);
      });
    });
  }

  /**
   * A list action (PJSIPShowContacts, QueueStatus, ...): the events carrying
   * its ActionID, up to the one named `completeEvent`.
   */
  listAction(name: string, completeEvent: string, fields: Record<string, string | number> = {}): Promise<AmiMessage[]> {
    const actionId = `centralita-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const items: AmiMessage[] = [];
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        unsubscribe();
        if (err) reject(err);
        else resolve(items);
      };
      const timer = setTimeout(() => done(new AmiError(name, `no ${completeEvent}`)), this.timeoutMs);
      const unsubscribe = this.onEvent((event) => {
        if (event.actionid !== actionId) return;
        if (event.event?.toLowerCase() === completeEvent.toLowerCase()) done();
        else items.push(event);
      });
      this.action(name, { ...fields, actionid: actionId }).catch((err: Error) => {
        // "No contacts found"-style errors mean an empty list.
        if (/not? found|no .* found/i.test(err.message)) done();
        else done(err);
      });
    });
  }

  /** The link of `manager` is gone (closed, or silent): reconnect with a short backoff, once. */
  private lost(manager: Manager): void {
    if (this.manager !== manager || this.state === 'stopped') return;
    this.manager = undefined;
    clearInterval(this.keepaliveTimer);
    const wasUp = this.state === 'up';
    this.state = 'down';
    const delay = Math.min(backoffMaxMs, backoffStartMs * 2 ** this.failures);
    this.failures += 1;
    if (wasUp || this.failures === 1) this.logger.warn({ retryInMs: delay }, 'AMI disconnected; reconnecting');
    if (wasUp) for (const handler of this.downHandlers) handler();
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private async filterEvents(): Promise<void> {
    for (const name of this.options.events ?? []) {
      await this.action('Filter', { operation: 'Add', filter: `Event: ${name}` }).catch((err: Error) => {
        // Needs write=system for the AMI user; without it every event still comes.
        this.logger.warn({ err: err.message }, 'AMI event filter not set; all events will be received');
      });
    }
  }

  private connect(): void {
    this.state = 'connecting';
    const manager = new Manager(undefined, this.options.host, this.options.user, this.options.password, true);
    this.manager = manager;
    manager.on('managerevent', (event: AmiMessage) => {
      for (const handler of this.eventHandlers) handler(event);
    });
    manager.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'AMI socket error'));
    manager.on('close', () => this.lost(manager));
    manager.connect(this.options.port, this.options.host, (err) => {
      if (err) return;
      manager.login((loginErr) => {
        if (this.manager !== manager || this.state === 'stopped') return;
        if (loginErr) {
          this.logger.error({ message: loginErr.message }, 'AMI login refused; check CENTRALITA_AMI_USER and CENTRALITA_AMI_PASSWORD');
          manager.disconnect();
          return;
        }
        this.failures = 0;
        this.state = 'up';
        this.logger.info('AMI connected');
        // A half-open TCP link looks up forever and delivers no events: a
        // Ping that gets no answer drops it, and the close reconnects.
        this.keepaliveTimer = setInterval(() => {
          // an unanswered Ping is what this watches for: it drops the link below
          this.action('Ping').catch(() => {
            if (this.manager !== manager || this.state !== 'up') return;
            this.logger.warn('AMI answered no ping; reconnecting');
            manager.disconnect();
            this.lost(manager);
          });
        }, keepaliveMs);
        void this.filterEvents().then(() => {
          for (const handler of this.connectedHandlers) {
            Promise.resolve().then(handler).catch((err: unknown) => this.logger.error({ err }, 'AMI connected handler failed'));
          }
        });
      });
    });
  }
}
