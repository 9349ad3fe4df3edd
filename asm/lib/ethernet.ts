import { get16 } from './bytes';

export const ETH_HLEN: u32 = 14;
export const ETH_P_IPV6: u32 = 0x86dd;
export const ETH_P_IP: u32 = 0x0800;
const ETH_P_8021Q: u32 = 0x8100;
const ETH_P_8021AD: u32 = 0x88a8;

/**
 * Where the network header starts, past up to two VLAN tags (802.1ad + 802.1Q),
 * or 0 when the frame is too short. The EtherType is at offset - 2.
 */
export function l3Offset(frame: usize, len: u32): u32 {
  let off: u32 = 12;
  for (let tags = 0; tags <= 2; tags++) {
    if (off + 2 > len) return 0;
    const type = get16(frame + off);
    if (type != ETH_P_8021Q && type != ETH_P_8021AD) return off + 2;
    off += 4;
  }
  return 0; // more tags than we parse
}
