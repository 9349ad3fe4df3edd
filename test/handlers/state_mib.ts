// Test handler for the cost of a hand-over: echo, with 1 MiB of state (STATE_MAX_LEN, all of it
// written, as a busy handler's would be) given away and taken over on every swap.
import { STATE_MAX_LEN } from '../../asm/lib/abi.generated';
export { ABI_VERSION, counter_names, counter_names_len, counters, init, process } from '../../asm/echo';

// Far above the module's data and heap, so the blob needs no 1 MiB data segment.
const BLOB: usize = (<usize>__heap_base + (8 << 20)) & ~0xffff;
memory.fill(BLOB, 0x5a, STATE_MAX_LEN);
store<u32>(BLOB, 1); // the blob's version

export function state_ptr(): usize { return BLOB; }
export function state_len(): u32 { return STATE_MAX_LEN; }
export function state_restore(ptr: usize, len: u32): void {
  if (len != STATE_MAX_LEN || load<u32>(ptr) != 1) unreachable();
  memory.copy(BLOB, ptr, len);
}
