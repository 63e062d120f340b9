/*
 * ctl_server.h — the server's control state machine for one client, one
 * implementation of the control peer (tls/ctl.h).
 *
 * States (one handler each in ctl_server.c):
 *
 *   WAIT_HELLO ──HELLO──▶ (assign addresses, create + publish session,
 *                          send CONFIG [+ DNS] and KEY(1)) ──▶ WAIT_KEY1
 *   WAIT_KEY1  ──KEY_ACK(1)──▶ (install + activate epoch 1, KEY_CONFIRM) ──▶ RUNNING
 *   RUNNING    rekeys (timer, data-plane request, on demand, or started by
 *              the client within its budget), keepalives, dead-peer
 *              detection, CONFIG updates after a reload, DATA_STATUS when
 *              the client's data channel falls silent and when it works again
 *   any        GOODBYE / ERROR / protocol violation / timeout ──▶ CLOSED
 *
 * Addresses: a name's fixed address (config `fixed`) is reserved in the
 * pool at start and on reload, and only that name ever gets it. An address
 * the client asks back in HELLO is granted only if env->leases says the
 * server last leased it to this same name within the lease lifetime;
 * otherwise the client gets a fresh one from the pool.
 *
 * Teardown (rv_ctl_peer_free) is two-phase (STYLE.md rule 14): the session
 * is unpublished from the demux tables at once and handed to rv_qsbr_retire;
 * workers that looked it up before the removal may still use it until their
 * next quiescent point, after which rv_qsbr_reclaim frees it and wipes its
 * keys. The addresses go back to the pool at once (no new packet can be
 * routed to the removed session) and their leases are marked ended.
 * Contexts that may still hold the session pointer after rv_ctl_peer_free:
 * data-plane workers inside one batch.
 *
 * Control thread only.
 */
#ifndef RV_TLS_CTL_SERVER_H
#define RV_TLS_CTL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "tls/ctl.h"

/* rv_ctl_server_new starts the state machine for an authenticated client
 * named |cn| whose TLS session exports |exporter| (RV_EXPORTER_LEN bytes,
 * copied; the caller wipes its own). HELLO is queued in the output. |env| is
 * borrowed and must outlive the peer. Returns NULL on -ENOMEM. */
struct rv_ctl_peer *rv_ctl_server_new(const struct rv_ctl_env *env, const char *cn,
				      const uint8_t *exporter, uint64_t now_ns);

/* rv_ctl_server_push_config sends the running client a CONFIG update built
 * from env->cfg (after a reload changed routes, timers or the MTU), and the
 * pushed DNS servers, if it announced RV_CTL_CAP_CONFIG_UPDATE, and adopts
 * the new timers. Returns
 * true if an update was queued. |p| must come from rv_ctl_server_new. */
bool rv_ctl_server_push_config(struct rv_ctl_peer *p, uint64_t now_ns);

/* rv_ctl_server_keeps_dns: the client takes pushed DNS but cannot be told
 * DNS without servers (an older ringvpn, without RV_CTL_CAP_DNS_EMPTY): a
 * withdrawal, or a domain alone, never reaches it, and it keeps the DNS it
 * was pushed before while it runs. */
bool rv_ctl_server_keeps_dns(const struct rv_ctl_peer *p);

/* rv_ctl_server_publish_subnets publishes, for the running session of |p|,
 * the networks its certificate name owns in |cfg| (subnet = NAME ...): with
 * |prune| it owns exactly those afterwards, without it it gains them (taking
 * each over from whichever session had it) and keeps what it had. A reload
 * calls it without prune for every session, then with prune, so a network
 * moving between two live sessions always has an owner (core/demux.h).
 * Returns 0 (also when |p| has no session yet) or -errno of
 * rv_demux_add_prefix. A client never claims networks: only |cfg| says. */
int rv_ctl_server_publish_subnets(struct rv_ctl_peer *p, const struct rv_config *cfg, bool prune);

/* rv_ctl_server_claim_addrs takes the addresses |p| holds in |pool|, a new
 * pool built by a reload (as its fixed addresses if they are reserved there
 * for this name, else as ordinary ones). Returns 0, or -errno when one is
 * outside the new pool, reserved for another name or taken (then nothing
 * is taken and the caller ends the session). The caller swaps env->pool
 * once every session has claimed its addresses. */
int rv_ctl_server_claim_addrs(const struct rv_ctl_peer *p, struct rv_ippool *pool);

#endif /* RV_TLS_CTL_SERVER_H */
