/*
 * ctx.c — SSL_CTX construction for the control plane (see ctx.h): the CA
 * file, this end's certificate and key, the verification of peers. The
 * CRLs are crl.c's, the reading of PEM files pem.c's: every input file is
 * first opened there so that a missing or unreadable file is reported with
 * its errno and name, before BoringSSL's less specific parse errors can
 * hide the cause.
 */
#include "tls/ctx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <openssl/ec.h>
#include <openssl/ec_key.h>
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
#include "crypto/x509path.h"
#include "tls/crl.h"
#include "tls/internal.h"
#include "tls/pem.h"

enum { CA_ENDS = 64 };

struct rv_tls_ctx {
	SSL_CTX *ssl_ctx;
	enum rv_tls_role role;
	char *server_name;
	bool server_name_ip; /* an IP address: checked so, never sent as SNI */
	struct rv_tls_expiry expiry;
	struct rv_tls_crls crls;  /* if expiry.have_crl */
	int64_t ca_ends[CA_ENDS]; /* the CA certificates' ends (the first CA_ENDS) */
	size_t n_ca_ends;
	/* What peers are verified against: the CA certificates added, in
	 * order, chained into a SHA-256 (rv_tls_ctx_same_ca); the CRLs' is
	 * crls.trust. */
	uint8_t trust_ca[SHA256_DIGEST_LENGTH];
	uint8_t own_id[SHA256_DIGEST_LENGTH]; /* SHA-256 of this end's certificate */
	/* SHA-256 of the chain sent with it (the digests of its certificates
	 * in order): a reload that appended the CA to the certificate file
	 * said "certificate and key unchanged" (round-twenty-seven tester 131) */
	uint8_t chain_id[SHA256_DIGEST_LENGTH];
	bool key_kept; /* the key file was unreadable: the running context's key */
	bool own_kept; /* the running context's certificate and key (own_from) */
	/* The files this end's certificate and key were read from, as they
	 * were then (kept ones carry their sources'): a reload that cannot
	 * open a file tells an unchanged one from a renewal by it. */
	struct file_src {
		uint64_t dev, ino, size;
		int64_t mtime_ns; /* not ctime: a chmod leaves the contents */
		int64_t btime_ns; /* its birth (statx), 0 unknown: src_file_is */
		bool set;
	} cert_src, key_src, ca_src, crl_src;
	bool own_unchanged; /* own_kept, and both files are still their sources */
	/* The CA file or CRL file could not be opened and had not changed:
	 * the running context's CA certificates, or CRLs, stand in. */
	bool ca_kept, crl_kept;
	/* What own_against_store said of this end's certificate while running
	 * (rv_tls_ctx_own_warning): a reload's reply carries it. */
	char own_warning[2 * PATH_MAX + 512];
};

/* A value that cannot be encoded (out of memory) is chained as such, which
 * only makes two contexts compare unequal. */
void rv_tls_trust_add(uint8_t *trust, X509 *x, X509_CRL *crl)
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

bool rv_tls_same_key(X509 *a, X509 *b)
{
	return rv_x509_same_key(a, b);
}

bool rv_tls_ctx_same_crl(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b)
{
	return a->expiry.have_crl == b->expiry.have_crl &&
	       memcmp(a->crls.trust, b->crls.trust, sizeof(a->crls.trust)) == 0;
}

bool rv_tls_ctx_same_trust(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b)
{
	return rv_tls_ctx_same_ca(a, b) && rv_tls_ctx_same_crl(a, b);
}

bool rv_tls_ctx_same_own(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b)
{
	return memcmp(a->own_id, b->own_id, sizeof(a->own_id)) == 0 &&
	       memcmp(a->chain_id, b->chain_id, sizeof(a->chain_id)) == 0;
}

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

void rv_tls_keep_earliest(int64_t *cur, const ASN1_TIME *t)
{
	int64_t v;

	if (rv_tls_unix_time(t, &v) && (*cur == 0 || v < *cur)) {
		*cur = v;
	}
}

void rv_tls_fmt_utc(int64_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&(time_t){ t }, &tm)) {
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
}

void rv_tls_self_group(char *buf, size_t len)
{
	char tmp[1024];
	struct group gr, *g = NULL;
	gid_t gid = getegid();

	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &g) == 0 && g) {
		snprintf(buf, len, "%s", g->gr_name);
	} else {
		snprintf(buf, len, "%u", (unsigned)gid);
	}
}

/* verify_name refuses, inside the handshake, a peer certificate whose
 * common name cannot be an identity: the peer gets an alert and can say why
 * (checked after the handshake, the server only closed the connection and
 * the client took it for a network failure). */
/* peer_xku: the use a peer's certificate is verified for: a server
 * verifies clients. */
static uint32_t peer_xku(X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());

	return ssl && SSL_is_server(ssl) ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
}

static int verify_name(int ok, X509_STORE_CTX *xs)
{
	char cn[RV_TLS_CN_MAX + 1];
	X509 *revoked_ca, *unfit, *serial_odd;
	const char *serial_why;
	long why;

	if (ok != 1 && rv_x509_no_issuer(X509_STORE_CTX_get_error(xs))) {
		rv_tls_conn_note_no_issuer(xs);
	}
	/* The verifier judges the CRL (revoked, lapsed, not valid yet) and
	 * the CAs' dates before the leaf's signature: a certificate forged
	 * with the CA's name, signed by any key, was refused as revoked or
	 * expired, counted so and said under the name it chose, which spent
	 * the first-line budget of genuine refusals (round-thirty-three
	 * testers 173, 174, 176). Its signature first. */
	if (ok != 1 && !rv_x509_no_issuer(X509_STORE_CTX_get_error(xs)) &&
	    X509_STORE_CTX_get_error(xs) != X509_V_ERR_CERT_SIGNATURE_FAILURE &&
	    !rv_x509_leaf_signed(xs)) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_SIGNATURE_FAILURE);
		rv_tls_conn_note_refused(xs, X509_STORE_CTX_get0_cert(xs)); /* the leaf's */
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(xs) != 0) {
		/* A CA of the chain (expired, not yet valid): named, as the
		 * leaf's CA (nothing was said of it: tester 145). */
		if (ok != 1 && !rv_x509_no_issuer(X509_STORE_CTX_get_error(xs))) {
			rv_tls_conn_note_refused(xs, X509_STORE_CTX_get_current_cert(xs));
		} else if (ok != 1) {
			/* The CA without an issuer is named by the note of
			 * it (conn.c); the leaf was not, nor whose it was
			 * (round-thirty-six tester 184). */
			rv_tls_conn_note_refused(xs, X509_STORE_CTX_get0_cert(xs));
		}
		return ok;
	}
	if (ok != 1) {
		rv_tls_conn_note_refused(xs, NULL);
		return ok;
	}
	if (rv_tls_x509_cn(X509_STORE_CTX_get_current_cert(xs), cn) != 0) {
		rv_tls_conn_note_refused(xs, NULL);
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	/* X509_V_FLAG_CRL_CHECK looks at the leaf only; CRL_CHECK_ALL would
	 * also ask every root for a CRL of its own. */
	revoked_ca = rv_x509_chain_ca_revoked(xs);
	if (revoked_ca) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REVOKED);
		rv_tls_conn_note_refused(xs, revoked_ca);
		return 0;
	}
	/* A serial no CA's revoked.txt can list (zero, negative, longer than
	 * 20 octets: made by another tool): the deployment could never revoke
	 * that certificate, and it got in (round-seventy tester 322); nor an
	 * intermediate of one, whose leaves got in again once the next `pki
	 * crl` left its revocation out (tester 324). A revoked one is said as
	 * revoked, above. */
	serial_odd = rv_x509_chain_serial_unfit(X509_STORE_CTX_get0_chain(xs), &serial_why);
	if (serial_odd) {
		char words[200];
		bool leaf = serial_odd == X509_STORE_CTX_get0_cert(xs);

		snprintf(words, sizeof(words), "%s serial number is %s" RV_X509_SERIAL_RULE,
			 leaf ? "its" : "its CA's", serial_why);
		rv_tls_conn_note_why(xs, words);
		rv_tls_conn_note_refused(xs, leaf ? NULL : serial_odd);
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	unfit = rv_x509_chain_ca_unfit(X509_STORE_CTX_get0_chain(xs), peer_xku(xs), &why);
	if (unfit) {
		X509_STORE_CTX_set_error(xs, why);
		rv_tls_conn_note_refused(xs, unfit);
		return 0;
	}
	return 1;
}

