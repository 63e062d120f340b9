/*
 * test_core_icmp.c — the "destination unreachable" a worker answers a TUN
 * packet with when no session takes it: its fields and checksums (checked
 * with a checksum written here, big-endian word by word, not the one the
 * code uses), how much it quotes, and the packets it must never answer
 * (ICMP errors, later fragments, sources no answer can reach).
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "core/gso.h"
#include "core/icmp.h"
#include "core/ip.h"
#include "test/lib/t_ip.h"

/* sum16 is the one's complement sum of |len| bytes as big-endian words. */
static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2) {
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	}
	if (len % 2) {
		s += (uint32_t)p[len - 1] << 8;
	}
	while (s >> 16) {
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

/* v4 writes an IPv4 packet of |len| bytes, protocol |proto|, fragment
 * field |frag|, the L4 bytes after the header counting up. */
static size_t v4(uint8_t *p, size_t len, const char *src, const char *dst, uint8_t proto,
		 uint16_t frag)
{
	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	for (size_t i = 20; i < len; i++) {
		p[i] = (uint8_t)i;
	}
	return len;
}

/* v6 writes an IPv6 packet of |len| bytes whose next header is |next|, its
 * payload counting up (callers then write any extension headers). */
static size_t v6(uint8_t *p, size_t len, const char *src, const char *dst, uint8_t next)
{
	memset(p, 0, len);
	p[0] = 0x60;
	p[4] = (uint8_t)((len - 40) >> 8);
	p[5] = (uint8_t)(len - 40);
	p[6] = next;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	for (size_t i = 40; i < len; i++) {
		p[i] = (uint8_t)i;
	}
	return len;
}

/* icmp6_sum_ok: does the ICMPv6 checksum of the error |hdr| (48 bytes of
 * headers) quoting |q| bytes of |pkt| check out, pseudo-header included? */
static bool icmp6_sum_ok(const uint8_t *hdr, const uint8_t *pkt, size_t q)
{
	uint8_t pseudo[40] = { 0 };

	memcpy(pseudo, hdr + 8, 32);
	pseudo[34] = (uint8_t)((8 + q) >> 8);
	pseudo[35] = (uint8_t)(8 + q);
	pseudo[39] = 58;
	return sum16(sum16(sum16(0, pseudo, 40), hdr + 40, 8), pkt, q) == 0xffff;
}

static size_t answer(uint8_t *hdr, const char *from, const uint8_t *pkt, size_t len, size_t *q)
{
	struct rv_ip_info ip;
	struct rv_ip_addr src = t_ip(from);

	cr_assert_eq(rv_ip_parse(&ip, pkt, len), RV_IP_OK);
	*q = 12345;
	return rv_icmp_unreach(hdr, &src, pkt, len, &ip, q);
}

Test(icmp, v4_host_unreachable)
{
	static const size_t sizes[] = { 20, 28, 100, 547, 548, 549, 1400 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint8_t pkt[1500], hdr[RV_ICMP_HDR_MAX];
		size_t len = v4(pkt, sizes[k], "10.99.0.1", "10.99.0.5", 17, 0), q;
		size_t want_q = len < 548 ? len : 548;
		size_t h = answer(hdr, "10.99.0.1", pkt, len, &q);
		uint8_t a[4];

		cr_assert_eq(h, 28);
		cr_assert_eq(q, want_q, "size %zu: quoted %zu", len, q);
		cr_assert_eq(hdr[0], 0x45);
		cr_assert_eq(hdr[2] << 8 | hdr[3], (int)(28 + q), "total length");
		cr_assert_leq(28 + q, 576);
		cr_assert_eq(hdr[9], 1, "protocol ICMP");
		cr_assert_gt(hdr[8], 0, "a TTL");
		inet_pton(AF_INET, "10.99.0.1", a);
		cr_assert_arr_eq(hdr + 12, a, 4, "from the tunnel's address");
		cr_assert_arr_eq(hdr + 16, pkt + 12, 4, "to the packet's source");
		cr_assert_eq(sum16(0, hdr, 20), 0xffff, "IP header checksum");
		cr_assert_eq(hdr[20], 3);
		cr_assert_eq(hdr[21], 1);
		cr_assert_eq(sum16(sum16(0, hdr + 20, 8), pkt, q), 0xffff, "ICMP checksum");
	}
}

Test(icmp, v4_not_answered)
{
	uint8_t pkt[200], hdr[RV_ICMP_HDR_MAX];
	size_t q;
	/* ICMP errors and redirects: no error about an error. */
	static const uint8_t errors[] = { 3, 4, 5, 11, 12 };

	for (size_t i = 0; i < sizeof(errors); i++) {
		v4(pkt, 100, "10.99.0.1", "10.99.0.5", 1, 0);
		pkt[20] = errors[i];
		cr_assert_eq(answer(hdr, "10.99.0.1", pkt, 100, &q), 0, "ICMP type %u", errors[i]);
	}
	/* An echo request is answered. */
	v4(pkt, 100, "10.99.0.1", "10.99.0.5", 1, 0);
	pkt[20] = 8;
	cr_assert_eq(answer(hdr, "10.99.0.1", pkt, 100, &q), 28);
	/* A later fragment is not; the first is (more-fragments set). */
	v4(pkt, 100, "10.99.0.1", "10.99.0.5", 17, 0x2000 | 185);
	cr_assert_eq(answer(hdr, "10.99.0.1", pkt, 100, &q), 0);
	v4(pkt, 100, "10.99.0.1", "10.99.0.5", 17, 0x2000);
	cr_assert_eq(answer(hdr, "10.99.0.1", pkt, 100, &q), 28);
	/* Sources no answer can go to. */
	static const char *const bad[] = { "0.0.0.0", "127.0.0.1", "224.0.0.1", "239.1.2.3",
					   "255.255.255.255" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v4(pkt, 100, bad[i], "10.99.0.5", 17, 0);
		cr_assert_eq(answer(hdr, "10.99.0.1", pkt, 100, &q), 0, "from %s", bad[i]);
	}
	/* No address of the packet's family to answer from. */
	v4(pkt, 100, "10.99.0.1", "10.99.0.5", 17, 0);
	cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 0);
}

