/*
 * bench_ctl.c — cost per operation of the control plane's tables, and that it
 * does not grow with the number of connections: the timing wheel
 * (core/timer.c), the name table (core/nametab.c) and half-open admission
 * (core/admit.c), each measured with N = 1,000, 10,000 and 100,000 entries
 * in the same run, with the ratio N = 100k / N = 1k printed per operation
 * (1.0 = flat; cache misses of a larger working set push it above 1, a scan
 * of all entries would push it towards 100).
 *
 *   cmake --build build/<dir> --target bench_ctl && build/<dir>/perf/bench_ctl
 *   build/<dir>/perf/bench_ctl -n 2000000     # operations per measurement
 *   build/<dir>/perf/bench_ctl -s 100000      # one size only (e.g. under
 *                                             # callgrind, for instruction counts)
 *
 * Operations (best of RUNS measurements each):
 *   wheel arm      arm an idle timer 0..30 s ahead into a wheel holding N
 *   wheel cancel   cancel it again
 *   wheel re-arm   move an armed timer to 0..30 s ahead (a keepalive reset)
 *   wheel expire   advance time one tick at a time, drain, re-arm each
 *                  expired timer 30 s ahead: ns per expired timer, slot
 *                  walking and the re-arm included (the wheel: 4 ms ticks x
 *                  8192 slots, a 32.8 s rotation)
 *   nametab find   look up a random present name ("client-0000042")
 *   admit add / promote / remove   a connection arriving, sending its
 *                  ClientHello, finishing, with N others half-open from
 *                  N / 4 sources (limits leave room: no eviction)
 *   admit evict    an add at the limit, plus removing its victim
 *   baseline       one dependent load in a random cycle through an N x
 *                  64-byte array: what one cache miss costs at that working
 *                  set on this machine (a hash lookup makes 2-3 such loads,
 *                  an admit add or remove about 5-8: neighbours in lists)
 * Exits non-zero if a table misbehaves (an expiry count or a lookup is
 * wrong), so a benchmark of broken code cannot pass silently.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/admit.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/nametab.h"
#include "core/timer.h"
#include "perf/bench.h"

enum {
	RUNS = 5,
	NUM_SIZES = 3,
	TICK_NS = 4000000, /* 4 ms */
	SLOTS = 8192,
};

#define SPAN_NS UINT64_C(30000000000) /* timers 0..30 s ahead */

static const size_t sizes[NUM_SIZES] = { 1000, 10000, 100000 };

enum op {
	OP_ARM,
	OP_CANCEL,
	OP_REARM,
	OP_EXPIRE,
	OP_FIND,
	OP_ADD,
	OP_PROMOTE,
	OP_REMOVE,
	OP_EVICT,
	OP_BASELINE,
	NUM_OPS
};

static const char *const op_names[NUM_OPS] = {
	"wheel arm", "wheel cancel",  "wheel re-arm", "wheel expire", "nametab find",
	"admit add", "admit promote", "admit remove", "admit evict",  "baseline",
};

static double best[NUM_OPS][NUM_SIZES];
static int failed;

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	return bench_xorshift(&rng);
}

static void record(enum op op, size_t si, uint64_t t0, size_t ops)
{
	double ns = (double)(rv_now_ns() - t0) / (double)ops;

	if (ns < best[op][si]) {
		best[op][si] = ns;
	}
}

static void fail(const char *what, size_t n)
{
	fprintf(stderr, "bench_ctl: N=%zu: %s\n", n, what);
	failed = 1;
}

