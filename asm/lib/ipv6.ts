// IPv6 (RFC 8200): the fixed header, addresses, and the walk through
// extension headers to the upper layer.
import { addWord, sumWords } from './checksum';
import { BAD_HEADER, FRAGMENT, ROUTING, TOO_MANY_HEADERS, TRUNCATED } from './reasons';

export const IPV6_HLEN: u32 = 40;
export const NEXTHDR_HOP: u32 = 0;
export const NEXTHDR_ROUTING: u32 = 43;
export const NEXTHDR_FRAGMENT: u32 = 44;
export const NEXTHDR_ICMPV6: u32 = 58;
export const NEXTHDR_DEST: u32 = 60;
/** A bound on the walk, so a crafted chain cannot keep us busy. */
export const MAX_EXT_HEADERS: i32 = 8;

@inline export function src6(ip6: usize): usize { return ip6 + 8; }
@inline export function dst6(ip6: usize): usize { return ip6 + 24; }

export function isMulticast6(a: usize): bool {
  return load<u8>(a) == 0xff;
}
/** :: */
export function isUnspecified6(a: usize): bool {
  return (load<u64>(a) | load<u64>(a, 8)) == 0;
}
/** ::1 */
export function isLoopback6(a: usize): bool {
  return load<u64>(a) == 0 && load<u64>(a, 8) == 0x0100000000000000;
}

/** The upper-layer protocol found by the last successful upperLayer(). */
export let upperProtocol: u32 = 0;

/**
 * Walks Hop-by-Hop, Routing and Destination Options headers to the upper
 * layer. Returns its offset from the IPv6 header, or minus a reason: a
 * Fragment header (FRAGMENT), a Routing header with segments left (ROUTING:
 * we are not the final destination), Hop-by-Hop not first (BAD_HEADER), a
 * header past `end` (TRUNCATED), more than MAX_EXT_HEADERS (TOO_MANY_HEADERS).
 */
export function upperLayer(ip6: usize, end: usize): i32 {
  let next = <u32>load<u8>(ip6, 6);
  let off: usize = IPV6_HLEN;
  for (let i: i32 = 0; i < MAX_EXT_HEADERS; i++) {
    if (next == NEXTHDR_FRAGMENT) return -FRAGMENT;
    if (next != NEXTHDR_HOP && next != NEXTHDR_ROUTING && next != NEXTHDR_DEST) {
      upperProtocol = next;
      return <i32>off;
    }
    if (next == NEXTHDR_HOP && i != 0) return -BAD_HEADER;
    if (ip6 + off + 8 > end) return -TRUNCATED;
    if (next == NEXTHDR_ROUTING && load<u8>(ip6 + off, 3) != 0) return -ROUTING;
    next = <u32>load<u8>(ip6 + off);
    off += (<usize>load<u8>(ip6 + off, 1) + 1) << 3;
    if (ip6 + off > end) return -TRUNCATED;
  }
  return -TOO_MANY_HEADERS;
}

/** The pseudo-header's part of an upper-layer checksum (RFC 8200 section 8.1). */
export function pseudoSum6(ip6: usize, upperLen: u32, protocol: u32): u64 {
  let sum = sumWords(src6(ip6), 32, 0); // source and destination, adjacent
  sum = addWord(sum, upperLen >> 16);
  sum = addWord(sum, upperLen & 0xffff);
  return addWord(sum, protocol);
}
