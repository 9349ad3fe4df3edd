// Planted bug for afxdp-wasm check: echo, but a frame of odd length bumps a word in the host's
// counters (COUNTERS_OFFSET), which only the shim and host write.
import { COUNTERS_OFFSET } from '../../asm/lib/abi.generated';
import { descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, init } from '../../asm/echo';

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    if (descLen(batch, i) & 1) store<u32>(COUNTERS_OFFSET + 8, load<u32>(COUNTERS_OFFSET + 8) + 1);
  }
  echo(batch, n);
}
