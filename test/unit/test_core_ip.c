/*
 * test_core_ip.c — table-driven tests of the inner-packet parser (core/ip.c).
 *
 *   ./build/<dir>/test/test_core_ip          (or: ctest -L unit -R core_ip)
 *
 * Each malformed IPv4/IPv6 header is rejected with its specific reason; valid
 * ones yield the right addresses, protocol, header and total length; a hop
 * (rv_ip_hop) keeps the IPv4 checksum right.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/ip.h"

struct ip_case {
	char name[40];
	uint8_t byte0;	    /* version << 4 | IHL (IPv4) or traffic class bits */
	uint16_t len_field; /* IPv4 total length, IPv6 payload length */
	size_t present;	    /* bytes handed to the parser */
	enum rv_ip_err want;
	uint8_t want_hdr_len;
	uint16_t want_total;
};

static const struct ip_case ip_cases[] = {
	/* Version and the fixed-header minimum. */
	{ "empty", 0x45, 20, 0, RV_IP_TOO_SHORT, 0, 0 },
	{ "v4 1 byte", 0x45, 20, 1, RV_IP_TOO_SHORT, 0, 0 },
	{ "v4 19 bytes", 0x45, 19, 19, RV_IP_TOO_SHORT, 0, 0 },
	{ "v4 minimal", 0x45, 20, 20, RV_IP_OK, 20, 20 },
	{ "version 0", 0x05, 20, 20, RV_IP_BAD_VERSION, 0, 0 },
	{ "version 5", 0x55, 20, 20, RV_IP_BAD_VERSION, 0, 0 },
	{ "version 15", 0xf5, 20, 60, RV_IP_BAD_VERSION, 0, 0 },
	{ "version 5 1 byte", 0x50, 0, 1, RV_IP_BAD_VERSION, 0, 0 },
	/* IPv4 IHL. */
	{ "ihl 0", 0x40, 20, 40, RV_IP_BAD_HDR_LEN, 0, 0 },
	{ "ihl 4", 0x44, 20, 40, RV_IP_BAD_HDR_LEN, 0, 0 },
	{ "ihl 5", 0x45, 40, 40, RV_IP_OK, 20, 40 },
	{ "ihl 6", 0x46, 40, 40, RV_IP_OK, 24, 40 },
	{ "ihl 15 in packet", 0x4f, 60, 60, RV_IP_OK, 60, 60 },
	{ "ihl 15 beyond packet", 0x4f, 59, 59, RV_IP_BAD_HDR_LEN, 0, 0 },
	{ "ihl 6 in 23 bytes", 0x46, 20, 23, RV_IP_BAD_HDR_LEN, 0, 0 },
	/* IPv4 total length against the header and the bytes present. */
	{ "total 0", 0x45, 0, 40, RV_IP_BAD_TOTAL_LEN, 0, 0 },
	{ "total < ihl", 0x46, 23, 40, RV_IP_BAD_TOTAL_LEN, 0, 0 },
	{ "total == ihl", 0x46, 24, 40, RV_IP_OK, 24, 24 },
	{ "total present - 1", 0x45, 1399, 1400, RV_IP_OK, 20, 1399 },
	{ "total == present", 0x45, 1400, 1400, RV_IP_OK, 20, 1400 },
	{ "total present + 1", 0x45, 1401, 1400, RV_IP_BAD_TOTAL_LEN, 0, 0 },
	{ "total 65535", 0x45, 65535, 1400, RV_IP_BAD_TOTAL_LEN, 0, 0 },
	{ "total 65535 present", 0x45, 65535, 65535, RV_IP_OK, 20, 65535 },
	{ "trailing bytes ok", 0x45, 28, 100, RV_IP_OK, 20, 28 },
	/* IPv6. */
	{ "v6 1 byte", 0x60, 0, 1, RV_IP_TOO_SHORT, 0, 0 },
	{ "v6 39 bytes", 0x60, 0, 39, RV_IP_TOO_SHORT, 0, 0 },
	{ "v6 header only", 0x60, 0, 40, RV_IP_OK, 40, 40 },
	{ "v6 tclass bits", 0x6f, 0, 40, RV_IP_OK, 40, 40 },
	{ "v6 payload 8", 0x60, 8, 48, RV_IP_OK, 40, 48 },
	{ "v6 payload present - 1", 0x60, 1359, 1400, RV_IP_OK, 40, 1399 },
	{ "v6 payload == present", 0x60, 1360, 1400, RV_IP_OK, 40, 1400 },
	{ "v6 payload present + 1", 0x60, 1361, 1400, RV_IP_BAD_TOTAL_LEN, 0, 0 },
	{ "v6 payload 65535", 0x60, 65535, 1400, RV_IP_BAD_TOTAL_LEN, 0, 0 },
	{ "v6 payload 65495 (total 65535)", 0x60, 65495, 65535, RV_IP_OK, 40, 65535 },
	{ "v6 payload 65496 (total > 65535)", 0x60, 65496, 65600, RV_IP_BAD_TOTAL_LEN, 0, 0 },
	{ "v6 trailing bytes ok", 0x60, 0, 100, RV_IP_OK, 40, 40 },
};

