/*
 * file.c — reading and atomically writing the small files pki/ manages.
 *
 * Writes go through a temporary file in the target directory that mkstemp()
 * creates with mode 0600, so a private key is never readable by anyone else,
 * not even for an instant; the final mode is set with fchmod() before the
 * file gets its real name. link() publishes without overwriting (EEXIST),
 * rename() publishes with overwrite; either way readers (a server reloading
 * its CRL, say) see the old file or the whole new one, never a torn one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/mem.h>

#include "pki/internal.h"

bool pki_missing_parent(const char *path, char *why, size_t len)
{
	char parent[PATH_MAX], part[PATH_MAX];
	struct stat st;
	const char *p;
	size_t n;

	snprintf(parent, sizeof(parent), "%s", path);
	p = dirname(parent);
	if (stat(p, &st) == 0) {
		return false;
	}
	/* Each part of the way in turn, from the first. */
	for (n = 1;; n++) {
		n += strcspn(p + n, "/");
		snprintf(part, sizeof(part), "%.*s", (int)n, p);
		if (stat(part, &st) != 0) {
			int e = errno;

			if (e == ENOENT && lstat(part, &st) == 0 && S_ISLNK(st.st_mode)) {
				snprintf(why, len, "%s is a symbolic link to nothing", part);
			} else {
				snprintf(why, len, "%s: %s", part, strerror(e));
			}
			return true;
		}
		if (p[n] == '\0') {
			break;
		}
	}
	snprintf(why, len, "%s: %s", p, strerror(ENOENT));
	return true;
}

int pki_path(char *out, size_t out_len, const char *dir, const char *base, const char *ext,
	     struct rv_pki_err *err)
{
	int n = snprintf(out, out_len, "%s/%s%s", dir, base, ext);

	if (n < 0 || (size_t)n >= out_len) {
		pki_errf(err, RV_PKI_ERR_USAGE, "path '%s/%s%s' is too long", dir, base, ext);
		return -ENAMETOOLONG;
	}
	return 0;
}

bool pki_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int pki_read_file(uint8_t **out, size_t *out_len, const char *path, enum rv_pki_err_kind kind,
		  const char *what, size_t max, struct rv_pki_err *err)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int fd, ret;

	*out = NULL;
	*out_len = 0;
	fd = open(path,
		  O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block it */
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT) {
			pki_errf(err, kind, "%s: %s not found (check the path)", path, what);
		} else if (ret == -EACCES) {
			pki_errf(err, kind,
				 "%s: cannot read %s: permission denied (run as its owner or fix "
				 "its permissions)",
				 path, what);
		} else {
			pki_errf(err, kind, "%s: cannot open %s: %s", path, what, strerror(-ret));
		}
		return ret;
	}
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		pki_errf(err, kind, "%s: stat: %s", path, strerror(-ret));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		pki_errf(err, kind, "%s: not a regular file (expected a %s)", path, what);
		goto err_close;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > max) {
		ret = -EINVAL;
		pki_errf(err, kind, "%s: size %lld is not that of a %s (1..%zu bytes)", path,
			 (long long)st.st_size, what, max);
		goto err_close;
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL) {
		ret = -ENOMEM;
		pki_errf(err, RV_PKI_ERR_OP, "%s: out of memory", path);
		goto err_close;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			pki_errf(err, kind, "%s: read failed: %s", path, strerror(-ret));
			OPENSSL_cleanse(buf, (size_t)st.st_size);
			free(buf);
			goto err_close;
		}
		off += (size_t)n;
	}
	close(fd);
	*out = buf;
	*out_len = off;
	return 0;

err_close:
	close(fd);
	return ret;
}

static int write_all(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int pki_stage_file(struct pki_staged *st, const char *path, const uint8_t *data, size_t len,
		   mode_t mode, struct rv_pki_err *err)
{
	const char *slash = strrchr(path, '/');
	int fd, n, ret;

	st->path = path;
	if (slash == NULL) {
		n = snprintf(st->tmp, sizeof(st->tmp), ".%s." PKI_TMP_TAG "XXXXXX", path);
	} else {
		n = snprintf(st->tmp, sizeof(st->tmp), "%.*s/.%s." PKI_TMP_TAG "XXXXXX",
			     (int)(slash - path), path, slash + 1);
	}
	if (n < 0 || (size_t)n >= sizeof(st->tmp)) {
		pki_errf(err, RV_PKI_ERR_USAGE, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkostemp(st->tmp, O_CLOEXEC);
	if (fd < 0) {
		char why[PATH_MAX + 64];

		ret = -errno;
		/* --out under a link to nothing or a directory not there:
		 * named, as `pki ca --out` names it (tester 277). */
		if (ret == -ENOENT && pki_missing_parent(path, why, sizeof(why))) {
			pki_errf(err, RV_PKI_ERR_OP,
				 "%s: cannot create a file in its directory: %s", path, why);
			return ret;
		}
		pki_errf(err, RV_PKI_ERR_OP, "%s: cannot create a file in its directory: %s", path,
			 strerror(-ret));
		return ret;
	}
	/* mkstemp gives 0600; fchmod makes the final mode exact whatever the umask. */
	ret = fchmod(fd, mode) != 0 ? -errno : 0;
	if (ret == 0) {
		ret = write_all(fd, data, len);
	}
	if (ret == 0 && fsync(fd) != 0) {
		ret = -errno;
	}
	if (close(fd) != 0 && ret == 0) {
		ret = -errno;
	}
	if (ret != 0) {
		pki_errf(err, RV_PKI_ERR_OP, "%s: write failed: %s", path, strerror(-ret));
		unlink(st->tmp);
	}
	return ret;
}

int pki_publish_file(struct pki_staged *st, bool overwrite, struct rv_pki_err *err)
{
	int ret;

	if (overwrite) {
		if (rename(st->tmp, st->path) != 0) {
			ret = -errno;
			pki_errf(err, RV_PKI_ERR_OP, "%s: cannot replace: %s", st->path,
				 strerror(-ret));
			unlink(st->tmp);
			return ret;
		}
		return 0;
	}
	ret = link(st->tmp, st->path) != 0 ? -errno : 0;
	if (ret == -EEXIST) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "%s already exists; refusing to overwrite it (use --force to "
			 "replace it)",
			 st->path);
	} else if (ret != 0) {
		pki_errf(err, RV_PKI_ERR_OP, "%s: cannot create: %s", st->path, strerror(-ret));
	}
	unlink(st->tmp);
	return ret;
}

void pki_unstage_file(struct pki_staged *st)
{
	unlink(st->tmp);
}

int pki_write_file(const char *path, const uint8_t *data, size_t len, mode_t mode, bool overwrite,
		   struct rv_pki_err *err)
{
	struct pki_staged st;
	int ret = pki_stage_file(&st, path, data, len, mode, err);

	return ret != 0 ? ret : pki_publish_file(&st, overwrite, err);
}
