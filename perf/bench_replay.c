/*
 * bench_replay.c — cost per packet of the receive-side checks that run before
 * and after AEAD open: data-header decode (core/wire.c), replay check and
 * replay update (core/replay.c).
 *
 *   cmake --build build/<dir> --target bench_replay && build/<dir>/perf/bench_replay
 *   build/<dir>/perf/bench_replay -n 20000000     # packets per measurement (default 2M)
 *
 * For each arrival pattern the 16-byte headers are generated up front into a
 * buffer (so generation is not timed), then each stage is timed over the same
 * packets; the best of several runs is reported. The baseline column is the
 * cheapest possible "decode": loading the counter field with no validation at
 * all, measured in the same run. Target: decode + check + update < 25 ns.
 * Exits non-zero if any stage accepts a different number of packets than the
 * pattern implies, so a benchmark of broken code cannot pass silently.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/replay.h"
#include "core/wire.h"
#include "perf/bench.h"

enum {
	BATCH = 1 << 14, /* headers per generated batch (256 KiB) */
	RUNS = 7,
	TARGET_NS = 25,
};

struct pattern {
	const char *name;
	const char *what;
	/* fill sets counters[0..BATCH) and returns how many are fresh. */
	size_t (*fill)(uint64_t *counters);
};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t xorshift(void)
{
	return bench_xorshift(&rng);
}

static void shuffle_chunks(uint64_t *c, size_t chunk)
{
	for (size_t base = 0; base < BATCH; base += chunk) {
		for (size_t i = chunk; i > 1; i--) {
			size_t j = xorshift() % i;
			uint64_t t = c[base + i - 1];
			c[base + i - 1] = c[base + j];
			c[base + j] = t;
		}
	}
}

static size_t fill_in_order(uint64_t *c)
{
	for (size_t i = 0; i < BATCH; i++) {
		c[i] = i;
	}
	return BATCH;
}

static size_t fill_reorder_64(uint64_t *c)
{
	fill_in_order(c);
	shuffle_chunks(c, 64);
	return BATCH;
}

static size_t fill_reorder_2048(uint64_t *c)
{
	fill_in_order(c);
	shuffle_chunks(c, 2048);
	return BATCH;
}

static size_t fill_duplicates(uint64_t *c)
{
	for (size_t i = 0; i < BATCH; i++) {
		c[i] = i / 2;
	}
	return BATCH / 2;
}

static size_t fill_jumps(uint64_t *c)
{
	/* Gaps of 100 (a slide clears one or two words each time), with
	 * every 16th packet a jump of 2^20 (the ring is cleared at once). */
	uint64_t v = 0;
	for (size_t i = 0; i < BATCH; i++) {
		v += (i % 16 == 15) ? (1u << 20) : 100;
		c[i] = v;
	}
	return BATCH;
}

static const struct pattern patterns[] = {
	{ "in-order", "0, 1, 2, ...", fill_in_order },
	{ "reorder-64", "shuffled in chunks of 64", fill_reorder_64 },
	{ "reorder-2048", "shuffled in chunks of 2048", fill_reorder_2048 },
	{ "duplicates", "every counter twice", fill_duplicates },
	{ "jumps", "gaps of 100, every 16th 2^20", fill_jumps },
};

enum stage { S_BASELINE, S_DECODE, S_REPLAY, S_ALL, S_MAX };

static const char *const stage_names[S_MAX] = {
	"baseline",
	"decode",
	"check+update",
	"decode+check+update",
};

/* The headers of one batch, back to back; a datagram is "header + tag", so
 * the length passed to the parser is RV_MIN_DATAGRAM and the bytes after a
 * header are the next header (or the trailing pad). */
static uint8_t pkts[BATCH * RV_DATA_HDR_LEN + RV_TAG_LEN];
static uint64_t counters[BATCH];

/* run_stage times |reps| passes over the batch and returns ns per packet;
 * |*out_ok| counts packets that passed. Each pass starts a fresh window, so
 * every pass sees the same sequence. */
