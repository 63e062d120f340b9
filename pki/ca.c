/*
 * ca.c — the self-signed CA: creation and loading.
 */
#include "pki/ca.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/file.h"
#include "pki/crl.h"
#include "pki/internal.h"
#include "pki/pem.h"

/* owner_bad: is |st| owned by someone other than root or the caller? */
static bool owner_bad(const struct stat *st)
{
	return st->st_uid != 0 && st->st_uid != geteuid();
}

/* pki_not_ours refuses |path| when it, or a symbolic link it is, belongs to
 * someone other than root or the caller, or users other than its owner may
 * write to it (everyone, or a group other than root's and the caller's),
 * or, |secret|, every user may read it, or, a directory, another user's
 * directory or link on the way could swap it: whoever could put a CA key and
 * certificate there (a CA directory made first by another user in /tmp, a
 * link to a directory of that user's choosing) would own every
 * certificate issued from it, and a key the caller signs with must be the
 * caller's (as ssh refuses a key file that others may change). A path
 * that does not exist passes (nothing there to trust). */
int pki_not_ours(const char *path, const char *what, bool secret, struct rv_pki_err *err)
{
	struct stat st;
	char why[PATH_MAX + 64], who[48];

	if (lstat(path, &st) != 0) {
		return 0;
	}
	if (S_ISLNK(st.st_mode) && owner_bad(&st)) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "%s: the %s is a symbolic link of uid %u, not of root or this user: "
			 "refused (whoever owns it chooses the CA)",
			 path, what, (unsigned)st.st_uid);
		return -EPERM;
	}
	if (stat(path, &st) != 0) {
		return 0;
	}
	if (owner_bad(&st)) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "%s: the %s belongs to uid %u, not to root or this user: refused "
			 "(whoever owns it %s)",
			 path, what, (unsigned)st.st_uid,
			 strcmp(what, "revocation index") == 0
				 ? "can revoke any certificate at the next `pki crl`"
				 : "can replace the CA");
		return -EPERM;
	}
	/* The files too: one that others may rewrite in place (its owner
	 * still root) is as good as theirs (a round-three tester wrote another
	 * CA's key and certificate into 0666 files, and pki signed with it). */
	if ((st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != getegid())) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "%s: the %s is writable by %s (mode %04o): refused (chmod go-w it%s)",
			 path, what,
			 (st.st_mode & S_IWOTH) ? "every user" : "a group other than root's",
			 (unsigned)(st.st_mode & 07777),
			 S_ISDIR(st.st_mode) ? ", or use a directory of your own" : "");
		return -EPERM;
	}
	/* The same through an ACL, which the mode bits do not show (a
	 * round-four tester had nobody rename files in the CA directory so). */
	if (rv_acl_writer(-1, path, geteuid(), getegid(), who, sizeof(who))) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "%s: the %s has an access ACL that lets %s write it: refused (getfacl "
			 "it; setfacl -b removes the ACL)",
			 path, what, who);
		return -EPERM;
	}
	if (secret && (st.st_mode & S_IROTH)) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "%s: the %s is readable by every user (mode %04o): anyone may have "
			 "copied it and can issue certificates this CA's peers trust; refused "
			 "(chmod 600 it, and consider making a new CA)",
			 path, what, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (rv_path_stranger(path, geteuid(), why, sizeof(why))) {
		/* Another user's directory on the way can swap this one
		 * between the checks and the reads (renameat2 exchange: a
		 * round-three tester had pki sign with their CA so). The key
		 * and certificate too: a link of root's own in the CA
		 * directory led through a stranger's directory unchecked
		 * (tester 28; a limitation until now). */
		pki_errf(err, RV_PKI_ERR_OP, "%s: %s, who can swap the %s: refused", path, why,
			 what);
		return -EPERM;
	}
	return 0;
}

/* unslashed copies |path| into |out| (|len| bytes) without its final
 * slashes: through a final slash stat and lstat follow a link the name
 * itself is. */
static void unslashed(char *out, size_t len, const char *path)
{
	size_t n;

	snprintf(out, len, "%s", path);
	for (n = strlen(out); n > 1 && out[n - 1] == '/'; n--) {
		out[n - 1] = '\0';
	}
}

