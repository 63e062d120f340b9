/*
 * test_core_admit.c — fair admission of half-open connections
 * (core/admit.c): each rule of the victim choice in admit.h on its own
 * (per-source overflow evicts the source's own oldest, CONNECTED before
 * HELLO, the heaviest source pays, a one-source flood never evicts a
 * lighter source, IPv6 /64 and IPv4-mapped grouping, promote, idempotent
 * remove, lowered limits drained through rv_admit_victim, a caller that
 * never removes victims), then a randomised test against a brute-force
 * model of the same rules (where sources tie, the victim's source must be
 * one of the tied ones).
 *
 *   ./build/<dir>/test/test_core_admit --verbose
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "core/admit.h"
#include "core/compiler.h"
#include "test/lib/t_ip.h"

static struct rv_admit *new_admit(unsigned total, unsigned per)
{
	struct rv_admit_limits lim = { total, per };
	struct rv_admit *a = rv_admit_new(&lim);

	cr_assert_not_null(a);
	return a;
}

/* add registers |e| from |src| and checks the victim it names. */
static void add(struct rv_admit *a, struct rv_admit_entry *e, const char *src,
		const struct rv_admit_entry *want)
{
	struct rv_ip_addr x = t_ip(src);
	struct rv_admit_entry *v = rv_admit_add(a, e, &x);

	cr_assert_eq(v, want, "add from %s: victim %p, want %p", src, (void *)v,
		     (const void *)want);
	if (v) {
		rv_admit_remove(a, v);
	}
}

Test(admit, bad_limits)
{
	const struct rv_admit_limits bad[] = {
		{ 0, 0 }, { 0, 1 }, { 1, 0 }, { 4, 5 }, { RV_ADMIT_MAX_TOTAL + 1u, 1 },
	};
	struct rv_admit *a = new_admit(4, 2);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_null(rv_admit_new(&bad[i]), "limits %zu", i);
		cr_assert_eq(rv_admit_set_limits(a, &bad[i]), -EINVAL, "limits %zu", i);
	}
	rv_admit_free(a);
	rv_admit_free(NULL);
}

/* Rule 1: a source over its limit loses its own oldest entry. */
Test(admit, per_source_overflow_evicts_own_oldest)
{
	struct rv_admit *a = new_admit(100, 3);
	struct rv_admit_entry e[6] = { 0 }, other = { 0 };

	add(a, &other, "192.0.2.9", NULL);
	add(a, &e[0], "192.0.2.1", NULL);
	add(a, &e[1], "192.0.2.1", NULL);
	add(a, &e[2], "192.0.2.1", NULL);
	add(a, &e[3], "192.0.2.1", &e[0]);
	add(a, &e[4], "192.0.2.1", &e[1]);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED), 4);
	cr_assert_eq(rv_admit_sources(a), 2);
	cr_assert(other.active);
	rv_admit_free(a);
}

/* Rule 1: CONNECTED before HELLO, even when that is the new entry. */
Test(admit, per_source_connected_before_hello)
{
	struct rv_admit *a = new_admit(100, 3);
	struct rv_admit_entry e[6] = { 0 };

	add(a, &e[0], "192.0.2.1", NULL);
	add(a, &e[1], "192.0.2.1", NULL);
	add(a, &e[2], "192.0.2.1", NULL);
	rv_admit_promote(a, &e[0]);
	rv_admit_promote(a, &e[1]);
	add(a, &e[3], "192.0.2.1", &e[2]); /* oldest CONNECTED, not the older HELLOs */
	rv_admit_promote(a, &e[3]);
	/* Three ClientHellos in flight: a fourth bare connect is refused. */
	add(a, &e[4], "192.0.2.1", &e[4]);
	cr_assert_not(e[4].active);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_HELLO), 3);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED), 0);
	rv_admit_free(a);
}

/* Rule 2: over max_total, the source holding the most CONNECTED entries
 * loses its oldest CONNECTED one. */
