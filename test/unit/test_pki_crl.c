/*
 * test_pki_crl.c — revocation (pki/crl.c): the revoked.txt index, the signed
 * CRL (issuer, AKI, CRL number increasing, nextUpdate), idempotent revokes,
 * revoking by serial, refusing certificates of another CA, and strict
 * parsing of a hand-edited index.
 *
 *   ./build/<dir>/test/test_pki_crl --verbose     (or: ctest -L unit -R pki_crl)
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/ca.h"
#include "pki/crl.h"
#include "pki/pem.h"
#include "pki/verify.h"
#include "test/lib/t_pki.h"

static struct t_pki pki;
static struct rv_pki_ca *ca;
static char index_path[T_PKI_PATH + 16];

static void setup(void)
{
	struct rv_pki_err err = { 0 };

	cr_assert_eq(t_pki_create(&pki), 0);
	cr_assert_eq(rv_pki_ca_open(&ca, pki.ca_dir, &err), 0, "%s", err.msg);
	snprintf(index_path, sizeof(index_path), "%s/revoked.txt", pki.ca_dir);
}

static void teardown(void)
{
	rv_pki_ca_free(ca);
	t_pki_destroy(&pki);
}

TestSuite(pki_crl, .init = setup, .fini = teardown, .timeout = 30);

static X509_CRL *load_crl(void)
{
	struct rv_pki_err err = { 0 };
	X509_CRL *crl;

	cr_assert_eq(rv_pem_read_crl(&crl, pki.ca_crl, &err), 0, "%s", err.msg);
	return crl;
}

static long crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	long v;

	cr_assert_not_null(n, "CRL number present");
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

static bool crl_has(X509_CRL *crl, const char *cert_path)
{
	struct rv_pki_err err = { 0 };
	X509 *x;
	X509_REVOKED *r = NULL;
	int found;

	cr_assert_eq(rv_pem_read_cert(&x, cert_path, &err), 0);
	found = X509_CRL_get0_by_cert(crl, &r, x);
	X509_free(x);
	return found == 1;
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	cr_assert_not_null(f);
	while ((c = fgetc(f)) != EOF) {
		n += c == '\n';
	}
	fclose(f);
	return n;
}

Test(pki_crl, fixture_crl_signed_and_lists_revoked)
{
	X509_CRL *crl = load_crl();
	struct rv_pki_err err = { 0 };
	X509 *cacert;
	EVP_PKEY *pub;
	int days = 0, secs = 0;

	cr_assert_eq(rv_pem_read_cert(&cacert, pki.ca_crt, &err), 0);
	pub = X509_get_pubkey(cacert);
	cr_assert_eq(X509_CRL_verify(crl, pub), 1, "signed by the CA");
	cr_assert_eq(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(cacert)), 0);
	cr_assert_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	cr_assert_not_null(X509_CRL_get0_nextUpdate(crl));
	cr_assert(ASN1_TIME_diff(&days, &secs, NULL, X509_CRL_get0_nextUpdate(crl)));
	cr_assert(days == RV_PKI_CRL_DAYS_DEFAULT || days == RV_PKI_CRL_DAYS_DEFAULT - 1);
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	cr_assert_not_null(akid);
	cr_assert_eq(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(cacert)), 0);
	AUTHORITY_KEYID_free(akid);
	/* Created empty with the CA (number 1), then one revoke (number 2). */
	cr_assert_eq(crl_number(crl), 2);
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	cr_assert(crl_has(crl, pki.revoked_crt));
	cr_assert(!crl_has(crl, pki.client_crt[0]));
	cr_assert_eq(count_lines(index_path), 1);
	EVP_PKEY_free(pub);
	X509_free(cacert);
	X509_CRL_free(crl);
}

Test(pki_crl, revoke_increments_number_and_keeps_old_entries)
{
	struct rv_pki_err err = { 0 };
	bool already = true;
	X509_CRL *crl;

	cr_assert_eq(rv_pki_revoke(ca, pki.client_crt[0], 7, &already, &err), 0, "%s", err.msg);
	cr_assert(!already);
	crl = load_crl();
	cr_assert_eq(crl_number(crl), 3);
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	cr_assert(crl_has(crl, pki.revoked_crt));
	cr_assert(crl_has(crl, pki.client_crt[0]));
	cr_assert(!crl_has(crl, pki.client_crt[1]));
	int days = 0, secs = 0;
	cr_assert(ASN1_TIME_diff(&days, &secs, NULL, X509_CRL_get0_nextUpdate(crl)));
	cr_assert(days == 7 || days == 6, "%d", days);
	X509_CRL_free(crl);
	cr_assert_eq(count_lines(index_path), 2);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.client_crt[0], RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     -EKEYREVOKED);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.client_crt[1], RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     0, "%s", err.msg);
}

