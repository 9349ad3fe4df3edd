// One AF_XDP port: a UMEM that lies inside the handler's wasm memory, one
// socket bound to one queue, and the four rings. It moves frame descriptors
// in batches and never looks inside a frame. With admission control on, a
// second socket on the same queue and UMEM adds an RX ring only: the sparse
// lane (bpf/xsk_fair.c), which each step empties first.
//
// Who owns a frame is always explicit; every frame is in exactly one place:
//   free     the port's free list (ours, unused)
//   rx_kernel on the FILL ring, being filled by the kernel, or on an RX ring
//   batch    handed to the handler in the current batch
//   tx_kernel on the TX ring or being sent, until COMPLETION gives it back
// The counters below publish that split so anyone can check
// free + rx_kernel + batch + tx_kernel == total.
#pragma once
#include <stdint.h>
#include <xdp/xsk.h>

#include "admission.h"
#include "stage.h"

// The contract's layout (enum afxdp_counter, struct afxdp_desc, enum verdict and the AFXDP_ numbers),
// generated from asm/contract/abi.json.
#include "../asm/include/afxdp_abi.h"

struct port_config {
	const char *ifname;
	uint32_t queue;
	uint8_t *memory; // base of the wasm linear memory
	uint64_t memory_size;
	uint32_t umem_offset; // page-aligned offset of the UMEM in that memory
	uint32_t frame_size;  // 2048 or 4096
	uint32_t frames;
	uint32_t ring_size;    // FILL, COMPLETION, RX and TX
	uint32_t batch_offset; // where the afxdp_desc array lives
	uint32_t batch_max;
	uint32_t counters_offset;
	uint32_t xdp_flags;    // XDP_FLAGS_* for attaching the default program
	uint16_t bind_flags;   // XDP_COPY / XDP_ZEROCOPY / XDP_USE_NEED_WAKEUP
	int inhibit_prog_load; // a custom program is attached by the host
	uint32_t busy_poll_us; // 0: off; else SO_PREFER_BUSY_POLL, SO_BUSY_POLL and its budget
};

struct port;

// Returns 0 or a negative errno; *failed_at names what failed.
int port_open(const struct port_config *cfg, struct port **out, enum shim_stage *failed_at);
// Settles the previous batch's verdicts, kicks TX, reaps COMPLETION, refills
// FILL and takes the next RX batch. Returns how many descriptors it holds.
uint32_t port_step(struct port *p);
// Drops the batch a handler was working on when its thread was stopped: the
// verdicts in it cannot be trusted. Returns how many frames it held.
uint32_t port_abort_batch(struct port *p);
// At the end: settles the last batch and reaps what TX finished, taking no new RX.
void port_drain(struct port *p);
// Settles the last batch (verdicts, TX kick, COMPLETION, FILL) and takes no
// new RX: called before sleeping or a swap, so no reply waits out either.
void port_flush(struct port *p);
// The port is about to sleep (poll, or a coalescing nap): tells the admission controller.
void port_note_sleep(struct port *p);
// How many RX descriptors wait, up to batch_max, without taking them.
uint32_t port_rx_waiting(struct port *p);
uint32_t port_batch_max(const struct port *p);
// Adaptive RX coalescing (as a NIC's adaptive-rx): called once per wake-up, it
// says whether, at the arrival rate seen between waits, a nap of coalesce_us
// would gather at least NAP_MIN_PACKETS. A lone ping is never held back.
#define NAP_MIN_PACKETS 4
bool port_worth_napping(struct port *p, uint32_t coalesce_us);
// Sleeps this long (microseconds), with 1 us timer slack.
void nap_us(uint32_t us);
// Admission control (bpf/xsk_fair.c): from now on each step estimates the RX
// queueing delay and drives this queue's entry of queues[count] toward target_us.
// With lane_map_fd >= 0 (the program's xsks_lane), it opens the sparse lane
// and enters it there. On failure, *failed_at names what failed.
int port_set_admission(struct port *p, struct fair_queue *queues, uint32_t count, uint32_t target_us, int lane_map_fd,
		       enum shim_stage *failed_at);
// The sparse lane holds at most this many descriptors; a step takes at most a
// quarter of its batch from it before the main ring, so a flood of flows that
// all look sparse (spoofed sources) cannot starve the main ring.
#define LANE_RING_SIZE 512
int port_fd(const struct port *p);
// The sparse lane's socket, or -1 when there is none.
int port_lane_fd(const struct port *p);
struct xsk_socket *port_socket(const struct port *p);
// Gives every frame still in a batch back to the free list, then frees all.
void port_close(struct port *p);
