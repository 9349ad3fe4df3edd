// Planted bug for afxdp-wasm check (test/unit/check.test.ts): echo, but a VLAN-tagged frame traps.
import { descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, init } from '../../asm/echo';

@inline function be16(at: usize): u32 {
  return (<u32>load<u8>(at) << 8) | load<u8>(at + 1);
}

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const type = descLen(batch, i) >= 14 ? be16(descAddr(batch, i) + 12) : 0;
    if (type == 0x8100 || type == 0x88a8) unreachable();
  }
  echo(batch, n);
}