Test(pki_crl, revoke_twice_is_idempotent)
{
	struct rv_pki_err err = { 0 };
	bool already = false;
	X509_CRL *crl;

	cr_assert_eq(rv_pki_revoke(ca, pki.revoked_crt, 0, &already, &err), 0, "%s", err.msg);
	cr_assert(already);
	cr_assert_eq(count_lines(index_path), 1);
	crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	cr_assert_eq(crl_number(crl), 3, "re-signed");
	X509_CRL_free(crl);
}

Test(pki_crl, revoke_other_ca_cert_refused)
{
	struct rv_pki_err err = { 0 };
	bool already;

	cr_assert_eq(rv_pki_revoke(ca, pki.rogue_crt, 0, &already, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_CERT);
	cr_assert_not_null(strstr(err.msg, "not issued by"), "%s", err.msg);
	cr_assert_eq(count_lines(index_path), 1, "index untouched");
}

Test(pki_crl, revoke_missing_file)
{
	struct rv_pki_err err = { 0 };
	bool already;

	cr_assert_eq(rv_pki_revoke(ca, "/nonexistent/x.crt", 0, &already, &err), -ENOENT);
	cr_assert_eq(err.kind, RV_PKI_ERR_CERT);
	cr_assert_not_null(strstr(err.msg, "/nonexistent/x.crt"));
}

Test(pki_crl, revoke_by_serial)
{
	struct rv_pki_err err = { 0 };
	bool already;
	X509 *x;
	char *hex, lower[64];
	BIGNUM *bn;

	cr_assert_eq(rv_pem_read_cert(&x, pki.client_crt[1], &err), 0);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = BN_bn2hex(bn);
	/* Lower case and a leading zero are the same serial. */
	snprintf(lower, sizeof(lower), "0%s", hex);
	for (char *p = lower; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
	cr_assert_eq(rv_pki_revoke_serial(ca, lower, 0, &already, &err), 0, "%s", err.msg);
	cr_assert(!already);
	cr_assert_eq(rv_pki_revoke_serial(ca, hex, 0, &already, &err), 0, "%s", err.msg);
	cr_assert(already);
	X509_CRL *crl = load_crl();
	cr_assert(crl_has(crl, pki.client_crt[1]));
	X509_CRL_free(crl);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
}

Test(pki_crl, revoke_bad_serials)
{
	static const char *bad[] = {
		"", "0", "00", "xyz", "12 34", "-5", "123456789012345678901234567890123456789012"
	};
	struct rv_pki_err err = { 0 };
	bool already;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(rv_pki_revoke_serial(ca, bad[i], 0, &already, &err), -EINVAL,
			     "serial '%s'", bad[i]);
		cr_assert_eq(err.kind, RV_PKI_ERR_USAGE);
	}
	cr_assert_eq(count_lines(index_path), 1);
}

/* An index that lost the lines of revoked serials (emptied, deleted, left
 * behind when the CA directory was copied) made the next CRL, numbered
 * above the last, let them back in, silently. Refused now, the CRL kept;
 * a revocation is lifted by naming it (pki crl --unrevoke SERIAL). */
Test(pki_crl, index_that_lost_revocations)
{
	struct rv_pki_err err = { 0 };
	char serial[64] = "";
	const char *lift[] = { serial };
	FILE *f = fopen(index_path, "r");
	X509_CRL *crl;

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%63s", serial), 1); /* revoked.crt's, the one line */
	fclose(f);
	/* Named while still listed: not lifted. */
	cr_assert_eq(rv_pki_crl_update(ca, 1, lift, 1, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "is still listed in"), "%s", err.msg);
	/* Says both steps (it read as if removing the line were enough:
	 * round-twenty-five tester 116). */
	cr_assert_not_null(strstr(err.msg, "--unrevoke"), "%s", err.msg);
	f = fopen(index_path, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(rv_pki_crl_update(ca, 1, NULL, 0, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "revokes 1 certificate(s) that"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "--unrevoke"), "%s", err.msg);
	crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	cr_assert_eq(crl_number(crl), 2, "the refused CRL was written");
	X509_CRL_free(crl);
	/* A missing index is an empty one: refused the same; so is a
	 * revocation added to it, which would drop the others. */
	cr_assert_eq(unlink(index_path), 0);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), -EINVAL);
	{
		bool already = false;

		cr_assert_eq(rv_pki_revoke_serial(ca, "ABCE", 0, &already, &err), -EINVAL);
	}
	crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	X509_CRL_free(crl);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.revoked_crt, RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     -EKEYREVOKED, "%s", err.msg);
	/* A serial the CRL does not revoke cannot be lifted; nor is one lost
	 * line lifted by naming another. */
	cr_assert_eq(rv_pki_crl_update(ca, 1, (const char *[]){ "ABCDEF" }, 1, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "revokes 1 certificate(s)"), "%s", err.msg);
	cr_assert_eq(rv_pki_crl_update(ca, 1, (const char *[]){ serial, "ABCDEF" }, 2, &err),
		     -EINVAL);
	cr_assert_not_null(strcasestr(err.msg, "serial ABCDEF is not revoked by"), "%s", err.msg);
	cr_assert_eq(rv_pki_crl_update(ca, 1, (const char *[]){ "xyz" }, 1, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_USAGE);
	/* Lifted on purpose: an empty CRL, and the certificate verifies. */
	cr_assert_eq(rv_pki_crl_update(ca, 1, lift, 1, &err), 0, "%s", err.msg);
	crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 0);
	cr_assert_eq(crl_number(crl), 3);
	X509_CRL_free(crl);
	cr_assert_eq(rv_pki_verify(pki.ca_crt, pki.ca_crl, pki.revoked_crt, RV_PKI_PURPOSE_CLIENT,
				   NULL, &err),
		     0, "%s", err.msg);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), 0, "%s", err.msg);
}

