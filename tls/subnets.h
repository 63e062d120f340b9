/*
 * subnets.h — the server's side of networks behind clients (subnet = NAME
 * PREFIXES): its own kernel routes to them. Which session a network belongs
 * to is published by ctl_server.h (rv_ctl_server_publish_subnets) and
 * applied across a reload by the loop (tls/subnets.c).
 */
#ifndef RV_TLS_SUBNETS_H
#define RV_TLS_SUBNETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_config;
struct rv_demux;

/* rv_subnets_set_routes makes the kernel route every subnet of |next| via
 * the server's TUN |ifname| (so the server and its LAN reach the networks
 * behind clients), and removes the routes of subnets |prev| had and |next|
 * has not (|prev| NULL at start-up), and asks again about those the host
 * routed elsewhere. Each failure is logged; returns how many routes could
 * not be added or are not used. Control thread (needs CAP_NET_ADMIN). */
unsigned rv_subnets_set_routes(const char *ifname, const struct rv_config *prev,
			       const struct rv_config *next);

/* rv_subnets_routed fills |out| (at most |max|) with the subnets of |cfg|
 * routed via the server's TUN: all but those the host routes elsewhere
 * (said "not used" when rv_subnets_set_routes added them; asked again at
 * the next). What the TUN's repair and a change of its addresses put back.
 * Control thread. */
struct rv_prefix;
size_t rv_subnets_routed(const struct rv_config *cfg, struct rv_prefix *out, size_t max);
/* rv_subnets_forget_unused forgets which subnets were not used, and which
 * a route not ringvpn's carried (all are judged anew: the TUN has its name
 * back). */
void rv_subnets_forget_unused(void);
/* rv_subnets_foreign_gone: was |p| a subnet that a route not ringvpn's
 * carried (rv_tun_add_route returned 2)? Then that route is gone, ours is
 * in its place, and |p| is forgotten as such. Control thread. */
bool rv_subnets_foreign_gone(const struct rv_prefix *p);
/* rv_subnets_note_unused records those of |routes| (|n|) that bit i of
 * |bits| marks as not used (rv_tun_set_addrs_routes' |unused|). */
void rv_subnets_note_unused(const struct rv_prefix *routes, size_t n, uint64_t bits);
/* rv_subnets_unused copies the subnets not used (the host routes them
 * itself) to |out| (at most |max|); returns how many. */
size_t rv_subnets_unused(struct rv_prefix *out, size_t max);

/* rv_subnets_taken: is |p| a subnet whose route the host took (said "not
 * used"), not the TUN's until a reload asks again? */
bool rv_subnets_taken(const struct rv_prefix *p);

/* rv_subnets_hold tells the demux to keep every subnet of |cfg| while no
 * session owns it (rv_demux_set_reserved): traffic to the network of a
 * client that is offline is dropped as unroutable, never sent to the owner
 * of an enclosing network, and no session may send from it. Called at
 * start-up and by a reload (rv_subnets_apply, which does it first). Returns
 * 0 or the demux's error (-ENOMEM). Control thread. */
int rv_subnets_hold(struct rv_demux *d, const struct rv_config *cfg);

#endif /* RV_TLS_SUBNETS_H */
