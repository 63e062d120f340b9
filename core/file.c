/*
 * file.c — opening a regular file without blocking; who may swap a path
 * (see file.h).
 */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

int rv_open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		bool dir = S_ISDIR(st.st_mode);

		close(fd);
		return dir ? -EISDIR : -EINVAL;
	}
	return fd;
}

int rv_openat2_nofollow(const char *path, int flags)
{
	/* openat2 takes no other flag beside O_PATH; and O_PATH with
	 * O_NOFOLLOW would open a link at the end, not refuse it. */
	int extra = (flags & O_PATH) ? 0 : O_NONBLOCK | O_NOCTTY | O_NOFOLLOW;
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | extra),
		.mode = (flags & O_CREAT) ? 0600 : 0,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS) {
		fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | extra, 0600);
	}
	return fd;
}

int rv_open_nofollow(const char *path, int flags)
{
	char proc[64];
	struct stat st = { 0 };
	int pfd, fd;

	pfd = rv_openat2_nofollow(path, O_PATH);
	if (pfd < 0 && errno == ENOENT && (flags & O_CREAT)) {
		fd = rv_openat2_nofollow(path, flags | O_EXCL);
		if (fd >= 0 || errno != EEXIST) {
			return fd < 0 ? -errno : fd;
		}
		pfd = rv_openat2_nofollow(path, O_PATH); /* made meanwhile */
	}
	if (pfd < 0) {
		return -errno;
	}
	if (fstat(pfd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(pfd);
		return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && (errno == ENOENT || errno == EACCES || errno == EPERM)) {
		/* No /proc, or this process's own entries are root's (not
		 * dumpable, started without root: the units): by the path, and
		 * check_fd looks at what was opened. */
		fd = rv_openat2_nofollow(path, flags & ~O_CREAT);
	}
	close(pfd);
	return fd < 0 ? -errno : fd;
}

int rv_state_file_check(int fd, const char *what, const char *path, struct stat *st, char *err,
			size_t err_len)
{
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, err_len, "%s %s is not a regular file", what, path);
		return -EINVAL;
	}
	if (st->st_mode & S_IWOTH) {
		snprintf(err, err_len,
			 "%s %s is writable by every user (mode %04o): refused (chmod o-w it)",
			 what, path, (unsigned)(st->st_mode & 07777));
		return -EINVAL;
	}
	if (st->st_nlink > 1) {
		snprintf(err, err_len, "%s %s has %ju names (hard links): refused, left as it is",
			 what, path, (uintmax_t)st->st_nlink);
		return -EINVAL;
	}
	return 0;
}

bool rv_state_open_refused(int fd, const char *what, const char *path, const char *advice,
			   char *err, size_t err_len)
{
	if (fd == -ELOOP) {
		snprintf(err, err_len,
			 "%s %s is a symbolic link or its path goes through one: refused (name the "
			 "file by its real path%s)",
			 what, path, advice);
		return true;
	}
	if (fd == -EINVAL) {
		snprintf(err, err_len, "%s %s is not a regular file", what, path);
		return true;
	}
	return false;
}

int rv_state_path_check(const char *what, const char *path, char *err, size_t err_len)
{
	struct stat st;
	int fd = rv_openat2_nofollow(path, O_PATH), ret;

	if (fd < 0 && errno == ELOOP) {
		rv_state_open_refused(-ELOOP, what, path, "", err, err_len);
		return -EINVAL;
	}
	if (fd < 0) {
		return -errno;
	}
	ret = rv_state_file_check(fd, what, path, &st, err, err_len);
	close(fd);
	return ret;
}

bool rv_path_walk(const char *path,
		  bool (*fn)(const char *prefix, const struct stat *st, void *ctx), void *ctx)
{
	size_t len = strlen(path);

	for (size_t i = 1; i <= len; i++) {
		char prefix[PATH_MAX];
		struct stat st;

		if (i < len && path[i] != '/') {
			continue;
		}
		snprintf(prefix, sizeof(prefix), "%.*s", (int)i, path);
		if (lstat(prefix, &st) == 0 && fn(prefix, &st, ctx)) {
			return true;
		}
	}
	return false;
}

struct stranger {
	uid_t self;
	char *why;
	size_t why_len;
};

/* The kernel's form of an access ACL (system.posix_acl_access): a version
 * word, then 8-byte entries, little-endian (linux/posix_acl_xattr.h). */
enum {
	ACL_XATTR_VERSION = 2,
	ACL_TAG_USER = 0x02,
	ACL_TAG_GROUP = 0x08,
	ACL_TAG_MASK = 0x10,
	ACL_PERM_WRITE = 0x02,
	ACL_MAX_ENTRIES = 512,
};

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool rv_acl_writer(int fd, const char *path, uid_t self, gid_t self_gid, char *who, size_t who_len)
{
	uint8_t buf[4 + 8 * ACL_MAX_ENTRIES];
	ssize_t len = fd >= 0 ? fgetxattr(fd, "system.posix_acl_access", buf, sizeof(buf))
			      : getxattr(path, "system.posix_acl_access", buf, sizeof(buf));
	unsigned mask = ACL_PERM_WRITE;
	size_t n;

	if (len < 0) {
		if (errno != ERANGE) {
			return false; /* none (ENODATA), or no ACLs here (ENOTSUP) */
		}
		snprintf(who, who_len, "an ACL it cannot read");
		return true;
	}
	if (len < 4 || (len - 4) % 8 != 0 || le32_at(buf) != ACL_XATTR_VERSION) {
		snprintf(who, who_len, "an ACL it cannot read");
		return true;
	}
	n = (size_t)(len - 4) / 8;
	/* The mask bounds what every named entry grants. */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = buf + 4 + 8 * i;

		if ((e[0] | e[1] << 8) == ACL_TAG_MASK) {
			mask = e[2] | e[3] << 8;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = buf + 4 + 8 * i;
		unsigned tag = e[0] | e[1] << 8, perm = e[2] | e[3] << 8;
		uint32_t id = le32_at(e + 4);

		if (!(perm & mask & ACL_PERM_WRITE)) {
			continue;
		}
		if (tag == ACL_TAG_USER && id != 0 && id != (uint32_t)self) {
			snprintf(who, who_len, "user %u", (unsigned)id);
			return true;
		}
		if (tag == ACL_TAG_GROUP && id != 0 && id != (uint32_t)self_gid) {
			snprintf(who, who_len, "group %u", (unsigned)id);
			return true;
		}
	}
	return false;
}

