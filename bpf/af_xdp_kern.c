// SPDX-License-Identifier: GPL-2.0
// Lesson assignment 2: send every other packet of each RX queue to the
// AF_XDP socket bound to that queue; pass the rest to the kernel.
//
// The lesson counts in a per-CPU array, so the alternation is per CPU and
// breaks when packets of one queue land on different cores. We count in a
// plain array with an atomic add instead: the pattern is exact per queue.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xsks_map.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u64);
} xdp_stats_map SEC(".maps");

SEC("xdp")
int xdp_sock_prog(struct xdp_md *ctx)
{
	__u32 queue = ctx->rx_queue_index;
	__u64 *seen = bpf_map_lookup_elem(&xdp_stats_map, &queue);

	if (!seen)
		return XDP_PASS;
	/* The first packet of a queue (count 0) goes to the socket, the second to the kernel. */
	if (__sync_fetch_and_add(seen, 1) & 1)
		return XDP_PASS;
	/* No socket on this queue: the kernel gets it rather than losing it. */
	return bpf_redirect_map(&xsks_map, queue, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