Test(admit, total_heaviest_source_pays)
{
	struct rv_admit *a = new_admit(6, 6);
	struct rv_admit_entry x[4] = { 0 }, y[2] = { 0 }, z = { 0 }, w = { 0 };

	add(a, &x[0], "198.51.100.1", NULL);
	add(a, &y[0], "198.51.100.2", NULL);
	add(a, &x[1], "198.51.100.1", NULL);
	add(a, &y[1], "198.51.100.2", NULL);
	add(a, &x[2], "198.51.100.1", NULL);
	add(a, &z, "198.51.100.3", NULL);
	add(a, &w, "198.51.100.4", &x[0]); /* x: 3, y: 2, z: 1, w: 1 */
	add(a, &x[0], "198.51.100.1", &x[1]);
	rv_admit_promote(a, &x[2]);
	rv_admit_promote(a, &x[0]);
	/* x: 2 HELLO; y: 2 CONNECTED is now the heaviest in CONNECTED. */
	add(a, &x[3], "198.51.100.1", &y[0]);
	rv_admit_free(a);
}

/* Rule 2: a ClientHello is evicted only after every bare connect; among
 * sources tied for the most CONNECTED entries, any may pay. */
Test(admit, total_connected_before_hello)
{
	struct rv_admit *a = new_admit(4, 4);
	struct rv_admit_entry h[3] = { 0 }, b = { 0 }, c = { 0 };
	struct rv_ip_addr cs = t_ip("203.0.113.3");
	struct rv_admit_entry *v;

	for (int i = 0; i < 3; i++) {
		add(a, &h[i], "203.0.113.1", NULL);
		rv_admit_promote(a, &h[i]);
	}
	add(a, &b, "203.0.113.2", NULL);
	v = rv_admit_add(a, &c, &cs);
	cr_assert(v == &b || v == &c, "a HELLO entry was evicted before a CONNECTED one");
	rv_admit_remove(a, v);
	for (int i = 0; i < 3; i++) {
		cr_assert(h[i].active);
	}
	rv_admit_free(a);
}

/* One source flooding bare connects never evicts another source's entry
 * while it holds more than that source: the honest source keeps all of
 * its entries, the flood evicts itself. */
Test(admit, flood_from_one_source)
{
	enum { TOTAL = 32, PER = 32, HONEST = 5, FLOOD = 2000 };
	struct rv_admit *a = new_admit(TOTAL, PER);
	struct rv_admit_entry honest[HONEST] = { 0 }, *flood = calloc(FLOOD, sizeof(*flood));
	struct rv_ip_addr fs = t_ip("2001:db8:bad::1");

	cr_assert_not_null(flood);
	for (int i = 0; i < HONEST; i++) {
		add(a, &honest[i], "192.0.2.77", NULL);
	}
	rv_admit_promote(a, &honest[1]);
	for (int i = 0; i < FLOOD; i++) {
		struct rv_admit_entry *v = rv_admit_add(a, &flood[i], &fs);

		if (v) {
			cr_assert(v >= flood && v < flood + FLOOD,
				  "flood entry %d evicted an honest "
				  "one",
				  i);
			rv_admit_remove(a, v);
		}
	}
	for (int i = 0; i < HONEST; i++) {
		cr_assert(honest[i].active);
	}
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED) + rv_admit_count(a, RV_ADMIT_HELLO),
		     TOTAL);
	/* A per-source limit below the total: the flood stops at it. */
	struct rv_admit_limits lim = { TOTAL, 8 };
	cr_assert_eq(rv_admit_set_limits(a, &lim), 0);
	for (struct rv_admit_entry *v; (v = rv_admit_victim(a));) {
		cr_assert(v >= flood && v < flood + FLOOD);
		rv_admit_remove(a, v);
	}
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED) + rv_admit_count(a, RV_ADMIT_HELLO),
		     HONEST + 8);
	rv_admit_free(a);
	free(flood);
}

