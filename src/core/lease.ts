import { sql, type Kysely } from 'kysely';
import { isTransientDbError } from './write-queue.js';
import type { Logger } from './logger.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export type HaRole = 'single' | 'leader' | 'standby';

/** What the capabilities see of the pair (Shared.ha): a single instance is always the one that acts. */
export interface HaStatus {
  role(): HaRole;
  /** Whether this process may act now (always, for a single instance). */
  held(): boolean;
  /** The leader's address for a standby's 503 (null when unknown, or single). */
  leaderAddress(): Promise<string | null>;
}

export const singleInstance: HaStatus = { role: () => 'single', held: () => true, leaderAddress: async () => null };

export function haStatusOf(lease: Lease): HaStatus {
  return { role: () => lease.role, held: () => lease.held(), leaderAddress: () => lease.leaderAddress() };
}

export interface LeaseOptions {
  /** Who this process is (host:pid…), written in the lease row. */
  holder: string;
  /** Where clients reach this process (a standby names the leader's in its 503). */
  address: string;
  /** How long a lease lasts without a renewal. */
  ttlMs: number;
  /** The leader renews, and a standby looks, this often. */
  renewMs: number;
  /** A monotonic clock in ms (tests drive it). */
  now?: () => number;
}

interface Seen { epoch: number; renewals: number; holder: string | null; address: string | null }

/**
 * The leader lease of an active/standby pair (docs/ha.md), one row in
 * Postgres (migration 022, `leader_lease`): an epoch that grows by one at
 * each takeover, and a renewal counter the leader bumps every `renewMs`.
 *
 * No clock is compared between hosts. A standby takes the lease when it has
 * seen the row unchanged for `ttlMs` of its own monotonic time (a database
 * it could not read does not count: after a Postgres outage the leader's
 * next renewal is seen before the standby would take it, so nobody flaps).
 * It takes it by compare-and-swap on (epoch, renewals), so two standbys
 * cannot both win. The leader holds it until `ttlMs` × 0.8 after the start
 * of its last renewal that was answered; a leader that cannot reach the
 * database keeps acting while it keeps trying (a standby cannot reach it
 * either, or sees no change it could take over from), but a leader that
 * was not running at all (SIGSTOP, a frozen VM) finds on resuming that its
 * time is up and acts on nothing until its renewal answers; a refused
 * renewal (the epoch moved on) fences it for good.
 */
export class Lease {
  private roleNow: 'leader' | 'standby' = 'standby';
  private epochHeld: number | null = null;
  private seen: Seen | undefined;
  private seenChangedAt = 0;
  private validUntil = 0;
  /** The last renewal attempt that failed for the database's sake (not answered), while leader. */
  private lastUnanswered: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private renewal: Promise<boolean> | undefined;
  private stopped = true;
  private fencedFlag = false;
  private readonly leaderHandlers = new Set<(epoch: number) => void | Promise<void>>();
  private readonly fencedHandlers = new Set<(why: string) => void>();
  private readonly now: () => number;

