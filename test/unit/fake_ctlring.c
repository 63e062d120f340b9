/*
 * fake_ctlring.c — the control ring in userspace (see fake_ctlring.h).
 */
#include "test/unit/fake_ctlring.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring/ctlring.h"

enum {
	MAX_RULES = 16,
	MAX_LISTENERS = 8,
	DEFAULT_SETTLE_MS = 5,
};

struct op {
	enum fake_op kind;
	int fd;
	void *buf;	  /* recv, read */
	const void *cbuf; /* send */
	size_t len;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	uint64_t ud;
	uint64_t deadline_ns; /* timeout */
	bool connecting;      /* connect: EINPROGRESS seen, waiting for POLLOUT */
};

struct rule {
	bool used;
	enum fake_op kind;
	int fd;
	int32_t res;
};

struct rv_ctlring {
	struct rv_ctlring *next; /* live rings */
	uint64_t wake_ns;	 /* when the last idle wait would have ended */
	unsigned max_ops;
	struct op *ops; /* in flight, in submission order */
	size_t num_ops;
	struct rv_ctlring_cqe *cq; /* completed, not yet handed out */
	size_t cq_len, cq_cap;
	struct rule inject[MAX_RULES];
	struct rule hold[MAX_RULES];
	int settle_ms;
	struct {
		int listen_fd, fd;
	} accepted[MAX_LISTENERS]; /* the last accept on each listener */
	uint64_t completed[FAKE_NUM_OPS];
	uint64_t injected;
};

static uint64_t clock_ns = 1000ull * 1000000000ull;
static struct rv_ctlring *last_ring;
static struct rv_ctlring *rings; /* every live ring */
static unsigned live_rings;

uint64_t fake_clock_ns(void *ctx)
{
	(void)ctx;
	return clock_ns;
}

void fake_clock_advance(uint64_t ns)
{
	clock_ns += ns;
}

struct rv_ctlring *fake_ctlring_last(void)
{
	return last_ring;
}

unsigned fake_ctlring_live(void)
{
	return live_rings;
}

/* ---- the ctlring.h API -------------------------------------------------- */

int rv_ctlring_new(struct rv_ctlring **out, unsigned entries)
{
	struct rv_ctlring *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r) {
		return -ENOMEM;
	}
	r->max_ops = entries;
	r->ops = calloc(entries, sizeof(*r->ops));
	if (!r->ops) {
		free(r);
		return -ENOMEM;
	}
	r->settle_ms = DEFAULT_SETTLE_MS;
	r->wake_ns = UINT64_MAX;
	r->next = rings;
	rings = r;
	for (size_t i = 0; i < MAX_LISTENERS; i++) {
		r->accepted[i].listen_fd = -1;
	}
	last_ring = r;
	live_rings++;
	*out = r;
	return 0;
}

