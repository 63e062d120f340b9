/*
 * t_lpmref.h — brute-force longest-prefix match: the reference the trie in
 * core/lpm.c is checked against (test/unit/test_core_lpm.c, the fuzz_lpm
 * harness and stress_lpm). A plain list of prefixes; a lookup scans all of
 * them and keeps the longest that contains the address. Obviously correct,
 * hopelessly slow.
 *
 * Test-only code: allocates freely (aborts when out of memory), not
 * thread-safe.
 */
#ifndef RV_TEST_LIB_T_LPMREF_H
#define RV_TEST_LIB_T_LPMREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct t_lpmref_entry {
	uint8_t addr[16];
	unsigned len;
	void *value;
};

struct t_lpmref {
	int family;	  /* AF_INET or AF_INET6 */
	size_t addr_len;  /* 4 or 16 */
	unsigned max_len; /* 32 or 128 */
	struct t_lpmref_entry *e;
	size_t num, cap;
};

void t_lpmref_init(struct t_lpmref *r, int family);
void t_lpmref_cleanup(struct t_lpmref *r);

/* t_lpmref_set and t_lpmref_remove return what rv_lpm_set / rv_lpm_remove
 * must return for the same arguments (0, -EINVAL, -ENOENT). */
int t_lpmref_set(struct t_lpmref *r, const uint8_t *addr, unsigned len, void *value);
int t_lpmref_remove(struct t_lpmref *r, const uint8_t *addr, unsigned len);

/* t_lpmref_get returns the value of exactly |addr|/|len|, or NULL. */
void *t_lpmref_get(const struct t_lpmref *r, const uint8_t *addr, unsigned len);

/* t_lpmref_lookup returns the value of the longest prefix containing |addr|. */
void *t_lpmref_lookup(const struct t_lpmref *r, const uint8_t *addr);

/* t_prefix_contains: is |addr| inside |prefix|/|len|? (|n| = 4 or 16 bytes) */
bool t_prefix_contains(const uint8_t *prefix, unsigned len, const uint8_t *addr, size_t n);

/* t_prefix_mask clears the bits of |addr| past |len|. */
void t_prefix_mask(uint8_t *addr, unsigned len, size_t n);

/* t_prefix_edges writes the four addresses at the edges of |prefix|/|len|:
 * first, last, first - 1 and last + 1 (wrapping), each |n| bytes. */
void t_prefix_edges(const uint8_t *prefix, unsigned len, size_t n, uint8_t out[4][16]);

#endif /* RV_TEST_LIB_T_LPMREF_H */
