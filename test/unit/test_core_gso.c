/*
 * test_core_gso.c — segmentation, checksums and GRO coalescing (core/gso.c).
 *
 * Checksums are verified with an independent byte-at-a-time RFC 1071
 * implementation; segmenting a superframe and coalescing the segments back
 * must reproduce the original payload and headers.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gso.h"

/* Reference RFC 1071 sum over network-order 16-bit words. */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2) {
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
	}
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)sum;
}

static bool ipv4_hdr_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(0, ip, (size_t)(ip[0] & 0xf) * 4)) == 0xffff;
}

/* l4_ok: the TCP/UDP checksum of the packet verifies (pseudo header + L4). */
static bool l4_ok(const uint8_t *ip, size_t len)
{
	bool v6 = ip[0] >> 4 == 6;
	size_t hl = v6 ? 40 : (size_t)(ip[0] & 0xf) * 4;
	uint8_t proto = v6 ? ip[6] : ip[9];
	uint32_t sum = v6 ? ref_sum(0, ip + 8, 32) : ref_sum(0, ip + 12, 8);

	sum += proto + (uint32_t)(len - hl);
	return ref_fold(ref_sum(sum, ip + hl, len - hl)) == 0xffff;
}

/* build a TCP (proto 6) or UDP (17) packet with |payload| bytes of pattern. */
static size_t build(uint8_t *p, bool v6, uint8_t proto, size_t payload, uint8_t tcp_flags)
{
	size_t hl = v6 ? 40 : 20, l4h = proto == 6 ? 32 : 8; /* TCP with 12 bytes of options */
	size_t len = hl + l4h + payload;

	memset(p, 0, hl + l4h);
	if (v6) {
		p[0] = 0x60;
		p[4] = (uint8_t)((len - 40) >> 8);
		p[5] = (uint8_t)(len - 40);
		p[6] = proto;
		p[7] = 64;
		inet_pton(AF_INET6, "fd99::1", p + 8);
		inet_pton(AF_INET6, "fd99::2", p + 24);
	} else {
		p[0] = 0x45;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[4] = 0x12;
		p[5] = 0x34;
		p[6] = 0x40;
		p[8] = 64;
		p[9] = proto;
		inet_pton(AF_INET, "10.99.0.1", p + 12);
		inet_pton(AF_INET, "10.99.0.2", p + 16);
	}
	uint8_t *l4 = p + hl;
	l4[0] = 0x9c;
	l4[1] = 0x40;
	l4[2] = 0x13;
	l4[3] = 0x89;
	if (proto == 6) {
		l4[4] = 0xfe; /* seq near wrap-around */
		l4[5] = 0xff;
		l4[6] = 0xf0;
		l4[7] = 0x00;
		l4[11] = 7; /* ack */
		l4[12] = 8 << 4;
		l4[13] = tcp_flags;
		l4[15] = 0xff; /* window */
		l4[20] = 1;    /* NOP NOP TS(10) */
		l4[21] = 1;
		l4[22] = 8;
		l4[23] = 10;
		l4[27] = 42;
	} else {
		l4[4] = (uint8_t)((8 + payload) >> 8);
		l4[5] = (uint8_t)(8 + payload);
	}
	for (size_t i = 0; i < payload; i++) {
		p[hl + l4h + i] = (uint8_t)(i * 7 + (i >> 8));
	}
	return len;
}

static uint8_t sframe[70000];

Test(gso, vnet_hdr_roundtrip)
{
	struct rv_vnet_hdr h = { 1, RV_VNET_GSO_TCPV6, 74, 1368, 40, 16 }, d;
	uint8_t b[RV_VNET_HDR_LEN];

	rv_vnet_hdr_write(b, &h);
	cr_assert_eq(b[2], 74);
	cr_assert_eq(b[4], 1368 & 0xff); /* little-endian */
	cr_assert(rv_vnet_hdr_parse(&d, b, sizeof(b)));
	cr_assert(memcmp(&h, &d, sizeof(h)) == 0);
	cr_assert_not(rv_vnet_hdr_parse(&d, b, RV_VNET_HDR_LEN - 1));
}

Test(gso, csum_rfc1071_example)
{
	/* RFC 1071 section 3: the sum of these words is 0xddf2. */
	static const uint8_t w[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t native = rv_inet_csum_fold(rv_inet_csum_add(0, w, sizeof(w)));
	uint8_t out[2];

	memcpy(out, &native, 2);
	cr_assert_eq(out[0], 0xdd);
	cr_assert_eq(out[1], 0xf2);
	/* Odd lengths and every alignment agree with the reference. */
	for (size_t len = 0; len < 300; len++) {
		uint8_t buf[320];
		for (size_t i = 0; i < sizeof(buf); i++) {
			buf[i] = (uint8_t)(i * 31 + 7);
		}
		for (size_t off = 0; off < 4; off++) {
			uint16_t n = rv_inet_csum_fold(rv_inet_csum_add(0, buf + off, len));
			memcpy(out, &n, 2);
			cr_assert_eq((uint16_t)(out[0] << 8 | out[1]),
				     ref_fold(ref_sum(0, buf + off, len)), "len %zu off %zu", len,
				     off);
		}
	}
}

static void check_segments(bool v6, uint8_t proto, size_t payload, uint16_t mss, uint8_t flags)
{
	struct rv_vnet_hdr vh = {
		.flags = RV_VNET_F_NEEDS_CSUM,
		.gso_type = proto == 17 ? RV_VNET_GSO_UDP_L4
			    : v6	? RV_VNET_GSO_TCPV6
					: RV_VNET_GSO_TCPV4,
		.gso_size = mss,
		.csum_start = v6 ? 40 : 20,
		.csum_offset = proto == 6 ? 16 : 6,
	};
	size_t hl = v6 ? 40 : 20, l4h = proto == 6 ? 32 : 8;
	size_t len = build(sframe, v6, proto, payload, flags);
	size_t want = (payload + mss - 1) / mss, n = 0;
	uint8_t *out[RV_GSO_MAX_SEGS];
	uint16_t lens[RV_GSO_MAX_SEGS];
	size_t copied = 0;

	cr_assert_eq(rv_gso_num_segs(sframe, len, &vh), want);
	for (size_t i = 0; i < want; i++) {
		out[i] = malloc(1500);
	}
	cr_assert_eq(rv_gso_segment(out, lens, &n, want, 1500, sframe, len, &vh), RV_GSO_OK);
	cr_assert_eq(n, want);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = out[i], *l4 = p + hl;
		size_t chunk = lens[i] - hl - l4h;
		cr_assert(chunk == mss || (i == n - 1 && chunk <= mss), "seg %zu chunk %zu", i,
			  chunk);
		if (v6) {
			cr_assert_eq((size_t)(p[4] << 8 | p[5]), lens[i] - 40u);
		} else {
			cr_assert_eq((size_t)(p[2] << 8 | p[3]), lens[i]);
			cr_assert_eq((uint16_t)(p[4] << 8 | p[5]), (uint16_t)(0x1234 + i));
			cr_assert(ipv4_hdr_ok(p), "IPv4 header checksum of segment %zu", i);
		}
		cr_assert(l4_ok(p, lens[i]), "L4 checksum of segment %zu", i);
		if (proto == 6) {
			uint32_t seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 |
				       (uint32_t)l4[6] << 8 | l4[7];
			cr_assert_eq(seq, 0xfefff000u + (uint32_t)(i * mss));
			bool last = i == n - 1;
			cr_assert_eq(l4[13] & 0x09, last ? flags & 0x09 : 0, "FIN/PSH on seg %zu",
				     i);
			cr_assert_eq(l4[13] & 0x80, i == 0 ? flags & 0x80 : 0, "CWR on seg %zu", i);
			cr_assert(memcmp(l4 + 20, sframe + hl + 20, 12) == 0, "options copied");
		} else {
			cr_assert_eq((size_t)(l4[4] << 8 | l4[5]), lens[i] - hl);
		}
		cr_assert(memcmp(p + hl + l4h, sframe + hl + l4h + copied, chunk) == 0);
		copied += chunk;
	}
	cr_assert_eq(copied, payload);
	for (size_t i = 0; i < want; i++) {
		free(out[i]);
	}
}

