/*
 * clock.h — monotonic time in nanoseconds.
 */
#ifndef RV_CORE_CLOCK_H
#define RV_CORE_CLOCK_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#define RV_NSEC_PER_SEC 1000000000ull
#define RV_NSEC_PER_MSEC 1000000ull

/* rv_now_ns returns CLOCK_MONOTONIC in ns. */
static inline uint64_t rv_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* rv_sleep_ms sleeps |ms| milliseconds in a start-up wait (never on the
 * packet path). It returns -EINTR instead, at once, when SIGINT or SIGTERM
 * is pending: a process blocks both from its start until its loop reads
 * them, and a stop sent during a wait for a predecessor killed with -9
 * must not wait for it (it did, up to 3 s per wait). */
static inline int rv_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	sigset_t pending;

	do {
		if (sigpending(&pending) == 0 &&
		    (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1)) {
			return -EINTR;
		}
	} while (nanosleep(&ts, &ts) < 0 && errno == EINTR);
	return 0;
}

/* rv_thread_cpu_ns returns this thread's CPU time in ns (what the
 * benchmarks time, so that other load on the machine counts less). */
static inline uint64_t rv_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * RV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* rv_coarse_now_ns returns CLOCK_MONOTONIC_COARSE in ns (a few ms resolution,
 * vDSO, cheap enough for once per batch). */
static inline uint64_t rv_coarse_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * RV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif /* RV_CORE_CLOCK_H */
