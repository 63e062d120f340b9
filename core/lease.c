/*
 * lease.c — address -> certificate name lease memory (see lease.h).
 *
 * Records live in one preallocated array. A record is on the free list
 * (linked through hnext), or in a hash chain by address and on exactly one
 * of two lists: |live| in grant order, or |released| in release order (the
 * LRU: head = released longest ago, the first to go when the table is
 * full). A record with a storable name is also on a hash chain by name
 * (nnext), so that a name's last address is found without a scan.
 * Names are stored with their length; a name too long to store is marked
 * with name_len = TOO_LONG and matches nothing.
 */
#include "core/lease.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/certname.h"
#include "core/strbuf.h"
#include "crypto/mem.h"
#include "crypto/siphash.h"

enum { TOO_LONG = RV_LEASE_NAME_MAX + 1 };

/* The table's clock is the monotonic clock moved 2^62 ns (146 years) on, so
 * that a lease read back from the journal that ended before this boot keeps
 * its true end (a young monotonic clock cannot go that far back). */
static const uint64_t CLOCK_BIAS = 1ull << 62;

static uint64_t tick(uint64_t now_ns)
{
	return now_ns + CLOCK_BIAS;
}

struct lease {
	struct lease *hnext; /* hash chain, or free list */
	struct lease *nnext; /* chain by name (a storable name only) */
	struct lease *prev, *next;
	struct rv_ip_addr addr;
	uint64_t changed_ns; /* grant, or end of the lease (tick) */
	bool live;
	bool final; /* released by a session that cannot come back for it */
	uint8_t name_len;
	char name[RV_LEASE_NAME_MAX];
};

struct lease_list {
	struct lease *head, *tail;
};

struct rv_leases {
	struct rv_siphash_key key;
	uint64_t lifetime_ns;
	size_t max_entries, count;
	uint64_t forgotten; /* honoured records evicted for want of room */
	struct lease *recs;
	struct lease *free;
	struct lease **buckets, **nbuckets;
	size_t mask;
	struct lease_list live, released;
	/* Changes since the caller last took them (rv_leases_take_events), for
	 * an on-disk journal; a ring that marks an overflow instead of
	 * growing. */
	struct rv_lease_event events[RV_LEASE_EVENTS];
	size_t ev_head, ev_len;
	bool ev_overflow;
};

struct rv_leases *rv_leases_new(size_t max_entries, uint64_t lifetime_ns)
{
	struct rv_leases *l;
	size_t nb = 16;

	if (max_entries < 1 || max_entries > RV_LEASE_MAX_ENTRIES) {
		return NULL;
	}
	while (nb < 2 * max_entries) {
		nb *= 2;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		return NULL;
	}
	l->recs = calloc(max_entries, sizeof(*l->recs));
	l->buckets = calloc(nb, sizeof(*l->buckets));
	l->nbuckets = calloc(nb, sizeof(*l->nbuckets));
	if (!l->recs || !l->buckets || !l->nbuckets) {
		free(l->recs);
		free(l->buckets);
		free(l->nbuckets);
		free(l);
		return NULL;
	}
	for (size_t i = max_entries; i-- > 0;) {
		l->recs[i].hnext = l->free;
		l->free = &l->recs[i];
	}
	l->mask = nb - 1;
	l->max_entries = max_entries;
	l->lifetime_ns = lifetime_ns;
	rv_siphash_key_init(&l->key);
	return l;
}

void rv_leases_free(struct rv_leases *l)
{
	if (!l) {
		return;
	}
	/* Names say who used which address: wipe them with the rest. */
	rv_memzero(l->recs, l->max_entries * sizeof(*l->recs));
	free(l->recs);
	free(l->buckets);
	free(l->nbuckets);
	free(l);
}

void rv_leases_set_lifetime(struct rv_leases *l, uint64_t lifetime_ns)
{
	l->lifetime_ns = lifetime_ns;
}

uint64_t rv_leases_forgotten(const struct rv_leases *l)
{
	return l->forgotten;
}

uint64_t rv_leases_lifetime(const struct rv_leases *l)
{
	return l->lifetime_ns;
}

