import { BlockList } from 'node:net';
import { embeddedIpv4, familyOf } from './addresses.js';

/** A port, or every port (an entry written without one). */
type Ports = number | 'any';

interface NetworkEntry { list: BlockList; port: Ports; single: boolean }
interface NameEntry { host: string; wildcard: boolean; port: Ports }

const hostName = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/;

/**
 * The hosts and networks an operator allows, each on one port or on any:
 * `lookup.internal`, `*.corp.example`, `10.1.2.3`, `10.0.0.0/8`, `fd00::/8`,
 * with an optional `:port` (`lookup.internal:8080`, `127.0.0.1:8080`,
 * `10.0.0.0/8:443`); an IPv6 address or network with a port goes in
 * brackets (`[::1]:8080`, `[fd00::/8]:443`), so a bare IPv6 entry never
 * ends in a port.
 */
export class AllowList {
  private readonly networks: NetworkEntry[] = [];
  private readonly names: NameEntry[] = [];
  readonly entries: readonly string[];

  /** Throws an Error naming the first entry that is neither a host name, an address nor a network, with an optional port. */
  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (entry !== '') this.add(raw, entry);
    }
  }

  /** Parses a comma-separated setting. */
  static parse(text: string): AllowList {
    return new AllowList(text.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  }

  private add(raw: string, entry: string): void {
    let target = entry;
    let portText: string | undefined;
    const bracketed = /^\[([^\]]*)\](\/[^:]*)?(?::(.*))?$/.exec(entry);
    if (bracketed) {
      // [v6], [v6/n] or [v6]/n (the older spelling), then an optional :port.
      target = bracketed[1]! + (bracketed[2] ?? '');
      portText = bracketed[3];
      if (!familyOf(target.split('/')[0]!)) throw new Error(`'${raw}' has brackets around something that is not an IP address`);
    } else if ((entry.match(/:/g) ?? []).length === 1) {
      [target, portText] = entry.split(':') as [string, string];
    }
    const port = portText === undefined ? 'any' : Number(portText);
    const neither = `'${raw}' is neither a host name, an IP address nor a network (address/prefix), with an optional :port`;
    if (portText !== undefined && !/^\d{1,5}$/.test(portText)) throw new Error(neither);
    if (port !== 'any' && (port < 1 || port > 65535)) throw new Error(`'${raw}' has a port out of range (1-65535)`);

    const [net, prefixText, extra] = target.split('/');
    const family = familyOf(net!);
    if (family) {
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) throw new Error(`'${raw}' is not a network (address/prefix, prefix 0-${max})`);
      const list = new BlockList();
      list.addSubnet(net!, prefix, family);
      this.networks.push({ list, port, single: prefix === max });
    } else if (prefixText === undefined && hostName.test(target)) {
      const wildcard = target.startsWith('*.');
      this.names.push({ host: (wildcard ? target.slice(1) : target).replace(/\.$/, ''), wildcard, port });
    } else {
      throw new Error(neither);
    }
  }

  /** Whether a host name (not an address) is allowed on this port (or, with 'any', on some port). */
  allowsHost(hostname: string, port: Ports): boolean {
    const host = hostname.toLowerCase().replace(/\.$/, '');
    return this.names.some((n) => portMatches(n.port, port) && (n.wildcard ? host.endsWith(n.host) : host === n.host));
  }

  /**
   * Whether an address is allowed on this port (or, with 'any', on some
   * port). With `single`, only by an entry naming that one address, not by
   * a wider network.
   */
  allowsAddress(address: string, port: Ports, single = false): boolean {
    const family = familyOf(address);
    if (!family) return false;
    const inner = embeddedIpv4(address);
    return this.networks.some((n) => (!single || n.single) && portMatches(n.port, port)
      && (n.list.check(address, family) || (inner !== undefined && n.list.check(inner, 'ipv4'))));
  }
}

const portMatches = (entry: Ports, asked: Ports): boolean => entry === 'any' || asked === 'any' || entry === asked;
