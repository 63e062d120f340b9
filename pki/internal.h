/*
 * internal.h — declarations shared by the .c files of pki/ only (STYLE.md
 * rule 5). No other directory includes this file.
 */
#ifndef RV_PKI_INTERNAL_H
#define RV_PKI_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/base.h>

#include "core/compiler.h"
#include "pki/ca.h"
#include "pki/err.h"

/* A loaded CA: its directory, certificate and signing key, who is told
 * of a wait for its lock, and the lock's descriptor when it was loaded
 * holding it (rv_pki_ca_open_locked; else -1). */
struct rv_pki_ca {
	char dir[PATH_MAX];
	X509 *cert;
	EVP_PKEY *key;
	struct rv_pki_waiter waiter;
	int lock;
};

/* Largest PEM certificate or key file pki/ will read; real ones are a few
 * KB. */
#define PKI_MAX_FILE (1u << 20)
/* Largest CRL or revocation index: an entry per revoked certificate, about
 * 40 bytes of CRL and 60 of index each (a million revocations). */
#define PKI_MAX_LIST (64u << 20)

/* err.c */

/* pki_errf fills |err| (if not NULL) with |kind| and the formatted message. */
void pki_errf(struct rv_pki_err *err, enum rv_pki_err_kind kind, const char *fmt, ...)
	RV_PRINTF(3, 4);

/* pki_err_ssl is pki_errf followed by ": " and the drained BoringSSL error
 * queue. */
void pki_err_ssl(struct rv_pki_err *err, enum rv_pki_err_kind kind, const char *fmt, ...)
	RV_PRINTF(3, 4);

/* pki_note adds a note of a success to |err| (NULL: none) after those
 * already there, separated by "; ", leaving its kind as it is (NONE). */
void pki_note(struct rv_pki_err *err, const char *fmt, ...) RV_PRINTF(2, 3);

/* ca.c */

/* pki_ca_lock takes the lock of the CA directory |dir| (an flock on
 * DIR/.lock, released when the returned descriptor is closed), telling
 * |waiter| (may be NULL) first when another command holds it and a wait
 * follows (ca.h): revoke and crl read the index, add to it and rewrite it
 * and the CRL, server and client sign with the key, and `pki ca --force`
 * replaces them, so two at once would each act without the other's
 * change. Returns the descriptor or -errno with |err| set; with
 * |sign_only|, -ENOLCK (|err| untouched) when no lock file is there and
 * none can be made. */
int pki_ca_lock(const char *dir, const struct rv_pki_waiter *waiter, bool sign_only,
		struct rv_pki_err *err);

/* crl.c */

/* pki_crl_create signs a new CA's first CRL (number 1) from its index. */
int pki_crl_create(const struct rv_pki_ca *ca, struct rv_pki_err *err);

/* file.c */

/* pki_path joins |dir| "/" |base| |ext| into |out|; -ENAMETOOLONG if it does
 * not fit. */
int pki_path(char *out, size_t out_len, const char *dir, const char *base, const char *ext,
	     struct rv_pki_err *err);

/* pki_read_file reads the whole of |path| (1..|max| bytes) into a fresh
 * heap buffer returned in |*out| (caller frees, wiping it if secret).
 * Failures are reported with |kind| as the error class, naming the file
 * as |what| ("PEM certificate", "revocation index"). */
int pki_read_file(uint8_t **out, size_t *out_len, const char *path, enum rv_pki_err_kind kind,
		  const char *what, size_t max, struct rv_pki_err *err);

/* pki_write_file writes |data| to |path| with exactly |mode|, atomically:
 * the bytes go to a temporary file (created 0600 in the same directory),
 * which is then renamed over |path| when |overwrite|, or hard-linked to it
 * otherwise so that an existing file is never replaced (-EEXIST). A reader
 * sees either the old file or the complete new one, and a secret file is
 * never readable by anyone else, not even briefly. */
int pki_write_file(const char *path, const uint8_t *data, size_t len, mode_t mode, bool overwrite,
		   struct rv_pki_err *err);

/* The temporary of a staged file is ".NAME." PKI_TMP_TAG "XXXXXX" beside
 * it: a tag no one names a file of theirs with, so that what a killed
 * command left can be told from an operator's ".ca.key.backup" (removed
 * too when the name was ".NAME.XXXXXX": round-seventy-one tester 333). */
#define PKI_TMP_TAG "rvtmp-"

/* A file written but not yet in its place (pki_stage_file), so that two
 * files that belong together (a key and its certificate) are both written
 * before either replaces what was there: a full disk then changes
 * neither. */
