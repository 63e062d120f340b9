/*
 * t_stress.c — helpers of the stress programs (see t_stress.h).
 */
#include "test/lib/t_stress.h"

#include <time.h>

#include "core/qsbr.h"

uint32_t t_xorshift32(uint32_t *st)
{
	uint32_t x = *st;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *st = x;
}

void t_reader_turn(struct rv_qsbr *q, unsigned id, uint32_t *rnd)
{
	rv_qsbr_quiescent(q, id);
	if ((t_xorshift32(rnd) & 255) == 0) {
		struct timespec ts = { .tv_nsec = 50000 };

		rv_qsbr_offline(q, id);
		nanosleep(&ts, NULL);
		rv_qsbr_online(q, id);
	}
}
