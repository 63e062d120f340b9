/*
 * test_core_codel.c — the CoDel law: no drop below target or for a burst
 * shorter than the interval, a first drop one interval into a standing
 * queue, drops closer together (interval / sqrt(n)) while it stands, and an
 * end to dropping once the sojourn falls below target.
 */
#include <criterion/criterion.h>

#include "core/codel.h"

#define MS 1000000ull

static const struct rv_codel_params P = { .target_ns = 1 * MS, .interval_ns = 10 * MS };

Test(codel, below_target_never_drops)
{
	struct rv_codel c;

	rv_codel_init(&c, &P);
	for (uint64_t t = 1; t < 1000; t++) {
		cr_assert_not(rv_codel_update(&c, P.target_ns - 1, t * MS));
	}
}

Test(codel, short_burst_is_tolerated)
{
	struct rv_codel c;
	uint64_t t = 100 * MS;

	rv_codel_init(&c, &P);
	/* 9 ms above target, then below: a burst, not a standing queue. */
	for (uint64_t i = 0; i < 9; i++) {
		cr_assert_not(rv_codel_update(&c, 5 * MS, t + i * MS));
	}
	cr_assert_not(rv_codel_update(&c, 0, t + 9 * MS));
	for (uint64_t i = 10; i < 19; i++) {
		cr_assert_not(rv_codel_update(&c, 5 * MS, t + i * MS));
	}
}

Test(codel, standing_queue_drops_faster_and_faster)
{
	struct rv_codel c;
	uint64_t t = 1000 * MS, drops[4];
	int n = 0;

	rv_codel_init(&c, &P);
	for (uint64_t us = 0; us < 60 * 1000 && n < 4; us += 100) {
		uint64_t now = t + us * 1000;
		if (rv_codel_update(&c, 3 * MS, now)) {
			rv_codel_dropped(&c, now);
			drops[n++] = now;
		}
	}
	cr_assert_eq(n, 4);
	/* First drop one interval after the queue was first seen standing. */
	cr_assert(drops[0] >= t + P.interval_ns && drops[0] <= t + P.interval_ns + MS / 10);
	/* Then interval / sqrt(count): 10 ms, 7.07 ms, 5.77 ms. */
	cr_assert(drops[2] - drops[1] < drops[1] - drops[0]);
	cr_assert(drops[3] - drops[2] < drops[2] - drops[1]);
}

Test(codel, stops_dropping_when_queue_drains)
{
	struct rv_codel c;
	uint64_t t = 0;

	rv_codel_init(&c, &P);
	for (; t < 20 * MS; t += MS / 10) {
		if (rv_codel_update(&c, 3 * MS, t + MS)) {
			rv_codel_dropped(&c, t + MS);
		}
	}
	cr_assert(c.dropping);
	cr_assert_not(rv_codel_update(&c, 0, t + MS));
	cr_assert_not(c.dropping);
	cr_assert_not(rv_codel_update(&c, 3 * MS, t + 2 * MS));
}

Test(codel, advice_not_taken_is_repeated)
{
	struct rv_codel c;

	rv_codel_init(&c, &P);
	cr_assert_not(rv_codel_update(&c, 3 * MS, 1 * MS));
	cr_assert(rv_codel_update(&c, 3 * MS, 12 * MS));
	/* The caller had nothing it could drop: the state did not move. */
	cr_assert(rv_codel_update(&c, 3 * MS, 12 * MS + 1));
	rv_codel_dropped(&c, 12 * MS + 1);
	cr_assert_not(rv_codel_update(&c, 3 * MS, 12 * MS + 2));
}

/* Sparse full-size packets, each late by a slow wake-up (above target),
 * 10 ms apart: CoDel's law alone advises a drop from the second on (a
 * hostile tester's program dropped 19 of 20). The worker finds the queue
 * empty each time and says so: the wait starts over, and the advice comes
 * no more, while a real backlog still gets it. */
