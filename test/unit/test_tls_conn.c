/*
 * test_tls_conn.c — two TLS engines (tls/conn.h) talking through memory:
 * the mutual-auth handshake, the exporter, application data, close_notify,
 * and every refusal (no client certificate, other CA, expired, revoked,
 * wrong server name, server from another CA, a serial no CA's index can
 * list), each with its reason on the side that refuses and on the side
 * that is refused. Also the context's input errors (tls/ctx.h).
 * Certificates come from test/lib/t_pki.
 *
 *   build/<dir>/test/test_tls_conn
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/config.h"
#include "crypto/kdf.h"
#include "pki/ca.h"
#include "pki/crl.h"
#include "pki/issue.h"
#include "pki/pem.h"
#include "pki/verify.h"
#include "test/lib/t_pki.h"
#include "test/unit/test_pki_craft.h"
#include "tls/conn.h"
#include "tls/ctx.h"

static struct t_pki pki;

static void setup(void)
{
	cr_assert_eq(t_pki_create(&pki), 0, "test PKI");
}

static void teardown(void)
{
	t_pki_destroy(&pki);
}

TestSuite(tls_conn, .init = setup, .fini = teardown, .timeout = 30);

static struct rv_tls_ctx *mk_ctx(enum rv_tls_role role, const char *ca, const char *crt,
				 const char *key, const char *crl, const char *name)
{
	struct rv_tls_ctx_params p = {
		.role = role,
		.ca_file = ca,
		.cert_file = crt,
		.key_file = key,
		.crl_file = crl,
		.server_name = name,
	};
	struct rv_tls_ctx *ctx = NULL;
	enum rv_tls_ctx_fail why;
	char err[512];

	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), 0, "ctx: %s", err);
	return ctx;
}

static struct rv_tls_ctx *server_ctx(void)
{
	return mk_ctx(RV_TLS_SERVER, pki.ca_crt, pki.server_crt, pki.server_key, pki.ca_crl, NULL);
}

/* move transfers all pending ciphertext from |a| to |b|; returns bytes moved. */
static size_t move(struct rv_tls_conn *a, struct rv_tls_conn *b)
{
	uint8_t buf[4096];
	size_t n, total = 0;

	while ((n = rv_tls_conn_take_out(a, buf, sizeof(buf))) > 0) {
		cr_assert_eq(rv_tls_conn_feed(b, buf, n), 0);
		total += n;
	}
	return total;
}

struct pair {
	struct rv_tls_ctx *sctx, *cctx;
	struct rv_tls_conn *s, *c;
	enum rv_tls_status ss, cs; /* last handshake status of each */
};

/* run drives both handshakes until neither side moves any more bytes. */
static void run(struct pair *p)
{
	p->ss = p->cs = RV_TLS_WANT_READ;
	cr_assert_eq(rv_tls_conn_new(&p->s, p->sctx), 0);
	cr_assert_eq(rv_tls_conn_new(&p->c, p->cctx), 0);
	for (int i = 0; i < 20; i++) {
		size_t moved;

		if (p->cs == RV_TLS_WANT_READ) {
			p->cs = rv_tls_conn_handshake(p->c);
		}
		moved = move(p->c, p->s);
		if (p->ss == RV_TLS_WANT_READ) {
			p->ss = rv_tls_conn_handshake(p->s);
		}
		moved += move(p->s, p->c);
		if (moved == 0 && p->cs != RV_TLS_WANT_READ && p->ss != RV_TLS_WANT_READ) {
			break;
		}
	}
}

static void free_pair(struct pair *p)
{
	rv_tls_conn_free(p->s);
	rv_tls_conn_free(p->c);
	rv_tls_ctx_free(p->sctx);
	rv_tls_ctx_free(p->cctx);
}

/* client_read_fails: in TLS 1.3 the client learns of its rejection on its
 * first read; check the reason it gets. */
static void client_read_fails(struct pair *p, const char *reason)
{
	uint8_t buf[64];
	size_t n;

	cr_assert_eq(rv_tls_conn_read(p->c, buf, sizeof(buf), &n), RV_TLS_ERROR);
	cr_assert(strstr(rv_tls_conn_error(p->c), reason), "client error '%s' lacks '%s'",
		  rv_tls_conn_error(p->c), reason);
}

Test(tls_conn, handshake_exporter_data_close)
{
	struct pair p = { 0 };
	uint8_t es[RV_EXPORTER_LEN], ec[RV_EXPORTER_LEN], zero[RV_EXPORTER_LEN] = { 0 };
	uint8_t buf[64];
	size_t n;

	p.sctx = server_ctx();
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, pki.client_crt[0], pki.client_key[0], NULL,
			T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_OK, "server: %s", rv_tls_conn_error(p.s));
	cr_assert_eq(p.cs, RV_TLS_OK, "client: %s", rv_tls_conn_error(p.c));
	cr_assert_str_eq(rv_tls_conn_peer_cn(p.s), "client1");
	cr_assert_not_null(rv_tls_conn_peer_cn(p.c));
	cr_assert_eq(rv_tls_conn_export(p.s, es, sizeof(es)), 0);
	cr_assert_eq(rv_tls_conn_export(p.c, ec, sizeof(ec)), 0);
	cr_assert_arr_eq(es, ec, sizeof(es), "both ends export the same secret");
	cr_assert(memcmp(es, zero, sizeof(es)) != 0);

	cr_assert_eq(rv_tls_conn_write(p.c, (const uint8_t *)"ping", 4), RV_TLS_OK);
	move(p.c, p.s);
	cr_assert_eq(rv_tls_conn_read(p.s, buf, sizeof(buf), &n), RV_TLS_OK);
	cr_assert_eq(n, 4);
	cr_assert_arr_eq(buf, "ping", 4);
	cr_assert_eq(rv_tls_conn_read(p.s, buf, sizeof(buf), &n), RV_TLS_WANT_READ);
	cr_assert_eq(rv_tls_conn_write(p.s, (const uint8_t *)"pong!", 5), RV_TLS_OK);
	move(p.s, p.c);
	cr_assert_eq(rv_tls_conn_read(p.c, buf, sizeof(buf), &n), RV_TLS_OK);
	cr_assert_eq(n, 5);

	rv_tls_conn_close(p.c);
	move(p.c, p.s);
	cr_assert_eq(rv_tls_conn_read(p.s, buf, sizeof(buf), &n), RV_TLS_CLOSED);
	free_pair(&p);
}

Test(tls_conn, exporter_differs_per_session)
{
	struct pair a = { 0 }, b = { 0 };
	uint8_t ea[RV_EXPORTER_LEN], eb[RV_EXPORTER_LEN];

	a.sctx = server_ctx();
	a.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, pki.client_crt[0], pki.client_key[0], NULL,
			T_PKI_SERVER_NAME);
	b.sctx = server_ctx();
	b.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, pki.client_crt[0], pki.client_key[0], NULL,
			T_PKI_SERVER_NAME);
	run(&a);
	run(&b);
	cr_assert_eq(a.ss, RV_TLS_OK);
	cr_assert_eq(b.ss, RV_TLS_OK);
	cr_assert_eq(rv_tls_conn_export(a.s, ea, sizeof(ea)), 0);
	cr_assert_eq(rv_tls_conn_export(b.s, eb, sizeof(eb)), 0);
	cr_assert(memcmp(ea, eb, sizeof(ea)) != 0);
	free_pair(&a);
	free_pair(&b);
}

Test(tls_conn, export_before_handshake_fails)
{
	struct rv_tls_ctx *ctx = server_ctx();
	struct rv_tls_conn *c;
	uint8_t e[RV_EXPORTER_LEN];

	cr_assert_eq(rv_tls_conn_new(&c, ctx), 0);
	cr_assert_eq(rv_tls_conn_export(c, e, sizeof(e)), -EINVAL);
	cr_assert_null(rv_tls_conn_peer_cn(c));
	rv_tls_conn_free(c);
	rv_tls_ctx_free(ctx);
}

/* Table of refusals: client credentials, client CA, expected name, and the
 * reasons each side must report. */
struct refusal {
	const char *what;
	int client; /* 0 none, 1 client1, 2 rogue, 3 expired, 4 revoked */
	bool client_other_ca;
	const char *name;
	const char *server_reason; /* NULL: the server's handshake never fails */
	const char *client_reason;
	bool client_fails_handshake;
};

static const struct refusal refusals[] = {
	{ "no client certificate", 0, false, T_PKI_SERVER_NAME, "no certificate",
	  "certificate required", false },
	{ "client from another CA", 2, false, T_PKI_SERVER_NAME,
	  "unable to get local issuer certificate", "unknown CA", false },
	/* TLS's one alert for both: the client says it may be either. */
	{ "expired client", 3, false, T_PKI_SERVER_NAME, "certificate has expired",
	  "certificate expired (or not valid yet: compare both hosts' clocks)", false },
	{ "revoked client", 4, false, T_PKI_SERVER_NAME, "certificate revoked", "revoked", false },
	{ "wrong server name", 1, false, "other.test", "peer sent alert", "Hostname mismatch",
	  true },
	{ "server from another CA", 1, true, T_PKI_SERVER_NAME, "peer sent alert",
	  "unable to get local issuer certificate", true },
};

static void check_refusal(const struct refusal *r)
{
	const char *crt[] = { NULL, pki.client_crt[0], pki.rogue_crt, pki.expired_crt,
			      pki.revoked_crt };
	const char *key[] = { NULL, pki.client_key[0], pki.rogue_key, pki.expired_key,
			      pki.revoked_key };
	struct pair p = { 0 };

	p.sctx = server_ctx();
	p.cctx = mk_ctx(RV_TLS_CLIENT, r->client_other_ca ? pki.other_ca_crt : pki.ca_crt,
			crt[r->client], key[r->client], NULL, r->name);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_ERROR, "%s: server accepted", r->what);
	cr_assert(strstr(rv_tls_conn_error(p.s), r->server_reason), "%s: server error '%s'",
		  r->what, rv_tls_conn_error(p.s));
	/* None of them sent more than its own certificate; the other CA's
	 * client is told which CA this side lacks. */
	cr_assert_null(strstr(rv_tls_conn_error(p.s), "not taken as CAs"), "%s",
		       rv_tls_conn_error(p.s));
	if (r->client == 2 && !r->client_other_ca) {
		cr_assert(strstr(rv_tls_conn_error(p.s), "; its issuer /CN="), "%s",
			  rv_tls_conn_error(p.s));
	}
	cr_assert_null(rv_tls_conn_peer_cn(p.s));
	if (r->client_fails_handshake) {
		cr_assert_eq(p.cs, RV_TLS_ERROR, "%s", r->what);
		cr_assert(strstr(rv_tls_conn_error(p.c), r->client_reason), "%s: client error '%s'",
			  r->what, rv_tls_conn_error(p.c));
	} else {
		cr_assert_eq(p.cs, RV_TLS_OK, "%s", r->what);
		client_read_fails(&p, r->client_reason);
	}
	free_pair(&p);
}

