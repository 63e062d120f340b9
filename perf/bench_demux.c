/*
 * bench_demux.c — cost of the session tables and of the session batch crypto.
 *
 * Lookups: by receiver index, by inner IPv4 and by inner IPv6 destination,
 * with 1 and with 65,536 published sessions, over a precomputed random
 * sequence of existing keys (so caches and the branch predictor see the
 * spread a busy server sees). Lookups are independent of one another, so the
 * figure is throughput per lookup (the CPU overlaps cache misses), which is
 * what a worker's batch does. Best of several rounds.
 *
 * Sealing and opening: rv_session_seal_batch / rv_session_open_batch on
 * batches of 32 datagrams of 1420-byte payload, against raw rv_aead_seal of
 * the same payloads taken in the same run (the session's own overhead is the
 * difference). open is measured as (seal + open) - seal, because a datagram
 * opens only once. Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
 * so a busy shared machine inflates them less than wall time would.
 *
 *   build/<dir>/perf/bench_demux
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/demux.h"
#include "core/session.h"
#include "core/wire.h"
#include "crypto/aead.h"
#include "crypto/rand.h"

enum {
	BIG = 65536,
	PICKS = 1 << 20,
	ROUNDS = 5,
	BATCH = 32,
	MTU = 1420,
	CRYPTO_ITERS = 2000,
};

static volatile uintptr_t sink;

/* cpu_ns: this thread's CPU time. Other helpers and VMs share the machine, so
 * wall time would count the time we were not running at all. */

struct table {
	struct rv_demux *d;
	struct rv_session **s;
	size_t n;
	uint32_t *pick_idx;
	uint8_t (*pick4)[4];
	uint8_t (*pick6)[16];
};

static void table_build(struct table *t, size_t n)
{
	t->d = rv_demux_new(n, NULL);
	t->s = calloc(n, sizeof(*t->s));
	t->n = n;
	t->pick_idx = malloc(PICKS * sizeof(*t->pick_idx));
	t->pick4 = malloc(PICKS * sizeof(*t->pick4));
	t->pick6 = malloc(PICKS * sizeof(*t->pick6));
	if (!t->d || !t->s || !t->pick_idx || !t->pick4 || !t->pick6) {
		fprintf(stderr, "bench_demux: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		struct rv_session_params p = { .remote_index = 1 };

		if (rv_demux_alloc_index(t->d, &p.local_index) != 0) {
			fprintf(stderr, "bench_demux: alloc_index failed\n");
			exit(1);
		}
		p.vaddr4.family = AF_INET;
		p.vaddr4.a[0] = 10;
		p.vaddr4.a[1] = (uint8_t)(i >> 16);
		p.vaddr4.a[2] = (uint8_t)(i >> 8);
		p.vaddr4.a[3] = (uint8_t)i;
		p.vaddr6.family = AF_INET6;
		p.vaddr6.a[0] = 0xfd;
		p.vaddr6.a[13] = (uint8_t)(i >> 16);
		p.vaddr6.a[14] = (uint8_t)(i >> 8);
		p.vaddr6.a[15] = (uint8_t)i;
		t->s[i] = rv_session_new(&p);
		if (!t->s[i] || rv_demux_add(t->d, t->s[i]) != 0) {
			fprintf(stderr, "bench_demux: add failed\n");
			exit(1);
		}
	}
	for (size_t i = 0; i < PICKS; i++) {
		struct rv_session *s = t->s[rv_rand_u32() % n];

		t->pick_idx[i] = rv_session_local_index(s);
		memcpy(t->pick4[i], rv_session_vaddr4(s)->a, 4);
		memcpy(t->pick6[i], rv_session_vaddr6(s)->a, 16);
	}
}

static void table_free(struct table *t)
{
	rv_demux_free(t->d);
	for (size_t i = 0; i < t->n; i++) {
		rv_session_free(t->s[i]);
	}
	free(t->s);
	free(t->pick_idx);
	free(t->pick4);
	free(t->pick6);
}

enum kind { BY_INDEX, BY_V4, BY_V6 };

static double bench_lookup(const struct table *t, enum kind k)
{
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		uintptr_t acc = 0;
		size_t misses = 0;
		uint64_t t0 = rv_thread_cpu_ns(), dt;

		for (size_t i = 0; i < PICKS; i++) {
			struct rv_session *s;

			switch (k) {
			case BY_INDEX:
				s = rv_demux_by_index(t->d, t->pick_idx[i]);
				break;
			case BY_V4:
				s = rv_demux_by_dst4(t->d, t->pick4[i]);
				break;
			default:
				s = rv_demux_by_dst6(t->d, t->pick6[i]);
				break;
			}
			misses += s == NULL;
			acc += (uintptr_t)s;
		}
		dt = rv_thread_cpu_ns() - t0;
		sink = acc;
		if (misses) {
			fprintf(stderr, "bench_demux: %zu lookups missed\n", misses);
			exit(1);
		}
		if ((double)dt / PICKS < best) {
			best = (double)dt / PICKS;
		}
	}
	return best;
}

static double fmin_d(double x, double y)
{
	return x < y ? x : y;
}

struct crypto_res {
	double raw_seal, seal, open;
};