Test(codel, an_empty_queue_is_no_standing_queue)
{
	struct rv_codel c;
	unsigned advised = 0;

	rv_codel_init(&c, &P);
	for (unsigned i = 0; i < 20; i++) {
		if (rv_codel_update(&c, 3 * MS, (uint64_t)i * 10 * MS + MS)) {
			advised++;
			rv_codel_empty(&c);
		}
	}
	cr_assert_leq(advised, 10, "advised %u times", advised);
	cr_assert_not(c.dropping);
	/* Each advice withdrawn restarts the interval: never two in a row. */
	rv_codel_init(&c, &P);
	cr_assert_not(rv_codel_update(&c, 3 * MS, 1 * MS));
	cr_assert(rv_codel_update(&c, 3 * MS, 12 * MS));
	rv_codel_empty(&c);
	cr_assert_not(rv_codel_update(&c, 3 * MS, 13 * MS));
	cr_assert_not(rv_codel_update(&c, 3 * MS, 22 * MS));
}

/* A late packet counts toward the wait: the caller looks for a queue
 * behind it then, and a lone one (rv_codel_empty) ends the wait, running
 * or not, so the first of a later burst does not find one already over. */
Test(codel, a_lone_late_packet_ends_the_wait)
{
	struct rv_codel c;

	rv_codel_init(&c, &P);
	cr_assert_not(rv_codel_above(&c, P.target_ns - 1));
	cr_assert(rv_codel_above(&c, 3 * MS));
	/* A burst starts the wait... */
	cr_assert_not(rv_codel_update(&c, 3 * MS, 1 * MS));
	cr_assert_not(rv_codel_update(&c, 3 * MS, 2 * MS));
	/* ... lone late packets after it, each found alone, end it... */
	for (unsigned i = 0; i < 5; i++) {
		cr_assert(rv_codel_above(&c, 3 * MS));
		rv_codel_empty(&c);
	}
	/* ... so a burst 50 ms on waits its interval before any drop. */
	for (uint64_t t = 50 * MS; t < 60 * MS; t += MS) {
		cr_assert_not(rv_codel_update(&c, 3 * MS, t), "advised at %llu ms",
			      (unsigned long long)(t / MS));
	}
	cr_assert(rv_codel_update(&c, 3 * MS, 61 * MS));
}

/* A pick may be marked CE instead of dropped only while it waited less than
 * an interval: a queue standing that long carries flows marks do not slow. */
Test(codel, marks_only_below_an_interval)
{
	struct rv_codel c;

	rv_codel_init(&c, &P);
	cr_assert(rv_codel_may_mark(&c, 2 * MS));
	cr_assert(rv_codel_may_mark(&c, 10 * MS - 1));
	cr_assert_not(rv_codel_may_mark(&c, 10 * MS));
	cr_assert_not(rv_codel_may_mark(&c, 50 * MS));
}

/* Drops spread by datagrams: receives of thirty (a stream's GRO batches)
 * and of one (another session's paced datagrams) in turn, CoDel wanting a
 * drop at every third receive. Asked once a receive, the singles took half
 * the drops; by datagrams, about one in thirty-one. */
Test(codel, picks_by_datagrams_not_receives)
{
	struct rv_codel_pick p = { 0 };
	unsigned single = 0, batch = 0, due = 0;

	for (unsigned r = 0; r < 6000; r++) {
		uint32_t ndg = r % 2 ? 1 : 30;

		rv_codel_pick_note(&p, ndg);
		if (r % 3 == 0) {
			due++;
		}
		if (due > 0 && rv_codel_pick(&p, ndg)) {
			due--;
			*(ndg == 1 ? &single : &batch) += 1;
		}
	}
	cr_assert_gt(batch, 1500, "%u drops on batches", batch);
	cr_assert_lt(single * 10, single + batch, "%u of %u drops on singles", single,
		     single + batch);
}
