/*
 * x509path.c — what a verified chain of trust anchors leaves to check: path
 * length constraints, extended key usages and the revocation of its CAs
 * (x509path.h).
 */
#include "crypto/x509path.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/x509v3.h>

X509 *rv_x509_chain_ca_unfit(STACK_OF(X509) * chain, uint32_t xku, long *why)
{
	size_t n = chain != NULL ? sk_X509_num(chain) : 0;

	for (size_t i = 1; i < n; i++) {
		X509 *ca = sk_X509_value(chain, i);
		long max = X509_get_pathlen(ca);

		/* The CA at |i| has i - 1 CAs below it (the leaf is at 0). */
		if (max >= 0 && (long)(i - 1) > max) {
			*why = X509_V_ERR_PATH_LENGTH_EXCEEDED;
			return ca;
		}
		/* UINT32_MAX without the extension: any use. A "servers CA"
		 * issued clients that got in, and a "users CA" a server
		 * (round-sixty-seven tester 287). anyExtendedKeyUsage alone
		 * does not do, as for the leaf (BoringSSL's purpose checks). */
		if (!(X509_get_extended_key_usage(ca) & xku)) {
			*why = X509_V_ERR_INVALID_PURPOSE;
			return ca;
		}
	}
	ERR_clear_error();
	return NULL;
}

bool rv_x509_crl_lists_ca(X509_CRL *crl, X509 *x, X509 *issuer)
{
	X509_REVOKED *rev;
	EVP_PKEY *pub;
	bool listed;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(x)) != 0 ||
	    X509_CRL_get0_by_cert(crl, &rev, x) != 1) {
		ERR_clear_error();
		return false;
	}
	pub = X509_get_pubkey(issuer);
	listed = pub && X509_CRL_verify(crl, pub) == 1;
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return listed;
}

static size_t cert_entry_len(X509 *x)
{
	int n = i2d_X509(x, NULL);

	return 3 + (n > 0 ? (size_t)n : 0) + 2;
}

size_t rv_x509_cert_msg_len(X509 *leaf, STACK_OF(X509) * chain)
{
	size_t len = 1 + 3 + (leaf != NULL ? cert_entry_len(leaf) : 0);

	for (size_t i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		len += cert_entry_len(sk_X509_value(chain, i));
	}
	return len;
}

bool rv_x509_valid_now(X509 *x)
{
	return X509_cmp_current_time(X509_get0_notBefore(x)) <= 0 &&
	       X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
}

bool rv_x509_same_key(X509 *a, X509 *b)
{
	EVP_PKEY *ka = X509_get_pubkey(a), *kb = X509_get_pubkey(b);
	bool same = ka && kb && EVP_PKEY_cmp(ka, kb) == 1;

	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	return same;
}

bool rv_x509_outdone_copy(STACK_OF(X509) * all, size_t i)
{
	X509 *x = sk_X509_value(all, i);

	for (size_t j = 0; j < sk_X509_num(all); j++) {
		X509 *y = sk_X509_value(all, j);
		int days = 0, secs = 0;

		if (j == i ||
		    X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(y)) != 0 ||
		    !rv_x509_same_key(x, y)) {
			continue;
		}
		if (rv_x509_valid_now(x) != rv_x509_valid_now(y)) {
			if (rv_x509_valid_now(y)) {
				return true;
			}
			continue;
		}
		/* From x's end to y's: y ends later when positive. */
		if (!ASN1_TIME_diff(&days, &secs, X509_get0_notAfter(x), X509_get0_notAfter(y))) {
			continue;
		}
		if (days > 0 || secs > 0 || (days == 0 && secs == 0 && j < i)) {
			return true;
		}
	}
	ERR_clear_error();
	return false;
}

const char *rv_x509_unfit_why(long why, uint32_t xku)
{
	if (why != X509_V_ERR_INVALID_PURPOSE) {
		return X509_verify_cert_error_string(why);
	}
	return xku == XKU_SSL_CLIENT   ? "its extended key usage leaves out TLS client use"
	       : xku == XKU_SSL_SERVER ? "its extended key usage leaves out TLS server use"
				       : "its extended key usage leaves out TLS use";
}

const char *rv_x509_use_part(X509 *x, uint32_t xku)
{
	return X509_get_extended_key_usage(x) & xku ? "key usage" : "extended key usage";
}

X509 *rv_x509_chain_ca_revoked(X509_STORE_CTX *xs)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
	size_t n = chain ? sk_X509_num(chain) : 0;

	/* From the leaf's issuer up to the one below the root. */
	for (size_t i = 1; i + 1 < n; i++) {
		X509 *ca = sk_X509_value(chain, i), *up = sk_X509_value(chain, i + 1);
		STACK_OF(X509_CRL) *crls = X509_STORE_get1_crls(xs, X509_get_issuer_name(ca));
		bool listed = false;

		for (size_t j = 0; !listed && crls && j < sk_X509_CRL_num(crls); j++) {
			listed = rv_x509_crl_lists_ca(sk_X509_CRL_value(crls, j), ca, up);
		}
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
		ERR_clear_error();
		if (listed) {
			return ca;
		}
	}
	return NULL;
}

