/*
 * ctlring.c — the control thread's ring (see ctlring.h). A thin layer over
 * uring/ring.h: the control plane is not performance-critical, so every
 * operation is single-shot and re-armed by the caller.
 */
#include "uring/ctlring.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>

#include "uring/ring.h"

/* Linux 6.12 turned the pad of struct io_uring_getevents_arg into
 * min_wait_usec and announces it with this feature bit; liburing 2.3 knows
 * neither. */
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

struct getevents_arg {
	uint64_t sigmask;
	uint32_t sigmask_sz;
	uint32_t min_wait_usec;
	uint64_t ts;
};

struct rv_ctlring {
	struct rv_ring ring;
	bool can_linger; /* the kernel has min_wait */
};

int rv_ctlring_new(struct rv_ctlring **out, unsigned entries)
{
	struct rv_ctlring *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r) {
		return -ENOMEM;
	}
	ret = rv_ring_init(&r->ring, entries, true);
	if (ret) {
		free(r);
		return ret;
	}
	r->can_linger = (r->ring.ring.features & IORING_FEAT_MIN_TIMEOUT) &&
			(r->ring.ring.features & IORING_FEAT_EXT_ARG);
	*out = r;
	return 0;
}

void rv_ctlring_free(struct rv_ctlring *r)
{
	if (!r) {
		return;
	}
	rv_ring_cleanup(&r->ring);
	free(r);
}

/* get takes a submission slot tagged with |ud| (the io_uring_prep_*
 * helpers of liburing 2.3 leave user_data alone). */
static struct io_uring_sqe *get(struct rv_ctlring *r, uint64_t ud)
{
	struct io_uring_sqe *sqe = rv_ring_get_sqe(&r->ring);

	if (sqe) {
		io_uring_sqe_set_data64(sqe, ud);
	}
	return sqe;
}

int rv_ctlring_accept(struct rv_ctlring *r, int fd, uint64_t ud)
{
	struct io_uring_sqe *sqe = get(r, ud);

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	return 0;
}

int rv_ctlring_recv(struct rv_ctlring *r, int fd, void *buf, size_t len, uint64_t ud)
{
	struct io_uring_sqe *sqe = get(r, ud);

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_recv(sqe, fd, buf, len, 0);
	return 0;
}

int rv_ctlring_send(struct rv_ctlring *r, int fd, const void *buf, size_t len, uint64_t ud)
{
	struct io_uring_sqe *sqe = get(r, ud);

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
	return 0;
}

int rv_ctlring_connect(struct rv_ctlring *r, int fd, const struct sockaddr *sa, socklen_t len,
		       uint64_t ud)
{
	struct io_uring_sqe *sqe = get(r, ud);

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_connect(sqe, fd, sa, len);
	return 0;
}

int rv_ctlring_read(struct rv_ctlring *r, int fd, void *buf, size_t len, uint64_t ud)
{
	struct io_uring_sqe *sqe = get(r, ud);

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_read(sqe, fd, buf, (unsigned)len, 0);
	return 0;
}

int rv_ctlring_timeout(struct rv_ctlring *r, uint64_t ns, uint64_t ud)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(ns / 1000000000ull),
		.tv_nsec = (long long)(ns % 1000000000ull),
	};
	struct io_uring_sqe *sqe = get(r, ud);
	int ret;

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	/* The kernel copies the timespec when it takes the SQE, so submit
	 * before |ts| goes out of scope. */
	ret = io_uring_submit(&r->ring.ring);
	return ret < 0 ? ret : 0;
}

int rv_ctlring_cancel_fd(struct rv_ctlring *r, int fd, uint64_t ud)
{
	struct io_uring_sqe *sqe = get(r, ud);

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
	return 0;
}

bool rv_ctlring_lingers(const struct rv_ctlring *r)
{
	return r->can_linger;
}

/* flush_sq publishes the queued SQEs to the kernel and returns how many it
 * has not consumed yet: the half of io_uring_submit that is not the
 * syscall, so that linger_wait submits and waits in one io_uring_enter. */
static unsigned flush_sq(struct io_uring *ring)
{
	struct io_uring_sq *sq = &ring->sq;

	if (sq->sqe_head != sq->sqe_tail) {
		sq->sqe_head = sq->sqe_tail;
		io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
	}
	return sq->sqe_tail - io_uring_smp_load_acquire(sq->khead);
}

/* linger_wait submits and sleeps until |max| completions are there, or
 * |linger_ns| has passed with at least one, or |timeout_ns| has passed. */
static int linger_wait(struct rv_ctlring *r, unsigned max, uint64_t timeout_ns, uint64_t linger_ns)
{
	/* The kernel treats "no timeout" with a min_wait as "min_wait is the
	 * timeout", so a wait without a limit gets a long one. */
	uint64_t t = timeout_ns == UINT64_MAX ? 3600ull * 1000000000ull : timeout_ns;
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(t / 1000000000ull),
		.tv_nsec = (long long)(t % 1000000000ull),
	};
	struct getevents_arg arg = {
		.min_wait_usec =
			linger_ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(linger_ns / 1000),
		.ts = (uint64_t)(uintptr_t)&ts,
	};
	unsigned submit = flush_sq(&r->ring.ring);
	int ret;

	ret = io_uring_enter2((unsigned)r->ring.ring.ring_fd, submit, max,
			      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, (sigset_t *)&arg,
			      sizeof(arg));
	return ret; /* liburing's syscall wrappers return -errno */
}

int rv_ctlring_wait(struct rv_ctlring *r, struct rv_ctlring_cqe *out, unsigned max,
		    uint64_t timeout_ns, uint64_t linger_ns)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int ret;

	/* The kernel would let the linger time run past the deadline. */
	if (linger_ns > timeout_ns) {
		linger_ns = timeout_ns;
	}
	if (linger_ns >= 1000 && r->can_linger && io_uring_cq_ready(&r->ring.ring) == 0) {
		ret = linger_wait(r, max, timeout_ns, linger_ns);
	} else if (timeout_ns == UINT64_MAX) {
		ret = io_uring_submit_and_wait(&r->ring.ring, 1);
	} else {
		/* The timeout rides along with the wait (EXT_ARG, kernel 5.11):
		 * no timeout SQE to arm, cancel or re-arm every turn. */
		struct __kernel_timespec ts = {
			.tv_sec = (long long)(timeout_ns / 1000000000ull),
			.tv_nsec = (long long)(timeout_ns % 1000000000ull),
		};

		ret = io_uring_submit_and_wait_timeout(&r->ring.ring, &cqe, 1, &ts, NULL);
	}
	if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EAGAIN && ret != -EBUSY) {
		return ret;
	}
	io_uring_for_each_cqe(&r->ring.ring, head, cqe)
	{
		if (n == max) {
			break;
		}
		out[n].user_data = cqe->user_data;
		out[n].res = cqe->res;
		out[n].flags = cqe->flags;
		n++;
	}
	io_uring_cq_advance(&r->ring.ring, n);
	if (n == 0 && (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY)) {
		return ret;
	}
	return (int)n;
}
