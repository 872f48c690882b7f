import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AriEvent, Bridge, Channel } from '../../src/asterisk/ari-types.generated.js';

/** One REST request the app made, as the fake received it. */
export interface AriRequest {
  method: string;
  /** Below the /ari prefix, decoded: /channels/abc/answer. */
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/** What a handler answers: a status and a JSON body (none for 204). */
export interface AriReply { status: number; body?: unknown }
type AriHandler = (request: AriRequest, params: Record<string, string>) => AriReply | Promise<AriReply>;

interface Route { method: string; pattern: RegExp; names: string[]; handler: AriHandler }

/**
 * A stand-in for Asterisk's ARI on 127.0.0.1: the REST calls over HTTP and
 * the events over a WebSocket, served on real sockets so that the app's own
 * client (src/asterisk/ari.ts) runs unchanged. It knows the channels and
 * bridges a test gives it (for the lists reconciliation reads), answers the
 * few calls the app makes at start, records every request for assertions,
 * and sends the events a test replays (StasisStart, ChannelDestroyed…).
 *
 * Anything not served answers 404 as Asterisk does for an unknown resource;
 * a test serves more with `handle()`.
 */
export class FakeAri {
  readonly requests: AriRequest[] = [];
  readonly channels = new Map<string, Channel>();
  readonly bridges = new Map<string, Bridge>();
  /** PJSIP endpoints that exist (endpoints.get answers 200 for them, 404 otherwise). */
  readonly endpoints = new Set<string>();
  /** Playbacks end at once (PlaybackFinished right after the request); false leaves them to the test. */
  finishPlaybacks = true;
  private readonly routes: Route[] = [];
  private readonly sockets = new Set<WebSocket>();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private port = 0;

