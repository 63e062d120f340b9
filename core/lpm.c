/*
 * lpm.c — longest-prefix match (see lpm.h for the contract).
 *
 * Keys. Addresses are 128-bit keys held as two host-order words; an IPv4
 * address sits in the top 32 bits and the rest is zero, so one trie shape
 * serves both families (bits past the end of an address read as zero).
 *
 * The reader side is a multibit trie of tagged words:
 *   - a direct table of 2^16 words indexed by the first 16 bits;
 *   - a word is a value (bit 0 clear), a node (bits 1..0 = 01) or a prefix
 *     node (11);
 *   - a node at position |pos| splits its region on bits pos..pos+5 into 64
 *     slots. Positions lie on the grid 16 + 6j, so no stride straddles the
 *     two key words (64 = 16 + 6 * 8). Slots are leaf-pushed: a value slot
 *     holds the longest prefix covering the slot's whole range, so a lookup
 *     ends at the first value it meets;
 *   - a node stores only the runs of equal slots: bit i of |bm| is set when
 *     slot i differs from slot i-1, and slot i is the run numbered
 *     popcount(bm & bits 0..i) - 1. An IPv6 node whose non-empty slots are
 *     fewer than its runs (long prefixes scattered with gaps between) is
 *     "sparse" instead: bit i is set when slot i is not empty, an empty
 *     slot answers NULL, and the others are numbered the same way;
 *   - path compression: a node may sit deeper than its parent's slot (pos >
 *     the slot's length) when every prefix inside the slot shares those bits.
 *     It then carries its region's key; an address that differs there gets
 *     the node's fallback, the answer for the slot's range outside the node.
 *     Host addresses of one /64 cost one node for the 96 shared bits, not 16;
 *   - a prefix node answers a region that holds exactly one prefix: "inside
 *     it: its value, else the fallback". That is the commonest shape of all
 *     (a site's /24 alone in its /16, a lone /128) and takes 24 bytes for
 *     IPv4 (two per cache line) and 40 for IPv6.
 * A lookup loads the direct word, then per node its header line and one
 * slot word: IPv4 needs at most three nodes (16 + 6 + 6 + 4 bits).
 *
 * Why this shape (perf/bench_lpm.c measures it beside a path-compressed
 * binary trie in the style of WireGuard's allowedips, DIR-24-8, and the exact
 * hash it replaces): the binary trie walks one node per branching bit, about
 * log2(n) dependent cache misses, ten times slower at 100,000 prefixes;
 * DIR-24-8 answers IPv4 in one or two loads but costs 64 MiB before the first
 * prefix (and a KiB per prefix longer than /24) and has no IPv6 form. At
 * 100,000 prefixes what a lookup costs is the cache lines it misses, so
 * nodes are small, come from a slab of their own (core/slab.h: dense, cache
 * aligned, huge pages) and are never interleaved with the writer's data.
 *
 * The writer keeps its own copy of the prefixes (the shadow): a
 * path-compressed binary trie of (prefix, value), never read by workers. An
 * update changes the shadow, then recomputes the reader trie only where the
 * changed prefix P reaches:
 *   - P of 16 bits or fewer: every direct entry inside P is rebuilt from the
 *     shadow (leaf pushing copies P's value into everything below it);
 *   - longer P: the nodes on the path to P are copied with the slots inside
 *     P rebuilt, and every other slot (and the subtree it points to) shared
 *     with the old version. Where P falls outside a path-compressed node's
 *     region, or meets a prefix node, that slot's region is rebuilt whole.
 * New nodes are private until the single release store of the new direct
 * word (or words) publishes them; published nodes are never written again.
 * The replaced nodes go to the QSBR domain in one batch per update. So a
 * reader sees, per direct entry, the whole old version or the whole new one;
 * a multi-entry update (P shorter than 16 bits) switches entry by entry,
 * each address from its old value to its new, which is all lpm.h promises.
 * Allocation failure is all-or-nothing: the new nodes are freed, nothing is
 * published and the shadow change is undone.
 */
#include "core/lpm.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "core/qsbr.h"
#include "core/slab.h"

enum {
	KEY_BITS = 128,
	DIRECT_BITS = 16,
	DIRECT_SIZE = 1 << DIRECT_BITS,
	STRIDE = 6,
	SLOTS = 1 << STRIDE,
	TAG_NODE = 1,
	TAG_PREFIX = 2,
	TAG_MASK = 3,
	SKIP_WORDS = 3,
};

struct key {
	uint64_t hi, lo;
};

/*
 * struct node is immutable once published (see the file comment). A
 * path-compressed node (|skip|) starts w[] with its region's key (two
 * words) and its fallback value; then come the slot words, one per run.
 */
struct node {
	uint64_t bm;	/* bit i: slot i starts a run (sparse: is not empty) */
	uint8_t pos;	/* first bit of this node's stride */
	uint8_t skip;	/* path-compressed: w[0..2] = key.hi, key.lo, fallback */
	uint8_t num;	/* popcount(bm): slot words */
	uint8_t sparse; /* words only for the slots that are not empty */
	uintptr_t w[];
};

/* Prefix nodes: one prefix of length |len| (17..32 or 17..128) inside a
 * region, immutable once published. */
struct pnode4 {
	uint32_t key; /* the address, host order */
	uint8_t len;
	uintptr_t value;
	uintptr_t fallback;
};

struct pnode6 {
	uint64_t hi, lo;
	uintptr_t value;
	uintptr_t fallback;
	uint8_t len;
};

_Static_assert(sizeof(struct pnode4) == 24, "two IPv4 prefix nodes per cache line");

