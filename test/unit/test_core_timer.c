/*
 * test_core_timer.c — the hashed timing wheel (core/timer.c): numbered
 * edge-case programs (arm in the past, at now, one tick, one rotation, many
 * rotations, re-arm, cancel twice, a gap longer than a rotation) run at four
 * time origins (0, 10^7 s, just below 2^63 ns, just below 2^64 ns), and a
 * randomised differential test against a brute-force list of timers: every
 * drain returns exactly the due set, and rv_wheel_next_ns is never later than
 * the true earliest expiry.
 *
 *   ./build/<dir>/test/test_core_timer --verbose
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/timer.h"
#include "test/lib/t_ip.h"

enum { NUM_IDS = 8, SLOTS = 64 };
#define TICK INT64_C(1000000) /* 1 ms */
#define ROT (SLOTS * TICK)
#define S INT64_C(1000000000) /* the programs start 1 s after the origin */

enum op { END, ARM, CANCEL, DRAIN, COUNT };

struct step {
	enum op op;
	int id;	       /* ARM, CANCEL */
	int64_t t;     /* ARM: expiry, DRAIN: now; offsets from the origin */
	unsigned want; /* DRAIN: bitmask of ids returned; COUNT: armed */
};

#define A(id, t)                  \
	{                         \
		ARM, (id), (t), 0 \
	}
#define C(id)                      \
	{                          \
		CANCEL, (id), 0, 0 \
	}
#define D(t, mask)                    \
	{                             \
		DRAIN, 0, (t), (mask) \
	}
#define N(n)                     \
	{                        \
		COUNT, 0, 0, (n) \
	}

struct program {
	const char *name;
	int64_t start; /* wheel creation time, offset from the origin */
	struct step steps[24];
};

static const struct program programs[] = {
	/* 1 */ { "arm at now", S, { A(0, S), D(S, 1), D(S, 0), N(0) } },
	/* 2 */
	{ "arm in the past", S, { A(0, S - 5 * TICK), A(1, 0), A(2, S - 1), N(3), D(S, 7), N(0) } },
	/* 3 */
	{ "exactly one tick",
	  S,
	  { A(0, S + TICK), D(S, 0), D(S + TICK - 1, 0), D(S + TICK, 1), N(0) } },
	/* 4 */
	{ "inside a tick",
	  S,
	  { A(0, S + TICK + TICK / 2), A(1, S + TICK), D(S + TICK, 2),
	    D(S + TICK + TICK / 2 - 1, 0), D(S + TICK + TICK / 2, 1) } },
	/* 5 */
	{ "one rotation (same slot as now)",
	  S,
	  { A(0, S + ROT), D(S, 0), D(S + TICK, 0), D(S + ROT - 1, 0), N(1), D(S + ROT, 1) } },
	/* 6 */
	{ "many rotations, visited every rotation",
	  S,
	  { A(0, S + 10 * ROT + 3 * TICK), D(S + 3 * TICK, 0), D(S + ROT + 3 * TICK, 0),
	    D(S + 5 * ROT + 3 * TICK, 0), D(S + 9 * ROT + 3 * TICK, 0),
	    D(S + 10 * ROT + 3 * TICK - 1, 0), D(S + 10 * ROT + 3 * TICK, 1) } },
	/* 7 */
	{ "re-arm earlier and later while armed",
	  S,
	  { A(0, S + 5 * TICK), A(0, S + 2 * TICK), A(1, S + 2 * TICK), A(1, S + 100 * TICK), N(2),
	    D(S + 2 * TICK, 1), D(S + 5 * TICK, 0), D(S + 99 * TICK, 0), D(S + 100 * TICK, 2) } },
	/* 8 */
	{ "cancel twice, cancel never armed",
	  S,
	  { A(0, S + TICK), C(0), C(0), C(1), N(0), D(S + 10 * ROT, 0), A(0, S + 11 * ROT), C(0),
	    D(S + 12 * ROT, 0) } },
	/* 9 */
	{ "gap longer than a rotation",
	  S,
	  { A(0, S + 3 * TICK), A(1, S + 70 * TICK), A(2, S + 500 * TICK), A(3, S + 10000 * TICK),
	    A(4, S + 1000 * TICK + 1), D(S + 1000 * TICK, 7), N(2), D(S + 1000 * TICK + 1, 16),
	    D(S + 10000 * TICK - 1, 0), D(S + 10000 * TICK, 8) } },
	/* 10 */
	{ "same slot, different rotations",
	  S,
	  { A(0, S + 2 * TICK), A(1, S + 2 * TICK + ROT), A(2, S + 2 * TICK + 2 * ROT),
	    D(S + 2 * TICK, 1), N(2), D(S + 2 * TICK + ROT, 2), D(S + 2 * TICK + 2 * ROT, 4) } },
	/* 11 */
	{ "re-arm after expiry, at the same now",
	  S,
	  { A(0, S + TICK), D(S + TICK, 1), A(0, S + TICK), D(S + TICK, 1), A(0, S + 2 * TICK),
	    D(S + TICK, 0), D(S + 2 * TICK, 1) } },
	/* 12 */
	{ "now going backwards is the largest now seen",
	  S,
	  { A(0, S + 5 * TICK), D(S + 5 * TICK - 1, 0), D(S, 0), A(1, S + 2 * TICK), D(S, 2),
	    D(S + 5 * TICK, 1) } },
	/* 13 */
	{ "expire at now = 0 (started at the origin)",
	  0,
	  { A(0, 0), A(1, 1), A(2, TICK), D(0, 1), D(1, 2), D(TICK - 1, 0), D(TICK, 4) } },
	/* 14 */
	{ "all ids in one tick, drained one by one",
	  S,
	  { A(0, S + 7), A(1, S + 7), A(2, S + 7), A(3, S + 8), A(4, S + 7), A(5, S + 7),
	    A(6, S + 7), A(7, S + 7), D(S + 7, 0xf7), D(S + 8, 8) } },
};