  private constructor(readonly app: string) {
    this.server = createServer((req, res) => void this.serve(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/ari/events') { socket.destroy(); return; }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
      });
    });
    this.defaultRoutes();
  }

  static async start(app = 'centralita'): Promise<FakeAri> {
    const fake = new FakeAri(app);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string { return `http://127.0.0.1:${this.port}/ari`; }
  /** Events sockets open now (the app's client holds one while up). */
  get connections(): number { return this.sockets.size; }

  /**
   * Serves `method path` (path below /ari, with {name} placeholders) with
   * `handler`; the latest registration wins over earlier ones and the defaults.
   */
  handle(method: string, path: string, handler: AriHandler): void {
    const names: string[] = [];
    const pattern = new RegExp(`^${path.replace(/\{([^}]+)\}/g, (_, name: string) => { names.push(name); return '([^/]+)'; })}$`);
    this.routes.unshift({ method, pattern, names, handler });
  }

  /** The requests made so far for one operation, e.g. requestsTo('POST', /\/answer$/). */
  requestsTo(method: string, path: RegExp | string): AriRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  /** Sends an event on every events socket; application and timestamp are filled in. */
  emit(event: Partial<AriEvent> & { type: AriEvent['type'] } & Record<string, unknown>): void {
    const text = JSON.stringify({ application: this.app, timestamp: new Date().toISOString(), asterisk_id: 'fake', ...event });
    for (const socket of this.sockets) socket.send(text);
  }

  /** A channel Asterisk would list (Up, in our Stasis app with `args` unless dialplan is given). */
  channel(id: string, fields: Partial<Channel> & { args?: string[] } = {}): Channel {
    const { args = [], ...rest } = fields;
    const channel: Channel = {
      id, protocol_id: '', name: `PJSIP/fake-${id}`, state: 'Up',
      caller: { name: '', number: '600000000' }, connected: { name: '', number: '' }, accountcode: '',
      dialplan: { context: 'centralita', exten: 's', priority: 1, app_name: 'Stasis', app_data: [this.app, ...args].join(',') },
      creationtime: new Date().toISOString(), language: 'es',
      ...rest,
    };
    this.channels.set(id, channel);
    return channel;
  }

  /** Puts a channel into Stasis as Asterisk does: listed, then StasisStart with its arguments. */
  stasisStart(id: string, args: string[], fields: Partial<Channel> = {}): Channel {
    const channel = this.channel(id, { ...fields, args });
    this.emit({ type: 'StasisStart', channel, args });
    return channel;
  }

  /** The channel hangs up: no longer listed, then StasisEnd and ChannelDestroyed. */
  hangUp(id: string, cause = 16): void {
    const channel = this.channels.get(id);
    if (!channel) return;
    this.channels.delete(id);
    for (const bridge of this.bridges.values()) bridge.channels = bridge.channels.filter((c) => c !== id);
    this.emit({ type: 'StasisEnd', channel });
    this.emit({ type: 'ChannelDestroyed', channel, cause, cause_txt: 'Normal Clearing' });
  }

  /** Drops the events sockets (Asterisk restarting); the app's client reconnects. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private defaultRoutes(): void {
    const notFound = (what: string): AriReply => ({ status: 404, body: { message: `${what} not found` } });
    this.handle('GET', '/channels', () => ({ status: 200, body: [...this.channels.values()] }));
    this.handle('GET', '/channels/{channelId}', (_, { channelId }) => {
      const channel = this.channels.get(channelId!);
      return channel ? { status: 200, body: channel } : notFound('Channel');
    });
    this.handle('DELETE', '/channels/{channelId}', (_, { channelId }) => {
      if (!this.channels.has(channelId!)) return notFound('Channel');
      this.hangUp(channelId!);
      return { status: 204 };
    });
    this.handle('POST', '/channels/{channelId}/answer', (_, { channelId }) => (this.channels.has(channelId!) ? { status: 204 } : notFound('Channel')));
    this.handle('POST', '/channels/{channelId}/play', (req, { channelId }) => {
      if (!this.channels.has(channelId!)) return notFound('Channel');
      const playback = { id: req.query.playbackId ?? `playback-${this.requests.length}`, media_uri: req.query.media ?? '', target_uri: `channel:${channelId}`, language: 'es', state: 'playing' };
      if (this.finishPlaybacks) setImmediate(() => this.emit({ type: 'PlaybackFinished', playback: { ...playback, state: 'done' } }));
      return { status: 201, body: playback };
    });
    this.handle('GET', '/bridges', () => ({ status: 200, body: [...this.bridges.values()] }));
    this.handle('DELETE', '/bridges/{bridgeId}', (_, { bridgeId }) => (this.bridges.delete(bridgeId!) ? { status: 204 } : notFound('Bridge')));
    this.handle('GET', '/applications/{app}', (_, { app }) => ({
      status: 200,
      body: { name: app, channel_ids: [...this.channels.keys()], bridge_ids: [...this.bridges.keys()], endpoint_ids: [], device_names: [], events_allowed: [], events_disallowed: [] },
    }));
    this.handle('PUT', '/applications/{app}/eventFilter', (req, { app }) => ({ status: 200, body: { name: app, channel_ids: [], bridge_ids: [], endpoint_ids: [], device_names: [], ...(req.body as object) } }));
    this.handle('POST', '/applications/{app}/subscription', (_, { app }) => ({ status: 200, body: { name: app, channel_ids: [], bridge_ids: [], endpoint_ids: [], device_names: [] } }));
    this.handle('GET', '/endpoints/{tech}/{resource}', (_, { tech, resource }) => (this.endpoints.has(resource!)
      ? { status: 200, body: { technology: tech, resource, state: 'online', channel_ids: [] } }
      : notFound('Endpoint')));
    this.handle('GET', '/recordings/stored', () => ({ status: 200, body: [] }));
    this.handle('GET', '/asterisk/ping', () => ({ status: 200, body: { asterisk_id: 'fake', ping: 'pong', timestamp: new Date().toISOString() } }));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try { body = text ? JSON.parse(text) : undefined; } catch { body = text; }
    const path = decodeURIComponent(url.pathname.replace(/^\/ari/, ''));
    const request: AriRequest = { method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), body };
    this.requests.push(request);
    let reply: AriReply = { status: 404, body: { message: 'Resource not found' } };
    for (const route of this.routes) {
      if (route.method !== request.method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      const params = Object.fromEntries(route.names.map((name, i) => [name, match[i + 1]!]));
      try {
        reply = await route.handler(request, params);
      } catch (err) {
        reply = { status: 500, body: { message: (err as Error).message } };
      }
      break;
    }
    if (reply.status === 204 || reply.body === undefined) {
      res.writeHead(reply.status).end();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }
}
