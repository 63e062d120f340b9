/*
 * ctl_server.h — the server's control state machine for one client.
 *
 * States (one do_<state> handler each in ctl_server.c):
 *
 *   WAIT_HELLO ──HELLO──▶ (assign addresses, create + publish session,
 *                          send CONFIG and KEY(1)) ──▶ WAIT_KEY1
 *   WAIT_KEY1  ──KEY_ACK(1)──▶ (install + activate epoch 1, KEY_CONFIRM) ──▶ RUNNING
 *   RUNNING    rekeys (timer, data-plane request, on demand), keepalives,
 *              dead-peer detection
 *   any        GOODBYE / ERROR / protocol violation / timeout ──▶ CLOSED
 *
 * Teardown (rv_ctl_server_free) is two-phase (STYLE.md rule 14): the session
 * is unpublished from the demux tables at once and handed to rv_qsbr_retire;
 * workers that looked it up before the removal may still use it until their
 * next quiescent point, after which rv_qsbr_reclaim frees it and wipes its
 * keys. The addresses go back to the pool at once (no new packet can be
 * routed to the removed session). Contexts that may still hold the session
 * pointer after rv_ctl_server_free: data-plane workers inside one batch.
 *
 * Control thread only.
 */
#ifndef RV_TLS_CTL_SERVER_H
#define RV_TLS_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/ctl.h"

struct rv_ctl_server;

/* rv_ctl_server_new starts the state machine for an authenticated client
 * named |cn| whose TLS session exports |exporter| (RV_EXPORTER_LEN bytes,
 * copied; the caller wipes its own). HELLO is queued in the output. |env| is
 * borrowed and must outlive the object. Returns NULL on -ENOMEM. */
struct rv_ctl_server *rv_ctl_server_new(const struct rv_ctl_env *env, const char *cn,
					const uint8_t *exporter, uint64_t now_ns);

/* rv_ctl_server_free releases everything the client held (see above). NULL ok. */
void rv_ctl_server_free(struct rv_ctl_server *p);

/* rv_ctl_server_on_frame handles one complete frame received from the client. */
enum rv_ctl_result rv_ctl_server_on_frame(struct rv_ctl_server *p, const uint8_t *frame, size_t len,
					  uint64_t now_ns);

/* rv_ctl_server_tick runs the timers (keepalive, dead peer, rekey). */
enum rv_ctl_result rv_ctl_server_tick(struct rv_ctl_server *p, uint64_t now_ns);

/* rv_ctl_server_request_rekey asks for a new epoch as soon as allowed. */
void rv_ctl_server_request_rekey(struct rv_ctl_server *p);

/* rv_ctl_server_goodbye queues GOODBYE(|code|); the caller then closes. */
void rv_ctl_server_goodbye(struct rv_ctl_server *p, enum rv_ctl_code code);

/* rv_ctl_server_out returns the output buffer; the caller sends and empties it. */
struct rv_ctl_out *rv_ctl_server_out(struct rv_ctl_server *p);

/* Accessors for logs and `ringvpn status`. */
const char *rv_ctl_server_cn(const struct rv_ctl_server *p);
const char *rv_ctl_server_reason(const struct rv_ctl_server *p);
const char *rv_ctl_server_state(const struct rv_ctl_server *p);
struct rv_session *rv_ctl_server_session(const struct rv_ctl_server *p);
uint32_t rv_ctl_server_epoch(const struct rv_ctl_server *p);
uint64_t rv_ctl_server_rekeys(const struct rv_ctl_server *p);

#endif /* RV_TLS_CTL_SERVER_H */
