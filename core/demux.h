/*
 * demux.h — the session tables: receiver index -> session (UDP ingress), and
 * longest prefix of an inner IPv4/IPv6 address -> session (TUN egress, and
 * the anti-spoofing check of what a session sends).
 *
 * By index: a chained hash table with a fixed number of buckets (no resize,
 * so a lookup never meets a half-moved table). The chain entries (a copy of
 * each session's index, the session pointer and the link) live in an array
 * the demux preallocates, one cache line per session, so a lookup never
 * touches the session itself (demux.c explains the layout and entry reuse).
 *
 * By address: one longest-prefix-match trie per family (core/lpm.h). A
 * published session's own virtual addresses are /32 and /128 entries; the
 * networks routed behind it (site-to-site: a gateway carrying a LAN) are
 * shorter prefixes it owns. The longest match wins, so a network deliberately
 * carved out of another session's network goes to its own owner.
 *
 * Concurrency: one writer (the control thread) calls every function that
 * changes the tables; any number of workers call the lookups with no lock.
 * A lookup never crashes or loops, never returns a session under a key it
 * does not have, and never misses a session (or a prefix) that stays
 * published. After rv_demux_remove the caller must wait a QSBR grace period
 * before freeing the session (see qsbr.h for who may still hold it); the
 * demux retires its own replaced trie nodes to the same domain. A session is
 * in at most one demux at a time.
 */
#ifndef RV_CORE_DEMUX_H
#define RV_CORE_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

struct rv_qsbr;
struct rv_session;
struct rv_demux;

enum { RV_DEMUX_MAX_SESSIONS = 65536, RV_DEMUX_MAX_LANES = 256 };

/* rv_demux_new returns empty tables for up to |max_sessions| sessions
 * (rounded up; buckets = next power of two >= max_sessions), or NULL.
 * Replaced trie nodes are retired to |qsbr|, the domain the workers that
 * read the tables belong to (NULL: freed at once, for single-threaded
 * tools and tests only). */
struct rv_demux *rv_demux_new(size_t max_sessions, struct rv_qsbr *qsbr);

/* rv_demux_free frees the tables (not the sessions). NULL ok. */
void rv_demux_free(struct rv_demux *d);

/* rv_demux_alloc_index draws a random non-zero receiver index not in use
 * (collision-checked). With lanes (rv_demux_set_lanes) the index names the
 * lane that carries the fewest sessions: index % lanes == that lane. Returns
 * 0 or -ENOSPC. Writer only. */
int rv_demux_alloc_index(struct rv_demux *d, uint32_t *out_index);

/* rv_demux_set_lanes splits the sessions into |n| lanes (1..RV_DEMUX_MAX_LANES;
 * 1: no lanes) by receiver index modulo |n|, and from then on counts the
 * published sessions of each. The data plane steers a datagram to worker
 * receiver_index % n (uring/sock.h, rv_udp_steer_by_index), so lanes are
 * workers and new sessions go to the least loaded. Only while no session is
 * published: returns -EBUSY otherwise, -EINVAL for a bad |n|. Writer only. */
int rv_demux_set_lanes(struct rv_demux *d, unsigned n);

/* rv_demux_lane_sessions returns how many published sessions lane |lane|
 * carries (0 without lanes). Writer only. */
unsigned rv_demux_lane_sessions(const struct rv_demux *d, unsigned lane);

/* rv_demux_lane_of returns the lane of the published session |s|: its
 * receiver index % lanes when it was published, until rv_demux_move. Writer
 * only.
 *
 * rv_demux_move puts |s| in lane |lane| (its index stays): the per-lane
 * counts follow, and the watcher (rv_demux_watch) hears of each of its
 * addresses and networks, so a copy of the tables that names lanes can
 * follow too. The data plane's steering by index must be told separately.
 * Returns 0, or -EINVAL (|s| not published, no lanes, |lane| out of range).
 * Writer only. */
unsigned rv_demux_lane_of(const struct rv_session *s);
int rv_demux_move(struct rv_demux *d, struct rv_session *s, unsigned lane);

/* rv_demux_add publishes |s| under its local index and its virtual
 * addresses (as /32 and /128). Returns 0, -EEXIST (the index, or an address
 * as a /32 or /128, already published: nothing added), -ENOSPC
 * (max_sessions reached) or -ENOMEM (nothing added; if |s| was briefly
 * visible, a grace period has passed before the return, so the caller may
 * free it at once). Writer only. */
int rv_demux_add(struct rv_demux *d, struct rv_session *s);

/* rv_demux_remove unpublishes |s| (no-op if absent): its index, its
 * addresses, every prefix it owns, and the default if it was. Cannot fail.
 * Writer only. */
void rv_demux_remove(struct rv_demux *d, struct rv_session *s);

/* rv_demux_set_default makes |s| (or NULL) the egress session for any
 * destination without its own entry (the client side). Writer only. */
void rv_demux_set_default(struct rv_demux *d, struct rv_session *s);

