/*
 * nametab.c — keyed chained hash of certificate names (see nametab.h).
 *
 * Each node keeps its full 64-bit hash, so growing rehashes without reading
 * a name and a lookup compares strings only on a full hash match. Buckets
 * are a power of two; a node sits in bucket hash & mask. Growth doubles the
 * bucket array once the count passes it (load > 1), so chains stay short on
 * average and each node is moved O(1) times amortised.
 */
#include "core/nametab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/siphash.h"

enum { MIN_BUCKETS = 8 };

struct rv_nametab {
	struct rv_siphash_key key;
	struct rv_name_node **buckets;
	size_t mask; /* buckets - 1 */
	size_t count;
};

struct rv_nametab *rv_nametab_new(size_t expected)
{
	struct rv_nametab *t = calloc(1, sizeof(*t));
	size_t n = MIN_BUCKETS;

	if (!t) {
		return NULL;
	}
	while (n < expected && n <= SIZE_MAX / 2 / sizeof(*t->buckets)) {
		n *= 2;
	}
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	rv_siphash_key_init(&t->key);
	return t;
}

void rv_nametab_free(struct rv_nametab *t)
{
	if (!t) {
		return;
	}
	free(t->buckets);
	free(t);
}

static uint64_t hash_name(const struct rv_nametab *t, const char *name)
{
	return rv_siphash(&t->key, name, strlen(name));
}

static struct rv_name_node *find_hashed(const struct rv_nametab *t, const char *name, uint64_t h)
{
	for (struct rv_name_node *n = t->buckets[h & t->mask]; n; n = n->next) {
		if (n->hash == h && strcmp(n->name, name) == 0) {
			return n;
		}
	}
	return NULL;
}

/* grow doubles the bucket array; on allocation failure it leaves the table
 * as it is (still correct, just more loaded). */
static void grow(struct rv_nametab *t)
{
	size_t old_n = t->mask + 1, new_n = old_n * 2;
	struct rv_name_node **nb;

	if (old_n > SIZE_MAX / 2 / sizeof(*nb)) {
		return;
	}
	nb = calloc(new_n, sizeof(*nb));
	if (!nb) {
		return;
	}
	for (size_t b = 0; b < old_n; b++) {
		struct rv_name_node *n = t->buckets[b], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = nb[n->hash & (new_n - 1)];
			nb[n->hash & (new_n - 1)] = n;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = new_n - 1;
}

int rv_nametab_insert(struct rv_nametab *t, struct rv_name_node *node)
{
	uint64_t h = hash_name(t, node->name);

	if (find_hashed(t, node->name, h)) {
		return -EEXIST;
	}
	if (t->count >= t->mask + 1) {
		grow(t);
	}
	node->hash = h;
	node->next = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = node;
	t->count++;
	return 0;
}

struct rv_name_node *rv_nametab_find(const struct rv_nametab *t, const char *name)
{
	return find_hashed(t, name, hash_name(t, name));
}

void rv_nametab_remove(struct rv_nametab *t, struct rv_name_node *node)
{
	struct rv_name_node **pp = &t->buckets[node->hash & t->mask];

	while (*pp && *pp != node) {
		pp = &(*pp)->next;
	}
	if (!*pp) {
		return;
	}
	*pp = node->next;
	node->next = NULL;
	t->count--;
}

size_t rv_nametab_count(const struct rv_nametab *t)
{
	return t->count;
}
