/*
 * codel.h — the CoDel active queue management law (RFC 8289), I/O-free, for
 * the queue a data-plane worker cannot see into: its UDP socket's receive
 * queue. The worker learns each datagram's sojourn time there from the
 * kernel's receive timestamp and asks this module whether it is time to drop
 * one; a dropped bulk segment makes the inner TCP flow halve its window, so
 * the standing queue (and with it the wait of every interactive packet
 * queued behind the bulk) shrinks back below the target.
 *
 * Time is a parameter: every function takes |now_ns| from the caller's
 * monotonic-or-realtime clock (the same clock for every call on one state).
 *
 * Threads: one struct rv_codel per queue, used by one thread.
 */
#ifndef RV_CORE_CODEL_H
#define RV_CORE_CODEL_H

#include <stdbool.h>
#include <stdint.h>

struct rv_codel_params {
	uint64_t target_ns;   /* acceptable standing sojourn time */
	uint64_t interval_ns; /* how long above target before the first drop */
};

/* struct rv_codel is one queue's CoDel state. Zero state: not dropping. */
struct rv_codel {
	struct rv_codel_params p;
	uint64_t first_above_ns; /* when the sojourn may count as standing (0: below) */
	uint64_t drop_next_ns;	 /* next drop while dropping */
	uint32_t count;		 /* drops in this dropping state */
	uint32_t last_count;
	bool dropping;
};

/* rv_codel_init resets |c| with |p| (both fields > 0). */
void rv_codel_init(struct rv_codel *c, const struct rv_codel_params *p);

/* rv_codel_update feeds one dequeued packet's |sojourn_ns| at |now_ns| and
 * returns true when CoDel wants a packet dropped now. The caller then drops
 * one (it may pick another packet of the same dequeue, e.g. a bulk one
 * rather than a small one) and calls rv_codel_dropped; if it cannot drop,
 * it calls nothing and the next update asks again. */
bool rv_codel_update(struct rv_codel *c, uint64_t sojourn_ns, uint64_t now_ns);

/* rv_codel_above: would a packet |sojourn_ns| old count toward the wait
 * above target (start it, or go on with it)? The caller may then look
 * whether a queue stands behind it at all (rv_codel_empty if not) before
 * it counts. */
bool rv_codel_above(const struct rv_codel *c, uint64_t sojourn_ns);

/* rv_codel_empty tells |c| that the queue held nothing but the packet just
 * dequeued (when it advised a drop, or since the last dequeue): no standing
 * queue, so no drop, and the wait above target starts over (RFC 8289 5.2:
 * a queue of at most one packet resets first_above_time). */
void rv_codel_empty(struct rv_codel *c);

/* rv_codel_may_mark: may the packet CoDel picked, |sojourn_ns| old, be
 * marked CE instead of dropped, if it is ECN-capable? Not once it waited a
 * whole interval: the flows a standing queue that long carries do not slow
 * down for marks (an unresponsive flood sets ECT as easily as a TCP flow),
 * and they must not push the drops onto the others (RFC 7567 4.2.1). */
bool rv_codel_may_mark(const struct rv_codel *c, uint64_t sojourn_ns);

/* rv_codel_dropped records a drop made on rv_codel_update's advice and
 * schedules the next one (interval / sqrt(count) later). */
void rv_codel_dropped(struct rv_codel *c, uint64_t now_ns);

/* struct rv_codel_pick spreads CoDel's drops over datagrams rather than
 * over receives, for a caller that asks CoDel once a receive of several
 * datagrams (a GRO batch): a receive of one datagram (a ping, a paced
 * flow) was as likely to take a drop as a stream's receive of thirty, so
 * its datagrams were dropped 30-100 times as often as the stream's that
 * made the queue (round-twelve tester 56). Zero-initialise; one per queue.
 * rv_codel_pick_note is told every receive that could take a drop;
 * rv_codel_pick, asked when CoDel wants one, says whether this receive
 * takes it: the one that completes half an average receive's worth of
 * datagrams since the drop came due (the caller asks again at the next
 * receive while it says no). */
struct rv_codel_pick {
	uint32_t avg16;	   /* datagrams per receive, x16, over the last eight or so */
	uint32_t credit16; /* datagrams x16 since the due drop was last taken */
};

void rv_codel_pick_note(struct rv_codel_pick *p, uint32_t ndg);
bool rv_codel_pick(struct rv_codel_pick *p, uint32_t ndg);

#endif /* RV_CORE_CODEL_H */
