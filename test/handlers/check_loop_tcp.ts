// Planted bug for afxdp-wasm check: echo, but an IPv4 TCP segment (untagged) sends process() into a
// loop it never leaves.
import { descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, init } from '../../asm/echo';

@inline function be16(at: usize): u32 {
  return (<u32>load<u8>(at) << 8) | load<u8>(at + 1);
}

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const at = descAddr(batch, i);
    if (descLen(batch, i) < 24 || be16(at + 12) != 0x0800) continue;
    while (load<u8>(at + 23) == 6) {} // nothing here changes it
  }
  echo(batch, n);
}
