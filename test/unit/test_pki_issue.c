/*
 * test_pki_issue.c — server and client certificates (pki/issue.c) checked
 * with BoringSSL's own X509_verify_cert against the CA and its CRL, through
 * the test PKI of test/lib/t_pki.c: valid certificates pass; a certificate
 * from another CA, an expired one and a revoked one fail for their reason;
 * subject, SAN, EKU, key usage and key file modes are as specified; names
 * that are unsafe as file names or invalid as DNS names are refused.
 *
 *   ./build/<dir>/test/test_pki_issue --verbose   (or: ctest -L unit -R pki_issue)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/ca.h"
#include "pki/issue.h"
#include "pki/pem.h"
#include "pki/show.h"
#include "pki/verify.h"
#include "test/lib/t_pki.h"

static struct t_pki pki;

static void setup(void)
{
	cr_assert_eq(t_pki_create(&pki), 0);
}

static void teardown(void)
{
	t_pki_destroy(&pki);
}

TestSuite(pki_issue, .init = setup, .fini = teardown, .timeout = 30);

static X509 *load_cert(const char *path)
{
	struct rv_pki_err err = { 0 };
	X509 *x;

	cr_assert_eq(rv_pem_read_cert(&x, path, &err), 0, "%s", err.msg);
	return x;
}

/* verify_raw runs X509_verify_cert directly (not through pki/verify.c), so
 * the certificates are judged by BoringSSL itself. Returns the X509_V_ code. */
static int verify_raw(const char *ca_path, const char *crl_path, const char *cert_path, int purpose)
{
	struct rv_pki_err err = { 0 };
	X509 *ca = load_cert(ca_path), *cert = load_cert(cert_path);
	X509_CRL *crl = NULL;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int code;

	cr_assert(X509_STORE_add_cert(store, ca));
	if (crl_path != NULL) {
		cr_assert_eq(rv_pem_read_crl(&crl, crl_path, &err), 0, "%s", err.msg);
		cr_assert(X509_STORE_add_crl(store, crl));
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	cr_assert(X509_STORE_CTX_init(ctx, store, cert, NULL));
	if (purpose != 0) {
		cr_assert(X509_STORE_CTX_set_purpose(ctx, purpose));
	}
	code = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_CRL_free(crl);
	X509_free(cert);
	X509_free(ca);
	return code;
}

Test(pki_issue, chain_valid_certs_pass)
{
	cr_assert_eq(verify_raw(pki.ca_crt, pki.ca_crl, pki.server_crt, X509_PURPOSE_SSL_SERVER),
		     X509_V_OK);
	for (int i = 0; i < T_PKI_NUM_CLIENTS; i++) {
		cr_assert_eq(verify_raw(pki.ca_crt, pki.ca_crl, pki.client_crt[i],
					X509_PURPOSE_SSL_CLIENT),
			     X509_V_OK, "client%d", i + 1);
	}
}

Test(pki_issue, chain_other_ca_fails)
{
	int code = verify_raw(pki.ca_crt, pki.ca_crl, pki.rogue_crt, X509_PURPOSE_SSL_CLIENT);

	cr_assert(code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			  code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
		  "code %d", code);
	/* ...but it is a perfectly good certificate of the other CA. */
	cr_assert_eq(verify_raw(pki.other_ca_crt, NULL, pki.rogue_crt, X509_PURPOSE_SSL_CLIENT),
		     X509_V_OK);
}

Test(pki_issue, chain_expired_fails)
{
	cr_assert_eq(verify_raw(pki.ca_crt, pki.ca_crl, pki.expired_crt, X509_PURPOSE_SSL_CLIENT),
		     X509_V_ERR_CERT_HAS_EXPIRED);
}

Test(pki_issue, chain_revoked_fails_only_with_crl)
{
	cr_assert_eq(verify_raw(pki.ca_crt, pki.ca_crl, pki.revoked_crt, X509_PURPOSE_SSL_CLIENT),
		     X509_V_ERR_CERT_REVOKED);
	/* Without the CRL the same certificate passes: the CRL is what rejects it. */
	cr_assert_eq(verify_raw(pki.ca_crt, NULL, pki.revoked_crt, X509_PURPOSE_SSL_CLIENT),
		     X509_V_OK);
}

Test(pki_issue, purpose_enforced_by_eku)
{
	cr_assert_eq(verify_raw(pki.ca_crt, pki.ca_crl, pki.client_crt[0], X509_PURPOSE_SSL_SERVER),
		     X509_V_ERR_INVALID_PURPOSE);
	cr_assert_eq(verify_raw(pki.ca_crt, pki.ca_crl, pki.server_crt, X509_PURPOSE_SSL_CLIENT),
		     X509_V_ERR_INVALID_PURPOSE);
}

/* The pki/verify.c wrapper maps each verdict to its errno. */
Test(pki_issue, verify_wrapper_verdicts)
{
	struct rv_pki_err err = { 0 };

	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.server_crt, RV_PKI_PURPOSE_SERVER,
				   T_PKI_SERVER_NAME, &err),
		     0, "%s", err.msg);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.client_crt[1], RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     0, "%s", err.msg);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.server_crt, RV_PKI_PURPOSE_SERVER,
				   "wrong.test", &err),
		     -EKEYREJECTED);
	cr_assert_eq(err.kind, RV_PKI_ERR_CERT);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.expired_crt, RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     -EKEYEXPIRED);
	cr_assert_not_null(strstr(err.msg, "expired"), "%s", err.msg);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.revoked_crt, RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     -EKEYREVOKED);
	cr_assert_not_null(strstr(err.msg, "revoked"), "%s", err.msg);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.rogue_crt, RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     -EKEYREJECTED);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, NULL, pki.revoked_crt, RV_PKI_PURPOSE_CLIENT, NULL,
				   &err),
		     0);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, "/nonexistent.crt", RV_PKI_PURPOSE_ANY,
				   NULL, &err),
		     -ENOENT);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_mode & 07777;
}

