/*
 * test_uring_ctlring.c — the control ring's waits on a real io_uring:
 * completions of socket operations, the timeout, and lingering (gathering
 * completions for a while before waking, Linux 6.12 min_wait). Lingering is
 * checked by what it must never do: return before the linger time while
 * fewer than |max| completions are in, turn "no timeout" or a long timeout
 * into a short one, or hold back a completion once the linger time has
 * passed. Only lower bounds on elapsed time are asserted (a loaded machine
 * makes everything later, never earlier), plus generous upper bounds that
 * only a wait stuck on the wrong deadline would break.
 *
 * No Criterion .timeout here: every wait has a deadline or a writer thread
 * that ends it (ctest's own limit catches a hang), and Criterion's timeout
 * bookkeeping leaked a 48-byte watchdog request under LeakSanitizer once,
 * on a loaded machine, in a run where every assertion passed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "uring/ctlring.h"

#define MS RV_NSEC_PER_MSEC

static struct rv_ctlring *ring_or_skip(void)
{
	struct rv_ctlring *r;
	int ret = rv_ctlring_new(&r, 16);

	if (ret < 0) {
		cr_skip_test("io_uring unavailable: %s", strerror(-ret));
	}
	return r;
}

/* lingering_ring_or_skip: a ring whose kernel honours the linger time. */
static struct rv_ctlring *lingering_ring_or_skip(void)
{
	struct rv_ctlring *r = ring_or_skip();

	if (!rv_ctlring_lingers(r)) {
		rv_ctlring_free(r);
		cr_skip_test("kernel without min_wait (Linux < 6.12)");
	}
	return r;
}

/* timed_wait: rv_ctlring_wait, and in |*dt| how long it took. */
static int timed_wait(struct rv_ctlring *r, struct rv_ctlring_cqe *out, unsigned max,
		      uint64_t timeout_ns, uint64_t linger_ns, uint64_t *dt)
{
	uint64_t t0 = rv_now_ns();
	int n = rv_ctlring_wait(r, out, max, timeout_ns, linger_ns);

	*dt = rv_now_ns() - t0;
	return n;
}

/* ms: |ns| in whole milliseconds, for the failure messages. */
static unsigned long long ms(uint64_t ns)
{
	return (unsigned long long)(ns / MS);
}

struct late_write {
	int fd;
	uint64_t delay_ns;
};

static void *write_later(void *arg)
{
	const struct late_write *lw = arg;
	struct timespec ts = { .tv_sec = (time_t)(lw->delay_ns / 1000000000ull),
			       .tv_nsec = (long)(lw->delay_ns % 1000000000ull) };

	nanosleep(&ts, NULL);
	(void)!write(lw->fd, "x", 1);
	return NULL;
}

/* Without linger a ready completion comes back at once, with its data. */
Test(ctlring, recv_completes_without_linger)
{
	struct rv_ctlring *r = ring_or_skip();
	struct rv_ctlring_cqe cqe[4];
	char buf[8];
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(rv_ctlring_recv(r, sv[0], buf, sizeof(buf), 7), 0);
	cr_assert_eq(write(sv[1], "hi", 2), 2);
	cr_assert_eq(rv_ctlring_wait(r, cqe, 4, UINT64_MAX, 0), 1);
	cr_assert_eq(cqe[0].user_data, 7);
	cr_assert_eq(cqe[0].res, 2);
	cr_assert_eq(memcmp(buf, "hi", 2), 0);
	/* Nothing in flight: the timeout ends the wait with 0. */
	cr_assert_eq(rv_ctlring_wait(r, cqe, 4, 5 * MS, 0), 0);
	rv_ctlring_free(r);
	close(sv[0]);
	close(sv[1]);
}

/* A completion that is ready at once is held for the linger time, and one
 * that comes in meanwhile is returned with it. */
