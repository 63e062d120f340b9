/*
 * test_core_ippool.c — virtual-address pools: bounds of IPv4 networks
 * (network, server, broadcast), a full /16, an IPv6 /64 under a cap, fixed
 * addresses, release errors and cursor reuse order; reservations (reserve,
 * alloc_reserved, release keeps them, the cursor and alloc_specific never
 * take them, even for a client that reconnects all the time).
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

#include "core/config.h"
#include "core/ippool.h"
#include "test/lib/t_ip.h"

static const char *str(const struct rv_ip_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	return inet_ntop(a->family, a->a, buf, sizeof(buf));
}

Test(ippool, bad_params)
{
	struct rv_ip_addr n4 = t_ip("10.8.0.0"), n6 = t_ip("fd00::");
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
	struct rv_ip_addr n = t_ip("10.8.0.5"), a, srv;
	struct rv_ippool *p = rv_ippool_new(&n, 29, NULL, 0, 0, NULL);
	struct rv_ip_addr bcast = t_ip("10.8.0.7"), net = t_ip("10.8.0.0"), out = t_ip("10.9.0.2");

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

	a = t_ip("10.8.0.4");
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

/* alloc_near takes the first free address from a place, wrapping, and
 * leaves the cursor of alloc where it was; reserved ones never. */
Test(ippool, alloc_near_leaves_the_cursor)
{
	struct rv_ip_addr n = t_ip("10.8.0.0"), a, r = t_ip("10.8.0.10");
	struct rv_ippool *p = rv_ippool_new(&n, 28, NULL, 0, 0, NULL); /* .2-.14: 13 */

	cr_assert_not_null(p);
	cr_assert_eq(rv_ippool_reserve(p, &r), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.8.0.2");
	cr_assert_eq(rv_ippool_alloc_near(p, AF_INET, 5, &a), 0); /* index 5: .7 */
	cr_assert_str_eq(str(&a), "10.8.0.7");
	cr_assert_eq(rv_ippool_alloc_near(p, AF_INET, 5 + 13, &a), 0); /* modulo: .8 */
	cr_assert_str_eq(str(&a), "10.8.0.8");
	cr_assert_eq(rv_ippool_alloc_near(p, AF_INET, 7, &a), 0); /* .9 in use, .10 reserved */
	cr_assert_str_eq(str(&a), "10.8.0.9");
	cr_assert_eq(rv_ippool_alloc_near(p, AF_INET, 7, &a), 0);
	cr_assert_str_eq(str(&a), "10.8.0.11");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0); /* the cursor's next */
	cr_assert_str_eq(str(&a), "10.8.0.3");
	for (int i = 0; i < 3; i++) { /* .12-.14 */
		cr_assert_eq(rv_ippool_alloc_near(p, AF_INET, 10, &a), 0);
	}
	cr_assert_eq(rv_ippool_alloc_near(p, AF_INET, 12, &a), 0); /* wraps to .4 */
	cr_assert_str_eq(str(&a), "10.8.0.4");
	cr_assert_eq(rv_ippool_alloc_near(p, AF_INET6, 0, &a), -EAFNOSUPPORT);
	while (rv_ippool_alloc(p, AF_INET, &a) == 0) {
	}
	cr_assert_eq(rv_ippool_alloc_near(p, AF_INET, 3, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 12u);
	rv_ippool_free(p);
}

/* A /16: all 65,533 client addresses (65,534 hosts with the server), each
 * once; the cursor moves on, so a released address is reused last. */
Test(ippool, full_ipv4_16)
{
	struct rv_ip_addr n = t_ip("10.8.0.0"), a, first;
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
	struct rv_ip_addr r1 = t_ip("10.8.200.1"), r2 = t_ip("10.8.0.9"), r3 = t_ip("10.8.255.254");
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
	struct rv_ip_addr n4 = t_ip("192.168.77.0"), n6 = t_ip("fd00:1:2:3::"), a, srv;
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

	struct rv_ip_addr beyond = t_ip("fd00:1:2:3::1:86a2"), other = t_ip("fd00:1:2:4::5");
	struct rv_ip_addr high = t_ip("fd00:1:2:3:1::5");
	cr_assert_eq(rv_ippool_alloc_specific(p, &beyond), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &other), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &high), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_specific(p, &srv), -EADDRINUSE);
	a = t_ip("fd00:1:2:3::beef");
	cr_assert_eq(rv_ippool_alloc_specific(p, &a), -EADDRINUSE);
	cr_assert_eq(rv_ippool_release(p, &a), 0);
	cr_assert_eq(rv_ippool_alloc_specific(p, &a), 0);
	cr_assert_eq(rv_ippool_alloc_specific(p, &a), -EADDRINUSE);
	rv_ippool_free(p);
}