  constructor(private readonly db: AnyDb, private readonly logger: Logger, private readonly options: LeaseOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get role(): 'leader' | 'standby' { return this.roleNow; }
  get epoch(): number | null { return this.epochHeld; }
  get fenced(): boolean { return this.fencedFlag; }
  get ttlMs(): number { return this.options.ttlMs; }

  /**
   * Whether this process may act now (an ARI command, a write, a job): it is
   * the leader and its lease is within its time, or it is trying to renew
   * right now and the database does not answer.
   */
  held(): boolean {
    if (this.roleNow !== 'leader' || this.fencedFlag) return false;
    const now = this.now();
    if (now < this.validUntil) return true;
    return this.lastUnanswered !== undefined && now - this.lastUnanswered < this.options.renewMs * 2;
  }

  onLeader(handler: (epoch: number) => void | Promise<void>): void { this.leaderHandlers.add(handler); }
  onFenced(handler: (why: string) => void): void { this.fencedHandlers.add(handler); }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Gives the lease up at a clean stop: the standby takes over at once instead of after `ttlMs`. */
  async release(): Promise<void> {
    this.stop();
    if (this.roleNow !== 'leader' || this.epochHeld === null || this.fencedFlag) return;
    this.roleNow = 'standby';
    await sql`update leader_lease set holder = null, address = null, renewals = renewals + 1 where id = 1 and epoch = ${this.epochHeld}`.execute(this.db)
      .catch((err: unknown) => this.logger.warn({ err }, 'the leader lease could not be released; a standby takes it when it runs out'));
  }

  /** The leader's address as the lease row has it (for a standby's 503). */
  async leaderAddress(): Promise<string | null> {
    const row = (await sql<{ address: string | null }>`select address from leader_lease where id = 1`.execute(this.db)).rows[0];
    return row?.address ?? null;
  }

  /** One step: a renewal (leader) or a look (standby); runs again after `renewMs`. Exposed for tests. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (this.roleNow === 'leader') await this.renew();
      else if (!this.fencedFlag) await this.look();
    } finally {
      this.ticking = false;
      if (!this.stopped && !this.fencedFlag) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.tick(), this.options.renewMs);
      }
    }
  }

  private async renew(): Promise<void> {
    const started = this.now();
    let renewed: boolean;
    let timer: NodeJS.Timeout | undefined;
    try {
      // One renewal at a time: a database that does not answer (a blackhole) keeps the first one waiting.
      this.renewal ??= sql<{ renewals: string }>`
        update leader_lease set renewals = renewals + 1, renewed_at = now()
        where id = 1 and epoch = ${this.epochHeld} and holder = ${this.options.holder} returning renewals`.execute(this.db)
        .then((r) => r.rows.length === 1).finally(() => { this.renewal = undefined; });
      renewed = await Promise.race([this.renewal, new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('leader lease renewal unanswered'), { code: 'ETIMEDOUT' })), this.options.renewMs);
      })]);
    } catch (err) {
      const now = this.now();
      if (!isTransientDbError(err)) this.logger.error({ err }, 'leader lease renewal failed');
      else if (this.lastUnanswered === undefined) this.logger.warn({ err: (err as Error).message }, 'the leader lease cannot be renewed: the database does not answer; calls go on while it keeps trying');
      // Trying counts only when this process ran all along: an attempt that took far longer than its
      // timeout means the process was frozen (SIGSTOP, a paused VM), and its time is up.
      this.lastUnanswered = now - started <= this.options.renewMs * 2 ? now : undefined;
      return;
    } finally {
      clearTimeout(timer);
    }
    if (!renewed) return this.fence(`the lease's epoch moved on from ${this.epochHeld}: another instance took over`);
    if (this.lastUnanswered !== undefined) this.logger.info('leader lease renewed again');
    this.lastUnanswered = undefined;
    this.validUntil = started + this.options.ttlMs * 0.8;
  }

  private async look(): Promise<void> {
    let row: Seen | undefined;
    try {
      row = (await sql<{ epoch: string; renewals: string; holder: string | null; address: string | null }>`
        select epoch, renewals, holder, address from leader_lease where id = 1`.execute(this.db)).rows
        .map((r) => ({ epoch: Number(r.epoch), renewals: Number(r.renewals), holder: r.holder, address: r.address }))[0];
    } catch (err) {
      // Unseen time does not count towards a takeover.
      this.seen = undefined;
      if (!isTransientDbError(err)) this.logger.error({ err }, 'leader lease not readable');
      return;
    }
    if (!row) {
      // Emptied by hand (a restore of data only, say): put it back, free.
      this.logger.warn('the leader_lease row was missing; made again');
      await sql`insert into leader_lease (id) values (1) on conflict (id) do nothing`.execute(this.db).catch((err: unknown) => this.logger.error({ err }, 'the leader_lease row cannot be made'));
      return;
    }
    const now = this.now();
    const changed = !this.seen || this.seen.epoch !== row.epoch || this.seen.renewals !== row.renewals;
    if (changed) {
      this.seen = row;
      this.seenChangedAt = now;
    }
    // Nobody holds it (never held, or released at a clean stop): take it now.
    const free = row.holder === null;
    if (!free && now - this.seenChangedAt < this.options.ttlMs) return;
    await this.take(row);
  }

  private async take(seen: Seen): Promise<void> {
    const started = this.now();
    let epoch: number | undefined;
    try {
      const result = await sql<{ epoch: string }>`
        update leader_lease set epoch = epoch + 1, renewals = 0, holder = ${this.options.holder}, address = ${this.options.address}, renewed_at = now()
        where id = 1 and epoch = ${seen.epoch} and renewals = ${seen.renewals} returning epoch`.execute(this.db);
      epoch = result.rows[0] ? Number(result.rows[0].epoch) : undefined;
    } catch (err) {
      if (!isTransientDbError(err)) this.logger.error({ err }, 'taking the leader lease failed');
      return;
    }
    // Another standby won the swap: look again.
    if (epoch === undefined) return void (this.seen = undefined);
    this.roleNow = 'leader';
    this.epochHeld = epoch;
    this.validUntil = started + this.options.ttlMs * 0.8;
    this.logger.warn({ epoch, previous: seen.holder }, seen.holder ? 'took over the leader lease' : 'holding the leader lease');
    for (const handler of this.leaderHandlers) {
      try {
        await handler(epoch);
      } catch (err) {
        this.logger.error({ err }, 'becoming the leader failed');
      }
    }
  }

  private fence(why: string): void {
    if (this.fencedFlag) return;
    this.fencedFlag = true;
    this.roleNow = 'standby';
    clearTimeout(this.timer);
    this.logger.error({ epoch: this.epochHeld }, `fenced: ${why}; acting on nothing more`);
    for (const handler of this.fencedHandlers) handler(why);
  }
}