size_t rv_leases_count(const struct rv_leases *l)
{
	return l->count;
}

static size_t addr_len(const struct rv_ip_addr *a)
{
	return a->family == AF_INET ? 4 : sizeof(a->a);
}

static struct lease **bucket(const struct rv_leases *l, const struct rv_ip_addr *a)
{
	uint8_t key[1 + sizeof(a->a)];

	key[0] = a->family;
	memcpy(key + 1, a->a, addr_len(a));
	return &l->buckets[rv_siphash(&l->key, key, 1 + addr_len(a)) & l->mask];
}

static struct lease **name_bucket(const struct rv_leases *l, const char *name, size_t len)
{
	return &l->nbuckets[rv_siphash(&l->key, name, len) & l->mask];
}

/* name_unlink takes |r| off its name chain (if it is on one). */
static void name_unlink(struct rv_leases *l, struct lease *r)
{
	struct lease **pp;

	if (r->name_len == TOO_LONG) {
		return;
	}
	for (pp = name_bucket(l, r->name, r->name_len); *pp; pp = &(*pp)->nnext) {
		if (*pp == r) {
			*pp = r->nnext;
			break;
		}
	}
	r->nnext = NULL;
}

static bool names_equal(const struct lease *r, const char *name, size_t len)
{
	return r->name_len != TOO_LONG && r->name_len == len && memcmp(r->name, name, len) == 0;
}

/* honoured: is |r| live, or released at most lifetime_ns before |now_ns|
 * (a |now_ns| before the release counts as "just released")? */
static bool honoured(const struct rv_leases *l, const struct lease *r, uint64_t now_ns)
{
	uint64_t t = tick(now_ns);

	return r->live || t <= r->changed_ns || t - r->changed_ns <= l->lifetime_ns;
}

static struct lease *find(const struct rv_leases *l, const struct rv_ip_addr *a)
{
	for (struct lease *r = *bucket(l, a); r; r = r->hnext) {
		if (rv_ip_addr_equal(&r->addr, a)) {
			return r;
		}
	}
	return NULL;
}

static void list_del(struct lease_list *list, struct lease *r)
{
	if (r->prev) {
		r->prev->next = r->next;
	} else {
		list->head = r->next;
	}
	if (r->next) {
		r->next->prev = r->prev;
	} else {
		list->tail = r->prev;
	}
	r->prev = NULL;
	r->next = NULL;
}

static void list_append(struct lease_list *list, struct lease *r)
{
	r->next = NULL;
	r->prev = list->tail;
	if (list->tail) {
		list->tail->next = r;
	} else {
		list->head = r;
	}
	list->tail = r;
}

/* evict frees the record released longest ago, or failing that the live
 * one granted longest ago, and returns it off every list. */
static struct lease *evict(struct rv_leases *l, uint64_t now_ns)
{
	struct lease_list *list = l->released.head ? &l->released : &l->live;
	struct lease *r = list->head, **pp = bucket(l, &r->addr);

	l->forgotten += honoured(l, r, now_ns);
	list_del(list, r);
	while (*pp != r) {
		pp = &(*pp)->hnext;
	}
	*pp = r->hnext;
	name_unlink(l, r);
	l->count--;
	return r;
}

/* note records a change for the journal. */
static void note(struct rv_leases *l, const struct lease *r)
{
	struct rv_lease_event *e;

	if (l->ev_len == RV_LEASE_EVENTS) {
		l->ev_overflow = true;
		return;
	}
	e = &l->events[(l->ev_head + l->ev_len++) % RV_LEASE_EVENTS];
	e->addr = r->addr;
	e->live = r->live;
	e->at_ns = r->changed_ns;
	memcpy(e->name, r->name, r->name_len == TOO_LONG ? 0 : r->name_len);
	e->name[r->name_len == TOO_LONG ? 0 : r->name_len] = '\0';
}

