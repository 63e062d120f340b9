/*
 * ippool.c — virtual-address pools for the server (see ippool.h).
 *
 * Per family, client address number i (0-based) is host offset i + 2 from
 * the network address: offset 0 is the network (IPv4) or subnet-router
 * anycast (IPv6) address, offset 1 the server. A bitmap has one bit per
 * client address; bits past the last one are set at creation so that a scan
 * never has to special-case the final word. A second bitmap marks reserved
 * addresses: alloc scans for bits clear in both, so the cursor skips a
 * reserved address whether or not it is in use. |reserved_free| counts the
 * reserved addresses not in use, which alloc can never hand out, so
 * "used + reserved_free == num" means the pool is full for alloc.
 */
#include "core/ippool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"

struct fam_pool {
	bool enabled;
	unsigned prefix;
	unsigned addr_len; /* 4 or 16 */
	uint8_t net[16];   /* network address, host bits cleared */
	size_t num;	   /* client addresses */
	size_t range;	   /* client addresses the network has (num: the first) */
	/* The first |dyn| are handed out to anybody (max_hosts); past them
	 * only fixed ones (rv_ippool_reserve grew num up to them): a dynamic
	 * address there was lost at a reload that dropped the fixed one. */
	size_t dyn;
	size_t used;
	size_t next; /* where the next alloc starts looking */
	size_t reserved_free;
	size_t num_words;
	uint64_t *bitmap;   /* in use (and the padding past num) */
	uint64_t *reserved; /* reserved for one certificate */
};

struct rv_ippool {
	struct fam_pool v4;
	struct fam_pool v6;
};

/* Big-endian 128-bit arithmetic on address bytes, as two 64-bit halves. */
static void addr_to_u128(const uint8_t *a, unsigned len, uint64_t *hi, uint64_t *lo)
{
	uint8_t b[16] = { 0 };

	memcpy(b + 16 - len, a, len);
	*hi = 0;
	*lo = 0;
	for (int i = 0; i < 8; i++) {
		*hi = (*hi << 8) | b[i];
		*lo = (*lo << 8) | b[8 + i];
	}
}

static void u128_to_addr(uint64_t hi, uint64_t lo, uint8_t *a, unsigned len)
{
	uint8_t b[16];

	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)hi;
		b[8 + i] = (uint8_t)lo;
		hi >>= 8;
		lo >>= 8;
	}
	memcpy(a, b + 16 - len, len);
}

static struct fam_pool *fam(struct rv_ippool *pool, int family)
{
	if (family == AF_INET && pool->v4.enabled) {
		return &pool->v4;
	}
	if (family == AF_INET6 && pool->v6.enabled) {
		return &pool->v6;
	}
	return NULL;
}

static const struct fam_pool *cfam(const struct rv_ippool *pool, int family)
{
	if (family == AF_INET && pool->v4.enabled) {
		return &pool->v4;
	}
	if (family == AF_INET6 && pool->v6.enabled) {
		return &pool->v6;
	}
	return NULL;
}

