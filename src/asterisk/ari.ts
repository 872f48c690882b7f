import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import WebSocket from 'ws';
import type { Logger } from '../core/logger.js';
import { ariOperationSpecs, type AriEvent, type AriEventType, type AriOperations } from './ari-types.generated.js';

export type { AriEvent, AriEventType, AriOperations };
export type AriEventOf<T extends AriEventType> = Extract<AriEvent, { type: T }>;
export type AriConnectionState = 'connecting' | 'up' | 'down' | 'replaced' | 'stopped';

export interface AriOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  /** PEM certificates Asterisk's TLS certificate must chain to (besides the system's). */
  ca?: string;
  /** How long a REST call may take before it fails. */
  requestTimeoutMs?: number;
  /** A socket that answers no ping within this time is treated as dead. */
  heartbeatMs?: number;
  /**
   * REST connections kept open to Asterisk at most (keep-alive). Requests
   * beyond it wait for a free one. Asterisk's own limit is http.conf's
   * sessionlimit (100 by default), shared with the events socket and other
   * ARI/HTTP users.
   */
  maxConnections?: number;
}

interface RawResponse { status: number; statusText: string; type: string; body: Buffer }

/**
 * One REST call as it went (for metrics): the operation's name, never its
 * URL (ids in it would make every call a series of its own), how long it
 * took, and its HTTP status (0: no answer, e.g. a timeout or a refused connection).
 */
export interface AriRequestSample { operation: string; seconds: number; status: number; ok: boolean }

/**
 * What capabilities use of ARI: one `AriClient`, or a `RoutedAri` over
 * several media servers (media-servers.ts, docs/scale-out.md).
 */
export type Ari = Pick<AriClient, 'app' | 'state' | 'request' | 'on' | 'onConnected' | 'onStateChange' | 'onRequest' | 'start' | 'stop' | 'gate' | 'fencedRequests'>;

/** A REST call that Asterisk refused or that could not be made. */
export class AriError extends Error {
  constructor(readonly operation: string, readonly status: number, message: string) {
    super(`ARI ${operation}: ${status ? `${status} ` : ''}${message}`);
    this.name = 'AriError';
  }
}

type Handler<E> = (event: E) => void | Promise<void>;

const backoffStartMs = 250;
const backoffMaxMs = 2000;

/**
 * A thin typed ARI client: REST over fetch, events over one WebSocket for one
 * Stasis application. The socket is reopened with a short backoff whenever it
 * closes, cleanly or not, except when another connection took the application
 * over (ApplicationReplaced): two instances fighting over it would each lose
 * half the events, so this one steps back and reports 'replaced'.
 *
 * Asterisk does not queue events while no socket holds the application, so
 * every (re)connect is announced to onConnected handlers, which rebuild what
 * they know from ARI's lists instead of trusting memory.
 */
export class AriClient {
  state: AriConnectionState = 'down';
  /** HA: asked before every REST call; false refuses it (src/core/lease.ts). */
  gate: (() => boolean) | undefined;
  /** REST calls the gate refused. */
  fencedRequests = 0;
  private socket: WebSocket | undefined;
  private readonly handlers = new Map<string, Set<Handler<AriEvent>>>();
  private readonly connectedHandlers = new Set<() => void | Promise<void>>();
  private readonly stateHandlers = new Set<(state: AriConnectionState) => void>();
  private readonly requestHandlers = new Set<(sample: AriRequestSample) => void>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly authorization: string;
  private readonly requestTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly agent: http.Agent;
  private filterSent: Promise<void> = Promise.resolve();
  private readonly transport: typeof http | typeof https;
  /** Asterisk's address, parsed once (a URL string per request was parsed again each time). */
  private readonly target: { protocol: string; hostname: string; port: string; basePath: string };

