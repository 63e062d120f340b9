/*
 * test_crypto_secmem.c — the key-memory allocator: zeroed objects, reuse of
 * freed ones (wiped), size bounds, and the MADV_DONTDUMP flag as the kernel
 * reports it in /proc/self/smaps ("dd" in VmFlags).
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto/secmem.h"

/* vma_flags copies the VmFlags line of the mapping that contains |p|. */
static bool vma_flags(const void *p, char *out, size_t out_len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool inside = false, found = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (inside && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, out_len, "%s", line);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

Test(secmem, zeroed_distinct_and_reused)
{
	struct rv_secmem_stats st0, st;
	uint8_t *a, *b, *c;

	rv_secmem_get_stats(&st0);
	a = rv_secmem_alloc(2000);
	b = rv_secmem_alloc(2000);
	cr_assert(a && b && a != b);
	for (size_t i = 0; i < 2000; i++) {
		cr_assert_eq(a[i], 0);
	}
	cr_assert_eq((uintptr_t)a % 64, 0u);
	memset(a, 0x5a, 2000);
	rv_secmem_get_stats(&st);
	cr_assert_eq(st.live, st0.live + 2);
	rv_secmem_free(a, 2000);
	c = rv_secmem_alloc(1990); /* same 64-byte class: the freed object */
	cr_assert_eq(c, a);
	for (size_t i = 0; i < 1990; i++) {
		cr_assert_eq(c[i], 0, "byte %zu not wiped", i);
	}
	rv_secmem_free(b, 2000);
	rv_secmem_free(c, 1990);
	rv_secmem_free(NULL, 10);
	rv_secmem_get_stats(&st);
	cr_assert_eq(st.live, st0.live);
}

Test(secmem, size_bounds)
{
	void *p;

	cr_assert_null(rv_secmem_alloc(0));
	cr_assert_null(rv_secmem_alloc(RV_SECMEM_MAX + 1));
	p = rv_secmem_alloc(RV_SECMEM_MAX);
	cr_assert_not_null(p);
	rv_secmem_free(p, RV_SECMEM_MAX);
}

Test(secmem, many_objects_span_chunks)
{
	enum { N = 300, SZ = 4096 };
	static void *objs[N];
	struct rv_secmem_stats st;

	for (size_t i = 0; i < N; i++) {
		objs[i] = rv_secmem_alloc(SZ);
		cr_assert_not_null(objs[i]);
		memset(objs[i], (int)i, SZ);
	}
	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(((uint8_t *)objs[i])[SZ - 1], (uint8_t)i, "object %zu overlapped", i);
	}
	rv_secmem_get_stats(&st);
	cr_assert_geq(st.chunks, (size_t)N * SZ / (256 * 1024));
	for (size_t i = 0; i < N; i++) {
		rv_secmem_free(objs[i], SZ);
	}
}

Test(secmem, not_in_core_dumps)
{
	char flags[512];
	void *p = rv_secmem_alloc(100);

	cr_assert_not_null(p);
	cr_assert(vma_flags(p, flags, sizeof(flags)), "no smaps entry for the chunk");
	cr_assert_not_null(strstr(flags, " dd"), "chunk not MADV_DONTDUMP: %s", flags);
	rv_secmem_free(p, 100);
}