/* make_dir creates the CA directory 0755 whatever the umask (under 027 or
 * 077 the service, which reads ca.crt and ca.crl there after dropping
 * root and watches the directory for a new CRL, could do neither); ca.key
 * is kept private by its own mode (0600). An existing directory must be
 * the caller's (pki_not_ours). */
static int make_dir(const char *dir, struct rv_pki_err *err)
{
	struct stat st;
	char parent[PATH_MAX], why[PATH_MAX + 64];
	int ret;

	snprintf(parent, sizeof(parent), "%s", dir);
	if (rv_path_stranger(dirname(parent), geteuid(), why, sizeof(why))) {
		pki_errf(err, RV_PKI_ERR_OP, "%s: %s, who could swap the CA directory: refused",
			 dir, why);
		return -EPERM;
	}
	if (mkdir(dir, 0755) == 0) {
		if (chmod(dir, 0755) != 0) {
			ret = -errno;
			pki_errf(err, RV_PKI_ERR_OP, "%s: cannot set the CA directory's mode: %s",
				 dir, strerror(-ret));
			return ret;
		}
		return 0;
	}
	ret = -errno;
	if (ret == -EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		return pki_not_ours(dir, "CA directory", false, err);
	}
	if (ret == -EEXIST) {
		/* The link itself, without a final slash (through which lstat
		 * follows it): a link to nothing was told to create its parent
		 * (tester 277), and with the slash "File exists" (tester
		 * 278). */
		int e;

		unslashed(parent, sizeof(parent), dir);
		e = stat(parent, &st) != 0 ? errno : 0;
		if (lstat(parent, &st) == 0 && S_ISLNK(st.st_mode) && e != 0) {
			pki_errf(err, RV_PKI_ERR_OP, "%s: cannot create the CA directory: it is %s",
				 dir,
				 e == ELOOP ? "a loop of symbolic links"
					    : "a symbolic link to nothing");
			return ret;
		}
	}
	if (ret == -ENOENT && pki_missing_parent(dir, why, sizeof(why))) {
		/* A link to nothing on the way: "create its parent directory
		 * first" sent mkdir onto the link (tester 274). */
		pki_errf(err, RV_PKI_ERR_OP, "%s: cannot create the CA directory: %s%s", dir, why,
			 strstr(why, "symbolic link") ? ""
						      : " (create its parent directory first)");
		return ret;
	}
	pki_errf(err, RV_PKI_ERR_OP, "%s: cannot create the CA directory: %s%s", dir,
		 strerror(-ret), ret == -ENOENT ? " (create its parent directory first)" : "");
	return ret;
}

static int build_ca_cert(X509 **out, EVP_PKEY *key, const char *name, int days,
			 struct rv_pki_err *err)
{
	static const struct pki_ext exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	static const char what[] = "the CA certificate";
	X509 *x;
	int ret;

	*out = NULL;
	/* Backdate an hour so a peer whose clock is slightly behind accepts it. */
	ret = pki_cert_new(&x, name, NULL, key, -3600, (int64_t)days * 86400, what, err);
	if (ret != 0) {
		return ret;
	}
	ret = pki_add_exts(x, x, exts, sizeof(exts) / sizeof(exts[0]), err);
	if (ret == 0) {
		ret = pki_cert_sign(x, key, what, err);
	}
	if (ret != 0) {
		X509_free(x);
		return ret;
	}
	*out = x;
	return 0;
}

/* ca_name_ok: is |s| 1..64 characters (ub-common-name counts characters)
 * of well-formed UTF-8 with no control character (C0, DEL, C1)? The name
 * is every certificate's issuer, printed by every tool: invalid UTF-8 was
 * refused by the encoder only after the directory was made, and an escape
 * sequence went into the subject. */
static bool ca_name_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;

	while (*p != '\0') {
		uint32_t cp;
		int more;

		if (*p < 0x80) {
			cp = *p;
			more = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			more = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			more = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			more = 3;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80) {
				return false;
			}
			cp = cp << 6 | (*p & 0x3f);
		}
		/* Overlong forms, surrogates, past U+10FFFF; controls; the
		 * invisible formatting characters (zero-width, line and
		 * paragraph separators, bidirectional overrides: U+202E shows
		 * the issuer reversed) and the BOM. */
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp > 0x10ffff || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff) {
			return false;
		}
		chars++;
	}
	/* Not blank, nor blank-edged (a name that shows as nothing, or as
	 * another's). */
	return chars >= 1 && chars <= 64 && s[0] != ' ' && s[strlen(s) - 1] != ' ';
}

