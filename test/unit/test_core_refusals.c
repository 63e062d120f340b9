/*
 * test_core_refusals.c — spells of refused sends: a session's refusals said
 * at their start and end, with every datagram counted in some line; more
 * sessions than the table follows counted together; lines past the rate
 * held back and their counts said together; quiet spells ended. The
 * integration test (test_endpoints step 8) sees one or two sessions; what
 * is here it cannot make happen on demand (round-fifty-six testers 234 and
 * 236 reproduced the spill and the held-back counts by hand).
 */
#include <errno.h>

#include <criterion/criterion.h>

#include "core/refusals.h"

#define MS RV_NSEC_PER_MSEC
#define SEC RV_NSEC_PER_SEC

struct said {
	unsigned lines[RV_REFUSAL_HELD + 1];
	uint64_t n; /* every datagram said, in every kind of line */
	struct rv_refusal_line last;
	uint32_t begun[64]; /* sessions whose BEGINS was said, in order */
	unsigned nbegun;
};

static void record(void *arg, const struct rv_refusal_line *l)
{
	struct said *s = arg;

	cr_assert_leq(l->kind, RV_REFUSAL_HELD);
	s->lines[l->kind]++;
	if (l->kind != RV_REFUSAL_SPILL_BEGINS) {
		s->n += l->n;
	}
	if (l->kind == RV_REFUSAL_BEGINS && s->nbegun < 64) {
		s->begun[s->nbegun++] = l->sess;
	}
	s->last = *l;
}

static unsigned total_lines(const struct said *s)
{
	unsigned n = 0;

	for (unsigned k = 0; k <= RV_REFUSAL_HELD; k++) {
		n += s->lines[k];
	}
	return n;
}

/* all_said checks that every one of |total| refused datagrams was said and
 * that |r| has nothing left to say. */
static void all_said(const struct said *s, const struct rv_refusals *r, uint64_t total)
{
	cr_assert_eq(s->n, total, "%lu of %lu datagrams said", (unsigned long)s->n,
		     (unsigned long)total);
	cr_assert_not(rv_refusals_busy(r));
}

Test(refusals, one_spell_said_at_start_and_end)
{
	struct said s = { 0 };
	struct rv_refusals r;
	uint64_t t = 30 * SEC; /* a young clock */

	rv_refusals_init(&r, record, &s);
	cr_assert_not(rv_refusals_busy(&r));
	rv_refusals_note(&r, 7, ENETUNREACH, 3, t, "client1", "");
	cr_assert_eq(s.lines[RV_REFUSAL_BEGINS], 1);
	cr_assert_eq(s.last.sess, 7);
	cr_assert_eq(s.last.n, 3);
	cr_assert_str_eq(s.last.who, "client1");
	for (int i = 0; i < 1000; i++) {
		t += 1 * MS;
		rv_refusals_note(&r, 7, ENETUNREACH, 2, t, "client1", "");
	}
	cr_assert_eq(total_lines(&s), 1, "one line for 1,001 refusals");
	cr_assert(rv_refusals_busy(&r));
	rv_refusals_pass(&r, 99, t); /* another session's send */
	cr_assert(rv_refusals_any(&r));
	rv_refusals_pass(&r, 7, t + 500 * MS);
	cr_assert_eq(s.lines[RV_REFUSAL_ENDS], 1);
	cr_assert_eq(s.last.why, RV_REFUSAL_PASSED);
	cr_assert_eq(s.last.n, 2000, "the end says those after the first");
	cr_assert_not(s.last.unsaid);
	cr_assert_eq(s.last.err, ENETUNREACH);
	cr_assert_eq(s.last.lasted_ns, 1500 * MS);
	all_said(&s, &r, 2003);
}

Test(refusals, a_single_refusal_ends_without_a_count)
{
	struct said s = { 0 };
	struct rv_refusals r;

	rv_refusals_init(&r, record, &s);
	rv_refusals_note(&r, 1, EPERM, 4, 2 * SEC, "c", "");
	rv_refusals_pass(&r, 1, 3 * SEC);
	cr_assert_eq(total_lines(&s), 1, "nothing more to say at its end");
	all_said(&s, &r, 4);
}

Test(refusals, another_reason_ends_the_spell_and_begins_one)
{
	struct said s = { 0 };
	struct rv_refusals r;

	rv_refusals_init(&r, record, &s);
	for (int i = 0; i < 3; i++) {
		rv_refusals_note(&r, 5, ENETUNREACH, 1, 10 * SEC + i * MS, "c", "");
	}
	rv_refusals_note(&r, 5, EHOSTUNREACH, 1, 11 * SEC, "c", "");
	cr_assert_eq(s.lines[RV_REFUSAL_ENDS], 1);
	cr_assert_eq(s.lines[RV_REFUSAL_BEGINS], 2);
	cr_assert_eq(s.last.kind, RV_REFUSAL_BEGINS, "the end first, then the new start");
	cr_assert_eq(s.last.err, EHOSTUNREACH);
	cr_assert_eq(s.n, 4);
	rv_refusals_sweep(&r, 11 * SEC, true);
	cr_assert_eq(s.n, 4, "a spell of one refusal has nothing more");
}

