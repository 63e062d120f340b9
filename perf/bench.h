/*
 * bench.h — the benchmarks' reproducible random numbers: xorshift64
 * (Marsaglia's 13/7/17), each program with its own seed so that its sets are
 * the same from run to run. Header only: perf/lpm_pair.c is built outside
 * CMake. Clocks are core/clock.h's (rv_now_ns, rv_thread_cpu_ns).
 */
#ifndef RV_PERF_BENCH_H
#define RV_PERF_BENCH_H

#include <stdint.h>

/* bench_xorshift advances |*state| (never 0) and returns it. */
static inline uint64_t bench_xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif /* RV_PERF_BENCH_H */