Test(pki_issue, key_files_0600_cert_files_0644)
{
	const char *keys[] = { pki.server_key,	pki.client_key[0], pki.client_key[1],
			       pki.expired_key, pki.rogue_key,	   pki.revoked_key };
	const char *crts[] = { pki.server_crt, pki.client_crt[0], pki.rogue_crt };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cr_assert_eq(mode_of(keys[i]), 0600, "%s is %o", keys[i], mode_of(keys[i]));
	}
	for (size_t i = 0; i < sizeof(crts) / sizeof(crts[0]); i++) {
		cr_assert_eq(mode_of(crts[i]), 0644, "%s", crts[i]);
	}
}

Test(pki_issue, keys_match_certs)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *k;
	X509 *x = load_cert(pki.server_crt);

	cr_assert_eq(rv_pem_read_key(&k, pki.server_key, &err), 0, "%s", err.msg);
	cr_assert_eq(EVP_PKEY_id(k), EVP_PKEY_EC);
	cr_assert_eq(EVP_PKEY_bits(k), 256);
	cr_assert(X509_check_private_key(x, k));
	EVP_PKEY_free(k);
	X509_free(x);
}

static void get_cn(X509 *x, char *out, size_t len)
{
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out,
					       (int)len),
		     0);
}

Test(pki_issue, server_cert_fields)
{
	X509 *x = load_cert(pki.server_crt), *ca = load_cert(pki.ca_crt);
	GENERAL_NAMES *gens;
	char cn[80];
	int crit = -1;

	get_cn(x, cn, sizeof(cn));
	cr_assert_str_eq(cn, T_PKI_SERVER_NAME);
	cr_assert_eq(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)), 0);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	cr_assert_not_null(gens);
	cr_assert_eq(sk_GENERAL_NAME_num(gens), 1);
	const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, 0);
	cr_assert_eq(g->type, GEN_DNS);
	cr_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.dNSName), T_PKI_SERVER_NAME);
	GENERAL_NAMES_free(gens);
	cr_assert_eq(X509_check_host(x, T_PKI_SERVER_NAME, strlen(T_PKI_SERVER_NAME), 0, NULL), 1);
	cr_assert_neq(X509_check_host(x, "other.test", strlen("other.test"), 0, NULL), 1);

	cr_assert_eq(X509_get_extended_key_usage(x), (uint32_t)XKU_SSL_SERVER);
	cr_assert_eq(X509_get_key_usage(x), (uint32_t)KU_DIGITAL_SIGNATURE);
	cr_assert_eq(X509_check_ca(x), 0, "leaf is not a CA");
	cr_assert_not_null(X509_get0_authority_key_id(x), "AKI present");
	cr_assert_eq(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
					   X509_get0_subject_key_id(ca)),
		     0, "AKI = CA's SKI");
	X509_free(ca);
	X509_free(x);
}