Test(gso, segment_tcp4)
{
	check_segments(false, 6, 5000, 1368, 0x18 /* ACK|PSH */);
	check_segments(false, 6, 65000 - 52, 1368, 0x19 /* ACK|PSH|FIN */);
	check_segments(false, 6, 1368, 1368, 0x10);
	check_segments(false, 6, 1369, 1368, 0x90 /* CWR */);
}

Test(gso, segment_tcp6)
{
	check_segments(true, 6, 5001, 1348, 0x18);
	check_segments(true, 6, 60000, 1348, 0x10);
}

Test(gso, segment_udp_l4)
{
	check_segments(false, 17, 4000, 1392, 0);
	check_segments(true, 17, 3999, 1372, 0);
}

Test(gso, finish_csum)
{
	uint8_t p[200];
	size_t len = build(p, false, 17, 100, 0);
	struct rv_vnet_hdr vh = { .flags = RV_VNET_F_NEEDS_CSUM,
				  .csum_start = 20,
				  .csum_offset = 6 };
	/* The kernel leaves the folded pseudo-header sum in the field. */
	uint16_t ps = ref_fold(ref_sum(17 + (uint32_t)(len - 20), p + 12, 8));

	p[26] = (uint8_t)(ps >> 8);
	p[27] = (uint8_t)ps;
	cr_assert_eq(rv_gso_finish_csum(p, len, &vh), RV_GSO_OK);
	cr_assert(l4_ok(p, len));
	vh.csum_start = (uint16_t)(len - 7);
	cr_assert_eq(rv_gso_finish_csum(p, len, &vh), RV_GSO_BAD_CSUM);
	vh.flags = 0; /* no NEEDS_CSUM: untouched */
	cr_assert_eq(rv_gso_finish_csum(p, len, &vh), RV_GSO_OK);
}

/* Malformed superframes: every one is refused with a reason, none crashes. */
Test(gso, malformed_table)
{
	struct {
		const char *what;
		bool v6;
		uint8_t proto, type;
		uint16_t mss;
		size_t trim; /* bytes cut off the end */
		int mutate;  /* 1: IHL 4, 2: fragment, 3: TCP doff 15 */
		enum rv_gso_err want;
	} cases[] = {
		{ "1 zero gso_size", false, 6, RV_VNET_GSO_TCPV4, 0, 0, 0, RV_GSO_BAD_SIZE },
		{ "2 v4 packet, TCPV6 type", false, 6, RV_VNET_GSO_TCPV6, 1368, 0, 0,
		  RV_GSO_BAD_IP },
		{ "3 v6 packet, TCPV4 type", true, 6, RV_VNET_GSO_TCPV4, 1368, 0, 0,
		  RV_GSO_BAD_IP },
		{ "4 UFO", false, 17, RV_VNET_GSO_UDP, 1368, 0, 0, RV_GSO_BAD_TYPE },
		{ "5 unknown type", false, 6, 9, 1368, 0, 0, RV_GSO_BAD_TYPE },
		{ "6 too many segments", false, 6, RV_VNET_GSO_TCPV4, 100, 0, 0, RV_GSO_BAD_SIZE },
		{ "7 truncated (length field beyond data)", false, 6, RV_VNET_GSO_TCPV4, 1368, 10,
		  0, RV_GSO_BAD_IP },
		{ "8 IHL 4", false, 6, RV_VNET_GSO_TCPV4, 1368, 0, 1, RV_GSO_BAD_IP },
		{ "9 fragment", false, 6, RV_VNET_GSO_TCPV4, 1368, 0, 2, RV_GSO_BAD_IP },
		{ "10 TCP doff beyond packet", false, 6, RV_VNET_GSO_TCPV4, 1368, 0, 3, RV_GSO_OK },
		{ "11 TCP type, UDP packet", false, 17, RV_VNET_GSO_TCPV4, 1368, 0, 0,
		  RV_GSO_BAD_IP },
	};
	uint8_t *out[RV_GSO_MAX_SEGS];
	uint16_t lens[RV_GSO_MAX_SEGS];
	static uint8_t store[RV_GSO_MAX_SEGS][1500];

	for (size_t i = 0; i < RV_GSO_MAX_SEGS; i++) {
		out[i] = store[i];
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len = build(sframe, cases[c].v6, cases[c].proto, 20000, 0x10);
		struct rv_vnet_hdr vh = { .gso_type = cases[c].type, .gso_size = cases[c].mss };
		size_t n = 99;
		enum rv_gso_err e;

		if (cases[c].mutate == 1) {
			sframe[0] = 0x44;
		} else if (cases[c].mutate == 2) {
			sframe[6] = 0x20; /* MF */
		} else if (cases[c].mutate == 3) {
			len = 20 + 40; /* keep a few bytes; doff 8 fits, fix IP length */
			sframe[2] = 0;
			sframe[3] = (uint8_t)len;
			sframe[20 + 12] = 15 << 4;
		}
		len -= cases[c].trim;
		e = rv_gso_segment(out, lens, &n, RV_GSO_MAX_SEGS, 1500, sframe, len, &vh);
		if (cases[c].mutate == 3) {
			cr_assert_eq(e, RV_GSO_BAD_L4, "case %s: %s", cases[c].what,
				     rv_gso_err_str(e));
		} else {
			cr_assert_eq(e, cases[c].want, "case %s: got %s", cases[c].what,
				     rv_gso_err_str(e));
		}
		if (e != RV_GSO_OK) {
			cr_assert_eq(rv_gso_num_segs(sframe, len, &vh), 0, "case %s",
				     cases[c].what);
		}
	}
	/* An output buffer smaller than one segment. */
	size_t len = build(sframe, false, 6, 5000, 0x10), n;
	struct rv_vnet_hdr vh = { .gso_type = RV_VNET_GSO_TCPV4, .gso_size = 1368 };
	cr_assert_eq(rv_gso_segment(out, lens, &n, RV_GSO_MAX_SEGS, 1000, sframe, len, &vh),
		     RV_GSO_NO_ROOM);
}

