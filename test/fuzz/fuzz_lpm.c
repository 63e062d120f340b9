/*
 * fuzz_lpm.c — libFuzzer harness for the longest-prefix-match trie
 * (core/lpm.c), checked after every step against the brute-force reference
 * in test/lib/t_lpmref.c.
 *
 *   scripts/fuzz.sh lpm                  (clang + libFuzzer)
 *   build/fuzz/test/fuzz_lpm test/fuzz/corpus/lpm
 *   ctest -L fuzz-replay                 (replays the corpus, any compiler)
 *
 * The input is a little program. Byte 0 picks the family (bit 0: IPv6).
 * Then each step is an op byte, a length byte, one byte per bit flip and a
 * value byte. A length byte with bit 7 set gives any length (low 7 bits,
 * modulo the family's + 1), else 16 and up: short prefixes rebuild whole
 * runs of the direct table, and are kept rarer so that runs stay fast.
 *   op bits 1..0   0, 1: set   2: remove   3: look up an address
 *   op bits 3..2   which of four base addresses to start from
 *   op bits 5..4   how many bits to flip in it (0..3)
 *   op bit 6       set the bits past the length (an invalid prefix)
 *   op bit 7       first toggle a memory cap at the node bytes now in use
 * Bases share long runs of bits and flips are few, so prefixes nest, share
 * path-compressed runs and split nodes. After each step rv_lpm must agree
 * with the reference on the return code (a set may fail for want of memory
 * under the cap, and must then change nothing), the count, the exact value
 * and the lookup of the prefix's four edge addresses; at the end on every
 * prefix's edges, and removing everything must leave no node behind. While
 * a removal under the cap has left direct entries coarse, a lookup need only
 * return the value of some prefix that contains the address (never one
 * that was removed).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "core/lpm.h"
#include "test/lib/t_lpmref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                       \
	do {                              \
		if (!(cond)) {            \
			__builtin_trap(); \
		}                         \
	} while (0)

enum { MAX_OPS = 512, NUM_VALUES = 8 };

static uint64_t values[NUM_VALUES];

static const uint8_t bases[2][4][16] = {
	{ { 10, 20, 0, 0 }, { 10, 20, 5, 0 }, { 192, 168, 1, 0 }, { 0, 0, 0, 0 } },
	{
		{ 0xfd, 0x99 },
		{ 0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
		{ 0xfd, 0x99, 0, 0, 0, 0, 0, 1 },
	},
};

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct in *in)
{
	if (in->n == 0) {
		return 0;
	}
	in->n--;
	return *in->p++;
}

/* covered: is |v| the value of a prefix in |ref| that contains |a|? */
static bool covered(const struct t_lpmref *ref, const uint8_t *a, const void *v)
{
	for (size_t i = 0; i < ref->num; i++) {
		if (ref->e[i].value == v &&
		    t_prefix_contains(ref->e[i].addr, ref->e[i].len, a, ref->addr_len)) {
			return true;
		}
	}
	return false;
}

static void check_addr(struct rv_lpm *t, const struct t_lpmref *ref, const uint8_t *a)
{
	struct rv_lpm_stats st;
	void *got = rv_lpm_lookup(t, a);

	rv_lpm_get_stats(t, &st);
	if (st.degraded == 0) {
		check(got == t_lpmref_lookup(ref, a));
	} else {
		check(got == NULL || covered(ref, a, got));
	}
}

static void check_edges(struct rv_lpm *t, const struct t_lpmref *ref, const uint8_t *a,
			unsigned len)
{
	uint8_t e[4][16];

	t_prefix_edges(a, len, ref->addr_len, e);
	for (int i = 0; i < 4; i++) {
		check_addr(t, ref, e[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	int f = take(&in) & 1;
	int family = f ? AF_INET6 : AF_INET;
	struct rv_lpm *t = rv_lpm_new(family, NULL);
	struct rv_lpm_stats st;
	struct t_lpmref ref;
	bool capped = false;

	check(t != NULL);
	t_lpmref_init(&ref, family);
	for (int ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
		uint8_t op = take(&in), lb = take(&in), a[16];
		unsigned len = (lb & 0x80) ? (lb & 0x7fu) % (ref.max_len + 1)
					   : 16 + lb % (ref.max_len - 15);
		void *v;
		int want, got;

		memcpy(a, bases[f][(op >> 2) & 3], 16);
		for (int k = (op >> 4) & 3; k > 0; k--) {
			unsigned bit = take(&in) % ref.max_len;

			a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
		}
		v = &values[take(&in) % NUM_VALUES];
		if (op & 0x80) {
			rv_lpm_get_stats(t, &st);
			capped = !capped;
			rv_lpm_set_memory_limit(t, capped ? st.node_bytes + 1 : 0);
		}
		if ((op & 3) == 3) {
			check_addr(t, &ref, a);
			continue;
		}
		if (!(op & 0x40)) {
			t_prefix_mask(a, len, ref.addr_len);
		}
		if ((op & 3) == 2) {
			want = t_lpmref_remove(&ref, a, len);
			got = rv_lpm_remove(t, a, len);
		} else {
			void *old = t_lpmref_get(&ref, a, len);

			want = t_lpmref_set(&ref, a, len, v);
			got = rv_lpm_set(t, a, len, v);
			if (capped && want == 0 && got == -ENOMEM) {
				/* refused for want of memory: nothing changed */
				if (old) {
					t_lpmref_set(&ref, a, len, old);
				} else {
					t_lpmref_remove(&ref, a, len);
				}
				want = got;
			}
		}
		check(got == want);
		check(rv_lpm_count(t) == ref.num);
		check(rv_lpm_get(t, a, len) == t_lpmref_get(&ref, a, len));
		check_edges(t, &ref, a, len);
	}
	for (size_t i = 0; i < ref.num; i++) {
		check_edges(t, &ref, ref.e[i].addr, ref.e[i].len);
	}
	rv_lpm_set_memory_limit(t, 0);
	while (ref.num > 0) {
		uint8_t a[16];
		unsigned len = ref.e[0].len;

		memcpy(a, ref.e[0].addr, 16);
		check(rv_lpm_remove(t, a, len) == 0);
		check(t_lpmref_remove(&ref, a, len) == 0);
	}
	rv_lpm_get_stats(t, &st);
	check(st.num_nodes == 0 && st.node_bytes == 0 && st.shadow_bytes == 0 && st.degraded == 0);
	t_lpmref_cleanup(&ref);
	rv_lpm_free(t);
	return 0;
}