/* An IPv6 /64 is one source; an IPv4-mapped address is its IPv4 source. */
Test(admit, source_grouping)
{
	struct rv_admit *a = new_admit(100, 2);
	struct rv_admit_entry e[8] = { 0 };

	add(a, &e[0], "2001:db8:1:2::1", NULL);
	add(a, &e[1], "2001:db8:1:2:ffff:ffff:ffff:ffff", NULL);
	add(a, &e[2], "2001:db8:1:2:1234::9", &e[0]);
	add(a, &e[3], "2001:db8:1:3::1", NULL); /* the next /64 */
	cr_assert_eq(rv_admit_sources(a), 2);
	add(a, &e[4], "10.0.0.1", NULL);
	add(a, &e[5], "::ffff:10.0.0.1", NULL);
	add(a, &e[6], "10.0.0.1", &e[4]);
	add(a, &e[0], "::ffff:10.0.0.2", NULL);
	add(a, &e[7], "10.0.0.3", NULL);
	cr_assert_eq(rv_admit_sources(a), 5);
	/* 10.0.0.0/8 as IPv4 and as IPv6 (not mapped) are different. */
	rv_admit_remove(a, &e[7]);
	add(a, &e[7], "a00:1::", NULL);
	cr_assert_eq(rv_admit_sources(a), 5);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED), 7);
	rv_admit_free(a);
}

Test(admit, promote_and_remove_idempotent)
{
	struct rv_admit *a = new_admit(10, 10);
	struct rv_admit_entry e[3] = { 0 }, zero = { 0 };

	add(a, &e[0], "192.0.2.1", NULL);
	add(a, &e[1], "192.0.2.1", NULL);
	add(a, &e[2], "192.0.2.2", NULL);
	rv_admit_promote(a, &e[0]);
	rv_admit_promote(a, &e[0]);
	rv_admit_promote(a, &zero);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED), 2);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_HELLO), 1);
	rv_admit_remove(a, &e[0]);
	rv_admit_remove(a, &e[0]);
	rv_admit_remove(a, &zero);
	cr_assert_not(e[0].active);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_HELLO), 0);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED), 2);
	cr_assert_eq(rv_admit_sources(a), 2);
	rv_admit_promote(a, &e[0]); /* removed: no-op */
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_HELLO), 0);
	/* Adding an entry that is already registered changes nothing. */
	struct rv_ip_addr other = t_ip("192.0.2.3");
	cr_assert_null(rv_admit_add(a, &e[1], &other));
	cr_assert_eq(rv_admit_sources(a), 2);
	rv_admit_remove(a, &e[1]);
	rv_admit_remove(a, &e[2]);
	cr_assert_eq(rv_admit_sources(a), 0);
	cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED), 0);
	/* A removed entry can be added again. */
	add(a, &e[1], "192.0.2.1", NULL);
	cr_assert_eq(rv_admit_sources(a), 1);
	rv_admit_free(a);
}

/* Lowered limits: rv_admit_victim first trims sources over the new
 * per-source limit (heaviest first, CONNECTED before HELLO, HELLO in
 * promotion order), then the total. */