/* Fixed per-certificate addresses mixed with dynamic ones. */
Test(ippool, specific_then_dynamic)
{
	struct rv_ip_addr n = t_ip("10.0.0.0"), a;
	struct rv_ippool *p = rv_ippool_new(&n, 30, NULL, 0, 0, NULL);
	struct rv_ip_addr only = t_ip("10.0.0.2");

	cr_assert_eq(rv_ippool_capacity(p, AF_INET), 1u);
	cr_assert_eq(rv_ippool_alloc_specific(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_release(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.0.0.2");
	cr_assert_eq(rv_ippool_alloc_specific(p, &only), -EADDRINUSE);
	rv_ippool_free(p);

	/* The server address of a /126 and its two clients. */
	struct rv_ip_addr n6 = t_ip("2001:db8::"), srv;
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

/* Reservations in a /29 (clients .2-.6): reserve and its errors, the
 * reserved address is out of reach of alloc and alloc_specific, its owner
 * takes it with alloc_reserved, release keeps the reservation. */
Test(ippool, reserve_basics)
{
	struct rv_ip_addr n = t_ip("10.8.0.0"), a;
	struct rv_ippool *p = rv_ippool_new(&n, 29, NULL, 0, 0, NULL);
	struct rv_ip_addr r = t_ip("10.8.0.4"), srv = t_ip("10.8.0.1"), bcast = t_ip("10.8.0.7");
	struct rv_ip_addr net = t_ip("10.8.0.0"), out = t_ip("10.9.0.4"), v6 = t_ip("fd00::4");
	struct rv_ip_addr plain = t_ip("10.8.0.3");
	const char *want[] = { "10.8.0.2", "10.8.0.3", "10.8.0.5", "10.8.0.6" };

	cr_assert_not_null(p);
	cr_assert_not(rv_ippool_reserved(p, &r));
	cr_assert_eq(rv_ippool_reserve(p, &r), 0);
	cr_assert_eq(rv_ippool_reserve(p, &r), 0); /* idempotent */
	cr_assert(rv_ippool_reserved(p, &r));
	cr_assert_not(rv_ippool_in_use_addr(p, &r));
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 0);
	cr_assert_eq(rv_ippool_reserve(p, &srv), -EINVAL);
	cr_assert_eq(rv_ippool_reserve(p, &bcast), -EINVAL);
	cr_assert_eq(rv_ippool_reserve(p, &net), -EINVAL);
	cr_assert_eq(rv_ippool_reserve(p, &out), -EINVAL);
	cr_assert_eq(rv_ippool_reserve(p, &v6), -EINVAL); /* no IPv6 in this pool */
	cr_assert_not(rv_ippool_reserved(p, &srv));
	cr_assert_not(rv_ippool_reserved(p, &v6));

	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
		cr_assert_str_eq(str(&a), want[i]);
	}
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_alloc_specific(p, &r), -EACCES);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &plain), -ENOENT);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &srv), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &v6), -EINVAL);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &r), 0);
	cr_assert(rv_ippool_in_use_addr(p, &r));
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 5);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &r), -EADDRINUSE);
	cr_assert_eq(rv_ippool_alloc_specific(p, &r), -EACCES);
	/* Released, it stays reserved: alloc still cannot have it. */
	cr_assert_eq(rv_ippool_release(p, &r), 0);
	cr_assert_eq(rv_ippool_release(p, &r), -ENOENT);
	cr_assert(rv_ippool_reserved(p, &r));
	cr_assert_not(rv_ippool_in_use_addr(p, &r));
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &r), 0);
	cr_assert_eq(rv_ippool_release(p, &r), 0);
	/* Unreserved, it is an ordinary address again. */
	rv_ippool_unreserve(p, &r);
	rv_ippool_unreserve(p, &r);
	rv_ippool_unreserve(p, &srv);
	cr_assert_not(rv_ippool_reserved(p, &r));
	cr_assert_eq(rv_ippool_alloc_reserved(p, &r), -ENOENT);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.8.0.4");
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_not(rv_ippool_in_use_addr(p, &srv));
	cr_assert_not(rv_ippool_in_use_addr(p, &out));
	rv_ippool_free(p);
}