/* struct shadow is one node of the writer's binary trie: a prefix (with a
 * value, or a pure branch point with two children). */
struct shadow {
	struct key key; /* first |len| bits, the rest zero */
	struct shadow *child[2];
	uintptr_t value;
	uint8_t len;
	bool has_value;
};

/* A growable list of tagged words (writer scratch). */
struct wordvec {
	uintptr_t *w;
	size_t n, cap;
};

/* Garbage of one update, retired as one QSBR object. It holds a reference
 * on the slab, which may outlive the table. */
struct gc_batch {
	struct rv_qsbr_node qn;
	struct rv_slab *slab;
	int family;
	size_t n;
	uintptr_t w[];
};

struct rv_lpm {
	_Atomic uintptr_t *direct;
	int family;
	unsigned max_len; /* 32 or 128 */
	struct rv_qsbr *qsbr;
	struct rv_slab *slab; /* reader nodes */
	bool popcnt;	      /* the CPU has the popcnt instruction */
	/* Writer-only from here on. */
	struct shadow *root;
	size_t num_prefixes, num_shadow;
	size_t num_nodes, node_bytes;
	struct wordvec fresh;	/* nodes built by the current update */
	struct wordvec garbage; /* nodes the current update replaces */
	uint64_t *dirty;	/* direct entries published coarse (degrade) */
	size_t num_dirty;
	size_t leaked_bytes; /* nodes unpublished without memory to retire them */
};

/* ---- keys ------------------------------------------------------------- */

static inline struct key key_load(int family, const uint8_t *a)
{
	struct key k = { 0, 0 };

	if (family == AF_INET) {
		uint32_t v;

		memcpy(&v, a, 4);
		k.hi = (uint64_t)be32toh(v) << 32;
	} else {
		uint64_t h, l;

		memcpy(&h, a, 8);
		memcpy(&l, a + 8, 8);
		k.hi = be64toh(h);
		k.lo = be64toh(l);
	}
	return k;
}

/* key_mask keeps the first |len| bits of |k|. */
static struct key key_mask(struct key k, unsigned len)
{
	if (len == 0) {
		return (struct key){ 0, 0 };
	}
	if (len < 64) {
		k.hi &= ~0ULL << (64 - len);
		k.lo = 0;
	} else if (len == 64) {
		k.lo = 0;
	} else if (len < KEY_BITS) {
		k.lo &= ~0ULL << (KEY_BITS - len);
	}
	return k;
}

static bool key_equal(struct key a, struct key b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

/* key_common returns how many leading bits |a| and |b| share (0..128). */
static unsigned key_common(struct key a, struct key b)
{
	uint64_t x = a.hi ^ b.hi;

	if (x) {
		return (unsigned)__builtin_clzll(x);
	}
	x = a.lo ^ b.lo;
	if (x) {
		return 64 + (unsigned)__builtin_clzll(x);
	}
	return KEY_BITS;
}

/* key_bit returns bit |i| (0 = most significant; i < 128). */
static unsigned key_bit(struct key k, unsigned i)
{
	return i < 64 ? (unsigned)(k.hi >> (63 - i)) & 1 : (unsigned)(k.lo >> (127 - i)) & 1;
}

/* key_chunk returns the STRIDE bits at |pos| (a grid position), bits past
 * the end of the key reading as zero. */
static inline unsigned key_chunk(uint64_t hi, uint64_t lo, unsigned pos)
{
	uint64_t w = pos < 64 ? hi : lo;

	return (unsigned)((w << (pos & 63)) >> (64 - STRIDE));
}

/* key_with_chunk returns |k| (zero from |pos| on) with slot |i| at |pos|. */
static struct key key_with_chunk(struct key k, unsigned pos, unsigned i)
{
	if (pos < 64) {
		k.hi |= (uint64_t)i << (64 - STRIDE - pos);
	} else if (pos <= KEY_BITS - STRIDE) {
		k.lo |= (uint64_t)i << (KEY_BITS - STRIDE - pos);
	} else {
		k.lo |= (uint64_t)i >> (pos + STRIDE - KEY_BITS);
	}
	return k;
}

static struct key direct_key(size_t e)
{
	return (struct key){ (uint64_t)e << (64 - DIRECT_BITS), 0 };
}

/* ---- lookup (any thread) ------------------------------------------------ */

/* prefix_mask_hi/lo: the first |len| bits of a 128-bit key (len <= 128). */
static inline uint64_t prefix_mask_hi(unsigned len)
{
	return len >= 64 ? ~0ULL : len == 0 ? 0 : ~0ULL << (64 - len);
}

static inline uint64_t prefix_mask_lo(unsigned len)
{
	return len <= 64 ? 0 : ~0ULL << (KEY_BITS - len);
}

/*
 * walk descends from direct word |w|. Every load is of memory published by
 * the acquire load of |w| (nodes are immutable once reachable), so plain
 * loads are enough below it. |v4| is a constant in each caller, so each
 * family gets its own straight-line copy.
 */
static inline uintptr_t walk(uintptr_t w, uint64_t hi, uint64_t lo, bool v4)
{
	while (w & TAG_NODE) {
		const struct node *n;
		const uintptr_t *slot;
		unsigned pos;

		if (w & TAG_PREFIX) {
			if (v4) {
				const struct pnode4 *p = (const void *)(w - TAG_MASK);
				uint32_t x = (uint32_t)(hi >> 32) ^ p->key;

				return (x & (~0U << (32 - p->len))) == 0 ? p->value : p->fallback;
			} else {
				const struct pnode6 *p = (const void *)(w - TAG_MASK);

				return (((hi ^ p->hi) & prefix_mask_hi(p->len)) |
					((lo ^ p->lo) & prefix_mask_lo(p->len))) == 0
					       ? p->value
					       : p->fallback;
			}
		}
		n = (const void *)(w - TAG_NODE);
		slot = n->w;
		pos = n->pos;
		if (n->skip) {
			if ((((hi ^ n->w[0]) & prefix_mask_hi(pos)) |
			     ((lo ^ n->w[1]) & prefix_mask_lo(pos))) != 0) {
				return n->w[2];
			}
			slot += SKIP_WORDS;
		}
		/* A full node (every slot its own run, as at the top of a dense
		 * region) is indexed by the chunk itself: the slot's address
		 * then does not wait for the bitmap, and the CPU, predicting
		 * this branch, loads the header and the slot line together
		 * instead of one after the other (about a quarter off a dense
		 * IPv6 lookup in bench_lpm). */
		if (n->num == SLOTS) {
			w = slot[key_chunk(hi, lo, pos)];
		} else {
			unsigned c = key_chunk(hi, lo, pos);

			if (!v4 && n->sparse && !((n->bm >> c) & 1)) {
				return 0;
			}
			w = slot[__builtin_popcountll(n->bm & (~0ULL >> (63 - c))) - 1];
		}
	}
	return w;
}

/*
 * lookup is compiled twice: with the popcnt instruction, used when the CPU
 * has it (t->popcnt, checked once in rv_lpm_new), and for the baseline
 * x86-64 ISA the project builds for, where a bit count is a dozen
 * instructions or a libgcc call.
 */
static inline void *lookup(const struct rv_lpm *t, const uint8_t *addr)
{
	if (t->family == AF_INET) {
		uint32_t a;
		uint64_t hi;

		memcpy(&a, addr, 4);
		hi = (uint64_t)be32toh(a) << 32;
		return (void *)walk(atomic_load_explicit(&t->direct[hi >> (64 - DIRECT_BITS)],
							 memory_order_acquire),
				    hi, 0, true);
	} else {
		struct key k = key_load(AF_INET6, addr);

		return (void *)walk(atomic_load_explicit(&t->direct[k.hi >> (64 - DIRECT_BITS)],
							 memory_order_acquire),
				    k.hi, k.lo, false);
	}
}

/* x86-64 only, as is the whole build (BoringSSL comes from the x86_64 paths). */
__attribute__((target("popcnt"))) static void *lookup_popcnt(const struct rv_lpm *t,
							     const uint8_t *addr)
{
	return lookup(t, addr);
}

static bool cpu_has_popcnt(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("popcnt");
}

void *rv_lpm_lookup(const struct rv_lpm *t, const uint8_t *addr)
{
	return likely(t->popcnt) ? lookup_popcnt(t, addr) : lookup(t, addr);
}

/* ---- writer: node memory and garbage ------------------------------------- */

static int vec_push(struct wordvec *v, uintptr_t w)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		uintptr_t *nw = realloc(v->w, cap * sizeof(*nw));

		if (!nw) {
			return -ENOMEM;
		}
		v->w = nw;
		v->cap = cap;
	}
	v->w[v->n++] = w;
	return 0;
}

