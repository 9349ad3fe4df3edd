// Test handler: never returns from a batch.
export { ABI as ABI_VERSION } from '../../asm/lib/abi';
export function process(batch: usize, count: u32): void {
  while (load<u32>(batch, 8) != 0xdeadbeef) {} // the verdict field is never that
}