/* Segment, then coalesce: the superframe comes back, and cut again (as the
 * kernel cuts what is written to the TUN) it yields the same segments. */
static void roundtrip(bool v6, uint8_t proto, size_t payload, uint16_t mss)
{
	bool udp = proto == 17;
	struct rv_vnet_hdr vh = { .gso_type = udp  ? RV_VNET_GSO_UDP_L4
					      : v6 ? RV_VNET_GSO_TCPV6
						   : RV_VNET_GSO_TCPV4,
				  .gso_size = mss };
	size_t len = build(sframe, v6, proto, payload, 0x18), n, n2, hl = v6 ? 40 : 20;
	size_t l4h = udp ? 8 : 32;
	static uint8_t store[RV_GSO_MAX_SEGS][1500], store2[RV_GSO_MAX_SEGS][1500];
	static uint8_t merged[70000];
	uint8_t *out[RV_GSO_MAX_SEGS], *out2[RV_GSO_MAX_SEGS];
	uint16_t lens[RV_GSO_MAX_SEGS], lens2[RV_GSO_MAX_SEGS];
	uint8_t hdr[RV_GRO_HDR_MAX];
	struct rv_gro g;
	struct rv_vnet_hdr mh;
	size_t hlen, mlen;

	for (size_t i = 0; i < RV_GSO_MAX_SEGS; i++) {
		out[i] = store[i];
		out2[i] = store2[i];
	}
	cr_assert_eq(rv_gso_segment(out, lens, &n, RV_GSO_MAX_SEGS, 1500, sframe, len, &vh),
		     RV_GSO_OK);
	cr_assert_not(rv_gro_start(&g, out[0], lens[0], 0) && udp,
		      "UDP coalesces only where the TUN takes USO");
	cr_assert(rv_gro_start(&g, out[0], lens[0], RV_GRO_MAX_LEN));
	cr_assert_eq(g.udp, udp);
	mlen = 0;
	memcpy(merged, out[0] + hl + l4h, lens[0] - hl - l4h);
	mlen = lens[0] - hl - l4h;
	for (size_t i = 1; i < n; i++) {
		const uint8_t *p;
		size_t pl;
		cr_assert(rv_gro_append(&g, out[i], lens[i], &p, &pl), "append %zu", i);
		memcpy(merged + mlen, p, pl);
		mlen += pl;
	}
	cr_assert_eq(g.num, n);
	hlen = rv_gro_finish(&g, hdr);
	cr_assert_eq(hlen, RV_VNET_HDR_LEN + hl + l4h);
	cr_assert(rv_vnet_hdr_parse(&mh, hdr, hlen));
	cr_assert_eq(mh.gso_type, vh.gso_type);
	cr_assert_eq(mh.gso_size, mss);
	cr_assert_eq(mh.hdr_len, hl + l4h);
	cr_assert_eq(mh.flags, RV_VNET_F_NEEDS_CSUM);
	cr_assert_eq(mh.csum_start, hl);
	cr_assert_eq(mh.csum_offset, udp ? 6 : 16);
	cr_assert_eq(mlen, payload);
	cr_assert(memcmp(merged, sframe + hl + l4h, payload) == 0);
	/* Headers equal the original's but for the checksum field (and the
	 * IPv4 id/checksum, taken from the first segment: same as original). */
	uint8_t *ip = hdr + RV_VNET_HDR_LEN;
	cr_assert(memcmp(ip, sframe, hl) == 0 || (!v6 && ipv4_hdr_ok(ip)));
	if (udp) {
		cr_assert(memcmp(ip + hl, sframe + hl, 6) == 0, "UDP ports and length");
	} else {
		cr_assert(memcmp(ip + hl, sframe + hl, 16) == 0, "TCP header up to the checksum");
		cr_assert_eq(ip[hl + 13], 0x18, "PSH from the last segment");
	}
	/* Complete the CHECKSUM_PARTIAL as the kernel would, then verify. */
	static uint8_t full[70000];
	memcpy(full, ip, hl + l4h);
	memcpy(full + hl + l4h, merged, mlen);
	uint32_t s = ref_sum(0, full + hl, l4h + mlen);
	uint16_t c = (uint16_t)~ref_fold(s);
	full[hl + mh.csum_offset] = (uint8_t)(c >> 8);
	full[hl + mh.csum_offset + 1] = (uint8_t)c;
	cr_assert(l4_ok(full, hl + l4h + mlen));
	/* Cut again from the partial superframe: the same segments. */
	memcpy(full, ip, hl + l4h);
	cr_assert_eq(rv_gso_segment(out2, lens2, &n2, RV_GSO_MAX_SEGS, 1500, full, hl + l4h + mlen,
				    &mh),
		     RV_GSO_OK);
	cr_assert_eq(n2, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(lens2[i], lens[i], "segment %zu", i);
		cr_assert(memcmp(out2[i], out[i], lens[i]) == 0, "segment %zu", i);
	}
}

Test(gro, roundtrip_v4)
{
	roundtrip(false, 6, 30000, 1368);
	roundtrip(false, 6, 1368 * 3, 1368);
}

