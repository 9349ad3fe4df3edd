// The load generator's kernel side: xdp_gen.o's programs, run with
// BPF_PROG_RUN in live-frames mode (each run is a real transmit), and its
// reply-counting sink with the round-trip histogram.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct gen;

struct gen_latency {
	uint64_t samples; // stamped replies
	// Upper bounds of the histogram buckets the percentiles fall in (at most
	// 6.25 % above the true value, never above the max), and the exact max.
	uint64_t p50_ns, p90_ns, p99_ns, p999_ns, max_ns;
};

int gen_open(const char *obj_path, struct gen **out);
// Lays the stamp (gen_stamp.h) in an echo request, time 0, and fixes its
// checksum. Returns where its ICMP message starts, or -1 if it has no room.
int gen_stamp_prepare(uint8_t *frame, size_t len);
// Transmits `frame` `repeat` times out of ifindex (XDP_TX from the program), each stamped.
int gen_run(struct gen *g, int ifindex, const void *frame, size_t len, uint32_t repeat, uint32_t batch);
int gen_sink_attach(struct gen *g, int ifindex);
int gen_sink_detach(struct gen *g, int ifindex);
// Zeroes the sink's counters and histogram on every CPU.
int gen_sink_reset(struct gen *g);
// Echo replies (and other frames) the sink has seen, summed over CPUs.
int gen_sink_counts(struct gen *g, uint64_t *replies, uint64_t *other);
int gen_sink_latency(struct gen *g, struct gen_latency *out);
void gen_close(struct gen *g);
