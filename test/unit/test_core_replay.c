/*
 * test_core_replay.c — table-driven tests of the anti-replay window (core/replay.c),
 * in the manner of WireGuard's selftest/counter.c.
 *
 *   ./build/<dir>/test/test_core_replay      (or: ctest -L unit -R core_replay)
 *
 * The window holds the RV_REPLAY_WINDOW (W) most recent counters: with
 * highest counter H accepted, H - W + 1 is the oldest still accepted ("the
 * edge") and H - W is too old. Every step of the numbered program runs
 * rv_replay_check first (which must agree and must not modify the window),
 * then rv_replay_update (which must agree, and leave the window untouched
 * whenever it rejects).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/replay.h"
#include "core/wire.h"

#define W ((uint64_t)RV_REPLAY_WINDOW)
#define LIM RV_REJECT_AFTER_MESSAGES

_Static_assert(RV_REPLAY_WINDOW == 4032, "the block-boundary cases below assume 64 x 64 bits");

struct step {
	bool init;
	uint64_t counter;
	enum rv_replay_result want;
};

#define T(c, w)                           \
	{                                 \
		false, (c), RV_REPLAY_##w \
	}
#define T_INIT                        \
	{                             \
		true, 0, RV_REPLAY_OK \
	}

static const struct step program[] = {
	T_INIT,
	/* Counter 0, in order, duplicates. */
	/* 1 */ T(0, OK),
	/* 2 */ T(0, DUPLICATE),
	/* 3 */ T(1, OK),
	/* 4 */ T(1, DUPLICATE),
	/* Reordered inside the window. */
	/* 5 */ T(9, OK),
	/* 6 */ T(8, OK),
	/* 7 */ T(7, OK),
	/* 8 */ T(7, DUPLICATE),
	/* 9 */ T(2, OK),
	/* 10 */ T(9, DUPLICATE),
	/* Slide so the edge is 10: window [10, W + 9]. */
	/* 11 */ T(W + 9, OK),
	/* 12 */ T(9, TOO_OLD), /* edge - 1 (was seen) */
	/* 13 */ T(10, OK),	/* edge */
	/* 14 */ T(10, DUPLICATE),
	/* 15 */ T(11, OK),	/* edge + 1 */
	/* 16 */ T(3, TOO_OLD), /* never seen, still too old */
	/* 17 */ T(W + 8, OK),
	/* 18 */ T(W + 9, DUPLICATE),
	/* Slide by one: 10 drops out, 11 (seen) becomes the edge. */
	/* 19 */ T(W + 10, OK),
	/* 20 */ T(10, TOO_OLD),
	/* 21 */ T(11, DUPLICATE), /* the oldest block survived the slide */
	/* 22 */ T(12, OK),
	/* Cross into a new block whose ring slot held block 0. */
	/* 23 */ T(4095, OK), /* window [64, 4095] */
	/* 24 */ T(12, TOO_OLD),
	/* 25 */ T(64, OK),	 /* edge */
	/* 26 */ T(63, TOO_OLD), /* edge - 1 */
	/* 27 */ T(4096, OK),	 /* block 64 reuses slot 0 */
	/* 28 */ T(64, TOO_OLD),
	/* 29 */ T(65, OK),
	/* 30 */ T(4097, OK), /* bit 1 of the slot was 1's: cleared */
	/* 31 */ T(4105, OK), /* bit 9 likewise */
	/* 32 */ T(4105, DUPLICATE),
	/* Huge forward jump: the whole ring is cleared at once. */
	/* 33 */ T(4 * W, OK),
	/* 34 */ T(3 * W + 1, OK),  /* edge */
	/* 35 */ T(3 * W, TOO_OLD), /* edge - 1 */
	/* 36 */ T(3 * W + 2, OK),  /* edge + 1 */
	/* 37 */ T(3 * W + 1, DUPLICATE),
	/* 38 */ T(4097, TOO_OLD),
	/* A jump of 63 blocks (the most that clears word by word)... */
	/* 39 */ T(4 * W + 63 * 64, OK), /* window [4W + 1, 4W + 4032] */
	/* 40 */ T(4 * W, TOO_OLD),
	/* 41 */ T(4 * W + 1, OK), /* its block's slot was kept */
	/* ...and one of exactly 64 blocks (the first that clears all). */
	/* 42 */ T(4 * W + 127 * 64, OK),
	/* 43 */ T(4 * W + 127 * 64 - W + 1, OK),
	/* 44 */ T(4 * W + 127 * 64 - W, TOO_OLD),
	/* 45 */ T(4 * W + 63 * 64, TOO_OLD),
	/* 46 */ T((1ull << 40), OK),
	/* 47 */ T((1ull << 40) - W + 1, OK),
	/* 48 */ T((1ull << 40) - W, TOO_OLD),
	/* 49 */ T(4 * W + 127 * 64, TOO_OLD),
	/* 50 */ T(0, TOO_OLD),
	/* The reject-after limit, ±k. */
	/* 51 */ T(LIM, LIMIT),
	/* 52 */ T(LIM + 1, LIMIT),
	/* 53 */ T(LIM + 2, LIMIT),
	/* 54 */ T(UINT64_MAX, LIMIT),
	/* 55 */ T(LIM - 1, OK), /* the last counter ever accepted */
	/* 56 */ T(LIM - 1, DUPLICATE),
	/* 57 */ T(LIM, LIMIT),
	/* 58 */ T(LIM - 2, OK),
	/* 59 */ T(LIM - 3, OK),
	/* 60 */ T(LIM - W, OK),	  /* edge */
	/* 61 */ T(LIM - W - 1, TOO_OLD), /* edge - 1 */
	/* 62 */ T(LIM - W + 1, OK),	  /* edge + 1 */
	/* 63 */ T(LIM - 2, DUPLICATE),
	/* 64 */ T(1ull << 40, TOO_OLD),
	/* 65 */ T(0, TOO_OLD),
	/* 66 */ T(UINT64_MAX - 1, LIMIT), T_INIT,
	/* A fresh window: the first packet may come in anywhere below the limit. */
	/* 68 */ T(LIM - 1, OK),
	/* 69 */ T(LIM - 1, DUPLICATE),
	/* 70 */ T(0, TOO_OLD), T_INIT,
	/* 72 */ T(LIM, LIMIT),
	/* 73 */ T(UINT64_MAX, LIMIT),
	/* 74 */ T(0, OK),	  /* the rejects left the window empty */
	/* 75 */ T(W - 1, OK),	  /* window [0, W - 1] */
	/* 76 */ T(0, DUPLICATE), /* edge, seen */
	/* 77 */ T(W, OK),	  /* window [1, W] */
	/* 78 */ T(0, TOO_OLD),
	/* 79 */ T(1, OK), /* edge, unseen */
};

