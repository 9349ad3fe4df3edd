// The UDP echo service (RFC 862) in C, the same behaviour as asm/udp_echo.ts:
// datagrams to port 7, over IPv6 or IPv4, go back to their sender with the
// same payload; everything else is dropped, counted by the same reasons.
// No libc: clang --target=wasm32, linked by wasm-ld into the handler region
// (scripts/setup.mjs builds it to build/asm/udp_echo_c.wasm).
#include "afxdp_abi.h"

AFXDP_ABI_EXPORT;

#define EXPORT(name) __attribute__((export_name(#name))) name

enum reason {
	REPLIED,
	NOT_IP,
	TRUNCATED,
	BAD_HEADER,
	BAD_CHECKSUM,
	NOT_ECHO,
	FRAGMENT,
	BAD_SOURCE,
	ROUTING,
	NO_ADDRESS,
	TOO_MANY_HEADERS,
	REASON_COUNT
};
// The names the host prints, one UTF-16LE string (wasm is little-endian), as asm/lib/reasons.ts has them.
static const uint16_t reason_names[] = u"replied,not_ip,truncated,bad_header,bad_checksum,not_echo,"
				       u"fragment,bad_source,routing,no_address,too_many_headers";
static uint64_t reason_counts[REASON_COUNT];

#define ECHO_PORT	  7
#define ETH_ZLEN	  60
#define ETH_P_IP	  0x0800
#define ETH_P_IPV6	  0x86dd
#define ETH_P_8021Q	  0x8100
#define ETH_P_8021AD	  0x88a8
#define MAX_TAGS	  2
#define IPV4_HLEN	  20
#define IPV6_HLEN	  40
#define UDP_HLEN	  8
#define IPPROTO_UDP	  17
#define DEFAULT_HOP_LIMIT 64

static const struct afxdp_config *config;

void EXPORT(init)(uint32_t block)
{
	config = (const struct afxdp_config *)block;
}
uint32_t EXPORT(counters)(void)
{
	return (uint32_t)reason_counts;
}
uint32_t EXPORT(counter_names)(void)
{
	return (uint32_t)reason_names;
}
uint32_t EXPORT(counter_names_len)(void)
{
	return sizeof(reason_names) - sizeof(reason_names[0]); // without the terminating zero
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}
static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void swap_bytes(uint8_t *a, uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

// RFC 1071. The 16-bit words are summed as they lie in memory, in little-endian lanes (wasm's byte
// order): the ones' complement sum does not care, and fold() turns it into network order once.
static uint64_t sum_words(const uint8_t *p, uint32_t len, uint64_t sum)
{
	uint32_t i = 0;
	for (; i + 4 <= len; i += 4) {
		uint32_t w;
		__builtin_memcpy(&w, p + i, 4); // one unaligned load
		sum += (w & 0xffff) + (w >> 16);
	}
	for (; i + 2 <= len; i += 2) {
		uint16_t w;
		__builtin_memcpy(&w, p + i, 2);
		sum += w;
	}
	if (i < len)
		sum += p[i]; // odd byte: the high byte of a zero-padded word, the low one of its lane
	return sum;
}
// A value in network order (a length, a protocol number) into such a sum.
static uint64_t add_word(uint64_t sum, uint32_t word)
{
	return sum + __builtin_bswap16((uint16_t)word);
}
// The sum folded to 16 bits, in network order: a region with a right checksum folds to 0xffff.
static uint32_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return __builtin_bswap16((uint16_t)sum);
}
// The checksum to store (zero means "no checksum" to UDP, so it is sent as 0xffff).
static uint32_t udp_checksum(uint64_t sum)
{
	uint32_t c = ~fold(sum) & 0xffff;
	return c == 0 ? 0xffff : c;
}

// Where the network header starts past at most two VLAN tags, or minus a reason.
static int32_t l3_offset(const uint8_t *frame, uint32_t len)
{
	uint32_t off = 12;
	for (int tags = 0; tags <= MAX_TAGS; tags++) {
		if (off + 2 > len)
			return -TRUNCATED;
		uint32_t type = get16(frame + off);
		if (type != ETH_P_8021Q && type != ETH_P_8021AD)
			return (int32_t)(off + 2);
		off += 4;
	}
	return -TOO_MANY_HEADERS;
}

static uint32_t hop_limit(void)
{
	uint32_t h = config ? config->hop_limit : 0;
	return h ? h & 0xff : DEFAULT_HOP_LIMIT;
}

// Back to the sender, from the address it was sent to.
static void reply_macs(uint8_t *frame)
{
	swap_bytes(frame, frame + 6, 6);
}

// The reply's length: padded with zeros to the shortest frame, never past the request's own length.
static uint32_t padded(uint8_t *frame, uint32_t needed, uint32_t available)
{
	uint32_t len = needed >= ETH_ZLEN ? needed : (available < ETH_ZLEN ? available : ETH_ZLEN);
	for (uint32_t i = needed; i < len; i++)
		frame[i] = 0;
	return len;
}

