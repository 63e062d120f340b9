/*
 * test_core_lease.c — address -> name lease memory (core/lease.c):
 * may_return for the same name, another name, a live lease and one released
 * at the lifetime's edge ±1, lifetime reload, eviction order at the bound
 * (released longest ago first, live ones only when all are live), names at
 * and over RV_LEASE_NAME_MAX, families kept apart; each at time origins 0
 * and 10^7 s. Then a randomised test against a brute-force model.
 *
 *   ./build/<dir>/test/test_core_lease --verbose
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/lease.h"
#include "core/strbuf.h"
#include "test/lib/t_ip.h"

#define SEC UINT64_C(1000000000)
#define LIFE (60 * SEC)

static const uint64_t origins[] = { 0, 10000000 * SEC };

Test(lease, bad_arguments)
{
	cr_assert_null(rv_leases_new(0, LIFE));
	cr_assert_null(rv_leases_new(RV_LEASE_MAX_ENTRIES + 1u, LIFE));
	rv_leases_free(NULL);
}

Test(lease, may_return)
{
	for (size_t oi = 0; oi < ARRAY_SIZE(origins); oi++) {
		uint64_t t0 = origins[oi];
		struct rv_leases *l = rv_leases_new(16, LIFE);
		struct rv_ip_addr a = t_ip("10.8.0.2"), b = t_ip("fd00::2"), c = t_ip("10.8.0.3");

		cr_assert_not_null(l);
		cr_assert_not(rv_leases_may_return(l, &a, "alice", t0), "no record");
		rv_leases_grant(l, &a, "alice", t0);
		rv_leases_grant(l, &b, "alice", t0);
		cr_assert_eq(rv_leases_count(l), 2);
		/* Live: the same name may have it (replace-same-name), no other. */
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 1000 * LIFE));
		cr_assert(rv_leases_may_return(l, &b, "alice", t0));
		cr_assert_not(rv_leases_may_return(l, &a, "bob", t0));
		cr_assert_not(rv_leases_may_return(l, &a, "alic", t0));
		cr_assert_not(rv_leases_may_return(l, &a, "alice2", t0));
		cr_assert_not(rv_leases_may_return(l, &a, "", t0));
		cr_assert_not(rv_leases_may_return(l, &c, "alice", t0));
		/* Released at t0 + 5 s: honoured through t0 + 5 s + LIFE. */
		rv_leases_release(l, &a, t0 + 5 * SEC);
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 5 * SEC));
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 5 * SEC + LIFE - 1));
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 5 * SEC + LIFE));
		cr_assert_not(rv_leases_may_return(l, &a, "alice", t0 + 5 * SEC + LIFE + 1));
		cr_assert_not(rv_leases_may_return(l, &a, "bob", t0 + 5 * SEC));
		/* A clock reading before the release counts as "just released". */
		cr_assert(rv_leases_may_return(l, &a, "alice", t0));
		/* A second release does not move the end. */
		rv_leases_release(l, &a, t0 + 50 * SEC);
		cr_assert_not(rv_leases_may_return(l, &a, "alice", t0 + 5 * SEC + LIFE + 1));
		/* Releasing an address without a record is a no-op; expired
		 * records stay (and count) until evicted or replaced. */
		rv_leases_release(l, &c, t0);
		cr_assert_eq(rv_leases_count(l), 2);
		/* Given to someone else: the old name loses it. */
		rv_leases_grant(l, &a, "bob", t0 + 100 * SEC);
		cr_assert(rv_leases_may_return(l, &a, "bob", t0 + 100 * SEC));
		cr_assert_not(rv_leases_may_return(l, &a, "alice", t0 + 100 * SEC));
		cr_assert_eq(rv_leases_count(l), 2);
		rv_leases_free(l);
	}
}

/* last_of: the address a name held most recently in a family, while it may
 * still come back to it; not one since given to another name, not one
 * evicted, not past its lifetime. */
