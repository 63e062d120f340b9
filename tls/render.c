/*
 * render.c — the status snapshot rendered on the control thread for the
 * management socket's `status` (mgmt.c) and the metrics endpoint (http.c):
 * what renderings may cost the loop, and who shares one.
 *
 * A rendering takes a snapshot of every session and renders it whole on
 * the control thread: some 10 ms at 2,000 sessions, tens at 5,000, and
 * the loop serves nothing else meanwhile. 16 scrapers in a loop at 5,000
 * sessions held the thread at 81 % and a TLS handshake's first reply
 * 0.2-1.2 s (1-4 ms otherwise), and 32 callers of `status json` in a loop
 * did as much (round-seventy tester 321). So renderings have a budget: a
 * token bucket of render time, measured around each rendering, that fills
 * at half the rate time passes, up to RENDER_BURST_NS. A rendering is made
 * while the bucket is not in debt (one may take it below zero: its cost is
 * known only after it); a request that comes while it is, or while others
 * wait, waits in order, keeping its connection's place and deadline, and
 * is served once the bucket is back at zero, one rendering per turn, with
 * every other waiting request of its format and bound (one rendering for
 * them all, shared, not copied). Over any span T, renderings take at most
 * RENDER_BURST_NS + T / RENDER_SHARE of the loop (and the overshoot of the
 * last), so at least half of it is left for handshakes and keepalives.
 *
 * A status on the management socket is never served from an earlier
 * rendering (scripts read counters right after an action); the metrics
 * endpoint keeps one for a second (http.c).
 *
 * Threads: the control thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mgmt.h"
#include "core/status.h"
#include "core/strbuf.h"
#include "tls/internal.h"

enum {
	/* Render time that may be spent at once after a quiet spell: a few
	 * renderings of thousands of sessions in a row, then the share. */
	RENDER_BURST_NS = 100 * RV_NSEC_PER_MSEC,
	/* Renderings may take one part in RENDER_SHARE of the loop's time. */
	RENDER_SHARE = 2,
};

/* begin sets the budget up at its first use: full, nobody waiting. */
static void begin(struct rv_renders *b, uint64_t now_ns)
{
	if (b->started) {
		return;
	}
	b->started = true;
	b->tokens_ns = RENDER_BURST_NS;
	b->tokens_at_ns = now_ns;
	b->waiting.prev = b->waiting.next = &b->waiting;
}

/* refill adds what the time since the last count earned, up to the burst. */
static void refill(struct rv_renders *b, uint64_t now_ns)
{
	uint64_t earned = now_ns > b->tokens_at_ns ? (now_ns - b->tokens_at_ns) / RENDER_SHARE : 0;

	b->tokens_at_ns = now_ns > b->tokens_at_ns ? now_ns : b->tokens_at_ns;
	if (earned >= (uint64_t)(RENDER_BURST_NS - b->tokens_ns)) {
		b->tokens_ns = RENDER_BURST_NS;
	} else {
		b->tokens_ns += (int64_t)earned;
	}
}

static bool nobody_waits(const struct rv_renders *b)
{
	return b->waiting.next == &b->waiting;
}

static void unlink_ask(struct rv_render_ask *a)
{
	a->prev->next = a->next;
	a->next->prev = a->prev;
	a->prev = a->next = NULL;
}

void rv_render_cancel(struct rv_render_ask *a)
{
	if (a->next) {
		unlink_ask(a);
	}
}

struct rv_render *rv_render_get(struct rv_render *r)
{
	r->refs++;
	return r;
}

void rv_render_put(struct rv_render *r)
{
	if (r && --r->refs == 0) {
		rv_strbuf_free(&r->text);
		free(r);
	}
}

void rv_render_fill(const struct rv_loop *l, struct rv_status *st)
{
	st->renders = l->render.made;
	st->renders_deferred = l->render.deferred;
}

/* render fills a snapshot and renders it into |r|, and charges the time
 * that took to the budget. */