static struct node *node_of(uintptr_t w)
{
	return (struct node *)(w - TAG_NODE);
}

static const uintptr_t *node_slots(const struct node *n)
{
	return n->w + (n->skip ? SKIP_WORDS : 0);
}

/* obj_size returns the bytes of the node or prefix node |w| points to. */
static size_t obj_size(int family, uintptr_t w)
{
	const struct node *n;

	if (w & TAG_PREFIX) {
		return family == AF_INET ? sizeof(struct pnode4) : sizeof(struct pnode6);
	}
	n = node_of(w);
	return sizeof(*n) + ((n->skip ? SKIP_WORDS : 0) + n->num) * sizeof(n->w[0]);
}

static void obj_free(struct rv_slab *slab, int family, uintptr_t w)
{
	rv_slab_free(slab, (void *)(w & ~(uintptr_t)TAG_MASK), obj_size(family, w));
}

static void free_objs(struct rv_slab *slab, int family, const uintptr_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		obj_free(slab, family, w[i]);
	}
}

/* collect queues every node of the subtree |w| as garbage of this update. */
static int collect(struct rv_lpm *t, uintptr_t w)
{
	if (!(w & TAG_NODE)) {
		return 0;
	}
	if (!(w & TAG_PREFIX)) {
		const struct node *n = node_of(w);

		for (unsigned j = 0; j < n->num; j++) {
			int ret = collect(t, node_slots(n)[j]);

			if (ret) {
				return ret;
			}
		}
	}
	return vec_push(&t->garbage, w);
}

static void gc_free(struct rv_qsbr_node *qn)
{
	struct gc_batch *b = container_of(qn, struct gc_batch, qn);

	free_objs(b->slab, b->family, b->w, b->n);
	rv_slab_put(b->slab);
	free(b);
}

/* retire hands this update's garbage to QSBR (no reader can reach it any
 * more: the new direct words are published). */
static void retire(struct rv_lpm *t)
{
	struct gc_batch *b;
	size_t n = t->garbage.n;

	t->garbage.n = 0;
	if (n == 0) {
		return;
	}
	if (!t->qsbr) {
		free_objs(t->slab, t->family, t->garbage.w, n);
		return;
	}
	b = malloc(sizeof(*b) + n * sizeof(b->w[0]));
	if (!b) {
		/* No memory for the batch: wait out the grace period here
		 * instead (the control thread blocks briefly; workers only
		 * need to pass one quiescent point). */
		rv_qsbr_synchronize(t->qsbr);
		free_objs(t->slab, t->family, t->garbage.w, n);
		return;
	}
	rv_slab_get(t->slab);
	b->slab = t->slab;
	b->family = t->family;
	b->n = n;
	memcpy(b->w, t->garbage.w, n * sizeof(b->w[0]));
	rv_qsbr_retire(t->qsbr, &b->qn, gc_free);
}

