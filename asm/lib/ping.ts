// Answering ping: ICMPv6 echo (RFC 4443) and ICMP echo (RFC 792), in place,
// without allocating; for anything else, the reason to drop it (./reasons).
//
// Replies go back out of the queue the request came in on, with:
// - the VLAN tags of the request, as they were;
// - no extension headers or IPv4 options (the request's are not reflected:
//   a Routing header must never be, and a reply needs none of them);
// - a fresh hop limit / TTL (64, or what the host configures);
// - as source the request's destination, or for a request to a multicast or
//   broadcast address the interface's own address and MAC;
// - no padding beyond the shortest Ethernet frame.
import { get16, put16, swapBytes } from './bytes';
import { finish, fold, sumWords, updateChecksum } from './checksum';
import { HAS_IPV4, HAS_IPV6, configFlags, hopLimit, ifaceAddr4, ifaceAddr6, ifaceMac } from './config';
import { ETH_P_IP, ETH_P_IPV6, isGroupMac, l3Offset, padded, replyMacs } from './ethernet';
import { ICMP_ECHO_HLEN, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, typeCode } from './icmp';
import {
  IPPROTO_ICMP, IPV4_HLEN, dst4, headerChecksumOk, ihl, isBadSource4, isFragment4, isMulticastOrBroadcast4, setHeaderChecksum, src4, totalLength,
} from './ipv4';
import { IPV6_HLEN, NEXTHDR_ICMPV6, dst6, isLoopback6, isMulticast6, isUnspecified6, pseudoSum6, src6, upperLayer, upperProtocol } from './ipv6';
import { BAD_CHECKSUM, BAD_HEADER, BAD_SOURCE, FRAGMENT, NOT_ECHO, NOT_IP, NO_ADDRESS, TRUNCATED } from './reasons';

/** Reply length for an ICMPv6 echo request at ip6 (frame offset l3), or minus a reason. */
function echo6(frame: usize, l3: u32, len: u32): i32 {
  const ip6 = frame + l3;
  if (l3 + IPV6_HLEN > len) return -TRUNCATED;
  if (load<u8>(ip6) >> 4 != 6) return -BAD_HEADER;
  const end = ip6 + IPV6_HLEN + get16(ip6 + 4);
  if (end > frame + len) return -TRUNCATED;
  const upper = upperLayer(ip6, end);
  if (upper < 0) return upper;
  if (upperProtocol != NEXTHDR_ICMPV6) return -NOT_ECHO;
  let icmp = ip6 + <usize>upper;
  const icmpLen = <u32>(end - icmp);
  if (icmpLen < ICMP_ECHO_HLEN) return -TRUNCATED;
  if (load<u8>(icmp) != ICMPV6_ECHO_REQUEST || load<u8>(icmp, 1) != 0) return -NOT_ECHO;
  const src = src6(ip6);
  if (isMulticast6(src) || isUnspecified6(src) || isLoopback6(src) || isGroupMac(frame + 6)) return -BAD_SOURCE;
  const toGroup = isMulticast6(dst6(ip6)) || isGroupMac(frame);
  if (toGroup && (configFlags() & HAS_IPV6) == 0) return -NO_ADDRESS;
  if (fold(sumWords(icmp, icmpLen, pseudoSum6(ip6, icmpLen, NEXTHDR_ICMPV6))) != 0xffff) return -BAD_CHECKSUM;

  // The request is good: turn it into the reply.
  if (<u32>upper != IPV6_HLEN) {
    memory.copy(ip6 + IPV6_HLEN, icmp, icmpLen);
    icmp = ip6 + IPV6_HLEN;
    store<u8>(ip6, <u8>NEXTHDR_ICMPV6, 6);
    put16(ip6 + 4, icmpLen);
  }
  replyMacs(frame, ifaceMac(), toGroup);
  store<u8>(ip6, <u8>hopLimit(), 7);
  store<u8>(icmp, <u8>ICMPV6_ECHO_REPLY);
  if (toGroup) {
    memory.copy(dst6(ip6), src, 16);
    memory.copy(src, ifaceAddr6(), 16);
    store<u16>(icmp, 0, 2);
    put16(icmp + 2, finish(sumWords(icmp, icmpLen, pseudoSum6(ip6, icmpLen, NEXTHDR_ICMPV6))));
  } else {
    swapBytes(src, dst6(ip6), 16); // the pseudo-header's sum does not change
    put16(icmp + 2, updateChecksum(get16(icmp + 2), typeCode(ICMPV6_ECHO_REQUEST, 0), typeCode(ICMPV6_ECHO_REPLY, 0)));
  }
  return <i32>padded(frame, l3 + IPV6_HLEN + icmpLen, len);
}