Test(lease, last_of)
{
	for (size_t oi = 0; oi < ARRAY_SIZE(origins); oi++) {
		uint64_t t0 = origins[oi];
		struct rv_leases *l = rv_leases_new(3, LIFE);
		struct rv_ip_addr a = t_ip("10.8.0.2"), b = t_ip("10.8.0.3"), c = t_ip("10.8.0.4");
		struct rv_ip_addr six = t_ip("fd00::2"), out;

		cr_assert_not_null(l);
		cr_assert_not(rv_leases_of(l, "alice", AF_INET, t0, &out, 1));
		rv_leases_grant(l, &a, "alice", t0);
		rv_leases_release(l, &a, t0 + SEC);
		rv_leases_grant(l, &b, "alice", t0 + 2 * SEC);
		rv_leases_release(l, &b, t0 + 3 * SEC);
		cr_assert(rv_leases_of(l, "alice", AF_INET, t0 + 4 * SEC, &out, 1));
		cr_assert(rv_ip_addr_equal(&out, &b), "the newer of two");
		{
			struct rv_ip_addr both[RV_LEASES_OF_MAX + 4];

			cr_assert_eq(rv_leases_of(l, "alice", AF_INET, t0 + 4 * SEC, both,
						  ARRAY_SIZE(both)),
				     2, "both, newest first");
			cr_assert(rv_ip_addr_equal(&both[0], &b) && rv_ip_addr_equal(&both[1], &a));
		}
		cr_assert_not(rv_leases_of(l, "alice", AF_INET6, t0 + 4 * SEC, &out, 1));
		cr_assert_not(rv_leases_of(l, "alic", AF_INET, t0 + 4 * SEC, &out, 1));
		cr_assert_not(rv_leases_of(l, "bob", AF_INET, t0 + 4 * SEC, &out, 1));
		/* b given to bob: alice's last is a again */
		rv_leases_grant(l, &b, "bob", t0 + 5 * SEC);
		cr_assert(rv_leases_of(l, "alice", AF_INET, t0 + 6 * SEC, &out, 1));
		cr_assert(rv_ip_addr_equal(&out, &a));
		cr_assert(rv_leases_of(l, "bob", AF_INET, t0 + 6 * SEC, &out, 1));
		cr_assert(rv_ip_addr_equal(&out, &b));
		/* past the lifetime: nothing */
		cr_assert_not(rv_leases_of(l, "alice", AF_INET, t0 + SEC + LIFE + 1, &out, 1));
		/* a full table evicts a (released longest ago): gone from the name too */
		rv_leases_grant(l, &c, "carol", t0 + 7 * SEC);
		rv_leases_grant(l, &six, "dave", t0 + 8 * SEC);
		cr_assert_eq(rv_leases_count(l), 3);
		cr_assert_not(rv_leases_of(l, "alice", AF_INET, t0 + 9 * SEC, &out, 1));
		cr_assert(rv_leases_of(l, "dave", AF_INET6, t0 + 9 * SEC, &out, 1));
		cr_assert(rv_ip_addr_equal(&out, &six));
		/* a name too long to keep matches nothing */
		rv_leases_grant(l, &c,
				"a-name-far-longer-than-any-certificate-name-may-be-at-all-"
				"in-this-table-0123456789",
				t0 + 10 * SEC);
		cr_assert_not(rv_leases_of(l, "carol", AF_INET, t0 + 10 * SEC, &out, 1));
		rv_leases_free(l);
	}
}

/* kept_for_other: what the allocator passes over. */
Test(lease, kept_for_other)
{
	for (size_t oi = 0; oi < ARRAY_SIZE(origins); oi++) {
		uint64_t t0 = origins[oi];
		struct rv_leases *l = rv_leases_new(16, LIFE);
		struct rv_ip_addr a = t_ip("10.8.0.2"), c = t_ip("10.8.0.3");

		cr_assert_not_null(l);
		cr_assert_not(rv_leases_kept_for_other(l, &a, "bob", t0), "no record");
		rv_leases_grant(l, &a, "alice", t0);
		cr_assert(rv_leases_kept_for_other(l, &a, "bob", t0), "live, alice's");
		cr_assert_not(rv_leases_kept_for_other(l, &a, "alice", t0), "her own");
		cr_assert_not(rv_leases_kept_for_other(l, &c, "bob", t0));
		rv_leases_release(l, &a, t0 + 5 * SEC);
		cr_assert(rv_leases_kept_for_other(l, &a, "bob", t0 + 5 * SEC + LIFE));
		cr_assert_not(rv_leases_kept_for_other(l, &a, "bob", t0 + 5 * SEC + LIFE + 1),
			      "expired: anybody's");
		cr_assert_not(rv_leases_kept_for_other(l, &a, "alice", t0 + 5 * SEC + LIFE + 1));
		rv_leases_free(l);
	}
}

Test(lease, lifetime_reload)
{
	for (size_t oi = 0; oi < ARRAY_SIZE(origins); oi++) {
		uint64_t t0 = origins[oi];
		struct rv_leases *l = rv_leases_new(4, LIFE);
		struct rv_ip_addr a = t_ip("10.8.0.2");

		rv_leases_grant(l, &a, "alice", t0);
		rv_leases_release(l, &a, t0 + SEC);
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 11 * SEC));
		rv_leases_set_lifetime(l, 5 * SEC);
		cr_assert_not(rv_leases_may_return(l, &a, "alice", t0 + 11 * SEC));
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 6 * SEC));
		rv_leases_set_lifetime(l, 20 * SEC);
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 11 * SEC));
		rv_leases_set_lifetime(l, 0);
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + SEC));
		cr_assert_not(rv_leases_may_return(l, &a, "alice", t0 + SEC + 1));
		/* Live leases do not expire, whatever the lifetime. */
		rv_leases_grant(l, &a, "alice", t0 + 2 * SEC);
		cr_assert(rv_leases_may_return(l, &a, "alice", t0 + 1000 * SEC));
		rv_leases_free(l);
	}
}

