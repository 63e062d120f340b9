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

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
