/*
 * bench_path.c — drives N packets through the data-channel seal and open
 * paths (rv_session_seal_batch / rv_session_open_batch) with no I/O, so that
 * callgrind can count instructions per packet and a plain run can time them.
 *
 *   bench_path [-m seal|open|both] [-n PACKETS] [-l PAYLOAD] [-b BATCH] [-t]
 *
 * Two sessions are set up as the two ends of one tunnel (epoch 1, random
 * keys). The measured work is in two functions that callgrind can isolate
 * with --toggle-collect:
 *   run_seal  — seals PACKETS payloads of PAYLOAD bytes, BATCH per call, on
 *               session A (header write + AEAD seal + counters);
 *   run_open  — parses and opens them on session B (rv_wire_parse_data_hdr +
 *               rv_session_open_batch: key slot lookup, replay check, AEAD
 *               open, counters).
 * In mode "open" the packets are sealed beforehand outside run_seal; in mode
 * "seal" they are opened afterwards outside run_open. Every mode verifies that
 * every packet opened to the original plaintext (exit 1 otherwise), so a
 * broken path cannot report a good number.
 *
 * -t prints wall-clock ns/packet and Gbit/s of payload for each measured
 * phase. perf/callgrind.sh runs this under valgrind with two PACKETS values
 * and divides the difference in instructions by the difference in packets.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/qsbr.h"
#include "core/session.h"
#include "core/wire.h"
#include "crypto/aead.h"

enum {
	MAX_BATCH = 256,
	DEFAULT_PACKETS = 10000,
	DEFAULT_BATCH = 32,
};

struct bench {
	struct rv_session *a, *b;
	uint8_t *arena;
	size_t stride;
	size_t num_pkts;
	size_t payload_len;
	size_t batch;
	uint64_t now_ns;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_path [-m seal|open|both] [-n PACKETS] [-l PAYLOAD] [-b BATCH] [-t]\n"
		"  -m  what to measure (default both)\n"
		"  -n  packets (default %d; 0 = set-up only, a callgrind baseline)\n"
		"  -l  payload bytes per packet, %d..%d (default %d)\n"
		"  -b  packets per seal/open call, 1..%d (default %d)\n"
		"  -t  print wall-clock ns/packet\n",
		DEFAULT_PACKETS, 1, RV_MAX_MTU, RV_DEFAULT_MTU, MAX_BATCH, DEFAULT_BATCH);
}

static uint8_t *pkt_at(const struct bench *bn, size_t i)
{
	return bn->arena + i * bn->stride;
}

static void fill_payload(uint8_t *p, size_t len, size_t i)
{
	for (size_t k = 0; k < len; k++) {
		p[k] = (uint8_t)(i * 131 + k * 7 + 1);
	}
}

/* seal_range seals packets [0, num_pkts) of the arena on session A. */
static int seal_range(struct bench *bn)
{
	struct rv_pkt pkts[MAX_BATCH];

	for (size_t i = 0; i < bn->num_pkts; i += bn->batch) {
		size_t n = bn->num_pkts - i < bn->batch ? bn->num_pkts - i : bn->batch;
		enum rv_session_result r;

		for (size_t k = 0; k < n; k++) {
			pkts[k] = (struct rv_pkt){ .buf = pkt_at(bn, i + k),
						   .len = (uint32_t)bn->payload_len };
		}
		r = rv_session_seal_batch(bn->a, pkts, n, bn->now_ns);
		if (r != RV_SESSION_OK && r != RV_SESSION_REKEY_SOON) {
			fprintf(stderr, "bench_path: seal failed: %s\n", rv_session_result_str(r));
			return -EIO;
		}
	}
	return 0;
}

/* The two functions callgrind collects; noinline keeps them visible. */
static __attribute__((noinline)) int run_seal(struct bench *bn)
{
	return seal_range(bn);
}

/* open_range parses and opens packets [0, num_pkts) on session B; returns how
 * many were accepted. */
static size_t open_range(struct bench *bn, size_t *out_bad_hdr)
{
	struct rv_pkt pkts[MAX_BATCH];
	struct rv_data_hdr hdrs[MAX_BATCH];
	enum rv_session_result results[MAX_BATCH];
	size_t accepted = 0, bad_hdr = 0;
	uint32_t dgram_len = (uint32_t)(bn->payload_len + RV_DATA_OVERHEAD);

	for (size_t i = 0; i < bn->num_pkts; i += bn->batch) {
		size_t n = bn->num_pkts - i < bn->batch ? bn->num_pkts - i : bn->batch;
		size_t m = 0;

		for (size_t k = 0; k < n; k++) {
			uint8_t *buf = pkt_at(bn, i + k);

			if (rv_wire_parse_data_hdr(&hdrs[m], buf, dgram_len) != RV_WIRE_OK) {
				bad_hdr++;
				continue;
			}
			pkts[m] = (struct rv_pkt){ .buf = buf, .len = dgram_len };
			m++;
		}
		accepted += rv_session_open_batch(bn->b, pkts, hdrs, results, m, bn->now_ns);
	}
	*out_bad_hdr = bad_hdr;
	return accepted;
}

static __attribute__((noinline)) size_t run_open(struct bench *bn, size_t *out_bad_hdr)
{
	return open_range(bn, out_bad_hdr);
}

static int verify(const struct bench *bn)
{
	uint8_t *want = malloc(bn->payload_len);
	size_t bad = 0;

	if (!want) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < bn->num_pkts; i++) {
		fill_payload(want, bn->payload_len, i);
		if (memcmp(pkt_at(bn, i) + RV_DATA_HDR_LEN, want, bn->payload_len) != 0) {
			bad++;
		}
	}
	free(want);
	if (bad) {
		fprintf(stderr, "bench_path: %zu of %zu packets did not round-trip\n", bad,
			bn->num_pkts);
		return -EIO;
	}
	return 0;
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		return -EINVAL;
	}
	*out = (size_t)v;
	return 0;
}

