/*
 * test_core_demux.c — session tables: add/remove/lookup by index and by
 * virtual address, -EEXIST and -ENOSPC, the default session, a full table of
 * RV_DEMUX_MAX_SESSIONS and index allocation, lanes (indices that spread
 * sessions evenly over the workers); networks behind sessions:
 * longest match with a carve-out, anti-spoofing by source, take-over and
 * teardown, replacing a session's set, and the gapless move a reload makes;
 * the watcher, told of every change of owner; a session moved to another
 * lane; networks held while their owner is away (a carve-out never falls
 * to its enclosing network).
 *
 *   ./build/<dir>/test/test_core_demux --verbose
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "core/demux.h"
#include "core/session.h"
#include "test/lib/t_ip.h"

static struct rv_session *mk(uint32_t index, uint32_t host4, uint16_t host6)
{
	struct rv_session_params p = { .local_index = index, .remote_index = ~index };

	if (host4) {
		p.vaddr4.family = AF_INET;
		p.vaddr4.a[0] = 10;
		p.vaddr4.a[1] = (uint8_t)(host4 >> 16);
		p.vaddr4.a[2] = (uint8_t)(host4 >> 8);
		p.vaddr4.a[3] = (uint8_t)host4;
	}
	if (host6) {
		p.vaddr6.family = AF_INET6;
		p.vaddr6.a[0] = 0xfd;
		p.vaddr6.a[14] = (uint8_t)(host6 >> 8);
		p.vaddr6.a[15] = (uint8_t)host6;
	}
	struct rv_session *s = rv_session_new(&p);
	cr_assert_not_null(s);
	return s;
}

Test(demux, add_lookup_remove)
{
	struct rv_demux *d = rv_demux_new(16, NULL);
	struct rv_session *a = mk(100, 2, 2), *b = mk(200, 3, 0), *c = mk(300, 0, 4);
	uint8_t dst4[4] = { 10, 0, 0, 2 }, dst6[16] = { 0xfd, [15] = 2 };
	struct rv_ip_addr miss = { .family = AF_INET, .a = { 10, 0, 0, 9 } };

	cr_assert_not_null(d);
	cr_assert_eq(rv_demux_count(d), 0u);
	cr_assert_null(rv_demux_by_index(d, 100));
	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_add(d, c), 0);
	cr_assert_eq(rv_demux_count(d), 3u);

	cr_assert_eq(rv_demux_by_index(d, 100), a);
	cr_assert_eq(rv_demux_by_index(d, 200), b);
	cr_assert_eq(rv_demux_by_index(d, 300), c);
	cr_assert_null(rv_demux_by_index(d, 400));
	cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr4(a)), a);
	cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr6(a)), a);
	cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr4(b)), b);
	cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr6(c)), c);
	cr_assert_null(rv_demux_by_addr(d, &miss));
	cr_assert_null(rv_demux_by_addr(d, rv_session_vaddr6(b))); /* family 0 */
	cr_assert_eq(rv_demux_by_dst4(d, dst4), a);
	cr_assert_eq(rv_demux_by_dst6(d, dst6), a);
	dst4[3] = 3;
	cr_assert_eq(rv_demux_by_dst4(d, dst4), b);
	dst4[3] = 4;
	cr_assert_null(rv_demux_by_dst4(d, dst4));

	rv_demux_remove(d, b);
	cr_assert_eq(rv_demux_count(d), 2u);
	cr_assert_null(rv_demux_by_index(d, 200));
	cr_assert_null(rv_demux_by_addr(d, rv_session_vaddr4(b)));
	cr_assert_eq(rv_demux_by_index(d, 100), a);
	rv_demux_remove(d, b); /* absent: no-op */
	cr_assert_eq(rv_demux_count(d), 2u);
	cr_assert_eq(rv_demux_add(d, b), 0); /* and back */
	cr_assert_eq(rv_demux_by_index(d, 200), b);

	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(b);
	rv_session_free(c);
	rv_demux_free(NULL);
}

Test(demux, eexist_adds_nothing)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 2);
	struct rv_session *same_index = mk(1, 9, 9);
	struct rv_session *same_v4 = mk(2, 2, 0);
	struct rv_session *same_v6 = mk(3, 7, 2);

	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, a), -EEXIST);
	cr_assert_eq(rv_demux_add(d, same_index), -EEXIST);
	cr_assert_eq(rv_demux_add(d, same_v4), -EEXIST);
	cr_assert_eq(rv_demux_add(d, same_v6), -EEXIST);
	cr_assert_eq(rv_demux_count(d), 1u);
	/* same_v6 has a fresh IPv4 address that must not have been added. */
	cr_assert_null(rv_demux_by_addr(d, rv_session_vaddr4(same_v6)));
	cr_assert_null(rv_demux_by_index(d, 3));
	cr_assert_eq(rv_demux_by_index(d, 1), a);

	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(same_index);
	rv_session_free(same_v4);
	rv_session_free(same_v6);
}

