/*
 * admit.c — fair admission of half-open control connections (see admit.h).
 *
 * A source record holds, per class, a FIFO of its entries (head = oldest)
 * and its counts: n[CONNECTED], n[HELLO] and n[TOTAL]. For each of these
 * three kinds, by_count[kind][c] lists the sources whose count of that kind
 * is c (c >= 1) and max[kind] is the largest non-empty c. Counts change by
 * one at a time, so keeping max exact is O(1): it rises with an increment,
 * and falls by one only when its list empties (the source that left it now
 * sits one below). Rule 2's "source holding the most CONNECTED entries" is
 * the head of by_count[CONNECTED][max[CONNECTED]]; rule 1 after lowered
 * limits uses the TOTAL kind the same way.
 *
 * Bounds. The table holds at most |cap| entries (max_total + 1, the most a
 * caller that removes every victim can reach; raised with max_total, never
 * lowered). A source record exists only while it has entries, so |cap|
 * source records always suffice, and no count exceeds |cap|: every array is
 * sized once per cap.
 */
#include "core/admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/siphash.h"

enum { KIND_TOTAL = RV_ADMIT_CLASSES, NUM_KINDS };

enum { KEY_LEN = 9 }; /* family tag, then 4 (IPv4) or 8 (IPv6 /64) bytes */

struct admit_src {
	struct admit_src *hnext; /* hash chain, or free list */
	uint8_t key[KEY_LEN];
	struct rv_admit_entry *head[RV_ADMIT_CLASSES], *tail[RV_ADMIT_CLASSES];
	size_t n[NUM_KINDS];
	struct admit_src *bprev[NUM_KINDS], *bnext[NUM_KINDS];
};

/* Source records are allocated in blocks (one per cap increase) so that
 * entries' pointers to them stay valid when the cap grows. */
struct src_block {
	struct src_block *next;
	struct admit_src srcs[];
};

struct rv_admit {
	struct rv_admit_limits lim;
	struct rv_siphash_key key;
	size_t cap;
	struct admit_src **buckets;
	size_t mask;
	struct admit_src *free_srcs;
	struct src_block *blocks;
	struct admit_src **by_count[NUM_KINDS]; /* [kind][1 .. cap] */
	size_t max[NUM_KINDS];
	size_t num[NUM_KINDS]; /* entries per class, and in all */
	size_t num_srcs;
};

static bool limits_ok(const struct rv_admit_limits *lim)
{
	return lim->max_total >= 1 && lim->max_total <= RV_ADMIT_MAX_TOTAL &&
	       lim->max_per_source >= 1 && lim->max_per_source <= lim->max_total;
}

static size_t hash_src(const struct rv_admit *a, const uint8_t *key)
{
	return (size_t)rv_siphash(&a->key, key, KEY_LEN) & a->mask;
}

/* reserve grows the table to hold |cap| entries: a block of new source
 * records, count arrays of cap + 1 lists and a bucket array of at least
 * 2 * cap. Everything is allocated before anything changes, so a failure
 * leaves the table as it was. */
static int reserve(struct rv_admit *a, size_t cap)
{
	size_t more = cap - a->cap, nb = 16;
	struct src_block *blk;
	struct admit_src **bc[NUM_KINDS] = { NULL }, **buckets;

	while (nb < 2 * cap) {
		nb *= 2;
	}
	blk = calloc(1, sizeof(*blk) + more * sizeof(blk->srcs[0]));
	buckets = calloc(nb, sizeof(*buckets));
	for (int k = 0; k < NUM_KINDS; k++) {
		bc[k] = calloc(cap + 1, sizeof(*bc[k]));
	}
	if (!blk || !buckets || !bc[0] || !bc[1] || !bc[2]) {
		for (int k = 0; k < NUM_KINDS; k++) {
			free(bc[k]);
		}
		free(buckets);
		free(blk);
		return -ENOMEM;
	}
	/* Rehash the live sources into the new buckets. */
	for (size_t b = 0; a->buckets && b <= a->mask; b++) {
		struct admit_src *s = a->buckets[b], *next;

		for (; s; s = next) {
			size_t h = (size_t)rv_siphash(&a->key, s->key, KEY_LEN) & (nb - 1);

			next = s->hnext;
			s->hnext = buckets[h];
			buckets[h] = s;
		}
	}
	free(a->buckets);
	a->buckets = buckets;
	a->mask = nb - 1;
	for (int k = 0; k < NUM_KINDS; k++) {
		if (a->by_count[k]) {
			memcpy(bc[k], a->by_count[k], (a->cap + 1) * sizeof(*bc[k]));
		}
		free(a->by_count[k]);
		a->by_count[k] = bc[k];
	}
	for (size_t i = 0; i < more; i++) {
		blk->srcs[i].hnext = a->free_srcs;
		a->free_srcs = &blk->srcs[i];
	}
	blk->next = a->blocks;
	a->blocks = blk;
	a->cap = cap;
	return 0;
}

