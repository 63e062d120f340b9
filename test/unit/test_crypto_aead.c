/*
 * test_crypto_aead.c — crypto/aead.c: known answers (GCM spec, NIST CAVP,
 * RFC 8439) read from test/vectors/, round trips, tamper detection, zero
 * state and wiping, and concurrent use of one context.
 *
 *   ctest --test-dir build -R test_crypto_aead     (or run the binary)
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/errq.h"
#include "crypto/rand.h"
#include "test/lib/t_vectors.h"

static const enum rv_aead_alg algs[] = { RV_AEAD_AES256GCM, RV_AEAD_CHACHA20POLY1305 };

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		if (b[i] != 0) {
			return false;
		}
	}
	return true;
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

static const uint8_t *need(struct t_vectors *tv, const char *name, size_t *len)
{
	const uint8_t *v = t_vectors_get(tv, name, len);

	cr_assert_not_null(v, "record at line %u lacks %s", t_vectors_line(tv), name);
	return v;
}

/* run_kat checks every record of |file| in both directions and returns how
 * many records it checked and how many also went through the counter API. */
static void run_kat(enum rv_aead_alg alg, const char *file, size_t *out_num, size_t *out_ctr)
{
	struct t_vectors *tv = t_vectors_open(file);
	enum t_vectors_result r;

	cr_assert_not_null(tv, "cannot open %s: %s", file, strerror(errno));
	*out_num = *out_ctr = 0;
	while ((r = t_vectors_next(tv)) == T_VECTORS_RECORD) {
		size_t key_len, nonce_len, in_len, ad_len, ct_len, tag_len, case_len = 0;
		const uint8_t *key = need(tv, "KEY", &key_len);
		const uint8_t *nonce = need(tv, "NONCE", &nonce_len);
		const uint8_t *in = need(tv, "IN", &in_len);
		const uint8_t *ad = need(tv, "AD", &ad_len);
		const uint8_t *ct = need(tv, "CT", &ct_len);
		const uint8_t *tag = need(tv, "TAG", &tag_len);
		const uint8_t *name = t_vectors_get(tv, "CASE", &case_len);
		unsigned line = t_vectors_line(tv);
		struct rv_aead aead = { 0 };
		uint8_t *buf;

		cr_assert_eq(key_len, RV_AEAD_KEY_LEN, "line %u: key length", line);
		cr_assert_eq(nonce_len, RV_AEAD_NONCE_LEN, "line %u: nonce length", line);
		cr_assert_eq(tag_len, RV_AEAD_TAG_LEN, "line %u: tag length", line);
		cr_assert_eq(in_len, ct_len, "line %u: IN and CT lengths differ", line);
		cr_assert_eq(rv_aead_init(&aead, alg, key), 0);
		buf = malloc(in_len + RV_AEAD_TAG_LEN);
		cr_assert_not_null(buf);

		/* Seal: ciphertext || tag must match the published values. */
		memcpy(buf, in, in_len);
		cr_assert_eq(rv_aead_seal_iv(&aead, nonce, buf, in_len, ad, ad_len), 0);
		cr_assert(memcmp(buf, ct, ct_len) == 0, "line %u (%.*s): ciphertext mismatch", line,
			  (int)case_len, name ? (const char *)name : "");
		cr_assert(memcmp(buf + in_len, tag, tag_len) == 0, "line %u (%.*s): tag mismatch",
			  line, (int)case_len, name ? (const char *)name : "");

		/* Open the published ciphertext || tag. */
		memcpy(buf, ct, ct_len);
		memcpy(buf + ct_len, tag, tag_len);
		cr_assert_eq(rv_aead_open_iv(&aead, nonce, buf, ct_len + tag_len, ad, ad_len), 0,
			     "line %u: open failed", line);
		cr_assert(memcmp(buf, in, in_len) == 0, "line %u: plaintext mismatch", line);

		/* A nonce of the form 0^32 || c is a ringvpn nonce: the data-path
		 * API with counter c must give the same answer. This pins the
		 * nonce layout (prefix, byte order) to the published vectors. */
		if (all_zero(nonce, 4)) {
			uint64_t ctr = be64_at(nonce + 4);

			memcpy(buf, in, in_len);
			cr_assert_eq(rv_aead_seal(&aead, ctr, buf, in_len, ad, ad_len), 0);
			cr_assert(memcmp(buf, ct, ct_len) == 0 &&
					  memcmp(buf + in_len, tag, tag_len) == 0,
				  "line %u: rv_aead_seal(counter) disagrees with the vector", line);
			cr_assert_eq(rv_aead_open(&aead, ctr, buf, in_len + tag_len, ad, ad_len),
				     0);
			cr_assert(memcmp(buf, in, in_len) == 0);
			++*out_ctr;
		}
		free(buf);
		rv_aead_cleanup(&aead);
		++*out_num;
	}
	cr_assert_eq(r, T_VECTORS_EOF, "%s", t_vectors_error(tv));
	t_vectors_free(tv);
}