Test(demux, enospc_at_capacity)
{
	struct rv_demux *d = rv_demux_new(5, NULL);
	struct rv_session *s[6];
	uint32_t idx;

	for (uint32_t i = 0; i < 6; i++) {
		s[i] = mk(i + 1, i + 2, 0);
	}
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(rv_demux_add(d, s[i]), 0);
	}
	cr_assert_eq(rv_demux_add(d, s[5]), -ENOSPC);
	cr_assert_eq(rv_demux_alloc_index(d, &idx), -ENOSPC);
	cr_assert_null(rv_demux_by_index(d, 6));
	rv_demux_remove(d, s[0]);
	cr_assert_eq(rv_demux_alloc_index(d, &idx), 0);
	cr_assert_eq(rv_demux_add(d, s[5]), 0);
	cr_assert_eq(rv_demux_by_index(d, 6), s[5]);
	rv_demux_free(d);
	for (int i = 0; i < 6; i++) {
		rv_session_free(s[i]);
	}
	cr_assert_null(rv_demux_new(0, NULL));
}

Test(demux, default_session)
{
	struct rv_demux *d = rv_demux_new(4, NULL);
	struct rv_session *srv = mk(42, 0, 0), *peer = mk(43, 5, 5);
	uint8_t dst4[4] = { 8, 8, 8, 8 }, dst6[16] = { 0x20, 0x01 };

	cr_assert_null(rv_demux_by_dst4(d, dst4));
	cr_assert_eq(rv_demux_add(d, srv), 0);
	rv_demux_set_default(d, srv);
	cr_assert_eq(rv_demux_by_dst4(d, dst4), srv);
	cr_assert_eq(rv_demux_by_dst6(d, dst6), srv);
	/* An exact entry wins over the default; by_addr has no fallback. */
	cr_assert_eq(rv_demux_add(d, peer), 0);
	cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr4(peer)), peer);
	cr_assert_eq(rv_demux_by_dst4(d, rv_session_vaddr4(peer)->a), peer);
	struct rv_ip_addr a = { .family = AF_INET, .a = { 8, 8, 8, 8 } };
	cr_assert_null(rv_demux_by_addr(d, &a));
	/* Removing the default session unpublishes it as the default too. */
	rv_demux_remove(d, srv);
	cr_assert_null(rv_demux_by_dst4(d, dst4));
	rv_demux_set_default(d, peer);
	cr_assert_eq(rv_demux_by_dst6(d, dst6), peer);
	rv_demux_set_default(d, NULL);
	cr_assert_null(rv_demux_by_dst6(d, dst6));
	rv_demux_free(d);
	rv_session_free(srv);
	rv_session_free(peer);
}

/* A full table: 65,536 sessions with allocated indices and dense addresses
 * (the pool's pattern), every one found by all three keys, then removed in
 * a scattered order with the rest still found. */
Test(demux, full_table, .timeout = 60)
{
	enum { N = RV_DEMUX_MAX_SESSIONS };
	struct rv_session **s = calloc(N, sizeof(*s));
	uint32_t *idx = calloc(N, sizeof(*idx));
	struct rv_demux *d = rv_demux_new(N, NULL);
	uint32_t extra;

	cr_assert(s && idx && d);
	for (uint32_t i = 0; i < N; i++) {
		struct rv_session_params p = { .remote_index = 1 };

		cr_assert_eq(rv_demux_alloc_index(d, &idx[i]), 0);
		cr_assert_neq(idx[i], 0u);
		p.local_index = idx[i];
		p.vaddr4.family = AF_INET;
		p.vaddr4.a[0] = 10;
		p.vaddr4.a[1] = (uint8_t)(i >> 16);
		p.vaddr4.a[2] = (uint8_t)(i >> 8);
		p.vaddr4.a[3] = (uint8_t)i;
		p.vaddr6.family = AF_INET6;
		p.vaddr6.a[0] = 0xfd;
		p.vaddr6.a[13] = (uint8_t)(i >> 16);
		p.vaddr6.a[14] = (uint8_t)(i >> 8);
		p.vaddr6.a[15] = (uint8_t)i;
		s[i] = rv_session_new(&p);
		cr_assert_not_null(s[i]);
		/* alloc_index never returns an index in use, so add succeeds. */
		cr_assert_eq(rv_demux_add(d, s[i]), 0, "session %u", i);
	}
	cr_assert_eq(rv_demux_count(d), (size_t)N);
	cr_assert_eq(rv_demux_alloc_index(d, &extra), -ENOSPC);
	for (uint32_t i = 0; i < N; i++) {
		cr_assert_eq(rv_demux_by_index(d, idx[i]), s[i]);
		cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr4(s[i])), s[i]);
		cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr6(s[i])), s[i]);
	}
	bool *gone = calloc(N, sizeof(*gone));

	cr_assert_not_null(gone);
	/* (i * 40503) % N is a bijection (40503 is odd): a scattered third. */
	for (uint32_t i = 0; i < N; i += 3) {
		uint32_t k = (i * 40503u) % N;

		rv_demux_remove(d, s[k]);
		gone[k] = true;
	}
	cr_assert_eq(rv_demux_count(d), (size_t)N - (N + 2) / 3);
	for (uint32_t i = 0; i < N; i++) {
		struct rv_session *want = gone[i] ? NULL : s[i];

		cr_assert_eq(rv_demux_by_index(d, idx[i]), want);
		cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr4(s[i])), want);
		cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr6(s[i])), want);
	}
	free(gone);
	rv_demux_free(d);
	for (uint32_t i = 0; i < N; i++) {
		rv_session_free(s[i]);
	}
	free(s);
	free(idx);
}

