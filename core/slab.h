/*
 * slab.h — node memory for the lock-free tries (core/lpm.c): small blocks
 * in size classes carved from large chunks, so that the nodes a lookup walks
 * sit densely on few pages (huge pages when the kernel grants them) instead
 * of scattered through the heap between unrelated allocations.
 *
 * Classes: 16, 32 and 64 bytes, aligned to their size (a block never spans
 * two cache lines), then multiples of 64 up to RV_SLAB_MAX, cache-line
 * aligned. Chunks start at 64 KiB and double up to 2 MiB, so a table with a
 * handful of entries stays small. Freed blocks go to a free list per class;
 * chunks are returned to the system only when the slab is released.
 *
 * Lifetime: reference-counted. The owner holds one reference; anything that
 * may still free blocks later (a QSBR batch of retired nodes) holds another.
 * The last rv_slab_put frees every chunk.
 *
 * Threads: not thread-safe. Only the tries' writer (the control thread)
 * allocates, frees and counts; readers only read blocks it has published.
 *
 * Under AddressSanitizer every block is its own malloc, so a read of a
 * retired node is reported as a use after free instead of hitting a
 * recycled block.
 */
#ifndef RV_CORE_SLAB_H
#define RV_CORE_SLAB_H

#include <stddef.h>

enum { RV_SLAB_MAX = 1024 };

struct rv_slab;

/* rv_slab_new returns an empty slab with one reference, or NULL. */
struct rv_slab *rv_slab_new(void);

/* rv_slab_get takes another reference. */
void rv_slab_get(struct rv_slab *s);

/* rv_slab_put drops a reference; the last one frees every chunk, and with
 * them every block still allocated. NULL is a no-op. */
void rv_slab_put(struct rv_slab *s);

/* rv_slab_alloc returns an uninitialised block of at least |size| bytes
 * (1..RV_SLAB_MAX), or NULL (out of memory or size out of range). */
void *rv_slab_alloc(struct rv_slab *s, size_t size);

/* rv_slab_free returns the block |p|, allocated with the same |size|. */
void rv_slab_free(struct rv_slab *s, void *p, size_t size);

/* rv_slab_block_size returns the bytes a block of |size| really takes. */
size_t rv_slab_block_size(size_t size);

/* rv_slab_reserved returns the bytes held in chunks (in use or free). */
size_t rv_slab_reserved(const struct rv_slab *s);

/* rv_slab_set_limit caps the bytes of blocks in use at |bytes| (0: no
 * cap): rv_slab_alloc beyond it returns NULL, as when out of memory. */
void rv_slab_set_limit(struct rv_slab *s, size_t bytes);

#endif /* RV_CORE_SLAB_H */