Test(aead, kat_aes_256_gcm)
{
	size_t num, num_ctr;

	run_kat(RV_AEAD_AES256GCM, RV_TEST_VECTORS "/aes_256_gcm.txt", &num, &num_ctr);
	cr_assert_eq(num, 5, "expected GCM spec tc13-16 + 1 CAVP vector, checked %zu", num);
	cr_assert_eq(num_ctr, 2, "tc13/tc14 (zero IV) also go through rv_aead_seal");
}

Test(aead, kat_chacha20_poly1305)
{
	size_t num, num_ctr;

	run_kat(RV_AEAD_CHACHA20POLY1305, RV_TEST_VECTORS "/chacha20_poly1305.txt", &num, &num_ctr);
	cr_assert_eq(num, 2, "expected RFC 8439 §2.8.2 and A.5, checked %zu", num);
	cr_assert_eq(num_ctr, 1, "A.5's nonce is a ringvpn nonce");
}

/* The data-path nonce is 4 zero bytes || counter big-endian, for any counter. */
Test(aead, nonce_layout)
{
	static const uint64_t ctrs[] = {
		0, 1, 0xff, 0x100, 0x0102030405060708ull, UINT64_MAX - 1, UINT64_MAX
	};
	uint8_t key[RV_AEAD_KEY_LEN], ad[16], a[64 + RV_AEAD_TAG_LEN], b[sizeof(a)];

	rv_rand_bytes(key, sizeof(key));
	rv_rand_bytes(ad, sizeof(ad));
	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		struct rv_aead aead = { 0 };

		cr_assert_eq(rv_aead_init(&aead, algs[k], key), 0);
		for (size_t i = 0; i < sizeof(ctrs) / sizeof(ctrs[0]); i++) {
			uint8_t nonce[RV_AEAD_NONCE_LEN] = { 0 };

			for (int j = 0; j < 8; j++) {
				nonce[4 + j] = (uint8_t)(ctrs[i] >> (56 - 8 * j));
			}
			rv_rand_bytes(a, 64);
			memcpy(b, a, 64);
			cr_assert_eq(rv_aead_seal(&aead, ctrs[i], a, 64, ad, sizeof(ad)), 0);
			cr_assert_eq(rv_aead_seal_iv(&aead, nonce, b, 64, ad, sizeof(ad)), 0);
			cr_assert(memcmp(a, b, sizeof(a)) == 0, "counter %#llx",
				  (unsigned long long)ctrs[i]);
		}
		rv_aead_cleanup(&aead);
	}
}

