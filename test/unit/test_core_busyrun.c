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

Test(busyrun, a_spell_is_said_once_and_gives_up_after_10_s)
{
	struct rv_ring_spells s = { 0 };
	uint64_t t = 30 * RV_NSEC_PER_SEC, lasted = 0;
	unsigned unsaid = 99;

	cr_assert_eq(rv_ring_spell_fail(&s, t, &unsaid), RV_SPELL_SAY);
	cr_assert_eq(unsaid, 0);
	for (uint64_t ms = 1; ms < 10000; ms++) {
		cr_assert_eq(rv_ring_spell_fail(&s, t + ms * MS, &unsaid), RV_SPELL_GOES_ON);
	}
	cr_assert_eq(rv_ring_spell_fail(&s, t + RV_RING_GIVE_UP_NS, &unsaid), RV_SPELL_GIVE_UP);
	cr_assert(rv_ring_spell_ok(&s, t + RV_RING_GIVE_UP_NS + MS, &lasted));
	cr_assert_eq(lasted, RV_RING_GIVE_UP_NS + MS);
	cr_assert_not(rv_ring_spell_ok(&s, t + RV_RING_GIVE_UP_NS + 2 * MS, &lasted),
		      "works again said once");
}

/* A ring that fails and recovers over and over said both lines 32 times a
 * second (round-fifty-three tester 225): a spell within a minute of the last
 * one said goes unsaid, its end too, and is counted in the next one said. */
Test(busyrun, spells_that_come_and_go_are_said_once_a_minute)
{
	struct rv_ring_spells s = { 0 };
	uint64_t t = 30 * RV_NSEC_PER_SEC, lasted;
	unsigned unsaid = 0, said = 0, ends = 0;

	for (int i = 0; i < 32 * 150; i++) { /* 32 spells a second for 150 s */
		enum rv_ring_spell r = rv_ring_spell_fail(&s, t, &unsaid);

		cr_assert_neq(r, RV_SPELL_GIVE_UP);
		if (r == RV_SPELL_SAY) {
			said++;
			cr_assert_eq(unsaid, said == 1 ? 0 : 60 * 32 - 1, "spell %d: %u unsaid", i,
				     unsaid);
		}
		ends += rv_ring_spell_ok(&s, t + 10 * MS, &lasted);
		t += RV_NSEC_PER_SEC / 32;
	}
	cr_assert_eq(said, 3, "%u spells said in 150 s", said);
	cr_assert_eq(ends, 3);
}

Test(busyrun, the_unsaid_count_is_said_only_when_there_is_one)
{
	char buf[96];

	cr_assert_str_eq(rv_ring_spells_unsaid(buf, sizeof(buf), 0), "");
	cr_assert_str_eq(rv_ring_spells_unsaid(buf, sizeof(buf), 1919),
			 "; 1919 shorter spell(s) of failures since the last said went unsaid");
}
