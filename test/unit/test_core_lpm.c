/*
 * test_core_lpm.c — the longest-prefix-match trie: numbered tables of
 * nested IPv4 and IPv6 prefixes probed at every prefix edge and edge +-1,
 * argument checks, replace and remove falling back to the covering prefix,
 * prefixes of 16 bits or fewer (which span direct-table entries), memory
 * accounting back to zero, retirement through QSBR, and long random runs of
 * set / replace / remove checked after every step against the brute-force
 * reference in test/lib/t_lpmref.c.
 *
 *   ./build/<dir>/test/test_core_lpm --verbose
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "core/lpm.h"
#include "core/qsbr.h"
#include "test/lib/t_lpmref.h"

/* Distinct, 8-byte aligned values; few of them, so that neighbouring
 * prefixes often share one (runs merge, nodes collapse). */
static uint64_t vals[8];
#define V(i) ((void *)&vals[i])

static void pton(int family, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	cr_assert_eq(inet_pton(family, s, out), 1, "bad address %s", s);
}

struct pfx {
	const char *addr;
	unsigned len;
	int val;
};

struct probe {
	const char *addr;
	int val; /* -1: no match */
};

static void set_all(struct rv_lpm *t, int family, const struct pfx *p, size_t n)
{
	uint8_t a[16];

	for (size_t i = 0; i < n; i++) {
		pton(family, p[i].addr, a);
		cr_assert_eq(rv_lpm_set(t, a, p[i].len, V(p[i].val)), 0, "set %s/%u", p[i].addr,
			     p[i].len);
	}
}

static void probe_all(struct rv_lpm *t, int family, const struct probe *pr, size_t n)
{
	uint8_t a[16];

	for (size_t i = 0; i < n; i++) {
		void *want = pr[i].val < 0 ? NULL : V(pr[i].val);

		pton(family, pr[i].addr, a);
		cr_assert_eq(rv_lpm_lookup(t, a), want, "case %zu: %s -> want %d", i + 1,
			     pr[i].addr, pr[i].val);
	}
}

Test(lpm, empty)
{
	struct rv_lpm *t4 = rv_lpm_new(AF_INET, NULL), *t6 = rv_lpm_new(AF_INET6, NULL);
	uint8_t a[16] = { 10, 1, 2, 3 };
	struct rv_lpm_stats st;

	cr_assert_not_null(t4);
	cr_assert_not_null(t6);
	cr_assert_null(rv_lpm_new(AF_UNIX, NULL));
	cr_assert_null(rv_lpm_lookup(t4, a));
	cr_assert_null(rv_lpm_lookup(t6, a));
	cr_assert_eq(rv_lpm_count(t4), 0u);
	cr_assert_eq(rv_lpm_family(t6), AF_INET6);
	rv_lpm_get_stats(t4, &st);
	cr_assert_eq(st.num_nodes, 0u);
	cr_assert_eq(st.node_bytes, 0u);
	cr_assert_eq(st.shadow_bytes, 0u);
	rv_lpm_free(t4);
	rv_lpm_free(t6);
	rv_lpm_free(NULL);
}

/* Nested IPv4 prefixes at every level of the trie (direct table, first and
 * second node, the short last stride) and probes on their edges. */
