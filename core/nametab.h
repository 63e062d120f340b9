/*
 * nametab.h — certificate name -> object, O(1): the control plane's index
 * of authenticated connections by name (replace-same-name, kick NAME, rekey
 * NAME, status lookups).
 *
 * An intrusive chained hash table: the caller embeds a struct rv_name_node
 * in its object, points node->name at a NUL-terminated name that lives (and
 * does not change) as long as the node is in the table, and inserts it.
 * Names are compared as whole C strings (byte for byte; any length, "" too).
 * The table grows (doubles) when its load passes 1, so an insert may
 * allocate; lookups and removals never do, and the table never shrinks. The
 * hash is SipHash-2-4 keyed with a random per-table seed (crypto/siphash.h),
 * so names chosen to collide cannot degrade it (certificate names come from
 * the CA, but the cost of a keyed hash is nothing here).
 *
 * Single-threaded (the control thread).
 */
#ifndef RV_CORE_NAMETAB_H
#define RV_CORE_NAMETAB_H

#include <stddef.h>
#include <stdint.h>

/* Embedded in the caller's object; |name| is set by the caller, the rest is
 * private to nametab.c. */
struct rv_name_node {
	const char *name;
	struct rv_name_node *next;
	uint64_t hash;
};

struct rv_nametab;

/* rv_nametab_new returns an empty table sized for about |expected| names
 * (0 is fine: it grows), or NULL (-ENOMEM). */
struct rv_nametab *rv_nametab_new(size_t expected);

/* rv_nametab_free frees the table, not the nodes. NULL ok. */
void rv_nametab_free(struct rv_nametab *t);

/* rv_nametab_insert adds |node| (node->name set; the node must not be in a
 * table). Returns 0, or -EEXIST when a node with the same name is present
 * (nothing changes). It cannot fail for memory: when the table cannot grow,
 * the node is inserted all the same and the chains get longer (lookups slow
 * down, nothing is lost); growth is tried again at the next insert. O(1)
 * amortised. */
int rv_nametab_insert(struct rv_nametab *t, struct rv_name_node *node);

/* rv_nametab_find returns the node named |name| or NULL. O(1) expected. */
struct rv_name_node *rv_nametab_find(const struct rv_nametab *t, const char *name);

/* rv_nametab_remove removes |node|, which must be in |t| (a node that is not
 * found on its chain is left alone). The node may be inserted again. */
void rv_nametab_remove(struct rv_nametab *t, struct rv_name_node *node);

/* rv_nametab_count returns the number of nodes. */
size_t rv_nametab_count(const struct rv_nametab *t);

#endif /* RV_CORE_NAMETAB_H */
