/*
 * stress_lpm.c — lock-free longest-prefix lookups against a churning writer.
 *
 * The writer thread (the control thread's role) churns a universe of nested
 * IPv4 and IPv6 prefixes: adds, removes, and replaces values (the move a
 * reload makes), including prefixes of 16 bits or fewer that rebuild whole
 * runs of the direct table, and reclaims retired nodes on a timer. Some
 * "anchor" host prefixes are published before the readers start and never
 * touched, though shorter prefixes around them and siblings next to them
 * keep changing, so the nodes they live in are copied over and over.
 *
 * Reader threads (the workers' role) look up addresses and check what a
 * lookup may return at any moment:
 *   - a value identifies the one prefix it was set for: that prefix must
 *     contain the address (a lookup never returns a value no covering prefix
 *     ever had: not a torn node, not a recycled one);
 *   - an anchor address must always find exactly its anchor (a prefix that
 *     stays published is never missed, whatever changes around it).
 * They pass a QSBR quiescent point after every batch and now and then go
 * offline for a short sleep. Retired nodes are recycled by the slab (or
 * freed, under ASan: a late read is a use-after-free report); under TSan a
 * missing happens-before between a reader's last read and the reuse is a
 * race report. At the end the writer checks every prefix against the
 * brute-force reference.
 *
 *   stress_lpm [seconds]        (default 5; exit 0 = clean)
 *   cmake -S . -B build/tsan -DRV_SANITIZE=thread && ... && build/tsan/test/stress_lpm
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/lpm.h"
#include "core/qsbr.h"
#include "test/lib/t_lpmref.h"
#include "test/lib/t_stress.h"

enum {
	NUM_READERS = 3,
	MAX_CAND = 1024,
	NUM_ANCHORS = 64,
	READ_BATCH = 64,
};

struct cand {
	int family;
	uint8_t addr[16];
	unsigned len;
	bool anchor;
};

static struct cand cands[MAX_CAND];
static size_t num_cands;
/* A value names its candidate: vals[i] or alts[i] (a replacement). */
static uint64_t vals[MAX_CAND], alts[MAX_CAND];
static struct rv_lpm *tables[2]; /* AF_INET, AF_INET6 */
static struct rv_qsbr *qsbr;
static atomic_bool stop;
static _Atomic uint64_t error_count;

static struct rv_lpm *table_of(int family)
{
	return tables[family == AF_INET6];
}

static void fail(const char *what, const struct cand *c)
{
	char buf[64] = "";

	if (c) {
		snprintf(buf, sizeof(buf), " (candidate family %d len %u)", c->family, c->len);
	}
	fprintf(stderr, "stress_lpm: ERROR %s%s\n", what, buf);
	atomic_fetch_add(&error_count, 1);
}

static void add_cand(int family, const uint8_t *addr, unsigned len, bool anchor)
{
	size_t n = family == AF_INET ? 4 : 16;
	struct cand c = { .family = family, .len = len, .anchor = anchor };

	memcpy(c.addr, addr, n);
	t_prefix_mask(c.addr, len, n);
	for (size_t i = 0; i < num_cands; i++) {
		if (cands[i].family == family && cands[i].len == len &&
		    memcmp(cands[i].addr, c.addr, 16) == 0) {
			return;
		}
	}
	if (num_cands < MAX_CAND) {
		cands[num_cands++] = c;
	}
}

/*
 * make_universe: chains of nested prefixes from a few roots (every length
 * class the trie treats differently), short prefixes that span direct
 * entries, and anchors: host prefixes with churning siblings and covering
 * prefixes, but no other prefix of their own length or longer.
 */
