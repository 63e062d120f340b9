/*
 * crlstate.c — the CRL state file (see crlstate.h).
 */
#include "tls/crlstate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "tls/crl.h"
#include "tls/internal.h"

#define HEADER                                                                             \
	"# ringvpn CRL state 1: the newest CRL taken of each CA key (SHA-256 of the key, " \
	"cRLNumber or -, thisUpdate, that of a CRL without a number taken since, "         \
	"SHA-256 of the numbered CRL or -, check). Remove the file while the process is "  \
	"stopped to take an older CRL on purpose.\n"

enum {
	NUM_HEX = 2 * sizeof(((struct rv_tls_crl_seen *)0)->number),
	KEY_HEX = 2 * SHA256_DIGEST_LENGTH,
	/* key, number, thisUpdate and unnumbered_since (%+020lld), the
	 * CRL's digest, check, separated, newline */
	LINE_LEN = KEY_HEX + 1 + NUM_HEX + 1 + 20 + 1 + 20 + 1 + KEY_HEX + 1 + 8 + 1,
	/* A file the server wrote is below this: one line per signer. */
	MAX_FILE = 64 * 1024,
	/* How long a save waits for another server's save of the same file. */
	LOCK_TRIES = 20,
};

struct rv_crlstate {
	int fd;
	uid_t service;		   /* the service user, whose file is no stranger's */
	bool failing;		   /* the last write failed (warned once) */
	bool lost;		   /* the path names another file, which cannot be opened
			      * (said once) */
	bool ro;		   /* fd is read-only or -1: it could not be opened for writing
			      * at the start; each save tries again (follow_path) */
	int retry_err;		   /* the errno of the last failure of that said */
	bool full;		   /* a CA key found no line (said once) */
	bool gone;		   /* status found its path naming another file, or none */
	struct rv_unsaved unsaved; /* the file lacks what is remembered (rv_crlstate_unsaved) */
	char path[];
};

/* The record read from the file, as a set of CRLs that holds none (what
 * rv_tls_crls_older and rv_tls_crls_carry compare and take), and the text
 * written: the control thread's alone. */
static struct rv_tls_crls before;
static char text[RV_CRLSTATE_TEXT_MAX];
_Static_assert(sizeof(HEADER) - 1 + RV_TLS_CRL_SEEN * LINE_LEN <= RV_CRLSTATE_TEXT_MAX,
	       "a full CRL state fits its text");

/* fnv1a: the check of a line: a write cut short by a crash, not an
 * adversary (what may write the file is said at the start: check_fd). */
static uint32_t fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	}
	return h;
}

static bool unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0) {
			return false;
		}
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | v) : v << 4);
	}
	return true;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
}

/* time_field reads a signed 20-character decimal field. */
static bool time_field(const char *f, int64_t *out)
{
	char digits[21], *end;
	long long v;

	memcpy(digits, f, 20);
	digits[20] = '\0';
	errno = 0;
	v = strtoll(digits, &end, 10);
	if (errno || *end || (digits[0] != '+' && digits[0] != '-')) {
		return false;
	}
	*out = v;
	return true;
}

/* parse_line reads one line of LINE_LEN bytes (its newline included). */
static bool parse_line(const char *l, struct rv_tls_crl_seen *e)
{
	const char *num = l + KEY_HEX + 1, *tu = num + NUM_HEX + 1, *un = tu + 21, *md = un + 21;
	const char *chk = md + KEY_HEX + 1;
	uint8_t sum[4];

	if (l[KEY_HEX] != ' ' || num[NUM_HEX] != ' ' || tu[20] != ' ' || un[20] != ' ' ||
	    md[KEY_HEX] != ' ' || chk[8] != '\n' || !unhex(chk, 8, sum) ||
	    fnv1a(l, (size_t)(chk - 1 - l)) != ((uint32_t)sum[0] << 24 | (uint32_t)sum[1] << 16 |
						(uint32_t)sum[2] << 8 | sum[3]) ||
	    !unhex(l, KEY_HEX, e->signer)) {
		return false;
	}
	memset(e->number, 0, sizeof(e->number));
	e->numbered = num[0] != '-';
	if (e->numbered && !unhex(num, NUM_HEX, e->number)) {
		return false;
	}
	e->have_md = md[0] != '-';
	if (e->have_md && !unhex(md, KEY_HEX, e->crl_md)) {
		return false;
	}
	if (!time_field(tu, &e->this_update) || !time_field(un, &e->unnumbered_since)) {
		return false;
	}
	e->have = true;
	return true;
}

