/*
 * leasefile.c — the lease journal file (see leasefile.h).
 */
#include "tls/leasefile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
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
#include "core/lease.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "uring/holder.h"
#include "uring/tun.h"

enum {
	/* Snapshot when the journal holds this many more lines than twice
	 * the table (a small table is not rewritten on every few events). */
	SNAPSHOT_SLACK = 1024,
	EVENT_BATCH = 256,
	MAX_FILE = 64 * 1024 * 1024,
};

/* After a failed write, the next try (a whole snapshot) waits this long:
 * a full disk is not rewritten ten times a second. */
#define RETRY_NS (5 * RV_NSEC_PER_SEC)
/* The longest the file goes without a write or a touch (touch_ns). */
#define TOUCH_MAX_NS (60 * RV_NSEC_PER_SEC)

struct rv_leasefile {
	struct rv_leases *leases;
	uid_t service;		   /* the service user, whose file is no stranger's */
	int fd;			   /* -1: it could not be opened at the start (try_open) */
	int ro_fd;		   /* meanwhile, read-only with its lock (-1: none) */
	int retry_err;		   /* the errno of try_open's last failure that was said */
	off_t size;		   /* its length after our last write */
	uint64_t checked_ns;	   /* when its path was last looked at (path_check) */
	uint32_t said;		   /* a hash of path_check's last warning (0: none) */
	size_t lines;		   /* lines in the file */
	bool stale;		   /* a write failed: the file lacks events; rewrite it whole */
	uint64_t retry_ns;	   /* not before */
	bool failing;		   /* writes fail (warned once) */
	bool copy_failing;	   /* a snapshot's copy over the beginning failed (warned once) */
	bool lost;		   /* the path names another file, which cannot be taken */
	uint64_t written_ns;	   /* the last write or touch: the file's mtime */
	struct rv_unsaved unsaved; /* changes not in the file (rv_leasefile_unsaved) */
	char path[];
};

/* written notes a write that reached the file. */
static void written(struct rv_leasefile *f, uint64_t now_ns)
{
	f->stale = false;
	f->written_ns = now_ns;
	if (!f->lost) {
		f->unsaved.since_ns = 0; /* written where a restart reads it */
	}
	if (f->failing) {
		f->failing = false;
		rv_info("lease file %s written again", f->path);
	}
}

/* failed notes a write that did not: the file lacks events and is
 * rewritten whole (f->stale) by a flush RETRY_NS later. One warning when
 * writes start failing and a note when they work again (written). */
static void failed(struct rv_leasefile *f, int err, uint64_t now_ns)
{
	f->stale = true;
	f->retry_ns = now_ns + RETRY_NS;
	rv_unsaved_note(&f->unsaved, now_ns, "cannot be written: %s", strerror(err));
	if (!f->failing) {
		f->failing = true;
		rv_warnx("cannot write the lease file %s: %s (tried again every 5 s; clients "
			 "may get other addresses after a restart)",
			 f->path, strerror(err));
	}
}

/* write_all writes |len| bytes of |p| at |at| (-1: appended; the file is
 * opened O_APPEND): how many were written, all of them or fewer with the
 * cause in errno. */
static size_t write_all(int fd, const char *p, size_t len, off_t at)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = at < 0 ? write(fd, p + off, len - off)
				   : pwrite(fd, p + off, len - off, at + (off_t)off);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			if (w == 0) {
				errno = EIO;
			}
			break;
		}
		off += (size_t)w;
	}
	return off;
}

/* whole_lines: the length of |text|'s first |n| bytes cut back to their
 * last whole line. */
static size_t whole_lines(const struct rv_strbuf *text, size_t n)
{
	while (n > 0 && text->p[n - 1] != '\n') {
		n--;
	}
	return n;
}

static void snapshot(struct rv_leasefile *f, uint64_t now_ns);
static bool cut(const struct rv_leasefile *f, const struct stat *st);

/* append appends |text| to the journal. A write that fails part-way (disk
 * full, a file size limit) is cut back to its last whole line, so that no
 * half line is left for the next append to join; the events it lost are
 * written by the next snapshot. A file of another length than written (a
 * writer of its own, a cut) is said and written whole instead: judged once
 * a second alone, the appends between took its length for theirs, and a
 * line appended by hand was kept, read as a lease at the next start
 * (round-fifty tester 223). */
