/*
 * test_pki_ca.c — CA creation and loading (pki/ca.c, pki/file.c, pki/pem.c):
 * file modes, CA extensions, refusal to overwrite, --force, clear errors for
 * a missing directory, a missing/mismatched key and a non-CA certificate.
 *
 *   ./build/<dir>/test/test_pki_ca --verbose     (or: ctest -L unit -R pki_ca)
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/ca.h"
#include "pki/pem.h"

static char tmpdir[256];
static char cadir[300];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/dev/shm/rvt-pki-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(cadir, sizeof(cadir), "%s/ca", tmpdir);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_in(char *out, size_t len, const char *dir, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_mode & 07777;
}

static void create_ok(const char *dir, bool force)
{
	struct rv_pki_ca_opts o = { .name = "test CA", .days = 10, .force = force };
	struct rv_pki_err err = { 0 };

	cr_assert_eq(rv_pki_ca_create(dir, &o, &err), 0, "%s", err.msg);
}

TestSuite(pki_ca, .init = setup, .fini = teardown, .timeout = 30);

Test(pki_ca, creates_files_with_modes)
{
	char p[400];

	/* Even with a permissive umask the key must come out 0600. */
	umask(0);
	create_ok(cadir, false);
	cr_assert_eq(mode_of(cadir), 0755);
	path_in(p, sizeof(p), cadir, "ca.key");
	cr_assert_eq(mode_of(p), 0600, "ca.key mode %o", mode_of(p));
	path_in(p, sizeof(p), cadir, "ca.crt");
	cr_assert_eq(mode_of(p), 0644);
	path_in(p, sizeof(p), cadir, "ca.crl");
	cr_assert_eq(mode_of(p), 0644);
	path_in(p, sizeof(p), cadir, "revoked.txt");
	cr_assert_eq(mode_of(p), 0644);
}

Test(pki_ca, ca_certificate_extensions)
{
	struct rv_pki_err err = { 0 };
	char p[400], cn[64];
	X509 *x;
	EVP_PKEY *pub;
	BASIC_CONSTRAINTS *bc;
	int crit = -1;

	create_ok(cadir, false);
	path_in(p, sizeof(p), cadir, "ca.crt");
	cr_assert_eq(rv_pem_read_cert(&x, p, &err), 0, "%s", err.msg);

	cr_assert_eq(X509_get_version(x), X509_VERSION_3);
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
					       sizeof(cn)),
		     0);
	cr_assert_str_eq(cn, "test CA");
	cr_assert_eq(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	cr_assert_not_null(bc);
	cr_assert(bc->ca, "CA:TRUE");
	cr_assert_eq(crit, 1, "basicConstraints must be critical");
	BASIC_CONSTRAINTS_free(bc);

	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	cr_assert_not_null(ku);
	cr_assert_eq(crit, 1);
	ASN1_BIT_STRING_free(ku);
	cr_assert_eq(X509_get_key_usage(x), (uint32_t)(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	cr_assert_not_null(X509_get0_subject_key_id(x), "SKI present");

	/* Serial: positive, 16 octets of randomness. */
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	cr_assert(!BN_is_negative(bn));
	cr_assert_geq(BN_num_bits(bn), 64, "serial looks random (%u bits)", BN_num_bits(bn));
	cr_assert_leq(BN_num_bits(bn), 127);
	BN_free(bn);

	pub = X509_get_pubkey(x);
	cr_assert_eq(EVP_PKEY_id(pub), EVP_PKEY_EC);
	cr_assert_eq(EVP_PKEY_bits(pub), 256);
	cr_assert_eq(X509_verify(x, pub), 1, "self-signed");
	/* notAfter about 10 days out. */
	int days = 0, secs = 0;
	cr_assert(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)));
	cr_assert(days == 9 || days == 10, "days %d", days);
	EVP_PKEY_free(pub);
	X509_free(x);
}

Test(pki_ca, two_cas_differ)
{
	char other[400], p1[420], p2[420];
	struct rv_pki_err err = { 0 };
	X509 *a, *b;

	path_in(other, sizeof(other), tmpdir, "other");
	create_ok(cadir, false);
	create_ok(other, false);
	path_in(p1, sizeof(p1), cadir, "ca.crt");
	path_in(p2, sizeof(p2), other, "ca.crt");
	cr_assert_eq(rv_pem_read_cert(&a, p1, &err), 0);
	cr_assert_eq(rv_pem_read_cert(&b, p2, &err), 0);
	cr_assert_neq(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)), 0);
	cr_assert_neq(X509_cmp(a, b), 0);
	X509_free(a);
	X509_free(b);
}

Test(pki_ca, refuses_overwrite_without_force)
{
	struct rv_pki_ca_opts o = { 0 };
	struct rv_pki_err err = { 0 };
	char key[400];
	EVP_PKEY *k1, *k2;

	create_ok(cadir, false);
	path_in(key, sizeof(key), cadir, "ca.key");
	cr_assert_eq(rv_pem_read_key(&k1, key, &err), 0, "%s", err.msg);
	cr_assert_eq(rv_pki_ca_create(cadir, &o, &err), -EEXIST);
	cr_assert_eq(err.kind, RV_PKI_ERR_OP);
	cr_assert_not_null(strstr(err.msg, "--force"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, key), "message names the file: %s", err.msg);
	cr_assert_eq(rv_pem_read_key(&k2, key, &err), 0);
	cr_assert_eq(EVP_PKEY_cmp(k1, k2), 1, "key untouched");
	EVP_PKEY_free(k2);

	create_ok(cadir, true);
	cr_assert_eq(rv_pem_read_key(&k2, key, &err), 0);
	cr_assert_neq(EVP_PKEY_cmp(k1, k2), 1, "key replaced with --force");
	cr_assert_eq(mode_of(key), 0600);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

Test(pki_ca, open_ok_and_dir)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;

	create_ok(cadir, false);
	cr_assert_eq(rv_pki_ca_open(&ca, cadir, &err), 0, "%s", err.msg);
	cr_assert_str_eq(rv_pki_ca_dir(ca), cadir);
	rv_pki_ca_free(ca);
	rv_pki_ca_free(NULL);
}