Test(pki_issue, client_cert_fields)
{
	X509 *x = load_cert(pki.client_crt[1]);
	char cn[80];

	get_cn(x, cn, sizeof(cn));
	cr_assert_str_eq(cn, "client2");
	cr_assert_eq(X509_get_extended_key_usage(x), (uint32_t)XKU_SSL_CLIENT);
	cr_assert_eq(X509_get_key_usage(x), (uint32_t)KU_DIGITAL_SIGNATURE);
	cr_assert_null(X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL));
	cr_assert_eq(X509_check_ca(x), 0);
	X509_free(x);
}

/* A certificate is valid from an hour back, as its CA: one dated 5 minutes
 * back was refused by a peer (or its own client) whose clock was over 5
 * minutes behind (round-fifty-five tester 233). */
Test(pki_issue, valid_from_an_hour_back)
{
	X509 *x = load_cert(pki.client_crt[1]);
	time_t t = time(NULL) - 3600 + 120;

	cr_assert_lt(X509_cmp_time(X509_get0_notBefore(x), &t), 0,
		     "not valid from over 58 minutes back");
	t = time(NULL) - 3600 - 600;
	cr_assert_gt(X509_cmp_time(X509_get0_notBefore(x), &t), 0, "dated too far back");
	X509_free(x);
}

Test(pki_issue, expired_cert_window)
{
	X509 *x = load_cert(pki.expired_crt);

	cr_assert_lt(X509_cmp_current_time(X509_get0_notAfter(x)), 0, "in the past");
	cr_assert_lt(X509_cmp_current_time(X509_get0_notBefore(x)), 0);
	X509_free(x);
}

static struct rv_pki_ca *open_ca(void)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;

	cr_assert_eq(rv_pki_ca_open(&ca, pki.ca_dir, &err), 0, "%s", err.msg);
	return ca;
}

Test(pki_issue, ip_server_names)
{
	static const struct {
		const char *name, *file;
		int len;
	} cases[] = { { "10.1.2.3", NULL, 4 }, { "fd00::1", "v6server", 16 } };
	struct rv_pki_ca *ca = open_ca();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rv_pki_issue_opts o;
		struct rv_pki_issued out;
		struct rv_pki_err err = { 0 };

		rv_pki_issue_opts_init(&o, RV_PKI_CERT_SERVER, cases[i].name);
		o.out_dir = pki.dir;
		o.file_base = cases[i].file;
		cr_assert_eq(rv_pki_issue(ca, &o, &out, &err), 0, "%s", err.msg);
		X509 *x = load_cert(out.crt);
		GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		cr_assert_not_null(gens);
		cr_assert_eq(sk_GENERAL_NAME_value(gens, 0)->type, GEN_IPADD);
		cr_assert_eq(ASN1_STRING_length(sk_GENERAL_NAME_value(gens, 0)->d.iPAddress),
			     cases[i].len);
		cr_assert_eq(X509_check_ip_asc(x, cases[i].name, 0), 1);
		GENERAL_NAMES_free(gens);
		X509_free(x);
		cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, out.crt, RV_PKI_PURPOSE_SERVER,
					   cases[i].name, &err),
			     0, "%s", err.msg);
	}
	rv_pki_ca_free(ca);
}

struct bad_name {
	int kind; /* enum rv_pki_cert_kind */
	char name[80];
	char file[32];
};

