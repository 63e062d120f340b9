/*
 * demux.c — lock-free session lookup tables (see demux.h for the contract).
 *
 * Layout. The demux owns a fixed array of entries, one per published
 * session, each one cache line holding the session's three lookup keys (receiver
 * index, IPv4, IPv6), the session pointer and three chain links. Three
 * bucket arrays (index, IPv4, IPv6; a power of two >= 2 * max_sessions, so
 * chains average under 1.3 entries even when full) hold the number of the
 * first entry of their chain. A lookup reads one bucket word and one entry
 * line per chain step and never touches the session itself: with 65,536
 * sessions of several KiB each, dereferencing sessions would make every
 * lookup a cache and TLB miss, while the entries (4 MiB, on huge pages when
 * the kernel allows) and buckets stay cache-resident.
 *
 * Publication (one writer, lock-free readers):
 *   add:     fill a free entry inside its seqlock (seq odd while writing),
 *            then store the entry number in the bucket with release.
 *   remove:  the predecessor's link (bucket word or previous entry's next)
 *            is set to the entry's next with a release store. The entry is
 *            left as it is, so a reader standing on it walks on to the rest
 *            of the chain, and goes to the tail of a FIFO of free entries.
 *   reuse:   an entry may be rewritten for another session while a slow
 *            reader still stands on it. The reader notices: either the
 *            sequence number changed across its reads (a torn entry), or the
 *            entry now records a different bucket for this table (it moved
 *            to another chain). Either way it restarts from the bucket, so a
 *            lookup never returns a session under a key it does not have and
 *            never misses a session that stayed published.
 * A lookup may return a session that was removed an instant ago; it stays
 * valid memory until the grace period described in qsbr.h.
 *
 * Seqlock ordering without fences: the writer makes seq odd, writes the
 * fields with release stores, then makes seq even with a release store; the
 * reader loads seq, then the fields, all with acquire, then seq again. An
 * acquire load keeps every later load after it, so the second seq load
 * cannot move above the field loads; and a field value written after "seq
 * odd" carries that store with it. (All plain C11 atomics, so TSan models
 * it exactly; on x86 every one of these is a plain mov.)
 *
 * Hashing: receiver indices are random (rv_demux_alloc_index) but callers may
 * choose their own, and virtual addresses are dense (ippool hands them out in
 * sequence), so all keys go through a keyed multiply-xorshift mix seeded from
 * rv_rand_bytes. Chains only ever contain sessions the control thread
 * created, so traffic with chosen addresses cannot lengthen them; the key
 * makes the bucket layout of a given set of addresses unpredictable as well.
 */
#include "core/demux.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "core/internal.h"
#include "crypto/rand.h"

enum {
	ALLOC_INDEX_TRIES = 64,
	NO_BUCKET = UINT32_MAX, /* entry not in this table's chains */
	HUGE_PAGE = 2 << 20,
};

/* Entry numbers are stored +1 so that 0 ends a chain / marks an empty bucket. */
struct demux_entry {
	_Atomic uint32_t seq; /* odd: being rewritten */
	_Atomic uint32_t index;
	_Atomic uint32_t v4;
	_Atomic uint32_t next_index;
	_Atomic uint32_t next_v4;
	_Atomic uint32_t next_v6;
	_Atomic uint32_t bucket_index; /* chain it is on, per table */
	_Atomic uint32_t bucket_v4;
	_Atomic uint32_t bucket_v6;
	_Atomic uint64_t v6[2];
	struct rv_session *_Atomic s;
} RV_CACHE_ALIGNED;

_Static_assert(sizeof(struct demux_entry) == RV_CACHELINE, "one entry per cache line");

struct rv_demux {
	_Atomic uint32_t *by_index;
	_Atomic uint32_t *by_v4;
	_Atomic uint32_t *by_v6;
	struct demux_entry *entries;
	uint64_t key[4]; /* hash keys; [1] and [3] odd */
	uint32_t mask;	 /* buckets - 1 */
	size_t max_sessions;
	_Atomic size_t num_sessions;
	struct rv_session *_Atomic dflt;
	/* Writer-only FIFO of free entry numbers. */
	uint32_t *free_ring;
	size_t free_head, free_len;
};

static inline uint32_t mix64(uint64_t x, uint64_t k)
{
	x ^= x >> 32;
	x *= k;
	x ^= x >> 29;
	return (uint32_t)(x >> 32);
}

static inline uint32_t hash_index(const struct rv_demux *d, uint32_t index)
{
	return mix64((uint64_t)index ^ d->key[0], d->key[1]) & d->mask;
}

