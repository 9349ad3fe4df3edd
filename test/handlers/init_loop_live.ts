// Test handler: its init never returns on a real interface's configuration (one with an
// address), but does on the loader's probe, whose configuration area is all zeros: so it hangs
// the packet worker that takes it, for the watchdog to find.
import { configFlags, setConfig } from '../../asm/lib/config';
export { ABI as ABI_VERSION } from '../../asm/lib/abi';

let spins: u64 = 0;

export function init(config: usize): void {
  setConfig(config);
  while (configFlags() != 0) spins++;
}

export function process(batch: usize, n: u32): void {}