/* Allocated indices are non-zero and distinct; they are checked against
 * the table, so published indices are never handed out again. */
Test(demux, alloc_index_unique)
{
	enum { N = 4096 };
	struct rv_demux *d = rv_demux_new(N, NULL);
	struct rv_session *s[N];

	for (int i = 0; i < N; i++) {
		uint32_t v;
		struct rv_session_params p = { .remote_index = 1 };

		cr_assert_eq(rv_demux_alloc_index(d, &v), 0);
		cr_assert_neq(v, 0u);
		cr_assert_null(rv_demux_by_index(d, v));
		p.local_index = v;
		s[i] = rv_session_new(&p);
		cr_assert_eq(rv_demux_add(d, s[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		for (int j = i + 1; j < N; j++) {
			cr_assert_neq(rv_session_local_index(s[i]), rv_session_local_index(s[j]));
		}
	}
	rv_demux_free(d);
	for (int i = 0; i < N; i++) {
		rv_session_free(s[i]);
	}
}

/* new_lane_session allocates an index, adds a session under it and checks
 * that the index names the lane that had the fewest sessions. */
static struct rv_session *new_lane_session(struct rv_demux *d, unsigned lanes)
{
	unsigned least = UINT32_MAX, want = 0;
	struct rv_session_params p = { .remote_index = 1 };
	struct rv_session *s;

	for (unsigned l = 0; l < lanes; l++) {
		if (rv_demux_lane_sessions(d, l) < least) {
			least = rv_demux_lane_sessions(d, l);
			want = l;
		}
	}
	cr_assert_eq(rv_demux_alloc_index(d, &p.local_index), 0);
	cr_assert_neq(p.local_index, 0u);
	cr_assert_eq(p.local_index % lanes, want, "index %u: lane %u, want %u", p.local_index,
		     p.local_index % lanes, want);
	s = rv_session_new(&p);
	cr_assert_eq(rv_demux_add(d, s), 0);
	return s;
}

Test(demux, lanes_fill_evenly_after_churn)
{
	enum { N = 300, LANES = 3 };
	struct rv_demux *d = rv_demux_new(N, NULL);
	struct rv_session *s[N];
	unsigned seen_high = 0;

	cr_assert_eq(rv_demux_set_lanes(d, 0), -EINVAL);
	cr_assert_eq(rv_demux_set_lanes(d, RV_DEMUX_MAX_LANES + 1), -EINVAL);
	cr_assert_eq(rv_demux_set_lanes(d, LANES), 0);
	for (int i = 0; i < N; i++) {
		s[i] = new_lane_session(d, LANES);
		seen_high |= rv_session_local_index(s[i]) >> 24; /* the rest stays random */
	}
	cr_assert_neq(seen_high, 0u);
	for (unsigned l = 0; l < LANES; l++) {
		cr_assert_eq(rv_demux_lane_sessions(d, l), N / LANES);
	}
	cr_assert_eq(rv_demux_set_lanes(d, 2), -EBUSY, "lanes change only while empty");
	/* Every session of lane 0 leaves: the next ones all go there. */
	for (int i = 0; i < N; i++) {
		if (rv_session_local_index(s[i]) % LANES == 0) {
			rv_demux_remove(d, s[i]);
			rv_session_free(s[i]);
			s[i] = NULL;
		}
	}
	cr_assert_eq(rv_demux_lane_sessions(d, 0), 0u);
	for (int i = 0; i < N; i++) {
		if (s[i] == NULL) {
			s[i] = new_lane_session(d, LANES);
			cr_assert_eq(rv_session_local_index(s[i]) % LANES, 0u);
		}
	}
	for (unsigned l = 0; l < LANES; l++) {
		cr_assert_eq(rv_demux_lane_sessions(d, l), N / LANES);
	}
	for (int i = 0; i < N; i++) {
		rv_demux_remove(d, s[i]);
		rv_session_free(s[i]);
	}
	cr_assert_eq(rv_demux_lane_sessions(d, 1), 0u);
	cr_assert_eq(rv_demux_set_lanes(d, 1), 0, "one lane: no lanes");
	cr_assert_eq(rv_demux_lane_sessions(d, 0), 0u);
	rv_demux_free(d);
}

/* ---- networks behind sessions ---------------------------------------------- */

static struct rv_prefix pfx(const char *addr, unsigned len)
{
	struct rv_prefix p = { .addr = t_ip(addr), .len = (uint8_t)len };

	return p;
}

static struct rv_session *dst(const struct rv_demux *d, const char *addr)
{
	struct rv_ip_addr a = t_ip(addr);

	return a.family == AF_INET ? rv_demux_by_dst4(d, a.a) : rv_demux_by_dst6(d, a.a);
}

static bool src_ok(const struct rv_demux *d, const struct rv_session *s, const char *addr)
{
	struct rv_ip_addr a = t_ip(addr);

	return rv_demux_source_ok(d, s, &a);
}

static bool is_held(const struct rv_demux *d, const char *addr)
{
	struct rv_ip_addr a = t_ip(addr);

	return rv_demux_held(d, &a);
}

/* A owns 10.20.0.0/16 and fd20::/48, B the carve-out 10.20.5.0/24: the
 * longest match routes, and the same answer decides who may send from where. */
Test(demux, networks_longest_match_and_sources)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 2), *b = mk(2, 3, 3);
	struct rv_prefix pa[2] = { pfx("10.20.0.0", 16), pfx("fd20::", 48) };
	struct rv_prefix pb = pfx("10.20.5.0", 24);

	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_set_prefixes(d, a, pa, 2), 0);
	cr_assert_eq(rv_demux_add_prefix(d, b, &pb), 0);
	cr_assert_eq(rv_demux_num_prefixes(d, a), 2u);
	cr_assert_eq(rv_demux_num_prefixes(d, b), 1u);

	/* 1-7: routing */
	cr_assert_eq(dst(d, "10.20.1.1"), a);
	cr_assert_eq(dst(d, "10.20.5.9"), b);
	cr_assert_eq(dst(d, "10.20.255.255"), a);
	cr_assert_eq(dst(d, "fd20::1:2"), a);
	cr_assert_eq(dst(d, "10.0.0.3"), b); /* own address */
	cr_assert_null(dst(d, "10.21.0.1"));
	cr_assert_null(dst(d, "fd21::1"));
	/* 8-15: sources */
	cr_assert(src_ok(d, a, "10.0.0.2"));
	cr_assert(src_ok(d, a, "10.20.1.1"));
	cr_assert(src_ok(d, a, "fd20::77"));
	cr_assert_not(src_ok(d, a, "10.20.5.9")); /* carved out for b */
	cr_assert(src_ok(d, b, "10.20.5.9"));
	cr_assert_not(src_ok(d, b, "10.20.1.1"));
	cr_assert_not(src_ok(d, a, "10.0.0.3")); /* b's own address */
	cr_assert_not(src_ok(d, a, "192.0.2.1"));
	/* by_addr names a session's own address only, never a network. */
	struct rv_ip_addr in_net = t_ip("10.20.1.1");
	cr_assert_null(rv_demux_by_addr(d, &in_net));
	cr_assert_eq(rv_demux_by_addr(d, rv_session_vaddr4(b)), b);

	/* Removing b hands its carve-out back to a's network. */
	rv_demux_remove(d, b);
	cr_assert_eq(dst(d, "10.20.5.9"), a);
	cr_assert(src_ok(d, a, "10.20.5.9"));
	rv_demux_remove(d, a);
	cr_assert_null(dst(d, "10.20.1.1"));
	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(b);
}

