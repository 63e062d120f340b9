/*
 * slots.c — listener and connection slots of the control ring's
 * request/response services (see slots.h).
 */
#include "tls/slots.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"

enum {
	ACCEPT_RETRY_NS = 100 * RV_NSEC_PER_MSEC,
	/* While no caller can get in, how often the backlog is looked at, and
	 * how long a connected caller may take to send a whole request before
	 * it is closed for one that waits. */
	CROWD_LOOK_NS = 250 * RV_NSEC_PER_MSEC,
	CROWD_LOOK_LOCAL_NS = 100 * RV_NSEC_PER_MSEC,
	CROWD_SILENT_NS = RV_NSEC_PER_SEC,
	CROWD_SILENT_LOCAL_NS = 250 * RV_NSEC_PER_MSEC,
	/* and how long a local caller's answer may take (ops->local). */
	CROWD_REPLY_LOCAL_NS = RV_NSEC_PER_SEC,
	/* and how long one may take none of its answer (rv_slots_progress). */
	CROWD_STALLED_NS = RV_NSEC_PER_SEC,
	/* and how long one answered may linger then (its caller has had the
	 * time to read what it asked for). */
	CROWD_ANSWERED_NS = 100 * RV_NSEC_PER_MSEC,
};

static struct rv_slot *slot_at(const struct rv_slots *t, unsigned i)
{
	return (struct rv_slot *)(void *)(t->conns + (size_t)i * t->stride);
}

static unsigned slot_index(const struct rv_slots *t, const struct rv_slot *s)
{
	return (unsigned)(((const unsigned char *)s - t->conns) / t->stride);
}

void rv_slots_init(struct rv_slots *t, const struct rv_slots_ops *ops, void *conns, unsigned num,
		   size_t stride)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->listen_fd = -1;
	t->conns = conns;
	t->num = num;
	t->stride = stride;
	for (unsigned i = 0; i < num; i++) {
		slot_at(t, i)->fd = -1;
	}
}

static void on_accept_retry(struct rv_loop *l, struct rv_ltimer *lt)
{
	rv_slots_arm_accept(l, container_of(lt, struct rv_slots, accept_retry));
}

/* crowded: can no caller get in now? Every slot is taken (with no busy
 * reply to give), or descriptors ran out and the one held in reserve, which
 * only this service takes, is in use. */
static bool crowded(const struct rv_loop *l, const struct rv_slots *t)
{
	return t->listen_fd >= 0 && !l->stopping &&
	       ((t->in_use == t->num && (t->ops->busy_reply == NULL || t->nwait > 0)) ||
		(t->out_of_fds && t->ops->takes_reserve && l->spare_fd < 0 && t->in_use > 0));
}

static void arm_crowd_look(struct rv_loop *l, struct rv_slots *t);

/* close_silent closes every slot whose caller has not sent a whole request
 * within CROWD_SILENT_NS (one that sends a byte at a time counts as
 * silent), or has taken none of its answer for CROWD_STALLED_NS; a local
 * service's caller silent for CROWD_SILENT_LOCAL_NS, or reading one answer
 * for CROWD_REPLY_LOCAL_NS, too. All of them: a backlog full of such
 * callers would otherwise let one waiting caller in every look. */