/* try_lock: does this process get the flock on |fd| without waiting?
 * Returns 0, -EWOULDBLOCK (held) or another -errno. */
static int try_lock(int fd)
{
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

/* lock_fd takes the flock on |fd| (the lock of CA |dir|), saying to
 * |waiter| (may be NULL) first what it waits for when it must wait.
 * Returns 0 or -errno. */
static int lock_fd(int fd, const char *dir, const struct rv_pki_waiter *waiter)
{
	char msg[PATH_MAX + 96], pid[32] = "";
	long holder = 0;
	int ret;

	/* Said before the wait, which lasts as long as the other command
	 * does (it was silent, for ever if that one hung: round-seventy
	 * tester 322). A holder that let go between the try and the look at
	 * /proc/locks is named by none: tried again before a word, else a
	 * wait that did not happen was said, without its PID (tester 324). */
	for (int tries = 0;; tries++) {
		ret = try_lock(fd);
		if (ret != -EWOULDBLOCK) {
			return ret;
		}
		if (tries > 0 && (holder > 0 || tries == 3)) {
			break; /* held still: by a process /proc/locks names, or hides */
		}
		holder = rv_flock_holder(fd);
	}
	if (waiter != NULL && waiter->fn != NULL) {
		if (holder > 0) {
			snprintf(pid, sizeof(pid), " (PID %ld)", holder);
		}
		snprintf(msg, sizeof(msg),
			 "waiting for the lock of CA %s: another pki command%s is running", dir,
			 pid);
		waiter->fn(waiter->arg, msg);
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

int pki_ca_lock(const char *dir, const struct rv_pki_waiter *waiter, bool sign_only,
		struct rv_pki_err *err)
{
	char path[PATH_MAX];
	int fd, ret;

	ret = pki_path(path, sizeof(path), dir, ".lock", "", err);
	if (ret != 0) {
		return ret;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	ret = fd < 0 ? -errno : 0;
	if (fd < 0 && sign_only && (ret == -EACCES || ret == -EPERM || ret == -EROFS)) {
		/* A CA this user may only read (read-only media, root's
		 * directory with a key its group reads): issuing writes
		 * nothing there. An flock needs no write access, so a lock
		 * file it may open is taken all the same; without one, the CA
		 * is used as it was before issuing took the lock. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && (errno == ENOENT || errno == EACCES || errno == EPERM)) {
			return -ENOLCK;
		}
		ret = fd < 0 ? -errno : 0;
	}
	if (fd < 0) {
		pki_errf(err, RV_PKI_ERR_OP, "%s: cannot open the CA's lock: %s", path,
			 strerror(-ret));
		return ret;
	}
	ret = lock_fd(fd, dir, waiter);
	if (ret != 0) {
		pki_errf(err, RV_PKI_ERR_OP, "%s: cannot lock the CA: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

/* The mark `pki ca` leaves in the CA directory while it writes the CA's
 * files, one by one: found by a command holding the CA's lock (which `pki
 * ca` holds while it writes), the CA there is part old, part new. */
#define CUT_SHORT_MARK ".ca-replacing"

/* cut_short_mark writes the mark in |dir|. Returns 0 or -errno with |err|
 * set. */
static int cut_short_mark(const char *dir, struct rv_pki_err *err)
{
	static const char text[] = "ringvpn pki ca is writing this CA's files\n";
	char path[PATH_MAX];
	int ret = pki_path(path, sizeof(path), dir, CUT_SHORT_MARK, "", err);

	return ret != 0 ? ret
			: pki_write_file(path, (const uint8_t *)text, sizeof(text) - 1, 0644, true,
					 err);
}

/* cut_short_unmark removes the mark from |dir|, if there. */
static void cut_short_unmark(const char *dir)
{
	char path[PATH_MAX];

	if (pki_path(path, sizeof(path), dir, CUT_SHORT_MARK, "", NULL) == 0) {
		unlink(path);
	}
}

/* cut_short: does |dir| hold the mark? */
static bool cut_short(const char *dir)
{
	char path[PATH_MAX];

	return pki_path(path, sizeof(path), dir, CUT_SHORT_MARK, "", NULL) == 0 && pki_exists(path);
}

/* cut_short_note adds to |err|, when |dir| holds the mark, that a `pki
 * ca` there was cut short and how to finish it. */
static void cut_short_note(const char *dir, struct rv_pki_err *err)
{
	if (cut_short(dir)) {
		pki_note(err,
			 "a 'ringvpn pki ca' on %s was cut short while it wrote the CA's files "
			 "(%s/%s, which it removes when done, is still there): run 'ringvpn pki "
			 "ca --out %s --force' again (with the --name it had) to finish the "
			 "replacement",
			 dir, dir, CUT_SHORT_MARK, dir);
	}
}

/* cut_short_refuse: |ret| of loading the CA of |dir| (0 or -errno, |err|
 * set), found holding its lock, which `pki ca` holds while its mark is
 * there: with the mark, that `pki ca` was cut short, and the CA is
 * refused, said so. Before its key's rename the old CA is still whole,
 * after it part of the new one is there: the words fit either (the old
 * CA, whole, was said "not whole": round-seventy-one tester 328). */
static int cut_short_refuse(const char *dir, int ret, struct rv_pki_err *err)
{
	if (!cut_short(dir)) {
		return ret;
	}
	if (ret == 0) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "the CA in %s may be the old one or a part of a new one", dir);
		ret = -EINVAL;
	}
	if (err != NULL && strstr(err->msg, CUT_SHORT_MARK) == NULL) {
		cut_short_note(dir, err);
	}
	return ret;
}

/* The CA's own files, whose temporaries (pki_stage_file's ".NAME."
 * PKI_TMP_TAG "XXXXXX") a command killed while it wrote one leaves in the
 * CA directory. */
static const char *const ca_files[] = {
	RV_PKI_CA_KEY, RV_PKI_CA_CRT, RV_PKI_CA_INDEX, RV_PKI_CA_CRL, CUT_SHORT_MARK,
};

/* stale_temp: is |name| a temporary of one of ca_files: a dot, its name, a
 * dot, the tag and mkstemp's six letters or digits? Nothing else is taken
 * (".ca.key.backup" was: round-seventy-one tester 333). */
static bool stale_temp(const char *name)
{
	static const char tag[] = PKI_TMP_TAG;

	for (size_t i = 0; i < sizeof(ca_files) / sizeof(ca_files[0]); i++) {
		size_t n = strlen(ca_files[i]);
		const char *x;

		/* In this order: each test reads no further than the last
		 * one found the name to reach. */
		if (name[0] != '.' || strncmp(name + 1, ca_files[i], n) != 0 ||
		    name[n + 1] != '.' || strncmp(name + n + 2, tag, sizeof(tag) - 1) != 0 ||
		    strlen(name + n + 2 + sizeof(tag) - 1) != 6) {
			continue;
		}
		x = name + n + 2 + sizeof(tag) - 1;
		while (*x != '\0' && ((*x >= 'a' && *x <= 'z') || (*x >= 'A' && *x <= 'Z') ||
				      (*x >= '0' && *x <= '9'))) {
			x++;
		}
		if (*x == '\0') {
			return true;
		}
	}
	return false;
}

/* sweep_temps removes from |dir| the temporaries of the CA's files that a
 * command killed while it wrote them left, and says to |waiter| how many:
 * a `pki ca --force` killed left them for good, a whole CA key (0600) among
 * them (round-seventy-one tester 328). Called holding the CA's lock to
 * write, which every command writing those files holds while its
 * temporaries exist: none is in use. */
static void sweep_temps(const char *dir, const struct rv_pki_waiter *waiter)
{
	char msg[PATH_MAX + 160];
	struct dirent *de;
	struct stat st;
	int removed = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		/* mkstemp makes a regular file: a link or a directory of
		 * such a name is someone else's. */
		/* One this user's mkstemp made, of one link: not another
		 * user's file, nor a name linked elsewhere (tester 333). */
		if (stale_temp(de->d_name) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_nlink == 1 &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0) {
			removed++;
		}
	}
	closedir(d);
	if (removed > 0 && waiter != NULL && waiter->fn != NULL) {
		snprintf(msg, sizeof(msg),
			 "removed %d temporary file(s) of the CA's files from %s, left by a pki "
			 "command killed while it wrote them",
			 removed, dir);
		waiter->fn(waiter->arg, msg);
	}
}

int rv_pki_ca_create(const char *dir, const struct rv_pki_ca_opts *opts, struct rv_pki_err *err)
{
	const char *name = opts->name != NULL ? opts->name : RV_PKI_CA_NAME_DEFAULT;
	int days = opts->days != 0 ? opts->days : RV_PKI_CA_DAYS_DEFAULT;
	char crt_path[PATH_MAX], key_path[PATH_MAX], idx_path[PATH_MAX];
	struct rv_pki_ca ca = { 0 };
	int lock, ret;

	if (!ca_name_ok(name)) {
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "CA name must be 1..64 characters of UTF-8, none a control or "
			 "invisible formatting character, not beginning or ending with a "
			 "blank");
		return -EINVAL;
	}
	if (days < 1) {
		pki_errf(err, RV_PKI_ERR_USAGE, "CA validity must be at least 1 day (got %d)",
			 days);
		return -EINVAL;
	}
	if ((ret = pki_path(crt_path, sizeof(crt_path), dir, RV_PKI_CA_CRT, "", err)) != 0 ||
	    (ret = pki_path(key_path, sizeof(key_path), dir, RV_PKI_CA_KEY, "", err)) != 0 ||
	    (ret = pki_path(idx_path, sizeof(idx_path), dir, RV_PKI_CA_INDEX, "", err)) != 0 ||
	    (ret = pki_path(ca.dir, sizeof(ca.dir), dir, "", "", err)) != 0) {
		return ret;
	}
	ca.dir[strlen(ca.dir) - 1] = '\0'; /* drop the trailing '/' */
	ret = make_dir(dir, err);
	if (ret != 0) {
		return ret;
	}
	/* The lock the other commands hold while they read, sign with and
	 * rewrite the CA's files: a revocation running beside a --force wrote
	 * the old CA's serial into the new CA's index (round-seventy tester
	 * 322). */
	lock = pki_ca_lock(dir, &opts->waiter, false, err);
	if (lock < 0) {
		return lock;
	}
	/* Any part of a CA, not only its key: a CA whose key is kept offline
	 * (the usual practice) was replaced whole without --force, its
	 * revocation index with it (a hostile tester). */
	const char *had = pki_exists(key_path)	 ? key_path
			  : pki_exists(crt_path) ? crt_path
			  : pki_exists(idx_path) ? idx_path
						 : NULL;

	if (!opts->force && had) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "%s already exists; refusing to replace a CA (use --force to replace "
			 "it, which invalidates every certificate it issued)",
			 had);
		cut_short_note(dir, err);
		ret = -EEXIST;
		goto out;
	}
	sweep_temps(dir, &opts->waiter);
	/* On failure the key goes if this run wrote it (a --force'd CA's
	 * certificate beside a new key would sign what nothing verifies), and
	 * the certificate and index only if they are new: the writes replace
	 * by rename, so one there before is still the old CA's. */
	bool wrote_key = false, new_crt = !pki_exists(crt_path), new_idx = !pki_exists(idx_path);

	ret = pki_new_key(&ca.key, err);
	if (ret != 0) {
		goto out;
	}
	ret = build_ca_cert(&ca.cert, ca.key, name, days, err);
	if (ret != 0) {
		goto out;
	}
	/* Marked before the first rename, unmarked after the last: killed
	 * between the key's and the certificate's, every command said only
	 * that the key does not match the certificate (round-seventy tester
	 * 324). */
	ret = cut_short_mark(dir, err);
	if (ret != 0) {
		goto out;
	}
	ret = rv_pem_write_key(key_path, ca.key, opts->force, err);
	if (ret != 0) {
		goto out;
	}
	wrote_key = true;
	ret = rv_pem_write_cert(crt_path, ca.cert, true, err);
	if (ret == 0) {
		/* A new CA starts with no revocations and an empty, valid CRL. */
		ret = pki_write_file(idx_path, (const uint8_t *)"", 0, 0644, true, err);
	}
	if (ret == 0) {
		char crl_path[PATH_MAX];

		/* A replaced CA starts a new CRL series: the old ca.crl was signed
		 * by the old key and its numbering means nothing to the new CA. */
		ret = pki_path(crl_path, sizeof(crl_path), dir, RV_PKI_CA_CRL, "", err);
		if (ret == 0 && unlink(crl_path) != 0 && errno != ENOENT) {
			ret = -errno;
			pki_errf(err, RV_PKI_ERR_OP, "%s: cannot remove the old CRL: %s", crl_path,
				 strerror(-ret));
		}
	}
	if (ret == 0) {
		ret = pki_crl_create(&ca, err);
	}
	if (ret != 0) {
		/* A certificate and an index left without their key (a full
		 * disk) made a directory that looked like a CA and failed at
		 * the next `pki client`, "private key not found". */
		if (wrote_key) {
			unlink(key_path);
		}
		if (new_crt) {
			unlink(crt_path);
		}
		if (new_idx) {
			unlink(idx_path);
		}
	}
	/* A replacement that failed after the new key went leaves no CA
	 * whole: the mark stays, for the advice to run it again. */
	if (ret == 0 || !wrote_key || had == NULL) {
		cut_short_unmark(dir);
	}
out:
	X509_free(ca.cert);
	EVP_PKEY_free(ca.key);
	close(lock);
	return ret;
}

