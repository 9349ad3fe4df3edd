// The load generator's kernel side: xdp_gen.o's programs, run with
// BPF_PROG_RUN in live-frames mode (each run is a real transmit), and its
// reply-counting sink.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct gen;

int gen_open(const char *obj_path, struct gen **out);
// Transmits `frame` `repeat` times out of ifindex (XDP_TX from the program).
int gen_run(struct gen *g, int ifindex, const void *frame, size_t len, uint32_t repeat, uint32_t batch);
int gen_sink_attach(struct gen *g, int ifindex);
int gen_sink_detach(struct gen *g, int ifindex);
// Echo replies (and other frames) the sink has seen, summed over CPUs.
int gen_sink_counts(struct gen *g, uint64_t *replies, uint64_t *other);
void gen_close(struct gen *g);
