import { BlockList, isIP } from 'node:net';

/**
 * Address classification for the outbound policy: what makes an address
 * not the public internet, including IPv6 forms that carry an IPv4 address.
 */

export type Family = 'ipv4' | 'ipv6';

export const familyOf = (address: string): Family | undefined => {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
};

/**
 * Cloud metadata services (credentials, user data): refused even behind a
 * host name or inside a network the allow list names, unless it names the
 * address itself.
 */
const metadataRanges: readonly (readonly [net: string, prefix: number, family: Family])[] = [
  ['169.254.169.254', 32, 'ipv4'], // AWS, GCP, Azure, OpenStack, …
  ['fd00:ec2::254', 128, 'ipv6'], // AWS over IPv6
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud
];

/** Ranges that are not the public internet, refused unless allowed; the first match names the reason. */
const refusedRanges: readonly (readonly [what: string, net: string, prefix: number, family: Family])[] = [
  ...metadataRanges.map(([net, prefix, family]) => ['the cloud metadata address', net, prefix, family] as const),
  ['a "this network" address', '0.0.0.0', 8, 'ipv4'],
  ['a private address (RFC 1918)', '10.0.0.0', 8, 'ipv4'],
  ['a shared address (CGNAT, RFC 6598)', '100.64.0.0', 10, 'ipv4'],
  ['a loopback address', '127.0.0.0', 8, 'ipv4'],
  ['a link-local address', '169.254.0.0', 16, 'ipv4'],
  ['a private address (RFC 1918)', '172.16.0.0', 12, 'ipv4'],
  ['an IETF protocol address', '192.0.0.0', 24, 'ipv4'],
  ['a private address (RFC 1918)', '192.168.0.0', 16, 'ipv4'],
  ['a benchmarking address', '198.18.0.0', 15, 'ipv4'],
  ['a multicast address', '224.0.0.0', 4, 'ipv4'],
  ['a reserved address', '240.0.0.0', 4, 'ipv4'],
  ['the unspecified address', '::', 128, 'ipv6'],
  ['a loopback address', '::1', 128, 'ipv6'],
  // The IPv4 address inside a local-use NAT64 address sits where the
  // operator's prefix length (/48 to /96) puts it: not well-defined, so the
  // whole range is refused (it is not routed on the internet anyway).
  ['a local-use NAT64 address (RFC 8215)', '64:ff9b:1::', 48, 'ipv6'],
  // Teredo carries an obfuscated IPv4 client address, and a Teredo relay
  // reaches whatever it names: refused as a whole.
  ['a Teredo address (2001::/32)', '2001::', 32, 'ipv6'],
  ['a link-local address', 'fe80::', 10, 'ipv6'],
  ['a site-local address', 'fec0::', 10, 'ipv6'],
  ['a unique-local address', 'fc00::', 7, 'ipv6'],
  ['a multicast address', 'ff00::', 8, 'ipv6'],
];

// One BlockList per range, to name the reason. BlockList matches
// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) against IPv4 rules itself;
// the other forms go through embeddedIpv4.
const blockList = (ranges: readonly (readonly [net: string, prefix: number, family: Family])[]): BlockList => {
  const list = new BlockList();
  for (const [net, prefix, family] of ranges) list.addSubnet(net, prefix, family);
  return list;
};
const refused = refusedRanges.map(([what, net, prefix, family]) => ({ what, list: blockList([[net, prefix, family]]) }));
const metadata = blockList(metadataRanges);

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
 * The IPv4 address an IPv6 address carries to an IPv4 host, where its place
 * is fixed: IPv4-mapped (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96,
 * SIIT), the well-known NAT64 prefix (64:ff9b::/96), 6to4 (2002::/16) and
 * the old IPv4-compatible form (::a.b.c.d).
 */
export function embeddedIpv4(address: string): string | undefined {
  if (familyOf(address) !== 'ipv6') return undefined;
  const b = ipv6Bytes(address);
  const zeros = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  const low = b.slice(12).join('.');
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return low;
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) return low;
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return low;
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  if (zeros(0, 12) && !zeros(12, 14)) return low;
  return undefined;
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

/** Whether an address is a cloud metadata service's, in any of its spellings. */
export function isMetadata(address: string): boolean {
  const family = familyOf(address);
  if (!family) return false;
  if (metadata.check(address, family)) return true;
  const inner = embeddedIpv4(address);
  return inner !== undefined && metadata.check(inner, 'ipv4');
}
