/*
 * pem.c — reading the PEM files of the trust and identity (see pem.h):
 * opened as regular files of a bounded size, the trust files' owners and
 * modes judged, every BEGIN line counted so that a block the reader
 * passes over or stops at is refused, not silently dropped.
 */
#include "tls/pem.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/file.h"
#include "core/log.h"

FILE *rv_tls_pem_open(const char *what, const char *path, char *err, size_t err_len, int *out_errno)
{
	struct stat st;
	FILE *f;
	int fd;

	if (!path || !path[0]) {
		snprintf(err, err_len,
			 "no %s file configured: set it in the config file or on the "
			 "command line",
			 what);
		*out_errno = -EINVAL;
		return NULL;
	}
	fd = rv_open_regular(path);
	if (fd == -EISDIR || fd == -EINVAL) {
		*out_errno = -EINVAL;
		snprintf(err, err_len, "%s file %s is not a regular file (%s)", what, path,
			 fd == -EISDIR ? "a directory" : "a FIFO, socket or device");
		return NULL;
	}
	if (fd < 0) {
		*out_errno = fd;
		snprintf(err, err_len, "cannot open %s file %s: %s%s", what, path, strerror(-fd),
			 rv_errno_short(fd) ? "" : " (check the path and its permissions)");
		return NULL;
	}
	/* As `pki verify` (PKI_MAX_LIST): a bigger file (a wrong path, a
	 * runaway tool, a sparse file) held the control thread for seconds and
	 * hundreds of MB while it was read (round-four testers). */
	if (fstat(fd, &st) == 0 && st.st_size > RV_TLS_PEM_MAX) {
		*out_errno = -EFBIG;
		snprintf(err, err_len,
			 "%s file %s: %lld bytes, more than such a file may have here (%d MiB, "
			 "about a million revocations in a CRL): refused",
			 what, path, (long long)st.st_size, RV_TLS_PEM_MAX >> 20);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		*out_errno = -errno;
		snprintf(err, err_len, "cannot read %s file %s: %s", what, path, strerror(errno));
		close(fd);
	}
	return f;
}

/* The CA and CRL files decide who this end lets in.
 * One that every user may write is refused (anyone could add a CA of their
 * own, and with it any name, or take a revocation out); one that another
 * user owns or a group other than root's may write, or that such a user
 * could swap on the way to it, is said (an operator's slip a hostile
 * tester made: a CA file of mode 0666 took a stranger's CA appended to it,
 * unsaid, at the next change). */
bool rv_tls_pem_trust_refused(FILE *f, const char *what, const char *path, char *err,
			      size_t err_len)
{
	struct stat st;
	char why[PATH_MAX + 64], who[48];

	if (fstat(fileno(f), &st) != 0) {
		return false;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, err_len,
			 "%s file %s is writable by every user (mode %04o): anyone could "
			 "decide who this end trusts; refused (chmod o-w it)",
			 what, path, (unsigned)(st.st_mode & 07777));
		return true;
	}
	/* Root's alone: the service's own user counted as safe too after the
	 * drop, and every process of a shared user could then rewrite who
	 * this end trusts, unsaid at each reload (a round-four tester). */
	if (st.st_uid != 0) {
		rv_warnx("%s file %s belongs to uid %u%s: that user decides who this end trusts "
			 "(chown root it)",
			 what, path, (unsigned)st.st_uid,
			 st.st_uid == geteuid() ? ", the one this process runs as" : "");
	} else if (rv_acl_writer(fileno(f), path, 0, 0, who, sizeof(who))) {
		/* Mode 0644 and root's, and yet another user's to write (a
		 * round-four tester). Before the group's bits, which are the
		 * ACL's mask where it has one: the writer was said to be the
		 * file's group, which could only read (a round-five tester). */
		rv_warnx("%s file %s has an access ACL that lets %s write it: they decide who "
			 "this end trusts (getfacl it; setfacl -b removes the ACL)",
			 what, path, who);
	} else if ((st.st_mode & S_IWGRP) && st.st_gid != 0) {
		rv_warnx("%s file %s is writable by group %u (mode %04o): its members decide who "
			 "this end trusts (chmod g-w it)",
			 what, path, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	} else if (rv_path_stranger(path, 0, why, sizeof(why))) {
		rv_warnx("%s file %s: %s, who can swap it for a file of their own", what, path,
			 why);
	}
	return false;
}