static int make_sessions(struct bench *bn, struct rv_qsbr *q)
{
	struct rv_session_params pa = { .local_index = 0x11111111, .remote_index = 0x22222222 };
	struct rv_session_params pb = { .local_index = 0x22222222, .remote_index = 0x11111111 };
	uint8_t k1[RV_AEAD_KEY_LEN], k2[RV_AEAD_KEY_LEN];

	for (size_t i = 0; i < RV_AEAD_KEY_LEN; i++) {
		k1[i] = (uint8_t)(0xa5 ^ (i * 29));
		k2[i] = (uint8_t)(0x3c ^ (i * 53));
	}
	bn->a = rv_session_new(&pa);
	bn->b = rv_session_new(&pb);
	if (!bn->a || !bn->b) {
		return -ENOMEM;
	}
	/* A sends with k1 and receives with k2; B the mirror image. */
	if (rv_session_install_epoch(bn->a, q, 1, k1, k2, rv_coarse_now_ns()) ||
	    rv_session_install_epoch(bn->b, q, 1, k2, k1, rv_coarse_now_ns()) ||
	    rv_session_activate_epoch(bn->a, 1) || rv_session_activate_epoch(bn->b, 1)) {
		return -EINVAL;
	}
	return 0;
}

static void report(const char *what, const struct bench *bn, uint64_t ns)
{
	double per = bn->num_pkts ? (double)ns / (double)bn->num_pkts : 0.0;
	double gbps = ns ? (double)bn->num_pkts * (double)bn->payload_len * 8.0 / (double)ns : 0.0;

	printf("%s: %zu packets x %zu B, batch %zu: %.1f ns/packet, %.2f Mpps, %.2f Gbit/s "
	       "payload\n",
	       what, bn->num_pkts, bn->payload_len, bn->batch, per, per > 0 ? 1e3 / per : 0.0,
	       gbps);
}

int main(int argc, char **argv)
{
	struct bench bn = { .num_pkts = DEFAULT_PACKETS,
			    .payload_len = RV_DEFAULT_MTU,
			    .batch = DEFAULT_BATCH };
	const char *mode = "both";
	bool do_seal, do_open, timing = false;
	struct rv_qsbr *q = NULL;
	uint64_t t0, t1;
	size_t bad_hdr = 0, accepted;
	int opt, ret = 1;

	while ((opt = getopt(argc, argv, "m:n:l:b:th")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'n':
			if (parse_size(optarg, 0, 100000000, &bn.num_pkts)) {
				fprintf(stderr, "bench_path: -n wants 0..100000000, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'l':
			if (parse_size(optarg, 1, RV_MAX_MTU, &bn.payload_len)) {
				fprintf(stderr, "bench_path: -l wants 1..%d, got '%s'\n",
					RV_MAX_MTU, optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_size(optarg, 1, MAX_BATCH, &bn.batch)) {
				fprintf(stderr, "bench_path: -b wants 1..%d, got '%s'\n", MAX_BATCH,
					optarg);
				return 2;
			}
			break;
		case 't':
			timing = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	do_seal = strcmp(mode, "seal") == 0 || strcmp(mode, "both") == 0;
	do_open = strcmp(mode, "open") == 0 || strcmp(mode, "both") == 0;
	if (!do_seal && !do_open) {
		fprintf(stderr, "bench_path: -m wants seal, open or both, got '%s'\n", mode);
		return 2;
	}

	/* Header room, payload, tag; rounded up to a cache line like a pool. */
	bn.stride = (RV_DATA_HDR_LEN + bn.payload_len + RV_TAG_LEN + 63) & ~(size_t)63;
	bn.arena = aligned_alloc(64, bn.stride * (bn.num_pkts ? bn.num_pkts : 1));
	q = rv_qsbr_new(1);
	if (!bn.arena || !q) {
		fprintf(stderr, "bench_path: out of memory\n");
		goto out;
	}
	if (make_sessions(&bn, q)) {
		fprintf(stderr, "bench_path: session set-up failed\n");
		goto out;
	}
	for (size_t i = 0; i < bn.num_pkts; i++) {
		fill_payload(pkt_at(&bn, i) + RV_DATA_HDR_LEN, bn.payload_len, i);
	}
	bn.now_ns = rv_coarse_now_ns();

	t0 = rv_now_ns();
	if (do_seal ? run_seal(&bn) : seal_range(&bn)) {
		goto out;
	}
	t1 = rv_now_ns();
	if (do_seal && timing) {
		report("seal", &bn, t1 - t0);
	}
	/* Always open (outside run_open when only sealing is measured) and
	 * verify, so that a broken seal cannot report a good number. */
	t0 = rv_now_ns();
	accepted = do_open ? run_open(&bn, &bad_hdr) : open_range(&bn, &bad_hdr);
	t1 = rv_now_ns();
	if (accepted != bn.num_pkts || bad_hdr) {
		fprintf(stderr, "bench_path: opened %zu of %zu packets (%zu bad headers)\n",
			accepted, bn.num_pkts, bad_hdr);
		goto out;
	}
	if (do_open && timing) {
		report("open", &bn, t1 - t0);
	}
	if (verify(&bn)) {
		goto out;
	}
	ret = 0;
out:
	rv_session_free(bn.a);
	rv_session_free(bn.b);
	rv_qsbr_free(q);
	free(bn.arena);
	return ret;
}
