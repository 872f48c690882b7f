import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

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
 */

type Family = 'ipv4' | 'ipv6';

/** Ranges that are not the public internet, refused unless allowed; the first match names the reason. */
const refusedRanges: readonly (readonly [what: string, net: string, prefix: number, family: Family])[] = [
  ['the cloud metadata address', '169.254.169.254', 32, 'ipv4'],
  ['a "this network" address', '0.0.0.0', 8, 'ipv4'],
  ['a private address (RFC 1918)', '10.0.0.0', 8, 'ipv4'],
  // Carrier-grade NAT: not the internet either (Alibaba Cloud's metadata is 100.100.100.200).
  ['a shared address (CGNAT, RFC 6598)', '100.64.0.0', 10, 'ipv4'],
  ['a loopback address', '127.0.0.0', 8, 'ipv4'],
  ['a link-local address', '169.254.0.0', 16, 'ipv4'],
  ['a private address (RFC 1918)', '172.16.0.0', 12, 'ipv4'],
  ['an IETF protocol address', '192.0.0.0', 24, 'ipv4'],
  ['a private address (RFC 1918)', '192.168.0.0', 16, 'ipv4'],
  ['a benchmarking address', '198.18.0.0', 15, 'ipv4'],
  ['a multicast address', '224.0.0.0', 4, 'ipv4'],
  ['a reserved address', '240.0.0.0', 4, 'ipv4'],
  ['the cloud metadata address', 'fd00:ec2::254', 128, 'ipv6'],
  ['the unspecified address', '::', 128, 'ipv6'],
  ['a loopback address', '::1', 128, 'ipv6'],
  ['a link-local address', 'fe80::', 10, 'ipv6'],
  ['a site-local address', 'fec0::', 10, 'ipv6'],
  ['a unique-local address', 'fc00::', 7, 'ipv6'],
  ['a multicast address', 'ff00::', 8, 'ipv6'],
];
// One BlockList per range, to name the reason. BlockList matches
// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) against IPv4 rules itself.
const refused = refusedRanges.map(([what, net, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { what, list };
});

const familyOf = (address: string): Family | undefined => {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
};

/** The 16 bytes of an IPv6 address (one isIP accepts). */
function ipv6Bytes(address: string): number[] {
  let text = address.split('%')[0]!;
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) text = `${dotted[1]}0:0`;
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const [head, tail] = text.split('::') as [string, string | undefined];
  const before = words(head);
  const after = tail === undefined ? [] : words(tail);
  const groups = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (dotted) bytes.splice(12, 4, ...dotted[2]!.split('.').map(Number));
  return bytes;
}

/**
 * The IPv4 address an IPv6 address carries to an IPv4 host, if any: NAT64
 * (64:ff9b::/96), 6to4 (2002::/16) and the old IPv4-compatible form
 * (::a.b.c.d). IPv4-mapped addresses BlockList handles itself.
 */
export function embeddedIpv4(address: string): string | undefined {
  if (familyOf(address) !== 'ipv6') return undefined;
  const b = ipv6Bytes(address);
  const zeros = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return b.slice(12).join('.');
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  if (zeros(0, 12) && !zeros(12, 14)) return b.slice(12).join('.');
  return undefined;
}

/** Hosts and networks an operator allows: `lookup.example.com`, `*.example.com`, `10.1.2.3`, `10.0.0.0/8`, `fd00::/8`. */
export class AllowList {
  private readonly networks = new BlockList();
  private readonly hosts = new Set<string>();
  private readonly domains: string[] = [];
  readonly entries: readonly string[];

  /** Throws an Error naming the first entry that is neither a host name, an address nor a network. */
  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      const [net, prefixText, extra] = entry.split('/');
      const address = net!.replace(/^\[(.*)\]$/, '$1');
      const family = familyOf(address);
      if (family) {
        const max = family === 'ipv4' ? 32 : 128;
        const prefix = prefixText === undefined ? max : Number(prefixText);
        if (extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) throw new Error(`'${raw}' is not a network (address/prefix, prefix 0-${max})`);
        this.networks.addSubnet(address, prefix, family);
      } else if (prefixText === undefined && /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/.test(entry)) {
        if (entry.startsWith('*.')) this.domains.push(entry.slice(1).replace(/\.$/, ''));
        else this.hosts.add(entry.replace(/\.$/, ''));
      } else {
        throw new Error(`'${raw}' is neither a host name, an IP address nor a network (address/prefix)`);
      }
    }
  }

  /** Parses a comma-separated setting. */
  static parse(text: string): AllowList {
    return new AllowList(text.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  }

  /** Whether a host name (not an address) is allowed whatever it resolves to. */
  allowsHost(hostname: string): boolean {
    const host = hostname.toLowerCase().replace(/\.$/, '');
    return this.hosts.has(host) || this.domains.some((d) => host.endsWith(d));
  }

  allowsAddress(address: string): boolean {
    const family = familyOf(address);
    if (!family) return false;
    if (this.networks.check(address, family)) return true;
    const inner = embeddedIpv4(address);
    return inner !== undefined && this.networks.check(inner, 'ipv4');
  }
}

/** What makes an address non-public, or undefined for a public one. */
export function nonPublic(address: string): string | undefined {
  const family = familyOf(address);
  if (!family) return 'not an IP address';
  for (const r of refused) if (r.list.check(address, family)) return r.what;
  const inner = embeddedIpv4(address);
  if (inner !== undefined) {
    const what = nonPublic(inner);
    if (what) return `${what} (${inner}, inside an IPv6 address)`;
  }
  return undefined;
}

