// IPv4 (RFC 791): header checks, addresses, and the header checksum.
import { get16 } from './bytes';
import { finish, fold, sumWords } from './checksum';

export const IPV4_HLEN: u32 = 20;
export const IPPROTO_ICMP: u32 = 1;
export const IPPROTO_UDP: u32 = 17;

@inline export function src4(ip: usize): usize { return ip + 12; }
@inline export function dst4(ip: usize): usize { return ip + 16; }
/** Header length in bytes (IHL x 4). */
@inline export function ihl(ip: usize): u32 { return (<u32>load<u8>(ip) & 0xf) << 2; }
@inline export function totalLength(ip: usize): u32 { return get16(ip + 2); }

/** More Fragments set, or a fragment offset: part of a fragmented datagram. */
export function isFragment4(ip: usize): bool {
  return (get16(ip + 6) & 0x3fff) != 0;
}
export function headerChecksumOk(ip: usize): bool {
  return fold(sumWords(ip, ihl(ip), 0)) == 0xffff;
}
export function setHeaderChecksum(ip: usize): void {
  store<u16>(ip, 0, 10);
  store<u16>(ip + 10, bswap<u16>(<u16>finish(sumWords(ip, ihl(ip), 0))));
}

/** 224.0.0.0/4 and above: multicast, reserved, limited broadcast. */
export function isMulticastOrBroadcast4(a: usize): bool {
  return load<u8>(a) >= 224;
}
/** No reply may go to 0.0.0.0/8, 127.0.0.0/8, multicast, reserved or broadcast. */
export function isBadSource4(a: usize): bool {
  const first = load<u8>(a);
  return first == 0 || first == 127 || first >= 224;
}