static void run_step(struct rv_replay *r, const struct step *s, size_t i)
{
	if (s->init) {
		rv_replay_init(r);
		return;
	}
	struct rv_replay before = *r;
	enum rv_replay_result got = rv_replay_check(r, s->counter);
	cr_assert_eq(got, s->want, "step %zu: check(%llu) = %s, want %s", i,
		     (unsigned long long)s->counter, rv_replay_result_str(got),
		     rv_replay_result_str(s->want));
	cr_assert_arr_eq(r, &before, sizeof(before), "step %zu: check modified the window", i);
	got = rv_replay_update(r, s->counter);
	cr_assert_eq(got, s->want, "step %zu: update(%llu) = %s, want %s", i,
		     (unsigned long long)s->counter, rv_replay_result_str(got),
		     rv_replay_result_str(s->want));
	if (got != RV_REPLAY_OK) {
		cr_assert_arr_eq(r, &before, sizeof(before),
				 "step %zu: rejected update changed "
				 "the window",
				 i);
	} else {
		cr_assert_eq(rv_replay_check(r, s->counter), RV_REPLAY_DUPLICATE,
			     "step %zu: accepted counter not marked", i);
	}
}

Test(core_replay, numbered_program)
{
	struct rv_replay r;
	memset(&r, 0x5a, sizeof(r)); /* init must not rely on prior state */
	for (size_t i = 0; i < ARRAY_SIZE(program); i++) {
		run_step(&r, &program[i], i);
	}
}

Test(core_replay, zero_state_is_empty_window)
{
	struct rv_replay r = { 0 };
	cr_assert_eq(rv_replay_check(&r, 0), RV_REPLAY_OK);
	cr_assert_eq(rv_replay_check(&r, LIM - 1), RV_REPLAY_OK);
	cr_assert_eq(rv_replay_update(&r, 5), RV_REPLAY_OK);
	cr_assert_eq(rv_replay_update(&r, 0), RV_REPLAY_OK);
	cr_assert_eq(rv_replay_update(&r, 5), RV_REPLAY_DUPLICATE);
}