/* line_merge takes a second line |one| of |e|'s signer (an edit; no writer
 * makes one) into |e|, whatever their order: the higher number with its
 * CRL's digest, and the later dates. The first line alone decided, and one
 * with a lower number put before the right one let the start take the
 * older CRL (round-twenty-three tester 102). Returns false for two CRLs
 * under one number, neither of which can be told for the right one (the
 * first line's locked the other out: tester 103): the caller refuses the
 * file if that number is the signer's highest. */
static bool line_merge(struct rv_tls_crl_seen *e, const struct rv_tls_crl_seen *one)
{
	int cmp = !one->numbered ? -1
		  : !e->numbered ? 1
				 : memcmp(one->number, e->number, sizeof(e->number));
	bool ok = true;

	if (cmp > 0) {
		memcpy(e->number, one->number, sizeof(e->number));
		memcpy(e->crl_md, one->crl_md, sizeof(e->crl_md));
		e->numbered = true;
		e->have_md = one->have_md;
	} else if (cmp == 0 && one->have_md) {
		ok = !e->have_md || memcmp(e->crl_md, one->crl_md, sizeof(e->crl_md)) == 0;
		memcpy(e->crl_md, one->crl_md, sizeof(e->crl_md));
		e->have_md = true;
	}
	e->this_update = one->this_update > e->this_update ? one->this_update : e->this_update;
	e->unnumbered_since = one->unnumbered_since > e->unnumbered_since ? one->unnumbered_since
									  : e->unnumbered_since;
	return ok;
}

int rv_crlstate_parse(const char *buf, size_t len, const char *path, struct rv_tls_crl_seen *seen,
		      unsigned *damaged, unsigned *first, char *err, size_t err_len)
{
	static const char header[] = HEADER;
	size_t hl = sizeof(header) - 1;
	uint8_t clash[RV_TLS_CRL_SEEN][sizeof(seen[0].number)];
	unsigned clash_line[RV_TLS_CRL_SEEN] = { 0 };

	memset(seen, 0, RV_TLS_CRL_SEEN * sizeof(seen[0]));
	*damaged = 0;
	*first = 0;
	/* Empty, or a header cut by a crash as the file was first written:
	 * nothing remembered yet. */
	if (len < hl && memcmp(buf, header, len) == 0) {
		return 0;
	}
	if (len > MAX_FILE || len < hl || memcmp(buf, header, hl) != 0) {
		snprintf(err, err_len,
			 "crl_state %s holds something else (%s): refused, left as it is (does "
			 "crl_state name another file?)",
			 path, len > MAX_FILE ? "over 64 KiB" : "not a ringvpn CRL state");
		return -EINVAL;
	}
	for (size_t off = hl; off < len; off += LINE_LEN) {
		unsigned line = (unsigned)((off - hl) / LINE_LEN + 2);
		struct rv_tls_crl_seen e = { 0 };
		size_t j = 0;

		if (len - off < LINE_LEN || !parse_line(buf + off, &e)) {
			*first = *first ? *first : line;
			++*damaged;
			continue;
		}
		while (j < RV_TLS_CRL_SEEN && seen[j].have &&
		       memcmp(seen[j].signer, e.signer, sizeof(e.signer)) != 0) {
			j++;
		}
		if (j == RV_TLS_CRL_SEEN) {
			continue; /* the table is full: said when a CA finds no line */
		}
		if (!seen[j].have) {
			seen[j] = e;
		} else if (!line_merge(&seen[j], &e)) {
			memcpy(clash[j], e.number, sizeof(e.number));
			clash_line[j] = line;
		}
	}
	/* Two CRLs under a lower number than the signer's highest do not
	 * matter (and whether they met depends on the order). Under the
	 * highest, which one is the newest cannot be told: taking either
	 * (or any, by checking no digest) let one made again from an older
	 * index in and then locked the right one out (round-twenty-four
	 * tester 105), so the operator is asked. */
	for (size_t j = 0; j < RV_TLS_CRL_SEEN; j++) {
		if (clash_line[j] && !memcmp(seen[j].number, clash[j], sizeof(clash[j]))) {
			snprintf(err, err_len,
				 "crl_state %s gives two CRLs under the highest number of one "
				 "CA key (line %u, and one before it: an edit?): which is the "
				 "newest cannot be told; refused, left as it is (remove the "
				 "wrong line; or the file, to take the CRL in place)",
				 path, clash_line[j]);
			return -EINVAL;
		}
	}
	return 0;
}