/* ---- writer: the shadow trie --------------------------------------------- */

/* shadow_find returns the shadow node of exactly |k|/|len|, or NULL. */
static struct shadow *shadow_find(const struct rv_lpm *t, struct key k, unsigned len)
{
	struct shadow *s = t->root;

	while (s && s->len < len) {
		if (key_common(s->key, k) < s->len) {
			return NULL;
		}
		s = s->child[key_bit(k, s->len)];
	}
	return s && s->len == len && key_equal(s->key, k) ? s : NULL;
}

/* shadow_best returns the value of the longest prefix of length <= |p|
 * containing the region |k|/|p|, or 0. */
static uintptr_t shadow_best(const struct rv_lpm *t, struct key k, unsigned p)
{
	const struct shadow *s = t->root;
	uintptr_t best = 0;

	while (s && s->len <= p && key_common(s->key, k) >= s->len) {
		if (s->has_value) {
			best = s->value;
		}
		if (s->len >= t->max_len) {
			break;
		}
		s = s->child[key_bit(k, s->len)];
	}
	return best;
}

/* shadow_subtree returns the topmost shadow node inside the region |k|/|p|
 * (length >= p, same first p bits): every prefix in the region is in its
 * subtree. NULL if the region holds none. */
static const struct shadow *shadow_subtree(const struct rv_lpm *t, struct key k, unsigned p)
{
	const struct shadow *s = t->root;

	if (p > t->max_len) {
		return NULL;
	}
	while (s && s->len < p) {
		if (key_common(s->key, k) < s->len) {
			return NULL;
		}
		s = s->child[key_bit(k, s->len)];
	}
	return s && key_common(s->key, k) >= p ? s : NULL;
}

static struct shadow *shadow_new(struct rv_lpm *t, struct key k, unsigned len)
{
	struct shadow *s = calloc(1, sizeof(*s));

	if (s) {
		s->key = k;
		s->len = (uint8_t)len;
		t->num_shadow++;
	}
	return s;
}

/* shadow_insert finds or creates the node of |k|/|len| (|k| masked) and
 * returns it in |out|; a new node has no value yet. Returns 0 or -ENOMEM
 * (nothing changed). */
static int shadow_insert(struct rv_lpm *t, struct key k, unsigned len, struct shadow **out)
{
	struct shadow **link = &t->root;

	for (;;) {
		struct shadow *s = *link, *n, *b;
		unsigned c;

		if (!s) {
			n = shadow_new(t, k, len);
			if (!n) {
				return -ENOMEM;
			}
			*link = *out = n;
			return 0;
		}
		c = key_common(s->key, k);
		c = c < s->len ? c : s->len;
		c = c < len ? c : len;
		if (c == s->len && c == len) {
			*out = s;
			return 0;
		}
		if (c == s->len) {
			link = &s->child[key_bit(k, s->len)];
			continue;
		}
		/* |s| is not an ancestor: the new node goes above it, or a
		 * branch point at their first differing bit. */
		n = shadow_new(t, k, len);
		if (!n) {
			return -ENOMEM;
		}
		if (c == len) {
			n->child[key_bit(s->key, len)] = s;
			*link = *out = n;
			return 0;
		}
		b = shadow_new(t, key_mask(k, c), c);
		if (!b) {
			free(n);
			t->num_shadow--;
			return -ENOMEM;
		}
		b->child[key_bit(k, c)] = n;
		b->child[key_bit(s->key, c)] = s;
		*link = b;
		*out = n;
		return 0;
	}
}

/* shadow_unlink removes the node of |k|/|len|, which has no value any more,
 * and every branch point it leaves with a single child. */
static void shadow_unlink(struct rv_lpm *t, struct key k, unsigned len)
{
	struct shadow **path[KEY_BITS + 2];
	struct shadow **link = &t->root;
	size_t depth = 0;

	while (*link && (*link)->len < len) {
		path[depth++] = link;
		link = &(*link)->child[key_bit(k, (*link)->len)];
	}
	for (;;) {
		struct shadow *s = *link;

		if (!s || s->has_value || (s->child[0] && s->child[1])) {
			return;
		}
		*link = s->child[0] ? s->child[0] : s->child[1];
		free(s);
		t->num_shadow--;
		if (depth == 0) {
			return;
		}
		link = path[--depth];
	}
}

static void shadow_free(struct shadow *s)
{
	if (s) {
		shadow_free(s->child[0]);
		shadow_free(s->child[1]);
		free(s);
	}
}

/* ---- writer: building reader nodes -------------------------------------- */

/* fresh_obj allocates |size| bytes for a new node, recorded in t->fresh
 * (tagged with |tag|) so that a failed update can free it. */
static void *fresh_obj(struct rv_lpm *t, size_t size, uintptr_t tag)
{
	void *p = rv_slab_alloc(t->slab, size);

	if (p && vec_push(&t->fresh, (uintptr_t)p | tag)) {
		rv_slab_free(t->slab, p, size);
		p = NULL;
	}
	return p;
}

/* prefix_make returns a prefix node for the lone prefix |s| inside a region
 * whose other addresses get |fallback|. */