Test(tls_conn, refused_no_client_cert)
{
	check_refusal(&refusals[0]);
}
Test(tls_conn, refused_other_ca)
{
	check_refusal(&refusals[1]);
}
Test(tls_conn, refused_expired)
{
	check_refusal(&refusals[2]);
}
Test(tls_conn, refused_revoked)
{
	check_refusal(&refusals[3]);
}
/* refused_as: a client of |crt| and |key| is refused by a server checking
 * the CRL |crl|, with |why| in its reason and as refusal |kind|. */
static void refused_as(const char *crl, const char *crt, const char *key, const char *why,
		       enum rv_tls_refusal kind)
{
	struct pair p = { 0 };

	p.sctx = mk_ctx(RV_TLS_SERVER, pki.ca_crt, pki.server_crt, pki.server_key, crl, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, crt, key, NULL, T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_ERROR, "%s got in", crt);
	cr_assert(strstr(rv_tls_conn_error(p.s), why), "%s", rv_tls_conn_error(p.s));
	cr_assert_eq(rv_tls_conn_refusal(p.s), kind);
	free_pair(&p);
}

/* A certificate forged with the CA's name and a revoked serial, signed by
 * the forger's own key: refused as not signed by the CA, not as revoked,
 * and not under the name it chose (the CRL was looked at before the
 * signature: round-thirty-two tester 173). */
Test(tls_conn, forged_revoked_serial_is_untrusted)
{
	char crt[T_PKI_PATH + 32], key[T_PKI_PATH + 32];
	struct rv_pki_err perr = { 0 };
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *k = EVP_PKEY_new();
	struct pair p = { 0 };
	X509 *x = NULL;

	snprintf(crt, sizeof(crt), "%s/forged.crt", pki.dir);
	snprintf(key, sizeof(key), "%s/forged.key", pki.dir);
	cr_assert(ec && k && EC_KEY_generate_key(ec) && EVP_PKEY_assign_EC_KEY(k, ec));
	cr_assert_eq(rv_pem_read_cert(&x, pki.revoked_crt, &perr), 0, "%s", perr.msg);
	cr_assert(X509_set_pubkey(x, k) && X509_sign(x, k, EVP_sha256()) > 0);
	cr_assert_eq(rv_pem_write_cert(crt, x, true, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pem_write_key(key, k, true, &perr), 0, "%s", perr.msg);
	X509_free(x);
	EVP_PKEY_free(k);

	p.sctx = server_ctx();
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, crt, key, NULL, T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_ERROR, "the forgery got in");
	cr_assert(strstr(rv_tls_conn_error(p.s), "signature failure"), "%s",
		  rv_tls_conn_error(p.s));
	cr_assert_null(strstr(rv_tls_conn_error(p.s), "certificate revoked"), "%s",
		       rv_tls_conn_error(p.s));
	cr_assert_eq(rv_tls_conn_refusal(p.s), RV_TLS_REFUSED_UNTRUSTED);
	free_pair(&p);
	/* The real revoked certificate is still refused as revoked. */
	check_refusal(&refusals[3]);

	/* Under a lapsed CRL the forgery is refused as unsigned too, and a
	 * genuine certificate for the CRL (the forgery was said as the CRL's,
	 * and spent the first lines of genuine refusals: round-thirty-three
	 * testers 174, 176). */
	{
		char lapsed[T_PKI_PATH + 32];
		X509_CRL *crl = X509_CRL_new();
		X509 *ca = NULL;
		EVP_PKEY *ca_key = NULL;
		ASN1_TIME *last = ASN1_TIME_adj(NULL, time(NULL), -2, 0);
		ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), -1, 0);

		snprintf(lapsed, sizeof(lapsed), "%s/lapsed.crl", pki.dir);
		cr_assert_eq(rv_pem_read_cert(&ca, pki.ca_crt, &perr), 0, "%s", perr.msg);
		cr_assert_eq(rv_pem_read_key(&ca_key, pki.ca_key, &perr), 0, "%s", perr.msg);
		cr_assert(crl && last && next && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
			  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
			  X509_CRL_set1_lastUpdate(crl, last) &&
			  X509_CRL_set1_nextUpdate(crl, next) &&
			  X509_CRL_sign(crl, ca_key, EVP_sha256()) > 0);
		cr_assert_eq(rv_pem_write_crl(lapsed, crl, &perr), 0, "%s", perr.msg);
		X509_CRL_free(crl);
		X509_free(ca);
		EVP_PKEY_free(ca_key);
		ASN1_TIME_free(last);
		ASN1_TIME_free(next);

		refused_as(lapsed, crt, key, "signature failure", RV_TLS_REFUSED_UNTRUSTED);
		refused_as(lapsed, pki.client_crt[0], pki.client_key[0], "CRL has expired",
			   RV_TLS_REFUSED_EXPIRED);
	}
}

Test(tls_conn, refused_wrong_server_name)
{
	check_refusal(&refusals[4]);
}
Test(tls_conn, refused_server_other_ca)
{
	check_refusal(&refusals[5]);
}

static void cat_files(const char *out, const char *const *in);

Test(tls_conn, ctx_input_errors)
{
	struct rv_tls_ctx_params p = {
		.role = RV_TLS_SERVER,
		.ca_file = pki.ca_crt,
		.cert_file = pki.server_crt,
		.key_file = pki.server_key,
	};
	struct rv_tls_ctx *ctx;
	enum rv_tls_ctx_fail why;
	char err[512];

	p.cert_file = "/nonexistent/server.crt";
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -ENOENT);
	cr_assert_eq(why, RV_TLS_FAIL_CERT);
	cr_assert(strstr(err, "/nonexistent/server.crt"), "%s", err);

	p.cert_file = pki.server_crt;
	p.key_file = pki.client_key[0];
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
	cr_assert_eq(why, RV_TLS_FAIL_KEY);
	cr_assert(strstr(err, "does not match"), "%s", err);

	p.key_file = pki.server_crt; /* a certificate is not a key */
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
	cr_assert_eq(why, RV_TLS_FAIL_KEY);

	/* Two keys in one file, the right one first: refused, not the first
	 * taken (round-thirty-six tester 182); a certificate after the key
	 * is passed over. */
	{
		char two[T_PKI_PATH + 16], key_crt[T_PKI_PATH + 16];

		snprintf(two, sizeof(two), "%s/two.key", pki.dir);
		snprintf(key_crt, sizeof(key_crt), "%s/key-crt.key", pki.dir);
		cat_files(two, (const char *const[]){ pki.server_key, pki.client_key[0], NULL });
		cat_files(key_crt, (const char *const[]){ pki.server_key, pki.server_crt, NULL });
		p.key_file = two;
		cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
		cr_assert_eq(why, RV_TLS_FAIL_KEY);
		cr_assert(strstr(err, "holds another private key after its key"), "%s", err);
		p.key_file = key_crt;
		cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), 0, "%s", err);
		rv_tls_ctx_free(ctx);

		/* An encrypted second key, and a damaged block after the key:
		 * refused too (both passed: round-thirty-six tester 184). */
		struct rv_pki_err perr = { 0 };
		unsigned char pass[] = "secret";
		EVP_PKEY *k = NULL;
		FILE *f;

		cr_assert_eq(rv_pem_read_key(&k, pki.client_key[0], &perr), 0, "%s", perr.msg);
		cat_files(two, (const char *const[]){ pki.server_key, NULL });
		f = fopen(two, "a");
		cr_assert(f && PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), pass, 6, NULL, NULL));
		fclose(f);
		EVP_PKEY_free(k);
		p.key_file = two;
		cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, "holds another private key after its key"), "%s", err);
		cat_files(two, (const char *const[]){ pki.server_key, NULL });
		f = fopen(two, "a");
		cr_assert(f && fputs("-----BEGIN CERTIFICATE-----\nMIIB!!cut\n"
				     "-----END CERTIFICATE-----\n",
				     f) >= 0);
		fclose(f);
		cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, "holds a damaged PEM block after its key"), "%s", err);
	}

	p.key_file = pki.server_key;
	p.ca_file = pki.server_key; /* not a certificate */
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
	cr_assert_eq(why, RV_TLS_FAIL_CA);

	p.ca_file = pki.ca_crt;
	p.crl_file = pki.ca_crt; /* not a CRL */
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
	cr_assert_eq(why, RV_TLS_FAIL_CRL);

	/* Another CA's CRL, and ours with its signature damaged: refused,
	 * not taken (every peer would then fail to verify). */
	char other_crl[T_PKI_PATH + 16], bad_crl[T_PKI_PATH + 16];
	snprintf(other_crl, sizeof(other_crl), "%s/ca.crl", pki.other_ca_dir);
	p.crl_file = other_crl;
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
	cr_assert_eq(why, RV_TLS_FAIL_CRL);
	cr_assert(strstr(err, "not signed by the CA"), "%s", err);
	/* The last byte of the DER is the signature's: one bit of it flipped
	 * (a base64 character of the PEM may only carry padding bits). */
	FILE *f = fopen(pki.ca_crl, "r");
	cr_assert_not_null(f);
	X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(crl);
	uint8_t *der = NULL;
	int der_len = i2d_X509_CRL(crl, &der);
	X509_CRL_free(crl);
	cr_assert_gt(der_len, 0);
	der[der_len - 1] ^= 1;
	const uint8_t *q = der;
	crl = d2i_X509_CRL(NULL, &q, der_len);
	OPENSSL_free(der);
	cr_assert_not_null(crl);
	snprintf(bad_crl, sizeof(bad_crl), "%s.bad", pki.ca_crl);
	f = fopen(bad_crl, "w");
	cr_assert_not_null(f);
	cr_assert(PEM_write_X509_CRL(f, crl));
	fclose(f);
	X509_CRL_free(crl);
	p.crl_file = bad_crl;
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
	cr_assert_eq(why, RV_TLS_FAIL_CRL);
	cr_assert(strstr(err, "not signed by the CA"), "%s", err);
	unlink(bad_crl);
	p.crl_file = pki.ca_crl; /* and the good one loads */
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), 0, "%s", err);
	rv_tls_ctx_free(ctx);

	p.crl_file = NULL;
	p.role = RV_TLS_CLIENT; /* a client needs the name to verify */
	cr_assert_eq(rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "server_name"), "%s", err);
}

