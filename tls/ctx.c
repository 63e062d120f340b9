/*
 * ctx.c — SSL_CTX construction for the control plane (see ctx.h).
 *
 * Every input file is first opened with fopen() so that a missing or
 * unreadable file is reported with its errno and name, before BoringSSL's
 * less specific parse errors can hide the cause.
 */
#include "tls/ctx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "ringvpn must be built against BoringSSL"
#endif

#include "core/config.h"
#include "core/file.h"
#include "core/log.h"
#include "crypto/errq.h"
#include "crypto/mem.h"
#include "tls/internal.h"

/* The newest CRL read, by its cRLNumber (RFC 5280 5.2.3), per signing key:
 * of the first CRL_SEEN signers of the file (it was 4, and a rollback of
 * the fifth CA's CRL was taken: a hostile tester). */
enum { CRL_SEEN = 64 };

struct crl_seen {
	uint8_t signer[SHA256_DIGEST_LENGTH]; /* SHA-256 of the signing CA's key */
	uint8_t number[24];		      /* the highest cRLNumber, if |numbered|:
					       * big-endian (RFC 5280: up to 20 octets) */
	int64_t this_update;		      /* the latest thisUpdate */
	bool numbered;			      /* a CRL of it carried a number */
	bool have;
};

/* The CRLs of a context, kept to be carried over to the next one when that
 * one's CRL cannot be used yet (rv_tls_ctx_from_config_crl): a file with
 * more than CRL_KEPT is not carried over. */
enum { CRL_KEPT = 64, CA_ENDS = 64 };

/* The largest CA, CRL, certificate or key file read: `pki verify`'s limit
 * (PKI_MAX_LIST). */
#define RV_TLS_PEM_MAX (64 << 20)

struct rv_tls_ctx {
	SSL_CTX *ssl_ctx;
	enum rv_tls_role role;
	char *server_name;
	struct rv_tls_expiry expiry;
	struct crl_seen crl[CRL_SEEN];
	int64_t ca_ends[CA_ENDS]; /* the CA certificates' ends (the first CA_ENDS) */
	size_t n_ca_ends;
	X509_CRL *kept[CRL_KEPT];
	X509 *kept_signer[CRL_KEPT]; /* the CA certificate whose key signed each */
	size_t nkept;
	bool kept_all; /* every CRL of the file is in |kept| */
	/* What peers are verified against: the CA certificates and the CRLs
	 * added, each kind in order, chained into a SHA-256 of its own
	 * (rv_tls_ctx_same_ca, rv_tls_ctx_same_trust). */
	uint8_t trust_ca[SHA256_DIGEST_LENGTH];
	uint8_t trust_crl[SHA256_DIGEST_LENGTH];
	uint8_t own_id[SHA256_DIGEST_LENGTH]; /* SHA-256 of this end's certificate */
};

/* trust_add chains the DER of a CA certificate (|x|) or a CRL (|crl|) into
 * |trust|. A value that cannot be encoded (out of memory) is chained as
 * such, which only makes two contexts compare unequal. */
static void trust_add(uint8_t *trust, X509 *x, X509_CRL *crl)
{
	uint8_t *der = NULL;
	int len = x ? i2d_X509(x, &der) : i2d_X509_CRL(crl, &der);
	SHA256_CTX sha;

	SHA256_Init(&sha);
	SHA256_Update(&sha, trust, SHA256_DIGEST_LENGTH);
	if (len > 0) {
		SHA256_Update(&sha, der, (size_t)len);
	}
	SHA256_Final(trust, &sha);
	OPENSSL_free(der);
	ERR_clear_error();
}

bool rv_tls_ctx_same_ca(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b)
{
	return memcmp(a->trust_ca, b->trust_ca, sizeof(a->trust_ca)) == 0;
}

/* issued_by: was |x| issued by the CA |ca|? Its authority key identifier
 * against the CA's subject key identifier (X509_check_issued); without
 * one, its signature against the CA's key. */
static bool issued_by(X509 *ca, X509 *x)
{
	EVP_PKEY *pub;
	bool ok;

	if (ca == NULL || X509_check_issued(ca, x) != X509_V_OK) {
		ERR_clear_error();
		return false;
	}
	if (X509_get0_authority_key_id(x) != NULL) {
		return true;
	}
	pub = X509_get_pubkey(ca);
	ok = pub && X509_verify(x, pub) == 1;
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return ok;
}

/* self_signed: is |x| a root (its own issuer, by name and key)? */
static bool self_signed(X509 *x)
{
	bool ss = X509_check_issued(x, x) == X509_V_OK;

	ERR_clear_error();
	return ss;
}

/* crl_lists_ca: does |crl|, if |issuer| signed it, list CA certificate |x|
 * (issued by |issuer|) as revoked? The signature is checked only for a CRL
 * that lists it: a CRL of another CA of the same name must not count. */
static bool crl_lists_ca(X509_CRL *crl, X509 *x, X509 *issuer)
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

X509 *rv_tls_chain_ca_revoked(X509_STORE_CTX *xs)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
	size_t n = chain ? sk_X509_num(chain) : 0;

	/* From the leaf's issuer up to the one below the root: a root's own
	 * CRL listing the root revokes nothing a peer can rely on. */
	for (size_t i = 1; i + 1 < n; i++) {
		X509 *ca = sk_X509_value(chain, i), *up = sk_X509_value(chain, i + 1);
		STACK_OF(X509_CRL) *crls = X509_STORE_get1_crls(xs, X509_get_issuer_name(ca));
		bool listed = false;

		for (size_t j = 0; !listed && crls && j < sk_X509_CRL_num(crls); j++) {
			listed = crl_lists_ca(sk_X509_CRL_value(crls, j), ca, up);
		}
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
		ERR_clear_error();
		if (listed) {
			return ca;
		}
	}
	return NULL;
}

/* store_ca: the |i|th object of a store's |objs| if it is a certificate
 * (borrowed), NULL if it is a CRL. */
static X509 *store_ca(STACK_OF(X509_OBJECT) * objs, size_t i)
{
	X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);

	return X509_OBJECT_get_type(o) == X509_LU_X509 ? X509_OBJECT_get0_X509(o) : NULL;
}

/* store_issuer: the CA certificate of |ctx|'s store that issued |x|. */
static X509 *store_issuer(const struct rv_tls_ctx *ctx, X509 *x)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx->ssl_ctx));

	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = store_ca(objs, i);

		if (ca && ca != x && issued_by(ca, x)) {
			return ca;
		}
	}
	return NULL;
}

/* ca_above_revoked: is a CA certificate between |leaf| and its root
 * listed by a CRL of |ctx| from that CA's issuer? The live sessions' check,
 * as rv_tls_chain_ca_revoked is the handshake's: both count any CRL of the
 * issuer that lists it, and neither asks a root for a CRL (most publish
 * none of their own). At most 8 levels. */
static bool ca_above_revoked(const struct rv_tls_ctx *ctx, X509 *leaf)
{
	X509 *ca = store_issuer(ctx, leaf);

	for (int depth = 1; ca && depth < 8 && !self_signed(ca); depth++) {
		X509 *up = store_issuer(ctx, ca);

		for (size_t i = 0; up && i < ctx->nkept; i++) {
			if (crl_lists_ca(ctx->kept[i], ca, up)) {
				return true;
			}
		}
		ca = up;
	}
	return false;
}

