/*
 * secmem.c — key memory outside core dumps and swap (see secmem.h).
 *
 * A bump allocator over 256 KiB chunks plus one free list per 64-byte size
 * class. Nothing here is on the packet path: keys are allocated when an
 * epoch is installed and freed after a QSBR grace period.
 */
#include "crypto/secmem.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "crypto/mem.h"

/* Under AddressSanitizer, free objects are poisoned so that a use after
 * free (say, a worker touching keys after their grace period) is reported
 * even though this allocator recycles the memory itself. */
#if defined(__SANITIZE_ADDRESS__)
#define RV_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RV_HAVE_ASAN 1
#endif
#endif
#ifdef RV_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

enum {
	GRAIN = 64,
	NUM_CLASSES = RV_SECMEM_MAX / GRAIN,
	CHUNK_SIZE = 256 * 1024,
};

struct free_obj {
	struct free_obj *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_obj *free_lists[NUM_CLASSES];
static uint8_t *bump, *bump_end;
static struct rv_secmem_stats stats;

static size_t class_of(size_t size)
{
	return (size + GRAIN - 1) / GRAIN - 1;
}

/* new_chunk maps a fresh chunk. MADV_DONTDUMP keeps it out of core files
 * even if a dump is enabled later; mlock keeps it out of swap, but an
 * unprivileged process is usually limited to a few MiB of locked memory, so
 * a refusal only costs the swap protection and is counted, not fatal. */
static bool new_chunk(void)
{
	void *p =
		mmap(NULL, CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		return false;
	}
	(void)madvise(p, CHUNK_SIZE, MADV_DONTDUMP);
	if (mlock(p, CHUNK_SIZE) == 0) {
		stats.locked_chunks++;
	}
	stats.chunks++;
	poison(p, CHUNK_SIZE);
	bump = p;
	bump_end = bump + CHUNK_SIZE;
	return true;
}

void *rv_secmem_alloc(size_t size)
{
	struct free_obj *o;
	size_t cls, rounded;
	void *p = NULL;

	if (size == 0 || size > RV_SECMEM_MAX) {
		return NULL;
	}
	cls = class_of(size);
	rounded = (cls + 1) * GRAIN;
	pthread_mutex_lock(&lock);
	o = free_lists[cls];
	if (o) {
		free_lists[cls] = o->next;
		p = o;
	} else if ((size_t)(bump_end - bump) >= rounded || new_chunk()) {
		/* The tail of a previous chunk too small for this class is
		 * abandoned: at most RV_SECMEM_MAX bytes per chunk. */
		p = bump;
		bump += rounded;
	}
	if (p) {
		stats.live++;
		unpoison(p, rounded);
	}
	pthread_mutex_unlock(&lock);
	if (p) {
		memset(p, 0, rounded);
	}
	return p;
}

void rv_secmem_free(void *p, size_t size)
{
	struct free_obj *o = p;
	size_t cls;

	if (!p) {
		return;
	}
	cls = class_of(size);
	rv_memzero(p, (cls + 1) * GRAIN);
	pthread_mutex_lock(&lock);
	o->next = free_lists[cls];
	free_lists[cls] = o;
	stats.live--;
	/* The list link stays readable; the rest is off limits until reuse. */
	poison((uint8_t *)p + sizeof(*o), (cls + 1) * GRAIN - sizeof(*o));
	pthread_mutex_unlock(&lock);
}

void rv_secmem_get_stats(struct rv_secmem_stats *out)
{
	pthread_mutex_lock(&lock);
	*out = stats;
	pthread_mutex_unlock(&lock);
}