int rv_pki_ca_dir_check(const char *dir, struct rv_pki_err *err)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int ret, e;

	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		return 0;
	}
	/* The CA's certificate file, which a server's `ca` takes, given with
	 * or without a final slash ("ca.crt/" fails ENOTDIR): "not found,
	 * create one with pki ca --out FILE", which fails, or `verify`'s
	 * "FILE/ca.crt: Not a directory", exit 4 as if the certificate were
	 * refused (round-sixty-four testers 259, 263); the directory named
	 * is the file's own, through a link (it was the link's: tester 267). */
	unslashed(path, sizeof(path), dir);
	ret = stat(path, &st);
	e = errno;
	if (ret == 0 && S_ISREG(st.st_mode) && realpath(path, real) != NULL) {
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s: not a directory: --ca names the CA directory (`ringvpn pki ca "
			 "--out`'s), %s here if this is its certificate",
			 dir, dirname(real));
		return -ENOENT;
	}
	if (ret == 0) {
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s: not a directory (--ca names the CA directory, `ringvpn pki ca "
			 "--out`'s)",
			 dir);
		return -ENOENT;
	}
	/* A file on the way (ca.crt/sub), a link to nothing, a loop: no CA
	 * to make there either (each was told to make one: testers 264,
	 * 267). */
	if (e == ENOTDIR) {
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s: a part of the path is a file, not a directory (--ca names the CA "
			 "directory, `ringvpn pki ca --out`'s)",
			 dir);
	} else if (e == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s: a symbolic link to nothing (--ca names the CA directory, `ringvpn "
			 "pki ca --out`'s)",
			 dir);
	} else if (e != ENOENT) {
		pki_errf(err, RV_PKI_ERR_CERT, "%s: the CA directory cannot be looked at: %s", dir,
			 strerror(e));
	} else if (pki_missing_parent(path, real, sizeof(real))) {
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s: CA directory not found, nor the directory it would be made in: %s "
			 "(--ca names the CA directory, `ringvpn pki ca --out`'s)",
			 dir, real);
	} else {
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s: CA directory not found (create one with 'ringvpn pki ca --out %s')",
			 dir, dir);
	}
	return -ENOENT;
}