Test(lease, eviction_order)
{
	for (size_t oi = 0; oi < ARRAY_SIZE(origins); oi++) {
		uint64_t t0 = origins[oi];
		struct rv_leases *l = rv_leases_new(3, LIFE);
		struct rv_ip_addr a = t_ip("10.8.0.2"), b = t_ip("10.8.0.3"), c = t_ip("10.8.0.4");
		struct rv_ip_addr d = t_ip("10.8.0.5"), e = t_ip("10.8.0.6"), f = t_ip("10.8.0.7");

		rv_leases_grant(l, &a, "a", t0);
		rv_leases_grant(l, &b, "b", t0 + 1);
		rv_leases_grant(l, &c, "c", t0 + 2);
		rv_leases_release(l, &b, t0 + 3);
		rv_leases_release(l, &a, t0 + 4);
		/* Full: d evicts b (released first), e evicts a. */
		rv_leases_grant(l, &d, "d", t0 + 5);
		cr_assert_eq(rv_leases_count(l), 3);
		cr_assert_not(rv_leases_may_return(l, &b, "b", t0 + 5));
		cr_assert(rv_leases_may_return(l, &a, "a", t0 + 5));
		rv_leases_grant(l, &e, "e", t0 + 6);
		cr_assert_not(rv_leases_may_return(l, &a, "a", t0 + 6));
		/* All live (c, d, e): f evicts c, the oldest grant. */
		rv_leases_grant(l, &f, "f", t0 + 7);
		cr_assert_not(rv_leases_may_return(l, &c, "c", t0 + 7));
		cr_assert(rv_leases_may_return(l, &d, "d", t0 + 7));
		cr_assert(rv_leases_may_return(l, &e, "e", t0 + 7));
		cr_assert(rv_leases_may_return(l, &f, "f", t0 + 7));
		/* Re-granting a released record moves it to the live list: when d
		 * and e are released and d is granted again, e goes first. */
		rv_leases_release(l, &d, t0 + 8);
		rv_leases_release(l, &e, t0 + 9);
		rv_leases_grant(l, &d, "d", t0 + 10);
		rv_leases_grant(l, &a, "a", t0 + 11);
		cr_assert_not(rv_leases_may_return(l, &e, "e", t0 + 11));
		cr_assert(rv_leases_may_return(l, &d, "d", t0 + 11));
		cr_assert(rv_leases_may_return(l, &f, "f", t0 + 11));
		cr_assert(rv_leases_may_return(l, &a, "a", t0 + 11));
		cr_assert_eq(rv_leases_count(l), 3);
		rv_leases_free(l);
	}
}

/* A table of one record, and a table of 10,000 filled twice over. */
Test(lease, bounds)
{
	struct rv_leases *l = rv_leases_new(1, LIFE);
	struct rv_ip_addr a = t_ip("10.8.0.2"), b = t_ip("10.8.0.3");

	rv_leases_grant(l, &a, "a", 0);
	rv_leases_grant(l, &b, "b", 0);
	cr_assert_eq(rv_leases_count(l), 1);
	cr_assert_not(rv_leases_may_return(l, &a, "a", 0));
	cr_assert(rv_leases_may_return(l, &b, "b", 0));
	rv_leases_free(l);

	enum { N = 10000 };
	l = rv_leases_new(N, LIFE);
	for (uint32_t i = 0; i < 2 * N; i++) {
		struct rv_ip_addr x = t_ip("fd00::");
		char name[16];

		memcpy(x.a + 12, &i, sizeof(i));
		snprintf(name, sizeof(name), "c%u", i);
		rv_leases_grant(l, &x, name, i);
		rv_leases_release(l, &x, i);
	}
	cr_assert_eq(rv_leases_count(l), N);
	for (uint32_t i = 0; i < 2 * N; i++) {
		struct rv_ip_addr x = t_ip("fd00::");
		char name[16];

		memcpy(x.a + 12, &i, sizeof(i));
		snprintf(name, sizeof(name), "c%u", i);
		cr_assert_eq(rv_leases_may_return(l, &x, name, 2 * N), i >= N, "record %u", i);
	}
	rv_leases_free(l);
}

Test(lease, names_and_families)
{
	struct rv_leases *l = rv_leases_new(8, LIFE);
	struct rv_ip_addr v4 = t_ip("10.0.0.1"), v6 = t_ip("a00:1::");
	char max[RV_LEASE_NAME_MAX + 1], over[RV_LEASE_NAME_MAX + 2], over2[RV_LEASE_NAME_MAX + 2];

	memset(max, 'n', RV_LEASE_NAME_MAX);
	max[RV_LEASE_NAME_MAX] = '\0';
	memset(over, 'n', RV_LEASE_NAME_MAX + 1);
	over[RV_LEASE_NAME_MAX + 1] = '\0';
	memcpy(over2, over, sizeof(over2));
	over2[RV_LEASE_NAME_MAX] = 'x';
	/* Same bytes, other family: another address. */
	rv_leases_grant(l, &v4, max, 0);
	cr_assert(rv_leases_may_return(l, &v4, max, 0));
	cr_assert_not(rv_leases_may_return(l, &v6, max, 0));
	cr_assert_not(rv_leases_may_return(l, &v4, over, 0), "a longer name is another name");
	/* Over the limit: recorded, but matching no name. */
	rv_leases_grant(l, &v6, over, 0);
	cr_assert_eq(rv_leases_count(l), 2);
	cr_assert_not(rv_leases_may_return(l, &v6, over, 0));
	cr_assert_not(rv_leases_may_return(l, &v6, over2, 0));
	cr_assert_not(rv_leases_may_return(l, &v6, max, 0));
	rv_leases_free(l);
}

