/*
 * bench_lpm.c — cost of a longest-prefix lookup (core/lpm.c) against the
 * structures it was chosen over and against the exact-match session table.
 *
 * Structures, all given the same prefixes and the same addresses:
 *   lpm       rv_lpm: multibit trie, 16-bit direct table + 6-bit strides,
 *             run-compressed, leaf-pushed, path-compressed (the product).
 *   bintrie   path-compressed binary trie, one node per branching bit, in the
 *             style of WireGuard's allowedips (built here, single-threaded).
 *   dir24-8   IPv4 only: a 2^24-entry first table and 256-entry second-level
 *             chunks for prefixes longer than /24 (built here).
 *   exact     the demux's exact-match hash by destination (rv_demux_by_dst4/6,
 *             "hosts" sets only: it answers only host addresses).
 *
 * Prefix sets ("mixed lengths"), n = 1, 1,000 and 100,000 per family:
 *   spread    anywhere in the address space; lengths uniform over 16..32
 *             (IPv4) and 16..128 (IPv6).
 *   private   inside 10.0.0.0/8 and fd00::/8, the address space VPN sites
 *             use; lengths uniform over 24..32 and 48..128. Dense: every
 *             lookup walks the full depth of the IPv4 trie.
 *   hosts     consecutive host addresses from 10.64.0.0/10 and fd99::/64,
 *             /32 and /128: what the demux holds for its sessions.
 * Values: 4,096 distinct session-like pointers, assigned at random.
 *
 * Addresses: "hit" lookups aim at a random address inside a random prefix of
 * the set; "miss" lookups at random addresses of the set's region that no
 * prefix covers. 2^20 precomputed addresses per run, independent lookups (the
 * figure is throughput per lookup, as in a worker's batch), this thread's CPU
 * time, best of 5 rounds. Every structure must return the same value as
 * rv_lpm for every address, or the bench stops.
 *
 * Memory per prefix: lpm counts its nodes plus the direct table (512 KiB, the
 * same for 1 prefix or 100,000) and, separately, the writer's shadow copy.
 *
 *   build/<dir>/perf/bench_lpm [--quick] [--family 4|6] [--set NAME] [--n N]
 *   (--quick: n = 1 and 1,000 only; the others pick one row of the table)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/demux.h"
#include "core/lpm.h"
#include "core/session.h"
#include "crypto/rand.h"
#include "perf/bench.h"

enum {
	PICKS = 1 << 20,
	ROUNDS = 5,
	NUM_VALUES = 4096,
	MAX_TRIES = 1 << 26, /* when searching for miss addresses */
};

static uint64_t value_pool[NUM_VALUES];
static volatile uintptr_t sink;

static void die(const char *what)
{
	fprintf(stderr, "bench_lpm: %s\n", what);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p) {
		die("out of memory");
	}
	return p;
}

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	return bench_xorshift(&rng);
}

/* ---- keys: 128 bits, IPv4 in the top 32 ---------------------------------- */

struct key {
	uint64_t hi, lo;
};

static struct key key_of(int family, const uint8_t *a)
{
	struct key k = { 0, 0 };

	for (int i = 0; i < (family == AF_INET ? 4 : 8); i++) {
		k.hi = k.hi << 8 | a[i];
	}
	if (family == AF_INET) {
		k.hi <<= 32;
	} else {
		for (int i = 8; i < 16; i++) {
			k.lo = k.lo << 8 | a[i];
		}
	}
	return k;
}

static unsigned key_bit(struct key k, unsigned i)
{
	return i < 64 ? (unsigned)(k.hi >> (63 - i)) & 1 : (unsigned)(k.lo >> (127 - i)) & 1;
}

static unsigned key_common(struct key a, struct key b)
{
	uint64_t x = a.hi ^ b.hi;

	if (x) {
		return (unsigned)__builtin_clzll(x);
	}
	x = a.lo ^ b.lo;
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

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
	} else if (len < 128) {
		k.lo &= ~0ULL << (128 - len);
	}
	return k;
}

/* ---- alternative 1: path-compressed binary trie --------------------------- */

struct bt_node {
	struct key key;
	struct bt_node *child[2];
	void *value;
	unsigned len;
};

static size_t bt_nodes;

static struct bt_node *bt_new(struct key k, unsigned len)
{
	struct bt_node *n = xmalloc(sizeof(*n));

	n->key = k;
	n->len = len;
	bt_nodes++;
	return n;
}

