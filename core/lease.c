/*
 * lease.c — address -> certificate name lease memory (see lease.h).
 *
 * Records live in one preallocated array. A record is on the free list
 * (linked through hnext), or in a hash chain and on exactly one of two
 * lists: |live| in grant order, or |released| in release order (the LRU:
 * head = released longest ago, the first to go when the table is full).
 * Names are stored with their length; a name too long to store is marked
 * with name_len = TOO_LONG and matches nothing.
 */
#include "core/lease.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/strbuf.h"
#include "crypto/mem.h"
#include "crypto/siphash.h"

enum { TOO_LONG = RV_LEASE_NAME_MAX + 1 };

struct lease {
	struct lease *hnext; /* hash chain, or free list */
	struct lease *prev, *next;
	struct rv_ip_addr addr;
	uint64_t changed_ns; /* grant, or end of the lease */
	bool live;
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
	struct lease *recs;
	struct lease *free;
	struct lease **buckets;
	size_t mask;
	struct lease_list live, released;
	uint64_t changes;
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
	if (!l->recs || !l->buckets) {
		free(l->recs);
		free(l->buckets);
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
	free(l);
}

void rv_leases_set_lifetime(struct rv_leases *l, uint64_t lifetime_ns)
{
	l->lifetime_ns = lifetime_ns;
}

uint64_t rv_leases_changes(const struct rv_leases *l)
{
	return l->changes;
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
static struct lease *evict(struct rv_leases *l)
{
	struct lease_list *list = l->released.head ? &l->released : &l->live;
	struct lease *r = list->head, **pp = bucket(l, &r->addr);

	list_del(list, r);
	while (*pp != r) {
		pp = &(*pp)->hnext;
	}
	*pp = r->hnext;
	l->count--;
	return r;
}

void rv_leases_grant(struct rv_leases *l, const struct rv_ip_addr *addr, const char *name,
		     uint64_t now_ns)
{
	l->changes++;
	struct lease *r = find(l, addr);
	size_t len = strnlen(name, TOO_LONG);

	if (r) {
		list_del(r->live ? &l->live : &l->released, r);
	} else {
		struct lease **b;

		if (l->free) {
			r = l->free;
			l->free = r->hnext;
		} else {
			r = evict(l);
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
		r->name_len = (uint8_t)len;
		memcpy(r->name, name, len);
	}
	r->live = true;
	r->changed_ns = now_ns;
	list_append(&l->live, r);
}

void rv_leases_release(struct rv_leases *l, const struct rv_ip_addr *addr, uint64_t now_ns)
{
	l->changes++;
	struct lease *r = find(l, addr);

	if (!r || !r->live) {
		return;
	}
	list_del(&l->live, r);
	r->live = false;
	r->changed_ns = now_ns;
	list_append(&l->released, r);
}

bool rv_leases_may_return(const struct rv_leases *l, const struct rv_ip_addr *addr,
			  const char *name, uint64_t now_ns)
{
	const struct lease *r = find(l, addr);

	if (!r || r->name_len == TOO_LONG || strnlen(name, TOO_LONG) != r->name_len ||
	    memcmp(r->name, name, r->name_len) != 0) {
		return false;
	}
	return r->live || now_ns <= r->changed_ns || now_ns - r->changed_ns <= l->lifetime_ns;
}

/* ---- persistence ------------------------------------------------------- */

void rv_leases_save(const struct rv_leases *l, struct rv_strbuf *out, uint64_t now_ns)
{
	const struct lease_list *lists[] = { &l->live, &l->released };

	rv_strbuf_printf(out, "# ringvpn leases v1: address, seconds since the lease ended "
			      "(0: live), certificate name\n");
	for (size_t k = 0; k < 2; k++) {
		for (const struct lease *r = lists[k]->head; r; r = r->next) {
			char a[64];
			uint64_t age = 0;

			if (r->name_len == TOO_LONG) {
				continue; /* matches nothing anyway */
			}
			if (!r->live && now_ns > r->changed_ns) {
				age = (now_ns - r->changed_ns) / 1000000000ull;
			}
			rv_strbuf_printf(out, "%s %llu %.*s\n",
					 rv_ip_addr_str(&r->addr, a, sizeof(a)),
					 (unsigned long long)age, (int)r->name_len, r->name);
		}
	}
}

int rv_leases_load(struct rv_leases *l, const char *text, size_t len, uint64_t now_ns,
		   size_t *out_bad)
{
	const char *p = text, *end = text + len;
	size_t bad = 0, n = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
		char line[RV_LEASE_NAME_MAX + 96], addr[64], name[RV_LEASE_NAME_MAX + 1];
		unsigned long long age;
		struct rv_ip_addr a;
		int off = 0;

		if (ll > 0 && p[0] != '#') {
			memset(&a, 0, sizeof(a));
			if (ll >= sizeof(line) ||
			    (memcpy(line, p, ll), line[ll] = '\0',
			     sscanf(line, "%63s %llu %n", addr, &age, &off) < 2) ||
			    off <= 0 || line[off] == '\0' ||
			    strlen(line + off) > RV_LEASE_NAME_MAX) {
				bad++;
			} else if (inet_pton(AF_INET, addr, a.a) == 1 ||
				   inet_pton(AF_INET6, addr, a.a) == 1) {
				uint64_t age_ns = (uint64_t)age * 1000000000ull;

				a.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
				snprintf(name, sizeof(name), "%s", line + off);
				/* Expired already: not worth a slot. A lease live
				 * when the file was written ended then: the process
				 * that held it is gone. */
				if (age_ns <= l->lifetime_ns) {
					rv_leases_grant(l, &a, name, now_ns);
					rv_leases_release(l, &a,
							  now_ns > age_ns ? now_ns - age_ns : 0);
					n++;
				}
			} else {
				bad++;
			}
		}
		p += ll + 1;
	}
	if (out_bad) {
		*out_bad = bad;
	}
	return (int)n;
}
