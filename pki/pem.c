/*
 * pem.c — PEM load/store for certificates, CRLs and private keys.
 * Files are read whole into memory (so key bytes can be wiped afterwards)
 * and written through pki_write_file (atomic, exact mode).
 */
#include "pki/pem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/internal.h"

/* A list's reading: the line that starts each of its blocks, how many a
 * parsed list holds, and how it is freed. */
struct pem_list {
	const char *begin; /* the end of the BEGIN lines' label (count_begins) */
	size_t (*count)(void *obj);
	void (*drop)(void *obj);
};

const uint8_t *rv_pem_next_label(const uint8_t **p, const uint8_t *end)
{
	static const char begin[] = "-----BEGIN ";
	const uint8_t *q = memmem(*p, (size_t)(end - *p), begin, sizeof(begin) - 1);

	if (q == NULL) {
		return NULL;
	}
	*p = q + sizeof(begin) - 1;
	return *p;
}

bool rv_pem_label_is(const uint8_t *label, const uint8_t *end, const char *type)
{
	const uint8_t *dash = memmem(label, (size_t)(end - label), "-----", 5);
	size_t tl = strlen(type);

	return dash && (size_t)(dash - label) >= tl && !memcmp(dash - tl, type, tl);
}

/* count_begins: how many BEGIN lines of |buf| have a label that ends in
 * |type|, as the server's loader counts them (tls/pem.c): a block of
 * another form (TRUSTED CERTIFICATE), which the reader passes over, was
 * dropped without a word (round-thirty tester 152). */
static size_t count_begins(const uint8_t *buf, size_t len, const char *type)
{
	const uint8_t *p = buf, *end = buf + len, *label;
	size_t n = 0;

	while ((label = rv_pem_next_label(&p, end)) != NULL) {
		n += rv_pem_label_is(label, end, type);
	}
	return n;
}

/* read_pem loads |path| and runs |parse| over a memory BIO of its bytes. A
 * |list|'s blocks must all be read: a damaged one in the middle ended the
 * reading there, and those after it were dropped without a word (`pki
 * show` exit 0; round-twenty-nine tester 146), where the server's loader
 * refuses such a file whole. */
static void *read_pem(const char *path, enum rv_pki_err_kind kind, const char *what, size_t max,
		      void *(*parse)(BIO *), const struct pem_list *list, int *out_ret,
		      struct rv_pki_err *err)
{
	char noun[32];
	uint8_t *buf;
	size_t len, blocks;
	BIO *bio;
	void *obj = NULL;
	int ret;

	snprintf(noun, sizeof(noun), "PEM %s", what);
	ret = pki_read_file(&buf, &len, path, kind, noun, max, err);
	if (ret != 0) {
		*out_ret = ret;
		return NULL;
	}
	bio = BIO_new_mem_buf(buf, len);
	if (bio != NULL) {
		obj = parse(bio);
	}
	blocks = obj != NULL && list != NULL ? count_begins(buf, len, list->begin) : 0;
	if (obj == NULL) {
		pki_err_ssl(err, kind, "%s: not a valid PEM %s", path, what);
		*out_ret = -EINVAL;
	} else if (list != NULL && list->count(obj) < blocks) {
		pki_errf(err, kind,
			 "%s: %zu of its %zu %s blocks could not be read (a damaged or cut block, "
			 "or another form such as TRUSTED CERTIFICATE): refused whole",
			 path, blocks - list->count(obj), blocks, what);
		list->drop(obj);
		obj = NULL;
		*out_ret = -EINVAL;
	} else {
		*out_ret = 0;
	}
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return obj;
}

static void *parse_cert(BIO *b)
{
	return PEM_read_bio_X509(b, NULL, NULL, NULL);
}

/* parse_certs: every certificate of |b|, in order; NULL if none. */
static void *parse_certs(BIO *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	while (sk != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			sk_X509_pop_free(sk, X509_free);
			return NULL;
		}
	}
	if (sk == NULL || sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	ERR_clear_error(); /* the end of the file */
	return sk;
}

/* parse_crls: every CRL of |b|, in order; NULL if none. */
static void *parse_crls(BIO *b)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	X509_CRL *x;

	while (sk != NULL && (x = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_CRL_push(sk, x)) {
			X509_CRL_free(x);
			sk_X509_CRL_pop_free(sk, X509_CRL_free);
			return NULL;
		}
	}
	if (sk == NULL || sk_X509_CRL_num(sk) == 0) {
		sk_X509_CRL_free(sk);
		return NULL;
	}
	ERR_clear_error();
	return sk;
}

static void *parse_key(BIO *b)
{
	return PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
}