Test(gro, roundtrip_v6)
{
	roundtrip(true, 6, 40000, 1348);
}

/* USO: what a TUN that takes UDP_L4 superframes is written (64 B datagrams
 * of a small-packet flood and full-size ones, a short last one). */
Test(gro, roundtrip_udp)
{
	roundtrip(false, 17, 36 * 64, 36);
	roundtrip(false, 17, 1472 * 5 + 100, 1472);
	roundtrip(true, 17, 1452 * 40, 1452);
	roundtrip(true, 17, 64 * 64, 64);
}

/* A one-byte change to the header of |b| that must keep it out of a run
 * started at |a| (which |b| itself continues). */
struct gro_mut {
	size_t off;
	uint8_t val;
	const char *what;
};

static void assert_mutations_refused(const uint8_t *a, size_t la, const uint8_t *b, size_t lb,
				     const struct gro_mut *muts, size_t n)
{
	static uint8_t c[1600];
	const uint8_t *p;
	size_t pl;
	struct rv_gro g;

	for (size_t m = 0; m < n; m++) {
		memcpy(c, b, lb);
		c[muts[m].off] = muts[m].val;
		cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
		cr_assert_not(rv_gro_append(&g, c, lb, &p, &pl), "mutated %s", muts[m].what);
	}
}

Test(gro, refuses)
{
	static uint8_t a[1600], b[1600];
	size_t la, lb;
	const uint8_t *p;
	size_t pl;
	struct rv_gro g;

	/* 1 SYN cannot start a run; 2 no payload; 3 UDP, unless the TUN
	 * takes USO. */
	la = build(a, false, 6, 100, 0x12);
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	la = build(a, false, 6, 0, 0x10);
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	la = build(a, false, 17, 100, 0);
	cr_assert_not(rv_gro_start(&g, a, la, 0));
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	/* offload_udp_coalesce = auto: small datagrams only, by IP length. */
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_UDP_AUTO_MAX));
	cr_assert(rv_gro_start(&g, a, la, la), "a datagram of the limit's length");
	cr_assert_not(rv_gro_start(&g, a, la, la - 1), "one byte over the limit");
	la = build(a, false, 17, RV_GRO_UDP_AUTO_MAX, 0);
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_UDP_AUTO_MAX));
	la = build(a, false, 6, RV_GRO_UDP_AUTO_MAX + 500, 0x10);
	cr_assert(rv_gro_start(&g, a, la, 0), "TCP whatever the UDP limit");

	/* 4 out of sequence */
	la = build(a, false, 6, 1000, 0x10);
	lb = build(b, false, 6, 1000, 0x10);
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	cr_assert_not(rv_gro_append(&g, b, lb, &p, &pl), "same seq twice");
	/* 5 in sequence -> ok */
	uint32_t seq = 0xfefff000u + 1000;
	b[24] = (uint8_t)(seq >> 24);
	b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8);
	b[27] = (uint8_t)seq;
	cr_assert(rv_gro_append(&g, b, lb, &p, &pl));
	/* 6 different port, 7 different ack, 8 different options, ...; a
	 * window update (the superframe would carry the first window only),
	 * the AE bit, and no ACK flag. */
	static const struct gro_mut muts[] = {
		{ 20 + 1, 0x41, "port" },
		{ 20 + 11, 8, "ack" },
		{ 20 + 27, 43, "options" },
		{ 8, 63, "ttl" },
		{ 1, 4, "tos" },
		{ 19, 3, "dst" },
		{ 20 + 15, 0x77, "window" },
		{ 20 + 14, 0x01, "window (high byte)" },
		{ 20 + 12, (8 << 4) | 1, "AE bit" },
		{ 20 + 13, 0x10 | 0x40, "ECE" },
	};
	assert_mutations_refused(a, la, b, lb, muts, sizeof(muts) / sizeof(muts[0]));
	/* 10 a shorter segment closes the run; 11 PSH closes the run */
	struct rv_gro g3;
	size_t ls = build(b, false, 6, 500, 0x10);
	b[24] = (uint8_t)(seq >> 24);
	b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8);
	b[27] = (uint8_t)seq;
	cr_assert(rv_gro_start(&g3, a, la, RV_GRO_MAX_LEN));
	cr_assert(rv_gro_append(&g3, b, ls, &p, &pl));
	cr_assert(g3.closed);
	la = build(a, false, 6, 1000, 0x18);
	cr_assert(rv_gro_start(&g3, a, la, RV_GRO_MAX_LEN));
	cr_assert(g3.closed);
	cr_assert_not(rv_gro_append(&g3, b, ls, &p, &pl));
	/* 12 a segment longer than the first */
	la = build(a, false, 6, 500, 0x10);
	lb = build(b, false, 6, 1000, 0x10);
	seq = 0xfefff000u + 500;
	b[24] = (uint8_t)(seq >> 24);
	b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8);
	b[27] = (uint8_t)seq;
	cr_assert(rv_gro_start(&g3, a, la, RV_GRO_MAX_LEN));
	cr_assert_not(rv_gro_append(&g3, b, lb, &p, &pl));
}

