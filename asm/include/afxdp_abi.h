// generated from asm/contract/abi.json by scripts/contract.mjs: do not edit
// For a handler written in C: the memory layout, descriptor,
// verdicts, config block and counters of the host/handler contract (asm/CONTRACT.md).
#ifndef AFXDP_ABI_H
#define AFXDP_ABI_H
#include <stdint.h> // freestanding: the compiler's own, no libc

#ifndef AFXDP_STATIC_ASSERT
#ifdef __cplusplus
#define AFXDP_STATIC_ASSERT static_assert
#else
#define AFXDP_STATIC_ASSERT _Static_assert
#endif
#endif

// The value of the handler's exported ABI_VERSION global.
#define AFXDP_ABI_VERSION 1u
// A wasm page.
#define AFXDP_PAGE 65536u
// The host's control words (i32, Atomics).
#define AFXDP_CONTROL_OFFSET 0x0u
// Room for this many control words.
#define AFXDP_CONTROL_WORDS 16u
// Control word: set by the host: the worker leaves its loop.
#define AFXDP_CONTROL_STOP 0u
// Control word: set by the host when a new handler waits on the worker's message port.
#define AFXDP_CONTROL_SWAP 1u
// Control word: bumped by the worker every turn of its loop: the host's watchdog reads it.
#define AFXDP_CONTROL_HEARTBEAT 2u
// The port's counters (u64), by index.
#define AFXDP_COUNTERS_OFFSET 0x100u
// The handler config block, passed to `init()`.
#define AFXDP_HANDLER_CONFIG_OFFSET 0x400u
// Bytes of the config block.
#define AFXDP_HANDLER_CONFIG_SIZE 0xc00u
// Config field: which addresses are given: the bits below.
#define AFXDP_CONFIG_FLAGS 0u
// Config field: hop limit / TTL for replies (0 means 64); `--hop-limit`.
#define AFXDP_CONFIG_HOP_LIMIT 4u
// Config field: the interface's MAC.
#define AFXDP_CONFIG_MAC 8u
// Config field: the interface's IPv6 unicast address (first global one, or `--addr`).
#define AFXDP_CONFIG_IPV6 16u
// Config field: the interface's IPv4 address (first one, or `--addr`).
#define AFXDP_CONFIG_IPV4 32u
// Config flags bit: an IPv6 address is given.
#define AFXDP_HAS_IPV6 1u
// Config flags bit: an IPv4 address is given.
#define AFXDP_HAS_IPV4 2u
// Where the shim lays the batch of descriptors.
#define AFXDP_BATCH_OFFSET 0x1000u
// The most descriptors in one batch.
#define AFXDP_MAX_BATCH 2048u
// Bytes of one descriptor.
#define AFXDP_DESC_SIZE 16u
// Descriptor field (u32). In: where the packet starts (offset in memory). Out: may move, inside the
// same frame.
#define AFXDP_DESC_ADDR 0u
// Descriptor field (u32). In: packet length in bytes. Out: length to transmit.
#define AFXDP_DESC_LEN 4u
// Descriptor field (u32). In: `0`. Out: a verdict: `0` DROP or `1` TX.
#define AFXDP_DESC_VERDICT 8u
// Descriptor field (u32). In: the RX queue it arrived on. Out: ignored.
#define AFXDP_DESC_QUEUE 12u
// Start of the UMEM: packet frames (frames x frame size).
#define AFXDP_UMEM_OFFSET 0x10000u
// The smaller of the two frame sizes.
#define AFXDP_MIN_FRAME_SIZE 2048u
// The larger of the two frame sizes.
#define AFXDP_MAX_FRAME_SIZE 4096u
// Bytes before a received packet in its frame.
#define AFXDP_XDP_HEADROOM 256u
// Bytes a packet may always use from its start: the smaller frame less the headroom.
#define AFXDP_MIN_FRAME_ROOM 1792u
// TX rule: len >= TX_MIN_LEN, and [addr, addr + len) wholly inside the frame the packet arrived in.
#define AFXDP_TX_MIN_LEN 14u
// Where the host puts a swap's state hand-over: the old handler's state blob, during the new one's
// `state_restore` (see *Swaps*).
#define AFXDP_STATE_HANDOVER_OFFSET 0xff00000u
// The most bytes of a handler's state blob (state_len()).
#define AFXDP_STATE_MAX_LEN 1048576u
// Start of the handler's own data, stack and heap.
#define AFXDP_HANDLER_BASE 0x10000000u
// Pages of the handler's own region.
#define AFXDP_HANDLER_PAGES 256u
// Bytes of the handler's own region.
#define AFXDP_HANDLER_REGION_SIZE 0x1000000u
// Pages of the shared memory: initial and maximum.
#define AFXDP_MEMORY_PAGES 4352u

enum afxdp_verdict {
	AFXDP_VERDICT_DROP = 0, // the frame goes back to the kernel for RX; nothing is sent
	AFXDP_VERDICT_TX = 1, // [addr, addr + len) is sent out of the queue the packet came in on
};

