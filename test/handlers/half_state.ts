// Test handler: exports state_ptr without state_len, half of the pair a hand-over needs; the
// loader refuses it.
export { ABI as ABI_VERSION } from '../../asm/lib/abi';

const blob = memory.data(16);

export function state_ptr(): usize { return blob; }

export function process(batch: usize, n: u32): void {}
