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
 * is what the drop takes away.
 */
#ifndef RV_CLI_DNS_H
#define RV_CLI_DNS_H

#include <stddef.h>

struct rv_ip_addr;
struct rv_cli_dns;

/* rv_cli_dns_new makes the state of the connection to the system bus
 * (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket), which the first
 * apply opens and later ones reuse. Returns 0, or -ENOMEM; *|out| is freed
 * with rv_cli_dns_free. Control thread. */
int rv_cli_dns_new(struct rv_cli_dns **out);

/* rv_cli_dns_free closes the connection. NULL ok. */
void rv_cli_dns_free(struct rv_cli_dns *d);

/* rv_cli_apply_dns is the rv_loop_params.apply_dns callback; |ctx| is a
 * struct rv_cli_dns (borrowed). |num| servers and the search |domain| ("" =
 * none) replace the link's; none of either reverts what was set on the link
 * (RevertLink). A connection that broke is made again once. Returns 0, or
 * -errno with why in |err| (e.g. systemd-resolved is not running, or
 * refused). Blocks for at most two seconds per D-Bus call. Control
 * thread. */
int rv_cli_apply_dns(void *ctx, const char *ifname, const struct rv_ip_addr *servers, size_t num,
		     const char *domain, char *err, size_t err_len);

#endif /* RV_CLI_DNS_H */