int rv_tls_ctx_revokes(const struct rv_tls_ctx *ctx, X509 *x)
{
	X509_CRL *best = NULL;
	X509_REVOKED *rev;
	int ret;

	if (!ctx->expiry.have_crl) {
		return 0;
	}
	if (!ctx->kept_all) {
		return -E2BIG;
	}
	/* As the handshake's verification: the newest CRL of the
	 * certificate's issuer decides, and none at all is a refusal ("unable
	 * to get certificate CRL"), which only X509_verify_cert says right. */
	for (size_t i = 0; i < ctx->nkept; i++) {
		X509_CRL *crl = ctx->kept[i];
		int64_t a, b;

		/* Its issuer by key, not by name alone: two CAs may share a
		 * name (pki's default "ringvpn CA", made again at a
		 * rotation), and the other one's newer CRL hid a revocation
		 * (a hostile tester). */
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(x)) != 0 ||
		    !issued_by(ctx->kept_signer[i], x)) {
			continue;
		}
		if (best == NULL ||
		    (rv_tls_unix_time(X509_CRL_get0_lastUpdate(crl), &a) &&
		     rv_tls_unix_time(X509_CRL_get0_lastUpdate(best), &b) && a > b)) {
			best = crl;
		}
	}
	if (best == NULL) {
		return -ENOENT;
	}
	/* Matches the serial and the issuer (1; 2 is "removeFromCRL"). */
	ret = X509_CRL_get0_by_cert(best, &rev, x) == 1;
	ERR_clear_error();
	/* A revoked intermediate CA: its leaves kept their sessions, and got
	 * in again after a kick (a hostile tester). */
	return ret || ca_above_revoked(ctx, x);
}

/* same_key: do |a| and |b| carry the same public key? */
static bool same_key(X509 *a, X509 *b)
{
	EVP_PKEY *ka = X509_get_pubkey(a), *kb = X509_get_pubkey(b);
	bool same = ka && kb && EVP_PKEY_cmp(ka, kb) == 1;

	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	return same;
}

/* has_ca_key: does |ctx|'s store hold a CA certificate with |ca|'s key? */
static bool has_ca_key(const struct rv_tls_ctx *ctx, X509 *ca)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx->ssl_ctx));
	bool has = false;

	for (size_t i = 0; !has && i < sk_X509_OBJECT_num(objs); i++) {
		X509 *x = store_ca(objs, i);

		has = x && same_key(x, ca);
	}
	ERR_clear_error();
	return has;
}

bool rv_tls_ctx_crl_dropped(const struct rv_tls_ctx *n, const struct rv_tls_ctx *cur, char *who,
			    size_t who_len)
{
	if (!n->expiry.have_crl || !cur->expiry.have_crl || !n->kept_all || !cur->kept_all) {
		return false;
	}
	for (size_t i = 0; i < cur->nkept; i++) {
		X509 *ca = cur->kept_signer[i];
		bool kept = false;

		for (size_t j = 0; !kept && j < n->nkept; j++) {
			kept = same_key(n->kept_signer[j], ca);
		}
		if (!kept && has_ca_key(n, ca)) {
			X509_NAME_oneline(X509_get_subject_name(ca), who, (int)who_len);
			ERR_clear_error();
			return true;
		}
	}
	ERR_clear_error();
	return false;
}

bool rv_tls_ctx_same_trust(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b)
{
	return rv_tls_ctx_same_ca(a, b) && a->expiry.have_crl == b->expiry.have_crl &&
	       memcmp(a->trust_crl, b->trust_crl, sizeof(a->trust_crl)) == 0;
}

/* unix_time converts an ASN.1 time to seconds since the epoch. */
bool rv_tls_unix_time(const ASN1_TIME *t, int64_t *out)
{
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	int days = 0, secs = 0;
	bool ok = epoch && t && ASN1_TIME_diff(&days, &secs, epoch, t);

	ASN1_TIME_free(epoch);
	ERR_clear_error();
	if (ok) {
		*out = (int64_t)days * 86400 + secs;
	}
	return ok;
}

/* keep_earliest lowers |*cur| (0: unset) to the time of |t|. */
static void keep_earliest(int64_t *cur, const ASN1_TIME *t)
{
	int64_t v;

	if (rv_tls_unix_time(t, &v) && (*cur == 0 || v < *cur)) {
		*cur = v;
	}
}

/* fmt_utc writes |t| (seconds since the epoch) as "YYYY-MM-DD HH:MM:SS UTC"
 * into |buf|, or leaves |buf| as it is if it cannot. */
static void fmt_utc(int64_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&(time_t){ t }, &tm)) {
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
}

static void keep_latest(int64_t *cur, const ASN1_TIME *t)
{
	int64_t v;

	if (rv_tls_unix_time(t, &v) && v > *cur) {
		*cur = v;
	}
}

/* verify_name refuses, inside the handshake, a peer certificate whose
 * common name cannot be an identity: the peer gets an alert and can say why
 * (checked after the handshake, the server only closed the connection and
 * the client took it for a network failure). */
static int verify_name(int ok, X509_STORE_CTX *xs)
{
	char cn[RV_TLS_CN_MAX + 1];

	if (X509_STORE_CTX_get_error_depth(xs) != 0) {
		return ok;
	}
	if (ok != 1) {
		rv_tls_conn_note_refused(xs);
		return ok;
	}
	if (rv_tls_x509_cn(X509_STORE_CTX_get_current_cert(xs), cn) != 0) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	/* X509_V_FLAG_CRL_CHECK looks at the leaf only; CRL_CHECK_ALL would
	 * also ask every root for a CRL of its own. */
	if (rv_tls_chain_ca_revoked(xs)) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REVOKED);
		rv_tls_conn_note_refused(xs);
		return 0;
	}
	return 1;
}

static bool is_ip_literal(const char *name)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
}

static const uint16_t sigalgs[] = {
	SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA256,
	SSL_SIGN_ECDSA_SECP384R1_SHA384, SSL_SIGN_RSA_PSS_RSAE_SHA384,
	SSL_SIGN_RSA_PSS_RSAE_SHA512,
};

/* open_pem opens |path| for reading, or fills |err| with why not. */
static FILE *open_pem(const char *what, const char *path, char *err, size_t err_len, int *out_errno)
{
	struct stat st;
	FILE *f;
	int fd;

	if (!path || !path[0]) {
		snprintf(err, err_len,
			 "no %s file configured: set it in the config file or on the "
			 "command line",
			 what);
		*out_errno = -EINVAL;
		return NULL;
	}
	fd = rv_open_regular(path);
	if (fd == -EISDIR || fd == -EINVAL) {
		*out_errno = -EINVAL;
		snprintf(err, err_len, "%s file %s is not a regular file (%s)", what, path,
			 fd == -EISDIR ? "a directory" : "a FIFO, socket or device");
		return NULL;
	}
	if (fd < 0) {
		*out_errno = fd;
		snprintf(err, err_len, "cannot open %s file %s: %s%s", what, path, strerror(-fd),
			 fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM
				 ? ""
				 : " (check the path and its permissions)");
		return NULL;
	}
	/* As `pki verify` (PKI_MAX_LIST): a bigger file (a wrong path, a
	 * runaway tool, a sparse file) held the control thread for seconds and
	 * hundreds of MB while it was read (round-four testers). */
	if (fstat(fd, &st) == 0 && st.st_size > RV_TLS_PEM_MAX) {
		*out_errno = -EFBIG;
		snprintf(err, err_len,
			 "%s file %s: %lld bytes, more than such a file may have here (%d MiB, "
			 "about a million revocations in a CRL): refused",
			 what, path, (long long)st.st_size, RV_TLS_PEM_MAX >> 20);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		*out_errno = -errno;
		snprintf(err, err_len, "cannot read %s file %s: %s", what, path, strerror(errno));
		close(fd);
	}
	return f;
}