Test(gro, refuses_udp)
{
	static uint8_t a[1600], b[1600];
	const uint8_t *p;
	size_t la, lb, pl;
	struct rv_gro g;

	/* Cannot start: no payload; a fragment (MF, or an offset); a UDP
	 * length that disagrees with the IP length (either way). */
	la = build(a, false, 17, 0, 0);
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	la = build(a, false, 17, 100, 0);
	a[6] = 0x20;
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN), "MF");
	a[6] = 0x00;
	a[7] = 0x10;
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN), "fragment offset");
	la = build(a, false, 17, 100, 0);
	a[20 + 5] -= 1;
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN), "UDP length short of the IP length");
	a[20 + 5] += 2;
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN), "UDP length beyond the IP length");
	la = build(a, true, 17, 100, 0);
	a[40 + 5] -= 1;
	cr_assert_not(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN), "IPv6: UDP length");

	/* Does not continue the flow: other ports, addresses, TTL, TOS, DF,
	 * a TCP segment, a longer datagram, an IPv6 one. */
	la = build(a, false, 17, 1000, 0);
	lb = build(b, false, 17, 1000, 0);
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	cr_assert(rv_gro_append(&g, b, lb, &p, &pl));
	cr_assert_eq(pl, 1000);
	cr_assert(p == b + 28);
	static const struct gro_mut muts[] = {
		{ 20 + 1, 0x41, "source port" },
		{ 20 + 3, 0x8a, "destination port" },
		{ 8, 63, "ttl" },
		{ 1, 4, "tos" },
		{ 6, 0x00, "DF" },
		{ 15, 9, "source" },
		{ 19, 3, "destination" },
	};
	assert_mutations_refused(a, la, b, lb, muts, sizeof(muts) / sizeof(muts[0]));
	lb = build(b, false, 6, 1000, 0x10);
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	cr_assert_not(rv_gro_append(&g, b, lb, &p, &pl), "TCP after UDP");
	lb = build(b, false, 17, 1001, 0);
	cr_assert_not(rv_gro_append(&g, b, lb, &p, &pl), "longer datagram");
	lb = build(b, true, 17, 1000, 0);
	cr_assert_not(rv_gro_append(&g, b, lb, &p, &pl), "IPv6 after IPv4");
	/* TCP run: a UDP datagram does not join it. */
	lb = build(b, false, 6, 1000, 0x10);
	cr_assert(rv_gro_start(&g, b, lb, RV_GRO_MAX_LEN));
	cr_assert_not(rv_gro_append(&g, a, la, &p, &pl), "UDP after TCP");

	/* A shorter datagram closes the run; so does the segment limit. */
	lb = build(b, false, 17, 999, 0);
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	cr_assert(rv_gro_append(&g, b, lb, &p, &pl));
	cr_assert(g.closed);
	cr_assert_not(rv_gro_append(&g, a, la, &p, &pl));
	la = build(a, false, 17, 64, 0);
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	for (unsigned i = 1; i < RV_GRO_MAX_SEGS; i++) {
		cr_assert(rv_gro_append(&g, a, la, &p, &pl), "datagram %u", i);
	}
	cr_assert_not(rv_gro_append(&g, a, la, &p, &pl), "past RV_GRO_MAX_SEGS");
	/* And the 64 KiB limit of one superframe. */
	la = build(a, false, 17, 1472, 0);
	cr_assert(rv_gro_start(&g, a, la, RV_GRO_MAX_LEN));
	unsigned n = 1;
	while (rv_gro_append(&g, a, la, &p, &pl)) {
		n++;
	}
	cr_assert_eq(n, (65535 - 28) / 1472);
	cr_assert_leq(28 + g.payload_len, 65535);
}

/* The zero-copy pair (plan + per-segment headers, payload left in place)
 * yields exactly the headers rv_gso_segment writes, and the plan's fields
 * describe the superframe. */
/* Superframes for the plan tests: both families and protocols, a short last
 * segment, a single segment. */
static const struct sframe_case {
	bool v6;
	uint8_t proto;
	size_t payload;
	uint16_t mss;
} sframe_cases[] = {
	{ false, 6, 65000 - 52, 1368 }, { true, 6, 5001, 1348 }, { false, 17, 4000, 1392 },
	{ true, 17, 3999, 1372 },	{ false, 6, 100, 1368 },
};

/* sframe_vh is the virtio header the kernel gives such a superframe. */
static struct rv_vnet_hdr sframe_vh(const struct sframe_case *c)
{
	return (struct rv_vnet_hdr){
		.flags = RV_VNET_F_NEEDS_CSUM,
		.gso_type = c->proto == 17 ? RV_VNET_GSO_UDP_L4
			    : c->v6	   ? RV_VNET_GSO_TCPV6
					   : RV_VNET_GSO_TCPV4,
		.gso_size = c->mss,
		.csum_start = c->v6 ? 40 : 20,
		.csum_offset = c->proto == 6 ? 16 : 6,
	};
}

Test(gso, plan_matches_segment)
{
	const struct sframe_case *cases = sframe_cases;

	for (size_t c = 0; c < sizeof(sframe_cases) / sizeof(sframe_cases[0]); c++) {
		bool v6 = cases[c].v6;
		uint8_t proto = cases[c].proto;
		struct rv_vnet_hdr vh = sframe_vh(&cases[c]);
		size_t len = build(sframe, v6, proto, cases[c].payload, 0x18);
		size_t want = (cases[c].payload + cases[c].mss - 1) / cases[c].mss, n = 0;
		struct rv_gso_plan plan;
		uint8_t *out[RV_GSO_MAX_SEGS];
		uint16_t lens[RV_GSO_MAX_SEGS];
		uint8_t hdrs[128];

		cr_assert_eq(rv_gso_plan_init(&plan, sframe, len, &vh), RV_GSO_OK);
		cr_assert_eq(plan.nseg, want);
		cr_assert_eq(plan.hlen, (v6 ? 40 : 20) + (proto == 6 ? 32 : 8));
		cr_assert_eq(plan.payload, cases[c].payload);
		for (size_t i = 0; i < want; i++) {
			out[i] = malloc(1500);
		}
		cr_assert_eq(rv_gso_segment(out, lens, &n, want, 1500, sframe, len, &vh),
			     RV_GSO_OK);
		for (uint32_t i = 0; i < plan.nseg; i++) {
			rv_gso_seg_hdrs(&plan, i, hdrs, sframe);
			cr_assert_eq(lens[i], plan.hlen + rv_gso_seg_payload_len(&plan, i));
			cr_assert(memcmp(hdrs, out[i], plan.hlen) == 0, "case %zu seg %u", c, i);
		}
		for (size_t i = 0; i < want; i++) {
			free(out[i]);
		}
	}
	{
		struct rv_gso_plan plan;
		struct rv_vnet_hdr bad = { .gso_type = RV_VNET_GSO_UDP };
		cr_assert_eq(rv_gso_plan_init(&plan, sframe, 100, &bad), RV_GSO_BAD_TYPE);
	}
}

/* finish_partial completes a partial checksum as a receiver without a
 * virtio header does: where rv_csum_partial_at says, by rv_gso_finish_csum. */
static bool finish_partial(uint8_t *pkt, size_t len)
{
	struct rv_vnet_hdr vh = { .flags = RV_VNET_F_NEEDS_CSUM };

	return rv_csum_partial_at(pkt, len, &vh.csum_start, &vh.csum_offset) &&
	       rv_gso_finish_csum(pkt, len, &vh) == RV_GSO_OK;
}

/* A partial segment, finished by the receiver (finish_partial, as a TUN
 * would on the way out), equals the fully summed one: same headers but
 * for the checksum field, which holds the folded pseudo-header sum until
 * then. */