/** Reply length for an ICMP echo request at frame offset l3, or minus a reason. */
function echo4(frame: usize, l3: u32, len: u32): i32 {
  const ip = frame + l3;
  if (l3 + IPV4_HLEN > len) return -TRUNCATED;
  const hlen = ihl(ip);
  if (load<u8>(ip) >> 4 != 4 || hlen < IPV4_HLEN) return -BAD_HEADER;
  const total = totalLength(ip);
  if (l3 + hlen > len || l3 + total > len) return -TRUNCATED;
  if (total < hlen) return -BAD_HEADER;
  if (!headerChecksumOk(ip)) return -BAD_CHECKSUM;
  if (isFragment4(ip)) return -FRAGMENT;
  if (load<u8>(ip, 9) != IPPROTO_ICMP) return -NOT_ECHO;
  const icmpLen = total - hlen;
  if (icmpLen < ICMP_ECHO_HLEN) return -TRUNCATED;
  let icmp = ip + hlen;
  if (load<u8>(icmp) != ICMP_ECHO_REQUEST || load<u8>(icmp, 1) != 0) return -NOT_ECHO;
  if (isBadSource4(src4(ip)) || isGroupMac(frame + 6)) return -BAD_SOURCE;
  const toGroup = isMulticastOrBroadcast4(dst4(ip)) || isGroupMac(frame);
  if (toGroup && (configFlags() & HAS_IPV4) == 0) return -NO_ADDRESS;
  if (fold(sumWords(icmp, icmpLen, 0)) != 0xffff) return -BAD_CHECKSUM;

  if (hlen != IPV4_HLEN) {
    memory.copy(ip + IPV4_HLEN, icmp, icmpLen);
    icmp = ip + IPV4_HLEN;
    store<u8>(ip, 0x45);
  }
  put16(ip + 2, IPV4_HLEN + icmpLen);
  replyMacs(frame, ifaceMac(), toGroup);
  if (toGroup) {
    memory.copy(dst4(ip), src4(ip), 4);
    memory.copy(src4(ip), ifaceAddr4(), 4);
  } else {
    swapBytes(src4(ip), dst4(ip), 4);
  }
  store<u8>(ip, <u8>hopLimit(), 8);
  setHeaderChecksum(ip);
  store<u8>(icmp, <u8>ICMP_ECHO_REPLY);
  // ICMP has no pseudo-header: only the type word changed.
  put16(icmp + 2, updateChecksum(get16(icmp + 2), typeCode(ICMP_ECHO_REQUEST, 0), typeCode(ICMP_ECHO_REPLY, 0)));
  return <i32>padded(frame, l3 + IPV4_HLEN + icmpLen, len);
}

/** The reply to a ping at frame (len bytes), made in place: its length, or minus the reason to drop it. */
export function answerPing(frame: usize, len: u32): i32 {
  const l3 = l3Offset(frame, len);
  if (l3 < 0) return l3;
  const type = get16(frame + <usize>l3 - 2);
  if (type == ETH_P_IPV6) return echo6(frame, <u32>l3, len);
  if (type == ETH_P_IP) return echo4(frame, <u32>l3, len);
  return -NOT_IP;
}