Test(lpm, v4_nested_table)
{
	static const struct pfx p[] = {
		{ "10.0.0.0", 8, 1 },	  { "10.20.0.0", 16, 2 },      { "10.20.5.0", 24, 3 },
		{ "10.20.5.128", 25, 4 }, { "10.20.5.7", 32, 5 },      { "10.20.5.6", 31, 6 },
		{ "10.20.128.0", 17, 7 }, { "10.20.5.252", 30, 1 },    { "192.168.1.1", 32, 2 },
		{ "172.16.0.0", 12, 3 },  { "172.31.255.255", 32, 4 },
	};
	static const struct probe pr[] = {
		/* 1 */ { "9.255.255.255", -1 },
		/* 2 */ { "10.0.0.0", 1 },
		/* 3 */ { "10.19.255.255", 1 },
		/* 4 */ { "10.20.0.0", 2 },
		/* 5 */ { "10.20.4.255", 2 },
		/* 6 */ { "10.20.5.0", 3 },
		/* 7 */ { "10.20.5.5", 3 },
		/* 8 */ { "10.20.5.6", 6 },
		/* 9 */ { "10.20.5.7", 5 },
		/* 10 */ { "10.20.5.8", 3 },
		/* 11 */ { "10.20.5.127", 3 },
		/* 12 */ { "10.20.5.128", 4 },
		/* 13 */ { "10.20.5.251", 4 },
		/* 14 */ { "10.20.5.252", 1 },
		/* 15 */ { "10.20.5.255", 1 },
		/* 16 */ { "10.20.6.0", 2 },
		/* 17 */ { "10.20.127.255", 2 },
		/* 18 */ { "10.20.128.0", 7 },
		/* 19 */ { "10.20.255.255", 7 },
		/* 20 */ { "10.21.0.0", 1 },
		/* 21 */ { "10.255.255.255", 1 },
		/* 22 */ { "11.0.0.0", -1 },
		/* 23 */ { "192.168.1.0", -1 },
		/* 24 */ { "192.168.1.1", 2 },
		/* 25 */ { "192.168.1.2", -1 },
		/* 26 */ { "172.15.255.255", -1 },
		/* 27 */ { "172.16.0.0", 3 },
		/* 28 */ { "172.31.255.254", 3 },
		/* 29 */ { "172.31.255.255", 4 },
		/* 30 */ { "172.32.0.0", -1 },
	};
	struct rv_lpm *t = rv_lpm_new(AF_INET, NULL);

	set_all(t, AF_INET, p, sizeof(p) / sizeof(p[0]));
	cr_assert_eq(rv_lpm_count(t), sizeof(p) / sizeof(p[0]));
	probe_all(t, AF_INET, pr, sizeof(pr) / sizeof(pr[0]));
	rv_lpm_free(t);
}

/* IPv6: host addresses in one /64 (a long shared run of bits, so
 * path-compressed nodes), prefixes on both sides of the 64-bit word
 * boundary, the last 4-bit stride, and a lone deep prefix. */