/* read_all reads |fd| (at most MAX_FILE) into |seen| (rv_crlstate_parse),
 * and the check of its whole text into |*sum|: 0, -EINVAL for a file that
 * is not a CRL state (with why in |err|), -errno of the read. Damaged lines
 * are said unless |quiet|. */
static int read_all(int fd, const char *path, struct rv_tls_crl_seen seen[RV_TLS_CRL_SEEN],
		    uint32_t *sum, bool quiet, char *err, size_t err_len)
{
	size_t len = 0;
	unsigned damaged = 0, first = 0;
	char *buf = malloc(MAX_FILE + 1);
	int ret = 0;

	memset(seen, 0, RV_TLS_CRL_SEEN * sizeof(seen[0]));
	if (!buf) {
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r = pread(fd, buf + len, MAX_FILE + 1 - len, (off_t)len);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			ret = -errno;
			snprintf(err, err_len, "crl_state %s cannot be read: %s", path,
				 strerror(errno));
			goto out;
		}
		if (r == 0 || (len += (size_t)r) > MAX_FILE) {
			break;
		}
	}
	*sum = fnv1a(buf, len);
	ret = rv_crlstate_parse(buf, len, path, seen, &damaged, &first, err, err_len);
	if (ret == 0 && damaged && !quiet) {
		/* A write cut short by a crash (or an edit): the line's CA is
		 * not guarded until its next CRL is taken, and the next write
		 * replaces the line. */
		rv_warnx("crl_state %s: %u damaged line(s), the first line %u (a write cut "
			 "short? an edit?): "
			 "passed over; their CAs' older CRLs are not refused until a newer one is "
			 "taken",
			 path, damaged, first);
	}
out:
	free(buf);
	return ret;
}

struct group_dir {
	char *why;
	size_t why_len;
};

static bool group_dir_at(const char *prefix, const struct stat *st, void *ctx)
{
	struct group_dir *g = ctx;

	if (!S_ISDIR(st->st_mode) || !(st->st_mode & S_IWGRP) || st->st_gid == 0 ||
	    st->st_gid == getegid()) {
		return false;
	}
	snprintf(g->why, g->why_len, "directory %s is writable by group %u", prefix,
		 (unsigned)st->st_gid);
	return true;
}

/* group_dir: is a directory on the way to |path| writable by a group other
 * than root's and this process's? Its members can swap the file (a
 * round-twelve tester: rv_path_stranger looks at users and ACLs). */
static bool group_dir(const char *path, char *why, size_t why_len)
{
	struct group_dir g = { why, why_len };

	return rv_path_walk(path, group_dir_at, &g);
}

/* check_fd: may the open |fd| be used as the CRL state? As the lease
 * file's check (tls/leasefile.c): its contents are checked by read_all.
 * Who else could change it is said unless |quiet|: a user who can empty
 * it makes the next start take an older CRL (round-twelve tester 52). */