static const struct bad_name bad_names[] = {
	/* 1 */ { RV_PKI_CERT_CLIENT, "", "" },
	/* 2 */ { RV_PKI_CERT_CLIENT, "../escape", "" },
	/* 3 */ { RV_PKI_CERT_CLIENT, "a/b", "" },
	/* 4 */ { RV_PKI_CERT_CLIENT, ".hidden", "" },
	/* 5 */ { RV_PKI_CERT_CLIENT, "-flag", "" },
	/* 6 */ { RV_PKI_CERT_CLIENT, "sp ace", "" },
	/* 7 */
	{ RV_PKI_CERT_CLIENT, "x2345678901234567890123456789012345678901234567890123456789012345",
	  "" },
	/* 8 */ { RV_PKI_CERT_SERVER, "under_score.test", "" },
	/* 9 */ { RV_PKI_CERT_SERVER, "a..b", "" },
	/* 10 */ { RV_PKI_CERT_SERVER, "-a.test", "" },
	/* 11 */ { RV_PKI_CERT_SERVER, "a-.test", "" },
	/* 12 */ { RV_PKI_CERT_SERVER, "trailing.", "" },
	/* 13 */ { RV_PKI_CERT_SERVER, "fd00::1", "" }, /* ':' is no file name */
	/* 14 */ { RV_PKI_CERT_CLIENT, "ok", "../x" },
	/* 15 */ { RV_PKI_CERT_SERVER, "dns,DNS:evil.test", "" },
	/* 16..18: short forms of IPv4 addresses were certified as DNS names */
	/* 16 */ { RV_PKI_CERT_SERVER, "127.1", "" },
	/* 17 */ { RV_PKI_CERT_SERVER, "10.0.258", "" },
	/* 18 */ { RV_PKI_CERT_SERVER, "2130706433", "" },
	/* 19..21: and inet_aton's hexadecimal forms (round-twenty-seven tester 133) */
	/* 19 */ { RV_PKI_CERT_SERVER, "0x7f.0x1", "" },
	/* 20 */ { RV_PKI_CERT_SERVER, "127.0.0.0x1", "" },
	/* 21 */ { RV_PKI_CERT_SERVER, "0x7f000001", "" },
};

/* One CA opened for all names, in one test: a test (a process) per name
 * cost 18 start-ups. Every message names the case. */
Test(pki_issue, bad_names)
{
	struct rv_pki_ca *ca = open_ca();

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		const struct bad_name *c = &bad_names[i];
		struct rv_pki_issue_opts o;
		struct rv_pki_err err = { 0 };

		rv_pki_issue_opts_init(&o, (enum rv_pki_cert_kind)c->kind, c->name);
		o.out_dir = pki.dir;
		o.file_base = c->file[0] != '\0' ? c->file : NULL;
		cr_assert_eq(rv_pki_issue(ca, &o, NULL, &err), -EINVAL,
			     "case %zu: name '%s' accepted", i + 1, c->name);
		cr_assert_eq(err.kind, RV_PKI_ERR_USAGE, "case %zu: %s", i + 1, err.msg);
	}
	rv_pki_ca_free(ca);
}

Test(pki_issue, longest_valid_names)
{
	struct rv_pki_ca *ca = open_ca();
	struct rv_pki_issue_opts o;
	struct rv_pki_err err = { 0 };
	char cn[65];

	memset(cn, 'c', 64);
	cn[64] = '\0';
	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, cn);
	o.out_dir = pki.dir;
	cr_assert_eq(rv_pki_issue(ca, &o, NULL, &err), 0, "%s", err.msg);
	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, "user@example.org");
	o.out_dir = pki.dir;
	cr_assert_eq(rv_pki_issue(ca, &o, NULL, &err), 0, "%s", err.msg);
	rv_pki_ca_free(ca);
}

Test(pki_issue, refuses_overwrite_then_force)
{
	struct rv_pki_ca *ca = open_ca();
	struct rv_pki_issue_opts o;
	struct rv_pki_err err = { 0 };
	struct rv_pki_issued out;
	X509 *before = load_cert(pki.client_crt[0]), *after;

	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, "client1");
	o.out_dir = pki.dir;
	cr_assert_eq(rv_pki_issue(ca, &o, NULL, &err), -EEXIST);
	cr_assert_eq(err.kind, RV_PKI_ERR_OP);
	cr_assert_not_null(strstr(err.msg, "--force"), "%s", err.msg);
	after = load_cert(pki.client_crt[0]);
	cr_assert_eq(X509_cmp(before, after), 0, "untouched");
	X509_free(after);

	o.force = true;
	cr_assert_eq(rv_pki_issue(ca, &o, &out, &err), 0, "%s", err.msg);
	after = load_cert(pki.client_crt[0]);
	cr_assert_neq(X509_cmp(before, after), 0, "replaced");
	cr_assert_eq(mode_of(out.key), 0600);
	X509_free(after);
	X509_free(before);
	rv_pki_ca_free(ca);
}

