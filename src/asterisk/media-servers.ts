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

/** Where an object lives, what it is, and the last view of it an event or answer gave (for the events made when it is lost). */
interface Home {
  server: string;
  kind: 'channel' | 'bridge' | 'playback' | 'recording';
  /** When it was learned (a listing judges only what it could have seen). */
  at: number;
  /** Its end was seen (ChannelDestroyed, …): kept a while only to route late requests. */
  ended?: boolean;
  view?: Record<string, unknown>;
}

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
const lists = new Set<string>(['channels.list', 'bridges.list', 'recordings.listStored']);
/** Parameters that name an existing object, in the order they decide where a request goes. */
const references = ['channelId', 'bridgeId', 'snoopId', 'playbackId', 'recordingName', 'originator'] as const;
/** How long a destroyed channel or bridge is still routed to its server (late requests get their 404 there). */
const forgetAfterMs = 60_000;
/** How often each server's channels and bridges are listed to forget those whose end was never seen (legs nobody subscribed to). */
const pruneEveryMs = 60_000;

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
  private readonly homes = new Map<string, Home>();
  /** Every handler by event type, for the events made when a server's objects are lost. */
  private readonly handlers = new Map<string, Set<Handler<unknown>>>();
  private readonly byName = new Map<string, MediaServer>();
  /** The only server, when there is one: requests and events pass straight through. */
  private readonly single: MediaClient | undefined;

  /** Servers unreachable for longer than `lostAfterMs`: their calls were judged gone; they take nothing new. */
  private readonly lost = new Set<string>();
  private readonly lostTimers = new Map<string, NodeJS.Timeout>();
  private readonly connectedHandlers = new Set<() => void | Promise<void>>();
  private settling: Promise<void> | undefined;
  private settleAgain = false;
  /** The handlers of the first reconciliation have started (a connection after that needs them again). */
  private settleRunning = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** The first reconciliation (over every server) is done: later (re)connections recover one server each. */
  private settled = false;
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
        if (this.settled) void this.recover(server.name);
        else this.settle();
      });
      server.ari.onStateChange?.((state) => {
        if (state === 'up') this.found(server.name);
        // 'replaced': another instance drives it (HA), its calls are not ours to end.
        else if (state === 'down' || state === 'connecting') this.watchLoss(server.name);
      });
    }
  }

  /** Opens every server's events socket. */
  start(): void {
    this.stopped = false;
    // After a stop (an HA standby that leads again), the first connections reconcile everything again.
    this.settled = false;
    this.lost.clear();
    this.homes.clear();
    if (!this.single) {
      clearInterval(this.pruneTimer);
      this.pruneTimer = setInterval(() => void this.prune(), pruneEveryMs);
      this.pruneTimer.unref();
    }
    for (const server of this.servers) server.ari.start?.();
    // A server that never answers counts as lost too: the others' calls are reconciled without it.
    if (!this.single) for (const server of this.servers) if (server.ari.state !== 'up') this.watchLoss(server.name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pruneTimer);
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
    return this.homes.get(id)?.server;
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
    const home = id === undefined || id === null || this.single ? undefined : this.homes.get(id)?.server;
    return home ? this.current.run(home, fn) : fn();
  }

  on<T extends AriEventType>(type: T, handler: Handler<AriEventOf<T>>): () => void {
    // One server: nothing to route, nothing to remember.
    if (this.single) return this.single.on(type, handler);
    const own = this.handlers.get(type) ?? new Set();
    this.handlers.set(type, own);
    own.add(handler as Handler<unknown>);
    const offs = this.servers.map((server) => server.ari.on(type, (event) => {
      this.learn(server.name, event as unknown as Record<string, unknown>);
      return this.current.run(server.name, () => handler(event));
    }));
    return () => {
      own.delete(handler as Handler<unknown>);
      for (const off of offs) off();
    };
  }

  /**
   * Reconciliation at start: runs once every server is either up or lost,
   * outside any server, so its lists hold every server that is not lost (a
   * listing missing a server only reconnecting would read as "its calls are
   * gone"). Later, a server that reconnects or is lost is dealt with alone
   * (`recover`, `lose`): the others carry live calls, which a listing taken
   * while they go on would misjudge. With one server, after each of its
   * (re)connections, as a plain client.
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
        const kind = operation === 'channels.list' ? 'channel' : operation === 'bridges.list' ? 'bridge' : undefined;
        if (kind) for (const item of items) this.home(item.id, server.name, kind, item as unknown as Record<string, unknown>);
        return items;
      }));
      return answers.flat() as unknown as AriOperations[K]['result'];
    }
    // A recording we never saw made (a restart of centralita): on whichever server has it.
    if (operation.startsWith('recordings.') && typeof fields.recordingName === 'string' && !this.homes.has(fields.recordingName) && this.current.getStore() === undefined) {
      return this.onServerHolding(operation, params, fields.recordingName);
    }
    const server = this.route(operation, fields);
    const result = await server.ari.request(operation, params);
    if (makers.has(operation)) {
      const made = result as { id?: string } | undefined;
      if (made?.id) this.home(made.id, server.name, operation.startsWith('bridges.') ? 'bridge' : 'channel', made as Record<string, unknown>);
    }
    // What the request starts, under an id we chose: a playback, a recording (by its name).
    if (operation.endsWith('.play') && typeof fields.playbackId === 'string') this.home(fields.playbackId, server.name, 'playback', result as unknown as Record<string, unknown>);
    if (operation.endsWith('.record') && typeof fields.name === 'string') this.home(fields.name, server.name, 'recording', result as unknown as Record<string, unknown>);
    return result;
  }

  /** Asks each up server in turn until one does not answer 404; that one holds `name` from now on. */
  private async onServerHolding<K extends keyof AriOperations>(operation: K, params: AriOperations[K]['params'], name: string): Promise<AriOperations[K]['result']> {
    let notFound: unknown;
    for (const server of this.servers.filter((s) => s.ari.state === 'up' && !this.lost.has(s.name))) {
      try {
        const result = await server.ari.request(operation, params);
        this.home(name, server.name, 'recording', undefined);
        return result;
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw err;
        notFound = err;
      }
    }
    if (notFound) throw notFound;
    return this.leastLoaded().ari.request(operation, params);
  }

  private route(operation: string, fields: Record<string, unknown>): MediaServer {
    const making = makers.has(operation);
    // applications.subscribe / unsubscribe name their object as `channel:<id>` or `bridge:<id>`.
    if (typeof fields.eventSource === 'string') {
      const home = this.homes.get(fields.eventSource.replace(/^[a-z]+:/, ''))?.server;
      if (home) return this.byName.get(home)!;
    }
    for (const key of references) {
      // What a maker is given as its own new id does not exist yet: only what it is made from counts.
      if (making && !(operation.startsWith('channels.snoop') && key === 'channelId') && key !== 'originator') continue;
      const id = fields[key];
      const home = typeof id === 'string' ? this.homes.get(id)?.server : undefined;
      if (home) return this.byName.get(home)!;
    }
    // A bridge not known yet, joined by a channel that is: beside the channel.
    if (operation === 'bridges.addChannel' && typeof fields.channel === 'string') {
      const home = this.homes.get(fields.channel.split(',')[0]!)?.server;
      if (home) return this.byName.get(home)!;
    }
    const here = this.current.getStore();
    if (here) return this.byName.get(here)!;
    return this.leastLoaded();
  }

  /** The up server with the fewest live channels known (the first when none is up: its error is the answer). */
  private leastLoaded(): MediaServer {
    const counts = new Map<string, number>();
    for (const home of this.homes.values()) if (home.kind === 'channel' && !home.ended) counts.set(home.server, (counts.get(home.server) ?? 0) + 1);
    const up = this.servers.filter((s) => s.ari.state === 'up' && !this.lost.has(s.name));
    if (up.length === 0) return this.servers[0]!;
    return up.reduce((best, s) => ((counts.get(s.name) ?? 0) < (counts.get(best.name) ?? 0) ? s : best));
  }

  private learn(server: string, event: Record<string, unknown>): void {
    for (const key of ['channel', 'bridge', 'peer', 'replace_channel', 'playback', 'recording'] as const) {
      const object = event[key] as Record<string, unknown> | undefined;
      if (!object) continue;
      const id = key === 'recording' ? object.name : object.id;
      const kind = key === 'peer' || key === 'replace_channel' ? 'channel' : key;
      if (typeof id === 'string') this.home(id, server, kind, object);
    }
  }

  private home(id: string, server: string, kind: Home['kind'], view: Record<string, unknown> | undefined): void {
    const known = this.homes.get(id);
    if (known?.ended && known.server === server) return; // a late event of what ended: stays ended
    this.homes.set(id, { server, kind, at: known?.server === server ? known.at : Date.now(), ...(view ? { view } : {}) });
  }

  /**
   * What lived on `server` is gone (the server lost, or restarted): every
   * handler hears it as Asterisk would have told it (a recording's end, a
   * channel's and a bridge's destruction), so calls end, agents go to
   * wrap-up and recordings keep what was written. `listed`: what the server
   * still has (a reconnection), judged only for what was known before it was
   * listed; none: everything (a loss). Its objects are forgotten first, so
   * what the handlers then ask of them goes to a live server and is told
   * "gone" at once.
   */
  private gone(server: string, listed?: { ids: ReadonlySet<string>; at: number }): void {
    if (this.stopped) return;
    const lost: [string, Home][] = [];
    for (const [id, home] of this.homes) {
      if (home.server !== server || home.ended) continue;
      if (listed && (listed.ids.has(id) || home.at >= listed.at)) continue;
      lost.push([id, home]);
      this.homes.delete(id);
    }
    if (lost.length === 0) return;
    this.options.logger?.warn({ server, channels: lost.filter(([, h]) => h.kind === 'channel').length }, 'calls lost with a media server: ended as if hung up');
    const timestamp = new Date().toISOString();
    const order: Home['kind'][] = ['recording', 'playback', 'channel', 'bridge'];
    for (const kind of order) {
      for (const [id, home] of lost) {
        if (home.kind !== kind) continue;
        if (kind === 'recording') this.emit('RecordingFinished', { type: 'RecordingFinished', timestamp, recording: { ...home.view, name: id, state: 'done' } });
        if (kind === 'playback') this.emit('PlaybackFinished', { type: 'PlaybackFinished', timestamp, playback: { ...home.view, id, state: 'failed' } });
        // Stasis's end first, as Asterisk says it (agent and consult legs end on it); handlers ignore channels that are not theirs.
        if (kind === 'channel') this.emit('StasisEnd', { type: 'StasisEnd', timestamp, application: this.app, channel: { name: '', caller: { name: '', number: '' }, ...home.view, id } });
        if (kind === 'channel') this.emit('ChannelDestroyed', { type: 'ChannelDestroyed', timestamp, cause: 38, cause_txt: 'Network out of order', channel: { name: '', caller: { name: '', number: '' }, ...home.view, id } });
        if (kind === 'bridge') this.emit('BridgeDestroyed', { type: 'BridgeDestroyed', timestamp, bridge: { channels: [], ...home.view, id } });
      }
    }
  }

  /** An event made here, to every handler of its type, outside any server. */
  private emit(type: string, event: Record<string, unknown>): void {
    for (const handler of this.handlers.get(type) ?? []) {
      Promise.resolve().then(() => handler(event)).catch((err: unknown) => this.options.logger?.error({ err, type }, 'a handler failed on a lost media server\'s event'));
    }
  }

  /**
   * A server reconnected after the first reconciliation (its socket dropped,
   * it restarted, it is back from lost): what it no longer has is gone; what
   * it has in our application that we do not know (calls a lost server kept)
   * is hung up.
   */
  private async recover(server: string): Promise<void> {
    try {
      const at = Date.now();
      const [channels, bridges] = await this.withServer(server, () => Promise.all([this.request('channels.list', {}), this.request('bridges.list', {})]));
      // Recordings still going there are not gone (a socket that only dropped); playbacks it may
      // have finished unseen are told finished, as one server's client does when its socket drops.
      const recording: string[] = [];
      for (const [id, home] of this.homes) {
        if (home.server !== server || home.kind !== 'recording' || home.ended) continue;
        const live = await this.withServer(server, () => this.request('recordings.getLive', { recordingName: id })).then(() => true, (err: unknown) => (err as { status?: number }).status !== 404);
        if (live) recording.push(id);
      }
      if (this.stopped) return;
      this.gone(server, { ids: new Set([...channels.map((c) => c.id), ...bridges.map((b) => b.id), ...recording]), at });
      for (const channel of channels) {
        const ours = channel.dialplan?.app_name === 'Stasis' && channel.dialplan.app_data.split(',')[0] === this.app;
        // Made before this connection and never heard of: nobody drives it (a new caller's StasisStart may still be on its way).
        const old = Date.parse(channel.creationtime) < at - 1000;
        if (ours && old && !this.homes.has(channel.id)) await this.withServer(server, () => this.request('channels.hangup', { channelId: channel.id })).catch(() => undefined);
      }
    } catch (err) {
      this.options.logger?.error({ err, server }, 'could not bring a reconnected media server in line');
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
      this.options.logger?.warn({ server, afterMs: this.lostAfterMs }, 'media server lost: its calls are ended, new calls go to the others');
      // Its calls are gone with it. Before the first reconciliation there is nothing of it to end: that reconciliation goes on without it.
      if (this.settled) this.gone(server);
      else this.settle();
    }, this.lostAfterMs).unref());
  }

  /**
   * Runs the reconciliation handlers once every server is up or lost; again
   * if a server (re)connected after they started, or if one failed (a server
   * dropped meanwhile). Done, later connections are handled one server at a time.
   */
  private settle(): void {
    if (this.settling) {
      if (this.settleRunning) this.settleAgain = true;
      return;
    }
    this.settling = (async () => {
      do {
        this.settleAgain = false;
        // Connections made together (a start) are reconciled together.
        await new Promise((resolve) => setTimeout(resolve, 50));
        while (!this.stopped && !this.servers.every((s) => s.ari.state === 'up' || this.lost.has(s.name))) await new Promise((resolve) => setTimeout(resolve, 100));
        if (this.stopped) return;
        this.settleRunning = true;
        let failed = false;
        for (const handler of this.connectedHandlers) {
          try {
            await handler();
          } catch (err) {
            failed = true;
            this.options.logger?.error({ err }, 'reconciliation across media servers failed; trying again');
          }
        }
        this.settleRunning = false;
        if (failed) {
          this.settleAgain = true;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      } while (this.settleAgain && !this.stopped);
      this.settled = !this.stopped;
    })().finally(() => { this.settling = undefined; this.settleRunning = false; });
  }

  /** Forgets, on each up server, the channels and bridges it no longer has whose end was never seen (they are not told gone: nobody followed them). */
  private async prune(): Promise<void> {
    if (!this.settled) return;
    for (const server of this.servers) {
      if (server.ari.state !== 'up' || this.lost.has(server.name)) continue;
      try {
        const at = Date.now();
        const [channels, bridges] = await this.withServer(server.name, () => Promise.all([this.request('channels.list', {}), this.request('bridges.list', {})]));
        const listed = new Set([...channels.map((c) => c.id), ...bridges.map((b) => b.id)]);
        for (const [id, home] of this.homes) {
          if (home.server === server.name && (home.kind === 'channel' || home.kind === 'bridge') && !home.ended && home.at < at && !listed.has(id)) this.homes.delete(id);
        }
      } catch {
        // a server that does not answer now is pruned next time
      }
    }
  }

  private forget(id: string, afterMs = forgetAfterMs): void {
    const home = this.homes.get(id);
    if (!home) return;
    home.ended = true;
    setTimeout(() => { if (this.homes.get(id) === home) this.homes.delete(id); }, afterMs).unref();
  }
}

/** `ari.beside(id, fn)` when `ari` routes between media servers; `fn()` otherwise (one server, a fake). */
export function beside<T>(ari: Ari | RoutedAri, id: string | null | undefined, fn: () => T): T {
  return ari instanceof RoutedAri ? ari.beside(id, fn) : fn();
}

/** Whether two channels live on the same media server (always, with one server or a fake; unknown ones count as apart). */
export function sameServer(ari: Ari | RoutedAri, a: string, b: string): boolean {
  if (!(ari instanceof RoutedAri) || !ari.routed) return true;
  const home = ari.serverOf(a);
  return home !== undefined && home === ari.serverOf(b);
}
