/*
 * test_tls_leasefile.c — the lease journal file (tls/leasefile.c) on a
 * full disk: a snapshot that does not fit leaves the old journal whole (it
 * was truncated first, and the leases past the room were lost), one that
 * fits only in place is written there, and once there is room the file is
 * one snapshot again. A file size limit stands for the full disk: the
 * same refusal (EFBIG for ENOSPC) at a byte the test chooses.
 *
 *   ./build/<dir>/test/test_tls_leasefile --verbose
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/lease.h"
#include "core/strbuf.h"
#include "test/lib/t_ip.h"
#include "tls/leasefile.h"

#define SEC UINT64_C(1000000000)
#define LIFE (3600 * SEC)

static char dir[] = "/tmp/rvt-leasefile-XXXXXX";
static char path[sizeof(dir) + 16];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/leases", dir);
	/* The limit's signal would end the process: the server ignores it. */
	signal(SIGXFSZ, SIG_IGN);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static void set_fsize(rlim_t bytes)
{
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = bytes;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0, "%s", strerror(errno));
}

static off_t file_size(void)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

static struct rv_ip_addr addr_of(char kind, int i)
{
	char a[32];

	snprintf(a, sizeof(a), "10.%d.%d.%d", kind == 'n' ? 9 : 8, i / 200, 1 + i % 200);
	return t_ip(a);
}

/* file_holds: the file, loaded into a new table, gives back every name
 * |kind|0..|count|-1 its address; |*out_headers|: its header lines. */
static bool file_holds(char kind, int count, int *out_headers)
{
	struct rv_leases *l = rv_leases_new(1024, LIFE);
	struct rv_strbuf text = { 0 };
	char buf[4096];
	size_t n;
	bool ok = true;
	FILE *fp = fopen(path, "r");

	cr_assert_not_null(fp);
	cr_assert_not_null(l);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		rv_strbuf_append(&text, buf, n);
	}
	fclose(fp);
	*out_headers = 0;
	for (const char *p = rv_strbuf_str(&text); (p = strstr(p, RV_LEASES_HEADER)); p++) {
		(*out_headers)++;
	}
	rv_leases_load(l, rv_strbuf_str(&text), text.len, 1000 * SEC, time(NULL), time(NULL),
		       NULL);
	for (int i = 0; ok && i < count; i++) {
		char name[16];
		struct rv_ip_addr a = addr_of(kind, i);

		snprintf(name, sizeof(name), "%c%d", kind, i);
		ok = rv_leases_may_return(l, &a, name, 1000 * SEC);
		if (!ok) {
			cr_log_info("%s's lease is not in the file", name);
		}
	}
	rv_strbuf_free(&text);
	rv_leases_free(l);
	return ok;
}

static void grant(struct rv_leases *l, char kind, int i, uint64_t now_ns)
{
	char name[16];
	struct rv_ip_addr a = addr_of(kind, i);

	snprintf(name, sizeof(name), "%c%d", kind, i);
	rv_leases_grant(l, &a, name, now_ns);
}

Test(leasefile, a_snapshot_that_does_not_fit_leaves_the_journal_whole, .init = setup,
     .fini = teardown)
{
	struct rv_leases *l = rv_leases_new(1024, LIFE);
	struct rv_leasefile *f = NULL;
	uint64_t now = 1000 * SEC;
	char err[512];
	int headers;
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fprintf(fp, RV_LEASES_HEADER ": seed\n");
	for (int i = 0; i < 40; i++) {
		fprintf(fp, "R 10.9.%d.%d %lld n%d\n", i / 200, 1 + i % 200,
			(long long)time(NULL) - 60, i);
	}
	fclose(fp);
	chmod(path, 0600);
	cr_assert_eq(rv_leasefile_open(&f, l, path, getuid(), now, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_not_null(f);
	cr_assert(file_holds('n', 40, &headers));
	cr_assert_eq(headers, 1, "the start's snapshot is the whole file");

	/* Room for two of the five grants' lines: the append fails part-way,
	 * and the snapshot after it, five lines longer than the file, has no
	 * room at all. */
	set_fsize((rlim_t)file_size() + 50);
	for (int i = 0; i < 5; i++) {
		grant(l, 'm', i, now + SEC);
	}
	rv_leasefile_flush(f, now + SEC);
	cr_assert(rv_leasefile_unsaved(f, err, sizeof(err), &(uint64_t){ 0 }));
	rv_leasefile_flush(f, now + 7 * SEC); /* the snapshot's try */
	cr_assert(rv_leasefile_unsaved(f, err, sizeof(err), &(uint64_t){ 0 }));
	cr_assert(strstr(err, "File too large"), "%s", err);
	cr_assert(file_holds('n', 40, &headers), "a lease away was lost with the snapshot");
	cr_assert(file_holds('m', 2, &headers), "the grants that fitted");

	/* Room again: one snapshot, the whole table. */
	set_fsize(RLIM_INFINITY);
	rv_leasefile_flush(f, now + 13 * SEC);
	cr_assert_not(rv_leasefile_unsaved(f, err, sizeof(err), &(uint64_t){ 0 }), "%s", err);
	cr_assert(file_holds('n', 40, &headers));
	cr_assert(file_holds('m', 5, &headers));
	cr_assert_eq(headers, 1, "one snapshot, cut to it");
	rv_leasefile_close(f, now + 14 * SEC);
	rv_leases_free(l);
}

Test(leasefile, a_snapshot_with_room_only_in_place_is_written_there, .init = setup,
     .fini = teardown)
{
	struct rv_leases *l = rv_leases_new(1024, LIFE);
	struct rv_leasefile *f = NULL;
	uint64_t now = 1000 * SEC;
	char err[512];
	int headers;
	off_t before;

	cr_assert_eq(rv_leasefile_open(&f, l, path, getuid(), now, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_not_null(f);
	/* A journal of many events for few leases. */
	for (int k = 0; k < 60; k++) {
		struct rv_ip_addr a = addr_of('n', 0);

		grant(l, 'n', 0, now + (uint64_t)k * SEC);
		rv_leases_release(l, &a, now + (uint64_t)k * SEC + 1);
		rv_leasefile_flush(f, now + (uint64_t)k * SEC + 2);
	}
	now += 100 * SEC;
	cr_assert(file_holds('n', 1, &headers));
	/* Not a byte more: the next append fails, and so does the snapshot's;
	 * the snapshot, shorter than the journal, is written in place. */
	before = file_size();
	set_fsize((rlim_t)before);
	grant(l, 'n', 1, now);
	rv_leasefile_flush(f, now);
	cr_assert(rv_leasefile_unsaved(f, err, sizeof(err), &(uint64_t){ 0 }));
	rv_leasefile_flush(f, now + 6 * SEC);
	cr_assert_not(rv_leasefile_unsaved(f, err, sizeof(err), &(uint64_t){ 0 }), "%s", err);
	cr_assert_lt(file_size(), before, "cut to the snapshot");
	cr_assert(file_holds('n', 2, &headers));
	cr_assert_eq(headers, 1);
	set_fsize(RLIM_INFINITY);
	rv_leasefile_close(f, now + 7 * SEC);
	rv_leases_free(l);
}