void rv_leases_grant(struct rv_leases *l, const struct rv_ip_addr *addr, const char *name,
		     uint64_t now_ns)
{
	struct lease *r = find(l, addr);
	size_t len = strnlen(name, TOO_LONG);

	if (r) {
		list_del(r->live ? &l->live : &l->released, r);
		name_unlink(l, r);
	} else {
		struct lease **b;

		if (l->free) {
			r = l->free;
			l->free = r->hnext;
		} else {
			r = evict(l, now_ns);
		}
		memset(r, 0, sizeof(*r));
		r->addr.family = addr->family;
		memcpy(r->addr.a, addr->a, addr_len(addr));
		b = bucket(l, addr); /* after evict: it may have emptied this chain */
		r->hnext = *b;
		*b = r;
		l->count++;
	}
	memset(r->name, 0, sizeof(r->name));
	if (len > RV_LEASE_NAME_MAX) {
		r->name_len = TOO_LONG;
	} else {
		struct lease **nb = name_bucket(l, name, len);

		r->name_len = (uint8_t)len;
		memcpy(r->name, name, len);
		r->nnext = *nb;
		*nb = r;
	}
	r->live = true;
	r->changed_ns = tick(now_ns);
	list_append(&l->live, r);
	note(l, r);
}

/* release_at ends the live lease of |addr| at |t| (a tick). */
static void release_at(struct rv_leases *l, const struct rv_ip_addr *addr, uint64_t t)
{
	struct lease *r = find(l, addr);

	if (!r || !r->live) {
		return;
	}
	list_del(&l->live, r);
	r->live = false;
	r->final = false;
	r->changed_ns = t;
	list_append(&l->released, r);
	note(l, r);
}

void rv_leases_release(struct rv_leases *l, const struct rv_ip_addr *addr, uint64_t now_ns)
{
	release_at(l, addr, tick(now_ns));
}

void rv_leases_release_final(struct rv_leases *l, const struct rv_ip_addr *addr, uint64_t now_ns)
{
	struct lease *r;

	release_at(l, addr, tick(now_ns));
	r = find(l, addr);
	if (r && !r->live) {
		r->final = true;
	}
}

bool rv_leases_may_return(const struct rv_leases *l, const struct rv_ip_addr *addr,
			  const char *name, uint64_t now_ns)
{
	const struct lease *r = find(l, addr);

	return r && names_equal(r, name, strnlen(name, TOO_LONG)) && honoured(l, r, now_ns);
}

bool rv_leases_last_of(const struct rv_leases *l, const struct rv_ip_addr *addr, const char *name)
{
	const struct lease *r = find(l, addr);

	return r && names_equal(r, name, strnlen(name, TOO_LONG));
}

bool rv_leases_kept_for_other(const struct rv_leases *l, const struct rv_ip_addr *addr,
			      const char *name, uint64_t now_ns)
{
	const struct lease *r = find(l, addr);

	if (!r || !honoured(l, r, now_ns)) {
		return false;
	}
	return !rv_leases_may_return(l, addr, name, now_ns);
}

size_t rv_leases_of(const struct rv_leases *l, const char *name, int family, uint64_t now_ns,
		    struct rv_ip_addr *out, size_t max)
{
	size_t len = strnlen(name, TOO_LONG), n = 0;
	uint64_t at[RV_LEASES_OF_MAX];

	if (len > RV_LEASE_NAME_MAX) {
		return 0;
	}
	if (max > RV_LEASES_OF_MAX) {
		max = RV_LEASES_OF_MAX;
	}
	for (const struct lease *r = *name_bucket(l, name, len); r; r = r->nnext) {
		size_t k;

		if (r->addr.family != family || !names_equal(r, name, len) ||
		    !honoured(l, r, now_ns)) {
			continue;
		}
		/* Insert in newest-first order, keeping the |max| newest. */
		for (k = n; k > 0 && at[k - 1] < r->changed_ns; k--) {
		}
		if (k == max) {
			continue;
		}
		if (n < max) {
			n++;
		}
		memmove(&out[k + 1], &out[k], (n - 1 - k) * sizeof(*out));
		memmove(&at[k + 1], &at[k], (n - 1 - k) * sizeof(*at));
		out[k] = r->addr;
		at[k] = r->changed_ns;
	}
	return n;
}

uint64_t rv_leases_released_at(const struct rv_leases *l, const struct rv_ip_addr *addr)
{
	const struct lease *r = find(l, addr);

	return r && !r->live ? r->changed_ns : 0;
}