Test(ctlring, linger_gathers)
{
	struct rv_ctlring *r = lingering_ring_or_skip();
	struct rv_ctlring_cqe cqe[4];
	struct late_write lw;
	pthread_t th;
	char b0[8], b1[8];
	int a[2], b[2], n;
	uint64_t dt;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	cr_assert_eq(rv_ctlring_recv(r, a[0], b0, sizeof(b0), 1), 0);
	cr_assert_eq(rv_ctlring_recv(r, b[0], b1, sizeof(b1), 2), 0);
	cr_assert_eq(write(a[1], "x", 1), 1);
	lw = (struct late_write){ .fd = b[1], .delay_ns = 40 * MS };
	cr_assert_eq(pthread_create(&th, NULL, write_later, &lw), 0);
	n = timed_wait(r, cqe, 4, 10000 * MS, 200 * MS, &dt);
	/* Both ways the wait must have lingered. */
	cr_assert_geq(dt, 190 * MS, "returned after %llu ms", ms(dt));
	if (n == 1) {
		/* The writer thread was not scheduled within the linger time
		 * (a loaded machine): its completion comes on the next wait. */
		n += rv_ctlring_wait(r, cqe + 1, 3, 10000 * MS, 0);
	}
	pthread_join(th, NULL);
	cr_assert_eq(n, 2);
	cr_assert_lt(dt, 5000 * MS);
	rv_ctlring_free(r);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

/* Lingering never runs past the deadline: a completion that is ready
 * when a timer is due now comes back at once, and an empty wait ends at its
 * deadline, not at the end of a longer linger time. */
Test(ctlring, linger_stops_at_deadline)
{
	struct rv_ctlring *r = lingering_ring_or_skip();
	struct rv_ctlring_cqe cqe[4];
	char buf[8];
	int a[2];
	uint64_t dt;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	cr_assert_eq(rv_ctlring_recv(r, a[0], buf, sizeof(buf), 1), 0);
	cr_assert_eq(timed_wait(r, cqe, 4, 30 * MS, 3000 * MS, &dt), 0);
	cr_assert_lt(dt, 2000 * MS, "held %llu ms past a 30 ms deadline", ms(dt));
	cr_assert_eq(write(a[1], "x", 1), 1);
	cr_assert_eq(timed_wait(r, cqe, 4, 0, 3000 * MS, &dt), 1);
	cr_assert_lt(dt, 2000 * MS, "held %llu ms with a timer due", ms(dt));
	rv_ctlring_free(r);
	close(a[0]);
	close(a[1]);
}

/* With |max| completions in, lingering ends at once. */
Test(ctlring, linger_ends_at_max)
{
	struct rv_ctlring *r = lingering_ring_or_skip();
	struct rv_ctlring_cqe cqe[2];
	char b0[8], b1[8];
	int a[2];
	uint64_t dt;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, a), 0);
	cr_assert_eq(rv_ctlring_recv(r, a[0], b0, sizeof(b0), 1), 0);
	cr_assert_eq(rv_ctlring_recv(r, a[0], b1, sizeof(b1), 2), 0);
	cr_assert_eq(write(a[1], "x", 1), 1);
	cr_assert_eq(write(a[1], "y", 1), 1);
	cr_assert_eq(timed_wait(r, cqe, 2, 10000 * MS, 3000 * MS, &dt), 2);
	cr_assert_lt(dt, 2000 * MS, "held %llu ms with max in", ms(dt));
	rv_ctlring_free(r);
	close(a[0]);
	close(a[1]);
}

/* Nothing within the linger time: the wait goes on to the timeout (not the
 * linger time) and then returns the first completion as soon as it comes,
 * also when there is no timeout at all. */
Test(ctlring, linger_is_not_a_timeout)
{
	struct rv_ctlring *r = lingering_ring_or_skip();
	struct rv_ctlring_cqe cqe[4];
	struct late_write lw;
	pthread_t th;
	char buf[8];
	int a[2];
	uint64_t dt;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	cr_assert_eq(rv_ctlring_recv(r, a[0], buf, sizeof(buf), 1), 0);
	cr_assert_eq(timed_wait(r, cqe, 4, 150 * MS, 10 * MS, &dt), 0);
	cr_assert_geq(dt, 140 * MS, "gave up after %llu ms", ms(dt));

	/* No timeout: a completion 100 ms in ends the wait (the recv above is
	 * still in flight). */
	lw = (struct late_write){ .fd = a[1], .delay_ns = 100 * MS };
	cr_assert_eq(pthread_create(&th, NULL, write_later, &lw), 0);
	cr_assert_eq(timed_wait(r, cqe, 4, UINT64_MAX, 10 * MS, &dt), 1);
	pthread_join(th, NULL);
	cr_assert_eq(cqe[0].user_data, 1);
	cr_assert_eq(cqe[0].res, 1);
	cr_assert_geq(dt, 90 * MS, "returned after %llu ms", ms(dt));
	cr_assert_lt(dt, 5000 * MS);
	rv_ctlring_free(r);
	close(a[0]);
	close(a[1]);
}