void rv_ctlring_free(struct rv_ctlring *r)
{
	if (!r) {
		return;
	}
	/* Like the kernel ring: what is in flight is cancelled and its
	 * completions are never seen. */
	if (last_ring == r) {
		last_ring = NULL;
	}
	for (struct rv_ctlring **p = &rings; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	live_rings--;
	free(r->ops);
	free(r->cq);
	free(r);
}

static struct op *submit(struct rv_ctlring *r, enum fake_op kind, int fd, uint64_t ud)
{
	struct op *o;

	if (r->num_ops == r->max_ops) {
		return NULL;
	}
	o = &r->ops[r->num_ops++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->fd = fd;
	o->ud = ud;
	return o;
}

int rv_ctlring_accept(struct rv_ctlring *r, int fd, uint64_t ud)
{
	return submit(r, FAKE_ACCEPT, fd, ud) ? 0 : -EBUSY;
}

/* submit_io queues an operation on a buffer: |buf| to fill (recv, read) or
 * |cbuf| to send. */
static int submit_io(struct rv_ctlring *r, enum fake_op kind, int fd, void *buf, const void *cbuf,
		     size_t len, uint64_t ud)
{
	struct op *o = submit(r, kind, fd, ud);

	if (!o) {
		return -EBUSY;
	}
	o->buf = buf;
	o->cbuf = cbuf;
	o->len = len;
	return 0;
}

int rv_ctlring_recv(struct rv_ctlring *r, int fd, void *buf, size_t len, uint64_t ud)
{
	return submit_io(r, FAKE_RECV, fd, buf, NULL, len, ud);
}

int rv_ctlring_send(struct rv_ctlring *r, int fd, const void *buf, size_t len, uint64_t ud)
{
	return submit_io(r, FAKE_SEND, fd, NULL, buf, len, ud);
}

int rv_ctlring_connect(struct rv_ctlring *r, int fd, const struct sockaddr *sa, socklen_t len,
		       uint64_t ud)
{
	struct op *o;

	if (len > sizeof(o->sa)) {
		return -EINVAL;
	}
	o = submit(r, FAKE_CONNECT, fd, ud);
	if (!o) {
		return -EBUSY;
	}
	memcpy(&o->sa, sa, len);
	o->sa_len = len;
	return 0;
}

int rv_ctlring_read(struct rv_ctlring *r, int fd, void *buf, size_t len, uint64_t ud)
{
	return submit_io(r, FAKE_READ, fd, buf, NULL, len, ud);
}

int rv_ctlring_timeout(struct rv_ctlring *r, uint64_t ns, uint64_t ud)
{
	struct op *o = submit(r, FAKE_TIMEOUT, -1, ud);

	if (!o) {
		return -EBUSY;
	}
	o->deadline_ns = clock_ns + ns;
	return 0;
}

int rv_ctlring_cancel_fd(struct rv_ctlring *r, int fd, uint64_t ud)
{
	return submit(r, FAKE_CANCEL, fd, ud) ? 0 : -EBUSY;
}

/* ---- running the operations -------------------------------------------- */

static void complete(struct rv_ctlring *r, const struct op *o, int32_t res)
{
	if (r->cq_len == r->cq_cap) {
		size_t cap = r->cq_cap ? 2 * r->cq_cap : 64;
		struct rv_ctlring_cqe *cq = realloc(r->cq, cap * sizeof(*cq));

		if (!cq) {
			abort(); /* a test helper: no way to report it upward */
		}
		r->cq = cq;
		r->cq_cap = cap;
	}
	r->cq[r->cq_len++] = (struct rv_ctlring_cqe){ .user_data = o->ud, .res = res };
	r->completed[o->kind]++;
}

static struct rule *find_rule(struct rule *rules, enum fake_op kind, int fd)
{
	for (size_t i = 0; i < MAX_RULES; i++) {
		if (rules[i].used && rules[i].kind == kind &&
		    (rules[i].fd < 0 || rules[i].fd == fd)) {
			return &rules[i];
		}
	}
	return NULL;
}

static void add_rule(struct rule *rules, enum fake_op kind, int fd, int32_t res)
{
	for (size_t i = 0; i < MAX_RULES; i++) {
		if (!rules[i].used) {
			rules[i] =
				(struct rule){ .used = true, .kind = kind, .fd = fd, .res = res };
			return;
		}
	}
	abort(); /* more rules than a test needs: a bug in the test */
}

/* syscall_res: the completion result of a non-blocking call that returned
 * |ret|; false when it would block (the operation stays in flight). */
static bool syscall_res(ssize_t ret, int32_t *out)
{
	if (ret >= 0) {
		*out = (int32_t)ret;
		return true;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS) {
		return false;
	}
	*out = -errno;
	return true;
}

static void note_accepted(struct rv_ctlring *r, int listen_fd, int fd)
{
	for (size_t i = 0; i < MAX_LISTENERS; i++) {
		if (r->accepted[i].listen_fd == listen_fd || r->accepted[i].listen_fd < 0) {
			r->accepted[i].listen_fd = listen_fd;
			r->accepted[i].fd = fd;
			return;
		}
	}
	abort(); /* more listeners than any loop has */
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* try_op runs |o| once without blocking: true with its result when done. */
static bool try_op(struct rv_ctlring *r, struct op *o, int32_t *res)
{
	struct pollfd p = { .fd = o->fd, .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof(err);

	switch (o->kind) {
	case FAKE_ACCEPT:
		if (!syscall_res(accept4(o->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), res)) {
			return false;
		}
		if (*res >= 0) {
			note_accepted(r, o->fd, *res);
		}
		return true;
	case FAKE_RECV:
		return syscall_res(recv(o->fd, o->buf, o->len, MSG_DONTWAIT), res);
	case FAKE_SEND:
		return syscall_res(send(o->fd, o->cbuf, o->len, MSG_DONTWAIT | MSG_NOSIGNAL), res);
	case FAKE_READ:
		/* The fd may be blocking (a signalfd): read only when it has
		 * something. */
		return readable(o->fd) && syscall_res(read(o->fd, o->buf, o->len), res);
	case FAKE_CONNECT:
		if (!o->connecting) {
			o->connecting = true;
			return syscall_res(connect(o->fd, (struct sockaddr *)&o->sa, o->sa_len),
					   res);
		}
		if (poll(&p, 1, 0) != 1) {
			return false;
		}
		if (getsockopt(o->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) {
			err = errno;
		}
		*res = -err;
		return true;
	case FAKE_TIMEOUT:
		*res = -ETIME;
		return clock_ns >= o->deadline_ns;
	case FAKE_CANCEL:
	case FAKE_NUM_OPS:
		break;
	}
	return false;
}

/* cancel completes every other operation on |c|'s fd with -ECANCELED,
 * then |c| itself. */
static void cancel(struct rv_ctlring *r, size_t ci)
{
	struct op c = r->ops[ci];
	int32_t n = 0;
	size_t w = 0;

	for (size_t i = 0; i < r->num_ops; i++) {
		struct op *o = &r->ops[i];

		if (i != ci && o->kind != FAKE_CANCEL && o->fd == c.fd) {
			complete(r, o, -ECANCELED);
			n++;
		} else if (i != ci) {
			r->ops[w++] = *o;
		}
	}
	r->num_ops = w;
	complete(r, &c, n ? n : -ENOENT);
}

/* progress runs every operation in flight once, in submission order. */
static void progress(struct rv_ctlring *r)
{
	size_t i = 0;

	while (i < r->num_ops) {
		struct op *o = &r->ops[i];
		struct rule *rule;
		int32_t res;

		if (o->kind == FAKE_CANCEL) {
			cancel(r, i);
			i = 0; /* the array was compacted */
			continue;
		}
		if (find_rule(r->hold, o->kind, o->fd)) {
			i++;
			continue;
		}
		rule = find_rule(r->inject, o->kind, o->fd);
		if (rule) {
			rule->used = false;
			res = rule->res;
			r->injected++;
		} else if (!try_op(r, o, &res)) {
			i++;
			continue;
		}
		complete(r, o, res);
		memmove(o, o + 1, (r->num_ops - i - 1) * sizeof(*o));
		r->num_ops--;
	}
}

/* settle gives the kernel up to settle_ms to make an operation in flight
 * ready (loopback TCP delivers in the sender's context almost always, but
 * not by contract). */
static void settle(struct rv_ctlring *r)
{
	struct pollfd p[64];
	nfds_t n = 0;

	if (r->settle_ms <= 0) {
		return;
	}
	for (size_t i = 0; i < r->num_ops && n < 64; i++) {
		const struct op *o = &r->ops[i];

		if (o->fd < 0 || find_rule(r->hold, o->kind, o->fd)) {
			continue;
		}
		p[n].fd = o->fd;
		p[n].events = o->kind == FAKE_SEND || o->kind == FAKE_CONNECT ? POLLOUT : POLLIN;
		p[n].revents = 0;
		n++;
	}
	if (n) {
		(void)poll(p, n, r->settle_ms);
	}
}

bool rv_ctlring_lingers(const struct rv_ctlring *r)
{
	(void)r;
	return false;
}

int rv_ctlring_wait(struct rv_ctlring *r, struct rv_ctlring_cqe *out, unsigned max,
		    uint64_t timeout_ns, uint64_t linger_ns)
{
	size_t n;

	/* Gathering completions over time is the kernel's part; the fake
	 * returns whatever is ready. */
	(void)linger_ns;
	progress(r);
	if (r->cq_len == 0 && timeout_ns != 0) {
		settle(r);
		progress(r);
	}
	/* Nothing ready: the real ring would sleep until |timeout_ns|. Time
	 * stands still here; fake_clock_idle_advance lets it pass once every
	 * ring is idle. */
	r->wake_ns =
		r->cq_len == 0 && timeout_ns != UINT64_MAX ? clock_ns + timeout_ns : UINT64_MAX;
	n = r->cq_len < max ? r->cq_len : max;
	if (n == 0) {
		return 0; /* r->cq may still be NULL: no memcpy from it */
	}
	memcpy(out, r->cq, n * sizeof(*out));
	memmove(r->cq, r->cq + n, (r->cq_len - n) * sizeof(*r->cq));
	r->cq_len -= n;
	return (int)n;
}

bool fake_clock_idle_advance(void)
{
	uint64_t wake = UINT64_MAX;

	for (struct rv_ctlring *r = rings; r; r = r->next) {
		progress(r);
		if (r->cq_len > 0 || r->wake_ns <= clock_ns) {
			return false; /* this one has work now */
		}
		if (r->wake_ns < wake) {
			wake = r->wake_ns;
		}
	}
	if (wake == UINT64_MAX) {
		return false;
	}
	clock_ns = wake;
	return true;
}

/* ---- the test's controls ------------------------------------------------ */

void fake_ctlring_inject(struct rv_ctlring *r, enum fake_op op, int fd, int32_t res)
{
	add_rule(r->inject, op, fd, res);
}

void fake_ctlring_hold(struct rv_ctlring *r, enum fake_op op, int fd)
{
	add_rule(r->hold, op, fd, 0);
}

void fake_ctlring_release(struct rv_ctlring *r, enum fake_op op, int fd)
{
	struct rule *rule;

	while ((rule = find_rule(r->hold, op, fd)) != NULL) {
		rule->used = false;
	}
}

void fake_ctlring_set_settle_ms(struct rv_ctlring *r, int ms)
{
	r->settle_ms = ms;
}

size_t fake_ctlring_in_flight(const struct rv_ctlring *r, enum fake_op op, int fd)
{
	size_t n = 0;

	for (size_t i = 0; i < r->num_ops; i++) {
		if ((op == FAKE_NUM_OPS || r->ops[i].kind == op) &&
		    (fd < 0 || r->ops[i].fd == fd)) {
			n++;
		}
	}
	return n;
}

size_t fake_ctlring_fds(const struct rv_ctlring *r, enum fake_op op, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->num_ops; i++) {
		if (r->ops[i].kind == op) {
			if (n < max) {
				fds[n] = r->ops[i].fd;
			}
			n++;
		}
	}
	return n;
}

int fake_ctlring_last_accepted(const struct rv_ctlring *r, int listen_fd)
{
	for (size_t i = 0; i < MAX_LISTENERS; i++) {
		if (r->accepted[i].listen_fd == listen_fd) {
			return r->accepted[i].fd;
		}
	}
	return -1;
}

uint64_t fake_ctlring_completed(const struct rv_ctlring *r, enum fake_op op)
{
	return r->completed[op];
}

uint64_t fake_ctlring_injected(const struct rv_ctlring *r)
{
	return r->injected;
}