/* trust_file_refused: the CA and CRL files decide who this end lets in.
 * One that every user may write is refused (anyone could add a CA of their
 * own, and with it any name, or take a revocation out); one that another
 * user owns or a group other than root's may write, or that such a user
 * could swap on the way to it, is said (an operator's slip a hostile
 * tester made: a CA file of mode 0666 took a stranger's CA appended to it,
 * unsaid, at the next change). */
static bool trust_file_refused(FILE *f, const char *what, const char *path, char *err,
			       size_t err_len)
{
	struct stat st;
	char why[PATH_MAX + 64];

	if (fstat(fileno(f), &st) != 0) {
		return false;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, err_len,
			 "%s file %s is writable by every user (mode %04o): anyone could "
			 "decide who this end trusts; refused (chmod o-w it)",
			 what, path, (unsigned)(st.st_mode & 07777));
		return true;
	}
	/* Root's alone: the service's own user counted as safe too after the
	 * drop, and every process of a shared user could then rewrite who
	 * this end trusts, unsaid at each reload (a round-four tester). */
	if (st.st_uid != 0) {
		rv_warnx("%s file %s belongs to uid %u%s: that user decides who this end trusts "
			 "(chown root it)",
			 what, path, (unsigned)st.st_uid,
			 st.st_uid == geteuid() ? ", the one this process runs as" : "");
	} else if ((st.st_mode & S_IWGRP) && st.st_gid != 0) {
		rv_warnx("%s file %s is writable by group %u (mode %04o): its members decide who "
			 "this end trusts (chmod g-w it)",
			 what, path, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	} else if (rv_path_stranger(path, 0, why, sizeof(why))) {
		rv_warnx("%s file %s: %s, who can swap it for a file of their own", what, path,
			 why);
	}
	return false;
}

/* pem_ended: did the PEM reader stop at the end of the file ("no start
 * line"), not at a block it could not read? A damaged or cut second block
 * was taken for the end: the CAs or CRLs after it were left out without a
 * word, and the sessions of their CA ended (a hostile tester; a CRL file
 * rewritten in place by a slow writer does it too). Clears the errors. */
static bool pem_ended(void)
{
	uint32_t e = ERR_peek_last_error();
	bool ended = e == 0 ||
		     (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);

	ERR_clear_error();
	return ended;
}

/* pem_scan counts the BEGIN lines of |f| whose type ends in |type| (a
 * BEGIN anywhere: after a byte-order mark, other text, a NUL or the END of
 * a block with no newline between, which the PEM reader passes over
 * without a word, dropping the block), and says whether any block is a
 * private key (indented or commented out too): a CA or CRL file goes to
 * every peer (`cat ca.crt ca.key` is an easy slip). The file is read in
 * chunks that overlap by the longest BEGIN line looked at, not by line: a
 * BEGIN past a line's 511th byte or after a NUL was missed (a round-three
 * tester). Leaves |f| at its start. */
static unsigned pem_scan(FILE *f, const char *type, bool *key)
{
	enum { TAIL = 96 }; /* "-----BEGIN " + a label + "-----" */
	static const char begin[] = "-----BEGIN ", dashes[] = "-----", pk[] = "PRIVATE KEY";
	char buf[16384 + TAIL];
	size_t have = 0, tlen = strlen(type);
	unsigned n = 0;
	bool eof = false;

	*key = false;
	rewind(f);
	while (!eof) {
		size_t got = fread(buf + have, 1, sizeof(buf) - have, f), limit;
		const char *b;

		have += got;
		eof = got == 0;
		/* BEGINs that start in the last TAIL bytes wait for the next
		 * chunk, which begins with them. */
		limit = eof ? have : (have > TAIL ? have - TAIL : 0);
		for (b = memmem(buf, have, begin, sizeof(begin) - 1);
		     b && (size_t)(b - buf) < limit;
		     b = memmem(b + 1, have - (size_t)(b + 1 - buf), begin, sizeof(begin) - 1)) {
			const char *label = b + sizeof(begin) - 1;
			size_t room = (size_t)(buf + have - label);
			const char *end = memmem(label, room < TAIL ? room : TAIL, dashes, 5);
			size_t llen = end ? (size_t)(end - label) : 0;

			*key = *key || (llen >= sizeof(pk) - 1 &&
					memcmp(end - (sizeof(pk) - 1), pk, sizeof(pk) - 1) == 0);
			n += llen >= tlen && memcmp(end - tlen, type, tlen) == 0;
		}
		memmove(buf, buf + limit, have - limit);
		have -= limit;
	}
	rewind(f);
	return n;
}

/* pem_read_all says why a PEM file read |n| blocks where its scan found
 * |begins| (0: it read them all): the reader stopped at a damaged block,
 * or passed over one it could not see (a BEGIN that does not start its
 * line, another form such as TRUSTED CERTIFICATE). */
static int pem_read_all(const char *what, const char *kind, const char *path, unsigned n,
			unsigned begins, char *err, size_t err_len)
{
	if (!pem_ended() && n > 0) {
		snprintf(err, err_len,
			 "%s file %s: the block after %s %u is damaged or cut short (refused "
			 "whole, not read up to it)",
			 what, path, kind, n);
		return -EINVAL;
	}
	if (n > 0 && n < begins) {
		snprintf(err, err_len,
			 "%s file %s: %u of its %u %s blocks could not be read (a BEGIN line that "
			 "does not start its line: a byte-order mark, text before it, a file "
			 "joined without its final newline; or another form, such as TRUSTED "
			 "CERTIFICATE): refused whole",
			 what, path, begins - n, begins, kind);
		return -EINVAL;
	}
	return 0;
}

/* valid_now: is |x| within its validity period? */
static bool valid_now(X509 *x)
{
	return X509_cmp_current_time(X509_get0_notBefore(x)) <= 0 &&
	       X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
}

/* outdone_copy: is CA certificate |i| of |all| a copy of another one there
 * (the same name and key: a CA re-issued to extend it) that serves better,
 * valid now where it is not or ending later? Only the best copy goes into
 * the store: chain building takes the first copy whose name and key
 * match, and with the old one first its expiry ended every session and
 * refused every handshake although the new one stood beside it (a hostile
 * tester). */
static bool outdone_copy(STACK_OF(X509) * all, size_t i)
{
	X509 *x = sk_X509_value(all, i);

	for (size_t j = 0; j < sk_X509_num(all); j++) {
		X509 *y = sk_X509_value(all, j);
		int64_t ex = 0, ey = 0;

		if (j == i ||
		    X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(y)) != 0 ||
		    !same_key(x, y)) {
			continue;
		}
		if (valid_now(x) != valid_now(y)) {
			if (valid_now(y)) {
				return true;
			}
			continue;
		}
		(void)rv_tls_unix_time(X509_get0_notAfter(x), &ex);
		(void)rv_tls_unix_time(X509_get0_notAfter(y), &ey);
		if (ey > ex || (ey == ex && j < i)) {
			return true;
		}
	}
	ERR_clear_error();
	return false;
}

