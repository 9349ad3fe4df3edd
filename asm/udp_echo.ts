// A worked example of the SDK: the UDP echo service (RFC 862). Datagrams to
// port 7, over IPv6 or IPv4, go back to their sender with the same payload;
// everything else is dropped. Compare asm/echo.ts, which does the same for ping.
import { descAddr, descLen } from './lib/abi';
import { applyAnswer } from './lib/answer';
import { get16, put16, swapBytes } from './lib/bytes';
import { hopLimit, ifaceMac, setConfig } from './lib/config';
import { ETH_P_IP, ETH_P_IPV6, isGroupMac, l3Offset, padded, replyMacs } from './lib/ethernet';
import { IPPROTO_UDP, IPV4_HLEN, dst4, headerChecksumOk, ihl, isBadSource4, isFragment4, setHeaderChecksum, src4, totalLength } from './lib/ipv4';
import { IPV6_HLEN, dst6, isMulticast6, src6 } from './lib/ipv6';
import { BAD_HEADER, BAD_SOURCE, NOT_ECHO, NOT_IP, REASON_NAMES, TRUNCATED, countersAddress } from './lib/reasons';
import { UDP_HLEN, dstPort, setUdpChecksum4, setUdpChecksum6, udpLength } from './lib/udp';
export { ABI as ABI_VERSION } from './lib/abi';

const ECHO_PORT: u32 = 7;

export function init(config: usize): void { setConfig(config); }
export function counters(): usize { return countersAddress(); }
export function counter_names(): usize { return changetype<usize>(REASON_NAMES); }
export function counter_names_len(): u32 { return <u32>REASON_NAMES.length << 1; }

/** Turns the UDP header at udp around: ports swapped. */
function swapPorts(udp: usize): void {
  const src = get16(udp);
  put16(udp, get16(udp + 2));
  put16(udp + 2, src);
}

function echo6(frame: usize, l3: u32, len: u32): i32 {
  const ip6 = frame + l3;
  if (l3 + IPV6_HLEN + UDP_HLEN > len) return -TRUNCATED;
  // Only plain datagrams: no extension headers (the lib's upperLayer() would walk them).
  if (load<u8>(ip6) >> 4 != 6 || load<u8>(ip6, 6) != IPPROTO_UDP) return -NOT_ECHO;
  const udp = ip6 + IPV6_HLEN;
  const ulen = udpLength(udp);
  if (ulen < UDP_HLEN || ulen != get16(ip6 + 4) || l3 + IPV6_HLEN + ulen > len) return -BAD_HEADER;
  if (dstPort(udp) != ECHO_PORT) return -NOT_ECHO;
  if (isMulticast6(src6(ip6)) || isMulticast6(dst6(ip6)) || isGroupMac(frame)) return -BAD_SOURCE;
  replyMacs(frame, ifaceMac(), false);
  swapBytes(src6(ip6), dst6(ip6), 16);
  store<u8>(ip6, <u8>hopLimit(), 7);
  swapPorts(udp);
  setUdpChecksum6(ip6, udp, ulen);
  return <i32>padded(frame, l3 + IPV6_HLEN + ulen, len);
}

function echo4(frame: usize, l3: u32, len: u32): i32 {
  const ip = frame + l3;
  if (l3 + IPV4_HLEN > len) return -TRUNCATED;
  const hlen = ihl(ip);
  if (load<u8>(ip) >> 4 != 4 || hlen != IPV4_HLEN || l3 + totalLength(ip) > len || !headerChecksumOk(ip)) return -BAD_HEADER;
  if (load<u8>(ip, 9) != IPPROTO_UDP || isFragment4(ip)) return -NOT_ECHO;
  const udp = ip + IPV4_HLEN;
  const ulen = udpLength(udp);
  if (ulen < UDP_HLEN || IPV4_HLEN + ulen != totalLength(ip)) return -BAD_HEADER;
  if (dstPort(udp) != ECHO_PORT) return -NOT_ECHO;
  if (isBadSource4(src4(ip)) || isBadSource4(dst4(ip)) || isGroupMac(frame)) return -BAD_SOURCE;
  replyMacs(frame, ifaceMac(), false);
  swapBytes(src4(ip), dst4(ip), 4);
  store<u8>(ip, <u8>hopLimit(), 8);
  setHeaderChecksum(ip);
  swapPorts(udp);
  setUdpChecksum4(ip, udp, ulen);
  return <i32>padded(frame, l3 + IPV4_HLEN + ulen, len);
}

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const frame = descAddr(batch, i);
    const len = descLen(batch, i);
    const l3 = l3Offset(frame, len);
    let reply: i32 = l3 < 0 ? l3 : -NOT_IP;
    if (l3 > 0) {
      const type = get16(frame + <usize>l3 - 2);
      if (type == ETH_P_IPV6) reply = echo6(frame, <u32>l3, len);
      else if (type == ETH_P_IP) reply = echo4(frame, <u32>l3, len);
    }
    applyAnswer(batch, i, reply, len);
  }
}