static const uint8_t v4_src[4] = { 10, 0, 0, 1 };
static const uint8_t v4_dst[4] = { 10, 0, 0, 2 };
static const uint8_t v6_src[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t v6_dst[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/* put copies |n| bytes to |off| of an exact-size |pkt|, clipped at |len|. */
static void put(uint8_t *pkt, size_t len, size_t off, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n && off + i < len; i++) {
		pkt[off + i] = src[i];
	}
}

static uint8_t *build(const struct ip_case *c)
{
	uint8_t *pkt = malloc(c->present ? c->present : 1);
	cr_assert_not_null(pkt);
	memset(pkt, 0xcc, c->present);
	const uint8_t lenb[2] = { (uint8_t)(c->len_field >> 8), (uint8_t)c->len_field };
	put(pkt, c->present, 0, &c->byte0, 1);
	if (c->byte0 >> 4 == 6) {
		const uint8_t nh = 6; /* TCP */
		put(pkt, c->present, 4, lenb, 2);
		put(pkt, c->present, 6, &nh, 1);
		put(pkt, c->present, 8, v6_src, 16);
		put(pkt, c->present, 24, v6_dst, 16);
	} else {
		const uint8_t proto = 17; /* UDP */
		put(pkt, c->present, 2, lenb, 2);
		put(pkt, c->present, 9, &proto, 1);
		put(pkt, c->present, 12, v4_src, 4);
		put(pkt, c->present, 16, v4_dst, 4);
	}
	return pkt;
}

static void check_parse(const struct ip_case *c)
{
	uint8_t *pkt = build(c);
	struct rv_ip_info info, before;
	memset(&info, 0xee, sizeof(info));
	before = info;
	enum rv_ip_err err = rv_ip_parse(&info, pkt, c->present);
	cr_assert_eq(err, c->want, "%s: got %d (%s), want %d (%s)", c->name, err,
		     rv_ip_err_str(err), c->want, rv_ip_err_str(c->want));
	if (err != RV_IP_OK) {
		cr_assert_arr_eq(&info, &before, sizeof(info), "%s: out written on error", c->name);
		free(pkt);
		return;
	}
	cr_assert_eq(info.hdr_len, c->want_hdr_len, "%s: hdr_len %u", c->name, info.hdr_len);
	cr_assert_eq(info.total_len, c->want_total, "%s: total_len %u", c->name, info.total_len);
	if (c->byte0 >> 4 == 6) {
		cr_assert_eq(info.src.family, AF_INET6, "%s", c->name);
		cr_assert_eq(info.dst.family, AF_INET6, "%s", c->name);
		cr_assert_eq(info.proto, 6, "%s", c->name);
		cr_assert_arr_eq(info.src.a, v6_src, 16, "%s", c->name);
		cr_assert_arr_eq(info.dst.a, v6_dst, 16, "%s", c->name);
	} else {
		static const uint8_t zero[12] = { 0 };
		cr_assert_eq(info.src.family, AF_INET, "%s", c->name);
		cr_assert_eq(info.dst.family, AF_INET, "%s", c->name);
		cr_assert_eq(info.proto, 17, "%s", c->name);
		cr_assert_arr_eq(info.src.a, v4_src, 4, "%s", c->name);
		cr_assert_arr_eq(info.dst.a, v4_dst, 4, "%s", c->name);
		cr_assert_arr_eq(info.src.a + 4, zero, 12, "%s: v4 padding", c->name);
		cr_assert_arr_eq(info.dst.a + 4, zero, 12, "%s: v4 padding", c->name);
	}
	free(pkt);
}

/* All cases in one test, not a test (a process) per case: Criterion's
 * process start-ups made this file cost 10 s under ASan. Every message names
 * its case. */
Test(core_ip, parse)
{
	for (size_t i = 0; i < ARRAY_SIZE(ip_cases); i++) {
		check_parse(&ip_cases[i]);
	}
}

/* A real packet captured by hand: ICMP echo 192.168.1.10 -> 8.8.8.8. */
Test(core_ip, real_icmp_v4)
{
	static const uint8_t pkt[] = {
		0x45,
		0x00,
		0x00,
		0x54,
		0x12,
		0x34,
		0x40,
		0x00,
		0x40,
		0x01,
		0x00,
		0x00,
		0xc0,
		0xa8,
		0x01,
		0x0a,
		0x08,
		0x08,
		0x08,
		0x08,
		/* 64 bytes of ICMP */
		8,
		0,
		0,
		0,
		0,
		1,
		0,
		1,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
	};
	struct rv_ip_info info;
	char s[INET6_ADDRSTRLEN];
	cr_assert_eq(rv_ip_parse(&info, pkt, sizeof(pkt)), RV_IP_OK);
	cr_assert_eq(info.total_len, 84);
	cr_assert_eq(info.proto, 1);
	cr_assert_str_eq(rv_ip_addr_str(&info.src, s, sizeof(s)), "192.168.1.10");
	cr_assert_str_eq(rv_ip_addr_str(&info.dst, s, sizeof(s)), "8.8.8.8");
}

Test(core_ip, addr_equal)
{
	struct rv_ip_addr a4 = { .family = AF_INET, .a = { 10, 0, 0, 1 } };
	struct rv_ip_addr b4 = { .family = AF_INET, .a = { 10, 0, 0, 1 } };
	struct rv_ip_addr c4 = { .family = AF_INET, .a = { 10, 0, 0, 2 } };
	struct rv_ip_addr a6 = { .family = AF_INET6, .a = { 10, 0, 0, 1 } };
	struct rv_ip_addr b6 = { .family = AF_INET6, .a = { 10, 0, 0, 1 } };
	struct rv_ip_addr d6 = { .family = AF_INET6, .a = { 10, 0, 0, 1, [15] = 1 } };
	struct rv_ip_addr none = { 0 };

	cr_assert(rv_ip_addr_equal(&a4, &b4));
	cr_assert_not(rv_ip_addr_equal(&a4, &c4));
	cr_assert_not(rv_ip_addr_equal(&a4, &a6), "same bytes, other family");
	cr_assert(rv_ip_addr_equal(&a6, &b6));
	cr_assert_not(rv_ip_addr_equal(&a6, &d6), "differs only in the last byte");
	cr_assert_not(rv_ip_addr_equal(&none, &none), "no family never matches");

	/* An IPv4 address ignores bytes beyond the fourth. */
	b4.a[10] = 0x55;
	cr_assert(rv_ip_addr_equal(&a4, &b4));
}

Test(core_ip, addr_str)
{
	char buf[INET6_ADDRSTRLEN];
	struct rv_ip_addr v4 = { .family = AF_INET, .a = { 203, 0, 113, 255 } };
	struct rv_ip_addr v6 = { .family = AF_INET6,
				 .a = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x12, [15] = 0x34 } };
	struct rv_ip_addr bad = { .family = 99 };

	cr_assert_str_eq(rv_ip_addr_str(&v4, buf, sizeof(buf)), "203.0.113.255");
	cr_assert_str_eq(rv_ip_addr_str(&v6, buf, sizeof(buf)), "2001:db8::1234");
	cr_assert_str_eq(rv_ip_addr_str(&bad, buf, sizeof(buf)), "<af 99>");

	/* Too small for inet_ntop: still a terminated string, never an overflow. */
	char small[6];
	memset(small, 'x', sizeof(small));
	cr_assert_eq(rv_ip_addr_str(&v4, small, sizeof(small)), small);
	cr_assert_str_eq(small, "?");
	char none[1] = { 'x' };
	cr_assert_eq(rv_ip_addr_str(&v4, none, 0), none);
	cr_assert_eq(none[0], 'x', "zero-length buffer untouched");
}

