// Answers ICMPv6 echo requests (ping -6) in place: the lesson's assignment 3.
// Everything else is dropped.
import { VERDICT_DROP, VERDICT_TX, descAddr, descLen, setVerdict } from './lib/abi';
import { get16, put16, swapBytes } from './lib/bytes';
import { updateChecksum } from './lib/checksum';
import { ETH_P_IPV6, l3Offset } from './lib/ethernet';
export { ABI as ABI_VERSION } from './lib/abi';

const IPV6_HLEN: u32 = 40;
const NEXTHDR_ICMPV6: u32 = 58;
const ICMPV6_ECHO_REQUEST: u32 = 128;
const ICMPV6_ECHO_REPLY: u32 = 129;
const HOP_LIMIT: u8 = 64;

/** The reply's length, or 0 when the frame is not an echo request we answer. */
function answer(frame: usize, len: u32): u32 {
  const ip = l3Offset(frame, len);
  if (ip == 0 || get16(frame + ip - 2) != ETH_P_IPV6 || ip + IPV6_HLEN + 8 > len) return 0;
  const ip6 = frame + ip;
  if (load<u8>(ip6) >> 4 != 6 || load<u8>(ip6, 6) != NEXTHDR_ICMPV6) return 0;
  const payload = get16(ip6 + 4);
  if (payload < 8 || ip + IPV6_HLEN + payload > len) return 0;
  const icmp = ip6 + IPV6_HLEN;
  if (load<u8>(icmp) != ICMPV6_ECHO_REQUEST || load<u8>(icmp, 1) != 0) return 0;

  swapBytes(frame, frame + 6, 6); // MACs
  swapBytes(ip6 + 8, ip6 + 24, 16); // addresses: the pseudo-header sum does not change
  store<u8>(ip6, HOP_LIMIT, 7);
  // Only the type byte changes: the word (type << 8 | code) goes from 128:0 to 129:0.
  const code = <u32>load<u8>(icmp, 1);
  store<u8>(icmp, <u8>ICMPV6_ECHO_REPLY);
  put16(icmp + 2, updateChecksum(get16(icmp + 2), (ICMPV6_ECHO_REQUEST << 8) | code, (ICMPV6_ECHO_REPLY << 8) | code));
  return ip + IPV6_HLEN + payload; // no Ethernet padding carried over
}

export function process(batch: usize, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const len = descLen(batch, i);
    const reply = answer(descAddr(batch, i), len);
    if (reply) setVerdict(batch, i, VERDICT_TX, reply);
    else setVerdict(batch, i, VERDICT_DROP, len);
  }
}
