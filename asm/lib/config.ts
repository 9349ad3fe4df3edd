// What the host tells a handler about the interface it serves, at init().
// Layout of the config block (asm/CONTRACT.md):
//   0  u32 flags: 1 = has IPv6 address, 2 = has IPv4 address
//   4  u32 hop limit for replies (0: 64)
//   8  u8[6] interface MAC
//  16  u8[16] the interface's IPv6 unicast address
//  32  u8[4] the interface's IPv4 address

export const HAS_IPV6: u32 = 1;
export const HAS_IPV4: u32 = 2;

let block: usize = 0;

/** Called from the handler's init(config). */
export function setConfig(config: usize): void {
  block = config;
}

@inline export function configFlags(): u32 {
  return block ? load<u32>(block) : 0;
}
export function hopLimit(): u32 {
  const h = block ? load<u32>(block, 4) : 0;
  return h ? h & 0xff : 64;
}
@inline export function ifaceMac(): usize {
  return block + 8;
}
@inline export function ifaceAddr6(): usize {
  return block + 16;
}
@inline export function ifaceAddr4(): usize {
  return block + 32;
}
