// Test handler: traps when given a predecessor's state, so a swap to it is refused; it would
// drop every packet if it ever ran.
export { ABI as ABI_VERSION } from '../../asm/lib/abi';
import { DESC_SIZE, DESC_VERDICT, VERDICT_DROP } from '../../asm/lib/abi';

export function state_restore(ptr: usize, len: u32): void {
  unreachable();
}

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) store<u32>(batch + <usize>i * DESC_SIZE, VERDICT_DROP, DESC_VERDICT);
}