bool rv_leases_released_last(const struct rv_leases *l, const struct rv_ip_addr *addr,
			     uint64_t now_ns, uint64_t window_ns)
{
	const struct lease *r = find(l, addr);
	uint64_t t = tick(now_ns);

	if (!r || r->live || r->final || r->name_len == TOO_LONG ||
	    (t > r->changed_ns && t - r->changed_ns >= window_ns)) {
		return false;
	}
	for (const struct lease *o = *name_bucket(l, r->name, r->name_len); o; o = o->nnext) {
		if (o != r && o->addr.family == r->addr.family &&
		    names_equal(o, r->name, r->name_len) &&
		    (o->live || o->changed_ns > r->changed_ns)) {
			return false;
		}
	}
	return true;
}

/* ---- persistence ------------------------------------------------------- */

size_t rv_leases_take_events(struct rv_leases *l, struct rv_lease_event *out, size_t max,
			     bool *out_overflow)
{
	size_t n = 0;

	*out_overflow = l->ev_overflow;
	l->ev_overflow = false;
	while (n < max && l->ev_len > 0) {
		out[n++] = l->events[l->ev_head];
		l->ev_head = (l->ev_head + 1) % RV_LEASE_EVENTS;
		l->ev_len--;
	}
	return n;
}

/* wall_of converts a tick to wall-clock seconds. */
static int64_t wall_of(uint64_t at, uint64_t now_ns, int64_t now_wall)
{
	uint64_t t = tick(now_ns);

	return now_wall - (int64_t)((t > at ? t - at : 0) / 1000000000ull);
}

void rv_leases_journal_line(struct rv_strbuf *out, const struct rv_lease_event *e, uint64_t now_ns,
			    int64_t now_wall)
{
	char a[64];

	rv_strbuf_printf(out, "%c %s %lld %s\n", e->live ? 'G' : 'R',
			 rv_ip_addr_str(&e->addr, a, sizeof(a)),
			 (long long)(e->live ? 0 : wall_of(e->at_ns, now_ns, now_wall)), e->name);
}

void rv_leases_save(const struct rv_leases *l, struct rv_strbuf *out, uint64_t now_ns,
		    int64_t now_wall)
{
	const struct lease_list *lists[] = { &l->live, &l->released };

	rv_strbuf_printf(out, RV_LEASES_HEADER ": G|R ADDRESS END NAME (G: live, R: "
					       "ended at END, seconds since the epoch)\n");
	for (size_t k = 0; k < 2; k++) {
		for (const struct lease *r = lists[k]->head; r; r = r->next) {
			struct rv_lease_event e = { .addr = r->addr,
						    .live = r->live,
						    .at_ns = r->changed_ns };

			if (r->name_len == TOO_LONG) {
				continue; /* matches nothing anyway */
			}
			memcpy(e.name, r->name, r->name_len);
			rv_leases_journal_line(out, &e, now_ns, now_wall);
		}
	}
	rv_strbuf_printf(out, RV_LEASES_END "\n");
}

/* is_line: is the line |p| of |ll| bytes |s| (|prefix|: begins with it)? */
static bool is_line(const char *p, size_t ll, const char *s, bool prefix)
{
	size_t n = strlen(s);

	return (prefix ? ll >= n : ll == n) && memcmp(p, s, n) == 0;
}

/* last_snapshot: the offset of the journal's last header whose snapshot
 * reached its end line, or 0 (a journal of an older version has no end
 * line, and one header, at 0). Before it lie an older table and, where a
 * process died while copying the snapshot over the file's beginning, the
 * old journal's remains, cut anywhere. A snapshot without its end (a
 * process killed while appending it) is read as events: each of its lines
 * is a lease as it was then. */
static size_t last_snapshot(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t begun = 0, whole = 0;
	bool open = false;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (eol && is_line(p, ll, RV_LEASES_HEADER, true)) {
			begun = (size_t)(p - text);
			open = true;
		} else if (eol && open && is_line(p, ll, RV_LEASES_END, false)) {
			whole = begun;
			open = false;
		}
		p += ll + 1;
	}
	return whole;
}

