/*
 * t_lpmref.c — brute-force longest-prefix match (see t_lpmref.h).
 */
#include "test/lib/t_lpmref.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void t_lpmref_init(struct t_lpmref *r, int family)
{
	memset(r, 0, sizeof(*r));
	r->family = family;
	r->addr_len = family == AF_INET ? 4 : 16;
	r->max_len = family == AF_INET ? 32 : 128;
}

void t_lpmref_cleanup(struct t_lpmref *r)
{
	free(r->e);
	memset(r, 0, sizeof(*r));
}

bool t_prefix_contains(const uint8_t *prefix, unsigned len, const uint8_t *addr, size_t n)
{
	for (unsigned i = 0; i < len && i < n * 8; i++) {
		unsigned bit = 7 - (i & 7);

		if (((prefix[i / 8] >> bit) & 1) != ((addr[i / 8] >> bit) & 1)) {
			return false;
		}
	}
	return true;
}

void t_prefix_mask(uint8_t *addr, unsigned len, size_t n)
{
	for (unsigned i = len; i < n * 8; i++) {
		addr[i / 8] &= (uint8_t) ~(1u << (7 - (i & 7)));
	}
}

static bool valid(const struct t_lpmref *r, const uint8_t *addr, unsigned len)
{
	uint8_t m[16];

	if (len > r->max_len) {
		return false;
	}
	memcpy(m, addr, r->addr_len);
	t_prefix_mask(m, len, r->addr_len);
	return memcmp(m, addr, r->addr_len) == 0;
}

static struct t_lpmref_entry *find(const struct t_lpmref *r, const uint8_t *addr, unsigned len)
{
	for (size_t i = 0; i < r->num; i++) {
		if (r->e[i].len == len && memcmp(r->e[i].addr, addr, r->addr_len) == 0) {
			return &r->e[i];
		}
	}
	return NULL;
}

int t_lpmref_set(struct t_lpmref *r, const uint8_t *addr, unsigned len, void *value)
{
	struct t_lpmref_entry *e;

	if (!value || ((uintptr_t)value & 1) || !valid(r, addr, len)) {
		return -EINVAL;
	}
	e = find(r, addr, len);
	if (!e) {
		if (r->num == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 64;
			r->e = realloc(r->e, r->cap * sizeof(*r->e));
			if (!r->e) {
				fprintf(stderr, "t_lpmref: out of memory\n");
				abort();
			}
		}
		e = &r->e[r->num++];
		memset(e, 0, sizeof(*e));
		memcpy(e->addr, addr, r->addr_len);
		e->len = len;
	}
	e->value = value;
	return 0;
}

int t_lpmref_remove(struct t_lpmref *r, const uint8_t *addr, unsigned len)
{
	struct t_lpmref_entry *e;

	if (!valid(r, addr, len)) {
		return -EINVAL;
	}
	e = find(r, addr, len);
	if (!e) {
		return -ENOENT;
	}
	*e = r->e[--r->num];
	return 0;
}

void *t_lpmref_get(const struct t_lpmref *r, const uint8_t *addr, unsigned len)
{
	const struct t_lpmref_entry *e = valid(r, addr, len) ? find(r, addr, len) : NULL;

	return e ? e->value : NULL;
}

void *t_lpmref_lookup(const struct t_lpmref *r, const uint8_t *addr)
{
	const struct t_lpmref_entry *best = NULL;

	for (size_t i = 0; i < r->num; i++) {
		const struct t_lpmref_entry *e = &r->e[i];

		if ((!best || e->len > best->len) &&
		    t_prefix_contains(e->addr, e->len, addr, r->addr_len)) {
			best = e;
		}
	}
	return best ? best->value : NULL;
}

/* add_one adds |delta| (+1 or -1) to the big-endian number |a| of |n| bytes. */
static void add_one(uint8_t *a, size_t n, int delta)
{
	for (size_t i = n; i-- > 0;) {
		uint8_t old = a[i];

		a[i] = (uint8_t)(a[i] + delta);
		if ((delta > 0 && old != 0xff) || (delta < 0 && old != 0)) {
			return;
		}
	}
}

void t_prefix_edges(const uint8_t *prefix, unsigned len, size_t n, uint8_t out[4][16])
{
	memset(out, 0, 4 * 16);
	memcpy(out[0], prefix, n);
	t_prefix_mask(out[0], len, n);
	memcpy(out[1], out[0], n);
	for (unsigned i = len; i < n * 8; i++) {
		out[1][i / 8] |= (uint8_t)(1u << (7 - (i & 7)));
	}
	memcpy(out[2], out[0], n);
	add_one(out[2], n, -1);
	memcpy(out[3], out[1], n);
	add_one(out[3], n, 1);
}
