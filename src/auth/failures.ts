import type { Logger } from '../core/logger.js';

export interface AuthFailureOptions {
  /** Failed bearer-token authentications from one address within `windowMs` that lock it. */
  limit: number;
  windowMs?: number;
  /** How long a locked address is refused. */
  lockMs?: number;
  now?: () => number;
}

interface Address { failures: number[]; lockedUntil: number }

/**
 * Rate limit on failed bearer-token authentications, per client address:
 * `limit` failures within a minute
 * lock the address for a minute, during which every request with a bearer
 * token from it gets 429 — a right guess included, or the lock would not
 * slow a guesser. Successful requests are never delayed. Not counted:
 * requests without a token (playback tickets), and tokens that exist but no
 * longer work (revoked, or their agent offboarded; AuthService.countFailure):
 * that is an old browser tab retrying, not a guess, and counting it would
 * lock its colleagues on the same address out. The address is the TCP
 * peer's, or the client a trusted proxy names (CENTRALITA_TRUST_PROXY).
 *
 * In memory only: a restart forgets the counts, which costs a guesser at
 * most one more minute's worth of attempts per restart.
 */
export class AuthFailures {
  private readonly addresses = new Map<string, Address>();
  private readonly windowMs: number;
  private readonly lockMs: number;
  private readonly now: () => number;

  constructor(private readonly logger: Logger, private readonly options: AuthFailureOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.lockMs = options.lockMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds until a locked address may try again; 0 when it is not locked. */
  retryAfter(address: string): number {
    const entry = this.addresses.get(address);
    const left = entry ? entry.lockedUntil - this.now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Counts a failed authentication; the one that reaches the limit locks the address (logged once). */
  fail(address: string): void {
    const now = this.now();
    if (this.addresses.size >= 10_000) this.sweep(now);
    let entry = this.addresses.get(address);
    if (!entry) this.addresses.set(address, (entry = { failures: [], lockedUntil: 0 }));
    entry.failures = entry.failures.filter((at) => now - at < this.windowMs);
    entry.failures.push(now);
    if (entry.failures.length < this.options.limit) return;
    entry.lockedUntil = now + this.lockMs;
    entry.failures = [];
    this.logger.warn({ address, failures: this.options.limit, windowSeconds: this.windowMs / 1000, lockedSeconds: this.lockMs / 1000 },
      'bearer-token authentication failures: address locked');
  }

  /** Forgets addresses with nothing recent, so that a scan from many addresses cannot grow the map for ever. */
  private sweep(now: number): void {
    for (const [address, entry] of this.addresses) {
      if (entry.lockedUntil <= now && entry.failures.every((at) => now - at >= this.windowMs)) this.addresses.delete(address);
    }
  }
}