static int prefix_make(struct rv_lpm *t, const struct shadow *s, uintptr_t fallback, uintptr_t *out)
{
	if (t->family == AF_INET) {
		struct pnode4 *p = fresh_obj(t, sizeof(*p), TAG_MASK);

		if (!p) {
			return -ENOMEM;
		}
		memset(p, 0, sizeof(*p));
		p->key = (uint32_t)(s->key.hi >> 32);
		p->len = s->len;
		p->value = s->value;
		p->fallback = fallback;
		*out = (uintptr_t)p | TAG_MASK;
	} else {
		struct pnode6 *p = fresh_obj(t, sizeof(*p), TAG_MASK);

		if (!p) {
			return -ENOMEM;
		}
		memset(p, 0, sizeof(*p));
		p->hi = s->key.hi;
		p->lo = s->key.lo;
		p->len = s->len;
		p->value = s->value;
		p->fallback = fallback;
		*out = (uintptr_t)p | TAG_MASK;
	}
	return 0;
}

static size_t node_bytes(bool skipped, unsigned num)
{
	return sizeof(struct node) + ((skipped ? SKIP_WORDS : 0) + num) * sizeof(uintptr_t);
}

/*
 * node_make turns 64 slot words into a node at |pos| for region |key|, or
 * into a plain value when one would do: all slots alike, and (for a node
 * deeper than its slot, |skipped|) equal to the fallback too.
 */
static int node_make(struct rv_lpm *t, unsigned pos, struct key key, uintptr_t fallback,
		     bool skipped, const uintptr_t vals[SLOTS], uintptr_t *out)
{
	uint64_t bm = 1, full = vals[0] != 0;
	unsigned num, num_full, j = 0;
	bool sparse;
	struct node *n;
	uintptr_t *slot;

	for (unsigned i = 1; i < SLOTS; i++) {
		if (vals[i] != vals[i - 1]) {
			bm |= 1ULL << i;
		}
		if (vals[i]) {
			full |= 1ULL << i;
		}
	}
	num = (unsigned)__builtin_popcountll(bm);
	if (num == 1 && (!skipped || vals[0] == fallback)) {
		*out = vals[0]; /* a lone run is never a node: nodes fill one slot */
		return 0;
	}
	/* Scattered long prefixes with nothing between them (a dense IPv6
	 * set) make two runs each, the prefix and the gap after it; storing
	 * only the non-empty slots halves such a node, often to one cache
	 * line (perf/lpm_ab.sh: 0.8x per hit, 0.6x per miss for 100,000 such
	 * IPv6 prefixes). Not for IPv4, whose nodes are already small and
	 * whose lookups measured slower with the extra test in walk(); nor for
	 * a node of 64 runs, which is indexed directly. */
	num_full = (unsigned)__builtin_popcountll(full);
	sparse = t->family == AF_INET6 && num < SLOTS && num_full < num;
	if (sparse) {
		bm = full;
		num = num_full;
	}
	n = fresh_obj(t, node_bytes(skipped, num), TAG_NODE);
	if (!n) {
		return -ENOMEM;
	}
	n->bm = bm;
	n->pos = (uint8_t)pos;
	n->skip = skipped;
	n->num = (uint8_t)num;
	n->sparse = sparse;
	slot = n->w;
	if (skipped) {
		n->w[0] = key.hi;
		n->w[1] = key.lo;
		n->w[2] = fallback;
		slot += SKIP_WORDS;
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		if (bm & (1ULL << i)) {
			slot[j++] = vals[i];
		}
	}
	*out = (uintptr_t)n | TAG_NODE;
	return 0;
}

/* node_expand writes the 64 slot words of |n| into |vals|. */
static void node_expand(const struct node *n, uintptr_t vals[SLOTS])
{
	const uintptr_t *slot = node_slots(n);
	int j = -1;

	for (unsigned i = 0; i < SLOTS; i++) {
		if (n->bm & (1ULL << i)) {
			j++;
		} else if (n->sparse) {
			vals[i] = 0;
			continue;
		}
		vals[i] = slot[j];
	}
}

/* key_index returns bits pos..pos+width-1 of |k| (within one key word, or
 * reading zeros past the end of the key; width <= 16). */
static size_t key_index(struct key k, unsigned pos, unsigned width)
{
	uint64_t w = pos < 64 ? k.hi : k.lo;

	return width ? (size_t)((w << (pos & 63)) >> (64 - width)) : 0;
}

/*
 * fill applies, in pre-order (shorter before the longer ones nested in
 * them), every prefix of |s|'s subtree whose length falls in (pos, pos +
 * width] to the slots it covers (slot = bits pos..pos+width-1), and sets in
 * the bitmap |need| the slots holding longer prefixes, which need a child.
 * A node's slots are width STRIDE; a run of direct entries is width 16 - L.
 */
static void fill(const struct shadow *s, unsigned pos, unsigned width, uintptr_t *vals,
		 uint64_t *need)
{
	if (!s) {
		return;
	}
	if (s->len > pos + width) {
		size_t i = key_index(s->key, pos, width);

		need[i / 64] |= 1ULL << (i % 64);
		return;
	}
	if (s->len > pos && s->has_value) {
		size_t first = key_index(s->key, pos, width);
		size_t span = (size_t)1 << (pos + width - s->len);

		for (size_t i = 0; i < span; i++) {
			vals[first + i] = s->value;
		}
	}
	fill(s->child[0], pos, width, vals, need);
	fill(s->child[1], pos, width, vals, need);
}

/*
 * build returns in |out| the slot word for the region |k|/|p| (k zero from
 * bit p on; p on the grid) computed from the shadow, given |d|: the value of
 * the longest prefix of length <= p containing the region. Every node it
 * makes is new (recorded in t->fresh).
 */
