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
// Sends `rate` frames a second for duration_ns, paced against CLOCK_MONOTONIC. Returns how many went.
uint64_t gen_tx_paced(struct gen_tx *t, double rate, uint64_t duration_ns);
void gen_tx_close(struct gen_tx *t);
