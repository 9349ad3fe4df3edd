// SPDX-License-Identifier: GPL-2.0
// Per-flow admission for AF_XDP queues under overload (bpf/xsk_fair.c), and
// the control block through which user space (shim/admission.c) drives it.
// Shared by both sides: each fact lives here once.
#pragma once
#include <linux/types.h>

// Flow buckets per queue: a flow is a source /64 (IPv6), a source address
// (IPv4) or a source MAC (anything else), hashed into one of these.
#define FAIR_BUCKETS_LOG2 10
#define FAIR_BUCKETS	  (1u << FAIR_BUCKETS_LOG2)

// One per queue, in an mmap-able array map (fair_queues): user space writes
// the first three words with plain stores and reads `dropped`, no syscall.
struct fair_queue {
	__u32 congested; // user space: nonzero while the queue's backlog is above target
	__u32 quantum;	 // user space: packets each flow may pass per window while congested
	__u32 window_us; // user space: length of the counting window (0 means 1000)
	__u32 reserved;
	__u64 dropped; // XDP: packets this queue's admission dropped
	__u64 pad[5];  // one cache line per queue
};

// A flow that passes at most this many packets per window, in the current
// window and the last, is sparse: while congested it rides the sparse lane.
#define FAIR_SPARSE 2

struct fair_bucket {
	__u64 window_start_ns;
	__u32 count;	      // packets passed in the current window
	__u32 previous_count; // in the window before, or 0 if it was quiet
};
