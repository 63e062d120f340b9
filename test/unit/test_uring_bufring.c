/*
 * test_uring_bufring.c — provided buffer rings by hand (uring/bufring.c):
 * data lands at data_off of the buffer the kernel picked, a recycled id is
 * reused, and an empty ring ends a multishot receive with -ENOBUFS (a state
 * the worker re-arms from). Skips when the kernel lacks buffer rings.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring/bufring.h"
#include "uring/ring.h"

static struct io_uring_cqe *wait_one(struct rv_ring *r)
{
	struct io_uring_cqe *cqe = NULL;
	int ret = io_uring_submit_and_wait(&r->ring, 1);

	cr_assert(ret >= 0, "submit_and_wait: %s", strerror(-ret));
	cr_assert_eq(io_uring_peek_cqe(&r->ring, &cqe), 0);
	return cqe;
}

/* setup makes a ring and a buffer ring (bgid, num, size, data_off/len) or
 * skips the test when the kernel lacks either. */
static void setup(struct rv_ring *r, struct rv_bufring *b, uint16_t bgid, unsigned num, size_t size,
		  uint32_t off, uint32_t len)
{
	int ret;

	memset(r, 0, sizeof(*r));
	memset(b, 0, sizeof(*b));
	ret = rv_ring_init(r, 64, true);
	if (ret < 0) {
		cr_skip_test("io_uring unavailable: %s", strerror(-ret));
	}
	ret = rv_bufring_init(b, &r->ring, bgid, num, size, off, len);
	if (ret == -EINVAL || ret == -EOPNOTSUPP) {
		cr_skip_test("no provided buffer rings: %s", strerror(-ret));
	}
	cr_assert_eq(ret, 0, "bufring init: %s", strerror(-ret));
}

Test(bufring, recv_recycle_enobufs, .timeout = 10)
{
	struct rv_ring r;
	struct rv_bufring b;
	int sv[2];

	setup(&r, &b, 3, 4, 256, 16, 200);
	cr_assert_eq(b.avail, 4);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);

	/* Receive 4 datagrams into the 4 buffers, one by one. */
	unsigned seen = 0;
	for (int i = 0; i < 4; i++) {
		char msg[32];
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r.ring);
		io_uring_prep_recv(sqe, sv[1], NULL, 200, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 3;
		snprintf(msg, sizeof(msg), "packet %d", i);
		cr_assert(write(sv[0], msg, strlen(msg)) > 0);
		struct io_uring_cqe *cqe = wait_one(&r);
		cr_assert_eq(cqe->res, (int)strlen(msg));
		cr_assert(cqe->flags & IORING_CQE_F_BUFFER);
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		cr_assert_lt(bid, 4u);
		cr_assert_eq(seen & (1u << bid), 0u, "buffer %u handed out twice", bid);
		seen |= 1u << bid;
		cr_assert(memcmp(rv_bufring_buf(&b, bid) + 16, msg, strlen(msg)) == 0,
			  "data at data_off");
		rv_bufring_consumed(&b);
		io_uring_cqe_seen(&r.ring, cqe);
	}
	cr_assert_eq(b.avail, 0);

	/* Ring empty: the next receive fails with -ENOBUFS. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r.ring);
	io_uring_prep_recv(sqe, sv[1], NULL, 200, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 3;
	cr_assert(write(sv[0], "x", 1) == 1);
	struct io_uring_cqe *cqe = wait_one(&r);
	cr_assert_eq(cqe->res, -ENOBUFS);
	io_uring_cqe_seen(&r.ring, cqe);

	/* Recycle one id: it is the one used next. */
	rv_bufring_recycle(&b, 2);
	cr_assert_eq(b.avail, 0, "not visible before commit");
	rv_bufring_commit(&b);
	cr_assert_eq(b.avail, 1);
	sqe = io_uring_get_sqe(&r.ring);
	io_uring_prep_recv(sqe, sv[1], NULL, 200, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 3;
	cqe = wait_one(&r);
	cr_assert_eq(cqe->res, 1);
	cr_assert_eq(cqe->flags >> IORING_CQE_BUFFER_SHIFT, 2u);
	io_uring_cqe_seen(&r.ring, cqe);

	rv_bufring_cleanup(&b, &r.ring);
	cr_assert_null(b.base);
	rv_bufring_cleanup(&b, &r.ring); /* zero state: no-op */
	rv_ring_cleanup(&r);
	close(sv[0]);
	close(sv[1]);
}

Test(bufring, rejects_bad_geometry)
{
	struct rv_ring r;
	struct rv_bufring b;

	memset(&r, 0, sizeof(r));
	if (rv_ring_init(&r, 8, true) < 0) {
		cr_skip_test("io_uring unavailable");
	}
	memset(&b, 0, sizeof(b));
	cr_assert_eq(rv_bufring_init(&b, &r.ring, 0, 3, 256, 0, 256), -EINVAL, "not a power of 2");
	cr_assert_eq(rv_bufring_init(&b, &r.ring, 0, 4, 256, 100, 200), -EINVAL, "beyond buffer");
	cr_assert_eq(rv_bufring_init(&b, &r.ring, 0, 65536, 256, 0, 256), -EINVAL, "too many");
	cr_assert_null(b.base);
	rv_ring_cleanup(&r);
}

/* The limit keeps recycled ids staged: the kernel never owns more than
 * |limit| buffers, and staged ids reach it in order once it may own more. */
Test(bufring, limit_stages_recycled_ids, .timeout = 10)
{
	struct rv_ring r;
	struct rv_bufring b;

	setup(&r, &b, 5, 8, 256, 0, 256);
	cr_assert_eq(b.limit, 8);
	/* Pretend the kernel consumed 6 buffers (ids 0..5) and we recycle them
	 * under a limit of 4: only 2 more may go back (2 still owned). */
	for (int i = 0; i < 6; i++) {
		rv_bufring_consumed(&b);
	}
	cr_assert_eq(b.avail, 2);
	rv_bufring_set_limit(&b, 4);
	for (unsigned i = 0; i < 6; i++) {
		rv_bufring_recycle(&b, i);
	}
	rv_bufring_commit(&b);
	cr_assert_eq(b.avail, 4);
	cr_assert_eq(b.pending, 4);
	/* Raising the limit publishes the staged rest. */
	rv_bufring_set_limit(&b, 100);
	cr_assert_eq(b.limit, 8);
	rv_bufring_commit(&b);
	cr_assert_eq(b.avail, 8);
	cr_assert_eq(b.pending, 0);
	rv_bufring_set_limit(&b, 0);
	cr_assert_eq(b.limit, 1);
	rv_bufring_cleanup(&b, &r.ring);
	rv_ring_cleanup(&r);
}
