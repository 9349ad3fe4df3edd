// Test handler: has no process().
export { ABI as ABI_VERSION } from '../../asm/lib/abi';
export function handle(batch: usize, count: u32): void {}
