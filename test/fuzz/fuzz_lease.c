/*
 * fuzz_lease.c — libFuzzer harness for the lease journal's reader
 * (core/lease.h rv_leases_load): the file is written by the service user,
 * and a crash, a cut or a hand edit leaves anything in it. The first three
 * bytes pick the clocks and the lifetime (a young monotonic clock, an end
 * in the future, a lifetime of one second); the rest is the journal.
 *
 * A table loaded from anything is written out (rv_leases_save) and loaded
 * again into a new table: the second load must find every line good, hold
 * as many records, and write the same text (a snapshot that reads back as
 * something else would move addresses at the next restart).
 *
 *   clang build: -DRV_FUZZ=ON -> build/<dir>/test/fuzz_lease corpus/lease
 *   normal build: replay_lease test/fuzz/corpus/lease
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/lease.h"
#include "core/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ENTRIES = 16 };

static struct rv_leases *load(const char *text, size_t len, uint64_t now_ns, int64_t now_wall,
			      int64_t end_wall, uint64_t lifetime_ns, size_t *bad, int *n)
{
	struct rv_leases *l = rv_leases_new(MAX_ENTRIES, lifetime_ns);

	if (!l) {
		abort();
	}
	*n = rv_leases_load(l, text, len, now_ns, now_wall, end_wall, bad);
	if (*n < 0 || *n > MAX_ENTRIES || (size_t)*n != rv_leases_count(l)) {
		abort();
	}
	return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t nows[] = { 30ull * 1000000000, 86400ull * 1000000000,
					 10000000ull * 1000000000 };
	static const uint64_t lifetimes[] = { 1000000000ull, 3600ull * 1000000000,
					      30ull * 86400 * 1000000000 };
	static const int64_t ends[] = { -10, 0, 10, -1000000 };
	const int64_t now_wall = 1800000000;
	struct rv_strbuf a = { 0 }, b = { 0 };
	struct rv_leases *l, *m;
	uint64_t now_ns, lifetime_ns;
	int64_t end_wall;
	size_t bad = 0, bad2 = 0;
	int n, n2;

	if (size < 3) {
		return 0;
	}
	now_ns = nows[data[0] % 3];
	lifetime_ns = lifetimes[data[1] % 3];
	end_wall = now_wall + ends[data[2] % 4];
	l = load((const char *)data + 3, size - 3, now_ns, now_wall, end_wall, lifetime_ns, &bad,
		 &n);
	rv_leases_save(l, &a, now_ns, now_wall);
	m = load(rv_strbuf_str(&a), strlen(rv_strbuf_str(&a)), now_ns, now_wall, end_wall,
		 lifetime_ns, &bad2, &n2);
	rv_leases_save(m, &b, now_ns, now_wall);
	if (bad2 != 0 || n2 != n || strcmp(rv_strbuf_str(&a), rv_strbuf_str(&b)) != 0) {
		abort();
	}
	rv_strbuf_free(&a);
	rv_strbuf_free(&b);
	rv_leases_free(l);
	rv_leases_free(m);
	return 0;
}