  constructor(private readonly options: AriOptions, private readonly logger: Logger) {
    this.authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    // node:http with kept-alive connections, not fetch: measured on the lab,
    // a REST call costs about a quarter of fetch's CPU (bench/README.md).
    // Idle connections are closed after 10 s, before Asterisk's own
    // session_keep_alive (15 s) closes them under a request.
    const secure = options.url.startsWith('https:');
    this.transport = secure ? https : http;
    const base = new URL(options.url);
    this.target = { protocol: base.protocol, hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'), port: base.port, basePath: base.pathname.replace(/\/$/, '') };
    this.agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: options.maxConnections ?? 50, timeout: 10_000, scheduling: 'lifo', ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}) })
      : new http.Agent({ keepAlive: true, maxSockets: options.maxConnections ?? 50, timeout: 10_000, scheduling: 'lifo' });
  }

  get app(): string { return this.options.app; }

  start(): void {
    if (this.state !== 'down' && this.state !== 'stopped') return;
    this.connect();
  }

  async stop(): Promise<void> {
    this.setState('stopped');
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    this.agent.destroy();
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
        setTimeout(() => { socket.terminate(); resolve(); }, 1000).unref();
      });
    }
  }

  /** Subscribes to one event type; returns the unsubscribe function. */
  on<T extends AriEventType>(type: T, handler: Handler<AriEventOf<T>>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      this.handlers.set(type, (set = new Set()));
      if (this.state === 'up') this.applyEventFilter();
    }
    set.add(handler as Handler<AriEvent>);
    return () => set.delete(handler as Handler<AriEvent>);
  }

  /** Runs after every successful (re)connection of the events socket. */
  onConnected(handler: () => void | Promise<void>): () => void {
    this.connectedHandlers.add(handler);
    return () => this.connectedHandlers.delete(handler);
  }

  onStateChange(handler: (state: AriConnectionState) => void): () => void {
    this.stateHandlers.add(handler);
    return () => this.stateHandlers.delete(handler);
  }

  /** Runs after every REST call that reached the network, answered or not. */
  onRequest(handler: (sample: AriRequestSample) => void): () => void {
    this.requestHandlers.add(handler);
    return () => this.requestHandlers.delete(handler);
  }

  /** Calls one REST operation, e.g. request('channels.answer', { channelId }). */
  async request<K extends keyof AriOperations>(operation: K, params: AriOperations[K]['params']): Promise<AriOperations[K]['result']> {
    // A stopped client no longer acts on Asterisk: what it still had under way
    // (a flow waiting for a prompt) must not touch the calls a successor took over.
    if (this.state === 'stopped') throw new AriError(operation, 0, 'the ARI client is stopped');
    // HA: a process that does not hold the leader lease sends Asterisk nothing (docs/ha.md).
    if (this.gate && !this.gate()) {
      this.fencedRequests += 1;
      throw new AriError(operation, 0, 'not the leader (the lease is not held): nothing is sent to Asterisk');
    }
    const spec = ariOperationSpecs[operation];
    const values = params as Record<string, unknown>;
    let path = spec.path;
    for (const name of spec.pathParams) {
      const value = values[name];
      if (value === undefined) throw new AriError(operation, 0, `missing path parameter ${name}`);
      path = path.replace(`{${name}}`, encodeURIComponent(String(value)));
    }
    const query = new URLSearchParams();
    for (const name of spec.queryParams) {
      const value = values[name];
      if (value === undefined) continue;
      query.set(name, Array.isArray(value) ? value.join(',') : String(value));
    }
    const body: Record<string, unknown> = {};
    for (const name of spec.bodyParams) if (values[name] !== undefined) body[name] = values[name];
    const hasBody = Object.keys(body).length > 0;
    const qs = query.toString();
    const url = `${path}${qs ? `?${qs}` : ''}`;
    let response: RawResponse;
    const started = performance.now();
    try {
      response = await this.send(url, spec.method, hasBody ? JSON.stringify(body) : undefined);
    } catch (err) {
      this.reportRequest(operation, started, 0);
      throw new AriError(operation, 0, (err as Error).message);
    }
    const { status, type } = response;
    this.reportRequest(operation, started, status);
    if (status < 200 || status >= 300) {
      let message = response.statusText;
      if (type.includes('json')) {
        try {
          const parsed = JSON.parse(response.body.toString('utf8')) as { message?: string; error?: string } | undefined;
          message = parsed?.message ?? parsed?.error ?? message;
        } catch { /* not JSON after all: the status text says enough */ }
      }
      throw new AriError(operation, status, message);
    }
    if (status === 204 || response.body.length === 0) return undefined as AriOperations[K]['result'];
    if (type.includes('json')) return JSON.parse(response.body.toString('utf8')) as AriOperations[K]['result'];
    return response.body as unknown as AriOperations[K]['result'];
  }

  /**
   * One HTTP request on a kept-alive connection. A reused connection that
   * Asterisk closed while it sat idle fails before any answer: then the
   * request was not received, and it is sent once more on a new one.
   * `url`: the path and query after the ARI base URL.
   */
  private send(url: string, method: string, body: string | undefined, retry = true): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: this.authorization };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      // A timer of our own, cleared with the answer, not AbortSignal.timeout:
      // that one fires after every request, answered or not, building an
      // abort event and a DOMException each time (about 2 % of centralita's
      // CPU on queue calls, bench/README.md "Issue 20 after").
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy();
        reject(new Error(`no answer within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs).unref();
      const { protocol, hostname, port, basePath } = this.target;
      const request = this.transport.request({ protocol, hostname, port, path: `${basePath}${url}`, method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            type: String(res.headers['content-type'] ?? ''),
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(timedOut ? new Error(`no answer within ${this.requestTimeoutMs} ms`) : err);
        });
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(new Error(`no answer within ${this.requestTimeoutMs} ms`));
          return;
        }
        if (retry && request.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          this.send(url, method, body, false).then(resolve, reject);
          return;
        }
        reject(err);
      });
      request.end(body);
    });
  }

  private reportRequest(operation: string, started: number, status: number): void {
    if (this.requestHandlers.size === 0) return;
    const sample = { operation, seconds: (performance.now() - started) / 1000, status, ok: status >= 200 && status < 300 };
    for (const handler of this.requestHandlers) handler(sample);
  }

  private setState(state: AriConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const handler of this.stateHandlers) handler(state);
  }

  private connect(): void {
    this.setState('connecting');
    const wsUrl = new URL(`${this.options.url.replace(/^http/, 'ws')}/events`);
    wsUrl.searchParams.set('app', this.options.app);
    wsUrl.searchParams.set('subscribeAll', 'false');
    const socket = new WebSocket(wsUrl, { headers: { authorization: this.authorization }, handshakeTimeout: 3000, ...(this.options.ca ? { ca: [...rootCertificates, this.options.ca] } : {}) });
    this.socket = socket;
    let alive = true;

    socket.on('open', () => {
      this.failures = 0;
      this.setState('up');
      this.logger.info({ app: this.options.app }, 'ARI events connected');
      this.heartbeatTimer = setInterval(() => {
        if (!alive) {
          this.logger.warn('ARI events socket answered no ping; dropping it');
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, this.heartbeatMs);
      this.applyEventFilter();
      for (const handler of this.connectedHandlers) this.runHandler('connected', handler);
    });
    socket.on('pong', () => { alive = true; });
    socket.on('message', (data) => this.dispatch(data.toString()));
    socket.on('error', (err) => {
      this.logger.debug({ err: err.message }, 'ARI events socket error');
    });
    socket.on('close', () => {
      clearInterval(this.heartbeatTimer);
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.state === 'stopped' || this.state === 'replaced') return;
      const wasUp = this.state === 'up';
      this.setState('down');
      const delay = Math.min(backoffMaxMs, backoffStartMs * 2 ** this.failures);
      this.failures += 1;
      if (wasUp || this.failures === 1) this.logger.warn({ retryInMs: delay }, 'ARI events disconnected; reconnecting');
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  /**
   * Asks Asterisk to send only the event types something here listens to
   * (ARI's application event filter, Asterisk 20.7/21.2 and later). Without
   * it every channel variable set, dialplan step and caller id change of
   * every call comes over the socket, to be encoded by Asterisk and parsed
   * here for nothing. An Asterisk without the filter sends everything: the
   * events are only more.
   */
  private applyEventFilter(): void {
    const url = `/applications/${encodeURIComponent(this.options.app)}/eventFilter`;
    // One at a time, each with the types known when it is sent, so that an
    // older, shorter list never lands after a newer one.
    this.filterSent = this.filterSent.then(() => {
      const allowed = [...new Set(['ApplicationReplaced', ...this.handlers.keys()])].map((type) => ({ type }));
      // The filter object is the whole body (not wrapped in "filter").
      return this.send(url, 'PUT', JSON.stringify({ allowed }));
    }).then((response) => {
      if (response.status >= 300) this.logger.warn({ status: response.status }, 'Asterisk did not take the ARI event filter; receiving every event');
    }, (err: unknown) => this.logger.warn({ err: (err as Error).message }, 'could not set the ARI event filter; receiving every event'));
  }

  private dispatch(text: string): void {
    let event: AriEvent;
    try {
      event = JSON.parse(text) as AriEvent;
    } catch {
      this.logger.warn('ARI sent an event that is not JSON');
      return;
    }
    if (event.type === 'ApplicationReplaced') {
      this.logger.error({ app: this.options.app }, 'another connection took over the Stasis application; this instance stops handling calls');
      this.setState('replaced');
      this.socket?.close();
    }
    const set = this.handlers.get(event.type);
    if (!set) return;
    for (const handler of set) this.runHandler(event.type, () => handler(event));
  }

  private runHandler(name: string, handler: () => void | Promise<void>): void {
    try {
      const result = handler();
      if (result) result.catch((err: unknown) => this.logger.error({ err, event: name }, 'ARI handler failed'));
    } catch (err) {
      this.logger.error({ err, event: name }, 'ARI handler failed');
    }
  }
}