static int build(struct rv_lpm *t, struct key k, unsigned p, uintptr_t d, uintptr_t *out)
{
	const struct shadow *s = shadow_subtree(t, k, p), *top;
	uintptr_t vals[SLOTS], dn;
	uint64_t need = 0;
	unsigned c, pos;
	struct key nk;
	int ret;

	*out = d;
	if (!s) {
		return 0;
	}
	/* |top| roots the prefixes strictly inside the region (longer than p);
	 * they all share their first |c| bits. */
	if (s->len > p) {
		top = s;
		c = s->len;
	} else if (s->child[0] && s->child[1]) {
		top = s;
		c = p;
	} else if (s->child[0] || s->child[1]) {
		top = s->child[0] ? s->child[0] : s->child[1];
		c = top->len;
	} else {
		return 0; /* only the region itself, already in d */
	}
	if (top->has_value && !top->child[0] && !top->child[1] && top->len > p) {
		return prefix_make(t, top, d, out);
	}
	/* Place the node on the deepest grid position that all of them share;
	 * deeper than p means the bits in between are compared, not walked. */
	pos = p + STRIDE * ((c - p) / STRIDE);
	nk = key_mask(top->key, pos);
	dn = pos > p && top->len == pos && top->has_value ? top->value : d;
	for (unsigned i = 0; i < SLOTS; i++) {
		vals[i] = dn;
	}
	fill(top, pos, STRIDE, vals, &need);
	while (need) {
		unsigned i = (unsigned)__builtin_ctzll(need);

		need &= need - 1;
		ret = build(t, key_with_chunk(nk, pos, i), pos + STRIDE, vals[i], &vals[i]);
		if (ret) {
			return ret;
		}
	}
	return node_make(t, pos, nk, d, pos > p, vals, out);
}

/*
 * rebuild returns the new slot word for the region |k|/|p| (current word
 * |w|, longest covering value |d| of length <= p) after the shadow changed
 * at the prefix |pk|/|len| strictly inside the region (len > p). Nodes off
 * the path to the change are shared with the old version.
 */
static int rebuild(struct rv_lpm *t, uintptr_t w, struct key k, unsigned p, uintptr_t d,
		   struct key pk, unsigned len, uintptr_t *out)
{
	uintptr_t vals[SLOTS], fallback = d;
	struct key nk = k;
	struct node *n;
	unsigned pos, first;
	int ret;

	if (!(w & TAG_NODE)) {
		return build(t, k, p, d, out);
	}
	n = node_of(w);
	if (!(w & TAG_PREFIX)) {
		pos = n->pos;
		if (n->skip) {
			nk = (struct key){ n->w[0], n->w[1] };
			fallback = n->w[2];
		}
	}
	if ((w & TAG_PREFIX) || len <= pos || key_common(nk, pk) < pos) {
		/* A prefix node is cheaper to rebuild than to edit. Otherwise
		 * the change lies in the part of the region this
		 * path-compressed node skips, or covers the node's own prefix:
		 * the node's shape no longer fits, so rebuild the region. */
		ret = collect(t, w);
		return ret ? ret : build(t, k, p, d, out);
	}
	node_expand(n, vals);
	first = key_chunk(pk.hi, pk.lo, pos);
	if (len <= pos + STRIDE) {
		/* The change covers whole slots: rebuild each from scratch. */
		for (unsigned i = first; i < first + (1u << (pos + STRIDE - len)); i++) {
			struct key ck = key_with_chunk(nk, pos, i);

			ret = collect(t, vals[i]);
			if (!ret) {
				ret = build(t, ck, pos + STRIDE, shadow_best(t, ck, pos + STRIDE),
					    &vals[i]);
			}
			if (ret) {
				return ret;
			}
		}
	} else {
		struct key ck = key_with_chunk(nk, pos, first);

		ret = rebuild(t, vals[first], ck, pos + STRIDE, shadow_best(t, ck, pos + STRIDE),
			      pk, len, &vals[first]);
		if (ret) {
			return ret;
		}
	}
	ret = vec_push(&t->garbage, w);
	return ret ? ret : node_make(t, pos, nk, fallback, pos > p, vals, out);
}

/*
 * update recomputes the reader trie where the prefix |k|/|len| reaches, after
 * the shadow changed there, and publishes it. On failure nothing is published
 * and every new node is freed.
 */
static int update(struct rv_lpm *t, struct key k, unsigned len)
{
	size_t first = (size_t)(k.hi >> (64 - DIRECT_BITS)), num = 1;
	uintptr_t one, *words = &one;
	uint64_t *need = NULL;
	int ret = 0;

	t->fresh.n = 0;
	t->garbage.n = 0;
	if (len <= DIRECT_BITS) {
		/* The direct entries inside P, filled like a node's slots: the
		 * value of the best prefix of length <= 16 for each, and a
		 * subtree built for those holding longer prefixes. */
		unsigned width = DIRECT_BITS - len;
		uintptr_t base = shadow_best(t, k, len);

		num = (size_t)1 << width;
		if (num > 1) {
			words = malloc(num * sizeof(*words));
		}
		need = calloc((num + 63) / 64, sizeof(*need));
		if (!words || !need) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t e = 0; e < num; e++) {
			words[e] = base;
		}
		fill(shadow_subtree(t, k, len), len, width, words, need);
		for (size_t e = 0; e < num && !ret; e++) {
			ret = collect(t, atomic_load_explicit(&t->direct[first + e],
							      memory_order_relaxed));
			if (!ret && (need[e / 64] & (1ULL << (e % 64)))) {
				ret = build(t, direct_key(first + e), DIRECT_BITS, words[e],
					    &words[e]);
			}
		}
	} else {
		struct key ek = direct_key(first);

		ret = rebuild(t, atomic_load_explicit(&t->direct[first], memory_order_relaxed), ek,
			      DIRECT_BITS, shadow_best(t, ek, DIRECT_BITS), k, len, &words[0]);
	}
	if (ret) {
		free_objs(t->slab, t->family, t->fresh.w, t->fresh.n);
		t->fresh.n = 0;
		t->garbage.n = 0;
		goto out;
	}
	/* Publish: each store hands readers a complete, immutable subtree. */
	for (size_t e = 0; e < num; e++) {
		atomic_store_explicit(&t->direct[first + e], words[e], memory_order_release);
	}
	for (size_t i = 0; i < t->fresh.n; i++) {
		t->num_nodes++;
		t->node_bytes += rv_slab_block_size(obj_size(t->family, t->fresh.w[i]));
	}
	for (size_t i = 0; i < t->garbage.n; i++) {
		t->num_nodes--;
		t->node_bytes -= rv_slab_block_size(obj_size(t->family, t->garbage.w[i]));
	}
	t->fresh.n = 0;
	retire(t);
