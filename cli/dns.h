/*
 * dns.h — applying DNS servers a client's server pushes: systemd-resolved
 * over D-Bus (SetLinkDNS / SetLinkDomains on the tunnel link), which is
 * what resolvectl does, without running a program — so it also works after
 * the privilege drop (the control thread keeps CAP_NET_ADMIN, which
 * systemd-resolved accepts for per-link settings) and under the seccomp
 * filter. libsystemd is linked into the ringvpn binary only.
 */
#ifndef RV_CLI_DNS_H
#define RV_CLI_DNS_H

#include <stddef.h>

struct rv_ip_addr;

/* rv_cli_apply_dns is the rv_loop_params.apply_dns callback (|ctx|
 * unused). Returns 0, or -errno with why in |err| (e.g. systemd-resolved is
 * not running). Blocks for at most two seconds. Control thread. */
int rv_cli_apply_dns(void *ctx, const char *ifname, const struct rv_ip_addr *servers, size_t num,
		     const char *domain, char *err, size_t err_len);

#endif /* RV_CLI_DNS_H */
