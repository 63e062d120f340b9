/*
 * demux.c — lock-free session lookup tables (see demux.h for the contract).
 *
 * By address: two core/lpm.h tries (IPv4, IPv6) whose values are session
 * pointers. A session's own addresses are its /32 and /128; the networks it
 * owns are listed per session here (writer-only, by demux entry) so that
 * removing the session unpublishes them all, and so that a prefix taken over
 * by another session leaves its previous owner's list. A network the
 * configuration keeps while its owner is away (rv_demux_set_reserved) holds
 * a placeholder value, the address of the demux's |nobody| field, which no
 * lookup returns: readers see NULL for it, and no session equals it in the
 * source check. Without it, the addresses of a network carved out of
 * another would fall to the enclosing network's owner whenever their own
 * owner is offline. The tries carry the
 * same contract as the index table below: one writer, lock-free readers,
 * replaced nodes retired through QSBR. At 65,536 host entries a lookup by
 * destination costs about what the exact-match hash it replaced did
 * (perf/bench_lpm.c, "hosts"), and it answers networks too.
 *
 * By index. The demux owns a fixed array of entries, one per published
 * session, each one cache line holding the session's receiver index, the
 * session pointer and the chain link. A bucket array (a power of two >=
 * 2 * max_sessions, so chains average under 1.3 entries even when full)
 * holds the number of the first entry of its chain. A lookup reads one
 * bucket word and one entry line per chain step and never touches the
 * session itself: with 65,536 sessions of several KiB each, dereferencing
 * sessions would make every lookup a cache and TLB miss, while the entries
 * (4 MiB, on huge pages when the kernel allows) and buckets stay
 * cache-resident.
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
 *            entry now records a different bucket (it moved to another
 *            chain). Either way it restarts from the bucket, so a lookup
 *            never returns a session under a key it does not have and never
 *            misses a session that stayed published.
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
 * choose their own, so they go through a keyed multiply-xorshift mix seeded
 * from rv_rand_bytes. Chains only ever contain sessions the control thread
 * created, so traffic with chosen indices cannot lengthen them; the key
 * makes the bucket layout of a given set of indices unpredictable as well.
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
#include "core/lpm.h"
#include "core/qsbr.h"
#include "crypto/rand.h"

enum {
	ALLOC_INDEX_TRIES = 64,
	HUGE_PAGE = 2 << 20,
};

/* Entry numbers are stored +1 so that 0 ends a chain / marks an empty bucket. */
struct demux_entry {
	_Atomic uint32_t seq; /* odd: being rewritten */
	_Atomic uint32_t index;
	_Atomic uint32_t next;
	_Atomic uint32_t bucket; /* chain it is on */
	struct rv_session *_Atomic s;
} RV_CACHE_ALIGNED;

_Static_assert(sizeof(struct demux_entry) == RV_CACHELINE, "one entry per cache line");

/* The networks one session owns (writer-only, by demux entry number). */
struct owned {
	struct rv_prefix *p;
	size_t n, cap;
};