/* stranger_at: does the prefix |st| belong to another user, or is it a
 * directory every user may write without the sticky bit? (The last
 * component matters only as a link.) */
static bool stranger_at(const char *prefix, const struct stat *st, void *ctx)
{
	struct stranger *s = ctx;
	char who[48];

	if (S_ISLNK(st->st_mode) && st->st_uid != 0 && st->st_uid != s->self) {
		snprintf(s->why, s->why_len, "the symbolic link %s belongs to uid %u", prefix,
			 (unsigned)st->st_uid);
		return true;
	}
	if (!S_ISDIR(st->st_mode)) {
		return false;
	}
	if (st->st_uid != 0 && st->st_uid != s->self) {
		snprintf(s->why, s->why_len, "the directory %s belongs to uid %u", prefix,
			 (unsigned)st->st_uid);
		return true;
	}
	if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX)) {
		snprintf(s->why, s->why_len,
			 "the directory %s is writable by every user (mode %04o)", prefix,
			 (unsigned)(st->st_mode & 07777));
		return true;
	}
	/* The mode bits do not show an ACL's writers (round-four tester
	 * 28 gave nobody write on the CA directory so, unsaid). */
	if (rv_acl_writer(-1, prefix, s->self, 0, who, sizeof(who))) {
		snprintf(s->why, s->why_len,
			 "the directory %s has an access ACL that lets %s write it", prefix, who);
		return true;
	}
	return false;
}

bool rv_uid_stranger(uid_t uid, uid_t service)
{
	return uid != 0 && uid != geteuid() && uid != service;
}

bool rv_dir_everyones(const char *path, bool groups, gid_t group, char *why, size_t why_len)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat st;

	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == path) {
		snprintf(dir, sizeof(dir), "/");
	} else if ((size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	} else {
		return false;
	}
	if (stat(dir, &st) != 0) {
		return false;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(why, why_len, "the directory %s is writable by every user (mode %04o)",
			 dir, (unsigned)(st.st_mode & 07777));
		return true;
	}
	if (groups && (st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != getegid() &&
	    st.st_gid != group) {
		snprintf(why, why_len, "the directory %s is writable by group %u (mode %04o)", dir,
			 (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
		return true;
	}
	return false;
}

bool rv_path_stranger(const char *path, uid_t self, char *why, size_t why_len)
{
	struct stranger s = { .self = self, .why = why, .why_len = why_len };
	char real[PATH_MAX];

	if (rv_path_walk(path, stranger_at, &s)) {
		return true;
	}
	if (!realpath(path, real)) {
		/* What it resolves to cannot be followed (a link to a path
		 * longer than PATH_MAX, a loop): that hid another user's
		 * directory from the check (a round-four tester). Said as
		 * unknown, not as safe; a missing file is the caller's to say. */
		if (errno == ENOENT) {
			return false;
		}
		snprintf(why, why_len,
			 "what it resolves to cannot be followed (%s) and may belong to another "
			 "user",
			 strerror(errno));
		return true;
	}
	return strcmp(real, path) != 0 && rv_path_walk(real, stranger_at, &s);
}

void rv_unsaved_note(struct rv_unsaved *u, uint64_t now_ns, const char *fmt, ...)
{
	va_list ap;

	if (u->since_ns == 0) {
		u->since_ns = now_ns | 1; /* 0 means saved, even on a young clock */
	}
	va_start(ap, fmt);
	vsnprintf(u->why, sizeof(u->why), fmt, ap);
	va_end(ap);
}

bool rv_unsaved_get(const struct rv_unsaved *u, char *why, size_t why_len, uint64_t *since_ns)
{
	if (u->since_ns == 0) {
		return false;
	}
	snprintf(why, why_len, "%s", u->why);
	*since_ns = u->since_ns;
	return true;
}

long rv_flock_holder(int fd)
{
	char line[256], type[16];
	unsigned maj, min;
	unsigned long long ino;
	struct stat st;
	long pid, found = 0;
	FILE *f;

	if (fstat(fd, &st) < 0 || (f = fopen("/proc/locks", "re")) == NULL) {
		return 0;
	}
	while (found == 0 && fgets(line, sizeof(line), f)) {
		/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; a waiter's
		 * line has "->" where the type is. */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", type, &pid, &maj, &min,
			   &ino) == 5 &&
		    strcmp(type, "FLOCK") == 0 && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && ino == (unsigned long long)st.st_ino) {
			found = pid > 0 ? pid : 0;
		}
	}
	fclose(f);
	return found;
}