Test(admit, limits_shrink)
{
	struct rv_admit *a = new_admit(20, 10);
	struct rv_admit_entry x[6] = { 0 }, y[3] = { 0 }, z[2] = { 0 };
	struct rv_admit_limits lim = { 4, 2 };

	for (int i = 0; i < 6; i++) {
		add(a, &x[i], "192.0.2.1", NULL);
	}
	for (int i = 0; i < 3; i++) {
		add(a, &y[i], "192.0.2.2", NULL);
		rv_admit_promote(a, &y[i]);
	}
	add(a, &z[0], "192.0.2.3", NULL);
	add(a, &z[1], "192.0.2.3", NULL);
	rv_admit_promote(a, &x[4]);
	rv_admit_promote(a, &x[2]);
	cr_assert_null(rv_admit_victim(a));
	cr_assert_eq(rv_admit_set_limits(a, &lim), 0);
	/* x (6) is trimmed to 2: its CONNECTED ones first, oldest first. */
	const struct rv_admit_entry *want[] = { &x[0], &x[1], &x[3], &x[5] };
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		struct rv_admit_entry *v = rv_admit_victim(a);

		cr_assert_eq(v, want[i], "victim %zu", i);
		rv_admit_remove(a, v);
	}
	/* x: HELLO x[4], x[2] (promotion order); y: 3 HELLO; z: 2 CONNECTED. */
	struct rv_admit_entry *v = rv_admit_victim(a);
	cr_assert_eq(v, &y[0], "y is the heaviest and over the limit");
	rv_admit_remove(a, v);
	/* 6 left > 4: z holds the only CONNECTED entries. */
	v = rv_admit_victim(a);
	cr_assert_eq(v, &z[0]);
	rv_admit_remove(a, v);
	v = rv_admit_victim(a);
	cr_assert_eq(v, &z[1]);
	rv_admit_remove(a, v);
	/* 4 left, all HELLO: within limits. */
	cr_assert_null(rv_admit_victim(a));
	/* Total lowered again: the heaviest HELLO source's oldest HELLO. */
	lim.max_total = 3;
	cr_assert_eq(rv_admit_set_limits(a, &lim), 0);
	v = rv_admit_victim(a);
	cr_assert(v == &x[4] || v == &y[1], "x and y hold 2 HELLO each");
	rv_admit_remove(a, v);
	cr_assert_null(rv_admit_victim(a));
	rv_admit_free(a);
}

/* Raising max_total past the preallocated room grows it; a caller that
 * does not remove victims cannot grow the table. */
Test(admit, capacity)
{
	struct rv_admit *a = new_admit(2, 2);
	struct rv_admit_entry e[40] = { 0 };
	struct rv_ip_addr s[40];
	struct rv_admit_limits lim = { 30, 1 };

	for (int i = 0; i < 40; i++) {
		s[i] = t_ip("192.0.2.1");
		s[i].a[3] = (uint8_t)i;
	}
	cr_assert_null(rv_admit_add(a, &e[0], &s[0]));
	cr_assert_null(rv_admit_add(a, &e[1], &s[1]));
	cr_assert_not_null(rv_admit_add(a, &e[2], &s[2])); /* not removed */
	cr_assert_eq(rv_admit_add(a, &e[3], &s[3]), &e[3]);
	cr_assert_not(e[3].active);
	rv_admit_remove(a, &e[3]);
	cr_assert_eq(rv_admit_sources(a), 3);
	cr_assert_eq(rv_admit_set_limits(a, &lim), 0);
	for (int i = 3; i < 30; i++) {
		cr_assert_null(rv_admit_add(a, &e[i], &s[i]), "entry %d", i);
	}
	cr_assert_null(rv_admit_victim(a));
	cr_assert_not_null(rv_admit_add(a, &e[30], &s[30])); /* 31 > 30, not removed */
	cr_assert_eq(rv_admit_sources(a), 31);
	cr_assert_not_null(rv_admit_victim(a));
	cr_assert_eq(rv_admit_add(a, &e[31], &s[31]), &e[31]); /* the grown room is full */
	cr_assert_eq(rv_admit_sources(a), 31);
	rv_admit_free(a);
}

/* --- randomised test against a brute-force model --------------------- */

enum { M_ENTRIES = 256, M_ADDRS = 16 };

/* Addresses and the source each belongs to, as admit.h defines sources. */
static const struct {
	const char *addr;
	int src;
} m_addrs[M_ADDRS] = {
	{ "192.0.2.1", 0 },	  { "::ffff:192.0.2.1", 0 },
	{ "192.0.2.2", 1 },	  { "192.0.2.3", 2 },
	{ "198.51.100.7", 3 },	  { "2001:db8::1", 4 },
	{ "2001:db8::2", 4 },	  { "2001:db8:0:0:8000::1", 4 },
	{ "2001:db8:0:1::1", 5 }, { "2001:db8:0:2::1", 6 },
	{ "fe80::1", 7 },	  { "::ffff:203.0.113.5", 8 },
	{ "203.0.113.5", 8 },	  { "10.1.1.1", 9 },
	{ "10.1.1.2", 10 },	  { "a01:101::", 11 },
};