Test(pki_issue, no_partial_files_on_failure)
{
	struct rv_pki_ca *ca = open_ca();
	struct rv_pki_issue_opts o;
	struct rv_pki_err err = { 0 };
	char crt[T_PKI_PATH + 16], key[T_PKI_PATH + 16];
	FILE *f;

	/* A stray .crt without a .key: refused up front, and no key is left. */
	snprintf(crt, sizeof(crt), "%s/half.crt", pki.dir);
	snprintf(key, sizeof(key), "%s/half.key", pki.dir);
	f = fopen(crt, "w");
	cr_assert_not_null(f);
	fclose(f);
	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, "half");
	o.out_dir = pki.dir;
	cr_assert_eq(rv_pki_issue(ca, &o, NULL, &err), -EEXIST);
	cr_assert_neq(access(key, F_OK), 0, "no key left behind");

	/* An output directory that does not exist. */
	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, "nowhere");
	o.out_dir = "/nonexistent-rvt-dir";
	cr_assert_eq(rv_pki_issue(ca, &o, NULL, &err), -ENOENT);
	cr_assert_not_null(strstr(err.msg, "/nonexistent-rvt-dir"), "%s", err.msg);
	rv_pki_ca_free(ca);
}

Test(pki_issue, validity_window_checked)
{
	struct rv_pki_ca *ca = open_ca();
	struct rv_pki_issue_opts o;
	struct rv_pki_err err = { 0 };
	struct rv_pki_issued out;
	int days = 0, secs = 0;

	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, "window");
	o.out_dir = pki.dir;
	o.not_before_s = 3600;
	o.not_after_s = 3600;
	cr_assert_eq(rv_pki_issue(ca, &o, NULL, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_USAGE);

	/* Not yet valid: starts in an hour. */
	o.not_after_s = 7200;
	cr_assert_eq(rv_pki_issue(ca, &o, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, out.crt, RV_PKI_PURPOSE_CLIENT, NULL,
				   &err),
		     -EKEYEXPIRED);

	/* Defaults: 825 days, cut at the end of this 30-day CA (it was
	 * issued, and verified, for 825: a certificate dies with its CA). */
	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, "default");
	o.out_dir = pki.dir;
	cr_assert_eq(rv_pki_issue(ca, &o, &out, &err), 0, "%s", err.msg);
	cr_assert_neq(out.cut_to, 0, "the cut is said");
	X509 *x = load_cert(out.crt);
	cr_assert(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)));
	cr_assert(days == 30 || days == 29, "%d", days);
	X509 *cax = load_cert(pki.ca_crt);
	{
		int d2 = 0, s2 = 0;

		cr_assert(ASN1_TIME_diff(&d2, &s2, X509_get0_notAfter(x), X509_get0_notAfter(cax)));
		cr_assert(d2 == 0 && s2 == 0, "ends %d days %d s before the CA", d2, s2);
	}
	X509_free(cax);
	X509_free(x);
	/* Within it: as asked, nothing cut. */
	rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, "ten");
	o.out_dir = pki.dir;
	o.not_after_s = 10 * 86400;
	cr_assert_eq(rv_pki_issue(ca, &o, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.cut_to, 0);
	x = load_cert(out.crt);
	cr_assert(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)));
	cr_assert(days == 10 || days == 9, "%d", days);
	X509_free(x);
	rv_pki_ca_free(ca);
}

Test(pki_issue, add_client_fixture)
{
	char crt[T_PKI_PATH], key[T_PKI_PATH];
	struct rv_pki_err err = { 0 };

	cr_assert_eq(t_pki_add_client(&pki, "client50", crt, key), 0);
	cr_assert_eq(mode_of(key), 0600);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, crt, RV_PKI_PURPOSE_CLIENT, NULL, &err),
		     0, "%s", err.msg);
}

