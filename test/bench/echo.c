// The offline benchmark of the echo handler's logic in C (echo_logic.h, the
// same checks and in-place reply as asm/echo.ts), compiled with -O2, so
// `npm run bench` can print wasm's cost per packet next to native code's.
//
//   echo-bench <frames.bin> <iterations>   frames.bin: u16 length + bytes, repeated
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "echo_logic.h"

#define BATCH	 64
#define FRAME	 2048
#define HEADROOM 256

static const struct echo_self self = {
	.mac = { 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee },
	.v6 = { 0xfc, 0, 0xde, 0xad, 0xca, 0xfe, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 },
	.v4 = { 10, 11, 1, 1 },
};

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: %s frames.bin iterations\n", argv[0]), 2;
	FILE *in = fopen(argv[1], "rb");
	static uint8_t src[BATCH][FRAME], umem[BATCH][FRAME];
	uint32_t lens[BATCH];
	int n = 0;
	uint8_t hdr[2];
	while (n < BATCH && in && fread(hdr, 1, 2, in) == 2) {
		lens[n] = be16(hdr);
		if (lens[n] > FRAME - HEADROOM || fread(src[n], 1, lens[n], in) != lens[n])
			return fprintf(stderr, "bad frames file\n"), 1;
		n++;
	}
	long iterations = atol(argv[2]);
	long replies = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long it = 0; it < iterations; it++) {
		for (int i = 0; i < n; i++)
			memcpy(umem[i] + HEADROOM, src[i], lens[i]);
		for (int i = 0; i < n; i++)
			replies += echo_answer(umem[i] + HEADROOM, lens[i], &self) > 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	// The copy alone, to take it out of the figure (the wasm side does the same).
	volatile uint8_t sink = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long it = 0; it < iterations; it++) {
		for (int i = 0; i < n; i++)
			memcpy(umem[i] + HEADROOM, src[i], lens[i]);
		sink ^= umem[it % n][HEADROOM];
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double copy_ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	printf("{\"packets\": %ld, \"replies\": %ld, \"ns\": %.0f, \"copyNs\": %.0f}\n", iterations * n, replies, ns,
	       copy_ns);
	return 0;
}
