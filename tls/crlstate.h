/*
 * crlstate.h — the newest CRL a server or client took of each signing CA
 * key, kept in a file (crl_state) across restarts: a restart (a crash, an
 * upgrade, a reboot) that finds an older CRL in place, or none of a CA
 * that stays, refuses it, as a reload does, instead of undoing the
 * revocations made since.
 *
 * One line per signer: the SHA-256 of its key, the highest cRLNumber, the
 * latest thisUpdate taken, the SHA-256 of the CRL of that number, and a
 * checksum of the line. The file is opened once at start, before the
 * privilege drop (again where its path comes to name another file), and
 * rewritten in place (write, truncate, fdatasync) under its lock whenever a
 * new CRL is taken, with the lines of other processes sharing it merged in
 * their place; numbers only grow, so a write cut short by a crash leaves
 * whole lines of the old or the new record, or a damaged line, which is
 * said and passed over (that CA's rollback is not guarded until its next
 * CRL).
 *
 * Called from the control thread only.
 */
#ifndef RV_TLS_CRLSTATE_H
#define RV_TLS_CRLSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rv_crlstate;
struct rv_tls_ctx;
struct rv_tls_crl_seen;

/* rv_crlstate_check tells whether the start may take |path| as the CRL
 * state and |ctx|'s CRLs with it, touching nothing: 0 when it may (or the
 * file does not exist yet); -EINVAL with why in |err| for a file it must
 * not use (a symbolic link on the way, not a regular file, a second name,
 * writable by every user, holding something else); -EKEYREJECTED when a
 * CRL of |ctx| is older than the file remembers of its signer, or |ctx|
 * has none of a CA of its CA file that the file remembers one of; another
 * -errno when it cannot be read (the start goes on without it). Damaged
 * lines, and who but root, this process and the |service| user could
 * change the file, are warned of unless |quiet| (the start's own open says
 * them). */
int rv_crlstate_check(const char *path, struct rv_tls_ctx *ctx, bool quiet, uid_t service,
		      char *err, size_t err_len);

/* rv_crlstate_path_refused tells whether the start would refuse |path|
 * as the CRL state, touching nothing and with no CRL to judge (a reload
 * that names another file: it applies at the next start): -EINVAL with why
 * in |err| for a symbolic link on the way, a file of another type, one
 * every user may write or with a second name, or (when this process may
 * read it) one that holds something else; -EACCES or -EPERM when this
 * process may not look at it, or not read it (then judged by kind, mode
 * and names alone); else 0. */
int rv_crlstate_path_refused(const char *path, char *err, size_t err_len);

/* rv_crlstate_open opens (creating it, 0600) |path| into |*out|, refuses
 * |ctx| as rv_crlstate_check does (-EINVAL, -EKEYREJECTED, with why in
 * |err|), makes |ctx| remember what the file does (a reload then refuses
 * an older CRL too) and writes the two together. 0 with |*out| set when
 * the file cannot be opened for writing: warned, read if it can be (its
 * CRLs are still refused), and written once it can be (each save and
 * rv_crlstate_retry try again). */
int rv_crlstate_open(struct rv_crlstate **out, const char *path, struct rv_tls_ctx *ctx,
		     uid_t service, char *err, size_t err_len);

/* rv_crlstate_save writes what |ctx| (the context just put in force)
 * remembers, merged with the file's lines, when that changes the file. A
 * failed write is warned once and tried again at the next save. NULL |s|
 * is a no-op. */
void rv_crlstate_save(struct rv_crlstate *s, struct rv_tls_ctx *ctx);

/* rv_crlstate_retry saves again what |ctx| remembers if the file could not
 * be opened for writing or the last save failed: a reload tries, whatever
 * it changed. */
void rv_crlstate_retry(struct rv_crlstate *s, struct rv_tls_ctx *ctx);

/* rv_crlstate_unsaved: does the file lack what the process remembers now
 * (it could not be opened for writing, the last write failed, or the path
 * names a file that cannot be opened)? If so, why in |why| and since when
 * (rv_coarse_now_ns) in |*since_ns|. False for NULL |s|. */
bool rv_crlstate_unsaved(struct rv_crlstate *s, char *why, size_t why_len, uint64_t *since_ns);

/* rv_crlstate_close closes and frees |s|. NULL is a no-op. */
void rv_crlstate_close(struct rv_crlstate *s);

/* The text of the file, read and written (the file's reader and writer,
 * and the fuzz harness). A whole file fits RV_CRLSTATE_TEXT_MAX bytes. */
enum { RV_CRLSTATE_TEXT_MAX = 16 * 1024 };

/* rv_crlstate_parse reads the text |buf| of |len| bytes of the file |path|
 * into |seen| (RV_TLS_CRL_SEEN entries, emptied first), in the file's
 * order, the lines of one signer taken as one whatever their order (the
 * higher number; two CRLs under its highest number refuse the file): 0, with the number of damaged lines (cut short, or failing their
 * check) in |*damaged| and the line number of the first in |*first|;
 * -EINVAL, with why in |err|, for a text that is not a CRL state. */
int rv_crlstate_parse(const char *buf, size_t len, const char *path, struct rv_tls_crl_seen *seen,
		      unsigned *damaged, unsigned *first, char *err, size_t err_len);

/* rv_crlstate_format writes |seen| (up to its first empty entry) as the
 * file's text into |out| (RV_CRLSTATE_TEXT_MAX bytes): its length. */
size_t rv_crlstate_format(const struct rv_tls_crl_seen *seen, char *out);

#endif /* RV_TLS_CRLSTATE_H */