/* rv_tls_ctx_crl_older: a CRL of a lower number from the same CA is older
 * (a reload or the watch refuses it: it would undo revocations); a newer
 * one, the same one, or one of another CA is not. */
Test(tls_conn, crl_older_by_number)
{
	struct rv_tls_ctx_params p = {
		.role = RV_TLS_SERVER,
		.ca_file = pki.ca_crt,
		.cert_file = pki.server_crt,
		.key_file = pki.server_key,
		.crl_file = pki.ca_crl,
	};
	struct rv_tls_ctx *old_ctx, *new_ctx, *other_ctx;
	struct rv_pki_err perr = { 0 };
	struct rv_pki_ca *ca;
	enum rv_tls_ctx_fail why;
	char err[512], other_crl[T_PKI_PATH + 16], older[200];

	char both_cas[T_PKI_PATH + 16], old_two[T_PKI_PATH + 16], new_two[T_PKI_PATH + 16];

	snprintf(other_crl, sizeof(other_crl), "%s/ca.crl", pki.other_ca_dir);
	snprintf(both_cas, sizeof(both_cas), "%s/both-cas.crt", pki.dir);
	snprintf(old_two, sizeof(old_two), "%s/old-two.crl", pki.dir);
	snprintf(new_two, sizeof(new_two), "%s/new-two.crl", pki.dir);
	cat_files(both_cas, (const char *const[]){ pki.ca_crt, pki.other_ca_crt, NULL });
	cat_files(old_two, (const char *const[]){ pki.ca_crl, other_crl, NULL });
	cr_assert_eq(rv_tls_ctx_new(&old_ctx, &p, &why, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rv_pki_ca_open(&ca, pki.ca_dir, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &perr), 0, "%s",
		     perr.msg); /* the next number */
	rv_pki_ca_free(ca);
	cr_assert_eq(rv_tls_ctx_new(&new_ctx, &p, &why, err, sizeof(err)), 0, "%s", err);
	cr_assert(rv_tls_ctx_crl_older(old_ctx, new_ctx, older, sizeof(older)));
	cr_assert(strstr(older, "is below the running CRL's"), "%s", older);
	cr_assert_not(rv_tls_ctx_crl_older(new_ctx, old_ctx, older, sizeof(older)));
	cr_assert_not(rv_tls_ctx_crl_older(new_ctx, new_ctx, older, sizeof(older)));
	cr_assert_null(strstr(older, "(the CRL of CA"), "one CA's: %s", older);

	/* Of a file of two CAs' CRLs, the older one's CA is named (a
	 * rotation's refusal named neither: round-sixty-eight tester 305). */
	{
		struct rv_tls_ctx *old2, *new2;

		cat_files(new_two, (const char *const[]){ pki.ca_crl, other_crl, NULL });
		p.ca_file = both_cas;
		p.crl_file = old_two;
		cr_assert_eq(rv_tls_ctx_new(&old2, &p, &why, err, sizeof(err)), 0, "%s", err);
		p.crl_file = new_two;
		cr_assert_eq(rv_tls_ctx_new(&new2, &p, &why, err, sizeof(err)), 0, "%s", err);
		cr_assert(rv_tls_ctx_crl_older(old2, new2, older, sizeof(older)));
		cr_assert(strstr(older, "is below the running CRL's"), "%s", older);
		cr_assert(strstr(older, " (the CRL of CA /CN=ringvpn test CA)"), "%s", older);
		rv_tls_ctx_free(old2);
		rv_tls_ctx_free(new2);
	}

	p.ca_file = pki.other_ca_crt;
	p.crl_file = other_crl;
	p.cert_file = pki.rogue_crt; /* a client's, but this is the other CA's end */
	p.key_file = pki.rogue_key;
	p.role = RV_TLS_CLIENT;
	p.server_name = "vpn.test";
	cr_assert_eq(rv_tls_ctx_new(&other_ctx, &p, &why, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(rv_tls_ctx_crl_older(other_ctx, new_ctx, older, sizeof(older)),
		      "another CA's CRL");
	cr_assert_not(rv_tls_ctx_crl_older(new_ctx, other_ctx, older, sizeof(older)));
	/* What the running context saw is carried into the next one: the old
	 * CRL stays older than it. */
	rv_tls_ctx_crl_carry(other_ctx, new_ctx);
	cr_assert(rv_tls_ctx_crl_older(old_ctx, other_ctx, older, sizeof(older)), "carried");
	rv_tls_ctx_free(old_ctx);
	rv_tls_ctx_free(new_ctx);
	rv_tls_ctx_free(other_ctx);
}

/* cat_files writes the files |in| (NULL-terminated) one after the other
 * to |out|. */
static void cat_files(const char *out, const char *const *in)
{
	FILE *o = fopen(out, "w");

	cr_assert_not_null(o, "%s", out);
	for (; *in; in++) {
		FILE *f = fopen(*in, "r");
		char buf[4096];
		size_t n;

		cr_assert_not_null(f, "%s", *in);
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			cr_assert_eq(fwrite(buf, 1, n, o), n);
		}
		fclose(f);
	}
	cr_assert_eq(fclose(o), 0);
}

/* issue_client issues a client certificate |name| under |ca| into the
 * test PKI's directory (paths in |out|), then frees |ca|. */
static void issue_client(struct rv_pki_ca *ca, const char *name, struct rv_pki_issued *out)
{
	struct rv_pki_issue_opts o;
	struct rv_pki_err perr = { 0 };

	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, name);
	o.out_dir = pki.dir;
	cr_assert_eq(rv_pki_issue(ca, &o, out, &perr), 0, "%s", perr.msg);
	rv_pki_ca_free(ca);
}

/* make_ca_under makes a CA |name| under |dir| and a copy of its
 * certificate (CA:TRUE, keyCertSign; with |pathlen0|, no CA below it)
 * signed by the CA of |issuer_crt| and |issuer_key| instead of itself,
 * written to |signed_crt|. Returns the CA to issue with (the copy has its
 * name and key). */
static struct rv_pki_ca *make_ca_under(const char *dir, const char *name, const char *issuer_crt,
				       const char *issuer_key, bool pathlen0,
				       const char *signed_crt)
{
	struct rv_pki_ca_opts o = { .name = name, .days = 30 };
	struct rv_pki_err perr = { 0 };
	struct rv_pki_ca *sub = NULL;
	char sub_self[T_PKI_PATH + 64];
	X509 *x = NULL, *root = NULL;
	EVP_PKEY *root_key = NULL;
	int i;

	cr_assert_eq(rv_pki_ca_create(dir, &o, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pki_ca_open(&sub, dir, &perr), 0, "%s", perr.msg);
	snprintf(sub_self, sizeof(sub_self), "%s/ca.crt", dir);
	cr_assert_eq(rv_pem_read_cert(&x, sub_self, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pem_read_cert(&root, issuer_crt, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pem_read_key(&root_key, issuer_key, &perr), 0, "%s", perr.msg);
	/* Its authority key identifier names its own key: gone, the
	 * issuer's name as the issuer, the issuer's signature. */
	while ((i = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1)) >= 0) {
		X509_EXTENSION_free(X509_delete_ext(x, i));
	}
	if (pathlen0) {
		BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

		cr_assert_not_null(bc);
		bc->ca = 0xff;
		bc->pathlen = ASN1_INTEGER_new();
		cr_assert(bc->pathlen && ASN1_INTEGER_set(bc->pathlen, 0));
		cr_assert_eq(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE),
			     1);
		BASIC_CONSTRAINTS_free(bc);
	}
	cr_assert(X509_set_issuer_name(x, X509_get_subject_name(root)));
	cr_assert(X509_sign(x, root_key, EVP_sha256()) > 0);
	cr_assert_eq(rv_pem_write_cert(signed_crt, x, true, &perr), 0, "%s", perr.msg);
	X509_free(x);
	X509_free(root);
	EVP_PKEY_free(root_key);
	return sub;
}

/* A peer's chain is built from the CA file alone: a certificate the peer
 * sends after its own is no CA to this side. A client certificate carrying
 * CA:TRUE signed a leaf named "victim", and the server, without a CRL,
 * let it in as victim (round-fifteen tester 72); with the sub-CA in the
 * CA file it is an intermediate of the deployment and its leaf gets in,
 * and a CA file without it again ends that session. */
Test(tls_conn, chain_only_from_ca_file)
{
	char dir[T_PKI_PATH + 16], sub_crt[T_PKI_PATH + 32], chain[T_PKI_PATH + 32],
		both_cas[T_PKI_PATH + 32], err[256];
	struct rv_pki_issued out;
	struct pair p = { 0 };

	snprintf(dir, sizeof(dir), "%s/mallory", pki.dir);
	snprintf(sub_crt, sizeof(sub_crt), "%s/mallory-signed.crt", pki.dir);
	snprintf(chain, sizeof(chain), "%s/victim-chain.crt", pki.dir);
	snprintf(both_cas, sizeof(both_cas), "%s/both-cas.crt", pki.dir);
	issue_client(make_ca_under(dir, "mallory", pki.ca_crt, pki.ca_key, false, sub_crt),
		     "victim", &out);
	cat_files(chain, (const char *const[]){ out.crt, sub_crt, NULL });

	/* The chain sent, the sub-CA not in the server's CA file: refused. */
	p.sctx = mk_ctx(RV_TLS_SERVER, pki.ca_crt, pki.server_crt, pki.server_key, NULL, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, chain, out.key, NULL, T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_ERROR, "a leaf of a CA the peer sent got in as %s",
		     rv_tls_conn_peer_cn(p.s) ? rv_tls_conn_peer_cn(p.s) : "?");
	cr_assert(strstr(rv_tls_conn_error(p.s), "unable to get local issuer certificate"), "%s",
		  rv_tls_conn_error(p.s));
	/* Said where the intermediate belongs. */
	cr_assert(strstr(rv_tls_conn_error(p.s),
			 "; its issuer /CN=mallory is not in this side's ca "
			 "file (1 more certificate(s) sent, not taken as CAs)"),
		  "%s", rv_tls_conn_error(p.s));
	cr_assert_null(rv_tls_conn_peer_cn(p.s));
	free_pair(&p);

	/* The sub-CA in the server's CA file: an intermediate, taken. */
	cat_files(both_cas, (const char *const[]){ pki.ca_crt, sub_crt, NULL });
	memset(&p, 0, sizeof(p));
	p.sctx = mk_ctx(RV_TLS_SERVER, both_cas, pki.server_crt, pki.server_key, NULL, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, chain, out.key, NULL, T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_OK, "%s", rv_tls_conn_error(p.s));
	cr_assert_str_eq(rv_tls_conn_peer_cn(p.s), "victim");
	/* A CA file without it again: the live session no longer verifies,
	 * whatever chain it sent. */
	{
		struct rv_tls_ctx *root_only = mk_ctx(RV_TLS_SERVER, pki.ca_crt, pki.server_crt,
						      pki.server_key, NULL, NULL);

		cr_assert_eq(rv_tls_conn_reverify(p.s, p.sctx, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(rv_tls_conn_reverify(p.s, root_only, err, sizeof(err)), -EKEYREJECTED);
		cr_assert(strstr(err, "unable to get local issuer certificate"), "%s", err);
		rv_tls_ctx_free(root_only);
	}
	free_pair(&p);
}

/* A leaf of a CA made anew under the deployment CA's name: refused, and
 * said as a CA of that name in the CA file with another key, by the
 * handshake and by `pki verify` (both said the issuer was not in the CA
 * file, which holds that name: round-thirty-five tester 174). */
/* refused_by runs a handshake of a client with |crt| and |key| against a
 * server trusting |server_ca|, checks the server refused it, and copies
 * the server's error into |out|. */
static void refused_by(const char *server_ca, const char *crt, const char *key, char *out,
		       size_t len)
{
	struct pair p = { 0 };

	p.sctx = mk_ctx(RV_TLS_SERVER, server_ca, pki.server_crt, pki.server_key, NULL, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, crt, key, NULL, T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_ERROR, "%s got in", crt);
	snprintf(out, len, "%s", rv_tls_conn_error(p.s));
	free_pair(&p);
}

Test(tls_conn, issuer_named_with_other_key)
{
	char hs_err[1024];
	char dir[T_PKI_PATH + 16];
	struct rv_pki_ca_opts o = { .name = "ringvpn test CA", .days = 30 };
	struct rv_pki_err perr = { 0 };
	struct rv_pki_ca *twin = NULL;
	struct rv_pki_issued out;

	snprintf(dir, sizeof(dir), "%s/twin-ca", pki.dir);
	cr_assert_eq(rv_pki_ca_create(dir, &o, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pki_ca_open(&twin, dir, &perr), 0, "%s", perr.msg);
	issue_client(twin, "twin-victim", &out);

	refused_by(pki.ca_crt, out.crt, out.key, hs_err, sizeof(hs_err));
	cr_assert(strstr(hs_err, "; a CA named /CN=ringvpn test CA is in this side's ca file, but "
				 "not the key that signed it"),
		  "%s", hs_err);
	cr_assert_null(strstr(hs_err, "is not in this side's ca file"), "%s", hs_err);

	cr_assert_eq(rv_pki_verify(pki.ca_crt, NULL, out.crt, RV_PKI_PURPOSE_CLIENT, NULL, &perr),
		     -EKEYREJECTED, "%s", perr.msg);
	cr_assert(strstr(perr.msg, "; a CA named CN = ringvpn test CA is in the CA file, but not "
				   "the key that signed it"),
		  "%s", perr.msg);
	/* Another CA's leaf is still said as not in the file. */
	cr_assert_eq(rv_pki_verify(pki.ca_crt, NULL, pki.rogue_crt, RV_PKI_PURPOSE_CLIENT, NULL,
				   &perr),
		     -EKEYREJECTED);
	cr_assert_null(strstr(perr.msg, "is in the CA file"), "%s", perr.msg);

	/* The break one level up: an intermediate of the CA file signed by
	 * the twin. Said of that intermediate, with the leaf named (it was
	 * said of the leaf, whose issuer is in the file with its key, and
	 * the leaf went unnamed: round-thirty-six tester 184). */
	{
		char jdir[T_PKI_PATH + 16], j_crt[T_PKI_PATH + 32], cas[T_PKI_PATH + 32];
		char twin_crt[T_PKI_PATH + 32], twin_key[T_PKI_PATH + 32];
		struct rv_pki_issued deep;

		snprintf(jdir, sizeof(jdir), "%s/int-j", pki.dir);
		snprintf(j_crt, sizeof(j_crt), "%s/int-j-signed.crt", pki.dir);
		snprintf(cas, sizeof(cas), "%s/root-and-j.crt", pki.dir);
		snprintf(twin_crt, sizeof(twin_crt), "%s/ca.crt", dir);
		snprintf(twin_key, sizeof(twin_key), "%s/ca.key", dir);
		issue_client(make_ca_under(jdir, "int-j", twin_crt, twin_key, false, j_crt),
			     "deep-twin", &deep);
		/* Its authority key identifier names the twin's key, as a
		 * real issuer's does: no CA of the file is taken for it. */
		{
			X509 *j = NULL, *tw = NULL;
			EVP_PKEY *twk = NULL;
			AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();

			cr_assert_eq(rv_pem_read_cert(&j, j_crt, &perr), 0, "%s", perr.msg);
			cr_assert_eq(rv_pem_read_cert(&tw, twin_crt, &perr), 0, "%s", perr.msg);
			cr_assert_eq(rv_pem_read_key(&twk, twin_key, &perr), 0, "%s", perr.msg);
			cr_assert(akid && X509_get0_subject_key_id(tw));
			akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(tw));
			cr_assert(akid->keyid &&
				  X509_add1_ext_i2d(j, NID_authority_key_identifier, akid, 0,
						    X509V3_ADD_DEFAULT) == 1);
			cr_assert(X509_sign(j, twk, EVP_sha256()) > 0);
			cr_assert_eq(rv_pem_write_cert(j_crt, j, true, &perr), 0, "%s", perr.msg);
			AUTHORITY_KEYID_free(akid);
			X509_free(j);
			X509_free(tw);
			EVP_PKEY_free(twk);
		}
		cat_files(cas, (const char *const[]){ pki.ca_crt, j_crt, NULL });
		refused_by(cas, deep.crt, deep.key, hs_err, sizeof(hs_err));
		cr_assert(strstr(hs_err, "; a CA named /CN=ringvpn test CA is in this side's ca "
					 "file, but not the key that signed its CA /CN=int-j"),
			  "%s", hs_err);
		cr_assert(strstr(hs_err, "(deep-twin, serial "), "%s", hs_err);
		cr_assert_eq(rv_pki_verify(cas, NULL, deep.crt, RV_PKI_PURPOSE_CLIENT, NULL, &perr),
			     -EKEYREJECTED, "%s", perr.msg);
		cr_assert(strstr(perr.msg, "; its CA CN = int-j, serial "), "%s", perr.msg);
		cr_assert(strstr(perr.msg, "a CA named CN = ringvpn test CA is in the CA file, but "
					   "not the key that signed it"),
			  "%s", perr.msg);
	}
	/* A CA of the right key that may not sign certificates (no
	 * keyCertSign): not said to be another key (tester 184). */
	{
		char kdir[T_PKI_PATH + 16], k_crt[T_PKI_PATH + 32], self[T_PKI_PATH + 32];
		struct rv_pki_ca_opts ko = { .name = "noks", .days = 30 };
		struct rv_pki_ca *k = NULL;
		struct rv_pki_issued leaf;
		ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
		X509 *x = NULL;
		EVP_PKEY *key = NULL;

		snprintf(kdir, sizeof(kdir), "%s/noks", pki.dir);
		snprintf(k_crt, sizeof(k_crt), "%s/noks-ca.crt", pki.dir);
		snprintf(self, sizeof(self), "%s/ca.crt", kdir);
		cr_assert_eq(rv_pki_ca_create(kdir, &ko, &perr), 0, "%s", perr.msg);
		cr_assert_eq(rv_pki_ca_open(&k, kdir, &perr), 0, "%s", perr.msg);
		issue_client(k, "noks-leaf", &leaf);
		cr_assert_eq(rv_pem_read_cert(&x, self, &perr), 0, "%s", perr.msg);
		snprintf(self, sizeof(self), "%s/ca.key", kdir);
		cr_assert_eq(rv_pem_read_key(&key, self, &perr), 0, "%s", perr.msg);
		cr_assert(ku && ASN1_BIT_STRING_set_bit(ku, 0, 1) &&
			  ASN1_BIT_STRING_set_bit(ku, 6, 1));
		cr_assert_eq(X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_REPLACE), 1);
		cr_assert(X509_sign(x, key, EVP_sha256()) > 0);
		cr_assert_eq(rv_pem_write_cert(k_crt, x, true, &perr), 0, "%s", perr.msg);
		ASN1_BIT_STRING_free(ku);
		X509_free(x);
		EVP_PKEY_free(key);
		cr_assert_neq(rv_pki_verify(k_crt, NULL, leaf.crt, RV_PKI_PURPOSE_CLIENT, NULL,
					    &perr),
			      0);
		cr_assert_null(strstr(perr.msg, "not the key"), "%s", perr.msg);
		/* Refused as a CA file, as both ends refuse to load it (it said
		 * the leaf's issuer may not sign, of a file no end starts
		 * with: round-sixty-seven tester 287). */
		cr_assert(strstr(perr.msg, "certificate 1 (CN = noks) is not a CA certificate"),
			  "%s", perr.msg);
	}
}

/* A CA re-issued under its key with a new serial, and a leaf whose
 * authority key identifier names the old certificate by its issuer and
 * serial (openssl's `keyid,issuer:always`): refused, and said as naming
 * another certificate of that CA, not as a CA that may not issue (round-
 * thirty-seven tester 187). */
Test(tls_conn, issuer_reissued_named_by_serial)
{
	char dir[T_PKI_PATH + 16], path[T_PKI_PATH + 32], ca2[T_PKI_PATH + 32];
	struct rv_pki_ca_opts o = { .name = "reiss", .days = 30 };
	struct rv_pki_err perr = { 0 };
	struct rv_pki_ca *ca = NULL;
	struct rv_pki_issued leaf;
	X509 *cax = NULL, *lx = NULL;
	EVP_PKEY *key = NULL;
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	int i;

	snprintf(dir, sizeof(dir), "%s/reiss", pki.dir);
	snprintf(ca2, sizeof(ca2), "%s/reiss-2.crt", pki.dir);
	cr_assert_eq(rv_pki_ca_create(dir, &o, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pki_ca_open(&ca, dir, &perr), 0, "%s", perr.msg);
	issue_client(ca, "reiss-leaf", &leaf);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	cr_assert_eq(rv_pem_read_cert(&cax, path, &perr), 0, "%s", perr.msg);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	cr_assert_eq(rv_pem_read_key(&key, path, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pem_read_cert(&lx, leaf.crt, &perr), 0, "%s", perr.msg);

	/* The leaf names the CA's certificate by issuer and serial. */
	cr_assert(akid && gn && X509_get0_subject_key_id(cax));
	akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(cax));
	akid->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(cax));
	akid->issuer = GENERAL_NAMES_new();
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, X509_NAME_dup(X509_get_issuer_name(cax)));
	cr_assert(akid->keyid && akid->serial && akid->issuer &&
		  sk_GENERAL_NAME_push(akid->issuer, gn));
	while ((i = X509_get_ext_by_NID(lx, NID_authority_key_identifier, -1)) >= 0) {
		X509_EXTENSION_free(X509_delete_ext(lx, i));
	}
	cr_assert_eq(X509_add1_ext_i2d(lx, NID_authority_key_identifier, akid, 0,
				       X509V3_ADD_DEFAULT),
		     1);
	cr_assert(X509_sign(lx, key, EVP_sha256()) > 0);
	cr_assert_eq(rv_pem_write_cert(leaf.crt, lx, true, &perr), 0, "%s", perr.msg);
	/* The CA re-issued: the same name and key, another serial. */
	{
		ASN1_INTEGER *serial = ASN1_INTEGER_new();

		cr_assert(serial && ASN1_INTEGER_set(serial, 4242) &&
			  X509_set_serialNumber(cax, serial));
		ASN1_INTEGER_free(serial);
	}
	cr_assert(X509_sign(cax, key, EVP_sha256()) > 0);
	cr_assert_eq(rv_pem_write_cert(ca2, cax, true, &perr), 0, "%s", perr.msg);
	AUTHORITY_KEYID_free(akid);
	X509_free(cax);
	X509_free(lx);
	EVP_PKEY_free(key);

	cr_assert_neq(rv_pki_verify(ca2, NULL, leaf.crt, RV_PKI_PURPOSE_CLIENT, NULL, &perr), 0);
	cr_assert(strstr(perr.msg, "its authority key identifier names another certificate of "
				   "that CA"),
		  "%s", perr.msg);
	cr_assert_null(strstr(perr.msg, "may not sign"), "%s", perr.msg);
}

static void set_path(char *dst, size_t size, const char *src)
{
	cr_assert_lt(strlen(src), size, "%s", src);
	memcpy(dst, src, strlen(src) + 1);
}

/* own_warning_says: a client of CA file |ca| with |crt| and |key| starts
 * (or passes -n) with a warning that holds |want|. */
static void own_warning_says(const char *ca, const char *crt, const char *key, const char *want)
{
	struct rv_config cfg;
	struct rv_tls_ctx *own = NULL;
	enum rv_tls_ctx_fail why;
	char err[512];
	const char *w;

	rv_config_defaults(&cfg, RV_CONFIG_CLIENT);
	set_path(cfg.ca, sizeof(cfg.ca), ca);
	set_path(cfg.cert, sizeof(cfg.cert), crt);
	set_path(cfg.key, sizeof(cfg.key), key);
	snprintf(cfg.server_host, sizeof(cfg.server_host), "%s", T_PKI_SERVER_NAME);
	cr_assert_eq(rv_tls_ctx_from_config(&own, &cfg, true, NULL, &why, err, sizeof(err)), 0,
		     "%s", err);
	w = rv_tls_ctx_own_warning(own);
	cr_assert(strstr(w, want), "%s", w);
	rv_tls_ctx_free(own);
}

/* Every CA of the CA file is a trust anchor, whose path length constraint
 * the verifier does not look at: a CA under an intermediate of pathlen 0,
 * both in the CA file, issued a leaf that got in (round-fifteen tester
 * 73). Refused at the handshake. */
Test(tls_conn, path_length_of_ca_file_intermediates)
{
	char dir1[T_PKI_PATH + 16], dir2[T_PKI_PATH + 16], int_crt[T_PKI_PATH + 32],
		int_key[T_PKI_PATH + 64], sub_crt[T_PKI_PATH + 32], cas[T_PKI_PATH + 32];
	struct rv_pki_issued out;
	struct pair p = { 0 };

	snprintf(dir1, sizeof(dir1), "%s/int0", pki.dir);
	snprintf(dir2, sizeof(dir2), "%s/subint", pki.dir);
	snprintf(int_crt, sizeof(int_crt), "%s/int0-signed.crt", pki.dir);
	snprintf(int_key, sizeof(int_key), "%s/ca.key", dir1);
	snprintf(sub_crt, sizeof(sub_crt), "%s/subint-signed.crt", pki.dir);
	snprintf(cas, sizeof(cas), "%s/three-cas.crt", pki.dir);
	rv_pki_ca_free(make_ca_under(dir1, "int0", pki.ca_crt, pki.ca_key, true, int_crt));
	issue_client(make_ca_under(dir2, "subint", int_crt, int_key, false, sub_crt), "deep", &out);
	cat_files(cas, (const char *const[]){ pki.ca_crt, int_crt, sub_crt, NULL });

	p.sctx = mk_ctx(RV_TLS_SERVER, cas, pki.server_crt, pki.server_key, NULL, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, out.crt, out.key, NULL, T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_ERROR, "a leaf past int0's path length got in as %s",
		     rv_tls_conn_peer_cn(p.s) ? rv_tls_conn_peer_cn(p.s) : "?");
	cr_assert(strstr(rv_tls_conn_error(p.s), "path length constraint exceeded"), "%s",
		  rv_tls_conn_error(p.s));
	free_pair(&p);
	/* This side's own such certificate is said at the start and -n (they
	 * said OK, and every peer refused it: round-thirty-two tester 164). */
	own_warning_says(cas, out.crt, out.key,
			 "does not verify against this side's ca (its CA /CN=int0: path length "
			 "constraint exceeded)");
}

/* restrict_eku gives the CA certificate |crt| an extended key usage of
 * |nid| alone, signed again with |issuer_key|. */
static void restrict_eku(const char *crt, const char *issuer_key, int nid)
{
	struct rv_pki_err perr = { 0 };
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	EVP_PKEY *key = NULL;
	X509 *x = NULL;

	cr_assert(eku && sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(nid)));
	cr_assert_eq(rv_pem_read_cert(&x, crt, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pem_read_key(&key, issuer_key, &perr), 0, "%s", perr.msg);
	cr_assert_eq(X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_REPLACE), 1);
	cr_assert(X509_sign(x, key, EVP_sha256()) > 0);
	cr_assert_eq(rv_pem_write_cert(crt, x, true, &perr), 0, "%s", perr.msg);
	sk_ASN1_OBJECT_free(eku);
	EVP_PKEY_free(key);
	X509_free(x);
}

/* The extended key usage of a CA of the CA file, which the verifier does
 * not look at in a trust anchor: a "servers CA" (serverAuth alone) issued
 * a client that got in, and a "users CA" (clientAuth alone) a server that
 * clients took (round-sixty-seven tester 287). Refused at the handshake,
 * by `pki verify` and at -n; a users CA's client gets in. */
Test(tls_conn, extended_key_usage_of_ca_file_intermediates)
{
	char dir1[T_PKI_PATH + 16], dir2[T_PKI_PATH + 16], srv_crt[T_PKI_PATH + 32],
		usr_crt[T_PKI_PATH + 32], cas[T_PKI_PATH + 32];
	struct rv_pki_issued mallory, alice, rogue;
	struct rv_pki_issue_opts o;
	struct rv_pki_err perr = { 0 };
	struct rv_pki_ca *users;
	struct pair p = { 0 };

	snprintf(dir1, sizeof(dir1), "%s/servers", pki.dir);
	snprintf(dir2, sizeof(dir2), "%s/users", pki.dir);
	snprintf(srv_crt, sizeof(srv_crt), "%s/servers-signed.crt", pki.dir);
	snprintf(usr_crt, sizeof(usr_crt), "%s/users-signed.crt", pki.dir);
	snprintf(cas, sizeof(cas), "%s/eku-cas.crt", pki.dir);
	issue_client(make_ca_under(dir1, "servers", pki.ca_crt, pki.ca_key, false, srv_crt),
		     "mallory", &mallory);
	restrict_eku(srv_crt, pki.ca_key, NID_server_auth);
	users = make_ca_under(dir2, "users", pki.ca_crt, pki.ca_key, false, usr_crt);
	restrict_eku(usr_crt, pki.ca_key, NID_client_auth);
	rv_pki_issue_opts_init(&o, RV_PKI_CERT_SERVER, T_PKI_SERVER_NAME);
	o.out_dir = pki.dir;
	o.file_base = "rogue-server";
	cr_assert_eq(rv_pki_issue(users, &o, &rogue, &perr), 0, "%s", perr.msg);
	issue_client(users, "alice", &alice);
	cat_files(cas, (const char *const[]){ pki.ca_crt, srv_crt, usr_crt, NULL });

	/* A client of the servers CA: refused, its CA named. */
	p.sctx = mk_ctx(RV_TLS_SERVER, cas, pki.server_crt, pki.server_key, NULL, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, mallory.crt, mallory.key, NULL,
			T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_ERROR, "a client of the servers CA got in as %s",
		     rv_tls_conn_peer_cn(p.s) ? rv_tls_conn_peer_cn(p.s) : "?");
	cr_assert(strstr(rv_tls_conn_error(p.s), "unsupported certificate purpose") &&
			  strstr(rv_tls_conn_error(p.s), "its CA /CN=servers"),
		  "%s", rv_tls_conn_error(p.s));
	free_pair(&p);

	/* A client of the users CA: in. */
	memset(&p, 0, sizeof(p));
	p.sctx = mk_ctx(RV_TLS_SERVER, cas, pki.server_crt, pki.server_key, NULL, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, alice.crt, alice.key, NULL, T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_OK, "%s", rv_tls_conn_error(p.s));
	free_pair(&p);

	/* A server of the users CA: the client refuses it. */
	memset(&p, 0, sizeof(p));
	p.sctx = mk_ctx(RV_TLS_SERVER, pki.ca_crt, rogue.crt, rogue.key, NULL, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, cas, pki.client_crt[0], pki.client_key[0], NULL,
			T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.cs, RV_TLS_ERROR, "the client took a server of the users CA");
	cr_assert(strstr(rv_tls_conn_error(p.c), "unsupported certificate purpose"), "%s",
		  rv_tls_conn_error(p.c));
	free_pair(&p);

	/* `pki verify` gives the same verdicts. */
	memset(&perr, 0, sizeof(perr));
	cr_assert_eq(rv_pki_verify(cas, NULL, mallory.crt, RV_PKI_PURPOSE_CLIENT, NULL, &perr),
		     -EKEYREJECTED);
	cr_assert(strstr(perr.msg, "unsupported certificate purpose") &&
			  strstr(perr.msg, "its CA CN = servers"),
		  "%s", perr.msg);
	memset(&perr, 0, sizeof(perr));
	cr_assert_eq(rv_pki_verify(cas, NULL, rogue.crt, RV_PKI_PURPOSE_SERVER, T_PKI_SERVER_NAME,
				   &perr),
		     -EKEYREJECTED, "%s", perr.msg);
	memset(&perr, 0, sizeof(perr));
	cr_assert_eq(rv_pki_verify(cas, NULL, alice.crt, RV_PKI_PURPOSE_CLIENT, NULL, &perr), 0,
		     "%s", perr.msg);
	/* With no purpose asked too: a use the leaf and its CAs allow (no CA
	 * was looked at: round-sixty-seven tester 292). */
	memset(&perr, 0, sizeof(perr));
	cr_assert_eq(rv_pki_verify(cas, NULL, mallory.crt, RV_PKI_PURPOSE_ANY, NULL, &perr),
		     -EKEYREJECTED);
	cr_assert(strstr(perr.msg, "its CA CN = servers") &&
			  strstr(perr.msg, "its extended key usage leaves out TLS client use"),
		  "%s", perr.msg);
	memset(&perr, 0, sizeof(perr));
	cr_assert_eq(rv_pki_verify(cas, NULL, alice.crt, RV_PKI_PURPOSE_ANY, NULL, &perr), 0, "%s",
		     perr.msg);
	memset(&perr, 0, sizeof(perr));
	cr_assert_eq(rv_pki_verify(cas, NULL, rogue.crt, RV_PKI_PURPOSE_ANY, NULL, &perr),
		     -EKEYREJECTED, "%s", perr.msg);

	/* This side's own such certificate is said at the start and -n. */
	own_warning_says(cas, mallory.crt, mallory.key,
			 "does not verify against this side's ca (its CA /CN=servers: its extended "
			 "key usage leaves out TLS client use)");
}

/* A name too long for its buffer ends in "..." (X509_NAME_oneline dropped
 * the parts that did not fit without a mark: round-twenty-nine tester
 * 146); one that fits is written whole. */
Test(tls_conn, name_oneline_marks_a_cut)
{
	X509_NAME *n = X509_NAME_new();
	char small[40], big[400];

	cr_assert_not_null(n);
	for (int i = 0; i < 6; i++) {
		cr_assert(X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
						     (const unsigned char *)"UUUUUUUUUUUUUUUUUUUUUU"
									    "UUUUUUUUUUUUUUUUUU",
						     -1, -1, 0));
	}
	cr_assert(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"END",
					     -1, -1, 0));
	rv_tls_name_oneline(n, big, sizeof(big));
	cr_assert(strstr(big, "/CN=END") != NULL, "%s", big);
	rv_tls_name_oneline(n, small, sizeof(small));
	cr_assert_eq(strlen(small), sizeof(small) - 1, "%s", small);
	cr_assert_str_eq(small + sizeof(small) - 4, "...");
	cr_assert(strncmp(small, big, sizeof(small) - 4) == 0, "%s", small);
	X509_NAME_free(n);
}