Test(lpm, v6_nested_table)
{
	static const struct pfx p[] = {
		{ "fd99::", 64, 1 },
		{ "fd99::2", 128, 2 },
		{ "fd99::3", 128, 3 },
		{ "fd99::1:0", 112, 4 },
		{ "fd99:0:0:1::", 64, 5 },
		{ "fd99:0:0:0:8000::", 65, 6 },
		{ "fd99::fff0", 124, 7 },
		{ "fd99::ffff", 128, 1 },
		{ "2001:db8:1:2:3:4:5:6", 128, 2 },
		{ "2001:db8::", 32, 3 },
		{ "fe80::", 10, 4 },
		{ "fd00::", 8, 5 },
	};
	static const struct probe pr[] = {
		/* 1 */ { "fd99::1", 1 },
		/* 2 */ { "fd99::2", 2 },
		/* 3 */ { "fd99::3", 3 },
		/* 4 */ { "fd99::4", 1 },
		/* 5 */ { "fd99::ffff:ffff", 1 },
		/* 6 */ { "fd99::1:0", 4 },
		/* 7 */ { "fd99::1:ffff", 4 },
		/* 8 */ { "fd99::2:0", 1 },
		/* 9 */ { "fd99::7fff:ffff:ffff:ffff", 1 },
		/* 10 */ { "fd99::8000:0:0:0", 6 },
		/* 11 */ { "fd99::ffff:ffff:ffff:ffff", 6 },
		/* 12 */ { "fd99:0:0:1::", 5 },
		/* 13 */ { "fd99:0:0:1:ffff:ffff:ffff:ffff", 5 },
		/* 14 */ { "fd99:0:0:2::", 5 },
		/* 15 */ { "fd98:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5 },
		/* 16 */ { "fd99::ffef", 1 },
		/* 17 */ { "fd99::fff0", 7 },
		/* 18 */ { "fd99::fffe", 7 },
		/* 19 */ { "fd99::ffff", 1 },
		/* 20 */ { "fd99::1:0:0", 1 },
		/* 21 */ { "2001:db8:1:2:3:4:5:6", 2 },
		/* 22 */ { "2001:db8:1:2:3:4:5:7", 3 },
		/* 23 */ { "2001:db8:1:2:3:4:5:5", 3 },
		/* 24 */ { "2001:db8:ffff::", 3 },
		/* 25 */ { "2001:db9::", -1 },
		/* 26 */ { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", -1 },
		/* 27 */ { "fe80::1", 4 },
		/* 28 */ { "febf:ffff::", 4 },
		/* 29 */ { "fec0::", -1 },
		/* 30 */ { "fdff:ffff::", 5 },
		/* 31 */ { "fe00::", -1 },
		/* 32 */ { "::", -1 },
		/* 33 */ { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", -1 },
	};
	struct rv_lpm *t = rv_lpm_new(AF_INET6, NULL);

	set_all(t, AF_INET6, p, sizeof(p) / sizeof(p[0]));
	probe_all(t, AF_INET6, pr, sizeof(pr) / sizeof(pr[0]));
	rv_lpm_free(t);
}

Test(lpm, invalid_arguments)
{
	struct rv_lpm *t = rv_lpm_new(AF_INET, NULL), *t6 = rv_lpm_new(AF_INET6, NULL);
	uint8_t a[16] = { 10, 20, 0, 1 }, net[16] = { 10, 20, 0, 0 };

	cr_assert_eq(rv_lpm_set(t, a, 24, V(0)), -EINVAL); /* host bits set */
	cr_assert_eq(rv_lpm_set(t, net, 33, V(0)), -EINVAL);
	cr_assert_eq(rv_lpm_set(t6, net, 129, V(0)), -EINVAL);
	cr_assert_eq(rv_lpm_set(t, net, 16, NULL), -EINVAL);
	cr_assert_eq(rv_lpm_set(t, net, 16, (char *)V(0) + 1), -EINVAL); /* odd */
	cr_assert_eq(rv_lpm_remove(t, net, 16), -ENOENT);
	cr_assert_eq(rv_lpm_remove(t, a, 24), -EINVAL);
	cr_assert_eq(rv_lpm_set(t, net, 16, V(1)), 0);
	cr_assert_eq(rv_lpm_remove(t, net, 17), -ENOENT);
	net[1] = 21;
	cr_assert_eq(rv_lpm_remove(t, net, 15), -EINVAL); /* 10.21/15 has bit 15 set */
	net[1] = 20;
	cr_assert_null(rv_lpm_get(t, a, 24));
	cr_assert_eq(rv_lpm_get(t, net, 16), V(1));
	cr_assert_eq(rv_lpm_count(t), 1u);
	rv_lpm_free(t);
	rv_lpm_free(t6);
}

Test(lpm, replace_and_fall_back)
{
	struct rv_lpm *t = rv_lpm_new(AF_INET, NULL);
	uint8_t n16[4] = { 10, 20, 0, 0 }, n24[4] = { 10, 20, 5, 0 }, h[4] = { 10, 20, 5, 9 };

	cr_assert_eq(rv_lpm_set(t, n16, 16, V(1)), 0);
	cr_assert_eq(rv_lpm_set(t, n24, 24, V(2)), 0);
	cr_assert_eq(rv_lpm_lookup(t, h), V(2));
	cr_assert_eq(rv_lpm_set(t, n24, 24, V(3)), 0); /* replace */
	cr_assert_eq(rv_lpm_count(t), 2u);
	cr_assert_eq(rv_lpm_lookup(t, h), V(3));
	cr_assert_eq(rv_lpm_set(t, n24, 24, V(3)), 0); /* same value: no-op */
	cr_assert_eq(rv_lpm_remove(t, n24, 24), 0);
	cr_assert_eq(rv_lpm_lookup(t, h), V(1)); /* back to the /16 */
	cr_assert_eq(rv_lpm_remove(t, n16, 16), 0);
	cr_assert_null(rv_lpm_lookup(t, h));
	/* The /16 under a /24 of the same value: nothing to tell apart. */
	cr_assert_eq(rv_lpm_set(t, n24, 24, V(1)), 0);
	cr_assert_eq(rv_lpm_set(t, n16, 16, V(1)), 0);
	cr_assert_eq(rv_lpm_lookup(t, h), V(1));
	cr_assert_eq(rv_lpm_remove(t, n16, 16), 0);
	cr_assert_eq(rv_lpm_lookup(t, h), V(1));
	h[2] = 6;
	cr_assert_null(rv_lpm_lookup(t, h));
	rv_lpm_free(t);
}

/* Prefixes of 16 bits or fewer cover whole direct-table entries, some of
 * which already hold subtrees that must inherit the new value. */
Test(lpm, short_prefixes)
{
	struct rv_lpm *t = rv_lpm_new(AF_INET, NULL);
	uint8_t any[4] = { 0 }, n1[4] = { 128 }, n12[4] = { 10, 16 }, n15[4] = { 10, 20 };
	uint8_t h[4] = { 10, 21, 7, 7 }, deep[4] = { 10, 21, 7, 0 };

	cr_assert_eq(rv_lpm_set(t, deep, 24, V(4)), 0);
	cr_assert_eq(rv_lpm_set(t, any, 0, V(1)), 0);
	cr_assert_eq(rv_lpm_set(t, n1, 1, V(2)), 0);
	cr_assert_eq(rv_lpm_set(t, n12, 12, V(3)), 0);
	cr_assert_eq(rv_lpm_set(t, n15, 15, V(5)), 0);
	cr_assert_eq(rv_lpm_lookup(t, h), V(4));
	h[3] = 0;
	h[2] = 8;
	cr_assert_eq(rv_lpm_lookup(t, h), V(5)); /* 10.21.8.0 in 10.20/15 */
	h[1] = 22;
	cr_assert_eq(rv_lpm_lookup(t, h), V(3)); /* 10.22 in 10.16/12 */
	h[0] = 200;
	cr_assert_eq(rv_lpm_lookup(t, h), V(2));
	h[0] = 1;
	cr_assert_eq(rv_lpm_lookup(t, h), V(1));
	cr_assert_eq(rv_lpm_remove(t, any, 0), 0);
	cr_assert_null(rv_lpm_lookup(t, h));
	cr_assert_eq(rv_lpm_remove(t, n15, 15), 0);
	cr_assert_eq(rv_lpm_lookup(t, deep), V(4));
	deep[3] = 1;
	deep[2] = 8;
	cr_assert_eq(rv_lpm_lookup(t, deep), V(3));
	rv_lpm_free(t);
}

/* ---- random runs against the reference ----------------------------------- */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * rand_prefix draws a prefix near a few fixed bases, so prefixes nest and
 * share long runs of bits (path compression, node splits), with lengths
 * weighted towards hosts and towards the trie's stride boundaries.
 */
static unsigned rand_prefix(int family, uint8_t *a)
{
	static const uint8_t bases6[4][16] = {
		{ 0xfd, 0x99 },
		{ 0xfd, 0x99, 0, 0, 0, 0, 0, 1 },
		{ 0x20, 0x01, 0x0d, 0xb8 },
		{ 0xfe, 0x80 },
	};
	static const uint8_t bases4[4][4] = { { 10 }, { 10, 20 }, { 192, 168 }, { 172, 16 } };
	size_t n = family == AF_INET ? 4 : 16;
	unsigned max = (unsigned)n * 8, len, r = (unsigned)(rnd() % 100);

	if (family == AF_INET) {
		memcpy(a, bases4[rnd() % 4], 4);
	} else {
		memcpy(a, bases6[rnd() % 4], 16);
	}
	if (rnd() % 8 == 0) {
		for (size_t i = 0; i < n; i++) {
			a[i] = (uint8_t)rnd();
		}
	}
	/* Flip a few bits past the first byte. */
	for (unsigned k = (unsigned)(rnd() % 5); k > 0; k--) {
		unsigned bit = 8 + (unsigned)(rnd() % (max - 8));

		a[bit / 8] ^= (uint8_t)(1u << (7 - bit % 8));
	}
	if (r < 30) {
		len = max;
	} else if (r < 40) {
		len = (unsigned)(rnd() % 17);
	} else if (r < 60) {
		/* around a stride boundary: 16 + 6j + {-1, 0, 1} */
		len = 16 + 6 * (unsigned)(rnd() % ((max - 16) / 6 + 1)) + (unsigned)(rnd() % 3) - 1;
		len = len > max ? max : len;
	} else {
		len = (unsigned)(rnd() % (max + 1));
	}
	t_prefix_mask(a, len, n);
	return len;
}

static void check_addr(struct rv_lpm *t, const struct t_lpmref *ref, const uint8_t *a,
		       unsigned step)
{
	void *want = t_lpmref_lookup(ref, a), *got = rv_lpm_lookup(t, a);
	char buf[64];

	if (got != want) {
		inet_ntop(ref->family, a, buf, sizeof(buf));
		cr_assert_fail("step %u: lookup %s: got value %ld, want %ld", step, buf,
			       got ? (long)((uint64_t *)got - vals) : -1L,
			       want ? (long)((uint64_t *)want - vals) : -1L);
	}
}

static void check_edges(struct rv_lpm *t, const struct t_lpmref *ref, const uint8_t *p,
			unsigned len, unsigned step)
{
	uint8_t e[4][16];

	t_prefix_edges(p, len, ref->addr_len, e);
	for (int i = 0; i < 4; i++) {
		check_addr(t, ref, e[i], step);
	}
}

static void random_run(int family, uint64_t seed, unsigned steps, struct rv_qsbr *q)
{
	struct rv_lpm *t = rv_lpm_new(family, q);
	struct t_lpmref ref;
	struct rv_lpm_stats st;

	rng = seed;
	t_lpmref_init(&ref, family);
	for (unsigned step = 1; step <= steps; step++) {
		uint8_t a[16] = { 0 };
		unsigned len, op = (unsigned)(rnd() % 10);
		int want, got;

		if (op < 3 && ref.num > 0) {
			/* remove (or replace) an existing prefix */
			const struct t_lpmref_entry *e = &ref.e[rnd() % ref.num];

			memcpy(a, e->addr, 16);
			len = e->len;
			if (op == 0) {
				void *v = V(rnd() % 8);

				want = t_lpmref_set(&ref, a, len, v);
				got = rv_lpm_set(t, a, len, v);
			} else {
				want = t_lpmref_remove(&ref, a, len);
				got = rv_lpm_remove(t, a, len);
			}
		} else {
			len = rand_prefix(family, a);
			if (op == 3) {
				want = t_lpmref_remove(&ref, a, len);
				got = rv_lpm_remove(t, a, len);
			} else {
				void *v = V(rnd() % 8);

				want = t_lpmref_set(&ref, a, len, v);
				got = rv_lpm_set(t, a, len, v);
			}
		}
		cr_assert_eq(got, want, "step %u: op %u returned %d, want %d", step, op, got, want);
		cr_assert_eq(rv_lpm_count(t), ref.num, "step %u", step);
		cr_assert_eq(rv_lpm_get(t, a, len), t_lpmref_get(&ref, a, len), "step %u", step);
		check_edges(t, &ref, a, len, step);
		for (int k = 0; k < 8; k++) {
			uint8_t r[16];

			rand_prefix(family, r);
			r[ref.addr_len - 1] ^= (uint8_t)rnd();
			check_addr(t, &ref, r, step);
		}
		if (step % 500 == 0) {
			for (size_t i = 0; i < ref.num; i++) {
				check_edges(t, &ref, ref.e[i].addr, ref.e[i].len, step);
			}
		}
	}
	/* Remove everything: no node, no shadow byte may remain. */
	while (ref.num > 0) {
		uint8_t a[16];
		unsigned len = ref.e[0].len;

		memcpy(a, ref.e[0].addr, 16);
		cr_assert_eq(rv_lpm_remove(t, a, len), 0);
		t_lpmref_remove(&ref, a, len);
	}
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.num_prefixes, 0u);
	cr_assert_eq(st.num_nodes, 0u, "%zu nodes left", st.num_nodes);
	cr_assert_eq(st.node_bytes, 0u);
	cr_assert_eq(st.shadow_bytes, 0u);
	t_lpmref_cleanup(&ref);
	rv_lpm_free(t);
}

Test(lpm, random_v4_against_reference, .timeout = 120)
{
	for (uint64_t seed = 1; seed <= 4; seed++) {
		random_run(AF_INET, seed * 0x9e3779b97f4a7c15ull, 3000, NULL);
	}
}

Test(lpm, random_v6_against_reference, .timeout = 120)
{
	for (uint64_t seed = 1; seed <= 4; seed++) {
		random_run(AF_INET6, seed * 0xc2b2ae3d27d4eb4full, 3000, NULL);
	}
}

/* With a QSBR domain, replaced nodes wait for a grace period; with no reader
 * registered, one reclaim frees them all. */
Test(lpm, retires_through_qsbr)
{
	struct rv_qsbr *q = rv_qsbr_new(2);
	struct rv_lpm *t = rv_lpm_new(AF_INET6, q);
	uint8_t a[16] = { 0xfd, 0x99 };
	unsigned id;

	cr_assert_not_null(q);
	cr_assert_eq(rv_qsbr_register(q, &id), 0);
	for (int i = 1; i <= 20; i++) {
		a[15] = (uint8_t)i;
		cr_assert_eq(rv_lpm_set(t, a, 128, V(i % 8)), 0);
	}
	cr_assert_gt(rv_qsbr_pending(q), 0u);
	/* A registered reader that has not passed a quiescent point holds
	 * everything back. */
	cr_assert_eq(rv_qsbr_reclaim(q), 0u);
	rv_qsbr_quiescent(q, id);
	cr_assert_gt(rv_qsbr_reclaim(q), 0u);
	cr_assert_eq(rv_qsbr_pending(q), 0u);
	a[15] = 3;
	cr_assert_eq(rv_lpm_lookup(t, a), V(3));
	rv_qsbr_unregister(q, id);
	rv_lpm_free(t);
	rv_qsbr_free(q);
}

/* Memory is accounted per node, and dense /24s cost a few words each. */
Test(lpm, memory_is_accounted)
{
	struct rv_lpm *t = rv_lpm_new(AF_INET, NULL);
	struct rv_lpm_stats st;
	uint8_t a[4] = { 10, 0, 0, 0 };

	for (unsigned i = 0; i < 1024; i++) {
		a[1] = (uint8_t)(i >> 8);
		a[2] = (uint8_t)i;
		cr_assert_eq(rv_lpm_set(t, a, 24, V(i % 8)), 0);
	}
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.num_prefixes, 1024u);
	cr_assert_gt(st.num_nodes, 0u);
	/* Each /24 sits in a node of its /16 with at most three runs. */
	cr_assert_leq(st.node_bytes / st.num_prefixes, 128u, "%zu bytes per prefix",
		      st.node_bytes / st.num_prefixes);
	rv_lpm_free(t);
}

/* The out-of-memory cases' table: 10/8 (4), 10.20.0/24 (1), 10.20.5/24 (2)
 * and 10.20.5.7/32 (3), all under one direct entry, capped at the node
 * memory it uses: not one more block. */
static const uint8_t a24[4] = { 10, 20, 0, 0 }, b24[4] = { 10, 20, 5, 0 };
static const uint8_t c32[4] = { 10, 20, 5, 7 }, n8[4] = { 10 };

static struct rv_lpm *oom_table(void)
{
	struct rv_lpm *t = rv_lpm_new(AF_INET, NULL);
	struct rv_lpm_stats st;

	cr_assert_eq(rv_lpm_set(t, n8, 8, V(4)), 0);
	cr_assert_eq(rv_lpm_set(t, a24, 24, V(1)), 0);
	cr_assert_eq(rv_lpm_set(t, b24, 24, V(2)), 0);
	cr_assert_eq(rv_lpm_set(t, c32, 32, V(3)), 0);
	rv_lpm_get_stats(t, &st);
	rv_lpm_set_memory_limit(t, st.node_bytes);
	return t;
}

/* Out of memory: a new prefix is refused and nothing changes; a removal
 * still takes its value out of every lookup at once (coarsely, for the
 * /16 it lives in), and the next update with memory rebuilds it exactly. */
Test(lpm, out_of_memory)
{
	struct rv_lpm *t = oom_table();
	uint8_t other[4] = { 192, 168, 0, 0 }, in_a[4] = { 10, 20, 0, 1 };
	uint8_t in_b[4] = { 10, 20, 5, 1 };
	struct rv_lpm_stats st;

	cr_assert_eq(rv_lpm_set(t, other, 16, V(5)), 0); /* a direct entry: no node */
	other[2] = 1;
	cr_assert_eq(rv_lpm_set(t, other, 24, V(5)), -ENOMEM);
	cr_assert_null(rv_lpm_get(t, other, 24));
	cr_assert_eq(rv_lpm_count(t), 5u);
	cr_assert_eq(rv_lpm_lookup(t, c32), V(3));

	cr_assert_eq(rv_lpm_remove(t, c32, 32), 0);
	cr_assert_eq(rv_lpm_lookup(t, c32), V(4));  /* gone: the /8 answers */
	cr_assert_eq(rv_lpm_lookup(t, in_a), V(4)); /* coarse for now */
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.degraded, 1u);
	cr_assert_eq(st.leaked_bytes, 0u);
	cr_assert_eq(rv_lpm_count(t), 4u);

	rv_lpm_set_memory_limit(t, 0);
	cr_assert_eq(rv_lpm_set(t, other, 24, V(5)), 0); /* repairs first */
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.degraded, 0u);
	cr_assert_eq(rv_lpm_lookup(t, in_a), V(1));
	cr_assert_eq(rv_lpm_lookup(t, in_b), V(2));
	cr_assert_eq(rv_lpm_lookup(t, c32), V(2));
	rv_lpm_free(t);
}

