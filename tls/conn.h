/*
 * conn.h — one TLS 1.3 connection driven entirely through memory: the caller
 * feeds ciphertext received from the network in, takes ciphertext to send
 * out, and reads and writes plaintext. No file descriptors, so two engines
 * can talk to each other inside one process (test/unit/test_tls_conn.c).
 *
 * Typical loop (control thread):
 *   rv_tls_conn_feed(c, bytes_from_tcp, n);
 *   if (!handshake done) st = rv_tls_conn_handshake(c);
 *   else while ((st = rv_tls_conn_read(c, buf, sizeof buf, &n)) == RV_TLS_OK) ...;
 *   while (rv_tls_conn_pending_out(c)) n = rv_tls_conn_take_out(c, out, sizeof out); send.
 *
 * Ciphertext out is buffered without bound inside the engine; the caller
 * bounds it by bounding the plaintext it writes (the control protocol writes
 * a few hundred bytes per message).
 *
 * Threads: a connection belongs to one thread.
 */
#ifndef RV_TLS_CONN_H
#define RV_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>

#include "core/certname.h"

struct rv_tls_ctx;
struct rv_tls_conn;

enum rv_tls_status {
	RV_TLS_OK = 0,	  /* done / data returned */
	RV_TLS_WANT_READ, /* needs more ciphertext from the peer */
	RV_TLS_CLOSED,	  /* the peer sent close_notify */
	RV_TLS_ERROR,	  /* fatal: see rv_tls_conn_error(); send pending out, then close */
};

enum { RV_TLS_CN_MAX = RV_CERT_NAME_MAX };

/* rv_tls_conn_new creates a connection of |ctx|'s role. The connection keeps
 * its own reference to the underlying SSL_CTX, so |ctx| may be freed first.
 * Returns 0 or -ENOMEM. */
int rv_tls_conn_new(struct rv_tls_conn **out, struct rv_tls_ctx *ctx);

/* rv_tls_conn_free frees |c| and wipes its buffers. NULL ok. */
void rv_tls_conn_free(struct rv_tls_conn *c);

/* rv_tls_conn_feed appends |len| ciphertext bytes received from the peer.
 * Returns 0 or -ENOMEM. */
int rv_tls_conn_feed(struct rv_tls_conn *c, const uint8_t *data, size_t len);

/* rv_tls_conn_handshake advances the handshake: OK once complete (and the
 * peer verified), WANT_READ, or ERROR (the reason is in rv_tls_conn_error;
 * an alert for the peer may be pending out). */
enum rv_tls_status rv_tls_conn_handshake(struct rv_tls_conn *c);
bool rv_tls_conn_handshake_done(const struct rv_tls_conn *c);
/* rv_tls_conn_peer_alerted: the peer sent a fatal alert (the last error is
 * its word, not a record of its that failed here). */
bool rv_tls_conn_peer_alerted(const struct rv_tls_conn *c);

/* rv_tls_conn_read returns up to |len| plaintext bytes in |buf| and their
 * number in *out_len (OK), or WANT_READ / CLOSED / ERROR. */
enum rv_tls_status rv_tls_conn_read(struct rv_tls_conn *c, uint8_t *buf, size_t len,
				    size_t *out_len);

/* rv_tls_conn_write encrypts all |len| bytes (OK) or fails (ERROR). */
enum rv_tls_status rv_tls_conn_write(struct rv_tls_conn *c, const uint8_t *buf, size_t len);

/* rv_tls_conn_close queues a close_notify. */
void rv_tls_conn_close(struct rv_tls_conn *c);

/* rv_tls_conn_pending_out: ciphertext bytes waiting to be sent. */
size_t rv_tls_conn_pending_out(const struct rv_tls_conn *c);

/* rv_tls_conn_take_out moves up to |len| bytes of pending ciphertext into
 * |buf| and returns how many. */
size_t rv_tls_conn_take_out(struct rv_tls_conn *c, uint8_t *buf, size_t len);

/* rv_tls_conn_error returns the reason of the last ERROR (verification
 * result, alert received from the peer, or BoringSSL's reason), "" if none. */
const char *rv_tls_conn_error(const struct rv_tls_conn *c);