static void swap_ports(uint8_t *udp)
{
	uint32_t src = get16(udp);
	put16(udp, get16(udp + 2));
	put16(udp + 2, src);
}

static int is_group_mac(const uint8_t *frame)
{
	return frame[0] & 1;
}

static int32_t echo6(uint8_t *frame, uint32_t l3, uint32_t len)
{
	uint8_t *ip6 = frame + l3;
	if (l3 + IPV6_HLEN + UDP_HLEN > len)
		return -TRUNCATED;
	// Only plain datagrams: no extension headers.
	if (ip6[0] >> 4 != 6 || ip6[6] != IPPROTO_UDP)
		return -NOT_ECHO;
	uint8_t *udp = ip6 + IPV6_HLEN;
	uint32_t ulen = get16(udp + 4);
	if (ulen < UDP_HLEN || ulen != get16(ip6 + 4) || l3 + IPV6_HLEN + ulen > len)
		return -BAD_HEADER;
	if (get16(udp + 2) != ECHO_PORT)
		return -NOT_ECHO;
	if (ip6[8] == 0xff || ip6[24] == 0xff || is_group_mac(frame))
		return -BAD_SOURCE;
	reply_macs(frame);
	swap_bytes(ip6 + 8, ip6 + 24, 16);
	ip6[7] = (uint8_t)hop_limit();
	swap_ports(udp);
	put16(udp + 6, 0);
	uint64_t pseudo =
		add_word(add_word(sum_words(ip6 + 8, 32, 0), ulen), IPPROTO_UDP); // addresses, length, next header
	put16(udp + 6, udp_checksum(sum_words(udp, ulen, pseudo)));
	return (int32_t)padded(frame, l3 + IPV6_HLEN + ulen, len);
}

// 0.0.0.0/8, 127.0.0.0/8, multicast, reserved and broadcast: never a sender to answer.
static int is_bad_source4(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

static int32_t echo4(uint8_t *frame, uint32_t l3, uint32_t len)
{
	uint8_t *ip = frame + l3;
	if (l3 + IPV4_HLEN > len)
		return -TRUNCATED;
	uint32_t hlen = (uint32_t)(ip[0] & 0xf) << 2;
	if (ip[0] >> 4 != 4 || hlen != IPV4_HLEN || l3 + get16(ip + 2) > len || fold(sum_words(ip, hlen, 0)) != 0xffff)
		return -BAD_HEADER;
	if (ip[9] != IPPROTO_UDP || (get16(ip + 6) & 0x3fff) != 0)
		return -NOT_ECHO;
	uint8_t *udp = ip + IPV4_HLEN;
	uint32_t ulen = get16(udp + 4);
	if (ulen < UDP_HLEN || IPV4_HLEN + ulen != get16(ip + 2))
		return -BAD_HEADER;
	if (get16(udp + 2) != ECHO_PORT)
		return -NOT_ECHO;
	if (is_bad_source4(ip + 12) || is_bad_source4(ip + 16) || is_group_mac(frame))
		return -BAD_SOURCE;
	reply_macs(frame);
	swap_bytes(ip + 12, ip + 16, 4);
	ip[8] = (uint8_t)hop_limit();
	put16(ip + 10, 0);
	put16(ip + 10, ~fold(sum_words(ip, IPV4_HLEN, 0)) & 0xffff);
	swap_ports(udp);
	put16(udp + 6, 0);
	uint64_t pseudo = add_word(add_word(sum_words(ip + 12, 8, 0), IPPROTO_UDP), ulen);
	put16(udp + 6, udp_checksum(sum_words(udp, ulen, pseudo)));
	return (int32_t)padded(frame, l3 + IPV4_HLEN + ulen, len);
}

static int32_t answer(uint8_t *frame, uint32_t len)
{
	int32_t l3 = l3_offset(frame, len);
	if (l3 < 0)
		return l3;
	uint32_t type = get16(frame + l3 - 2);
	if (type == ETH_P_IPV6)
		return echo6(frame, (uint32_t)l3, len);
	if (type == ETH_P_IP)
		return echo4(frame, (uint32_t)l3, len);
	return -NOT_IP;
}

void EXPORT(process)(uint32_t batch, uint32_t count)
{
	struct afxdp_desc *desc = (struct afxdp_desc *)batch;
	for (uint32_t i = 0; i < count; i++) {
		int32_t reply = answer((uint8_t *)desc[i].addr, desc[i].len);
		if (reply > 0) {
			reason_counts[REPLIED]++;
			desc[i].len = (uint32_t)reply;
			desc[i].verdict = AFXDP_VERDICT_TX;
		} else {
			reason_counts[-reply]++;
			desc[i].verdict = AFXDP_VERDICT_DROP;
		}
	}
}