struct rv_demux {
	_Atomic uint32_t *by_index;
	struct rv_lpm *lpm4, *lpm6;
	struct demux_entry *entries;
	uint64_t key[2]; /* hash key; [1] odd */
	uint32_t mask;	 /* buckets - 1 */
	size_t max_sessions;
	_Atomic size_t num_sessions;
	struct rv_session *_Atomic dflt;
	struct rv_qsbr *qsbr;
	/* Writer-only FIFO of free entry numbers. */
	uint32_t *free_ring;
	size_t free_head, free_len;
	struct owned *owned;
	/* Writer-only: the networks kept while nobody owns them. */
	struct owned reserved;
	/* Are there any (reserved.n != 0)? Read by rv_demux_held, which
	 * every packet of a server's client to the outside asks
	 * (worker_rx.c offline_place): none, no lookup. */
	_Atomic bool any_reserved;
	/* Its address is the placeholder value of a reserved network that no
	 * session owns (even: the trie's values must be). */
	uint64_t nobody;
	/* Writer-only session count per lane (receiver index % nlanes). */
	unsigned nlanes;
	unsigned lane_sessions[RV_DEMUX_MAX_LANES];
	rv_demux_watch_fn watch;
	void *watch_ctx;
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

struct rv_demux *rv_demux_new(size_t max_sessions, struct rv_qsbr *qsbr)
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
	d->entries = alloc_table(max_sessions * sizeof(*d->entries));
	d->free_ring = calloc(max_sessions, sizeof(*d->free_ring));
	d->owned = calloc(max_sessions, sizeof(*d->owned));
	d->lpm4 = rv_lpm_new(AF_INET, qsbr);
	d->lpm6 = rv_lpm_new(AF_INET6, qsbr);
	if (!d->by_index || !d->entries || !d->free_ring || !d->owned || !d->lpm4 || !d->lpm6) {
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
	d->mask = (uint32_t)(buckets - 1);
	d->max_sessions = max_sessions;
	d->qsbr = qsbr;
	return d;
}

void rv_demux_free(struct rv_demux *d)
{
	if (!d) {
		return;
	}
	for (size_t i = 0; d->owned && i < d->max_sessions; i++) {
		free(d->owned[i].p);
	}
	free(d->owned);
	free(d->reserved.p);
	rv_lpm_free(d->lpm4);
	rv_lpm_free(d->lpm6);
	free(d->by_index);
	free(d->entries);
	free(d->free_ring);
	free(d);
}

/* ---- lookups (any thread, no lock) ------------------------------------- */

/*
 * One chain walk. Each step reads the entry under its seqlock and checks
 * that the entry is still on the chain of bucket |h|; any doubt restarts
 * the walk from the bucket (see the file comment). Restarts need the writer
 * to rewrite the very entry being read, so they are rare and bounded by the
 * writer's pace.
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
		uint32_t b = atomic_load_explicit(&e->bucket, memory_order_acquire);
		struct rv_session *s = atomic_load_explicit(&e->s, memory_order_acquire);

		id = atomic_load_explicit(&e->next, memory_order_acquire);
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

static struct rv_lpm *lpm_of(const struct rv_demux *d, int family)
{
	return family == AF_INET ? d->lpm4 : family == AF_INET6 ? d->lpm6 : NULL;
}

static inline struct rv_session *nobody(const struct rv_demux *d)
{
	return (struct rv_session *)(uintptr_t)&d->nobody;
}

/* is_own_addr: is |a| one of |s|'s own virtual addresses? */
static bool is_own_addr(const struct rv_session *s, const struct rv_ip_addr *a)
{
	if (a->family == AF_INET) {
		return s->has_v4 && memcmp(a->a, s->vaddr4.a, 4) == 0;
	}
	return a->family == AF_INET6 && s->has_v6 && memcmp(a->a, s->vaddr6.a, 16) == 0;
}

struct rv_session *rv_demux_by_addr(const struct rv_demux *d, const struct rv_ip_addr *addr)
{
	const struct rv_lpm *t = lpm_of(d, addr->family);
	struct rv_session *s = t ? rv_lpm_lookup(t, addr->a) : NULL;

	/* A session found by a network it owns is not the address's owner.
	 * Reading |s| is safe: it is valid until the grace period ends. */
	return s && s != nobody(d) && is_own_addr(s, addr) ? s : NULL;
}

struct rv_session *rv_demux_by_dst4(const struct rv_demux *d, const uint8_t *addr4)
{
	struct rv_session *s = rv_lpm_lookup(d->lpm4, addr4);

	if (unlikely(s == nobody(d))) {
		return NULL; /* reserved: not the default either */
	}
	return s ? s : atomic_load_explicit(&d->dflt, memory_order_acquire);
}

struct rv_session *rv_demux_by_dst6(const struct rv_demux *d, const uint8_t *addr6)
{
	struct rv_session *s = rv_lpm_lookup(d->lpm6, addr6);