Test(pki_crl, index_comments_and_blank_lines)
{
	struct rv_pki_err err = { 0 };
	FILE *f = fopen(index_path, "a");

	cr_assert_not_null(f);
	fputs("# a comment\n\nABCDEF 1700000000 CN = hand-added\n1 0\n", f);
	fclose(f);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), 0, "%s", err.msg);
	X509_CRL *crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	X509_CRL_free(crl);
}

Test(pki_crl, malformed_index_named_with_line)
{
	static const char *bad[] = { "nothex 1700000000 x\n", "ABCD\n",	    "ABCD notatime\n",
				     "ABCD -5 x\n",	      "ABCD 12x\n", " ABCD 1\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rv_pki_err err = { 0 };
		FILE *f = fopen(index_path, "w");
		char want[T_PKI_PATH + 32];

		cr_assert_not_null(f);
		fprintf(f, "# ok\n%s", bad[i]);
		fclose(f);
		cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), -EINVAL, "line '%s'", bad[i]);
		snprintf(want, sizeof(want), "%s:2:", index_path);
		cr_assert_not_null(strstr(err.msg, want), "%s", err.msg);
	}
}

/* A NUL byte in a line ended the walk there: the entries behind it were
 * left out of the CRL (un-revoked), and the next revocation rewrote the
 * index without them. Now it is an error naming the line, and the index
 * stays as it is. */
Test(pki_crl, nul_in_index_named_with_line)
{
	static const char text[] = "ABCD 1700000000 CN = a\nAB\0CD 1700000001 CN = b\n"
				   "ABCE 1700000002 CN = c\n";
	struct rv_pki_err err = { 0 };
	char want[T_PKI_PATH + 32];
	FILE *f = fopen(index_path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	fclose(f);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: a NUL byte", index_path);
	cr_assert_not_null(strstr(err.msg, want), "%s", err.msg);
}

/* 20,000 revocations: an index of 1.2 MB and a CRL of about as much. At
 * 1 MiB (the limit for a certificate) the index could be written but not
 * read back: no pki command worked on the CA again. */
Test(pki_crl, twenty_thousand_revocations)
{
	struct rv_pki_err err = { 0 };
	bool already = false;
	FILE *f = fopen(index_path, "a");
	X509_CRL *crl;

	cr_assert_not_null(f);
	for (unsigned i = 0; i < 20000; i++) {
		fprintf(f, "%X 1700000000 CN = padding-%u\n", 0x100000 + i, i);
	}
	fclose(f);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(rv_pki_revoke_serial(ca, "ABCDEF01", 0, &already, &err), 0, "%s", err.msg);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), 0, "%s", err.msg);
	crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 20002);
	X509_CRL_free(crl);
}

