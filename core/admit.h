/*
 * admit.h — fair admission of half-open control connections (server).
 *
 * A TCP connection that has not finished its TLS handshake costs the server
 * a slot. A flood of cheap connections must not push out an honest client
 * whose handshake is simply slow (150 ms of latency and more), so slots are
 * accounted per source and in two classes:
 *
 *   RV_ADMIT_CONNECTED  accepted, nothing received yet (a plain TCP connect
 *                       costs the attacker nothing);
 *   RV_ADMIT_HELLO      its first bytes (the TLS ClientHello) arrived: the
 *                       peer is at least talking.
 *
 * A ClientHello is a replayable blob, so the classes defeat silent connects
 * (slowloris); against a flood that sends ClientHellos from many sources,
 * only max_per_source and the handshake timeout help.
 *
 * A source is an IPv4 address, or an IPv6 /64 (one host owns a whole /64,
 * so finer accounting would be no accounting). An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, what a dual-stack listener reports for IPv4 peers) is
 * the IPv4 source a.b.c.d: as a /64 it would lump every IPv4 peer together.
 *
 * Limits: at most |max_total| entries in all, at most |max_per_source| per
 * source. rv_admit_add reports the one entry the caller must close to stay
 * within both limits ("the victim"), chosen as:
 *   1. if the new entry's source is over its per-source limit: that
 *      source's oldest entry (CONNECTED before HELLO);
 *   2. else if the total is over max_total: the oldest CONNECTED entry of
 *      the source holding the most CONNECTED entries; if no entry is
 *      CONNECTED, the oldest HELLO entry of the source holding the most HELLO
 *      entries. Ties between sources: any of them.
 * So one source flooding never evicts another source's connection of a
 * class while it holds more of that class than that source does, and a
 * connection that has sent its ClientHello is evicted only after every
 * connection that has not. When limits were lowered (rv_admit_set_limits),
 * a source may hold more than max_per_source; then rule 1 also applies to
 * the source holding the most entries, before rule 2 (rv_admit_victim).
 *
 * Every operation is O(1) (a SipHash-keyed hash of sources, per-source FIFO
 * lists per class, and per class and for all classes together an array of
 * source lists indexed by count, so "the source holding the most" is found
 * without a scan). Room for |cap| = max_total + 1 entries and as many source
 * records is allocated by rv_admit_new, and again only by an
 * rv_admit_set_limits that raises max_total. Time is not needed: FIFO order
 * is arrival order.
 *
 * Single-threaded (the control thread).
 */
#ifndef RV_CORE_ADMIT_H
#define RV_CORE_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

enum rv_admit_class { RV_ADMIT_CONNECTED = 0, RV_ADMIT_HELLO = 1, RV_ADMIT_CLASSES };

struct admit_src; /* private to admit.c */

/* struct rv_admit_entry is embedded in the caller's connection; zero state =
 * not registered. Fields are private to admit.c. */
struct rv_admit_entry {
	struct rv_admit_entry *prev, *next;
	struct admit_src *src;
	uint8_t cls;
	bool active;
};

enum { RV_ADMIT_MAX_TOTAL = 1 << 24 };

struct rv_admit_limits {
	unsigned max_total;	 /* >= 1 */
	unsigned max_per_source; /* >= 1, <= max_total */
};

struct rv_admit;

/* rv_admit_new returns an empty admission table or NULL (-ENOMEM, or limits
 * out of range: max_total at most RV_ADMIT_MAX_TOTAL). The source hash is
 * keyed with fresh random bytes. */
struct rv_admit *rv_admit_new(const struct rv_admit_limits *lim);

/* rv_admit_free frees the table (entries are the caller's). NULL ok. */
void rv_admit_free(struct rv_admit *a);

/* rv_admit_add registers |e| (zero state or removed) as CONNECTED from
 * |src|, the newest entry of its source. Returns the entry the caller must
 * now rv_admit_remove and close, or NULL when both limits hold. The victim
 * may be |e| itself: when it is its source's only CONNECTED entry and that
 * source is over its limit (rule 1), or when every other entry has sent its
 * ClientHello (rule 2). If limits held before the call, they hold again once
 * the caller has removed the victim; after limits were lowered, call
 * rv_admit_victim until it returns NULL. A caller that does not remove
 * victims cannot make the table grow: when it already holds |cap| entries,
 * |e| is not registered and is returned as the victim (its removal is then a
 * no-op). An |e| that is already registered is left alone (NULL). */
struct rv_admit_entry *rv_admit_add(struct rv_admit *a, struct rv_admit_entry *e,
				    const struct rv_ip_addr *src);

/* rv_admit_promote moves |e| from CONNECTED to HELLO (its first bytes
 * arrived); it takes its place among its source's HELLO entries by the time
 * of promotion (the newest). No-op if already HELLO or not registered. */
void rv_admit_promote(struct rv_admit *a, struct rv_admit_entry *e);

/* rv_admit_remove unregisters |e| (authenticated, closed or evicted) and
 * leaves it in zero state. Idempotent: a zero-state or already removed
 * entry is ignored. */
void rv_admit_remove(struct rv_admit *a, struct rv_admit_entry *e);

/* rv_admit_set_limits changes the limits (config reload). Returns 0,
 * -EINVAL (limits out of range; nothing changes) or -ENOMEM (raising
 * max_total needs room that could not be allocated; nothing changes).
 * Entries above lowered limits stay until the caller evicts them: call
 * rv_admit_victim and remove what it returns until it returns NULL, or let
 * them finish or time out (later adds keep evicting by the same rules). */
int rv_admit_set_limits(struct rv_admit *a, const struct rv_admit_limits *lim);

/* Counters for status: registered entries per class, distinct sources. */
size_t rv_admit_count(const struct rv_admit *a, enum rv_admit_class cls);
size_t rv_admit_sources(const struct rv_admit *a);

/* rv_admit_victim returns an entry to evict while a limit is exceeded, or
 * NULL: the rules of rv_admit_add with "the new entry's source" unknown, so
 * rule 1 applies to the source holding the most entries when it is over
 * max_per_source, then rule 2. Used after a limit shrinks. O(1). */
struct rv_admit_entry *rv_admit_victim(struct rv_admit *a);

#endif /* RV_CORE_ADMIT_H */