Test(core_ip, err_strings_distinct)
{
	static const enum rv_ip_err all[] = {
		RV_IP_OK,	   RV_IP_TOO_SHORT,	RV_IP_BAD_VERSION,
		RV_IP_BAD_HDR_LEN, RV_IP_BAD_TOTAL_LEN,
	};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		const char *s = rv_ip_err_str(all[i]);
		cr_assert_str_neq(s, "unknown IP error", "reason %zu unnamed", i);
		for (size_t j = 0; j < i; j++) {
			cr_assert_str_neq(s, rv_ip_err_str(all[j]));
		}
	}
	cr_assert_str_eq(rv_ip_err_str((enum rv_ip_err)42), "unknown IP error");
}

/* ipv4_csum: the header checksum |hdr| (20 bytes) should carry. */
static uint16_t ipv4_csum(const uint8_t *hdr)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < 20; i += 2) {
		if (i != 10) {
			sum += (uint32_t)hdr[i] << 8 | hdr[i + 1];
		}
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* rv_ip_hop: one hop less with the IPv4 checksum still right (every TTL and
 * many headers, the end-around carry included), nothing changed at 1 or 0;
 * the IPv6 hop limit likewise. */
Test(core_ip, hop)
{
	uint8_t h[20], before[20];
	unsigned seed = 7;

	for (unsigned n = 0; n < 20000; n++) {
		uint16_t c;

		for (size_t i = 0; i < sizeof(h); i++) {
			h[i] = (uint8_t)rand_r(&seed);
		}
		h[0] = 0x45;
		h[8] = (uint8_t)(n % 256);
		c = ipv4_csum(h);
		h[10] = (uint8_t)(c >> 8);
		h[11] = (uint8_t)c;
		memcpy(before, h, sizeof(h));
		if (before[8] <= 1) {
			cr_assert_not(rv_ip_hop(h));
			cr_assert_eq(memcmp(h, before, sizeof(h)), 0,
				     "changed a packet it refused");
			continue;
		}
		cr_assert(rv_ip_hop(h));
		cr_assert_eq(h[8], before[8] - 1);
		c = ipv4_csum(h);
		/* 0x0000 and 0xffff are the same sum in one's complement. */
		cr_assert(((uint16_t)(h[10] << 8 | h[11]) == c) ||
				  ((h[10] << 8 | h[11]) == 0xffff && c == 0) ||
				  ((h[10] << 8 | h[11]) == 0 && c == 0xffff),
			  "TTL %u: checksum %04x, want %04x", before[8], h[10] << 8 | h[11], c);
	}

	uint8_t v6[40] = { 0x60 };

	v6[7] = 64;
	cr_assert(rv_ip_hop(v6));
	cr_assert_eq(v6[7], 63);
	v6[7] = 1;
	cr_assert_not(rv_ip_hop(v6));
	cr_assert_eq(v6[7], 1);
	v6[7] = 0;
	cr_assert_not(rv_ip_hop(v6));
}

/* rv_ip_ecn_decap: RFC 6040's decapsulation table, every inner and outer
 * field (rows: inner Not-ECT, ECT(0), ECT(1), CE; columns: outer the same),
 * IPv4 with its checksum still right and the DSCP bits untouched, and IPv6. */
Test(core_ip, ecn_decap)
{
	static const uint8_t ect[4] = { RV_ECN_NOT_ECT, RV_ECN_ECT0, RV_ECN_ECT1, RV_ECN_CE };
	/* 0xff: drop */
	static const uint8_t want[4][4] = {
		{ RV_ECN_NOT_ECT, RV_ECN_NOT_ECT, RV_ECN_NOT_ECT, 0xff },
		{ RV_ECN_ECT0, RV_ECN_ECT0, RV_ECN_ECT1, RV_ECN_CE },
		{ RV_ECN_ECT1, RV_ECN_ECT1, RV_ECN_ECT1, RV_ECN_CE },
		{ RV_ECN_CE, RV_ECN_CE, RV_ECN_CE, RV_ECN_CE },
	};

	for (unsigned i = 0; i < 4; i++) {
		for (unsigned o = 0; o < 4; o++) {
			uint8_t h[20] = { 0x45, (uint8_t)(0xb8 | ect[i]),
					  0,	20,
					  0x12, 0x34,
					  0x40, 0,
					  64,	6,
					  0,	0,
					  10,	0,
					  0,	1,
					  10,	0,
					  0,	2 };
			uint8_t v6[40] = { 0x6b, (uint8_t)(0x80 | ect[i] << 4), 0x12, 0x34 };
			enum rv_ecn_decap r, r6;
			uint16_t c = ipv4_csum(h);

			h[10] = (uint8_t)(c >> 8);
			h[11] = (uint8_t)c;
			cr_assert_eq(rv_ip_ecn(h), ect[i]);
			cr_assert_eq(rv_ip_ecn(v6), ect[i]);
			r = rv_ip_ecn_decap(h, ect[o]);
			r6 = rv_ip_ecn_decap(v6, ect[o]);
			cr_assert_eq(r, r6);
			if (want[i][o] == 0xff) {
				cr_assert_eq(r, RV_ECN_DROP, "inner %u outer %u", ect[i], ect[o]);
				continue;
			}
			/* Marked on this way: CE outside over an inner
			 * packet without it. */
			cr_assert_eq(r,
				     ect[o] == RV_ECN_CE && ect[i] != RV_ECN_CE ? RV_ECN_MARKED
										: RV_ECN_KEPT,
				     "inner %u outer %u", ect[i], ect[o]);
			cr_assert_eq(rv_ip_ecn(h), want[i][o], "v4 inner %u outer %u", ect[i],
				     ect[o]);
			cr_assert_eq(rv_ip_ecn(v6), want[i][o], "v6 inner %u outer %u", ect[i],
				     ect[o]);
			cr_assert_eq(h[1] >> 2, 0xb8 >> 2, "DSCP changed");
			cr_assert_eq(v6[0], 0x6b);
			cr_assert_eq(v6[1] & 0xcf, 0x80, "v6 traffic class or flow label changed");
			c = ipv4_csum(h);
			cr_assert(((uint16_t)(h[10] << 8 | h[11]) == c) ||
					  ((h[10] << 8 | h[11]) == 0xffff && c == 0) ||
					  ((h[10] << 8 | h[11]) == 0 && c == 0xffff),
				  "checksum %04x, want %04x", h[10] << 8 | h[11], c);
		}
	}
}

/* v6_with builds an IPv6 header whose next header is |nh| followed by the
 * |n| bytes at |rest| into |buf|; returns the length. */
static size_t v6_with(uint8_t *buf, uint8_t nh, const uint8_t *rest, size_t n)
{
	memset(buf, 0, 40);
	buf[0] = 0x60;
	buf[4] = (uint8_t)(n >> 8);
	buf[5] = (uint8_t)n;
	buf[6] = nh;
	buf[7] = 255;
	memcpy(buf + 40, rest, n);
	return 40 + n;
}

/* The upper layer behind extension headers: an ICMPv6 redirect behind a
 * destination options or a first fragment's header was carried as any
 * packet (round-thirty-two tester 163). */
Test(core_ip, ip6_upper)
{
	static const uint8_t icmp[] = { 137, 0, 0, 0 };
	static const uint8_t dstopts[] = { IPPROTO_ICMPV6, 0, 1, 4, 0, 0, 0, 0, 137, 0, 0, 0 };
	static const uint8_t frag_first[] = { IPPROTO_ICMPV6, 0, 0, 1, 0, 0, 0, 7, 137, 0 };
	static const uint8_t frag_later[] = { IPPROTO_ICMPV6, 0, 0, 8, 0, 0, 0, 7, 137, 0 };
	static const uint8_t hop_then_ah[] = { IPPROTO_AH,  0, 1, 4, 0, 0, 0, 0, /* hop-by-hop */
					       IPPROTO_TCP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t cut[] = { IPPROTO_ICMPV6, 2, 0, 0, 0, 0, 0, 0 }; /* 24 bytes said */
	uint8_t buf[40 + 8 * (RV_IP6_MAX_EXT + 1) + 4];
	size_t off = 0, n;

	n = v6_with(buf, IPPROTO_ICMPV6, icmp, sizeof(icmp));
	cr_assert_eq(rv_ip6_upper(buf, n, &off), IPPROTO_ICMPV6);
	cr_assert_eq(off, 40u);
	n = v6_with(buf, IPPROTO_DSTOPTS, dstopts, sizeof(dstopts));
	cr_assert_eq(rv_ip6_upper(buf, n, &off), IPPROTO_ICMPV6);
	cr_assert_eq(off, 48u);
	cr_assert_eq(buf[off], 137);
	n = v6_with(buf, IPPROTO_FRAGMENT, frag_first, sizeof(frag_first));
	cr_assert_eq(rv_ip6_upper(buf, n, &off), IPPROTO_ICMPV6);
	cr_assert_eq(off, 48u);
	n = v6_with(buf, IPPROTO_FRAGMENT, frag_later, sizeof(frag_later));
	cr_assert_eq(rv_ip6_upper(buf, n, &off), RV_IP6_LATER_FRAGMENT);
	n = v6_with(buf, IPPROTO_HOPOPTS, hop_then_ah, sizeof(hop_then_ah));
	cr_assert_eq(rv_ip6_upper(buf, n, &off), IPPROTO_TCP);
	cr_assert_eq(off, 40u + 8 + 12, "AH's length is in 4-byte units, plus 2");
	n = v6_with(buf, IPPROTO_DSTOPTS, cut, sizeof(cut));
	cr_assert_eq(rv_ip6_upper(buf, n, &off), RV_IP6_UNTOLD, "a header past the packet's end");
	n = v6_with(buf, IPPROTO_DSTOPTS, dstopts, 1);
	cr_assert_eq(rv_ip6_upper(buf, n, &off), RV_IP6_UNTOLD, "a header cut before its length");
	/* RV_IP6_MAX_EXT headers are looked through, one more is not. */
	for (int k = RV_IP6_MAX_EXT; k <= RV_IP6_MAX_EXT + 1; k++) {
		uint8_t chain[8 * (RV_IP6_MAX_EXT + 1) + 4] = { 0 };

		for (int i = 0; i < k; i++) {
			chain[8 * i] = i + 1 < k ? IPPROTO_DSTOPTS : IPPROTO_ICMPV6;
		}
		chain[8 * k] = 137;
		n = v6_with(buf, IPPROTO_DSTOPTS, chain, 8 * (size_t)k + 4);
		cr_assert_eq(rv_ip6_upper(buf, n, &off),
			     k == RV_IP6_MAX_EXT ? IPPROTO_ICMPV6 : RV_IP6_UNTOLD,
			     "%d extension headers", k);
	}
}

/* IPv4 options a router refuses, and the pointer of its "parameter
 * problem" (0: dropped unanswered). Each row's answer is what a Linux 6.18
 * router in a namespace answered to the same options on an ICMP echo
 * (2026-12-07: a sender, a router with ip_forward, a receiver); the options
 * start at offset 20 and are padded with end-of-options bytes. */
static const struct {
	const char *hex;
	bool bad;
	unsigned ptr;
} v4opt_cases[] = {
	{ "07000000", true, 20 },		      /* record route, length 0 */
	{ "07020400", true, 21 },		      /* length 2: no pointer */
	{ "07070300000001", true, 22 },		      /* pointer 3, under the first slot */
	{ "07070500000001", true, 22 },		      /* pointer 5: no room */
	{ "07070600000000", true, 22 },		      /* pointer 6: no room */
	{ "01010744", true, 22 },		      /* length past the header */
	{ "01071400", true, 21 },		      /* the same after one no-op */
	{ "44010000", true, 20 },		      /* length 1 */
	{ "440c0df0000000000000000000", true, 23 },   /* full, overflow count 15 */
	{ "440809f100000000", true, 23 },	      /* the same, flag 1 */
	{ "940300", true, 21 },			      /* router alert of 3 bytes */
	{ "440605020000", true, 22 },		      /* flag 2, no room for a stamp */
	{ "4408070500000000", true, 22 },	      /* flag 5, no room */
	{ "4408050100000000", true, 22 },	      /* flag 1, no room for address and stamp */
	{ "440c0901000000000000000000", true, 22 },   /* the same further on */
	{ "0707040000000007070400000000", true, 27 }, /* record route twice: the second */
	{ "8303", true, 22 },			      /* source route, pointer 0 */
	{ "830704", true, 20 },			      /* source route past the header */
	{ "83070400000000830704000000", true, 27 },   /* source route twice */
	{ "83070400000000", true, 0 },		      /* a source route: unanswered */
	{ "89070400000000", true, 0 },		      /* a strict one too */
	{ "8608000000010000", true, 0 },	      /* CIPSO: unanswered */
	{ "07070400000000", false, 0 },		      /* record route with room */
	{ "07070800000000", false, 0 },		      /* a full one */
	{ "4408050000000000", false, 0 },	      /* timestamp with room */
	{ "94040000", false, 0 },		      /* router alert */
	{ "01010100", false, 0 },		      /* no-ops */
	{ "440c0df3000000000000000000", false, 0 },   /* full prespecified, overflow 15 */
	{ "440405f3", false, 0 },		      /* the same, no slots */
	{ "440c0501000000000000000000", false, 0 },   /* flag 1 with room */
	{ "00ff0000", false, 0 },		      /* end of options first */
};

Test(core_ip, v4_options_bad)
{
	for (size_t i = 0; i < ARRAY_SIZE(v4opt_cases); i++) {
		uint8_t hdr[60] = { 0 };
		const char *hex = v4opt_cases[i].hex;
		size_t n = strlen(hex) / 2, hlen = 20 + (n + 3) / 4 * 4;
		unsigned ptr = 99;
		const char *why;

		cr_assert_leq(hlen, sizeof(hdr));
		for (size_t k = 0; k < n; k++) {
			sscanf(hex + 2 * k, "%2hhx", &hdr[20 + k]);
		}
		hdr[0] = (uint8_t)(0x40 | hlen / 4);
		why = rv_ip_v4_options_bad(hdr, (unsigned)hlen, &ptr);
		cr_expect_eq(why != NULL, v4opt_cases[i].bad, "%s: %s", hex, why ? why : "passed");
		cr_expect_eq(ptr, v4opt_cases[i].ptr, "%s: pointer %u, the kernel's %u", hex, ptr,
			     v4opt_cases[i].ptr);
	}
}

/* hbh6 builds in |p| an IPv6 packet to |dst| whose Hop-by-Hop header holds
 * the |n| bytes |opts| (a multiple of 8 less 2), then 8 bytes of UDP;
 * returns its length. */
static size_t hbh6(uint8_t *p, const char *dst, const uint8_t *opts, size_t n)
{
	size_t len = 40 + 2 + n + 8;

	memset(p, 0, len);
	p[0] = 0x60;
	p[4] = (uint8_t)((len - 40) >> 8);
	p[5] = (uint8_t)(len - 40);
	p[6] = 0; /* Hop-by-Hop */
	p[7] = 64;
	inet_pton(AF_INET6, "fd00::1", p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	p[40] = 17;
	p[41] = (uint8_t)((2 + n) / 8 - 1);
	memcpy(p + 42, opts, n);
	return len;
}

/* What a Linux router does with IPv6 Hop-by-Hop options it forwards
 * (net/ipv6/exthdrs.c, ip6_parse_tlv): the forwarding inside the data
 * plane drops and answers them alike (round-sixty-eight tester 300). */
Test(core_ip, v6_hop_by_hop_options_as_a_router)
{
	static const struct {
		const char *dst;
		uint8_t opts[14];
		size_t n;
		bool bad, option;
		unsigned ptr;
	} cases[] = {
		/* PadN alone; an unknown option of the skip action */
		{ "fd00::2", { 1, 4, 0, 0, 0, 0 }, 6, false, false, 0 },
		{ "fd00::2", { 0x1e, 4, 1, 2, 3, 4 }, 6, false, false, 0 },
		/* discard; discard and answer; answer unless multicast */
		{ "fd00::2", { 0x5e, 4, 1, 2, 3, 4 }, 6, true, false, 0 },
		{ "fd00::2", { 0x9e, 4, 1, 2, 3, 4 }, 6, true, true, 42 },
		{ "fd00::2", { 0xde, 4, 1, 2, 3, 4 }, 6, true, true, 42 },
		{ "ff0e::2", { 0xde, 4, 1, 2, 3, 4 }, 6, true, false, 0 },
		{ "ff0e::2", { 0x9e, 4, 1, 2, 3, 4 }, 6, true, true, 42 },
		/* after a Router Alert: the option's own offset */
		{ "fd00::2", { 5, 2, 0, 0, 0x9e, 0 }, 6, true, true, 46 },
		/* a Router Alert of another length; PadN not zeros */
		{ "fd00::2", { 5, 4, 0, 0, 0, 0 }, 6, true, false, 0 },
		{ "fd00::2", { 1, 4, 0, 9, 0, 0 }, 6, true, false, 0 },
		/* Jumbo Payload: small, or in a packet with a length */
		{ "fd00::2", { 0xc2, 4, 0, 0, 0, 100 }, 6, true, false, 44 },
		{ "fd00::2", { 0xc2, 4, 0, 1, 0, 0 }, 6, true, false, 42 },
		/* an option running past the header */
		{ "fd00::2", { 0x1e, 9, 0, 0, 0, 0 }, 6, true, false, 0 },
		/* IOAM unaligned, aligned; CALIPSO (tester 307) */
		{ "fd00::2", { 0x31, 2, 0, 0, 1, 0 }, 6, true, false, 0 },
		{ "fd00::2", { 1, 0, 0x31, 2, 0, 0 }, 6, false, false, 0 },
		{ "fd00::2", { 0x07, 2, 0, 0, 1, 0 }, 6, true, false, 0 },
	};
	uint8_t p[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = hbh6(p, cases[i].dst, cases[i].opts, cases[i].n);
		unsigned ptr = 99;
		bool option = true;
		const char *why = rv_ip_v6_hbh_bad(p, len, &ptr, &option);

		cr_assert_eq(why != NULL, cases[i].bad, "case %zu: %s", i, why ? why : "passed");
		cr_assert_eq(ptr, cases[i].ptr, "case %zu: pointer %u", i, ptr);
		cr_assert_eq(option, cases[i].option, "case %zu", i);
	}
	/* No Hop-by-Hop header; one cut short by the packet's end. */
	size_t len = hbh6(p, "fd00::2", (const uint8_t[]){ 1, 4, 0, 0, 0, 0 }, 6);
	unsigned ptr;
	bool option;

	p[6] = 17;
	cr_assert_null(rv_ip_v6_hbh_bad(p, len, &ptr, &option));
	p[6] = 0;
	p[41] = 3;
	cr_assert_not_null(rv_ip_v6_hbh_bad(p, len, &ptr, &option));
	cr_assert_eq(ptr, 0);
}
