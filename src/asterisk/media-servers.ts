import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../core/logger.js';
import type { Ari, AriClient, AriConnectionState, AriEventOf, AriEventType, AriOperations } from './ari.js';

/** What the routing needs of each media server's ARI client (an `AriClient`; a fake in tests). */
export type MediaClient = Pick<AriClient, 'app' | 'state' | 'request' | 'on' | 'onConnected'>
  & Partial<Pick<AriClient, 'start' | 'stop' | 'gate' | 'fencedRequests' | 'onStateChange' | 'onRequest'>>;

export interface MediaServer {
  /** Its name in the configuration, logs and /health (e.g. "media-1"). */
  name: string;
  ari: MediaClient;
}

type Handler<E> = (event: E) => void | Promise<void>;

export interface RoutedAriOptions {
  /**
   * How long a media server may stay unreachable before it counts as lost:
   * its calls are then judged gone (ended, agents to wrap-up) without waiting
   * for it to come back (CENTRALITA_MEDIA_SERVER_LOST_SECONDS).
   */
  lostAfterMs?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** Requests that make a channel or bridge: it lives where it is made. */
const makers = new Set<string>(['channels.create', 'channels.originate', 'channels.originateWithId', 'bridges.create', 'bridges.createWithId', 'channels.snoopChannel', 'channels.snoopChannelWithId', 'channels.externalMedia']);
/** Lists: every server's, merged, unless asked while handling one server's event or connection. */
const lists = new Set<string>(['channels.list', 'bridges.list']);
/** Parameters that name an existing object, in the order they decide where a request goes. */
const references = ['channelId', 'bridgeId', 'snoopId', 'playbackId', 'recordingName', 'originator'] as const;
/** How long a destroyed channel or bridge is still routed to its server (late requests get their 404 there). */
const forgetAfterMs = 60_000;

/**
 * Several Asterisk media servers behind one ARI surface (docs/scale-out.md):
 * the object capabilities use as `ari`, with one `AriClient` per server.
 *
 * - Events from every server reach the same handlers, each run inside the
 *   server it came from; every channel, bridge, playback and recording an
 *   event names is remembered as living there.
 * - A request on an existing object goes to the server it lives on.
 * - A request that makes something goes beside what it is made from (a
 *   snoop beside its channel, a channel beside its `originator`), else to
 *   the server of the event being handled, else to the one named with
 *   `withServer`, else to the up server with the fewest objects; what it
 *   makes is remembered there.
 * - `channels.list` and `bridges.list` merge every up server's, except
 *   inside one server's event or connection handler (its reconciliation).
 *
 * With one server every request and event passes straight through, as
 * with a plain `AriClient` (no context, nothing remembered).
 */
export class RoutedAri {
  private readonly current = new AsyncLocalStorage<string>();
  private readonly homes = new Map<string, string>();
  private readonly byName = new Map<string, MediaServer>();
  /** The only server, when there is one: requests and events pass straight through. */
  private readonly single: MediaClient | undefined;

  /** Servers unreachable for longer than `lostAfterMs`: their calls were judged gone; they take nothing new. */
  private readonly lost = new Set<string>();
  private readonly lostTimers = new Map<string, NodeJS.Timeout>();
  private readonly connectedHandlers = new Set<() => void | Promise<void>>();
  private settling: Promise<void> | undefined;
  private settleAgain = false;
  private stopped = false;
  private readonly lostAfterMs: number;

  constructor(private readonly servers: readonly MediaServer[], private readonly options: RoutedAriOptions = {}) {
    if (servers.length === 0) throw new Error('no media server configured');
    this.lostAfterMs = options.lostAfterMs ?? 10_000;
    this.single = servers.length === 1 ? servers[0]!.ari : undefined;
    for (const server of servers) {
      if (this.byName.has(server.name)) throw new Error(`media server ${server.name} is configured twice`);
      this.byName.set(server.name, server);
      if (this.single) continue;
      server.ari.on('ChannelDestroyed', (event) => this.forget(event.channel.id));
      server.ari.on('BridgeDestroyed', (event) => this.forget(event.bridge.id));
      server.ari.on('PlaybackFinished', (event) => this.forget(event.playback.id));
      // A finished recording is still fetched from its server (CENTRALITA_RECORDINGS_VIA_ARI): kept longer.
      server.ari.on('RecordingFinished', (event) => this.forget(event.recording.name, 10 * forgetAfterMs));
      server.ari.on('RecordingFailed', (event) => this.forget(event.recording.name, 10 * forgetAfterMs));
      server.ari.onConnected(() => {
        this.found(server.name);
        this.settle();
      });
      server.ari.onStateChange?.((state) => {
        if (state === 'up') this.found(server.name);
        else this.watchLoss(server.name);
      });
    }
  }

  /** Opens every server's events socket. */
  start(): void {
    this.stopped = false;
    for (const server of this.servers) server.ari.start?.();
    // A server that never answers counts as lost too: the others' calls are reconciled without it.
    if (!this.single) for (const server of this.servers) if (server.ari.state !== 'up') this.watchLoss(server.name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.lostTimers.values()) clearTimeout(timer);
    this.lostTimers.clear();
    await Promise.all(this.servers.map((server) => server.ari.stop?.()));
  }