/* pem_ended: did the PEM reader stop at the end of the file ("no start
 * line"), not at a block it could not read? A damaged or cut second block
 * was taken for the end: the CAs or CRLs after it were left out without a
 * word, and the sessions of their CA ended (a hostile tester; a CRL file
 * rewritten in place by a slow writer does it too). Clears the errors. */
static bool pem_ended(void)
{
	uint32_t e = ERR_peek_last_error();
	bool ended = e == 0 ||
		     (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);

	ERR_clear_error();
	return ended;
}

/* Counts the BEGIN lines of |f| whose type ends in |type| (a
 * BEGIN anywhere: after a byte-order mark, other text, a NUL or the END of
 * a block with no newline between, which the PEM reader passes over
 * without a word, dropping the block), and says whether any block is a
 * private key (indented or commented out too): a CA or CRL file goes to
 * every peer (`cat ca.crt ca.key` is an easy slip). The file is read in
 * chunks that overlap by the longest BEGIN line looked at, not by line: a
 * BEGIN past a line's 511th byte or after a NUL was missed (a round-three
 * tester). Leaves |f| at its start. */
unsigned rv_tls_pem_scan(FILE *f, const char *type, bool *key)
{
	enum { TAIL = 96 }; /* "-----BEGIN " + a label + "-----" */
	static const char begin[] = "-----BEGIN ", dashes[] = "-----", pk[] = "PRIVATE KEY";
	char buf[16384 + TAIL];
	size_t have = 0, tlen = strlen(type);
	unsigned n = 0;
	bool eof = false;

	*key = false;
	rewind(f);
	while (!eof) {
		size_t got = fread(buf + have, 1, sizeof(buf) - have, f), limit;
		const char *b;

		have += got;
		eof = got == 0;
		/* BEGINs that start in the last TAIL bytes wait for the next
		 * chunk, which begins with them. */
		limit = eof ? have : (have > TAIL ? have - TAIL : 0);
		for (b = memmem(buf, have, begin, sizeof(begin) - 1);
		     b && (size_t)(b - buf) < limit;
		     b = memmem(b + 1, have - (size_t)(b + 1 - buf), begin, sizeof(begin) - 1)) {
			const char *label = b + sizeof(begin) - 1;
			size_t room = (size_t)(buf + have - label);
			const char *end = memmem(label, room < TAIL ? room : TAIL, dashes, 5);
			size_t llen = end ? (size_t)(end - label) : 0;

			*key = *key || (llen >= sizeof(pk) - 1 &&
					memcmp(end - (sizeof(pk) - 1), pk, sizeof(pk) - 1) == 0);
			n += llen >= tlen && memcmp(end - tlen, type, tlen) == 0;
		}
		memmove(buf, buf + limit, have - limit);
		have -= limit;
	}
	rewind(f);
	return n;
}

/* Says why a PEM file read |n| blocks where its scan found
 * |begins| (0: it read them all): the reader stopped at a damaged block,
 * or passed over one it could not see (a BEGIN that does not start its
 * line, another form such as TRUSTED CERTIFICATE). */
int rv_tls_pem_read_all(const char *what, const char *kind, const char *path, unsigned n,
			unsigned begins, char *err, size_t err_len)
{
	if (!pem_ended() && n > 0) {
		snprintf(err, err_len,
			 "%s file %s: the block after %s %u is damaged or cut short (refused "
			 "whole, not read up to it)",
			 what, path, kind, n);
		return -EINVAL;
	}
	if (n > 0 && n < begins) {
		snprintf(err, err_len,
			 "%s file %s: %u of its %u %s blocks could not be read (a BEGIN line that "
			 "does not start its line: a byte-order mark, text before it, a file "
			 "joined without its final newline; or another form, such as TRUSTED "
			 "CERTIFICATE): refused whole",
			 what, path, begins - n, begins, kind);
		return -EINVAL;
	}
	return 0;
}
