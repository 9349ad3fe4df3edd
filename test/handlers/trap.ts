// Test handler: traps on every batch.
export { ABI as ABI_VERSION } from '../../asm/lib/abi';
export function process(batch: usize, count: u32): void {
  unreachable();
}