  /** HA: asked before every REST call on every server (src/core/lease.ts). */
  get gate(): (() => boolean) | undefined {
    return this.servers[0]!.ari.gate;
  }

  set gate(gate: (() => boolean) | undefined) {
    for (const server of this.servers) server.ari.gate = gate;
  }

  /** REST calls the gate refused, on all servers. */
  get fencedRequests(): number {
    return this.servers.reduce((sum, server) => sum + (server.ari.fencedRequests ?? 0), 0);
  }

  /** The state of the whole (`state`) each time it changes. */
  onStateChange(handler: (state: AriConnectionState) => void): () => void {
    let last = this.state;
    const offs = this.servers.map((server) => server.ari.onStateChange?.(() => {
      const now = this.state;
      if (now !== last) handler((last = now));
    }));
    return () => { for (const off of offs) off?.(); };
  }

  /** Every REST call that reached the network, on any server (metrics). */
  onRequest(handler: Parameters<AriClient['onRequest']>[0]): () => void {
    const offs = this.servers.map((server) => server.ari.onRequest?.(handler));
    return () => { for (const off of offs) off?.(); };
  }

  /** The Stasis application, the same on every server. */
  get app(): string { return this.servers[0]!.ari.app; }

  /**
   * Up while any server is up (each server's own state: `serverStates`),
   * except that one server's application taken by another connection
   * ('replaced') is the state of the whole: it is not ours to drive.
   */
  get state(): AriConnectionState {
    if (this.servers.some((s) => s.ari.state === 'replaced')) return 'replaced';
    return this.servers.some((s) => s.ari.state === 'up') ? 'up' : this.servers[0]!.ari.state;
  }

  /** Each server's own state; `lost`: unreachable long enough that its calls were judged gone. */
  serverStates(): { name: string; state: AriConnectionState; lost: boolean }[] {
    return this.servers.map((s) => ({ name: s.name, state: s.ari.state, lost: this.lost.has(s.name) }));
  }

  /** Whether more than one media server is configured (then calls are routed between them). */
  get routed(): boolean {
    return this.single === undefined;
  }

  /** The server a channel, bridge, playback or recording lives on, when known. */
  serverOf(id: string): string | undefined {
    return this.homes.get(id);
  }

  /** The server whose event or connection is being handled now, if any. */
  get currentServer(): string | undefined {
    return this.current.getStore();
  }

  /** Runs `fn` as if handling an event of `server`: what it makes is made there. */
  withServer<T>(server: string, fn: () => T): T {
    if (!this.byName.has(server)) throw new Error(`no media server ${server}`);
    return this.current.run(server, fn);
  }

  /**
   * Runs `fn` on the server where `id` (a channel or bridge of the call at
   * hand) lives: what it makes (a bridge, a leg, a supervisor's channel) is
   * made beside it. Used by work that starts outside that call's events (an
   * API request, a timer). Unknown ids, or one server: `fn` as it is.
   */
  beside<T>(id: string | null | undefined, fn: () => T): T {
    const home = id === undefined || id === null || this.single ? undefined : this.homes.get(id);
    return home ? this.current.run(home, fn) : fn();
  }

  on<T extends AriEventType>(type: T, handler: Handler<AriEventOf<T>>): () => void {
    // One server: nothing to route, nothing to remember.
    if (this.single) return this.single.on(type, handler);
    const offs = this.servers.map((server) => server.ari.on(type, (event) => {
      this.learn(server.name, event as unknown as Record<string, unknown>);
      return this.current.run(server.name, () => handler(event));
    }));
    return () => { for (const off of offs) off(); };
  }

  /**
   * Reconciliation: runs after every (re)connection of a server and after a
   * server is declared lost, once every server is either up or lost, outside
   * any server, so its lists hold every server that is not lost (a listing
   * missing a server only reconnecting would read as "its calls are gone").
   * With one server, after each of its (re)connections, as a plain client.
   */
  onConnected(handler: () => void | Promise<void>): () => void {
    if (this.single) return this.single.onConnected(handler);
    this.connectedHandlers.add(handler);
    return () => this.connectedHandlers.delete(handler);
  }

  async request<K extends keyof AriOperations>(operation: K, params: AriOperations[K]['params']): Promise<AriOperations[K]['result']> {
    if (this.single) return this.single.request(operation, params);
    const fields = params as Record<string, unknown>;
    if (lists.has(operation) && this.current.getStore() === undefined) {
      // Every server's but the lost ones', or an error: a list missing a
      // server that is only reconnecting would read as "its calls are gone".
      const answers = await Promise.all(this.servers.filter((server) => !this.lost.has(server.name)).map(async (server) => {
        const items = (await server.ari.request(operation, params)) as unknown as { id: string }[];
        for (const item of items) this.homes.set(item.id, server.name);
        return items;
      }));
      return answers.flat() as unknown as AriOperations[K]['result'];
    }
    const server = this.route(operation, fields);
    const result = await server.ari.request(operation, params);
    if (makers.has(operation)) {
      const made = (result as { id?: string } | undefined)?.id;
      if (made) this.homes.set(made, server.name);
    }
    // What the request starts, under an id we chose: a playback, a recording (by its name).
    const started = operation.endsWith('.play') ? fields.playbackId : operation.endsWith('.record') ? fields.name : undefined;
    if (typeof started === 'string') this.homes.set(started, server.name);
    return result;
  }

