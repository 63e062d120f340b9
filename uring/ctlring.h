/*
 * ctlring.h — the control thread's io_uring, behind an interface that does
 * not expose liburing (tls/ reaches the ring only through this header).
 *
 * Operations are queued with a caller-chosen 64-bit user_data and complete
 * as struct rv_ctlring_cqe; buffers and socket addresses passed in must stay
 * valid until the operation's completion has been returned by
 * rv_ctlring_wait (cancelled operations complete too, with -ECANCELED).
 *
 * Threads: the ring is created with SINGLE_ISSUER (when the kernel has it);
 * every call must come from the thread that created it.
 */
#ifndef RV_URING_CTLRING_H
#define RV_URING_CTLRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rv_ctlring;

struct rv_ctlring_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};

/* rv_ctlring_new creates a ring with room for |entries| submissions.
 * Returns 0 or -errno. */
int rv_ctlring_new(struct rv_ctlring **out, unsigned entries);

/* rv_ctlring_free cancels everything in flight and frees the ring. NULL ok. */
void rv_ctlring_free(struct rv_ctlring *r);

/* Each returns 0, or -EBUSY if no submission slot could be had even after
 * submitting. */
int rv_ctlring_accept(struct rv_ctlring *r, int fd, uint64_t ud); /* CLOEXEC|NONBLOCK */
int rv_ctlring_recv(struct rv_ctlring *r, int fd, void *buf, size_t len, uint64_t ud);
int rv_ctlring_send(struct rv_ctlring *r, int fd, const void *buf, size_t len, uint64_t ud);
int rv_ctlring_connect(struct rv_ctlring *r, int fd, const struct sockaddr *sa, socklen_t len,
		       uint64_t ud);
int rv_ctlring_read(struct rv_ctlring *r, int fd, void *buf, size_t len, uint64_t ud);
/* rv_ctlring_timeout completes (res -ETIME) after |ns| nanoseconds. */
int rv_ctlring_timeout(struct rv_ctlring *r, uint64_t ns, uint64_t ud);
/* rv_ctlring_cancel_fd cancels every operation on |fd|; the cancel itself
 * completes with user_data |ud|. */
int rv_ctlring_cancel_fd(struct rv_ctlring *r, int fd, uint64_t ud);

/* rv_ctlring_wait submits what is queued, waits for at least one completion
 * or until |timeout_ns| has passed (UINT64_MAX: no limit), and copies up to
 * |max| completions into |out|. Returns their number (0 on timeout) or
 * -errno (-EINTR: interrupted; -EAGAIN, -EBUSY: the kernel could take no
 * request now, or its completion queue overflowed, and nothing was reaped:
 * try again).
 *
 * |linger_ns| > 0 gathers completions for that long from the call before
 * returning (sooner when |max| are in; at the first one when none came in
 * that time): a mostly idle thread whose completions come every fraction
 * of a millisecond then wakes once per linger period instead of once per
 * completion, and no completion waits more than |linger_ns| extra. It never
 * extends the wait past |timeout_ns|. Ignored (0) on kernels before Linux
 * 6.12, which lack min_wait. */
int rv_ctlring_wait(struct rv_ctlring *r, struct rv_ctlring_cqe *out, unsigned max,
		    uint64_t timeout_ns, uint64_t linger_ns);

/* rv_ctlring_lingers reports whether the kernel honours |linger_ns|. */
bool rv_ctlring_lingers(const struct rv_ctlring *r);

#endif /* RV_URING_CTLRING_H */