bool rv_x509_leaf_signed(X509_STORE_CTX *xs)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
	X509 *leaf = chain != NULL && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
	X509 *issuer = chain != NULL && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
	EVP_PKEY *key = issuer != NULL ? X509_get_pubkey(issuer) : NULL;
	bool signed_ok =
		issuer == NULL || (leaf != NULL && key != NULL && X509_verify(leaf, key) == 1);

	EVP_PKEY_free(key);
	ERR_clear_error();
	return signed_ok;
}

enum rv_x509_issuer_kind rv_x509_issuer_in_store(X509_STORE_CTX *xs, X509 *x)
{
	STACK_OF(X509) *named = X509_STORE_get1_certs(xs, X509_get_issuer_name(x));
	enum rv_x509_issuer_kind kind = RV_X509_ISSUER_ABSENT;

	for (size_t i = 0; named && i < sk_X509_num(named); i++) {
		X509 *ca = sk_X509_value(named, i);
		EVP_PKEY *k = X509_get_pubkey(ca);
		bool signer = k && X509_verify(x, k) == 1;
		int why = signer ? X509_check_issued(ca, x) : X509_V_OK;

		EVP_PKEY_free(k);
		kind = RV_X509_ISSUER_OTHER_KEY;
		if (signer) {
			/* The right key, refused for another reason: its
			 * identifier names another certificate of it (a CA
			 * re-issued, the leaf naming the old one's serial:
			 * round-thirty-seven tester 187), or it may not
			 * issue. */
			kind = why == X509_V_ERR_AKID_SKID_MISMATCH ||
					       why == X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH
				       ? RV_X509_ISSUER_OTHER_CERT
				       : RV_X509_ISSUER_CANNOT_SIGN;
			break;
		}
	}
	sk_X509_pop_free(named, X509_free);
	ERR_clear_error();
	return kind;
}

const char *rv_x509_issuer_why(enum rv_x509_issuer_kind kind)
{
	switch (kind) {
	case RV_X509_ISSUER_OTHER_CERT:
		return " with the key that signed it, but its authority key identifier names "
		       "another certificate of that CA (one re-issued: the old one belongs in the "
		       "file too)";
	case RV_X509_ISSUER_CANNOT_SIGN:
		return " but may not sign certificates (its key usage or basic constraints)";
	default:
		return NULL;
	}
}

bool rv_x509_signs_tls13(X509 *x)
{
	EVP_PKEY *k = X509_get_pubkey(x);
	bool ok = false;

	if (k && EVP_PKEY_id(k) == EVP_PKEY_RSA) {
		/* RSA-PSS with SHA-256 needs (bits - 1) / 8 rounded up >= 2 * 32 + 2:
		 * a 512-bit key passed and signed no handshake (tester 263). */
		ok = EVP_PKEY_bits(k) >= 522;
	} else if (k && EVP_PKEY_id(k) == EVP_PKEY_EC) {
		const EC_GROUP *g = EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(k));
		int nid = g ? EC_GROUP_get_curve_name(g) : NID_undef;

		ok = nid == NID_X9_62_prime256v1 || nid == NID_secp384r1;
	}
	EVP_PKEY_free(k);
	ERR_clear_error();
	return ok;
}

const char *rv_x509_serial_unfit(const X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	const char *why = bn == NULL				  ? "unreadable"
			  : BN_is_zero(bn)			  ? "zero"
			  : BN_is_negative(bn)			  ? "negative"
			  : BN_num_bytes(bn) > RV_X509_SERIAL_MAX ? "longer than 20 octets"
								  : NULL;

	BN_free(bn);
	ERR_clear_error();
	return why;
}

bool rv_x509_self_signed(X509 *x)
{
	/* EXFLAG_SS, as BoringSSL works it out from the certificate: subject
	 * and issuer alike, the authority key identifier (if any) its own,
	 * and keyCertSign allowed. */
	return (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}

X509 *rv_x509_chain_serial_unfit(STACK_OF(X509) * chain, const char **why)
{
	size_t n = chain != NULL ? sk_X509_num(chain) : 0;

	for (size_t i = 0; i < n; i++) {
		X509 *x = sk_X509_value(chain, i);

		if (i > 0 && i + 1 == n && rv_x509_self_signed(x)) {
			break; /* the root: a trust anchor, never revoked */
		}
		*why = rv_x509_serial_unfit(x);
		if (*why != NULL) {
			return x;
		}
	}
	return NULL;
}