struct m_entry {
	bool active;
	int src;
	int cls;
	uint64_t order; /* arrival, or promotion for HELLO */
};

struct model {
	struct m_entry e[M_ENTRIES];
	unsigned total, per;
	size_t cap;
	uint64_t seq;
};

static size_t m_count(const struct model *m, int src, int cls)
{
	size_t n = 0;

	for (size_t i = 0; i < M_ENTRIES; i++) {
		n += m->e[i].active && (src < 0 || m->e[i].src == src) &&
		     (cls < 0 || m->e[i].cls == cls);
	}
	return n;
}

/* m_oldest returns the index of |src|'s oldest entry of |cls| (-1: any
 * class, CONNECTED first), or -1 if it has none. */
static int m_oldest(const struct model *m, int src, int cls)
{
	if (cls < 0) {
		int i = m_oldest(m, src, RV_ADMIT_CONNECTED);

		return i >= 0 ? i : m_oldest(m, src, RV_ADMIT_HELLO);
	}
	int best = -1;
	for (int i = 0; i < M_ENTRIES; i++) {
		if (m->e[i].active && m->e[i].src == src && m->e[i].cls == cls &&
		    (best < 0 || m->e[i].order < m->e[best].order)) {
			best = i;
		}
	}
	return best;
}

/* m_check_victim checks |got| (an entry index, or -1 for none) against the
 * rules, |new_src| being the new entry's source or -1. */
static void m_check_victim(const struct model *m, int new_src, int got, uint64_t seed, int step)
{
	size_t maxc = 0;
	int cls;

	if (new_src >= 0 && m_count(m, new_src, -1) > m->per) {
		cr_assert_eq(got, m_oldest(m, new_src, -1), "seed %" PRIu64 " step %d: rule 1",
			     seed, step);
		return;
	}
	for (int s = 0; s < M_ADDRS; s++) {
		size_t c = m_count(m, s, -1);
		maxc = c > maxc ? c : maxc;
	}
	if (maxc > m->per) {
		cr_assert(got >= 0, "seed %" PRIu64 " step %d: a source is over its limit", seed,
			  step);
		cr_assert_eq(m_count(m, m->e[got].src, -1), maxc,
			     "seed %" PRIu64
			     " step %d: rule 1 on a source that is not the heaviest",
			     seed, step);
		cr_assert_eq(got, m_oldest(m, m->e[got].src, -1));
		return;
	}
	if (m_count(m, -1, -1) <= m->total) {
		cr_assert_eq(got, -1, "seed %" PRIu64 " step %d: victim within limits", seed, step);
		return;
	}
	cr_assert(got >= 0, "seed %" PRIu64 " step %d: over max_total, no victim", seed, step);
	cls = m_count(m, -1, RV_ADMIT_CONNECTED) ? RV_ADMIT_CONNECTED : RV_ADMIT_HELLO;
	maxc = 0;
	for (int s = 0; s < M_ADDRS; s++) {
		size_t c = m_count(m, s, cls);
		maxc = c > maxc ? c : maxc;
	}
	cr_assert_eq(m->e[got].cls, cls, "seed %" PRIu64 " step %d: rule 2 class", seed, step);
	cr_assert_eq(m_count(m, m->e[got].src, cls), maxc,
		     "seed %" PRIu64 " step %d: rule 2 picked a lighter source", seed, step);
	cr_assert_eq(got, m_oldest(m, m->e[got].src, cls));
}

static uint64_t rng;

static uint64_t rnd(void)
{
	return t_rng_next(&rng);
}