static void bt_insert(struct bt_node **link, struct key k, unsigned len, void *value)
{
	for (;;) {
		struct bt_node *s = *link, *n, *b;
		unsigned c;

		if (!s) {
			*link = n = bt_new(k, len);
			n->value = value;
			return;
		}
		c = key_common(s->key, k);
		c = c < s->len ? c : s->len;
		c = c < len ? c : len;
		if (c == s->len && c == len) {
			s->value = value;
			return;
		}
		if (c == s->len) {
			link = &s->child[key_bit(k, s->len)];
			continue;
		}
		n = bt_new(k, len);
		n->value = value;
		if (c == len) {
			n->child[key_bit(s->key, len)] = s;
			*link = n;
			return;
		}
		b = bt_new(key_mask(k, c), c);
		b->child[key_bit(k, c)] = n;
		b->child[key_bit(s->key, c)] = s;
		*link = b;
		return;
	}
}

static void *bt_lookup(const struct bt_node *n, struct key k)
{
	void *best = NULL;

	while (n && key_common(n->key, k) >= n->len) {
		if (n->value) {
			best = n->value;
		}
		if (n->len >= 128) {
			break;
		}
		n = n->child[key_bit(k, n->len)];
	}
	return best;
}

static void bt_free(struct bt_node *n)
{
	if (n) {
		bt_free(n->child[0]);
		bt_free(n->child[1]);
		free(n);
	}
}

/* ---- alternative 2: DIR-24-8 (IPv4) ---------------------------------------- */

struct dir248 {
	uint32_t *tbl24; /* bit 31: chunk number; else value number (0 = none) */
	uint32_t *tbl8;
	size_t num_chunks, cap_chunks;
	void **values; /* value number -> value */
};

enum { DIR_CHUNK = 0x80000000u };

static int by_len(const void *x, const void *y)
{
	const unsigned *a = x, *b = y;

	return (int)a[1] - (int)b[1];
}

/* dir_build inserts the prefixes shortest first, so that longer ones
 * overwrite the ranges they refine. */
static void dir_build(struct dir248 *d, const uint8_t (*addr)[16], const uint8_t *len,
		      void *const *val, size_t n)
{
	unsigned(*order)[2] = xmalloc(n * sizeof(*order));

	memset(d, 0, sizeof(*d));
	d->tbl24 = xmalloc(((size_t)1 << 24) * sizeof(*d->tbl24));
	d->values = xmalloc((n + 1) * sizeof(*d->values));
	for (size_t i = 0; i < n; i++) {
		order[i][0] = (unsigned)i;
		order[i][1] = len[i];
	}
	qsort(order, n, sizeof(*order), by_len);
	for (size_t j = 0; j < n; j++) {
		size_t i = order[j][0];
		uint32_t a = (uint32_t)(key_of(AF_INET, addr[i]).hi >> 32);
		uint32_t v = (uint32_t)(j + 1);

		d->values[v] = val[i];
		if (len[i] <= 24) {
			uint32_t first = a >> 8, count = 1u << (24 - len[i]);

			for (uint32_t e = first; e < first + count; e++) {
				if (d->tbl24[e] & DIR_CHUNK) {
					/* a longer prefix came first only if equal
					 * length sorting put it there: cannot */
					die("dir24-8: order");
				}
				d->tbl24[e] = v;
			}
		} else {
			uint32_t e = a >> 8, c, first = a & 0xff, count = 1u << (32 - len[i]);

			if (!(d->tbl24[e] & DIR_CHUNK)) {
				if (d->num_chunks == d->cap_chunks) {
					d->cap_chunks = d->cap_chunks ? 2 * d->cap_chunks : 256;
					d->tbl8 = realloc(d->tbl8, d->cap_chunks * 256 * 4);
					if (!d->tbl8) {
						die("out of memory");
					}
				}
				c = (uint32_t)d->num_chunks++;
				for (int k = 0; k < 256; k++) {
					d->tbl8[c * 256 + (uint32_t)k] = d->tbl24[e];
				}
				d->tbl24[e] = DIR_CHUNK | c;
			}
			c = d->tbl24[e] & ~DIR_CHUNK;
			for (uint32_t k = first; k < first + count; k++) {
				d->tbl8[c * 256 + k] = v;
			}
		}
	}
	free(order);
}

static inline void *dir_lookup(const struct dir248 *d, const uint8_t *a4)
{
	uint32_t a = (uint32_t)a4[0] << 24 | (uint32_t)a4[1] << 16 | (uint32_t)a4[2] << 8 | a4[3];
	uint32_t e = d->tbl24[a >> 8];

	if (e & DIR_CHUNK) {
		e = d->tbl8[(e & ~DIR_CHUNK) << 8 | (a & 0xff)];
	}
	return d->values[e];
}