/* ahead_crl writes to |f| a CRL of the CA |crt|/|key| whose lastUpdate is
 * |ahead| seconds from now (its signer's clock ahead; below 0, behind),
 * listing the certificate |revoke| (NULL: none). */
static void ahead_crl(FILE *f, const char *crt, const char *key, long ahead, const char *revoke)
{
	struct rv_pki_err perr;
	X509_CRL *crl = X509_CRL_new();
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	ASN1_TIME *last = ASN1_TIME_adj(NULL, time(NULL), 0, ahead);
	ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), 30, 0);

	cr_assert_eq(rv_pem_read_cert(&ca, crt, &perr), 0, "%s", perr.msg);
	cr_assert_eq(rv_pem_read_key(&ca_key, key, &perr), 0, "%s", perr.msg);
	cr_assert(crl && last && next && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
		  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
		  X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next));
	if (revoke) {
		X509 *leaf = NULL;
		X509_REVOKED *r = X509_REVOKED_new();

		cr_assert_eq(rv_pem_read_cert(&leaf, revoke, &perr), 0, "%s", perr.msg);
		cr_assert(r && X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(leaf)) &&
			  X509_REVOKED_set_revocationDate(r, X509_CRL_get0_lastUpdate(crl)) &&
			  X509_CRL_add0_revoked(crl, r));
		X509_free(leaf);
	}
	cr_assert(X509_CRL_sign(crl, ca_key, EVP_sha256()) > 0);
	cr_assert(PEM_write_X509_CRL(f, crl));
	X509_CRL_free(crl);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
}

