// What the host tells a handler about the interface it serves, at init(): the config block, whose
// layout is generated from asm/contract/abi.json (asm/CONTRACT.md).
import { CONFIG_FLAGS, CONFIG_HOP_LIMIT, CONFIG_IPV4, CONFIG_IPV6, CONFIG_MAC } from './abi.generated';
export { HAS_IPV4, HAS_IPV6 } from './abi.generated';

let block: usize = 0;

/** Called from the handler's init(config). */
export function setConfig(config: usize): void {
  block = config;
}

@inline export function configFlags(): u32 {
  return block ? load<u32>(block, CONFIG_FLAGS) : 0;
}
export function hopLimit(): u32 {
  const h = block ? load<u32>(block, CONFIG_HOP_LIMIT) : 0;
  return h ? h & 0xff : 64;
}
@inline export function ifaceMac(): usize {
  return block + CONFIG_MAC;
}
@inline export function ifaceAddr6(): usize {
  return block + CONFIG_IPV6;
}
@inline export function ifaceAddr4(): usize {
  return block + CONFIG_IPV4;
}
