// SPDX-License-Identifier: GPL-2.0
// Past the Ethernet header and up to two VLAN tags (802.1ad, 802.1Q), bounded
// for the verifier: shared by the programs that look into a frame.
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define MAX_VLAN_TAGS 2

// The EtherType after any VLAN tags, with *l3 at what follows it; 0 when the
// frame ends inside its Ethernet header or a tag.
static __always_inline __u16 skip_ethernet(void *data, void *end, __u8 **l3)
{
	__u8 *p = data;
	if ((void *)(p + ETH_HLEN) > end)
		return 0;
	__u16 type = *(__u16 *)(p + 12);
	p += ETH_HLEN;
#pragma unroll
	for (int i = 0; i < MAX_VLAN_TAGS; i++) {
		if (type != bpf_htons(ETH_P_8021Q) && type != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(p + 4) > end)
			return 0;
		type = *(__u16 *)(p + 2);
		p += 4;
	}
	*l3 = p;
	return type;
}
