/*
 * test_tls_firsts.c — keys whose line was said lately (tls/firsts.c): a
 * key's first line, none again within the window, a new key's first line
 * whatever another key's flood, and at most RV_FIRSTS_PER_S a second.
 *
 *   ./build/<dir>/test/test_tls_firsts --verbose
 */
#include <stdio.h>

#include <criterion/criterion.h>

#include "core/clock.h"
#include "tls/firsts.h"

/* A young clock: a second and a half after boot. */
static const uint64_t T0 = 1500 * RV_NSEC_PER_MSEC;

Test(firsts, a_key_once_a_window)
{
	static struct rv_firsts f;

	cr_assert(rv_firsts_new_key(&f, "expired (mallory, serial 0a)", T0));
	for (int i = 1; i < 1000; i++) {
		cr_assert_not(rv_firsts_new_key(&f, "expired (mallory, serial 0a)",
						T0 + (uint64_t)i * 50 * RV_NSEC_PER_MSEC));
	}
	/* Another key's first, in the middle of that flood. */
	cr_assert(rv_firsts_new_key(&f, "revoked (thief, serial 0b)", T0 + 30 * RV_NSEC_PER_SEC));
	cr_assert(rv_firsts_new_key(&f, "expired (mallory, serial 0a)",
				    T0 + (uint64_t)RV_FIRSTS_WINDOW_S * RV_NSEC_PER_SEC +
					    RV_NSEC_PER_MSEC));
	cr_assert_not(rv_firsts_new_key(&f, "revoked (thief, serial 0b)",
					T0 + (uint64_t)RV_FIRSTS_WINDOW_S * RV_NSEC_PER_SEC +
						RV_NSEC_PER_MSEC));
}

/* Many keys: RV_FIRSTS_PER_S first lines a second, and the rest wait for
 * the next second; the oldest keys are forgotten past RV_FIRSTS_KEYS. */
Test(firsts, a_budget_each_second)
{
	static struct rv_firsts f;
	char key[32];
	unsigned said = 0;

	for (int i = 0; i < 3 * RV_FIRSTS_PER_S; i++) {
		snprintf(key, sizeof(key), "cert %d", i);
		said += rv_firsts_new_key(&f, key, T0 + (uint64_t)i * RV_NSEC_PER_MSEC);
	}
	cr_assert_eq(said, RV_FIRSTS_PER_S);
	snprintf(key, sizeof(key), "cert %d", RV_FIRSTS_PER_S);
	cr_assert(rv_firsts_new_key(&f, key, T0 + RV_NSEC_PER_SEC), "a key held back is new later");
	for (int i = 0; i < RV_FIRSTS_KEYS + 1; i++) {
		snprintf(key, sizeof(key), "other %d", i);
		cr_assert(rv_firsts_new_key(&f, key, T0 + (uint64_t)(2 + i) * RV_NSEC_PER_SEC));
	}
	cr_assert(rv_firsts_new_key(&f, "other 0",
				    T0 + (uint64_t)(3 + RV_FIRSTS_KEYS) * RV_NSEC_PER_SEC),
		  "the oldest key is forgotten");
}

/* A window's worth of first lines, RV_FIRSTS_PER_S a second for a minute,
 * are all remembered: with 64 slots a key was forgotten after 13 s and its
 * line said again; and a key twice in one turn of the loop (one now_ns,
 * even) is new once (round-thirty-two tester 173). */
Test(firsts, a_window_of_keys_and_one_turn)
{
	static struct rv_firsts f;
	char key[32];

	for (int s = 0; s < RV_FIRSTS_WINDOW_S; s++) {
		for (int i = 0; i < RV_FIRSTS_PER_S; i++) {
			snprintf(key, sizeof(key), "cert %d", s * RV_FIRSTS_PER_S + i);
			cr_assert(rv_firsts_new_key(&f, key, T0 + (uint64_t)s * RV_NSEC_PER_SEC));
		}
	}
	for (int i = 0; i < RV_FIRSTS_PER_S; i++) {
		snprintf(key, sizeof(key), "cert %d", i + 5 * RV_FIRSTS_PER_S);
		cr_assert_not(rv_firsts_new_key(&f, key,
						T0 + (uint64_t)RV_FIRSTS_WINDOW_S *
								RV_NSEC_PER_SEC),
			      "%s said again within its minute", key);
	}
	cr_assert(rv_firsts_new_key(&f, "same turn", 2000000000ull));
	cr_assert_not(rv_firsts_new_key(&f, "same turn", 2000000000ull));
}
