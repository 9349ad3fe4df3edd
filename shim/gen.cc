#include "gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

struct gen {
	struct bpf_object *obj;
	int tx_fd;
	int sink_fd;
	int counters_fd;
	int template_fd;
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
	if (g->tx_fd < 0 || g->sink_fd < 0 || g->counters_fd < 0 || g->template_fd < 0) {
		gen_close(g);
		return -ENOENT;
	}
	*out = g;
	return 0;
}

int gen_run(struct gen *g, int ifindex, const void *frame, size_t len, uint32_t repeat, uint32_t batch)
{
	// The program writes the frame in 8-byte words: it must be a multiple of 8 and fit the template.
	uint64_t words[32] = { 0 };
	uint32_t key = 0;
	if (len > sizeof(words) || len % 8)
		return -EINVAL;
	memcpy(words, frame, len);
	if (bpf_map_update_elem(g->template_fd, &key, words, 0))
		return -errno;
	struct xdp_md ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.ingress_ifindex = ifindex;
	ctx.data_end = (__u32)len; // the kernel wants the frame's size here
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = (int)repeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
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

int gen_sink_counts(struct gen *g, uint64_t *replies, uint64_t *other)
{
	int cpus = libbpf_num_possible_cpus();
	if (cpus <= 0)
		return -EINVAL;
	uint64_t *values = (uint64_t *)calloc(cpus, sizeof(uint64_t));
	uint64_t *sums[2] = { replies, other };
	for (uint32_t key = 0; key < 2; key++) {
		*sums[key] = 0;
		if (bpf_map_lookup_elem(g->counters_fd, &key, values)) {
			free(values);
			return -errno;
		}
		for (int c = 0; c < cpus; c++)
			*sums[key] += values[c];
	}
	free(values);
	return 0;
}

void gen_close(struct gen *g)
{
	if (g->obj)
		bpf_object__close(g->obj);
	free(g);
}
