/*
 * lpm.h — longest-prefix-match table for one address family: prefix ->
 * value, with lock-free lookups beside one writer.
 *
 * The demultiplexer keeps one per family (core/demux.h): every session's
 * own address as a /32 or /128 and the networks routed behind it, so that
 * one lookup by inner destination finds the session to seal for, and one
 * lookup by inner source tells whether the sending session may use it.
 *
 * Shape (lpm.c explains it in full): a multibit trie with a 2^16-entry
 * direct table and 6-bit strides below it, every node's 64 slots run-length
 * compressed behind a bitmap (one popcount per level), leaf-pushed (each slot
 * holds the answer for its whole range), and path-compressed (a node skips
 * the strides its prefixes all share, so a lone /128 costs one node, not
 * nineteen). An IPv4 lookup reads at most 4 words in a chain, an IPv6 one
 * rarely more than 5. Updates rebuild the changed part off to the side and
 * publish it with one store; replaced nodes go to QSBR.
 *
 * Values are opaque non-NULL pointers with the lowest bit clear (any object
 * aligned to 2 or more); NULL means "no prefix covers the address".
 *
 * Concurrency: one writer (the control thread) calls set/remove/free; any
 * number of readers call rv_lpm_lookup with no lock. A lookup returns either
 * the value before or the value after each concurrent update of the covering
 * prefixes, never a value no prefix had, and never crashes. Published nodes
 * are immutable; a replaced node is retired through the QSBR domain given at
 * creation, so a reader may keep using it until its next quiescent point
 * (see qsbr.h). A value returned by a lookup stays the caller's problem:
 * the demux unpublishes a session from every prefix before retiring it.
 */
#ifndef RV_CORE_LPM_H
#define RV_CORE_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_lpm;
struct rv_qsbr;

/* struct rv_lpm_stats describes the memory of one table. */
struct rv_lpm_stats {
	size_t num_prefixes;
	size_t num_nodes;    /* reader-side trie nodes */
	size_t node_bytes;   /* their size (slab blocks) */
	size_t slab_bytes;   /* chunks holding them, used or free */
	size_t direct_bytes; /* the direct table */
	size_t shadow_bytes; /* the writer's own copy of the prefixes */
	size_t degraded;     /* direct entries left coarse by a removal (repairing) */
	size_t leaked_bytes; /* nodes lost to out-of-memory while degraded */
};

/* rv_lpm_new returns an empty table for |family| (AF_INET or AF_INET6), or
 * NULL (bad family, out of memory). Replaced nodes are retired to |qsbr|;
 * with qsbr NULL they are freed at once, which is only safe when no reader
 * runs concurrently with the writer (single-threaded tools and tests). */
struct rv_lpm *rv_lpm_new(int family, struct rv_qsbr *qsbr);

/* rv_lpm_free frees the table and every node (the caller guarantees no
 * reader is running; retired batches already queued on the QSBR domain are
 * freed by it). The values are not touched. NULL is a no-op. */
void rv_lpm_free(struct rv_lpm *t);

/* rv_lpm_family returns AF_INET or AF_INET6. */
int rv_lpm_family(const struct rv_lpm *t);

/* rv_lpm_set maps the prefix |addr|/|len| (network byte order, 4 or 16 bytes
 * by family) to |value|, adding it or replacing its value. A replacement is
 * seen by readers as one switch from the old value to the new, with no
 * moment in between when the addresses have no value. Writer only.
 * Returns 0, -EINVAL (len beyond the family, bits set past len, value NULL
 * or odd) or -ENOMEM (the table is unchanged). */
int rv_lpm_set(struct rv_lpm *t, const uint8_t *addr, unsigned len, void *value);

/* rv_lpm_remove deletes the prefix |addr|/|len|; its addresses fall back to
 * the next shorter covering prefix. Writer only. Returns 0, -ENOENT (no such
 * prefix) or -EINVAL (as for set). It cannot fail for want of memory, so a
 * value can always be unpublished before it is freed: when the nodes for
 * the new path cannot be had even after a grace period and rv_qsbr_reclaim,
 * every direct entry the prefix reaches (a /16, or all of a shorter prefix)
 * is published as the answer of its prefixes of 16 bits or fewer alone —
 * coarse, but nothing in it can reach the removed value — and rebuilt
 * exactly at the start of the next set or remove that finds memory
 * (rv_lpm_stats.degraded counts such entries meanwhile). */
int rv_lpm_remove(struct rv_lpm *t, const uint8_t *addr, unsigned len);

/* rv_lpm_get returns the value of exactly the prefix |addr|/|len|, or NULL
 * if it is not in the table. Writer only (it reads the writer's copy). */
void *rv_lpm_get(const struct rv_lpm *t, const uint8_t *addr, unsigned len);

/* rv_lpm_lookup returns the value of the longest prefix containing the
 * address |addr| (network byte order, 4 or 16 bytes by family), or NULL.
 * Lock-free; any thread, concurrently with the writer; a reader must be a
 * QSBR reader of the table's domain (or the writer itself). */
void *rv_lpm_lookup(const struct rv_lpm *t, const uint8_t *addr);

/* rv_lpm_count returns the number of prefixes. */
size_t rv_lpm_count(const struct rv_lpm *t);

/* rv_lpm_set_memory_limit caps the node memory at |bytes| (0: no cap);
 * past it the table behaves as if out of memory. Writer only. */
void rv_lpm_set_memory_limit(struct rv_lpm *t, size_t bytes);

/* rv_lpm_get_stats fills |out|. Writer only. */
void rv_lpm_get_stats(const struct rv_lpm *t, struct rv_lpm_stats *out);

#endif /* RV_CORE_LPM_H */