static const uint64_t origins[] = {
	0, 10000000ull * 1000000000ull,		   /* 10^7 s */
	(1ull << 63) - 3 * 10000ull * ROT,	   /* the last programs end just below 2^63 */
	UINT64_MAX - 3 * 10000ull * (uint64_t)ROT, /* and just below 2^64 */
};

/* ref_min is the earliest expiry of the armed ids, UINT64_MAX if none. */
static uint64_t ref_min(const bool *armed, const uint64_t *exp, size_t n)
{
	uint64_t m = UINT64_MAX;

	for (size_t i = 0; i < n; i++) {
		if (armed[i] && exp[i] < m) {
			m = exp[i];
		}
	}
	return m;
}

static void run_program(size_t pi, uint64_t origin)
{
	const struct program *p = &programs[pi];
	struct rv_timer timers[NUM_IDS];
	bool armed[NUM_IDS] = { false };
	uint64_t exp[NUM_IDS] = { 0 };
	struct rv_wheel *w = rv_wheel_new(TICK, SLOTS, origin + (uint64_t)p->start);
	uint64_t now = origin + (uint64_t)p->start;

	memset(timers, 0, sizeof(timers));
	cr_assert_not_null(w);
	for (size_t si = 0; p->steps[si].op != END; si++) {
		const struct step *s = &p->steps[si];
		uint64_t t = origin + (uint64_t)s->t;
		unsigned got = 0;
		struct rv_timer *x;

		switch (s->op) {
		case ARM:
			rv_wheel_arm(w, &timers[s->id], t);
			armed[s->id] = true;
			exp[s->id] = t;
			break;
		case CANCEL:
			rv_wheel_cancel(w, &timers[s->id]);
			armed[s->id] = false;
			break;
		case DRAIN:
			while ((x = rv_wheel_expire(w, t))) {
				int id = (int)(x - timers);

				cr_assert(id >= 0 && id < NUM_IDS);
				cr_assert_not(got & 1u << id,
					      "%zu (%s) step %zu: id %d returned twice", pi + 1,
					      p->name, si, id);
				cr_assert_not(rv_timer_armed(x));
				got |= 1u << id;
				armed[id] = false;
			}
			cr_assert_eq(got, s->want,
				     "program %zu (%s) at origin %" PRIu64
				     ", step %zu: drained %#x, "
				     "want %#x",
				     pi + 1, p->name, origin, si, got, s->want);
			now = t > now ? t : now;
			break;
		case COUNT:
			cr_assert_eq(rv_wheel_count(w), s->want, "program %zu step %zu", pi + 1,
				     si);
			break;
		case END:
			break;
		}
		cr_assert_leq(rv_wheel_next_ns(w, now), ref_min(armed, exp, NUM_IDS),
			      "program %zu (%s) step %zu: next_ns later than the earliest expiry",
			      pi + 1, p->name, si);
		if (ref_min(armed, exp, NUM_IDS) == UINT64_MAX) {
			cr_assert_eq(rv_wheel_next_ns(w, now), UINT64_MAX);
		}
	}
	rv_wheel_free(w);
}

