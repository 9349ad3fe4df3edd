// A handler of your own: it answers ping (ICMPv6 and ICMP echo requests sent
// to this host alone, without IPv6 extension headers or IPv4 options) and
// drops everything else. It imports the SDK by package name from
// node_modules/afxdp-wasm; asm/echo.ts there is the full responder.
//
//   npm run build    handler.ts -> handler.wasm
//   npm test         build, then replay test/requests.pcap against test/expected.pcap
import { descAddr, descLen } from 'afxdp-wasm/asm/lib/abi';
import { applyAnswer } from 'afxdp-wasm/asm/lib/answer';
import { get16, put16, swapBytes } from 'afxdp-wasm/asm/lib/bytes';
import { fold, sumWords, updateChecksum } from 'afxdp-wasm/asm/lib/checksum';
import { hopLimit, ifaceMac, setConfig } from 'afxdp-wasm/asm/lib/config';
import { ETH_P_IP, ETH_P_IPV6, isGroupMac, l3Offset, padded, replyMacs } from 'afxdp-wasm/asm/lib/ethernet';
import { ICMP_ECHO_HLEN, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, typeCode } from 'afxdp-wasm/asm/lib/icmp';
import { IPPROTO_ICMP, IPV4_HLEN, dst4, headerChecksumOk, ihl, isBadSource4, isFragment4, setHeaderChecksum, src4, totalLength } from 'afxdp-wasm/asm/lib/ipv4';
import { IPV6_HLEN, NEXTHDR_ICMPV6, dst6, isMulticast6, pseudoSum6, src6 } from 'afxdp-wasm/asm/lib/ipv6';
import { BAD_CHECKSUM, BAD_HEADER, BAD_SOURCE, NOT_ECHO, NOT_IP, REASON_NAMES, TRUNCATED, countersAddress } from 'afxdp-wasm/asm/lib/reasons';
export { ABI as ABI_VERSION } from 'afxdp-wasm/asm/lib/abi';

export function init(config: usize): void { setConfig(config); }
export function counters(): usize { return countersAddress(); }
export function counter_names(): usize { return changetype<usize>(REASON_NAMES); }
export function counter_names_len(): u32 { return <u32>REASON_NAMES.length << 1; }

/** The reply's length for an ICMPv6 echo request at frame + l3, or minus the reason to drop it. */
function ping6(frame: usize, l3: u32, len: u32): i32 {
  const ip6 = frame + l3;
  if (l3 + IPV6_HLEN + ICMP_ECHO_HLEN > len) return -TRUNCATED;
  const icmpLen = get16(ip6 + 4);
  if (load<u8>(ip6) >> 4 != 6 || l3 + IPV6_HLEN + icmpLen > len || icmpLen < ICMP_ECHO_HLEN) return -BAD_HEADER;
  const icmp = ip6 + IPV6_HLEN;
  if (load<u8>(ip6, 6) != NEXTHDR_ICMPV6 || load<u8>(icmp) != ICMPV6_ECHO_REQUEST) return -NOT_ECHO;
  if (isMulticast6(src6(ip6)) || isMulticast6(dst6(ip6)) || isGroupMac(frame)) return -BAD_SOURCE;
  if (fold(sumWords(icmp, icmpLen, pseudoSum6(ip6, icmpLen, NEXTHDR_ICMPV6))) != 0xffff) return -BAD_CHECKSUM;
  replyMacs(frame, ifaceMac(), false);
  swapBytes(src6(ip6), dst6(ip6), 16); // the pseudo-header's sum stays the same
  store<u8>(ip6, <u8>hopLimit(), 7);
  store<u8>(icmp, <u8>ICMPV6_ECHO_REPLY);
  put16(icmp + 2, updateChecksum(get16(icmp + 2), typeCode(ICMPV6_ECHO_REQUEST, 0), typeCode(ICMPV6_ECHO_REPLY, 0)));
  return <i32>padded(frame, l3 + IPV6_HLEN + icmpLen, len);
}

/** The reply's length for an ICMP echo request at frame + l3, or minus the reason to drop it. */
function ping4(frame: usize, l3: u32, len: u32): i32 {
  const ip = frame + l3;
  if (l3 + IPV4_HLEN + ICMP_ECHO_HLEN > len) return -TRUNCATED;
  const total = totalLength(ip);
  if (load<u8>(ip) >> 4 != 4 || ihl(ip) != IPV4_HLEN || l3 + total > len || total < IPV4_HLEN + ICMP_ECHO_HLEN) return -BAD_HEADER;
  if (!headerChecksumOk(ip)) return -BAD_CHECKSUM;
  const icmp = ip + IPV4_HLEN;
  if (load<u8>(ip, 9) != IPPROTO_ICMP || isFragment4(ip) || load<u8>(icmp) != ICMP_ECHO_REQUEST) return -NOT_ECHO;
  if (isBadSource4(src4(ip)) || isBadSource4(dst4(ip)) || isGroupMac(frame)) return -BAD_SOURCE;
  if (fold(sumWords(icmp, total - IPV4_HLEN, 0)) != 0xffff) return -BAD_CHECKSUM;
  replyMacs(frame, ifaceMac(), false);
  swapBytes(src4(ip), dst4(ip), 4);
  store<u8>(ip, <u8>hopLimit(), 8);
  setHeaderChecksum(ip);
  store<u8>(icmp, <u8>ICMP_ECHO_REPLY);
  put16(icmp + 2, updateChecksum(get16(icmp + 2), typeCode(ICMP_ECHO_REQUEST, 0), typeCode(ICMP_ECHO_REPLY, 0)));
  return <i32>padded(frame, l3 + total, len);
}

export function process(batch: usize, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const frame = descAddr(batch, i);
    const len = descLen(batch, i);
    const l3 = l3Offset(frame, len);
    let reply: i32 = l3 < 0 ? l3 : -NOT_IP;
    if (l3 > 0) {
      const type = get16(frame + <usize>l3 - 2);
      if (type == ETH_P_IPV6) reply = ping6(frame, <u32>l3, len);
      else if (type == ETH_P_IP) reply = ping4(frame, <u32>l3, len);
    }
    applyAnswer(batch, i, reply, len);
  }
}
