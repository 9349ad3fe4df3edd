// Planted bug for afxdp-wasm check: echo, but an IPv6 packet whose first extension header is
// Hop-by-Hop is sent with a length past the end of its frame.
import { DESC_LEN, DESC_SIZE, DESC_VERDICT, VERDICT_TX } from '../../asm/lib/abi';
import { descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, init } from '../../asm/echo';

@inline function be16(at: usize): u32 {
  return (<u32>load<u8>(at) << 8) | load<u8>(at + 1);
}

export function process(batch: usize, n: u32): void {
  echo(batch, n);
  for (let i: u32 = 0; i < n; i++) {
    const at = descAddr(batch, i);
    if (descLen(batch, i) >= 21 && be16(at + 12) == 0x86dd && load<u8>(at + 20) == 0) {
      const d = batch + <usize>i * DESC_SIZE;
      store<u32>(d, 5000, DESC_LEN);
      store<u32>(d, VERDICT_TX, DESC_VERDICT);
    }
  }
}