static void roundtrip(enum rv_aead_alg alg, size_t len)
{
	uint8_t key[RV_AEAD_KEY_LEN], hdr[16];
	uint8_t *pt = malloc(len + 1), *buf = malloc(len + RV_AEAD_TAG_LEN);
	struct rv_aead aead = { 0 };
	uint64_t ctr;

	cr_assert(pt != NULL && buf != NULL);
	rv_rand_bytes(key, sizeof(key));
	rv_rand_bytes(hdr, sizeof(hdr));
	rv_rand_bytes(pt, len);
	rv_rand_bytes((uint8_t *)&ctr, sizeof(ctr));
	memcpy(buf, pt, len);
	cr_assert_eq(rv_aead_init(&aead, alg, key), 0);
	cr_assert_eq(rv_aead_seal(&aead, ctr, buf, len, hdr, sizeof(hdr)), 0);
	if (len >= 16) {
		cr_assert(memcmp(buf, pt, len) != 0, "%s len %zu: payload not encrypted",
			  rv_aead_alg_name(alg), len);
	}
	cr_assert(!all_zero(buf + len, RV_AEAD_TAG_LEN), "tag not written");
	cr_assert_eq(rv_aead_open(&aead, ctr, buf, len + RV_AEAD_TAG_LEN, hdr, sizeof(hdr)), 0,
		     "%s len %zu: open failed", rv_aead_alg_name(alg), len);
	cr_assert(memcmp(buf, pt, len) == 0, "%s len %zu: plaintext differs", rv_aead_alg_name(alg),
		  len);
	rv_aead_cleanup(&aead);
	free(pt);
	free(buf);
}

Test(aead, roundtrip_sizes)
{
	static const size_t big[] = { 127,  128,  129,	255,  256,   257,   511,  512,
				      513,  1023, 1024, 1279, 1280,  1419,  1420, 1421,
				      1472, 1500, 4096, 9000, 16383, 65535, 65536 };

	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		for (size_t len = 0; len <= 96; len++) {
			roundtrip(algs[k], len);
		}
		for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
			roundtrip(algs[k], big[i]);
		}
	}
}

/* Every single-bit change to ciphertext, tag or AAD, and every truncation,
 * must be rejected with -EBADMSG. */
Test(aead, tamper_detection)
{
	enum { LEN = 40, HDR = 16 };
	uint8_t key[RV_AEAD_KEY_LEN], hdr[HDR], sealed[LEN + RV_AEAD_TAG_LEN];
	uint8_t buf[sizeof(sealed)], h[HDR];
	char ebuf[128];

	rv_rand_bytes(key, sizeof(key));
	rv_rand_bytes(hdr, sizeof(hdr));
	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		struct rv_aead aead = { 0 };

		cr_assert_eq(rv_aead_init(&aead, algs[k], key), 0);
		rv_rand_bytes(sealed, LEN);
		cr_assert_eq(rv_aead_seal(&aead, 7, sealed, LEN, hdr, HDR), 0);

		for (size_t bit = 0; bit < sizeof(sealed) * 8; bit++) {
			memcpy(buf, sealed, sizeof(buf));
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cr_assert_eq(rv_aead_open(&aead, 7, buf, sizeof(buf), hdr, HDR), -EBADMSG,
				     "%s: flipped ciphertext/tag bit %zu accepted",
				     rv_aead_alg_name(algs[k]), bit);
		}
		for (size_t bit = 0; bit < HDR * 8; bit++) {
			memcpy(buf, sealed, sizeof(buf));
			memcpy(h, hdr, HDR);
			h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cr_assert_eq(rv_aead_open(&aead, 7, buf, sizeof(buf), h, HDR), -EBADMSG,
				     "flipped AAD bit %zu accepted", bit);
		}
		for (size_t cut = 1; cut <= LEN; cut++) {
			memcpy(buf, sealed, sizeof(buf));
			cr_assert_eq(rv_aead_open(&aead, 7, buf, sizeof(buf) - cut, hdr, HDR),
				     -EBADMSG, "truncated by %zu accepted", cut);
		}
		/* Dropping or adding AAD bytes must fail too. */
		memcpy(buf, sealed, sizeof(buf));
		cr_assert_eq(rv_aead_open(&aead, 7, buf, sizeof(buf), hdr, HDR - 1), -EBADMSG);
		memcpy(buf, sealed, sizeof(buf));
		cr_assert_eq(rv_aead_open(&aead, 7, buf, sizeof(buf), NULL, 0), -EBADMSG);

		/* The untouched packet still opens: the failures above were not
		 * caused by a broken context. */
		memcpy(buf, sealed, sizeof(buf));
		cr_assert_eq(rv_aead_open(&aead, 7, buf, sizeof(buf), hdr, HDR), 0);
		rv_aead_cleanup(&aead);
	}
	/* Failed opens must not leave reasons in this thread's error queue. */
	cr_assert_str_eq(rv_crypto_errors_str(ebuf, sizeof(ebuf)), "unknown error");
}