/* rv_tls_crl_not_yet_valid with two CAs none of whose CRLs is valid yet:
 * the CA named is the one of the time said, the later, in either order in
 * the file (the first CA in the file was named with the later CA's time:
 * round-sixty-seven tester 297). */
Test(tls_conn, crl_not_yet_valid_names_the_ca_of_its_time)
{
	char bundle[T_PKI_PATH + 16], crls[T_PKI_PATH + 16], err[1024];

	snprintf(bundle, sizeof(bundle), "%s/both.crt", pki.dir);
	snprintf(crls, sizeof(crls), "%s/ahead.crl", pki.dir);
	FILE *b = fopen(bundle, "w"), *in;
	int ch;

	cr_assert_not_null(b);
	for (int i = 0; i < 2; i++) {
		in = fopen(i == 0 ? pki.ca_crt : pki.other_ca_crt, "r");
		cr_assert_not_null(in);
		while ((ch = fgetc(in)) != EOF) {
			fputc(ch, b);
		}
		fclose(in);
	}
	cr_assert_eq(fclose(b), 0);

	for (int order = 0; order < 2; order++) {
		FILE *f = fopen(crls, "w");

		cr_assert_not_null(f);
		/* This CA's CRL an hour ahead, the other CA's two. */
		if (order == 0) {
			ahead_crl(f, pki.ca_crt, pki.ca_key, 3600, NULL);
			ahead_crl(f, pki.other_ca_crt, pki.other_ca_key, 7200, NULL);
		} else {
			ahead_crl(f, pki.other_ca_crt, pki.other_ca_key, 7200, NULL);
			ahead_crl(f, pki.ca_crt, pki.ca_key, 3600, NULL);
		}
		cr_assert_eq(fclose(f), 0);

		struct rv_tls_ctx *ctx =
			mk_ctx(RV_TLS_SERVER, bundle, pki.server_crt, pki.server_key, crls, NULL);

		cr_assert_gt(rv_tls_crl_not_yet_valid(ctx, crls, err, sizeof(err)), 0);
		cr_assert(strstr(err, "(in 7"), "order %d: %s", order, err);
		cr_assert(strstr(err, "the CRL of CA /CN=other test CA)"), "order %d: %s", order,
			  err);
		cr_assert(strstr(err, "would be refused until then, and those of 1 other CA(s) "
				      "until then or sooner"),
			  "order %d: %s", order, err);
		rv_tls_ctx_free(ctx);
	}

	/* This CA with a CRL valid now and a newer one two hours ahead, the
	 * other CA's an hour ahead alone: both said (the other's hid this
	 * one's, whose revocations are not in force meanwhile: round
	 * sixty-eight tester 306). */
	FILE *f = fopen(crls, "w");

	cr_assert_not_null(f);
	ahead_crl(f, pki.ca_crt, pki.ca_key, -60, NULL);
	ahead_crl(f, pki.ca_crt, pki.ca_key, 7200, pki.client_crt[1]);
	ahead_crl(f, pki.other_ca_crt, pki.other_ca_key, 3600, NULL);
	cr_assert_eq(fclose(f), 0);

	struct rv_tls_ctx *ctx =
		mk_ctx(RV_TLS_SERVER, bundle, pki.server_crt, pki.server_key, crls, NULL);

	cr_assert_gt(rv_tls_crl_not_yet_valid(ctx, crls, err, sizeof(err)), 0);
	cr_assert(strstr(err, "(in 3"), "%s", err);
	cr_assert(strstr(err, "the CRL of CA /CN=other test CA)"), "%s", err);
	cr_assert(strstr(err, "; and the newest CRL of CA /CN=ringvpn test CA is not valid until "),
		  "%s", err);
	cr_assert(strstr(err, "until then an older CRL of that CA, valid now, is used"), "%s", err);
	rv_tls_ctx_free(ctx);
}