Test(icmp, v6_address_unreachable)
{
	static const size_t sizes[] = { 40, 48, 100, 1231, 1232, 1233, 1500 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint8_t pkt[1500], hdr[RV_ICMP_HDR_MAX];
		size_t len = v6(pkt, sizes[k], "fd99::1", "fd99::5", 17), q;
		size_t want_q = len < 1232 ? len : 1232;
		size_t h = answer(hdr, "fd99::1", pkt, len, &q);
		uint8_t a[16];

		cr_assert_eq(h, 48);
		cr_assert_eq(q, want_q, "size %zu: quoted %zu", len, q);
		cr_assert_eq(hdr[0] >> 4, 6);
		cr_assert_eq(hdr[4] << 8 | hdr[5], (int)(8 + q), "payload length");
		cr_assert_leq(48 + q, 1280);
		cr_assert_eq(hdr[6], 58, "next header ICMPv6");
		cr_assert_gt(hdr[7], 0, "a hop limit");
		inet_pton(AF_INET6, "fd99::1", a);
		cr_assert_arr_eq(hdr + 8, a, 16, "from the tunnel's address");
		cr_assert_arr_eq(hdr + 24, pkt + 8, 16, "to the packet's source");
		cr_assert_eq(hdr[40], 1);
		cr_assert_eq(hdr[41], 3);
		cr_assert(icmp6_sum_ok(hdr, pkt, q), "ICMPv6 checksum");
	}
}