/* The same carve-out held while b is away (rv_demux_set_reserved): its
 * addresses find nobody (not a's network, not the default) and a may not
 * send from them, before b comes, after b leaves, and after b lets go of
 * it by a new set; a's own network is unchanged. Dropping the reservation
 * hands the carve-out back to a's network. */
Test(demux, reserved_network_while_owner_away)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 2), *b = mk(2, 3, 3), *dflt = mk(3, 4, 0);
	struct rv_prefix pa = pfx("10.20.0.0", 16),
			 pb[2] = { pfx("10.20.5.0", 24), pfx("fd30::", 64) };
	struct rv_prefix held[3] = { pa, pb[0], pb[1] };

	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_add(d, dflt), 0);
	cr_assert_eq(rv_demux_add_prefix(d, a, &pa), 0);
	cr_assert_eq(rv_demux_set_reserved(d, held, 3), 0);
	cr_assert_eq(rv_demux_set_reserved(d, held, 3), 0); /* again: no change */
	rv_demux_set_default(d, dflt);

	/* b not yet online */
	cr_assert(is_held(d, "10.20.5.9"));
	cr_assert(is_held(d, "fd30::1"));
	cr_assert_not(is_held(d, "10.20.6.1"), "an owned network is not held");
	cr_assert_not(is_held(d, "192.0.2.1"));
	cr_assert_null(dst(d, "10.20.5.9"), "an unowned carve-out fell to its enclosing network");
	cr_assert_null(dst(d, "fd30::1"), "an unowned network fell to the default");
	cr_assert_eq(dst(d, "10.20.6.1"), a);
	cr_assert_eq(dst(d, "192.0.2.1"), dflt);
	cr_assert_not(src_ok(d, a, "10.20.5.9"));
	cr_assert(src_ok(d, a, "10.20.6.1"));
	cr_assert_not(src_ok(d, b, "10.20.5.9"));
	cr_assert_eq(rv_demux_num_prefixes(d, a), 1u);

	/* b online: its networks are its own */
	cr_assert_eq(rv_demux_set_prefixes(d, b, pb, 2), 0);
	cr_assert_not(is_held(d, "10.20.5.9"));
	cr_assert_eq(dst(d, "10.20.5.9"), b);
	cr_assert_eq(dst(d, "fd30::1"), b);
	cr_assert(src_ok(d, b, "10.20.5.9"));
	cr_assert_not(src_ok(d, a, "10.20.5.9"));

	/* b lets go of one by a new set, then leaves: held again each time */
	cr_assert_eq(rv_demux_set_prefixes(d, b, &pb[1], 1), 0);
	cr_assert_null(dst(d, "10.20.5.9"));
	cr_assert_eq(rv_demux_add_prefix(d, b, &pb[0]), 0);
	cr_assert_eq(rv_demux_remove_prefix(d, b, &pb[0]), 0);
	cr_assert_null(dst(d, "10.20.5.9"));
	cr_assert_eq(rv_demux_remove_prefix(d, b, &pb[0]), -ENOENT, "a held network is nobody's");
	rv_demux_remove(d, b);
	cr_assert_null(dst(d, "fd30::1"));
	cr_assert(is_held(d, "fd30::1"));
	cr_assert_not(src_ok(d, a, "10.20.5.9"));
	cr_assert_null(rv_demux_by_addr(d, &(struct rv_ip_addr){ .family = AF_INET,
								 .a = { 10, 20, 5, 0 } }));

	/* a leaves too: its own network is held as well */
	rv_demux_remove(d, a);
	cr_assert_null(dst(d, "10.20.6.1"));
	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add_prefix(d, a, &pa), 0);
	cr_assert_eq(dst(d, "10.20.6.1"), a);

	/* the carve-out no longer held: back to a's network; the rest stays */
	cr_assert_eq(rv_demux_set_reserved(d, held, 2), 0);
	cr_assert_eq(dst(d, "fd30::1"), dflt);
	cr_assert_null(dst(d, "10.20.5.9"));
	cr_assert_eq(rv_demux_set_reserved(d, &pa, 1), 0);
	cr_assert_eq(dst(d, "10.20.5.9"), a);
	cr_assert(src_ok(d, a, "10.20.5.9"));
	/* a session's network is not taken by dropping its reservation */
	cr_assert_eq(rv_demux_set_reserved(d, NULL, 0), 0);
	cr_assert_eq(dst(d, "10.20.6.1"), a);
	rv_demux_remove(d, a);
	cr_assert_eq(dst(d, "10.20.6.1"), dflt);

	rv_demux_remove(d, dflt);
	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(b);
	rv_session_free(dflt);
}

