// generated from asm/contract/abi.json by scripts/contract.mjs: do not edit
// host/dataplane/layout.ts re-exports it with what only the host needs.

/** The value of the handler's exported ABI_VERSION global. */
export const ABI_VERSION = 1;
/** A wasm page. */
export const PAGE = 65536;
/** The host's control words (i32, Atomics). */
export const CONTROL_OFFSET = 0x0;
/** Room for this many control words. */
export const CONTROL_WORDS = 16;
/** Control word: set by the host: the worker leaves its loop. */
export const CONTROL_STOP = 0;
/** Control word: set by the host when a new handler waits on the worker's message port. */
export const CONTROL_SWAP = 1;
/** Control word: bumped by the worker every turn of its loop: the host's watchdog reads it. */
export const CONTROL_HEARTBEAT = 2;
/** The port's counters (u64), by index. */
export const COUNTERS_OFFSET = 0x100;
/** The handler config block, passed to `init()`. */
export const HANDLER_CONFIG_OFFSET = 0x400;
/** Bytes of the config block. */
export const HANDLER_CONFIG_SIZE = 0xc00;
/** Config field: which addresses are given: the bits below. */
export const CONFIG_FLAGS = 0;
/** Config field: hop limit / TTL for replies (0 means 64); `--hop-limit`. */
export const CONFIG_HOP_LIMIT = 4;
/** Config field: the interface's MAC. */
export const CONFIG_MAC = 8;
/** Config field: the interface's IPv6 unicast address (first global one, or `--addr`). */
export const CONFIG_IPV6 = 16;
/** Config field: the interface's IPv4 address (first one, or `--addr`). */
export const CONFIG_IPV4 = 32;
/** Config flags bit: an IPv6 address is given. */
export const HAS_IPV6 = 1;
/** Config flags bit: an IPv4 address is given. */
export const HAS_IPV4 = 2;
/** Where the shim lays the batch of descriptors. */
export const BATCH_OFFSET = 0x1000;
/** The most descriptors in one batch. */
export const MAX_BATCH = 2048;
/** Bytes of one descriptor. */
export const DESC_SIZE = 16;
/**
 * Descriptor field (u32). In: where the packet starts (offset in memory). Out: may move, inside the
 * same frame.
 */
export const DESC_ADDR = 0;
/** Descriptor field (u32). In: packet length in bytes. Out: length to transmit. */
export const DESC_LEN = 4;
/** Descriptor field (u32). In: `0`. Out: a verdict: `0` DROP or `1` TX. */
export const DESC_VERDICT = 8;
/** Descriptor field (u32). In: the RX queue it arrived on. Out: ignored. */
export const DESC_QUEUE = 12;
/** Verdict: the frame goes back to the kernel for RX; nothing is sent. */
export const VERDICT_DROP = 0;
/** Verdict: [addr, addr + len) is sent out of the queue the packet came in on. */
export const VERDICT_TX = 1;
/** Start of the UMEM: packet frames (frames x frame size). */
export const UMEM_OFFSET = 0x10000;
/** The smaller of the two frame sizes. */
export const MIN_FRAME_SIZE = 2048;
/** The larger of the two frame sizes. */
export const MAX_FRAME_SIZE = 4096;
/** Bytes before a received packet in its frame. */
export const XDP_HEADROOM = 256;
/** Bytes a packet may always use from its start: the smaller frame less the headroom. */
export const MIN_FRAME_ROOM = 1792;
/**
 * TX rule: len >= TX_MIN_LEN, and [addr, addr + len) wholly inside the frame the packet arrived in.
 */
export const TX_MIN_LEN = 14;
/**
 * Where the host puts a swap's state hand-over: the old handler's state blob, during the new one's
 * `state_restore` (see *Swaps*).
 */
export const STATE_HANDOVER_OFFSET = 0xff00000;
/** The most bytes of a handler's state blob (state_len()). */
export const STATE_MAX_LEN = 1048576;
/** Start of the handler's own data, stack and heap. */
export const HANDLER_BASE = 0x10000000;
/** Pages of the handler's own region. */
export const HANDLER_PAGES = 256;
/** Bytes of the handler's own region. */
export const HANDLER_REGION_SIZE = 0x1000000;
/** Pages of the shared memory: initial and maximum. */
export const MEMORY_PAGES = 4352;

/** Counter indices: u64 at COUNTERS_OFFSET + 8 x index. */
export const COUNTER = {
  rxPackets: 0,
  rxBytes: 1,
  txPackets: 2,
  txBytes: 3,
  dropped: 4,
  invalid: 5,
  txRingFull: 6,
  batches: 7,
  kicks: 8,
  kickErrors: 9,
  framesTotal: 10,
  framesFree: 11,
  framesRxKernel: 12,
  framesBatch: 13,
  framesTxKernel: 14,
  handlerErrors: 15,
  admissionDropped: 16,
  admissionCongested: 17,
  admissionQuantum: 18,
  admissionDelayUs: 19,
  batchUpTo1: 20,
  batchUpTo2: 21,
  batchUpTo4: 22,
  batchUpTo8: 23,
  batchUpTo16: 24,
  batchUpTo32: 25,
  batchUpTo64: 26,
  batchUpTo128: 27,
  batchUpTo256: 28,
  batchUpTo512: 29,
  batchUpTo1024: 30,
  batchUpTo2048: 31,
  sparseLanePackets: 32,
} as const;
export const COUNTER_COUNT = 33;
/** Descriptor fields (u32): their byte offsets in a descriptor. */
export const DESC = {
  addr: 0,
  len: 4,
  verdict: 8,
  queue: 12,
} as const;
export const VERDICT = {
  drop: 0,
  tx: 1,
} as const;
/** Config block fields: their byte offsets in the block. */
export const CONFIG = {
  flags: 0,
  hopLimit: 4,
  mac: 8,
  ipv6: 16,
  ipv4: 32,
} as const;
export const CONFIG_FLAG = {
  hasIpv6: 1,
  hasIpv4: 2,
} as const;
export const FRAME_SIZES = [2048, 4096] as const;
