import type { Logger } from './logger.js';
import { isTransientDbError } from './write-queue.js';

export interface LastKnownGoodOptions {
  /** How long a read may take before the last known value is served instead. */
  timeoutMs?: number;
  /** Values kept; the least recently stored go first. */
  maxEntries?: number;
  /** How long a value read with readFresh is served without asking the database again. */
  freshMs?: number;
}

/**
 * The last value each call-path read got from the database (a DID's route, a
 * flow's version, a queue and its members, an agent), so calls keep being
 * handled while Postgres is unreachable. Reads go to the database first, as
 * before; when it fails (or takes longer than timeoutMs) the last known value
 * is served instead. While the database is known to be down, a read with a
 * known value answers at once and asks the database in the background, which
 * is how its return is noticed. A key never read (nor warmed) has nothing to
 * fall back on: its read fails as it would have.
 *
 * The hottest reads (a call's route, flow and queue) use readFresh: a value
 * read from the database is served from memory for freshMs, or for ever when
 * it cannot change (a flow version), and the stores forget it at once when
 * they change it (invalidate). Under load that spares a call about four
 * queries. Someone changing those tables by hand, not through the API, is
 * seen within freshMs.
 *
 * Lives in memory only, rebuilt by warm() at start and by every read.
 * Values are shared, not copied: callers must treat them as read-only.
 */
export class LastKnownGood {
  private readonly values = new Map<string, unknown>();
  private readonly refreshing = new Map<string, Promise<unknown>>();
  /** Keys whose value is known current, and until when. */
  private readonly freshUntil = new Map<string, number>();
  /** Bumped by every invalidate: a read begun before one does not make its value fresh. */
  private generation = 0;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly freshMs: number;
  private downSince: number | undefined;
  private servedDuringOutage = 0;

  constructor(private readonly logger: Logger, options: LastKnownGoodOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 1500;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.freshMs = options.freshMs ?? 30_000;
  }

  /** Whether the last read found the database unreachable. */
  get databaseDown(): boolean {
    return this.downSince !== undefined;
  }

  get size(): number {
    return this.values.size;
  }

  /** Stores a value read some other way (warming at start). */
  remember(key: string, value: unknown): void {
    this.values.delete(key);
    this.values.set(key, value);
    if (this.values.size > this.maxEntries) {
      const oldest = this.values.keys().next().value!;
      this.values.delete(oldest);
      this.freshUntil.delete(oldest);
    }
  }

  /**
   * Like read, but a value read from the database less than freshMs ago (any
   * time ago with forever, for a row that cannot change once written) is
   * served without asking it again. With forever, a row not found is not
   * kept: it may be written next.
   */
  async readFresh<T>(key: string, load: () => Promise<T>, forever = false): Promise<T> {
    const until = this.freshUntil.get(key);
    if (until !== undefined && until > Date.now() && this.values.has(key)) return this.values.get(key) as T;
    const generation = this.generation;
    const value = await this.read(key, load);
    // Not when it came from memory during an outage, nor when the key was
    // changed while it was being read.
    if (generation !== this.generation || this.downSince !== undefined) return value;
    if (!forever) this.freshUntil.set(key, Date.now() + this.freshMs);
    else if (value !== undefined) this.freshUntil.set(key, Infinity);
    return value;
  }

  /** Forgets that any value is current (the tables were changed behind the stores' back). */
  invalidateAll(): void {
    this.generation += 1;
    this.freshUntil.clear();
    this.refreshing.clear();
  }

  /** Forgets that the values of these keys (or keys starting with a prefix ending in ':') are current. */
  invalidate(...keys: string[]): void {
    this.generation += 1;
    const matches = (key: string) => keys.some((k) => (k.endsWith(':') ? key.startsWith(k) : key === k));
    for (const key of this.freshUntil.keys()) if (matches(key)) this.freshUntil.delete(key);
    // A read in flight may carry the old value: the next one asks anew.
    for (const key of this.refreshing.keys()) if (matches(key)) this.refreshing.delete(key);
  }

  /** Reads through the database; on an outage, the last value read for `key`. */
  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.downSince !== undefined && this.values.has(key)) {
      // a refresh in the background during an outage: its failure is the outage already known
      void this.fetch(key, load).catch(() => undefined);
      return this.serve(key);
    }
    const fetched = this.fetch(key, load);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), this.timeoutMs); });
    try {
      const first = await Promise.race([fetched.then((value) => ({ value })), late]);
      if (first !== 'late') return first.value;
      if (!this.values.has(key)) return await fetched;
      this.wentDown(`no answer within ${this.timeoutMs} ms`);
      // the late answer is not waited for; its failure is the outage noted just above
      void fetched.catch(() => undefined);
      return this.serve(key);
    } catch (err) {
      if (!isTransientDbError(err) || !this.values.has(key)) throw err;
      return this.serve(key);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Fills the cache from whole-table reads at start, so that the first call
   * of an outage finds its values even if no call used them before.
   */
  async warm(stores: Array<{ warm(remember: (key: string, value: unknown) => void): Promise<void> }>): Promise<void> {
    const started = Date.now();
    const results = await Promise.allSettled(stores.map((store) => store.warm((key, value) => this.remember(key, value))));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) this.logger.warn({ err: (failed[0] as PromiseRejectedResult).reason, failed: failed.length }, 'call-path cache not fully warmed');
    else this.logger.debug({ entries: this.values.size, ms: Date.now() - started }, 'call-path cache warmed');
  }

  /** One database read per key at a time; its outcome updates the value and the up/down state. */
  private fetch<T>(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.refreshing.get(key) as Promise<T> | undefined;
    if (running) return running;
    // A read that an invalidate made obsolete keeps its answer to itself.
    const current = () => this.refreshing.get(key) === fetched;
    const fetched: Promise<T> = load().then((value) => {
      if (current()) this.remember(key, value);
      this.cameBack();
      return value;
    }, (err: unknown) => {
      if (isTransientDbError(err)) this.wentDown((err as Error).message);
      throw err;
    }).finally(() => { if (current()) this.refreshing.delete(key); });
    this.refreshing.set(key, fetched);
    return fetched;
  }

  private serve<T>(key: string): T {
    this.servedDuringOutage += 1;
    return this.values.get(key) as T;
  }

  private wentDown(reason: string): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.servedDuringOutage = 0;
    this.logger.warn({ reason }, 'database unreachable; calls are served from the last known routes, flows, queues and agents');
  }

  private cameBack(): void {
    if (this.downSince === undefined) return;
    this.logger.info({ downMs: Date.now() - this.downSince, servedFromCache: this.servedDuringOutage }, 'database reads answer again');
    this.downSince = undefined;
  }
}
