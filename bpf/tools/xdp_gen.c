// SPDX-License-Identifier: GPL-2.0
// The load generator's programs (afxdp-wasm gen), used from inside a test
// environment's namespace:
//   xdp_gen_tx    run by BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: every
//                 run transmits the test frame out of the interface (XDP_TX),
//                 at many millions of frames a second from one core, stamped
//                 with the time it leaves (gen_stamp.h)
//   xdp_gen_sink  attached to the generator's interface: counts the echo
//                 replies to its requests, puts the round trip of each stamped
//                 one in a histogram, and drops them (and, being an XDP
//                 program, makes veth deliver frames to it at all); other
//                 echo replies, such as a ping's beside the load, go on to
//                 the stack
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "gen_stamp.h"

enum {
	SINK_REPLIES,
	SINK_OTHER,
	SINK_COUNTERS
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SINK_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} gen_sink_counters SEC(".maps");

// Round trips of stamped replies: the sink's only per-packet work beyond counting.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_rtt_hist);
} gen_rtt SEC(".maps");

// The frame to send, its stamp laid in with time 0 (shim/gen prepares it).
// veth hands XDP frames to its peer by reference, so a responder that answers
// in place (XDP_TX) writes its reply into the generator's own recycled pages:
// every run lays the request in again.
#define TEMPLATE_WORDS 32
struct template
{
	__u64 words[TEMPLATE_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct template);
} gen_template SEC(".maps");

SEC("xdp")
int xdp_gen_tx(struct xdp_md *ctx)
{
	__u64 *p = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 key = 0;
	struct template *t = bpf_map_lookup_elem(&gen_template, &key);

	if (!t)
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < TEMPLATE_WORDS; i++) {
		if ((void *)(p + i + 1) > end)
			break;
		p[i] = t->words[i];
	}
	__u8 *data = (void *)(long)ctx->data;
	int at = gen_icmp_offset(data, end);
	if (at >= 0) {
		__u8 *icmp = data + at;
		__u16 csum;
		__builtin_memcpy(&csum, icmp + GEN_ICMP_CSUM_AT, 2);
		gen_stamp(icmp, csum, bpf_ktime_get_ns());
	}
	return XDP_TX;
}

// The echo identifier of the generator's requests: GEN_ECHO_ID in host/gen/generator.ts.
#define GEN_ECHO_ID 0x06e6

static __always_inline int is_echo_reply(void *data, void *end)
{
	__u8 *p = data;
	if ((void *)(p + ETH_HLEN + 40 + 6) > end)
		return 0;
	__u16 type = *(__u16 *)(p + 12);
	__u8 *icmp;
	if (type == bpf_htons(ETH_P_IPV6)) {
		icmp = p + ETH_HLEN + 40;
		if (p[ETH_HLEN + 6] != IPPROTO_ICMPV6 || icmp[0] != 129)
			return 0;
	} else if (type == bpf_htons(ETH_P_IP)) {
		icmp = p + ETH_HLEN + 20;
		if (p[ETH_HLEN + 9] != IPPROTO_ICMP || (p[ETH_HLEN] & 0x0f) != 5 || icmp[0] != 0)
			return 0;
	} else {
		return 0;
	}
	return *(__u16 *)(icmp + 4) == bpf_htons(GEN_ECHO_ID);
}

static __always_inline void count_rtt(__u8 *data, __u8 *end)
{
	int at = gen_icmp_offset(data, end);
	if (at < 0)
		return;
	__u8 *icmp = data + at;
	__u32 magic, key = 0;
	__u64 sent;
	__builtin_memcpy(&magic, icmp + GEN_STAMP_AT, 4);
	__builtin_memcpy(&sent, icmp + GEN_STAMP_TIME_AT, 8);
	struct gen_rtt_hist *h = bpf_map_lookup_elem(&gen_rtt, &key);
	if (magic != GEN_STAMP_MAGIC || !h)
		return;
	__u64 now = bpf_ktime_get_ns(), rtt = now > sent ? now - sent : 0;
	__u32 b = gen_rtt_bucket(rtt);
	if (b < GEN_RTT_BUCKETS)
		h->buckets[b] += 1;
	if (rtt > h->max_ns)
		h->max_ns = rtt;
}

SEC("xdp")
int xdp_gen_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 key = is_echo_reply(data, end) ? SINK_REPLIES : SINK_OTHER;
	__u64 *n = bpf_map_lookup_elem(&gen_sink_counters, &key);

	if (n)
		*n += 1;
	if (key == SINK_REPLIES)
		count_rtt(data, end);
	return key == SINK_REPLIES ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