static inline uint32_t hash_v4(const struct rv_demux *d, uint32_t v4)
{
	return mix64((uint64_t)v4 ^ d->key[2], d->key[1]) & d->mask;
}

static inline uint32_t hash_v6(const struct rv_demux *d, uint64_t w0, uint64_t w1)
{
	return mix64(w0 ^ d->key[2] ^ ((w1 ^ d->key[0]) * d->key[3]), d->key[1]) & d->mask;
}

static void *alloc_table(size_t size)
{
	void *p;

	if (size >= HUGE_PAGE) {
		size = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
		p = aligned_alloc(HUGE_PAGE, size);
		if (p) {
			/* Best effort: fewer TLB misses on random lookups. */
			madvise(p, size, MADV_HUGEPAGE);
		}
	} else {
		size = (size + RV_CACHELINE - 1) & ~(size_t)(RV_CACHELINE - 1);
		p = aligned_alloc(RV_CACHELINE, size);
	}
	if (p) {
		memset(p, 0, size);
	}
	return p;
}

struct rv_demux *rv_demux_new(size_t max_sessions)
{
	struct rv_demux *d;
	size_t buckets = 1;

	if (max_sessions == 0 || max_sessions > ((size_t)1 << 30)) {
		return NULL;
	}
	while (buckets < 2 * max_sessions) {
		buckets <<= 1;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		return NULL;
	}
	d->by_index = alloc_table(buckets * sizeof(*d->by_index));
	d->by_v4 = alloc_table(buckets * sizeof(*d->by_v4));
	d->by_v6 = alloc_table(buckets * sizeof(*d->by_v6));
	d->entries = alloc_table(max_sessions * sizeof(*d->entries));
	d->free_ring = calloc(max_sessions, sizeof(*d->free_ring));
	if (!d->by_index || !d->by_v4 || !d->by_v6 || !d->entries || !d->free_ring) {
		rv_demux_free(d);
		return NULL;
	}
	for (size_t i = 0; i < max_sessions; i++) {
		d->free_ring[i] = (uint32_t)i;
	}
	d->free_head = 0;
	d->free_len = max_sessions;
	rv_rand_bytes((uint8_t *)d->key, sizeof(d->key));
	d->key[1] |= 1;
	d->key[3] |= 1;
	d->mask = (uint32_t)(buckets - 1);
	d->max_sessions = max_sessions;
	return d;
}

void rv_demux_free(struct rv_demux *d)
{
	if (!d) {
		return;
	}
	free(d->by_index);
	free(d->by_v4);
	free(d->by_v6);
	free(d->entries);
	free(d->free_ring);
	free(d);
}

/* ---- lookups (any thread, no lock) ------------------------------------- */

/*
 * One chain walk per table. Each step reads the entry under its seqlock and
 * checks that the entry is still on the chain of bucket |h|; any doubt
 * restarts the walk from the bucket (see the file comment). Restarts need
 * the writer to rewrite the very entry being read, so they are rare and
 * bounded by the writer's pace.
 */
struct rv_session *rv_demux_by_index(const struct rv_demux *d, uint32_t index)
{
	const uint32_t h = hash_index(d, index);
	uint32_t id;

retry:
	id = atomic_load_explicit(&d->by_index[h], memory_order_acquire);
	while (id) {
		const struct demux_entry *e = &d->entries[id - 1];
		uint32_t seq = atomic_load_explicit(&e->seq, memory_order_acquire);
		uint32_t key = atomic_load_explicit(&e->index, memory_order_acquire);
		uint32_t b = atomic_load_explicit(&e->bucket_index, memory_order_acquire);
		struct rv_session *s = atomic_load_explicit(&e->s, memory_order_acquire);

		id = atomic_load_explicit(&e->next_index, memory_order_acquire);
		if (unlikely((seq & 1) || b != h ||
			     atomic_load_explicit(&e->seq, memory_order_relaxed) != seq)) {
			goto retry;
		}
		if (key == index) {
			return s;
		}
	}
	return NULL;
}

static inline struct rv_session *find_v4(const struct rv_demux *d, uint32_t v4)
{
	const uint32_t h = hash_v4(d, v4);
	uint32_t id;

retry:
	id = atomic_load_explicit(&d->by_v4[h], memory_order_acquire);
	while (id) {
		const struct demux_entry *e = &d->entries[id - 1];
		uint32_t seq = atomic_load_explicit(&e->seq, memory_order_acquire);
		uint32_t key = atomic_load_explicit(&e->v4, memory_order_acquire);
		uint32_t b = atomic_load_explicit(&e->bucket_v4, memory_order_acquire);
		struct rv_session *s = atomic_load_explicit(&e->s, memory_order_acquire);

		id = atomic_load_explicit(&e->next_v4, memory_order_acquire);
		if (unlikely((seq & 1) || b != h ||
			     atomic_load_explicit(&e->seq, memory_order_relaxed) != seq)) {
			goto retry;
		}
		if (key == v4) {
			return s;
		}
	}
	return NULL;
}