static void bench_wheel(size_t si, size_t ops)
{
	size_t n = sizes[si], extra = 4096;
	struct rv_timer *t = calloc(n + extra, sizeof(*t));
	uint64_t *delay = malloc(ops * sizeof(*delay));
	uint64_t now = 1000000000;
	struct rv_wheel *w = rv_wheel_new(TICK_NS, SLOTS, now);

	if (!t || !delay || !w) {
		fail("out of memory", n);
		goto out;
	}
	for (size_t i = 0; i < ops; i++) {
		delay[i] = rnd() % SPAN_NS;
	}
	for (size_t i = 0; i < n; i++) {
		rv_wheel_arm(w, &t[i], now + rnd() % SPAN_NS);
	}
	for (int run = 0; run < RUNS; run++) {
		uint64_t t0;
		size_t done, fired = 0;

		/* Arm and cancel the extra timers in batches, N staying armed. */
		for (done = 0; done < ops; done += extra) {
			t0 = rv_now_ns();
			for (size_t i = 0; i < extra; i++) {
				rv_wheel_arm(w, &t[n + i], now + delay[(done + i) % ops]);
			}
			record(OP_ARM, si, t0, extra);
			t0 = rv_now_ns();
			for (size_t i = 0; i < extra; i++) {
				rv_wheel_cancel(w, &t[n + i]);
			}
			record(OP_CANCEL, si, t0, extra);
		}
		t0 = rv_now_ns();
		for (size_t i = 0; i < ops; i++) {
			rv_wheel_arm(w, &t[rnd() % n], now + delay[i]);
		}
		record(OP_REARM, si, t0, ops);
		/* Expire about ops / 4 timers (at least a few rotations' worth
		 * of ticks), re-arming each one a full span ahead. */
		size_t want = ops / 4 > n ? ops / 4 : n;
		t0 = rv_now_ns();
		while (fired < want) {
			struct rv_timer *x;

			now += TICK_NS;
			while ((x = rv_wheel_expire(w, now))) {
				rv_wheel_arm(w, x, now + SPAN_NS);
				fired++;
			}
		}
		record(OP_EXPIRE, si, t0, fired);
		if (rv_wheel_count(w) != n) {
			fail("wheel lost or gained timers", n);
		}
	}
out:
	rv_wheel_free(w);
	free(delay);
	free(t);
}

struct named {
	struct rv_name_node node;
	char name[32];
};

