/*
 * busyrun.h — telling an io_uring that fails from one busy for a moment.
 *
 * A wait the kernel refuses for now (EAGAIN: it could not allocate a
 * request; EBUSY: the completion queue overflowed) passes once. The same
 * refusal turn after turn, each within RV_BUSY_RUN_GAP_NS of the one before
 * and with nothing reaped, is a ring that fails: left alone it spins a
 * core, unsaid and for ever (round-forty-eight tester 218). Sporadic ones
 * over minutes are no run (a stop and continue ends a wait so; 16 of them
 * made an idle server exit: tester 219).
 *
 * One rule for the data-plane workers (uring/worker.c) and the control
 * loop (tls/loop.c): each says a failing ring once (rv_ring_spells), tries
 * again each millisecond, and ends the process after RV_RING_GIVE_UP_NS of
 * it.
 *
 * Threads: one struct rv_busy_run per ring, used by its thread alone.
 */
#ifndef RV_CORE_BUSYRUN_H
#define RV_CORE_BUSYRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/clock.h"

#define RV_BUSY_RUN_LEN 16
#define RV_BUSY_RUN_GAP_NS (10 * RV_NSEC_PER_MSEC)
/* How long a ring may fail before the process gives up (exit 1), rather
 * than leave a data plane or a control loop that does nothing behind a
 * process that seems to run; a supervisor restarts it. */
#define RV_RING_GIVE_UP_NS (10 * RV_NSEC_PER_SEC)

/* struct rv_busy_run counts refusals in a row. Zero state: none. */
struct rv_busy_run {
	uint64_t last_ns; /* the last refusal */
	unsigned n;	  /* those in a row, RV_BUSY_RUN_GAP_NS apart at most */
};

/* rv_busy_run_note counts a refusal at |now_ns| (monotonic) and returns
 * true when the run is long enough to be a ring that fails. */
static inline bool rv_busy_run_note(struct rv_busy_run *r, uint64_t now_ns)
{
	r->n = now_ns - r->last_ns <= RV_BUSY_RUN_GAP_NS ? r->n + 1 : 1;
	r->last_ns = now_ns;
	return r->n >= RV_BUSY_RUN_LEN;
}

/* rv_busy_run_failing says whether the run noted so far is one. */
static inline bool rv_busy_run_failing(const struct rv_busy_run *r)
{
	return r->n >= RV_BUSY_RUN_LEN;
}

/* rv_busy_run_end ends the run: the ring made progress. */
static inline void rv_busy_run_end(struct rv_busy_run *r)
{
	r->n = 0;
}

/* A spell of failures is said when it begins and when it ends; but a ring
 * that fails and recovers over and over (EAGAIN under memory pressure that
 * comes and goes) said both 32 times a second (round-fifty-three tester
 * 225). A spell that begins within RV_RING_RESAY_NS of the last one said
 * goes unsaid, and is counted in the next one said. */
#define RV_RING_RESAY_NS (60 * RV_NSEC_PER_SEC)

/* struct rv_ring_spells follows a ring's spells of failures. Zero state:
 * none yet. */
struct rv_ring_spells {
	uint64_t since_ns; /* the spell's first failure (0: the ring works) */
	uint64_t said_ns;  /* when the last spell said began (0: none) */
	unsigned unsaid;   /* spells since it, unsaid */
	bool said;	   /* this spell was said */
};

enum rv_ring_spell {
	RV_SPELL_GOES_ON, /* nothing to say */
	RV_SPELL_SAY,	  /* a spell begins: say it (|*unsaid| spells were not) */
	RV_SPELL_GIVE_UP, /* it has lasted RV_RING_GIVE_UP_NS */
};

/* rv_ring_spell_fail notes a failure at |now_ns| (monotonic). */
static inline enum rv_ring_spell rv_ring_spell_fail(struct rv_ring_spells *s, uint64_t now_ns,
						    unsigned *unsaid)
{
	if (s->since_ns != 0) {
		return now_ns - s->since_ns >= RV_RING_GIVE_UP_NS ? RV_SPELL_GIVE_UP
								  : RV_SPELL_GOES_ON;
	}
	s->since_ns = now_ns;
	s->said = s->said_ns == 0 || now_ns - s->said_ns >= RV_RING_RESAY_NS;
	if (!s->said) {
		s->unsaid++;
		return RV_SPELL_GOES_ON;
	}
	*unsaid = s->unsaid;
	s->unsaid = 0;
	s->said_ns = now_ns;
	return RV_SPELL_SAY;
}

/* rv_ring_spell_ok notes that the ring works at |now_ns|. True when a spell
 * it ends is to be said as over, |*lasted_ns| long. */
static inline bool rv_ring_spell_ok(struct rv_ring_spells *s, uint64_t now_ns, uint64_t *lasted_ns)
{
	bool say = s->since_ns != 0 && s->said;

	if (say) {
		*lasted_ns = now_ns - s->since_ns;
	}
	s->since_ns = 0;
	return say;
}

/* rv_ring_spells_unsaid writes into |buf| (|len| bytes) what a spell said
 * adds of |unsaid| spells before it: nothing, or their count. */
static inline const char *rv_ring_spells_unsaid(char *buf, size_t len, unsigned unsaid)
{
	if (unsaid == 0) {
		return "";
	}
	snprintf(buf, len, "; %u shorter spell(s) of failures since the last said went unsaid",
		 unsaid);
	return buf;
}

#endif /* RV_CORE_BUSYRUN_H */