static bool append(struct rv_leasefile *f, const struct rv_strbuf *text, uint64_t now_ns)
{
	struct stat st;
	size_t off;
	int err;

	if (fstat(f->fd, &st) != 0) {
		failed(f, errno, now_ns);
		return false;
	}
	if (cut(f, &st)) {
		snapshot(f, now_ns);
		return !f->stale;
	}
	off = write_all(f->fd, text->p, text->len, -1);
	if (off < text->len) {
		err = errno;
		off = whole_lines(text, off);
		(void)ftruncate(f->fd, st.st_size + (off_t)off);
		f->size = st.st_size + (off_t)off;
		failed(f, err, now_ns);
		return false;
	}
	f->size = st.st_size + (off_t)off;
	written(f, now_ns);
	return true;
}

/* pad writes a comment line of |len| bytes at |at| (-1: appended; a
 * single newline where |len| is 1: an empty line, which the loader skips
 * too). */
static bool pad(int fd, off_t at, size_t len)
{
	char buf[4096];

	memset(buf, ' ', sizeof(buf));
	buf[0] = '#';
	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (n == len) {
			buf[n - 1] = '\n';
		}
		if (write_all(fd, buf, n, at) != n) {
			return false;
		}
		buf[0] = ' ';
		if (at >= 0) {
			at += (off_t)n;
		}
		len -= n;
	}
	return true;
}

/* overwrite writes |text| over the file's beginning and a comment line
 * over the rest of its first |pad_to| bytes (0: none), syncs, and cuts the
 * file to the text. The comment is for a kill between the write and the
 * cut, which would leave the old journal's rest to be read as events after
 * the snapshot: where it cannot be written the cut goes on all the same
 * (the window of a plain write and cut). Synced before the cut: a power
 * loss must not find the file cut and the text not on the disk. The
 * descriptor appends (O_APPEND, which pwrite obeys on Linux): the flag is
 * taken off meanwhile. |*out_done|: the bytes of |text| written. */
static bool overwrite(struct rv_leasefile *f, const struct rv_strbuf *text, off_t pad_to,
		      size_t *out_done)
{
	int flags = fcntl(f->fd, F_GETFL);
	size_t off = 0;
	bool ok = false;
	int err;

	if (flags < 0 || fcntl(f->fd, F_SETFL, flags & ~O_APPEND) != 0) {
		*out_done = 0;
		return false;
	}
	off = write_all(f->fd, text->p, text->len, 0);
	err = errno;
	if (off == text->len) {
		if (pad_to > (off_t)text->len) {
			(void)pad(f->fd, (off_t)text->len, (size_t)(pad_to - (off_t)text->len));
		}
		ok = fdatasync(f->fd) == 0 && ftruncate(f->fd, (off_t)text->len) == 0;
		err = errno;
	}
	(void)fcntl(f->fd, F_SETFL, flags);
	*out_done = off;
	errno = err;
	return ok;
}

/* copied notes whether a snapshot appended whole was copied over the
 * file's beginning: where it was not, the file holds the old journal and
 * the snapshot, both read well, and grows by a table at each snapshot
 * until replace stops appending (said once, and when it works again). */
static void copied(struct rv_leasefile *f, bool ok, int err)
{
	if (ok && f->copy_failing) {
		f->copy_failing = false;
		rv_info("lease file %s: its snapshot copied over its beginning again", f->path);
	} else if (!ok && !f->copy_failing) {
		f->copy_failing = true;
		rv_warnx("lease file %s: its snapshot could not be copied over its beginning (%s): "
			 "kept after the old journal, which the file holds until a copy works "
			 "(tried at each snapshot)",
			 f->path, strerror(err));
	}
}

/* replace makes the snapshot |text| the whole journal without a moment in
 * which the file holds less than one whole table. Truncated first and then
 * written, a disk too full for the snapshot kept only its first part: the
 * leases of the clients away lost, and a kill -9 in between lost them all.
 * The snapshot is appended instead, with its end line (rv_leases_load
 * starts at the last whole one), and only once it is on the disk copied
 * over the file's beginning, which is then cut to it: a crash in between
 * leaves the appended copy whole at the end (it begins no sooner than the
 * copy ends, a comment line between them where the old journal is the
 * shorter: a copy cut short by a kill wrote over nothing of it; and on a
 * line of its own, after a last line a kill cut short). Where the disk has
 * no room for the append, a snapshot no longer than the file is written
 * over it in place (its blocks are the file's already), the old journal's
 * rest made a comment before the cut; a longer one, or a write in place
 * that writes nothing, leaves the file as it is, lacking the newest
 * events, until a try RETRY_NS later. A crash while the write in place
 * runs loses what it had not written yet: only on a disk out of room, at
 * that moment. A file already holding several tables (copies that failed)
 * gets no more: the snapshot goes in place. */
