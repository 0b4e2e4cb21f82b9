import { BlockList, isIP } from 'node:net';

/**
 * IPv4 ranges that are not the public internet (RFC 6890 and friends): this host, private,
 * carrier-grade NAT, loopback, link-local, IETF protocol assignments, documentation, benchmarking,
 * the 6to4 relay anycast, multicast, reserved and broadcast.
 */
const IPV4_SPECIAL: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/**
 * IPv6 ranges that are not the public internet: unspecified and loopback (inside ::/96), the
 * mapped and SIIT ranges (no real server is reached that way; their IPv4 part is refused on its own
 * too), local-use NAT64, discard-only,
 * IETF protocol assignments (Teredo among them), documentation, ORCHIDv2, unique-local,
 * link-local, the old site-local, and multicast.
 */
const IPV6_SPECIAL: readonly [string, number][] = [
  ['::', 96],
  ['::ffff:0:0', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2001:20::', 28],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

// One list per family, so that no rule of one is ever matched against an address of the other.
const special4 = new BlockList();
for (const [network, prefix] of IPV4_SPECIAL) special4.addSubnet(network, prefix, 'ipv4');
const special6 = new BlockList();
for (const [network, prefix] of IPV6_SPECIAL) special6.addSubnet(network, prefix, 'ipv6');

/**
 * True when `address` (an IP literal, brackets allowed) is a public unicast address Lodge may
 * connect to on a hub's behalf. IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`,
 * compatible `::a.b.c.d`, SIIT, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that
 * address, whichever way they are written. Anything that is not an IP literal is not public.
 */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  if (family === 4) return !special4.check(bare, 'ipv4');
  if (family !== 6) return false;
  const bytes = ipv6Bytes(bare);
  if (bytes === null) return false;
  const embedded = embeddedIpv4(bytes);
  if (embedded !== null && !isPublicAddress(embedded)) return false;
  return !special6.check(bare, 'ipv6');
}

/** The IPv4 address an IPv6 address carries by one of the standard embeddings, if it does. */
function embeddedIpv4(bytes: Uint8Array): string | null {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);
  const tail = (at: number) => [...bytes.slice(at, at + 4)].join('.');
  const word = (at: number) => ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
  // ::a.b.c.d (compatible), ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (SIIT).
  if (zeros(0, 10) && (word(10) === 0 || word(10) === 0xffff)) return tail(12);
  if (zeros(0, 8) && word(8) === 0xffff && word(10) === 0) return tail(12);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix).
  if (word(0) === 0x64 && word(2) === 0xff9b && zeros(4, 12)) return tail(12);
  // 2002:AABB:CCDD::/48 (6to4).
  if (word(0) === 0x2002) return tail(2);
  return null;
}

/** The 16 bytes of an IPv6 literal (`::` and a dotted IPv4 tail allowed), or null. */
function ipv6Bytes(address: string): Uint8Array | null {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const words = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':'));
  const head = words(halves[0]);
  const rest = words(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0) return null;
  const all = [...head, ...Array.from({ length: fill }, () => '0'), ...rest];
  if (all.length !== 8) return null;
  const bytes = new Uint8Array(16);
  for (const [index, group] of all.entries()) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
    const value = Number.parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  }
  return bytes;
}
