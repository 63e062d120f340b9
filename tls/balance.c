/*
 * balance.c — the server moves busy sessions between its workers.
 *
 * A session is placed on the worker with the fewest sessions when it
 * arrives (core/demux.c), before anyone knows which sessions will be busy.
 * Once a second, when the workers carried enough to matter, this counts
 * each session's bytes, asks core/balance.c whether one should move, and
 * moves it: its datagrams are steered to the new worker by a pin in the
 * socket group's program (rv_dataplane_pin), its packets from the TUN by
 * its entries in the TUN lane tables (rv_demux_move tells the watcher).
 * Its receiver index, keys and replay window stay: every worker can
 * already open any session's packets (its small ones go to the next worker
 * anyway), so a move needs no handshake. A datagram still queued at the
 * old worker may be opened after one the new worker got later; the replay
 * window takes that as reordering (as a replay if more than its 4,032
 * newer ones came first: a one-off loss).
 *
 * Control thread only. Private to tls/.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/balance.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/demux.h"
#include "core/log.h"
#include "tls/ctl.h"
#include "tls/internal.h"
#include "tls/server_side.h"
#include "uring/dataplane.h"

enum {
	BALANCE_INTERVAL_MS = 1000,
	/* A moved session stays where it went at least this long: TCP needs
	 * a few seconds to find its new share, and a session should not be
	 * bounced on the swings of one interval. */
	BALANCE_HOLD_MS = 10000,
};

/* Per interval: 1 MB is 8 Mbit/s; 25 MB (200 Mbit/s) on the fullest worker
 * before moving anything, so a quiet server keeps its sessions where they
 * are. */
static const struct rv_balance_params BALANCE_PARAMS = {
	.busy_load = 1000 * 1000,
	.min_load = 25 * 1000 * 1000,
};

static void move_one(struct rv_loop *l, struct rv_chan *c, struct rv_session *s, unsigned to)
{
	struct rv_server_side *side = rv_server_side_of(l);
	uint32_t index = rv_session_local_index(s);
	unsigned from = rv_demux_lane_of(s);
	int ret;

	ret = rv_dataplane_pin(l->dp, index, to);
	if (ret == 0) {
		ret = rv_demux_move(l->env.demux, s, to);
		if (ret) {
			(void)rv_dataplane_pin(l->dp, index, from);
		}
	}
	if (ret) {
		/* -ENOSPC: enough sessions moved already; they go home
		 * as they leave. */
		if (ret != -ENOSPC) {
			rv_warn(ret, "moving %s's session from worker %u to %u", c->name, from, to);
		}
		return;
	}
	side->moves++;
	c->moved_ns = l->now_ns;
	rv_debug("moved %s's session from worker %u to worker %u", c->name, from, to);
}

/* worker_bytes: what all the workers carried so far, both ways. */
static uint64_t worker_bytes(const struct rv_loop *l)
{
	struct rv_counters ctr;

	rv_dataplane_counters(l->dp, UINT32_MAX, &ctr);
	return rv_ctr_get(&ctr, RV_CTR_RX_BYTES) + rv_ctr_get(&ctr, RV_CTR_TX_BYTES);
}

static void on_balance(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct rv_server_side *side = rv_server_side_of(l);
	unsigned lanes = rv_dataplane_lanes(l->dp), to;
	uint64_t total = worker_bytes(l);
	bool quiet = total - side->bal_total < BALANCE_PARAMS.min_load;
	struct rv_chan *c;
	size_t n = 0;
	long k;

	side->bal_total = total;
	rv_dataplane_prune_pins(l->dp);
	/* Nothing moves unless a worker carried min_load; when all of them
	 * together did not, the sessions are not even looked at (10,000 idle
	 * ones cost nothing), and the next look only takes their counts. */
	if (!l->cfg->balance_workers || quiet) {
		side->bal_fresh = false;
		goto out;
	}
	rv_chans_foreach(l, i, c)
	{
		struct rv_session *s = c->ctl ? rv_ctl_peer_session(c->ctl) : NULL;
		uint64_t bytes;

		if (s == NULL || n == side->bal_cap) {
			continue;
		}
		bytes = rv_session_bytes(s);
		side->bal_items[n] = (struct rv_balance_item){
			/* A session new to this chan has no interval yet. */
			.load = c->bal_session == s && side->bal_fresh ? bytes - c->bal_bytes : 0,
			.lane = rv_demux_lane_of(s),
			.movable = c->moved_ns == 0 ||
				   l->now_ns - c->moved_ns >= BALANCE_HOLD_MS * RV_NSEC_PER_MSEC,
		};
		side->bal_chans[n++] = c;
		c->bal_session = s;
		c->bal_bytes = bytes;
	}
	side->bal_fresh = true;
	k = rv_balance_pick(side->bal_items, n, lanes, &BALANCE_PARAMS, &to);
	if (k >= 0) {
		c = side->bal_chans[k];
		move_one(l, c, rv_ctl_peer_session(c->ctl), to);
	}
out:
	rv_loop_arm(l, lt, on_balance, l->now_ns + BALANCE_INTERVAL_MS * RV_NSEC_PER_MSEC);
}

int rv_server_balance_start(struct rv_loop *l)
{
	struct rv_server_side *side = rv_server_side_of(l);
	size_t cap = l->max_chans;

	/* Armed whatever balance_workers says, which a reload may change. */
	if (l->dp == NULL || rv_dataplane_lanes(l->dp) < 2) {
		return 0;
	}
	side->bal_items = calloc(cap, sizeof(*side->bal_items));
	side->bal_chans = calloc(cap, sizeof(*side->bal_chans));
	if (!side->bal_items || !side->bal_chans) {
		return -ENOMEM;
	}
	side->bal_cap = cap;
	rv_loop_arm(l, &side->balance_timer, on_balance,
		    l->now_ns + BALANCE_INTERVAL_MS * RV_NSEC_PER_MSEC);
	return 0;
}

void rv_server_balance_free(struct rv_loop *l)
{
	struct rv_server_side *side = rv_server_side_of(l);

	rv_loop_disarm(l, &side->balance_timer);
	free(side->bal_items);
	free(side->bal_chans);
	side->bal_items = NULL;
	side->bal_chans = NULL;
	side->bal_cap = 0;
}
