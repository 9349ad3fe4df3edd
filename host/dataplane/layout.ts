// The wasm memory every port lives in, as asm/CONTRACT.md describes it. The contract's numbers are
// generated from asm/contract/abi.json; this file adds what only the host decides.
import { MEMORY_PAGES, STATE_HANDOVER_OFFSET, UMEM_OFFSET } from './abi.generated.js';

export * from './abi.generated.js';

/** The most UMEM a memory holds: from UMEM_OFFSET up to the state hand-over area, below the handler's region. */
export const MAX_UMEM = STATE_HANDOVER_OFFSET - UMEM_OFFSET;

export function newMemory(): WebAssembly.Memory {
  // Shared: its base never moves, and the host reads counters while a worker writes them.
  return new WebAssembly.Memory({ initial: MEMORY_PAGES, maximum: MEMORY_PAGES, shared: true });
}

/** Consecutive trapping batches after which a handler is given up for the last good one. */
export const TRAP_LIMIT = 5;
