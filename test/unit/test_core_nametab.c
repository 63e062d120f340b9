/*
 * test_core_nametab.c — the certificate-name table (core/nametab.c):
 * insert/find/remove, -EEXIST leaves the table alone, growth from a table
 * sized for one name to 100,000 names, remove and reinsert, names that
 * share long prefixes or are prefixes of each other, and a per-table key.
 *
 *   ./build/<dir>/test/test_core_nametab --verbose
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/nametab.h"

struct obj {
	struct rv_name_node node;
	char name[300];
};

Test(nametab, basics)
{
	struct rv_nametab *t = rv_nametab_new(0);
	struct rv_name_node a = { .name = "alice" }, b = { .name = "bob" };
	struct rv_name_node a2 = { .name = "alice" }, empty = { .name = "" };

	cr_assert_not_null(t);
	cr_assert_eq(rv_nametab_count(t), 0);
	cr_assert_null(rv_nametab_find(t, "alice"));
	cr_assert_eq(rv_nametab_insert(t, &a), 0);
	cr_assert_eq(rv_nametab_insert(t, &b), 0);
	cr_assert_eq(rv_nametab_find(t, "alice"), &a);
	cr_assert_eq(rv_nametab_find(t, "bob"), &b);
	cr_assert_null(rv_nametab_find(t, "alic"));
	cr_assert_null(rv_nametab_find(t, "alicE"));
	cr_assert_null(rv_nametab_find(t, "alice "));
	/* Same name twice: refused, the first node stays. */
	cr_assert_eq(rv_nametab_insert(t, &a2), -EEXIST);
	cr_assert_eq(rv_nametab_insert(t, &a), -EEXIST);
	cr_assert_eq(rv_nametab_count(t), 2);
	cr_assert_eq(rv_nametab_find(t, "alice"), &a);
	/* The empty name is a name like any other. */
	cr_assert_null(rv_nametab_find(t, ""));
	cr_assert_eq(rv_nametab_insert(t, &empty), 0);
	cr_assert_eq(rv_nametab_find(t, ""), &empty);
	/* Replace-same-name: remove the old node, insert the new one. */
	rv_nametab_remove(t, &a);
	cr_assert_null(rv_nametab_find(t, "alice"));
	cr_assert_eq(rv_nametab_insert(t, &a2), 0);
	cr_assert_eq(rv_nametab_find(t, "alice"), &a2);
	cr_assert_eq(rv_nametab_count(t), 3);
	/* Removing a node that is no longer in the table changes nothing. */
	rv_nametab_remove(t, &a);
	cr_assert_eq(rv_nametab_count(t), 3);
	cr_assert_eq(rv_nametab_find(t, "alice"), &a2);
	rv_nametab_free(t);
	rv_nametab_free(NULL);
}

/* Names of one shape: a long shared prefix and a number, so they differ
 * only in the last bytes. */
static void fill(struct obj *o, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(o[i].name, sizeof(o[i].name), "%s%zu", prefix, i);
		o[i].node.name = o[i].name;
	}
}

static void check_all(const struct rv_nametab *t, struct obj *o, size_t n, const bool *present)
{
	for (size_t i = 0; i < n; i++) {
		struct rv_name_node *got = rv_nametab_find(t, o[i].name);

		if (present[i]) {
			cr_assert_eq(got, &o[i].node, "%s: wrong node", o[i].name);
		} else {
			cr_assert_null(got, "%s: found after removal", o[i].name);
		}
	}
}

Test(nametab, grow_to_100k_remove_reinsert, .timeout = 120)
{
	enum { N = 100000 };
	struct obj *o = calloc(N, sizeof(*o));
	bool *present = calloc(N, sizeof(*present));
	struct rv_nametab *t = rv_nametab_new(1);
	char prefix[260];

	cr_assert(o && present && t);
	memset(prefix, 'x', 250);
	strcpy(prefix + 250, "-client-");
	fill(o, N, prefix);
	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(rv_nametab_insert(t, &o[i].node), 0, "insert %zu", i);
		present[i] = true;
		/* Check earlier names survive each doubling. */
		if ((i & (i + 1)) == 0) {
			check_all(t, o, i + 1, present);
		}
	}
	cr_assert_eq(rv_nametab_count(t), N);
	check_all(t, o, N, present);
	/* Every third name leaves; the rest stay findable. */
	for (size_t i = 0; i < N; i += 3) {
		rv_nametab_remove(t, &o[i].node);
		present[i] = false;
	}
	cr_assert_eq(rv_nametab_count(t), N - (N + 2) / 3);
	check_all(t, o, N, present);
	for (size_t i = 1; i < N; i += 3) {
		cr_assert_eq(rv_nametab_insert(t, &o[i].node), -EEXIST);
	}
	/* They come back, in reverse order. */
	for (size_t i = (N - 1) / 3 * 3 + 3; i >= 3;) {
		i -= 3;
		cr_assert_eq(rv_nametab_insert(t, &o[i].node), 0);
		present[i] = true;
	}
	cr_assert_eq(rv_nametab_count(t), N);
	check_all(t, o, N, present);
	for (size_t i = 0; i < N; i++) {
		rv_nametab_remove(t, &o[i].node);
	}
	cr_assert_eq(rv_nametab_count(t), 0);
	cr_assert_null(rv_nametab_find(t, o[5].name));
	rv_nametab_free(t);
	free(present);
	free(o);
}

/* Names that are prefixes of one another, and names equal but for one
 * byte at each position. */
Test(nametab, prefixes_and_near_misses)
{
	enum { L = 40 };
	struct obj *o = calloc(2 * L + 1, sizeof(*o));
	struct rv_nametab *t = rv_nametab_new(4);
	size_t n = 0;

	cr_assert(o && t);
	for (size_t len = 1; len <= L; len++) {
		memset(o[n].name, 'a', len);
		o[n].node.name = o[n].name;
		cr_assert_eq(rv_nametab_insert(t, &o[n].node), 0);
		n++;
	}
	for (size_t pos = 0; pos < L; pos++) {
		memset(o[n].name, 'a', L);
		o[n].name[pos] = 'b';
		o[n].node.name = o[n].name;
		cr_assert_eq(rv_nametab_insert(t, &o[n].node), 0);
		n++;
	}
	cr_assert_eq(rv_nametab_count(t), n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(rv_nametab_find(t, o[i].name), &o[i].node, "%s", o[i].name);
	}
	cr_assert_null(rv_nametab_find(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* L + 1 */
	rv_nametab_free(t);
	free(o);
}

/* Each table draws its own key: the same name hashes differently in two
 * tables (node->hash is the table's keyed hash; read here only to prove
 * the key is per table). */
Test(nametab, keyed_per_table)
{
	struct rv_nametab *t1 = rv_nametab_new(8), *t2 = rv_nametab_new(8);
	struct rv_name_node n = { .name = "client-1" };
	uint64_t h1, h2;

	cr_assert(t1 && t2);
	cr_assert_eq(rv_nametab_insert(t1, &n), 0);
	h1 = n.hash;
	rv_nametab_remove(t1, &n);
	cr_assert_eq(rv_nametab_insert(t2, &n), 0);
	h2 = n.hash;
	cr_assert_neq(h1, h2);
	cr_assert_eq(rv_nametab_find(t2, "client-1"), &n);
	cr_assert_null(rv_nametab_find(t1, "client-1"));
	rv_nametab_free(t1);
	rv_nametab_free(t2);
}