Test(gso, partial_segments_finish_to_full)
{
	const struct sframe_case *cases = sframe_cases;
	static uint8_t seg[2][1600];

	for (size_t c = 0; c < sizeof(sframe_cases) / sizeof(sframe_cases[0]); c++) {
		bool v6 = cases[c].v6, tcp = cases[c].proto == 6;
		struct rv_vnet_hdr vh = sframe_vh(&cases[c]);
		size_t len = build(sframe, v6, cases[c].proto, cases[c].payload, 0x18);
		struct rv_gso_plan plan;

		cr_assert_eq(rv_gso_plan_init(&plan, sframe, len, &vh), RV_GSO_OK);
		for (uint32_t i = 0; i < plan.nseg; i++) {
			uint32_t chunk = rv_gso_seg_payload_len(&plan, i);
			size_t slen = (size_t)plan.hlen + chunk,
			       field = plan.l4_off + (tcp ? 16 : 6);
			const uint8_t *pay = sframe + plan.hlen + (size_t)i * plan.mss;
			uint16_t start = 0, off = 0;
			uint32_t ps;

			rv_gso_seg_hdrs(&plan, i, seg[0], sframe);
			memcpy(seg[0] + plan.hlen, pay, chunk);
			rv_gso_seg_hdrs_partial(&plan, i, seg[1], sframe);
			memcpy(seg[1] + plan.hlen, pay, chunk);
			cr_assert(l4_ok(seg[0], slen), "case %zu seg %u", c, i);
			/* Everything but the checksum field agrees. */
			cr_assert(memcmp(seg[0], seg[1], field) == 0, "case %zu seg %u", c, i);
			cr_assert(memcmp(seg[0] + field + 2, seg[1] + field + 2,
					 slen - field - 2) == 0,
				  "case %zu seg %u", c, i);
			/* The field holds the pseudo-header sum, uninverted. */
			ps = v6 ? ref_sum(0, seg[1] + 8, 32) : ref_sum(0, seg[1] + 12, 8);
			ps += cases[c].proto + (uint32_t)(slen - plan.l4_off);
			cr_assert_eq(seg[1][field] << 8 | seg[1][field + 1], ref_fold(ps),
				     "case %zu seg %u", c, i);
			cr_assert(rv_csum_partial_at(seg[1], slen, &start, &off));
			cr_assert_eq(start, plan.l4_off);
			cr_assert_eq(off, tcp ? 16 : 6);
			cr_assert(finish_partial(seg[1], slen));
			cr_assert(l4_ok(seg[1], slen), "case %zu seg %u", c, i);
		}
	}
}

/* Which packets may travel with a partial checksum: TCP or UDP right behind
 * the IP header, whole, not a fragment; the rest is refused, so a receiver
 * never writes a checksum into a packet that has no place for one. */
Test(gso, partial_at_refuses)
{
	uint8_t p[200];
	uint16_t start, off;
	size_t len;

	len = build(p, false, 6, 40, 0x10);
	cr_assert(rv_csum_partial_at(p, len, &start, &off));
	cr_assert_eq(start, 20);
	cr_assert_eq(off, 16);
	cr_assert_not(rv_csum_partial_at(p, len - 1, &start, &off), "length disagrees");
	cr_assert_not(rv_csum_partial_at(p, 19, &start, &off), "shorter than IPv4");
	p[6] = 0x20; /* more fragments */
	cr_assert_not(rv_csum_partial_at(p, len, &start, &off), "first fragment");
	p[6] = 0x00;
	p[7] = 0x10; /* offset 128 */
	cr_assert_not(rv_csum_partial_at(p, len, &start, &off), "later fragment");
	p[7] = 0x00;
	p[9] = 1; /* ICMP */
	cr_assert_not(rv_csum_partial_at(p, len, &start, &off), "ICMP");
	p[9] = 6;
	p[0] = 0x46; /* an option word: L4 moves to 24 */
	cr_assert(rv_csum_partial_at(p, len, &start, &off));
	cr_assert_eq(start, 24);
	p[0] = 0x4f; /* 60-byte header: TCP no longer fits 72 bytes */
	len = 20 + 32 + 20;
	p[2] = 0;
	p[3] = (uint8_t)len;
	cr_assert_not(rv_csum_partial_at(p, len, &start, &off), "TCP header cut");
	p[0] = 0x44; /* IHL below 5 */
	cr_assert_not(rv_csum_partial_at(p, len, &start, &off), "IHL 4");

	len = build(p, true, 17, 0, 0);
	cr_assert(rv_csum_partial_at(p, len, &start, &off), "empty UDP datagram");
	cr_assert_eq(start, 40);
	cr_assert_eq(off, 6);
	p[6] = 0; /* hop-by-hop options first */
	cr_assert_not(rv_csum_partial_at(p, len, &start, &off), "extension header");
	p[6] = 17;
	cr_assert_not(rv_csum_partial_at(p, len - 1, &start, &off), "payload length disagrees");
	p[0] = 0x50;
	cr_assert_not(rv_csum_partial_at(p, len, &start, &off), "version 5");
	cr_assert_not(finish_partial(p, len));
}

/* The carry handling of the 64-bit accumulators: all-0xff data (every add
 * carries), random data, large lengths, every alignment and a non-zero
 * starting sum agree with the 16-bit reference (compared modulo the two
 * representations of one's complement zero). */
Test(gso, csum_carries_and_lengths)
{
	static uint8_t buf[70000];
	static const size_t lens[] = { 0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 1368, 1369, 65535 };
	uint32_t x = 12345;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = pass == 0 ? 0xff : (uint8_t)(x >> 16);
		}
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			for (size_t off = 0; off < 8; off++) {
				uint64_t start = pass == 0 ? 0xfffffffffffffff0ull : 0x1234;
				uint16_t n = rv_inet_csum_fold(
					rv_inet_csum_add(start, buf + off, lens[l]));
				uint8_t out[2];
				uint32_t ref;
				uint16_t got, want;

				/* |start| as a native sum: fold it the same way. */
				memcpy(out, &(uint16_t){ rv_inet_csum_fold(start) }, 2);
				ref = ref_sum((uint32_t)(out[0] << 8 | out[1]), buf + off, lens[l]);
				memcpy(out, &n, 2);
				got = (uint16_t)(out[0] << 8 | out[1]);
				want = ref_fold(ref);
				cr_assert(got == want || (got % 0xffff) == (want % 0xffff),
					  "pass %d len %zu off %zu: got %04x want %04x", pass,
					  lens[l], off, got, want);
			}
		}
	}
}