static void random_limits(struct model *m, struct rv_admit_limits *lim)
{
	lim->max_total = 1 + (unsigned)(rnd() % 40);
	lim->max_per_source = 1 + (unsigned)(rnd() % lim->max_total);
	m->total = lim->max_total;
	m->per = lim->max_per_source;
	if (m->cap < m->total + 1u) {
		m->cap = m->total + 1u;
	}
}

static void m_remove(struct model *m, struct rv_admit *a, struct rv_admit_entry *e, int i)
{
	rv_admit_remove(a, &e[i]);
	m->e[i].active = false;
}

static void differential(uint64_t seed, int steps)
{
	struct model *m = calloc(1, sizeof(*m));
	struct rv_admit_entry *e = calloc(M_ENTRIES, sizeof(*e));
	struct rv_ip_addr addrs[M_ADDRS];
	struct rv_admit_limits lim;
	struct rv_admit *a;

	cr_assert(m && e);
	rng = seed;
	for (int i = 0; i < M_ADDRS; i++) {
		addrs[i] = t_ip(m_addrs[i].addr);
	}
	random_limits(m, &lim);
	a = rv_admit_new(&lim);
	cr_assert_not_null(a);
	for (int step = 0; step < steps; step++) {
		int i = (int)(rnd() % M_ENTRIES), r = (int)(rnd() % 100);
		struct rv_admit_entry *v;

		if (r < 45 && !m->e[i].active) {
			/* Address 0 floods: half of all adds. */
			int ai = rnd() % 2 ? 0 : (int)(rnd() % M_ADDRS);
			int src = m_addrs[ai].src;

			v = rv_admit_add(a, &e[i], &addrs[ai]);
			if (m_count(m, -1, -1) >= m->cap) {
				cr_assert_eq(v, &e[i], "seed %" PRIu64 " step %d: over cap", seed,
					     step);
				cr_assert_not(e[i].active);
				continue;
			}
			m->e[i] = (struct m_entry){ true, src, RV_ADMIT_CONNECTED, m->seq++ };
			m_check_victim(m, src, v ? (int)(v - e) : -1, seed, step);
			if (v) {
				m_remove(m, a, e, (int)(v - e));
			}
		} else if (r < 65) {
			rv_admit_promote(a, &e[i]);
			if (m->e[i].active && m->e[i].cls == RV_ADMIT_CONNECTED) {
				m->e[i].cls = RV_ADMIT_HELLO;
				m->e[i].order = m->seq++;
			}
		} else if (r < 97) {
			m_remove(m, a, e, i);
		} else {
			random_limits(m, &lim);
			cr_assert_eq(rv_admit_set_limits(a, &lim), 0);
			/* Sometimes drain at once, sometimes let adds meet the
			 * lowered limits first. */
			while (rnd() % 3 && (v = rv_admit_victim(a))) {
				m_check_victim(m, -1, (int)(v - e), seed, step);
				m_remove(m, a, e, (int)(v - e));
			}
		}
		v = rv_admit_victim(a);
		m_check_victim(m, -1, v ? (int)(v - e) : -1, seed, step);
		cr_assert_eq(rv_admit_count(a, RV_ADMIT_CONNECTED),
			     m_count(m, -1, RV_ADMIT_CONNECTED));
		cr_assert_eq(rv_admit_count(a, RV_ADMIT_HELLO), m_count(m, -1, RV_ADMIT_HELLO));
		size_t srcs = 0;
		for (int s = 0; s < M_ADDRS; s++) {
			srcs += m_count(m, s, -1) > 0;
		}
		cr_assert_eq(rv_admit_sources(a), srcs, "seed %" PRIu64 " step %d", seed, step);
	}
	rv_admit_free(a);
	free(e);
	free(m);
}

Test(admit, differential, .timeout = 120)
{
	for (uint64_t seed = 1; seed <= 12; seed++) {
		differential(seed * 0x9e3779b97f4a7c15ull, 5000);
	}
}