static void bench_nametab(size_t si, size_t ops)
{
	size_t n = sizes[si];
	struct named *o = calloc(n, sizeof(*o));
	uint32_t *pick = malloc(ops * sizeof(*pick));
	struct rv_nametab *t = rv_nametab_new(n);

	if (!o || !pick || !t) {
		fail("out of memory", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(o[i].name, sizeof(o[i].name), "client-%07zu", i);
		o[i].node.name = o[i].name;
		if (rv_nametab_insert(t, &o[i].node)) {
			fail("insert failed", n);
			goto out;
		}
	}
	for (size_t i = 0; i < ops; i++) {
		pick[i] = (uint32_t)(rnd() % n);
	}
	for (int run = 0; run < RUNS; run++) {
		size_t wrong = 0;
		uint64_t t0 = rv_now_ns();

		for (size_t i = 0; i < ops; i++) {
			wrong += rv_nametab_find(t, o[pick[i]].name) != &o[pick[i]].node;
		}
		record(OP_FIND, si, t0, ops);
		if (wrong) {
			fail("nametab returned a wrong node", n);
		}
	}
out:
	rv_nametab_free(t);
	free(pick);
	free(o);
}

static void bench_admit(size_t si, size_t ops)
{
	size_t n = sizes[si], batch = 1024, num_src = n / 4;
	struct rv_admit_limits roomy = { (unsigned)(n + batch), (unsigned)(n + batch) };
	struct rv_admit_limits tight = { (unsigned)n, (unsigned)n };
	/* e[0, n): the resident entries; e[n, n + batch): one batch of
	 * arrivals; e[n + batch]: the first spare of the eviction loop. */
	struct rv_admit_entry *e = calloc(n + batch + 1, sizeof(*e));
	struct rv_ip_addr *src = calloc(num_src, sizeof(*src));
	struct rv_admit *a = rv_admit_new(&roomy);
	struct rv_admit_entry *spare;

	if (!e || !src || !a) {
		fail("out of memory", n);
		goto out;
	}
	for (size_t i = 0; i < num_src; i++) {
		uint32_t v = 0x0a000000u + (uint32_t)i * 7919u;

		src[i].family = AF_INET;
		memcpy(src[i].a, &v, sizeof(v));
	}
	for (size_t i = 0; i < n; i++) {
		rv_admit_add(a, &e[i], &src[rnd() % num_src]);
		if (i % 2) {
			rv_admit_promote(a, &e[i]);
		}
	}
	spare = &e[n + batch];
	for (int run = 0; run < RUNS; run++) {
		for (size_t done = 0; done < ops; done += batch) {
			struct rv_admit_entry *b = e + n;
			size_t victims = 0;
			uint64_t t0 = rv_now_ns();

			for (size_t i = 0; i < batch; i++) {
				victims +=
					rv_admit_add(a, &b[i], &src[(done + i) % num_src]) != NULL;
			}
			record(OP_ADD, si, t0, batch);
			t0 = rv_now_ns();
			for (size_t i = 0; i < batch; i++) {
				rv_admit_promote(a, &b[i]);
			}
			record(OP_PROMOTE, si, t0, batch);
			t0 = rv_now_ns();
			for (size_t i = 0; i < batch; i++) {
				rv_admit_remove(a, &b[i]);
			}
			record(OP_REMOVE, si, t0, batch);
			if (victims) {
				fail("admit evicted with room to spare", n);
			}
		}
		/* At the limit: every add names a victim, which is removed and
		 * re-added (a flood meeting the limit). */
		rv_admit_set_limits(a, &tight);
		uint64_t t0 = rv_now_ns();
		size_t victims = 0;
		for (size_t i = 0; i < ops; i++) {
			struct rv_admit_entry *v = rv_admit_add(a, spare, &src[i % num_src]);

			if (v) {
				rv_admit_remove(a, v);
				spare = v;
				victims++;
			}
		}
		record(OP_EVICT, si, t0, ops);
		rv_admit_set_limits(a, &roomy);
		if (victims != ops) {
			fail("admit at its limit did not evict on every add", n);
		}
	}
out:
	rv_admit_free(a);
	free(src);
	free(e);
}

/* bench_baseline: a chase through the N lines of an N x 64-byte array in
 * one random cycle, each load's address coming from the previous load: the
 * latency of one dependent memory access at that working set, the unit in
 * which a hash lookup (bucket, then node, then key) pays for size. */
static void bench_baseline(size_t si, size_t ops)
{
	size_t n = sizes[si];
	uint64_t *lines = calloc(n, 64);

	if (!lines) {
		fail("out of memory", n);
		return;
	}
	/* Sattolo's shuffle: a single cycle through every line. */
	for (size_t i = 0; i < n; i++) {
		lines[i * 8] = i;
	}
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd() % i;
		uint64_t tmp = lines[i * 8];

		lines[i * 8] = lines[j * 8];
		lines[j * 8] = tmp;
	}
	for (int run = 0; run < RUNS; run++) {
		uint64_t at = 0, t0 = rv_now_ns();

		for (size_t i = 0; i < ops; i++) {
			at = lines[at * 8];
		}
		record(OP_BASELINE, si, t0, ops);
		__asm__ volatile("" : : "r"(at) : "memory");
	}
	free(lines);
}

int main(int argc, char **argv)
{
	size_t ops = 1000000, only = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		switch (opt) {
		case 'n':
			ops = strtoull(optarg, NULL, 0);
			break;
		case 's':
			only = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n operations_per_measurement] [-s N]\n",
				argv[0]);
			return 2;
		}
	}
	if (ops < 4096) {
		ops = 4096;
	}
	for (int op = 0; op < NUM_OPS; op++) {
		for (int si = 0; si < NUM_SIZES; si++) {
			best[op][si] = 1e18;
		}
	}
	for (size_t si = 0; si < NUM_SIZES; si++) {
		if (only && sizes[si] != only) {
			continue;
		}
		bench_wheel(si, ops);
		bench_nametab(si, ops);
		bench_admit(si, ops);
		bench_baseline(si, ops);
	}
	printf("bench_ctl: %zu operations per measurement, best of %d, ns per operation\n", ops,
	       RUNS);
	printf("%-14s %10s %10s %10s %15s\n", "operation", "N=1k", "N=10k", "N=100k",
	       "100k/1k ratio");
	for (int op = 0; op < NUM_OPS; op++) {
		printf("%-14s", op_names[op]);
		for (int si = 0; si < NUM_SIZES; si++) {
			if (best[op][si] < 1e18) {
				printf(" %10.1f", best[op][si]);
			} else {
				printf(" %10s", "-");
			}
		}
		if (best[op][0] < 1e18 && best[op][2] < 1e18) {
			printf(" %14.2fx", best[op][2] / best[op][0]);
		}
		printf("\n");
	}
	return failed;
}