struct pki_staged {
	char tmp[PATH_MAX];
	const char *path;
};

/* pki_stage_file does pki_write_file's writing: |data| in a synced
 * temporary file beside |path| with exactly |mode|. Returns 0 or -errno
 * with |err| set (nothing left behind). */
int pki_stage_file(struct pki_staged *st, const char *path, const uint8_t *data, size_t len,
		   mode_t mode, struct rv_pki_err *err);

/* pki_publish_file puts a staged file in its place, as pki_write_file
 * does; on failure the temporary file is removed. */
int pki_publish_file(struct pki_staged *st, bool overwrite, struct rv_pki_err *err);

/* pki_unstage_file removes a staged file that is not to be published. */
void pki_unstage_file(struct pki_staged *st);

/* pki_exists returns true if |path| exists (any type). */
bool pki_exists(const char *path);

/* pki_missing_parent: is the directory |path| would be made in not there?
 * `pki ca --out` makes the last part alone, and a file is made in a
 * directory that must be there, so advice to run it there fails ("create
 * its parent directory first"), as it did through a link to nothing higher
 * up the path (round-sixty-four tester 269). |why| gets the first part of
 * the way that is missing, or a link to nothing on the way (one further up
 * was not named: round-sixty-five tester 274). */
bool pki_missing_parent(const char *path, char *why, size_t len);

/* x509.c */

/* pki_new_key generates an ECDSA P-256 key. */
int pki_new_key(EVP_PKEY **out, struct rv_pki_err *err);

/* pki_new_serial returns a random positive 128-bit serial number. */
int pki_new_serial(ASN1_INTEGER **out, struct rv_pki_err *err);

/* pki_set_validity sets notBefore = now + |not_before_s| and notAfter =
 * now + |not_after_s|. */
int pki_set_validity(X509 *x, int64_t not_before_s, int64_t not_after_s, struct rv_pki_err *err);

/* pki_add_ext adds the extension |nid| given in OpenSSL config syntax
 * (constant strings only, never user input). |issuer| may equal |subject|. */
int pki_add_ext(X509 *issuer, X509 *subject, int nid, const char *value, struct rv_pki_err *err);

/* pki_ext is one extension in OpenSSL config syntax for pki_add_exts. */
struct pki_ext {
	int nid;
	const char *value;
};

/* pki_add_exts adds |num| extensions in order, stopping at the first failure. */
int pki_add_exts(X509 *issuer, X509 *subject, const struct pki_ext *exts, size_t num,
		 struct rv_pki_err *err);

/* pki_cert_new starts a v3 certificate for |pubkey| with subject CN=|cn|, a
 * fresh serial and the validity of pki_set_validity. |issuer| names the
 * issuing CA; NULL makes the certificate its own issuer (self-signed).
 * |what| names the certificate in error messages ("the CA certificate").
 * On success *out is owned by the caller. */
int pki_cert_new(X509 **out, const char *cn, X509 *issuer, EVP_PKEY *pubkey, int64_t not_before_s,
		 int64_t not_after_s, const char *what, struct rv_pki_err *err);

/* pki_cert_sign signs |x| with |key| (SHA-256). */
int pki_cert_sign(X509 *x, EVP_PKEY *key, const char *what, struct rv_pki_err *err);

/* pki_serial_hex writes |serial| as upper-case hex into |out|. */
int pki_serial_hex(char *out, size_t out_len, const ASN1_INTEGER *serial, struct rv_pki_err *err);

/* pki_not_ours refuses |path| (a CA's file, a CA directory) that another
 * user owns or may write, through a link or a directory on the way, or,
 * |secret|, that every user may read: -EPERM with |err| set (pki/ca.c). A
 * path that does not exist passes. */
int pki_not_ours(const char *path, const char *what, bool secret, struct rv_pki_err *err);

/* pki_name_oneline writes |name| as "CN=..., O=..." into |out|. */
void pki_name_oneline(char *out, size_t out_len, const X509_NAME *name);

/* pki_valid_cn reports whether |name| is a safe common name and file base:
 * 1..64 characters of [A-Za-z0-9._@-], not starting with '.' or '-'. */
bool pki_valid_cn(const char *name);

/* pki_valid_dns reports whether |name| is a syntactically valid DNS name
 * (LDH labels of 1..63, at most 253 characters). */
bool pki_valid_dns(const char *name);

#endif /* RV_PKI_INTERNAL_H */
