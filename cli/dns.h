/*
 * dns.h — applying DNS servers a client's server pushes: systemd-resolved
 * over D-Bus (SetLinkDNS / SetLinkDomains on the tunnel link, RevertLink to
 * take them back), which is what resolvectl does, without running a program
 * — so it also works under the seccomp filter. libsystemd is linked into
 * the ringvpn binary only.
 *
 * Who may call: resolved lets root (or its own user) change a link and asks
 * polkit about everyone else. A message bus tells it a caller's uid, never
 * its capabilities, so the CAP_NET_ADMIN the control thread keeps does not
 * count there: the client's user needs a polkit rule that grants it the
 * org.freedesktop.resolve1.set-dns-servers, set-domains and revert actions
 * (the package ships one for the user ringvpn; README, "Pushed DNS"). The
 * connection is made at the first push, after the privilege drop, on
 * purpose: one made as root and kept would let this process do anything
 * root may do over the bus (start a unit through systemd, for one), which
 * is what the drop takes away. The calls are made on a thread of their
 * own, each push on a connection of its own (rv_cli_apply_dns).
 */
#ifndef RV_CLI_DNS_H
#define RV_CLI_DNS_H

#include <stddef.h>

#include "core/ctlmsg.h"
#include "tls/loop.h"

enum {
	RV_CLI_DNS_MAX = RV_CTL_MAX_DNS,
	RV_CLI_DNS_DOMAIN_MAX = RV_CTL_MAX_DOMAIN,
	RV_CLI_DNS_DESC_MAX = 320,
};

struct rv_cli_dns;

/* rv_cli_dns_new makes the DNS applier; its thread starts at the first
 * request. Returns 0, or -ENOMEM; *|out| is freed with rv_cli_dns_free.
 * Control thread. */
int rv_cli_dns_new(struct rv_cli_dns **out);

/* rv_cli_dns_free stops the thread, waiting at most a second for a call in
 * flight, or five for a request not yet made, which is made once (the
 * revert of a persistent TUN's DNS at exit); then leaves it to the
 * process's exit. NULL ok. */
void rv_cli_dns_free(struct rv_cli_dns *d);

/* rv_cli_apply_dns is the rv_loop_params.apply_dns callback; |ctx| is a
 * struct rv_cli_dns (borrowed). It hands |req| to the DNS thread and
 * returns at once: the thread makes the calls (a connection to the bus and
 * each call bounded by two seconds; a newer request replaces one not yet
 * made) and logs the outcome ("DNS via IF: ..." or "server pushed DNS ...:
 * not applied: ..."), so that a slow, stuck or flooded bus or resolved
 * never holds up the control thread, its keepalives and key exchanges.
 * Returns 0, or -errno with why in |err| (no such link, no thread).
 * Control thread. */
int rv_cli_apply_dns(void *ctx, const struct rv_dns_want *req, char *err, size_t err_len);

#endif /* RV_CLI_DNS_H */
