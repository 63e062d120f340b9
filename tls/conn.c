/*
 * conn.c — TLS engine over two memory BIOs (see conn.h).
 *
 * rbio holds ciphertext fed in by the caller; wbio collects what BoringSSL
 * wants to send. Both are BIO_s_mem: an empty rbio reads as "retry" (not EOF)
 * so SSL_* report WANT_READ instead of a truncated stream.
 */
#include "tls/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "crypto/errq.h"
#include "crypto/kdf.h"
#include "crypto/x509path.h"
#include "tls/internal.h"

struct rv_tls_conn {
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	bool done;
	char cn[RV_TLS_CN_MAX + 1];
	/* Room for a 64-character name with a 40-digit serial and a CA's
	 * name: the serial was cut short (round-twenty-nine tester 145). */
	char err[768];
	char alert[128];		      /* last fatal alert received, for the error text */
	char refused[320];		      /* whose certificate our verification refused */
	char refused_why[200];		      /* why our own check did, but for the name */
	size_t sent_cas;		      /* certificates the peer sent besides its own */
	char no_issuer[256];		      /* the issuer our CA file lacks, as a name */
	char no_issuer_of[256];		      /* whose issuer it is, when a CA of the chain's */
	enum rv_x509_issuer_kind issuer_kind; /* what the CA file holds of that name */
	enum rv_tls_refusal refusal;
	bool hs_in;	      /* a handshake message of the peer's was read */
	uint64_t key_updates; /* TLS 1.3 KeyUpdate messages received */
	uint64_t tickets;     /* TLS 1.3 NewSessionTicket messages received */
	/* The name the peer's certificate must hold (rv_tls_conn_expect_name;
	 * NULL none: a client's one connection has it, not a server's ten
	 * thousand): the checks after the handshake need it, when the SSL's
	 * own parameters are shed. */
	char *expect;
};

static int conn_ex_index = -1;

/* msg_cb counts the KeyUpdates the peer sends: TLS answers each it asks
 * for, and they come under no budget of the control protocol's (a client
 * sent 11,000 a second for as long as it liked: round-sixty-two tester
 * 254); the control peer judges the count (rv_ctl_peer_key_updates). So
 * are a server's NewSessionTickets: a client parses each (a session built
 * and dropped, no cache takes it), and neither end of ringvpn sends any
 * (SSL_OP_NO_TICKET), so only a hostile server's flood sends them (tester
 * 256's nit, left last session). */
static void msg_cb(int is_write, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	struct rv_tls_conn *c;
	uint8_t type;

	(void)version;
	(void)arg;
	if (is_write || content_type != SSL3_RT_HANDSHAKE || len < 1 || conn_ex_index < 0) {
		return;
	}
	type = ((const uint8_t *)buf)[0];
	c = SSL_get_ex_data(ssl, conn_ex_index);
	if (c) {
		c->hs_in = true;
	}
	if (type != SSL3_MT_KEY_UPDATE && type != SSL3_MT_NEW_SESSION_TICKET) {
		return;
	}
	if (c && type == SSL3_MT_KEY_UPDATE) {
		c->key_updates++;
	} else if (c) {
		c->tickets++;
	}
}

static void info_cb(const SSL *ssl, int where, int value)
{
	struct rv_tls_conn *c;

	if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT || conn_ex_index < 0) {
		return;
	}
	c = SSL_get_ex_data(ssl, conn_ex_index);
	if (c && ((value >> 8) & 0xff) == SSL3_AL_FATAL) {
		/* TLS has one alert for a certificate past its end and one not
		 * valid yet: a peer whose clock runs behind ours sends it for a
		 * certificate just issued. */
		snprintf(c->alert, sizeof(c->alert), "peer sent alert: %s%s",
			 SSL_alert_desc_string_long(value & 0xff),
			 (value & 0xff) == SSL_AD_CERTIFICATE_EXPIRED
				 ? " (or not valid yet: compare both hosts' clocks)"
				 : "");
	}
}