Test(pki_ca, open_missing_dir)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca = (struct rv_pki_ca *)1;

	cr_assert_eq(rv_pki_ca_open(&ca, cadir, &err), -ENOENT);
	cr_assert_null(ca);
	cr_assert_eq(err.kind, RV_PKI_ERR_CERT);
	cr_assert_not_null(strstr(err.msg, cadir));
	cr_assert_not_null(strstr(err.msg, "pki ca"), "tells what to do: %s", err.msg);
}

Test(pki_ca, open_missing_key)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;
	char key[400];

	create_ok(cadir, false);
	path_in(key, sizeof(key), cadir, "ca.key");
	cr_assert_eq(unlink(key), 0);
	cr_assert_eq(rv_pki_ca_open(&ca, cadir, &err), -ENOENT);
	cr_assert_eq(err.kind, RV_PKI_ERR_KEY);
	cr_assert_not_null(strstr(err.msg, key), "%s", err.msg);
}

Test(pki_ca, open_missing_cert)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;
	char crt[400];

	create_ok(cadir, false);
	path_in(crt, sizeof(crt), cadir, "ca.crt");
	cr_assert_eq(unlink(crt), 0);
	cr_assert_eq(rv_pki_ca_open(&ca, cadir, &err), -ENOENT);
	cr_assert_eq(err.kind, RV_PKI_ERR_CERT);
	cr_assert_not_null(strstr(err.msg, crt), "%s", err.msg);
}

Test(pki_ca, open_garbage_key)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;
	char key[400];
	FILE *f;

	create_ok(cadir, false);
	path_in(key, sizeof(key), cadir, "ca.key");
	f = fopen(key, "w");
	cr_assert_not_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	cr_assert_eq(rv_pki_ca_open(&ca, cadir, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_KEY);
	cr_assert_not_null(strstr(err.msg, "not a valid PEM private key"), "%s", err.msg);
}

Test(pki_ca, open_mismatched_key)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;
	char other[400], from[420], to[420];

	path_in(other, sizeof(other), tmpdir, "other");
	create_ok(cadir, false);
	create_ok(other, false);
	path_in(from, sizeof(from), other, "ca.key");
	path_in(to, sizeof(to), cadir, "ca.key");
	cr_assert_eq(rename(from, to), 0);
	cr_assert_eq(rv_pki_ca_open(&ca, cadir, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_KEY);
	cr_assert_not_null(strstr(err.msg, "does not belong"), "%s", err.msg);
}

Test(pki_ca, create_bad_args)
{
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca_opts o = { .days = -1 };
	char deep[400];

	cr_assert_eq(rv_pki_ca_create(cadir, &o, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_USAGE);
	o.days = 1;
	o.name = "";
	cr_assert_eq(rv_pki_ca_create(cadir, &o, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_USAGE);
	/* Invalid UTF-8 (refused by the encoder, after the directory was
	 * made: exit 10 and an empty directory left), control characters
	 * (an escape sequence went into the subject), 65 characters; each
	 * refused before anything is made. */
	static const char *bad[] = {
		"\xff\xfe",
		"caf\xc3",
		"\xc0\xaf overlong",
		"evil\nCA",
		"red \x1b[31m",
		"c1 \xc2\x9b",
		"del \x7f",
		" ",
		" lead",
		"trail ",
		/* right-to-left override, line separator, zero-width space, BOM */
		"evil\xe2\x80\xae"
		"AC",
		"line\xe2\x80\xa8sep",
		"zw\xe2\x80\x8bsp",
		"\xef\xbb\xbf"
		"bom",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.name = bad[i];
		cr_assert_eq(rv_pki_ca_create(cadir, &o, &err), -EINVAL, "name %zu", i);
		cr_assert_eq(err.kind, RV_PKI_ERR_USAGE);
		cr_assert_neq(access(cadir, F_OK), 0, "name %zu: the directory was made", i);
	}
	char long_name[200] = "";
	for (int i = 0; i < 65; i++) {
		strcat(long_name, "\xc3\xa9"); /* é: 2 bytes, 1 character */
	}
	o.name = long_name;
	cr_assert_eq(rv_pki_ca_create(cadir, &o, &err), -EINVAL, "65 characters");
	long_name[strlen(long_name) - 2] = '\0';
	cr_assert_eq(rv_pki_ca_create(cadir, &o, &err), 0, "64 characters of 2 bytes: %s", err.msg);
	o.name = NULL;
	path_in(deep, sizeof(deep), tmpdir, "no/such/parent");
	cr_assert_eq(rv_pki_ca_create(deep, &o, &err), -ENOENT);
	cr_assert_not_null(strstr(err.msg, "parent"), "%s", err.msg);
}