static int check_fd(int fd, const char *path, bool quiet, uid_t service, char *err, size_t err_len)
{
	struct stat st;
	char why[256];

	if (rv_state_file_check(fd, "crl_state", path, &st, err, err_len) != 0) {
		return -EINVAL;
	}
	if (quiet) {
		return 0;
	}
	/* The service user's is the units' way (their StateDirectory), and
	 * its process holds the file anyway: README What remains. `chown
	 * root` was said of it, and the unit then could not open it (tester
	 * 55); so of the directory, by -n run as root (round-twenty-six
	 * tester 121). */
	if (rv_uid_stranger(st.st_uid, service)) {
		rv_warnx("crl_state %s belongs to uid %u: that user can empty it, and a restart "
			 "then takes an older CRL (chown it to root or to the service user)",
			 path, (unsigned)st.st_uid);
	} else if ((st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != getegid()) {
		rv_warnx("crl_state %s is writable by group %u: its members can empty it, and a "
			 "restart then takes an older CRL (chmod g-w it)",
			 path, (unsigned)st.st_gid);
	} else if (rv_acl_writer(fd, path, geteuid(), getegid(), why, sizeof(why))) {
		rv_warnx("crl_state %s: its ACL lets %s write it: they can empty it, and a "
			 "restart then takes an older CRL",
			 path, why);
	} else if (rv_path_stranger(path, geteuid() == 0 ? service : geteuid(), why, sizeof(why)) ||
		   group_dir(path, why, sizeof(why))) {
		rv_warnx("crl_state %s: %s: who may write there can swap it for an empty one, and "
			 "a restart "
			 "then takes an older CRL",
			 path, why);
	}
	return 0;
}

/* open_refusing is rv_open_nofollow with its refusals said in |err| and
 * returned as -EINVAL: a symbolic link on the way, a file of another type. */
static int open_refusing(const char *path, int flags, char *err, size_t err_len)
{
	int fd = rv_open_nofollow(path, flags);

	return rv_state_open_refused(fd, "crl_state", path, "", err, err_len) ? -EINVAL : fd;
}

int rv_crlstate_path_refused(const char *path, char *err, size_t err_len)
{
	struct rv_tls_crl_seen seen[RV_TLS_CRL_SEEN];
	uint32_t sum;
	int fd, ret;

	/* Its kind, mode and names first: a file this process may not read
	 * (root's, after the privilege drop) is judged by them alone. */
	ret = rv_state_path_check("crl_state", path, err, err_len);
	if (ret == -EINVAL || ret == -EACCES || ret == -EPERM) {
		return ret;
	}
	fd = open_refusing(path, O_RDONLY, err, err_len);
	if (fd == -EACCES || fd == -EPERM) {
		return fd;
	}
	if (fd < 0) {
		return fd == -EINVAL ? -EINVAL : 0;
	}
	/* What it holds, into a table of its own: the running one's stays. */
	ret = read_all(fd, path, seen, &sum, true, err, err_len);
	close(fd);
	return ret == -EINVAL ? -EINVAL : 0;
}

/* open_file opens |path| with |flags| and reads what it remembers into
 * |before| (read_all): the descriptor; -ENOENT when it does not exist (and
 * |flags| does not make it), -EINVAL for a file refused, -errno. */
static int open_file(const char *path, int flags, bool quiet, uid_t service, char *err,
		     size_t err_len)
{
	int fd = open_refusing(path, flags, err, err_len), ret;
	uint32_t sum;

	if (fd == -EINVAL) {
		return -EINVAL;
	}
	if (fd < 0) {
		snprintf(err, err_len, "crl_state %s cannot be opened: %s", path, strerror(-fd));
		return fd;
	}
	ret = check_fd(fd, path, quiet, service, err, err_len);
	if (!ret) {
		ret = read_all(fd, path, before.seen, &sum, quiet, err, err_len);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* older: is a CRL of |ctx| older than |before| remembers of its signer, or
 * gone while its CA stays (a root's CRL left out brought a revoked
 * intermediate's clients back: round-twelve tester 53)? */
static bool older(struct rv_tls_ctx *ctx, const char *path, char *err, size_t err_len)
{
	char why[256], who[160];

	if (rv_tls_ctx_crl_left_out(ctx, &before, who, sizeof(who))) {
		snprintf(err, err_len,
			 "CRL: it has no CRL of %s, which crl_state %s remembers one of, and that "
			 "CA stays in the CA file: its revocations would be undone; refused. Put "
			 "its CRL back; to go on without it on purpose, remove %s",
			 who, path, path);
		return true;
	}
	if (!rv_tls_crls_older(rv_tls_ctx_crls(ctx), &before, true, why, sizeof(why))) {
		return false;
	}
	/* `pki crl` over a CA directory restored from a backup numbers its
	 * CRLs from the backup's index, without the revocations made since:
	 * not the way out (round-twelve tester 52). */
	snprintf(err, err_len,
		 "CRL: %s (remembered in crl_state %s): an older copy would undo the revocations "
		 "made since; refused. Put the newest CRL back (with the CA directory's index "
		 "it was made from: a CRL made again from an older index lacks those "
		 "revocations); to take this one on purpose, remove %s",
		 why, path, path);
	return true;
}

/* unknown_signers: how many signers of |mine| |before| holds no line of. */
static unsigned unknown_signers(const struct rv_tls_crl_seen mine[RV_TLS_CRL_SEEN])
{
	unsigned n = 0;

	for (size_t i = 0; i < RV_TLS_CRL_SEEN && mine[i].have; i++) {
		bool found = false;

		for (size_t j = 0; !found && j < RV_TLS_CRL_SEEN && before.seen[j].have; j++) {
			found = memcmp(before.seen[j].signer, mine[i].signer,
				       sizeof(mine[i].signer)) == 0;
		}
		n += !found;
	}
	return n;
}

/* full: does the file hold RV_TLS_CRL_SEEN CA keys (of CAs long rotated
 * out, or of other servers sharing it) and no line of one of |ctx|'s? That
 * CA's rollback is not guarded (round-twelve tester 53); said by the start,
 * and by -n (round-twenty-three tester 103: -n said OK). */
static bool full(struct rv_tls_ctx *ctx, const char *path)
{
	if (!before.seen[RV_TLS_CRL_SEEN - 1].have ||
	    unknown_signers(rv_tls_ctx_crls(ctx)->seen) == 0) {
		return false;
	}
	rv_warnx("crl_state %s holds %d CA keys, and this process's CA has no line: its "
		 "older CRL is not refused at a restart (remove the lines of CAs no longer "
		 "used, or the file while the process is stopped)",
		 path, RV_TLS_CRL_SEEN);
	return true;
}

int rv_crlstate_check(const char *path, struct rv_tls_ctx *ctx, bool quiet, uid_t service,
		      char *err, size_t err_len)
{
	int fd = open_file(path, O_RDONLY, quiet, service, err, err_len);

	if (fd == -ENOENT) {
		return 0;
	}
	if (fd < 0) {
		return fd;
	}
	close(fd);
	if (older(ctx, path, err, err_len)) {
		return -EKEYREJECTED;
	}
	if (!quiet) {
		(void)full(ctx, path);
	}
	return 0;
}

/* lock takes |fd|'s lock, waiting a little for another server's save of
 * the same file: true when it has it. Not for ever: a process of the
 * service user holding it must not stop this control thread. */
static bool lock(int fd)
{
	static const struct timespec wait = { 0, 5000000 };

	for (unsigned i = 0; i < LOCK_TRIES; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			return true;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			return false;
		}
		nanosleep(&wait, NULL);
	}
	return false;
}

size_t rv_crlstate_format(const struct rv_tls_crl_seen *seen, char *out)
{
	size_t len = sizeof(HEADER) - 1;

	memcpy(out, HEADER, len);
	for (size_t i = 0; i < RV_TLS_CRL_SEEN && seen[i].have; i++) {
		const struct rv_tls_crl_seen *e = &seen[i];
		char *l = out + len, *p = l;

		hex(p, e->signer, sizeof(e->signer));
		p += KEY_HEX;
		*p++ = ' ';
		if (e->numbered) {
			hex(p, e->number, sizeof(e->number));
		} else {
			memset(p, '-', NUM_HEX);
		}
		p += NUM_HEX;
		p += sprintf(p, " %+020lld %+020lld ", (long long)e->this_update,
			     (long long)e->unnumbered_since);
		if (e->have_md) {
			hex(p, e->crl_md, sizeof(e->crl_md));
		} else {
			memset(p, '-', KEY_HEX);
		}
		p += KEY_HEX;
		*p++ = ' ';
		sprintf(p, "%08" PRIx32, fnv1a(l, (size_t)(p - 1 - l)));
		l[LINE_LEN - 1] = '\n';
		len += LINE_LEN;
	}
	return len;
}

/* holds_path: is |s|'s descriptor the file its path names? */
static bool holds_path(const struct rv_crlstate *s)
{
	struct stat a, b;

	return !s->ro && s->fd >= 0 && fstat(s->fd, &a) == 0 && a.st_nlink > 0 &&
	       stat(s->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* follow_path: does |s|'s descriptor still hold the file its path names?
 * One removed, or replaced by a copy (an editor, a backup put back) while
 * the process ran, took every later save into the old inode, and the next
 * start found the file at the path stale or missing (round-twelve tester
 * 53): the path is opened again, and its lines merged by the save. */
static void follow_path(struct rv_crlstate *s)
{
	char err[256];
	int fd;

	/* Not writable at the start (a read-only or late-mounted state
	 * directory: it was never tried again, round-thirty tester 154), or
	 * another file at the path now: opened anew. */
	if (holds_path(s)) {
		s->lost = false;
		return;
	}
	fd = rv_open_nofollow(s->path, O_RDWR | O_CREAT);
	if (fd == -EINVAL || fd == -ELOOP) {
		/* Said of the path itself (err held stack bytes: round-thirty-
		 * two tester 168). */
		snprintf(err, sizeof(err), "%s",
			 fd == -EINVAL ? "not a regular file"
				       : "a symbolic link, or its path goes through one");
		fd = -EINVAL;
	} else if (fd >= 0 && check_fd(fd, s->path, true, s->service, err, sizeof(err)) != 0) {
		close(fd);
		fd = -EINVAL;
	}
	if (fd < 0 && s->ro) {
		/* Each new cause said once: a file root made that the service
		 * user cannot open was tried without a word (round-thirty
		 * tester 156). */
		if (-fd != s->retry_err) {
			rv_warnx("crl_state %s still cannot be opened for writing by uid %u: %s "
				 "(tried again at each CRL taken and each reload)",
				 s->path, (unsigned)geteuid(), fd == -EINVAL ? err : strerror(-fd));
			s->retry_err = -fd;
		}
		rv_unsaved_note(&s->unsaved, rv_coarse_now_ns(),
				"cannot be opened for writing: %s (tried again as uid %u at "
				"each CRL taken and each reload)",
				fd == -EINVAL ? err : strerror(-fd), (unsigned)s->service);
		return;
	}
	if (fd < 0) {
		if (!s->lost) {
			rv_warnx("crl_state %s was removed or replaced while the process ran, and "
				 "cannot be opened again (%s): the newest CRL is remembered until "
				 "the process ends only",
				 s->path, fd == -EINVAL ? err : strerror(-fd));
		}
		s->lost = true;
		rv_unsaved_note(&s->unsaved, rv_coarse_now_ns(),
				"removed or replaced while the process ran, and cannot be "
				"opened again: %s",
				fd == -EINVAL ? err : strerror(-fd));
		return;
	}
	if (s->ro) {
		rv_info("crl_state %s can be written now: the newest CRL of each CA is kept there "
			"from now on",
			s->path);
	} else {
		rv_info("crl_state %s was removed or replaced while the process ran: written "
			"anew (to take an older CRL on purpose, stop the process before removing "
			"it)",
			s->path);
	}
	if (s->fd >= 0) {
		close(s->fd);
	}
	s->fd = fd;
	s->ro = false;
	s->lost = false;
}

/* not_yet: the file, not writable, lacks what the process holds. */
static void not_yet(struct rv_crlstate *s)
{
	if (!s->failing) {
		rv_warnx("crl_state %s cannot be written yet: a restart would not know the newest "
			 "CRL taken (tried again at each CRL taken and each reload)",
			 s->path);
	}
	s->failing = true;
	if (s->unsaved.since_ns == 0) {
		rv_unsaved_note(&s->unsaved, rv_coarse_now_ns(),
				"cannot be opened for writing (tried again as uid %u at each "
				"CRL taken and each reload)",
				(unsigned)s->service);
	}
}

/* save writes what the file holds with what |ctx| remembers merged in: the
 * lines of the signers of another server sharing the file are kept (each
 * wrote what it had read at its start, and a rollback of the other's CRL
 * was taken: round-twelve tester 52), in their place, so that a write cut
 * short leaves whole lines of the old or the new text, or damaged ones. */
static void save(struct rv_crlstate *s, struct rv_tls_ctx *ctx)
{
	char err[256];
	bool locked;
	uint32_t sum = 0;
	size_t len, off = 0;

	follow_path(s);
	if (s->ro && s->fd < 0) {
		not_yet(s);
		return;
	}
	/* Read-only, it may hold the record already (a restart with the same
	 * CRL in a read-only state directory): saved then, though it cannot
	 * be written (it said unsaved: round-thirty-three tester 175). */
	locked = lock(s->fd);
	if (read_all(s->fd, s->path, before.seen, &sum, true, err, sizeof(err)) != 0) {
		/* Not a CRL state any more (written by hand?): ours replaces it. */
		memset(before.seen, 0, sizeof(before.seen));
		sum = 0;
	}
	rv_tls_crls_add_newer(&before, rv_tls_ctx_crls(ctx));
	if (!s->full) {
		s->full = full(ctx, s->path);
	}
	len = rv_crlstate_format(before.seen, text);
	if (s->ro && fnv1a(text, len) != sum) {
		not_yet(s);
		goto out;
	}
	if (fnv1a(text, len) == sum) {
		/* The file holds it already (a restart with the same CRL): as
		 * good as written (it stayed unsaved once writable: round-
		 * thirty-two tester 168). */
		goto saved;
	}
	errno = 0;
	while (off < len) {
		ssize_t w = pwrite(s->fd, text + off, len - off, (off_t)off);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			goto fail;
		}
		off += (size_t)w;
	}
	if (ftruncate(s->fd, (off_t)len) != 0 || fdatasync(s->fd) != 0) {
		goto fail;
	}
	if (s->failing) {
		rv_info("crl_state %s: written again", s->path);
	}
saved:
	s->failing = false;
	s->gone = false;
	if (!s->lost) {
		s->unsaved.since_ns = 0;
	}
	goto out;
fail:
	if (!s->failing) {
		rv_warnx("crl_state %s cannot be written: %s: a restart would not know the newest "
			 "CRL taken (tried again when the next one is)",
			 s->path, strerror(errno ? errno : EIO));
	}
	rv_unsaved_note(&s->unsaved, rv_coarse_now_ns(),
			"cannot be written: %s (tried again when the next CRL is taken)",
			strerror(errno ? errno : EIO));
	s->failing = true;
out:
	if (locked) {
		flock(s->fd, LOCK_UN);
	}
}

int rv_crlstate_open(struct rv_crlstate **out, const char *path, struct rv_tls_ctx *ctx,
		     uid_t service, char *err, size_t err_len)
{
	struct rv_crlstate *s;
	unsigned unknown;
	bool ro = false;
	int fd, first_err = 0;

	*out = NULL;
	fd = open_file(path, O_RDWR | O_CREAT, false, service, err, err_len);
	if (fd == -EINVAL) {
		return -EINVAL;
	}
	if (fd < 0) {
		/* Read where it cannot be written (a read-only state
		 * directory): the older CRL is still refused; written once it
		 * can be. */
		char rerr[256];

		first_err = -fd;
		rv_warnx("%s: the newest CRL of each CA is remembered in memory until it can be "
			 "written (tried again at each CRL taken and each reload)",
			 err);
		ro = true;
		fd = open_file(path, O_RDONLY, true, service, rerr, sizeof(rerr));
		if (fd == -EINVAL) {
			snprintf(err, err_len, "%s", rerr);
			return -EINVAL;
		}
		fd = fd < 0 ? -1 : fd;
	}
	if (older(ctx, path, err, err_len)) {
		if (fd >= 0) {
			close(fd);
		}
		return -EKEYREJECTED;
	}
	unknown = unknown_signers(rv_tls_ctx_crls(ctx)->seen);
	if (unknown != 0) {
		/* A new file, one emptied, or one of other processes sharing it
		 * (tester 55): what is in place now is taken for the newest,
		 * and that is worth a line. */
		rv_info("crl_state %s remembers no CRL of %u of the CA keys here yet: the ones in "
			"place are taken as the newest",
			path, unknown);
	}
	s = calloc(1, sizeof(*s) + strlen(path) + 1);
	if (!s) {
		if (fd >= 0) {
			close(fd);
		}
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	s->fd = fd;
	s->ro = ro;
	s->retry_err = first_err;
	if (ro) {
		/* Tried again as the service user, whose uid is said (the
		 * start's own was root's: round-thirty-two tester 172). */
		rv_unsaved_note(&s->unsaved, rv_coarse_now_ns(),
				"cannot be opened for writing: %s (tried again as uid %u at "
				"each CRL taken and each reload)",
				strerror(first_err), (unsigned)service);
	}
	s->failing = ro; /* said above */
	s->service = service;
	strcpy(s->path, path);
	/* A reload then refuses an older CRL of a CA the running set lacks
	 * (one added back later, or a first CRL where none ran). */
	rv_tls_crls_carry(rv_tls_ctx_crls(ctx), &before);
	save(s, ctx);
	*out = s;
	return 0;
}

void rv_crlstate_save(struct rv_crlstate *s, struct rv_tls_ctx *ctx)
{
	if (s) {
		save(s, ctx);
	}
}

void rv_crlstate_retry(struct rv_crlstate *s, struct rv_tls_ctx *ctx)
{
	if (s && (s->ro || s->failing)) {
		save(s, ctx);
	}
}

bool rv_crlstate_unsaved(struct rv_crlstate *s, char *why, size_t why_len, uint64_t *since_ns)
{
	if (!s) {
		return false;
	}
	/* The path is looked at now: the file is saved again only at the
	 * next CRL taken or reload (follow_path), and status said saved
	 * with none at its path (round-thirty-two tester 172). */
	if (s->unsaved.since_ns == 0 && !s->ro && !holds_path(s)) {
		s->gone = true;
		rv_unsaved_note(&s->unsaved, rv_coarse_now_ns(),
				"removed or replaced while the process ran: written anew at the "
				"next CRL taken or reload");
	} else if ((s->gone || s->lost) && holds_path(s)) {
		/* The file written on is at its path again (moved back): it
		 * stayed unsaved until the next CRL (round-thirty-three tester
		 * 175). */
		s->gone = false;
		s->lost = false;
		if (!s->failing) {
			s->unsaved.since_ns = 0;
		}
	}
	return rv_unsaved_get(&s->unsaved, why, why_len, since_ns);
}

void rv_crlstate_close(struct rv_crlstate *s)
{
	if (s) {
		if (s->fd >= 0) {
			close(s->fd);
		}
		free(s);
	}
}
