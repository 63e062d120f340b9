/*
 * test_core_demux.c — session tables: add/remove/lookup by index and by
 * virtual address, -EEXIST and -ENOSPC, the default session, a full table of
 * RV_DEMUX_MAX_SESSIONS and index allocation.
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
	struct rv_demux *d = rv_demux_new(16);
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
	struct rv_demux *d = rv_demux_new(8);
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
	struct rv_demux *d = rv_demux_new(5);
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
	cr_assert_null(rv_demux_new(0));
}

Test(demux, default_session)
{
	struct rv_demux *d = rv_demux_new(4);
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
	struct rv_demux *d = rv_demux_new(N);
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
	struct rv_demux *d = rv_demux_new(N);
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
