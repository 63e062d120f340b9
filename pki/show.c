/*
 * show.c — 'ringvpn pki show': one "key: value" line per fact, stable enough
 * for scripts to grep.
 */
#include "pki/show.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/x509path.h"
#include "pki/internal.h"
#include "pki/pem.h"

static void print_time(BIO *b, const char *label, const ASN1_TIME *t)
{
	BIO_printf(b, "%s: ", label);
	if (t == NULL || !ASN1_TIME_print(b, t)) {
		BIO_printf(b, "(none)");
	}
	BIO_printf(b, "\n");
}

/* print_serial shows |serial| whatever its length: one longer than 20
 * octets was "(unprintable)" (round-seventy tester 322). */
static void print_serial(BIO *b, const char *label, const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	BIO_printf(b, "%s: %s\n", label, hex != NULL ? hex : "(unreadable)");
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}

static void print_name(BIO *b, const char *label, const X509_NAME *name)
{
	char buf[512];

	pki_name_oneline(buf, sizeof(buf), name);
	BIO_printf(b, "%s: %s\n", label, buf);
}

/* print_escaped writes |len| bytes of a name from a certificate as printable
 * ASCII: anything else (a newline that would start a line of its own, a
 * terminal escape, a space that would split the field) as \xHH, and a
 * backslash doubled. */
static void print_escaped(BIO *b, const uint8_t *p, int len)
{
	for (int i = 0; i < len; i++) {
		if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\') {
			BIO_printf(b, "%c", p[i]);
		} else if (p[i] == '\\') {
			BIO_printf(b, "\\\\");
		} else {
			BIO_printf(b, "\\x%02x", p[i]);
		}
	}
}

static void print_sans(BIO *b, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;

	BIO_printf(b, "san:");
	for (size_t i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS) {
			BIO_printf(b, " DNS:");
			print_escaped(b, ASN1_STRING_get0_data(g->d.dNSName),
				      ASN1_STRING_length(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			const uint8_t *p = ASN1_STRING_get0_data(g->d.iPAddress);
			int len = ASN1_STRING_length(g->d.iPAddress);
			char txt[64];

			/* The length first: inet_ntop reads 4 or 16 bytes. */
			if ((len == 4 || len == 16) &&
			    inet_ntop(len == 4 ? AF_INET : AF_INET6, p, txt, sizeof(txt)) != NULL) {
				BIO_printf(b, " IP:%s", txt);
			} else {
				BIO_printf(b, " IP:(malformed)");
			}
		} else {
			BIO_printf(b, " (type %d)", g->type);
		}
	}
	BIO_printf(b, "%s\n", n == 0 ? " (none)" : "");
	GENERAL_NAMES_free(gens);
}

static void print_usage(BIO *b, X509 *x)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} ku[] =
	    {
		{KU_DIGITAL_SIGNATURE, "digitalSignature"},
		{KU_KEY_ENCIPHERMENT, "keyEncipherment"},
		{KU_KEY_AGREEMENT, "keyAgreement"},
		{KU_KEY_CERT_SIGN, "keyCertSign"},
		{KU_CRL_SIGN, "cRLSign"},
	    },
	  eku[] = {
	      {XKU_SSL_SERVER, "serverAuth"},
	      {XKU_SSL_CLIENT, "clientAuth"},
	  };
	uint32_t flags = X509_get_extension_flags(x);
	uint32_t k = X509_get_key_usage(x), e = X509_get_extended_key_usage(x);
	EVP_PKEY *pub = X509_get_pubkey(x);
	int pkey_nid = pub != NULL ? EVP_PKEY_id(pub) : NID_undef;

	BIO_printf(b, "ca: %s\n", X509_check_ca(x) ? "yes" : "no");
	BIO_printf(b, "key_usage:");
	if (!(flags & EXFLAG_KUSAGE)) {
		BIO_printf(b, " (any)");
	}
	for (size_t i = 0; (flags & EXFLAG_KUSAGE) && i < sizeof(ku) / sizeof(ku[0]); i++) {
		if (k & ku[i].bit) {
			BIO_printf(b, " %s", ku[i].name);
		}
	}
	BIO_printf(b, "\next_key_usage:");
	if (!(flags & EXFLAG_XKUSAGE)) {
		BIO_printf(b, " (any)");
	}
	for (size_t i = 0; (flags & EXFLAG_XKUSAGE) && i < sizeof(eku) / sizeof(eku[0]); i++) {
		if (e & eku[i].bit) {
			BIO_printf(b, " %s", eku[i].name);
		}
	}
	if (pkey_nid == EVP_PKEY_EC && EVP_PKEY_bits(pub) == 256) {
		BIO_printf(b, "\nkey: ECDSA P-256\n");
	} else {
		BIO_printf(b, "\nkey: %s %d bits\n", OBJ_nid2sn(pkey_nid),
			   pub != NULL ? EVP_PKEY_bits(pub) : 0);
	}
	EVP_PKEY_free(pub);
}