Test(core_replay, forward_sweep)
{
	struct rv_replay r;
	rv_replay_init(&r);
	for (uint64_t i = 0; i < 3 * W; i++) {
		cr_assert_eq(rv_replay_update(&r, i), RV_REPLAY_OK, "counter %llu",
			     (unsigned long long)i);
		cr_assert_eq(rv_replay_check(&r, i), RV_REPLAY_DUPLICATE);
		if (i + 1 >= W) {
			cr_assert_eq(rv_replay_check(&r, i + 1 - W), RV_REPLAY_DUPLICATE,
				     "edge at %llu", (unsigned long long)i);
		}
		if (i >= W) {
			cr_assert_eq(rv_replay_check(&r, i - W), RV_REPLAY_TOO_OLD,
				     "edge - 1 at %llu", (unsigned long long)i);
		}
	}
}

/* 1..W-1 then 0: 0 is the edge and was never seen. */
Test(core_replay, forward_then_zero_at_edge)
{
	struct rv_replay r;
	rv_replay_init(&r);
	for (uint64_t i = 1; i < W; i++) {
		cr_assert_eq(rv_replay_update(&r, i), RV_REPLAY_OK);
	}
	cr_assert_eq(rv_replay_update(&r, 0), RV_REPLAY_OK);
	cr_assert_eq(rv_replay_update(&r, 0), RV_REPLAY_DUPLICATE);
}

/* 1..W then 0: 0 is edge - 1. */
Test(core_replay, forward_then_zero_outside)
{
	struct rv_replay r;
	rv_replay_init(&r);
	for (uint64_t i = 1; i <= W; i++) {
		cr_assert_eq(rv_replay_update(&r, i), RV_REPLAY_OK);
	}
	cr_assert_eq(rv_replay_update(&r, 0), RV_REPLAY_TOO_OLD);
}

Test(core_replay, backward_sweep)
{
	struct rv_replay r;
	rv_replay_init(&r);
	for (uint64_t i = W; i-- > 0;) {
		cr_assert_eq(rv_replay_update(&r, i), RV_REPLAY_OK, "counter %llu",
			     (unsigned long long)i);
	}
	for (uint64_t i = W; i-- > 0;) {
		cr_assert_eq(rv_replay_update(&r, i), RV_REPLAY_DUPLICATE, "counter %llu",
			     (unsigned long long)i);
	}
	cr_assert_eq(rv_replay_update(&r, W), RV_REPLAY_OK);
	cr_assert_eq(rv_replay_update(&r, 0), RV_REPLAY_TOO_OLD);
	cr_assert_eq(rv_replay_update(&r, 1), RV_REPLAY_DUPLICATE);
}