/* Found by fuzz_gso: an IPv6 superframe near 64 KiB whose csum_start puts the
 * TCP header past 65535 - 60 made the header length wrap in the plan's
 * uint16_t hlen (65540 -> 4) while l4_off stayed 65480, so rv_gso_seg_hdrs
 * wrote the TCP header ~64 KiB past a 4-byte header buffer. */
Test(gso, v6_csum_start_hlen_wrap)
{
	size_t len = 40 + 65535;
	uint8_t *p = calloc(1, len);
	struct rv_vnet_hdr vh = {
		.flags = RV_VNET_F_NEEDS_CSUM,
		.gso_type = RV_VNET_GSO_TCPV6,
		.gso_size = 1,
		.csum_start = 65480,
		.csum_offset = 16,
	};
	struct rv_gso_plan plan;

	cr_assert_not_null(p);
	p[0] = 0x60;
	p[4] = p[5] = 0xff;		 /* payload length 65535 */
	p[6] = 0;			 /* hop-by-hop: trust csum_start */
	p[vh.csum_start + 12] = 15 << 4; /* doff 15: 60-byte TCP header */
	cr_assert_eq(rv_gso_plan_init(&plan, p, len, &vh), RV_GSO_BAD_L4);
	cr_assert_eq(rv_gso_num_segs(p, len, &vh), 0);
	/* The largest header that fits is still accepted. */
	vh.csum_start = 65535 - 60;
	p[vh.csum_start + 12] = 15 << 4;
	vh.gso_size = 40;
	cr_assert_eq(rv_gso_plan_init(&plan, p, len, &vh), RV_GSO_OK);
	cr_assert_eq(plan.hlen, 65535);
	cr_assert_eq(plan.payload, 40);
	cr_assert_eq(plan.nseg, 1);
	free(p);
}

/* Found by fuzz_gso: rv_gso_segment reported an IPv6 segment of 40 + 65535
 * bytes as (uint16_t)65575 = 39 in out_lens. Such segments are refused. */
