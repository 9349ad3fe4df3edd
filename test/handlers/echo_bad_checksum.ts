// Planted bug for the fuzz checker's self-test: echo, but a reply to an untagged IPv4 request goes out
// with its ICMP checksum one off.
import { DESC_SIZE, DESC_VERDICT, VERDICT_TX, descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, heap_base, init } from '../../asm/echo';

export function process(batch: usize, n: u32): void {
  echo(batch, n);
  for (let i: u32 = 0; i < n; i++) {
    const frame = descAddr(batch, i);
    const replied = load<u32>(batch + <usize>i * DESC_SIZE, DESC_VERDICT) == VERDICT_TX;
    // Ethertype 0x0800 (big-endian) at 12, then a 20-byte IPv4 header: replies carry no options.
    if (replied && descLen(batch, i) >= 38 && load<u16>(frame + 12) == 0x0008) {
      store<u8>(frame + 37, load<u8>(frame + 37) ^ 1);
    }
  }
}