static inline struct rv_session *find_v6(const struct rv_demux *d, uint64_t w0, uint64_t w1)
{
	const uint32_t h = hash_v6(d, w0, w1);
	uint32_t id;

retry:
	id = atomic_load_explicit(&d->by_v6[h], memory_order_acquire);
	while (id) {
		const struct demux_entry *e = &d->entries[id - 1];
		uint32_t seq = atomic_load_explicit(&e->seq, memory_order_acquire);
		uint64_t k0 = atomic_load_explicit(&e->v6[0], memory_order_acquire);
		uint64_t k1 = atomic_load_explicit(&e->v6[1], memory_order_acquire);
		uint32_t b = atomic_load_explicit(&e->bucket_v6, memory_order_acquire);
		struct rv_session *s = atomic_load_explicit(&e->s, memory_order_acquire);

		id = atomic_load_explicit(&e->next_v6, memory_order_acquire);
		if (unlikely((seq & 1) || b != h ||
			     atomic_load_explicit(&e->seq, memory_order_relaxed) != seq)) {
			goto retry;
		}
		if (k0 == w0 && k1 == w1) {
			return s;
		}
	}
	return NULL;
}

struct rv_session *rv_demux_by_addr(const struct rv_demux *d, const struct rv_ip_addr *addr)
{
	if (addr->family == AF_INET) {
		uint32_t k;

		memcpy(&k, addr->a, sizeof(k));
		return find_v4(d, k);
	}
	if (addr->family == AF_INET6) {
		uint64_t w[2];

		memcpy(w, addr->a, sizeof(w));
		return find_v6(d, w[0], w[1]);
	}
	return NULL;
}

struct rv_session *rv_demux_by_dst4(const struct rv_demux *d, const uint8_t *addr4)
{
	struct rv_session *s;
	uint32_t k;

	memcpy(&k, addr4, sizeof(k));
	s = find_v4(d, k);
	return s ? s : atomic_load_explicit(&d->dflt, memory_order_acquire);
}

struct rv_session *rv_demux_by_dst6(const struct rv_demux *d, const uint8_t *addr6)
{
	struct rv_session *s;
	uint64_t w[2];

	memcpy(w, addr6, sizeof(w));
	s = find_v6(d, w[0], w[1]);
	return s ? s : atomic_load_explicit(&d->dflt, memory_order_acquire);
}

size_t rv_demux_count(const struct rv_demux *d)
{
	return atomic_load_explicit(&d->num_sessions, memory_order_relaxed);
}

/* ---- writer ------------------------------------------------------------ */

int rv_demux_alloc_index(struct rv_demux *d, uint32_t *out_index)
{
	if (rv_demux_count(d) >= d->max_sessions) {
		return -ENOSPC;
	}
	/* With at most 2^30 sessions each draw collides with probability
	 * <= 1/4 (about 2^-16 at RV_DEMUX_MAX_SESSIONS); 64 misses in a row
	 * mean the random source is broken, not bad luck. */
	for (int i = 0; i < ALLOC_INDEX_TRIES; i++) {
		uint32_t v = rv_rand_u32();

		if (v != 0 && !rv_demux_by_index(d, v)) {
			*out_index = v;
			return 0;
		}
	}
	return -ENOSPC;
}

/* unlink removes entry |id| (number + 1) from the chain starting at |head|,
 * whose links are the |next_off| field of each entry. The writer is the only
 * thread that stores links, so it walks with relaxed loads. */
static void unlink_entry(struct rv_demux *d, _Atomic uint32_t *head, uint32_t id, size_t next_off)
{
	_Atomic uint32_t *link = head;
	uint32_t cur;

	while ((cur = atomic_load_explicit(link, memory_order_relaxed)) != 0) {
		_Atomic uint32_t *next =
			(_Atomic uint32_t *)(void *)((char *)&d->entries[cur - 1] + next_off);

		if (cur == id) {
			atomic_store_explicit(link,
					      atomic_load_explicit(next, memory_order_relaxed),
					      memory_order_release);
			return;
		}
		link = next;
	}
}

