/*
 * internal.h — declarations shared by the files of tls/ only.
 */
#ifndef RV_TLS_INTERNAL_H
#define RV_TLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "core/compiler.h"
#include "tls/ctl.h"
#include "tls/ctlkey.h"
#include "tls/ctx.h"

/* ctx.c */
SSL_CTX *rv_tls_ctx_ssl(struct rv_tls_ctx *ctx);
const char *rv_tls_ctx_server_name(const struct rv_tls_ctx *ctx);

/* ctl.c */

/* struct rv_ctl_peer is what the server's and the client's control state
 * machines (ctl_server.c, ctl_client.c) share: the key exchange, the session,
 * the timers, the output buffer and why the connection closed. Each embeds
 * one; their own state enums sit beside it. Control thread only. */
struct rv_ctl_peer {
	const struct rv_ctl_env *env;
	const char *peer_role; /* "client" or "server": the other end */
	const char *name;      /* the peer's certificate name, or "" */
	bool closed;
	struct rv_ctlkey key;
	struct rv_session *session; /* published in env->demux while non-NULL */
	uint32_t peer_caps;
	uint64_t keepalive_ns, dead_peer_ns;
	uint64_t last_rx_ns, last_tx_ns, last_data_ka_ns;
	bool rekey_wanted;
	unsigned error_code; /* of a GOODBYE or ERROR received (0: none) */
	struct rv_ctl_out out;
	char reason[256];
};

/* rv_ctl_peer_init sets up |c| (zeroed by the caller) for a connection whose
 * TLS session exports |exporter| (copied) and queues our HELLO, asking back
 * |prev4|/|prev6| (family 0 or NULL: none). |name| must outlive |c|. */
void rv_ctl_peer_init(struct rv_ctl_peer *c, const struct rv_ctl_env *env, bool is_server,
		      const char *name, const uint8_t *exporter, const struct rv_ip_addr *prev4,
		      const struct rv_ip_addr *prev6, uint64_t now_ns);

/* rv_ctl_peer_cleanup unpublishes the session (phase 1 of the two-phase
 * teardown; rv_qsbr_reclaim frees and wipes it) and wipes the keys. */
void rv_ctl_peer_cleanup(struct rv_ctl_peer *c);

/* rv_ctl_emit appends |m| to the output buffer. */
void rv_ctl_emit(struct rv_ctl_peer *c, const struct rv_ctl_msg *m);

/* rv_ctl_error_msg fills |m| with ERROR(|code|, |text|), the text cut to
 * RV_CTL_MAX_TEXT and non-printable characters replaced by '?'. */
void rv_ctl_error_msg(struct rv_ctl_msg *m, enum rv_ctl_code code, const char *text);

/* rv_ctl_close_with records the reason, queues ERROR(code, reason) and
 * closes. Returns RV_CTL_CLOSE. */
enum rv_ctl_result rv_ctl_close_with(struct rv_ctl_peer *c, enum rv_ctl_code code, const char *fmt,
				     ...) RV_PRINTF(3, 4);

/* rv_ctl_goodbye queues GOODBYE(|code|) and closes. */
void rv_ctl_goodbye(struct rv_ctl_peer *c, enum rv_ctl_code code);

/* rv_ctl_recv decodes |frame| into |m| and handles what both ends treat
 * alike (malformed frames, KEEPALIVE, GOODBYE, ERROR). Returns true when the
 * caller must handle |m| by its state; false with the result in |*out_res|. */
bool rv_ctl_recv(struct rv_ctl_peer *c, struct rv_ctl_msg *m, const uint8_t *frame, size_t len,
		 uint64_t now_ns, enum rv_ctl_result *out_res);

/* rv_ctl_check_hello checks the peer's HELLO versions and records its caps. */
enum rv_ctl_result rv_ctl_check_hello(struct rv_ctl_peer *c, const struct rv_ctl_hello *h);

/* rv_ctl_tick runs the timers both ends share: dead-peer detection and the
 * control keepalive, and, once |running|, the data-plane keepalive (once the
 * peer's UDP endpoint is known) and the data plane's rekey requests. */
enum rv_ctl_result rv_ctl_tick(struct rv_ctl_peer *c, bool running, uint64_t now_ns);

/* rv_ctl_rekey_due: a wanted rekey may start now (none in flight, and the
 * newest epoch is at least RV_CTL_MIN_REKEY_MS old). */
bool rv_ctl_rekey_due(const struct rv_ctl_peer *c, uint64_t now_ns);

/* rv_ctl_start_rekey sends KEY for the next epoch (nothing if one is in flight). */
enum rv_ctl_result rv_ctl_start_rekey(struct rv_ctl_peer *c, uint64_t now_ns);

/* rv_ctl_reason returns why the connection closed. */
const char *rv_ctl_reason(const struct rv_ctl_peer *c);

#endif /* RV_TLS_INTERNAL_H */