/* A coarse entry whose last longer prefix is removed while memory is still
 * short answers exactly again, and is no longer counted as degraded, without
 * waiting for an update to repair it (found by fuzz_lpm). */
Test(lpm, out_of_memory_last_longer_prefix_removed)
{
	struct rv_lpm *t = oom_table();
	uint8_t in_a[4] = { 10, 20, 0, 1 };
	struct rv_lpm_stats st;

	cr_assert_eq(rv_lpm_remove(t, c32, 32), 0);
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.degraded, 1u);
	rv_lpm_set_memory_limit(t, 1); /* no node at all: repair keeps failing */
	cr_assert_eq(rv_lpm_remove(t, a24, 24), 0);
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.degraded, 1u); /* b24 still under the entry */
	cr_assert_eq(rv_lpm_remove(t, b24, 24), 0);
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.degraded, 0u);
	cr_assert_eq(rv_lpm_lookup(t, in_a), V(4));
	cr_assert_eq(rv_lpm_lookup(t, c32), V(4));
	cr_assert_eq(rv_lpm_remove(t, n8, 8), 0);
	rv_lpm_get_stats(t, &st);
	cr_assert_eq(st.num_nodes, 0u);
	cr_assert_eq(st.degraded, 0u);
	cr_assert_null(rv_lpm_lookup(t, in_a));
	rv_lpm_free(t);
}