/* Reserving an address a client holds dynamically: it stays with that
 * client, and is reserved from its release on. */
Test(ippool, reserve_in_use)
{
	struct rv_ip_addr n = t_ip("10.8.0.0"), a, held;
	struct rv_ippool *p = rv_ippool_new(&n, 29, NULL, 0, 0, NULL);

	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &held), 0);
	cr_assert_str_eq(str(&held), "10.8.0.2");
	cr_assert_eq(rv_ippool_reserve(p, &held), 0);
	cr_assert(rv_ippool_in_use_addr(p, &held));
	cr_assert(rv_ippool_reserved(p, &held));
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 1);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &held), -EADDRINUSE);
	/* Four others are free while .2 is held. */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	}
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_release(p, &held), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC, "the released address is reserved");
	cr_assert_eq(rv_ippool_alloc_reserved(p, &held), 0);
	/* Unreserving a held address leaves it held; released, it is free. */
	rv_ippool_unreserve(p, &held);
	cr_assert(rv_ippool_in_use_addr(p, &held));
	cr_assert_eq(rv_ippool_release(p, &held), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.8.0.2");
	rv_ippool_free(p);
}

/* The attack reservations fix: a client that reconnects over and over
 * walks the cursor round the whole pool, and must never be handed an
 * address reserved for another certificate (here at the first and last
 * client address and on both sides of bitmap word boundaries). Then the
 * pool fills up without them and their owners still get them. */
Test(ippool, reconnect_walk_never_takes_reserved)
{
	struct rv_ip_addr n4 = t_ip("10.8.0.0"), n6 = t_ip("fd00::"), a;
	struct rv_ippool *p = rv_ippool_new(&n4, 24, &n6, 64, 300, NULL);
	const char *res4[] = { "10.8.0.2", "10.8.0.65", "10.8.0.66", "10.8.0.129", "10.8.0.254" };
	const char *res6[] = { "fd00::2", "fd00::41", "fd00::42", "fd00::12d" };
	struct rv_ip_addr r4[5], r6[4];
	uint8_t seen4[256] = { 0 };
	size_t n = 0;

	cr_assert_not_null(p);
	for (size_t i = 0; i < 5; i++) {
		r4[i] = t_ip(res4[i]);
		cr_assert_eq(rv_ippool_reserve(p, &r4[i]), 0);
	}
	for (size_t i = 0; i < 4; i++) {
		r6[i] = t_ip(res6[i]);
		cr_assert_eq(rv_ippool_reserve(p, &r6[i]), 0, "%s", res6[i]);
	}
	/* One client, 10,000 reconnects: about 40 trips round the pool. */
	for (int round = 0; round < 10000; round++) {
		int fam = round % 2 ? AF_INET6 : AF_INET;

		cr_assert_eq(rv_ippool_alloc(p, fam, &a), 0);
		cr_assert_not(rv_ippool_reserved(p, &a), "reconnect %d got reserved %s", round,
			      str(&a));
		if (fam == AF_INET) {
			seen4[a.a[3]] = 1;
		}
		cr_assert_eq(rv_ippool_release(p, &a), 0);
	}
	/* It did walk the whole pool: every unreserved IPv4 address. */
	for (unsigned h = 2; h <= 254; h++) {
		bool reserved = h == 2 || h == 65 || h == 66 || h == 129 || h == 254;

		cr_assert_eq(seen4[h], !reserved, "10.8.0.%u", h);
	}
	/* Fill up: 253 - 5 addresses, none reserved. */
	while (rv_ippool_alloc(p, AF_INET, &a) == 0) {
		cr_assert_not(rv_ippool_reserved(p, &a));
		n++;
	}
	cr_assert_eq(n, 253 - 5);
	n = 0;
	while (rv_ippool_alloc(p, AF_INET6, &a) == 0) {
		cr_assert_not(rv_ippool_reserved(p, &a));
		n++;
	}
	cr_assert_eq(n, 300 - 4);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(rv_ippool_alloc_reserved(p, &r4[i]), 0, "%s", res4[i]);
	}
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(rv_ippool_alloc_reserved(p, &r6[i]), 0, "%s", res6[i]);
	}
	cr_assert_eq(rv_ippool_in_use(p, AF_INET), 253);
	cr_assert_eq(rv_ippool_in_use(p, AF_INET6), 300);
	rv_ippool_free(p);
}