/* print_serial_unfit says what a serial number RFC 5280 forbids means of
 * |x|, as the handshake judges it (crypto/x509path.h
 * rv_x509_chain_serial_unfit): a root, a trust anchor no CRL revokes, is
 * taken; an intermediate is refused with every certificate under it, and
 * a leaf alone (a root was said to be refused, and an intermediate refused
 * alone: round-seventy tester 324). */
static void print_serial_unfit(BIO *b, X509 *x)
{
	const char *why = rv_x509_serial_unfit(x);

	if (why == NULL) {
		return;
	}
	if (X509_check_ca(x) && rv_x509_self_signed(x)) {
		BIO_printf(b,
			   "serial_unfit: %s (RFC 5280 allows a positive integer of at most 20 "
			   "octets), which ringvpn peers take of a root (self-signed: a trust "
			   "anchor of their ca file, which no CRL revokes)\n",
			   why);
	} else if (X509_check_ca(x)) {
		BIO_printf(b,
			   "serial_refused: %s" RV_X509_SERIAL_RULE ", and ringvpn peers refuse "
			   "it as an intermediate CA, and so every certificate under it\n",
			   why);
	} else {
		BIO_printf(b,
			   "serial_refused: %s" RV_X509_SERIAL_RULE ", and ringvpn peers refuse "
			   "it\n",
			   why);
	}
}

static void show_cert(BIO *b, X509 *x)
{
	BIO_printf(b, "type: certificate\n");
	print_name(b, "subject", X509_get_subject_name(x));
	print_name(b, "issuer", X509_get_issuer_name(x));
	print_serial(b, "serial", X509_get0_serialNumber(x));
	print_serial_unfit(b, x);
	print_time(b, "not_before", X509_get0_notBefore(x));
	print_time(b, "not_after", X509_get0_notAfter(x));
	BIO_printf(b, "status: %s\n",
		   X509_cmp_current_time(X509_get0_notBefore(x)) > 0  ? "not yet valid"
		   : X509_cmp_current_time(X509_get0_notAfter(x)) < 0 ? "expired"
								      : "valid");
	print_sans(b, x);
	print_usage(b, x);
}

static void show_crl(BIO *b, X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	size_t n = revs != NULL ? sk_X509_REVOKED_num(revs) : 0;

	BIO_printf(b, "type: crl\n");
	print_name(b, "issuer", X509_CRL_get_issuer(crl));
	print_time(b, "last_update", X509_CRL_get0_lastUpdate(crl));
	print_time(b, "next_update", X509_CRL_get0_nextUpdate(crl));
	if (num != NULL) {
		BIO_printf(b, "crl_number: %ld\n", ASN1_INTEGER_get(num));
	} else {
		BIO_printf(b, "crl_number: (none)\n");
	}
	BIO_printf(b, "revoked: %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);

		print_serial(b, "revoked_serial", X509_REVOKED_get0_serialNumber(r));
	}
	ASN1_INTEGER_free(num);
}

