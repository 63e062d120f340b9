/*
 * ctlload_floor.c — the crypto floor of a connect storm: CPU time of one TLS
 * 1.3 mutual-auth handshake with ECDSA P-256 certificates, both engines in
 * one thread talking through memory (tls/conn.h, the same contexts the
 * server and the clients build). The server side's share is what one
 * control thread cannot go below per connecting client, so the storm's
 * handshakes per second read as a fraction of 1 / server_us.
 *
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so other load
 * on the machine inflates them less than wall time would; the median of the
 * per-handshake times is printed next to the mean.
 */
#include "perf/ctlload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "tls/conn.h"
#include "tls/ctx.h"

/* pass moves |from|'s pending ciphertext into |to|. */
static int pass(struct rv_tls_conn *from, struct rv_tls_conn *to)
{
	uint8_t buf[16384];
	size_t n;

	while ((n = rv_tls_conn_take_out(from, buf, sizeof(buf))) > 0) {
		if (rv_tls_conn_feed(to, buf, n)) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* one_handshake runs a handshake to completion on both ends and adds the
 * server's CPU time to *srv_ns. */
static int one_handshake(struct rv_tls_ctx *sctx, struct rv_tls_ctx *cctx, uint64_t *srv_ns)
{
	struct rv_tls_conn *s = NULL, *c = NULL;
	int ret = -EPROTO;

	if (rv_tls_conn_new(&s, sctx) || rv_tls_conn_new(&c, cctx)) {
		ret = -ENOMEM;
		goto out;
	}
	for (int round = 0; round < 8; round++) {
		enum rv_tls_status cs = rv_tls_conn_handshake(c), ss;
		uint64_t t;

		if (cs == RV_TLS_ERROR || pass(c, s)) {
			goto out;
		}
		t = rv_thread_cpu_ns();
		ss = rv_tls_conn_handshake(s);
		*srv_ns += rv_thread_cpu_ns() - t;
		if (ss == RV_TLS_ERROR || pass(s, c)) {
			goto out;
		}
		if (cs == RV_TLS_OK && ss == RV_TLS_OK) {
			ret = 0;
			goto out;
		}
	}
out:
	if (ret) {
		fprintf(stderr, "ctlload floor: handshake failed: server: %s; client: %s\n",
			s ? rv_tls_conn_error(s) : "-", c ? rv_tls_conn_error(c) : "-");
	}
	rv_tls_conn_free(s);
	rv_tls_conn_free(c);
	return ret;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int ld_floor(const char *ca, const char *server_cert, const char *server_key,
	     const char *client_cert, const char *client_key, const char *server_name, unsigned n)
{
	struct rv_tls_ctx_params sp = {
		.role = RV_TLS_SERVER,
		.ca_file = ca,
		.cert_file = server_cert,
		.key_file = server_key,
	};
	struct rv_tls_ctx_params cp = {
		.role = RV_TLS_CLIENT,
		.ca_file = ca,
		.cert_file = client_cert,
		.key_file = client_key,
		.server_name = server_name,
	};
	struct rv_tls_ctx *sctx = NULL, *cctx = NULL;
	uint64_t *srv = calloc(n, sizeof(*srv)), *pair = calloc(n, sizeof(*pair));
	uint64_t srv_sum = 0, pair_sum = 0;
	enum rv_tls_ctx_fail why;
	char err[512];
	int ret = -ENOMEM;

	if (!srv || !pair) {
		goto out;
	}
	ret = rv_tls_ctx_new(&sctx, &sp, &why, err, sizeof(err));
	if (!ret) {
		ret = rv_tls_ctx_new(&cctx, &cp, &why, err, sizeof(err));
	}
	if (ret) {
		fprintf(stderr, "ctlload floor: %s\n", err);
		goto out;
	}
	/* One untimed round warms the caches and BoringSSL's lazy tables. */
	ret = one_handshake(sctx, cctx, &srv[0]);
	for (unsigned i = 0; i < n && !ret; i++) {
		uint64_t t = rv_thread_cpu_ns();

		srv[i] = 0;
		ret = one_handshake(sctx, cctx, &srv[i]);
		pair[i] = rv_thread_cpu_ns() - t;
		srv_sum += srv[i];
		pair_sum += pair[i];
	}
	if (ret) {
		goto out;
	}
	qsort(srv, n, sizeof(*srv), cmp_u64);
	qsort(pair, n, sizeof(*pair), cmp_u64);
	printf("floor handshakes=%u server_us=%.1f server_median_us=%.1f pair_us=%.1f "
	       "pair_median_us=%.1f server_max_per_s=%.0f\n",
	       n, srv_sum / 1e3 / n, srv[n / 2] / 1e3, pair_sum / 1e3 / n, pair[n / 2] / 1e3,
	       1e9 * n / (double)srv_sum);
out:
	rv_tls_ctx_free(sctx);
	rv_tls_ctx_free(cctx);
	free(srv);
	free(pair);
	return ret;
}
