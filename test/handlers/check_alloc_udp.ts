// Planted bug for afxdp-wasm check: echo, but every UDP packet (over IPv4 or IPv6) allocates a
// buffer that is never freed (the stub runtime only bumps its heap pointer).
import { descAddr, descLen } from '../../asm/lib/abi';
import { process as echo } from '../../asm/echo';
export { ABI_VERSION, counter_names, counter_names_len, counters, init } from '../../asm/echo';

@inline function be16(at: usize): u32 {
  return (<u32>load<u8>(at) << 8) | load<u8>(at + 1);
}

let kept: Uint8Array | null = null;

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const at = descAddr(batch, i);
    if (descLen(batch, i) < 24) continue;
    const type = be16(at + 12);
    if ((type == 0x0800 && load<u8>(at + 23) == 17) || (type == 0x86dd && load<u8>(at + 20) == 17)) {
      kept = new Uint8Array(32);
      kept![0] = <u8>i;
    }
  }
  echo(batch, n);
}
