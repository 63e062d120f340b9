/*
 * test_core_balance.c — choosing a session to move between workers: three
 * busy sessions on one worker and one on the other move one over (the least
 * busy: light sessions cannot push a bulk flow onto a full worker), idle
 * sessions count for nothing, a split as even as it can be stays, a session
 * that just moved stays, a quiet server does not shuffle, and repeated
 * moves end in an even split.
 */
#include <criterion/criterion.h>

#include "core/balance.h"

#define MB (1000u * 1000u)

static const struct rv_balance_params P = { .busy_load = 1 * MB, .min_load = 20 * MB };

static struct rv_balance_item item(uint64_t load, unsigned lane)
{
	return (struct rv_balance_item){ .load = load, .lane = lane, .movable = true };
}

Test(balance, three_against_one_moves_one_over)
{
	/* What the 4-client benchmark saw: c1, c3, c4 on worker 0, c2 and
	 * an idle client on worker 1. The least busy of the three moves. */
	struct rv_balance_item it[] = { item(230 * MB, 0), item(470 * MB, 1), item(1000, 1),
					item(200 * MB, 0), item(210 * MB, 0) };
	unsigned to = 99;

	cr_assert_eq(rv_balance_pick(it, 5, 2, &P, &to), 3);
	cr_assert_eq(to, 1);
}

Test(balance, light_sessions_cannot_push_a_bulk_flow_over)
{
	/* Round-fourteen tester 65: a victim's upload on worker 0 beside two
	 * sessions of 12 Mbit/s (busy, barely), an attacker's upload filling
	 * worker 1. Three busy against one: one moves, but not the victim
	 * onto the attacker's worker, where it stayed (two against two). */
	struct rv_balance_item it[] = { item(500 * MB, 0), item(550 * MB, 1), item(3 * MB / 2, 0),
					item(3 * MB / 2 + 1, 0) };
	unsigned to = 99;

	cr_assert_eq(rv_balance_pick(it, 4, 2, &P, &to), 2);
	cr_assert_eq(to, 1);
	/* With worker 1 carrying far more than worker 0, nothing moves. */
	it[1].load = 900 * MB;
	cr_assert_eq(rv_balance_pick(it, 4, 2, &P, &to), -1);
}

Test(balance, no_move_onto_a_worker_carrying_more)
{
	/* Round-fourteen tester 67: the victim lighter than the attacker's two
	 * (60 Mbit/s against 150), the attacker's upload filling worker 1.
	 * Three busy against one, but worker 1 carries 15 times the bytes:
	 * nothing moves. */
	struct rv_balance_item it[] = { item(15 * MB / 2, 0), item(675 * MB, 1), item(19 * MB, 0),
					item(19 * MB, 0) };
	/* Saturated workers carry about the same: a quarter more is allowed. */
	struct rv_balance_item sat[] = { item(220 * MB, 0), item(240 * MB, 0), item(230 * MB, 0),
					 item(800 * MB, 1) };
	unsigned to = 99;

	cr_assert_eq(rv_balance_pick(it, 4, 2, &P, &to), -1);
	cr_assert_eq(to, 99);
	cr_assert_eq(rv_balance_pick(sat, 4, 2, &P, &to), 0);
	cr_assert_eq(to, 1);
}

Test(balance, idle_sessions_count_for_nothing)
{
	/* Two sessions a worker, but only one side's are busy. */
	struct rv_balance_item it[] = { item(300 * MB, 0), item(300 * MB, 0), item(10, 1),
					item(0, 1) };
	unsigned to = 99;

	cr_assert_eq(rv_balance_pick(it, 4, 2, &P, &to), 0);
	cr_assert_eq(to, 1);
}

Test(balance, even_split_stays)
{
	struct rv_balance_item two_one[] = { item(300 * MB, 0), item(300 * MB, 0),
					     item(500 * MB, 1) };
	struct rv_balance_item bytes_differ[] = { item(900 * MB, 0), item(2 * MB, 1) };
	unsigned to = 99;

	/* 2 against 1 cannot be made better by moving one. */
	cr_assert_eq(rv_balance_pick(two_one, 3, 2, &P, &to), -1);
	/* One busy session each: bytes alone move nothing. */
	cr_assert_eq(rv_balance_pick(bytes_differ, 2, 2, &P, &to), -1);
	cr_assert_eq(to, 99);
}

Test(balance, the_lightest_of_the_least_busy_lanes_receives)
{
	/* Round-fourteen tester 69, three workers: an attacker's bulk flow
	 * alone on lane 0, a session of 16 Mbit/s alone on lane 1, three
	 * busy sessions on lane 2. Lane 1 receives, not lane 0 (which the
	 * byte guard then refused: nothing moved). */
	struct rv_balance_item it[] = { item(200 * MB, 0), item(2 * MB, 1), item(40 * MB, 2),
					item(40 * MB, 2), item(41 * MB, 2) };
	unsigned to = 99;

	cr_assert_eq(rv_balance_pick(it, 5, 3, &P, &to), 2);
	cr_assert_eq(to, 1);
}

Test(balance, recently_moved_sessions_stay)
{
	struct rv_balance_item it[] = { item(300 * MB, 0), item(400 * MB, 0), item(500 * MB, 0) };
	unsigned to = 99;

	it[0].movable = false;
	cr_assert_eq(rv_balance_pick(it, 3, 2, &P, &to), 1);
	it[1].movable = it[2].movable = false;
	cr_assert_eq(rv_balance_pick(it, 3, 2, &P, &to), -1);
}

Test(balance, quiet_server_does_not_shuffle)
{
	/* Three light but "busy" sessions on one worker: under min_load. */
	struct rv_balance_item it[] = { item(5 * MB, 0), item(5 * MB, 0), item(5 * MB, 0) };
	unsigned to = 99;

	cr_assert_eq(rv_balance_pick(it, 3, 2, &P, &to), -1);
}

Test(balance, bad_arguments)
{
	struct rv_balance_item it[] = { item(300 * MB, 0), item(300 * MB, 0), item(300 * MB, 7) };
	struct rv_balance_params zero = { 0 };
	unsigned to = 99;

	cr_assert_eq(rv_balance_pick(it, 3, 1, &P, &to), -1);
	cr_assert_eq(rv_balance_pick(it, 3, 257, &P, &to), -1);
	cr_assert_eq(rv_balance_pick(it, 3, 2, &zero, &to), -1);
	/* A lane out of range is ignored, not counted or moved. */
	cr_assert_eq(rv_balance_pick(it, 3, 2, &P, &to), 0);
	cr_assert_eq(to, 1);
}

Test(balance, repeated_moves_end_even)
{
	/* Eight busy sessions all on lane 2 of four: moves until 2 each. */
	struct rv_balance_item it[8];
	unsigned to, per[4] = { 0 }, moves = 0;
	long k;

	for (unsigned i = 0; i < 8; i++) {
		it[i] = item((100 + i) * MB, 2);
	}
	while ((k = rv_balance_pick(it, 8, 4, &P, &to)) >= 0) {
		cr_assert_neq(it[k].lane, to);
		it[k].lane = to;
		it[k].movable = false;
		cr_assert_lt(++moves, 8);
	}
	for (unsigned i = 0; i < 8; i++) {
		per[it[i].lane]++;
	}
	for (unsigned l = 0; l < 4; l++) {
		cr_assert_eq(per[l], 2, "lane %u has %u", l, per[l]);
	}
	cr_assert_eq(moves, 6);
}
