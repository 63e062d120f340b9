/*
 * crl.h — the certificate revocation lists of a TLS context, for tls/
 * only: read and judged once (signer, kind, number), added to the
 * context's store for the handshake, and kept at hand for the check of
 * live sessions (rv_tls_crls_revokes), which must judge as the handshake
 * does, and for a reload's comparison with the running set (an older CRL,
 * a CA left without one).
 */
#ifndef RV_TLS_CRL_H
#define RV_TLS_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

struct rv_tls_expiry;

/* The newest CRL read, by its cRLNumber (RFC 5280 5.2.3), per signing key:
 * of the first RV_TLS_CRL_SEEN signers of the file (it was 4, and a
 * rollback of the fifth CA's CRL was taken: a hostile tester). The CRLs
 * themselves are kept to be carried over to the next context when that
 * one's CRL cannot be used yet: a file with more than RV_TLS_CRL_KEPT is
 * not carried over. */
enum { RV_TLS_CRL_SEEN = 64, RV_TLS_CRL_KEPT = 64 };

struct rv_tls_crl_seen {
	uint8_t signer[SHA256_DIGEST_LENGTH]; /* SHA-256 of the signing CA's key */
	uint8_t number[24];		      /* the highest cRLNumber, if |numbered|:
					       * big-endian (RFC 5280: up to 20 octets) */
	int64_t this_update;		      /* the latest thisUpdate */
	int64_t unnumbered_since;	      /* the latest thisUpdate of a CRL without a
					       * number taken since the CRL of |number|
					       * (INT64_MIN: none) */
	int64_t number_tu;		      /* the thisUpdate of the CRL of |number|, within
					       * one load (not kept in crl_state) */
	uint8_t crl_md[SHA256_DIGEST_LENGTH]; /* SHA-256 of the CRL of |number| */
	bool numbered;			      /* a CRL of it carried a number */
	bool have_md;			      /* |crl_md| is set */
	bool have;
};

/* Zeroed is empty. Part of a context, which owns it: rv_tls_crls_free. */
struct rv_tls_crls {
	struct rv_tls_crl_seen seen[RV_TLS_CRL_SEEN];
	X509_CRL *kept[RV_TLS_CRL_KEPT];
	X509 *kept_signer[RV_TLS_CRL_KEPT]; /* the CA certificate whose key signed each */
	size_t nkept;
	bool kept_all; /* every CRL of the file is in |kept| */
	/* The CRLs added, in order, chained into a SHA-256 (the context's
	 * rv_tls_ctx_same_trust). */
	uint8_t trust[SHA256_DIGEST_LENGTH];
	/* The CAs whose new CRL, not valid yet, a running one stood in for
	 * (rv_tls_crls_load's |hold|), and the first one's subject. */
	unsigned held;
	char held_ca[128];
	/* The CAs of the CA file without a CRL in the file, and the first
	 * one's subject (said in a reload's reply too: warn_ca_without_crl). */
	unsigned no_crl;
	char no_crl_ca[224];
};

/* rv_tls_crls_no_crl writes into |buf| what the CAs of the CA file without
 * a CRL in |path| (c->no_crl) mean, as the load said them in the log; NULL
 * when every CA has one. */
const char *rv_tls_crls_no_crl(const struct rv_tls_crls *c, const char *path, char *buf,
			       size_t len);

/* rv_tls_crls_lapsed: how many CAs' CRLs in force in |c| (the newest of
 * each) have passed their nextUpdate by |now|; the latest of those ends in
 * |*last_lapse| (its CA's subject in |lapse_ca|) and the earliest end still
 * ahead in |*next_end| (0: none). */
/* rv_tls_crls_unborn: how many CAs have CRLs in |c| of which none is valid
 * yet at |now| (its thisUpdate ahead: the verifier refuses those CAs'
 * peers, "CRL is not yet valid", until then); the latest time one of them
 * becomes valid in |*valid_at| (0: none) and that CA's subject in
 * |ca|. */
unsigned rv_tls_crls_unborn(const struct rv_tls_crls *c, int64_t now, int64_t *valid_at, char *ca,
			    size_t ca_len);

/* rv_tls_crls_pending: how many CAs have in |c| both a CRL valid at |now|
 * and a newer one dated ahead (the verifier uses the older meanwhile,
 * without the revocations only the newer lists); the latest time such a
 * newer one becomes valid in |*at| (0: none), that CA's subject in |ca|. */