out:
	if (words != &one) {
		free(words);
	}
	free(need);
	return ret;
}

/* ---- writer: when memory runs out --------------------------------------- */

/* subtree_count adds up the nodes and block bytes under |w|. */
static void subtree_count(const struct rv_lpm *t, uintptr_t w, size_t *num, size_t *bytes)
{
	if (!(w & TAG_NODE)) {
		return;
	}
	if (!(w & TAG_PREFIX)) {
		const struct node *n = node_of(w);

		for (unsigned j = 0; j < n->num; j++) {
			subtree_count(t, node_slots(n)[j], num, bytes);
		}
	}
	(*num)++;
	*bytes += rv_slab_block_size(obj_size(t->family, w));
}

/*
 * degrade unpublishes, without allocating, what a removal could not rebuild
 * for want of memory: every direct entry the prefix |k|/|len| reaches gets
 * the plain answer of the prefixes of 16 bits or fewer. The removed prefix
 * is then unreachable at once (its value may be freed after the grace
 * period, as lpm.h promises), but longer prefixes under those entries stop
 * matching, and answer as their covering /16-or-shorter prefix, until
 * repair() rebuilds the entries from the shadow at the next update.
 */
static void degrade(struct rv_lpm *t, struct key k, unsigned len)
{
	size_t first = (size_t)(k.hi >> (64 - DIRECT_BITS));
	size_t num = len <= DIRECT_BITS ? (size_t)1 << (DIRECT_BITS - len) : 1;

	t->fresh.n = 0;
	t->garbage.n = 0;
	for (size_t e = first; e < first + num; e++) {
		uintptr_t old = atomic_load_explicit(&t->direct[e], memory_order_relaxed);
		size_t n = 0, bytes = 0;

		atomic_store_explicit(&t->direct[e], shadow_best(t, direct_key(e), DIRECT_BITS),
				      memory_order_release);
		/* Coarse until repaired, even when the old word was a plain
		 * value, which need not have come from a prefix of 16 bits or
		 * fewer: leaf pushing folds longer prefixes into one value
		 * when their values are equal to their cover's (a /16 and a
		 * /34 inside it, both v). settle(), which follows, unmarks
		 * the entries with no longer prefix left under them. */
		if (!(t->dirty[e / 64] & (1ULL << (e % 64)))) {
			t->dirty[e / 64] |= 1ULL << (e % 64);
			t->num_dirty++;
		}
		if (!(old & TAG_NODE)) {
			continue; /* no nodes to retire */
		}
		subtree_count(t, old, &n, &bytes);
		t->num_nodes -= n;
		t->node_bytes -= bytes;
		if (collect(t, old)) {
			/* Not even room to list them: the nodes are unreachable
			 * but cannot be retired. Memory lost, never reused. */
			t->garbage.n = 0;
			t->leaked_bytes += bytes;
		}
	}
	retire(t);
}

/* repair rebuilds from the shadow the direct entries degrade() left coarse;
 * an entry that still cannot get memory stays coarse. */
static void repair(struct rv_lpm *t)
{
	for (size_t i = 0; t->num_dirty && i < DIRECT_SIZE / 64; i++) {
		while (t->dirty[i]) {
			size_t e = i * 64 + (size_t)__builtin_ctzll(t->dirty[i]);

			if (update(t, direct_key(e), DIRECT_BITS)) {
				return;
			}
			t->dirty[i] &= t->dirty[i] - 1;
			t->num_dirty--;
		}
	}
}

/* has_longer: does the shadow hold a prefix longer than 16 bits under
 * direct entry |e|? Without one, the plain answer of the prefixes of 16
 * bits or fewer, which is what a coarse entry gives, is the exact one. */
static bool has_longer(const struct rv_lpm *t, size_t e)
{
	const struct shadow *below = shadow_subtree(t, direct_key(e), DIRECT_BITS);

	return below && (below->len > DIRECT_BITS || below->child[0] || below->child[1]);
}

/* settle clears the mark of the coarse entries that the removal of the
 * prefix |k|/|len| has left with no longer prefix under them: what they
 * answer is then exact. The one place a removal decides that: degrade()
 * marks every entry it coarsens, and without this, removing the last
 * longer prefix while memory is short would leave an entry counted as
 * degraded, and the table claiming to need repair, until some later
 * update came. */
static void settle(struct rv_lpm *t, struct key k, unsigned len)
{
	size_t first = (size_t)(k.hi >> (64 - DIRECT_BITS));
	size_t num = len <= DIRECT_BITS ? (size_t)1 << (DIRECT_BITS - len) : 1;

	for (size_t e = first; t->num_dirty && e < first + num; e++) {
		if ((t->dirty[e / 64] & (1ULL << (e % 64))) && !has_longer(t, e)) {
			t->dirty[e / 64] &= ~(1ULL << (e % 64));
			t->num_dirty--;
		}
	}
}

