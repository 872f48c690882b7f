import { lookup as dnsLookup } from 'node:dns/promises';

export interface ResolvedAddress { address: string; family: 4 | 6 }
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => (await dnsLookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[];

export interface ResolveLimits {
  /** Lookups at once. */
  concurrency: number;
  /** How long one lookup is waited for. */
  perHostMs: number;
  /** How long all of them are waited for. */
  budgetMs: number;
}

/**
 * Resolves each host once, `concurrency` at a time, within `budgetMs` in
 * all. The answer maps a host to its addresses (none when it does not
 * resolve); a host missing from it was not resolved in time. The system
 * resolver is getaddrinfo on libuv's thread pool (4 threads, shared with
 * file I/O): a lookup that times out goes on holding its thread, so the
 * worker that waited for it starts no other, and the thread pool never
 * holds more than `concurrency` of one call's lookups.
 */
export async function resolveAll(resolve: Resolver, hosts: Iterable<string>, limits: ResolveLimits): Promise<Map<string, ResolvedAddress[]>> {
  const resolved = new Map<string, ResolvedAddress[]>();
  const pending = [...new Set(hosts)];
  let over = false;
  const worker = async (): Promise<void> => {
    for (let host = pending.shift(); host !== undefined && !over; host = pending.shift()) {
      // a name that does not resolve has no addresses: the policy refuses it
      const addresses = await within(resolve(host).catch(() => []), limits.perHostMs);
      if (addresses === undefined || over) return;
      resolved.set(host, addresses);
    }
  };
  const workers = Array.from({ length: Math.min(limits.concurrency, pending.length) }, worker);
  await within(Promise.all(workers), limits.budgetMs);
  over = true;
  return resolved;
}

/** The promise's value, or undefined if it takes longer than ms. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
