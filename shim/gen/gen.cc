#include "gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "gen_stamp.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

struct gen {
	struct bpf_object *obj;
	int tx_fd;
	int sink_fd;
	int counters_fd;
	int template_fd;
	int rtt_fd;
};

int gen_open(const char *obj_path, struct gen **out)
{
	struct gen *g = (struct gen *)calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->obj = bpf_object__open_file(obj_path, NULL);
	long err = libbpf_get_error(g->obj);
	if (err || bpf_object__load(g->obj)) {
		err = err ? err : -errno;
		if (!libbpf_get_error(g->obj))
			bpf_object__close(g->obj);
		free(g);
		return (int)(err ? err : -EINVAL);
	}
	g->tx_fd = bpf_program__fd(bpf_object__find_program_by_name(g->obj, "xdp_gen_tx"));
	g->sink_fd = bpf_program__fd(bpf_object__find_program_by_name(g->obj, "xdp_gen_sink"));
	g->counters_fd = bpf_object__find_map_fd_by_name(g->obj, "gen_sink_counters");
	g->template_fd = bpf_object__find_map_fd_by_name(g->obj, "gen_template");
	g->rtt_fd = bpf_object__find_map_fd_by_name(g->obj, "gen_rtt");
	if (g->tx_fd < 0 || g->sink_fd < 0 || g->counters_fd < 0 || g->template_fd < 0 || g->rtt_fd < 0) {
		gen_close(g);
		return -ENOENT;
	}
	*out = g;
	return 0;
}

int gen_stamp_prepare(uint8_t *frame, size_t len)
{
	int at = gen_icmp_offset(frame, frame + len);
	if (at < 0)
		return -1;
	uint8_t *stamp = frame + at + GEN_STAMP_AT;
	uint16_t before[6], after[6], csum;
	uint32_t magic = GEN_STAMP_MAGIC;
	memcpy(before, stamp, sizeof(before));
	memset(stamp, 0, sizeof(before));
	memcpy(stamp, &magic, sizeof(magic));
	memcpy(after, stamp, sizeof(after));
	memcpy(&csum, frame + at + GEN_ICMP_CSUM_AT, 2);
	csum = gen_csum_replace(csum, before, after, 6);
	memcpy(frame + at + GEN_ICMP_CSUM_AT, &csum, 2);
	return at;
}

int gen_run(struct gen *g, int ifindex, const void *frame, size_t len, uint32_t repeat, uint32_t batch)
{
	// The program writes the frame in 8-byte words: it must be a multiple of 8 and fit the template.
	uint64_t words[32] = { 0 };
	uint32_t key = 0;
	if (len > sizeof(words) || len % 8)
		return -EINVAL;
	memcpy(words, frame, len);
	gen_stamp_prepare((uint8_t *)words, len);
	if (bpf_map_update_elem(g->template_fd, &key, words, 0))
		return -errno;
	struct xdp_md ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.ingress_ifindex = ifindex;
	ctx.data_end = (__u32)len; // the kernel wants the frame's size here
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = (int)repeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		    .batch_size = batch);
	return bpf_prog_test_run_opts(g->tx_fd, &opts) ? -errno : 0;
}

int gen_sink_attach(struct gen *g, int ifindex)
{
	return bpf_xdp_attach(ifindex, g->sink_fd, XDP_FLAGS_DRV_MODE, NULL);
}

int gen_sink_detach(struct gen *g, int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = g->sink_fd);
	return bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, &opts);
}

// Reads one per-CPU entry: `size` bytes (a multiple of 8) for each possible CPU.
static void *read_percpu(int fd, uint32_t key, size_t size, int *cpus)
{
	*cpus = libbpf_num_possible_cpus();
	if (*cpus <= 0)
		return NULL;
	void *values = calloc(*cpus, size);
	if (values && bpf_map_lookup_elem(fd, &key, values)) {
		free(values);
		return NULL;
	}
	return values;
}

static int zero_percpu(int fd, uint32_t keys, size_t size)
{
	int cpus = libbpf_num_possible_cpus();
	void *zeros = cpus > 0 ? calloc(cpus, size) : NULL;
	int err = zeros ? 0 : -ENOMEM;
	for (uint32_t key = 0; key < keys && !err; key++)
		err = bpf_map_update_elem(fd, &key, zeros, BPF_EXIST) ? -errno : 0;
	free(zeros);
	return err;
}

int gen_sink_reset(struct gen *g)
{
	int err = zero_percpu(g->counters_fd, 2, sizeof(uint64_t));
	return err ? err : zero_percpu(g->rtt_fd, 1, sizeof(struct gen_rtt_hist));
}

int gen_sink_counts(struct gen *g, uint64_t *replies, uint64_t *other)
{
	uint64_t *sums[2] = { replies, other };
	for (uint32_t key = 0; key < 2; key++) {
		int cpus;
		uint64_t *values = (uint64_t *)read_percpu(g->counters_fd, key, sizeof(uint64_t), &cpus);
		if (!values)
			return -errno;
		*sums[key] = 0;
		for (int c = 0; c < cpus; c++)
			*sums[key] += values[c];
		free(values);
	}
	return 0;
}

// The upper bound of the bucket holding the sample of rank ceil(q * n), capped by the max.
static uint64_t percentile(const __u64 *buckets, uint64_t n, uint64_t max_ns, double q)
{
	uint64_t rank = (uint64_t)ceil(q * (double)n), seen = 0;
	for (uint32_t b = 0; b < GEN_RTT_BUCKETS; b++) {
		seen += buckets[b];
		if (seen >= rank && seen) {
			uint64_t upper = gen_rtt_bucket_upper_ns(b);
			return upper < max_ns ? upper : max_ns;
		}
	}
	return max_ns;
}

int gen_sink_latency(struct gen *g, struct gen_latency *out)
{
	int cpus;
	struct gen_rtt_hist *per = (struct gen_rtt_hist *)read_percpu(g->rtt_fd, 0, sizeof(*per), &cpus);
	if (!per)
		return -errno;
	struct gen_rtt_hist sum;
	memset(&sum, 0, sizeof(sum));
	for (int c = 0; c < cpus; c++) {
		for (uint32_t b = 0; b < GEN_RTT_BUCKETS; b++)
			sum.buckets[b] += per[c].buckets[b];
		if (per[c].max_ns > sum.max_ns)
			sum.max_ns = per[c].max_ns;
	}
	free(per);
	memset(out, 0, sizeof(*out));
	for (uint32_t b = 0; b < GEN_RTT_BUCKETS; b++)
		out->samples += sum.buckets[b];
	out->max_ns = sum.max_ns;
	if (!out->samples)
		return 0;
	out->p50_ns = percentile(sum.buckets, out->samples, sum.max_ns, 0.5);
	out->p90_ns = percentile(sum.buckets, out->samples, sum.max_ns, 0.9);
	out->p99_ns = percentile(sum.buckets, out->samples, sum.max_ns, 0.99);
	out->p999_ns = percentile(sum.buckets, out->samples, sum.max_ns, 0.999);
	return 0;
}

void gen_close(struct gen *g)
{
	if (g->obj)
		bpf_object__close(g->obj);
	free(g);
}
