import { BlockList } from 'node:net';
import { embeddedIpv4, familyOf } from './addresses.js';

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