Test(gso, v6_segment_longer_than_u16)
{
	size_t len = 40 + 65535;
	uint8_t *p = calloc(1, len), *o = malloc(len);
	uint8_t *out[1] = { o };
	uint16_t lens[1] = { 0 };
	size_t n = 99;
	struct rv_vnet_hdr vh = { .gso_type = RV_VNET_GSO_TCPV6, .gso_size = 65535 };

	cr_assert(p != NULL && o != NULL);
	p[0] = 0x60;
	p[4] = p[5] = 0xff; /* payload length 65535 */
	p[6] = 6;
	p[40 + 12] = 5 << 4;
	cr_assert_eq(rv_gso_num_segs(p, len, &vh), 1);
	cr_assert_eq(rv_gso_segment(out, lens, &n, 1, len, p, len, &vh), RV_GSO_NO_ROOM);
	cr_assert_eq(n, 0);
	vh.gso_type = RV_VNET_GSO_NONE;
	n = 99;
	cr_assert_eq(rv_gso_segment(out, lens, &n, 1, len, p, len, &vh), RV_GSO_NO_ROOM);
	cr_assert_eq(n, 0);
	/* A 65535-byte packet fits, as a plain packet and as one segment. */
	p[4] = 0xff;
	p[5] = 0xd7; /* payload length 65495 */
	n = 99;
	cr_assert_eq(rv_gso_segment(out, lens, &n, 1, len, p, 65535, &vh), RV_GSO_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(lens[0], 65535);
	vh.gso_type = RV_VNET_GSO_TCPV6;
	n = 99;
	cr_assert_eq(rv_gso_segment(out, lens, &n, 1, len, p, 65535, &vh), RV_GSO_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(lens[0], 65535);
	free(o);
	free(p);
}

/* Found by fuzz_gso: all-ones addresses make the 64-bit address sum
 * 2^64 - 1, and adding the protocol and length to it with a plain + lost
 * the carry, so every segment's L4 checksum was off by one. */
Test(gso, csum_all_ones_addresses)
{
	uint8_t *out[RV_GSO_MAX_SEGS];
	uint16_t lens[RV_GSO_MAX_SEGS];
	static uint8_t store[8][1500];

	for (size_t i = 0; i < 8; i++) {
		out[i] = store[i];
	}
	for (int v6 = 0; v6 <= 1; v6++) {
		for (uint8_t proto = 6; proto <= 17; proto = (uint8_t)(proto + 11)) {
			size_t len = build(sframe, v6, proto, 3000, 0x10);
			struct rv_vnet_hdr vh = {
				.gso_type = proto == 17 ? RV_VNET_GSO_UDP_L4
					    : v6	? RV_VNET_GSO_TCPV6
							: RV_VNET_GSO_TCPV4,
				.gso_size = 1200,
			};
			size_t n = 0;

			memset(sframe + (v6 ? 8 : 12), 0xff, v6 ? 32 : 8);
			cr_assert_eq(rv_gso_segment(out, lens, &n, 8, 1500, sframe, len, &vh),
				     RV_GSO_OK);
			cr_assert_eq(n, 3);
			for (size_t i = 0; i < n; i++) {
				cr_assert(l4_ok(out[i], lens[i]), "v6 %d proto %u segment %zu", v6,
					  proto, i);
			}
		}
	}
}

/* A superframe gets a fresh IPv4 header checksum and the kernel computes
 * its L4 checksum, so a segment must not join a run with a wrong checksum:
 * it is written alone, for the kernel to drop (8 TCP segments with bad
 * checksums reached an application as valid data). Segments as the sender
 * segmented them (whole checksums), each family and protocol. */
Test(gro, checksums_checked_before_a_merge)
{
	static uint8_t store[RV_GSO_MAX_SEGS][1500], c[1500];
	uint8_t *out[RV_GSO_MAX_SEGS];
	uint16_t lens[RV_GSO_MAX_SEGS];

	for (size_t i = 0; i < RV_GSO_MAX_SEGS; i++) {
		out[i] = store[i];
	}
	for (int v = 0; v < 4; v++) {
		bool v6 = v & 1, udp = v & 2;
		struct rv_vnet_hdr vh = { .gso_type = udp  ? RV_VNET_GSO_UDP_L4
						      : v6 ? RV_VNET_GSO_TCPV6
							   : RV_VNET_GSO_TCPV4,
					  .gso_size = 1000 };
		size_t len = build(sframe, v6, udp ? 17 : 6, 3000, 0x10), n;

		cr_assert_eq(rv_gso_segment(out, lens, &n, RV_GSO_MAX_SEGS, 1500, sframe, len, &vh),
			     RV_GSO_OK);
		for (size_t i = 0; i < n; i++) {
			cr_assert(rv_gro_csum_ok(out[i], lens[i], false), "v6 %d udp %d seg %zu",
				  v6, udp, i);
			/* A payload byte changed: refused, unless the sender
			 * left the checksum partial (there is none to check). */
			memcpy(c, out[i], lens[i]);
			c[lens[i] - 1] ^= 0x40;
			cr_assert_not(rv_gro_csum_ok(c, lens[i], false), "v6 %d udp %d", v6, udp);
			cr_assert(rv_gro_csum_ok(c, lens[i], true));
			if (v6 && udp) {
				/* An IPv6 UDP checksum of 0 is refused even when the
				 * payload is made to sum right with it (0 and 0xffff
				 * fold alike): the kernel drops a zero. */
				size_t w = lens[i] - 2;
				uint32_t x;

				memcpy(c, out[i], lens[i]);
				x = (uint32_t)(c[46] << 8 | c[47]) +
				    (uint32_t)(c[w] << 8 | c[w + 1]);
				x = (x & 0xffff) + (x >> 16);
				c[w] = (uint8_t)(x >> 8);
				c[w + 1] = (uint8_t)x;
				c[46] = c[47] = 0;
				cr_assert_not(rv_gro_csum_ok(c, lens[i], false),
					      "IPv6 UDP checksum 0");
				cr_assert(rv_gro_csum_ok(c, lens[i], true),
					  "partial: nothing to check");
			}
			if (!v6) {
				/* A wrong IPv4 header checksum: refused either way. */
				memcpy(c, out[i], lens[i]);
				c[8] ^= 1; /* TTL */
				cr_assert_not(rv_gro_csum_ok(c, lens[i], false));
				cr_assert_not(rv_gro_csum_ok(c, lens[i], true));
			}
		}
	}
	/* An IPv4 datagram sent without a checksum (0) may join. */
	size_t la = build(c, false, 17, 200, 0);
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2) {
		sum += (uint32_t)(c[i] << 8 | c[i + 1]);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	c[10] = (uint8_t)(~sum >> 8);
	c[11] = (uint8_t)~sum;
	c[26] = c[27] = 0;
	cr_assert(rv_gro_csum_ok(c, la, false));
	/* Not a candidate at all (ICMP): not refused here. */
	c[9] = 1;
	cr_assert(rv_gro_csum_ok(c, la, false));
}

static struct sockaddr_in6 dest6(const char *addr, uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	cr_assert_eq(inet_pton(AF_INET6, addr, &a.sin6_addr), 1, "%s", addr);
	return a;
}

static bool refused_at(const struct rv_gso_refusals *t, const char *addr, uint32_t size,
		       uint64_t now)
{
	struct sockaddr_in6 d = dest6(addr, 1);

	return rv_gso_refused(t, &d, size, now);
}

/* A path that refused GSO sends is remembered for its size and larger, for
 * the hold; other paths keep GSO. */
Test(gso_refusals, remembers_a_path_for_a_while)
{
	static struct rv_gso_refusals t;
	struct sockaddr_in6 a = dest6("::ffff:10.0.0.1", 4000), b = dest6("::ffff:10.0.0.2", 4000);

	cr_assert_not(rv_gso_refused(&t, &a, 1400, 1));
	rv_gso_note_refused(&t, &a, 1000, 100, 50);
	cr_assert(rv_gso_refused(&t, &a, 1000, 120));
	cr_assert(rv_gso_refused(&t, &a, 1400, 120));
	cr_assert_not(rv_gso_refused(&t, &a, 999, 120), "smaller datagrams fit");
	cr_assert_not(rv_gso_refused(&t, &b, 1400, 120), "another host");
	cr_assert_not(rv_gso_refused(&t, &a, 1400, 150), "the hold is over");
}

/* One client hopping between source ports (each a NAT rebinding the server
 * follows) or between addresses of its /64 takes one place, so it cannot
 * fill the table and push every other session under the floor (a tester's
 * client did with 9 ports: every session got one datagram per send). */
Test(gso_refusals, one_host_cannot_set_the_floor)
{
	static struct rv_gso_refusals t;
	struct sockaddr_in6 honest = dest6("::ffff:10.0.0.9", 4000);
	char addr[64];

	for (uint16_t p = 0; p < 3 * RV_GSO_REFUSALS; p++) {
		struct sockaddr_in6 atk = dest6("::ffff:10.0.0.66", (uint16_t)(5000 + p));

		rv_gso_note_refused(&t, &atk, 600, 100 + p, 1000);
		cr_assert(rv_gso_refused(&t, &atk, 600, 100 + p));
		snprintf(addr, sizeof(addr), "2001:db8:66:1::%x", p + 1);
		atk = dest6(addr, 4000);
		rv_gso_note_refused(&t, &atk, 600, 100 + p, 1000);
	}
	cr_assert_not(rv_gso_refused(&t, &honest, 1400, 200), "the attacker set a floor");
	cr_assert(refused_at(&t, "2001:db8:66:1::ffff", 1400, 200), "its /64");
	cr_assert_not(refused_at(&t, "2001:db8:66:2::1", 1400, 200), "another /64");
}

/* More refusing hosts than places (a narrow uplink under many clients):
 * every destination gets the smallest refused size one by one. */
Test(gso_refusals, many_hosts_set_the_floor)
{
	static struct rv_gso_refusals t;
	char addr[64];

	for (unsigned h = 0; h <= RV_GSO_REFUSALS; h++) {
		snprintf(addr, sizeof(addr), "::ffff:10.0.1.%u", h + 1);
		struct sockaddr_in6 d = dest6(addr, 4000);

		rv_gso_note_refused(&t, &d, 1300 - h, 100, 1000);
	}
	cr_assert(refused_at(&t, "::ffff:10.0.2.1", 1300 - RV_GSO_REFUSALS, 200));
	cr_assert_not(refused_at(&t, "::ffff:10.0.2.1", 1000, 200));
	cr_assert_not(refused_at(&t, "::ffff:10.0.2.1", 1400, 1200));
}