struct rv_admit *rv_admit_new(const struct rv_admit_limits *lim)
{
	struct rv_admit *a;

	if (!limits_ok(lim)) {
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		return NULL;
	}
	a->lim = *lim;
	rv_siphash_key_init(&a->key);
	if (reserve(a, (size_t)lim->max_total + 1)) {
		free(a);
		return NULL;
	}
	return a;
}

void rv_admit_free(struct rv_admit *a)
{
	struct src_block *blk, *next;

	if (!a) {
		return;
	}
	for (blk = a->blocks; blk; blk = next) {
		next = blk->next;
		free(blk);
	}
	for (int k = 0; k < NUM_KINDS; k++) {
		free(a->by_count[k]);
	}
	free(a->buckets);
	free(a);
}

int rv_admit_set_limits(struct rv_admit *a, const struct rv_admit_limits *lim)
{
	size_t cap = (size_t)lim->max_total + 1;

	if (!limits_ok(lim)) {
		return -EINVAL;
	}
	if (cap > a->cap) {
		int ret = reserve(a, cap);

		if (ret) {
			return ret;
		}
	}
	a->lim = *lim;
	return 0;
}

/* src_key: an IPv4 address, an IPv6 /64, or (IPv4-mapped IPv6) the IPv4
 * address inside. Anything else is one catch-all source. */
static void src_key(uint8_t *key, const struct rv_ip_addr *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(key, 0, KEY_LEN);
	if (ip->family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, ip->a, 4);
	} else if (ip->family == AF_INET6 && memcmp(ip->a, mapped, sizeof(mapped)) == 0) {
		key[0] = 4;
		memcpy(key + 1, ip->a + 12, 4);
	} else if (ip->family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, ip->a, 8);
	}
}

/* find_or_add_src returns the record of |ip|'s source, taking a free one
 * for a new source (the caller guarantees one is free). */
static struct admit_src *find_or_add_src(struct rv_admit *a, const struct rv_ip_addr *ip)
{
	uint8_t key[KEY_LEN];
	size_t h;
	struct admit_src *s;

	src_key(key, ip);
	h = hash_src(a, key);
	for (s = a->buckets[h]; s; s = s->hnext) {
		if (memcmp(s->key, key, KEY_LEN) == 0) {
			return s;
		}
	}
	s = a->free_srcs;
	a->free_srcs = s->hnext;
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, KEY_LEN);
	s->hnext = a->buckets[h];
	a->buckets[h] = s;
	a->num_srcs++;
	return s;
}

static void drop_src(struct rv_admit *a, struct admit_src *s)
{
	struct admit_src **pp = &a->buckets[hash_src(a, s->key)];

	while (*pp != s) {
		pp = &(*pp)->hnext;
	}
	*pp = s->hnext;
	s->hnext = a->free_srcs;
	a->free_srcs = s;
	a->num_srcs--;
}

/* count_list_del / count_list_add move |s| off / onto the list of its
 * current count of |kind| (count 0 is on no list). */
static void count_list_del(struct rv_admit *a, int kind, struct admit_src *s)
{
	struct admit_src **head = &a->by_count[kind][s->n[kind]];

	if (s->bprev[kind]) {
		s->bprev[kind]->bnext[kind] = s->bnext[kind];
	} else {
		*head = s->bnext[kind];
	}
	if (s->bnext[kind]) {
		s->bnext[kind]->bprev[kind] = s->bprev[kind];
	}
}

static void count_list_add(struct rv_admit *a, int kind, struct admit_src *s)
{
	struct admit_src **head = &a->by_count[kind][s->n[kind]];

	s->bprev[kind] = NULL;
	s->bnext[kind] = *head;
	if (*head) {
		(*head)->bprev[kind] = s;
	}
	*head = s;
}

static void count_inc(struct rv_admit *a, int kind, struct admit_src *s)
{
	if (s->n[kind]) {
		count_list_del(a, kind, s);
	}
	s->n[kind]++;
	count_list_add(a, kind, s);
	if (s->n[kind] > a->max[kind]) {
		a->max[kind] = s->n[kind];
	}
	a->num[kind]++;
}

