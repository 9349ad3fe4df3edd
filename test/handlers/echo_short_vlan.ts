// Planted bug for the fuzz checker's self-test: echo, but a reply to a request with an 802.1Q tag is one
// byte short.
import { DESC_LEN, DESC_SIZE, DESC_VERDICT, VERDICT_TX, descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, heap_base, init } from '../../asm/echo';

export function process(batch: usize, n: u32): void {
  echo(batch, n);
  for (let i: u32 = 0; i < n; i++) {
    const d = batch + <usize>i * DESC_SIZE;
    // TPID 0x8100 (big-endian) where the ethertype would be.
    if (load<u32>(d, DESC_VERDICT) == VERDICT_TX && load<u16>(descAddr(batch, i) + 12) == 0x0081) {
      store<u32>(d, descLen(batch, i) - 1, DESC_LEN);
    }
  }
}
