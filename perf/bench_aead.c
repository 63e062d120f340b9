/*
 * bench_aead.c — cost of crypto/aead's wrappers against bare BoringSSL.
 *
 *   build/<dir>/perf/bench_aead [--quick] [--cpu N]
 *
 * For AES-256-GCM and ChaCha20-Poly1305 at 64, 512 and 1420-byte payloads
 * (16-byte header as AAD, the data-packet layout) it measures ns/packet of
 *   rv_aead_seal  vs  EVP_AEAD_CTX_seal   (both in place, fresh counter each call)
 *   rv_aead_open  vs  EVP_AEAD_CTX_open   (both in place)
 * in the same run. Each round times the four loops back to back in a rotating
 * order (so drift and turbo effects hit all of them alike). The table shows
 * the median ns over rounds, and as ratio the median over rounds of
 * wrapper/bare within the same round: pairing samples taken moments apart
 * keeps load from other processes on a shared machine out of the ratio. The baseline builds its
 * nonce per packet too, as any real caller must. Opening in place destroys
 * the ciphertext, so both open loops copy the sealed packet into the work
 * buffer before every call; that copy is in both columns.
 *
 * Output: a markdown table on stdout. This is a benchmark, not a test: it
 * exits 0 whatever the ratios are (it exits 1 only if a seal/open fails).
 *
 * Layering exception: perf/ normally never includes <openssl/…>. This file
 * includes <openssl/aead.h> (and nothing else from BoringSSL) solely to call
 * the bare EVP_AEAD_CTX_seal/open baseline.
 */
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/aead.h>

#include "core/clock.h"
#include "crypto/aead.h"
#include "crypto/rand.h"

#ifndef OPENSSL_IS_BORINGSSL
#error "the baseline must be BoringSSL, the library crypto/aead.c wraps"
#endif

enum {
	HDR_LEN = 16,
	MAX_LEN = 1420,
	NUM_LOOPS = 4,
};

enum loop { RV_SEAL, BARE_SEAL, RV_OPEN, BARE_OPEN };

static const char *const loop_names[NUM_LOOPS] = { "rv_aead_seal", "EVP_AEAD_CTX_seal",
						   "rv_aead_open", "EVP_AEAD_CTX_open" };

struct bench {
	struct rv_aead rv;
	EVP_AEAD_CTX bare;
	size_t len;
	uint8_t hdr[HDR_LEN];
	uint8_t sealed[MAX_LEN + RV_AEAD_TAG_LEN]; /* sealed under OPEN_CTR */
	uint8_t work[MAX_LEN + RV_AEAD_TAG_LEN];
	uint64_t ctr;
};

static const uint64_t OPEN_CTR = 0x1122334455667788ull;

static void nonce_of(uint8_t nonce[RV_AEAD_NONCE_LEN], uint64_t ctr)
{
	uint64_t be = htobe64(ctr);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &be, 8);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_aead: %s failed\n", what);
	exit(1);
}

/* run_loop runs |iters| calls of loop |l| and returns the elapsed ns. */
static uint64_t run_loop(struct bench *b, enum loop l, size_t iters)
{
	const size_t len = b->len, pkt = b->len + RV_AEAD_TAG_LEN;
	uint8_t nonce[RV_AEAD_NONCE_LEN];
	size_t out_len;
	uint64_t t0 = rv_now_ns();

	switch (l) {
	case RV_SEAL:
		for (size_t i = 0; i < iters; i++) {
			if (rv_aead_seal(&b->rv, b->ctr++, b->work, len, b->hdr, HDR_LEN) != 0) {
				die("rv_aead_seal");
			}
		}
		break;
	case BARE_SEAL:
		for (size_t i = 0; i < iters; i++) {
			nonce_of(nonce, b->ctr++);
			if (!EVP_AEAD_CTX_seal(&b->bare, b->work, &out_len, pkt, nonce,
					       sizeof(nonce), b->work, len, b->hdr, HDR_LEN)) {
				die("EVP_AEAD_CTX_seal");
			}
		}
		break;
	case RV_OPEN:
		for (size_t i = 0; i < iters; i++) {
			memcpy(b->work, b->sealed, pkt);
			if (rv_aead_open(&b->rv, OPEN_CTR, b->work, pkt, b->hdr, HDR_LEN) != 0) {
				die("rv_aead_open");
			}
		}
		break;
	case BARE_OPEN:
		for (size_t i = 0; i < iters; i++) {
			memcpy(b->work, b->sealed, pkt);
			nonce_of(nonce, OPEN_CTR);
			if (!EVP_AEAD_CTX_open(&b->bare, b->work, &out_len, len, nonce,
					       sizeof(nonce), b->work, pkt, b->hdr, HDR_LEN)) {
				die("EVP_AEAD_CTX_open");
			}
		}
		break;
	}
	return rv_now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
	double ns[NUM_LOOPS];
	double seal_ratio, open_ratio; /* medians of per-round ratios */
};

static void bench_one(enum rv_aead_alg alg, size_t len, size_t rounds, uint64_t target_ns,
		      struct result *out)
{
	const EVP_AEAD *evp =
		alg == RV_AEAD_AES256GCM ? EVP_aead_aes_256_gcm() : EVP_aead_chacha20_poly1305();
	static struct bench b; /* static: keeps the 2x1.4 KB buffers off the stack */
	uint8_t key[RV_AEAD_KEY_LEN];
	double *samples[NUM_LOOPS];
	size_t iters[NUM_LOOPS];

