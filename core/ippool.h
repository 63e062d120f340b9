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
 * Each family hands out at most |max_hosts| client addresses dynamically
 * (an IPv6 /64 has 2^64, so the cap is what sizes it); a fixed address past
 * them (up to RV_IPPOOL_MAX_HOSTS) grows the tables to it, and the
 * addresses between are no one's. The bookkeeping is two bits per client
 * address (in use, reserved), allocated at creation and at such a growth. alloc hands out the
 * next free address after the last one handed out (a moving cursor), so an
 * address released by a departed client is reused as late as possible;
 * amortised O(1).
 *
 * Reservations: a fixed per-certificate address is reserved for its owner
 * (rv_ippool_reserve), and from then on only rv_ippool_alloc_reserved hands
 * it out. Neither the cursor (however often a client reconnects to move it)
 * nor an explicit request for that address (alloc_specific) can take it,
 * and releasing it keeps the reservation.
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

/* rv_ippool_server_prefixes writes the server's own addresses with their
 * pool's prefix length (IPv4 first, then IPv6; at most two) into |out|, as
 * its TUN device carries them. Returns how many. */
size_t rv_ippool_server_prefixes(const struct rv_ippool *pool, struct rv_prefix out[2]);

/* rv_ippool_prefix_len returns the prefix length of |family|, or 0 if the
 * pool has no such family. */
unsigned rv_ippool_prefix_len(const struct rv_ippool *pool, int family);

/* rv_ippool_alloc takes a free, unreserved client address of |family| and
 * writes it to |out|. Returns 0, -EAFNOSUPPORT, or -ENOSPC (every address in
 * use or reserved). */
int rv_ippool_alloc(struct rv_ippool *pool, int family, struct rv_ip_addr *out);

/* rv_ippool_alloc_near is rv_ippool_alloc from the pool's dynamic address
 * |at| (modulo their number) on instead of from where the last one ended,
 * which it leaves as it was: the allocator's probe of places at random. */
int rv_ippool_alloc_near(struct rv_ippool *pool, int family, uint32_t at, struct rv_ip_addr *out);

/* rv_ippool_alloc_specific takes exactly |addr| (e.g. the address a
 * reconnecting client held before). Returns 0, -EACCES (reserved for a
 * certificate: see rv_ippool_alloc_reserved), -EADDRINUSE (already taken, or
 * the server's own address), -EINVAL (not a client address of the pool:
 * outside the network, the network or broadcast address, or beyond the
 * cap), or -EAFNOSUPPORT. */
int rv_ippool_alloc_specific(struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_alloc_reserved takes the reserved address |addr| for its owner.
 * Returns 0, -ENOENT (not reserved), -EADDRINUSE (reserved but in use), or
 * -EINVAL (not a client address of the pool, any family). */
int rv_ippool_alloc_reserved(struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_release returns |addr| to the pool; a reserved address stays
 * reserved. Returns 0, -ENOENT (it was not allocated: a double release
 * changes nothing), -EINVAL (not a client address of the pool) or
 * -EAFNOSUPPORT. */
int rv_ippool_release(struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_reserve reserves |addr| for the one certificate it is fixed to.
 * An address of the network past the first max_hosts takes the pool up to
 * it (the addresses between are no one's: only the first max_hosts are
 * handed out dynamically). Returns 0 (also when
 * already reserved), -EINVAL (not a client address of the network, any
 * family), -ERANGE (past RV_IPPOOL_MAX_HOSTS) or -ENOMEM. An address in use
 * stays in use (a client may hold it dynamically) and is reserved from its
 * release on. */
int rv_ippool_reserve(struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_reserve_fixed reserves the |num| fixed addresses of a
 * configuration (`fixed`), so that the pool hands them to nobody else.
 * Returns 0, or -EINVAL (or -ENOMEM) with the reason in |err|: an address
 * the pool could never hand out (the server's own, the network's or
 * broadcast address, another network, or past RV_IPPOOL_MAX_HOSTS). */
struct rv_config;
int rv_ippool_reserve_fixed(struct rv_ippool *pool, const struct rv_config *cfg, char *err,
			    size_t err_len);

/* rv_ippool_unreserve ends the reservation of |addr| (config reload dropped
 * it); in use or free, it stays so, as an ordinary address. No-op if |addr|
 * is not reserved or not a client address of the pool. */
void rv_ippool_unreserve(struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_reserved: is |addr| reserved? */
bool rv_ippool_reserved(const struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_in_use_addr: is |addr| allocated now (by any alloc function)? */
bool rv_ippool_in_use_addr(const struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_contains: is |addr| a client address of the pool (free or not)? */
bool rv_ippool_contains(const struct rv_ippool *pool, const struct rv_ip_addr *addr);

/* rv_ippool_in_use / rv_ippool_capacity count client addresses of |family|
 * (0 for a family the pool does not have); in_use counts reserved addresses
 * only while they are allocated. */
size_t rv_ippool_in_use(const struct rv_ippool *pool, int family);
size_t rv_ippool_capacity(const struct rv_ippool *pool, int family);
/* rv_ippool_open_capacity: the client addresses of |family| that anyone may
 * be given (the dynamic ones, less those reserved for a fixed name). */
size_t rv_ippool_open_capacity(const struct rv_ippool *pool, int family);
/* rv_ippool_open_free: those of them free now (a walk of the pool's
 * bitmap: 16 K words at the largest). */
size_t rv_ippool_open_free(const struct rv_ippool *pool, int family);

#endif /* RV_CORE_IPPOOL_H */
