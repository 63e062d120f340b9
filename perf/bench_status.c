/*
 * bench_status.c — what one scrape of the metrics endpoint costs the control
 * thread: rendering the Prometheus exposition (core/status.c) of a snapshot
 * with N sessions, N = 100, 1,000 and 10,000 in one run, beside the JSON
 * rendering of the same snapshot (`ringvpn status --json`) as the baseline.
 * Also prints the exposition's size and series count, which is what a
 * Prometheus server stores per scrape.
 *
 *   cmake --build build/<dir> --target bench_status && build/<dir>/perf/bench_status
 *   build/<dir>/perf/bench_status -w 8       # workers in the snapshot (default 2)
 *
 * Snapshot: sessions named like certificates ("client-00042"), counters in
 * the millions, 1 % of sessions with drops for two reasons. Best of RUNS
 * renderings each, in thread CPU time. Exits non-zero if the exposition does not have exactly
 * the series the snapshot implies, so a benchmark of broken code cannot
 * pass silently.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/status.h"

enum { RUNS = 5 };

/* Thread CPU time, not wall time: on a shared machine a 10 ms rendering is
 * often preempted, which says nothing about its cost. */

static void build(struct rv_status *st, size_t n, size_t workers)
{
	memset(st, 0, sizeof(*st));
	st->role = "server";
	snprintf(st->state, sizeof(st->state), "running");
	st->sessions = n;
	st->pool4_size = 65534;
	st->pool4_in_use = n;
	st->workers = calloc(workers, sizeof(*st->workers));
	st->num_workers = workers;
	for (size_t i = 0; i < n; i++) {
		struct rv_status_peer *p = rv_status_add_peer(st);

		if (!p || !st->workers) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		snprintf(p->name, sizeof(p->name), "client-%05zu", i);
		snprintf(p->state, sizeof(p->state), "running");
		p->v4.family = 2; /* AF_INET */
		p->v4.a[0] = 10;
		p->v4.a[2] = (uint8_t)(i >> 8);
		p->v4.a[3] = (uint8_t)i;
		p->stats.rx_bytes = 1000003 * (i + 1);
		p->stats.tx_bytes = 2000003 * (i + 1);
		p->stats.rx_packets = 1003 * (i + 1);
		p->stats.tx_packets = 2003 * (i + 1);
		p->rekeys = i % 17;
		p->has_session = true;
		if (i % 100 == 0) {
			p->stats.drop[RV_DROP_REPLAY] = i + 1;
			p->stats.drop[RV_DROP_AUTH] = 3;
		}
	}
}

static size_t count_lines(const char *s, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);

	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		n += strncmp(p, prefix, plen) == 0;
	}
	return n;
}

/* best_ns renders |st| RUNS times and returns the fastest; |out| keeps the
 * last rendering. */
static uint64_t best_ns(const struct rv_status *st, bool prom, struct rv_strbuf *out)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < RUNS; r++) {
		uint64_t t0, dt;

		rv_strbuf_reset(out);
		t0 = rv_thread_cpu_ns();
		if (prom) {
			rv_status_render_prometheus(out, st);
		} else {
			rv_status_render_json(out, st);
		}
		dt = rv_thread_cpu_ns() - t0;
		best = dt < best ? dt : best;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 100, 1000, 10000 };
	size_t workers = 2;
	int opt, bad = 0;

	while ((opt = getopt(argc, argv, "w:")) != -1) {
		if (opt == 'w') {
			workers = (size_t)strtoul(optarg, NULL, 10);
		} else {
			fprintf(stderr, "usage: bench_status [-w WORKERS]\n");
			return 2;
		}
	}
	printf("%-9s %12s %12s %10s %12s %10s %8s\n", "sessions", "prometheus", "per session",
	       "size", "series", "json", "ratio");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct rv_status st;
		struct rv_strbuf prom = { 0 }, json = { 0 };
		size_t n = sizes[k], series, want;
		uint64_t tp, tj;

		build(&st, n, workers);
		tp = best_ns(&st, true, &prom);
		tj = best_ns(&st, false, &json);
		series = count_lines(rv_strbuf_str(&prom), "ringvpn_");
		/* 5 per session, 2 drop reasons on every 100th. */
		want = count_lines(rv_strbuf_str(&prom), "ringvpn_session_");
		if (want != 5 * n + 2 * ((n + 99) / 100) || prom.truncated) {
			fprintf(stderr, "N=%zu: %zu session series, want %zu\n", n, want,
				5 * n + 2 * ((n + 99) / 100));
			bad = 1;
		}
		printf("%-9zu %9.3f ms %9.0f ns %7.2f MB %12zu %7.3f ms %7.2fx\n", n, tp / 1e6,
		       (double)tp / (double)n, prom.len / 1e6, series, tj / 1e6,
		       (double)tp / (double)tj);
		rv_strbuf_free(&prom);
		rv_strbuf_free(&json);
		rv_status_free(&st);
	}
	return bad;
}