static int load_ca(struct rv_tls_ctx *c, const char *path, char *err, size_t err_len)
{
	SSL_CTX *sc = c->ssl_ctx;
	uint8_t *trust = c->trust_ca;
	X509_STORE *store = SSL_CTX_get_cert_store(sc);
	STACK_OF(X509) *all = NULL;
	char ebuf[256];
	X509 *x;
	FILE *f;
	unsigned begins;
	bool key;
	int ret = 0, n = 0;

	f = open_pem("CA certificate", path, err, err_len, &ret);
	if (!f) {
		return ret;
	}
	if (trust_file_refused(f, "CA", path, err, err_len)) {
		ret = -EACCES;
		goto out;
	}
	begins = pem_scan(f, "CERTIFICATE", &key);
	if (key) {
		snprintf(err, err_len,
			 "CA file %s holds a private key: refused (the CA file goes to every "
			 "peer; keep only the CA's certificate in it)",
			 path);
		ret = -EINVAL;
		goto out;
	}
	all = sk_X509_new_null();
	if (!all) {
		snprintf(err, err_len, "CA file %s: out of memory", path);
		ret = -ENOMEM;
		goto out;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (X509_check_ca(x) == 0) {
			char subject[160];

			X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
			X509_free(x);
			snprintf(err, err_len,
				 "CA file %s: certificate %d (%s) is not a CA certificate (use the "
				 "CA's ca.crt)",
				 path, n + 1, subject);
			ret = -EINVAL;
			goto out;
		}
		trust_add(trust, x, NULL);
		if (!sk_X509_push(all, x)) {
			X509_free(x);
			snprintf(err, err_len, "CA file %s: out of memory", path);
			ret = -ENOMEM;
			goto out;
		}
		n++;
	}
	for (size_t i = 0; i < sk_X509_num(all); i++) {
		x = sk_X509_value(all, i);
		if (outdone_copy(all, i)) {
			continue;
		}
		if (c->n_ca_ends < CA_ENDS &&
		    rv_tls_unix_time(X509_get0_notAfter(x), &c->ca_ends[c->n_ca_ends])) {
			c->n_ca_ends++;
		}
		if (!X509_STORE_add_cert(store, x)) {
			snprintf(err, err_len, "CA file %s: cannot add certificate: %s", path,
				 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
			ret = -EINVAL;
			goto out;
		}
	}
	ret = pem_read_all("CA", "certificate", path, (unsigned)n, begins, err, err_len);
	if (ret == 0 && n == 0 && begins > 0) {
		/* It said "holds no PEM certificate" of a damaged first block. */
		snprintf(err, err_len,
			 "CA file %s: its first certificate block is damaged or cut short, or "
			 "does not start its line (%u BEGIN line(s) in it): refused",
			 path, begins);
		ret = -EINVAL;
	} else if (ret == 0 && n == 0) {
		snprintf(err, err_len,
			 "CA file %s holds no PEM certificate it can read (expected "
			 "-----BEGIN CERTIFICATE----- at the start of a line; use the CA's "
			 "ca.crt)",
			 path);
		ret = -EINVAL;
	}
out:
	sk_X509_pop_free(all, X509_free);
	fclose(f);
	return ret;
}

/* ca_named: the |i|th object of |objs| if it is a CA certificate whose
 * subject is |name| (borrowed), else NULL. */
static X509 *ca_named(STACK_OF(X509_OBJECT) * objs, size_t i, X509_NAME *name)
{
	X509 *ca = store_ca(objs, i);

	return ca && X509_NAME_cmp(X509_get_subject_name(ca), name) == 0 ? ca : NULL;
}

/* signed_by_ca: the CA certificate in |store| that issued and signed
 * |crl| (borrowed), or NULL. Another CA's CRL, or one whose signature does not verify,
 * would otherwise be taken, and then no peer certificate verifies ("unable
 * to get certificate CRL", "CRL signature failure"): every new client is
 * refused and the next reload ends every session. */
static X509 *signed_by_ca(X509_STORE *store, X509_CRL *crl)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	X509 *signer = NULL;

	for (size_t i = 0; !signer && i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = ca_named(objs, i, X509_CRL_get_issuer(crl));
		EVP_PKEY *pub;

		if (!ca) {
			continue;
		}
		pub = X509_get_pubkey(ca);
		if (pub && X509_CRL_verify(crl, pub) == 1) {
			signer = ca;
		}
		EVP_PKEY_free(pub);
	}
	ERR_clear_error();
	return signer;
}

/* akid_is: does |crl|'s authority key identifier, when it has one, name
 * the key of |signer| (its subject key identifier, when it has one)? */
static bool akid_is(X509_CRL *crl, X509 *signer)
{
	AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(signer);
	bool ok = aki == NULL || aki->keyid == NULL || skid == NULL ||
		  ASN1_OCTET_STRING_cmp(aki->keyid, skid) == 0;

	AUTHORITY_KEYID_free(aki);
	ERR_clear_error();
	return ok;
}

/* cas_named counts the CA certificates of |store| whose subject is |name|. */
static int cas_named(X509_STORE *store, X509_NAME *name)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	int n = 0;

	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		n += ca_named(objs, i, name) != NULL;
	}
	return n;
}

/* critical_unknown: does |crl| carry a critical extension that
 * BoringSSL's verification does not handle, on the CRL itself or on one of
 * its entries? Such a CRL fails every peer's verification ("unhandled
 * critical CRL extension"), while the live sessions' serial lookup took it
 * (a hostile tester). The CRL's own: all but the authority key identifier
 * (an issuing distribution point and a delta indicator are refused for
 * their own reasons); an entry's: all but the certificate issuer. Writes
 * the extension's OID into |oid|. */
static bool critical_unknown(X509_CRL *crl, char *oid, size_t oid_len, bool *out_entry)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	X509_EXTENSION *ext = NULL;

	*out_entry = false;
	for (int i = 0; !ext && i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));

		if (X509_EXTENSION_get_critical(e) && nid != NID_authority_key_identifier &&
		    nid != NID_issuing_distribution_point && nid != NID_delta_crl) {
			ext = e;
		}
	}
	for (size_t i = 0; !ext && i < sk_X509_REVOKED_num(revs); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);

		for (int j = 0; !ext && j < X509_REVOKED_get_ext_count(r); j++) {
			X509_EXTENSION *e = X509_REVOKED_get_ext(r, j);

			if (X509_EXTENSION_get_critical(e) &&
			    OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_certificate_issuer) {
				ext = e;
				*out_entry = true;
			}
		}
	}
	if (ext && OBJ_obj2txt(oid, (int)oid_len, X509_EXTENSION_get_object(ext), 0) <= 0) {
		snprintf(oid, oid_len, "?");
	}
	ERR_clear_error();
	return ext != NULL;
}

/* crl_kind_refused: CRL |idx| of |path| is refused, with the reason in
 * |err|, when the handshake and the check of live sessions would judge by
 * it differently (a round-three tester found each): a partial CRL (an
 * issuing distribution point: only CA certificates, or only some reasons),
 * which the handshake leaves out and the live check took as the newest, so
 * a revocation in the complete one was not applied to live sessions; a
 * delta CRL, which the handshake takes for a complete one (its base's
 * revocations then let in again); and one without an authority key
 * identifier when several CAs of the CA file share its issuer's name (the
 * handshake picks by name and refused every client of the other CA, while
 * the live check kept them). */
