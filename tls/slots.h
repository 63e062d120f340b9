/*
 * slots.h — the listener and the connection slots of a request/response
 * service run from the control ring: the management socket (mgmt.c) and the
 * metrics endpoint (http.c). Private to tls/.
 *
 * What the table does for both: accept is a ring operation, re-armed while
 * a slot is free (and retried after ACCEPT_RETRY when the ring refuses it);
 * a connection accepted while every slot is taken gets the service's "busy"
 * answer and is closed, the others wait in the kernel's backlog; a service
 * with a start function has a waiting room instead (below). While no
 * caller can get in (every slot taken, or out of descriptors), one that
 * waits in the backlog makes the table close those that have not sent a
 * whole request within a second (each would hold its place the service's
 * whole deadline: 32 silent callers and a full backlog of them held an
 * operator's request 15 s), and those whose caller has taken none of its
 * answer for a second (asked for a large one and stopped reading: 200 such
 * held every operator's request 10-14 s); a local service's (ops->local)
 * sooner. Every ring
 * operation of a connection carries the slot's generation, so a completion
 * that arrives after its slot was reused is ignored. A close shuts the
 * socket down, cancels what is in flight and frees the slot only when the
 * last operation has completed: the kernel never writes into a slot that
 * serves another connection.
 *
 * What stays the service's: the connection's buffers and state (a struct
 * that starts with struct rv_slot), its deadlines (slot.timer) and what it
 * does with each completion.
 *
 * Threads: the control thread only (the loop's).
 */
#ifndef RV_TLS_SLOTS_H
#define RV_TLS_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/internal.h"
#include "uring/udata.h"

/* struct rv_slot starts each connection struct of a service. */
struct rv_slot {
	int fd;
	uint32_t gen;
	bool used, closing;
	bool asked;		/* the service has the caller's whole request */
	bool answered;		/* its answer sent: lingering only to let the caller read */
	uint64_t answered_ns;	/* since then */
	bool replying;		/* its answer going out (rv_slots_progress) */
	uint64_t reply_ns;	/* since then */
	uint64_t progress_ns;	/* the caller last took a part of it then */
	unsigned inflight;	/* ring operations not completed yet */
	uint64_t since_ns;	/* accepted then */
	struct rv_ltimer timer; /* the service's deadlines; disarmed at release */
};

struct rv_slots_ops {
	const char *name;     /* in log lines: "management", "metrics" */
	enum rv_op accept_op; /* the listener's operation */
	enum rv_op cancel_op; /* the operation a close's cancel completes as */
	/* release frees what a connection holds besides its socket. */
	void (*release)(struct rv_slot *s);
	/* busy_reply, if set, is what a connection accepted while every slot
	 * is taken gets before the table closes it (one such; the next wait
	 * in the listener's backlog): sent without waiting (a fresh socket's
	 * send buffer takes a short answer). Without one, nothing is accepted
	 * while every slot is taken. on_busy, if set, counts or logs that
	 * refusal. */
	const char *busy_reply;
	void (*on_busy)(struct rv_loop *l);
	/* Out of descriptors, the loop's one held in reserve is given to this
	 * service's callers (the management socket's: the operator's way in);
	 * the others wait until descriptors free up. */
	bool takes_reserve;
	/* start, if set with a busy_reply, starts a connection the table
	 * gives a slot later: one accepted while every slot was taken waits
	 * in a room of RV_SLOTS_WAIT (the one waiting longest that has sent
	 * no whole request, or else the newcomer, gets the busy reply when it
	 * is full),
	 * the slots whose callers have sent no whole request within a second
	 * are closed meanwhile, and a freed slot goes to a waiting caller that
	 * has sent a whole request, before one that has not. Without it, callers silent
	 * in the slots (a local process reopening them as they close) kept
	 * every scrape out: each newcomer got the busy reply. */
	void (*start)(struct rv_loop *l, struct rv_slot *s);
	/* whole, with start: do the |n| bytes a waiting caller has sent so
	 * far (at most RV_SLOTS_PEEK) hold a whole request? One that sends
	 * a byte at a time is not preferred over a newcomer for it (a
	 * hostile tester kept 10-60 % of scrapes out so). */
	bool (*whole)(const char *buf, size_t n);
	/* local: callers on this host (a Unix socket), whose request comes
	 * at once and who read as fast as the process writes. While one
	 * waits, a local caller silent for a quarter of a second (not one)
	 * and one whose answer has gone out for a second, read or not, are
	 * closed for it: hundreds of half-sent callers, or of callers reading
	 * a large status a chunk a second, held an operator's request 5-15 s
	 * (round-twenty-four tester 105). A remote one (metrics) may be a
	 * round trip slower and read over a slow link. */
	bool local;
};

enum { RV_SLOTS_PEEK = 4096 };

enum { RV_SLOTS_WAIT = 8 };