/* A pool of one address, reserved: alloc sees a full pool until the
 * reservation ends. */
Test(ippool, reserved_single_address)
{
	struct rv_ip_addr n = t_ip("10.0.0.0"), a, only = t_ip("10.0.0.2");
	struct rv_ippool *p = rv_ippool_new(&n, 30, NULL, 0, 0, NULL);

	cr_assert_eq(rv_ippool_reserve(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	cr_assert_eq(rv_ippool_release(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	rv_ippool_unreserve(p, &only);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	cr_assert_str_eq(str(&a), "10.0.0.2");
	/* Reserved while held, then unreserved while held: no reservation
	 * is left to count once it is released. */
	cr_assert_eq(rv_ippool_reserve(p, &only), 0);
	rv_ippool_unreserve(p, &only);
	cr_assert_eq(rv_ippool_release(p, &only), 0);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), 0);
	rv_ippool_free(p);
}

/* A fixed address of the network past the first max_hosts (the cap sizes
 * the tables; a fixed address only has to lie inside the network) takes the
 * pool up to it: it was refused as "not a client address of the pool". The
 * addresses between are no one's: handed out dynamically, they were lost
 * at a reload that dropped the fixed one (a tester's client's session
 * ended, "its address left the pool"). */
Test(ippool, reserve_past_the_cap)
{
	struct rv_ip_addr n4 = t_ip("10.99.0.0"), n6 = t_ip("fd99::"), a;
	struct rv_ippool *p = rv_ippool_new(&n4, 16, &n6, 64, 100, NULL);
	struct rv_ip_addr f4 = t_ip("10.99.20.1"), f6 = t_ip("fd99::beef");
	struct rv_ip_addr bcast = t_ip("10.99.255.255"), far = t_ip("fd99::1:0:0");
	size_t n = 0;

	cr_assert_not_null(p);
	cr_assert_eq(rv_ippool_capacity(p, AF_INET), 100u);
	cr_assert_eq(rv_ippool_reserve(p, &f4), 0);
	cr_assert_eq(rv_ippool_reserve(p, &f6), 0);
	cr_assert(rv_ippool_reserved(p, &f4));
	cr_assert_eq(rv_ippool_capacity(p, AF_INET), 101u); /* and 10.99.20.1 */
	/* Open to anyone: the 100 dynamic ones, less those reserved among
	 * them (round-twenty-seven tester 134: the fixed ones counted as
	 * open, and addresses held for returning clients filled the rest). */
	cr_assert_eq(rv_ippool_open_capacity(p, AF_INET), 100u);
	a = t_ip("10.99.0.5");
	cr_assert_eq(rv_ippool_reserve(p, &a), 0);
	a = t_ip("10.99.0.70"); /* in the second word of the bitmap */
	cr_assert_eq(rv_ippool_reserve(p, &a), 0);
	cr_assert_eq(rv_ippool_open_capacity(p, AF_INET), 98u);
	cr_assert_eq(rv_ippool_open_free(p, AF_INET), 98u);
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &n4), 0);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &f4), 0, "fixed, past the dynamic ones");
	cr_assert_eq(rv_ippool_open_free(p, AF_INET), 97u, "the fixed one is none of them");
	cr_assert_eq(rv_ippool_release(p, &n4), 0);
	cr_assert_eq(rv_ippool_release(p, &f4), 0);
	cr_assert_eq(rv_ippool_open_free(p, AF_INET), 98u);
	rv_ippool_unreserve(p, &a);
	a = t_ip("10.99.0.5");
	rv_ippool_unreserve(p, &a);
	cr_assert_eq(rv_ippool_open_capacity(p, AF_INET), 100u);
	a = t_ip("10.99.0.200");
	cr_assert_eq(rv_ippool_alloc_specific(p, &a), -EINVAL, "between: no one's");
	cr_assert_eq(rv_ippool_reserve(p, &bcast), -EINVAL);
	cr_assert_eq(rv_ippool_reserve(p, &far), -ERANGE, "past RV_IPPOOL_MAX_HOSTS");
	/* Its owner gets it; dynamic clients every other address, never it. */
	cr_assert_eq(rv_ippool_alloc_reserved(p, &f4), 0);
	cr_assert_eq(rv_ippool_alloc_reserved(p, &f6), 0);
	while (rv_ippool_alloc(p, AF_INET, &a) == 0) {
		cr_assert_lt(a.a[2] * 256 + a.a[3], 102, "%s: past the first 100", str(&a));
		n++;
	}
	cr_assert_eq(n, 100u);
	cr_assert_eq(rv_ippool_release(p, &f4), 0);
	cr_assert(rv_ippool_reserved(p, &f4));
	cr_assert_eq(rv_ippool_alloc(p, AF_INET, &a), -ENOSPC);
	rv_ippool_free(p);

	/* A pool6 shorter than /64: an address with host bits above the low
	 * 64 is past the cap too, not "no client address of the pool"
	 * (round-sixteen tester 76). */
	p = rv_ippool_new(&n4, 16, &n6, 16, 100, NULL);
	cr_assert_not_null(p);
	far = t_ip("fd99:1::1");
	cr_assert_eq(rv_ippool_reserve(p, &far), -ERANGE, "host bits above the low 64");
	far = t_ip("fd98::1");
	cr_assert_eq(rv_ippool_reserve(p, &far), -EINVAL, "another network");
	rv_ippool_free(p);
}

