/*
 * balance.c — moving sessions between workers (see balance.h).
 */
#include "core/balance.h"

enum { MAX_LANES = 256 };

long rv_balance_pick(const struct rv_balance_item *it, size_t n, unsigned nlanes,
		     const struct rv_balance_params *p, unsigned *to_lane)
{
	unsigned busy[MAX_LANES] = { 0 }, hi = 0, lo = 0;
	uint64_t load[MAX_LANES] = { 0 };
	long best = -1;

	if (nlanes < 2 || nlanes > MAX_LANES || p->busy_load == 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (it[i].lane >= nlanes) {
			continue;
		}
		load[it[i].lane] += it[i].load;
		busy[it[i].lane] += it[i].load >= p->busy_load;
	}
	for (unsigned l = 1; l < nlanes; l++) {
		if (busy[l] > busy[hi]) {
			hi = l;
		}
		/* Of the lanes with the fewest busy sessions, the one that
		 * carries the fewest bytes: the lowest-numbered was taken, and
		 * an attacker's bulk flow alone on it kept a near-idle lane
		 * idle (three or more workers: round-fourteen tester 69). */
		if (busy[l] < busy[lo] || (busy[l] == busy[lo] && load[l] < load[lo])) {
			lo = l;
		}
	}
	/* Counts alone let light sessions decide where a bulk flow goes: a
	 * worker carrying more bytes than the one a session would leave
	 * receives none (with a quarter more allowed: two saturated workers
	 * carry about the same whatever their sessions). Two attacker
	 * sessions of 150 Mbit/s beside a victim of 60 had the victim moved
	 * onto the worker the attacker's 5 Gbit/s upload filled (round-
	 * fourteen tester 67). */
	if (busy[hi] < busy[lo] + 2 || load[hi] < p->min_load ||
	    load[lo] > load[hi] + load[hi] / 4) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (it[i].lane == hi && it[i].movable && it[i].load >= p->busy_load &&
		    (best < 0 || it[i].load < it[best].load)) {
			best = (long)i;
		}
	}
	if (best >= 0) {
		*to_lane = lo;
	}
	return best;
}