static void make_universe(void)
{
	static const unsigned lens4[] = { 4, 8, 12, 15, 16, 17, 21, 22, 23, 24, 27, 28, 29, 31, 32 };
	static const unsigned lens6[] = { 8,  16,  17,	22,  32,  48,  63, 64,
					  65, 100, 112, 118, 124, 127, 128 };
	uint32_t rnd = 0xabcdef;

	for (int r = 0; r < 24; r++) {
		uint8_t a4[16] = { 10, (uint8_t)(t_xorshift32(&rnd) % 4),
				   (uint8_t)t_xorshift32(&rnd), (uint8_t)t_xorshift32(&rnd) };
		uint8_t a6[16] = { 0xfd, 0x99, 0, (uint8_t)(t_xorshift32(&rnd) % 4) };

		for (int i = 4; i < 16; i++) {
			a6[i] = (uint8_t)t_xorshift32(&rnd);
		}
		for (size_t k = 0; k < sizeof(lens4) / sizeof(lens4[0]); k++) {
			add_cand(AF_INET, a4, lens4[k], false);
		}
		for (size_t k = 0; k < sizeof(lens6) / sizeof(lens6[0]); k++) {
			add_cand(AF_INET6, a6, lens6[k], false);
		}
	}
	for (unsigned i = 0; i < NUM_ANCHORS / 2; i++) {
		/* 10.200.i.2 with churning 10.200.i.3 and 10.200.0.0/16;
		 * fd99:ff01::i:2 with churning fd99:ff01::i:3 and fd99:ff01::/32,
		 * all outside the chains above except for their short prefixes. */
		uint8_t a4[16] = { 10, 200, (uint8_t)i, 2 };
		uint8_t a6[16] = { 0xfd, 0x99, 0xff, 1, [14] = (uint8_t)i, [15] = 2 };

		add_cand(AF_INET, a4, 32, true);
		add_cand(AF_INET6, a6, 128, true);
	}
	for (unsigned i = 0; i < NUM_ANCHORS / 2; i++) {
		uint8_t a4[16] = { 10, 200, (uint8_t)i, 3 };
		uint8_t a6[16] = { 0xfd, 0x99, 0xff, 1, [14] = (uint8_t)i, [15] = 3 };

		add_cand(AF_INET, a4, 32, false);
		add_cand(AF_INET6, a6, 128, false);
	}
	add_cand(AF_INET, (const uint8_t[16]){ 10, 200 }, 16, false);
	add_cand(AF_INET, (const uint8_t[16]){ 10, 200 }, 9, false);
	add_cand(AF_INET, (const uint8_t[16]){ 0 }, 1, false);
	add_cand(AF_INET6, (const uint8_t[16]){ 0xfd, 0x99, 0xff, 1 }, 32, false);
	add_cand(AF_INET6, (const uint8_t[16]){ 0xfd, 0x99, 0xff, 1 }, 112, false);
	add_cand(AF_INET6, (const uint8_t[16]){ 0xfd }, 8, false);
}

/* cand_of returns the candidate a looked-up value names, or NULL. */
static const struct cand *cand_of(const void *v)
{
	const uint64_t *p = v;

	if (p >= vals && p < vals + num_cands) {
		return &cands[p - vals];
	}
	if (p >= alts && p < alts + num_cands) {
		return &cands[p - alts];
	}
	return NULL;
}

struct reader_stats {
	uint64_t lookups, hits, anchor_checks, turns;
};

static void *reader(void *arg)
{
	struct reader_stats *st = arg;
	uint32_t rnd = (uint32_t)(uintptr_t)arg | 1;
	unsigned id;

	if (rv_qsbr_register(qsbr, &id) != 0) {
		fail("register", NULL);
		return NULL;
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < READ_BATCH; k++) {
			const struct cand *c = &cands[t_xorshift32(&rnd) % num_cands], *got;
			size_t n = c->family == AF_INET ? 4 : 16;
			uint8_t a[16];
			void *v;

			/* an address inside c: its bits past the length random */
			memcpy(a, c->addr, 16);
			for (unsigned bit = c->len; bit < n * 8; bit++) {
				if (t_xorshift32(&rnd) & 1) {
					a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
				}
			}
			v = rv_lpm_lookup(table_of(c->family), a);
			st->lookups++;
			if (!v) {
				if (c->anchor) {
					fail("anchor missed", c);
				}
				continue;
			}
			st->hits++;
			got = cand_of(v);
			if (!got) {
				fail("value that names no prefix (torn or recycled node?)", c);
				continue;
			}
			if (got->family != c->family ||
			    !t_prefix_contains(got->addr, got->len, a, n)) {
				fail("value of a prefix that does not contain the address", got);
			}
			if (c->anchor) {
				st->anchor_checks++;
				if (got != c) {
					fail("anchor answered by another prefix", c);
				}
			}
		}
		st->turns++;
		t_reader_turn(qsbr, id, &rnd);
	}
	rv_qsbr_unregister(qsbr, id);
	return NULL;
}

struct writer_stats {
	uint64_t sets, removes, replaces, freed;
};

static bool present[MAX_CAND]; /* writer-private */

static void writer_step(uint32_t *rnd, struct t_lpmref refs[2], struct writer_stats *w)
{
	size_t i = t_xorshift32(rnd) % num_cands;
	const struct cand *c = &cands[i];
	struct t_lpmref *ref = &refs[c->family == AF_INET6];
	struct rv_lpm *t = table_of(c->family);
	void *v = (t_xorshift32(rnd) & 1) ? (void *)&alts[i] : (void *)&vals[i];
	int ret;

	if (c->anchor) {
		return;
	}
	if (!present[i]) {
		ret = rv_lpm_set(t, c->addr, c->len, v);
		t_lpmref_set(ref, c->addr, c->len, v);
		present[i] = ret == 0;
		w->sets++;
	} else if (t_xorshift32(rnd) & 1) {
		ret = rv_lpm_remove(t, c->addr, c->len);
		t_lpmref_remove(ref, c->addr, c->len);
		present[i] = false;
		w->removes++;
	} else {
		ret = rv_lpm_set(t, c->addr, c->len, v);
		t_lpmref_set(ref, c->addr, c->len, v);
		w->replaces++;
	}
	if (ret) {
		fail(strerror(-ret), c);
	}
}