	memset(&b, 0, sizeof(b));
	b.len = len;
	rv_rand_bytes(key, sizeof(key));
	rv_rand_bytes(b.hdr, sizeof(b.hdr));
	rv_rand_bytes(b.sealed, len);
	rv_rand_bytes(b.work, len);
	if (rv_aead_init(&b.rv, alg, key) != 0) {
		die("rv_aead_init");
	}
	if (!EVP_AEAD_CTX_init(&b.bare, evp, key, sizeof(key), RV_AEAD_TAG_LEN, NULL)) {
		die("EVP_AEAD_CTX_init");
	}
	if (rv_aead_seal(&b.rv, OPEN_CTR, b.sealed, len, b.hdr, HDR_LEN) != 0) {
		die("rv_aead_seal");
	}
	/* Calibrate each loop to about |target_ns| per sample, after warm-up. */
	for (int l = 0; l < NUM_LOOPS; l++) {
		uint64_t t;

		run_loop(&b, (enum loop)l, 2000);
		t = run_loop(&b, (enum loop)l, 2000);
		iters[l] = (size_t)((double)target_ns / ((double)t / 2000.0));
		if (iters[l] < 200) {
			iters[l] = 200;
		}
		samples[l] = calloc(rounds, sizeof(double));
		if (samples[l] == NULL) {
			die("calloc");
		}
	}
	for (size_t r = 0; r < rounds; r++) {
		for (int k = 0; k < NUM_LOOPS; k++) {
			int l = (int)((r + (size_t)k) % NUM_LOOPS);

			samples[l][r] =
				(double)run_loop(&b, (enum loop)l, iters[l]) / (double)iters[l];
		}
	}
	{
		double *ratio = calloc(rounds, sizeof(double));

		if (ratio == NULL) {
			die("calloc");
		}
		for (size_t r = 0; r < rounds; r++) {
			ratio[r] = samples[RV_SEAL][r] / samples[BARE_SEAL][r];
		}
		out->seal_ratio = median(ratio, rounds);
		for (size_t r = 0; r < rounds; r++) {
			ratio[r] = samples[RV_OPEN][r] / samples[BARE_OPEN][r];
		}
		out->open_ratio = median(ratio, rounds);
		free(ratio);
	}
	for (int l = 0; l < NUM_LOOPS; l++) {
		out->ns[l] = median(samples[l], rounds);
		free(samples[l]);
	}
	EVP_AEAD_CTX_cleanup(&b.bare);
	rv_aead_cleanup(&b.rv);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_aead [--quick] [--cpu N]\n"
		   "  --quick   short run (fewer, shorter rounds) for smoke checks\n"
		   "  --cpu N   pin to CPU N first (less migration noise)\n");
}

int main(int argc, char **argv)
{
	static const enum rv_aead_alg algs[] = { RV_AEAD_AES256GCM, RV_AEAD_CHACHA20POLY1305 };
	static const size_t lens[] = { 64, 512, 1420 };
	/* Many short samples rather than a few long ones: a sample well under a
	 * scheduler time slice is rarely preempted, and the median discards the
	 * ones that were, so the numbers survive a busy 2-core build machine. */
	size_t rounds = 301;
	uint64_t target_ns = 200000; /* 0.2 ms per sample */
	double worst = 0;
	int cpu = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			rounds = 41;
			target_ns = 100000;
		} else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
			char *end;

			cpu = (int)strtol(argv[++i], &end, 10);
			if (*end != '\0' || cpu < 0) {
				usage(stderr);
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "bench_aead: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			fprintf(stderr, "bench_aead: cannot pin to CPU %d: %s\n", cpu,
				strerror(errno));
			return 1;
		}
	}

	printf("## bench_aead: %zu rounds x ~%.2f ms per loop, median ns/packet, AAD %d bytes\n\n",
	       rounds, (double)target_ns / 1e6, HDR_LEN);
	printf("| AEAD | payload B | %s | %s | seal ratio | %s | %s | open ratio |\n",
	       loop_names[RV_SEAL], loop_names[BARE_SEAL], loop_names[RV_OPEN],
	       loop_names[BARE_OPEN]);
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct result res;
			double rs, ro;

			bench_one(algs[a], lens[i], rounds, target_ns, &res);
			rs = res.seal_ratio;
			ro = res.open_ratio;
			worst = rs > worst ? rs : worst;
			worst = ro > worst ? ro : worst;
			printf("| %s | %zu | %.1f | %.1f | %.3f | %.1f | %.1f | %.3f |\n",
			       rv_aead_alg_name(algs[a]), lens[i], res.ns[RV_SEAL],
			       res.ns[BARE_SEAL], rs, res.ns[RV_OPEN], res.ns[BARE_OPEN], ro);
			fflush(stdout);
		}
	}
	printf("\nworst wrapper/bare ratio: %.3f (budget 1.20). "
	       "Open columns include one %s-byte memcpy per packet in both.\n",
	       worst, "payload+16");
	return 0;
}
