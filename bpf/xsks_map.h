// SPDX-License-Identifier: GPL-2.0
// The map through which our XDP programs reach the AF_XDP sockets: one slot
// per RX queue, filled by the host (xsk_socket__update_xskmap). The host
// looks it up by this name, so a program of the user's (--filename) needs a
// map of the same name too.
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_QUEUES 64

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

// To the socket of the queue the frame came in on; to the kernel (XDP_PASS) when that queue has none.
static __always_inline int to_socket(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}
