// Test handler: its init never returns. A serving process must refuse it, not hang on it.
export { ABI as ABI_VERSION } from '../../asm/lib/abi';

let spins: u64 = 0;

export function init(config: usize): void {
  while (config != 0) spins++;
}

export function process(batch: usize, n: u32): void {}
