// Test handler: its init traps on a real interface's configuration (one with an address), but
// not on the loader's probe, whose configuration area is all zeros: so it is refused only when a
// worker starts it. It would drop every packet if it ever ran.
import { DESC_SIZE, DESC_VERDICT, VERDICT_DROP } from '../../asm/lib/abi';
import { configFlags, setConfig } from '../../asm/lib/config';
export { ABI as ABI_VERSION } from '../../asm/lib/abi';

export function init(config: usize): void {
  setConfig(config);
  if (configFlags() != 0) unreachable();
}

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) store<u32>(batch + <usize>i * DESC_SIZE, VERDICT_DROP, DESC_VERDICT);
}
