/*
 * x509.c — certificate building blocks shared by ca.c, issue.c and crl.c:
 * key generation, serial numbers, validity windows, extensions, and the
 * validation of names that end up in certificates and file names.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/internal.h"

int pki_new_key(EVP_PKEY **out, struct rv_pki_err *err)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *pkey = EVP_PKEY_new();

	*out = NULL;
	if (ec == NULL || pkey == NULL || !EC_KEY_generate_key(ec) ||
	    !EVP_PKEY_assign_EC_KEY(pkey, ec)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot generate an ECDSA P-256 key");
		EC_KEY_free(ec); /* EC_KEY_free wipes the scalar */
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	*out = pkey;
	return 0;
}

int pki_new_serial(ASN1_INTEGER **out, struct rv_pki_err *err)
{
	uint8_t raw[16];
	BIGNUM *bn;

	*out = NULL;
	/* RFC 5280 4.1.2.2: positive, at most 20 octets. Clearing the top bit keeps
	 * the DER encoding at 16 octets with no sign padding; 127 random bits make
	 * collisions and guessing impossible in practice. */
	do {
		RAND_bytes(raw, sizeof(raw));
		raw[0] &= 0x7f;
	} while (raw[0] == 0);
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn != NULL) {
		*out = BN_to_ASN1_INTEGER(bn, NULL);
	}
	BN_free(bn);
	if (*out == NULL) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot create a serial number");
		return -ENOMEM;
	}
	return 0;
}

int pki_set_validity(X509 *x, int64_t not_before_s, int64_t not_after_s, struct rv_pki_err *err)
{
	time_t now = time(NULL);
	ASN1_TIME *nb, *na;
	int ret = 0;

	if (not_after_s <= not_before_s) {
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "validity ends (%+lld s) before it starts (%+lld s); make --valid-to "
			 "later than --valid-from",
			 (long long)not_after_s, (long long)not_before_s);
		return -EINVAL;
	}
	nb = ASN1_TIME_adj(NULL, now, (int)(not_before_s / 86400), (long)(not_before_s % 86400));
	na = ASN1_TIME_adj(NULL, now, (int)(not_after_s / 86400), (long)(not_after_s % 86400));
	if (nb == NULL || na == NULL || !X509_set1_notBefore(x, nb) || !X509_set1_notAfter(x, na)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot set the validity period");
		ret = -EINVAL;
	}
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	return ret;
}

int pki_add_ext(X509 *issuer, X509 *subject, int nid, const char *value, struct rv_pki_err *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	ok = ext != NULL && X509_add_ext(subject, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot add extension %s = %s", OBJ_nid2sn(nid),
			    value);
		return -EINVAL;
	}
	return 0;
}

int pki_add_exts(X509 *issuer, X509 *subject, const struct pki_ext *exts, size_t num,
		 struct rv_pki_err *err)
{
	for (size_t i = 0; i < num; i++) {
		int ret = pki_add_ext(issuer, subject, exts[i].nid, exts[i].value, err);

		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

int pki_cert_new(X509 **out, const char *cn, X509 *issuer, EVP_PKEY *pubkey, int64_t not_before_s,
		 int64_t not_after_s, const char *what, struct rv_pki_err *err)
{
	X509 *x = X509_new();
	ASN1_INTEGER *serial = NULL;
	X509_NAME *subj;
	int ret;

	*out = NULL;
	if (x == NULL || !X509_set_version(x, X509_VERSION_3)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot allocate a certificate");
		ret = -ENOMEM;
		goto err_free;
	}
	ret = pki_new_serial(&serial, err);
	if (ret != 0) {
		goto err_free;
	}
	subj = X509_get_subject_name(x);
	if (!X509_set_serialNumber(x, serial) ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const uint8_t *)cn, -1, -1,
					0) ||
	    !X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subj) ||
	    !X509_set_pubkey(x, pubkey)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot fill in %s", what);
		ret = -EINVAL;
		goto err_free;
	}
	ret = pki_set_validity(x, not_before_s, not_after_s, err);
	if (ret != 0) {
		goto err_free;
	}
	ASN1_INTEGER_free(serial);
	*out = x;
	return 0;

err_free:
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return ret;
}

int pki_cert_sign(X509 *x, EVP_PKEY *key, const char *what, struct rv_pki_err *err)
{
	if (!X509_sign(x, key, EVP_sha256())) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot sign %s", what);
		return -EINVAL;
	}
	return 0;
}

int pki_serial_hex(char *out, size_t out_len, const ASN1_INTEGER *serial, struct rv_pki_err *err)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	int ret = 0;

	if (hex == NULL) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot format a serial number");
		ret = -ENOMEM;
	} else if (strlen(hex) >= out_len) {
		pki_errf(err, RV_PKI_ERR_OP, "serial number too long");
		ret = -ENAMETOOLONG;
	} else {
		strcpy(out, hex);
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

/* unshowable: the length of a UTF-8 sequence at |p| (|n| bytes left) a
 * terminal would act on rather than show: a C1 control (U+0080..U+009F,
 * U+009B being CSI), a line or paragraph separator or a bidi control
 * (U+2028..U+202E, U+2066..U+2069, U+061C), or an invisible one
 * (U+200B..U+200F, U+2060..U+2064, U+FEFF); 0 for anything else. The ones `pki ca` refuses in a
 * name, which another tool's certificate may carry all the same. */
static size_t unshowable(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
		return 2;
	}
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x8b && p[2] <= 0x8f) || (p[2] >= 0xa8 && p[2] <= 0xae))) {
		return 3;
	}
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x81 &&
	    ((p[2] >= 0xa0 && p[2] <= 0xa4) || (p[2] >= 0xa6 && p[2] <= 0xa9))) {
		return 3;
	}
	/* U+061C (the Arabic letter mark, a bidi control) and U+FEFF. */
	if (n >= 2 && p[0] == 0xd8 && p[1] == 0x9c) {
		return 2;
	}
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		return 3;
	}
	return 0;
}

void pki_name_oneline(char *out, size_t out_len, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	const uint8_t *p;
	size_t len;

	out[0] = '\0';
	if (b == NULL) {
		return;
	}
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    BIO_mem_contents(b, &p, &len)) {
		bool cut = len >= out_len;

		/* Cut where it must be, said with "...", and never inside a
		 * character: a lone byte of an é, or of a U+202E too short to
		 * be told as one, ended the line (round-twenty-nine tester
		 * 146). */
		if (cut) {
			len = out_len > 4 ? out_len - 4 : 0;
			while (len > 0 && (p[len] & 0xc0) == 0x80) {
				len--;
			}
		}
		memcpy(out, p, len);
		out[len] = '\0';
		if (cut && out_len > 4) {
			memcpy(out + len, "...", 4);
		}
		/* Each byte of such a character as '?': names show as they are
		 * (é stays é), but not what drives a terminal (U+009B and
		 * U+202E went out raw: round-twenty-nine tester 145). */
		for (size_t i = 0; i < len;) {
			size_t k = unshowable((const uint8_t *)out + i, len - i);

			memset(out + i, '?', k);
			i += k ? k : 1;
		}
	}
	BIO_free(b);
}

bool pki_valid_cn(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '.' || name[0] == '-') {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@') {
			return false;
		}
	}
	return true;
}

bool pki_valid_dns(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > 253 || name[len - 1] == '.') {
		return false;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || name[i - 1] == '-') {
				return false;
			}
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-') {
			return false;
		}
		if (c == '-' && label == 0) {
			return false;
		}
		if (++label > 63) {
			return false;
		}
	}
	return true;
}