/* forget drops the record of |a| (loading: a lease that turned out too old). */
static void forget(struct rv_leases *l, const struct rv_ip_addr *a)
{
	struct lease **pp = bucket(l, a);

	for (; *pp; pp = &(*pp)->hnext) {
		struct lease *r = *pp;

		if (r->addr.family == a->family && !memcmp(r->addr.a, a->a, addr_len(a))) {
			*pp = r->hnext;
			list_del(r->live ? &l->live : &l->released, r);
			name_unlink(l, r); /* off every chain before it is reused */
			rv_memzero(r, sizeof(*r));
			r->hnext = l->free;
			l->free = r;
			l->count--;
			return;
		}
	}
}

/* load_end ends the lease of |a| read back from the journal at |end_wall|
 * (seconds since the epoch), or forgets it when that is longer ago than the
 * lifetime. An end in the future counts as now; one before this boot keeps
 * its place on the table's clock. */
static void load_end(struct rv_leases *l, const struct rv_ip_addr *a, uint64_t now_ns,
		     int64_t now_wall, int64_t end_wall)
{
	/* In unsigned arithmetic: an END of -2^63 overflowed the signed
	 * difference (undefined; the fuzzer's seed of absurd lines found it). */
	uint64_t age = now_wall > end_wall ? (uint64_t)now_wall - (uint64_t)end_wall : 0;

	/* (age > lifetime in whole seconds: the same as age * 10^9 > lifetime,
	 * without its overflow for an absurd END) */
	if (age > l->lifetime_ns / 1000000000ull) {
		forget(l, a);
		return;
	}
	release_at(l, a, tick(now_ns) - age * 1000000000ull);
}

int rv_leases_load(struct rv_leases *l, const char *text, size_t len, uint64_t now_ns,
		   int64_t now_wall, int64_t end_wall, size_t *out_bad)
{
	const char *p = text + last_snapshot(text, len), *end = text + len;
	size_t bad = 0;
	int n = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
		char line[RV_LEASE_NAME_MAX + 128], addr[64], kind;
		long long t;
		struct rv_ip_addr a;
		int off = 0;

		if (ll > 0 && p[0] != '#') {
			memset(&a, 0, sizeof(a));
			/* Every record is written with its newline: a last
			 * line without one was cut short (a power loss, a
			 * write stopped), and "G fd99::3 0 client1" may be
			 * client12's lease cut (round-ten tester 46). */
			if (ll >= sizeof(line) || eol == NULL || memchr(p, '\0', ll) != NULL) {
				/* A NUL ended the text where the line had more
				 * (an edit's "client2\0junk" was client2's
				 * lease: round-twenty-three tester 102). */
				bad++;
			} else {
				memcpy(line, p, ll);
				line[ll] = '\0';
				if (sscanf(line, "%c %63s %lld %n", &kind, addr, &t, &off) < 3 ||
				    off <= 0 || line[off] == '\0' || (kind != 'G' && kind != 'R') ||
				    strlen(line + off) > RV_LEASE_NAME_MAX ||
				    /* only a name a certificate can have (a CR, a
				     * space: a hand-edited line) */
				    !rv_cert_name_ok((const unsigned char *)line + off,
						     strlen(line + off)) ||
				    (inet_pton(AF_INET, addr, a.a) != 1 &&
				     inet_pton(AF_INET6, addr, a.a) != 1)) {
					bad++;
				} else {
					a.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
					rv_leases_grant(l, &a, line + off, now_ns);
					if (kind == 'R') {
						load_end(l, &a, now_ns, now_wall, t);
					}
				}
			}
		}
		p += ll + 1;
	}
	/* Leases still live at the end belonged to the process that wrote the
	 * journal: they ended when it last wrote (|end_wall|). */
	while (l->live.head) {
		struct rv_ip_addr a = l->live.head->addr;

		load_end(l, &a, now_ns, now_wall, end_wall);
	}
	n = (int)l->count;
	/* Loading is not news for the journal. */
	l->ev_len = 0;
	l->ev_overflow = false;
	if (out_bad) {
		*out_bad = bad;
	}
	return n;
}