Test(refusals, a_quiet_spell_ends_after_five_seconds)
{
	struct said s = { 0 };
	struct rv_refusals r;
	uint64_t t = 1 * SEC;

	rv_refusals_init(&r, record, &s);
	rv_refusals_note(&r, 3, ENETUNREACH, 1, t, "c", "");
	rv_refusals_note(&r, 3, ENETUNREACH, 1, t + 100 * MS, "c", "");
	rv_refusals_sweep(&r, t + 100 * MS + RV_REFUSAL_QUIET_NS - 1, false);
	cr_assert_eq(s.lines[RV_REFUSAL_ENDS], 0);
	cr_assert(rv_refusals_busy(&r), "the worker keeps waking to sweep");
	rv_refusals_sweep(&r, t + 100 * MS + RV_REFUSAL_QUIET_NS, false);
	cr_assert_eq(s.lines[RV_REFUSAL_ENDS], 1);
	cr_assert_eq(s.last.why, RV_REFUSAL_QUIET);
	cr_assert_eq(s.last.lasted_ns, 100 * MS);
	cr_assert_not(rv_refusals_busy(&r), "then it may sleep");
}

Test(refusals, sessions_past_the_table_are_counted_together)
{
	struct said s = { 0 };
	struct rv_refusals r;
	uint64_t t = 5 * SEC, total = 0;

	rv_refusals_init(&r, record, &s);
	/* Twelve sessions refused in turn, 200 rounds: the table holds the
	 * first eight and never evicts (an evicting table said a start and an
	 * end at nearly every refusal). */
	for (int round = 0; round < 200; round++) {
		for (uint32_t sess = 1; sess <= 12; sess++) {
			rv_refusals_note(&r, sess, ENETUNREACH, 1, t, "c", "");
			total++;
			t += 100000;
		}
	}
	cr_assert_eq(s.lines[RV_REFUSAL_BEGINS], RV_REFUSAL_SPELLS);
	cr_assert_eq(s.lines[RV_REFUSAL_SPILL_BEGINS], 1);
	cr_assert_eq(s.lines[RV_REFUSAL_ENDS], 0);
	for (unsigned i = 0; i < RV_REFUSAL_SPELLS; i++) {
		cr_assert_eq(s.begun[i], i + 1);
	}
	rv_refusals_sweep(&r, t + RV_REFUSAL_QUIET_NS, false);
	cr_assert_eq(s.lines[RV_REFUSAL_SPILL_ENDS], 1);
	cr_assert_eq(s.lines[RV_REFUSAL_ENDS] + r.held_spells, RV_REFUSAL_SPELLS,
		     "the eight followed ended, said or held back");
	rv_refusals_sweep(&r, t + RV_REFUSAL_QUIET_NS + 10 * SEC, false);
	all_said(&s, &r, total);
	/* A free entry again: the next session refused is followed alone. */
	rv_refusals_note(&r, 40, ENETUNREACH, 1, t + 20 * SEC, "c", "");
	cr_assert_eq(s.last.kind, RV_REFUSAL_BEGINS);
	cr_assert_eq(s.last.sess, 40);
}

Test(refusals, the_spill_counts_only_sessions_past_the_table)
{
	struct said s = { 0 };
	struct rv_refusals r;

	rv_refusals_init(&r, record, &s);
	for (uint32_t sess = 1; sess <= 9; sess++) {
		rv_refusals_note(&r, sess, ENETUNREACH, 10, 1 * SEC, "c", "");
	}
	cr_assert_eq(s.lines[RV_REFUSAL_SPILL_BEGINS], 1);
	cr_assert_str_eq(s.last.who, "c");
	/* Session 9 is in the spill; a pass for it ends nothing followed. */
	rv_refusals_pass(&r, 9, 2 * SEC);
	cr_assert_eq(s.lines[RV_REFUSAL_ENDS], 0);
	rv_refusals_sweep(&r, 2 * SEC, true);
	cr_assert_eq(s.lines[RV_REFUSAL_SPILL_ENDS], 1);
	all_said(&s, &r, 90);
}

Test(refusals, lines_past_the_rate_are_held_and_their_counts_said)
{
	struct said s = { 0 };
	struct rv_refusals r;
	uint64_t t = 3 * SEC, total = 0;

	rv_refusals_init(&r, record, &s);
	/* 40 short spells in the same instant, each two refusals then a send
	 * that passes: the first lines take the burst, the rest are held. */
	for (uint32_t sess = 1; sess <= 40; sess++) {
		rv_refusals_note(&r, sess, ENETUNREACH, 1, t, "c", "");
		rv_refusals_note(&r, sess, ENETUNREACH, 1, t, "c", "");
		rv_refusals_pass(&r, sess, t);
		total += 2;
	}
	cr_assert_leq(total_lines(&s), RV_RATELIMIT_BURST);
	cr_assert(rv_refusals_busy(&r), "counts held back wait for a sweep");
	cr_assert_not(rv_refusals_any(&r));
	rv_refusals_sweep(&r, t, false); /* no token yet */
	cr_assert_eq(s.lines[RV_REFUSAL_HELD], 0);
	rv_refusals_sweep(&r, t + 1 * SEC, false);
	cr_assert_eq(s.lines[RV_REFUSAL_HELD], 1);
	cr_assert_gt(s.last.spells, 30);
	all_said(&s, &r, total);
}

Test(refusals, stopping_says_everything_whatever_the_rate)
{
	struct said s = { 0 };
	struct rv_refusals r;
	uint64_t t = 2 * SEC, total = 0;

	rv_refusals_init(&r, record, &s);
	for (uint32_t sess = 1; sess <= 20; sess++) {
		for (int k = 0; k < 3; k++) {
			rv_refusals_note(&r, sess, ECONNREFUSED, 1, t, "c", "");
			total++;
		}
		if (sess % 2 == 0) {
			rv_refusals_pass(&r, sess, t);
		}
	}
	rv_refusals_sweep(&r, t, true);
	all_said(&s, &r, total);
	cr_assert_eq(r.num, 0);
}
