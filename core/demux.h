/*
 * demux.h — the session tables: receiver index -> session (UDP ingress) and
 * virtual IPv4/IPv6 address -> session (TUN egress), both O(1).
 *
 * Chained hash tables with a fixed number of buckets (no resize, so a lookup
 * never meets a half-moved table). The chain entries (a copy of each
 * session's keys, the session pointer and the links) live in an array the
 * demux preallocates, one cache line per session, so a lookup never touches
 * the session itself (demux.c explains the layout and entry reuse).
 *
 * Concurrency: one writer (the control thread) calls add/remove/set_default;
 * any number of workers call the lookups with no lock. Insertion publishes a
 * fully built entry with a release store at the bucket head; removal unlinks
 * it, and a reader already standing on it still sees a valid next link, so
 * a lookup never crashes or loops, never returns a session under a key it
 * does not have, and never misses a session that stays published. After
 * rv_demux_remove the caller must wait a QSBR grace period before freeing
 * the session (see qsbr.h for who may still hold it). A session is in at
 * most one demux at a time.
 */
#ifndef RV_CORE_DEMUX_H
#define RV_CORE_DEMUX_H

#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

struct rv_session;
struct rv_demux;

enum { RV_DEMUX_MAX_SESSIONS = 65536 };

/* rv_demux_new returns empty tables for up to |max_sessions| sessions
 * (rounded up; buckets = next power of two >= max_sessions), or NULL. */
struct rv_demux *rv_demux_new(size_t max_sessions);

/* rv_demux_free frees the tables (not the sessions). NULL ok. */
void rv_demux_free(struct rv_demux *d);

/* rv_demux_alloc_index draws a random non-zero receiver index not in use
 * (collision-checked). Returns 0 or -ENOSPC. Writer only. */
int rv_demux_alloc_index(struct rv_demux *d, uint32_t *out_index);

/* rv_demux_add publishes |s| under its local index and virtual addresses.
 * Returns 0, -EEXIST (index or an address already published: nothing added),
 * or -ENOSPC (max_sessions reached). Writer only. */
int rv_demux_add(struct rv_demux *d, struct rv_session *s);

/* rv_demux_remove unpublishes |s| (no-op if absent). Writer only. */
void rv_demux_remove(struct rv_demux *d, struct rv_session *s);

/* rv_demux_set_default makes |s| (or NULL) the egress session for any
 * destination without its own entry (the client side). Writer only. */
void rv_demux_set_default(struct rv_demux *d, struct rv_session *s);

/* Lookups: lock-free, any thread; NULL if none. by_index and by_addr are
 * exact (no default). */
struct rv_session *rv_demux_by_index(const struct rv_demux *d, uint32_t index);
struct rv_session *rv_demux_by_addr(const struct rv_demux *d, const struct rv_ip_addr *addr);
/* Fast paths from raw inner-header bytes (network order); fall back to default. */
struct rv_session *rv_demux_by_dst4(const struct rv_demux *d, const uint8_t *addr4);
struct rv_session *rv_demux_by_dst6(const struct rv_demux *d, const uint8_t *addr6);

/* rv_demux_count returns the number of published sessions. */
size_t rv_demux_count(const struct rv_demux *d);

#endif /* RV_CORE_DEMUX_H */