Test(timer, programs)
{
	for (size_t oi = 0; oi < ARRAY_SIZE(origins); oi++) {
		for (size_t pi = 0; pi < ARRAY_SIZE(programs); pi++) {
			if (programs[pi].start == 0 && oi > 0) {
				continue; /* "now = 0" only means something at origin 0 */
			}
			run_program(pi, origins[oi]);
		}
	}
}

Test(timer, bad_arguments)
{
	cr_assert_null(rv_wheel_new(0, 64, 0));
	cr_assert_null(rv_wheel_new(1, 32, 0));
	cr_assert_null(rv_wheel_new(1, 96, 0));
	cr_assert_null(rv_wheel_new(1, RV_WHEEL_MAX_SLOTS * 2u, 0));
	rv_wheel_free(NULL);
}

/* next_ns is exact when the earliest timer is in the current tick or due,
 * and a tick start otherwise. */
Test(timer, next_ns_bounds)
{
	struct rv_wheel *w = rv_wheel_new(TICK, SLOTS, S);
	struct rv_timer a = { 0 }, b = { 0 };

	cr_assert_eq(rv_wheel_next_ns(w, S), UINT64_MAX);
	rv_wheel_arm(w, &a, S + 3 * TICK + 17);
	cr_assert_eq(rv_wheel_next_ns(w, S), S + 3 * TICK);
	rv_wheel_arm(w, &b, S + 100);
	cr_assert_eq(rv_wheel_next_ns(w, S), S + 100);
	cr_assert_null(rv_wheel_expire(w, S + 99));
	cr_assert_eq(rv_wheel_next_ns(w, S + 99), S + 100);
	cr_assert_eq(rv_wheel_expire(w, S + 100), &b);
	cr_assert_eq(rv_wheel_next_ns(w, S + 100), S + 3 * TICK);
	cr_assert_null(rv_wheel_expire(w, S + 3 * TICK));
	cr_assert_eq(rv_wheel_next_ns(w, S + 3 * TICK), S + 3 * TICK + 17);
	rv_wheel_arm(w, &b, S); /* in the past: due at once */
	cr_assert_eq(rv_wheel_next_ns(w, S + 3 * TICK), S);
	rv_wheel_cancel(w, &b);
	rv_wheel_cancel(w, &a);
	cr_assert_eq(rv_wheel_next_ns(w, S + 3 * TICK), UINT64_MAX);
	/* A timer at UINT64_MAX is never due before then. */
	rv_wheel_arm(w, &a, UINT64_MAX);
	cr_assert_null(rv_wheel_expire(w, UINT64_MAX - 1));
	cr_assert_eq(rv_wheel_expire(w, UINT64_MAX), &a);
	rv_wheel_free(w);
}

/* --- randomised differential test ------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
	return t_rng_next(&rng);
}

struct config {
	uint64_t tick;
	unsigned slots;
	uint64_t origin;
	size_t num_timers;
};

/* A random expiry around now: mostly near (the same and the next few
 * ticks, exact tick edges), sometimes rotations away, sometimes past. */
static uint64_t random_expiry(const struct config *c, uint64_t now)
{
	uint64_t rot = c->tick * c->slots;
	uint64_t tick_edge = now - now % c->tick;

	switch (rnd() % 8) {
	case 0:
		return now - rnd() % (2 * rot < now ? 2 * rot : now + 1);
	case 1:
		return now;
	case 2:
		return tick_edge + c->tick * (rnd() % 4);
	case 3:
		return tick_edge + c->tick * (rnd() % 4) - 1;
	case 4:
		return now + rnd() % (5 * rot);
	case 5:
		return now + rot * (1 + rnd() % 3) + rnd() % 3 - 1;
	default:
		return now + rnd() % (4 * c->tick);
	}
}