Test(aead, wrong_counter_key_or_alg_fails)
{
	enum { LEN = 100 };
	uint8_t key[RV_AEAD_KEY_LEN], key2[RV_AEAD_KEY_LEN], hdr[16];
	uint8_t sealed[LEN + RV_AEAD_TAG_LEN], buf[sizeof(sealed)];
	static const uint64_t ctr = 1000;
	static const uint64_t wrong[] = { 999, 1001, 0, 1000 ^ (1ull << 63), 1000ull << 32 };
	struct rv_aead a = { 0 }, b = { 0 };

	rv_rand_bytes(key, sizeof(key));
	memcpy(key2, key, sizeof(key));
	key2[31] ^= 1;
	rv_rand_bytes(hdr, sizeof(hdr));
	rv_rand_bytes(sealed, LEN);
	cr_assert_eq(rv_aead_init(&a, RV_AEAD_AES256GCM, key), 0);
	cr_assert_eq(rv_aead_seal(&a, ctr, sealed, LEN, hdr, sizeof(hdr)), 0);
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		memcpy(buf, sealed, sizeof(buf));
		cr_assert_eq(rv_aead_open(&a, wrong[i], buf, sizeof(buf), hdr, sizeof(hdr)),
			     -EBADMSG, "counter %#llx accepted", (unsigned long long)wrong[i]);
	}
	cr_assert_eq(rv_aead_init(&b, RV_AEAD_AES256GCM, key2), 0);
	memcpy(buf, sealed, sizeof(buf));
	cr_assert_eq(rv_aead_open(&b, ctr, buf, sizeof(buf), hdr, sizeof(hdr)), -EBADMSG);
	cr_assert_eq(rv_aead_init(&b, RV_AEAD_CHACHA20POLY1305, key), 0);
	memcpy(buf, sealed, sizeof(buf));
	cr_assert_eq(rv_aead_open(&b, ctr, buf, sizeof(buf), hdr, sizeof(hdr)), -EBADMSG);
	memcpy(buf, sealed, sizeof(buf));
	cr_assert_eq(rv_aead_open(&a, ctr, buf, sizeof(buf), hdr, sizeof(hdr)), 0);
	rv_aead_cleanup(&a);
	rv_aead_cleanup(&b);
}

Test(aead, open_rejects_short_and_uninitialised)
{
	uint8_t key[RV_AEAD_KEY_LEN] = { 1 }, buf[64] = { 0 };
	struct rv_aead aead = { 0 };

	cr_assert_eq(rv_aead_open(&aead, 0, buf, sizeof(buf), NULL, 0), -EINVAL);
	cr_assert_eq(rv_aead_seal(&aead, 0, buf, 16, NULL, 0), -EINVAL);
	cr_assert_eq(rv_aead_init(&aead, RV_AEAD_AES256GCM, key), 0);
	for (size_t len = 0; len < RV_AEAD_TAG_LEN; len++) {
		cr_assert_eq(rv_aead_open(&aead, 0, buf, len, NULL, 0), -EINVAL, "len %zu", len);
	}
	/* Exactly a tag: empty payload, fails authentication (not length). */
	cr_assert_eq(rv_aead_open(&aead, 0, buf, RV_AEAD_TAG_LEN, NULL, 0), -EBADMSG);
	/* An empty payload that was sealed opens. */
	cr_assert_eq(rv_aead_seal(&aead, 5, buf, 0, NULL, 0), 0);
	cr_assert_eq(rv_aead_open(&aead, 5, buf, RV_AEAD_TAG_LEN, NULL, 0), 0);
	rv_aead_cleanup(&aead);
}