/*
 * Networks behind a session (site-to-site).
 *
 * rv_demux_add_prefix makes the published session |s| the owner of the
 * network |p| (host bits zero). If another session owns exactly |p|, |s|
 * takes it over: a reader sees the old owner, then |s|, never neither. A
 * longer prefix inside |p| keeps its own owner. Returns 0 (also if |s|
 * already owns it), -EINVAL (|s| not published, bad family or length, host
 * bits set), -EEXIST (|p| is another session's own address) or -ENOMEM
 * (nothing changed).
 *
 * rv_demux_remove_prefix unpublishes |p| if |s| owns it: its addresses fall
 * to the next shorter covering prefix. Returns 0 or -ENOENT.
 *
 * rv_demux_set_prefixes makes |s| own exactly p[0..n): each is added (or
 * taken over), then those |s| owned before and are not listed are removed.
 * Returns 0 or the first error of rv_demux_add_prefix (|s| then owns the
 * prefixes listed before it plus its previous ones).
 *
 * Moving networks between sessions without a moment when they have no owner
 * (a reload that hands 10.20.0.0/24 from A to B): first rv_demux_add_prefix
 * for every (session, prefix) of the new assignment, then
 * rv_demux_set_prefixes for every session, which then only removes.
 *
 * rv_demux_num_prefixes returns how many networks |s| owns.
 * All writer only.
 */
int rv_demux_add_prefix(struct rv_demux *d, struct rv_session *s, const struct rv_prefix *p);
int rv_demux_remove_prefix(struct rv_demux *d, struct rv_session *s, const struct rv_prefix *p);
int rv_demux_set_prefixes(struct rv_demux *d, struct rv_session *s, const struct rv_prefix *p,
			  size_t n);
size_t rv_demux_num_prefixes(const struct rv_demux *d, const struct rv_session *s);

/*
 * rv_demux_set_reserved makes p[0..n) (host bits zero) exactly the networks
 * that stay in the tables while no session owns them: a destination in one
 * of them then finds no session (by_dst returns NULL, not a shorter prefix
 * and not the default), and no session passes the source check for its
 * addresses. What it is for: a network carved out of another session's
 * (subnet = NAME override PREFIX) must not reach the enclosing network's
 * owner while its own owner is offline, nor may that owner send from it. A
 * session that owns a listed network keeps it; when it lets go
 * (rv_demux_remove, remove_prefix, set_prefixes) the network is held again,
 * in one replacement. A watcher hears of nothing here: for it, a held
 * network has no owner, as before. Returns 0, -EINVAL (a bad prefix:
 * nothing changed), -EEXIST (a session's own address: nothing changed) or
 * -ENOMEM (the list is taken, but some networks may not be held; a removal
 * short of memory also falls back to letting the network go). Writer only.
 *
 * With a reload that changes the assignment, call it first, then the
 * add_prefix / set_prefixes sequence above.
 */
int rv_demux_set_reserved(struct rv_demux *d, const struct rv_prefix *p, size_t n);

/*
 * rv_demux_watch makes |fn| hear, on the writer's thread and right after the
 * change, of every key whose owner changed: a session's own address (|own|
 * true; a /32 or /128) or a network behind a session (|own| false; a /32 or
 * /128 network too). |owner| is the session that owns exactly |key| now, or
 * NULL when nobody does. One watcher per demux; |fn| NULL stops it. |fn| must
 * not change the demux. Writer only.
 *
 * What it is for: a copy of the tables elsewhere (the data plane's table of
 * TUN lanes in the kernel) that must follow every path that changes them,
 * including a session's networks going with it and a reload handing a
 * network to another session.
 */
typedef void (*rv_demux_watch_fn)(void *ctx, const struct rv_prefix *key, bool own,
				  const struct rv_session *owner);
void rv_demux_watch(struct rv_demux *d, rv_demux_watch_fn fn, void *ctx);

/* Lookups: lock-free, any thread (a QSBR reader of the demux's domain, or
 * the writer); NULL if none. by_index is exact; by_addr returns the session
 * whose own virtual address is |addr| (no prefixes, no default). */
struct rv_session *rv_demux_by_index(const struct rv_demux *d, uint32_t index);
struct rv_session *rv_demux_by_addr(const struct rv_demux *d, const struct rv_ip_addr *addr);
/* by_dst4/by_dst6: the session of the longest prefix containing the inner
 * destination (raw header bytes, network order), else the default; NULL
 * when that prefix is a reserved network nobody owns now. */
struct rv_session *rv_demux_by_dst4(const struct rv_demux *d, const uint8_t *addr4);
struct rv_session *rv_demux_by_dst6(const struct rv_demux *d, const uint8_t *addr6);

/* rv_demux_held: is |addr| in a reserved network that no session owns now
 * (rv_demux_set_reserved)? Lock-free, as the lookups. */
bool rv_demux_held(const struct rv_demux *d, const struct rv_ip_addr *addr);

/* rv_demux_removed: has rv_demux_remove begun on |s|? Then a packet of it
 * a worker still holds may fail rv_demux_source_ok for that alone. Any
 * worker. */
bool rv_demux_removed(const struct rv_session *s);

/* rv_demux_source_ok: may |s| send a decrypted packet with inner source
 * |src|? Yes if it is one of |s|'s own addresses, or if its longest prefix
 * belongs to |s| (a network behind it, and not one carved out of it for
 * another session; on the client, a network the host routes into the
 * tunnel), or if |s| accepts any source (test peers only). Lock-free, any
 * worker. */
bool rv_demux_source_ok(const struct rv_demux *d, const struct rv_session *s,
			const struct rv_ip_addr *src);

/* rv_demux_count returns the number of published sessions. */
size_t rv_demux_count(const struct rv_demux *d);

#endif /* RV_CORE_DEMUX_H */