/* final_check compares every candidate's edges with the reference. */
static void final_check(struct t_lpmref refs[2])
{
	for (size_t i = 0; i < num_cands; i++) {
		const struct cand *c = &cands[i];
		struct t_lpmref *ref = &refs[c->family == AF_INET6];
		uint8_t e[4][16];

		t_prefix_edges(c->addr, c->len, ref->addr_len, e);
		for (int k = 0; k < 4; k++) {
			if (rv_lpm_lookup(table_of(c->family), e[k]) !=
			    t_lpmref_lookup(ref, e[k])) {
				fail("final lookup differs from the reference", c);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct reader_stats rst[NUM_READERS] = { 0 };
	struct writer_stats w = { 0 };
	struct t_lpmref refs[2];
	pthread_t th[NUM_READERS];
	double seconds = argc > 1 ? atof(argv[1]) : 5.0;
	uint64_t deadline, next_reclaim = 0, lookups = 0, hits = 0, anchors = 0, turns = 0;
	uint32_t rnd = 0x5eed;

	if (seconds <= 0 || seconds > 600) {
		fprintf(stderr, "usage: stress_lpm [seconds]\n");
		return 2;
	}
	make_universe();
	qsbr = rv_qsbr_new(NUM_READERS);
	tables[0] = rv_lpm_new(AF_INET, qsbr);
	tables[1] = rv_lpm_new(AF_INET6, qsbr);
	if (!qsbr || !tables[0] || !tables[1]) {
		fprintf(stderr, "stress_lpm: setup failed\n");
		return 1;
	}
	t_lpmref_init(&refs[0], AF_INET);
	t_lpmref_init(&refs[1], AF_INET6);
	for (size_t i = 0; i < num_cands; i++) {
		if (cands[i].anchor) {
			if (rv_lpm_set(table_of(cands[i].family), cands[i].addr, cands[i].len,
				       &vals[i]) != 0) {
				fail("anchor set", &cands[i]);
			}
			t_lpmref_set(&refs[cands[i].family == AF_INET6], cands[i].addr,
				     cands[i].len, &vals[i]);
		}
	}
	for (int i = 0; i < NUM_READERS; i++) {
		pthread_create(&th[i], NULL, reader, &rst[i]);
	}
	deadline = rv_now_ns() + (uint64_t)(seconds * 1e9);
	while (rv_now_ns() < deadline) {
		writer_step(&rnd, refs, &w);
		if (rv_now_ns() >= next_reclaim) {
			w.freed += rv_qsbr_reclaim(qsbr);
			next_reclaim = rv_now_ns() + 100000; /* the control timer */
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < NUM_READERS; i++) {
		pthread_join(th[i], NULL);
		lookups += rst[i].lookups;
		hits += rst[i].hits;
		anchors += rst[i].anchor_checks;
		turns += rst[i].turns;
	}
	final_check(refs);
	w.freed += rv_qsbr_reclaim(qsbr);
	if (rv_qsbr_pending(qsbr) != 0) {
		fail("retired batches left after the last reclaim", NULL);
	}
	rv_lpm_free(tables[0]);
	rv_lpm_free(tables[1]);
	rv_qsbr_free(qsbr);
	t_lpmref_cleanup(&refs[0]);
	t_lpmref_cleanup(&refs[1]);
	printf("stress_lpm: %.1fs readers=%d prefixes=%zu lookups=%llu hits=%llu "
	       "anchor_checks=%llu "
	       "quiescent=%llu | writer sets=%llu removes=%llu replaces=%llu batches_freed=%llu | "
	       "errors=%llu\n",
	       seconds, NUM_READERS, num_cands, (unsigned long long)lookups,
	       (unsigned long long)hits, (unsigned long long)anchors, (unsigned long long)turns,
	       (unsigned long long)w.sets, (unsigned long long)w.removes,
	       (unsigned long long)w.replaces, (unsigned long long)w.freed,
	       (unsigned long long)atomic_load(&error_count));
	if (hits == 0 || anchors == 0 || w.freed == 0 || w.removes == 0) {
		fprintf(stderr, "stress_lpm: ERROR nothing exercised\n");
		return 1;
	}
	return atomic_load(&error_count) ? 1 : 0;
}