/* ca_load reads |ca|'s certificate and key from its directory and checks
 * them. Returns 0 or -errno with |err| set. */
static int ca_load(struct rv_pki_ca *ca, struct rv_pki_err *err)
{
	char crt_path[PATH_MAX], key_path[PATH_MAX];
	int ret;

	if ((ret = pki_path(crt_path, sizeof(crt_path), ca->dir, RV_PKI_CA_CRT, "", err)) != 0 ||
	    (ret = pki_path(key_path, sizeof(key_path), ca->dir, RV_PKI_CA_KEY, "", err)) != 0) {
		return ret;
	}
	if ((ret = pki_not_ours(key_path, "CA key", true, err)) != 0 ||
	    (ret = pki_not_ours(crt_path, "CA certificate", false, err)) != 0) {
		return ret;
	}
	ret = rv_pem_read_cert(&ca->cert, crt_path, err);
	if (ret != 0) {
		return ret;
	}
	if (X509_check_ca(ca->cert) == 0) {
		pki_errf(err, RV_PKI_ERR_CERT, "%s: not a CA certificate (basicConstraints)",
			 crt_path);
		return -EINVAL;
	}
	ret = rv_pem_read_key(&ca->key, key_path, err);
	if (ret != 0) {
		return ret;
	}
	if (!X509_check_private_key(ca->cert, ca->key)) {
		pki_err_ssl(err, RV_PKI_ERR_KEY, "%s does not belong to %s", key_path, crt_path);
		/* What a `pki ca --force` killed between its renames leaves:
		 * said so, if its mark tells, else as a possibility (it was
		 * the mismatch alone: round-seventy tester 324). */
		if (cut_short(ca->dir)) {
			cut_short_note(ca->dir, err);
		} else {
			pki_note(err,
				 "if a 'ringvpn pki ca --force' on %s was cut short, running it "
				 "again finishes the replacement",
				 ca->dir);
		}
		return -EINVAL;
	}
	return 0;
}

