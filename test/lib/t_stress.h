/*
 * t_stress.h — what the lock-free stress programs (test/stress/) share: a
 * cheap per-thread random source and the end of a reader's loop turn.
 */
#ifndef RV_TEST_LIB_T_STRESS_H
#define RV_TEST_LIB_T_STRESS_H

#include <stdint.h>

struct rv_qsbr;

/* t_xorshift32 advances the non-zero state |*st| and returns it. */
uint32_t t_xorshift32(uint32_t *st);

/* t_reader_turn ends a reader's loop turn the way a worker does: a QSBR
 * quiescent point, and once in about 256 turns (by |*rnd|) a 50 us sleep
 * offline, as around a blocking wait. */
void t_reader_turn(struct rv_qsbr *q, unsigned id, uint32_t *rnd);

#endif /* RV_TEST_LIB_T_STRESS_H */