static void *parse_crl(BIO *b)
{
	return PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
}

int rv_pem_read_cert(X509 **out, const char *path, struct rv_pki_err *err)
{
	int ret;

	*out = read_pem(path, RV_PKI_ERR_CERT, "certificate", PKI_MAX_FILE, parse_cert, NULL, &ret,
			err);
	return ret;
}

static size_t count_certs(void *obj)
{
	return sk_X509_num(obj);
}

static void drop_certs(void *obj)
{
	sk_X509_pop_free(obj, X509_free);
}

static size_t count_crls(void *obj)
{
	return sk_X509_CRL_num(obj);
}

static void drop_crls(void *obj)
{
	sk_X509_CRL_pop_free(obj, X509_CRL_free);
}

int rv_pem_read_certs(STACK_OF(X509) * *out, const char *path, struct rv_pki_err *err)
{
	int ret;

	static const struct pem_list certs = { "CERTIFICATE", count_certs, drop_certs };

	*out = read_pem(path, RV_PKI_ERR_CERT, "certificate", PKI_MAX_LIST, parse_certs, &certs,
			&ret, err);
	return ret;
}

int rv_pem_read_crls(STACK_OF(X509_CRL) * *out, const char *path, struct rv_pki_err *err)
{
	int ret;

	static const struct pem_list crls = { "X509 CRL", count_crls, drop_crls };

	*out = read_pem(path, RV_PKI_ERR_CERT, "CRL", PKI_MAX_LIST, parse_crls, &crls, &ret, err);
	return ret;
}

int rv_pem_read_key(EVP_PKEY **out, const char *path, struct rv_pki_err *err)
{
	int ret;

	*out = read_pem(path, RV_PKI_ERR_KEY, "private key", PKI_MAX_FILE, parse_key, NULL, &ret,
			err);
	return ret;
}

int rv_pem_read_crl(X509_CRL **out, const char *path, struct rv_pki_err *err)
{
	int ret;

	*out = read_pem(path, RV_PKI_ERR_CERT, "CRL", PKI_MAX_LIST, parse_crl, NULL, &ret, err);
	return ret;
}

/* stage_bio writes the contents of |b| into a staged file for |path|,
 * wiping them if |secret|. */
static int stage_bio(struct pki_staged *st, const char *path, BIO *b, mode_t mode, bool secret,
		     struct rv_pki_err *err)
{
	const uint8_t *p;
	size_t len;
	int ret;

	if (!BIO_mem_contents(b, &p, &len)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "%s: cannot encode", path);
		return -EINVAL;
	}
	ret = pki_stage_file(st, path, p, len, mode, err);
	if (secret) {
		OPENSSL_cleanse((void *)(uintptr_t)p, len);
	}
	return ret;
}

int rv_pem_stage_cert(struct pki_staged *st, const char *path, X509 *cert, struct rv_pki_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ret;

	if (b == NULL || !PEM_write_bio_X509(b, cert)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "%s: cannot encode the certificate", path);
		BIO_free(b);
		return -ENOMEM;
	}
	ret = stage_bio(st, path, b, 0644, false, err);
	BIO_free(b);
	return ret;
}

int rv_pem_stage_key(struct pki_staged *st, const char *path, EVP_PKEY *key, struct rv_pki_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ret;

	if (b == NULL || !PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "%s: cannot encode the private key", path);
		ret = -ENOMEM;
		goto out;
	}
	ret = stage_bio(st, path, b, 0600, true, err);
out:
	BIO_free(b);
	return ret;
}

int rv_pem_write_cert(const char *path, X509 *cert, bool overwrite, struct rv_pki_err *err)
{
	struct pki_staged st;
	int ret = rv_pem_stage_cert(&st, path, cert, err);

	return ret != 0 ? ret : pki_publish_file(&st, overwrite, err);
}

int rv_pem_write_key(const char *path, EVP_PKEY *key, bool overwrite, struct rv_pki_err *err)
{
	struct pki_staged st;
	int ret = rv_pem_stage_key(&st, path, key, err);

	return ret != 0 ? ret : pki_publish_file(&st, overwrite, err);
}

int rv_pem_write_crl(const char *path, X509_CRL *crl, struct rv_pki_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	struct pki_staged st;
	int ret;

	if (b == NULL || !PEM_write_bio_X509_CRL(b, crl)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "%s: cannot encode the CRL", path);
		BIO_free(b);
		return -ENOMEM;
	}
	ret = stage_bio(&st, path, b, 0644, false, err);
	BIO_free(b);
	return ret != 0 ? ret : pki_publish_file(&st, true, err);
}
