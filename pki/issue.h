/*
 * issue.h — issuing server and client certificates from a CA.
 *
 * Every certificate gets a fresh ECDSA P-256 key, a random 127-bit serial,
 * subject CN = name, authorityKeyIdentifier and subjectKeyIdentifier,
 * basicConstraints CA:FALSE and keyUsage digitalSignature (critical).
 *   server: subjectAltName DNS:name (or IP:name when name is an address),
 *           extendedKeyUsage serverAuth
 *   client: extendedKeyUsage clientAuth
 * Output: OUT_DIR/BASE.crt (0644) and OUT_DIR/BASE.key (0600), BASE defaulting
 * to the name. Free of BoringSSL types so cli/ can include it.
 */
#ifndef RV_PKI_ISSUE_H
#define RV_PKI_ISSUE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "pki/err.h"

#define RV_PKI_LEAF_DAYS_DEFAULT 825
/* Default start of a CRL's validity, relative to now: tolerates peers
 * whose clocks are a few minutes behind (kept short: where a CRL number is
 * missing, dates order CRLs, with 10 minutes' slack: tls/crl.c). */
#define RV_PKI_BACKDATE_S (-300)
/* Default start of a certificate's validity: an hour back, as the CA's. A
 * freshly issued one was refused by a peer, or by its own client, whose
 * clock was over 5 minutes behind (round-fifty-five tester 233). */
#define RV_PKI_CERT_BACKDATE_S (-3600)

struct rv_pki_ca;

enum rv_pki_cert_kind {
	RV_PKI_CERT_SERVER,
	RV_PKI_CERT_CLIENT,
};

struct rv_pki_issue_opts {
	enum rv_pki_cert_kind kind;
	const char *name;      /* server: DNS name or IP address; client: common name */
	const char *out_dir;   /* where BASE.crt/BASE.key go */
	const char *file_base; /* file name without extension; NULL means |name| */
	int64_t not_before_s;  /* validity start, seconds relative to now */
	int64_t not_after_s;   /* validity end, seconds relative to now; > not_before_s */
	bool force;	       /* replace existing BASE.crt/BASE.key */
};

/* Paths of what rv_pki_issue wrote. */
struct rv_pki_issued {
	char crt[PATH_MAX];
	char key[PATH_MAX];
	char serial[48]; /* hex */
	/* The CA's end (unix seconds) when the validity asked for went past
	 * it and was cut there (a certificate cannot outlive its CA), else 0. */
	int64_t cut_to;
};

/* rv_pki_issue_opts_init fills |opts| with the defaults for |kind| and
 * |name|: output in ".", validity from RV_PKI_CERT_BACKDATE_S to
 * RV_PKI_LEAF_DAYS_DEFAULT days from now, no overwrite. |name| is borrowed. */
void rv_pki_issue_opts_init(struct rv_pki_issue_opts *opts, enum rv_pki_cert_kind kind,
			    const char *name);

/* rv_pki_issue creates a key and a certificate signed by |ca| as described
 * above and writes them, the key first. Existing files are not replaced
 * unless |opts->force| (-EEXIST); on failure nothing new is left behind.
 * Fills |out| (may be NULL). Returns 0 or -errno with |err| filled. It
 * takes no lock: a |ca| loaded holding it (rv_pki_ca_open_locked) is still
 * the directory's CA, not one a `pki ca --force` has replaced. */
int rv_pki_issue(const struct rv_pki_ca *ca, const struct rv_pki_issue_opts *opts,
		 struct rv_pki_issued *out, struct rv_pki_err *err);

#endif /* RV_PKI_ISSUE_H */