static void dir_free(struct dir248 *d)
{
	free(d->tbl24);
	free(d->tbl8);
	free(d->values);
}

/* ---- prefix sets --------------------------------------------------------- */

enum dist { SPREAD, PRIVATE, HOSTS };
static const char *const dist_names[] = { "spread", "private", "hosts" };

struct set {
	int family;
	size_t alen, n;
	uint8_t (*addr)[16];
	uint8_t *len;
	void **val;
};

static void mask_bytes(uint8_t *a, unsigned len, size_t n)
{
	for (unsigned i = len; i < n * 8; i++) {
		a[i / 8] &= (uint8_t) ~(1u << (7 - i % 8));
	}
}

/* region_addr draws a random address of the set's region. */
static void region_addr(enum dist dist, int family, uint8_t *a)
{
	size_t n = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		a[i] = (uint8_t)rnd();
	}
	if (dist == PRIVATE) {
		a[0] = family == AF_INET ? 10 : 0xfd;
	} else if (dist == HOSTS) {
		if (family == AF_INET) {
			a[0] = 10;
			a[1] = (uint8_t)(64 | (a[1] & 63));
		} else {
			memset(a, 0, 8);
			a[0] = 0xfd;
			a[1] = 0x99;
		}
	}
}

static void set_build(struct set *s, enum dist dist, int family, size_t n)
{
	unsigned lo = 16, hi = family == AF_INET ? 32 : 128;

	s->family = family;
	s->alen = family == AF_INET ? 4 : 16;
	s->n = n;
	s->addr = xmalloc(n * sizeof(*s->addr));
	s->len = xmalloc(n);
	s->val = xmalloc(n * sizeof(*s->val));
	if (dist == PRIVATE) {
		lo = family == AF_INET ? 24 : 48;
	}
	for (size_t i = 0; i < n; i++) {
		if (dist == HOSTS) {
			uint64_t h = i + 1;

			memset(s->addr[i], 0, 16);
			if (family == AF_INET) {
				s->addr[i][0] = 10;
				s->addr[i][1] = (uint8_t)(64 | ((h >> 16) & 63));
				s->addr[i][2] = (uint8_t)(h >> 8);
				s->addr[i][3] = (uint8_t)h;
			} else {
				s->addr[i][0] = 0xfd;
				s->addr[i][1] = 0x99;
				for (int b = 0; b < 8; b++) {
					s->addr[i][15 - b] = (uint8_t)(h >> (8 * b));
				}
			}
			s->len[i] = (uint8_t)(s->alen * 8);
		} else {
			region_addr(dist, family, s->addr[i]);
			s->len[i] = (uint8_t)(lo + rnd() % (hi - lo + 1));
			mask_bytes(s->addr[i], s->len[i], s->alen);
		}
		s->val[i] = &value_pool[rnd() % NUM_VALUES];
	}
}

static void set_free(struct set *s)
{
	free(s->addr);
	free(s->len);
	free(s->val);
}

/* ---- one measurement -------------------------------------------------------- */

enum structure { S_LPM, S_BT, S_DIR, S_EXACT, S_MAX };
static const char *const structure_names[] = { "lpm", "bintrie", "dir24-8", "exact" };

struct ctx {
	const struct set *set;
	struct rv_lpm *lpm;
	struct bt_node *bt;
	struct dir248 dir;
	bool have_dir;
	struct rv_demux *demux;
	struct rv_session **sessions;
	uint8_t (*picks)[16];
};

static void *lookup_one(const struct ctx *c, enum structure st, const uint8_t *a)
{
	switch (st) {
	case S_LPM:
		return rv_lpm_lookup(c->lpm, a);
	case S_BT:
		return bt_lookup(c->bt, key_of(c->set->family, a));
	case S_DIR:
		return dir_lookup(&c->dir, a);
	default:
		return c->set->family == AF_INET ? rv_demux_by_dst4(c->demux, a)
						 : rv_demux_by_dst6(c->demux, a);
	}
}

/*
 * time_lookups returns the best ns per lookup over ROUNDS. Each structure
 * gets its own loop so that the compiler inlines what it can, as a caller in
 * the product would.
 */