static void replace(struct rv_leasefile *f, const struct rv_strbuf *text, uint64_t now_ns)
{
	/* What a journal holds before its snapshot: twice the table and
	 * SNAPSHOT_SLACK lines (of at most ~300 bytes). */
	const off_t grown = 4 * (off_t)text->len + (1 << 20);
	struct stat st;
	size_t done = 0;
	off_t at;
	char last = '\n';
	bool ok = true;
	int err;

	if (fstat(f->fd, &st) != 0) {
		failed(f, errno, now_ns);
		return;
	}
	if (st.st_size > 0 && st.st_size <= grown && st.st_size <= MAX_FILE) {
		at = st.st_size;
		if (pread(f->fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
			/* Ended, but never whole (RV_LEASES_UNENDED): a kill
			 * before the snapshot's end line leaves it read. */
			static const char unended[] = RV_LEASES_UNENDED;

			ok = write_all(f->fd, unended, sizeof(unended) - 1, -1) ==
			     sizeof(unended) - 1;
			at += (off_t)sizeof(unended) - 1;
		}
		if (ok && at < (off_t)text->len) {
			ok = pad(f->fd, -1, (size_t)((off_t)text->len - at));
		}
		if (ok) {
			done = write_all(f->fd, text->p, text->len, -1);
		}
		err = errno;
		if (ok && done == text->len && fdatasync(f->fd) == 0) {
			struct stat now;

			ok = overwrite(f, text, 0, &done);
			err = errno;
			f->size = !ok && fstat(f->fd, &now) == 0 ? now.st_size : (off_t)text->len;
			copied(f, ok, err);
			written(f, now_ns);
			return;
		}
		if (ok && done == text->len) {
			err = errno; /* fdatasync's */
		}
		(void)ftruncate(f->fd, st.st_size);
		f->size = st.st_size;
		if ((off_t)text->len > st.st_size) {
			failed(f, err, now_ns);
			return;
		}
	}
	if (!overwrite(f, text, st.st_size <= MAX_FILE ? st.st_size : 0, &done)) {
		err = errno;
		if (done > 0) {
			/* Written over in part (a file system that cannot
			 * rewrite its own blocks): the old journal's first part
			 * is gone; whole lines of the new one are kept. */
			done = whole_lines(text, done);
			(void)ftruncate(f->fd, (off_t)done);
			f->size = (off_t)done;
		}
		failed(f, err, now_ns);
		return;
	}
	(void)fdatasync(f->fd);
	f->size = (off_t)text->len;
	copied(f, true, 0);
	written(f, now_ns);
}

static void snapshot(struct rv_leasefile *f, uint64_t now_ns)
{
	struct rv_strbuf text = { 0 };

	rv_leases_save(f->leases, &text, now_ns, (int64_t)time(NULL));
	replace(f, &text, now_ns);
	f->lines = rv_leases_count(f->leases);
	rv_strbuf_free(&text);
}

/* touch_ns: how long the file may go unwritten. Its mtime says until when
 * the leases it leaves live were live (rv_leases_load ends them there after
 * a kill -9): a server whose sessions all stay up writes nothing, and after
 * lease_time without a write a crash would forget every address. So a
 * comment line is appended when nothing else was for this long (a
 * snapshot folds them away). */
static uint64_t touch_ns(const struct rv_leasefile *f)
{
	uint64_t t = rv_leases_lifetime(f->leases) / 4;

	return t < RV_NSEC_PER_SEC ? RV_NSEC_PER_SEC : t > TOUCH_MAX_NS ? TOUCH_MAX_NS : t;
}

static bool path_check(struct rv_leasefile *f, uint64_t now_ns);
static int check_fd(int fd, const char *path, bool quiet, uid_t service, char *err, size_t err_len);
static int open_nofollow(const char *path, int flags, char *err, size_t err_len);

/* take_again opens the file at the path anew, as the start took it
 * (checked quietly, locked): the descriptor, or -1 with the reason in
 * |err| and its cause in |*cause| (an errno; EINVAL: the check refused it,
 * EBUSY: another process holds its lock). A read-only descriptor kept
 * meanwhile lets its lock go first, or ours would refuse the new one. */
static int take_again(struct rv_leasefile *f, char *err, size_t err_len, int *cause)
{
	int fd = open_nofollow(f->path, O_RDWR | O_CREAT | O_APPEND, err, err_len);

	if (fd < 0) {
		*cause = -fd;
		if (fd != -ELOOP && fd != -EINVAL) {
			snprintf(err, err_len, "%s", strerror(-fd));
		}
		return -1;
	}
	if (check_fd(fd, f->path, true, f->service, err, err_len) != 0) {
		*cause = EINVAL;
		close(fd);
		return -1;
	}
	if (f->ro_fd >= 0) {
		close(f->ro_fd);
		f->ro_fd = -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		*cause = EBUSY;
		snprintf(err, err_len,
			 "another process holds the file there now (a second server?)");
		close(fd);
		return -1;
	}
	return fd;
}

/* try_open: a file that could not be opened at the start (a read-only or
 * late-mounted state directory) is tried again every RETRY_NS, and once
 * it opens it gets the whole table: it was never tried again, and the
 * leases went unsaved for the process's life (round-thirty tester 154). */
static void try_open(struct rv_leasefile *f, uint64_t now_ns)
{
	struct rv_lease_event ev[EVENT_BATCH];
	bool overflow;
	char err[256];
	int fd, e;

	/* What the snapshot will hold anyway: not kept meanwhile. */
	while (rv_leases_take_events(f->leases, ev, EVENT_BATCH, &overflow) == EVENT_BATCH) {
	}
	if (now_ns < f->retry_ns) {
		return;
	}
	f->retry_ns = now_ns + RETRY_NS;
	fd = take_again(f, err, sizeof(err), &e);
	if (fd < 0) {
		rv_unsaved_note(&f->unsaved, now_ns,
				"cannot be opened for writing: %s (tried again as uid %u "
				"every 5 s)",
				err, (unsigned)f->service);
		/* Each new cause said once (the start said the first): a
		 * file root made and the service user cannot open kept it
		 * unsaved without a word (round-thirty tester 156). */
		if (e != f->retry_err) {
			rv_warnx("lease file %s still cannot be opened for writing by uid %u: %s "
				 "(tried again every 5 s)",
				 f->path, (unsigned)geteuid(), err);
			f->retry_err = e;
		}
		return;
	}
	f->fd = fd;
	rv_info("lease file %s can be opened now: the leases are saved there from now on", f->path);
	snapshot(f, now_ns);
}

void rv_leasefile_flush(struct rv_leasefile *f, uint64_t now_ns)
{
	struct rv_lease_event ev[EVENT_BATCH];
	struct rv_strbuf text = { 0 };
	int64_t now_wall = (int64_t)time(NULL);
	bool overflow = false, more = true, whole = false;
	size_t n;

	if (!f) {
		return;
	}
	if (f->fd < 0) {
		try_open(f, now_ns);
		if (f->fd < 0) {
			return;
		}
	}
	while (more) {
		n = rv_leases_take_events(f->leases, ev, EVENT_BATCH, &overflow);
		for (size_t i = 0; i < n; i++) {
			rv_leases_journal_line(&text, &ev[i], now_ns, now_wall);
		}
		f->lines += n;
		more = n == EVENT_BATCH;
	}
	/* Before a write, and once a second: is the file still there, and
	 * whole? */
	if (text.len || now_ns - f->checked_ns >= RV_NSEC_PER_SEC) {
		f->checked_ns = now_ns;
		whole = path_check(f, now_ns);
	}
	if (f->stale && now_ns < f->retry_ns && !whole) {
		/* The snapshot that comes will hold these events. */
	} else if (whole || overflow || f->stale ||
		   f->lines > 2 * rv_leases_count(f->leases) + SNAPSHOT_SLACK) {
		snapshot(f, now_ns);
	} else if (text.len) {
		append(f, &text, now_ns);
	} else if (!f->stale && now_ns - f->written_ns >= touch_ns(f)) {
		/* A comment line, which the loader skips: the process may no
		 * longer own the file to set its time, but it can write. */
		static const char live[] = "# live\n";
		struct rv_strbuf line = { 0 };

		rv_strbuf_append(&line, live, sizeof(live) - 1);
		if (append(f, &line, now_ns)) {
			f->lines++;
		}
		rv_strbuf_free(&line);
	}
	rv_strbuf_free(&text);
}

/* say_owner warns that the lease file |path| belongs to |uid|: its owner
 * can read every client's name, steer the grants and lock it whenever it
 * likes (a start then fails): a round-three tester's file in a shared
 * directory was taken unsaid. */
static void say_owner(const char *path, uid_t uid)
{
	rv_warnx("lease file %s belongs to uid %u: that user can read and change the leases and "
		 "keep the server from starting (chown root it, in a directory of the service's "
		 "own)",
		 path, (unsigned)uid);
}

/* check_fd is rv_leasefile_check on the open file |fd|. */
static int check_fd(int fd, const char *path, bool quiet, uid_t service, char *err, size_t err_len)
{
	static const char header[] = RV_LEASES_HEADER;
	char head[sizeof(header) - 1];
	struct stat st;
	ssize_t n;

	/* Every user may not write it: anyone could write leases into it,
	 * or lock it (a hostile tester's 0666 file was taken). */
	if (rv_state_file_check(fd, "lease file", path, &st, err, err_len) != 0) {
		return -EINVAL;
	}
	/* A journal begins with its header; a snapshot cut short by a crash
	 * may hold a part of it, or nothing. */
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0) {
		/* A file that cannot be read is no journal either (a write-only
		 * sysfs attribute passed, and would have been written: a
		 * round-three tester). */
		snprintf(err, err_len,
			 "lease file %s cannot be read (%s): refused, left as it is (does "
			 "lease_file name another file?)",
			 path, strerror(errno));
		return -EINVAL;
	}
	if (n > 0 && memcmp(head, header, (size_t)n) != 0) {
		snprintf(err, err_len,
			 "lease file %s holds something else (not a ringvpn lease journal): "
			 "refused, left as it is (does lease_file name another file?)",
			 path);
		return -EINVAL;
	}
	/* The service user's is the units' way (their StateDirectory), and
	 * its process holds the file anyway: `chown root` was said of it, and
	 * the unit then could not open it (round-twenty-six tester 121). A
	 * file refused above has its owner said by rv_leasefile_check. */
	if (rv_uid_stranger(st.st_uid, service) && !quiet) {
		say_owner(path, st.st_uid);
	}
	return 0;
}

