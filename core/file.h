/*
 * file.h — opening a file that must be a regular one (the configuration,
 * certificates and keys, state files), without blocking on one that is
 * not, and who besides root could swap it.
 */
#ifndef RV_CORE_FILE_H
#define RV_CORE_FILE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* rv_errno_short: is |neg_errno| the process's own lack (descriptors,
 * memory), which passes, and not the file's? */
static inline bool rv_errno_short(int neg_errno)
{
	return neg_errno == -EMFILE || neg_errno == -ENFILE || neg_errno == -ENOMEM;
}

/* rv_open_regular opens |path| read-only (O_CLOEXEC) without blocking at
 * the open (a FIFO with no writer would wait for one for ever: `-n`, or a
 * whole control thread at a reload) and checks that it is a regular file.
 * Returns the descriptor, -errno of the open, -EISDIR for a directory or
 * -EINVAL for anything else that is not a regular file (a FIFO, socket or
 * device). */
int rv_open_regular(const char *path);

/* rv_openat2_nofollow opens |path| with |flags| (O_CLOEXEC added; a new
 * file is made 0600) and no symbolic link anywhere on the path (openat2's
 * RESOLVE_NO_SYMLINKS: ELOOP): a directory on the way that the service
 * user may replace by a link chose the directory root wrote in as well (a
 * round-two tester); a kernel without openat2 refuses a link at the end
 * only. The descriptor, or -1 with errno. */
int rv_openat2_nofollow(const char *path, int flags);

/* rv_open_nofollow opens a state file root keeps (the lease journal, the
 * CRL state) as rv_openat2_nofollow does, and only if it is a regular file
 * (or makes a new one): an O_PATH descriptor is looked at first and
 * reopened through /proc, so that a device named by mistake is never
 * opened (some act on an open: a watchdog starts) and the file looked at
 * is the one opened. The descriptor, or -errno: -ELOOP for a symbolic
 * link on the way, -EINVAL for a file of another type. */
int rv_open_nofollow(const char *path, int flags);

/* rv_state_open_refused says in |err| why rv_open_nofollow refused state
 * file |what| at |path| when |fd| is its -ELOOP (a symbolic link on the
 * way; |advice| follows "name the file by its real path", "" for none) or
 * -EINVAL (not a regular file): true then, else false. One wording for the
 * lease journal, the CRL state and the reload's look at either. */
bool rv_state_open_refused(int fd, const char *what, const char *path, const char *advice,
			   char *err, size_t err_len);

/* rv_state_path_check judges the state file at |path| as rv_open_nofollow
 * and rv_state_file_check do, without opening it for reading: for a
 * process that may not read it (root's 0600 file, at the reload of a
 * process that dropped its privileges: a reload told OK what the next
 * start refused, round-fifty-eight tester 243). 0, -EINVAL with why in
 * |err| (|what| names the file: "lease file"), or -errno (-ENOENT: none
 * there). */
int rv_state_path_check(const char *what, const char *path, char *err, size_t err_len);

/* rv_state_file_check: may the open |fd| hold a state file root keeps
 * (the lease journal, the CRL state: |what| names it in |err|)? 0 with its
 * stat in |*st|; -EINVAL with why in |err| for one that is not a regular
 * file, that every user may write (anyone could write into it), or that
 * has a second name (the name the process was given is not the only way
 * to it). Its contents and its owner are the caller's to judge. */
int rv_state_file_check(int fd, const char *what, const char *path, struct stat *st, char *err,
			size_t err_len);

/* rv_path_walk calls |fn| with each prefix of |path| ("/" of an absolute
 * one, then a, a/b, ..., the path itself) that exists, and its lstat, until
 * |fn| returns true; returns whether one did. */
bool rv_path_walk(const char *path,
		  bool (*fn)(const char *prefix, const struct stat *st, void *ctx), void *ctx);

/* rv_path_stranger: may a user other than root and |self| change what
 * |path| leads to? True, with the first reason in |why|, when a directory
 * on the way to |path| or to what it resolves to belongs to such a user,
 * or is writable by every user without the sticky bit, or when a symbolic
 * link on the way belongs to such a user, or a directory's access ACL lets
 * such a user or a group other than root's write it (rv_acl_writer): that
 * user can swap the file
 * (rename a directory of its own, retarget its link) whatever the file's
 * own mode. */
bool rv_path_stranger(const char *path, uid_t self, char *why, size_t why_len);

/* rv_uid_stranger: may a file of |uid| be tampered with by a user other
 * than root, this process's and |service| (the user the process runs as
 * once started, whose state files are its own under the units'
 * StateDirectory)? */
bool rv_uid_stranger(uid_t uid, uid_t service);

/* rv_dir_everyones: is the directory |path| is in writable by every user,
 * with or without the sticky bit, or, with |groups|, by a group other than
 * root's, this process's and |group|? True, with the directory and its
 * mode in |why|. For a socket's path: any such user may bind a socket of
 * their own there whenever the name is free (a stopped process's), or
 * rename the socket aside, and answer in its name (round-twenty-six
 * testers 121, 124); rv_path_stranger passes a sticky directory, where a
 * file that exists cannot be swapped, and looks at no group. */
bool rv_dir_everyones(const char *path, bool groups, gid_t group, char *why, size_t why_len);

/* rv_acl_writer: does the access ACL of the open file |fd| (or, |fd| < 0,
 * of what |path| leads to) let a user other than root and |self|,
 * or a group other than root's and |self_gid|, write it? The mode bits do
 * not show such entries (ls -l shows a '+'). True, with "user N" or "group
 * N" in |who|, or "an ACL it cannot read" when it has one it cannot read
 * whole. False when it has none (or the file system keeps none). */
bool rv_acl_writer(int fd, const char *path, uid_t self, gid_t self_gid, char *who, size_t who_len);

/* rv_flock_holder: the process that holds the flock on |fd|, as
 * /proc/locks names it in this PID namespace; 0: none seen (not visible
 * from here, no /proc, already released). uring/tun.c asks it of a
 * namespace lock, pki/ of a CA's. */
long rv_flock_holder(int fd);

/* struct rv_unsaved: since when a state file (the lease file, crl_state)
 * lacks what the process holds, and why, for status. since_ns 0: it does
 * not (set it to 0 when the file is written). */
struct rv_unsaved {
	uint64_t since_ns;
	char why[256];
};

/* rv_unsaved_note says the file lacks it from |now_ns| on (a time kept
 * from the first such moment) for the reason |fmt| (the newest kept). */
void rv_unsaved_note(struct rv_unsaved *u, uint64_t now_ns, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* rv_unsaved_get: does the file lack it? If so, why in |why| and since
 * when in |*since_ns|. */
bool rv_unsaved_get(const struct rv_unsaved *u, char *why, size_t why_len, uint64_t *since_ns);

#endif /* RV_CORE_FILE_H */
