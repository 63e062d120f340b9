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
#include <openssl/x509.h>

#include "pki/pem.h"

const struct t_pki_serial t_pki_serials[T_PKI_NUM_SERIALS] = {
	{ "0", "zero" },
	{ "-5", "negative" },
	{ "010203040506070809101112131415161718192021", "longer than 20 octets" },
	{ "FF02030405060708091011121314151617181920", NULL },
	{ "1", NULL },
};

int t_pki_reserial(const struct t_pki *p, const char *crt, const char *hex, const char *out)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *ca_key = NULL;
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	X509 *x = NULL;
	int ret;

	if ((ret = rv_pem_read_cert(&x, crt, &err)) != 0 ||
	    (ret = rv_pem_read_key(&ca_key, p->ca_key, &err)) != 0) {
		fprintf(stderr, "t_pki_reserial: %s\n", err.msg);
		goto out;
	}
	if (BN_hex2bn(&bn, hex) <= 0 || (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_serialNumber(x, sn) || X509_sign(x, ca_key, EVP_sha256()) <= 0) {
		fprintf(stderr, "t_pki_reserial: cannot give %s the serial %s\n", crt, hex);
		ret = -EINVAL;
		goto out;
	}
	ret = rv_pem_write_cert(out, x, true, &err);
	if (ret != 0) {
		fprintf(stderr, "t_pki_reserial: %s\n", err.msg);
	}
out:
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	EVP_PKEY_free(ca_key);
	X509_free(x);
	return ret;
}