/* --- randomised test against a brute-force model --------------------- */

enum { M_ADDRS = 24, M_NAMES = 5 };

struct m_rec {
	bool present, live;
	int name;
	uint64_t t;	/* grant or release time */
	uint64_t order; /* position in its list: grant or release sequence */
};

/* m_evict removes the model's eviction choice: the released record with the
 * smallest order, else the live one with the smallest order. */
static void m_evict(struct m_rec *m)
{
	int best = -1;

	for (int pass = 0; pass < 2 && best < 0; pass++) {
		for (int i = 0; i < M_ADDRS; i++) {
			if (m[i].present && m[i].live == (pass == 1) &&
			    (best < 0 || m[i].order < m[best].order)) {
				best = i;
			}
		}
	}
	m[best].present = false;
}

Test(lease, differential)
{
	static const char *const names[M_NAMES] = { "alice", "bob", "carol", "alicE", "" };
	struct rv_ip_addr addrs[M_ADDRS];

	for (int i = 0; i < M_ADDRS; i++) {
		char s[32];

		snprintf(s, sizeof(s), i % 2 ? "10.8.0.%d" : "fd00::%d", i + 2);
		addrs[i] = t_ip(s);
	}
	for (uint64_t seed = 1; seed <= 8; seed++) {
		uint64_t rng = seed * 0x9e3779b97f4a7c15ull, now = seed % 2 ? 0 : 10000000 * SEC;
		uint64_t life = 10 * SEC, seq = 0;
		size_t max = 1 + seed * 3;
		struct m_rec m[M_ADDRS] = { 0 };
		struct rv_leases *l = rv_leases_new(max, life);

		for (int step = 0; step < 20000; step++) {
			int i = (int)(t_rng_next(&rng) % M_ADDRS);
			int n = (int)(t_rng_next(&rng) % M_NAMES);
			unsigned r = (unsigned)(t_rng_next(&rng) % 100);

			now += t_rng_next(&rng) % (3 * SEC);
			if (r < 30) {
				size_t count = 0;

				for (int k = 0; k < M_ADDRS; k++) {
					count += m[k].present;
				}
				if (!m[i].present && count == max) {
					m_evict(m);
				}
				rv_leases_grant(l, &addrs[i], names[n], now);
				m[i] = (struct m_rec){ true, true, n, now, seq++ };
			} else if (r < 60) {
				rv_leases_release(l, &addrs[i], now);
				if (m[i].present && m[i].live) {
					m[i].live = false;
					m[i].t = now;
					m[i].order = seq++;
				}
			} else if (r < 62) {
				life = t_rng_next(&rng) % (20 * SEC);
				rv_leases_set_lifetime(l, life);
			}
			size_t count = 0;
			for (int k = 0; k < M_ADDRS; k++) {
				bool want = m[k].present && m[k].name == n &&
					    (m[k].live || now - m[k].t <= life);

				count += m[k].present;
				cr_assert_eq(rv_leases_may_return(l, &addrs[k], names[n], now),
					     want, "seed %" PRIu64 " step %d addr %d name %d", seed,
					     step, k, n);
			}
			cr_assert_eq(rv_leases_count(l), count);
			/* The name index agrees: the newest valid record of the
			 * name in each family (any of the newest, on a tie). */
			for (int fam = 0; fam < 2; fam++) {
				int family = fam ? AF_INET6 : AF_INET;
				uint64_t best_t = 0;
				bool any = false;
				struct rv_ip_addr got;
				bool found;

				for (int k = 0; k < M_ADDRS; k++) {
					if (m[k].present && m[k].name == n &&
					    addrs[k].family == family &&
					    (m[k].live || now - m[k].t <= life) &&
					    (!any || m[k].t > best_t)) {
						best_t = m[k].t;
						any = true;
					}
				}
				found = rv_leases_of(l, names[n], family, now, &got, 1);
				/* and the whole list: every such record, newest first,
				 * at most RV_LEASES_OF_MAX of them, the newest kept */
				{
					struct rv_ip_addr all[RV_LEASES_OF_MAX];
					size_t got_n = rv_leases_of(l, names[n], family, now, all,
								    ARRAY_SIZE(all)),
					       want_n = 0;
					uint64_t prev_t = UINT64_MAX;

					for (int k = 0; k < M_ADDRS; k++) {
						want_n += m[k].present && m[k].name == n &&
							  addrs[k].family == family &&
							  (m[k].live || now - m[k].t <= life);
					}
					cr_assert_eq(got_n,
						     want_n < RV_LEASES_OF_MAX ? want_n
									       : RV_LEASES_OF_MAX,
						     "seed %" PRIu64 " step %d of", seed, step);
					for (size_t g = 0; g < got_n; g++) {
						int k = 0;

						while (k < M_ADDRS &&
						       !rv_ip_addr_equal(&addrs[k], &all[g])) {
							k++;
						}
						cr_assert(k < M_ADDRS && m[k].present &&
								  m[k].name == n &&
								  (m[k].live ||
								   now - m[k].t <= life) &&
								  m[k].t <= prev_t,
							  "seed %" PRIu64 " step %d of[%zu]", seed,
							  step, g);
						prev_t = m[k].t;
					}
					for (int k = 0; k < M_ADDRS && got_n == RV_LEASES_OF_MAX;
					     k++) {
						bool listed = false;

						for (size_t g = 0; g < got_n; g++) {
							listed |= rv_ip_addr_equal(&addrs[k],
										   &all[g]);
						}
						cr_assert(listed || !m[k].present ||
								  m[k].name != n ||
								  addrs[k].family != family ||
								  m[k].t <= prev_t,
							  "seed %" PRIu64
							  " step %d: a newer one left out",
							  seed, step);
					}
				}
				cr_assert_eq(found, any, "seed %" PRIu64 " step %d last_of", seed,
					     step);
				for (int k = 0; found && k < M_ADDRS; k++) {
					if (rv_ip_addr_equal(&addrs[k], &got)) {
						cr_assert(m[k].present && m[k].name == n &&
								  m[k].t == best_t,
							  "seed %" PRIu64 " step %d: last_of gave "
							  "addr %d",
							  seed, step, k);
					}
				}
			}
		}
		rv_leases_free(l);
	}
}