static void close_silent(struct rv_loop *l, struct rv_slots *t)
{
	for (unsigned i = 0; i < t->num; i++) {
		struct rv_slot *s = slot_at(t, i);

		/* One answered a while ago lingers for a caller that may
		 * never close it: 16 such, each reopened, kept every scrape
		 * out (a round-two tester). */
		if (s->used && !s->closing && s->answered &&
		    l->now_ns - s->answered_ns >= CROWD_ANSWERED_NS) {
			rv_slots_close(l, t, s);
			continue;
		}
		/* One that asked for a large answer and reads none of it
		 * held its place until the service's deadline (5 s for the
		 * management socket's), a backlog of them the operator's
		 * request 10-14 s (round-twenty-three tester 99); a local one
		 * that reads it a chunk a second, 150 of them 5-6 s
		 * (round-twenty-four tester 105). */
		if (s->used && !s->closing && s->replying && !s->answered) {
			bool stalled = l->now_ns - s->progress_ns >= CROWD_STALLED_NS;

			if (stalled ||
			    (t->ops->local && l->now_ns - s->reply_ns >= CROWD_REPLY_LOCAL_NS)) {
				uint64_t since = stalled ? s->progress_ns : s->reply_ns;

				rv_warnx_rl("%s: no place for a waiting caller: closing one that "
					    "has read %s its answer for %.1f s",
					    t->ops->name, stalled ? "nothing more of" : "part of",
					    (double)(l->now_ns - since) / 1e9);
				rv_slots_close(l, t, s);
				continue;
			}
		}
		if (s->used && !s->closing && !s->asked &&
		    l->now_ns - s->since_ns >=
			    (t->ops->local ? CROWD_SILENT_LOCAL_NS : CROWD_SILENT_NS)) {
			rv_warnx_rl("%s: no place for a waiting caller: closing one that has sent "
				    "no whole request in %.1f s",
				    t->ops->name, (double)(l->now_ns - s->since_ns) / 1e9);
			rv_slots_close(l, t, s);
		}
	}
}

/* on_crowd_look: with a caller waiting (in the backlog, or in the waiting
 * room), close the silent slots. */
static void on_crowd_look(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct rv_slots *t = container_of(lt, struct rv_slots, crowd_timer);
	struct pollfd pfd = { .fd = t->listen_fd, .events = POLLIN };

	if (!crowded(l, t)) {
		return;
	}
	if (t->nwait > 0 || poll(&pfd, 1, 0) == 1) {
		close_silent(l, t);
	}
	arm_crowd_look(l, t);
}

static void arm_crowd_look(struct rv_loop *l, struct rv_slots *t)
{
	if (crowded(l, t) && !rv_timer_armed(&t->crowd_timer.t)) {
		rv_loop_arm(l, &t->crowd_timer, on_crowd_look,
			    l->now_ns + (t->ops->local ? CROWD_LOOK_LOCAL_NS : CROWD_LOOK_NS));
	}
}

void rv_slots_arm_accept(struct rv_loop *l, struct rv_slots *t)
{
	if (t->accept_armed || t->listen_fd < 0 || l->stopping ||
	    (t->in_use == t->num && t->ops->busy_reply == NULL)) {
		return;
	}
	if (l->io.accept(l->io.ctx, t->listen_fd, rv_udata(t->ops->accept_op, 0, 0))) {
		rv_loop_arm(l, &t->accept_retry, on_accept_retry, l->now_ns + ACCEPT_RETRY_NS);
		return;
	}
	t->accept_armed = true;
}

void rv_slots_replace_listener(struct rv_loop *l, struct rv_slots *t, int fd)
{
	int old = t->listen_fd;

	t->listen_fd = fd;
	if (old >= 0) {
		/* A listening socket shut down fails its waiting accepts
		 * (EINVAL): the ring's one completes, and is re-armed on
		 * |fd| then. */
		if (t->accept_armed) {
			t->replaced = true;
			shutdown(old, SHUT_RDWR);
		}
		close(old);
	}
	rv_slots_arm_accept(l, t);
}

