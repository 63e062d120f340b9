/*
 * qsbr.c — quiescent-state-based reclamation (see qsbr.h for the contract).
 *
 * A global period counter G starts at 1. Each reader owns a cache-line slot
 * holding the period it last announced, or 0 while offline (or unused).
 *
 *   reader quiescent: p = load_acquire(G); store_release(slot, p)
 *   reader offline:   store_release(slot, 0)
 *   reader online:    store(slot, 1); p = fetch_add_acq_rel(G, 0);
 *                     store_release(slot, p)
 *   writer:           unpublish; target = fetch_add(G, 1) + 1
 *                     a reader with slot == 0 or slot >= target cannot hold
 *                     anything unpublished before the fetch_add.
 *
 * Why that suffices. A reader that announces p >= target loaded G after the
 * writer's increment (acquire on G, which was stored after the unpublish), so
 * every lookup it does afterwards sees the object gone; everything it did
 * before announcing is ordered before the writer's acquire load of its slot.
 * A reader seen offline held nothing when it went offline.
 *
 * Going online is the one race where the reader writes its slot and then
 * reads shared data while the writer does the opposite (store buffering). A
 * store and a load alone would need seq_cst fences, which TSan cannot model;
 * instead both sides do a read-modify-write of G, and RMWs on one location
 * are totally ordered. If the reader's RMW comes after the writer's
 * increment, it synchronises with it and sees the object unpublished. If it
 * comes before, the writer's increment synchronises with the reader's RMW,
 * so the writer's later load of the slot sees at least the 1 stored before
 * it: period 1 is below every target, and the writer waits for the reader's
 * next quiescent point. Going online is rare (after a blocking wait), so the
 * shared RMW costs nothing that matters.
 *
 * The retire list is private to the writer: a FIFO with non-decreasing
 * periods (each retire advances G), so reclaim frees from the head until the
 * first node whose period some online reader has not reached.
 */
#include "core/qsbr.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/compiler.h"

struct qsbr_reader {
	_Atomic uint64_t period; /* 0: offline or unused */
	_Atomic bool used;
} RV_CACHE_ALIGNED;

struct rv_qsbr {
	_Alignas(RV_CACHELINE) _Atomic uint64_t period;
	_Alignas(RV_CACHELINE) unsigned max_readers;
	struct qsbr_reader *readers;
	/* Writer-private retire FIFO. */
	struct rv_qsbr_node *head;
	struct rv_qsbr_node **tail;
	size_t pending;
};

/* Back-off while waiting for readers: long enough not to steal a core from a
 * worker on a small machine, short against a worker's loop turn. */
enum { SYNC_SLEEP_NS = 30000 };

struct rv_qsbr *rv_qsbr_new(unsigned max_readers)
{
	struct rv_qsbr *q;
	size_t size;

	if (max_readers == 0 || max_readers > 4096) {
		return NULL;
	}
	q = aligned_alloc(RV_CACHELINE, sizeof(*q));
	if (!q) {
		return NULL;
	}
	memset(q, 0, sizeof(*q));
	size = (size_t)max_readers * sizeof(*q->readers);
	q->readers = aligned_alloc(RV_CACHELINE, size);
	if (!q->readers) {
		free(q);
		return NULL;
	}
	memset(q->readers, 0, size);
	q->max_readers = max_readers;
	atomic_init(&q->period, 1);
	q->head = NULL;
	q->tail = &q->head;
	return q;
}

void rv_qsbr_free(struct rv_qsbr *q)
{
	struct rv_qsbr_node *n, *next;

	if (!q) {
		return;
	}
	for (n = q->head; n; n = next) {
		next = n->next;
		n->free_fn(n);
	}
	free(q->readers);
	free(q);
}

int rv_qsbr_register(struct rv_qsbr *q, unsigned *out_id)
{
	for (unsigned i = 0; i < q->max_readers; i++) {
		bool expected = false;

		if (atomic_compare_exchange_strong(&q->readers[i].used, &expected, true)) {
			rv_qsbr_online(q, i);
			*out_id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

void rv_qsbr_unregister(struct rv_qsbr *q, unsigned id)
{
	rv_qsbr_offline(q, id);
	atomic_store_explicit(&q->readers[id].used, false, memory_order_release);
}

void rv_qsbr_quiescent(struct rv_qsbr *q, unsigned id)
{
	uint64_t p = atomic_load_explicit(&q->period, memory_order_acquire);

	atomic_store_explicit(&q->readers[id].period, p, memory_order_release);
}

void rv_qsbr_offline(struct rv_qsbr *q, unsigned id)
{
	atomic_store_explicit(&q->readers[id].period, 0, memory_order_release);
}

void rv_qsbr_online(struct rv_qsbr *q, unsigned id)
{
	uint64_t p;

	atomic_store_explicit(&q->readers[id].period, 1, memory_order_relaxed);
	p = atomic_fetch_add_explicit(&q->period, 0, memory_order_acq_rel);
	atomic_store_explicit(&q->readers[id].period, p, memory_order_release);
}

/* reader_done: has reader |i| passed |target| (or is it offline)? */
static inline bool reader_done(const struct rv_qsbr *q, unsigned i, uint64_t target)
{
	uint64_t p = atomic_load_explicit(&q->readers[i].period, memory_order_acquire);

	return p == 0 || p >= target;
}

void rv_qsbr_synchronize(struct rv_qsbr *q)
{
	const struct timespec ts = { .tv_sec = 0, .tv_nsec = SYNC_SLEEP_NS };
	uint64_t target = atomic_fetch_add_explicit(&q->period, 1, memory_order_seq_cst) + 1;

	for (unsigned i = 0; i < q->max_readers; i++) {
		/* An unused slot reads as period 0, like an offline reader. */
		while (!reader_done(q, i, target)) {
			nanosleep(&ts, NULL);
		}
	}
}

void rv_qsbr_retire(struct rv_qsbr *q, struct rv_qsbr_node *node,
		    void (*free_fn)(struct rv_qsbr_node *node))
{
	/* Advance G so that readers can move past the object's period;
	 * without it an idle system would never reach it. */
	node->period = atomic_fetch_add_explicit(&q->period, 1, memory_order_seq_cst) + 1;
	node->free_fn = free_fn;
	node->next = NULL;
	*q->tail = node;
	q->tail = &node->next;
	q->pending++;
}

size_t rv_qsbr_reclaim(struct rv_qsbr *q)
{
	uint64_t min = UINT64_MAX;
	size_t freed = 0;

	if (!q->head) {
		return 0;
	}
	for (unsigned i = 0; i < q->max_readers; i++) {
		uint64_t p = atomic_load_explicit(&q->readers[i].period, memory_order_acquire);

		if (p != 0 && p < min) {
			min = p;
		}
	}
	while (q->head && q->head->period <= min) {
		struct rv_qsbr_node *n = q->head;

		q->head = n->next;
		n->free_fn(n);
		freed++;
	}
	if (!q->head) {
		q->tail = &q->head;
	}
	q->pending -= freed;
	return freed;
}

size_t rv_qsbr_pending(const struct rv_qsbr *q)
{
	return q->pending;
}