/* check_after lets client1 in under a server whose CRL file is |first|
 * and says whether the live sessions' check against a context of the CRL
 * file |then| finds it revoked (rv_tls_conn_revoked; 1 yes, 0 no). */
static int check_after(const char *first, const char *then)
{
	struct pair p = { 0 };
	struct rv_tls_ctx *now;
	int revoked;

	p.sctx = mk_ctx(RV_TLS_SERVER, pki.ca_crt, pki.server_crt, pki.server_key, first, NULL);
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, pki.client_crt[0], pki.client_key[0], NULL,
			T_PKI_SERVER_NAME);
	run(&p);
	cr_assert_eq(p.ss, RV_TLS_OK, "%s", rv_tls_conn_error(p.s));
	now = mk_ctx(RV_TLS_SERVER, pki.ca_crt, pki.server_crt, pki.server_key, then, NULL);
	revoked = rv_tls_conn_revoked(p.s, now);
	rv_tls_ctx_free(now);
	free_pair(&p);
	return revoked;
}

/* The live sessions' check takes the newest CRL valid now, as the
 * handshake's verifier does: one dated ahead that revokes a client beside
 * an older one valid now that does not ends no session before its time
 * (it took the newest, and ended sessions the handshake let in again:
 * round-sixty-seven tester 297). */
