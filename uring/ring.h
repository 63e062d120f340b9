/*
 * ring.h — one io_uring per thread: setup with SINGLE_ISSUER|DEFER_TASKRUN
 * (falling back cleanly when the kernel refuses), an opcode probe, and
 * rv_ring_get_sqe, which flushes and retries when the SQ is full.
 *
 * Threads: a ring created with SINGLE_ISSUER must be used only by the thread
 * that called rv_ring_init.
 */
#ifndef RV_URING_RING_H
#define RV_URING_RING_H

#include <stdbool.h>

#include <liburing.h>

struct rv_ring {
	struct io_uring ring;
	unsigned setup_flags; /* flags the kernel accepted */
	bool ready;
	bool has_read_mshot;	/* IORING_OP_READ_MULTISHOT (Linux 6.7) */
	bool has_recvmsg_mshot; /* multishot recvmsg (Linux 6.0) */
	bool has_sendmsg_zc;	/* IORING_OP_SENDMSG_ZC (Linux 6.1) */
};

/* rv_ring_init sets up |r| with |entries| SQEs and 4x as many CQEs, trying
 * SINGLE_ISSUER|DEFER_TASKRUN first when |single_issuer|. Returns 0 or -errno.
 * |r| must be zero-initialised; on failure it stays in the zero state. */
int rv_ring_init(struct rv_ring *r, unsigned entries, bool single_issuer);

/* rv_ring_strerror writes |err| of a ring's setup into |buf|: the error's
 * text, and for ENOMEM the locked-memory limit that is the usual cause.
 * (rv_ring_init has said why itself when the host refuses io_uring, and
 * returned -ENOSYS.) Returns |buf|. */
const char *rv_ring_strerror(int err, char *buf, size_t len);

/* rv_ring_cleanup tears the ring down (cancels everything in flight). Safe on
 * a zero-state ring. */
void rv_ring_cleanup(struct rv_ring *r);

/* rv_ring_get_sqe returns a free SQE, submitting queued ones first if the SQ
 * is full. Returns NULL only if the kernel refuses to take any SQE. */
struct io_uring_sqe *rv_ring_get_sqe(struct rv_ring *r);

#endif /* RV_URING_RING_H */