/* A fixed address the pool cannot hand out is refused naming its line and
 * the address, and why (it said neither: round-twenty-nine tester 144). */
Test(ippool, reserve_fixed_says_which)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "fixed = a 10.99.0.5\nfixed = b 10.99.0.1\n",
		  "line 2: fixed b: 10.99.0.1 is the server's own address" },
		{ "\nfixed = a 10.99.0.7 fd99::\n",
		  "line 2: fixed a: fd99:: is the pool's network or broadcast address" },
		{ "fixed = a 10.99.0.255\n", "line 1: fixed a: 10.99.0.255 is the pool's network" },
	};
	static struct rv_config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rv_ippool *p;

		rv_config_defaults(&cfg, RV_CONFIG_SERVER);
		cr_assert_eq(rv_config_parse_buf(&cfg, "t.conf", cases[i].text,
						 strlen(cases[i].text), err, sizeof(err)),
			     0, "case %zu: %s", i, err);
		p = rv_ippool_new(&cfg.pool4.addr, cfg.pool4.len, &cfg.pool6.addr, cfg.pool6.len,
				  100, NULL);
		cr_assert_not_null(p);
		err[0] = '\0';
		cr_assert_eq(rv_ippool_reserve_fixed(p, &cfg, err, sizeof(err)), -EINVAL,
			     "case %zu", i);
		cr_assert(strstr(err, cases[i].want), "case %zu: '%s'", i, err);
		rv_ippool_free(p);
	}
}