/* verify_from_ca_file verifies a peer's certificate with a chain built
 * from the CA file alone. The certificates a peer sends after its own are
 * not taken as CAs: a client certificate carrying CA:TRUE (which other
 * tools issue) signed a leaf of any name and logged in as it, while `pki
 * verify` refused the same chain (round-fifteen tester 72). Every CA
 * between a leaf and its root is named in the CA file, as for `pki
 * verify` and the re-verification of live sessions (rv_tls_conn_reverify). */
static int verify_from_ca_file(X509_STORE_CTX *xs, void *arg)
{
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xs);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	size_t extra = 0;

	(void)arg;
	for (size_t i = 0; sent && i < sk_X509_num(sent); i++) {
		extra += leaf == NULL || X509_cmp(sk_X509_value(sent, i), leaf) != 0;
	}
	rv_tls_conn_note_sent_cas(xs, extra);
	X509_STORE_CTX_set_chain(xs, NULL);
	return X509_verify_cert(xs);
}

/* A fully qualified name's final dot is no part of the name a certificate
 * holds (RFC 6125), nor of SNI: `server_name = vpn.test.` passed -n and then
 * never matched (round-fifty-five tester 233). */
const char *rv_tls_name_undotted(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (n < 2 || name[n - 1] != '.' || n > len) {
		return name;
	}
	memcpy(buf, name, n - 1);
	buf[n - 1] = '\0';
	return buf;
}

int rv_tls_expect_name(X509_VERIFY_PARAM *vp, const char *name, bool *is_ip)
{
	char bare[INET6_ADDRSTRLEN];
	const char *pct = strchr(name, '%');
	struct in6_addr a6;
	struct in_addr a4;

	/* A scoped IPv6 address (fe80::1%eth0, the default name of a server
	 * reached so) is checked without its scope, which no certificate
	 * carries: as a host name it never matched (round-sixteen tester
	 * 76). */
	if (pct != NULL && (size_t)(pct - name) < sizeof(bare)) {
		memcpy(bare, name, (size_t)(pct - name));
		bare[pct - name] = '\0';
		if (inet_pton(AF_INET6, bare, &a6) == 1) {
			name = bare;
		}
	}
	/* A server named by an IP address carries an IP SAN, which a host
	 * name check never matches. */
	*is_ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
	if (*is_ip) {
		return X509_VERIFY_PARAM_set1_ip_asc(vp, name);
	}
	return X509_VERIFY_PARAM_set1_host(vp, name, strlen(name));
}

/* The keys these take are rv_x509_signs_tls13's (crypto/x509path.c): the
 * two change together. */
static const uint16_t sigalgs[] = {
	SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA256,
	SSL_SIGN_ECDSA_SECP384R1_SHA384, SSL_SIGN_RSA_PSS_RSAE_SHA384,
	SSL_SIGN_RSA_PSS_RSAE_SHA512,
};

/* say_ca_out_of_dates says a CA of the CA file that is expired or not
 * valid yet: every peer certificate it issued is refused, and status's
 * CA end is the next one to come (an expired intermediate passed -n and
 * the start without a word, and its clients were told to compare clocks:
 * round-fifteen tester 73). */
static void say_ca_out_of_dates(X509 *x, const char *path)
{
	bool expired = X509_cmp_current_time(X509_get0_notAfter(x)) <= 0;
	int64_t t = 0;
	char name[160], when[32] = "?";
	struct tm tm;

	rv_tls_name_oneline(X509_get_subject_name(x), name, sizeof(name));
	if (rv_tls_unix_time(expired ? X509_get0_notAfter(x) : X509_get0_notBefore(x), &t) &&
	    gmtime_r(&(time_t){ (time_t)t }, &tm)) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	ERR_clear_error();
	rv_warnx("CA file %s: CA %s %s %s: every peer certificate it issued is refused%s", path,
		 name, expired ? "expired on" : "is not valid before", when,
		 expired ? " (renew it, or take it out)" : " until then");
}

static bool src_is(const struct file_src *src, const char *path);
static bool src_file_is(const struct file_src *src, const char *path);
static void take_src(struct file_src *src, const struct stat *st);
static void take_src_fd(struct file_src *src, int fd, const struct stat *st);
static int64_t birth_ns(int dirfd, const char *path, int flags, const struct stat *of);
static bool born_same(const struct file_src *src, const char *path);
static int copy_crls(struct rv_tls_ctx *n, const struct rv_tls_ctx *cur);

/* way_unsearchable: is a directory on the way to |path| one this process
 * may not search? The file's own mode is not the matter then. */
static bool way_unsearchable(const char *path)
{
	struct stat st;

	return stat(path, &st) != 0 && errno == EACCES;
}

/* src_unknown: can whether |path| is still the file |src| was taken of not
 * be told, a directory on its way unsearchable to this process? Said so:
 * "it has changed" and a chmod of the file sent the operator the wrong way
 * (a tester). */
static bool src_unknown(const struct file_src *src, const char *path)
{
	return src->set && way_unsearchable(path);
}

static const char unknown_why[] =
	"whether it changed since it was read cannot be told: a directory on its way "
	"cannot be searched by this process (make it searchable by the service's user)";

/* keep_ca gives |c| the CA certificates of |running| in place of the file
 * at |path|, which this process may no longer open (|why|: -EACCES or
 * -EPERM), where the file has not changed since they were read from it: a
 * root-only CA file read at the start refused every later reload, and a
 * new CRL with it, so a revoked client kept its session (a tester). */
