/*
 * ctl_client.h — the client's control state machine for its one server.
 *
 *   WAIT_HELLO  ──HELLO──▶ WAIT_CONFIG
 *   WAIT_CONFIG ──CONFIG──▶ (on_config upcall: TUN + data plane; create the
 *                            session, publish it as the demux default) ──▶ WAIT_KEY1
 *   WAIT_KEY1   ──KEY(1)──▶ (install epoch 1, KEY_ACK) ──KEY_CONFIRM(1)──▶ RUNNING
 *   RUNNING     responds to rekeys, starts its own on request (data-plane
 *               limit or SIGUSR1), keepalives, dead-peer detection
 *   any         GOODBYE / ERROR / violation / timeout ──▶ CLOSED
 *
 * Teardown (rv_ctl_client_free) unpublishes the session (demux entry and
 * default) and retires it through QSBR; the TUN device and the data plane
 * belong to the caller and survive, so a reconnect reuses them.
 *
 * Control thread only.
 */
#ifndef RV_TLS_CTL_CLIENT_H
#define RV_TLS_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/ctl.h"

struct rv_ctl_client;

/* rv_ctl_client_new starts the state machine after a verified TLS handshake
 * with exporter secret |exporter| (copied). |server| is the server's address
 * (its port is replaced by CONFIG's data port). |prev4|/|prev6| (family 0:
 * none) are the addresses of the previous session, asked back in HELLO.
 * HELLO is queued. Returns NULL on -ENOMEM. |env| is borrowed and must
 * outlive the object. */
struct rv_ctl_client *rv_ctl_client_new(const struct rv_ctl_env *env, const uint8_t *exporter,
					const struct rv_endpoint *server,
					const struct rv_ip_addr *prev4,
					const struct rv_ip_addr *prev6, uint64_t now_ns);

/* rv_ctl_client_free unpublishes and retires the session and wipes keys. NULL ok. */
void rv_ctl_client_free(struct rv_ctl_client *p);

enum rv_ctl_result rv_ctl_client_on_frame(struct rv_ctl_client *p, const uint8_t *frame, size_t len,
					  uint64_t now_ns);
enum rv_ctl_result rv_ctl_client_tick(struct rv_ctl_client *p, uint64_t now_ns);

/* rv_ctl_client_request_rekey starts a new epoch as soon as allowed (if the
 * server allows client-started rekeys). */
void rv_ctl_client_request_rekey(struct rv_ctl_client *p);

/* rv_ctl_client_goodbye queues GOODBYE(|code|); the caller then closes. */
void rv_ctl_client_goodbye(struct rv_ctl_client *p, enum rv_ctl_code code);

struct rv_ctl_out *rv_ctl_client_out(struct rv_ctl_client *p);

/* rv_ctl_client_running: epoch 1 is up (the tunnel carries traffic). */
bool rv_ctl_client_running(const struct rv_ctl_client *p);
const char *rv_ctl_client_reason(const struct rv_ctl_client *p);
const char *rv_ctl_client_state(const struct rv_ctl_client *p);
struct rv_session *rv_ctl_client_session(const struct rv_ctl_client *p);
uint64_t rv_ctl_client_rekeys(const struct rv_ctl_client *p);
/* rv_ctl_client_error_code: code of an ERROR received from the server (0: none). */
unsigned rv_ctl_client_error_code(const struct rv_ctl_client *p);

#endif /* RV_TLS_CTL_CLIENT_H */