Test(demux, reserved_errors)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 0);
	struct rv_prefix good = pfx("10.30.0.0", 24), host_bits = pfx("10.30.0.1", 24);
	struct rv_prefix own = pfx("10.0.0.2", 32), both[2] = { good, host_bits };

	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_set_reserved(d, both, 2), -EINVAL);
	cr_assert_eq(dst(d, "10.30.0.9"), NULL, "nothing held after a refusal");
	both[1] = own;
	cr_assert_eq(rv_demux_set_reserved(d, both, 2), -EEXIST);
	cr_assert_eq(dst(d, "10.0.0.2"), a);
	cr_assert_eq(rv_demux_set_reserved(d, &good, 1), 0);
	rv_demux_remove(d, a);
	rv_demux_free(d); /* frees the held list */
	rv_session_free(a);
}

/* A session that accepts any source (the client side) is never refused. */
Test(demux, any_source_session)
{
	struct rv_demux *d = rv_demux_new(2, NULL);
	struct rv_session_params p = { .local_index = 7, .remote_index = 8, .any_source = true };
	struct rv_session *c = rv_session_new(&p);

	cr_assert_eq(rv_demux_add(d, c), 0);
	cr_assert(src_ok(d, c, "198.51.100.7"));
	cr_assert(src_ok(d, c, "2001:db8::1"));
	rv_demux_remove(d, c);
	rv_demux_free(d);
	rv_session_free(c);
}

/* The client's one session: default for every destination, and a source
 * passes only inside the networks it owns (what the host routes into the
 * tunnel: tls/hostcfg.c). Cases: 1 pool network, 2 a pushed route, 3 the
 * client's LAN and the Internet refused, 4 no IPv6 network: IPv6 refused,
 * 5 the full tunnel's halves, 6 ::/0, 7 back to the pool alone. */
Test(demux, client_session_sources)
{
	struct rv_demux *d = rv_demux_new(2, NULL);
	struct rv_session *c = mk(7, 0x6300 + 2, 0); /* 10.0.99.2 */
	struct rv_prefix pool = pfx("10.0.99.0", 24), lan = pfx("10.50.0.0", 16),
			 full[] = { pool, pfx("0.0.0.0", 1), pfx("128.0.0.0", 1), pfx("::", 0) };

	cr_assert_eq(rv_demux_add(d, c), 0);
	rv_demux_set_default(d, c);
	cr_assert_eq(rv_demux_set_prefixes(d, c, (struct rv_prefix[]){ pool, lan }, 2), 0);
	cr_assert(src_ok(d, c, "10.0.99.1"));	      /* 1 */
	cr_assert(src_ok(d, c, "10.0.99.77"));	      /* 1: another client */
	cr_assert(src_ok(d, c, "10.50.3.4"));	      /* 2 */
	cr_assert_not(src_ok(d, c, "192.168.77.10")); /* 3 */
	cr_assert_not(src_ok(d, c, "198.51.100.9"));  /* 3 */
	cr_assert_not(src_ok(d, c, "10.0.100.1"));    /* 3: just past the pool */
	cr_assert_not(src_ok(d, c, "2001:db8::1"));   /* 4 */
	cr_assert_eq(dst(d, "198.51.100.9"), c);      /* egress: the default */
	cr_assert_eq(dst(d, "10.50.3.4"), c);
	cr_assert_eq(rv_demux_set_prefixes(d, c, full, 3), 0);
	cr_assert(src_ok(d, c, "198.51.100.9")); /* 5 */
	cr_assert(src_ok(d, c, "192.168.77.10"));
	cr_assert(src_ok(d, c, "255.255.255.254"));
	cr_assert_not(src_ok(d, c, "2001:db8::1"));
	cr_assert_eq(rv_demux_set_prefixes(d, c, full, 4), 0);
	cr_assert(src_ok(d, c, "2001:db8::1")); /* 6 */
	cr_assert_eq(rv_demux_set_prefixes(d, c, &pool, 1), 0);
	cr_assert_not(src_ok(d, c, "198.51.100.9")); /* 7 */
	cr_assert_not(src_ok(d, c, "2001:db8::1"));
	cr_assert_not(src_ok(d, c, "10.50.3.4"));
	cr_assert(src_ok(d, c, "10.0.99.1"));
	cr_assert_eq(rv_demux_num_prefixes(d, c), 1u);
	/* Removed: the sources a worker still holding |c| checks fail, and
	 * rv_demux_removed tells it why (they were said as the server's
	 * spoof: round-sixty-four tester 260). */
	cr_assert_not(rv_demux_removed(c));
	rv_demux_remove(d, c);
	cr_assert(rv_demux_removed(c));
	cr_assert_not(src_ok(d, c, "10.0.99.1"));
	cr_assert_not(src_ok(d, c, "10.50.3.4"));
	rv_demux_free(d);
	rv_session_free(c);
}

