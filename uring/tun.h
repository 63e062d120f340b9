/*
 * tun.h — TUN queues and interface configuration.
 *
 * rv_tun_open opens one queue of a multi-queue TUN device (IFF_TUN |
 * IFF_NO_PI | IFF_MULTI_QUEUE, plus IFF_VNET_HDR for offloads), creating the
 * device if it does not exist. The interface helpers configure it through
 * ioctl (MTU, up) and rtnetlink (addresses, routes) — never by running ip(8).
 *
 * All functions return 0 or -errno. Thread-safe (no shared state).
 */
#ifndef RV_URING_TUN_H
#define RV_URING_TUN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ip.h"

/* rv_tun_open opens a queue of |name| ("" or NULL: kernel picks rvN... name)
 * and writes the interface name into |out_name| (IFNAMSIZ bytes) and the fd
 * into |*out_fd| (O_CLOEXEC; blocking, io_uring arms poll itself). */
int rv_tun_open(const char *name, bool vnet_hdr, char *out_name, int *out_fd);

/* rv_tun_set_offload issues TUNSETOFFLOAD with |flags| (TUN_F_*). */
int rv_tun_set_offload(int fd, unsigned flags);

int rv_tun_set_mtu(const char *ifname, unsigned mtu);
int rv_tun_set_up(const char *ifname);
/* rv_tun_set_txqueuelen sets how many packets the kernel queues for our reads
 * before dropping (TUN has no backpressure towards TCP). */
int rv_tun_set_txqueuelen(const char *ifname, unsigned qlen);

/* rv_tun_add_addr assigns |addr|/|prefix_len| (IPv4 or IPv6) to |ifname|;
 * an address already present is not an error. */
int rv_tun_add_addr(const char *ifname, const struct rv_ip_addr *addr, unsigned prefix_len);

/* rv_tun_del_addr removes |addr|/|prefix_len| from |ifname|. Returns 0 (also
 * when it was not there) or -errno. */
int rv_tun_del_addr(const char *ifname, const struct rv_ip_addr *addr, unsigned prefix_len);

/* rv_tun_add_route routes |dst|/|prefix_len| via |ifname| (existing: ok). */
int rv_tun_add_route(const char *ifname, const struct rv_ip_addr *dst, unsigned prefix_len);

/* rv_tun_del_route removes the route to |dst|/|prefix_len| via |ifname|.
 * Returns 0 (also when there was no such route) or -errno. */
int rv_tun_del_route(const char *ifname, const struct rv_ip_addr *dst, unsigned prefix_len);

#endif /* RV_URING_TUN_H */