void rv_slots_refill_spare(struct rv_loop *l)
{
	if (l->spare_fd < 0) {
		l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

/* accept_spare: out of file descriptors is when an operator asks what is
 * wrong, so a request must still get in. The ring's accept fails at once
 * then, connection or not (the kernel takes the descriptor first), so the
 * listener is polled: with a connection queued, the loop gives up the one
 * descriptor it holds in reserve for it, taken straight from the listener,
 * and takes it back when a slot is released. Returns the connection, or
 * |res| when none is queued or the reserve is in use. */
static int accept_spare(struct rv_loop *l, struct rv_slots *t, int res)
{
	struct pollfd pfd = { .fd = t->listen_fd, .events = POLLIN };
	int fd;

	if (l->spare_fd < 0 || poll(&pfd, 1, 0) != 1) {
		return res;
	}
	close(l->spare_fd);
	l->spare_fd = -1;
	fd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		rv_slots_refill_spare(l);
		return res;
	}
	return fd;
}

/* refuse gives the connection |fd| the busy reply, if the service has one,
 * and closes it. */
static void refuse(struct rv_loop *l, struct rv_slots *t, int fd)
{
	/* The request is read first, as far as it has come: closed with it
	 * unread, the socket would be reset (a Unix socket's caller gets
	 * ECONNRESET, a TCP one an RST), and the caller might never see the
	 * answer. */
	char sink[512];
	ssize_t w;

	for (int i = 0; i < 8 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++) {
	}
	if (t->ops->busy_reply != NULL) {
		w = send(fd, t->ops->busy_reply, strlen(t->ops->busy_reply),
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
		shutdown(fd, SHUT_WR);
	}
	close(fd);
	rv_slots_refill_spare(l); /* had it been the reserve's */
	if (t->ops->on_busy) {
		t->ops->on_busy(l);
	}
}

/* has_sent: has the caller of |fd| sent a whole request (as a scraper
 * does at once)? */
static bool has_sent(const struct rv_slots *t, int fd)
{
	char b[RV_SLOTS_PEEK];
	ssize_t n = recv(fd, b, t->ops->whole ? sizeof(b) : 1, MSG_PEEK | MSG_DONTWAIT);

	return n > 0 && (!t->ops->whole || t->ops->whole(b, (size_t)n));
}

/* park puts |fd| in the waiting room; when it is full, the one waiting
 * longest that has sent no whole request makes room (busy reply), or else
 * |fd| is refused. */
static void park(struct rv_loop *l, struct rv_slots *t, int fd)
{
	unsigned i = 0;

	if (t->nwait == RV_SLOTS_WAIT) {
		while (i < t->nwait && has_sent(t, t->wait_fd[i])) {
			i++;
		}
		if (i == t->nwait) {
			refuse(l, t, fd);
			return;
		}
		refuse(l, t, t->wait_fd[i]);
		memmove(&t->wait_fd[i], &t->wait_fd[i + 1], (t->nwait - i - 1) * sizeof(int));
		t->nwait--;
	}
	t->wait_fd[t->nwait++] = fd;
	close_silent(l, t); /* those a second old now; the younger at the next look */
	arm_crowd_look(l, t);
}

/* unpark takes from the waiting room the first caller that has sent a
 * whole request, or else the one waiting longest. */
static int unpark(struct rv_slots *t)
{
	unsigned i = 0;
	int fd;

	while (i < t->nwait && !has_sent(t, t->wait_fd[i])) {
		i++;
	}
	if (i == t->nwait) {
		i = 0;
	}
	fd = t->wait_fd[i];
	memmove(&t->wait_fd[i], &t->wait_fd[i + 1], (t->nwait - i - 1) * sizeof(int));
	t->nwait--;
	return fd;
}

/* take_slot gives the free slot |s| to the connection |fd|. */
static struct rv_slot *take_slot(struct rv_loop *l, struct rv_slots *t, struct rv_slot *s, int fd)
{
	memset(s, 0, t->stride);
	s->fd = fd;
	s->used = true;
	s->gen = ++t->next_gen;
	s->since_ns = l->now_ns;
	t->in_use++;
	return s;
}

struct rv_slot *rv_slots_accepted(struct rv_loop *l, struct rv_slots *t, int res)
{
	struct rv_slot *s = NULL;

	t->accept_armed = false;
	if (res == -EMFILE || res == -ENFILE) {
		if (!t->out_of_fds && !l->stopping) {
			rv_warnx("%s: accept: %s: %s", t->ops->name, strerror(-res),
				 t->ops->takes_reserve ? "requests are taken one at a time with a "
							 "descriptor held in reserve"
						       : "requests wait until descriptors free up");
		}
		t->out_of_fds = true;
		if (!l->stopping && t->ops->takes_reserve) {
			res = accept_spare(l, t, res);
		}
	} else if (res >= 0) {
		t->out_of_fds = false;
	}
	if (t->replaced) {
		t->replaced = false;
		if (res < 0) {
			rv_slots_arm_accept(l, t);
			return NULL;
		}
	}
	if (res < 0) {
		if (res != -ECANCELED && !l->stopping && !t->out_of_fds) {
			rv_warnx_rl("%s: accept: %s", t->ops->name, strerror(-res));
		}
		rv_loop_arm(l, &t->accept_retry, on_accept_retry, l->now_ns + ACCEPT_RETRY_NS);
		arm_crowd_look(l, t);
		return NULL;
	}
	for (unsigned i = 0; i < t->num; i++) {
		if (!slot_at(t, i)->used) {
			s = slot_at(t, i);
			break;
		}
	}
	if (s == NULL && t->ops->start != NULL && t->ops->busy_reply != NULL && !l->stopping) {
		park(l, t, res);
		rv_slots_arm_accept(l, t);
		return NULL;
	}
	if (s == NULL) {
		/* The accept is re-armed when a slot frees (release). */
		refuse(l, t, res);
		return NULL;
	}
	take_slot(l, t, s, res);
	rv_slots_arm_accept(l, t);
	arm_crowd_look(l, t);
	return s;
}

uint64_t rv_slots_udata(const struct rv_slots *t, const struct rv_slot *s, enum rv_op op)
{
	return rv_udata(op, slot_index(t, s), s->gen);
}

static void release(struct rv_loop *l, struct rv_slots *t, struct rv_slot *s)
{
	rv_loop_disarm(l, &s->timer);
	close(s->fd);
	rv_slots_refill_spare(l); /* the descriptor just freed, if it was the reserve's */
	t->ops->release(s);
	s->used = false;
	s->fd = -1;
	t->in_use--;
	if (t->nwait > 0 && !l->stopping) {
		/* Its place goes to a caller in the waiting room. */
		t->ops->start(l, take_slot(l, t, s, unpark(t)));
		arm_crowd_look(l, t);
	}
	rv_slots_arm_accept(l, t); /* a slot is free again */
}

struct rv_slot *rv_slots_completed(struct rv_loop *l, struct rv_slots *t, uint64_t ud)
{
	uint32_t id = rv_udata_owner(ud);
	struct rv_slot *s;

	if (id >= t->num) {
		return NULL;
	}
	s = slot_at(t, id);
	if (!s->used || s->gen != rv_udata_idx(ud)) {
		return NULL;
	}
	s->inflight--;
	if (s->closing) {
		if (s->inflight == 0) {
			release(l, t, s);
		}
		return NULL;
	}
	return s;
}

void rv_slots_close(struct rv_loop *l, struct rv_slots *t, struct rv_slot *s)
{
	if (s->closing) {
		return;
	}
	s->closing = true;
	shutdown(s->fd, SHUT_RDWR);
	if (s->inflight == 0) {
		release(l, t, s);
		return;
	}
	/* The cancel's own completion is counted like the operations it
	 * cancels. */
	if (l->io.cancel_fd(l->io.ctx, s->fd, rv_slots_udata(t, s, t->ops->cancel_op)) == 0) {
		s->inflight++;
	}
}

void rv_slots_free(struct rv_slots *t)
{
	for (unsigned i = 0; i < t->num; i++) {
		struct rv_slot *s = slot_at(t, i);

		if (s->used) {
			close(s->fd);
			t->ops->release(s);
			s->used = false;
		}
	}
	while (t->nwait > 0) {
		close(t->wait_fd[--t->nwait]);
	}
	if (t->listen_fd >= 0) {
		close(t->listen_fd);
		t->listen_fd = -1;
	}
}
