/*
 * secmem.h — memory for key material that stays out of core dumps and,
 * where the memlock limit allows, out of swap.
 *
 * Objects come from chunks mapped with mmap and marked MADV_DONTDUMP; each
 * chunk is also mlock()ed when RLIMIT_MEMLOCK (or CAP_IPC_LOCK) allows it,
 * and used unlocked otherwise (counted: rv_secmem_stats). Freed objects are
 * wiped and kept on a per-size free list for reuse; chunks are never
 * unmapped, so the footprint is bounded by the peak number of live objects.
 *
 * Sizes are rounded up to a power of two from 64 bytes to RV_SECMEM_MAX;
 * every object is aligned to its size class (at least a cache line).
 *
 * Thread safety: all functions may be called from any thread (one mutex;
 * allocation is a control-plane operation, never per packet).
 */
#ifndef RV_CRYPTO_SECMEM_H
#define RV_CRYPTO_SECMEM_H

#include <stddef.h>
#include <stdint.h>

enum { RV_SECMEM_MAX = 8192 };

/* rv_secmem_alloc returns |size| (1..RV_SECMEM_MAX) zeroed bytes, or NULL
 * (ENOMEM, or a size out of range). */
void *rv_secmem_alloc(size_t size);

/* rv_secmem_free wipes and releases |p|, which rv_secmem_alloc returned for
 * the same |size|. NULL is a no-op. */
void rv_secmem_free(void *p, size_t size);

struct rv_secmem_stats {
	size_t chunks;	      /* chunks mapped */
	size_t locked_chunks; /* of which mlock() succeeded */
	size_t live;	      /* objects allocated and not freed */
};

/* rv_secmem_stats snapshots the allocator's counters. */
void rv_secmem_get_stats(struct rv_secmem_stats *out);

#endif /* RV_CRYPTO_SECMEM_H */
