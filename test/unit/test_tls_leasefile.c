/*
 * test_tls_leasefile.c — the lease journal file (tls/leasefile.c) on a
 * full disk: a snapshot that does not fit leaves the old journal whole (it
 * was truncated first, and the leases past the room were lost), one that
 * fits only in place is written there, and once there is room the file is
 * one snapshot again. A file size limit stands for the full disk: the
 * same refusal (EFBIG for ENOSPC) at a byte the test chooses. A copy over
 * the file's beginning that fails (pwrite refused by a seccomp filter, as a
 * copy-on-write file system out of room refuses it) leaves both tables, and
 * the file stops growing.
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

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <criterion/criterion.h>

#include "core/lease.h"
#include "core/strbuf.h"
#include "test/lib/t_ip.h"
#include "tls/leasefile.h"

#define SEC UINT64_C(1000000000)
#define LIFE (86400 * SEC)

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
	rv_leases_load(l, rv_strbuf_str(&text), text.len, 1000 * SEC, time(NULL), time(NULL), NULL);
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

/* open_file opens the lease file at |path| into |l|, as a start does. */
static struct rv_leasefile *open_file(struct rv_leases *l, uint64_t now_ns)
{
	struct rv_leasefile *f = NULL;
	char err[512];

	cr_assert_not_null(l);
	cr_assert_eq(rv_leasefile_open(&f, l, path, getuid(), getgid(), now_ns, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_not_null(f);
	return f;
}

/* write_seed writes the journal of names n0..n39, released a minute ago,
 * then |comments| comment lines and |tail| (a last line cut short). */
static void write_seed(int comments, const char *tail)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fprintf(fp, RV_LEASES_HEADER ": seed\n");
	for (int i = 0; i < 40; i++) {
		fprintf(fp, "R 10.9.%d.%d %lld n%d\n", i / 200, 1 + i % 200,
			(long long)time(NULL) - 60, i);
	}
	for (int i = 0; i < comments; i++) {
		fprintf(fp, "# live\n");
	}
	fprintf(fp, "%s", tail);
	fclose(fp);
	chmod(path, 0600);
}

Test(leasefile, a_snapshot_that_does_not_fit_leaves_the_journal_whole, .init = setup,
     .fini = teardown)
{
	struct rv_leases *l = rv_leases_new(1024, LIFE);
	struct rv_leasefile *f = NULL;
	uint64_t now = 1000 * SEC;
	char err[512];
	int headers;

	write_seed(0, "");
	f = open_file(l, now);
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

	f = open_file(l, now);
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

/* refuse_pwrite makes every pwrite64 of this process (the test's own, by
 * Criterion) fail with ENOSPC: the copy over the file's beginning, while
 * appends (write) go on. */
static void refuse_pwrite(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwrite64, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSPC),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "%s", strerror(errno));
}

/* line_headers: header lines in the file that begin a line after its first. */
static int line_headers(void)
{
	char buf[1 << 16];
	size_t n;
	int count = 0;
	FILE *fp = fopen(path, "r");

	cr_assert_not_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	for (const char *p = buf; (p = strstr(p, "\n" RV_LEASES_HEADER)); p++) {
		count++;
	}
	return count;
}

Test(leasefile, a_copy_that_fails_keeps_both_and_the_file_stops_growing, .init = setup,
     .fini = teardown)
{
	struct rv_leases *l = rv_leases_new(1024, LIFE);
	struct rv_leasefile *f = NULL;
	uint64_t now = 1000 * SEC;
	char err[512];
	int headers;
	off_t size = 0, most = 0, last = 0;

	/* A last line a kill cut short: the appended snapshot's header must
	 * begin a line of its own, or the loader does not see it. Comment
	 * lines make the journal longer than the snapshot: no comment line
	 * comes before it. */
	write_seed(40, "G 10.9.0.200 0 n19");
	refuse_pwrite();
	f = open_file(l, now);
	cr_assert_eq(line_headers(), 1, "the start's snapshot after the cut line, on its own");
	cr_assert(file_holds('n', 40, &headers));
	cr_assert_not(rv_leasefile_unsaved(f, err, sizeof(err), &(uint64_t){ 0 }),
		      "both tables are in the file: saved");
	/* Snapshots (here: more events than a flush takes), each appended and
	 * never copied: the file grows by a table each, until it holds a MiB
	 * more than four tables; then they go in place, which fails too, and
	 * it grows no more. */
	for (int round = 0; round < 1000; round++) {
		for (int k = 0; k < 600; k++) {
			struct rv_ip_addr a = addr_of('m', 0);

			grant(l, 'm', 0, now);
			rv_leases_release(l, &a, now + 1);
			now += 2;
		}
		now += 6 * SEC;
		rv_leasefile_flush(f, now);
		rv_leasefile_flush(f, now + 6 * SEC);
		size = file_size();
		most = size > most ? size : most;
		if (round % 100 == 99) {
			cr_assert(file_holds('n', 40, &headers), "round %d", round);
			cr_assert(file_holds('m', 1, &headers), "round %d", round);
		}
		if (round == 899) {
			last = size;
		}
	}
	cr_assert_eq(size, last, "the file grew in the last 100 snapshots");
	cr_log_info("largest file %lld bytes, last %lld", (long long)most, (long long)size);
	cr_assert_leq(most, 4 * 4096 + (1 << 20) + 64 * 1024, "the file kept growing");
	cr_assert(rv_leasefile_unsaved(f, err, sizeof(err), &(uint64_t){ 0 }),
		  "the newest events are not in the file");
	rv_leasefile_close(f, now + 14 * SEC);
	rv_leases_free(l);
}

/* A line another writer appends while the server runs is said and written
 * out, also when the next write is a touch ("# live") between the checks
 * of the path, made once a second: the touch took the grown length for
 * its own and kept the line, glued to it, read as a lease at the next
 * start (round-fifty tester 223). */
Test(leasefile, a_line_appended_by_another_writer_is_written_out, .init = setup, .fini = teardown)
{
	/* A lifetime of 8 s: a touch 2 s after the last write. */
	struct rv_leases *l = rv_leases_new(1024, 8 * SEC);
	struct rv_leasefile *f = NULL;
	uint64_t now = 1000 * SEC;
	char buf[4096];
	size_t n;
	FILE *fp;

	f = open_file(l, now);
	grant(l, 'n', 0, now);
	rv_leasefile_flush(f, now + SEC / 10);	    /* written, the path looked at */
	rv_leasefile_flush(f, now + SEC + SEC / 5); /* looked at again */
	fp = fopen(path, "a");
	cr_assert_not_null(fp);
	fprintf(fp, "G 10.9.9.9 0 intruder");
	fclose(fp);
	/* Under a second since the path was looked at, 2 s since the last
	 * write: a touch, and no look. */
	rv_leasefile_flush(f, now + 2 * SEC + 3 * SEC / 20);
	fp = fopen(path, "r");
	cr_assert_not_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	cr_assert_null(strstr(buf, "intruder"), "the appended line was kept: %s", buf);
	cr_assert_not_null(strstr(buf, " n0\n"), "%s", buf);
	rv_leasefile_close(f, now + 2 * SEC);
	rv_leases_free(l);
}