static void bench_crypto(struct crypto_res *out)
{
	struct rv_session_params pa = { .local_index = 1, .remote_index = 2 };
	struct rv_session_params pb = { .local_index = 2, .remote_index = 1 };
	uint8_t k1[RV_AEAD_KEY_LEN], k2[RV_AEAD_KEY_LEN];
	struct rv_session *a, *b;
	struct rv_aead raw = { 0 };
	struct rv_pkt pkts[BATCH] = { 0 };
	struct rv_data_hdr hdrs[BATCH];
	enum rv_session_result res[BATCH];
	uint8_t *bufs = calloc(BATCH, RV_MAX_DATAGRAM);
	uint64_t t0, now = rv_coarse_now_ns();
	double best_raw = 1e30, best_seal = 1e30, best_both = 1e30;

	rv_rand_bytes(k1, sizeof(k1));
	rv_rand_bytes(k2, sizeof(k2));
	a = rv_session_new(&pa);
	b = rv_session_new(&pb);
	if (!bufs || !a || !b || rv_session_install_epoch(a, NULL, 1, k1, k2, rv_coarse_now_ns()) ||
	    rv_session_install_epoch(b, NULL, 1, k2, k1, rv_coarse_now_ns()) ||
	    rv_session_activate_epoch(a, 1) || rv_session_activate_epoch(b, 1) ||
	    rv_aead_init(&raw, RV_AEAD_AES256GCM, k1)) {
		fprintf(stderr, "bench_demux: crypto setup failed\n");
		exit(1);
	}
	for (size_t i = 0; i < BATCH; i++) {
		pkts[i].buf = bufs + i * RV_MAX_DATAGRAM;
		rv_rand_bytes(pkts[i].buf + RV_DATA_HDR_LEN, MTU);
	}

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t ctr = 0;

		t0 = rv_thread_cpu_ns();
		for (int it = 0; it < CRYPTO_ITERS; it++) {
			for (size_t i = 0; i < BATCH; i++) {
				rv_aead_seal(&raw, ctr++, pkts[i].buf + RV_DATA_HDR_LEN, MTU,
					     pkts[i].buf, RV_DATA_HDR_LEN);
			}
		}
		best_raw = fmin_d(best_raw,
				  (double)(rv_thread_cpu_ns() - t0) / (CRYPTO_ITERS * BATCH));

		t0 = rv_thread_cpu_ns();
		for (int it = 0; it < CRYPTO_ITERS; it++) {
			for (size_t i = 0; i < BATCH; i++) {
				pkts[i].len = MTU;
			}
			if (rv_session_seal_batch(a, pkts, BATCH, now) != RV_SESSION_OK) {
				fprintf(stderr, "bench_demux: seal failed\n");
				exit(1);
			}
		}
		best_seal = fmin_d(best_seal,
				   (double)(rv_thread_cpu_ns() - t0) / (CRYPTO_ITERS * BATCH));

		t0 = rv_thread_cpu_ns();
		for (int it = 0; it < CRYPTO_ITERS; it++) {
			for (size_t i = 0; i < BATCH; i++) {
				pkts[i].len = MTU;
			}
			rv_session_seal_batch(a, pkts, BATCH, now);
			for (size_t i = 0; i < BATCH; i++) {
				rv_wire_parse_data_hdr(&hdrs[i], pkts[i].buf, pkts[i].len);
			}
			if (rv_session_open_batch(b, pkts, hdrs, res, BATCH, now) != BATCH) {
				fprintf(stderr, "bench_demux: open failed: %s\n",
					rv_session_result_str(res[0]));
				exit(1);
			}
		}
		best_both = fmin_d(best_both,
				   (double)(rv_thread_cpu_ns() - t0) / (CRYPTO_ITERS * BATCH));
	}
	out->raw_seal = best_raw;
	out->seal = best_seal;
	out->open = best_both - best_seal;
	rv_aead_cleanup(&raw);
	rv_session_free(a);
	rv_session_free(b);
	free(bufs);
}

int main(void)
{
	static const size_t sizes[] = { 1, BIG };
	static const char *const names[] = { "by_index", "by_dst4", "by_dst6" };
	struct crypto_res c;

	printf("| lookup | sessions | ns/lookup |\n|---|---:|---:|\n");
	for (size_t z = 0; z < 2; z++) {
		struct table t;

		table_build(&t, sizes[z]);
		for (int k = BY_INDEX; k <= BY_V6; k++) {
			printf("| %s | %zu | %.1f |\n", names[k], sizes[z],
			       bench_lookup(&t, (enum kind)k));
		}
		table_free(&t);
	}

	bench_crypto(&c);
	printf("\n| crypto (%d-byte payload, batch %d) | ns/packet | Gbit/s payload | vs raw aead "
	       "|\n"
	       "|---|---:|---:|---:|\n",
	       MTU, BATCH);
	printf("| raw rv_aead_seal (baseline) | %.1f | %.2f | 1.00 |\n", c.raw_seal,
	       MTU * 8 / c.raw_seal);
	printf("| rv_session_seal_batch | %.1f | %.2f | %.2f |\n", c.seal, MTU * 8 / c.seal,
	       c.seal / c.raw_seal);
	printf("| rv_session_open_batch | %.1f | %.2f | %.2f |\n", c.open, MTU * 8 / c.open,
	       c.open / c.raw_seal);
	return 0;
}