Test(aead, init_rejects_bad_alg_and_key)
{
	uint8_t key[RV_AEAD_KEY_LEN] = { 0 };
	static const int bad[] = { RV_AEAD_NONE, 3, 7, 255, -1 };
	struct rv_aead aead = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(rv_aead_init(&aead, (enum rv_aead_alg)bad[i], key), -EINVAL,
			     "alg %d accepted", bad[i]);
		cr_assert(!rv_aead_ready(&aead));
		cr_assert(all_zero(&aead, sizeof(aead)));
	}
	cr_assert_eq(rv_aead_init(&aead, RV_AEAD_AES256GCM, NULL), -EINVAL);
	cr_assert(!rv_aead_ready(&aead));

	/* A failed init on a keyed object leaves the wiped zero state. */
	cr_assert_eq(rv_aead_init(&aead, RV_AEAD_AES256GCM, key), 0);
	cr_assert_eq(rv_aead_init(&aead, RV_AEAD_NONE, key), -EINVAL);
	cr_assert(!rv_aead_ready(&aead));
	cr_assert(all_zero(&aead, sizeof(aead)));
}

Test(aead, cleanup_wipes_and_zero_state_is_safe)
{
	uint8_t key[RV_AEAD_KEY_LEN], buf[32 + RV_AEAD_TAG_LEN] = { 0 };
	struct rv_aead zero = { 0 };

	/* Zero state: cleanup (twice) is a no-op, calls fail cleanly. */
	rv_aead_cleanup(&zero);
	rv_aead_cleanup(&zero);
	cr_assert(!rv_aead_ready(&zero));
	cr_assert(all_zero(&zero, sizeof(zero)));

	rv_rand_bytes(key, sizeof(key));
	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		struct rv_aead aead = { 0 };

		cr_assert_eq(rv_aead_init(&aead, algs[k], key), 0);
		cr_assert(rv_aead_ready(&aead));
		cr_assert_eq(aead.alg, algs[k]);
		cr_assert(!all_zero(aead.storage, sizeof(aead.storage)),
			  "initialised context holds no key material?");
		cr_assert_eq(rv_aead_seal(&aead, 1, buf, 32, NULL, 0), 0);
		rv_aead_cleanup(&aead);
		cr_assert(all_zero(aead.storage, sizeof(aead.storage)),
			  "%s: key schedule left in storage after cleanup",
			  rv_aead_alg_name(algs[k]));
		cr_assert_eq(aead.alg, RV_AEAD_NONE);
		cr_assert(!rv_aead_ready(&aead));
		cr_assert_eq(rv_aead_seal(&aead, 1, buf, 32, NULL, 0), -EINVAL);
		cr_assert_eq(rv_aead_open(&aead, 1, buf, sizeof(buf), NULL, 0), -EINVAL);
		rv_aead_cleanup(&aead);
	}
}

/* Re-initialising with a new key replaces the old one. */
Test(aead, reinit_replaces_key)
{
	uint8_t k1[RV_AEAD_KEY_LEN], k2[RV_AEAD_KEY_LEN], buf[48 + RV_AEAD_TAG_LEN] = { 0 };
	uint8_t copy[sizeof(buf)];
	struct rv_aead aead = { 0 };

	rv_rand_bytes(k1, sizeof(k1));
	rv_rand_bytes(k2, sizeof(k2));
	cr_assert_eq(rv_aead_init(&aead, RV_AEAD_AES256GCM, k1), 0);
	cr_assert_eq(rv_aead_seal(&aead, 3, buf, 48, NULL, 0), 0);
	memcpy(copy, buf, sizeof(buf));
	cr_assert_eq(rv_aead_init(&aead, RV_AEAD_CHACHA20POLY1305, k2), 0);
	cr_assert_eq(aead.alg, RV_AEAD_CHACHA20POLY1305);
	cr_assert_eq(rv_aead_open(&aead, 3, buf, sizeof(buf), NULL, 0), -EBADMSG);
	cr_assert_eq(rv_aead_init(&aead, RV_AEAD_AES256GCM, k1), 0);
	cr_assert_eq(rv_aead_open(&aead, 3, copy, sizeof(copy), NULL, 0), 0);
	rv_aead_cleanup(&aead);
}