static int keep_ca(struct rv_tls_ctx *c, const struct rv_tls_ctx *running, const char *path,
		   int why, char *err, size_t err_len)
{
	X509_STORE *to = SSL_CTX_get_cert_store(c->ssl_ctx);
	STACK_OF(X509_OBJECT) *objs =
		X509_STORE_get0_objects(SSL_CTX_get_cert_store(running->ssl_ctx));

	if (src_unknown(&running->ca_src, path)) {
		snprintf(err, err_len, "cannot open CA file %s: %s, and %s", path, strerror(-why),
			 unknown_why);
		return why;
	}
	if (!src_is(&running->ca_src, path)) {
		/* Another path, or a file put in its place, said as such, as
		 * for the key (it "has changed": round-seventy-one tester 328). */
		snprintf(err, err_len,
			 "cannot open CA file %s: %s, and %s: make it readable by the service's "
			 "user (chmod 0644 %s)",
			 path, strerror(-why),
			 src_file_is(&running->ca_src, path)
				 ? "it has changed since the running CA certificates were read "
				   "from it"
				 : "it is not the file the running CA certificates were read from "
				   "(another path, or a file put in its place)",
			 path);
		return why;
	}
	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
		X509 *x = X509_OBJECT_get_type(o) == X509_LU_X509 ? X509_OBJECT_get0_X509(o) : NULL;

		if (x && !X509_STORE_add_cert(to, x)) {
			ERR_clear_error();
			snprintf(err, err_len, "the running CA certificates cannot be kept");
			return -ENOMEM;
		}
	}
	memcpy(c->trust_ca, running->trust_ca, sizeof(c->trust_ca));
	memcpy(c->ca_ends, running->ca_ends, sizeof(c->ca_ends));
	c->n_ca_ends = running->n_ca_ends;
	c->ca_src = running->ca_src;
	c->ca_kept = true;
	return 0;
}

static int load_ca(struct rv_tls_ctx *c, const struct rv_tls_ctx *running, const char *path,
		   char *err, size_t err_len)
{
	struct stat st;
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

	f = rv_tls_pem_open("CA certificate", path, err, err_len, &ret);
	if (!f && running && (ret == -EACCES || ret == -EPERM)) {
		return keep_ca(c, running, path, ret, err, err_len);
	}
	if (!f) {
		return ret;
	}
	if (fstat(fileno(f), &st) == 0) {
		take_src_fd(&c->ca_src, fileno(f), &st);
	}
	if (rv_tls_pem_trust_refused(f, "CA", path, err, err_len)) {
		ret = -EACCES;
		goto out;
	}
	begins = rv_tls_pem_scan(f, "CERTIFICATE", &key);
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

			rv_tls_name_oneline(X509_get_subject_name(x), subject, sizeof(subject));
			X509_free(x);
			snprintf(err, err_len,
				 "CA file %s: certificate %d (%s) is not a CA certificate (use the "
				 "CA's ca.crt)",
				 path, n + 1, subject);
			ret = -EINVAL;
			goto out;
		}
		rv_tls_trust_add(trust, x, NULL);
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
		if (rv_x509_outdone_copy(all, i)) {
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
		if (!rv_x509_valid_now(x)) {
			say_ca_out_of_dates(x, path);
		}
	}
	ret = rv_tls_pem_read_all("CA", "certificate", path, (unsigned)n, begins, err, err_len);
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

