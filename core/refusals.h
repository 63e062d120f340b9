/*
 * refusals.h — spells of refused UDP sends, said at their start and end.
 *
 * A send the kernel refuses (no route to the peer, a network down, a
 * firewall's reject) is refused again for every packet that follows until
 * the path comes back: said once per packet, a client whose route to its
 * server went wrote ten lines and then one a second until its session
 * ended (round-fifty-four tester 230). A spell is one session's refusals
 * for one reason: its first refusal is said at once, those after it only
 * in the line that ends it, with their count (a send that passes, another
 * reason, or RV_REFUSAL_QUIET_NS without a refusal: its session may be
 * gone).
 *
 * RV_REFUSAL_SPELLS spells are followed at once; refusals of sessions past
 * those are counted together (a table that evicted its oldest thrashed when
 * more sessions were refused in turn, and each eviction's line was lost:
 * round-fifty-six tester 234). Lines are limited per table (a burst, then
 * one a second); the counts of spells whose lines were held back are said
 * together when the limit allows (short spells one after another lost their
 * counts to a call site's limit: tester 236).
 *
 * This module decides what is said and when; its caller says it in its own
 * words (struct rv_refusal_line, through a callback). Threads: a table is
 * its worker's alone.
 */
#ifndef RV_CORE_REFUSALS_H
#define RV_CORE_REFUSALS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/log.h"

#define RV_REFUSAL_SPELLS 8
#define RV_REFUSAL_QUIET_NS (5 * RV_NSEC_PER_SEC)

enum rv_refusal_kind {
	RV_REFUSAL_BEGINS,	 /* a spell's first refusal: sess, err, n, who, how */
	RV_REFUSAL_ENDS,	 /* a spell ends: sess, err, n, unsaid, lasted_ns, why */
	RV_REFUSAL_SPILL_BEGINS, /* sessions past those followed: err, who */
	RV_REFUSAL_SPILL_ENDS,	 /* their count: n, lasted_ns, why */
	RV_REFUSAL_HELD,	 /* spells whose lines were held back: n, spells */
};

/* Why a spell ends. */
enum rv_refusal_end {
	RV_REFUSAL_OTHER_REASON, /* its session's sends are refused for another */
	RV_REFUSAL_PASSED,	 /* a send to its session passed */
	RV_REFUSAL_QUIET,	 /* no refusal for RV_REFUSAL_QUIET_NS */
	RV_REFUSAL_STOPPING,	 /* the table's owner stops */
};

struct rv_refusal_line {
	enum rv_refusal_kind kind;
	enum rv_refusal_end why; /* ENDS, SPILL_ENDS */
	uint32_t sess;		 /* BEGINS, ENDS */
	int err;		 /* BEGINS, ENDS, SPILL_BEGINS */
	/* BEGINS: datagrams of this refusal. ENDS: those its begin line did
	 * not say (all of them when |unsaid|). SPILL_ENDS, HELD: all. */
	uint64_t n;
	unsigned spells;    /* HELD */
	bool unsaid;	    /* ENDS: its begin line was held back */
	uint64_t lasted_ns; /* ENDS, SPILL_ENDS: first refusal to last */
	const char *who;    /* BEGINS, SPILL_BEGINS: the caller's, as given */
	const char *how;    /* BEGINS: the caller's, as given */
};

typedef void rv_refusal_say_fn(void *arg, const struct rv_refusal_line *line);

struct rv_refusal_spell {
	uint32_t sess;
	int err;	/* 0: a free entry */
	bool unsaid;	/* its begin line was held back (the rate) */
	uint64_t first; /* the datagrams of its begin line */
	uint64_t n, since_ns, last_ns;
};

/* struct rv_refusals: zero state is an empty table. Its members are the
 * module's; the caller reads none. */
struct rv_refusals {
	struct rv_refusal_spell spells[RV_REFUSAL_SPELLS];
	struct rv_refusal_spell spill; /* err 0: none counted */
	struct rv_ratelimit rl;
	uint64_t held_n;      /* datagrams of spells whose lines were held back */
	unsigned held_spells; /* those spells */
	unsigned num;	      /* entries in use, the spill counted as one */
	rv_refusal_say_fn *say;
	void *arg;
};

/* rv_refusals_init empties |r| and has its lines said through |say|. */
void rv_refusals_init(struct rv_refusals *r, rv_refusal_say_fn *say, void *arg);

/* rv_refusals_busy is true while a sweep has something to do: a spell is
 * on, or counts held back wait to be said. One load and a compare: the
 * per-packet path asks it. */
static inline bool rv_refusals_busy(const struct rv_refusals *r)
{
	return r->num != 0 || r->held_spells != 0;
}

/* rv_refusals_any is true while a spell is on (a passed send may end one). */
static inline bool rv_refusals_any(const struct rv_refusals *r)
{
	return r->num != 0;
}

/* rv_refusals_note notes |n| datagram(s) to session |sess| refused with
 * |err| (nonzero) at |now_ns|; |who| and |how| are passed to a BEGINS or
 * SPILL_BEGINS line as they are. */
void rv_refusals_note(struct rv_refusals *r, uint32_t sess, int err, uint64_t n, uint64_t now_ns,
		      const char *who, const char *how);

/* rv_refusals_pass notes that a send to |sess| passed at |now_ns|: its
 * spell, if any, ends. */
void rv_refusals_pass(struct rv_refusals *r, uint32_t sess, uint64_t now_ns);

/* rv_refusals_sweep ends the spells quiet since RV_REFUSAL_QUIET_NS at
 * |now_ns|, or every one when |all| (the owner stops), and says the counts
 * held back if the limit allows (always when |all|). */
void rv_refusals_sweep(struct rv_refusals *r, uint64_t now_ns, bool all);

#endif
