/*
 * test_core_ippool.c — virtual-address pools: bounds of IPv4 networks
 * (network, server, broadcast), a full /16, an IPv6 /64 under a cap, fixed
 * addresses, release errors and cursor reuse order.
 *
 *   ./build/<dir>/test/test_core_ippool --verbose
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "core/ippool.h"

static struct rv_ip_addr ip(const char *s)
{
	struct rv_ip_addr a = { 0 };

	if (inet_pton(AF_INET, s, a.a) == 1) {
		a.family = AF_INET;
	} else {
		cr_assert_eq(inet_pton(AF_INET6, s, a.a), 1, "bad literal %s", s);
		a.family = AF_INET6;
	}
	return a;
}

static const char *str(const struct rv_ip_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	return inet_ntop(a->family, a->a, buf, sizeof(buf));
}

Test(ippool, bad_params)
{
	struct rv_ip_addr n4 = ip("10.8.0.0"), n6 = ip("fd00::");
	int err = 0;

	cr_assert_null(rv_ippool_new(NULL, 0, NULL, 0, 0, &err));
	cr_assert_eq(err, -EINVAL);
	cr_assert_null(rv_ippool_new(&n4, 31, NULL, 0, 0, &err));
	cr_assert_null(rv_ippool_new(&n4, 0, NULL, 0, 0, &err));
	cr_assert_null(rv_ippool_new(&n6, 24, NULL, 0, 0, &err)); /* wrong family */
	cr_assert_null(rv_ippool_new(NULL, 0, &n6, 127, 0, &err));
	cr_assert_null(rv_ippool_new(&n4, 24, &n6, 64, RV_IPPOOL_MAX_HOSTS + 1, &err));
	cr_assert_eq(err, -EINVAL);
}

/* 10.8.0.0/29: server .1, clients .2-.6, broadcast .7 excluded. */
Test(ippool, small_ipv4_bounds)
{
	struct rv_ip_addr n = ip("10.8.0.5"), a, srv;
	struct rv_ippool *p = rv_ippool_new(&n, 29, NULL, 0, 0, NULL);
	struct rv_ip_addr bcast = ip("10.8.0.7"), net = ip("10.8.0.0"), out = ip("10.9.0.2");

	cr_assert_not_null(p);
	cr_assert_eq(rv_ippool_capacity(p, AF_INET), 5u);
	cr_assert_eq(rv_ippool_capacity(p, AF_INET6), 0u);
	cr_assert_eq(rv_ippool_prefix_len(p, AF_INET), 29u);
	cr_assert_eq(rv_ippool_server_addr(p, AF_INET, &srv), 0);
	cr_assert_str_eq(str(&srv), "10.8.0.1");
	cr_assert_eq(rv_ippool_server_addr(p, AF_INET6, &srv), -EAFNOSUPPORT);
	for (int i = 2; i <= 6; i++) {
		char want[16];

		cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
		snprintf(want, sizeof(want), "10.8.0.%d", i);
		cr_assert_str_eq(str(&a), want);
	}
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET6, &a), -EAFNOSUPPORT);
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 5u);

	cr_assert_eq(rv_ippool_release(p, &bcast), -EINVAL);
	cr_assert_eq(rv_ippool_release(p, &net), -EINVAL);
	cr_assert_eq(rv_ippool_release(p, &srv), -EINVAL);
	cr_assert_eq(rv_ippool_release(p, &out), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &bcast), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &srv), -EADDRINUSE);
	cr_assert_not(rv_ippool_contains(p, &bcast));
	cr_assert_not(rv_ippool_contains(p, &srv));

	a = ip("10.8.0.4");
	cr_assert(rv_ippool_contains(p, &a));
	cr_assert_eq(rv_ippool_release(p, &a), 0);
	cr_assert_eq(rv_ippool_release(p, &a), -ENOENT); /* double release: no change */
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 4u);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.8.0.4");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	rv_ippool_free(p);
	rv_ippool_free(NULL);
}

/* A /16: all 65,533 client addresses (65,534 hosts with the server), each
 * once; the cursor moves on, so a released address is reused last. */
