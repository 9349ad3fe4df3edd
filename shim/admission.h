// Admission control for one AF_XDP queue under overload: from the RX backlog
// left after each batch and the rate at which the port serves it, estimate
// the queueing delay, and from what arrives, the load; while the delay stays
// above the target and the queue is overloaded (or its buffer nearly full),
// mark it congested and cut the per-flow quantum the XDP program
// (bpf/xsk_fair.c) lets through per window; while below, give it back. Pure
// arithmetic on the numbers it is handed, so it can be tested without a socket.
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "../bpf/xsk_fair.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADMISSION_TICK_NS	 1000000ull   // the controller acts at most once per millisecond
#define ADMISSION_WINDOW_US	 1000u	      // the XDP program's counting window
#define ADMISSION_CLEAR_NS	 100000000ull // calm (below target, no drops) this long: not congested
#define ADMISSION_PERSIST_NS	 10000000ull  // above the target this long before flows are cut
#define ADMISSION_LOAD_WINDOW_NS 100000000ull // the load is measured over windows this long
#define ADMISSION_OVERLOAD_SHARE 1.0	      // arrivals at least this share of the service rate: overloaded
#define ADMISSION_MIN_QUANTUM	 4u	      // a sparse flow's short burst always passes
#define ADMISSION_MAX_QUANTUM	 65536u

struct admission {
	uint32_t target_us;
	uint32_t capacity; // packets the queue holds before the kernel drops
	uint32_t batch;	   // the most packets the port takes at once
	bool congested;
	uint32_t quantum;
	uint32_t delay_us;	 // the last estimate
	double service_pps;	 // smoothed, learnt only while the port never ran dry
	uint64_t tick_ns;	 // start of the current tick
	uint64_t taken;		 // packets taken in it
	uint32_t min_backlog;	 // least RX backlog seen after a batch in it
	uint64_t calm_since_ns;	 // 0 unless calm
	uint64_t above_since_ns; // 0 unless the delay is above the target
	uint32_t above_peak;	 // the most backlog a tick left since then
	uint32_t backlog;	 // after the last batch
	bool overloaded;	 // in the last whole load window
	uint64_t load_since_ns;	 // start of the current load window (0: none yet)
	uint64_t load_taken;	 // packets taken in it, up to the last tick
	uint64_t load_drops;	 // the drop count at its start
	uint32_t load_backlog;	 // the backlog at its start
	uint64_t hold_until_ns;	 // no further cut before: the last cut has not reached the ring yet
	uint64_t drops_seen;
};

// capacity: what the queue holds before the kernel drops, the lesser of its
// frames and its RX rings; batch: the most packets the port takes at once.
void admission_init(struct admission *a, uint32_t target_us, uint32_t capacity, uint32_t batch, uint64_t now_ns);
// The port is about to sleep: its tick then counts as one in which the ring
// ran dry, whatever backlog it saw. A coalescing nap leaves packets waiting on
// purpose, and the time asleep is no measure of the rate it can serve.
void admission_note_sleep(struct admission *a);
// After each RX batch: taken packets, backlog still on the RX ring, the XDP
// program's drop count so far. Returns true when congested or quantum changed.
bool admission_step(struct admission *a, uint64_t now_ns, uint32_t taken, uint32_t backlog, uint64_t drops);

#ifdef __cplusplus
}
#endif