/* ca_open is rv_pki_ca_open, and rv_pki_ca_open_locked with |locked|. */
static int ca_open(struct rv_pki_ca **out, const char *dir, bool locked, bool writes,
		   const struct rv_pki_waiter *waiter, struct rv_pki_err *err)
{
	struct rv_pki_ca *ca;
	int ret;

	*out = NULL;
	if ((ret = rv_pki_ca_dir_check(dir, err)) != 0) {
		return ret;
	}
	if ((ret = pki_not_ours(dir, "CA directory", false, err)) != 0) {
		return ret;
	}
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL) {
		pki_errf(err, RV_PKI_ERR_OP, "out of memory");
		return -ENOMEM;
	}
	ca->lock = -1;
	snprintf(ca->dir, sizeof(ca->dir), "%s", dir);
	if (locked) {
		/* Before the CA is read: read first, it was the old one of a
		 * `pki ca --force` that held the lock meanwhile (round-
		 * seventy tester 324). */
		ret = pki_ca_lock(dir, waiter, !writes, err);
		if (ret < 0 && ret != -ENOLCK) {
			goto err_free;
		}
		ca->lock = ret >= 0 ? ret : -1;
		if (ca->lock >= 0 && writes) {
			sweep_temps(dir, waiter);
		}
	}
	ret = ca_load(ca, err);
	if (ca->lock >= 0) {
		ret = cut_short_refuse(dir, ret, err);
	}
	if (ret != 0) {
		goto err_free;
	}
	*out = ca;
	return 0;

