/*
 * fake_ctlring.h — uring/ctlring.h done in userspace, for unit tests of the
 * control loop (test/unit/test_tls_loop.c), plus the controls a test needs
 * over its completions and its clock.
 *
 * The fake defines every rv_ctlring_* function of uring/ctlring.h. A test
 * executable that links fake_ctlring.c takes them from here and never pulls
 * uring/ctlring.c out of librv_uring.a (an archive member is linked only for
 * a symbol still undefined; one left out of the fake would bring the real
 * file in and fail the link on the duplicates, so the substitution cannot
 * silently half-happen). The production build is untouched.
 *
 * Operations run on real file descriptors, non-blocking, each time
 * rv_ctlring_wait looks at them: accept4, recv, send (MSG_NOSIGNAL), read,
 * connect (then SO_ERROR). One not ready yet stays in flight. Completions
 * come out in submission order. rv_ctlring_cancel_fd completes every
 * operation on the fd with -ECANCELED (held ones too, as the kernel cancels
 * a blocked one) and itself with their number or -ENOENT.
 *
 * Time is virtual: one clock for the whole process (fake_clock_ns, to be
 * passed as rv_loop_params.now_ns), and it moves only when the test says:
 * fake_clock_advance, or fake_clock_idle_advance, which jumps to the
 * earliest time a ring's last wait would have slept until, but only when
 * no ring has anything ready (so with two loops on one thread, neither
 * times out while the other has yet to answer). A wait that finds nothing
 * ready gives the kernel up to settle_ms of real time to deliver loopback
 * traffic (poll on the fds in flight) and returns 0; rv_ctlring_timeout
 * completes once the clock reaches it. So the loop's timers (handshake
 * timeout, linger, keepalives) fire in microseconds of real time, and only
 * when the test lets time pass.
 *
 * Single-threaded, like the real ring.
 */
#ifndef RV_TEST_FAKE_CTLRING_H
#define RV_TEST_FAKE_CTLRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_ctlring;

enum fake_op {
	FAKE_ACCEPT = 0,
	FAKE_RECV,
	FAKE_SEND,
	FAKE_CONNECT,
	FAKE_READ,
	FAKE_TIMEOUT,
	FAKE_CANCEL,
	FAKE_NUM_OPS,
};

/* The virtual clock; |ctx| is ignored (the rv_loop_params.now_ns shape).
 * It starts at 1000 s. */
uint64_t fake_clock_ns(void *ctx);
void fake_clock_advance(uint64_t ns);

/* fake_clock_idle_advance: when no live ring has a completion ready or a
 * wait that is already due, moves the clock to the earliest end of their
 * last waits (the next loop timer) and returns true; else false. Call it
 * after stepping every loop once. */
bool fake_clock_idle_advance(void);

/* fake_ctlring_last returns the ring rv_ctlring_new made last (NULL: none,
 * or it was freed); fake_ctlring_live counts rings not yet freed. */
struct rv_ctlring *fake_ctlring_last(void);
unsigned fake_ctlring_live(void);

/* fake_ctlring_inject makes the next operation |op| on |fd| (-1: any fd)
 * that the ring looks at complete with |res| instead of running (an accept
 * error, a recv EOF with 0, a send error). One shot. */
void fake_ctlring_inject(struct rv_ctlring *r, enum fake_op op, int fd, int32_t res);

/* fake_ctlring_hold keeps every operation |op| on |fd| in flight, neither
 * run nor completed, until fake_ctlring_release (or a cancel). */
void fake_ctlring_hold(struct rv_ctlring *r, enum fake_op op, int fd);
void fake_ctlring_release(struct rv_ctlring *r, enum fake_op op, int fd);

/* fake_ctlring_set_settle_ms sets how long an idle wait polls for real I/O
 * before letting virtual time pass (default 5 ms; 0: never wait). */
void fake_ctlring_set_settle_ms(struct rv_ctlring *r, int ms);

/* fake_ctlring_in_flight counts operations |op| (FAKE_NUM_OPS: any) in
 * flight on |fd| (-1: any fd). */
size_t fake_ctlring_in_flight(const struct rv_ctlring *r, enum fake_op op, int fd);

/* fake_ctlring_fds writes the fds with an operation |op| in flight into
 * |fds| (at most |max|) and returns how many there are. */
size_t fake_ctlring_fds(const struct rv_ctlring *r, enum fake_op op, int *fds, size_t max);

/* fake_ctlring_last_accepted returns the fd the last completed accept on
 * listening socket |listen_fd| returned (-1: none yet). */
int fake_ctlring_last_accepted(const struct rv_ctlring *r, int listen_fd);

/* fake_ctlring_completed counts completions of |op| handed out, and
 * fake_ctlring_injected how many of them an injection decided. */
uint64_t fake_ctlring_completed(const struct rv_ctlring *r, enum fake_op op);
uint64_t fake_ctlring_injected(const struct rv_ctlring *r);

#endif /* RV_TEST_FAKE_CTLRING_H */
