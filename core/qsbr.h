/*
 * qsbr.h — quiescent-state-based reclamation for objects the packet path
 * reads without locks (sessions, key slots).
 *
 * Readers are the data-plane workers. Each registers once, then calls
 * rv_qsbr_quiescent() at a point in its loop where it holds no pointer to any
 * shared object (between batches). Around a blocking wait it goes offline, so
 * an idle worker never delays reclamation.
 *
 * The single writer (the control thread) unpublishes an object (removes it
 * from every table readers can reach), then either
 *   - rv_qsbr_synchronize(): blocks until every online reader has passed a
 *     quiescent point, after which no reader can still hold the object; or
 *   - rv_qsbr_retire(): queues the object with the current grace-period number;
 *     rv_qsbr_reclaim() (non-blocking, called on the control thread's timer)
 *     frees every queued object whose grace period has elapsed.
 *
 * Memory ordering: quiescent() is a release store of the global period; the
 * writer's advance is seq_cst, so a reader that announced period P has
 * finished every access it began before announcing.
 *
 * Removing a session, and who may still hold it
 * ---------------------------------------------
 * The control thread, the only writer:
 *   1. rv_demux_remove(d, s): s leaves the index and address tables and
 *      stops being the default session; no new lookup can return it.
 *   2. drops its own pointers: the peer's control state, its timers, the
 *      status listing. (The control thread is not a QSBR reader: it must
 *      not keep s anywhere past this step.)
 *   3. rv_qsbr_retire(q, rv_session_retire_node(s), rv_session_free_node);
 *      a later rv_qsbr_reclaim() (control timer) calls rv_session_free,
 *      which wipes every key. Or rv_qsbr_synchronize(q) then
 *      rv_session_free(s), when blocking is acceptable.
 * Every context that may hold a pointer to s after step 1:
 *   - a worker between two rv_qsbr_quiescent() calls that found s by
 *     rv_demux_by_index/by_addr/by_dst4/by_dst6 (including a lookup that
 *     raced with step 1, and a pointer to one of s's key slots inside
 *     rv_session_seal_batch/open_batch). Its next quiescent point, or going
 *     offline, ends this: workers never keep a session across loop turns.
 *   - the control thread itself, until step 2.
 *   - nothing else may: an io_uring user_data, a MSG_RING inbox message or
 *     any per-buffer metadata that outlives the loop turn must name a
 *     session by receiver index (looked up again), never by pointer, because
 *     a completion can arrive after the grace period.
 * A worker that is offline holds no pointer. Replacing a key epoch in a
 * live session follows the same rule inside rv_session_install_epoch and
 * rv_session_drop_epoch: the epoch's keys are a separate object, unpublished
 * from its slot and retired here, so the control thread never blocks.
 */
#ifndef RV_CORE_QSBR_H
#define RV_CORE_QSBR_H

#include <stddef.h>
#include <stdint.h>

struct rv_qsbr;

/* struct rv_qsbr_node is embedded in every object that is retired. */
struct rv_qsbr_node {
	struct rv_qsbr_node *next;
	uint64_t period;
	void (*free_fn)(struct rv_qsbr_node *node);
};

/* rv_qsbr_new returns a domain for up to |max_readers| readers, or NULL. */
struct rv_qsbr *rv_qsbr_new(unsigned max_readers);

/* rv_qsbr_free reclaims everything still queued (the caller guarantees no
 * reader is running) and frees the domain. NULL is a no-op. */
void rv_qsbr_free(struct rv_qsbr *q);

/* rv_qsbr_register gives the calling reader an id in |*out_id| (online).
 * Returns 0 or -ENOSPC. Thread-safe. */
int rv_qsbr_register(struct rv_qsbr *q, unsigned *out_id);

/* rv_qsbr_unregister releases |id|; the reader must hold no pointers. */
void rv_qsbr_unregister(struct rv_qsbr *q, unsigned id);

/* rv_qsbr_quiescent: reader |id| holds no shared pointer right now. Cheap
 * (one load and one release store); call once per loop turn. */
void rv_qsbr_quiescent(struct rv_qsbr *q, unsigned id);

/* rv_qsbr_offline / rv_qsbr_online bracket a blocking wait of reader |id|. */
void rv_qsbr_offline(struct rv_qsbr *q, unsigned id);
void rv_qsbr_online(struct rv_qsbr *q, unsigned id);

/* rv_qsbr_synchronize (writer only) waits until every reader has passed a
 * quiescent point or gone offline since the call began. */
void rv_qsbr_synchronize(struct rv_qsbr *q);

/* rv_qsbr_retire (writer only) queues |node| for |free_fn| after a grace
 * period. Takes ownership of the object. Never blocks, never allocates. */
void rv_qsbr_retire(struct rv_qsbr *q, struct rv_qsbr_node *node,
		    void (*free_fn)(struct rv_qsbr_node *node));

/* rv_qsbr_reclaim (writer only) frees every retired object whose grace
 * period has elapsed and returns how many it freed. Never blocks. */
size_t rv_qsbr_reclaim(struct rv_qsbr *q);

/* rv_qsbr_pending returns how many retired objects await reclamation. */
size_t rv_qsbr_pending(const struct rv_qsbr *q);

#endif /* RV_CORE_QSBR_H */
