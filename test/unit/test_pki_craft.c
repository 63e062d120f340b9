/*
 * test_pki_craft.c — certificates another tool would issue, for the tests
 * of pki/ and tls/ (test_pki_crl, test_tls_conn; built into each, as
 * fake_ctlring.c is into test_tls_loop). BoringSSL is used directly here,
 * which test/lib/ may not (test/check-layering.sh rule 11).
 */
#include "test/unit/test_pki_craft.h"

#include <errno.h>
#include <stdio.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/ca.h"
#include "pki/pem.h"

const struct t_pki_serial t_pki_serials[T_PKI_NUM_SERIALS] = {
	{ "0", "zero" },
	{ "-5", "negative" },
	{ "010203040506070809101112131415161718192021", "longer than 20 octets" },
	{ "FF02030405060708091011121314151617181920", NULL },
	{ "1", NULL },
};

/* resign gives |x| the serial |hex| and signs it with p's CA key. Returns
 * 0 or -errno after printing the reason to stderr. */
static int resign(const struct t_pki *p, X509 *x, const char *hex)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *ca_key = NULL;
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	int ret = rv_pem_read_key(&ca_key, p->ca_key, &err);

	if (ret != 0) {
		fprintf(stderr, "t_pki: %s\n", err.msg);
	} else if (BN_hex2bn(&bn, hex) <= 0 || (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
		   !X509_set_serialNumber(x, sn) || X509_sign(x, ca_key, EVP_sha256()) <= 0) {
		fprintf(stderr, "t_pki: cannot give a certificate the serial %s\n", hex);
		ret = -EINVAL;
	}
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	EVP_PKEY_free(ca_key);
	return ret;
}

int t_pki_reserial(const struct t_pki *p, const char *crt, const char *hex, const char *out)
{
	struct rv_pki_err err = { 0 };
	X509 *x = NULL;
	int ret;

	if ((ret = rv_pem_read_cert(&x, crt, &err)) != 0) {
		fprintf(stderr, "t_pki_reserial: %s\n", err.msg);
		goto out;
	}
	if ((ret = resign(p, x, hex)) != 0) {
		goto out;
	}
	ret = rv_pem_write_cert(out, x, true, &err);
	if (ret != 0) {
		fprintf(stderr, "t_pki_reserial: %s\n", err.msg);
	}
out:
	X509_free(x);
	return ret;
}

/* cat_two writes the files |a| and |b| one after the other to |out|.
 * Returns 0 or -errno. */
static int cat_two(const char *out, const char *a, const char *b)
{
	const char *in[] = { a, b };
	FILE *f = fopen(out, "w");
	int ret = f != NULL ? 0 : -errno;

	for (size_t k = 0; ret == 0 && k < 2; k++) {
		FILE *g = fopen(in[k], "r");
		char buf[4096];
		size_t n;

		while (g != NULL && (n = fread(buf, 1, sizeof(buf), g)) > 0) {
			if (fwrite(buf, 1, n, f) != n) {
				break;
			}
		}
		ret = g == NULL || ferror(g) || ferror(f) ? -EIO : 0;
		if (g != NULL) {
			fclose(g);
		}
	}
	if (f != NULL && fclose(f) != 0 && ret == 0) {
		ret = -EIO;
	}
	if (ret != 0) {
		fprintf(stderr, "t_pki_intermediate: cannot write %s\n", out);
	}
	return ret;
}

int t_pki_intermediate(const struct t_pki *p, const char *name, const char *hex,
		       struct t_pki_int *out)
{
	struct rv_pki_ca_opts o = { .name = name, .days = 30 };
	struct rv_pki_err err = { 0 };
	char self[sizeof(out->dir) + 16];
	X509 *x = NULL, *root = NULL;
	int ret, i;

	snprintf(out->dir, sizeof(out->dir), "%s/%s", p->dir, name);
	snprintf(out->crt, sizeof(out->crt), "%s/%s-signed.crt", p->dir, name);
	snprintf(out->cas, sizeof(out->cas), "%s/%s-cas.crt", p->dir, name);
	snprintf(self, sizeof(self), "%s/ca.crt", out->dir);
	if ((ret = rv_pki_ca_create(out->dir, &o, &err)) != 0 ||
	    (ret = rv_pem_read_cert(&x, self, &err)) != 0 ||
	    (ret = rv_pem_read_cert(&root, p->ca_crt, &err)) != 0) {
		fprintf(stderr, "t_pki_intermediate: %s\n", err.msg);
		goto out;
	}
	/* Its own authority key identifier gone, p's CA's name as its
	 * issuer, p's CA's signature. */
	while ((i = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1)) >= 0) {
		X509_EXTENSION_free(X509_delete_ext(x, i));
	}
	if (!X509_set_issuer_name(x, X509_get_subject_name(root))) {
		ret = -ENOMEM;
		goto out;
	}
	if ((ret = resign(p, x, hex)) != 0) {
		goto out;
	}
	ret = rv_pem_write_cert(out->crt, x, true, &err);
	if (ret != 0) {
		fprintf(stderr, "t_pki_intermediate: %s\n", err.msg);
		goto out;
	}
	ret = cat_two(out->cas, p->ca_crt, out->crt);
out:
	X509_free(root);
	X509_free(x);
	return ret;
}