static void render(struct rv_loop *l, struct rv_render *r)
{
	uint64_t t0 = rv_loop_clock(l), t1;
	struct rv_status st;

	l->render.made++; /* this one included in its own counters */
	memset(&st, 0, sizeof(st));
	if (rv_mgmt_fill_status(l, &st) != 0) {
		r->err = -ENOMEM;
	} else {
		switch (r->format) {
		case RV_MGMT_JSON:
			rv_status_render_json(&r->text, &st);
			break;
		case RV_MGMT_PROMETHEUS:
			rv_status_render_prometheus(&r->text, &st);
			break;
		case RV_MGMT_KV:
			rv_status_render_kv(&r->text, &st);
			break;
		default:
			rv_status_render_human(&r->text, &st);
			break;
		}
	}
	rv_status_free(&st);
	t1 = rv_loop_clock(l);
	l->render.tokens_ns -= t1 > t0 ? (int64_t)(t1 - t0) : 0;
}

/* serve renders for |a| and gives the rendering to |a| and to every
 * waiting request of its format and bound. */
static void serve(struct rv_loop *l, struct rv_render_ask *a)
{
	struct rv_renders *b = &l->render;
	struct rv_render oom = { .refs = 1, .err = -ENOMEM };
	struct rv_render *r = calloc(1, sizeof(*r));
	struct rv_render_ask *w, *next, *share = NULL, **tail = &share;

	if (r) {
		r->refs = 1;
		r->format = a->format;
		r->max = a->max;
		r->made_ns = l->now_ns;
		r->text.max = a->max;
		render(l, r);
	}
	/* Those it serves leave the list before any is told: a reply that
	 * ends at once closes its connection, whose release cancels its own
	 * request only. */
	for (w = b->waiting.next; w != &b->waiting; w = next) {
		next = w->next;
		if (w != a && w->format == a->format && w->max == a->max) {
			unlink_ask(w);
			*tail = w;
			tail = &w->next;
		}
	}
	*tail = NULL;
	rv_render_cancel(a);
	a->done(l, a, r ? r : &oom);
	for (w = share; w; w = next) {
		next = w->next;
		w->next = NULL;
		w->done(l, w, r ? r : &oom);
	}
	rv_render_put(r);
}

static void arm(struct rv_loop *l);

/* on_budget: the budget is back (or a turn has passed since the last
 * rendering served from the list): the oldest waiting request is served,
 * with those that share its rendering. */
static void on_budget(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct rv_renders *b = container_of(lt, struct rv_renders, timer);

	refill(b, l->now_ns);
	if (!nobody_waits(b) && b->tokens_ns >= 0) {
		serve(l, b->waiting.next);
	}
	arm(l);
}

/* arm has the waiting served when the budget is back, and no sooner than
 * the next turn: the loop takes its other completions between two
 * renderings. */
static void arm(struct rv_loop *l)
{
	struct rv_renders *b = &l->render;
	uint64_t owed = b->tokens_ns < 0 ? (uint64_t)-b->tokens_ns * RENDER_SHARE : 1;

	if (nobody_waits(b)) {
		rv_loop_disarm(l, &b->timer);
		return;
	}
	rv_loop_arm(l, &b->timer, on_budget, l->now_ns + owed);
}

void rv_render_request(struct rv_loop *l, struct rv_render_ask *a)
{
	struct rv_renders *b = &l->render;

	begin(b, l->now_ns);
	refill(b, l->now_ns);
	if (nobody_waits(b) && b->tokens_ns >= 0) {
		a->prev = a->next = NULL;
		serve(l, a);
		return;
	}
	b->deferred++;
	a->next = &b->waiting;
	a->prev = b->waiting.prev;
	b->waiting.prev->next = a;
	b->waiting.prev = a;
	if (!rv_timer_armed(&b->timer.t)) {
		arm(l);
	}
}
