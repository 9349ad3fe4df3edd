// SPDX-License-Identifier: GPL-2.0
// The load generator's timestamp, shared by its XDP programs (xdp_gen.c) and
// its native addon (shim/gen/): where the stamp lies in an echo request, how
// the ICMP checksum follows it, and the RTT histogram's buckets.
//
// An echo request's payload starts, right after identifier and sequence, with
// GEN_STAMP_MAGIC (4 bytes) and the CLOCK_MONOTONIC time it was sent, in ns
// (8 bytes, host byte order: only this machine reads it). Responders reflect
// the payload, so the reply carries it back to the sink.
#pragma once
#include <linux/types.h>

#define GEN_STAMP_MAGIC	  0x73677861u // "axgs" in memory on a little-endian host
#define GEN_STAMP_AT	  8	      // magic's offset in the ICMP message
#define GEN_STAMP_TIME_AT 12	      // time's offset in the ICMP message
#define GEN_STAMP_END	  20
#define GEN_ICMP_CSUM_AT  2

#define GEN_INLINE static inline __attribute__((always_inline))

// Where the ICMP message starts in an Ethernet frame without VLAN tags, with
// room for the stamp: IPv6 without extension headers, or IPv4 without options.
// -1 for anything else. Bounds-checked the way the BPF verifier wants.
GEN_INLINE int gen_icmp_offset(const __u8 *p, const __u8 *end)
{
	if (p + 14 + 40 + GEN_STAMP_END > end)
		return -1;
	if (p[12] == 0x86 && p[13] == 0xdd)
		return p[14 + 6] == 58 ? 14 + 40 : -1;
	if (p[12] == 0x08 && p[13] == 0x00)
		return p[14] == 0x45 && p[14 + 9] == 1 ? 14 + 20 : -1;
	return -1;
}

// RFC 1624 eqn. 3: the checksum after `words` 16-bit words change from
// `from` to `to`. It works on memory as it lies (a ones' complement sum of
// byte-swapped words is the byte-swapped sum), so the checksum field is read
// and written raw, and so is the time.
GEN_INLINE __u16 gen_csum_replace(__u16 csum, const __u16 *from, const __u16 *to, int words)
{
	__u32 sum = (__u16)~csum;
	for (int i = 0; i < words; i++)
		sum += (__u32)(__u16)~from[i] + to[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

// Stamps a request whose time is still 0 and whose checksum was then
// `csum` (as it lies in memory) with time t.
GEN_INLINE void gen_stamp(__u8 *icmp, __u16 csum, __u64 t)
{
	__u16 zero[4] = { 0 }, now[4]; // words, not a cast: C++ forbids reading a __u64 through a __u16 *
	__builtin_memcpy(now, &t, 8);
	csum = gen_csum_replace(csum, zero, now, 4);
	__builtin_memcpy(icmp + GEN_STAMP_TIME_AT, &t, 8);
	__builtin_memcpy(icmp + GEN_ICMP_CSUM_AT, &csum, 2);
}

// RTT histogram, log-linear: under 2^10 ns (about 1 us) in bucket 0, then 16
// buckets per power of two up to 2^32 ns (4.3 s), then one for anything
// longer. A bucket's upper bound is at most 1/16 (6.25 %) above any time in it.
#define GEN_RTT_SUB_BITS  4
#define GEN_RTT_MIN_SHIFT 10
#define GEN_RTT_MAX_SHIFT 32
#define GEN_RTT_BUCKETS	  (1 + (GEN_RTT_MAX_SHIFT - GEN_RTT_MIN_SHIFT) * (1 << GEN_RTT_SUB_BITS) + 1)

struct gen_rtt_hist {
	__u64 buckets[GEN_RTT_BUCKETS];
	__u64 max_ns;
};

GEN_INLINE __u32 gen_rtt_bucket(__u64 ns)
{
	if (ns < (1ull << GEN_RTT_MIN_SHIFT))
		return 0;
	if (ns >= (1ull << GEN_RTT_MAX_SHIFT))
		return GEN_RTT_BUCKETS - 1;
	__u32 e = 0; // floor(log2(ns)), by halving: BPF has no count-leading-zeros
	__u64 x = ns;
	if (x >> 16) {
		x >>= 16;
		e += 16;
	}
	if (x >> 8) {
		x >>= 8;
		e += 8;
	}
	if (x >> 4) {
		x >>= 4;
		e += 4;
	}
	if (x >> 2) {
		x >>= 2;
		e += 2;
	}
	if (x >> 1)
		e += 1;
	__u32 sub = (__u32)(ns >> (e - GEN_RTT_SUB_BITS)) & ((1u << GEN_RTT_SUB_BITS) - 1);
	return 1 + ((e - GEN_RTT_MIN_SHIFT) << GEN_RTT_SUB_BITS) + sub;
}

// The (exclusive) upper bound of a bucket, in ns; the last one has none.
GEN_INLINE __u64 gen_rtt_bucket_upper_ns(__u32 b)
{
	if (b == 0)
		return 1ull << GEN_RTT_MIN_SHIFT;
	if (b >= GEN_RTT_BUCKETS - 1)
		return ~0ull;
	__u32 e = GEN_RTT_MIN_SHIFT + ((b - 1) >> GEN_RTT_SUB_BITS);
	__u64 sub = (b - 1) & ((1u << GEN_RTT_SUB_BITS) - 1);
	return ((1ull << GEN_RTT_SUB_BITS) + sub + 1) << (e - GEN_RTT_SUB_BITS);
}