Test(aead, alg_names)
{
	cr_assert_str_eq(rv_aead_alg_name(RV_AEAD_AES256GCM), "aes-256-gcm");
	cr_assert_str_eq(rv_aead_alg_name(RV_AEAD_CHACHA20POLY1305), "chacha20-poly1305");
	cr_assert_str_eq(rv_aead_alg_name(RV_AEAD_NONE), "none");
	cr_assert_eq(rv_aead_alg_parse("aes-256-gcm"), RV_AEAD_AES256GCM);
	cr_assert_eq(rv_aead_alg_parse("chacha20-poly1305"), RV_AEAD_CHACHA20POLY1305);
	cr_assert_eq(rv_aead_alg_parse("AES-256-GCM"), RV_AEAD_NONE);
	cr_assert_eq(rv_aead_alg_parse("aes-256-gcm "), RV_AEAD_NONE);
	cr_assert_eq(rv_aead_alg_parse(""), RV_AEAD_NONE);
	cr_assert_eq(rv_aead_alg_parse("none"), RV_AEAD_NONE);
	cr_assert_eq(rv_aead_alg_parse(NULL), RV_AEAD_NONE);
}

/* Concurrency: two threads seal and open with one shared context at the same
 * time; every packet must equal the single-threaded reference. */
enum { CONC_PKTS = 2000, CONC_LEN = 200 };

struct conc_arg {
	const struct rv_aead *aead;
	pthread_barrier_t *start;
	uint64_t first_ctr;
	const uint8_t *plain;
	uint8_t *out; /* CONC_PKTS sealed packets */
	size_t bad_open;
};

static void *conc_worker(void *p)
{
	struct conc_arg *a = p;
	uint8_t hdr[16] = { 0 };

	pthread_barrier_wait(a->start);
	for (size_t i = 0; i < CONC_PKTS; i++) {
		uint8_t *pkt = a->out + i * (CONC_LEN + RV_AEAD_TAG_LEN);
		uint64_t ctr = a->first_ctr + i;

		memcpy(hdr, &ctr, sizeof(ctr));
		memcpy(pkt, a->plain, CONC_LEN);
		if (rv_aead_seal(a->aead, ctr, pkt, CONC_LEN, hdr, sizeof(hdr)) != 0) {
			a->bad_open++;
		}
	}
	/* Second phase: open a copy of every packet, also concurrently. */
	for (size_t i = 0; i < CONC_PKTS; i++) {
		uint8_t tmp[CONC_LEN + RV_AEAD_TAG_LEN];
		uint64_t ctr = a->first_ctr + i;

		memcpy(hdr, &ctr, sizeof(ctr));
		memcpy(tmp, a->out + i * sizeof(tmp), sizeof(tmp));
		if (rv_aead_open(a->aead, ctr, tmp, sizeof(tmp), hdr, sizeof(hdr)) != 0 ||
		    memcmp(tmp, a->plain, CONC_LEN) != 0) {
			a->bad_open++;
		}
	}
	return NULL;
}