	if (unlikely(s == nobody(d))) {
		return NULL;
	}
	return s ? s : atomic_load_explicit(&d->dflt, memory_order_acquire);
}

bool rv_demux_held(const struct rv_demux *d, const struct rv_ip_addr *addr)
{
	const struct rv_lpm *t;

	if (!atomic_load_explicit(&d->any_reserved, memory_order_relaxed)) {
		return false;
	}
	t = lpm_of(d, addr->family);
	return t != NULL && rv_lpm_lookup(t, addr->a) == nobody(d);
}

bool rv_demux_removed(const struct rv_session *s)
{
	return atomic_load_explicit(&s->removed, memory_order_acquire);
}

bool rv_demux_source_ok(const struct rv_demux *d, const struct rv_session *s,
			const struct rv_ip_addr *src)
{
	const struct rv_lpm *t;

	/* Own address first: the common case costs a compare, as before
	 * networks existed. Everything else asks the trie whom the source
	 * routes back to; a session being torn down may find itself already
	 * gone and lose the packets a worker holds of it (rv_demux_removed
	 * tells them from a spoof). */
	if (s->any_source || is_own_addr(s, src)) {
		return true;
	}
	t = lpm_of(d, src->family);
	return t && rv_lpm_lookup(t, src->a) == s;
}

size_t rv_demux_count(const struct rv_demux *d)
{
	return atomic_load_explicit(&d->num_sessions, memory_order_relaxed);
}

/* ---- writer ------------------------------------------------------------ */

int rv_demux_set_lanes(struct rv_demux *d, unsigned n)
{
	if (n == 0 || n > RV_DEMUX_MAX_LANES) {
		return -EINVAL;
	}
	if (rv_demux_count(d) != 0) {
		return -EBUSY;
	}
	d->nlanes = n;
	memset(d->lane_sessions, 0, sizeof(d->lane_sessions));
	return 0;
}

unsigned rv_demux_lane_sessions(const struct rv_demux *d, unsigned lane)
{
	return d->nlanes > 1 && lane < d->nlanes ? d->lane_sessions[lane] : 0;
}

/* emptiest_lane: the lane with the fewest sessions, the lowest on a tie. */
static unsigned emptiest_lane(const struct rv_demux *d)
{
	unsigned best = 0;

	for (unsigned i = 1; i < d->nlanes; i++) {
		if (d->lane_sessions[i] < d->lane_sessions[best]) {
			best = i;
		}
	}
	return best;
}

int rv_demux_alloc_index(struct rv_demux *d, uint32_t *out_index)
{
	unsigned n = d->nlanes > 1 ? d->nlanes : 1, lane = n > 1 ? emptiest_lane(d) : 0;

	if (rv_demux_count(d) >= d->max_sessions) {
		return -ENOSPC;
	}
	/* With at most 2^30 sessions each draw collides with probability
	 * <= 1/4 (about 2^-16 at RV_DEMUX_MAX_SESSIONS); 64 misses in a row
	 * mean the random source is broken, not bad luck. Moving a draw to
	 * its lane keeps all but log2(n) of its bits random. */
	for (int i = 0; i < ALLOC_INDEX_TRIES; i++) {
		uint32_t r = rv_rand_u32();
		uint64_t v = (uint64_t)r - r % n + lane;

		if (v != 0 && v <= UINT32_MAX && !rv_demux_by_index(d, (uint32_t)v)) {
			*out_index = (uint32_t)v;
			return 0;
		}
	}
	return -ENOSPC;
}

/* unlink_entry removes entry |id| (number + 1) from the chain of bucket
 * |h|. The writer is the only thread that stores links, so it walks with
 * relaxed loads. */
static void unlink_entry(struct rv_demux *d, uint32_t h, uint32_t id)
{
	_Atomic uint32_t *link = &d->by_index[h];
	uint32_t cur;

	while ((cur = atomic_load_explicit(link, memory_order_relaxed)) != 0) {
		_Atomic uint32_t *next = &d->entries[cur - 1].next;

		if (cur == id) {
			atomic_store_explicit(link,
					      atomic_load_explicit(next, memory_order_relaxed),
					      memory_order_release);
			return;
		}
		link = next;
	}
}

/* host_set / host_remove publish and unpublish |s|'s own addresses. */
static int host_set(struct rv_demux *d, struct rv_session *s)
{
	int ret = 0;

	if (s->has_v4) {
		ret = rv_lpm_set(d->lpm4, s->vaddr4.a, 32, s);
	}
	if (!ret && s->has_v6) {
		ret = rv_lpm_set(d->lpm6, s->vaddr6.a, 128, s);
	}
	return ret;
}

static void host_remove(struct rv_demux *d, struct rv_session *s)
{
	if (s->has_v4 && rv_lpm_get(d->lpm4, s->vaddr4.a, 32) == s) {
		rv_lpm_remove(d->lpm4, s->vaddr4.a, 32);
	}
	if (s->has_v6 && rv_lpm_get(d->lpm6, s->vaddr6.a, 128) == s) {
		rv_lpm_remove(d->lpm6, s->vaddr6.a, 128);
	}
}

/* owner_of returns the session owning exactly |p| (a network, or at /32 or
 * /128 a session's own address: both live in the tries), nobody(d) for a
 * reserved network without an owner, or NULL. */
static struct rv_session *owner_of(const struct rv_demux *d, const struct rv_prefix *p)
{
	return rv_lpm_get(lpm_of(d, p->addr.family), p->addr.a, p->len);
}

/* session_of is owner_of with the placeholder as NULL: what a watcher is
 * told, and what may be dereferenced. */
static struct rv_session *session_of(const struct rv_demux *d, const struct rv_prefix *p)
{
	struct rv_session *s = owner_of(d, p);

