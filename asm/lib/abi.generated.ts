// generated from asm/contract/abi.json by scripts/contract.mjs: do not edit
// The SDK re-exports it from ./abi and ./config; handlers import those.

/** The value of the handler's exported ABI_VERSION global. */
export const ABI_VERSION: u32 = 1;
/** A wasm page. */
export const PAGE: u32 = 65536;
/** The host's control words (i32, Atomics). */
export const CONTROL_OFFSET: usize = 0x0;
/** Room for this many control words. */
export const CONTROL_WORDS: u32 = 16;
/** Control word: set by the host: the worker leaves its loop. */
export const CONTROL_STOP: u32 = 0;
/** Control word: set by the host when a new handler waits on the worker's message port. */
export const CONTROL_SWAP: u32 = 1;
/** Control word: bumped by the worker every turn of its loop: the host's watchdog reads it. */
export const CONTROL_HEARTBEAT: u32 = 2;
/** The port's counters (u64), by index. */
export const COUNTERS_OFFSET: usize = 0x100;
/** The handler config block, passed to `init()`. */
export const HANDLER_CONFIG_OFFSET: usize = 0x400;
/** Bytes of the config block. */
export const HANDLER_CONFIG_SIZE: usize = 0xc00;
/** Config field: which addresses are given: the bits below. */
export const CONFIG_FLAGS: usize = 0;
/** Config field: hop limit / TTL for replies (0 means 64); `--hop-limit`. */
export const CONFIG_HOP_LIMIT: usize = 4;
/** Config field: the interface's MAC. */
export const CONFIG_MAC: usize = 8;
/** Config field: the interface's IPv6 unicast address (first global one, or `--addr`). */
export const CONFIG_IPV6: usize = 16;
/** Config field: the interface's IPv4 address (first one, or `--addr`). */
export const CONFIG_IPV4: usize = 32;
/** Config flags bit: an IPv6 address is given. */
export const HAS_IPV6: u32 = 1;
/** Config flags bit: an IPv4 address is given. */
export const HAS_IPV4: u32 = 2;
/** Where the shim lays the batch of descriptors. */
export const BATCH_OFFSET: usize = 0x1000;
/** The most descriptors in one batch. */
export const MAX_BATCH: u32 = 2048;
/** Bytes of one descriptor. */
export const DESC_SIZE: usize = 16;
/**
 * Descriptor field (u32). In: where the packet starts (offset in memory). Out: may move, inside the
 * same frame.
 */
export const DESC_ADDR: usize = 0;
/** Descriptor field (u32). In: packet length in bytes. Out: length to transmit. */
export const DESC_LEN: usize = 4;
/** Descriptor field (u32). In: `0`. Out: a verdict: `0` DROP or `1` TX. */
export const DESC_VERDICT: usize = 8;
/** Descriptor field (u32). In: the RX queue it arrived on. Out: ignored. */
export const DESC_QUEUE: usize = 12;
/** Verdict: the frame goes back to the kernel for RX; nothing is sent. */
export const VERDICT_DROP: u32 = 0;
/** Verdict: [addr, addr + len) is sent out of the queue the packet came in on. */
export const VERDICT_TX: u32 = 1;
/** Start of the UMEM: packet frames (frames x frame size). */
export const UMEM_OFFSET: usize = 0x10000;
/** The smaller of the two frame sizes. */
export const MIN_FRAME_SIZE: u32 = 2048;
/** The larger of the two frame sizes. */
export const MAX_FRAME_SIZE: u32 = 4096;
/** Bytes before a received packet in its frame. */
export const XDP_HEADROOM: u32 = 256;
/** Bytes a packet may always use from its start: the smaller frame less the headroom. */
export const MIN_FRAME_ROOM: u32 = 1792;
/**
 * TX rule: len >= TX_MIN_LEN, and [addr, addr + len) wholly inside the frame the packet arrived in.
 */
export const TX_MIN_LEN: u32 = 14;
/**
 * Where the host puts a swap's state hand-over: the old handler's state blob, during the new one's
 * `state_restore` (see *Swaps*).
 */
export const STATE_HANDOVER_OFFSET: usize = 0xff00000;
/** The most bytes of a handler's state blob (state_len()). */
export const STATE_MAX_LEN: u32 = 1048576;
/** Start of the handler's own data, stack and heap. */
export const HANDLER_BASE: usize = 0x10000000;
/** Pages of the handler's own region. */
export const HANDLER_PAGES: u32 = 256;
/** Bytes of the handler's own region. */
export const HANDLER_REGION_SIZE: usize = 0x1000000;
/** Pages of the shared memory: initial and maximum. */
export const MEMORY_PAGES: u32 = 4352;