/* A CA directory restored without its ca.crl numbered the next CRL 1, below
 * what running servers hold (refused, and each `pki crl` the servers asked
 * for added one); now it is numbered by the time, and said. A serial the
 * index lost can be put back by revoking it again (it was refused: the
 * only way the message offered was lifting it); one named twice to lift is
 * lifted (it was "not revoked"). */
Test(pki_crl, restored_ca_directory)
{
	struct rv_pki_err err = { 0 };
	char serial[64] = "";
	bool already = false;
	FILE *f = fopen(index_path, "r");
	X509_CRL *crl;
	long before = (long)time(NULL);

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%63s", serial), 1);
	fclose(f);
	cr_assert_eq(unlink(pki.ca_crl), 0);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(err.kind, RV_PKI_ERR_NONE);
	cr_assert_not_null(strstr(err.msg, "(the time), above those this CA numbered before"), "%s",
			   err.msg);
	crl = load_crl();
	cr_assert_geq(crl_number(crl), before, "numbered by the time");
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	X509_CRL_free(crl);
	/* The index lost its line: put back by revoking it again. */
	f = fopen(index_path, "w");
	cr_assert_not_null(f);
	fclose(f);
	err = (struct rv_pki_err){ 0 };
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "put each back with 'ringvpn pki revoke"), "%s",
			   err.msg);
	cr_assert_eq(rv_pki_revoke_serial(ca, serial, 0, &already, &err), 0, "%s", err.msg);
	crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	X509_CRL_free(crl);
	/* Named twice to lift. */
	f = fopen(index_path, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(rv_pki_crl_update(ca, 0, (const char *[]){ serial, serial }, 2, &err), 0, "%s",
		     err.msg);
	crl = load_crl();
	cr_assert_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 0);
	X509_CRL_free(crl);
}

/* A damaged CRL: its revocations cannot be compared with the index; the
 * message says how out (it named none). */
Test(pki_crl, damaged_crl_says_the_way_out)
{
	struct rv_pki_err err = { 0 };
	FILE *f = fopen(pki.ca_crl, "w");

	cr_assert_not_null(f);
	fputs("-----BEGIN X509 CRL-----\ncut here\n", f);
	fclose(f);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "not a valid PEM CRL"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "restore it from a backup, or move it away"), "%s",
			   err.msg);
}

Test(pki_crl, foreign_crl_refused)
{
	struct rv_pki_err err = { 0 };
	char other_crl[T_PKI_PATH + 16];

	/* Someone copied the other CA's CRL over ours: do not continue its numbering. */
	snprintf(other_crl, sizeof(other_crl), "%s/ca.crl", pki.other_ca_dir);
	cr_assert_eq(rename(other_crl, pki.ca_crl), 0);
	cr_assert_eq(rv_pki_crl_update(ca, 0, NULL, 0, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "not signed by this CA"), "%s", err.msg);
}

Test(pki_crl, bad_days)
{
	struct rv_pki_err err = { 0 };

	cr_assert_eq(rv_pki_crl_update(ca, -1, NULL, 0, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_USAGE);
	cr_assert_eq(rv_pki_crl_update(ca, 40000, NULL, 0, &err), -EINVAL);
}

Test(pki_crl, next_update_cut_at_the_ca_end)
{
	struct rv_pki_err err = { 0 };
	X509 *ca_cert;
	X509_CRL *crl;
	int d, s;

	cr_assert_eq(rv_pem_read_cert(&ca_cert, pki.ca_crt, &err), 0, "%s", err.msg);

	/* Within the CA's life: as asked, and nothing said. */
	cr_assert_eq(rv_pki_crl_update(ca, 2, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_str_empty(err.msg);
	crl = load_crl();
	cr_assert(ASN1_TIME_diff(&d, &s, NULL, X509_CRL_get0_nextUpdate(crl)));
	cr_assert(d == 2 || (d == 1 && s > 86000), "%d days %d s", d, s);
	X509_CRL_free(crl);

	/* Past it (the fixture's CA lives far less than 36,500 days): the CRL
	 * names the CA's end as its next update, and says so. */
	cr_assert_eq(rv_pki_crl_update(ca, 36500, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "a CRL cannot outlive its CA"), "%s", err.msg);
	crl = load_crl();
	cr_assert(
		ASN1_TIME_diff(&d, &s, X509_CRL_get0_nextUpdate(crl), X509_get0_notAfter(ca_cert)));
	cr_assert(d == 0 && s == 0, "next update %d days %d s from the CA's end", d, s);
	X509_CRL_free(crl);
	X509_free(ca_cert);
}