Test(tls_conn, live_check_takes_the_newest_crl_valid_now)
{
	char crls[T_PKI_PATH + 16];
	FILE *f;

	snprintf(crls, sizeof(crls), "%s/two.crl", pki.dir);
	for (int order = 0; order < 2; order++) {
		f = fopen(crls, "w");
		cr_assert_not_null(f);
		if (order == 0) {
			ahead_crl(f, pki.ca_crt, pki.ca_key, -60, NULL);
			ahead_crl(f, pki.ca_crt, pki.ca_key, 3600, pki.client_crt[0]);
		} else {
			ahead_crl(f, pki.ca_crt, pki.ca_key, 3600, pki.client_crt[0]);
			ahead_crl(f, pki.ca_crt, pki.ca_key, -60, NULL);
		}
		cr_assert_eq(fclose(f), 0);
		/* The handshake under this file lets the client in ... */
		cr_assert_eq(check_after(crls, crls), 0, "order %d: revoked before its time",
			     order);
	}

	/* ... and the newest valid now decides: one that revokes the client,
	 * beside an older one that does not, ends its session. */
	f = fopen(crls, "w");
	cr_assert_not_null(f);
	ahead_crl(f, pki.ca_crt, pki.ca_key, -120, NULL);
	ahead_crl(f, pki.ca_crt, pki.ca_key, -60, pki.client_crt[0]);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(check_after(pki.ca_crl, crls), 1);
}

/* A CRL file that leaves out the CRL of one of two CAs of one name (a
 * rotation's, both `pki ca`'s default name): the CA left without one is
 * told apart by its serial (nothing told them apart: round-sixty-eight
 * tester 301); a CA whose name is its own alone is named by it. */
Test(tls_conn, crl_dropped_names_twin_ca_by_serial)
{
	char dir[T_PKI_PATH + 16], twin_crt[T_PKI_PATH + 32], twin_crl[T_PKI_PATH + 32];
	char cas[T_PKI_PATH + 32], both[T_PKI_PATH + 32], who[224], serial[64];
	struct rv_pki_ca_opts o = { .name = "ringvpn test CA", .days = 30 };
	struct rv_pki_err perr = { 0 };
	X509 *ca = NULL;

	snprintf(dir, sizeof(dir), "%s/twin-ca", pki.dir);
	cr_assert_eq(rv_pki_ca_create(dir, &o, &perr), 0, "%s", perr.msg);
	snprintf(twin_crt, sizeof(twin_crt), "%s/ca.crt", dir);
	snprintf(twin_crl, sizeof(twin_crl), "%s/ca.crl", dir);
	snprintf(cas, sizeof(cas), "%s/twins.crt", pki.dir);
	snprintf(both, sizeof(both), "%s/twins.crl", pki.dir);
	cat_files(cas, (const char *const[]){ pki.ca_crt, twin_crt, NULL });
	cat_files(both, (const char *const[]){ pki.ca_crl, twin_crl, NULL });

	struct rv_tls_ctx *cur =
		mk_ctx(RV_TLS_SERVER, cas, pki.server_crt, pki.server_key, both, NULL);
	struct rv_tls_ctx *n =
		mk_ctx(RV_TLS_SERVER, cas, pki.server_crt, pki.server_key, twin_crl, NULL);

	cr_assert_eq(rv_pem_read_cert(&ca, pki.ca_crt, &perr), 0, "%s", perr.msg);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca), NULL);
	char *hex = BN_bn2hex(bn);

	snprintf(serial, sizeof(serial), "/CN=ringvpn test CA (serial %s)", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(ca);
	cr_assert(rv_tls_ctx_crl_dropped(n, cur, who, sizeof(who)));
	cr_assert_str_eq(who, serial);
	rv_tls_ctx_free(n);
	rv_tls_ctx_free(cur);

	/* Two CAs of their own names: the name alone. */
	cat_files(cas, (const char *const[]){ pki.ca_crt, pki.other_ca_crt, NULL });
	snprintf(twin_crl, sizeof(twin_crl), "%s/ca.crl", pki.other_ca_dir);
	cat_files(both, (const char *const[]){ pki.ca_crl, twin_crl, NULL });
	cur = mk_ctx(RV_TLS_SERVER, cas, pki.server_crt, pki.server_key, both, NULL);
	n = mk_ctx(RV_TLS_SERVER, cas, pki.server_crt, pki.server_key, twin_crl, NULL);
	cr_assert(rv_tls_ctx_crl_dropped(n, cur, who, sizeof(who)));
	cr_assert_str_eq(who, "/CN=ringvpn test CA");
	rv_tls_ctx_free(n);
	rv_tls_ctx_free(cur);
}

/* Junk after a valid ClientHello is said as such, not as a peer that does
 * not speak TLS, which a port answering something else is (round
 * sixty-eight tester 300). */
Test(tls_conn, junk_after_a_client_hello_is_said_so)
{
	static const uint8_t junk[] = "\x16\x09\x09\x00\x05hello, not a record";
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct pair p = { 0 };

	p.sctx = server_ctx();
	p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, pki.client_crt[0], pki.client_key[0], NULL,
			T_PKI_SERVER_NAME);
	cr_assert_eq(rv_tls_conn_new(&p.s, p.sctx), 0);
	cr_assert_eq(rv_tls_conn_new(&p.c, p.cctx), 0);
	cr_assert_eq(rv_tls_conn_handshake(p.c), RV_TLS_WANT_READ);
	cr_assert_gt(move(p.c, p.s), 0, "a ClientHello");
	cr_assert_eq(rv_tls_conn_handshake(p.s), RV_TLS_WANT_READ);
	cr_assert_eq(rv_tls_conn_feed(p.s, junk, sizeof(junk) - 1), 0);
	cr_assert_eq(rv_tls_conn_handshake(p.s), RV_TLS_ERROR);
	cr_assert(strstr(rv_tls_conn_error(p.s),
			 "the peer sent bytes that are no TLS record in its handshake"),
		  "%s", rv_tls_conn_error(p.s));
	rv_tls_conn_free(p.s);
	cr_assert_eq(rv_tls_conn_new(&p.s, p.sctx), 0);
	cr_assert_eq(rv_tls_conn_feed(p.s, http, sizeof(http) - 1), 0);
	cr_assert_eq(rv_tls_conn_handshake(p.s), RV_TLS_ERROR);
	cr_assert(strstr(rv_tls_conn_error(p.s), "the peer does not speak TLS"), "%s",
		  rv_tls_conn_error(p.s));
	free_pair(&p);
}

/* A certificate of a serial RFC 5280 forbids (zero, negative, longer than
 * 20 octets; made by another tool, signed by the CA): no CA's revoked.txt
 * can list it, so the deployment could never revoke it, and it got in
 * (round-seventy tester 322). Refused by the server's check and the
 * client's, and as this side's own at a start (-n); 20 octets get in. */