static int crl_kind_refused(X509_STORE *store, X509_CRL *crl, const char *path, int idx, char *err,
			    size_t err_len)
{
	AUTHORITY_KEYID *aki;
	bool has_akid, entry;
	char oid[80];
	int same;

	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		snprintf(err, err_len,
			 "CRL file %s: CRL %d is a delta CRL (only the changes since a base CRL): "
			 "refused, ringvpn takes complete CRLs only (publish the complete one)",
			 path, idx);
		return -EINVAL;
	}
	if (X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1) >= 0) {
		snprintf(err, err_len,
			 "CRL file %s: CRL %d has an issuing distribution point (a CRL for some "
			 "certificates or reasons only): refused, ringvpn takes complete CRLs only "
			 "(publish the complete one)",
			 path, idx);
		return -EINVAL;
	}
	if (critical_unknown(crl, oid, sizeof(oid), &entry)) {
		snprintf(err, err_len,
			 "CRL file %s: CRL %d carries a critical extension (%s%s) that the "
			 "handshake cannot handle: every peer would be refused; refused (publish "
			 "it without that extension, or with it not critical)",
			 path, idx, oid, entry ? ", on a revoked entry" : "");
		return -EINVAL;
	}
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	has_akid = aki != NULL && aki->keyid != NULL;
	AUTHORITY_KEYID_free(aki);
	ERR_clear_error();
	same = has_akid ? 0 : cas_named(store, X509_CRL_get_issuer(crl));
	if (same > 1) {
		char issuer[160];

		X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
		snprintf(err, err_len,
			 "CRL file %s: CRL %d has no authority key identifier, and %d CAs of the "
			 "CA file are named %s: a peer's check could not tell whose CRL it is; "
			 "refused (sign it with one: `ringvpn pki revoke` does; openssl ca needs "
			 "authorityKeyIdentifier = keyid in its crl_extensions)",
			 path, idx, same, issuer);
		return -EINVAL;
	}
	return 0;
}

/* note_crl_number records |crl|'s number and thisUpdate in |seen| (the
 * highest of each per signer). By the key of the CA that signed it, which
 * the load has found: a CA made again under the same name starts its
 * numbers over, and its first CRL is not an older one, with or without an
 * authority key identifier (without one, the name alone made a rotation's
 * first CRL "older" than the old CA's, and every reload was refused).
 * Numbers of up to 24 octets (RFC 5280 allows 20; they were read up to 64
 * bits, and a rollback past that was taken: a hostile tester). A CRL
 * without a number is judged by its thisUpdate (it replaced a numbered
 * one, and an older copy of either was then taken). */
/* seen_merge takes |one| signer's record into |seen|: the higher number and
 * the later thisUpdate of the two, or a slot of its own (while one is
 * free). */
static void seen_merge(struct crl_seen seen[CRL_SEEN], const struct crl_seen *one)
{
	for (size_t i = 0; i < CRL_SEEN; i++) {
		struct crl_seen *e = &seen[i];

		if (!e->have) {
			*e = *one;
			return;
		}
		if (memcmp(e->signer, one->signer, sizeof(e->signer)) != 0) {
			continue;
		}
		if (one->numbered &&
		    (!e->numbered || memcmp(one->number, e->number, sizeof(e->number)) > 0)) {
			memcpy(e->number, one->number, sizeof(e->number));
			e->numbered = true;
		}
		if (one->this_update > e->this_update) {
			e->this_update = one->this_update;
		}
		return;
	}
}

static void note_crl_number(struct crl_seen seen[CRL_SEEN], X509_CRL *crl, const X509 *signer)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	uint8_t md[EVP_MAX_MD_SIZE] = { 0 };
	unsigned md_len = 0;
	int64_t tu = INT64_MIN;
	uint8_t v[sizeof(seen[0].number)] = { 0 };
	struct crl_seen one;
	bool numbered = false;
	BIGNUM *bn;

	/* The whole digest: a 32-bit hash of it let a second CA's operator
	 * grind a key that shared the first one's counter (a hostile tester). */
	if (!X509_pubkey_digest(signer, EVP_sha256(), md, &md_len) ||
	    md_len != SHA256_DIGEST_LENGTH) {
		ERR_clear_error();
		ASN1_INTEGER_free(num);
		return;
	}
	bn = num ? ASN1_INTEGER_to_BN(num, NULL) : NULL;
	numbered = bn && !BN_is_negative(bn) && BN_bn2bin_padded(v, sizeof(v), bn);
	BN_free(bn);
	ASN1_INTEGER_free(num);
	ERR_clear_error();
	if (!rv_tls_unix_time(X509_CRL_get0_lastUpdate(crl), &tu)) {
		tu = INT64_MIN;
	}
	one = (struct crl_seen){ .this_update = tu, .numbered = numbered, .have = true };
	memcpy(one.signer, md, sizeof(one.signer));
	memcpy(one.number, v, sizeof(one.number));
	seen_merge(seen, &one);
}

/* warn_ca_without_crl says which CAs of the CA file have no CRL in the CRL
 * file: every peer certificate such a CA signs is refused ("unable to get
 * certificate CRL", the peer told "unknown CA"), and a rotation that adds
 * the new CA before its CRL passed -n and started without a word (a
 * hostile tester). A root that signs only intermediates needs none. */
static void warn_ca_without_crl(const struct rv_tls_ctx *c, const char *path)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(c->ssl_ctx));

	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = store_ca(objs, i);
		bool has = false;
		char name[160];

		for (size_t j = 0; ca && !has && j < c->nkept; j++) {
			has = same_key(c->kept_signer[j], ca);
		}
		if (!ca || has) {
			continue;
		}
		X509_NAME_oneline(X509_get_subject_name(ca), name, sizeof(name));
		rv_warnx("CA %s of the CA file has no CRL in %s: every peer certificate it signs "
			 "is refused (\"unable to get certificate CRL\") until its CRL is added "
			 "(a root that signs only intermediate CAs needs none)",
			 name, path);
	}
	ERR_clear_error();
}