/* Taking a network over moves it in one step; the old owner's teardown
 * leaves it alone; remove_prefix only removes what the caller owns. */
Test(demux, network_take_over_and_teardown)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 0), *b = mk(2, 3, 0);
	struct rv_prefix p = pfx("10.30.0.0", 24);

	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_add_prefix(d, a, &p), 0);
	cr_assert_eq(rv_demux_add_prefix(d, a, &p), 0); /* again: no-op */
	cr_assert_eq(rv_demux_num_prefixes(d, a), 1u);
	cr_assert_eq(rv_demux_add_prefix(d, b, &p), 0);
	cr_assert_eq(dst(d, "10.30.0.9"), b);
	cr_assert_eq(rv_demux_num_prefixes(d, a), 0u);
	cr_assert_eq(rv_demux_num_prefixes(d, b), 1u);
	cr_assert_eq(rv_demux_remove_prefix(d, a, &p), -ENOENT);
	rv_demux_remove(d, a);
	cr_assert_eq(dst(d, "10.30.0.9"), b);
	cr_assert_eq(rv_demux_remove_prefix(d, b, &p), 0);
	cr_assert_null(dst(d, "10.30.0.9"));
	cr_assert_eq(rv_demux_remove_prefix(d, b, &p), -ENOENT);
	rv_demux_remove(d, b);
	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(b);
}

Test(demux, network_errors)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 2), *b = mk(2, 3, 0), *c = mk(3, 4, 0);
	struct rv_prefix host_bits = pfx("10.20.0.1", 24), too_long = pfx("10.20.0.0", 24);
	struct rv_prefix bs_addr = pfx("10.0.0.3", 32), cs_addr = pfx("10.0.0.4", 32);
	struct rv_prefix none = { .len = 8 };

	too_long.len = 33;
	cr_assert_eq(rv_demux_add_prefix(d, a, &cs_addr), -EINVAL); /* a not published */
	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_add_prefix(d, a, &host_bits), -EINVAL);
	cr_assert_eq(rv_demux_add_prefix(d, a, &too_long), -EINVAL);
	cr_assert_eq(rv_demux_add_prefix(d, a, &none), -EINVAL);
	/* Another session's own address cannot be taken as a network... */
	cr_assert_eq(rv_demux_add_prefix(d, a, &bs_addr), -EEXIST);
	cr_assert_eq(dst(d, "10.0.0.3"), b);
	/* ...and a session cannot be added over someone's /32 network. */
	cr_assert_eq(rv_demux_add_prefix(d, a, &cs_addr), 0);
	cr_assert_eq(rv_demux_add(d, c), -EEXIST);
	cr_assert_eq(rv_demux_remove_prefix(d, a, &cs_addr), 0);
	cr_assert_eq(rv_demux_add(d, c), 0);
	/* A session's own address is not a network it can drop. */
	struct rv_prefix as_addr = pfx("10.0.0.2", 32);
	cr_assert_eq(rv_demux_remove_prefix(d, a, &as_addr), -ENOENT);
	cr_assert_eq(dst(d, "10.0.0.2"), a);
	rv_demux_remove(d, a);
	rv_demux_remove(d, b);
	rv_demux_remove(d, c);
	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(b);
	rv_session_free(c);
}

/*
 * The operation a reload needs: A owns {P, Q}, the new configuration says
 * A {Q, R} and B {P}. First every (session, prefix) of the new assignment is
 * added (P goes straight from A to B), then every session's set is replaced
 * (A drops nothing it should keep). At no step is P without an owner.
 */