Test(tls_conn, serial_no_index_can_list_is_refused)
{
	const struct t_pki_serial *cases = t_pki_serials;

	for (size_t i = 0; i < T_PKI_NUM_SERIALS; i++) {
		char crt[T_PKI_PATH + 32], srv[T_PKI_PATH + 32], want[160], err[768];
		struct rv_tls_ctx *own = NULL;
		enum rv_tls_ctx_fail fail;
		struct rv_config cfg;
		struct pair p = { 0 };

		snprintf(crt, sizeof(crt), "%s/serial%zu.crt", pki.dir, i);
		snprintf(srv, sizeof(srv), "%s/server%zu.crt", pki.dir, i);
		snprintf(want, sizeof(want),
			 "its serial number is %s (RFC 5280 allows a positive integer of at most "
			 "20 octets)",
			 cases[i].why ? cases[i].why : "");
		cr_assert_eq(t_pki_reserial(&pki, pki.client_crt[0], cases[i].hex, crt), 0);
		cr_assert_eq(t_pki_reserial(&pki, pki.server_crt, cases[i].hex, srv), 0);

		/* The server's check. */
		p.sctx = server_ctx();
		p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, crt, pki.client_key[0], NULL,
				T_PKI_SERVER_NAME);
		run(&p);
		if (cases[i].why == NULL) {
			cr_assert_eq(p.ss, RV_TLS_OK, "serial %s: %s", cases[i].hex,
				     rv_tls_conn_error(p.s));
		} else {
			cr_assert_eq(p.ss, RV_TLS_ERROR, "serial %s got in", cases[i].hex);
			cr_assert(strstr(rv_tls_conn_error(p.s), want), "%s",
				  rv_tls_conn_error(p.s));
			/* Not said as the name's refusal, with whose it was. */
			cr_assert_null(strstr(rv_tls_conn_error(p.s), "common name"), "%s",
				       rv_tls_conn_error(p.s));
			cr_assert(strstr(rv_tls_conn_error(p.s), "(client1, serial "), "%s",
				  rv_tls_conn_error(p.s));
			cr_assert_eq(rv_tls_conn_refusal(p.s), RV_TLS_REFUSED_UNTRUSTED);
			cr_assert_null(rv_tls_conn_peer_cn(p.s));
		}
		free_pair(&p);

		/* The client's check of a server. */
		memset(&p, 0, sizeof(p));
		p.sctx = mk_ctx(RV_TLS_SERVER, pki.ca_crt, srv, pki.server_key, NULL, NULL);
		p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, pki.client_crt[0], pki.client_key[0],
				NULL, T_PKI_SERVER_NAME);
		run(&p);
		if (cases[i].why == NULL) {
			cr_assert_eq(p.cs, RV_TLS_OK, "serial %s: %s", cases[i].hex,
				     rv_tls_conn_error(p.c));
		} else {
			cr_assert_eq(p.cs, RV_TLS_ERROR, "a server of serial %s taken",
				     cases[i].hex);
			cr_assert(strstr(rv_tls_conn_error(p.c), want), "%s",
				  rv_tls_conn_error(p.c));
		}
		free_pair(&p);

		/* As this side's own: refused at a start (-n), as every peer
		 * refuses it. */
		rv_config_defaults(&cfg, RV_CONFIG_CLIENT);
		set_path(cfg.ca, sizeof(cfg.ca), pki.ca_crt);
		set_path(cfg.cert, sizeof(cfg.cert), crt);
		set_path(cfg.key, sizeof(cfg.key), pki.client_key[0]);
		snprintf(cfg.server_host, sizeof(cfg.server_host), "%s", T_PKI_SERVER_NAME);
		if (cases[i].why == NULL) {
			cr_assert_eq(rv_tls_ctx_from_config(&own, &cfg, true, NULL, &fail, err,
							    sizeof(err)),
				     0, "%s", err);
		} else {
			cr_assert_neq(rv_tls_ctx_from_config(&own, &cfg, true, NULL, &fail, err,
							     sizeof(err)),
				      0, "serial %s taken as this side's own", cases[i].hex);
			cr_assert(strstr(err, want), "%s", err);
		}
		rv_tls_ctx_free(own);
	}
}

/* An intermediate of the CA file whose serial no index can list, signed
 * by the root (another tool's): the check looked at the leaf alone, so
 * its leaves got in, and once `pki crl` left its revocation out of the
 * root's CRL they got in again (round-seventy tester 324). Refused by
 * either end, named, as the intermediate's; at -n and start the side's
 * own such chain is said; a live session under an intermediate re-issued
 * so (a CA file change) ends. A root of such a serial stays a trust
 * anchor (no CRL revokes it). Fails before. */
Test(tls_conn, serial_of_an_intermediate_is_refused)
{
	for (size_t i = 0; i < T_PKI_NUM_SERIALS; i++) {
		const struct t_pki_serial *c = &t_pki_serials[i];
		char name[32], want[300];
		struct t_pki_int in;
		struct rv_pki_issued cl, sv;
		struct rv_pki_issue_opts o;
		struct rv_pki_err perr = { 0 };
		struct rv_pki_ca *sub = NULL;
		struct pair p = { 0 };

		snprintf(name, sizeof(name), "sn%zu", i);
		cr_assert_eq(t_pki_intermediate(&pki, name, c->hex, &in), 0);
		cr_assert_eq(rv_pki_ca_open(&sub, in.dir, &perr), 0, "%s", perr.msg);
		rv_pki_issue_opts_init(&o, RV_PKI_CERT_SERVER, T_PKI_SERVER_NAME);
		o.out_dir = pki.dir;
		o.file_base = "sn-server";
		o.force = true;
		cr_assert_eq(rv_pki_issue(sub, &o, &sv, &perr), 0, "%s", perr.msg);
		issue_client(sub, name, &cl);
		snprintf(want, sizeof(want),
			 "its CA's serial number is %s (RFC 5280 allows a positive integer of at "
			 "most 20 octets)",
			 c->why ? c->why : "");

		/* The server's check of a client under it. */
		p.sctx = mk_ctx(RV_TLS_SERVER, in.cas, pki.server_crt, pki.server_key, NULL, NULL);
		p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, cl.crt, cl.key, NULL, T_PKI_SERVER_NAME);
		run(&p);
		if (c->why == NULL) {
			cr_assert_eq(p.ss, RV_TLS_OK, "serial %s: %s", c->hex,
				     rv_tls_conn_error(p.s));
		} else {
			cr_assert_eq(p.ss, RV_TLS_ERROR, "a leaf under %s of serial %s got in",
				     name, c->hex);
			cr_assert(strstr(rv_tls_conn_error(p.s), want), "%s",
				  rv_tls_conn_error(p.s));
			snprintf(want, sizeof(want), "(%s: its CA /CN=%s, serial ", name, name);
			cr_assert(strstr(rv_tls_conn_error(p.s), want), "%s",
				  rv_tls_conn_error(p.s));
			cr_assert_eq(rv_tls_conn_refusal(p.s), RV_TLS_REFUSED_UNTRUSTED);
			cr_assert_null(rv_tls_conn_peer_cn(p.s));
		}
		free_pair(&p);

		/* The client's check of a server under it. */
		memset(&p, 0, sizeof(p));
		p.sctx = mk_ctx(RV_TLS_SERVER, pki.ca_crt, sv.crt, sv.key, NULL, NULL);
		p.cctx = mk_ctx(RV_TLS_CLIENT, in.cas, pki.client_crt[0], pki.client_key[0], NULL,
				T_PKI_SERVER_NAME);
		run(&p);
		cr_assert_eq(p.cs, c->why == NULL ? RV_TLS_OK : RV_TLS_ERROR, "serial %s: %s",
			     c->hex, rv_tls_conn_error(p.c));
		if (c->why != NULL) {
			cr_assert(strstr(rv_tls_conn_error(p.c), "its CA's serial number is "),
				  "%s", rv_tls_conn_error(p.c));
		}
		free_pair(&p);

		/* As this side's own chain: said at -n and start. */
		if (c->why != NULL) {
			snprintf(want, sizeof(want),
				 "does not verify against this side's ca (its CA /CN=%s: its "
				 "serial "
				 "number is %s (RFC 5280",
				 name, c->why);
			own_warning_says(in.cas, cl.crt, cl.key, want);
		}
	}

	/* A live session under an intermediate of serial 1, whose CA file
	 * then brings it re-issued with serial 0 (its name and key kept):
	 * ended, as the handshake would refuse it. */
	{
		char zero_crt[T_PKI_PATH + 48], zero_cas[T_PKI_PATH + 48], err[512];
		struct t_pki_int in;
		struct rv_pki_err perr = { 0 };
		struct rv_pki_ca *sub = NULL;
		struct rv_pki_issued cl;
		struct rv_tls_ctx *zero;
		struct pair p = { 0 };

		snprintf(zero_crt, sizeof(zero_crt), "%s/reissued-0.crt", pki.dir);
		snprintf(zero_cas, sizeof(zero_cas), "%s/reissued-0-cas.crt", pki.dir);
		cr_assert_eq(t_pki_intermediate(&pki, "reissued", "1", &in), 0);
		cr_assert_eq(t_pki_reserial(&pki, in.crt, "0", zero_crt), 0);
		cr_assert_eq(rv_pki_ca_open(&sub, in.dir, &perr), 0, "%s", perr.msg);
		issue_client(sub, "underling", &cl);
		cat_files(zero_cas, (const char *const[]){ pki.ca_crt, zero_crt, NULL });
		p.sctx = mk_ctx(RV_TLS_SERVER, in.cas, pki.server_crt, pki.server_key, NULL, NULL);
		p.cctx = mk_ctx(RV_TLS_CLIENT, pki.ca_crt, cl.crt, cl.key, NULL, T_PKI_SERVER_NAME);
		run(&p);
		cr_assert_eq(p.ss, RV_TLS_OK, "%s", rv_tls_conn_error(p.s));
		zero = mk_ctx(RV_TLS_SERVER, zero_cas, pki.server_crt, pki.server_key, NULL, NULL);
		cr_assert_eq(rv_tls_conn_reverify(p.s, p.sctx, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(rv_tls_conn_reverify(p.s, zero, err, sizeof(err)), -EKEYREJECTED,
			     "the session lived on: %s", err);
		cr_assert(strstr(err, "its CA /CN=reissued: its serial number is zero (RFC 5280"),
			  "%s", err);
		rv_tls_ctx_free(zero);
		free_pair(&p);
	}

	/* A root of serial 0: a trust anchor, taken at either end. */
	{
		char root[T_PKI_PATH + 32];
		struct pair p = { 0 };

		snprintf(root, sizeof(root), "%s/root-serial0.crt", pki.dir);
		cr_assert_eq(t_pki_reserial(&pki, pki.ca_crt, "0", root), 0);
		p.sctx = mk_ctx(RV_TLS_SERVER, root, pki.server_crt, pki.server_key, NULL, NULL);
		p.cctx = mk_ctx(RV_TLS_CLIENT, root, pki.client_crt[0], pki.client_key[0], NULL,
				T_PKI_SERVER_NAME);
		run(&p);
		cr_assert_eq(p.ss, RV_TLS_OK, "%s", rv_tls_conn_error(p.s));
		cr_assert_eq(p.cs, RV_TLS_OK, "%s", rv_tls_conn_error(p.c));
		free_pair(&p);
	}
}