/* A name with more leases than rv_leases_of returns: the newest, in order. */
Test(lease, of_keeps_the_newest)
{
	struct rv_leases *l = rv_leases_new(32, LIFE);
	struct rv_ip_addr got[RV_LEASES_OF_MAX];
	/* granted out of address order, so that list order is not time order */
	static const int order[] = { 7, 2, 11, 5, 0, 9, 3, 10, 1, 6, 8, 4 };

	cr_assert(l);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		char s[32];
		struct rv_ip_addr a;

		snprintf(s, sizeof(s), "10.8.0.%d", 10 + order[i]);
		a = t_ip(s);
		rv_leases_grant(l, &a, "alice", (i + 1) * SEC);
		rv_leases_release(l, &a, (i + 1) * SEC + 1);
	}
	cr_assert_eq(rv_leases_of(l, "alice", AF_INET, 20 * SEC, got, ARRAY_SIZE(got)),
		     RV_LEASES_OF_MAX);
	for (size_t g = 0; g < RV_LEASES_OF_MAX; g++) {
		char s[32];
		struct rv_ip_addr want;

		snprintf(s, sizeof(s), "10.8.0.%d", 10 + order[ARRAY_SIZE(order) - 1 - g]);
		want = t_ip(s);
		cr_assert(rv_ip_addr_equal(&got[g], &want), "position %zu", g);
	}
	cr_assert_eq(rv_leases_of(l, "alice", AF_INET, 20 * SEC, got, 3), 3);
	rv_leases_free(l);
}

/* A server restarted soon after a reboot reads back leases that ended
 * before its monotonic clock began: they end when the journal says (it used
 * to count them as ending at boot, honoured for up to a lifetime after it),
 * and a snapshot written then keeps their true end. */
Test(lease, journal_replayed_on_a_young_clock)
{
	const int64_t wall = 1800000000;
	const uint64_t now = 5 * SEC; /* five seconds after boot */
	struct rv_leases *l = rv_leases_new(16, LIFE);
	struct rv_ip_addr a = t_ip("10.8.0.2"), b = t_ip("10.8.0.3"), c = t_ip("10.8.0.4");
	struct rv_strbuf text = { 0 };
	char line[128];

	cr_assert(l);
	/* bob's ended 40 s ago, carol's 70 s ago (past the lifetime); alice's
	 * was live when the file was last written, 30 s ago. */
	snprintf(line, sizeof(line), "R 10.8.0.3 %lld bob\nR 10.8.0.4 %lld carol\n",
		 (long long)(wall - 40), (long long)(wall - 70));
	rv_strbuf_printf(&text, "%sG 10.8.0.2 0 alice\n", line);
	cr_assert_eq(rv_leases_load(l, rv_strbuf_str(&text), text.len, now, wall, wall - 30, NULL),
		     2);
	cr_assert_not(rv_leases_may_return(l, &c, "carol", now));
	cr_assert(rv_leases_may_return(l, &b, "bob", now + 19 * SEC));
	cr_assert_not(rv_leases_may_return(l, &b, "bob", now + 21 * SEC),
		      "bob's ends 60 s after it did");
	cr_assert(rv_leases_may_return(l, &a, "alice", now + 29 * SEC));
	cr_assert_not(rv_leases_may_return(l, &a, "alice", now + 31 * SEC));
	cr_assert_not(rv_leases_kept_for_other(l, &b, "alice", now + 21 * SEC));
	/* Of two released addresses, the one released longer ago is older. */
	cr_assert_lt(rv_leases_released_at(l, &b), rv_leases_released_at(l, &a));
	rv_strbuf_reset(&text);
	rv_leases_save(l, &text, now + 10 * SEC, wall + 10);
	snprintf(line, sizeof(line), "R 10.8.0.3 %lld bob\n", (long long)(wall - 40));
	cr_assert(strstr(rv_strbuf_str(&text), line), "%s", rv_strbuf_str(&text));
	snprintf(line, sizeof(line), "R 10.8.0.2 %lld alice\n", (long long)(wall - 30));
	cr_assert(strstr(rv_strbuf_str(&text), line), "%s", rv_strbuf_str(&text));
	rv_strbuf_free(&text);
	rv_leases_free(l);
}