int rv_tls_conn_new(struct rv_tls_conn **out, struct rv_tls_ctx *ctx)
{
	struct rv_tls_conn *c;

	*out = NULL;
	if (conn_ex_index < 0) {
		/* Control thread only; the index is process-wide and never freed. */
		conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (conn_ex_index < 0) {
			return -ENOMEM;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		return -ENOMEM;
	}
	c->ssl = SSL_new(rv_tls_ctx_ssl(ctx));
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(c->rbio, -1);
	BIO_set_mem_eof_return(c->wbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio); /* ssl owns both now */
	SSL_set_ex_data(c->ssl, conn_ex_index, c);
	SSL_set_info_callback(c->ssl, info_cb);
	SSL_set_msg_callback(c->ssl, msg_cb);
	/* Drop the handshake configuration (certificate, key, verify
	 * settings) from the connection once the handshake is done: an idle
	 * control connection then costs little more than its record state.
	 * (Idle record buffers are released by BoringSSL by default; its
	 * SSL_MODE_RELEASE_BUFFERS is 0, the behaviour is built in.) */
	SSL_set_shed_handshake_config(c->ssl, 1);
	if (rv_tls_ctx_role(ctx) == RV_TLS_SERVER) {
		SSL_set_accept_state(c->ssl);
	} else {
		const char *name = rv_tls_ctx_server_name(ctx);

		SSL_set_connect_state(c->ssl);
		/* No address as SNI (RFC 6066, 3). */
		if (name && !rv_tls_ctx_server_name_ip(ctx) &&
		    !SSL_set_tlsext_host_name(c->ssl, name)) {
			ERR_clear_error(); /* SNI is a courtesy; verification is by the ctx param */
		}
	}
	*out = c;
	return 0;
}

void rv_tls_conn_free(struct rv_tls_conn *c)
{
	if (!c) {
		return;
	}
	SSL_free(c->ssl); /* frees both BIOs; BoringSSL cleanses its key material */
	free(c->expect);
	free(c);
}

int rv_tls_conn_feed(struct rv_tls_conn *c, const uint8_t *data, size_t len)
{
	while (len > 0) {
		int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
		int n = BIO_write(c->rbio, data, chunk);

		if (n <= 0) {
			ERR_clear_error();
			return -ENOMEM;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* not_tls: does library error |e| say the peer's bytes were not TLS (plain
 * HTTP, another protocol, or a TLS version nothing speaks)? */
static bool not_tls(unsigned long e)
{
	int r = ERR_GET_REASON(e);

	return ERR_GET_LIB(e) == ERR_LIB_SSL &&
	       (r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_HTTP_REQUEST ||
		r == SSL_R_HTTPS_PROXY_REQUEST);
}

/* early_failure: what library error |e|, of a handshake that broke off
 * before any certificate was verified, says went wrong, or NULL for a
 * reason not named here. Every such failure was "peer sent no certificate",
 * which sent operators to the client's certificate for a TLS 1.2 client or
 * a ClientHello of 16 MiB (hostile testers 32, 33). */
static const char *early_failure(unsigned long e)
{
	if (ERR_GET_LIB(e) != ERR_LIB_SSL) {
		return NULL;
	}
	switch (ERR_GET_REASON(e)) {
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return "peer sent no certificate";
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return "the peer does not offer TLS 1.3, which ringvpn requires";
	case SSL_R_NO_SHARED_CIPHER:
		return "no TLS 1.3 cipher suite in common with the peer";
	case SSL_R_NO_SHARED_GROUP:
		return "no key-exchange group in common with the peer";
	case SSL_R_NO_COMMON_SIGNATURE_ALGORITHMS:
		return "no signature algorithm in common with the peer (ringvpn takes ECDSA "
		       "P-256/P-384 and RSA-PSS)";
	case SSL_R_KEY_USAGE_BIT_INCORRECT:
		return "the peer's certificate may not sign (its key usage lacks "
		       "digitalSignature): not a client or server certificate";
	case SSL_R_EXCESSIVE_MESSAGE_SIZE:
	case SSL_R_DECODE_ERROR:
		return "the peer sent a malformed or oversized TLS handshake message";
	default:
		return NULL;
	}
}

/* fail records why |ret| from an SSL_* call failed and maps it. */
static enum rv_tls_status fail(struct rv_tls_conn *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);
	char ebuf[200];
	long vr;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return RV_TLS_WANT_READ;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(c->err, sizeof(c->err), "peer closed the TLS session");
		return RV_TLS_CLOSED;
	default:
		break;
	}
	vr = SSL_get_verify_result(c->ssl);
	if (!c->done && not_tls(ERR_peek_error())) {
		/* Before any certificate: the bytes were not TLS at all (it
		 * said "peer sent no certificate"); after the handshake, bytes
		 * that are no TLS record are a forgery's, said as the error
		 * they are (round-twenty-seven tester 132). */
		/* After a handshake message of its own it spoke TLS, then
		 * sent what is none (junk after a valid ClientHello was said
		 * as a port that answers something else: round-sixty-eight
		 * tester 300). */
		snprintf(c->err, sizeof(c->err), "%s (%s)",
			 c->hs_in ? "the peer sent bytes that are no TLS record in its handshake"
				  : "the peer does not speak TLS",
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
	} else if (vr == X509_V_ERR_INVALID_CALL && !c->alert[0] && !SSL_is_server(c->ssl)) {
		/* A TLS server always sends its certificate: one whose
		 * handshake broke off before it did is no TLS server (an echo,
		 * garbage after a TLS-like first byte). */
		snprintf(c->err, sizeof(c->err),
			 "the peer does not speak TLS (its handshake broke off before its "
			 "certificate: %s)",
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
	} else if (vr == X509_V_ERR_INVALID_CALL && !c->alert[0]) {
		/* No verification ran: the handshake broke off before it. */
		const char *why = early_failure(ERR_peek_error());

		snprintf(c->err, sizeof(c->err), "%s (%s)",
			 why ? why : "the TLS handshake broke off before the peer's certificate",
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
	} else if (vr == X509_V_ERR_APPLICATION_VERIFICATION) {
		/* Our own check (ctx.c, verify_name): its reason, the name's
		 * unless it noted another (a serial: round-seventy tester
		 * 322), and the certificate's serial (it named none: tester
		 * 145). */
		char name_why[128];

		c->refusal = RV_TLS_REFUSED_UNTRUSTED;
		snprintf(name_why, sizeof(name_why),
			 "its common name cannot be an identity (one, of 1-%d printable ASCII "
			 "characters, no spaces)",
			 RV_TLS_CN_MAX);
		snprintf(c->err, sizeof(c->err), "certificate verification failed: %s%s%s%s",
			 c->refused_why[0] ? c->refused_why : name_why, c->refused[0] ? " (" : "",
			 c->refused, c->refused[0] ? ")" : "");
		ERR_clear_error();
	} else if (vr != X509_V_OK && vr != X509_V_ERR_INVALID_CALL) {
		bool no_issuer = rv_x509_no_issuer(vr);
		char sent[900] = "";

		c->refusal = rv_tls_refusal_of(vr);

		/* Which CA is missing, and where the peer's intermediate
		 * belongs: the chain is built from this side's CA file alone
		 * (round-fifteen tester 73: nothing said how to mend it). */
		if (no_issuer && c->no_issuer[0]) {
			/* Another key behind the name: "not in the ca file"
			 * sent the operator to a file that holds that name
			 * (round-thirty-five tester 174); said of the CA of
			 * the chain whose issuer it is, and only when no CA
			 * of the name has the key (tester 184). */
			char of[300] = "it", pre[300] = "";

			if (c->no_issuer_of[0]) {
				snprintf(of, sizeof(of), "its CA %s", c->no_issuer_of);
				snprintf(pre, sizeof(pre), " its CA %s:", c->no_issuer_of);
			}
			if (c->issuer_kind == RV_X509_ISSUER_OTHER_KEY) {
				snprintf(sent, sizeof(sent),
					 "; a CA named %s is in this side's ca file, but not the "
					 "key that signed %s (a CA made anew under that name, or "
					 "a forgery)",
					 c->no_issuer, of);
			} else if (rv_x509_issuer_why(c->issuer_kind)) {
				snprintf(sent, sizeof(sent),
					 ";%s its issuer %s is in this side's ca file%s", pre,
					 c->no_issuer, rv_x509_issuer_why(c->issuer_kind));
			} else {
				snprintf(sent, sizeof(sent),
					 ";%s its issuer %s is not in this side's ca file", pre,
					 c->no_issuer);
			}
		}
		if (no_issuer && c->sent_cas > 0) {
			size_t l = strlen(sent);

			snprintf(sent + l, sizeof(sent) - l,
				 " (%zu more certificate(s) sent, not taken as CAs)", c->sent_cas);
		}
		snprintf(c->err, sizeof(c->err), "certificate verification failed: %s%s%s%s%s",
			 X509_verify_cert_error_string(vr), c->refused[0] ? " (" : "", c->refused,
			 c->refused[0] ? ")" : "", sent);
		ERR_clear_error();
	} else if (c->alert[0]) {
		snprintf(c->err, sizeof(c->err), "%s", c->alert);
		ERR_clear_error();
	} else {
		snprintf(c->err, sizeof(c->err), "%s", rv_crypto_errors_str(ebuf, sizeof(ebuf)));
	}
	return RV_TLS_ERROR;
}

char *rv_tls_name_oneline(const X509_NAME *n, char *buf, size_t len)
{
	char *full = X509_NAME_oneline(n, NULL, 0);
	size_t l = full ? strlen(full) : 0;

	if (len == 0) {
		OPENSSL_free(full);
		return buf;
	}
	if (!full) {
		snprintf(buf, len, "?");
	} else if (l < len) {
		memcpy(buf, full, l + 1);
	} else if (len > 4) {
		memcpy(buf, full, len - 4); /* ASCII: non-ASCII bytes are escaped */
		memcpy(buf + len - 4, "...", 4);
	} else {
		buf[0] = '\0';
	}
	OPENSSL_free(full);
	ERR_clear_error();
	return buf;
}

int rv_tls_x509_cn(const X509 *x, char out[RV_TLS_CN_MAX + 1])
{
	const X509_NAME *name = X509_get_subject_name(x);
	unsigned char *utf8 = NULL;
	int idx, len, ret = -EINVAL;

	out[0] = '\0';
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	/* Two common names: tools disagree on which is the identity (the
	 * first here, the last for most), so neither is taken. */
	if (idx < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0) {
		goto out;
	}
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (len <= 0 || !rv_cert_name_ok(utf8, (size_t)len)) {
		goto out;
	}
	memcpy(out, utf8, (size_t)len);
	out[len] = '\0';
	ret = 0;
out:
	OPENSSL_free(utf8);
	ERR_clear_error();
	return ret;
}

static int copy_cn(struct rv_tls_conn *c)
{
	X509 *peer = SSL_get_peer_certificate(c->ssl);
	int ret;

	c->cn[0] = '\0';
	if (!peer) {
		return -EINVAL;
	}
	ret = rv_tls_x509_cn(peer, c->cn);
	X509_free(peer);
	return ret;
}

enum rv_tls_status rv_tls_conn_handshake(struct rv_tls_conn *c)
{
	int ret;

	if (c->done) {
		return RV_TLS_OK;
	}
	ret = SSL_do_handshake(c->ssl);
	if (ret != 1) {
		return fail(c, ret);
	}
	if (copy_cn(c) != 0) {
		snprintf(c->err, sizeof(c->err),
			 "peer certificate has no usable common name "
			 "(one, of 1-%d printable ASCII characters, no spaces)",
			 RV_TLS_CN_MAX);
		return RV_TLS_ERROR;
	}
	c->done = true;
	return RV_TLS_OK;
}

bool rv_tls_conn_handshake_done(const struct rv_tls_conn *c)
{
	return c->done;
}

bool rv_tls_conn_peer_alerted(const struct rv_tls_conn *c)
{
	return c->alert[0] != '\0';
}

enum rv_tls_status rv_tls_conn_read(struct rv_tls_conn *c, uint8_t *buf, size_t len,
				    size_t *out_len)
{
	int n;

	*out_len = 0;
	if (len > (1u << 30)) {
		len = 1u << 30;
	}
	n = SSL_read(c->ssl, buf, (int)len);
	if (n <= 0) {
		return fail(c, n);
	}
	*out_len = (size_t)n;
	return RV_TLS_OK;
}

enum rv_tls_status rv_tls_conn_write(struct rv_tls_conn *c, const uint8_t *buf, size_t len)
{
	int n;

	if (len == 0) {
		return RV_TLS_OK;
	}
	if (len > (1u << 30)) {
		snprintf(c->err, sizeof(c->err), "write too large");
		return RV_TLS_ERROR;
	}
	/* The write BIO is an unbounded memory buffer, so SSL_write completes
	 * in one call or fails. */
	n = SSL_write(c->ssl, buf, (int)len);
	if (n != (int)len) {
		(void)fail(c, n);
		return RV_TLS_ERROR;
	}
	return RV_TLS_OK;
}

void rv_tls_conn_close(struct rv_tls_conn *c)
{
	if (SSL_shutdown(c->ssl) < 0) {
		ERR_clear_error();
	}
}

size_t rv_tls_conn_pending_out(const struct rv_tls_conn *c)
{
	return BIO_ctrl_pending(c->wbio);
}

size_t rv_tls_conn_take_out(struct rv_tls_conn *c, uint8_t *buf, size_t len)
{
	int n;

	if (len > (1u << 30)) {
		len = 1u << 30;
	}
	n = BIO_read(c->wbio, buf, (int)len);
	return n > 0 ? (size_t)n : 0;
}

enum rv_tls_refusal rv_tls_refusal_of(long verify_error)
{
	switch (verify_error) {
	case X509_V_ERR_CERT_REVOKED:
		return RV_TLS_REFUSED_REVOKED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return RV_TLS_REFUSED_EXPIRED;
	default:
		return RV_TLS_REFUSED_UNTRUSTED;
	}
}

enum rv_tls_refusal rv_tls_conn_refusal(const struct rv_tls_conn *c)
{
	return c->refusal;
}

const char *rv_tls_conn_error(const struct rv_tls_conn *c)
{
	return c->err;
}

uint64_t rv_tls_conn_key_updates(const struct rv_tls_conn *c, uint64_t *tickets)
{
	*tickets = c->tickets;
	return c->key_updates;
}

const char *rv_tls_conn_peer_cn(const struct rv_tls_conn *c)
{
	return c->done ? c->cn : NULL;
}

int rv_tls_conn_export(struct rv_tls_conn *c, uint8_t *out, size_t len)
{
	if (!c->done ||
	    !SSL_export_keying_material(c->ssl, out, len, RV_TLS_EXPORTER_LABEL,
					sizeof(RV_TLS_EXPORTER_LABEL) - 1, NULL, 0, 0)) {
		ERR_clear_error();
		return -EINVAL;
	}
	return 0;
}

int64_t rv_tls_conn_peer_not_after(const struct rv_tls_conn *c)
{
	X509 *leaf = SSL_get_peer_certificate(c->ssl);
	int64_t t = 0;

	if (leaf && !rv_tls_unix_time(X509_get0_notAfter(leaf), &t)) {
		t = 0;
	}
	X509_free(leaf);
	return t;
}

/* expect_own makes |xs| check the name this connection expects (|name|,
 * NULL none) in place of the context's: a client without server_name checks
 * each server of its list against its own name, and the context holds the
 * first one's, by which a live session with another was ended at a CA
 * change, and a handshake in flight at any change refused (round-sixty-
 * five tester 274). */
static bool expect_own(X509_STORE_CTX *xs, const char *name)
{
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(xs);
	bool is_ip;

	return !name ||
	       (X509_VERIFY_PARAM_set1_host(vp, NULL, 0) &&
		X509_VERIFY_PARAM_set1_ip(vp, NULL, 0) && rv_tls_expect_name(vp, name, &is_ip));
}

int rv_tls_conn_reverify(struct rv_tls_conn *c, struct rv_tls_ctx *ctx, char *err, size_t err_len)
{
	SSL_CTX *sc = rv_tls_ctx_ssl(ctx);
	X509 *leaf = SSL_get_peer_certificate(c->ssl);
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	uint32_t xku = rv_tls_ctx_role(ctx) == RV_TLS_SERVER ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
	int ret = -EKEYREJECTED, code;
	X509 *unfit, *odd;
	const char *serial_why;
	long why;

	/* The chain from the new CA file alone, as the handshake builds it
	 * (tls/ctx.c verify_from_ca_file). */
	if (!leaf || !xs || !X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(sc), leaf, NULL) ||
	    !X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xs), SSL_CTX_get0_param(sc)) ||
	    !expect_own(xs, c->expect) ||
	    !X509_STORE_CTX_set_default(xs, rv_tls_ctx_role(ctx) == RV_TLS_SERVER ? "ssl_client"
										  : "ssl_server")) {
		snprintf(err, err_len, "cannot check the peer certificate again");
		ret = -ENOMEM;
		goto out;
	}
	if (X509_verify_cert(xs) == 1) {
		/* As the handshake's verify callback (verify_name). */
		ret = rv_x509_chain_ca_revoked(xs) ? -EKEYREVOKED : 0;
		if (ret) {
			snprintf(err, err_len, "certificate revoked (its issuing CA is)");
		} else if ((unfit = rv_x509_chain_ca_unfit(X509_STORE_CTX_get0_chain(xs), xku,
							   &why)) != NULL) {
			/* The CA named, as the handshake names it (it was "its
			 * CA: unsupported certificate purpose": round-sixty-seven
			 * tester 292). */
			char name[160];

			rv_tls_name_oneline(X509_get_subject_name(unfit), name, sizeof(name));
			ret = -EKEYREJECTED;
			snprintf(err, err_len, "its CA %s: %s", name, rv_x509_unfit_why(why, xku));
		} else if ((odd = rv_x509_chain_serial_unfit(X509_STORE_CTX_get0_chain(xs),
							     &serial_why)) != NULL) {
			/* A CA file that brings an intermediate of a serial no
			 * index can list, under the name and key of the old
			 * one: refused, as the handshake refuses it (round-
			 * seventy tester 324). */
			char name[160], of[180] = "";

			if (odd != leaf) {
				rv_tls_name_oneline(X509_get_subject_name(odd), name, sizeof(name));
				snprintf(of, sizeof(of), "its CA %s: ", name);
			}
			ret = -EKEYREJECTED;
			snprintf(err, err_len, "%sits serial number is %s" RV_X509_SERIAL_RULE, of,
				 serial_why);
		}
		goto out;
	}
	code = X509_STORE_CTX_get_error(xs);
	/* Of a CA of the chain, said so: a CA's lapse was said of each
	 * client as its own certificate's (round-thirty-eight tester 189). */
	snprintf(err, err_len, "%s%s", X509_STORE_CTX_get_error_depth(xs) > 0 ? "its CA: " : "",
		 X509_verify_cert_error_string(code));
	/* An expired CRL ends every session as an expiry, not a revocation. */
	ret = code == X509_V_ERR_CERT_REVOKED ? -EKEYREVOKED
	      : code == X509_V_ERR_CERT_HAS_EXPIRED || code == X509_V_ERR_CRL_HAS_EXPIRED
		      ? -EKEYEXPIRED
		      : -EKEYREJECTED;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(xs);
	X509_free(leaf);
	return ret;
}

/* conn_of: the connection whose handshake |xs| verifies, or NULL. */
static struct rv_tls_conn *conn_of(X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());

	return ssl && conn_ex_index >= 0 ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
}