static int fam_init(struct fam_pool *f, const struct rv_ip_addr *net, int family, unsigned prefix,
		    size_t cap)
{
	unsigned len = family == AF_INET ? 4 : 16;
	unsigned host_bits = len * 8 - prefix;
	size_t range;

	if (net->family != family || prefix == 0 || host_bits < 2) {
		return -EINVAL;
	}
	/* Clear host bits so "10.8.0.1/16" means 10.8.0.0/16. */
	memcpy(f->net, net->a, len);
	for (unsigned bit = prefix; bit < len * 8; bit++) {
		f->net[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	}
	/* Client addresses in the range: all but offset 0 and the server, and
	 * for IPv4 also the broadcast address. */
	if (host_bits >= 8 * sizeof(size_t) - 1) {
		range = SIZE_MAX;
	} else {
		range = ((size_t)1 << host_bits) - (family == AF_INET ? 3 : 2);
	}
	f->num = range < cap ? range : cap;
	f->dyn = f->num;
	f->range = range;
	f->prefix = prefix;
	f->addr_len = len;
	f->num_words = (f->num + 63) / 64;
	f->bitmap = calloc(f->num_words, sizeof(*f->bitmap));
	f->reserved = calloc(f->num_words, sizeof(*f->reserved));
	if (!f->bitmap || !f->reserved) {
		return -ENOMEM; /* rv_ippool_free frees what was allocated */
	}
	if (f->num % 64) {
		f->bitmap[f->num_words - 1] = ~0ull << (f->num % 64);
	}
	f->enabled = true;
	return 0;
}

struct rv_ippool *rv_ippool_new(const struct rv_ip_addr *net4, unsigned prefix4,
				const struct rv_ip_addr *net6, unsigned prefix6, size_t max_hosts,
				int *out_err)
{
	struct rv_ippool *pool;
	size_t cap = max_hosts ? max_hosts : RV_IPPOOL_DEFAULT_HOSTS;
	int err = -EINVAL;

	if ((!net4 && !net6) || cap > RV_IPPOOL_MAX_HOSTS) {
		goto err;
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool) {
		err = -ENOMEM;
		goto err;
	}
	if (net4) {
		err = fam_init(&pool->v4, net4, AF_INET, prefix4, cap);
		if (err) {
			goto err_free_pool;
		}
	}
	if (net6) {
		err = fam_init(&pool->v6, net6, AF_INET6, prefix6, cap);
		if (err) {
			goto err_free_pool;
		}
	}
	if (out_err) {
		*out_err = 0;
	}
	return pool;

err_free_pool:
	rv_ippool_free(pool);
err:
	if (out_err) {
		*out_err = err;
	}
	return NULL;
}

void rv_ippool_free(struct rv_ippool *pool)
{
	if (!pool) {
		return;
	}
	free(pool->v4.bitmap);
	free(pool->v4.reserved);
	free(pool->v6.bitmap);
	free(pool->v6.reserved);
	free(pool);
}

/* host_addr writes network + |offset| of |f| to |out|. */
static void host_addr(const struct fam_pool *f, uint64_t offset, struct rv_ip_addr *out)
{
	uint64_t hi, lo;

	addr_to_u128(f->net, f->addr_len, &hi, &lo);
	lo += offset;
	if (lo < offset) {
		hi++;
	}
	memset(out, 0, sizeof(*out));
	out->family = f->addr_len == 4 ? AF_INET : AF_INET6;
	u128_to_addr(hi, lo, out->a, f->addr_len);
}

enum addr_kind {
	ADDR_CLIENT, /* *out_idx is its client number */
	ADDR_SERVER,
	ADDR_BEYOND,  /* a client address past the cap: *out_idx is its number */
	ADDR_OUTSIDE, /* other network, network or broadcast address */
};

static enum addr_kind classify(const struct fam_pool *f, const struct rv_ip_addr *addr,
			       size_t *out_idx)
{
	uint64_t nhi, nlo, hi, lo, off_hi, off_lo;

	for (unsigned bit = 0; bit < f->prefix; bit++) {
		uint8_t m = (uint8_t)(0x80u >> (bit % 8));

		if ((addr->a[bit / 8] & m) != (f->net[bit / 8] & m)) {
			return ADDR_OUTSIDE;
		}
	}
	addr_to_u128(f->net, f->addr_len, &nhi, &nlo);
	addr_to_u128(addr->a, f->addr_len, &hi, &lo);
	off_lo = lo - nlo;
	off_hi = hi - nhi - (lo < nlo);
	if (off_hi != 0) {
		/* Inside the prefix, host bits above the low 64 (a pool6
		 * shorter than /64): past any cap (it was "not a client
		 * address of the pool": round-sixteen tester 76). */
		*out_idx = SIZE_MAX;
		return ADDR_BEYOND;
	}
	if (off_lo == 1) {
		return ADDR_SERVER;
	}
	if (off_lo < 2 || off_lo - 2 >= f->range) {
		return ADDR_OUTSIDE;
	}
	if (off_lo - 2 >= f->num) {
		*out_idx = (size_t)(off_lo - 2);
		return ADDR_BEYOND;
	}
	/* The IPv4 broadcast address is never inside num (range excludes it). */
	*out_idx = (size_t)(off_lo - 2);
	return ADDR_CLIENT;
}

static inline bool bit_get(const uint64_t *map, size_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static inline void bit_flip(uint64_t *map, size_t i)
{
	map[i / 64] ^= 1ull << (i % 64);
}

/* client_fam / cclient_fam find |addr|'s family pool and client number;
 * NULL if |addr| is not a client address of the pool. */
static struct fam_pool *client_fam(struct rv_ippool *pool, const struct rv_ip_addr *addr,
				   size_t *out_idx)
{
	struct fam_pool *f = fam(pool, addr->family);

	return f && classify(f, addr, out_idx) == ADDR_CLIENT ? f : NULL;
}

static const struct fam_pool *cclient_fam(const struct rv_ippool *pool,
					  const struct rv_ip_addr *addr, size_t *out_idx)
{
	const struct fam_pool *f = cfam(pool, addr->family);

	return f && classify(f, addr, out_idx) == ADDR_CLIENT ? f : NULL;
}

int rv_ippool_server_addr(const struct rv_ippool *pool, int family, struct rv_ip_addr *out)
{
	const struct fam_pool *f = cfam(pool, family);

	if (!f) {
		return -EAFNOSUPPORT;
	}
	host_addr(f, 1, out);
	return 0;
}

size_t rv_ippool_server_prefixes(const struct rv_ippool *pool, struct rv_prefix out[2])
{
	static const int fams[] = { AF_INET, AF_INET6 };
	size_t n = 0;

	for (size_t i = 0; i < 2; i++) {
		if (rv_ippool_server_addr(pool, fams[i], &out[n].addr) == 0) {
			out[n].len = (uint8_t)rv_ippool_prefix_len(pool, fams[i]);
			n++;
		}
	}
	return n;
}

unsigned rv_ippool_prefix_len(const struct rv_ippool *pool, int family)
{
	const struct fam_pool *f = cfam(pool, family);

	return f ? f->prefix : 0;
}

/* dyn_free: the free dynamic addresses of word |c| of |f|, as set bits. */
static uint64_t dyn_free(const struct fam_pool *f, size_t c)
{
	uint64_t past = (c + 1) * 64 > f->dyn ? ~0ull << (f->dyn % 64) : 0;

	return ~(f->bitmap[c] | f->reserved[c] | past);
}

/* alloc_from takes the first free dynamic address of |f| at index |from|
 * or after it, wrapping once, and returns its index (-ENOSPC: none). */
static long alloc_from(struct fam_pool *f, size_t from, struct rv_ip_addr *out)
{
	size_t c, words;
	uint64_t w;

	if (f->used + f->reserved_free >= f->num) {
		return -ENOSPC;
	}
	/* The first word is visited twice (high bits first, then all of it)
	 * so bits below |from| are found after the wrap. */
	words = (f->dyn + 63) / 64;
	c = from / 64;
	w = dyn_free(f, c) & (~0ull << (from % 64));
	for (size_t k = 0; k <= words; k++) {
		if (w) {
			size_t i = c * 64 + (size_t)__builtin_ctzll(w);

			bit_flip(f->bitmap, i);
			f->used++;
			host_addr(f, (uint64_t)i + 2, out);
			return (long)i;
		}
		c = c + 1 == words ? 0 : c + 1;
		w = dyn_free(f, c);
	}
	return -ENOSPC; /* the dynamic ones taken; only fixed ones are left */
}

int rv_ippool_alloc(struct rv_ippool *pool, int family, struct rv_ip_addr *out)
{
	struct fam_pool *f = fam(pool, family);
	long i;

	if (!f) {
		return -EAFNOSUPPORT;
	}
	i = alloc_from(f, f->next, out);
	if (i < 0) {
		return (int)i;
	}
	f->next = (size_t)i + 1 >= f->dyn ? 0 : (size_t)i + 1;
	return 0;
}

int rv_ippool_alloc_near(struct rv_ippool *pool, int family, uint32_t at, struct rv_ip_addr *out)
{
	struct fam_pool *f = fam(pool, family);
	long i;

	if (!f) {
		return -EAFNOSUPPORT;
	}
	if (f->dyn == 0) {
		return -ENOSPC;
	}
	i = alloc_from(f, at % f->dyn, out);
	return i < 0 ? (int)i : 0;
}

int rv_ippool_alloc_specific(struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	struct fam_pool *f = fam(pool, addr->family);
	size_t i = 0;

	if (!f) {
		return -EAFNOSUPPORT;
	}
	switch (classify(f, addr, &i)) {
	case ADDR_SERVER:
		return -EADDRINUSE;
	case ADDR_BEYOND: /* past the cap: a lease of a larger pool */
	case ADDR_OUTSIDE:
		return -EINVAL;
	case ADDR_CLIENT:
		break;
	}
	if (bit_get(f->reserved, i)) {
		return -EACCES;
	}
	if (i >= f->dyn) {
		return -EINVAL; /* past the dynamic ones: a lease of a larger pool */
	}
	if (bit_get(f->bitmap, i)) {
		return -EADDRINUSE;
	}
	bit_flip(f->bitmap, i);
	f->used++;
	return 0;
}

int rv_ippool_alloc_reserved(struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	size_t i;
	struct fam_pool *f = client_fam(pool, addr, &i);

	if (!f) {
		return -EINVAL;
	}
	if (!bit_get(f->reserved, i)) {
		return -ENOENT;
	}
	if (bit_get(f->bitmap, i)) {
		return -EADDRINUSE;
	}
	bit_flip(f->bitmap, i);
	f->used++;
	f->reserved_free--;
	return 0;
}

int rv_ippool_release(struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	struct fam_pool *f = fam(pool, addr->family);
	size_t i = 0;

	if (!f) {
		return -EAFNOSUPPORT;
	}
	if (classify(f, addr, &i) != ADDR_CLIENT) {
		return -EINVAL;
	}
	if (!bit_get(f->bitmap, i)) {
		return -ENOENT;
	}
	bit_flip(f->bitmap, i);
	f->used--;
	if (bit_get(f->reserved, i)) {
		f->reserved_free++;
	}
	return 0;
}

/* fam_grow takes the client addresses of |f| up to |num|: a fixed address
 * past the first max_hosts. The dynamic ones stay the first |dyn|. */
static int fam_grow(struct fam_pool *f, size_t num)
{
	size_t words = (num + 63) / 64;
	uint64_t *b, *r;

	b = realloc(f->bitmap, words * sizeof(*b));
	if (!b) {
		return -ENOMEM;
	}
	f->bitmap = b;
	r = realloc(f->reserved, words * sizeof(*r));
	if (!r) {
		return -ENOMEM;
	}
	f->reserved = r;
	/* The old last word's padding was marked in use. */
	if (f->num % 64) {
		b[f->num_words - 1] &= ~(~0ull << (f->num % 64));
	}
	memset(b + f->num_words, 0, (words - f->num_words) * sizeof(*b));
	memset(r + f->num_words, 0, (words - f->num_words) * sizeof(*r));
	if (num % 64) {
		b[words - 1] |= ~0ull << (num % 64);
	}
	f->num = num;
	f->num_words = words;
	return 0;
}

int rv_ippool_reserve(struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	size_t i = 0;
	struct fam_pool *f = fam(pool, addr->family);
	enum addr_kind k = f ? classify(f, addr, &i) : ADDR_OUTSIDE;

	if (k == ADDR_BEYOND) {
		if (i >= RV_IPPOOL_MAX_HOSTS) {
			return -ERANGE;
		}
		int ret = fam_grow(f, i + 1);

		if (ret) {
			return ret;
		}
		k = ADDR_CLIENT;
	}
	if (k != ADDR_CLIENT) {
		return -EINVAL;
	}
	if (bit_get(f->reserved, i)) {
		return 0;
	}
	bit_flip(f->reserved, i);
	if (!bit_get(f->bitmap, i)) {
		f->reserved_free++;
	}
	return 0;
}

int rv_ippool_reserve_fixed(struct rv_ippool *pool, const struct rv_config *cfg, char *err,
			    size_t err_len)
{
	for (size_t i = 0; i < cfg->num_fixed; i++) {
		const struct rv_config_fixed *f = &cfg->fixed[i];
		const struct rv_ip_addr *a[] = { &f->v4, &f->v6 };
		char at[32] = "", s[64];

		/* Its line and address: "fixed client1: address is not ..."
		 * named neither (round-twenty-nine tester 144). */
		if (cfg->fixed_line[i]) {
			snprintf(at, sizeof(at), "line %u: ", cfg->fixed_line[i]);
		}
		for (size_t k = 0; k < 2; k++) {
			int ret = a[k]->family ? rv_ippool_reserve(pool, a[k]) : 0;
			struct rv_ip_addr srv;

			rv_ip_addr_str(a[k], s, sizeof(s));
			if (ret == -ERANGE) {
				snprintf(err, err_len,
					 "%sfixed %s: %s lies past the pool's first %u client "
					 "addresses, the most a pool may hold",
					 at, f->name, s, (unsigned)RV_IPPOOL_MAX_HOSTS);
			} else if (ret == -ENOMEM) {
				snprintf(err, err_len, "fixed %s: out of memory", f->name);
			} else if (ret) {
				bool own = rv_ippool_server_addr(pool, a[k]->family, &srv) == 0 &&
					   rv_ip_addr_equal(&srv, a[k]);

				snprintf(err, err_len, "%sfixed %s: %s is %s, not a client's", at,
					 f->name, s,
					 own ? "the server's own address (the pool's first)"
					     : "the pool's network or broadcast address (or "
					       "outside it)");
			}
			if (ret) {
				return ret == -ENOMEM ? ret : -EINVAL;
			}
		}
	}
	return 0;
}

void rv_ippool_unreserve(struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	size_t i;
	struct fam_pool *f = client_fam(pool, addr, &i);

	if (!f || !bit_get(f->reserved, i)) {
		return;
	}
	bit_flip(f->reserved, i);
	if (!bit_get(f->bitmap, i)) {
		f->reserved_free--;
	}
}

bool rv_ippool_reserved(const struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	size_t i;
	const struct fam_pool *f = cclient_fam(pool, addr, &i);

	return f && bit_get(f->reserved, i);
}

bool rv_ippool_in_use_addr(const struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	size_t i;
	const struct fam_pool *f = cclient_fam(pool, addr, &i);

	return f && bit_get(f->bitmap, i);
}

bool rv_ippool_contains(const struct rv_ippool *pool, const struct rv_ip_addr *addr)
{
	size_t i;

	return cclient_fam(pool, addr, &i) != NULL;
}

size_t rv_ippool_in_use(const struct rv_ippool *pool, int family)
{
	const struct fam_pool *f = cfam(pool, family);

	return f ? f->used : 0;
}

/* reserved_between counts the reserved addresses of |f| at indices
 * [from, to). */
static size_t reserved_between(const struct fam_pool *f, size_t from, size_t to)
{
	size_t n = 0;

	for (size_t c = from / 64; c < f->num_words && c * 64 < to; c++) {
		uint64_t in = ~0ull;

		if (c == from / 64) {
			in &= ~0ull << (from % 64);
		}
		if ((c + 1) * 64 > to) {
			in &= ~(~0ull << (to % 64));
		}
		n += (size_t)__builtin_popcountll(f->reserved[c] & in);
	}
	return n;
}

size_t rv_ippool_open_capacity(const struct rv_ippool *pool, int family)
{
	const struct fam_pool *f = cfam(pool, family);

	return f ? f->dyn - reserved_between(f, 0, f->dyn) : 0;
}

size_t rv_ippool_open_free(const struct rv_ippool *pool, int family)
{
	const struct fam_pool *f = cfam(pool, family);
	size_t n = 0;

	for (size_t c = 0; f && c * 64 < f->dyn; c++) {
		n += (size_t)__builtin_popcountll(dyn_free(f, c));
	}
	return n;
}

size_t rv_ippool_capacity(const struct rv_ippool *pool, int family)
{
	const struct fam_pool *f = cfam(pool, family);

	/* The dynamic addresses and the fixed ones past them. */
	return f ? f->dyn + reserved_between(f, f->dyn, f->num_words * 64) : 0;
}
