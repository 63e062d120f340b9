/*
 * test_core_busyrun.c — the rule the workers and the control loop share for
 * a ring whose wait is refused for now: a run of 16 refusals each within
 * 10 ms of the one before is a failing ring; sporadic ones (a stop and
 * continue now and then) and a run broken by progress are not.
 */
#include <criterion/criterion.h>

#include "core/busyrun.h"

#define MS RV_NSEC_PER_MSEC

Test(busyrun, sixteen_at_once_fail)
{
	struct rv_busy_run r = { 0 };
	uint64_t t = 30 * RV_NSEC_PER_SEC; /* a young clock */

	for (int i = 1; i < RV_BUSY_RUN_LEN; i++) {
		cr_assert_not(rv_busy_run_note(&r, t), "refusal %d", i);
		cr_assert_not(rv_busy_run_failing(&r));
		t += 1 * MS;
	}
	cr_assert(rv_busy_run_note(&r, t));
	cr_assert(rv_busy_run_failing(&r));
	cr_assert(rv_busy_run_note(&r, t + 10 * MS), "the gap's own length still counts");
}

Test(busyrun, sporadic_ones_never_fail)
{
	struct rv_busy_run r = { 0 };
	uint64_t t = 1 * RV_NSEC_PER_SEC;

	/* 1,000 stops and continues, 11 ms apart at the closest. */
	for (int i = 0; i < 1000; i++) {
		cr_assert_not(rv_busy_run_note(&r, t));
		t += 10 * MS + 1;
	}
	cr_assert_eq(r.n, 1);
}

Test(busyrun, progress_ends_the_run)
{
	struct rv_busy_run r = { 0 };
	uint64_t t = 1 * RV_NSEC_PER_SEC;

	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < RV_BUSY_RUN_LEN - 1; i++) {
			cr_assert_not(rv_busy_run_note(&r, t));
		}
		rv_busy_run_end(&r);
		cr_assert_not(rv_busy_run_failing(&r));
	}
}

Test(busyrun, one_late_refusal_starts_again)
{
	struct rv_busy_run r = { 0 };
	uint64_t t = 1 * RV_NSEC_PER_SEC;

	for (int i = 0; i < RV_BUSY_RUN_LEN - 1; i++) {
		(void)rv_busy_run_note(&r, t);
	}
	t += RV_BUSY_RUN_GAP_NS + 1;
	cr_assert_not(rv_busy_run_note(&r, t));
	cr_assert_eq(r.n, 1);
}
