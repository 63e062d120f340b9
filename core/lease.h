/*
 * lease.h — which certificate name the server last gave each virtual
 * address to, so a reconnecting client gets its previous address back only
 * if it really held it.
 *
 * A client's HELLO may name the addresses of its previous session. The
 * server honours that only if (a) it itself last leased that address to the
 * same certificate name, (b) the lease ended less than |lifetime_ns| ago (or
 * is still live — replace-same-name), and (c) the address is free (the
 * caller checks the pool). Otherwise the client gets a fresh address.
 *
 * The table is keyed by address (IPv4 or IPv6; family and bytes, so
 * 10.0.0.1 and a00:1:: are different) and bounded: at most |max_entries|
 * records; when full, recording a new address evicts the record released
 * longest ago (records of live leases are evicted only if every record is
 * live, which max_entries >= 2 * max_clients rules out; then the one granted
 * longest ago goes). A record stays until evicted or replaced: one released
 * more than lifetime_ns ago is simply never honoured. O(1) per operation
 * (SipHash-keyed hash by address, an LRU list of released records and a
 * list of live ones in grant order). Allocates only in rv_leases_new.
 *
 * Time is a parameter: |now_ns| is monotonic nanoseconds, any start value.
 * Single-threaded (the control thread).
 */
#ifndef RV_CORE_LEASE_H
#define RV_CORE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

enum {
	RV_LEASE_NAME_MAX = 64,		/* = RV_CONFIG_NAME_MAX */
	RV_LEASE_MAX_ENTRIES = 1 << 24, /* sanity bound on max_entries */
};

struct rv_leases;

/* rv_leases_new returns an empty table holding at most |max_entries| records,
 * or NULL (-ENOMEM, or max_entries not in 1 .. RV_LEASE_MAX_ENTRIES). */
struct rv_leases *rv_leases_new(size_t max_entries, uint64_t lifetime_ns);

/* rv_leases_free frees the table (wipes names). NULL ok. */
void rv_leases_free(struct rv_leases *l);

/* rv_leases_set_lifetime changes the lifetime (config reload); it applies at
 * once to every released record, including ones released before.
 * rv_leases_lifetime returns it. */
void rv_leases_set_lifetime(struct rv_leases *l, uint64_t lifetime_ns);
uint64_t rv_leases_lifetime(const struct rv_leases *l);

/* rv_leases_grant records that |addr| was given to |name| at |now_ns| (a
 * live lease). Replaces any record of |addr|; may evict another address's
 * record (see above). A name longer than RV_LEASE_NAME_MAX bytes is recorded
 * as matching no name, so two long names sharing a prefix are never taken
 * for each other. */
void rv_leases_grant(struct rv_leases *l, const struct rv_ip_addr *addr, const char *name,
		     uint64_t now_ns);

/* rv_leases_release marks the live lease of |addr| ended at |now_ns| (the
 * record is honoured for lifetime_ns more). No-op if |addr| has no record or
 * its lease already ended (the first end time stays). */
void rv_leases_release(struct rv_leases *l, const struct rv_ip_addr *addr, uint64_t now_ns);

/* rv_leases_may_return: may |name| have |addr| back? True iff the record of
 * |addr| names |name| (the whole name, byte for byte) and is live or was
 * released at most lifetime_ns before |now_ns| (a |now_ns| before the
 * release counts as "just released"). */
bool rv_leases_may_return(const struct rv_leases *l, const struct rv_ip_addr *addr,
			  const char *name, uint64_t now_ns);

/* rv_leases_last_of: does the record of |addr| name |name|, however long
 * ago its lease ended? Nobody else was given it since: a client asking for
 * it back after its lease_time may have it, if it is free. */
bool rv_leases_last_of(const struct rv_leases *l, const struct rv_ip_addr *addr, const char *name);

/* rv_leases_kept_for_other: is |addr| still kept for a name other than
 * |name|? True iff its record is live or was released at most lifetime_ns
 * before |now_ns|, and names someone else (a record whose name was too long
 * to keep counts as someone else's). The allocator passes over such
 * addresses, so that a client coming and going cannot walk onto another's
 * address while that one may still come back for it. */
bool rv_leases_kept_for_other(const struct rv_leases *l, const struct rv_ip_addr *addr,
			      const char *name, uint64_t now_ns);

/* rv_leases_of finds the addresses of |family| leased to |name| that may
 * still come back to it (live, or released at most lifetime_ns before
 * |now_ns|), newest first, at most |max| (at most RV_LEASES_OF_MAX) of them,
 * into |out|, and returns their number: a client whose process restarted,
 * which remembers nothing, gets the first of them that is free. */