static int load_crl(struct rv_tls_ctx *c, const char *path, char *err, size_t err_len)
{
	X509_STORE *store = SSL_CTX_get_cert_store(c->ssl_ctx);
	struct rv_tls_expiry *ex = &c->expiry;
	char ebuf[256];
	X509_CRL *crl;
	FILE *f;
	unsigned begins;
	bool key;
	int ret = 0, n = 0;

	f = open_pem("CRL", path, err, err_len, &ret);
	if (!f) {
		return ret;
	}
	if (trust_file_refused(f, "CRL", path, err, err_len)) {
		ret = -EACCES;
		goto out;
	}
	begins = pem_scan(f, "X509 CRL", &key);
	if (key) {
		snprintf(err, err_len,
			 "CRL file %s holds a private key: refused (it goes to peers)", path);
		ret = -EINVAL;
		goto out;
	}
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		X509 *signer = signed_by_ca(store, crl);

		if (!signer) {
			char issuer[160];

			X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
			X509_CRL_free(crl);
			snprintf(err, err_len,
				 "CRL file %s: CRL %d (issuer %s) is not signed by the CA (ca): "
				 "another CA's CRL, or damaged",
				 path, n + 1, issuer);
			ret = -EINVAL;
			goto out;
		}
		ret = crl_kind_refused(store, crl, path, n + 1, err, err_len);
		if (ret) {
			X509_CRL_free(crl);
			goto out;
		}
		if (!akid_is(crl, signer)) {
			X509_CRL_free(crl);
			snprintf(err, err_len,
				 "CRL file %s: CRL %d names another key than the one that signed "
				 "it "
				 "(its authority key identifier): a signing tool's error, refused "
				 "(the handshake and the check of live sessions would choose "
				 "different CRLs)",
				 path, n + 1);
			ret = -EINVAL;
			goto out;
		}
		keep_earliest(&ex->crl_next_update, X509_CRL_get0_nextUpdate(crl));
		keep_latest(&ex->crl_last_update, X509_CRL_get0_lastUpdate(crl));
		note_crl_number(c->crl, crl, signer);
		trust_add(c->trust_crl, NULL, crl);
		if (!X509_STORE_add_crl(store, crl)) {
			X509_CRL_free(crl);
			snprintf(err, err_len, "CRL file %s: cannot add CRL: %s", path,
				 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
			ret = -EINVAL;
			goto out;
		}
		if (c->nkept < CRL_KEPT) {
			X509_up_ref(signer);
			c->kept_signer[c->nkept] = signer;
			c->kept[c->nkept++] = crl; /* the reference PEM_read gave */
		} else {
			X509_CRL_free(crl);
		}
		n++;
	}
	ret = pem_read_all("CRL", "CRL", path, (unsigned)n, begins, err, err_len);
	if (ret) {
		goto out;
	}
	if (n == 0 && begins > 0) {
		snprintf(err, err_len,
			 "CRL file %s: its first CRL block is damaged or cut short, or does not "
			 "start its line (%u BEGIN line(s) in it): refused",
			 path, begins);
		ret = -EINVAL;
		goto out;
	}
	if (n == 0) {
		snprintf(err, err_len,
			 "CRL file %s holds no PEM CRL it can read (expected "
			 "-----BEGIN X509 CRL----- at the start of a line; create it with "
			 "`ringvpn pki revoke`)",
			 path);
		ret = -EINVAL;
		goto out;
	}
	c->kept_all = (size_t)n <= CRL_KEPT;
	if (c->kept_all) {
		warn_ca_without_crl(c, path);
	}
	/* The leaf's CRL is required; a CA between the leaf and its root is
	 * checked against its issuer's CRL where one is loaded
	 * (rv_tls_chain_ca_revoked). */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
out:
	fclose(f);
	return ret;
}

/* usable_as_own checks this side's certificate before it is offered: valid
 * now, neither expired nor not yet valid (every peer would refuse it: a
 * certificate staged ahead of its start was taken, and then every client
 * refused), and made for its role (key usage and extended key usage: a
 * client certificate cannot serve, nor a server's be a client's). */
static int usable_as_own(X509 *x, enum rv_tls_role role, const char *path, char *err,
			 size_t err_len)
{
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		snprintf(err, err_len, "certificate file %s: the certificate has expired: renew it",
			 path);
		return -EINVAL;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		char when[32] = "later";
		int64_t t;

		if (rv_tls_unix_time(X509_get0_notBefore(x), &t)) {
			fmt_utc(t, when, sizeof(when));
		}
		/* Nothing retries by itself: the running certificate stays
		 * until the next start or reload. */
		snprintf(err, err_len,
			 "certificate file %s: the certificate is not valid before %s: start or "
			 "reload again from then on (or check this host's clock)",
			 path, when);
		return -EINVAL;
	}
	if (rv_tls_x509_cn(x, (char[RV_TLS_CN_MAX + 1]){ 0 }) != 0) {
		/* The peer refuses it (verify_name): said before that. */
		snprintf(err, err_len,
			 "certificate file %s: its common name cannot be an identity (one, of "
			 "1-%d printable ASCII characters, no spaces): issue one with `ringvpn "
			 "pki %s --name NAME`",
			 path, RV_TLS_CN_MAX, role == RV_TLS_SERVER ? "server" : "client");
		return -EINVAL;
	}
	if (X509_check_purpose(x,
			       role == RV_TLS_SERVER ? X509_PURPOSE_SSL_SERVER
						     : X509_PURPOSE_SSL_CLIENT,
			       0) != 1) {
		ERR_clear_error();
		snprintf(err, err_len,
			 "certificate file %s: the certificate is not one for a TLS %s (its key "
			 "usage): issue one with `ringvpn pki %s`",
			 path, role == RV_TLS_SERVER ? "server" : "client",
			 role == RV_TLS_SERVER ? "server" : "client");
		return -EINVAL;
	}
	return 0;
}

/* own_against_store checks this side's certificate |x| as its peers check
 * it, against this side's own CA and CRL (a deployment has one CA): one
 * its own CRL revokes is refused (every peer that checks the CRL refuses
 * it; it passed `-n` and started). Any other failure is only said: a
 * deployment may trust another CA for its peers than the one that issued
 * its own certificate. */
static int own_against_store(SSL_CTX *sc, X509 *x, enum rv_tls_role role, const char *path,
			     const char *crl_path, bool starting, char *err, size_t err_len)
{
	X509_STORE_CTX *vc = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = NULL;
	int ret = 0, e;

	if (vc == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	SSL_CTX_get0_chain_certs(sc, &chain);
	if (!X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(sc), x, chain) ||
	    !X509_STORE_CTX_set_purpose(vc, role == RV_TLS_SERVER ? X509_PURPOSE_SSL_SERVER
								  : X509_PURPOSE_SSL_CLIENT)) {
		ERR_clear_error();
		goto out; /* cannot tell: the handshakes will */
	}
	if (X509_verify_cert(vc) == 1) {
		goto out;
	}
	ERR_clear_error();
	e = X509_STORE_CTX_get_error(vc);
	if (e == X509_V_ERR_CERT_REVOKED && starting) {
		snprintf(err, err_len,
			 "certificate file %s: the certificate is revoked by the CRL %s: every "
			 "peer that checks it refuses it; issue a new one",
			 path, crl_path);
		ret = -EINVAL;
		goto out;
	}
	if (e == X509_V_ERR_CERT_REVOKED) {
		/* Running: the new CRL is taken all the same, or every
		 * revocation after this one would wait for the new
		 * certificate (a server key compromise: its certificate is
		 * revoked first, then clients). */
		rv_warnx("certificate file %s: the certificate is revoked by the CRL %s: every "
			 "peer that checks it refuses it; issue a new one (the CRL is applied)",
			 path, crl_path);
		goto out;
	}
	if (e == X509_V_ERR_CRL_NOT_YET_VALID || e == X509_V_ERR_CRL_HAS_EXPIRED) {
		goto out; /* the CRL's fault, not the certificate's: said of the CRL */
	}
	rv_warnx("certificate file %s: it does not verify against this side's ca (%s): a peer "
		 "that trusts only that CA refuses it",
		 path, X509_verify_cert_error_string(e));
out:
	X509_STORE_CTX_free(vc);
	return ret;
}