/* A certificate the CA signed whose common name cannot be an identity (a
 * space, UTF-8, a tab, none): it verifies as a certificate, but the server
 * refuses it, so `pki verify --purpose client` must say so (it said OK). */
static void sign_with(const char *cn, const char *san, const char *out_path)
{
	struct rv_pki_err err = { 0 };
	X509 *ca = load_cert(pki.ca_crt), *x = X509_new();
	FILE *f = fopen(pki.ca_key, "r");
	EVP_PKEY *ca_key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = EVP_PKEY_new();
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	X509_NAME *name = X509_NAME_new();
	EXTENDED_KEY_USAGE *eku;

	if (f) {
		fclose(f);
	}
	cr_assert(ca_key && x && key && ec && name && EC_KEY_generate_key(ec) &&
		  EVP_PKEY_assign_EC_KEY(key, ec));
	cr_assert(X509_set_version(x, X509_VERSION_3));
	cr_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242));
	if (cn) {
		cr_assert(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
						     (const uint8_t *)cn, -1, -1, 0));
	} else {
		cr_assert(X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
						     (const uint8_t *)"no cn", -1, -1, 0));
	}
	cr_assert(X509_set_subject_name(x, name));
	cr_assert(X509_set_issuer_name(x, X509_get_subject_name(ca)));
	cr_assert(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	cr_assert(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	cr_assert(X509_set_pubkey(x, key));
	eku = sk_ASN1_OBJECT_new_null();
	cr_assert(eku && sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)));
	cr_assert(X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0));
	sk_ASN1_OBJECT_free(eku);
	if (san) {
		GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

		cr_assert(gens && g && ia5 && ASN1_STRING_set(ia5, san, (int)strlen(san)));
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
		cr_assert(sk_GENERAL_NAME_push(gens, g));
		cr_assert(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0));
		GENERAL_NAMES_free(gens);
	}
	cr_assert(X509_sign(x, ca_key, EVP_sha256()));
	cr_assert_eq(rv_pem_write_cert(out_path, x, true, &err), 0, "%s", err.msg);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	X509_free(x);
	X509_free(ca);
}

Test(pki_issue, verify_refuses_unusable_client_names)
{
	char path[T_PKI_PATH + 16];
	const char *cns[] = { "a b", "caf\xc3\xa9", NULL, "tab\there" };

	snprintf(path, sizeof(path), "%s/odd.crt", pki.dir);
	/* the control case: a usable name verifies */
	sign_with("fine-name", NULL, path);
	struct rv_pki_err err = { 0 };
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, path, RV_PKI_PURPOSE_CLIENT, NULL, &err),
		     0, "%s", err.msg);
	for (size_t i = 0; i < sizeof(cns) / sizeof(cns[0]); i++) {
		memset(&err, 0, sizeof(err));
		sign_with(cns[i], NULL, path);
		cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, path, RV_PKI_PURPOSE_CLIENT,
					   NULL, &err),
			     -EKEYREJECTED, "CN %s", cns[i] ? cns[i] : "(none)");
		cr_assert(strstr(err.msg, "identity"), "%s", err.msg);
	}
}

/* pki show prints a SAN as it is only when it is printable: a name that
 * carries a newline cannot forge a line of its own (it did: "status: valid"
 * appeared as a field). */
Test(pki_issue, show_escapes_names)
{
	char path[T_PKI_PATH + 16], *text = NULL;
	size_t len = 0;
	struct rv_pki_err err = { 0 };
	FILE *out = open_memstream(&text, &len);

	snprintf(path, sizeof(path), "%s/san.crt", pki.dir);
	sign_with("fine-name", "x.test\nstatus: valid\x1b[2J\\", path);
	cr_assert_not_null(out);
	cr_assert_eq(rv_pki_show(out, path, &err), 0, "%s", err.msg);
	fclose(out);
	cr_assert(strstr(text, "DNS:x.test\\x0astatus:\\x20valid\\x1b[2J\\\\"), "%s", text);
	cr_assert_null(strstr(text, "status: valid\x1b"), "%s", text);
	free(text);
}