enum { RV_LEASES_OF_MAX = 8 };
size_t rv_leases_of(const struct rv_leases *l, const char *name, int family, uint64_t now_ns,
		    struct rv_ip_addr *out, size_t max);

/* rv_leases_released_at returns when |addr|'s lease was released, or 0 when
 * it has no record or is live: of addresses all kept for others, the one
 * released longest ago goes first. */
uint64_t rv_leases_released_at(const struct rv_leases *l, const struct rv_ip_addr *addr);

/* rv_leases_release_final is rv_leases_release for a session that cannot
 * come back for the address (its certificate revoked or expired): kept for
 * the name as any other, but never as its last (rv_leases_released_last).
 * Not kept in the journal: a restart reads it as an ordinary end. */
void rv_leases_release_final(struct rv_leases *l, const struct rv_ip_addr *addr, uint64_t now_ns);

/* rv_leases_released_last: is |addr| the address its name was released
 * from last, less than |window_ns| before |now_ns| (a |now_ns| before the
 * release counts as "just released"), with no session of that name and
 * family live since? Its client is then most likely on its way back for
 * it. One per name and family: a client that walked the pool, reconnecting
 * to leave one address after another, does not hold them all. False when
 * |addr| has no record, is live, was released final, or its name was too
 * long to keep. */
bool rv_leases_released_last(const struct rv_leases *l, const struct rv_ip_addr *addr,
			     uint64_t now_ns, uint64_t window_ns);

/* rv_leases_forgotten returns how many records still honoured (live, or
 * released within the lifetime) were evicted for want of room: a client
 * lost the address it would have got back. */
uint64_t rv_leases_forgotten(const struct rv_leases *l);

/* rv_leases_count returns the number of records (live and released). */
size_t rv_leases_count(const struct rv_leases *l);

struct rv_strbuf;

/* Persistence. A server that keeps a lease file writes a journal: one line
 * per grant or release, "G ADDRESS 0 NAME" or "R ADDRESS END NAME" (END in
 * seconds since the epoch), appended as leases change, and now and then
 * replaced by a snapshot of the table (rv_leases_save). Loading replays it;
 * leases still live at the end ended when the file was last written (the
 * process that held them is gone). So clients get their addresses back
 * across a restart, even after kill -9. Wall-clock times are parameters. */

enum { RV_LEASE_EVENTS = 4096 };

/* struct rv_lease_event is one grant (live) or release. */
struct rv_lease_event {
	struct rv_ip_addr addr;
	bool live;
	uint64_t at_ns;
	char name[RV_LEASE_NAME_MAX + 1];
};

/* rv_leases_take_events moves up to |max| changes since the last call into
 * |out| and returns their number; |*out_overflow| says that changes were
 * lost (more than RV_LEASE_EVENTS between calls): write a snapshot then. */
size_t rv_leases_take_events(struct rv_leases *l, struct rv_lease_event *out, size_t max,
			     bool *out_overflow);

/* rv_leases_journal_line appends the journal line of |e| to |out|. */
void rv_leases_journal_line(struct rv_strbuf *out, const struct rv_lease_event *e, uint64_t now_ns,
			    int64_t now_wall);

/* The journal's first line begins so (rv_leases_save): a file that does
 * not is not a lease journal. */
#define RV_LEASES_HEADER "# ringvpn lease journal v1"

/* A snapshot's last line (rv_leases_save). A journal may hold several
 * snapshots: a new one is written after the journal before it is copied
 * over the file's beginning (tls/leasefile.c), so that no moment leaves the
 * file with less than one whole table. The loader starts at the last
 * header whose snapshot reaches this line. */
#define RV_LEASES_END "# end of snapshot"

/* What ends a last line a crash cut short before anything is appended
 * after it: a newline alone made "G 10.99.0.5 0 client1" of client12's
 * line, a lease (round-forty-eight tester 220). Words after a blank are no
 * name, nor a number, nor an address: the line stays unreadable. */
#define RV_LEASES_UNENDED " (a line cut short)\n"

/* rv_leases_save writes a snapshot of every record to |out|: the header,
 * the journal lines, RV_LEASES_END. */
void rv_leases_save(const struct rv_leases *l, struct rv_strbuf *out, uint64_t now_ns,
		    int64_t now_wall);

/* rv_leases_load replays a journal of |len| bytes from its last whole
 * snapshot (lines starting with '#' ignored; malformed ones skipped and
 * counted in |*out_bad|, may be NULL)
 * written up to |end_wall|, at |now_ns| / |now_wall|. Records already past
 * the lifetime are dropped. Returns how many records the table holds. */
int rv_leases_load(struct rv_leases *l, const char *text, size_t len, uint64_t now_ns,
		   int64_t now_wall, int64_t end_wall, size_t *out_bad);

#endif /* RV_CORE_LEASE_H */