	return s == nobody(d) ? NULL : s;
}

static bool is_reserved(const struct rv_demux *d, const struct rv_prefix *p)
{
	for (size_t i = 0; i < d->reserved.n; i++) {
		if (rv_prefix_equal(&d->reserved.p[i], p)) {
			return true;
		}
	}
	return false;
}

/* unpublish_net takes network |p| from the session that owns it: a reserved
 * network goes back to the placeholder in one replacement (readers never see
 * the enclosing network's owner), any other is removed. Short of memory for
 * the replacement it is removed too, the only way left to let go of the
 * session. */
static void unpublish_net(struct rv_demux *d, const struct rv_prefix *p)
{
	struct rv_lpm *t = lpm_of(d, p->addr.family);

	if (is_reserved(d, p) && rv_lpm_set(t, p->addr.a, p->len, nobody(d)) == 0) {
		return;
	}
	rv_lpm_remove(t, p->addr.a, p->len);
}

/* tell_host passes a change of |s|'s own addresses to the watcher, with
 * their owner as it is now. */
static void tell_host(const struct rv_demux *d, const struct rv_session *s)
{
	struct rv_prefix p;

	if (!d->watch) {
		return;
	}
	if (s->has_v4) {
		p = (struct rv_prefix){ .addr = s->vaddr4, .len = 32 };
		d->watch(d->watch_ctx, &p, true, session_of(d, &p));
	}
	if (s->has_v6) {
		p = (struct rv_prefix){ .addr = s->vaddr6, .len = 128 };
		d->watch(d->watch_ctx, &p, true, session_of(d, &p));
	}
}

/* tell_net passes a change of network |p| to the watcher, with its owner
 * as it is now. */
static void tell_net(const struct rv_demux *d, const struct rv_prefix *p)
{
	if (d->watch) {
		d->watch(d->watch_ctx, p, false, session_of(d, p));
	}
}

void rv_demux_watch(struct rv_demux *d, rv_demux_watch_fn fn, void *ctx)
{
	d->watch = fn;
	d->watch_ctx = ctx;
}

int rv_demux_add(struct rv_demux *d, struct rv_session *s)
{
	struct demux_entry *e;
	uint32_t id, seq, h;
	int ret;

	if (s->published || rv_demux_by_index(d, s->local_index) ||
	    (s->has_v4 && rv_lpm_get(d->lpm4, s->vaddr4.a, 32)) ||
	    (s->has_v6 && rv_lpm_get(d->lpm6, s->vaddr6.a, 128))) {
		return -EEXIST;
	}
	if (rv_demux_count(d) >= d->max_sessions || d->free_len == 0) {
		return -ENOSPC;
	}
	ret = host_set(d, s);
	if (ret) {
		/* The first address may have been visible for a moment: wait
		 * until no worker can hold |s|, so the caller may free it. */
		host_remove(d, s);
		if (d->qsbr) {
			rv_qsbr_synchronize(d->qsbr);
		}
		return ret;
	}
	atomic_store_explicit(&s->removed, false, memory_order_relaxed);
	id = d->free_ring[d->free_head];
	d->free_head = (d->free_head + 1) % d->max_sessions;
	d->free_len--;
	e = &d->entries[id];
	h = hash_index(d, s->local_index);

	/* Rewrite the entry under its seqlock: a reader still standing on it
	 * from its previous life must see either the old or the new contents
	 * whole, or retry. */
	seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
	atomic_store_explicit(&e->seq, seq + 1, memory_order_relaxed);
	atomic_store_explicit(&e->index, s->local_index, memory_order_release);
	atomic_store_explicit(&e->bucket, h, memory_order_release);
	atomic_store_explicit(&e->next, atomic_load_explicit(&d->by_index[h], memory_order_relaxed),
			      memory_order_release);
	atomic_store_explicit(&e->s, s, memory_order_release);
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);

