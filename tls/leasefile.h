/*
 * leasefile.h — the server's address leases (core/lease.h) kept in a file,
 * so that clients get their previous addresses back after a restart.
 *
 * The file is a journal: every flush appends the grants and releases since
 * the last one (so a kill -9 loses at most one flush interval), and when
 * the file has grown to twice the table it is rewritten as a snapshot. It
 * is opened once at start, before the privilege drop, and rewritten in
 * place, so the directory need not be writable for the service user: the
 * snapshot is appended, synced, then copied over the file's beginning and
 * the file cut to it (the loader starts at the last whole snapshot), so no
 * crash and no full disk leaves less than one whole table in it.
 *
 * Called from the control thread only. Write errors are logged
 * (rate-limited) and otherwise ignored: leases still live in memory.
 */
#ifndef RV_TLS_LEASEFILE_H
#define RV_TLS_LEASEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rv_leases;
struct rv_leasefile;

/* rv_leasefile_check tells whether |path| may be taken as the lease
 * journal: 0 when it may (or does not exist yet), else -EINVAL with why in
 * |err|: a symbolic link (the directory may be the service user's, and
 * the file is opened as root: a link planted there made root truncate and
 * rewrite whatever it named), not a regular file, a file with other names
 * (hard links), or one that holds something else (a lease_file naming the
 * configuration or the key by a slip rewrote it as a journal). A file of
 * another user than root, this process's and |service| (the user the
 * process runs as once started, whose file it is under the units'
 * StateDirectory) is said unless |quiet| (the start: rv_leasefile_open,
 * right after, says it once), and for a file refused whatever |quiet|. */
int rv_leasefile_check(const char *path, uid_t service, bool quiet, char *err, size_t err_len);

/* rv_leasefile_open opens (creating it, 0600) |path|, takes its lock,
 * replays it into |leases| and rewrites it as a snapshot into |*out|.
 * Returns 0, with |*out| NULL when the file cannot be opened (logged:
 * leases are then kept in memory only); or, touching nothing, -EINVAL when
 * rv_leasefile_check refuses it and -EBUSY when another process holds its lock
 * after RV_LEASEFILE_LOCK_WAIT_MS (a second server on the same file),
 * with the reason in |err|, or -EINTR when SIGINT or SIGTERM came during
 * that wait. |leases| must outlive |*out|. |service| and |service_gid|:
 * the user and only group the process runs as once started. */
enum { RV_LEASEFILE_LOCK_WAIT_MS = 3000 };
int rv_leasefile_open(struct rv_leasefile **out, struct rv_leases *leases, const char *path,
		      uid_t service, gid_t service_gid, uint64_t now_ns, char *err, size_t err_len);

/* rv_leasefile_flush appends the lease events since the last flush, or
 * rewrites the file as a snapshot when the journal has grown too long or
 * events were lost. NULL is a no-op. */
void rv_leasefile_flush(struct rv_leasefile *f, uint64_t now_ns);

/* rv_leasefile_unsaved: are changes missing from the file now (it could not
 * be opened for writing, or a write failed)? If so, why in |why| and since
 * when (the loop's clock) in |*since_ns|. False for NULL |f|. */
bool rv_leasefile_unsaved(const struct rv_leasefile *f, char *why, size_t why_len,
			  uint64_t *since_ns);

/* rv_leasefile_close flushes, closes and frees |f|. NULL is a no-op. */
void rv_leasefile_close(struct rv_leasefile *f, uint64_t now_ns);

#endif /* RV_TLS_LEASEFILE_H */
