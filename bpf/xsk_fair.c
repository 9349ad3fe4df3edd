// SPDX-License-Identifier: GPL-2.0
// xsk_fair (--steer fair): every packet goes to the AF_XDP socket of its
// queue, like xsk_redirect_all, but while user space marks the queue
// congested each flow may pass at most `quantum` packets per window; the rest
// are dropped here, before they cost a copy into the UMEM or a ring slot. A
// sparse flow (a ping, a keepalive) never reaches the quantum, so it keeps
// going while heavy flows are cut back.
//
// Passing is not enough for a sparse flow: on the socket's RX ring it would
// still wait behind the backlog the heavy flows keep there, up to the target
// delay and more after each stall. So, as FQ-CoDel serves new flows first,
// while congested a packet of a flow that stayed within FAIR_SPARSE packets
// in this window and the last goes to the queue's sparse lane: a second
// socket on the same queue and UMEM (xsks_lane), whose ring the port empties
// first. A flow that grows leaves the lane at once; one that quiets down
// returns only after a whole sparse window, so that its later packets seldom
// overtake its earlier ones (only when the backlog is longer than a window).
//
// The queue's buckets are touched by the CPU running its RX; a rare race
// between two CPUs only miscounts one packet, so no locks.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ethernet.h"
#include "xsks_map.h"
#include "xsk_fair.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, struct fair_queue);
} fair_queues SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_QUEUES *FAIR_BUCKETS);
	__type(key, __u32);
	__type(value, struct fair_bucket);
} fair_buckets SEC(".maps");

// The sparse lane's socket of each queue, entered by the port when it turns
// admission on; a queue without one sends its sparse flows to xsks_map too.
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_lane SEC(".maps");

// The flow a frame belongs to, as 64 bits plus a family tag so that an IPv4
// address and a MAC never share a key by accident.
static __always_inline __u64 flow_key(void *data, void *end)
{
	__u8 *p;
	__u16 type = skip_ethernet(data, end, &p);

	if ((void *)((__u8 *)data + ETH_HLEN) > end)
		return 0;
	__u64 mac = 0;
	__builtin_memcpy(&mac, (__u8 *)data + 6, 6);
	if (!type)
		return mac | 1ull << 62;
	if (type == bpf_htons(ETH_P_IPV6) && (void *)(p + 16) <= end)
		return *(__u64 *)(p + 8); // the source address's /64
	if (type == bpf_htons(ETH_P_IP) && (void *)(p + 16) <= end)
		return *(__u32 *)(p + 12) | 1ull << 63;
	return mac | 1ull << 62;
}

// Fibonacci hashing: the top bits of key times 2^64 / golden ratio.
static __always_inline __u32 bucket_of(__u64 key)
{
	return (__u32)((key * 0x9e3779b97f4a7c15ull) >> (64 - FAIR_BUCKETS_LOG2));
}

enum admission {
	CUT,
	PASS,
	PASS_SPARSE
};

// What becomes of this packet while its queue is congested: cut when its flow
// already passed the quantum in the current window; else passed, and marked
// sparse when the flow stayed within FAIR_SPARSE in this window and the last.
static __always_inline enum admission admit(struct xdp_md *ctx, struct fair_queue *q)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 key = (ctx->rx_queue_index % MAX_QUEUES) * FAIR_BUCKETS + bucket_of(flow_key(data, end));
	struct fair_bucket *b = bpf_map_lookup_elem(&fair_buckets, &key);
	if (!b)
		return PASS;
	__u64 now = bpf_ktime_get_ns(), window = (q->window_us ? q->window_us : 1000) * 1000ull;
	__u64 since = now - b->window_start_ns;
	if (since >= window) {
		b->previous_count = since >= 2 * window ? 0 : b->count; // quiet for a whole window: 0
		b->window_start_ns = now;
		b->count = 0;
	}
	if (b->count >= q->quantum)
		return CUT;
	b->count++;
	return b->count <= FAIR_SPARSE && b->previous_count <= FAIR_SPARSE ? PASS_SPARSE : PASS;
}

SEC("xdp")
int xsk_fair(struct xdp_md *ctx)
{
	__u32 queue = ctx->rx_queue_index;
	struct fair_queue *q = bpf_map_lookup_elem(&fair_queues, &queue);

	if (!q || !q->congested)
		return to_socket(ctx);
	enum admission verdict = admit(ctx, q);
	if (verdict == CUT) {
		__sync_fetch_and_add(&q->dropped, 1);
		return XDP_DROP;
	}
	if (verdict == PASS_SPARSE && bpf_map_lookup_elem(&xsks_lane, &queue))
		return bpf_redirect_map(&xsks_lane, queue, XDP_PASS);
	return to_socket(ctx);
}

char _license[] SEC("license") = "GPL";