// Counter indices: u64 at AFXDP_COUNTERS_OFFSET + 8 x index.
enum afxdp_counter {
	AFXDP_COUNTER_RX_PACKETS, // packets taken from the RX ring
	AFXDP_COUNTER_RX_BYTES, // bytes taken from the RX ring
	AFXDP_COUNTER_TX_PACKETS, // packets put on the TX ring
	AFXDP_COUNTER_TX_BYTES, // bytes put on the TX ring
	AFXDP_COUNTER_DROPPED, // DROP verdicts
	AFXDP_COUNTER_INVALID, // refused verdicts: a verdict, length or address the shim refused (frame dropped)
	AFXDP_COUNTER_TX_RING_FULL, // TX verdicts dropped because the TX ring was full
	AFXDP_COUNTER_BATCHES, // batches taken from RX
	AFXDP_COUNTER_KICKS, // TX kicks (sendto)
	AFXDP_COUNTER_KICK_ERRORS, // TX kicks that failed for another reason than a busy kernel
	AFXDP_COUNTER_FRAMES_TOTAL, // UMEM frames
	AFXDP_COUNTER_FRAMES_FREE, // frames on the shim's free list
	AFXDP_COUNTER_FRAMES_RX_KERNEL, // frames given to FILL, not yet back on RX
	AFXDP_COUNTER_FRAMES_BATCH, // frames in the handler's current batch
	AFXDP_COUNTER_FRAMES_TX_KERNEL, // frames on TX, not yet back on COMPLETION
	AFXDP_COUNTER_HANDLER_ERRORS, // batches whose handler trapped (written by the host)
	AFXDP_COUNTER_ADMISSION_DROPPED, // `--fair`: packets its XDP program dropped before they reached the ring
	AFXDP_COUNTER_ADMISSION_CONGESTED, // `--fair`: 1 while the queue's RX delay is held down
	AFXDP_COUNTER_ADMISSION_QUANTUM, // `--fair`: packets per flow per millisecond let through while congested
	AFXDP_COUNTER_ADMISSION_DELAY_US, // `--fair`: the last RX queueing delay estimate, in microseconds
	AFXDP_COUNTER_BATCH_UP_TO1, // batches of 1 packet (the batch size histogram: one bucket per power of two)
	AFXDP_COUNTER_BATCH_UP_TO2, // batches of 2 packets
	AFXDP_COUNTER_BATCH_UP_TO4, // batches of 3 to 4 packets
	AFXDP_COUNTER_BATCH_UP_TO8, // batches of 5 to 8 packets
	AFXDP_COUNTER_BATCH_UP_TO16, // batches of 9 to 16 packets
	AFXDP_COUNTER_BATCH_UP_TO32, // batches of 17 to 32 packets
	AFXDP_COUNTER_BATCH_UP_TO64, // batches of 33 to 64 packets
	AFXDP_COUNTER_BATCH_UP_TO128, // batches of 65 to 128 packets
	AFXDP_COUNTER_BATCH_UP_TO256, // batches of 129 to 256 packets
	AFXDP_COUNTER_BATCH_UP_TO512, // batches of 257 to 512 packets
	AFXDP_COUNTER_BATCH_UP_TO1024, // batches of 513 to 1024 packets
	AFXDP_COUNTER_BATCH_UP_TO2048, // batches of 1025 to 2048 packets
	AFXDP_COUNTER_SPARSE_LANE_PACKETS, // `--fair`: packets taken from the sparse lane (flows kept to a few packets per window)
	AFXDP_COUNTER_COUNT
};

// One packet of a batch.
struct afxdp_desc {
	uint32_t addr; // in: where the packet starts (offset in memory); out: may move, inside the same frame
	uint32_t len; // in: packet length in bytes; out: length to transmit
	uint32_t verdict; // in: `0`; out: a verdict: `0` DROP or `1` TX
	uint32_t queue; // in: the RX queue it arrived on; out: ignored
};
AFXDP_STATIC_ASSERT(sizeof(struct afxdp_desc) == 16, "struct afxdp_desc is 16 bytes");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_desc, addr) == 0, "addr at 0");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_desc, len) == 4, "len at 4");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_desc, verdict) == 8, "verdict at 8");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_desc, queue) == 12, "queue at 12");

// The handler config block's fields (it is HANDLER_CONFIG_SIZE bytes long).
struct afxdp_config {
	uint32_t flags; // which addresses are given: the bits below
	uint32_t hop_limit; // hop limit / TTL for replies (0 means 64); `--hop-limit`
	uint8_t mac[6]; // the interface's MAC
	uint8_t pad_14[2];
	uint8_t ipv6[16]; // the interface's IPv6 unicast address (first global one, or `--addr`)
	uint8_t ipv4[4]; // the interface's IPv4 address (first one, or `--addr`)
};
AFXDP_STATIC_ASSERT(sizeof(struct afxdp_config) == 36, "struct afxdp_config is 36 bytes");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_config, flags) == 0, "flags at 0");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_config, hop_limit) == 4, "hop_limit at 4");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_config, mac) == 8, "mac at 8");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_config, ipv6) == 16, "ipv6 at 16");
AFXDP_STATIC_ASSERT(__builtin_offsetof(struct afxdp_config, ipv4) == 32, "ipv4 at 32");

#ifdef __wasm__
// Put AFXDP_ABI_EXPORT; once at file scope: it defines the exported ABI_VERSION global and the
// _start() that sets it (the host runs _start() once, before it reads the global and calls init()).
// Needs -mmutable-globals: clang cannot give a wasm global an initial value.
#define AFXDP_ABI_EXPORT                                                                 \
	__attribute__((address_space(1))) uint32_t ABI_VERSION;                           \
	__asm__(".export_name ABI_VERSION, ABI_VERSION");                                 \
	__attribute__((export_name("_start"))) void _start(void)                          \
	{                                                                                 \
		ABI_VERSION = AFXDP_ABI_VERSION;                                             \
	}                                                                                 \
	_Static_assert(1, "")
#endif

#endif // AFXDP_ABI_H
