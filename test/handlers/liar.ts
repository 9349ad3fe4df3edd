// Test handler: answers every packet with a verdict the shim must refuse.
import { DESC_ADDR, DESC_LEN, DESC_SIZE, DESC_VERDICT, VERDICT_TX } from '../../asm/lib/abi';
export { ABI as ABI_VERSION } from '../../asm/lib/abi';
export function process(batch: usize, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const d = batch + <usize>i * DESC_SIZE;
    const kind = i % 4;
    if (kind == 0) store<u32>(d, 100000, DESC_LEN); // longer than any frame
    if (kind == 1) store<u32>(d, 7, DESC_VERDICT); // no such verdict
    if (kind == 2) store<u32>(d, load<u32>(d, DESC_ADDR) + 4096, DESC_ADDR); // another frame's bytes
    if (kind == 3) store<u32>(d, 3, DESC_LEN); // shorter than an Ethernet header
    if (kind != 1) store<u32>(d, VERDICT_TX, DESC_VERDICT);
  }
}