/* usable_as_own checks this side's certificate before it is offered: valid
 * now, neither expired nor not yet valid (every peer would refuse it: a
 * certificate staged ahead of its start was taken, and then every client
 * refused), and made for its role (key usage and extended key usage: a
 * client certificate cannot serve, nor a server's be a client's), with a
 * serial number its peers take (rv_x509_serial_unfit). */
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
			rv_tls_fmt_utc(t, when, sizeof(when));
		}
		/* A running process looks again then (reload.c,
		 * rv_tls_cert_not_before). */
		snprintf(err, err_len,
			 "certificate file %s: the certificate is not valid before %s: a start "
			 "refuses it until then, a running process takes it then (or check this "
			 "host's clock)",
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
	if (rv_x509_serial_unfit(x)) {
		/* Every peer refuses it (verify_name). */
		snprintf(err, err_len,
			 "certificate file %s: its serial number is %s" RV_X509_SERIAL_RULE
			 ", and every peer refuses it: issue one with `ringvpn pki %s`",
			 path, rv_x509_serial_unfit(x),
			 role == RV_TLS_SERVER ? "server" : "client");
		return -EINVAL;
	}
	if (X509_check_purpose(x,
			       role == RV_TLS_SERVER ? X509_PURPOSE_SSL_SERVER
						     : X509_PURPOSE_SSL_CLIENT,
			       0) != 1) {
		ERR_clear_error();
		/* Its extended key usage named when that is the cause (a
		 * client certificate of serverAuth was said to be refused for
		 * its key usage: round-sixty-seven tester 287). */
		snprintf(err, err_len,
			 "certificate file %s: the certificate is not one for a TLS %s (its %s): "
			 "issue one with `ringvpn pki %s`",
			 path, role == RV_TLS_SERVER ? "server" : "client",
			 rv_x509_use_part(x,
					  role == RV_TLS_SERVER ? XKU_SSL_SERVER : XKU_SSL_CLIENT),
			 role == RV_TLS_SERVER ? "server" : "client");
		return -EINVAL;
	}
	if (!rv_x509_signs_tls13(x)) {
		/* Every handshake failed for want of a signature algorithm in
		 * common, after `-n` said OK, and the client took it for the
		 * server's refusal (a round-five tester). */
		snprintf(err, err_len,
			 "certificate file %s: its key cannot sign a ringvpn handshake (ECDSA on "
			 "P-256 or P-384, or RSA of 522 bits or more, are taken; not Ed25519, "
			 "P-521 or others): issue one with `ringvpn pki %s`",
			 path, role == RV_TLS_SERVER ? "server" : "client");
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
static int own_against_store(struct rv_tls_ctx *c, X509 *x, const char *what, const char *crl_path,
			     bool starting, char *err, size_t err_len)
{
	SSL_CTX *sc = c->ssl_ctx;
	enum rv_tls_role role = c->role;
	X509_STORE_CTX *vc = X509_STORE_CTX_new();
	char whose[200] = "the certificate is", ca[184], detail[320] = "";
	uint32_t xku = role == RV_TLS_SERVER ? XKU_SSL_SERVER : XKU_SSL_CLIENT;
	X509 *revoked_ca, *unfit, *odd;
	const char *serial_why;
	int ret = 0, e;
	long why;

	if (vc == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	/* As a peer builds the chain: from its CA file alone, not from the
	 * intermediates this side sends (verify_from_ca_file). */
	if (!X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(sc), x, NULL) ||
	    !X509_STORE_CTX_set_purpose(vc, role == RV_TLS_SERVER ? X509_PURPOSE_SSL_SERVER
								  : X509_PURPOSE_SSL_CLIENT)) {
		ERR_clear_error();
		goto out; /* cannot tell: the handshakes will */
	}
	if (X509_verify_cert(vc) == 1) {
		/* A CA of its chain revoked, as the handshake checks it
		 * (verify_name): -n said OK, and every peer refused it
		 * (round-twenty-nine tester 146). */
		revoked_ca = rv_x509_chain_ca_revoked(vc);
		if (revoked_ca != NULL) {
			rv_tls_name_oneline(X509_get_subject_name(revoked_ca), ca, sizeof(ca));
			snprintf(whose, sizeof(whose), "its CA %s is", ca);
			e = X509_V_ERR_CERT_REVOKED;
		} else if ((unfit = rv_x509_chain_ca_unfit(X509_STORE_CTX_get0_chain(vc), xku,
							   &why)) != NULL) {
			/* A CA's path length limit or extended key usage, as
			 * the handshake checks them: -n said OK, and every
			 * peer refused it (round-thirty-two tester 164). The
			 * CA named, and what of it (tester 292). */
			rv_tls_name_oneline(X509_get_subject_name(unfit), ca, sizeof(ca));
			snprintf(detail, sizeof(detail), "its CA %s: %s", ca,
				 rv_x509_unfit_why(why, xku));
			e = (int)why;
		} else if ((odd = rv_x509_chain_serial_unfit(X509_STORE_CTX_get0_chain(vc),
							     &serial_why)) != NULL &&
			   odd != x) {
			/* An intermediate's serial, as the handshake checks
			 * it (the leaf's is usable_as_own's): -n said OK, and
			 * every peer refused it (round-seventy tester 324). */
			rv_tls_name_oneline(X509_get_subject_name(odd), ca, sizeof(ca));
			snprintf(detail, sizeof(detail),
				 "its CA %s: its serial number is %s" RV_X509_SERIAL_RULE, ca,
				 serial_why);
			e = X509_V_ERR_APPLICATION_VERIFICATION;
		} else {
			goto out;
		}
	} else {
		ERR_clear_error();
		e = X509_STORE_CTX_get_error(vc);
	}
	if (e == X509_V_ERR_CERT_REVOKED && starting) {
		snprintf(err, err_len,
			 "%s: %s revoked by the CRL %s: every peer that checks it "
			 "refuses it; issue a new one",
			 what, whose, crl_path);
		ret = -EINVAL;
		goto out;
	}
	if (e == X509_V_ERR_CERT_REVOKED) {
		/* Running: the new CRL is taken all the same, or every
		 * revocation after this one would wait for the new
		 * certificate (a server key compromise: its certificate is
		 * revoked first, then clients). */
		snprintf(c->own_warning, sizeof(c->own_warning),
			 "%s: %s revoked by the CRL %s: every peer that checks it refuses it, and "
			 "a start refuses it (exit 4); issue a new one (the CRL is applied)",
			 what, whose, crl_path);
		goto out;
	}
	if (e == X509_V_ERR_CRL_NOT_YET_VALID || e == X509_V_ERR_CRL_HAS_EXPIRED) {
		goto out; /* the CRL's fault, not the certificate's: said of the CRL */
	}
	if (c->own_kept &&
	    (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)) {
		goto out; /* a kept certificate's dates are said on their own (reload.c) */
	}
	{
		STACK_OF(X509) *chain = NULL;
		bool sends = SSL_CTX_get0_chain_certs(sc, &chain) && sk_X509_num(chain) > 0;
		bool no_issuer = rv_x509_no_issuer(e);

		/* The certificates after it in its file are sent, but no
		 * ringvpn peer takes them as CAs (verify_from_ca_file): said
		 * where the intermediate must go (round-fifteen tester 73). */
		snprintf(c->own_warning, sizeof(c->own_warning),
			 "%s: it does not verify against this side's ca (%s): a peer that trusts "
			 "only that CA refuses it%s",
			 what, detail[0] ? detail : X509_verify_cert_error_string(e),
			 sends && no_issuer ? "; the certificates after it in its file are sent, "
					      "but a ringvpn peer builds the chain from its own ca "
					      "file alone: list the intermediate CA there"
					    : "");
	}
	if (starting) {
		rv_warnx("%s", c->own_warning); /* a reload says it in its reply */
	}
out:
	X509_STORE_CTX_free(vc);
	return ret;
}

static void take_src(struct file_src *src, const struct stat *st)
{
	*src = (struct file_src){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		.set = true,
	};
}

/* take_src_fd: take_src of the file open as |fd|, its birth time too. */
static void take_src_fd(struct file_src *src, int fd, const struct stat *st)
{
	take_src(src, st);
	src->btime_ns = birth_ns(fd, "", AT_EMPTY_PATH, NULL);
}

/* src_is: is |path| (through links) the file |src| was taken of,
 * unchanged? Only its directory need be searchable, not the file readable. */
static bool src_is(const struct file_src *src, const char *path)
{
	struct stat st;
	struct file_src now;

	if (!src->set || stat(path, &st) != 0) {
		return false;
	}
	take_src(&now, &st);
	if (now.dev != src->dev || now.ino != src->ino || now.size != src->size ||
	    now.mtime_ns != src->mtime_ns) {
		return false;
	}
	/* Another file born at its inode number with its size and mtime (a
	 * key of the same length put in place with its timestamps kept, or
	 * within the second on a file system of whole seconds) was taken for
	 * it unchanged, and the next start failed on it (round-seventy-one
	 * tester 328). */
	return born_same(src, path);
}

/* birth_ns: the birth time of |path| from |dirfd| (statx |flags|), 0 where
 * the file system keeps none, or where |of| is given and |path| is another
 * file than it by now. */
static int64_t birth_ns(int dirfd, const char *path, int flags, const struct stat *of)
{
	struct statx sx;

	if (statx(dirfd, path, flags, STATX_INO | STATX_BTIME, &sx) != 0 ||
	    !(sx.stx_mask & STATX_BTIME) ||
	    (of != NULL && (sx.stx_ino != (uint64_t)of->st_ino ||
			    makedev(sx.stx_dev_major, sx.stx_dev_minor) != (dev_t)of->st_dev))) {
		return 0;
	}
	return (int64_t)sx.stx_btime.tv_sec * 1000000000 + sx.stx_btime.tv_nsec;
}

/* born_same: was |path| born when |src|'s file was (or is that not known)?
 * A file born since at the same inode number is another. */
static bool born_same(const struct file_src *src, const char *path)
{
	int64_t born = src->btime_ns ? birth_ns(AT_FDCWD, path, 0, NULL) : 0;

	return born == 0 || born == src->btime_ns;
}

/* src_file_is: is |path| the file (inode) |src| was taken of, whatever it
 * holds now? A file born since at the same inode number is another (ext4
 * gives a deleted file's inode to the next: a key copied to another path
 * after one was deleted was said to have changed, the suite, round
 * seventy). */
static bool src_file_is(const struct file_src *src, const char *path)
{
	struct stat st;

	return src->set && stat(path, &st) == 0 && (uint64_t)st.st_dev == src->dev &&
	       (uint64_t)st.st_ino == src->ino && born_same(src, path);
}

static int load_cert(SSL_CTX *sc, const char *path, int64_t *not_after, struct file_src *src,
		     char *err, size_t err_len)
{
	STACK_OF(X509) * chain;
	struct stat st;
	char ebuf[256];
	size_t msg_len;
	X509 *x;
	FILE *f;
	int ret = 0;

	f = rv_tls_pem_open("certificate", path, err, err_len, &ret);
	if (!f) {
		return ret;
	}
	if (fstat(fileno(f), &st) == 0) {
		take_src_fd(src, fileno(f), &st);
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (!x) {
		snprintf(err, err_len, "certificate file %s holds no PEM certificate: %s", path,
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		ret = -EINVAL;
		goto out;
	}
	rv_tls_keep_earliest(not_after, X509_get0_notAfter(x));
	if (!SSL_CTX_use_certificate(sc, x)) {
		uint32_t e = ERR_peek_error();

		/* Said as what to mend, not as BoringSSL's codes alone (tester
		 * 145). */
		snprintf(err, err_len, "certificate file %s: unusable certificate%s: %s", path,
			 ERR_GET_LIB(e) == ERR_LIB_SSL &&
					 ERR_GET_REASON(e) == SSL_R_KEY_USAGE_BIT_INCORRECT
				 ? " (its key usage lacks digitalSignature, which a TLS 1.3 "
				   "handshake signs with: issue one with `ringvpn pki`)"
				 : "",
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		ret = -EINVAL;
		X509_free(x);
		goto out;
	}
	X509_free(x);
	/* Further certificates in the file are the chain (intermediates),
	 * sent with it; a ringvpn peer takes its CAs from its own CA file
	 * alone (verify_from_ca_file). */
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
	/* A peer reads a Certificate message of at most its max_cert_list
	 * (ringvpn's ends keep BoringSSL's default): a larger one failed
	 * every handshake after `-n` said OK (tester 261). */
	if (!SSL_CTX_get0_chain_certs(sc, &chain)) {
		chain = NULL;
	}
	msg_len = rv_x509_cert_msg_len(SSL_CTX_get0_certificate(sc), chain);
	if (msg_len > SSL_CTX_get_max_cert_list(sc)) {
		snprintf(err, err_len,
			 "certificate file %s: its certificates make a TLS Certificate message of "
			 "%zu bytes, more than a ringvpn peer reads (%zu): issue one with `ringvpn "
			 "pki`, or leave out chain certificates the peers have in their CA file",
			 path, msg_len, SSL_CTX_get_max_cert_list(sc));
		ret = -EINVAL;
	}
out:
	fclose(f);
	return ret;
}

/* say_if_everyones: a key file every user may read or write is taken all
 * the same (the owner's choice), but said: anyone on the host could
 * impersonate this end, or replace the key (which then matches no
 * certificate: the next start or reload fails, no more, unlike a CA or
 * CRL file others may write, which is refused). The advice keeps the
 * group's read, which the units' layout needs (root:ringvpn 0640): "chmod
 * 600" was said, and the service user then could not read it (round-
 * twenty-six tester 121). */
static void say_if_everyones(FILE *f, const char *path)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0 || !(st.st_mode & (S_IROTH | S_IWOTH))) {
		return;
	}
	rv_warnx("key file %s is %s by every user (mode %04o): %s (chmod o-rwx it)", path,
		 (st.st_mode & S_IROTH)
			 ? ((st.st_mode & S_IWOTH) ? "readable and writable" : "readable")
			 : "writable",
		 (unsigned)(st.st_mode & 07777),
		 (st.st_mode & S_IROTH)
			 ? "anyone on this host can impersonate this end"
			 : "anyone on this host can replace it, and the next start fails");
}

/* keep_key puts |running|'s private key in |c| in place of the file at
 * |path|, which this process may no longer open (|why|: -EACCES or -EPERM).
 * A process started as root reads a root-only key (what `pki server`
 * writes) and drops to its service user: every later rebuild of the
 * context failed on the key, and a new CRL with it, so a revocation was
 * never applied (a hostile tester). The key stands in only for a
 * certificate it matches: a renewal with a new key still needs the file. */
static int keep_key(struct rv_tls_ctx *c, const struct rv_tls_ctx *running, const char *path,
		    int why, char *err, size_t err_len)
{
	EVP_PKEY *pk = running ? SSL_CTX_get0_privatekey(running->ssl_ctx) : NULL;
	X509 *own = SSL_CTX_get0_certificate(c->ssl_ctx);
	EVP_PKEY *pub = own ? X509_get_pubkey(own) : NULL;
	bool same = pk && pub && EVP_PKEY_cmp(pub, pk) == 1;

	EVP_PKEY_free(pub);
	if (same && src_unknown(&running->key_src, path)) {
		snprintf(err, err_len, "cannot open private key file %s: %s, and %s", path,
			 strerror(-why), unknown_why);
		return why;
	}
	/* A file that changed holds another key, whatever the certificate
	 * says: kept, the reload said "applied" and the next start failed
	 * on the file (a tester). */
	if (!same || !src_is(&running->key_src, path) || !SSL_CTX_use_PrivateKey(c->ssl_ctx, pk)) {
		char group[64];

		ERR_clear_error();
		rv_tls_self_group(group, sizeof(group));
		snprintf(err, err_len,
			 "cannot open private key file %s: %s, and %s: make the file readable by "
			 "the service's group (chgrp %s %s; chmod 0640 %s)",
			 path, strerror(-why),
			 !same ? "the running key is not the certificate's (a renewal with a new "
				 "key)"
			 : src_file_is(&running->key_src, path)
				 ? "it has changed since the running key was read from it"
				 /* `key` set to another path, or the file replaced
				  * (mv): it was said to have changed (round-sixty-
				  * three tester 257's nit), and a replaced one to be
				  * another path's (tester 264). */
				 : "it is not the file the running key was read from (another "
				   "path, or a file put in its place)",
			 group, path, path);
		return why;
	}
	c->key_src = running->key_src;
	c->key_kept = true;
	return 0;
}

/* after_key looks at what follows the key in |f|: a second private key
 * block of any form (`cat a.key b.key`: which one is meant cannot be told,
 * and the second was left out without a word: round-thirty-six tester
 * 182; an encrypted or damaged one too: tester 184) gives "another private
 * key", a block the PEM reader cannot read "a damaged PEM block"; NULL for
 * none. Other blocks (EC PARAMETERS, a certificate) are passed over. Each
 * block's bytes are wiped. */
static const char *after_key(FILE *f)
{
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long len = 0;
		bool key;

		if (!PEM_read(f, &name, &header, &data, &len)) {
			uint32_t e = ERR_peek_last_error();

			ERR_clear_error();
			return ERR_GET_LIB(e) == ERR_LIB_PEM &&
					       ERR_GET_REASON(e) == PEM_R_NO_START_LINE
				       ? NULL
				       : "a damaged PEM block";
		}
		key = strstr(name, "PRIVATE KEY") != NULL;
		if (data) {
			OPENSSL_cleanse(data, (size_t)len);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (key) {
			return "another private key";
		}
	}
}

static int load_key(struct rv_tls_ctx *c, const struct rv_tls_ctx *running, const char *path,
		    char *err, size_t err_len)
{
	SSL_CTX *sc = c->ssl_ctx;
	char ebuf[256];
	char iobuf[4096]; /* stdio buffer: holds the key's PEM text, wiped below */
	struct stat st;
	EVP_PKEY *pk;
	const char *more;
	FILE *f;
	int ret = 0;

	f = rv_tls_pem_open("private key", path, err, err_len, &ret);
	if (!f && running && (ret == -EACCES || ret == -EPERM)) {
		return keep_key(c, running, path, ret, err, err_len);
	}
	if (!f && ret == -EACCES && geteuid() != 0) {
		char group[64];

		/* Started as its unit does (User=ringvpn), on keys `pki`
		 * wrote (0600, root's): "check the path and its permissions"
		 * left the fix to the README's security section (round-
		 * sixty-five tester 272). */
		if (way_unsearchable(path)) {
			snprintf(err, err_len,
				 "cannot open private key file %s: %s: a directory on its way "
				 "cannot be searched by this process (namei -l %s shows them)",
				 path, strerror(-ret), path);
		} else {
			rv_tls_self_group(group, sizeof(group));
			snprintf(err, err_len,
				 "cannot open private key file %s: %s: make it readable by the "
				 "service's group (chgrp %s %s; chmod 0640 %s)",
				 path, strerror(-ret), group, path, path);
		}
		return ret;
	}
	if (!f) {
		return ret;
	}
	if (fstat(fileno(f), &st) == 0) {
		take_src_fd(&c->key_src, fileno(f), &st);
	}
	say_if_everyones(f, path);
	/* With our own buffer the key text never sits in a heap block that
	 * fclose frees without wiping. BoringSSL cleanses its own copies. */
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!pk) {
		fclose(f);
		rv_memzero(iobuf, sizeof(iobuf));
		snprintf(err, err_len, "key file %s holds no usable PEM private key: %s", path,
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		return -EINVAL;
	}
	more = after_key(f);
	fclose(f);
	rv_memzero(iobuf, sizeof(iobuf));
	if (more) {
		EVP_PKEY_free(pk);
		snprintf(err, err_len,
			 "key file %s holds %s after its key: keep only the key issued with the "
			 "certificate",
			 path, more);
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

/* copy_own gives |c| the certificate, chain and key |from| runs with
 * (rv_tls_ctx_params.own_from). */
static int copy_own(struct rv_tls_ctx *c, const struct rv_tls_ctx *from, char *err, size_t err_len)
{
	X509 *x = SSL_CTX_get0_certificate(from->ssl_ctx);
	EVP_PKEY *k = SSL_CTX_get0_privatekey(from->ssl_ctx);
	STACK_OF(X509) *chain = NULL;

	if (!x || !k || !SSL_CTX_get0_chain_certs(from->ssl_ctx, &chain) ||
	    !SSL_CTX_use_certificate(c->ssl_ctx, x) ||
	    (chain && !SSL_CTX_set1_chain(c->ssl_ctx, chain)) ||
	    !SSL_CTX_use_PrivateKey(c->ssl_ctx, k)) {
		ERR_clear_error();
		snprintf(err, err_len, "the running certificate and key cannot be kept");
		return -ENOMEM;
	}
	c->expiry.cert_not_after = from->expiry.cert_not_after;
	c->cert_src = from->cert_src;
	c->key_src = from->key_src;
	c->own_kept = true;
	return 0;
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

	ret = load_ca(c, p->running, p->ca_file, err, err_len);
	if (ret) {
		*out_fail = RV_TLS_FAIL_CA;
		goto err_free;
	}
	if (p->crl_file && p->crl_file[0]) {
		struct stat opened;

		ret = rv_tls_crls_load(&c->crls, SSL_CTX_get_cert_store(c->ssl_ctx), &c->expiry,
				       p->crl_file,
				       p->hold_crl && p->hold_crl->expiry.have_crl
					       ? &p->hold_crl->crls
					       : NULL,
				       &opened, err, err_len);
		if (opened.st_ino != 0) {
			/* Opened and closed by crl.c: its birth read by the
			 * path, if it is still the file opened. */
			take_src(&c->crl_src, &opened);
			c->crl_src.btime_ns = birth_ns(AT_FDCWD, p->crl_file, 0, &opened);
		}
		/* As for the CA file (keep_ca): the running CRLs stand in for
		 * a file that cannot be opened and has not changed. */
		if ((ret == -EACCES || ret == -EPERM) && opened.st_ino == 0 && p->running &&
		    p->running->expiry.have_crl && src_is(&p->running->crl_src, p->crl_file) &&
		    copy_crls(c, p->running) == 0) {
			c->crl_src = p->running->crl_src;
			c->crl_kept = true;
			ret = 0;
		} else if ((ret == -EACCES || ret == -EPERM) && opened.st_ino == 0 && p->running &&
			   p->running->expiry.have_crl &&
			   !src_is(&p->running->crl_src, p->crl_file)) {
			/* Why the running CRLs cannot stand in, as for the CA
			 * file (the generic "cannot open" hid it: round-nine
			 * tester 45). */
			if (src_unknown(&p->running->crl_src, p->crl_file)) {
				snprintf(err, err_len, "cannot open CRL file %s: %s, and %s",
					 p->crl_file, strerror(-ret), unknown_why);
			} else {
				snprintf(err, err_len,
					 "cannot open CRL file %s: %s, and %s: make it readable by "
					 "the service's user (chmod 0644 %s: it is public)",
					 p->crl_file, strerror(-ret),
					 src_file_is(&p->running->crl_src, p->crl_file)
						 ? "it has changed since the running CRLs were "
						   "read from it"
						 : "it is not the file the running CRLs were read "
						   "from (another path, or a file put in its "
						   "place)",
					 p->crl_file);
			}
		}
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
	if (p->own_from) {
		ret = copy_own(c, p->own_from, err, err_len);
		if (ret) {
			*out_fail = RV_TLS_FAIL_CERT;
			goto err_free;
		}
		c->own_unchanged = p->cert_file && src_is(&c->cert_src, p->cert_file) &&
				   p->key_file && src_is(&c->key_src, p->key_file);
		goto own_id;
	}
	ret = load_cert(c->ssl_ctx, p->cert_file, &c->expiry.cert_not_after, &c->cert_src, err,
			err_len);
	if (ret) {
		*out_fail = RV_TLS_FAIL_CERT;
		goto err_free;
	}
	ret = load_key(c, p->running, p->key_file, err, err_len);
	if (ret) {
		*out_fail = RV_TLS_FAIL_KEY;
		goto err_free;
	}
own_id : {
	X509 *own = SSL_CTX_get0_certificate(c->ssl_ctx);
	STACK_OF(X509) *chain = NULL;
	unsigned len = 0;
	SHA256_CTX sha;

	if (!own || !X509_digest(own, EVP_sha256(), c->own_id, &len)) {
		ERR_clear_error();
	}
	SHA256_Init(&sha);
	if (SSL_CTX_get0_chain_certs(c->ssl_ctx, &chain) && chain) {
		for (size_t i = 0; i < sk_X509_num(chain); i++) {
			uint8_t d[SHA256_DIGEST_LENGTH];

			if (X509_digest(sk_X509_value(chain, i), EVP_sha256(), d, &len)) {
				SHA256_Update(&sha, d, sizeof(d));
			}
		}
	}
	ERR_clear_error();
	SHA256_Final(c->chain_id, &sha);
}
no_cert:

	SSL_CTX_set_cert_verify_callback(c->ssl_ctx, verify_from_ca_file, NULL);
	if (p->role == RV_TLS_SERVER) {
		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   verify_name);
	} else {
		X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(c->ssl_ctx);
		char undotted[RV_TLS_NAME_MAX];
		bool is_ip;

		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, verify_name);
		c->server_name =
			strdup(rv_tls_name_undotted(p->server_name, undotted, sizeof(undotted)));
		if (!c->server_name || !rv_tls_expect_name(vp, c->server_name, &is_ip)) {
			snprintf(err, err_len, "cannot set expected server name '%s'",
				 p->server_name);
			ret = -EINVAL;
			goto err_free;
		}
		c->server_name_ip = is_ip;
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
	int ret = rv_tls_crls_copy(&n->crls, SSL_CTX_get_cert_store(n->ssl_ctx), &cur->crls,
				   cur->expiry.have_crl);

	if (ret == 0) {
		n->crl_src = cur->crl_src;
		n->expiry.have_crl = cur->expiry.have_crl;
		n->expiry.crl_next_update = cur->expiry.crl_next_update;
		n->expiry.crl_last_update = cur->expiry.crl_last_update;
		n->expiry.crl_next_valid = cur->expiry.crl_next_valid;
		n->expiry.crl_signers = cur->expiry.crl_signers;
		memcpy(n->expiry.crl_next_ca, cur->expiry.crl_next_ca,
		       sizeof(n->expiry.crl_next_ca));
		memcpy(n->expiry.crl_last_ca, cur->expiry.crl_last_ca,
		       sizeof(n->expiry.crl_last_ca));
	}
	return ret;
}

int rv_tls_ctx_revokes(const struct rv_tls_ctx *ctx, X509 *x)
{
	return ctx->expiry.have_crl
		       ? rv_tls_crls_revokes(&ctx->crls, SSL_CTX_get_cert_store(ctx->ssl_ctx), x)
		       : 0;
}

bool rv_tls_ctx_crl_dropped(const struct rv_tls_ctx *n, const struct rv_tls_ctx *cur, char *who,
			    size_t who_len)
{
	return n->expiry.have_crl && cur->expiry.have_crl &&
	       rv_tls_crls_dropped(&n->crls, SSL_CTX_get_cert_store(n->ssl_ctx), &cur->crls, who,
				   who_len);
}

bool rv_tls_ctx_crl_older(const struct rv_tls_ctx *n, const struct rv_tls_ctx *cur, char *why,
			  size_t why_len)
{
	return n && cur && rv_tls_crls_older(&n->crls, &cur->crls, false, why, why_len);
}

bool rv_tls_ctx_crl_left_out(const struct rv_tls_ctx *ctx, const struct rv_tls_crls *before,
			     char *who, size_t who_len)
{
	/* No crl at all is the configuration's choice, as at a reload. */
	return ctx->expiry.have_crl &&
	       rv_tls_crls_left_out(&ctx->crls, SSL_CTX_get_cert_store(ctx->ssl_ctx), before->seen,
				    who, who_len);
}

struct rv_tls_crls *rv_tls_ctx_crls(struct rv_tls_ctx *ctx)
{
	return &ctx->crls;
}

void rv_tls_ctx_crl_carry(struct rv_tls_ctx *n, const struct rv_tls_ctx *cur)
{
	if (n && cur) {
		rv_tls_crls_carry(&n->crls, &cur->crls);
	}
}

/* What from_config takes from running contexts (each may be NULL): as
 * rv_tls_ctx_params.running, the CRLs in force (keep_crl), the CRLs to
 * hold back for (hold), the certificate and key (own_from). */
struct from_opts {
	const struct rv_tls_ctx *running, *keep_crl, *hold, *own_from;
};

static int from_config(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
		       const struct from_opts *o, enum rv_tls_ctx_fail *out_fail, char *err,
		       size_t err_len);

int rv_tls_ctx_from_config(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
			   const struct rv_tls_ctx *running, enum rv_tls_ctx_fail *out_fail,
			   char *err, size_t err_len)
{
	const struct from_opts o = { .running = running };

	return from_config(out, cfg, starting, &o, out_fail, err, err_len);
}

int rv_tls_ctx_from_config_crl(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
			       const struct rv_tls_ctx *keep_crl, bool keep_own,
			       enum rv_tls_ctx_fail *out_fail, char *err, size_t err_len)
{
	const struct from_opts o = { .running = keep_crl,
				     .keep_crl = keep_crl,
				     .own_from = keep_own ? keep_crl : NULL };

	return from_config(out, cfg, starting, &o, out_fail, err, err_len);
}

int rv_tls_ctx_from_config_hold(struct rv_tls_ctx **out, const struct rv_config *cfg,
				const struct rv_tls_ctx *hold, bool keep_own,
				enum rv_tls_ctx_fail *out_fail, char *err, size_t err_len)
{
	const struct from_opts o = { .running = hold,
				     .hold = hold,
				     .own_from = keep_own ? hold : NULL };

	return from_config(out, cfg, false, &o, out_fail, err, err_len);
}

int rv_tls_ctx_from_config_own(struct rv_tls_ctx **out, const struct rv_config *cfg,
			       const struct rv_tls_ctx *running, enum rv_tls_ctx_fail *out_fail,
			       char *err, size_t err_len)
{
	const struct from_opts o = { .running = running, .own_from = running };

	return from_config(out, cfg, false, &o, out_fail, err, err_len);
}

bool rv_tls_ctx_key_kept(const struct rv_tls_ctx *ctx)
{
	return ctx->key_kept;
}

bool rv_tls_ctx_own_kept(const struct rv_tls_ctx *ctx)
{
	return ctx->own_kept;
}

int64_t rv_tls_cert_not_before(const char *path)
{
	char err[64];
	int64_t t = 0;
	int ret = 0;
	FILE *f = rv_tls_pem_open("certificate", path, err, sizeof(err), &ret);
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (x && (!rv_tls_unix_time(X509_get0_notBefore(x), &t) || t <= (int64_t)time(NULL))) {
		t = 0;
	}
	X509_free(x);
	if (f) {
		fclose(f);
	}
	ERR_clear_error();
	return t;
}

const char *rv_tls_ctx_cert_unknown(const struct rv_tls_ctx *ctx, const char *path)
{
	return src_unknown(&ctx->cert_src, path) ? unknown_why : NULL;
}

bool rv_tls_ctx_ca_kept(const struct rv_tls_ctx *ctx)
{
	return ctx->ca_kept;
}

bool rv_tls_ctx_crl_kept(const struct rv_tls_ctx *ctx)
{
	return ctx->crl_kept;
}

bool rv_tls_ctx_cert_in_file(const struct rv_tls_ctx *ctx, const char *path)
{
	const X509 *own = SSL_CTX_get0_certificate(ctx->ssl_ctx);
	char err[64];
	int ret = 0;
	FILE *f = own ? rv_tls_pem_open("certificate", path, err, sizeof(err), &ret) : NULL;
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	bool same = x && X509_cmp(x, own) == 0;

	X509_free(x);
	if (f) {
		fclose(f);
	}
	ERR_clear_error();
	return same;
}

bool rv_tls_ctx_own_unchanged(const struct rv_tls_ctx *ctx)
{
	return ctx->own_kept && ctx->own_unchanged;
}

const char *rv_tls_ctx_own_warning(const struct rv_tls_ctx *ctx)
{
	return ctx->own_warning;
}

unsigned rv_tls_ctx_crl_held(const struct rv_tls_ctx *ctx, char *who, size_t who_len)
{
	snprintf(who, who_len, "%s", ctx->crls.held_ca);
	return ctx->crls.held;
}

/* from_config builds |cfg|'s context with what |o| takes from running
 * contexts. */
static int from_config(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
		       const struct from_opts *o, enum rv_tls_ctx_fail *out_fail, char *err,
		       size_t err_len)
{
	const struct rv_tls_ctx *keep_crl = o->keep_crl;
	struct rv_tls_ctx_params p = {
		.role = cfg->role == RV_CONFIG_SERVER ? RV_TLS_SERVER : RV_TLS_CLIENT,
		.ca_file = cfg->ca,
		.cert_file = cfg->cert,
		.key_file = cfg->key,
		.crl_file = keep_crl != NULL ? NULL : cfg->crl,
		.server_name = cfg->server_name[0] ? cfg->server_name : cfg->server_host,
		.hold_crl = o->hold,
		.running = o->running,
		.own_from = o->own_from,
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
	/* A kept certificate was fit when it was taken; its expiry is said
	 * on its own (reload.c), and must not hold back a new CRL: refused as
	 * expired, every change after it was, and revoked clients stayed (a
	 * hostile tester). */
	ret = own && !o->own_from ? usable_as_own(own, p.role, p.cert_file, err, err_len) : 0;
	if (ret == 0 && own != NULL) {
		char what[PATH_MAX + 64];

		snprintf(what, sizeof(what),
			 o->own_from ? "the running certificate (kept while %s cannot be used)"
				     : "certificate file %s",
			 p.cert_file);
		ret = own_against_store(*out, own, what,
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
	int64_t now = (int64_t)time(NULL), from = c->expiry.crl_last_update, valid_at, pend_at;
	char when[32] = "later", ca[128], pend_ca[128], others[64] = "", pend[512] = "";
	unsigned unborn, pending;
	bool several = c->expiry.crl_signers > 1;

	if (!c->expiry.have_crl || from <= now) {
		return 0;
	}
	/* A CA none of whose CRLs is valid yet is said, with its time, the
	 * one whose CRL comes last (the first CA was named with another's
	 * time: tester 297): its peers would be refused until then, as the
	 * verifier says "CRL is not yet valid" (the CA's host signed it with
	 * a clock ahead of this one's). */
	unborn = rv_tls_crls_unborn(&c->crls, now, &valid_at, ca, sizeof(ca));
	/* And a CA whose newest CRL is dated ahead beside an older one valid
	 * now, which the verifier takes meanwhile: its revocations only the
	 * newer lists are not in force (it said they would be refused, and
	 * they got in: round-sixty-seven tester 292); said beside the other,
	 * not in its place (another CA's CRL dated ahead hid it: round
	 * sixty-eight tester 306). */
	pending = rv_tls_crls_pending(&c->crls, now, &pend_at, pend_ca, sizeof(pend_ca));
	if (pending > 0) {
		char pwhen[32] = "later";

		rv_tls_fmt_utc(pend_at, pwhen, sizeof(pwhen));
		snprintf(pend, sizeof(pend),
			 "%s%s%s%s not valid until %s (in %lld s): until then an older CRL of %s, "
			 "valid now, is used, without the revocations only the newer one "
			 "lists%s",
			 unborn > 0 ? "; and " : "", several ? "the newest CRL of CA " : "",
			 several ? pend_ca : "its newest CRL", several ? " is" : " is", pwhen,
			 (long long)(pend_at - now), several ? "that CA" : "its CA",
			 pending > 1 ? " (and so for other CAs)" : "");
	}
	if (unborn == 0) {
		snprintf(err, err_len,
			 "CRL file %s: the clock of the host that signed it runs ahead of this "
			 "one's (or this one's behind): %s",
			 path, pend[0] ? pend : "its newest CRL is not valid yet");
		return from;
	}
	rv_tls_fmt_utc(valid_at, when, sizeof(when));
	if (unborn > 1) {
		snprintf(others, sizeof(others),
			 ", and those of %u other CA(s) until then or sooner", unborn - 1);
	}
	snprintf(err, err_len,
		 "CRL file %s: not valid until %s (in %lld s%s%s): the clock of the host that "
		 "signed it runs ahead of this one's (or this one's behind); the peers of its "
		 "CA would be refused until then%s%s",
		 path, when, (long long)(valid_at - now), several ? "; the CRL of CA " : "",
		 several ? ca : "", others, pend);
	return from;
}

void rv_tls_ctx_free(struct rv_tls_ctx *ctx)
{
	if (!ctx) {
		return;
	}
	SSL_CTX_free(ctx->ssl_ctx);
	rv_tls_crls_free(&ctx->crls);
	free(ctx->server_name);
	free(ctx);
}

void rv_tls_ctx_retire(struct rv_tls_ctx *ctx)
{
	if (ctx) {
		rv_tls_crls_strip(SSL_CTX_get_cert_store(ctx->ssl_ctx));
		rv_tls_ctx_free(ctx);
	}
}

const char *rv_tls_crl_whom(const struct rv_tls_expiry *e, char *buf, size_t len)
{
	if (e->crl_signers <= 1 || !e->crl_next_ca[0]) {
		return "every peer";
	}
	if (e->crl_lapsed > 1) {
		/* Only the first was named, of two lapsed (a tester). */
		snprintf(buf, len,
			 "the peers of CA %s and of %u other CA(s) whose CRLs have lapsed too (of "
			 "the %u CAs' in the file)",
			 e->crl_next_ca, e->crl_lapsed - 1, e->crl_signers);
		return buf;
	}
	snprintf(buf, len, "the peers of CA %s (its CRL ends first of the %u CAs' in the file)",
		 e->crl_next_ca, e->crl_signers);
	return buf;
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
	out->crl_lapsed = 0;
	out->crl_last_lapse = 0;
	out->crl_next_ahead = 0;
	out->crl_lapse_ca[0] = '\0';
	out->crl_unborn = 0;
	out->crl_valid_at = 0;
	out->crl_unborn_ca[0] = '\0';
	if (out->have_crl) {
		out->crl_lapsed = rv_tls_crls_lapsed(&ctx->crls, now, &out->crl_last_lapse,
						     &out->crl_next_ahead, out->crl_lapse_ca,
						     sizeof(out->crl_lapse_ca));
		out->crl_unborn =
			rv_tls_crls_unborn(&ctx->crls, now, &out->crl_valid_at, out->crl_unborn_ca,
					   sizeof(out->crl_unborn_ca));
	}
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

bool rv_tls_ctx_server_name_ip(const struct rv_tls_ctx *ctx)
{
	return ctx->server_name_ip;
}
