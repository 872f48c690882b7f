import { isIPv4, isIPv6 } from 'node:net';
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

/** The 8 groups of an IPv6 address (no zone), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const bare = address.replace(/%.*$/, '');
  if (!isIPv6(bare)) return undefined;
  let text = bare;
  // An IPv4 tail (::ffff:192.0.2.1, ::192.0.2.1) as two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = part(head);
  const right = part(tail);
  return tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * What a failure is counted against: an IPv4 address as it is, an IPv6
 * client by its /64 (one subscriber's network: a client holding one has
 * 2^64 addresses to rotate through), and an IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1, a dual-stack socket's IPv4 peer) as the IPv4 address.
 */
export function failureKey(address: string | undefined): string {
  // A reset socket has no address (Node gives undefined): one key for all such.
  if (!address) return '';
  if (isIPv4(address)) return address;
  const groups = ipv6Groups(address);
  if (!groups) return address;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/**
 * Rate limit on failed bearer-token authentications, per client address (an
 * IPv6 client per /64, see failureKey): `limit` failures within a minute
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
    const entry = this.addresses.get(failureKey(address));
    const left = entry ? entry.lockedUntil - this.now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Counts a failed authentication; the one that reaches the limit locks the address (logged once). */
  fail(client: string): void {
    const address = failureKey(client);
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