/** A request the policy stopped: an address not allowed, a redirect, an answer too large. */
export class OutboundRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

/** A request that failed on its own: timeout, network, a bad address. */
export class OutboundFailed extends Error {
  constructor(readonly code: 'timeout' | 'network', message: string) {
    super(message);
    this.name = 'OutboundFailed';
  }
}

export interface ResolvedAddress { address: string; family: 4 | 6 }
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = async (hostname) => (await dnsLookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[];

export interface OutboundOptions {
  /** The setting that holds the allow list, named in refusals so the operator knows what to change. */
  setting: string;
  /** Answers above this many bytes are refused (64 KiB). */
  maxBytes?: number;
  /** Name resolution (tests give their own); the system's (getaddrinfo: hosts file, DNS) by default. */
  resolve?: Resolver;
  /** How long a save-time check waits for DNS before leaving the check to call time (2 s). */
  checkResolveMs?: number;
}

export interface OutboundAnswer { status: number; headers: IncomingMessage['headers']; body: Buffer }
export interface OutboundRequest { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs: number }

export class OutboundPolicy {
  readonly maxBytes: number;
  private readonly resolve: Resolver;
  private readonly checkResolveMs: number;

  constructor(private readonly allow: AllowList, private readonly options: OutboundOptions) {
    this.maxBytes = options.maxBytes ?? 64 * 1024;
    this.resolve = options.resolve ?? systemResolver;
    this.checkResolveMs = options.checkResolveMs ?? 2000;
  }

  /** Why an address may not be contacted (host: the name it came from), or undefined when it may. */
  refusalOf(address: string, host?: string): string | undefined {
    if (this.allow.allowsAddress(address)) return undefined;
    const what = nonPublic(address);
    if (!what) return undefined;
    return `${host && host !== address ? `${host} resolves to ${address}, ` : `${address} is `}${what}, refused unless ${this.options.setting} allows it`;
  }

  /**
   * Save-time check of a URL: its scheme, and its host (an address, or a
   * name with every address it resolves to now). A name that does not
   * resolve now is left to the call-time check. Undefined when it may be used.
   */
  async checkUrl(text: string): Promise<string | undefined> {
    let url: URL;
    try { url = new URL(text); } catch { return 'is not a URL'; }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
    const host = hostOf(url);
    if (isIP(host)) return this.refusalOf(host);
    if (this.allow.allowsHost(host)) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const addresses = await Promise.race([
      this.resolve(host).catch(() => []),
      new Promise<ResolvedAddress[]>((resolve) => { timer = setTimeout(() => resolve([]), this.checkResolveMs); }),
    ]).finally(() => clearTimeout(timer));
    for (const a of addresses) {
      const why = this.refusalOf(a.address, host);
      if (why) return why;
    }
    return undefined;
  }

  /**
   * One request under the policy: the host's addresses are checked as the
   * socket resolves them (all of them: any refused one refuses the request),
   * a 3xx is refused (redirects are not followed), and the answer is read up
   * to maxBytes, past which the request is aborted and refused.
   * Throws OutboundRefused or OutboundFailed.
   */
  request(url: URL, req: OutboundRequest): Promise<OutboundAnswer> {
    const host = hostOf(url);
    const trusted = !isIP(host) && this.allow.allowsHost(host);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new OutboundRefused(`${url.protocol} is not http(s)`));
    if (isIP(host)) {
      const why = this.refusalOf(host);
      if (why) return Promise.reject(new OutboundRefused(why));
    }
    const lookup: LookupFunction = (hostname, options, callback) => {
      this.resolve(hostname).then((all) => {
        if (!trusted) {
          for (const a of all) {
            const why = this.refusalOf(a.address, hostname);
            if (why) return callback(new OutboundRefused(why), '', 4);
          }
        }
        const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
        if (options.all) return (callback as unknown as (err: null, addresses: ResolvedAddress[]) => void)(null, wanted);
        return callback(null, wanted[0]!.address, wanted[0]!.family);
      }, (err: Error) => callback(Object.assign(new OutboundFailed('network', `cannot resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? err.message}`), { code: 'ENOTFOUND' }), '', 4));
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<OutboundAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, answer?: OutboundAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          request.destroy();
          reject(err instanceof OutboundRefused || err instanceof OutboundFailed ? err : new OutboundFailed('network', err.message));
        } else resolve(answer!);
      };
      // A fresh connection per request (no pool): nothing connected for another host is reused.
      const request = send(url, { method: req.method, headers: req.headers, lookup, agent: false }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          const to = res.headers.location ? ` to ${res.headers.location}` : '';
          return finish(new OutboundRefused(`the answer was a redirect (HTTP ${status}${to}); redirects are not followed`));
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.maxBytes) return finish(this.tooLarge());
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxBytes) finish(this.tooLarge());
          else chunks.push(chunk);
        });
        res.on('end', () => finish(undefined, { status, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => finish(err));
        res.on('aborted', () => finish(new OutboundFailed('network', 'the answer was cut short')));
      });
      const timer = setTimeout(() => finish(new OutboundFailed('timeout', `no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
      request.on('error', (err) => finish(err));
      request.end(req.body);
    });
  }

  private tooLarge(): OutboundRefused {
    return new OutboundRefused(`the answer is larger than ${this.maxBytes} bytes`);
  }
}

/** The URL's host as an address or a name, without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}