/* ---- writer: API ---------------------------------------------------------- */

struct rv_lpm *rv_lpm_new(int family, struct rv_qsbr *qsbr)
{
	struct rv_lpm *t;

	if (family != AF_INET && family != AF_INET6) {
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		return NULL;
	}
	/* calloc: the untouched part of the table stays unbacked zero pages,
	 * so a client with one session pays for a few pages, not 512 KiB. */
	t->direct = calloc(DIRECT_SIZE, sizeof(*t->direct));
	t->dirty = calloc(DIRECT_SIZE / 64, sizeof(*t->dirty));
	t->slab = rv_slab_new();
	if (!t->direct || !t->dirty || !t->slab) {
		rv_slab_put(t->slab);
		free(t->dirty);
		free(t->direct);
		free(t);
		return NULL;
	}
	t->family = family;
	t->max_len = family == AF_INET ? 32 : KEY_BITS;
	t->qsbr = qsbr;
	t->popcnt = cpu_has_popcnt();
	return t;
}

static void free_subtree(const struct rv_lpm *t, uintptr_t w)
{
	if (!(w & TAG_NODE)) {
		return;
	}
	if (!(w & TAG_PREFIX)) {
		const struct node *n = node_of(w);

		for (unsigned j = 0; j < n->num; j++) {
			free_subtree(t, node_slots(n)[j]);
		}
	}
	obj_free(t->slab, t->family, w);
}

void rv_lpm_free(struct rv_lpm *t)
{
	if (!t) {
		return;
	}
	for (size_t e = 0; e < DIRECT_SIZE; e++) {
		free_subtree(t, atomic_load_explicit(&t->direct[e], memory_order_relaxed));
	}
	/* Batches still queued on the QSBR domain keep the slab alive. */
	rv_slab_put(t->slab);
	shadow_free(t->root);
	free(t->fresh.w);
	free(t->garbage.w);
	free(t->dirty);
	free(t->direct);
	free(t);
}

int rv_lpm_family(const struct rv_lpm *t)
{
	return t->family;
}

/* parse_prefix checks |addr|/|len| and returns its key in |out|. */
static int parse_prefix(const struct rv_lpm *t, const uint8_t *addr, unsigned len, struct key *out)
{
	if (len > t->max_len) {
		return -EINVAL;
	}
	*out = key_load(t->family, addr);
	return key_equal(key_mask(*out, len), *out) ? 0 : -EINVAL;
}

int rv_lpm_set(struct rv_lpm *t, const uint8_t *addr, unsigned len, void *value)
{
	uintptr_t v = (uintptr_t)value, old_value;
	struct shadow *s;
	bool old_has;
	struct key k;
	int ret;

	if (v == 0 || (v & TAG_NODE)) {
		return -EINVAL;
	}
	ret = parse_prefix(t, addr, len, &k);
	if (ret) {
		return ret;
	}
	repair(t);
	ret = shadow_insert(t, k, len, &s);
	if (ret) {
		return ret;
	}
	old_has = s->has_value;
	old_value = s->value;
	if (old_has && old_value == v) {
		return 0;
	}
	s->has_value = true;
	s->value = v;
	ret = update(t, k, len);
	if (ret) {
		s->has_value = old_has;
		s->value = old_value;
		if (!old_has) {
			shadow_unlink(t, k, len);
		}
		return ret;
	}
	if (!old_has) {
		t->num_prefixes++;
	}
	return 0;
}

int rv_lpm_remove(struct rv_lpm *t, const uint8_t *addr, unsigned len)
{
	struct shadow *s;
	struct key k;
	int ret;

	ret = parse_prefix(t, addr, len, &k);
	if (ret) {
		return ret;
	}
	s = shadow_find(t, k, len);
	if (!s || !s->has_value) {
		return -ENOENT;
	}
	repair(t);
	s->has_value = false;
	ret = update(t, k, len);
	if (ret && t->qsbr) {
		/* Short of memory: free what earlier updates retired and try
		 * once more. */
		rv_qsbr_synchronize(t->qsbr);
		rv_qsbr_reclaim(t->qsbr);
		ret = update(t, k, len);
	}
	shadow_unlink(t, k, len);
	if (ret) {
		degrade(t, k, len);
	}
	settle(t, k, len);
	t->num_prefixes--;
	return 0;
}

void *rv_lpm_get(const struct rv_lpm *t, const uint8_t *addr, unsigned len)
{
	const struct shadow *s;
	struct key k;

	if (parse_prefix(t, addr, len, &k)) {
		return NULL;
	}
	s = shadow_find(t, k, len);
	return s && s->has_value ? (void *)s->value : NULL;
}

size_t rv_lpm_count(const struct rv_lpm *t)
{
	return t->num_prefixes;
}

void rv_lpm_set_memory_limit(struct rv_lpm *t, size_t bytes)
{
	rv_slab_set_limit(t->slab, bytes);
}

void rv_lpm_get_stats(const struct rv_lpm *t, struct rv_lpm_stats *out)
{
	out->num_prefixes = t->num_prefixes;
	out->num_nodes = t->num_nodes;
	out->node_bytes = t->node_bytes;
	out->slab_bytes = rv_slab_reserved(t->slab);
	out->direct_bytes = DIRECT_SIZE * sizeof(*t->direct);
	out->shadow_bytes = t->num_shadow * sizeof(struct shadow);
	out->degraded = t->num_dirty;
	out->leaked_bytes = t->leaked_bytes;
}