/* enum rv_tls_refusal: why this end's verification refused the peer's
 * certificate, if it did: counted apart, and logged each within a limit of
 * its own, so that a flood of junk or of another CA's certificates does not
 * hide a revoked certificate's refusal (round-twenty-eight tester 137). */
enum rv_tls_refusal {
	RV_TLS_REFUSED_NONE,	  /* no certificate refused (not TLS, an alert, ...) */
	RV_TLS_REFUSED_REVOKED,	  /* in a CRL */
	RV_TLS_REFUSED_EXPIRED,	  /* expired or not valid yet (itself or its CRL) */
	RV_TLS_REFUSED_UNTRUSTED, /* any other reason: no issuer here, signature, name */
	RV_TLS_REFUSED_KINDS
};

/* rv_tls_refusal_of maps an X509_V_ERR_* code; rv_tls_conn_refusal is the
 * refusal of the last ERROR of |c|. */
enum rv_tls_refusal rv_tls_refusal_of(long verify_error);
enum rv_tls_refusal rv_tls_conn_refusal(const struct rv_tls_conn *c);

/* rv_tls_conn_key_updates: how many TLS 1.3 KeyUpdate messages the peer
 * has sent on |c|; |*tickets| gets how many NewSessionTickets. */
uint64_t rv_tls_conn_key_updates(const struct rv_tls_conn *c, uint64_t *tickets);

/* rv_tls_conn_peer_cn returns the peer certificate's common name (printable
 * ASCII, at most RV_TLS_CN_MAX bytes) once the handshake is done, or NULL. */
const char *rv_tls_conn_peer_cn(const struct rv_tls_conn *c);

/* rv_tls_conn_export writes |len| bytes of the TLS exporter with
 * RV_TLS_EXPORTER_LABEL (no context) to |out|. Returns 0 or -EINVAL (no
 * completed handshake). The caller wipes |out|. */
int rv_tls_conn_export(struct rv_tls_conn *c, uint8_t *out, size_t len);

/* rv_tls_conn_expect_name makes a client connection verify the server's
 * certificate against |name| (a DNS name or an IP address) instead of the
 * context's server name, and sends it as SNI (a DNS name: no address).
 * Call before the handshake.
 * Returns 0 or -EINVAL. */
int rv_tls_conn_expect_name(struct rv_tls_conn *c, const char *name);

/* rv_tls_conn_reverify checks the certificate the peer presented in the
 * handshake again, now, against |ctx|'s CA store and CRL (a reload may
 * have revoked it or it may have expired). Returns 0 if still valid, else
 * -EKEYREVOKED, -EKEYEXPIRED (it, its CA or the CRL expired) or
 * -EKEYREJECTED with the reason in |err|
 * (-ENOMEM on resource failure). */
int rv_tls_conn_reverify(struct rv_tls_conn *c, struct rv_tls_ctx *ctx, char *err, size_t err_len);

/* rv_tls_conn_revoked: does |ctx|'s newest CRL from its issuer list the
 * certificate the peer presented? The check that a new CRL under the same
 * CA needs, a thousand times cheaper than rv_tls_conn_reverify (a lookup
 * against a whole chain verification). 1 yes, 0 no, negative when it
 * cannot say as the handshake would (rv_tls_conn_reverify then). */
int rv_tls_conn_revoked(struct rv_tls_conn *c, const struct rv_tls_ctx *ctx);

/* rv_tls_conn_peer_not_after returns when the peer's certificate expires,
 * in seconds since the epoch (0: no certificate, or unreadable). */
int64_t rv_tls_conn_peer_not_after(const struct rv_tls_conn *c);

/* rv_tls_name_oneline writes |n| as X509_NAME_oneline does ("/CN=..."),
 * into |buf| of |len| bytes, ending it in "..." where it had to be cut:
 * X509_NAME_oneline drops the parts that do not fit without a mark (a CA's
 * CN went missing from a refusal: round-twenty-nine tester 146). Returns
 * |buf|. */
char *rv_tls_name_oneline(const X509_NAME *n, char *buf, size_t len);

#endif /* RV_TLS_CONN_H */
