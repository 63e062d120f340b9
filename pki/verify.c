/*
 * verify.c — X509_verify_cert over files, with BoringSSL's verdict mapped to
 * our error convention.
 */
#include "pki/verify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/certname.h"
#include "pki/internal.h"
#include "pki/pem.h"

static int map_verify_error(int code)
{
	switch (code) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return -EKEYEXPIRED;
	case X509_V_ERR_CERT_REVOKED:
		return -EKEYREVOKED;
	default:
		return -EKEYREJECTED;
	}
}

/* identity_ok: is the one common name of a client certificate usable as
 * its identity (core/certname.h)? The server refuses it otherwise, however
 * well it verifies. */
static int identity_ok(X509 *cert, const char *cert_path, struct rv_pki_err *err)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	/* Two common names are refused as the server refuses them. */
	int len = idx < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0
			  ? -1
			  : ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
							       X509_NAME_get_entry(name, idx)));
	bool ok = len > 0 && rv_cert_name_ok(utf8, (size_t)len);

	OPENSSL_free(utf8);
	ERR_clear_error();
	if (ok) {
		return 0;
	}
	pki_errf(err, RV_PKI_ERR_CERT,
		 "%s: rejected: its common name cannot be a client's identity (one, of 1-%d "
		 "printable ASCII characters, no spaces): the server refuses it",
		 cert_path, RV_CERT_NAME_MAX);
	return -EKEYREJECTED;
}

/* crl_signed_by: does |ca|'s key verify |crl|'s signature? */
static bool crl_signed_by(X509_CRL *crl, X509 *ca)
{
	EVP_PKEY *key = X509_get_pubkey(ca);
	bool ok = key != NULL && X509_CRL_verify(crl, key) == 1;

	EVP_PKEY_free(key);
	ERR_clear_error();
	return ok;
}

int rv_pki_verify(const char *ca_crt, const char *crl_path, const char *cert_path,
		  enum rv_pki_purpose purpose, const char *host, struct rv_pki_err *err)
{
	X509 *ca = NULL, *cert = NULL;
	X509_CRL *crl = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	int ret, code;

	if ((ret = rv_pem_read_cert(&ca, ca_crt, err)) != 0 ||
	    (ret = rv_pem_read_cert(&cert, cert_path, err)) != 0) {
		goto out;
	}
	if (crl_path != NULL && (ret = rv_pem_read_crl(&crl, crl_path, err)) != 0) {
		goto out;
	}
	if (crl != NULL && !crl_signed_by(crl, ca)) {
		/* As the server says it (tls/ctx.c): verification would only
		 * say "unable to get certificate CRL". */
		pki_errf(err, RV_PKI_ERR_CERT,
			 "CRL file %s is not signed by the CA %s: another CA's CRL, or damaged",
			 crl_path, ca_crt);
		ret = -EKEYREJECTED;
		goto out;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, ca) ||
	    (crl != NULL && !X509_STORE_add_crl(store, crl)) ||
	    (crl != NULL && !X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK)) ||
	    !X509_STORE_CTX_init(ctx, store, cert, NULL)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot set up certificate verification");
		ret = -ENOMEM;
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	if ((purpose == RV_PKI_PURPOSE_SERVER &&
	     !X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER)) ||
	    (purpose == RV_PKI_PURPOSE_CLIENT &&
	     !X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT))) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot set the verification purpose");
		ret = -EINVAL;
		goto out;
	}
	if (host != NULL) {
		uint8_t ip[16];
		bool is_ip =
			inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;

		if ((is_ip && !X509_VERIFY_PARAM_set1_ip_asc(param, host)) ||
		    (!is_ip && !X509_VERIFY_PARAM_set1_host(param, host, strlen(host)))) {
			ERR_clear_error(); /* it says nothing: "(unknown error)" */
			pki_errf(err, RV_PKI_ERR_USAGE, "'%s' is not a valid host name or address",
				 host);
			ret = -EINVAL;
			goto out;
		}
	}
	if (X509_verify_cert(ctx) == 1) {
		/* The chain's purpose check passes a certificate that is its own
		 * trust anchor (the CA's): checked as the peer's end does
		 * (tls/ctx.c), by its key usage. */
		if (purpose != RV_PKI_PURPOSE_ANY &&
		    X509_check_purpose(cert,
				       purpose == RV_PKI_PURPOSE_SERVER ? X509_PURPOSE_SSL_SERVER
									: X509_PURPOSE_SSL_CLIENT,
				       0) != 1) {
			ERR_clear_error();
			pki_errf(err, RV_PKI_ERR_CERT,
				 "%s: rejected: not a certificate for a TLS %s (its key usage)",
				 cert_path, purpose == RV_PKI_PURPOSE_SERVER ? "server" : "client");
			ret = -EKEYREJECTED;
			goto out;
		}
		ret = purpose == RV_PKI_PURPOSE_CLIENT ? identity_ok(cert, cert_path, err) : 0;
		goto out;
	}
	code = X509_STORE_CTX_get_error(ctx);
	ERR_clear_error();
	pki_errf(err, RV_PKI_ERR_CERT, "%s: rejected: %s (X509 error %d)", cert_path,
		 X509_verify_cert_error_string(code), code);
	ret = map_verify_error(code);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_CRL_free(crl);
	X509_free(cert);
	X509_free(ca);
	return ret;
}