/* The journal: what a server appends as leases change, and what a restarted
 * server replays (also after kill -9: leases live at the end of the file
 * ended when it was last written). */
Test(lease, journal_survives_a_restart)
{
	for (size_t oi = 0; oi < ARRAY_SIZE(origins); oi++) {
		uint64_t t0 = origins[oi] + 100 * SEC;
		/* The replay's clock: a new process (a younger clock:
		 * journal_replayed_on_a_young_clock). */
		uint64_t t1 = origins[oi] + 200 * SEC;
		const int64_t wall = 1800000000; /* seconds since the epoch at t0 */
		struct rv_leases *l = rv_leases_new(16, LIFE), *l2 = rv_leases_new(16, LIFE);
		struct rv_ip_addr a = t_ip("10.8.0.2"), b = t_ip("10.8.0.3"), c = t_ip("fd00::9");
		struct rv_lease_event ev[8];
		struct rv_strbuf text = { 0 };
		bool overflow;
		size_t n, bad = 99;

		cr_assert(l && l2);
		rv_leases_grant(l, &a, "alice", t0);
		rv_leases_grant(l, &b, "bob", t0);
		rv_leases_grant(l, &c, "carol@site.test", t0);
		rv_leases_release(l, &b, t0 + 10 * SEC);
		n = rv_leases_take_events(l, ev, ARRAY_SIZE(ev), &overflow);
		cr_assert_eq(n, 4u);
		cr_assert_not(overflow);
		cr_assert_eq(rv_leases_take_events(l, ev, ARRAY_SIZE(ev), &overflow), 0u);
		rv_leases_take_events(l, ev, 0, &overflow);
		for (size_t i = 0; i < n; i++) {
			rv_leases_journal_line(&text, &ev[i], t0 + 20 * SEC, wall + 20);
		}
		rv_strbuf_append(&text, "garbage line\nX 1.2.3.4 0 x\n", 27);
		/* names no certificate can have: malformed too */
		rv_strbuf_append(&text, "R 10.8.0.9 1 two words\nR 10.8.0.9 1 crlf\r\n", 42);
		/* Replayed 30 s after the journal was last written (t0 + 20 s). */
		cr_assert_eq(rv_leases_load(l2, rv_strbuf_str(&text), text.len, t1, wall + 50,
					    wall + 20, &bad),
			     3);
		cr_assert_eq(bad, 4u);
		cr_assert(rv_leases_may_return(l2, &a, "alice", t1));
		cr_assert(rv_leases_may_return(l2, &c, "carol@site.test", t1));
		cr_assert(rv_leases_may_return(l2, &b, "bob", t1));
		cr_assert_not(rv_leases_may_return(l2, &b, "alice", t1));
		/* bob's ended 40 s before the replay, alice's 30 s: with a 60 s
		 * lifetime bob's goes first. */
		cr_assert_not(rv_leases_may_return(l2, &b, "bob", t1 + 21 * SEC));
		cr_assert(rv_leases_may_return(l2, &a, "alice", t1 + 21 * SEC));
		cr_assert_not(rv_leases_may_return(l2, &a, "alice", t1 + 31 * SEC));
		/* Loading is not news for the next journal write. */
		cr_assert_eq(rv_leases_take_events(l2, ev, ARRAY_SIZE(ev), &overflow), 0u);
		/* A snapshot replays to the same table; records older than the
		 * lifetime are dropped. */
		rv_strbuf_reset(&text);
		rv_leases_save(l2, &text, t1, wall + 50);
		rv_leases_free(l);
		l = rv_leases_new(16, LIFE);
		cr_assert_eq(rv_leases_load(l, rv_strbuf_str(&text), text.len, t1, wall + 50,
					    wall + 50, NULL),
			     3);
		cr_assert_eq(rv_leases_load(l2, rv_strbuf_str(&text), text.len, t1, wall + 200,
					    wall + 200, NULL),
			     0, "everything older than the lifetime");
		rv_strbuf_free(&text);
		rv_leases_free(l);
		rv_leases_free(l2);
	}
}

/* A lease the journal says ended longer ago than the lifetime is forgotten
 * at load: its record goes back for reuse, and must leave the name index
 * too. It stayed there, and the next grant to that name made a chain that
 * points at itself: the next lookup by name never returned (the server hung
 * at the second connection of a name after a restart). */
