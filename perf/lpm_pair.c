/*
 * lpm_pair.c — two versions of core/lpm.c side by side in one process:
 * the same prefixes inserted into both, every lookup checked to agree, then
 * hit and miss lookups timed in alternating rounds (old, new, new, old...).
 *
 * Why: on this VM the same bench_lpm binary gives figures up to 3x apart
 * from one process to the next (where its memory happens to land), so two
 * builds measured in separate processes cannot be told apart below that.
 * In one process both tables see the same machine, round after round.
 * perf/lpm_ab.sh builds this with the old version's public symbols renamed
 * to a_lpm_* and the new one's to b_lpm_*.
 *
 *   lpm_pair FAMILY(4|6) N MINLEN [ROUNDS]
 * Prefixes: N random ones in 10/8 or fd00::/8 of lengths MINLEN..32|128
 * (bench_lpm's "private" set with MINLEN 24 or 48). Hits: a random address
 * inside a random prefix; misses: a random address of the region. Prints
 * the best ns per lookup of each version and their ratio.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "perf/bench.h"

struct rv_lpm;

struct rv_lpm *a_lpm_new(int family, void *qsbr);
int a_lpm_set(struct rv_lpm *t, const uint8_t *addr, unsigned len, void *value);
void *a_lpm_lookup(const struct rv_lpm *t, const uint8_t *addr);
void a_lpm_free(struct rv_lpm *t);
struct rv_lpm *b_lpm_new(int family, void *qsbr);
int b_lpm_set(struct rv_lpm *t, const uint8_t *addr, unsigned len, void *value);
void *b_lpm_lookup(const struct rv_lpm *t, const uint8_t *addr);
void b_lpm_free(struct rv_lpm *t);

enum { PICKS = 1 << 20, NUM_VALUES = 4096 };

static long values[NUM_VALUES];
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static volatile uintptr_t sink;

static uint64_t rnd(void)
{
	return bench_xorshift(&rnd_state);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "lpm_pair: out of memory\n");
		exit(1);
	}
	return p;
}

/* run times one pass of |which| (0 old, 1 new) over |addrs|. */
static double run(int which, struct rv_lpm *ta, struct rv_lpm *tb, uint8_t (*addrs)[16])
{
	uintptr_t acc = 0;
	double t0 = (double)rv_thread_cpu_ns();

	if (which) {
		for (size_t i = 0; i < PICKS; i++) {
			acc += (uintptr_t)b_lpm_lookup(tb, addrs[i]);
		}
	} else {
		for (size_t i = 0; i < PICKS; i++) {
			acc += (uintptr_t)a_lpm_lookup(ta, addrs[i]);
		}
	}
	sink = acc;
	return ((double)rv_thread_cpu_ns() - t0) / PICKS;
}

int main(int argc, char **argv)
{
	int family, n, minlen, rounds, alen, af;
	uint8_t(*pre)[16], *lens, (*hit)[16], (*miss)[16];
	struct rv_lpm *ta, *tb;
	double best[2][2] = { { 1e30, 1e30 }, { 1e30, 1e30 } };

	if (argc < 4) {
		fprintf(stderr, "usage: lpm_pair FAMILY(4|6) N MINLEN [ROUNDS]\n");
		return 2;
	}
	family = atoi(argv[1]);
	n = atoi(argv[2]);
	minlen = atoi(argv[3]);
	rounds = argc > 4 ? atoi(argv[4]) : 8;
	alen = family == 6 ? 16 : 4;
	af = family == 6 ? AF_INET6 : AF_INET;
	if ((family != 4 && family != 6) || n < 1 || minlen < 0 || minlen > alen * 8 ||
	    rounds < 1) {
		fprintf(stderr, "lpm_pair: bad arguments\n");
		return 2;
	}
	pre = xcalloc((size_t)n, 16);
	lens = xcalloc((size_t)n, 1);
	hit = xcalloc(PICKS, 16);
	miss = xcalloc(PICKS, 16);
	ta = a_lpm_new(af, NULL);
	tb = b_lpm_new(af, NULL);
	if (!ta || !tb) {
		fprintf(stderr, "lpm_pair: out of memory\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		void *v = &values[rnd() % NUM_VALUES];

		for (int j = 0; j < alen; j++) {
			pre[i][j] = (uint8_t)rnd();
		}
		pre[i][0] = family == 6 ? 0xfd : 10;
		lens[i] = (uint8_t)(minlen + (int)(rnd() % (uint64_t)(alen * 8 - minlen + 1)));
		for (int b = lens[i]; b < alen * 8; b++) {
			pre[i][b / 8] &= (uint8_t) ~(1u << (7 - b % 8));
		}
		/* Interleaved, so that both tables' nodes are spread alike. */
		if (a_lpm_set(ta, pre[i], lens[i], v) || b_lpm_set(tb, pre[i], lens[i], v)) {
			fprintf(stderr, "lpm_pair: insert failed\n");
			return 1;
		}
	}
	for (size_t i = 0; i < PICKS; i++) {
		int p = (int)(rnd() % (uint64_t)n);

		for (int j = 0; j < alen; j++) {
			hit[i][j] = (uint8_t)rnd();
			miss[i][j] = (uint8_t)rnd();
		}
		miss[i][0] = family == 6 ? 0xfd : 10;
		for (int b = 0; b < lens[p]; b++) {
			uint8_t m = (uint8_t)(1u << (7 - b % 8));

			hit[i][b / 8] = (uint8_t)((hit[i][b / 8] & ~m) | (pre[p][b / 8] & m));
		}
		if (a_lpm_lookup(ta, hit[i]) != b_lpm_lookup(tb, hit[i]) ||
		    a_lpm_lookup(ta, miss[i]) != b_lpm_lookup(tb, miss[i])) {
			fprintf(stderr, "lpm_pair: the versions disagree at lookup %zu\n", i);
			return 1;
		}
	}
	for (int r = 0; r < rounds; r++) {
		for (int q = 0; q < 2; q++) {
			int which = r & 1 ? 1 - q : q; /* old first, then new first */

			for (int m = 0; m < 2; m++) {
				double ns = run(which, ta, tb, m ? miss : hit);

				if (ns < best[which][m]) {
					best[which][m] = ns;
				}
			}
		}
	}
	printf("IPv%d n=%d /%d../%d: old %.1f / %.1f ns, new %.1f / %.1f ns (hit / miss), "
	       "new/old %.2f / %.2f\n",
	       family, n, minlen, alen * 8, best[0][0], best[0][1], best[1][0], best[1][1],
	       best[1][0] / best[0][0], best[1][1] / best[0][1]);
	a_lpm_free(ta);
	b_lpm_free(tb);
	free(pre);
	free(lens);
	free(hit);
	free(miss);
	return 0;
}
