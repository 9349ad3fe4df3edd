// UDP (RFC 768): ports and the checksum, over IPv6 and IPv4.
import { get16, put16 } from './bytes';
import { addWord, finish, sumWords } from './checksum';
import { src4 } from './ipv4';
import { pseudoSum6 } from './ipv6';

export const UDP_HLEN: u32 = 8;
@inline export function srcPort(udp: usize): u32 { return get16(udp); }
@inline export function dstPort(udp: usize): u32 { return get16(udp + 2); }
@inline export function udpLength(udp: usize): u32 { return get16(udp + 4); }

/** Recomputes the checksum of a UDP datagram of len bytes inside an IPv6 packet. */
export function setUdpChecksum6(ip6: usize, udp: usize, len: u32): void {
  store<u16>(udp, 0, 6);
  const c = finish(sumWords(udp, len, pseudoSum6(ip6, len, 17)));
  put16(udp + 6, c == 0 ? 0xffff : c); // zero means "no checksum", which IPv6 forbids
}

/** Recomputes the checksum of a UDP datagram of len bytes inside an IPv4 packet. */
export function setUdpChecksum4(ip: usize, udp: usize, len: u32): void {
  store<u16>(udp, 0, 6);
  let sum = sumWords(src4(ip), 8, 0);
  sum = addWord(addWord(sum, 17), len);
  const c = finish(sumWords(udp, len, sum));
  put16(udp + 6, c == 0 ? 0xffff : c);
}