void rv_tls_conn_note_refused(X509_STORE_CTX *xs, X509 *ca)
{
	struct rv_tls_conn *c = conn_of(xs);
	X509 *x = ca ? ca : X509_STORE_CTX_get_current_cert(xs);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	char cn[RV_TLS_CN_MAX + 1], who[RV_TLS_CN_MAX + 8] = "", subj[190];
	BIGNUM *bn;
	char *hex;

	if (!c || !x) {
		return;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	/* The peer chose the name: only one that can be an identity is
	 * repeated (printable ASCII, no spaces). */
	if (x != leaf) {
		/* A CA of the chain, from this side's CA file: the leaf's
		 * serial was named, which no CRL holds, or nothing (a CA
		 * revoked or expired: round-twenty-nine tester 145). */
		if (leaf && rv_tls_x509_cn(leaf, cn) == 0) {
			snprintf(who, sizeof(who), "%s: ", cn);
		}
		rv_tls_name_oneline(X509_get_subject_name(x), subj, sizeof(subj));
		snprintf(c->refused, sizeof(c->refused), "%sits CA %s, serial %s", who, subj,
			 hex ? hex : "?");
	} else if (rv_tls_x509_cn(x, cn) == 0) {
		snprintf(c->refused, sizeof(c->refused), "%s, serial %s", cn, hex ? hex : "?");
	} else {
		snprintf(c->refused, sizeof(c->refused), "serial %s", hex ? hex : "?");
	}
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}

void rv_tls_conn_note_why(X509_STORE_CTX *xs, const char *why)
{
	struct rv_tls_conn *c = conn_of(xs);

	if (c) {
		snprintf(c->refused_why, sizeof(c->refused_why), "%s", why);
	}
}

void rv_tls_conn_note_no_issuer(X509_STORE_CTX *xs)
{
	struct rv_tls_conn *c = conn_of(xs);
	X509 *x = X509_STORE_CTX_get_current_cert(xs);

	if (c && x) {
		/* The peer chose the name: escaped by the one-line form,
		 * control characters left to the log's sanitizer. */
		rv_tls_name_oneline(X509_get_issuer_name(x), c->no_issuer, sizeof(c->no_issuer));
		c->issuer_kind = rv_x509_issuer_in_store(xs, x);
		c->no_issuer_of[0] = '\0';
		if (X509_STORE_CTX_get_error_depth(xs) > 0) {
			rv_tls_name_oneline(X509_get_subject_name(x), c->no_issuer_of,
					    sizeof(c->no_issuer_of));
		}
	}
	ERR_clear_error();
}

void rv_tls_conn_note_sent_cas(X509_STORE_CTX *xs, size_t n)
{
	struct rv_tls_conn *c = conn_of(xs);

	if (c) {
		c->sent_cas = n;
	}
}

int rv_tls_conn_revoked(struct rv_tls_conn *c, const struct rv_tls_ctx *ctx)
{
	X509 *leaf = SSL_get_peer_certificate(c->ssl);
	int ret = leaf ? rv_tls_ctx_revokes(ctx, leaf) : -ENOENT;

	X509_free(leaf);
	return ret;
}

int rv_tls_conn_expect_name(struct rv_tls_conn *c, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	char undotted[RV_TLS_NAME_MAX];
	bool is_ip = false;
	int ok;

	name = rv_tls_name_undotted(name, undotted, sizeof(undotted)); /* nor has SNI */
	ok = rv_tls_expect_name(vp, name, &is_ip);
	free(c->expect);
	c->expect = strdup(name);
	ok = ok && c->expect != NULL;

	/* No address as SNI (RFC 6066, 3), least of all with its scope. */
	if (ok && !is_ip) {
		ok = SSL_set_tlsext_host_name(c->ssl, name);
	}
	ERR_clear_error();
	return ok ? 0 : -EINVAL;
}