struct rv_slots {
	const struct rv_slots_ops *ops;
	int listen_fd; /* the service opens it; -1 when none */
	bool accept_armed;
	bool replaced;	 /* the armed accept's listener was replaced: its error is expected */
	bool out_of_fds; /* accepts fail with EMFILE/ENFILE (logged once) */
	struct rv_ltimer accept_retry;
	struct rv_ltimer crowd_timer; /* crowded(): a caller may be waiting */
	uint32_t next_gen;
	unsigned num, in_use;
	int wait_fd[RV_SLOTS_WAIT]; /* the waiting room (ops->start), oldest first */
	unsigned nwait;
	size_t stride;
	unsigned char *conns; /* |num| connections of |stride| bytes */
};

/* rv_slots_init sets up |t| over |num| connection structs of |stride|
 * bytes at |conns|, each starting with struct rv_slot; no listener yet. */
void rv_slots_init(struct rv_slots *t, const struct rv_slots_ops *ops, void *conns, unsigned num,
		   size_t stride);

/* rv_slots_arm_accept accepts the next connection through the ring, unless
 * an accept is armed already, there is no listener, the loop stops, or
 * every slot is taken and there is no busy_reply to give. */
void rv_slots_arm_accept(struct rv_loop *l, struct rv_slots *t);

/* rv_slots_refill_spare takes back the descriptor the loop holds in
 * reserve (l->spare_fd) if it was given up: a connection accepted while
 * the process was out of descriptors uses it (rv_slots_accepted). */
void rv_slots_refill_spare(struct rv_loop *l);

/* rv_slots_replace_listener makes |fd| the listener in place of the one
 * there: an accept armed on the old one completes (its socket shut down)
 * and is armed again on |fd|, unsaid. The old one is closed. */
void rv_slots_replace_listener(struct rv_loop *l, struct rv_slots *t, int fd);

/* rv_slots_accepted handles the accept completion |res|. Returns the slot
 * of the new connection: zeroed, then with its socket, in use and with a
 * fresh generation, for the service to start; or NULL (an accept error,
 * logged at a limited rate and retried; or every slot busy). Out of file
 * descriptors, the loop's reserve one is given up for the connection. The next
 * accept is armed either way. */
struct rv_slot *rv_slots_accepted(struct rv_loop *l, struct rv_slots *t, int res);

/* rv_slots_udata returns the user data of an operation |op| of slot |s|. */
uint64_t rv_slots_udata(const struct rv_slots *t, const struct rv_slot *s, enum rv_op op);

/* rv_slots_completed matches a connection's completion |ud| to its slot and
 * counts the operation done. Returns the slot to carry on with, or NULL:
 * a stale completion, or one for a closing slot (released with its last
 * operation). */
struct rv_slot *rv_slots_completed(struct rv_loop *l, struct rv_slots *t, uint64_t ud);

/* A caller that took the part before within RV_SLOTS_BRISK_NS of its send
 * keeps the loop from lingering (rv_slots_progress). */
#define RV_SLOTS_BRISK_NS (10 * 1000 * 1000ull)

/* rv_slots_progress records, as the service sends a part of slot |s|'s
 * answer, that its caller took the part before (or that the answer
 * starts): the table judges a stalled reader by it.
 *
 * And the loop does not linger for the next RV_SLOTS_BRISK_NS (loop.c)
 * when the answer starts or its caller took the part before within that
 * time of its send: an idle server's every turn lingered 4 ms to gather
 * completions, and a reply going out a part per turn crawled at 3-4 MB/s
 * (a status of 5,000 sessions took 1.2-3.4 s; one of 65,000 would pass the
 * CLI's 15 s: round-seventy tester 321). A reader that stalls or reads
 * slowly does not keep it off: its parts take longer than that, and the
 * loop lingers again RV_SLOTS_BRISK_NS after the last brisk one. What
 * bounds a hostile caller: it must take every part within RV_SLOTS_BRISK_NS
 * of its send, so keeping the linger off costs it a reader of 1.6 MB/s
 * (the management socket's 16 KB parts, its callers root and admin_group
 * only) or 25 MB/s (the metrics endpoint's 256 KB parts, a rendering at
 * most once a second) for as long as it wants it off, each reply as long
 * as its length lasts at that speed; and it buys no more than any TCP
 * connect to the control port does, a handshake in flight, which turns
 * the linger off until its handshake_timeout. Without it the loop only
 * wakes per completion, as it does in a connect storm. */
static inline void rv_slots_progress(struct rv_loop *l, struct rv_slot *s)
{
	bool brisk = !s->replying || l->now_ns - s->progress_ns <= RV_SLOTS_BRISK_NS;

	if (!s->replying) {
		s->reply_ns = l->now_ns;
	}
	s->replying = true;
	s->progress_ns = l->now_ns;
	if (brisk && l->brisk_until_ns < l->now_ns + RV_SLOTS_BRISK_NS) {
		l->brisk_until_ns = l->now_ns + RV_SLOTS_BRISK_NS;
	}
}

/* rv_slots_close ends the connection of slot |s|: at once when nothing is
 * in flight, else once the cancelled operations have completed. Calling it
 * again is a no-op. */
void rv_slots_close(struct rv_loop *l, struct rv_slots *t, struct rv_slot *s);

/* rv_slots_free closes every connection and the listener, without the ring
 * (gone, or never started: nothing is in flight any more). */
void rv_slots_free(struct rv_slots *t);

#endif /* RV_TLS_SLOTS_H */