static double time_lookups(const struct ctx *c, enum structure st)
{
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		uintptr_t acc = 0;
		uint64_t t0 = rv_thread_cpu_ns(), dt;

		switch (st) {
		case S_LPM:
			for (size_t i = 0; i < PICKS; i++) {
				acc += (uintptr_t)rv_lpm_lookup(c->lpm, c->picks[i]);
			}
			break;
		case S_BT:
			for (size_t i = 0; i < PICKS; i++) {
				acc += (uintptr_t)bt_lookup(c->bt,
							    key_of(c->set->family, c->picks[i]));
			}
			break;
		case S_DIR:
			for (size_t i = 0; i < PICKS; i++) {
				acc += (uintptr_t)dir_lookup(&c->dir, c->picks[i]);
			}
			break;
		default:
			for (size_t i = 0; i < PICKS; i++) {
				acc += (uintptr_t)(c->set->family == AF_INET
							   ? rv_demux_by_dst4(c->demux, c->picks[i])
							   : rv_demux_by_dst6(c->demux,
									      c->picks[i]));
			}
			break;
		}
		dt = rv_thread_cpu_ns() - t0;
		sink = acc;
		if ((double)dt / PICKS < best) {
			best = (double)dt / PICKS;
		}
	}
	return best;
}

/* make_picks fills c->picks with hit or miss addresses; returns false when
 * the set leaves no room for misses. */
static bool make_picks(struct ctx *c, enum dist dist, bool hit)
{
	const struct set *s = c->set;
	size_t tries = 0;

	for (size_t i = 0; i < PICKS; i++) {
		uint8_t *a = c->picks[i];

		if (hit) {
			size_t j = rnd() % s->n;

			/* a random address inside prefix j (it may fall in a
			 * longer prefix nested in j: still a hit) */
			for (size_t b = 0; b < s->alen; b++) {
				a[b] = (uint8_t)rnd();
			}
			for (unsigned bit = 0; bit < s->len[j]; bit++) {
				uint8_t m = (uint8_t)(1u << (7 - bit % 8));

				a[bit / 8] =
					(uint8_t)((a[bit / 8] & ~m) | (s->addr[j][bit / 8] & m));
			}
			continue;
		}
		do {
			if (++tries > MAX_TRIES) {
				return false;
			}
			region_addr(dist, s->family, a);
		} while (rv_lpm_lookup(c->lpm, a) != NULL);
	}
	return true;
}

/* check_agree: every structure gives every pick the answer rv_lpm gives
 * (the exact table, whose values are sessions, the same hit or miss). */
static void check_agree(const struct ctx *c, bool hit, const bool *have)
{
	for (size_t i = 0; i < PICKS; i++) {
		void *want = rv_lpm_lookup(c->lpm, c->picks[i]);

		if (hit != (want != NULL)) {
			die(hit ? "a hit pick missed" : "a miss pick hit");
		}
		for (int st = S_BT; st < S_MAX; st++) {
			void *got;

			if (!have[st]) {
				continue;
			}
			got = lookup_one(c, (enum structure)st, c->picks[i]);
			if (st == S_EXACT ? (got != NULL) != hit : got != want) {
				fprintf(stderr, "bench_lpm: %s disagrees with lpm at pick %zu\n",
					structure_names[st], i);
				exit(1);
			}
		}
	}
}

static void build_exact(struct ctx *c)
{
	const struct set *s = c->set;

	c->demux = rv_demux_new(s->n, NULL);
	c->sessions = xmalloc(s->n * sizeof(*c->sessions));
	if (!c->demux) {
		die("demux");
	}
	for (size_t i = 0; i < s->n; i++) {
		struct rv_session_params p = { .remote_index = 1 };

		if (rv_demux_alloc_index(c->demux, &p.local_index) != 0) {
			die("demux index");
		}
		if (s->family == AF_INET) {
			p.vaddr4.family = AF_INET;
			memcpy(p.vaddr4.a, s->addr[i], 4);
		} else {
			p.vaddr6.family = AF_INET6;
			memcpy(p.vaddr6.a, s->addr[i], 16);
		}
		c->sessions[i] = rv_session_new(&p);
		if (!c->sessions[i] || rv_demux_add(c->demux, c->sessions[i]) != 0) {
			die("demux add");
		}
	}
}