static double run_stage(enum stage s, size_t reps, size_t *out_ok)
{
	struct rv_replay r;
	size_t ok = 0;
	uint64_t sink = 0;
	uint64_t t0 = rv_now_ns();
	for (size_t rep = 0; rep < reps; rep++) {
		rv_replay_init(&r);
		for (size_t i = 0; i < BATCH; i++) {
			const uint8_t *p = pkts + i * RV_DATA_HDR_LEN;
			struct rv_data_hdr h;
			uint64_t be;
			switch (s) {
			case S_BASELINE:
				memcpy(&be, p + 8, sizeof(be));
				sink += __builtin_bswap64(be);
				ok++;
				break;
			case S_DECODE:
				if (likely(rv_wire_parse_data_hdr(&h, p, RV_MIN_DATAGRAM) ==
					   RV_WIRE_OK)) {
					sink += h.counter;
					ok++;
				}
				break;
			case S_REPLAY:
				if (rv_replay_check(&r, counters[i]) == RV_REPLAY_OK &&
				    rv_replay_update(&r, counters[i]) == RV_REPLAY_OK) {
					ok++;
				}
				break;
			case S_ALL:
				if (likely(rv_wire_parse_data_hdr(&h, p, RV_MIN_DATAGRAM) ==
					   RV_WIRE_OK) &&
				    rv_replay_check(&r, h.counter) == RV_REPLAY_OK &&
				    rv_replay_update(&r, h.counter) == RV_REPLAY_OK) {
					ok++;
				}
				break;
			case S_MAX:
				break;
			}
		}
	}
	uint64_t dt = rv_now_ns() - t0;
	__asm__ volatile("" : : "r"(sink) : "memory");
	*out_ok = ok;
	return (double)dt / (double)(reps * BATCH);
}

int main(int argc, char **argv)
{
	size_t total = 2000000;
	int opt;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		switch (opt) {
		case 'n':
			total = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n packets_per_measurement]\n", argv[0]);
			return 2;
		}
	}
	size_t reps = total / BATCH ? total / BATCH : 1;

	printf("bench_replay: %zu packets per measurement, best of %d; window %d counters\n",
	       reps * BATCH, RUNS, RV_REPLAY_WINDOW);
	printf("%-13s %-30s %9s %9s %13s %20s %8s\n", "pattern", "arrivals", "baseline", "decode",
	       "check+update", "decode+check+update", "vs base");
	int bad = 0;
	double worst = 0;
	for (size_t pi = 0; pi < ARRAY_SIZE(patterns); pi++) {
		const struct pattern *pat = &patterns[pi];
		size_t fresh = pat->fill(counters);
		for (size_t i = 0; i < BATCH; i++) {
			struct rv_data_hdr h = {
				.type = RV_MSG_DATA,
				.key_id = 1,
				.receiver_index = 0x12345678,
				.counter = counters[i],
			};
			rv_wire_write_data_hdr(pkts + i * RV_DATA_HDR_LEN, &h);
		}
		double best[S_MAX];
		for (int s = 0; s < S_MAX; s++) {
			best[s] = 1e9;
			size_t want = (s == S_REPLAY || s == S_ALL) ? fresh : BATCH;
			for (int run = 0; run < RUNS; run++) {
				size_t ok;
				double ns = run_stage((enum stage)s, reps, &ok);
				if (ok != want * reps) {
					fprintf(stderr, "%s/%s: %zu packets passed, expected %zu\n",
						pat->name, stage_names[s], ok, want * reps);
					bad = 1;
				}
				if (ns < best[s]) {
					best[s] = ns;
				}
			}
		}
		printf("%-13s %-30s %8.2fns %8.2fns %12.2fns %19.2fns %7.1fx\n", pat->name,
		       pat->what, best[S_BASELINE], best[S_DECODE], best[S_REPLAY], best[S_ALL],
		       best[S_ALL] / best[S_BASELINE]);
		if (best[S_ALL] > worst) {
			worst = best[S_ALL];
		}
	}
	printf("worst decode+check+update: %.2f ns/packet (target < %d ns): %s\n", worst, TARGET_NS,
	       worst < TARGET_NS ? "met" : "MISSED");
	return bad;
}