Test(icmp, v6_not_answered)
{
	uint8_t pkt[200], hdr[RV_ICMP_HDR_MAX];
	size_t q;

	/* ICMPv6 errors (below 128) and redirects are not answered; an echo
	 * request is. */
	static const uint8_t types[] = { 1, 2, 3, 4, 127, 137 };
	for (size_t i = 0; i < sizeof(types); i++) {
		v6(pkt, 100, "fd99::1", "fd99::5", 58);
		pkt[40] = types[i];
		cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 0, "ICMPv6 type %u", types[i]);
	}
	v6(pkt, 100, "fd99::1", "fd99::5", 58);
	pkt[40] = 128;
	cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 48);
	/* Behind a hop-by-hop header (8 bytes) and a destination options
	 * header (16 bytes), still an error: not answered. */
	v6(pkt, 100, "fd99::1", "fd99::5", 0);
	pkt[40] = 60;
	pkt[41] = 0;
	pkt[48] = 58;
	pkt[49] = 1;
	pkt[64] = 1;
	cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 0);
	pkt[64] = 128;
	cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 48, "an echo request behind them");
	/* A fragment header: offset 0 is answered, a later one is not. */
	v6(pkt, 100, "fd99::1", "fd99::5", 44);
	pkt[40] = 17;
	pkt[42] = 0;
	pkt[43] = 1; /* more fragments, offset 0 */
	cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 48);
	pkt[42] = 0x05; /* offset 160 */
	pkt[43] = 0x00;
	cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 0);
	/* An extension header that runs past the packet: quiet. */
	v6(pkt, 100, "fd99::1", "fd99::5", 0);
	pkt[41] = 200;
	cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 0);
	/* Sources no answer can go to. */
	static const char *const bad[] = { "::", "::1", "ff02::1", "ff05::2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v6(pkt, 100, bad[i], "fd99::5", 17);
		cr_assert_eq(answer(hdr, "fd99::1", pkt, 100, &q), 0, "from %s", bad[i]);
	}
	v6(pkt, 100, "fd99::1", "fd99::5", 17);
	cr_assert_eq(answer(hdr, "10.99.0.1", pkt, 100, &q), 0);
}

/* Bytes behind the IP header's length (padding a TUN read may carry) are
 * not quoted. */
Test(icmp, quotes_no_more_than_the_packet)
{
	uint8_t pkt[300], hdr[RV_ICMP_HDR_MAX];
	size_t q;

	v4(pkt, 300, "10.99.0.1", "10.99.0.5", 17, 0);
	pkt[2] = 0;
	pkt[3] = 60; /* the IP header says 60 bytes */
	cr_assert_eq(answer(hdr, "10.99.0.1", pkt, 300, &q), 28);
	cr_assert_eq(q, 60);
	cr_assert_eq(hdr[2] << 8 | hdr[3], 88);
}

/* Time exceeded (internal client-to-client forwarding at the last hop):
 * the same headers with ICMPv4 11/0 and ICMPv6 3/0, checksums right, under
 * the same rules (no error about an error). */
Test(icmp, time_exceeded)
{
	uint8_t pkt[1500], hdr[RV_ICMP_HDR_MAX];
	struct rv_ip_info ip;
	struct rv_ip_addr s4 = t_ip("10.99.0.1"), s6 = t_ip("fd99::1");
	size_t len, q;

	len = v4(pkt, 60, "10.99.0.2", "10.99.0.3", 17, 0);
	pkt[8] = 1;
	cr_assert_eq(rv_ip_parse(&ip, pkt, len), RV_IP_OK);
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_TIME_EXCEEDED, 0, &s4, pkt, len, &ip, &q), 28);
	cr_assert_eq(q, 60);
	cr_assert_eq(hdr[20], 11);
	cr_assert_eq(hdr[21], 0);
	cr_assert_eq(sum16(0, hdr, 20), 0xffff, "IP header checksum");
	cr_assert_eq(sum16(sum16(0, hdr + 20, 8), pkt, q), 0xffff, "ICMP checksum");
	pkt[9] = 1; /* an ICMP time exceeded itself: no answer */
	pkt[20] = 11;
	cr_assert_eq(rv_ip_parse(&ip, pkt, len), RV_IP_OK);
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_TIME_EXCEEDED, 0, &s4, pkt, len, &ip, &q), 0);

	len = v6(pkt, 80, "fd99::2", "fd99::3", 17);
	pkt[7] = 1;
	cr_assert_eq(rv_ip_parse(&ip, pkt, len), RV_IP_OK);
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_TIME_EXCEEDED, 0, &s6, pkt, len, &ip, &q), 48);
	cr_assert_eq(hdr[40], 3);
	cr_assert_eq(hdr[41], 0);
	cr_assert(icmp6_sum_ok(hdr, pkt, q), "ICMPv6 checksum");
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_TIME_EXCEEDED, 0, &s4, pkt, len, &ip, &q), 0,
		     "source of another family");
}

