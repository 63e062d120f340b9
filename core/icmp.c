/*
 * icmp.c — "destination unreachable" for a TUN packet that no session takes
 * (see icmp.h).
 */
#include "core/icmp.h"

#include <string.h>
#include <sys/socket.h>

#include "core/gso.h"

enum {
	PROTO_ICMP = 1,
	PROTO_ICMPV6 = 58,
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* put_csum stores the inverted one's complement sum, in the byte order in
 * which rv_inet_csum_add summed the bytes. */
static void put_csum(uint8_t *p, uint64_t sum)
{
	uint16_t c = (uint16_t)~rv_inet_csum_fold(sum);

	memcpy(p, &c, 2);
}

static bool v4_unanswerable_src(const uint8_t *a)
{
	static const uint8_t bcast[4] = { 0xff, 0xff, 0xff, 0xff };

	return (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0) || a[0] == 127 ||
	       (a[0] & 0xf0) == 0xe0 || memcmp(a, bcast, 4) == 0;
}

static bool v6_unanswerable_src(const uint8_t *a)
{
	static const uint8_t any[16], loop[16] = { [15] = 1 };

	return memcmp(a, any, 16) == 0 || memcmp(a, loop, 16) == 0 || a[0] == 0xff;
}

/* v4_may_answer: not an ICMP error or redirect (types 3, 4, 5, 11, 12),
 * not a fragment after the first. */
static bool v4_may_answer(const uint8_t *pkt, size_t len, const struct rv_ip_info *ip)
{
	if (rv_ip_v4_later_fragment(pkt)) {
		return false;
	}
	if (ip->proto == PROTO_ICMP) {
		uint8_t type;

		if (len < (size_t)ip->hdr_len + 1) {
			return false; /* cannot tell: stay quiet */
		}
		type = pkt[ip->hdr_len];
		return !(type == 3 || type == 4 || type == 5 || type == 11 || type == 12);
	}
	return true;
}

/* v6_may_answer looks through the extension headers for the upper layer:
 * not an ICMPv6 error (types below 128) or redirect (137), not a fragment
 * after the first, nor a chain too long to look through. */
static bool v6_may_answer(const uint8_t *pkt, size_t len)
{
	size_t off;
	int proto = rv_ip6_upper(pkt, len, &off);

	if (proto == PROTO_ICMPV6) {
		return len >= off + 1 && pkt[off] >= 128 && pkt[off] != 137;
	}
	return proto >= 0;
}

/* error4 builds an ICMPv4 error of |type| and |code| whose word after the
 * checksum holds |ptr| in its first byte (a parameter problem's pointer;
 * 0 for the others, whose word is unused). */
static size_t error4(uint8_t *out, uint8_t type, uint8_t code, uint8_t ptr,
		     const struct rv_ip_addr *src, const uint8_t *pkt, size_t len,
		     size_t *quote_len)
{
	size_t q = len < RV_ICMP4_MAX - 28 ? len : RV_ICMP4_MAX - 28;
	uint8_t *icmp = out + 20;

	memset(out, 0, 28);
	out[0] = 0x45;
	/* The packet's TOS bits under internetwork control's precedence, as
	 * Linux marks its ICMP errors (RFC 1812 §4.3.2.5). */
	out[1] = (uint8_t)((pkt[1] & 0x1e) | 0xc0);
	put16(out + 2, (uint16_t)(28 + q));
	out[6] = 0x40; /* DF: the error is small, the id then means nothing */
	out[8] = 64;
	out[9] = PROTO_ICMP;
	memcpy(out + 12, src->a, 4);
	memcpy(out + 16, pkt + 12, 4); /* back to the packet's source */
	rv_ipv4_fix_csum(out, 20);
	icmp[0] = type;
	icmp[1] = code;
	icmp[4] = ptr;
	put_csum(icmp + 2, rv_inet_csum_add(rv_inet_csum_add(0, icmp, 8), pkt, q));
	*quote_len = q;
	return 28;
}

static size_t error6(uint8_t *out, uint8_t type, uint8_t code, uint32_t ptr,
		     const struct rv_ip_addr *src, const uint8_t *pkt, size_t len,
		     size_t *quote_len)
{
	size_t q = len < RV_ICMP6_MAX - 48 ? len : RV_ICMP6_MAX - 48;
	uint8_t *icmp = out + 40;

	memset(out, 0, 48);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)(8 + q));
	out[6] = PROTO_ICMPV6;
	out[7] = 64;
	memcpy(out + 8, src->a, 16);
	memcpy(out + 24, pkt + 8, 16); /* back to the packet's source */
	icmp[0] = type;
	icmp[1] = code;
	put16(icmp + 4, (uint16_t)(ptr >> 16)); /* a parameter problem's pointer */
	put16(icmp + 6, (uint16_t)ptr);
	/* ICMPv6 covers the pseudo-header too (RFC 8200 §8.1). */
	put_csum(icmp + 2,
		 rv_inet_csum_add(rv_inet_csum_add(rv_inet_pseudo_sum(out, true, PROTO_ICMPV6,
								      8 + q),
						   icmp, 8),
				  pkt, q));
	*quote_len = q;
	return 48;
}

size_t rv_icmp_error(uint8_t out[RV_ICMP_HDR_MAX], enum rv_icmp_kind kind, uint32_t ptr,
		     const struct rv_ip_addr *src, const uint8_t *pkt, size_t len,
		     const struct rv_ip_info *ip, size_t *quote_len)
{
	if (src->family != ip->src.family) {
		return 0;
	}
	if (len > ip->total_len) {
		len = ip->total_len;
	}
	if (ip->src.family == AF_INET) {
		if (len < 20 || v4_unanswerable_src(ip->src.a) || !v4_may_answer(pkt, len, ip)) {
			return 0;
		}
		switch (kind) {
		case RV_ICMP_UNREACH: /* host unreachable */
			return error4(out, 3, 1, 0, src, pkt, len, quote_len);
		case RV_ICMP_TIME_EXCEEDED: /* in transit */
			return error4(out, 11, 0, 0, src, pkt, len, quote_len);
		case RV_ICMP_PARAM_PROBLEM: /* the pointer says where */
		case RV_ICMP_PARAM_PROBLEM_OPTION:
			return error4(out, 12, 0, (uint8_t)ptr, src, pkt, len, quote_len);
		}
		return 0;
	}
	if (len < 40 || v6_unanswerable_src(ip->src.a) || !v6_may_answer(pkt, len)) {
		return 0;
	}
	switch (kind) {
	case RV_ICMP_UNREACH: /* address unreachable */
		return error6(out, 1, 3, 0, src, pkt, len, quote_len);
	case RV_ICMP_TIME_EXCEEDED: /* hop limit exceeded in transit */
		return error6(out, 3, 0, 0, src, pkt, len, quote_len);
	case RV_ICMP_PARAM_PROBLEM: /* an erroneous header field */
		return error6(out, 4, 0, ptr, src, pkt, len, quote_len);
	case RV_ICMP_PARAM_PROBLEM_OPTION: /* an unrecognised option */
		return error6(out, 4, 2, ptr, src, pkt, len, quote_len);
	}
	return 0;
}

size_t rv_icmp_unreach(uint8_t out[RV_ICMP_HDR_MAX], const struct rv_ip_addr *src,
		       const uint8_t *pkt, size_t len, const struct rv_ip_info *ip,
		       size_t *quote_len)
{
	return rv_icmp_error(out, RV_ICMP_UNREACH, 0, src, pkt, len, ip, quote_len);
}