/* say_never_writable warns, at a start that could not open the file for
 * writing, when the service user, which tries it again, never can: the
 * file (|rfd|, or with none the directory it would be made in) is not
 * its to write. A root-started server made its file root's, 0600; after
 * a read-only spell it was tried again, in vain, until a restart, said
 * only then (round-sixty-four tester 259). The service process has one
 * group, |service_gid| (cli/privdrop.c): another group's write is none of
 * its (a directory of group adm went unsaid: tester 263). */
static void say_never_writable(const char *path, int rfd, uid_t service, gid_t service_gid)
{
	char dir[PATH_MAX];
	struct stat st;
	bool is_file = rfd >= 0;

	if (geteuid() != 0 || service == 0) {
		return; /* the retries are this user's own */
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if (is_file ? fstat(rfd, &st) != 0 : stat(dirname(dir), &st) != 0) {
		return;
	}
	if ((st.st_uid == service && (st.st_mode & S_IWUSR)) ||
	    (st.st_uid != service && st.st_gid == service_gid && (st.st_mode & S_IWGRP)) ||
	    (st.st_mode & S_IWOTH)) {
		return;
	}
	rv_warnx("lease file %s: uid %u (gid %u), which tries it again, may not %s (owner uid %u, "
		 "gid %u, mode %04o): the leases stay unsaved until a restart, unless it is "
		 "given uid %u",
		 path, (unsigned)service, (unsigned)service_gid,
		 is_file ? "write it" : "make it in its directory", (unsigned)st.st_uid,
		 (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777), (unsigned)service);
}

/* open_nofollow is rv_open_nofollow with the refusals said in |err|: -ELOOP
 * for a link, -EINVAL for a file of another type. */
static int open_nofollow(const char *path, int flags, char *err, size_t err_len)
{
	int fd = rv_open_nofollow(path, flags);

	rv_state_open_refused(fd, "lease file", path,
			      "; a link in a directory the service user may write would let it "
			      "choose what root rewrites",
			      err, err_len);
	return fd;
}

/* say_once warns |line| unless it was the last one said (path_check runs
 * each second: a file it cannot take was said each second, for ever,
 * and a reason that changed was not said: a hostile tester). */
static void say_once(struct rv_leasefile *f, const char *line)
{
	uint32_t h = 2166136261u;

	for (const char *p = line; *p; p++) {
		h = (h ^ (uint8_t)*p) * 16777619u;
	}
	h |= 1; /* never 0: "nothing said" */
	if (h != f->said) {
		f->said = h;
		rv_warnx("%s", line);
	}
}

/* cut: is the open file (|st|) shorter than what was written, or longer
 * (another writer: a line appended by hand, without its newline, took the
 * next event into it, and both were lost: round-fifty tester 222)? Said. */
static bool cut(const struct rv_leasefile *f, const struct stat *st)
{
	if (st->st_size == f->size) {
		return false;
	}
	if (st->st_size > f->size) {
		rv_warnx("lease file %s grew to %lld bytes from the %lld written while the server "
			 "ran (another writer?): written whole again",
			 f->path, (long long)st->st_size, (long long)f->size);
	} else {
		rv_warnx("lease file %s was cut (%lld bytes of %lld) while the server ran: "
			 "written whole again",
			 f->path, (long long)st->st_size, (long long)f->size);
	}
	return true;
}

/* path_check: must the journal be written whole now? When its path no
 * longer names the open file (deleted, renamed away, replaced: the leases
 * went on into a file no restart reads, unsaid, and a second server's
 * guard, the lock, was on the old file: a hostile tester) the file is made
 * anew there, if it can be, or said once; when the file is shorter than
 * what was written (emptied by `: >` or logrotate's copytruncate: the
 * events went on without the journal's header, and every later start
 * refused the file, exit 3: a hostile tester), it is rewritten. */
static bool path_check(struct rv_leasefile *f, uint64_t now_ns)
{
	char err[PATH_MAX + 256];
	struct stat open_st, path_st;
	int fd, cause;

	if (fstat(f->fd, &open_st) != 0) {
		return false;
	}
	/* The path as a start opens it: no link anywhere on the way (one
	 * put there while the server ran went unseen, and the next start
	 * refused the file, exit 3: a hostile tester). */
	fd = rv_openat2_nofollow(f->path, O_PATH);
	if (fd < 0 && errno != ENOENT && errno != ELOOP) {
		/* Cannot look (a directory on the way the service user may
		 * not search, opened before the drop): nothing to say. */
		return cut(f, &open_st);
	}
	if (fd >= 0) {
		bool same = fstat(fd, &path_st) == 0 && path_st.st_dev == open_st.st_dev &&
			    path_st.st_ino == open_st.st_ino;

		close(fd);
		if (same) {
			if (open_st.st_nlink > 1) {
				snprintf(err, sizeof(err),
					 "lease file %s has %ju names now (a hard link): the next "
					 "start refuses it (remove the other name)",
					 f->path, (uintmax_t)open_st.st_nlink);
				say_once(f, err);
			} else if (open_st.st_mode & S_IWOTH) {
				/* Refused at the next start: said now, not first by
				 * a restart that fails (round-nine tester 43). */
				snprintf(err, sizeof(err),
					 "lease file %s is writable by every user now (mode "
					 "%04o): the next start refuses it (chmod o-w it)",
					 f->path, (unsigned)(open_st.st_mode & 07777));
				say_once(f, err);
			} else {
				f->said = 0;
			}
			if (f->lost) {
				/* The file written on is at its path again (moved
				 * back): saved (it stayed unsaved for the process's
				 * life: round-thirty-two tester 172). */
				f->lost = false;
				if (!f->stale) {
					f->unsaved.since_ns = 0;
				}
			}
			return cut(f, &open_st);
		}
	}
	fd = take_again(f, err, sizeof(err), &cause);
	if (fd < 0) {
		char line[sizeof(err) + PATH_MAX + 200];

		snprintf(line, sizeof(line),
			 "lease file %s was deleted or replaced while the server ran, and cannot "
			 "be "
			 "made anew: %s; the leases go on into the old file, which a restart does "
			 "not read (tried again each second)",
			 f->path, err);
		say_once(f, line);
		/* Written on into the old file: no save for status (it said
		 * saved: round-thirty-two tester 168). */
		f->lost = true;
		rv_unsaved_note(&f->unsaved, now_ns,
				"deleted or replaced while the server ran, and cannot be made "
				"anew (%s): the leases go into the old file, which a restart "
				"does not read",
				err);
		return false;
	}
	close(f->fd);
	f->fd = fd;
	f->said = 0;
	f->lost = false;
	rv_warnx("lease file %s was deleted or replaced while the server ran: made anew there",
		 f->path);
	/* Taken once, its owner said once (check_fd kept quiet: it runs each
	 * second while the file cannot be taken). */
	if (fstat(fd, &path_st) == 0 && rv_uid_stranger(path_st.st_uid, f->service)) {
		rv_warnx("lease file %s belongs to uid %u: that user can read and change the "
			 "leases "
			 "and keep the server from starting",
			 f->path, (unsigned)path_st.st_uid);
	}
	return true;
}

int rv_leasefile_check(const char *path, uid_t service, bool quiet, char *err, size_t err_len)
{
	int fd = open_nofollow(path, O_RDONLY, err, err_len), ret;
	struct stat st;

	if (fd == -ENOENT) {
		return 0;
	}
	if (fd == -ELOOP || fd == -EINVAL) {
		return -EINVAL;
	}
	if (fd < 0) {
		/* One this process may not read (root's, at a reload after
		 * the privilege drop) is judged by its kind, mode and names. */
		if ((fd == -EACCES || fd == -EPERM) &&
		    rv_state_path_check("lease file", path, err, err_len) == -EINVAL) {
			return -EINVAL;
		}
		snprintf(err, err_len, "cannot open the lease file %s: %s", path, strerror(-fd));
		return fd;
	}
	ret = check_fd(fd, path, quiet, service, err, err_len);
	/* A file refused: its owner may be why (it holds something else,
	 * every user may write it), said by -n and the start alike (quiet,
	 * the start left it to the open, which a refused file never reaches:
	 * testers 255, 257). */
	if (ret == -EINVAL && fstat(fd, &st) == 0 && rv_uid_stranger(st.st_uid, service)) {
		say_owner(path, st.st_uid);
	}
	close(fd);
	return ret;
}

int rv_leasefile_open(struct rv_leasefile **out, struct rv_leases *leases, const char *path,
		      uid_t service, gid_t service_gid, uint64_t now_ns, char *err, size_t err_len)
{
	struct rv_strbuf text = { .max = MAX_FILE };
	size_t len = strlen(path), bad = 0;
	struct rv_leasefile *f;
	struct stat st;
	/* On the main thread's stack at the start: 64 KiB here crashed a start
	 * under a 64 KiB stack limit (round-sixty-eight tester 303). */
	char buf[4096], comm[32], who[64] = "";
	ssize_t n;
	bool ro = false, going, hidden;
	long holder;
	int loaded, ret;

	*out = NULL;
	f = calloc(1, sizeof(*f) + len + 1);
	if (!f) {
		rv_warnx("lease file %s: out of memory (addresses are remembered in memory only)",
			 path);
		return 0;
	}
	memcpy(f->path, path, len + 1);
	f->ro_fd = -1;
	f->leases = leases;
	f->service = service;
	/* O_NONBLOCK: a FIFO named by mistake must not hang the start. */
	f->fd = open_nofollow(path, O_RDWR | O_CREAT | O_APPEND, err, err_len);
	if (f->fd == -ELOOP || f->fd == -EINVAL) {
		free(f);
		return -EINVAL;
	}
	if (f->fd < 0) {
		/* Read where it cannot be written (a read-only state
		 * directory): the addresses come back all the same. */
		int rfd = open_nofollow(path, O_RDONLY, err, err_len);

		rv_warn(-f->fd,
			"cannot open the lease file %s for writing (changes are remembered in "
			"memory only until it can be: tried again every 5 s)",
			path);
		f->retry_ns = now_ns + RETRY_NS;
		f->retry_err = -f->fd; /* said */
		/* Tried again as the service user, whose uid is said (the
		 * start's own was root's: round-thirty-two tester 172). */
		rv_unsaved_note(&f->unsaved, now_ns,
				"cannot be opened for writing: %s (tried again as uid %u "
				"every 5 s)",
				strerror(-f->fd), (unsigned)service);
		say_never_writable(path, rfd, service, service_gid);
		f->fd = rfd;
		ro = rfd >= 0;
		if (!ro) {
			f->fd = -1;
			*out = f;
			return 0;
		}
	}
	ret = check_fd(f->fd, path, false, service, err, err_len);
	if (ret) {
		goto fail;
	}
	ret = rv_flock_wait(f->fd, RV_LEASEFILE_LOCK_WAIT_MS, &holder, &going);
	if (ret) {
		/* The holder named, as a TUN's or a port's is (it was "another
		 * process": round-sixty-nine tester 311). */
		hidden = holder > 0 && rv_pid_hidden(holder);
		if (holder > 0) {
			rv_proc_comm(holder, comm, sizeof(comm));
			snprintf(who, sizeof(who), ": process %ld (%s)", holder,
				 hidden ? "hidden by /proc's hidepid" : comm);
		}
		if (ret != -EBUSY) {
			snprintf(err, err_len, "cannot lock the lease file %s", path);
		} else if (going) {
			/* A predecessor too slow to stop, not a second server
			 * (round-sixty-nine tester 317). */
			snprintf(err, err_len,
				 "lease file %s is in use by another process%s, still stopping "
				 "after %u ms",
				 path, who, (unsigned)RV_LEASEFILE_LOCK_WAIT_MS);
		} else if (hidden) {
			/* Whether it stops cannot be seen from here, its locks
			 * not saying so (round-seventy tester 318: under
			 * the units' ProtectProc=invisible a SIGTERM pending
			 * cannot be read). */
			snprintf(err, err_len,
				 "lease file %s is in use by process %ld, hidden from this one "
				 "(/proc mounted with hidepid, as the units' ProtectProc=invisible "
				 "does): a second server on the same lease_file, or one still "
				 "stopping after %u ms?",
				 path, holder, (unsigned)RV_LEASEFILE_LOCK_WAIT_MS);
		} else if (fstat(f->fd, &st) == 0 && rv_uid_stranger(st.st_uid, service)) {
			snprintf(err, err_len,
				 "lease file %s is in use by another process%s (a second server "
				 "on the same lease_file, or a process of uid %u, its owner?)",
				 path, who, (unsigned)st.st_uid);
		} else {
			snprintf(err, err_len,
				 "lease file %s is in use by another process%s (a second server "
				 "on the same lease_file?)",
				 path, who);
		}
		goto fail;
	}
	while (!text.truncated && (n = read(f->fd, buf, sizeof(buf))) > 0) {
		rv_strbuf_append(&text, buf, (size_t)n);
	}
	if (fstat(f->fd, &st) != 0) {
		st.st_mtime = time(NULL);
		st.st_size = 0;
	}
	loaded = rv_leases_load(leases, rv_strbuf_str(&text), text.len, now_ns, (int64_t)time(NULL),
				(int64_t)st.st_mtime, &bad);
	if (text.truncated) {
		/* Its newest events are at the end: said as lost, not as
		 * malformed (a round-three tester's 100 MiB journal). The
		 * snapshot below writes what was read. */
		rv_warnx("lease file %s: %lld bytes, over the %d MiB read: the leases of its "
			 "first %d MiB are remembered, its later events lost (%d lease(s))",
			 path, (long long)st.st_size, MAX_FILE >> 20, MAX_FILE >> 20, loaded);
	} else {
		rv_info("lease file %s: %d address lease(s) remembered", path, loaded);
	}
	if (bad && !text.truncated) {
		/* Said, with how many: the snapshot below writes the table
		 * without them (a file of CRLF lines lost every lease at
		 * info level: round-forty-eight tester 220). */
		rv_warnx("lease file %s: %zu line(s) could not be read and are left out (cut "
			 "short by a crash, or edited by hand: one lease a line, \"G|R ADDRESS "
			 "END NAME\", each ending in a newline alone)",
			 path, bad);
	}
	if (rv_leases_forgotten(leases) != 0) {
		/* A file of more leases than the table holds: dropped
		 * without a word, and the snapshot below rewrote the file
		 * without them (round-thirty tester 155). */
		rv_warnx("lease file %s: %llu lease(s) a client may still come back for did not "
			 "fit the table (4 x max_clients + 64 addresses: a lowered max_clients?) "
			 "and are forgotten",
			 path, (unsigned long long)rv_leases_forgotten(leases));
	}
	rv_strbuf_free(&text);
	if (ro) {
		/* Kept, with its lock, so that a second server on the file is
		 * still refused (it was let in, and its leases overwritten
		 * later: round-thirty tester 156). */
		f->ro_fd = f->fd;
		f->fd = -1;
	} else {
		snapshot(f, now_ns);
	}
	*out = f;
	return 0;
fail:
	close(f->fd);
	free(f);
	return ret;
}

bool rv_leasefile_unsaved(const struct rv_leasefile *f, char *why, size_t why_len,
			  uint64_t *since_ns)
{
	return f && rv_unsaved_get(&f->unsaved, why, why_len, since_ns);
}

void rv_leasefile_close(struct rv_leasefile *f, uint64_t now_ns)
{
	if (!f) {
		return;
	}
	f->retry_ns = 0; /* a last try at exit */
	rv_leasefile_flush(f, now_ns);
	if (f->fd >= 0) {
		close(f->fd);
	}
	if (f->ro_fd >= 0) {
		close(f->ro_fd);
	}
	free(f);
}