Test(aead, concurrent_seal_open_one_ctx, .timeout = 30)
{
	const size_t pkt = CONC_LEN + RV_AEAD_TAG_LEN;
	uint8_t key[RV_AEAD_KEY_LEN], plain[CONC_LEN];
	struct rv_aead aead = { 0 };
	pthread_barrier_t start;
	struct conc_arg args[2];
	pthread_t th[2];
	uint8_t *ref = malloc(2 * CONC_PKTS * pkt);

	cr_assert_not_null(ref);
	rv_rand_bytes(key, sizeof(key));
	rv_rand_bytes(plain, sizeof(plain));
	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		cr_assert_eq(rv_aead_init(&aead, algs[k], key), 0);
		/* Reference, single-threaded: counters 0..2*CONC_PKTS-1. */
		for (size_t i = 0; i < 2 * CONC_PKTS; i++) {
			uint8_t hdr[16] = { 0 };
			uint64_t ctr = i;

			memcpy(hdr, &ctr, sizeof(ctr));
			memcpy(ref + i * pkt, plain, CONC_LEN);
			cr_assert_eq(rv_aead_seal(&aead, ctr, ref + i * pkt, CONC_LEN, hdr,
						  sizeof(hdr)),
				     0);
		}
		cr_assert_eq(pthread_barrier_init(&start, NULL, 2), 0);
		for (int t = 0; t < 2; t++) {
			args[t] = (struct conc_arg){
				.aead = &aead,
				.start = &start,
				.first_ctr = (uint64_t)t * CONC_PKTS,
				.plain = plain,
				.out = malloc(CONC_PKTS * pkt),
			};
			cr_assert_not_null(args[t].out);
			cr_assert_eq(pthread_create(&th[t], NULL, conc_worker, &args[t]), 0);
		}
		for (int t = 0; t < 2; t++) {
			cr_assert_eq(pthread_join(th[t], NULL), 0);
			cr_assert_eq(args[t].bad_open, 0, "thread %d: %zu failures", t,
				     args[t].bad_open);
			cr_assert(memcmp(args[t].out, ref + (size_t)t * CONC_PKTS * pkt,
					 CONC_PKTS * pkt) == 0,
				  "%s: thread %d's packets differ from the reference",
				  rv_aead_alg_name(algs[k]), t);
			free(args[t].out);
		}
		pthread_barrier_destroy(&start);
		rv_aead_cleanup(&aead);
	}
	free(ref);
}

/* rv_aead_seal_ext over (head | extra) must produce exactly the bytes
 * rv_aead_seal produces over the concatenation, for every split point around
 * block boundaries, both algorithms; and the result opens. */
Test(aead, seal_ext_equals_contiguous_seal)
{
	static const size_t heads[] = { 0, 1, 15, 16, 17, 40, 52, 64, 95, 96, 97 };
	static const size_t extras[] = { 0, 1, 15, 16, 17, 255, 256, 1368, 1400 };
	uint8_t key[RV_AEAD_KEY_LEN], hdr[16], pt[1600];
	uint8_t ref[1600 + RV_AEAD_TAG_LEN], got[1600 + RV_AEAD_TAG_LEN];

	rv_rand_bytes(key, sizeof(key));
	rv_rand_bytes(hdr, sizeof(hdr));
	rv_rand_bytes(pt, sizeof(pt));
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		struct rv_aead aead = { 0 };

		cr_assert_eq(rv_aead_init(&aead, algs[a], key), 0);
		for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
			for (size_t e = 0; e < sizeof(extras) / sizeof(extras[0]); e++) {
				size_t hl = heads[h], el = extras[e], n = hl + el;
				uint64_t ctr = 1000 + h * 100 + e;

				memcpy(ref, pt, n);
				cr_assert_eq(rv_aead_seal(&aead, ctr, ref, n, hdr, sizeof(hdr)), 0);
				memset(got, 0xa5, sizeof(got));
				memcpy(got, pt, hl);
				cr_assert_eq(rv_aead_seal_ext(&aead, ctr, got, hl, pt + hl, el, hdr,
							      sizeof(hdr)),
					     0);
				cr_assert(memcmp(ref, got, n + RV_AEAD_TAG_LEN) == 0,
					  "%s head %zu extra %zu: seal_ext differs from seal",
					  rv_aead_alg_name(algs[a]), hl, el);
				cr_assert_eq(rv_aead_open(&aead, ctr, got, n + RV_AEAD_TAG_LEN, hdr,
							  sizeof(hdr)),
					     0);
				cr_assert(memcmp(got, pt, n) == 0);
			}
		}
		rv_aead_cleanup(&aead);
	}
	{
		struct rv_aead none = { 0 };
		cr_assert_eq(rv_aead_seal_ext(&none, 1, got, 4, pt, 4, hdr, sizeof(hdr)), -EINVAL);
	}
}
