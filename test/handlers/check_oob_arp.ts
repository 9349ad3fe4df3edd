// Planted bug for afxdp-wasm check: echo, but an ARP frame reads past the end of memory (a trap).
import { descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, init } from '../../asm/echo';

@inline function be16(at: usize): u32 {
  return (<u32>load<u8>(at) << 8) | load<u8>(at + 1);
}

export let sink: u32 = 0;

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    if (descLen(batch, i) >= 14 && be16(descAddr(batch, i) + 12) == 0x0806) sink += load<u32>(0xfffffff0);
  }
  echo(batch, n);
}
