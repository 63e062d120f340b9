/*
 * slab.c — size-class block allocator over large chunks (see slab.h).
 *
 * Blocks are bump-allocated from the newest chunk, aligned to their class
 * (at most a cache line); freed blocks form an intrusive list per class,
 * the link stored in the block itself. That write is safe: a block is freed
 * only after QSBR has shown that no reader can still look at it.
 */
#include "core/slab.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "core/compiler.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_MALLOC_EACH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_MALLOC_EACH 1
#endif
#endif
#ifndef SLAB_MALLOC_EACH
#define SLAB_MALLOC_EACH 0
#endif

enum {
	MIN_CHUNK = 64 << 10,
	MAX_CHUNK = 2 << 20, /* one huge page */
	SMALL_CLASSES = 3,   /* 16, 32, 64 */
	NUM_CLASSES = SMALL_CLASSES + RV_SLAB_MAX / RV_CACHELINE - 1,
};

struct rv_slab {
	size_t refs;
	void *free[NUM_CLASSES];
	char *cur, *end; /* bump region of the newest chunk */
	void **chunks;
	size_t num_chunks, cap_chunks;
	size_t next_chunk; /* size of the next chunk to get */
	size_t reserved;
	size_t in_use, limit; /* block bytes handed out; cap on them (0: none) */
};

static unsigned class_of(size_t size)
{
	if (size <= 16) {
		return 0;
	}
	if (size <= 32) {
		return 1;
	}
	if (size <= RV_CACHELINE) {
		return 2;
	}
	return SMALL_CLASSES + (unsigned)((size + RV_CACHELINE - 1) / RV_CACHELINE) - 2;
}

static size_t class_size(unsigned c)
{
	return c < SMALL_CLASSES ? (size_t)16 << c : (size_t)(c - 1) * RV_CACHELINE;
}

size_t rv_slab_block_size(size_t size)
{
	return class_size(class_of(size));
}

struct rv_slab *rv_slab_new(void)
{
	struct rv_slab *s = calloc(1, sizeof(*s));

	if (s) {
		s->refs = 1;
		s->next_chunk = MIN_CHUNK;
	}
	return s;
}

void rv_slab_get(struct rv_slab *s)
{
	s->refs++;
}

void rv_slab_put(struct rv_slab *s)
{
	if (!s || --s->refs > 0) {
		return;
	}
	for (size_t i = 0; i < s->num_chunks; i++) {
		free(s->chunks[i]);
	}
	free(s->chunks);
	free(s);
}

/* grow starts a new chunk (the rest of the old one is abandoned: at most one
 * block's worth). */
static int grow(struct rv_slab *s)
{
	size_t size = s->next_chunk;
	char *c;

	if (s->num_chunks == s->cap_chunks) {
		size_t cap = s->cap_chunks ? 2 * s->cap_chunks : 16;
		void **nc = realloc(s->chunks, cap * sizeof(*nc));

		if (!nc) {
			return -1;
		}
		s->chunks = nc;
		s->cap_chunks = cap;
	}
	c = aligned_alloc(size == MAX_CHUNK ? MAX_CHUNK : RV_CACHELINE, size);
	if (!c) {
		return -1;
	}
	if (size == MAX_CHUNK) {
		/* Best effort: one TLB entry for 2 MiB of nodes. */
		madvise(c, size, MADV_HUGEPAGE);
	}
	s->chunks[s->num_chunks++] = c;
	s->cur = c;
	s->end = c + size;
	s->reserved += size;
	s->next_chunk = size * 2 > MAX_CHUNK ? MAX_CHUNK : size * 2;
	return 0;
}

void *rv_slab_alloc(struct rv_slab *s, size_t size)
{
	unsigned c;
	size_t cs, align;
	char *p;

	if (size == 0 || size > RV_SLAB_MAX) {
		return NULL;
	}
	c = class_of(size);
	cs = class_size(c);
	align = cs < RV_CACHELINE ? cs : RV_CACHELINE;
	if (s->limit && s->in_use + cs > s->limit) {
		return NULL;
	}
	if (SLAB_MALLOC_EACH) {
		p = aligned_alloc(align, cs);
		if (p) {
			s->reserved += cs;
			s->in_use += cs;
		}
		return p;
	}
	if (s->free[c]) {
		p = s->free[c];
		s->free[c] = *(void **)(void *)p;
		s->in_use += cs;
		return p;
	}
	p = s->cur ? (char *)(((uintptr_t)s->cur + align - 1) & ~(uintptr_t)(align - 1)) : NULL;
	if (!p || (size_t)(s->end - p) < cs) {
		if (grow(s)) {
			return NULL;
		}
		p = s->cur; /* chunks are cache-line aligned */
	}
	s->cur = p + cs;
	s->in_use += cs;
	return p;
}

void rv_slab_free(struct rv_slab *s, void *p, size_t size)
{
	unsigned c = class_of(size);

	if (!p) {
		return;
	}
	s->in_use -= class_size(c);
	if (SLAB_MALLOC_EACH) {
		s->reserved -= class_size(c);
		free(p);
		return;
	}
	*(void **)p = s->free[c];
	s->free[c] = p;
}

size_t rv_slab_reserved(const struct rv_slab *s)
{
	return s->reserved;
}

void rv_slab_set_limit(struct rv_slab *s, size_t bytes)
{
	s->limit = bytes;
}