static void run(int family, enum dist dist, size_t n)
{
	struct set s;
	struct ctx c;
	struct rv_lpm_stats st;
	bool have[S_MAX] = { true, true, family == AF_INET, dist == HOSTS };
	double ns[2][S_MAX];
	uint64_t t0;
	double build_ms;

	memset(&c, 0, sizeof(c));
	set_build(&s, dist, family, n);
	c.set = &s;
	c.lpm = rv_lpm_new(family, NULL);
	c.picks = xmalloc((size_t)PICKS * sizeof(*c.picks));
	if (!c.lpm) {
		die("lpm");
	}
	t0 = rv_thread_cpu_ns();
	for (size_t i = 0; i < n; i++) {
		int ret = rv_lpm_set(c.lpm, s.addr[i], s.len[i], s.val[i]);

		if (ret) {
			fprintf(stderr, "bench_lpm: rv_lpm_set: %s\n", strerror(-ret));
			exit(1);
		}
	}
	build_ms = (double)(rv_thread_cpu_ns() - t0) / 1e6;
	bt_nodes = 0;
	for (size_t i = 0; i < n; i++) {
		bt_insert(&c.bt, key_of(family, s.addr[i]), s.len[i], s.val[i]);
	}
	if (have[S_DIR]) {
		dir_build(&c.dir, (const uint8_t(*)[16])s.addr, s.len, s.val, n);
	}
	if (have[S_EXACT]) {
		build_exact(&c);
	}
	rv_lpm_get_stats(c.lpm, &st);

	for (int h = 1; h >= 0; h--) {
		if (!make_picks(&c, dist, h)) {
			for (int k = 0; k < S_MAX; k++) {
				ns[h][k] = -1;
			}
			continue;
		}
		check_agree(&c, h, have);
		for (int k = 0; k < S_MAX; k++) {
			ns[h][k] = have[k] ? time_lookups(&c, (enum structure)k) : -1;
		}
	}

	printf("| IPv%d | %s | %zu |", family == AF_INET ? 4 : 6, dist_names[dist], n);
	for (int k = 0; k < S_MAX; k++) {
		for (int h = 1; h >= 0; h--) {
			if (ns[h][k] < 0) {
				printf(" – |");
			} else {
				printf(" %.1f |", ns[h][k]);
			}
		}
	}
	printf(" %.0f | %.0f | %.0f |", (double)(st.node_bytes + st.direct_bytes) / (double)n,
	       (double)st.node_bytes / (double)n, (double)st.shadow_bytes / (double)n);
	if (have[S_DIR]) {
		printf(" %.0f |",
		       (double)(((size_t)1 << 24) * 4 + c.dir.num_chunks * 1024) / (double)n);
	} else {
		printf(" – |");
	}
	printf(" %.0f |\n", (double)(bt_nodes * sizeof(struct bt_node)) / (double)n);
	fflush(stdout);
	fprintf(stderr,
		"  (%s IPv%d n=%zu: rv_lpm %zu nodes, %.1f bytes each; built in %.0f ms, %.2f us "
		"per insert)\n",
		dist_names[dist], family == AF_INET ? 4 : 6, n, st.num_nodes,
		st.num_nodes ? (double)st.node_bytes / (double)st.num_nodes : 0.0, build_ms,
		build_ms * 1000 / (double)n);

	rv_lpm_free(c.lpm);
	bt_free(c.bt);
	if (have[S_DIR]) {
		dir_free(&c.dir);
	}
	if (c.demux) {
		rv_demux_free(c.demux);
		for (size_t i = 0; i < n; i++) {
			rv_session_free(c.sessions[i]);
		}
		free(c.sessions);
	}
	free(c.picks);
	set_free(&s);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_lpm [--quick] [--family 4|6] [--set spread|private|hosts] "
			"[--n N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 1000, 100000 };
	size_t num_sizes = 3, only_n = 0;
	int only_family = 0, only_set = -1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			num_sizes = 2;
		} else if (!strcmp(argv[i], "--family") && i + 1 < argc) {
			only_family = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
			i++;
			for (int d = SPREAD; d <= HOSTS; d++) {
				if (!strcmp(argv[i], dist_names[d])) {
					only_set = d;
				}
			}
			if (only_set < 0) {
				usage();
			}
		} else if (!strcmp(argv[i], "--n") && i + 1 < argc) {
			only_n = strtoul(argv[++i], NULL, 10);
		} else {
			usage();
		}
	}

	printf("ns per lookup (hit / miss) and bytes per prefix; – = not applicable\n\n");
	printf("| family | set | prefixes | lpm hit | lpm miss | bintrie hit | bintrie miss | "
	       "dir24-8 hit | dir24-8 miss | exact hit | exact miss | lpm B/prefix (incl. "
	       "direct table) | lpm nodes B/prefix | lpm writer shadow B/prefix | dir24-8 "
	       "B/prefix | bintrie B/prefix |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int f = 0; f < 2; f++) {
		int family = f == 0 ? AF_INET : AF_INET6;

		if (only_family && only_family != (f == 0 ? 4 : 6)) {
			continue;
		}
		for (int d = SPREAD; d <= HOSTS; d++) {
			if (only_set >= 0 && d != only_set) {
				continue;
			}
			if (only_n) {
				run(family, (enum dist)d, only_n);
				continue;
			}
			for (size_t z = 0; z < num_sizes; z++) {
				run(family, (enum dist)d, sizes[z]);
			}
		}
	}
	return 0;
}