err_free:
	rv_pki_ca_free(ca);
	return ret;
}

int rv_pki_ca_open(struct rv_pki_ca **out, const char *dir, struct rv_pki_err *err)
{
	return ca_open(out, dir, false, false, NULL, err);
}

int rv_pki_ca_open_locked(struct rv_pki_ca **out, const char *dir, bool writes,
			  const struct rv_pki_waiter *waiter, struct rv_pki_err *err)
{
	return ca_open(out, dir, true, writes, waiter, err);
}

int rv_pki_ca_lock_whole(const char *dir, const struct rv_pki_waiter *waiter,
			 struct rv_pki_err *err)
{
	int lock = pki_ca_lock(dir, waiter, true, err);

	/* Without the lock too (a user who may not make or open the lock
	 * file: root's, 0600): the mark may be read by anyone, and a verify
	 * by such a user said "OK" of a CA cut short (round-seventy-one
	 * tester 333). */
	if (lock < 0 && lock != -ENOLCK) {
		return lock;
	}
	if (cut_short_refuse(dir, 0, err) != 0) {
		if (lock >= 0) {
			close(lock);
		}
		return -EINVAL;
	}
	return lock;
}

void rv_pki_ca_free(struct rv_pki_ca *ca)
{
	if (ca == NULL) {
		return;
	}
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key); /* BoringSSL wipes key material when freeing it */
	if (ca->lock >= 0) {
		close(ca->lock);
	}
	free(ca);
}

const char *rv_pki_ca_dir(const struct rv_pki_ca *ca)
{
	return ca->dir;
}

void rv_pki_ca_set_waiter(struct rv_pki_ca *ca, const struct rv_pki_waiter *waiter)
{
	ca->waiter = *waiter;
}