Test(ippool, full_ipv4_16)
{
	struct rv_ip_addr n = ip("10.8.0.0"), a, first;
	struct rv_ippool *p = rv_ippool_new(&n, 16, NULL, 0, 0, NULL);
	uint8_t *seen = calloc(65536, 1);

	cr_assert(p && seen);
	cr_assert_eq(rv_ippool_capacity(p, AF_INET), 65533u);
	for (size_t i = 0; i < 65533; i++) {
		unsigned h;

		cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0, "alloc %zu", i);
		cr_assert_eq(a.a[0], 10);
		cr_assert_eq(a.a[1], 8);
		h = (unsigned)a.a[2] << 8 | a.a[3];
		cr_assert(h >= 2 && h <= 65534, "host %u", h);
		cr_assert_not(seen[h]);
		seen[h] = 1;
	}
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 65533u);

	/* Free three; the cursor is past the end, so they come back in
	 * ascending order after wrapping. */
	struct rv_ip_addr r1 = ip("10.8.200.1"), r2 = ip("10.8.0.9"), r3 = ip("10.8.255.254");
	cr_assert_eq(rv_ippool_release(p, &r1), 0);
	cr_assert_eq(rv_ippool_release(p, &r2), 0);
	cr_assert_eq(rv_ippool_release(p, &r3), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &first), 0);
	cr_assert_str_eq(str(&first), "10.8.0.9");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.8.200.1");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.8.255.254");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	free(seen);
	rv_ippool_free(p);
}

/* A /64 capped at 100,000 addresses, with IPv4 in the same pool. */
Test(ippool, ipv6_64_capped)
{
	struct rv_ip_addr n4 = ip("192.168.77.0"), n6 = ip("fd00:1:2:3::"), a, srv;
	struct rv_ippool *p = rv_ippool_new(&n4, 24, &n6, 64, 100000, NULL);
	size_t n = 0;

	cr_assert_not_null(p);
	cr_assert_eq(rv_ippool_capacity(p, AF_INET), 253u);
	cr_assert_eq(rv_ippool_capacity(p, AF_INET6), 100000u);
	cr_assert_eq(rv_ippool_server_addr(p, AF_INET6, &srv), 0);
	cr_assert_str_eq(str(&srv), "fd00:1:2:3::1");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET6, &a), 0);
	cr_assert_str_eq(str(&a), "fd00:1:2:3::2");
	n++;
	while (rv_ippool_alloc(p, AF_INET6, &a) == 0) {
		n++;
	}
	cr_assert_eq(n, 100000u);
	cr_assert_str_eq(str(&a), "fd00:1:2:3::1:86a1"); /* unchanged by the failure */
	cr_assert_eq(rv_ippool_in_use(p, AF_INET6), 100000u);
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 0u);

	struct rv_ip_addr beyond = ip("fd00:1:2:3::1:86a2"), other = ip("fd00:1:2:4::5");
	struct rv_ip_addr high = ip("fd00:1:2:3:1::5");
	cr_assert_eq(rv_ippool_alloc_specific(p, &beyond), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &other), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &high), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &srv), -EADDRINUSE);
	a = ip("fd00:1:2:3::beef");
	cr_assert_eq(rv_ippool_alloc_specific(p, &a), -EADDRINUSE);
	cr_assert_eq(rv_ippool_release(p, &a), 0);
	cr_assert_eq(rv_ippool_alloc_specific(p, &a), 0);
	cr_assert_eq(rv_ippool_alloc_specific(p, &a), -EADDRINUSE);
	rv_ippool_free(p);
}

/* Fixed per-certificate addresses mixed with dynamic ones. */
Test(ippool, specific_then_dynamic)
{
	struct rv_ip_addr n = ip("10.0.0.0"), a;
	struct rv_ippool *p = rv_ippool_new(&n, 30, NULL, 0, 0, NULL);
	struct rv_ip_addr only = ip("10.0.0.2");

	cr_assert_eq(rv_ippool_capacity(p, AF_INET), 1u);
	cr_assert_eq(rv_ippool_alloc_specific(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_release(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.0.0.2");
	cr_assert_eq(rv_ippool_alloc_specific(p, &only), -EADDRINUSE);
	rv_ippool_free(p);

	/* The server address of a /126 and its two clients. */
	struct rv_ip_addr n6 = ip("2001:db8::"), srv;
	p = rv_ippool_new(NULL, 0, &n6, 126, 0, NULL);
	cr_assert_eq(rv_ippool_capacity(p, AF_INET6), 2u);
	cr_assert_eq(rv_ippool_server_addr(p, AF_INET6, &srv), 0);
	cr_assert_str_eq(str(&srv), "2001:db8::1");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET6, &a), 0);
	cr_assert_str_eq(str(&a), "2001:db8::2");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET6, &a), 0);
	cr_assert_str_eq(str(&a), "2001:db8::3");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET6, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -EAFNOSUPPORT);
	rv_ippool_free(p);
}