  private route(operation: string, fields: Record<string, unknown>): MediaServer {
    const making = makers.has(operation);
    // applications.subscribe / unsubscribe name their object as `channel:<id>` or `bridge:<id>`.
    if (typeof fields.eventSource === 'string') {
      const home = this.homes.get(fields.eventSource.replace(/^[a-z]+:/, ''));
      if (home) return this.byName.get(home)!;
    }
    for (const key of references) {
      // What a maker is given as its own new id does not exist yet: only what it is made from counts.
      if (making && !(operation.startsWith('channels.snoop') && key === 'channelId') && key !== 'originator') continue;
      const id = fields[key];
      const home = typeof id === 'string' ? this.homes.get(id) : undefined;
      if (home) return this.byName.get(home)!;
    }
    // A bridge not known yet, joined by a channel that is: beside the channel.
    if (operation === 'bridges.addChannel' && typeof fields.channel === 'string') {
      const home = this.homes.get(fields.channel.split(',')[0]!);
      if (home) return this.byName.get(home)!;
    }
    const here = this.current.getStore();
    if (here) return this.byName.get(here)!;
    return this.leastLoaded();
  }

  /** The up server with the fewest known channels and bridges (the first when none is up: its error is the answer). */
  private leastLoaded(): MediaServer {
    const counts = new Map<string, number>();
    for (const home of this.homes.values()) counts.set(home, (counts.get(home) ?? 0) + 1);
    const up = this.servers.filter((s) => s.ari.state === 'up' && !this.lost.has(s.name));
    if (up.length === 0) return this.servers[0]!;
    return up.reduce((best, s) => ((counts.get(s.name) ?? 0) < (counts.get(best.name) ?? 0) ? s : best));
  }

  private learn(server: string, event: Record<string, unknown>): void {
    for (const key of ['channel', 'bridge', 'peer', 'replace_channel', 'playback', 'recording']) {
      const object = event[key] as { id?: unknown; name?: unknown } | undefined;
      if (!object) continue;
      const id = key === 'recording' ? object.name : object.id;
      if (typeof id === 'string') this.homes.set(id, server);
    }
  }

  /** A server is up again (or still): it is not lost, nothing is watched. */
  private found(server: string): void {
    clearTimeout(this.lostTimers.get(server));
    this.lostTimers.delete(server);
    if (this.lost.delete(server)) this.options.logger?.info({ server }, 'media server back: it takes new calls again');
  }

  /** A server left `up`: lost if it is not back within `lostAfterMs`. */
  private watchLoss(server: string): void {
    if (this.stopped || this.lost.has(server) || this.lostTimers.has(server)) return;
    this.lostTimers.set(server, setTimeout(() => {
      this.lostTimers.delete(server);
      if (this.byName.get(server)!.ari.state === 'up') return;
      this.lost.add(server);
      // Its calls are gone with it: what is asked of them now goes elsewhere and is told "gone".
      for (const [id, home] of this.homes) if (home === server) this.homes.delete(id);
      this.options.logger?.warn({ server, afterMs: this.lostAfterMs }, 'media server lost: its calls are ended, new calls go to the others');
      this.settle();
    }, this.lostAfterMs).unref());
  }

  /** Runs the reconciliation handlers once every server is up or lost; again if asked meanwhile. */
  private settle(): void {
    if (this.settling) {
      this.settleAgain = true;
      return;
    }
    this.settling = (async () => {
      do {
        this.settleAgain = false;
        while (!this.stopped && !this.servers.every((s) => s.ari.state === 'up' || this.lost.has(s.name))) await new Promise((resolve) => setTimeout(resolve, 100));
        if (this.stopped) return;
        for (const handler of this.connectedHandlers) {
          try {
            await handler();
          } catch (err) {
            // A server dropped meanwhile: its loss or return settles again.
            this.options.logger?.error({ err }, 'reconciliation across media servers failed');
          }
        }
      } while (this.settleAgain);
    })().finally(() => { this.settling = undefined; });
  }

  private forget(id: string, afterMs = forgetAfterMs): void {
    setTimeout(() => this.homes.delete(id), afterMs).unref();
  }
}

/** `ari.beside(id, fn)` when `ari` routes between media servers; `fn()` otherwise (one server, a fake). */
export function beside<T>(ari: Ari | RoutedAri, id: string | null | undefined, fn: () => T): T {
  return ari instanceof RoutedAri ? ari.beside(id, fn) : fn();
}
