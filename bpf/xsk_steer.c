// SPDX-License-Identifier: GPL-2.0
// Built-in steering programs for afxdp-wasm (--steer). Both send packets to
// the AF_XDP socket of the queue they arrived on, and fall back to the
// kernel (XDP_PASS) when that queue has no socket, so nothing vanishes.
//
//   xsk_echo_steer    only ICMPv6 echo requests and ICMP echo requests;
//                     everything else (Neighbour Discovery, MLD, TCP...) stays
//                     with the kernel
//   xsk_redirect_all  every packet (what libxdp's default program does)
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ethernet.h"
#include "xsks_map.h"

#define MAX_EXT_HEADERS 4

// Is this an echo request? Bounded walks over VLAN tags and IPv6 extension
// headers; anything odd is left to the kernel (and the handler re-checks all).
static __always_inline int is_echo_request(void *data, void *end)
{
	__u8 *p;
	__u16 type = skip_ethernet(data, end, &p);

	if (!type)
		return 0;
	if (type == bpf_htons(ETH_P_IP)) {
		if ((void *)(p + 20) > end)
			return 0;
		__u32 ihl = (p[0] & 0x0f) * 4;
		if (p[9] != IPPROTO_ICMP || ihl < 20 || (*(__u16 *)(p + 6) & bpf_htons(0x3fff)))
			return 0;
		if (ihl > 60)
			return 0;
		__u8 *icmp = p + ihl;
		if ((void *)(icmp + 1) > end)
			return 0;
		return icmp[0] == 8;
	}
	if (type != bpf_htons(ETH_P_IPV6) || (void *)(p + 40) > end)
		return 0;
	__u8 next = p[6];
	p += 40;
#pragma unroll
	for (int i = 0; i < MAX_EXT_HEADERS; i++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS)
			break;
		if ((void *)(p + 2) > end)
			return 0;
		next = p[0];
		p += (p[1] + 1) * 8;
	}
	if (next != IPPROTO_ICMPV6 || (void *)(p + 1) > end)
		return 0;
	return p[0] == 128;
}

SEC("xdp")
int xsk_echo_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	return is_echo_request(data, end) ? to_socket(ctx) : XDP_PASS;
}

SEC("xdp")
int xsk_redirect_all(struct xdp_md *ctx)
{
	return to_socket(ctx);
}

char _license[] SEC("license") = "GPL";
