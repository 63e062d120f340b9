/*
 * starve.c — a data-plane worker that gets no CPU, said.
 *
 * Workers are pinned (pin_workers), and the kernel cannot move one off a
 * CPU that another task keeps busy (a real-time one, or one pinned there).
 * Its queues stand meanwhile: the packets of the sessions it serves wait or
 * are dropped (tun_drops), the small ones of the sessions whose small lane
 * it carries too, and their silence was blamed on the network ("UDP ... may
 * be blocked on the way") by both ends, with nothing said of the worker
 * (round-seventy-one testers 330, 331: a worker held for 0.3-5 s). Twice a
 * second the control thread reads each worker thread's run-queue wait (the
 * kernel's schedstat): one that waited for a CPU half of the time or more
 * is said, and taken as this process having had no CPU, as a late wake of
 * the control loop is (woke_late_ns, stall_seen_ns): a silence over it is
 * given the same grace and not blamed on the peer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/log.h"
#include "tls/internal.h"
#include "uring/dataplane.h"

enum {
	STARVE_LOOK_NS = 500 * RV_NSEC_PER_MSEC,
};

/* starved: did a worker that waited |wait_ns| for a CPU over |span_ns|
 * go without one? Half of the span: a busy machine's worker waits a few
 * ms at a time, not hundreds. */
static bool starved(uint64_t wait_ns, uint64_t span_ns)
{
	return span_ns > 0 && wait_ns * 2 >= span_ns;
}

static void on_look(struct rv_loop *l, struct rv_ltimer *lt)
{
	unsigned n = rv_dataplane_num_workers(l->dp);
	uint64_t span = l->now_ns - l->starve_at_ns;

	for (unsigned i = 0; i < n && i < RV_MAX_WORKERS; i++) {
		uint64_t wait, was = l->starve_wait_ns[i];
		char on[160];
		int cpu;

		if (rv_dataplane_cpu_wait(l->dp, i, &wait, &cpu) != 0) {
			continue;
		}
		l->starve_wait_ns[i] = wait;
		if (was == 0 || wait < was || !starved(wait - was, span)) {
			continue;
		}
		/* The kernel adds a wait up when the thread runs: it may
		 * say more than the span; said as all of it. */
		wait = was + (wait - was < span ? wait - was : span);
		l->woke_late_ns = l->now_ns;
		l->stall_seen_ns = l->now_ns;
		if (cpu >= 0) {
			snprintf(on, sizeof(on),
				 "CPU %d, to which it is pinned: other tasks keep that CPU busy "
				 "(a real-time one, one pinned there, or more work than the "
				 "machine's CPUs)",
				 cpu);
		} else {
			snprintf(on, sizeof(on), "a CPU: the machine is busier than its CPUs");
		}
		rv_warnx_rl("data-plane worker %u waited %" PRIu64 " ms of the last %" PRIu64
			    " ms for %s; the packets of its sessions wait or are dropped "
			    "(tun_drops), and their silence meanwhile is this process's, not the "
			    "network's",
			    i, (uint64_t)((wait - was) / RV_NSEC_PER_MSEC),
			    (uint64_t)(span / RV_NSEC_PER_MSEC), on);
	}
	l->starve_at_ns = l->now_ns;
	rv_loop_arm(l, lt, on_look, l->now_ns + STARVE_LOOK_NS);
}

void rv_starve_start(struct rv_loop *l)
{
	if (l->dp == NULL) {
		return;
	}
	l->starve_at_ns = l->now_ns;
	rv_loop_arm(l, &l->starve_timer, on_look, l->now_ns + STARVE_LOOK_NS);
}