static void count_dec(struct rv_admit *a, int kind, struct admit_src *s)
{
	size_t was = s->n[kind];

	count_list_del(a, kind, s);
	s->n[kind]--;
	if (s->n[kind]) {
		count_list_add(a, kind, s);
	}
	if (a->max[kind] == was && !a->by_count[kind][was]) {
		a->max[kind] = was - 1;
	}
	a->num[kind]--;
}

static void fifo_append(struct admit_src *s, int cls, struct rv_admit_entry *e)
{
	e->next = NULL;
	e->prev = s->tail[cls];
	if (s->tail[cls]) {
		s->tail[cls]->next = e;
	} else {
		s->head[cls] = e;
	}
	s->tail[cls] = e;
}

static void fifo_del(struct admit_src *s, int cls, struct rv_admit_entry *e)
{
	if (e->prev) {
		e->prev->next = e->next;
	} else {
		s->head[cls] = e->next;
	}
	if (e->next) {
		e->next->prev = e->prev;
	} else {
		s->tail[cls] = e->prev;
	}
	e->prev = NULL;
	e->next = NULL;
}

/* oldest: a source's victim under rule 1, CONNECTED before HELLO. */
static struct rv_admit_entry *oldest(const struct admit_src *s)
{
	return s->head[RV_ADMIT_CONNECTED] ? s->head[RV_ADMIT_CONNECTED] : s->head[RV_ADMIT_HELLO];
}

/* pick applies the victim rules of admit.h; |s| is the new entry's source
 * or NULL. */
static struct rv_admit_entry *pick(const struct rv_admit *a, const struct admit_src *s)
{
	int cls;

	if (s && s->n[KIND_TOTAL] > a->lim.max_per_source) {
		return oldest(s);
	}
	if (a->max[KIND_TOTAL] > a->lim.max_per_source) {
		return oldest(a->by_count[KIND_TOTAL][a->max[KIND_TOTAL]]);
	}
	if (a->num[KIND_TOTAL] <= a->lim.max_total) {
		return NULL;
	}
	cls = a->num[RV_ADMIT_CONNECTED] ? RV_ADMIT_CONNECTED : RV_ADMIT_HELLO;
	return a->by_count[cls][a->max[cls]]->head[cls];
}

struct rv_admit_entry *rv_admit_add(struct rv_admit *a, struct rv_admit_entry *e,
				    const struct rv_ip_addr *src)
{
	struct admit_src *s;

	if (e->active) {
		return NULL;
	}
	if (a->num[KIND_TOTAL] >= a->cap) {
		return e; /* earlier victims were not removed: refuse this one */
	}
	s = find_or_add_src(a, src);
	e->src = s;
	e->cls = RV_ADMIT_CONNECTED;
	e->active = true;
	fifo_append(s, RV_ADMIT_CONNECTED, e);
	count_inc(a, RV_ADMIT_CONNECTED, s);
	count_inc(a, KIND_TOTAL, s);
	return pick(a, s);
}

void rv_admit_promote(struct rv_admit *a, struct rv_admit_entry *e)
{
	struct admit_src *s = e->src;

	if (!e->active || e->cls != RV_ADMIT_CONNECTED) {
		return;
	}
	fifo_del(s, RV_ADMIT_CONNECTED, e);
	count_dec(a, RV_ADMIT_CONNECTED, s);
	e->cls = RV_ADMIT_HELLO;
	fifo_append(s, RV_ADMIT_HELLO, e);
	count_inc(a, RV_ADMIT_HELLO, s);
}

void rv_admit_remove(struct rv_admit *a, struct rv_admit_entry *e)
{
	struct admit_src *s = e->src;

	if (!e->active) {
		return;
	}
	fifo_del(s, e->cls, e);
	count_dec(a, e->cls, s);
	count_dec(a, KIND_TOTAL, s);
	if (!s->n[KIND_TOTAL]) {
		drop_src(a, s);
	}
	memset(e, 0, sizeof(*e));
}

struct rv_admit_entry *rv_admit_victim(struct rv_admit *a)
{
	return pick(a, NULL);
}

size_t rv_admit_count(const struct rv_admit *a, enum rv_admit_class cls)
{
	return (unsigned)cls < RV_ADMIT_CLASSES ? a->num[cls] : 0;
}

size_t rv_admit_sources(const struct rv_admit *a)
{
	return a->num_srcs;
}