Test(demux, reload_moves_networks_without_a_gap)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 0), *b = mk(2, 3, 0);
	struct rv_prefix p = pfx("10.20.0.0", 24), q = pfx("10.21.0.0", 24),
			 r = pfx("10.22.0.0", 24);
	struct rv_prefix old_a[2] = { p, q }, new_a[2] = { q, r }, new_b[1] = { p };

	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_set_prefixes(d, a, old_a, 2), 0);
	cr_assert_eq(dst(d, "10.20.0.1"), a);

	/* pass 1: add every new ownership */
	cr_assert_eq(rv_demux_add_prefix(d, a, &new_a[0]), 0);
	cr_assert_eq(dst(d, "10.20.0.1"), a);
	cr_assert_eq(rv_demux_add_prefix(d, a, &new_a[1]), 0);
	cr_assert_eq(rv_demux_add_prefix(d, b, &new_b[0]), 0);
	cr_assert_eq(dst(d, "10.20.0.1"), b);
	/* pass 2: set every session's list; only removals are left */
	cr_assert_eq(rv_demux_set_prefixes(d, a, new_a, 2), 0);
	cr_assert_eq(rv_demux_set_prefixes(d, b, new_b, 1), 0);
	cr_assert_eq(dst(d, "10.20.0.1"), b);
	cr_assert_eq(dst(d, "10.21.0.1"), a);
	cr_assert_eq(dst(d, "10.22.0.1"), a);
	cr_assert_eq(rv_demux_num_prefixes(d, a), 2u);
	cr_assert_eq(rv_demux_num_prefixes(d, b), 1u);
	cr_assert_not(src_ok(d, a, "10.20.0.1"));
	cr_assert(src_ok(d, b, "10.20.0.1"));

	/* Shrinking to nothing. */
	cr_assert_eq(rv_demux_set_prefixes(d, a, NULL, 0), 0);
	cr_assert_null(dst(d, "10.21.0.1"));
	cr_assert_eq(rv_demux_num_prefixes(d, a), 0u);
	rv_demux_remove(d, a);
	rv_demux_remove(d, b);
	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(b);
}

/* ---- the watcher ----------------------------------------------------------- */

struct heard {
	struct rv_prefix key;
	bool own;
	const struct rv_session *owner;
};

struct ear {
	struct heard h[16];
	size_t n;
};

static void listen_fn(void *ctx, const struct rv_prefix *key, bool own,
		      const struct rv_session *owner)
{
	struct ear *e = ctx;

	cr_assert_lt(e->n, 16u, "more changes told than made");
	e->h[e->n++] = (struct heard){ .key = *key, .own = own, .owner = owner };
}

/* heard_as: the |i|-th change told was |key| (own or a network) with
 * |owner| as its owner now. */
static void heard_as(const struct ear *e, size_t i, const char *addr, unsigned len, bool own,
		     const struct rv_session *owner)
{
	struct rv_prefix p = pfx(addr, len);

	cr_assert_lt(i, e->n, "change %zu (%s/%u) not told", i, addr, len);
	cr_assert(rv_ip_addr_equal(&e->h[i].key.addr, &p.addr) && e->h[i].key.len == len,
		  "change %zu: want %s/%u", i, addr, len);
	cr_assert_eq(e->h[i].own, own, "change %zu (%s/%u): own", i, addr, len);
	cr_assert_eq(e->h[i].owner, owner, "change %zu (%s/%u): owner", i, addr, len);
}

/* Every path that changes who owns a key tells the watcher once, with the
 * owner as it is afterwards: a session published and removed (its
 * addresses, and the networks that leave with it), a network added, taken
 * over, removed, pruned by a new set; nothing for a no-op; nothing once
 * the watcher is gone. */
Test(demux, watcher_hears_every_change_of_owner)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 2), *b = mk(2, 3, 0);
	struct rv_prefix n1 = pfx("10.30.0.0", 24), n2 = pfx("10.40.0.0", 24);
	struct rv_prefix n3 = pfx("fd40::", 64);
	struct ear e = { .n = 0 };

	rv_demux_watch(d, listen_fn, &e);
	cr_assert_eq(rv_demux_add(d, a), 0);
	heard_as(&e, 0, "10.0.0.2", 32, true, a);
	heard_as(&e, 1, "fd00::2", 128, true, a);
	cr_assert_eq(rv_demux_add(d, b), 0);
	heard_as(&e, 2, "10.0.0.3", 32, true, b);
	cr_assert_eq(e.n, 3u);
	cr_assert_eq(rv_demux_add(d, b), -EEXIST);
	cr_assert_eq(e.n, 3u, "a failed add tells nothing");

	cr_assert_eq(rv_demux_add_prefix(d, a, &n1), 0);
	heard_as(&e, 3, "10.30.0.0", 24, false, a);
	cr_assert_eq(rv_demux_add_prefix(d, a, &n1), 0);
	cr_assert_eq(e.n, 4u, "a no-op tells nothing");
	cr_assert_eq(rv_demux_add_prefix(d, b, &n1), 0);
	heard_as(&e, 4, "10.30.0.0", 24, false, b);
	cr_assert_eq(rv_demux_add_prefix(d, a, &n2), 0);
	cr_assert_eq(rv_demux_add_prefix(d, a, &n3), 0);
	cr_assert_eq(e.n, 7u);
	/* A new set without n2: n2 goes, n3 stays. */
	cr_assert_eq(rv_demux_set_prefixes(d, a, &n3, 1), 0);
	heard_as(&e, 7, "10.40.0.0", 24, false, NULL);
	cr_assert_eq(e.n, 8u);
	cr_assert_eq(rv_demux_remove_prefix(d, b, &n1), 0);
	heard_as(&e, 8, "10.30.0.0", 24, false, NULL);

	/* a leaves: its two addresses and its network, nobody's now. */
	rv_demux_remove(d, a);
	heard_as(&e, 9, "10.0.0.2", 32, true, NULL);
	heard_as(&e, 10, "fd00::2", 128, true, NULL);
	heard_as(&e, 11, "fd40::", 64, false, NULL);
	cr_assert_eq(e.n, 12u);
	rv_demux_remove(d, a);
	cr_assert_eq(e.n, 12u, "removing a removed session tells nothing");

	rv_demux_watch(d, NULL, NULL);
	rv_demux_remove(d, b);
	cr_assert_eq(e.n, 12u, "no watcher, nothing told");
	rv_demux_free(d);
	rv_session_free(a);
	rv_session_free(b);
}