	/* Publish: a reader that loads the bucket sees the entry whole. */
	atomic_store_explicit(&d->by_index[h], id + 1, memory_order_release);
	d->owned[id].n = 0;
	s->demux_entry = id;
	s->published = true;
	s->lane = (uint16_t)(d->nlanes > 1 ? s->local_index % d->nlanes : 0);
	if (d->nlanes > 1) {
		d->lane_sessions[s->lane]++;
	}
	atomic_store_explicit(&d->num_sessions, rv_demux_count(d) + 1, memory_order_relaxed);
	tell_host(d, s);
	return 0;
}

/* owned_find returns the position of |p| in |o|, or o->n. */
static size_t owned_find(const struct owned *o, const struct rv_prefix *p)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		if (rv_prefix_equal(&o->p[i], p)) {
			break;
		}
	}
	return i;
}

static void owned_drop(struct owned *o, size_t i)
{
	o->p[i] = o->p[--o->n];
}

void rv_demux_remove(struct rv_demux *d, struct rv_session *s)
{
	uint32_t id = s->demux_entry;
	struct owned *o;

	/* Before the default and the networks go: a worker that sees them
	 * gone sees this too (release, then theirs). */
	atomic_store_explicit(&s->removed, true, memory_order_release);
	if (atomic_load_explicit(&d->dflt, memory_order_relaxed) == s) {
		atomic_store_explicit(&d->dflt, NULL, memory_order_release);
	}
	if (!s->published || id >= d->max_sessions ||
	    atomic_load_explicit(&d->entries[id].s, memory_order_relaxed) != s) {
		return;
	}
	unlink_entry(d, atomic_load_explicit(&d->entries[id].bucket, memory_order_relaxed), id + 1);
	host_remove(d, s);
	tell_host(d, s);
	o = &d->owned[id];
	for (size_t i = 0; i < o->n; i++) {
		if (owner_of(d, &o->p[i]) == s) {
			unpublish_net(d, &o->p[i]);
			tell_net(d, &o->p[i]);
		}
	}
	o->n = 0;
	/* The entry keeps its contents (and its stale pointer to s) until it is
	 * reused; FIFO reuse makes that as late as possible. */
	d->free_ring[(d->free_head + d->free_len) % d->max_sessions] = id;
	d->free_len++;
	s->published = false;
	if (d->nlanes > 1) {
		d->lane_sessions[s->lane]--;
	}
	atomic_store_explicit(&d->num_sessions, rv_demux_count(d) - 1, memory_order_relaxed);
}

unsigned rv_demux_lane_of(const struct rv_session *s)
{
	return s->lane;
}

int rv_demux_move(struct rv_demux *d, struct rv_session *s, unsigned lane)
{
	uint32_t id = s->demux_entry;
	struct owned *o;

	if (!s->published || d->nlanes <= 1 || lane >= d->nlanes) {
		return -EINVAL;
	}
	if (lane == s->lane) {
		return 0;
	}
	d->lane_sessions[s->lane]--;
	d->lane_sessions[lane]++;
	s->lane = (uint16_t)lane;
	/* The copy of the tables that names lanes (the TUN side's) hears of
	 * each key the session owns, as if it had changed hands. */
	tell_host(d, s);
	o = &d->owned[id];
	for (size_t i = 0; i < o->n; i++) {
		if (owner_of(d, &o->p[i]) == s) {
			tell_net(d, &o->p[i]);
		}
	}
	return 0;
}

void rv_demux_set_default(struct rv_demux *d, struct rv_session *s)
{
	atomic_store_explicit(&d->dflt, s, memory_order_release);
}

/* is_own_host: is |p| the host entry (/32, /128) of session |s|'s own
 * address (|s| NULL: no)? Such a key is not a network anyone may take. */
static bool is_own_host(const struct rv_session *s, const struct rv_prefix *p)
{
	return s && is_own_addr(s, &p->addr) && p->len == (p->addr.family == AF_INET ? 32 : 128);
}

/* valid_prefix: a known family, a length within it, no bits past it. */
static bool valid_prefix(const struct rv_prefix *p)
{
	unsigned max = p->addr.family == AF_INET ? 32 : 128;

	if ((p->addr.family != AF_INET && p->addr.family != AF_INET6) || p->len > max) {
		return false;
	}
	for (unsigned bit = p->len; bit < max; bit++) {
		if (p->addr.a[bit / 8] & (0x80u >> (bit % 8))) {
			return false;
		}
	}
	return true;
}

