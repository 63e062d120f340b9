/*
 * ctl_client.h — the client's control state machine for its one server, one
 * implementation of the control peer (tls/ctl.h).
 *
 *   WAIT_HELLO  ──HELLO──▶ WAIT_CONFIG
 *   WAIT_CONFIG ──CONFIG──▶ (on_config upcall: TUN address, MTU, routes;
 *                            create the session, publish it as the demux
 *                            default) ──▶ WAIT_KEY1
 *   WAIT_KEY1   ──KEY(1)──▶ (install epoch 1, KEY_ACK) ──KEY_CONFIRM(1)──▶ RUNNING
 *   RUNNING     responds to rekeys, starts its own on request (data-plane
 *               limit or SIGUSR1), keepalives, dead-peer detection, CONFIG
 *               updates (routes, timers, MTU), DNS and DATA_STATUS (its UDP
 *               reaches the server, or not) from the server
 *   any         GOODBYE / ERROR / violation / timeout ──▶ CLOSED
 *
 * Teardown (rv_ctl_peer_free) unpublishes the session (demux entry and
 * default) and retires it through QSBR; the TUN device and the data plane
 * belong to the caller and survive, so a reconnect reuses them.
 *
 * Control thread only.
 */
#ifndef RV_TLS_CTL_CLIENT_H
#define RV_TLS_CTL_CLIENT_H

#include <stdint.h>

#include "tls/ctl.h"

/* rv_ctl_client_new starts the state machine after a verified TLS handshake
 * with exporter secret |exporter| (copied). |server| is the server's address
 * (its port is replaced by CONFIG's data port). |prev4|/|prev6| (family 0:
 * none) are the addresses of the previous session, asked back in HELLO.
 * HELLO is queued. Returns NULL on -ENOMEM. |env| is borrowed and must
 * outlive the peer. */
struct rv_ctl_peer *rv_ctl_client_new(const struct rv_ctl_env *env, const uint8_t *exporter,
				      const struct rv_endpoint *server,
				      const struct rv_ip_addr *prev4,
				      const struct rv_ip_addr *prev6, uint64_t now_ns);

#endif /* RV_TLS_CTL_CLIENT_H */
