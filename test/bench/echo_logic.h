// The echo handler's logic in C: the same checks and the same in-place reply
// as asm/echo.ts. Shared by the offline benchmark (echo.c) and the live
// AF_XDP responder (xsk_echo.c), so it is written once.
#ifndef ECHO_LOGIC_H
#define ECHO_LOGIC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// The interface's own MAC and addresses: the source of replies to group requests.
struct echo_self {
	uint8_t mac[6];
	uint8_t v6[16];
	uint8_t v4[4];
};

static inline uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}
static inline void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static uint64_t sum_words(const uint8_t *p, size_t len, uint64_t sum)
{
	size_t i = 0;
	for (; i + 2 <= len; i += 2)
		sum += be16(p + i);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint32_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)sum;
}

static uint32_t update(uint32_t hc, uint32_t m, uint32_t m1)
{
	uint32_t s = (~hc & 0xffff) + (~m & 0xffff) + m1;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

static uint64_t pseudo6(const uint8_t *ip6, uint32_t len)
{
	return sum_words(ip6 + 8, 32, 0) + (len >> 16) + (len & 0xffff) + 58;
}

static void reply_macs(uint8_t *f, const uint8_t *from)
{
	uint8_t t[6];
	memcpy(t, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, from ? from : t, 6);
}

static uint32_t padded(uint8_t *f, uint32_t need, uint32_t have)
{
	uint32_t len = need >= 60 ? need : (have < 60 ? have : 60);
	if (len > need)
		memset(f + need, 0, len - need);
	return len;
}

static int echo6(uint8_t *f, uint32_t l3, uint32_t len, const struct echo_self *self)
{
	uint8_t *ip6 = f + l3;
	if (l3 + 40 > len || ip6[0] >> 4 != 6)
		return 0;
	uint32_t end = 40 + be16(ip6 + 4), off = 40, next = ip6[6];
	if (l3 + end > len)
		return 0;
	for (int i = 0;; i++) {
		if (i == 8 || next == 44)
			return 0;
		if (next != 0 && next != 43 && next != 60)
			break;
		if ((next == 0 && i) || off + 8 > end || (next == 43 && ip6[off + 3]))
			return 0;
		next = ip6[off];
		off += (ip6[off + 1] + 1u) * 8;
		if (off > end)
			return 0;
	}
	uint8_t *icmp = ip6 + off;
	uint32_t ilen = end - off;
	if (next != 58 || ilen < 8 || icmp[0] != 128 || icmp[1])
		return 0;
	static const uint8_t zero[16], loop[16] = { [15] = 1 };
	if (ip6[8] == 0xff || !memcmp(ip6 + 8, zero, 16) || !memcmp(ip6 + 8, loop, 16) || (f[6] & 1))
		return 0;
	int group = ip6[24] == 0xff || (f[0] & 1);
	if (group && !self)
		return 0;
	if (fold(sum_words(icmp, ilen, pseudo6(ip6, ilen))) != 0xffff)
		return 0;
	if (off != 40) {
		memmove(ip6 + 40, icmp, ilen);
		icmp = ip6 + 40;
		ip6[6] = 58;
		put_be16(ip6 + 4, ilen);
	}
	reply_macs(f, group ? self->mac : NULL);
	ip6[7] = 64;
	icmp[0] = 129;
	if (group) {
		memcpy(ip6 + 24, ip6 + 8, 16);
		memcpy(ip6 + 8, self->v6, 16);
		icmp[2] = icmp[3] = 0;
		put_be16(icmp + 2, ~fold(sum_words(icmp, ilen, pseudo6(ip6, ilen))) & 0xffff);
	} else {
		uint8_t t[16];
		memcpy(t, ip6 + 8, 16);
		memcpy(ip6 + 8, ip6 + 24, 16);
		memcpy(ip6 + 24, t, 16);
		put_be16(icmp + 2, update(be16(icmp + 2), 128 << 8, 129 << 8));
	}
	return (int)padded(f, l3 + 40 + ilen, len);
}

static int echo4(uint8_t *f, uint32_t l3, uint32_t len, const struct echo_self *self)
{
	uint8_t *ip = f + l3;
	if (l3 + 20 > len)
		return 0;
	uint32_t hl = (ip[0] & 15) * 4u, total = be16(ip + 2);
	if (ip[0] >> 4 != 4 || hl < 20 || l3 + hl > len || l3 + total > len || total < hl + 8)
		return 0;
	if (fold(sum_words(ip, hl, 0)) != 0xffff || (be16(ip + 6) & 0x3fff) || ip[9] != 1)
		return 0;
	uint8_t *icmp = ip + hl;
	uint32_t ilen = total - hl;
	if (icmp[0] != 8 || icmp[1] || ip[12] == 0 || ip[12] == 127 || ip[12] >= 224 || (f[6] & 1))
		return 0;
	int group = ip[16] >= 224 || (f[0] & 1);
	if (group && !self)
		return 0;
	if (fold(sum_words(icmp, ilen, 0)) != 0xffff)
		return 0;
	if (hl != 20) {
		memmove(ip + 20, icmp, ilen);
		icmp = ip + 20;
		ip[0] = 0x45;
	}
	put_be16(ip + 2, 20 + ilen);
	reply_macs(f, group ? self->mac : NULL);
	uint8_t t[4];
	memcpy(t, ip + 12, 4);
	memcpy(ip + 12, group ? self->v4 : ip + 16, 4);
	memcpy(ip + 16, t, 4);
	ip[8] = 64;
	ip[10] = ip[11] = 0;
	put_be16(ip + 10, ~fold(sum_words(ip, 20, 0)) & 0xffff);
	icmp[0] = 0;
	put_be16(icmp + 2, update(be16(icmp + 2), 8 << 8, 0));
	return (int)padded(f, l3 + 20 + ilen, len);
}

// The reply's length when f (len bytes) is an echo request answered in place, else 0.
static int echo_answer(uint8_t *f, uint32_t len, const struct echo_self *self)
{
	uint32_t off = 12;
	for (int tags = 0;; tags++) {
		if (off + 2 > len || tags > 2)
			return 0;
		uint32_t type = be16(f + off);
		if (type != 0x8100 && type != 0x88a8)
			break;
		off += 4;
	}
	uint32_t type = be16(f + off);
	if (type == 0x86dd)
		return echo6(f, off + 2, len, self);
	if (type == 0x0800)
		return echo4(f, off + 2, len, self);
	return 0;
}

#endif
