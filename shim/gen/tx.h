// The generator's paced sender: a transmit-only AF_XDP socket (copy mode,
// need_wakeup) with its own UMEM, every frame holding the same echo request,
// stamped with the time just before it goes on the TX ring.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct gen_tx;

// Returns 0 or a negative errno; *err_step names what failed.
int gen_tx_open(const char *ifname, uint32_t queue, const uint8_t *frame, size_t len, struct gen_tx **out,
		const char **err_step);
struct gen_pace {
	uint64_t sent;
	uint64_t skipped;   // frames the schedule wanted but gave up after a stall (max_lag)
	uint64_t stalls;    // times the sender found itself more than max_lag behind
	uint64_t worst_lag; // frames: the furthest behind the schedule it was
};

// Sends `rate` frames a second for duration_ns, paced against CLOCK_MONOTONIC.
// Held off its CPU, it catches up at most max_lag frames (0: all of them, as
// fast as it can) and gives the rest up.
void gen_tx_paced(struct gen_tx *t, double rate, uint64_t duration_ns, uint64_t max_lag, struct gen_pace *out);
void gen_tx_close(struct gen_tx *t);