/* crl_bits: which of the file's objects are CRLs, in the file's order (a
 * bit per object, |*num| objects; NULL when out of memory). The objects
 * are read by kind, and a file that began with its CRL was shown
 * certificates first. */
static uint8_t *crl_bits(const uint8_t *buf, size_t len, size_t *num)
{
	const uint8_t *end = buf + len;
	uint8_t *bits = NULL;
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *p = buf, *label;

		n = 0;
		while ((label = rv_pem_next_label(&p, end)) != NULL) {
			bool crl = rv_pem_label_is(label, end, "X509 CRL");

			if (!crl && !rv_pem_label_is(label, end, "CERTIFICATE")) {
				continue;
			}
			if (bits && crl) {
				bits[n / 8] |= (uint8_t)(1u << (n % 8));
			}
			n++;
		}
		if (pass == 0) {
			bits = calloc(n / 8 + 1, 1);
			if (bits == NULL) {
				return NULL;
			}
		}
	}
	*num = n;
	return bits;
}

int rv_pki_show(FILE *out, const char *path, struct rv_pki_err *err)
{
	STACK_OF(X509_CRL) *crls = NULL;
	STACK_OF(X509) *certs = NULL;
	size_t n = 0, i = 0, len, num_bits = 0, ci = 0, ri = 0;
	bool has_crl, has_cert;
	uint8_t *buf, *is_crl;
	BIO *b;
	int ret;

	ret = pki_read_file(&buf, &len, path, RV_PKI_ERR_CERT, "PEM certificate or CRL",
			    PKI_MAX_LIST, err);
	if (ret != 0) {
		return ret;
	}
	has_crl = memmem(buf, len, "-----BEGIN X509 CRL-----", 24) != NULL;
	has_cert = memmem(buf, len, "CERTIFICATE-----", 16) != NULL;
	if (memmem(buf, len, "PRIVATE KEY-----", 16) != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "%s holds a private key; 'show' prints certificates and CRLs only", path);
		return -EINVAL;
	}
	is_crl = crl_bits(buf, len, &num_bits);
	OPENSSL_cleanse(buf, len);
	free(buf);

	/* Every certificate and CRL, in the file's order: a CA file holds
	 * intermediates and rotated CAs, a CRL file one CRL per CA, and only
	 * the first was shown, with no word of the others (round-twenty-nine
	 * tester 145). */
	if (has_cert || !has_crl) {
		ret = rv_pem_read_certs(&certs, path, err);
		if (ret != 0) {
			goto out;
		}
		n += sk_X509_num(certs);
	}
	if (has_crl) {
		ret = rv_pem_read_crls(&crls, path, err);
		if (ret != 0) {
			goto out;
		}
		n += sk_X509_CRL_num(crls);
	}
	b = BIO_new_fp(out, BIO_NOCLOSE);
	if (b == NULL) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	BIO_printf(b, "file: %s\n", path);
	for (size_t nc = certs ? sk_X509_num(certs) : 0, nr = crls ? sk_X509_CRL_num(crls) : 0;
	     ci < nc || ri < nr; i++) {
		/* The file's order where its markers and the objects read agree
		 * (a damaged block is refused before this); else certificates
		 * first. */
		bool crl = ci == nc ||
			   (ri < nr && is_crl && num_bits == n && (is_crl[i / 8] >> (i % 8) & 1));

		if (n > 1) {
			BIO_printf(b, "%sobject: %zu of %zu\n", i ? "\n" : "", i + 1, n);
		}
		if (crl) {
			show_crl(b, sk_X509_CRL_value(crls, ri++));
		} else {
			show_cert(b, sk_X509_value(certs, ci++));
		}
	}
	BIO_flush(b);
	BIO_free(b);
out:
	free(is_crl);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return ret;
}
