/*
 * ippool.h — the server's virtual-address pools: which tunnel addresses are
 * free, which are in use, and which one is the server's own.
 *
 * A pool covers an IPv4 network and/or an IPv6 prefix. In each family the
 * first host address (network + 1) belongs to the server and is never handed
 * out; clients get addresses from network + 2 upwards:
 *
 *   IPv4 10.8.0.0/16  -> server 10.8.0.1, clients 10.8.0.2 .. 10.8.255.254
 *                        (the network and broadcast addresses are excluded)
 *   IPv6 fd00::/64    -> server fd00::1,  clients fd00::2 .. fd00::<cap + 1>
 *
 * Each family holds at most |max_hosts| client addresses (an IPv6 /64 has
 * 2^64, so the cap is what sizes it); the bookkeeping is one bit per client
 * address, preallocated at creation. alloc hands out the next free address
 * after the last one handed out (a moving cursor), so an address released by
 * a departed client is reused as late as possible; amortised O(1).
 *
 * Pure and single-threaded: the control thread owns a pool and is its only
 * user. Addresses are struct rv_ip_addr (network byte order, ip.h).
 */
#ifndef RV_CORE_IPPOOL_H
#define RV_CORE_IPPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ip.h"

struct rv_ippool;

enum {
	RV_IPPOOL_MAX_HOSTS = 1 << 20,	 /* hard cap per family (128 KiB bitmap) */
	RV_IPPOOL_DEFAULT_HOSTS = 65534, /* cap used when max_hosts is 0 */
};

/* rv_ippool_new creates a pool from IPv4 network |net4| with prefix length
 * |prefix4| (1..30; |net4| NULL: no IPv4) and IPv6 prefix |net6|/|prefix6|
 * (1..126; |net6| NULL: no IPv6). Host bits set in a network address are
 * ignored. At most |max_hosts| client addresses per family (0: the default,
 * RV_IPPOOL_DEFAULT_HOSTS; at most RV_IPPOOL_MAX_HOSTS). Returns the pool, or
 * NULL with |*out_err| (may be NULL) set to -EINVAL (bad family or prefix, or
 * neither family given) or -ENOMEM. */
struct rv_ippool *rv_ippool_new(const struct rv_ip_addr *net4, unsigned prefix4,
				const struct rv_ip_addr *net6, unsigned prefix6, size_t max_hosts,
				int *out_err);

/* rv_ippool_free frees |pool|. NULL is a no-op. */
void rv_ippool_free(struct rv_ippool *pool);

/* rv_ippool_server_addr writes the server's own address in |family|
 * (AF_INET or AF_INET6) to |out|. Returns 0 or -EAFNOSUPPORT (family not in
 * the pool). */
int rv_ippool_server_addr(const struct rv_ippool *pool, int family, struct rv_ip_addr *out);

/* rv_ippool_prefix_len returns the prefix length of |family|, or 0 if the
 * pool has no such family. */
unsigned rv_ippool_prefix_len(const struct rv_ippool *pool, int family);

/* rv_ippool_alloc takes a free client address of |family| and writes it to
 * |out|. Returns 0, -EAFNOSUPPORT, or -ENOSPC (every address in use). */
int rv_ippool_alloc(struct rv_ippool *pool, int family, struct rv_ip_addr *out);

/* rv_ippool_alloc_specific takes exactly |addr| (a fixed per-certificate
 * address). Returns 0, -EADDRINUSE (already taken, or the server's own
 * address), -EINVAL (not a client address of the pool: outside the network,
 * the network or broadcast address, or beyond the cap), or -EAFNOSUPPORT. */
int rv_ippool_alloc_specific(struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_release returns |addr| to the pool. Returns 0, -ENOENT (it was not
 * allocated: a double release changes nothing), -EINVAL (not a client address
 * of the pool) or -EAFNOSUPPORT. */
int rv_ippool_release(struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_contains: is |addr| a client address of the pool (free or not)? */
bool rv_ippool_contains(const struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_in_use / rv_ippool_capacity count client addresses of |family|
 * (0 for a family the pool does not have). */
size_t rv_ippool_in_use(const struct rv_ippool *pool, int family);
size_t rv_ippool_capacity(const struct rv_ippool *pool, int family);

#endif /* RV_CORE_IPPOOL_H */
