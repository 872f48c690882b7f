import type { Agent } from 'node:http';
import { isIP } from 'node:net';
import { isMetadata, nonPublic } from './outbound/addresses.js';
import type { AllowList } from './outbound/allow-list.js';
import { resolveAll, systemResolver, type ResolvedAddress, type Resolver } from './outbound/resolve.js';
import { OutboundRefused, checkedLookup, send, type OutboundAnswer, type OutboundRequest } from './outbound/send.js';

/**
 * The outbound-request policy: which addresses centralita may send HTTP
 * requests to on an operator's say-so (IVR lookups; webhooks later). An
 * operator who can save a flow must not reach what only the server can:
 * cloud metadata, Asterisk's ARI on loopback, centralita's own API, the
 * private network. So private addresses are refused unless the allow list
 * names them, public ones are allowed, redirects are never followed, and an
 * answer is read up to a cap. The address checked is the address connected
 * to (the check runs inside the socket's own DNS lookup), so a name that
 * resolves elsewhere between the check and the connect (DNS rebinding)
 * gains nothing.
 *
 * This is the one public module; its parts live in ./outbound/: address
 * classification (addresses.ts), the allow list (allow-list.ts), name
 * resolution (resolve.ts) and the HTTP request itself (send.ts).
 */

export { embeddedIpv4, nonPublic } from './outbound/addresses.js';
export { AllowList } from './outbound/allow-list.js';
export type { ResolvedAddress, Resolver } from './outbound/resolve.js';
export { OutboundFailed, OutboundRefused, type OutboundAnswer, type OutboundRequest } from './outbound/send.js';

export interface OutboundOptions {
  /** The setting that holds the allow list, named in refusals so the operator knows what to change. */
  setting: string;
  /** Answers above this many bytes are refused (64 KiB). */
  maxBytes?: number;
  /** Name resolution (tests give their own); the system's (getaddrinfo: hosts file, DNS) by default. */
  resolve?: Resolver;
  /** How long a save-time check waits for one name before leaving it to the call-time check (2 s). */
  checkResolveMs?: number;
  /** How long a save-time check waits for all its names (5 s): those not resolved by then are left to the call-time check. */
  checkBudgetMs?: number;
  /** How many names a save-time check resolves at once (3: the system resolver runs on libuv's 4 threads, shared with file I/O). */
  checkConcurrency?: number;
}

export class OutboundPolicy {
  readonly maxBytes: number;
  private readonly resolve: Resolver;
  private readonly limits: { concurrency: number; perHostMs: number; budgetMs: number };

  constructor(private readonly allow: AllowList, private readonly options: OutboundOptions) {
    this.maxBytes = options.maxBytes ?? 64 * 1024;
    this.resolve = options.resolve ?? systemResolver;
    this.limits = { concurrency: options.checkConcurrency ?? 3, perHostMs: options.checkResolveMs ?? 2000, budgetMs: options.checkBudgetMs ?? 5000 };
  }

  /**
   * Why an address may not be contacted on a port (host: the name it came
   * from, allowed or not by name), or undefined when it may. A cloud
   * metadata address is allowed only by an entry naming that address: not
   * by a wider network, nor by the name of a host that resolves to it.
   */
  refusalOf(address: string, port: number, host?: string): string | undefined {
    const what = nonPublic(address);
    if (!what) return undefined;
    const byName = host !== undefined && host !== address;
    const metadata = isMetadata(address);
    if (this.allow.allowsAddress(address, port, metadata)) return undefined;
    if (!metadata && byName && this.allow.allowsHost(host, port)) return undefined;
    const refused = `${byName ? `${host} resolves to ${address}, ` : `${address} is `}${what}, refused`;
    const setting = this.options.setting;
    // Allowed on other ports only: say that the port is what is missing.
    if (this.allow.allowsAddress(address, 'any', metadata) || (!metadata && byName && this.allow.allowsHost(host, 'any'))) {
      return `${refused} on port ${port} unless ${setting} allows it on that port`;
    }
    if (metadata && (this.allow.allowsAddress(address, 'any') || (byName && this.allow.allowsHost(host, 'any')))) {
      return `${refused} unless ${setting} names that address itself (a network or a host name does not allow it)`;
    }
    return `${refused} unless ${setting} allows it`;
  }

  /**
   * Save-time check of a URL: its scheme, and its host (an address, or a
   * name with every address it resolves to now, an allowed name too, for
   * the metadata addresses). A name that does not resolve now is left to
   * the call-time check. Undefined when it may be used.
   */
  async checkUrl(text: string): Promise<string | undefined> {
    return (await this.checkUrls([text]))[0];
  }

  /**
   * checkUrl for many URLs at once (a flow's lookups), one answer per URL
   * in order: each distinct name is resolved once, a few at a time, all
   * within the check's time budget, so a flow of thousands of lookups does
   * not hold its save for hours. Names not resolved in time are left to
   * the call-time check, as names that do not resolve are.
   */
  async checkUrls(texts: readonly string[]): Promise<(string | undefined)[]> {
    const targets = texts.map((text): { host: string; port: number } | string => {
      let url: URL;
      try { url = new URL(text); } catch { return 'is not a URL'; }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
      return { host: hostOf(url), port: portOf(url) };
    });
    const names = targets.flatMap((t) => (typeof t === 'string' || isIP(t.host) ? [] : [t.host]));
    const resolved = await resolveAll(this.resolve, names, this.limits);
    return targets.map((t) => {
      if (typeof t === 'string') return t;
      if (isIP(t.host)) return this.refusalOf(t.host, t.port);
      return this.firstRefusal(t.host, t.port, resolved.get(t.host) ?? []);
    });
  }

  /**
   * One request under the policy: the host's addresses are checked as the
   * socket resolves them (all of them: any refused one refuses the request),
   * a 3xx is refused (redirects are not followed), and the answer is read up
   * to maxBytes, past which the request is aborted and refused.
   * Throws OutboundRefused or OutboundFailed.
   */
  request(url: URL, req: OutboundRequest, agent?: Agent): Promise<OutboundAnswer> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new OutboundRefused(`${url.protocol} is not http(s)`));
    const host = hostOf(url);
    const port = portOf(url);
    if (isIP(host)) {
      const why = this.refusalOf(host, port);
      if (why) return Promise.reject(new OutboundRefused(why));
    }
    const lookup = checkedLookup(this.resolve, (hostname, all) => this.firstRefusal(hostname, port, all));
    return send(url, req, lookup, this.maxBytes, agent);
  }

  /** Why a name may not be contacted: the refusal of the first of its addresses refused. */
  private firstRefusal(host: string, port: number, addresses: readonly ResolvedAddress[]): string | undefined {
    for (const a of addresses) {
      const why = this.refusalOf(a.address, port, host);
      if (why) return why;
    }
    return undefined;
  }
}

/** The URL's host as an address or a name, without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** The port a URL connects to: its own, or its scheme's. */
function portOf(url: URL): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}