static void differential(const struct config *c, uint64_t seed, size_t steps)
{
	struct rv_timer *t = calloc(c->num_timers, sizeof(*t));
	bool *armed = calloc(c->num_timers, sizeof(*armed));
	bool *seen = calloc(c->num_timers, sizeof(*seen));
	uint64_t *exp = calloc(c->num_timers, sizeof(*exp));
	uint64_t now = c->origin, rot = c->tick * c->slots;
	struct rv_wheel *w = rv_wheel_new(c->tick, c->slots, now);
	size_t fired = 0;

	cr_assert(t && armed && seen && exp && w);
	rng = seed;
	for (size_t step = 0; step < steps; step++) {
		size_t i = rnd() % c->num_timers;
		unsigned r = rnd() % 100;

		if (r < 45) {
			exp[i] = random_expiry(c, now);
			rv_wheel_arm(w, &t[i], exp[i]);
			armed[i] = true;
		} else if (r < 55) {
			rv_wheel_cancel(w, &t[i]);
			armed[i] = false;
		} else {
			struct rv_timer *x;
			uint64_t adv;

			switch (rnd() % 10) {
			case 0:
				adv = rot + rnd() % (10 * rot); /* a gap of rotations */
				break;
			case 1:
				adv = 0;
				break;
			case 2:
				adv = c->tick - now % c->tick; /* to the next tick edge */
				break;
			default:
				adv = rnd() % (3 * c->tick);
				break;
			}
			now += adv;
			memset(seen, 0, c->num_timers * sizeof(*seen));
			while ((x = rv_wheel_expire(w, now))) {
				size_t id = (size_t)(x - t);

				cr_assert_lt(id, c->num_timers);
				cr_assert(armed[id],
					  "seed %" PRIu64 " step %zu: disarmed timer %zu "
					  "returned",
					  seed, step, id);
				cr_assert_leq(exp[id], now,
					      "seed %" PRIu64 " step %zu: timer %zu early: expires "
					      "%" PRIu64 ", now %" PRIu64,
					      seed, step, id, exp[id], now);
				armed[id] = false;
				seen[id] = true;
				fired++;
				/* Re-arming from inside the drain, as a keepalive does. */
				if (rnd() % 4 == 0) {
					exp[id] = now + 1 + rnd() % (2 * c->tick);
					rv_wheel_arm(w, x, exp[id]);
					armed[id] = true;
				}
			}
			for (size_t k = 0; k < c->num_timers; k++) {
				cr_assert(!armed[k] || exp[k] > now,
					  "seed %" PRIu64 " step %zu: timer %zu missed: expires "
					  "%" PRIu64 ", now %" PRIu64,
					  seed, step, k, exp[k], now);
			}
		}
		size_t n = 0;
		for (size_t k = 0; k < c->num_timers; k++) {
			n += armed[k];
			cr_assert_eq(rv_timer_armed(&t[k]), armed[k]);
		}
		cr_assert_eq(rv_wheel_count(w), n);
		cr_assert_leq(rv_wheel_next_ns(w, now), ref_min(armed, exp, c->num_timers),
			      "seed %" PRIu64 " step %zu: next_ns %" PRIu64 " after the earliest "
			      "expiry %" PRIu64,
			      seed, step, rv_wheel_next_ns(w, now),
			      ref_min(armed, exp, c->num_timers));
	}
	cr_assert_gt(fired, steps / 20, "the test drove too few expiries (%zu)", fired);
	rv_wheel_free(w);
	free(exp);
	free(seen);
	free(armed);
	free(t);
}

Test(timer, differential, .timeout = 120)
{
	const struct config configs[] = {
		{ TICK, 64, 0, 64 },
		{ TICK, 256, 10000000ull * 1000000000ull, 300 },
		{ 7, 64, (1ull << 63) - 1000000ull, 100 }, /* crosses 2^63; 7 does not divide it */
		{ 1, 128, UINT64_MAX - (1ull << 40), 50 }, /* 1 ns ticks near the top */
		{ 1000, 64, 12345, 1000 },		   /* many timers per slot */
	};

	for (size_t ci = 0; ci < ARRAY_SIZE(configs); ci++) {
		for (uint64_t seed = 1; seed <= 4; seed++) {
			differential(&configs[ci], seed * 0x9e3779b97f4a7c15ull + ci, 20000);
		}
	}
}