/* A held network is nobody's for the watcher: holding and releasing it
 * tells nothing, and its owner leaving tells NULL, never the placeholder. */
Test(demux, watcher_never_hears_the_placeholder)
{
	struct rv_demux *d = rv_demux_new(8, NULL);
	struct rv_session *b = mk(2, 3, 0);
	struct rv_prefix n = pfx("10.30.0.0", 24);
	struct ear e = { .n = 0 };

	rv_demux_watch(d, listen_fn, &e);
	cr_assert_eq(rv_demux_set_reserved(d, &n, 1), 0);
	cr_assert_eq(e.n, 0u);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_add_prefix(d, b, &n), 0);
	heard_as(&e, 1, "10.30.0.0", 24, false, b);
	rv_demux_remove(d, b);
	heard_as(&e, 2, "10.0.0.3", 32, true, NULL);
	heard_as(&e, 3, "10.30.0.0", 24, false, NULL);
	cr_assert_eq(rv_demux_set_reserved(d, NULL, 0), 0);
	cr_assert_eq(e.n, 4u);
	rv_demux_watch(d, NULL, NULL);
	rv_demux_free(d);
	rv_session_free(b);
}

/* A session moved to another lane (rv_demux_move, the server's balancing):
 * the per-lane counts follow it there and back out when it leaves, and the
 * watcher hears of its addresses and networks as if they changed hands,
 * so the TUN side's lane tables follow too. A no-op tells nothing; a bad
 * lane, an unpublished session or a demux without lanes is refused. */
Test(demux, move_between_lanes)
{
	struct rv_demux *d = rv_demux_new(8, NULL), *flat = rv_demux_new(8, NULL);
	struct rv_session *a = mk(1, 2, 2), *b = mk(2, 3, 0), *c = mk(5, 4, 0);
	struct rv_prefix n1 = pfx("10.30.0.0", 24);
	struct ear e = { .n = 0 };

	cr_assert_eq(rv_demux_set_lanes(d, 2), 0);
	cr_assert_eq(rv_demux_add(d, a), 0);
	cr_assert_eq(rv_demux_add(d, b), 0);
	cr_assert_eq(rv_demux_add_prefix(d, a, &n1), 0);
	cr_assert_eq(rv_demux_lane_of(a), 1u);
	cr_assert_eq(rv_demux_lane_of(b), 0u);
	cr_assert_eq(rv_demux_lane_sessions(d, 0), 1u);
	cr_assert_eq(rv_demux_lane_sessions(d, 1), 1u);

	rv_demux_watch(d, listen_fn, &e);
	cr_assert_eq(rv_demux_move(d, a, 0), 0);
	cr_assert_eq(rv_demux_lane_of(a), 0u);
	cr_assert_eq(rv_demux_lane_sessions(d, 0), 2u);
	cr_assert_eq(rv_demux_lane_sessions(d, 1), 0u);
	heard_as(&e, 0, "10.0.0.2", 32, true, a);
	heard_as(&e, 1, "fd00::2", 128, true, a);
	heard_as(&e, 2, "10.30.0.0", 24, false, a);
	cr_assert_eq(e.n, 3u);
	cr_assert_eq(rv_demux_move(d, a, 0), 0);
	cr_assert_eq(e.n, 3u, "a no-op tells nothing");

	cr_assert_eq(rv_demux_move(d, a, 2), -EINVAL);
	cr_assert_eq(rv_demux_move(d, c, 1), -EINVAL, "not published");
	cr_assert_eq(rv_demux_add(flat, c), 0);
	cr_assert_eq(rv_demux_move(flat, c, 0), -EINVAL, "no lanes");
	cr_assert_eq(e.n, 3u);

	/* It leaves from the lane it was moved to. */
	rv_demux_remove(d, a);
	cr_assert_eq(rv_demux_lane_sessions(d, 0), 1u);
	cr_assert_eq(rv_demux_lane_sessions(d, 1), 0u);
	rv_demux_watch(d, NULL, NULL);
	rv_demux_remove(d, b);
	rv_demux_remove(flat, c);
	cr_assert_eq(rv_demux_lane_sessions(d, 0), 0u);
	rv_demux_free(d);
	rv_demux_free(flat);
	rv_session_free(a);
	rv_session_free(b);
	rv_session_free(c);
}