/* Parameter problem (internal client-to-client forwarding of IPv4 options
 * a router refuses): ICMPv4 12/0, the pointer in the first byte after the
 * checksum, checksums right; not about an ICMP error. */
Test(icmp, param_problem)
{
	uint8_t pkt[1500], hdr[RV_ICMP_HDR_MAX];
	struct rv_ip_info ip;
	struct rv_ip_addr s4 = t_ip("10.99.0.1"), s6 = t_ip("fd99::1");
	size_t len, q;

	len = v4(pkt, 64, "10.99.0.2", "10.99.0.3", 17, 0);
	pkt[1] = 0xbb; /* a TOS: its bits kept under precedence 6, as Linux's */
	rv_ipv4_fix_csum(pkt, 20);
	cr_assert_eq(rv_ip_parse(&ip, pkt, len), RV_IP_OK);
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_PARAM_PROBLEM, 22, &s4, pkt, len, &ip, &q), 28);
	cr_assert_eq(hdr[1], 0xda, "TOS %#x", hdr[1]);
	cr_assert_eq(q, 64);
	cr_assert_eq(hdr[20], 12);
	cr_assert_eq(hdr[21], 0);
	cr_assert_eq(hdr[24], 22, "the pointer");
	cr_assert_eq(hdr[25] | hdr[26] | hdr[27], 0);
	cr_assert_eq(memcmp(hdr + 12, s4.a, 4), 0, "from the server");
	cr_assert_eq(memcmp(hdr + 16, pkt + 12, 4), 0, "to the sender");
	cr_assert_eq(sum16(0, hdr, 20), 0xffff, "IP header checksum");
	cr_assert_eq(sum16(sum16(0, hdr + 20, 8), pkt, q), 0xffff, "ICMP checksum");
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_TIME_EXCEEDED, 0, &s4, pkt, len, &ip, &q), 28);
	cr_assert_eq(hdr[24], 0, "the others' word stays unused");
	pkt[9] = 1; /* an ICMP parameter problem itself: no answer */
	pkt[20] = 12;
	cr_assert_eq(rv_ip_parse(&ip, pkt, len), RV_IP_OK);
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_PARAM_PROBLEM, 22, &s4, pkt, len, &ip, &q), 0);

	/* IPv6 (its Hop-by-Hop options: round-sixty-eight tester 300): 4/0
	 * or 4/2, the pointer a 32-bit offset, checksum right. */
	len = v6(pkt, 80, "fd99::2", "fd99::3", 17);
	cr_assert_eq(rv_ip_parse(&ip, pkt, len), RV_IP_OK);
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_PARAM_PROBLEM, 300, &s6, pkt, len, &ip, &q), 48);
	cr_assert_eq(hdr[40], 4);
	cr_assert_eq(hdr[41], 0);
	cr_assert(hdr[44] == 0 && hdr[45] == 0 && hdr[46] == 1 && hdr[47] == 44, "the pointer");
	cr_assert(icmp6_sum_ok(hdr, pkt, q), "ICMPv6 checksum");
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_PARAM_PROBLEM_OPTION, 42, &s6, pkt, len, &ip, &q),
		     48);
	cr_assert_eq(hdr[41], 2);
	cr_assert_eq(hdr[47], 42);
	cr_assert(icmp6_sum_ok(hdr, pkt, q), "ICMPv6 checksum");
	cr_assert_eq(rv_icmp_error(hdr, RV_ICMP_TIME_EXCEEDED, 0, &s6, pkt, len, &ip, &q), 48);
	cr_assert_eq(hdr[44] | hdr[45] | hdr[46] | hdr[47], 0, "the others' word stays unused");
}