Test(lease, forgotten_at_load_leaves_the_name_index, .timeout = 5)
{
	const int64_t wall = 1800000000;
	struct rv_leases *l = rv_leases_new(16, LIFE);
	struct rv_ip_addr old = t_ip("10.8.0.77"), a = t_ip("10.8.0.2"), b = t_ip("10.8.0.3"), out;
	char text[128];
	size_t bad = 99;
	int n;

	cr_assert_not_null(l);
	n = snprintf(text, sizeof(text), "R 10.8.0.77 %lld alice\n", (long long)(wall - 7200));
	cr_assert_eq(rv_leases_load(l, text, (size_t)n, 1000 * SEC, wall, wall, &bad), 0);
	cr_assert_eq(rv_leases_count(l), 0u, "the stale lease is forgotten");
	cr_assert_not(rv_leases_of(l, "alice", AF_INET, 1000 * SEC, &out, 1));
	rv_leases_grant(l, &a, "alice", 1001 * SEC); /* reuses the forgotten record */
	cr_assert(rv_leases_of(l, "alice", AF_INET, 1001 * SEC, &out, 1));
	cr_assert(rv_ip_addr_equal(&out, &a));
	rv_leases_release(l, &a, 1002 * SEC);
	rv_leases_grant(l, &b, "alice", 1003 * SEC);
	cr_assert(rv_leases_of(l, "alice", AF_INET, 1004 * SEC, &out, 1));
	cr_assert(rv_ip_addr_equal(&out, &b));
	cr_assert_not(rv_leases_may_return(l, &old, "alice", 1004 * SEC));
	rv_leases_free(l);
}

/* Lines that are not whole leases, after a whole one: each is counted bad
 * and taken for no one, and the whole line's lease is kept.
 * - A last line without its newline was cut short: "G 10.8.0.3 0 client1"
 *   may be client12's lease cut, and it gave client12's address to client1
 *   (round-ten tester 46).
 * - A NUL inside a line ends the text the parser reads, not the line
 *   (round-twenty-three tester 102: "client2\0junk" was client2's). */
Test(lease, a_line_not_whole_is_not_a_lease)
{
	static const struct {
		const char *text;
		size_t len;
		const char *name;
	} cases[] = {
#define LINE_CASE(text, name) { text, sizeof(text) - 1, name }
		LINE_CASE("G 10.8.0.2 0 client1\nG 10.8.0.3 0 client1", "client1"),
		LINE_CASE("G 10.8.0.2 0 client1\nR 10.8.0.3 5 client2\0junk\n", "client2"),
#undef LINE_CASE
	};
	struct rv_ip_addr whole = t_ip("10.8.0.2"), bad_addr = t_ip("10.8.0.3");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rv_leases *l = rv_leases_new(16, LIFE);
		size_t bad = 0;

		cr_assert_not_null(l);
		rv_leases_load(l, cases[i].text, cases[i].len, 1000 * SEC, 1800000000, 1800000000,
			       &bad);
		cr_assert_eq(bad, 1u, "case %zu: the line is counted bad", i);
		cr_assert(rv_leases_may_return(l, &whole, "client1", 1000 * SEC),
			  "case %zu: the whole line's lease is kept", i);
		cr_assert_not(rv_leases_may_return(l, &bad_addr, cases[i].name, 1000 * SEC),
			      "case %zu: the bad line gave %s a lease", i, cases[i].name);
		rv_leases_free(l);
	}
}

/* holds_exactly: loads |len| bytes of |text| into a new table and says
 * whether it holds exactly names n0..n(|count| - 1) at 10.9.x.y. */
static bool holds_exactly(const char *text, size_t len, int count, int64_t wall)
{
	struct rv_leases *l = rv_leases_new(1024, 3600 * SEC);
	bool ok;

	cr_assert_not_null(l);
	ok = rv_leases_load(l, text, len, 1000 * SEC, wall, wall, NULL) == count;
	for (int i = 0; ok && i < count; i++) {
		char name[16], addr[32];
		struct rv_ip_addr a;

		snprintf(name, sizeof(name), "n%d", i);
		snprintf(addr, sizeof(addr), "10.9.%d.%d", i / 200, 1 + i % 200);
		a = t_ip(addr);
		ok = rv_leases_may_return(l, &a, name, 1000 * SEC);
	}
	rv_leases_free(l);
	return ok;
}

/* A snapshot is appended to the journal and then copied over its
 * beginning (tls/leasefile.c): at every byte where a kill can stop that
 * copy, and after it, the file loads to the new table and nothing else.
 * The old journal holds names the new table does not (n300..), and events
 * after its own snapshot; the new table is larger than the old journal in
 * one case (the append then begins after a comment line, so that the copy
 * never writes over it) and smaller in the other. Truncated first and
 * written after, a kill left a part of the table. */
