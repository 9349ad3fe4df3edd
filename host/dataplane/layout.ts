// The wasm memory every port lives in, as asm/CONTRACT.md describes it.
// The shim (shim/port.h) and the handlers (asm/lib/abi.ts) use the same numbers.

export const ABI_VERSION = 1;
export const PAGE = 65536;

/** Host control words (i32, Atomics): the worker's stop flag and friends. */
export const CONTROL_OFFSET = 0x0;
export const CONTROL_WORDS = 16;
export const CONTROL_STOP = 0;
/** Set by the host when a new handler waits on the worker's message port. */
export const CONTROL_SWAP = 1;
/** Bumped by the worker every turn of its loop: the host's watchdog reads it. */
export const CONTROL_HEARTBEAT = 2;

/** Counters (u64) the shim keeps and the host reads without a call. */
export const COUNTERS_OFFSET = 0x100;
export const COUNTER = {
  rxPackets: 0, rxBytes: 1, txPackets: 2, txBytes: 3,
  dropped: 4, invalid: 5, txRingFull: 6,
  batches: 7, kicks: 8, kickErrors: 9,
  framesTotal: 10, framesFree: 11, framesRxKernel: 12, framesBatch: 13, framesTxKernel: 14,
  handlerErrors: 15,
  // --fair: packets the XDP program's admission control dropped, and its controller's state
  admissionDropped: 16, admissionCongested: 17, admissionQuantum: 18, admissionDelayUs: 19,
} as const;
export const COUNTER_COUNT = 20;

/** Handed to the handler's optional init(); see CONTRACT.md. */
export const HANDLER_CONFIG_OFFSET = 0x400;
export const HANDLER_CONFIG_SIZE = 0xc00;

/** The batch of descriptors (16 bytes each) the shim fills and the handler answers. */
export const BATCH_OFFSET = 0x1000;
export const DESC_SIZE = 16;
export const MAX_BATCH = 2048;

/** UMEM: frames × frame size, page-aligned (V8 aligns the memory base to 64 KiB). */
export const UMEM_OFFSET = 0x10000;

/** Handlers are built with memoryBase here (asconfig.json): their data and heap start above the UMEM. */
export const HANDLER_BASE = 256 * 1024 * 1024;
export const HANDLER_PAGES = 256; // 16 MiB for the handler's own data, stack and heap
export const HANDLER_REGION_SIZE = HANDLER_PAGES * PAGE;
export const MEMORY_PAGES = HANDLER_BASE / PAGE + HANDLER_PAGES;

export const MAX_UMEM = HANDLER_BASE - UMEM_OFFSET;

export function newMemory(): WebAssembly.Memory {
  // Shared: its base never moves, and the host reads counters while a worker writes them.
  return new WebAssembly.Memory({ initial: MEMORY_PAGES, maximum: MEMORY_PAGES, shared: true });
}

/** Consecutive trapping batches after which a handler is given up for the last good one. */
export const TRAP_LIMIT = 5;