/* W..0 backward: the first W are accepted, 0 falls just outside. */
Test(core_replay, backward_sweep_one_too_many)
{
	struct rv_replay r;
	rv_replay_init(&r);
	for (uint64_t i = W; i >= 1; i--) {
		cr_assert_eq(rv_replay_update(&r, i), RV_REPLAY_OK);
	}
	cr_assert_eq(rv_replay_update(&r, 0), RV_REPLAY_TOO_OLD);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Counters shuffled within chunks of k arrive out of order by less than the
 * window, so all are fresh; a second pass finds each duplicate or too old. */
Test(core_replay, reordered_chunks)
{
	static const uint64_t chunks[] = { 2, 3, 64, 65, 1000, W };
	enum { N = 40000 };
	static uint64_t seq[N];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (size_t ci = 0; ci < ARRAY_SIZE(chunks); ci++) {
		uint64_t k = chunks[ci];
		for (uint64_t i = 0; i < N; i++) {
			seq[i] = i + 1000;
		}
		for (uint64_t base = 0; base < N; base += k) {
			uint64_t n = base + k <= N ? k : N - base;
			for (uint64_t i = n; i > 1; i--) {
				uint64_t j = xorshift(&seed) % i;
				uint64_t t = seq[base + i - 1];
				seq[base + i - 1] = seq[base + j];
				seq[base + j] = t;
			}
		}
		struct rv_replay r;
		rv_replay_init(&r);
		for (size_t i = 0; i < N; i++) {
			cr_assert_eq(rv_replay_update(&r, seq[i]), RV_REPLAY_OK,
				     "chunk %llu, position %zu, counter %llu",
				     (unsigned long long)k, i, (unsigned long long)seq[i]);
		}
		uint64_t top = N + 1000 - 1;
		for (size_t i = 0; i < N; i++) {
			enum rv_replay_result want =
				top - seq[i] < W ? RV_REPLAY_DUPLICATE : RV_REPLAY_TOO_OLD;
			cr_assert_eq(rv_replay_update(&r, seq[i]), want, "second pass %llu",
				     (unsigned long long)seq[i]);
		}
	}
}

/* Far more jumps than any per-counter loop could finish: O(1) per update. */
Test(core_replay, huge_jumps_are_o1, .timeout = 10)
{
	struct rv_replay r;
	rv_replay_init(&r);
	uint64_t c = 0;
	for (int i = 0; i < 100000; i++) {
		c += 1ull << 40;
		cr_assert_eq(rv_replay_update(&r, c), RV_REPLAY_OK);
		cr_assert_eq(rv_replay_update(&r, c - 1), RV_REPLAY_OK);
		cr_assert_eq(rv_replay_update(&r, c - W), RV_REPLAY_TOO_OLD);
	}
}

/* A naive model: every counter accepted so far in a bitmap over a small
 * range starting at |base|, and the highest one. */
struct model {
	uint64_t base;
	bool any;
	uint64_t max;
	uint8_t *seen; /* one byte per counter in [base, base + range) */
};

static enum rv_replay_result model_update(struct model *m, uint64_t c)
{
	if (c >= LIM) {
		return RV_REPLAY_LIMIT;
	}
	if (m->any && c <= m->max && m->max - c >= W) {
		return RV_REPLAY_TOO_OLD;
	}
	if (m->seen[c - m->base]) {
		return RV_REPLAY_DUPLICATE;
	}
	m->seen[c - m->base] = 1;
	if (!m->any || c > m->max) {
		m->max = c;
	}
	m->any = true;
	return RV_REPLAY_OK;
}

static void model_run(uint64_t base, uint64_t seed)
{
	enum { RANGE = 1 << 18, OPS = 150000 };
	struct model m = { .base = base, .seen = calloc(RANGE + 64, 1) };
	cr_assert_not_null(m.seen);
	struct rv_replay r;
	rv_replay_init(&r);
	uint64_t last = 0;
	for (int i = 0; i < OPS; i++) {
		uint64_t x = xorshift(&seed);
		uint64_t off;
		switch (x & 7) {
		case 0: /* somewhere in the range */
			off = (x >> 8) % RANGE;
			break;
		case 1: /* a jump forward of up to 2 windows */
			off = last + (x >> 8) % (2 * W);
			break;
		case 2: /* right around the edge */
			off = (last + 2 >= W ? last - W + 2 : 0) - (x >> 8) % 4;
			break;
		default: /* behind the top, inside or just past the window */
			off = last - (x >> 8) % (W + 64);
			break;
		}
		if (off >= RANGE) {
			off = (x >> 8) % RANGE;
		}
		uint64_t c = base + off;
		enum rv_replay_result want = model_update(&m, c);
		enum rv_replay_result got_check = rv_replay_check(&r, c);
		enum rv_replay_result got = rv_replay_update(&r, c);
		cr_assert_eq(got_check, want, "op %d: check(%llu) %s, model %s", i,
			     (unsigned long long)c, rv_replay_result_str(got_check),
			     rv_replay_result_str(want));
		cr_assert_eq(got, want, "op %d: update(%llu) %s, model %s", i,
			     (unsigned long long)c, rv_replay_result_str(got),
			     rv_replay_result_str(want));
		if (m.any) {
			last = m.max - base;
		}
	}
	free(m.seen);
}

Test(core_replay, random_against_model_low)
{
	model_run(0, 0x243f6a8885a308d3ull);
}

/* The same near the reject-after limit: the top of the range is beyond it. */
Test(core_replay, random_against_model_at_limit)
{
	model_run(LIM - (1 << 18) + 1000, 0x13198a2e03707344ull);
}

Test(core_replay, result_strings)
{
	static const enum rv_replay_result all[] = {
		RV_REPLAY_OK,
		RV_REPLAY_DUPLICATE,
		RV_REPLAY_TOO_OLD,
		RV_REPLAY_LIMIT,
	};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		cr_assert_str_neq(rv_replay_result_str(all[i]), "unknown replay result");
		for (size_t j = 0; j < i; j++) {
			cr_assert_str_neq(rv_replay_result_str(all[i]),
					  rv_replay_result_str(all[j]));
		}
	}
}