Test(lease, every_moment_of_a_snapshot_copy_loads_the_new_table)
{
	const int64_t wall = 1800000000;

	for (int k = 0; k < 2; k++) {
		int new_count = k == 0 ? 40 : 4; /* more or fewer bytes than the old */
		struct rv_leases *l = rv_leases_new(1024, 3600 * SEC);
		struct rv_strbuf old = { 0 }, snap = { 0 }, file = { 0 };
		size_t pad_len, at;

		cr_assert_not_null(l);
		rv_strbuf_printf(&old, RV_LEASES_HEADER ": old\n");
		for (int i = 300; i < 310; i++) {
			rv_strbuf_printf(&old, "R 10.9.9.%d %lld n%d\n", i - 290,
					 (long long)(wall - 5), i);
		}
		rv_strbuf_printf(&old, RV_LEASES_END "\nG 10.9.9.99 0 n399\n");
		for (int i = 0; i < new_count; i++) {
			char name[16], addr[32];
			struct rv_ip_addr a;

			snprintf(name, sizeof(name), "n%d", i);
			snprintf(addr, sizeof(addr), "10.9.%d.%d", i / 200, 1 + i % 200);
			a = t_ip(addr);
			rv_leases_grant(l, &a, name, 900 * SEC);
			if (i % 2) {
				rv_leases_release(l, &a, 950 * SEC);
			}
		}
		rv_leases_save(l, &snap, 1000 * SEC, wall);
		cr_assert((k == 0) == (snap.len > old.len), "case %d: %zu and %zu bytes", k,
			  snap.len, old.len);
		cr_assert(holds_exactly(rv_strbuf_str(&snap), snap.len, new_count, wall));
		/* The file once the snapshot is appended: the old journal, a
		 * comment line where it is the shorter, the snapshot. */
		pad_len = snap.len > old.len ? snap.len - old.len : 0;
		rv_strbuf_append(&file, old.p, old.len);
		if (pad_len) {
			rv_strbuf_append(&file, "#", 1);
			for (size_t i = 2; i < pad_len; i++) {
				rv_strbuf_append(&file, " ", 1);
			}
			rv_strbuf_append(&file, "\n", 1);
		}
		at = file.len;
		cr_assert_geq(at, snap.len, "the copy never reaches the appended one");
		rv_strbuf_append(&file, snap.p, snap.len);
		cr_assert(holds_exactly(rv_strbuf_str(&file), file.len, new_count, wall),
			  "case %d: appended", k);
		/* The copy over the beginning, stopped at every byte. */
		for (size_t n = 0; n <= snap.len; n++) {
			memcpy(file.p + n - (n ? 1 : 0), snap.p + n - (n ? 1 : 0), n ? 1 : 0);
			cr_assert(holds_exactly(rv_strbuf_str(&file), file.len, new_count, wall),
				  "case %d: the copy stopped after %zu bytes", k, n);
		}
		/* And cut to it. */
		cr_assert(holds_exactly(rv_strbuf_str(&file), snap.len, new_count, wall));
		rv_strbuf_free(&old);
		rv_strbuf_free(&snap);
		rv_strbuf_free(&file);
		rv_leases_free(l);
	}
}

/* A snapshot without its end line (one whose append a kill stopped) is
 * replayed as events after the last whole one: its lines are leases as
 * they were, the older ones kept. A header not at a line's start is no
 * header. (A journal of an older version has no end line at all: it is
 * replayed whole, as journal_survives_a_restart's.) */
Test(lease, a_snapshot_without_its_end_is_read_as_events)
{
	const int64_t wall = 1800000000;
	static const char text[] = RV_LEASES_HEADER ": old\n"
						    "R 10.9.0.1 1799999990 n0\n"
						    "G 10.9.0.2 0 n1\n"
						    "x" RV_LEASES_HEADER "\n" RV_LEASES_END
						    "\n" RV_LEASES_HEADER ": new, cut short\n"
						    "G 10.9.0.3 0 n2\n"
						    "R 10.9.0.2 17999";
	size_t bad = 0;
	struct rv_leases *l = rv_leases_new(16, 3600 * SEC);

	cr_assert_not_null(l);
	cr_assert_eq(rv_leases_load(l, text, sizeof(text) - 1, 1000 * SEC, wall, wall, &bad), 3);
	cr_assert_eq(bad, 2u, "the x line and the last, cut");
	rv_leases_free(l);
	cr_assert(holds_exactly(text, sizeof(text) - 1, 3, wall));
}

/* A last line a crash cut short, ended by RV_LEASES_UNENDED (what
 * tls/leasefile.c appends before a snapshot), is no lease at whatever byte
 * it was cut: ended by a newline alone, client12's release cut to
 * "R 10.99.0.5 T client1" was client1's (round-forty-eight tester 220). */
Test(lease, a_line_cut_anywhere_and_ended_is_no_lease)
{
	static const char *const lines[] = {
		"R 10.99.0.5 1799999990 client12\n",
		"G fd99::1:5 0 site#a.example\n",
		"R 10.99.0.17 1800000000 x\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		for (size_t k = 1; k < strlen(lines[i]); k++) {
			struct rv_leases *l = rv_leases_new(16, 3600 * SEC);
			char text[256];
			size_t bad = 0;
			int n;

			cr_assert_not_null(l);
			n = snprintf(text, sizeof(text), "%.*s" RV_LEASES_UNENDED, (int)k,
				     lines[i]);
			cr_assert_eq(rv_leases_load(l, text, (size_t)n, 1000 * SEC, 1800000000,
						    1800000000, &bad),
				     0, "\"%.*s\" cut at %zu is a lease", (int)k, lines[i], k);
			cr_assert_leq(bad, 1u);
			rv_leases_free(l);
		}
	}
}