int rv_demux_add(struct rv_demux *d, struct rv_session *s)
{
	struct demux_entry *e;
	uint32_t id, seq, hi, h4 = NO_BUCKET, h6 = NO_BUCKET;

	if (s->published || rv_demux_by_index(d, s->local_index) ||
	    (s->has_v4 && find_v4(d, s->v4key)) ||
	    (s->has_v6 && find_v6(d, s->v6key[0], s->v6key[1]))) {
		return -EEXIST;
	}
	if (rv_demux_count(d) >= d->max_sessions || d->free_len == 0) {
		return -ENOSPC;
	}
	id = d->free_ring[d->free_head];
	d->free_head = (d->free_head + 1) % d->max_sessions;
	d->free_len--;
	e = &d->entries[id];

	hi = hash_index(d, s->local_index);
	if (s->has_v4) {
		h4 = hash_v4(d, s->v4key);
	}
	if (s->has_v6) {
		h6 = hash_v6(d, s->v6key[0], s->v6key[1]);
	}

	/* Rewrite the entry under its seqlock: a reader still standing on it
	 * from its previous life must see either the old or the new contents
	 * whole, or retry. */
	seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
	atomic_store_explicit(&e->seq, seq + 1, memory_order_relaxed);
	atomic_store_explicit(&e->index, s->local_index, memory_order_release);
	atomic_store_explicit(&e->v4, s->v4key, memory_order_release);
	atomic_store_explicit(&e->v6[0], s->v6key[0], memory_order_release);
	atomic_store_explicit(&e->v6[1], s->v6key[1], memory_order_release);
	atomic_store_explicit(&e->bucket_index, hi, memory_order_release);
	atomic_store_explicit(&e->bucket_v4, h4, memory_order_release);
	atomic_store_explicit(&e->bucket_v6, h6, memory_order_release);
	atomic_store_explicit(&e->next_index,
			      atomic_load_explicit(&d->by_index[hi], memory_order_relaxed),
			      memory_order_release);
	atomic_store_explicit(&e->next_v4,
			      s->has_v4 ? atomic_load_explicit(&d->by_v4[h4], memory_order_relaxed)
					: 0,
			      memory_order_release);
	atomic_store_explicit(&e->next_v6,
			      s->has_v6 ? atomic_load_explicit(&d->by_v6[h6], memory_order_relaxed)
					: 0,
			      memory_order_release);
	atomic_store_explicit(&e->s, s, memory_order_release);
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);

	/* Publish: a reader that loads the bucket sees the entry whole. */
	atomic_store_explicit(&d->by_index[hi], id + 1, memory_order_release);
	if (s->has_v4) {
		atomic_store_explicit(&d->by_v4[h4], id + 1, memory_order_release);
	}
	if (s->has_v6) {
		atomic_store_explicit(&d->by_v6[h6], id + 1, memory_order_release);
	}
	s->demux_entry = id;
	s->published = true;
	atomic_store_explicit(&d->num_sessions, rv_demux_count(d) + 1, memory_order_relaxed);
	return 0;
}

void rv_demux_remove(struct rv_demux *d, struct rv_session *s)
{
	uint32_t id = s->demux_entry;
	struct demux_entry *e;

	if (atomic_load_explicit(&d->dflt, memory_order_relaxed) == s) {
		atomic_store_explicit(&d->dflt, NULL, memory_order_release);
	}
	if (!s->published || id >= d->max_sessions ||
	    atomic_load_explicit(&d->entries[id].s, memory_order_relaxed) != s) {
		return;
	}
	e = &d->entries[id];
	unlink_entry(d, &d->by_index[atomic_load_explicit(&e->bucket_index, memory_order_relaxed)],
		     id + 1, offsetof(struct demux_entry, next_index));
	if (s->has_v4) {
		unlink_entry(d,
			     &d->by_v4[atomic_load_explicit(&e->bucket_v4, memory_order_relaxed)],
			     id + 1, offsetof(struct demux_entry, next_v4));
	}
	if (s->has_v6) {
		unlink_entry(d,
			     &d->by_v6[atomic_load_explicit(&e->bucket_v6, memory_order_relaxed)],
			     id + 1, offsetof(struct demux_entry, next_v6));
	}
	/* The entry keeps its contents (and its stale pointer to s) until it is
	 * reused; FIFO reuse makes that as late as possible. */
	d->free_ring[(d->free_head + d->free_len) % d->max_sessions] = id;
	d->free_len++;
	s->published = false;
	atomic_store_explicit(&d->num_sessions, rv_demux_count(d) - 1, memory_order_relaxed);
}

void rv_demux_set_default(struct rv_demux *d, struct rv_session *s)
{
	atomic_store_explicit(&d->dflt, s, memory_order_release);
}