static int load_cert(SSL_CTX *sc, const char *path, int64_t *not_after, char *err, size_t err_len)
{
	char ebuf[256];
	X509 *x;
	FILE *f;
	int ret = 0;

	f = open_pem("certificate", path, err, err_len, &ret);
	if (!f) {
		return ret;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (!x) {
		snprintf(err, err_len, "certificate file %s holds no PEM certificate: %s", path,
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		ret = -EINVAL;
		goto out;
	}
	keep_earliest(not_after, X509_get0_notAfter(x));
	if (!SSL_CTX_use_certificate(sc, x)) {
		snprintf(err, err_len, "certificate file %s: unusable certificate: %s", path,
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		ret = -EINVAL;
		X509_free(x);
		goto out;
	}
	X509_free(x);
	/* Further certificates in the file are the chain (intermediates). */
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (!SSL_CTX_add1_chain_cert(sc, x)) {
			X509_free(x);
			snprintf(err, err_len, "certificate file %s: bad chain certificate", path);
			ret = -EINVAL;
			goto out;
		}
		X509_free(x);
	}
	ERR_clear_error();
out:
	fclose(f);
	return ret;
}

/* say_if_everyones: a key file every user may read or write is taken all
 * the same (the owner's choice), but said: anyone on the host could
 * impersonate this end. */
static void say_if_everyones(FILE *f, const char *path)
{
	struct stat st;

	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
		rv_warnx("key file %s is readable or writable by every user (mode %04o): chmod "
			 "600 it",
			 path, (unsigned)(st.st_mode & 07777));
	}
}

static int load_key(SSL_CTX *sc, const char *path, char *err, size_t err_len)
{
	char ebuf[256];
	char iobuf[4096]; /* stdio buffer: holds the key's PEM text, wiped below */
	EVP_PKEY *pk;
	FILE *f;
	int ret = 0;

	f = open_pem("private key", path, err, err_len, &ret);
	if (!f) {
		return ret;
	}
	say_if_everyones(f, path);
	/* With our own buffer the key text never sits in a heap block that
	 * fclose frees without wiping. BoringSSL cleanses its own copies. */
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	rv_memzero(iobuf, sizeof(iobuf));
	if (!pk) {
		snprintf(err, err_len, "key file %s holds no usable PEM private key: %s", path,
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		return -EINVAL;
	}
	if (!SSL_CTX_use_PrivateKey(sc, pk)) {
		snprintf(err, err_len,
			 "key file %s: key does not match the certificate (use the "
			 "key that was issued with it): %s",
			 path, rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		ret = -EINVAL;
	}
	EVP_PKEY_free(pk); /* the SSL_CTX holds its own reference */
	return ret;
}

int rv_tls_ctx_new(struct rv_tls_ctx **out, const struct rv_tls_ctx_params *p,
		   enum rv_tls_ctx_fail *out_fail, char *err, size_t err_len)
{
	struct rv_tls_ctx *c;
	char ebuf[256];
	int ret;

	*out = NULL;
	*out_fail = RV_TLS_FAIL_OTHER;
	err[0] = '\0';
	if (p->role == RV_TLS_CLIENT && (!p->server_name || !p->server_name[0])) {
		snprintf(err, err_len, "no server name to verify: set server_name");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	c->role = p->role;
	c->ssl_ctx = SSL_CTX_new(TLS_method());
	if (!c->ssl_ctx) {
		snprintf(err, err_len, "SSL_CTX_new: %s", rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		ret = -ENOMEM;
		goto err_free;
	}
	if (!SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(c->ssl_ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_verify_algorithm_prefs(c->ssl_ctx, sigalgs,
						sizeof(sigalgs) / sizeof(sigalgs[0]))) {
		snprintf(err, err_len, "TLS settings refused: %s",
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		ret = -EINVAL;
		goto err_free;
	}
	SSL_CTX_set_session_cache_mode(c->ssl_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_TICKET);

	ret = load_ca(c, p->ca_file, err, err_len);
	if (ret) {
		*out_fail = RV_TLS_FAIL_CA;
		goto err_free;
	}
	if (p->crl_file && p->crl_file[0]) {
		ret = load_crl(c, p->crl_file, err, err_len);
		c->expiry.have_crl = true;
		if (ret) {
			*out_fail = RV_TLS_FAIL_CRL;
			goto err_free;
		}
	}
	if (p->role == RV_TLS_CLIENT && (!p->cert_file || !p->cert_file[0])) {
		/* An anonymous client: only test tools build one, to check that
		 * the server refuses it. */
		goto no_cert;
	}
	ret = load_cert(c->ssl_ctx, p->cert_file, &c->expiry.cert_not_after, err, err_len);
	if (ret) {
		*out_fail = RV_TLS_FAIL_CERT;
		goto err_free;
	}
	ret = load_key(c->ssl_ctx, p->key_file, err, err_len);
	if (ret) {
		*out_fail = RV_TLS_FAIL_KEY;
		goto err_free;
	}
	{
		X509 *own = SSL_CTX_get0_certificate(c->ssl_ctx);
		unsigned len = 0;

		if (!own || !X509_digest(own, EVP_sha256(), c->own_id, &len)) {
			ERR_clear_error();
		}
	}
no_cert:

	if (p->role == RV_TLS_SERVER) {
		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   verify_name);
	} else {
		X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(c->ssl_ctx);

		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, verify_name);
		c->server_name = strdup(p->server_name);
		/* A server named by an IP address carries an IP SAN, which a host
		 * name check never matches. */
		if (!c->server_name ||
		    !(is_ip_literal(p->server_name)
			      ? X509_VERIFY_PARAM_set1_ip_asc(vp, p->server_name)
			      : X509_VERIFY_PARAM_set1_host(vp, p->server_name,
							    strlen(p->server_name)))) {
			snprintf(err, err_len, "cannot set expected server name '%s'",
				 p->server_name);
			ret = -EINVAL;
			goto err_free;
		}
	}
	*out = c;
	*out_fail = RV_TLS_FAIL_NONE;
	return 0;

err_free:
	rv_tls_ctx_free(c);
	return ret;
}

/* copy_crls gives |n| (built without a CRL) the CRLs of |cur|, as they
 * are in force there. */
static int copy_crls(struct rv_tls_ctx *n, const struct rv_tls_ctx *cur)
{
	X509_STORE *dst = SSL_CTX_get_cert_store(n->ssl_ctx);

	if (cur->expiry.have_crl && !cur->kept_all) {
		return -E2BIG;
	}
	for (size_t i = 0; i < cur->nkept; i++) {
		if (!X509_STORE_add_crl(dst, cur->kept[i])) {
			ERR_clear_error();
			return -ENOMEM;
		}
		X509_CRL_up_ref(cur->kept[i]);
		X509_up_ref(cur->kept_signer[i]);
		n->kept_signer[n->nkept] = cur->kept_signer[i];
		n->kept[n->nkept++] = cur->kept[i];
		trust_add(n->trust_crl, NULL, cur->kept[i]);
	}
	n->kept_all = cur->kept_all;
	if (cur->expiry.have_crl) {
		X509_STORE_set_flags(dst, X509_V_FLAG_CRL_CHECK);
	}
	n->expiry.have_crl = cur->expiry.have_crl;
	n->expiry.crl_next_update = cur->expiry.crl_next_update;
	n->expiry.crl_last_update = cur->expiry.crl_last_update;
	memcpy(n->crl, cur->crl, sizeof(n->crl));
	return 0;
}

int rv_tls_ctx_from_config(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
			   enum rv_tls_ctx_fail *out_fail, char *err, size_t err_len)
{
	return rv_tls_ctx_from_config_crl(out, cfg, starting, NULL, out_fail, err, err_len);
}

int rv_tls_ctx_from_config_crl(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
			       const struct rv_tls_ctx *keep_crl, enum rv_tls_ctx_fail *out_fail,
			       char *err, size_t err_len)
{
	struct rv_tls_ctx_params p = {
		.role = cfg->role == RV_CONFIG_SERVER ? RV_TLS_SERVER : RV_TLS_CLIENT,
		.ca_file = cfg->ca,
		.cert_file = cfg->cert,
		.key_file = cfg->key,
		.crl_file = keep_crl != NULL ? NULL : cfg->crl,
		.server_name = cfg->server_name[0] ? cfg->server_name : cfg->server_host,
	};

	X509 *own;
	int ret;

	ret = rv_tls_ctx_new(out, &p, out_fail, err, err_len);
	if (ret == 0 && keep_crl != NULL && (ret = copy_crls(*out, keep_crl)) != 0) {
		rv_tls_ctx_free(*out);
		*out = NULL;
		*out_fail = RV_TLS_FAIL_OTHER;
		snprintf(err, err_len, "%s",
			 ret == -E2BIG ? "the running CRL file holds too many CRLs to keep"
				       : "out of memory");
	}
	if (ret) {
		return ret;
	}
	/* What the product runs with is checked before it is offered (test
	 * tools build contexts with unusable certificates on purpose, through
	 * rv_tls_ctx_new). */
	own = SSL_CTX_get0_certificate((*out)->ssl_ctx);
	ret = own ? usable_as_own(own, p.role, p.cert_file, err, err_len) : 0;
	if (ret == 0 && own != NULL) {
		ret = own_against_store((*out)->ssl_ctx, own, p.role, p.cert_file,
					p.crl_file != NULL && p.crl_file[0] ? p.crl_file : NULL,
					starting, err, err_len);
	}
	if (ret) {
		rv_tls_ctx_free(*out);
		*out = NULL;
		*out_fail = RV_TLS_FAIL_CERT;
		return ret;
	}
	/* Said, and started all the same, as with an expired CRL: it refused
	 * the start (exit 4), so a restart meanwhile (a crash, an upgrade)
	 * kept the service down until the CRL's time came, which may be days
	 * (a round-three tester). It is in force from then on by itself. */
	if (starting && rv_tls_crl_not_yet_valid(*out, p.crl_file, err, err_len)) {
		rv_warnx("%s", err);
		err[0] = '\0';
	}
	return 0;
}

int64_t rv_tls_crl_not_yet_valid(const struct rv_tls_ctx *c, const char *path, char *err,
				 size_t err_len)
{
	int64_t now = (int64_t)time(NULL), from = c->expiry.crl_last_update;
	char when[32] = "later";

	if (!c->expiry.have_crl || from <= now) {
		return 0;
	}
	fmt_utc(from, when, sizeof(when));
	/* Every peer would be refused until then ("CRL is not yet valid"):
	 * the CA's host signed it with a clock ahead of this one's. */
	snprintf(err, err_len,
		 "CRL file %s: not valid until %s (in %lld s): the clock of the host that "
		 "signed it runs ahead of this one's (or this one's behind); every peer "
		 "would be refused until then",
		 path, when, (long long)(from - now));
	return from;
}

/* number_str: a big-endian number in decimal (OPENSSL_free it). */
static char *number_str(const uint8_t *num, size_t len)
{
	BIGNUM *bn = BN_bin2bn(num, len, NULL);
	char *dec = bn ? BN_bn2dec(bn) : NULL;

	BN_free(bn);
	ERR_clear_error();
	return dec;
}

/* seen_of: |ctx|'s record of the signer |signer|, or NULL. */
static const struct crl_seen *seen_of(const struct rv_tls_ctx *ctx, const uint8_t *signer)
{
	for (size_t i = 0; i < CRL_SEEN && ctx->crl[i].have; i++) {
		if (memcmp(ctx->crl[i].signer, signer, sizeof(ctx->crl[i].signer)) == 0) {
			return &ctx->crl[i];
		}
	}
	return NULL;
}

bool rv_tls_ctx_crl_older(const struct rv_tls_ctx *n, const struct rv_tls_ctx *cur, char *why,
			  size_t why_len)
{
	for (size_t i = 0; n && cur && i < CRL_SEEN && n->crl[i].have; i++) {
		const struct crl_seen *a = &n->crl[i], *b = seen_of(cur, a->signer);
		char at_a[32], at_b[32];

		if (!b) {
			continue;
		}
		if (a->numbered && b->numbered) {
			if (memcmp(a->number, b->number, sizeof(a->number)) < 0) {
				char *na = number_str(a->number, sizeof(a->number));
				char *nb = number_str(b->number, sizeof(b->number));

				snprintf(why, why_len,
					 "its number %s is below the running CRL's %s",
					 na ? na : "?", nb ? nb : "?");
				OPENSSL_free(na);
				OPENSSL_free(nb);
				return true;
			}
			continue;
		}
		if (a->this_update < b->this_update) {
			fmt_utc(a->this_update, at_a, sizeof(at_a));
			fmt_utc(b->this_update, at_b, sizeof(at_b));
			snprintf(why, why_len,
				 "it was issued at %s, before the running CRL (%s), and a number "
				 "(cRLNumber of up to 64 bits) is missing from %s to tell them "
				 "apart",
				 at_a, at_b, a->numbered ? "the running one" : "it");
			return true;
		}
	}
	return false;
}

void rv_tls_ctx_crl_carry(struct rv_tls_ctx *n, const struct rv_tls_ctx *cur)
{
	/* A signer the new file no longer has is remembered too: its CRL may
	 * come back, older. */
	for (size_t j = 0; n && cur && j < CRL_SEEN && cur->crl[j].have; j++) {
		seen_merge(n->crl, &cur->crl[j]);
	}
}

void rv_tls_ctx_free(struct rv_tls_ctx *ctx)
{
	if (!ctx) {
		return;
	}
	SSL_CTX_free(ctx->ssl_ctx);
	for (size_t i = 0; i < ctx->nkept; i++) {
		X509_CRL_free(ctx->kept[i]);
		X509_free(ctx->kept_signer[i]);
	}
	free(ctx->server_name);
	free(ctx);
}

void rv_tls_ctx_own_id(const struct rv_tls_ctx *ctx, uint8_t out[32])
{
	memcpy(out, ctx->own_id, sizeof(ctx->own_id));
}

void rv_tls_ctx_expiry(const struct rv_tls_ctx *ctx, struct rv_tls_expiry *out)
{
	int64_t now = (int64_t)time(NULL), next = 0, last = 0, lapsed = 0;

	*out = ctx->expiry;
	for (size_t i = 0; i < ctx->n_ca_ends; i++) {
		int64_t t = ctx->ca_ends[i];

		if (t > now && (next == 0 || t < next)) {
			next = t;
		}
		if (t <= now && t > lapsed) {
			lapsed = t;
		}
		last = t > last ? t : last;
	}
	out->ca_not_after = next ? next : last;
	out->ca_lapsed_at = next ? lapsed : 0;
}

enum rv_tls_role rv_tls_ctx_role(const struct rv_tls_ctx *ctx)
{
	return ctx->role;
}

SSL_CTX *rv_tls_ctx_ssl(struct rv_tls_ctx *ctx)
{
	return ctx->ssl_ctx;
}

const char *rv_tls_ctx_server_name(const struct rv_tls_ctx *ctx)
{
	return ctx->server_name;
}
