/*
 * balance.h — which session a server should move to another worker so that
 * its busy sessions share the workers evenly. I/O-free: the caller measures
 * each session's traffic over an interval, asks, and carries out the move.
 *
 * Why by busy sessions and not by bytes: a server places each session on
 * the worker with the fewest sessions when it arrives, before anyone knows
 * which will be busy, so three busy clients may share one worker while the
 * other carries one busy client and an idle one. When the workers are the
 * bottleneck, the bytes each carries are what it can do, not what is asked
 * of it: the lone busy client gets a worker to itself and the others a
 * third each, and moving one of the three looks useless in bytes (the
 * receiving worker is just as full). Counted as busy sessions (3 against 1)
 * the move is plain, and each TCP flow then fills its share.
 *
 * Threads: no state; any thread.
 */
#ifndef RV_CORE_BALANCE_H
#define RV_CORE_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One session, as the caller saw it over the last interval. */
struct rv_balance_item {
	uint64_t load; /* bytes both ways over the interval */
	unsigned lane; /* its worker now, < nlanes */
	bool movable;  /* false: it moved too recently to move again */
};

struct rv_balance_params {
	uint64_t busy_load; /* a session with at least this load is busy (> 0) */
	uint64_t min_load;  /* the fullest lane carries at least this, or nothing moves */
};

/* rv_balance_pick looks at |n| sessions spread over |nlanes| lanes (1..256)
 * and returns the position of the session to move, with its new lane in
 * |*to_lane|, or -1 when no move helps: a busy, movable session of the lane
 * with the most busy sessions goes to the lane with the fewest, when they
 * differ by two or more, the former carries at least min_load (an idle
 * server does not shuffle its sessions) and the latter no more than 1.25
 * times the former's bytes (light sessions cannot send one onto a worker a
 * bulk flow fills). Of the candidates the least busy
 * moves: any of them evens the count, and the least busy is never the flow
 * the others were set up around (the busiest moved: a victim's bulk upload
 * beside two sessions of 12 Mbit/s was moved onto the worker an attacker's
 * upload filled, and stayed there, the counts even; round-fourteen tester
 * 65). Ties go to the lowest lane and the lowest position. */
long rv_balance_pick(const struct rv_balance_item *it, size_t n, unsigned nlanes,
		     const struct rv_balance_params *p, unsigned *to_lane);

#endif /* RV_CORE_BALANCE_H */