int rv_demux_add_prefix(struct rv_demux *d, struct rv_session *s, const struct rv_prefix *p)
{
	struct owned *o;
	struct rv_session *prev;
	int ret;

	if (!s->published || !valid_prefix(p)) {
		return -EINVAL;
	}
	prev = session_of(d, p);
	if (prev == s) {
		return 0;
	}
	if (is_own_host(prev, p)) {
		return -EEXIST;
	}
	o = &d->owned[s->demux_entry];
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 4;
		struct rv_prefix *np = realloc(o->p, cap * sizeof(*np));

		if (!np) {
			return -ENOMEM;
		}
		o->p = np;
		o->cap = cap;
	}
	/* One replacement in the trie: readers go from prev to s directly. */
	ret = rv_lpm_set(lpm_of(d, p->addr.family), p->addr.a, p->len, s);
	if (ret) {
		return ret;
	}
	o->p[o->n++] = *p;
	if (prev) {
		struct owned *po = &d->owned[prev->demux_entry];
		size_t i = owned_find(po, p);

		if (i < po->n) {
			owned_drop(po, i);
		}
	}
	tell_net(d, p);
	return 0;
}

int rv_demux_remove_prefix(struct rv_demux *d, struct rv_session *s, const struct rv_prefix *p)
{
	struct owned *o;
	size_t i;

	if (!s->published || !valid_prefix(p) || owner_of(d, p) != s) {
		return -ENOENT;
	}
	o = &d->owned[s->demux_entry];
	i = owned_find(o, p);
	if (i == o->n) {
		return -ENOENT; /* s's own address, not a network */
	}
	unpublish_net(d, p);
	owned_drop(o, i);
	tell_net(d, p);
	return 0;
}

int rv_demux_set_prefixes(struct rv_demux *d, struct rv_session *s, const struct rv_prefix *p,
			  size_t n)
{
	struct owned *o;
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = rv_demux_add_prefix(d, s, &p[i]);
		if (ret) {
			return ret;
		}
	}
	o = &d->owned[s->demux_entry];
	for (size_t i = 0; i < o->n;) {
		struct rv_prefix gone;
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++) {
			keep = rv_prefix_equal(&p[j], &o->p[i]);
		}
		if (keep) {
			i++;
			continue;
		}
		gone = o->p[i];
		unpublish_net(d, &gone);
		owned_drop(o, i);
		tell_net(d, &gone);
	}
	return 0;
}

size_t rv_demux_num_prefixes(const struct rv_demux *d, const struct rv_session *s)
{
	return s->published ? d->owned[s->demux_entry].n : 0;
}

int rv_demux_set_reserved(struct rv_demux *d, const struct rv_prefix *p, size_t n)
{
	struct owned *r = &d->reserved;
	int ret;

	for (size_t i = 0; i < n; i++) {
		struct rv_session *o;

		if (!valid_prefix(&p[i])) {
			return -EINVAL;
		}
		o = session_of(d, &p[i]);
		if (is_own_host(o, &p[i])) {
			return -EEXIST;
		}
	}
	if (n > r->cap) {
		struct rv_prefix *np = realloc(r->p, n * sizeof(*np));

		if (!np) {
			return -ENOMEM;
		}
		r->p = np;
		r->cap = n;
	}
	/* First let go of the placeholders no longer listed, while the old
	 * list is still at hand; a session's network stays its own. */
	for (size_t i = 0; i < r->n; i++) {
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++) {
			keep = rv_prefix_equal(&p[j], &r->p[i]);
		}
		if (!keep && owner_of(d, &r->p[i]) == nobody(d)) {
			rv_lpm_remove(lpm_of(d, r->p[i].addr.family), r->p[i].addr.a, r->p[i].len);
		}
	}
	if (n) {
		memcpy(r->p, p, n * sizeof(*p));
	}
	r->n = n;
	/* Then hold the ones nobody owns. A watcher is not told: for it the
	 * owner stays NULL, whether or not a placeholder stands there. A
	 * reader that sees the flag late meanwhile takes a held network for
	 * none, as before the list. */
	atomic_store_explicit(&d->any_reserved, n != 0, memory_order_relaxed);
	for (size_t i = 0; i < n; i++) {
		if (owner_of(d, &p[i])) {
			continue;
		}
		ret = rv_lpm_set(lpm_of(d, p[i].addr.family), p[i].addr.a, p[i].len, nobody(d));
		if (ret) {
			return ret;
		}
	}
	return 0;
}
