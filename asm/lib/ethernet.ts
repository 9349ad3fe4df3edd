import { get16 } from './bytes';
import { TOO_MANY_HEADERS, TRUNCATED } from './reasons';

export const ETH_HLEN: u32 = 14;
/** Shortest Ethernet frame without FCS: shorter replies are padded to this. */
export const ETH_ZLEN: u32 = 60;
export const ETH_P_IPV6: u32 = 0x86dd;
export const ETH_P_IP: u32 = 0x0800;
const ETH_P_8021Q: u32 = 0x8100;
const ETH_P_8021AD: u32 = 0x88a8;
const MAX_TAGS = 2;

/**
 * Where the network header starts, past at most two VLAN tags (802.1ad +
 * 802.1Q), or minus a reason (TRUNCATED, TOO_MANY_HEADERS). The EtherType is
 * the 16 bits just before it.
 */
export function l3Offset(frame: usize, len: u32): i32 {
  let off: u32 = 12;
  for (let tags = 0; tags <= MAX_TAGS; tags++) {
    if (off + 2 > len) return -TRUNCATED;
    const type = get16(frame + off);
    if (type != ETH_P_8021Q && type != ETH_P_8021AD) return <i32>(off + 2);
    off += 4;
  }
  return -TOO_MANY_HEADERS;
}

/** The group bit: multicast and broadcast MACs. */
@inline export function isGroupMac(mac: usize): bool {
  return (load<u8>(mac) & 1) != 0;
}

/** Sets the reply's MACs: back to the sender, from us (our own MAC when the request was not sent to us alone). */
export function replyMacs(frame: usize, ourMac: usize, fromOurMac: bool): void {
  if (fromOurMac) {
    memory.copy(frame, frame + 6, 6);
    memory.copy(frame + 6, ourMac, 6);
  } else {
    for (let i: usize = 0; i < 6; i++) {
      const t = load<u8>(frame + i);
      store<u8>(frame + i, load<u8>(frame + 6 + i));
      store<u8>(frame + 6 + i, t);
    }
  }
}

/**
 * The reply's frame length: padded with zeros up to the shortest frame, but
 * never past the request's own length (available >= needed).
 */
export function padded(frame: usize, needed: u32, available: u32): u32 {
  const len = needed >= ETH_ZLEN ? needed : min(ETH_ZLEN, available);
  if (len > needed) memory.fill(frame + needed, 0, len - needed);
  return len;
}
