// SPDX-License-Identifier: GPL-2.0
// An in-kernel ICMPv6 echo reflector (XDP_TX): the ceiling any reply path
// can reach on an interface, used by npm run bench to put our figures in
// proportion. Plain Ethernet + IPv6 + ICMPv6 echo requests only.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_echo_tx(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 mac[ETH_ALEN];
	__u32 addr[4];

	if ((void *)(p + ETH_HLEN + 40 + 4) > end || *(__u16 *)(p + 12) != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	__u8 *ip6 = p + ETH_HLEN, *icmp = ip6 + 40;
	if (ip6[6] != IPPROTO_ICMPV6 || icmp[0] != 128 || icmp[1] != 0)
		return XDP_PASS;
	__builtin_memcpy(mac, p, ETH_ALEN);
	__builtin_memcpy(p, p + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(p + ETH_ALEN, mac, ETH_ALEN);
	__builtin_memcpy(addr, ip6 + 8, 16);
	__builtin_memcpy(ip6 + 8, ip6 + 24, 16);
	__builtin_memcpy(ip6 + 24, addr, 16);
	ip6[7] = 64;
	icmp[0] = 129;
	// RFC 1624 eqn. 3 for the type word 0x8000 -> 0x8100 (network order).
	__u32 sum = (__u16)~bpf_ntohs(*(__u16 *)(icmp + 2)) + (__u16)~0x8000 + 0x8100;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	*(__u16 *)(icmp + 2) = bpf_htons((__u16)~sum);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