unsigned rv_tls_crls_pending(const struct rv_tls_crls *c, int64_t now, int64_t *at, char *ca,
			     size_t ca_len);

/* rv_tls_crls_born: the latest thisUpdate of a CRL in |c| that came in
 * (since, now] (0: none), the earliest still ahead of |now| in |*next| (0:
 * none). A CRL dated ahead, in force from the start, lists revocations
 * that bind the live sessions only once it is valid (reload.c). */
int64_t rv_tls_crls_born(const struct rv_tls_crls *c, int64_t since, int64_t now, int64_t *next);

unsigned rv_tls_crls_lapsed(const struct rv_tls_crls *c, int64_t now, int64_t *last_lapse,
			    int64_t *next_end, char *lapse_ca, size_t lapse_ca_len);

/* rv_tls_crls_load reads the CRL file |path| into |c| and |store| (whose CA
 * certificates must be in already: each CRL must be signed by one) and
 * widens |ex|'s CRL times; sets X509_V_FLAG_CRL_CHECK on |store|. With
 * |hold|, a CRL not valid yet is left out for the CRLs of |hold| signed by
 * the same CA key, where it has any (c->held counts those CAs). 0, or
 * -errno with why in |err|: the whole file is refused for one bad CRL.
 * |*opened|: the file as it was opened (st_ino 0: it was not). */
int rv_tls_crls_load(struct rv_tls_crls *c, X509_STORE *store, struct rv_tls_expiry *ex,
		     const char *path, const struct rv_tls_crls *hold, struct stat *opened,
		     char *err, size_t err_len);

/* rv_tls_crls_copy gives |n| and its |store| (built without a CRL) the
 * CRLs of |cur| as they are in force there. 0, -E2BIG when |cur| did not
 * keep them all, -ENOMEM. */
int rv_tls_crls_copy(struct rv_tls_crls *n, X509_STORE *store, const struct rv_tls_crls *cur,
		     bool cur_has_crl);

/* rv_tls_crls_revokes: does the newest CRL of |c| from |x|'s issuer list
 * |x|, or a CRL a CA between |x| and its root in |store|? As
 * rv_tls_ctx_revokes (tls/internal.h), for a context that checks CRLs. */
int rv_tls_crls_revokes(const struct rv_tls_crls *c, X509_STORE *store, X509 *x);

/* rv_tls_crls_dropped: does |n| (with its |store|) leave without a CRL a
 * CA that still signs there and had one in |cur|? Writes its name into
 * |who|. */
bool rv_tls_crls_dropped(const struct rv_tls_crls *n, X509_STORE *store,
			 const struct rv_tls_crls *cur, char *who, size_t who_len);

/* rv_tls_crls_left_out: does |n| (with its |store|) leave without a CRL a
 * CA of |store| that |seen| (what crl_state remembers) holds a CRL of?
 * Writes its name into |who|. A start's rv_tls_crls_dropped. */
bool rv_tls_crls_left_out(const struct rv_tls_crls *n, X509_STORE *store,
			  const struct rv_tls_crl_seen seen[RV_TLS_CRL_SEEN], char *who,
			  size_t who_len);

/* rv_tls_crls_older: does |n| carry an older CRL of a signer than |cur|
 * remembers? Why in |why|, where |cur| is the running set, or (|before|)
 * what the process took before this start (tls/crlstate.h). */
bool rv_tls_crls_older(const struct rv_tls_crls *n, const struct rv_tls_crls *cur, bool before,
		       char *why, size_t why_len);

/* rv_tls_crls_carry makes |n| remember what |cur|, taken before it, has
 * seen of each signer; rv_tls_crls_add_newer makes |old| remember what
 * |n|, taken after it, has (tls/crlstate.c's save, into the file's). */
void rv_tls_crls_carry(struct rv_tls_crls *n, const struct rv_tls_crls *cur);
void rv_tls_crls_add_newer(struct rv_tls_crls *old, const struct rv_tls_crls *n);

void rv_tls_crls_free(struct rv_tls_crls *c);

/* rv_tls_crls_strip takes every CRL out of |store| and its CRL check off:
 * for the store of a context no longer in force, which the connections
 * made under it keep for their lives (rv_tls_ctx_retire). */
void rv_tls_crls_strip(X509_STORE *store);

#endif /* RV_TLS_CRL_H */
