/*
 * crl.c — a context's CRLs (see crl.h). The handshake verifies with the
 * store (X509_V_FLAG_CRL_CHECK for the leaf, rv_x509_chain_ca_revoked for
 * the CAs above it); the live sessions' check (rv_tls_crls_revokes) must
 * come to the same verdict, so every CRL whose meaning the two could read
 * differently is refused at load, whole file with it.
 */
#include "tls/crl.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "crypto/errq.h"
#include "crypto/x509path.h"
#include "tls/internal.h"
#include "tls/pem.h"

/* issued_by: was |x| issued by the CA |ca|? Its authority key identifier
 * against the CA's subject key identifier (X509_check_issued); without
 * one, its signature against the CA's key. */
static bool issued_by(X509 *ca, X509 *x)
{
	EVP_PKEY *pub;
	bool ok;

	if (ca == NULL || X509_check_issued(ca, x) != X509_V_OK) {
		ERR_clear_error();
		return false;
	}
	if (X509_get0_authority_key_id(x) != NULL) {
		return true;
	}
	pub = X509_get_pubkey(ca);
	ok = pub && X509_verify(x, pub) == 1;
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return ok;
}

/* self_signed: is |x| a root (its own issuer, by name and key)? */
static bool self_signed(X509 *x)
{
	bool ss = X509_check_issued(x, x) == X509_V_OK;

	ERR_clear_error();
	return ss;
}

/* store_ca: the |i|th object of a store's |objs| if it is a certificate
 * (borrowed), NULL if it is a CRL. */
static X509 *store_ca(STACK_OF(X509_OBJECT) * objs, size_t i)
{
	X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);

	return X509_OBJECT_get_type(o) == X509_LU_X509 ? X509_OBJECT_get0_X509(o) : NULL;
}

/* store_issuer: the CA certificate of |store| that issued |x|. */
static X509 *store_issuer(X509_STORE *store, X509 *x)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);

	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = store_ca(objs, i);

		if (ca && ca != x && issued_by(ca, x)) {
			return ca;
		}
	}
	return NULL;
}

/* ca_above_revoked: is a CA certificate between |leaf| and its root
 * listed by a CRL of |c| from that CA's issuer? The live sessions' check,
 * as rv_x509_chain_ca_revoked is the handshake's: both count any CRL of the
 * issuer that lists it, and neither asks a root for a CRL (most publish
 * none of their own). At most 8 levels. */
static bool ca_above_revoked(const struct rv_tls_crls *c, X509_STORE *store, X509 *leaf)
{
	X509 *ca = store_issuer(store, leaf);

	for (int depth = 1; ca && depth < 8 && !self_signed(ca); depth++) {
		X509 *up = store_issuer(store, ca);

		for (size_t i = 0; up && i < c->nkept; i++) {
			if (rv_x509_crl_lists_ca(c->kept[i], ca, up)) {
				return true;
			}
		}
		ca = up;
	}
	return false;
}

int rv_tls_crls_revokes(const struct rv_tls_crls *c, X509_STORE *store, X509 *x)
{
	X509_CRL *best = NULL, *best_now = NULL;
	int64_t now = (int64_t)time(NULL);
	X509_REVOKED *rev;
	int ret;

	if (!c->kept_all) {
		return -E2BIG;
	}
	/* As the handshake's verification: the newest CRL of the
	 * certificate's issuer decides, and none at all is a refusal ("unable
	 * to get certificate CRL"), which only X509_verify_cert says right. */
	for (size_t i = 0; i < c->nkept; i++) {
		X509_CRL *crl = c->kept[i];
		int64_t a, b;

		/* Its issuer by key, not by name alone: two CAs may share a
		 * name (pki's default "ringvpn CA", made again at a
		 * rotation), and the other one's newer CRL hid a revocation
		 * (a hostile tester). */
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(x)) != 0 ||
		    !issued_by(c->kept_signer[i], x)) {
			continue;
		}
		if (best == NULL ||
		    (rv_tls_unix_time(X509_CRL_get0_lastUpdate(crl), &a) &&
		     rv_tls_unix_time(X509_CRL_get0_lastUpdate(best), &b) && a > b)) {
			best = crl;
		}
		/* The newest one valid now decides, as the verifier's choice
		 * does: a CRL dated ahead ended sessions its time had not come
		 * for, which the handshake let in again (round-sixty-seven
		 * tester 297). */
		if (rv_tls_unix_time(X509_CRL_get0_lastUpdate(crl), &a) && a <= now &&
		    (best_now == NULL ||
		     (rv_tls_unix_time(X509_CRL_get0_lastUpdate(best_now), &b) && a > b))) {
			best_now = crl;
		}
	}
	if (best_now != NULL) {
		best = best_now;
	}
	if (best == NULL) {
		return -ENOENT;
	}
	/* Matches the serial and the issuer (1; 2 is "removeFromCRL"). */
	ret = X509_CRL_get0_by_cert(best, &rev, x) == 1;
	ERR_clear_error();
	/* A revoked intermediate CA: its leaves kept their sessions, and got
	 * in again after a kick (a hostile tester). */
	return ret || ca_above_revoked(c, store, x);
}

/* has_ca_key: does |store| hold a CA certificate with |ca|'s key? */
static bool has_ca_key(X509_STORE *store, X509 *ca)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	bool has = false;

	for (size_t i = 0; !has && i < sk_X509_OBJECT_num(objs); i++) {
		X509 *x = store_ca(objs, i);

		has = x && rv_tls_same_key(x, ca);
	}
	ERR_clear_error();
	return has;
}

/* name_ca writes |ca|'s subject into |who|, with its serial when another
 * CA of |store| has that name under another key: `pki ca` names every CA
 * "ringvpn CA" unless told, and a rotation's two were told apart by
 * nothing (round-sixty-eight tester 301). */
static void name_ca(X509_STORE *store, X509 *ca, char *who, size_t who_len)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	bool twin = false;

	rv_tls_name_oneline(X509_get_subject_name(ca), who, who_len);
	for (size_t i = 0; !twin && i < sk_X509_OBJECT_num(objs); i++) {
		X509 *x = store_ca(objs, i);

		twin = x &&
		       X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(ca)) == 0 &&
		       !rv_tls_same_key(x, ca);
	}
	if (twin) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca), NULL);
		char *hex = bn ? BN_bn2hex(bn) : NULL;
		size_t used = strlen(who);

		snprintf(who + used, who_len - used, " (serial %s)", hex ? hex : "?");
		OPENSSL_free(hex);
		BN_free(bn);
	}
	ERR_clear_error();
}

bool rv_tls_crls_dropped(const struct rv_tls_crls *n, X509_STORE *store,
			 const struct rv_tls_crls *cur, char *who, size_t who_len)
{
	if (!n->kept_all || !cur->kept_all) {
		return false;
	}
	for (size_t i = 0; i < cur->nkept; i++) {
		X509 *ca = cur->kept_signer[i];
		bool kept = false;

		for (size_t j = 0; !kept && j < n->nkept; j++) {
			kept = rv_tls_same_key(n->kept_signer[j], ca);
		}
		if (!kept && has_ca_key(store, ca)) {
			name_ca(store, ca, who, who_len);
			ERR_clear_error();
			return true;
		}
	}
	ERR_clear_error();
	return false;
}

/* key_md: the SHA-256 of |x|'s key, as note_crl_number keeps a signer. */
static bool key_md(const X509 *x, uint8_t md[SHA256_DIGEST_LENGTH])
{
	uint8_t buf[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!X509_pubkey_digest(x, EVP_sha256(), buf, &len) || len != SHA256_DIGEST_LENGTH) {
		ERR_clear_error();
		return false;
	}
	memcpy(md, buf, SHA256_DIGEST_LENGTH);
	return true;
}

bool rv_tls_crls_left_out(const struct rv_tls_crls *n, X509_STORE *store,
			  const struct rv_tls_crl_seen seen[RV_TLS_CRL_SEEN], char *who,
			  size_t who_len)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);

	if (!n->kept_all) {
		return false;
	}
	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = store_ca(objs, i);
		uint8_t md[SHA256_DIGEST_LENGTH];
		bool seen_it = false, kept = false;

		if (!ca || !key_md(ca, md)) {
			continue;
		}
		for (size_t j = 0; !seen_it && j < RV_TLS_CRL_SEEN && seen[j].have; j++) {
			seen_it = memcmp(seen[j].signer, md, sizeof(md)) == 0;
		}
		for (size_t j = 0; seen_it && !kept && j < n->nkept; j++) {
			kept = rv_tls_same_key(n->kept_signer[j], ca);
		}
		if (seen_it && !kept) {
			name_ca(store, ca, who, who_len);
			ERR_clear_error();
			return true;
		}
	}
	ERR_clear_error();
	return false;
}

/* ca_named: the |i|th object of |objs| if it is a CA certificate whose
 * subject is |name| (borrowed), else NULL. */
static X509 *ca_named(STACK_OF(X509_OBJECT) * objs, size_t i, X509_NAME *name)
{
	X509 *ca = store_ca(objs, i);

	return ca && X509_NAME_cmp(X509_get_subject_name(ca), name) == 0 ? ca : NULL;
}

/* signed_by_ca: the CA certificate in |store| that issued and signed
 * |crl| (borrowed), or NULL. Another CA's CRL, or one whose signature does not verify,
 * would otherwise be taken, and then no peer certificate verifies ("unable
 * to get certificate CRL", "CRL signature failure"): every new client is
 * refused and the next reload ends every session. */
static X509 *signed_by_ca(X509_STORE *store, X509_CRL *crl)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	X509 *signer = NULL;

	for (size_t i = 0; !signer && i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = ca_named(objs, i, X509_CRL_get_issuer(crl));
		EVP_PKEY *pub;

		if (!ca) {
			continue;
		}
		pub = X509_get_pubkey(ca);
		if (pub && X509_CRL_verify(crl, pub) == 1) {
			signer = ca;
		}
		EVP_PKEY_free(pub);
	}
	ERR_clear_error();
	return signer;
}

/* akid_is: does |crl|'s authority key identifier, when it has one, name
 * the key of |signer| (its subject key identifier, when it has one)? */
static bool akid_is(X509_CRL *crl, X509 *signer)
{
	AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(signer);
	bool ok = aki == NULL || aki->keyid == NULL || skid == NULL ||
		  ASN1_OCTET_STRING_cmp(aki->keyid, skid) == 0;

	AUTHORITY_KEYID_free(aki);
	ERR_clear_error();
	return ok;
}

/* cas_named counts the CA certificates of |store| whose subject is |name|. */
static int cas_named(X509_STORE *store, X509_NAME *name)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	int n = 0;

	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		n += ca_named(objs, i, name) != NULL;
	}
	return n;
}

/* critical_unknown: does |crl| carry a critical extension that
 * BoringSSL's verification does not handle, on the CRL itself or on one of
 * its entries? Such a CRL fails every peer's verification ("unhandled
 * critical CRL extension"), while the live sessions' serial lookup took it
 * (a hostile tester). The CRL's own: all but the authority key identifier
 * (an issuing distribution point and a delta indicator are refused for
 * their own reasons); an entry's: all but the certificate issuer. Writes
 * the extension's OID into |oid|. */
static bool critical_unknown(X509_CRL *crl, char *oid, size_t oid_len, bool *out_entry)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	X509_EXTENSION *ext = NULL;

	*out_entry = false;
	for (int i = 0; !ext && i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));

		if (X509_EXTENSION_get_critical(e) && nid != NID_authority_key_identifier &&
		    nid != NID_issuing_distribution_point && nid != NID_delta_crl) {
			ext = e;
		}
	}
	for (size_t i = 0; !ext && i < sk_X509_REVOKED_num(revs); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);

		for (int j = 0; !ext && j < X509_REVOKED_get_ext_count(r); j++) {
			X509_EXTENSION *e = X509_REVOKED_get_ext(r, j);

			if (X509_EXTENSION_get_critical(e) &&
			    OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_certificate_issuer) {
				ext = e;
				*out_entry = true;
			}
		}
	}
	if (ext && OBJ_obj2txt(oid, (int)oid_len, X509_EXTENSION_get_object(ext), 0) <= 0) {
		snprintf(oid, oid_len, "?");
	}
	ERR_clear_error();
	return ext != NULL;
}

/* crl_kind_refused: CRL |idx| of |path| is refused, with the reason in
 * |err|, when the handshake and the check of live sessions would judge by
 * it differently (a round-three tester found each): a partial CRL (an
 * issuing distribution point: only CA certificates, or only some reasons),
 * which the handshake leaves out and the live check took as the newest, so
 * a revocation in the complete one was not applied to live sessions; a
 * delta CRL, which the handshake takes for a complete one (its base's
 * revocations then let in again); and one without an authority key
 * identifier when several CAs of the CA file share its issuer's name (the
 * handshake picks by name and refused every client of the other CA, while
 * the live check kept them). */
static int crl_kind_refused(X509_STORE *store, X509_CRL *crl, const char *path, int idx, char *err,
			    size_t err_len)
{
	AUTHORITY_KEYID *aki;
	bool has_akid, entry;
	char oid[80];
	int same;

	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		snprintf(err, err_len,
			 "CRL file %s: CRL %d is a delta CRL (only the changes since a base CRL): "
			 "refused, ringvpn takes complete CRLs only (publish the complete one)",
			 path, idx);
		return -EINVAL;
	}
	if (X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1) >= 0) {
		snprintf(err, err_len,
			 "CRL file %s: CRL %d has an issuing distribution point (a CRL for some "
			 "certificates or reasons only): refused, ringvpn takes complete CRLs only "
			 "(publish the complete one)",
			 path, idx);
		return -EINVAL;
	}
	if (critical_unknown(crl, oid, sizeof(oid), &entry)) {
		snprintf(err, err_len,
			 "CRL file %s: CRL %d carries a critical extension (%s%s) that the "
			 "handshake cannot handle: every peer would be refused; refused (publish "
			 "it without that extension, or with it not critical)",
			 path, idx, oid, entry ? ", on a revoked entry" : "");
		return -EINVAL;
	}
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	has_akid = aki != NULL && aki->keyid != NULL;
	AUTHORITY_KEYID_free(aki);
	ERR_clear_error();
	same = has_akid ? 0 : cas_named(store, X509_CRL_get_issuer(crl));
	if (same > 1) {
		char issuer[160];

		rv_tls_name_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
		snprintf(err, err_len,
			 "CRL file %s: CRL %d has no authority key identifier, and %d CAs of the "
			 "CA file are named %s: a peer's check could not tell whose CRL it is; "
			 "refused (sign it with one: `ringvpn pki revoke` does; openssl ca needs "
			 "authorityKeyIdentifier = keyid in its crl_extensions)",
			 path, idx, same, issuer);
		return -EINVAL;
	}
	return 0;
}

/* How a record merged into another was taken: after it, before it, or in
 * the same file (where only the dates can order a CRL without a number
 * against the numbered one: the file's order must not decide, a hostile
 * tester's file of the two in either order). */
enum merge_order { MERGE_NEWER, MERGE_OLDER, MERGE_SAME_FILE };

/* seen_merge takes |one| signer's record into |seen|: the higher number and
 * the later thisUpdate of the two, or a slot of its own (while one is
 * free). |order| tells whether a CRL without a number came after the
 * highest number: between loads by the order they were taken in, as dates
 * cannot tell (`pki` dates its CRLs 5 minutes back, other signers do not:
 * round-twelve tester 55). */
static void seen_merge(struct rv_tls_crl_seen seen[RV_TLS_CRL_SEEN],
		       const struct rv_tls_crl_seen *one, enum merge_order order)
{
	for (size_t i = 0; i < RV_TLS_CRL_SEEN; i++) {
		struct rv_tls_crl_seen *e = &seen[i];
		int cmp;

		if (!e->have) {
			*e = *one;
			return;
		}
		if (memcmp(e->signer, one->signer, sizeof(e->signer)) != 0) {
			continue;
		}
		cmp = one->numbered && e->numbered
			      ? memcmp(one->number, e->number, sizeof(e->number))
			      : 0;
		if (one->numbered && (!e->numbered || cmp > 0)) {
			int64_t keep = order == MERGE_NEWER ? INT64_MIN
				       : order == MERGE_OLDER
					       ? e->unnumbered_since
					       : (e->unnumbered_since > one->number_tu
							  ? e->unnumbered_since
							  : INT64_MIN);

			memcpy(e->number, one->number, sizeof(e->number));
			memcpy(e->crl_md, one->crl_md, sizeof(e->crl_md));
			e->have_md = one->have_md;
			e->numbered = true;
			e->number_tu = one->number_tu;
			/* What |seen| took without a number came before a newer
			 * number, after an older record's. */
			e->unnumbered_since =
				one->unnumbered_since > keep ? one->unnumbered_since : keep;
		} else if (one->numbered && cmp == 0) {
			if (!e->have_md && one->have_md) {
				memcpy(e->crl_md, one->crl_md, sizeof(e->crl_md));
				e->have_md = true;
			}
			if (one->unnumbered_since > e->unnumbered_since) {
				e->unnumbered_since = one->unnumbered_since;
			}
		} else if (!one->numbered && one->unnumbered_since > e->unnumbered_since &&
			   (order == MERGE_NEWER || !e->numbered ||
			    (order == MERGE_SAME_FILE && one->this_update > e->number_tu))) {
			e->unnumbered_since = one->unnumbered_since;
		}
		if (one->this_update > e->this_update) {
			e->this_update = one->this_update;
		}
		return;
	}
}

/* crl_number reads |crl|'s cRLNumber into |v| (big-endian, zero-padded):
 * false when it has none (or one that does not fit). */
static bool crl_number(X509_CRL *crl, uint8_t v[24])
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	BIGNUM *bn = num ? ASN1_INTEGER_to_BN(num, NULL) : NULL;
	bool ok = bn && !BN_is_negative(bn) && BN_bn2bin_padded(v, 24, bn);

	BN_free(bn);
	ASN1_INTEGER_free(num);
	ERR_clear_error();
	return ok;
}
_Static_assert(sizeof(((struct rv_tls_crl_seen *)0)->number) == 24, "crl_number's size");

/* note_crl_number records |crl|'s number and thisUpdate in |seen| (the
 * highest of each per signer). By the key of the CA that signed it, which
 * the load has found: a CA made again under the same name starts its
 * numbers over, and its first CRL is not an older one, with or without an
 * authority key identifier (without one, the name alone made a rotation's
 * first CRL "older" than the old CA's, and every reload was refused).
 * Numbers of up to 24 octets (RFC 5280 allows 20; they were read up to 64
 * bits, and a rollback past that was taken: a hostile tester). A CRL
 * without a number is judged by its thisUpdate (it replaced a numbered
 * one, and an older copy of either was then taken). */
static void note_crl_number(struct rv_tls_crl_seen seen[RV_TLS_CRL_SEEN], X509_CRL *crl,
			    const X509 *signer)
{
	uint8_t md[SHA256_DIGEST_LENGTH] = { 0 };
	unsigned md_len = 0;
	int64_t tu = INT64_MIN;
	uint8_t v[sizeof(seen[0].number)] = { 0 };
	struct rv_tls_crl_seen one;
	bool numbered;

	/* The whole digest: a 32-bit hash of it let a second CA's operator
	 * grind a key that shared the first one's counter (a hostile tester). */
	if (!key_md(signer, md)) {
		return;
	}
	numbered = crl_number(crl, v);
	if (!rv_tls_unix_time(X509_CRL_get0_lastUpdate(crl), &tu)) {
		tu = INT64_MIN;
	}
	one = (struct rv_tls_crl_seen){
		.this_update = tu,
		.unnumbered_since = numbered ? INT64_MIN : tu,
		.number_tu = numbered ? tu : INT64_MIN,
		.numbered = numbered,
		.have = true,
	};
	memcpy(one.signer, md, sizeof(one.signer));
	memcpy(one.number, v, sizeof(one.number));
	/* What the number stands for: a CRL made again under it from an
	 * older index (a backup's, after `pki crl` twice) lacks revocations
	 * (round-twelve tester 52). */
	one.have_md = numbered && X509_CRL_digest(crl, EVP_sha256(), one.crl_md, &md_len) &&
		      md_len == SHA256_DIGEST_LENGTH;
	ERR_clear_error();
	seen_merge(seen, &one, MERGE_SAME_FILE);
}

/* no_crl_text writes into |buf| what a CA |ca| of the CA file without a CRL
 * in |path| means, |also| after its name. */
static const char *no_crl_text(char *buf, size_t len, const char *ca, const char *also,
			       const char *path)
{
	snprintf(buf, len,
		 "CA %s%s of the CA file has no CRL in %s: every peer certificate it signs is "
		 "refused (\"unable to get certificate CRL\") until its CRL is added (a root that "
		 "signs only intermediate CAs needs none)",
		 ca, also, path);
	return buf;
}

const char *rv_tls_crls_no_crl(const struct rv_tls_crls *c, const char *path, char *buf, size_t len)
{
	return c->no_crl ? no_crl_text(buf, len, c->no_crl_ca,
				       c->no_crl > 1 ? " (and other CAs: see the log)" : "", path)
			 : NULL;
}

/* warn_ca_without_crl says which CAs of the CA file have no CRL in the CRL
 * file: every peer certificate such a CA signs is refused ("unable to get
 * certificate CRL", the peer told "unknown CA"), and a rotation that adds
 * the new CA before its CRL passed -n and started without a word (a
 * hostile tester). A root that signs only intermediates needs none. */
static void warn_ca_without_crl(struct rv_tls_crls *c, X509_STORE *store, const char *path)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);

	for (size_t i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = store_ca(objs, i);
		bool has = false;
		char name[224], m[PATH_MAX + 512];

		for (size_t j = 0; ca && !has && j < c->nkept; j++) {
			has = rv_tls_same_key(c->kept_signer[j], ca);
		}
		if (!ca || has) {
			continue;
		}
		name_ca(store, ca, name, sizeof(name));
		if (c->no_crl++ == 0) {
			snprintf(c->no_crl_ca, sizeof(c->no_crl_ca), "%s", name);
		}
		rv_warnx("%s", no_crl_text(m, sizeof(m), name, "", path));
	}
	ERR_clear_error();
}

/* note_end lowers |ex|'s CRL end to |crl|'s nextUpdate, naming |signer|. */
static void note_end(struct rv_tls_expiry *ex, X509_CRL *crl, X509 *signer)
{
	int64_t next;

	if (rv_tls_unix_time(X509_CRL_get0_nextUpdate(crl), &next) &&
	    (ex->crl_next_update == 0 || next < ex->crl_next_update)) {
		ex->crl_next_update = next;
		rv_tls_name_oneline(X509_get_subject_name(signer), ex->crl_next_ca,
				    sizeof(ex->crl_next_ca));
	}
}

/* signer_ends sets |ex|'s CRL end from the newest CRL of each CA alone:
 * the one the handshake and the live check judge by (an older one kept
 * beside it lapsed, and was said as "refusing that CA's peers"). */
/* newest_of_signer: is |c|'s kept CRL |i| the newest of its signer's? */
static bool newest_of_signer(const struct rv_tls_crls *c, size_t i)
{
	int64_t ti = INT64_MIN, tj = INT64_MIN;
	bool newer = false;

	(void)rv_tls_unix_time(X509_CRL_get0_lastUpdate(c->kept[i]), &ti);
	for (size_t j = 0; !newer && j < c->nkept; j++) {
		newer = j != i && rv_tls_same_key(c->kept_signer[j], c->kept_signer[i]) &&
			rv_tls_unix_time(X509_CRL_get0_lastUpdate(c->kept[j]), &tj) &&
			(tj > ti || (tj == ti && j > i));
	}
	return !newer;
}

static void signer_ends(const struct rv_tls_crls *c, struct rv_tls_expiry *ex)
{
	ex->crl_next_update = 0;
	ex->crl_next_ca[0] = '\0';
	for (size_t i = 0; i < c->nkept; i++) {
		if (newest_of_signer(c, i)) {
			note_end(ex, c->kept[i], c->kept_signer[i]);
		}
	}
	ERR_clear_error();
}

unsigned rv_tls_crls_lapsed(const struct rv_tls_crls *c, int64_t now, int64_t *last_lapse,
			    int64_t *next_end, char *lapse_ca, size_t lapse_ca_len)
{
	unsigned n = 0;

	*last_lapse = 0;
	*next_end = 0;
	lapse_ca[0] = '\0';
	for (size_t i = 0; i < c->nkept; i++) {
		int64_t next;

		if (!rv_tls_unix_time(X509_CRL_get0_nextUpdate(c->kept[i]), &next) ||
		    !newest_of_signer(c, i)) {
			continue;
		}
		if (next <= now) {
			n++;
			if (next > *last_lapse) {
				*last_lapse = next;
				rv_tls_name_oneline(X509_get_subject_name(c->kept_signer[i]),
						    lapse_ca, lapse_ca_len);
			}
		} else if (*next_end == 0 || next < *next_end) {
			*next_end = next;
		}
	}
	ERR_clear_error();
	return n;
}

/* same_ca: are |a| and |b| one CA as the verifier finds a CRL for it, by
 * its name and then its key? Two CAs of one key under two names each have
 * their own CRLs (a valid one of the first counted for the second, whose
 * peers were refused while status said no CRL was ahead: round-sixty-seven
 * tester 292). */
static bool same_ca(X509 *a, X509 *b)
{
	return X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0 &&
	       rv_tls_same_key(a, b);
}

/* ca_times: for the CA of |c|'s CRL |i|, when its first CRL becomes valid
 * (|*first|) and its first one dated after |now| (|*ahead|), INT64_MAX
 * each where none; false when |i| is not that CA's first CRL in |c| (each
 * CA is judged once). */
static bool ca_times(const struct rv_tls_crls *c, size_t i, int64_t now, int64_t *first,
		     int64_t *ahead)
{
	int64_t from;

	*first = *ahead = INT64_MAX;
	for (size_t j = 0; j < i; j++) {
		if (same_ca(c->kept_signer[j], c->kept_signer[i])) {
			return false;
		}
	}
	for (size_t j = i; j < c->nkept; j++) {
		if (!same_ca(c->kept_signer[j], c->kept_signer[i]) ||
		    !rv_tls_unix_time(X509_CRL_get0_lastUpdate(c->kept[j]), &from)) {
			continue;
		}
		*first = from < *first ? from : *first;
		if (from > now && from < *ahead) {
			*ahead = from;
		}
	}
	return true;
}

unsigned rv_tls_crls_unborn(const struct rv_tls_crls *c, int64_t now, int64_t *valid_at, char *ca,
			    size_t ca_len)
{
	unsigned n = 0;

	*valid_at = 0;
	ca[0] = '\0';
	for (size_t i = 0; i < c->nkept; i++) {
		int64_t first, ahead;

		if (!ca_times(c, i, now, &first, &ahead) || first == INT64_MAX || first <= now) {
			continue;
		}
		/* The CA named is the one of the time given, the latest: the
		 * first CA went with the latest time of them all (round
		 * sixty-seven tester 297). */
		n++;
		if (first > *valid_at) {
			*valid_at = first;
			rv_tls_name_oneline(X509_get_subject_name(c->kept_signer[i]), ca, ca_len);
		}
	}
	ERR_clear_error();
	return n;
}

unsigned rv_tls_crls_pending(const struct rv_tls_crls *c, int64_t now, int64_t *at, char *ca,
			     size_t ca_len)
{
	unsigned n = 0;

	*at = 0;
	ca[0] = '\0';
	for (size_t i = 0; i < c->nkept; i++) {
		int64_t first, ahead;

		/* One valid now (the first is), and one dated ahead. */
		if (!ca_times(c, i, now, &first, &ahead) || first > now || ahead == INT64_MAX) {
			continue;
		}
		n++;
		if (ahead > *at) {
			*at = ahead;
			rv_tls_name_oneline(X509_get_subject_name(c->kept_signer[i]), ca, ca_len);
		}
	}
	ERR_clear_error();
	return n;
}

int64_t rv_tls_crls_born(const struct rv_tls_crls *c, int64_t since, int64_t now, int64_t *next)
{
	int64_t latest = 0, from;

	*next = 0;
	for (size_t i = 0; i < c->nkept; i++) {
		if (!rv_tls_unix_time(X509_CRL_get0_lastUpdate(c->kept[i]), &from)) {
			continue;
		}
		if (from > since && from <= now && from > latest) {
			latest = from;
		} else if (from > now && (*next == 0 || from < *next)) {
			*next = from;
		}
	}
	ERR_clear_error();
	return latest;
}

/* take puts |crl| (signed by |signer|; the caller's reference is taken
 * over) in force: in |store| and |c|, its number and times noted. */
static int take(struct rv_tls_crls *c, X509_STORE *store, struct rv_tls_expiry *ex, X509_CRL *crl,
		X509 *signer, const char *path, char *err, size_t err_len)
{
	char ebuf[256];
	int64_t from;

	if (rv_tls_unix_time(X509_CRL_get0_lastUpdate(crl), &from)) {
		if (from > ex->crl_last_update) {
			ex->crl_last_update = from;
			rv_tls_name_oneline(X509_get_subject_name(signer), ex->crl_last_ca,
					    sizeof(ex->crl_last_ca));
		}
		if (from > (int64_t)time(NULL) &&
		    (ex->crl_next_valid == 0 || from < ex->crl_next_valid)) {
			ex->crl_next_valid = from;
		}
	}
	/* Every CRL's end counts until the newest of each CA is known
	 * (signer_ends); with more than RV_TLS_CRL_KEPT, for good. */
	note_end(ex, crl, signer);
	note_crl_number(c->seen, crl, signer);
	rv_tls_trust_add(c->trust, NULL, crl);
	if (!X509_STORE_add_crl(store, crl)) {
		X509_CRL_free(crl);
		snprintf(err, err_len, "CRL file %s: cannot add CRL: %s", path,
			 rv_crypto_errors_str(ebuf, sizeof(ebuf)));
		return -EINVAL;
	}
	if (c->nkept < RV_TLS_CRL_KEPT) {
		X509_up_ref(signer);
		c->kept_signer[c->nkept] = signer;
		c->kept[c->nkept++] = crl;
	} else {
		X509_CRL_free(crl);
		c->kept_all = false;
	}
	return 0;
}

/* hold_back: is |crl| (signed by |signer|) not valid yet while |hold| has
 * CRLs of the same CA key? Then those are taken in its place, once (each
 * in |used|), and true. A CA's new CRL dated ahead (its host's clock) held
 * back the whole file, and with it another CA's new revocations, for as
 * long (round-four tester 29). */
static bool hold_back(struct rv_tls_crls *c, X509_STORE *store, struct rv_tls_expiry *ex,
		      const struct rv_tls_crls *hold, bool used[RV_TLS_CRL_KEPT], X509_CRL *crl,
		      X509 *signer, const char *path, int *ret, char *err, size_t err_len)
{
	int64_t from, now = (int64_t)time(NULL);
	bool any = false, fresh = false;

	if (!hold || !rv_tls_unix_time(X509_CRL_get0_lastUpdate(crl), &from) || from <= now) {
		return false;
	}
	for (size_t i = 0; i < hold->nkept; i++) {
		any = any || rv_tls_same_key(hold->kept_signer[i], signer);
	}
	if (!any) {
		return false; /* nothing better: it is taken, and said */
	}
	for (size_t i = 0; *ret == 0 && i < hold->nkept; i++) {
		if (used[i] || !rv_tls_same_key(hold->kept_signer[i], signer)) {
			continue;
		}
		used[i] = true;
		fresh = true;
		X509_CRL_up_ref(hold->kept[i]);
		*ret = take(c, store, ex, hold->kept[i], hold->kept_signer[i], path, err, err_len);
	}
	/* A CA counted once, whatever the number of its CRLs dated ahead. */
	if (fresh && c->held++ == 0) {
		rv_tls_name_oneline(X509_get_subject_name(signer), c->held_ca, sizeof(c->held_ca));
	}
	return true;
}

/* same_issuer: were kept CRLs |i| and |j| issued by one CA, its name and
 * its key? Two CAs of one key under two names (a CA renamed) keep their
 * own CRLs, each numbered from 1. */
static bool same_issuer(const struct rv_tls_crls *c, size_t i, size_t j)
{
	return rv_tls_same_key(c->kept_signer[i], c->kept_signer[j]) &&
	       X509_NAME_cmp(X509_CRL_get_issuer(c->kept[i]), X509_CRL_get_issuer(c->kept[j])) == 0;
}

/* two_newest: does the file hold two different CRLs of one CA under that
 * CA's highest number? Which is the newest cannot be told: the first one's
 * digest was remembered, and the other then refused at every later load
 * and restart as made again from an older index (round-twenty-four tester
 * 107). Under a lower number they do not matter, whatever the file's order
 * (tester 108). The CA's name into |who|. */
static bool two_newest(const struct rv_tls_crls *c, char *who, size_t who_len)
{
	uint8_t a[24], b[24], top[24];
	uint8_t ma[SHA256_DIGEST_LENGTH], mb[SHA256_DIGEST_LENGTH];
	unsigned la = 0, lb = 0;

	for (size_t i = 0; i < c->nkept; i++) {
		for (size_t j = 0; j < i; j++) {
			bool highest = true;

			if (!same_issuer(c, i, j) || !crl_number(c->kept[i], a) ||
			    !crl_number(c->kept[j], b) || memcmp(a, b, sizeof(a)) != 0 ||
			    !X509_CRL_digest(c->kept[i], EVP_sha256(), ma, &la) ||
			    !X509_CRL_digest(c->kept[j], EVP_sha256(), mb, &lb) || la != lb ||
			    memcmp(ma, mb, la) == 0) {
				continue;
			}
			for (size_t k = 0; highest && k < c->nkept; k++) {
				highest = !same_issuer(c, i, k) || !crl_number(c->kept[k], top) ||
					  memcmp(top, a, sizeof(a)) <= 0;
			}
			if (highest) {
				rv_tls_name_oneline(X509_CRL_get_issuer(c->kept[i]), who, who_len);
				ERR_clear_error();
				return true;
			}
		}
	}
	ERR_clear_error();
	return false;
}

int rv_tls_crls_load(struct rv_tls_crls *c, X509_STORE *store, struct rv_tls_expiry *ex,
		     const char *path, const struct rv_tls_crls *hold, struct stat *opened,
		     char *err, size_t err_len)
{
	bool used[RV_TLS_CRL_KEPT] = { false };
	char who[160];
	X509_CRL *crl;
	FILE *f;
	unsigned begins;
	bool key;
	int ret = 0, n = 0;

	c->kept_all = true;
	memset(opened, 0, sizeof(*opened));
	f = rv_tls_pem_open("CRL", path, err, err_len, &ret);
	if (!f) {
		return ret;
	}
	if (fstat(fileno(f), opened) != 0) {
		memset(opened, 0, sizeof(*opened));
	}
	if (rv_tls_pem_trust_refused(f, "CRL", path, err, err_len)) {
		ret = -EACCES;
		goto out;
	}
	begins = rv_tls_pem_scan(f, "X509 CRL", &key);
	if (key) {
		snprintf(err, err_len,
			 "CRL file %s holds a private key: refused (it goes to peers)", path);
		ret = -EINVAL;
		goto out;
	}
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		X509 *signer = signed_by_ca(store, crl);

		if (!signer) {
			char issuer[160];

			rv_tls_name_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
			X509_CRL_free(crl);
			snprintf(err, err_len,
				 "CRL file %s: CRL %d (issuer %s) is not signed by the CA (ca): "
				 "another CA's CRL, or damaged",
				 path, n + 1, issuer);
			ret = -EINVAL;
			goto out;
		}
		ret = crl_kind_refused(store, crl, path, n + 1, err, err_len);
		if (ret) {
			X509_CRL_free(crl);
			goto out;
		}
		if (!akid_is(crl, signer)) {
			X509_CRL_free(crl);
			snprintf(err, err_len,
				 "CRL file %s: CRL %d names another key than the one that signed "
				 "it "
				 "(its authority key identifier): a signing tool's error, refused "
				 "(the handshake and the check of live sessions would choose "
				 "different CRLs)",
				 path, n + 1);
			ret = -EINVAL;
			goto out;
		}
		if (hold_back(c, store, ex, hold, used, crl, signer, path, &ret, err, err_len)) {
			X509_CRL_free(crl);
		} else {
			ret = take(c, store, ex, crl, signer, path, err, err_len);
		}
		if (ret) {
			goto out;
		}
		n++;
	}
	ret = rv_tls_pem_read_all("CRL", "CRL", path, (unsigned)n, begins, err, err_len);
	if (ret) {
		goto out;
	}
	if (n == 0 && begins > 0) {
		snprintf(err, err_len,
			 "CRL file %s: its first CRL block is damaged or cut short, or does not "
			 "start its line (%u BEGIN line(s) in it): refused",
			 path, begins);
		ret = -EINVAL;
		goto out;
	}
	if (n == 0) {
		snprintf(err, err_len,
			 "CRL file %s holds no PEM CRL it can read (expected "
			 "-----BEGIN X509 CRL----- at the start of a line; create it with "
			 "`ringvpn pki revoke`)",
			 path);
		ret = -EINVAL;
		goto out;
	}
	if (two_newest(c, who, sizeof(who))) {
		snprintf(err, err_len,
			 "CRL file %s: two different CRLs of CA %s under its highest number: which "
			 "is the newest cannot be told; refused (leave out the one made again from "
			 "an older revocation index)",
			 path, who);
		ret = -EINVAL;
		goto out;
	}
	ex->crl_signers = 0;
	for (size_t i = 0; i < RV_TLS_CRL_SEEN && c->seen[i].have; i++) {
		ex->crl_signers++;
	}
	if (c->kept_all) {
		signer_ends(c, ex);
		warn_ca_without_crl(c, store, path);
	}
	/* The leaf's CRL is required; a CA between the leaf and its root is
	 * checked against its issuer's CRL where one is loaded
	 * (rv_x509_chain_ca_revoked). */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
out:
	fclose(f);
	return ret;
}

int rv_tls_crls_copy(struct rv_tls_crls *n, X509_STORE *dst, const struct rv_tls_crls *cur,
		     bool cur_has_crl)
{
	if (cur_has_crl && !cur->kept_all) {
		return -E2BIG;
	}
	for (size_t i = 0; i < cur->nkept; i++) {
		if (!X509_STORE_add_crl(dst, cur->kept[i])) {
			ERR_clear_error();
			return -ENOMEM;
		}
		X509_CRL_up_ref(cur->kept[i]);
		X509_up_ref(cur->kept_signer[i]);
		n->kept_signer[n->nkept] = cur->kept_signer[i];
		n->kept[n->nkept++] = cur->kept[i];
		rv_tls_trust_add(n->trust, NULL, cur->kept[i]);
	}
	n->kept_all = cur->kept_all;
	if (cur_has_crl) {
		X509_STORE_set_flags(dst, X509_V_FLAG_CRL_CHECK);
	}
	memcpy(n->seen, cur->seen, sizeof(n->seen));
	return 0;
}

/* number_str: a big-endian number in decimal (OPENSSL_free it). */
static char *number_str(const uint8_t *num, size_t len)
{
	BIGNUM *bn = BN_bin2bn(num, len, NULL);
	char *dec = bn ? BN_bn2dec(bn) : NULL;

	BN_free(bn);
	ERR_clear_error();
	return dec;
}

/* seen_of: |c|'s record of the signer |signer|, or NULL. */
static const struct rv_tls_crl_seen *seen_of(const struct rv_tls_crls *c, const uint8_t *signer)
{
	for (size_t i = 0; i < RV_TLS_CRL_SEEN && c->seen[i].have; i++) {
		if (memcmp(c->seen[i].signer, signer, sizeof(c->seen[i].signer)) == 0) {
			return &c->seen[i];
		}
	}
	return NULL;
}

/* How much older by its date alone a CRL may be than the one it follows,
 * where a number is missing (rv_tls_crls_older). */
#define DATE_SLACK_S (10 * 60)

static const struct rv_tls_crl_seen *older_of(const struct rv_tls_crls *n,
					      const struct rv_tls_crls *cur, bool before, char *why,
					      size_t why_len)
{
	const char *than = before ? "the newest taken before this start" : "the running CRL";

	for (size_t i = 0; i < RV_TLS_CRL_SEEN && n->seen[i].have; i++) {
		const struct rv_tls_crl_seen *a = &n->seen[i], *b = seen_of(cur, a->signer);
		char at_a[32], at_b[32];

		if (!b) {
			continue;
		}
		if (a->numbered && b->numbered) {
			int cmp = memcmp(a->number, b->number, sizeof(a->number));

			if (cmp == 0 && a->have_md && b->have_md &&
			    memcmp(a->crl_md, b->crl_md, sizeof(a->crl_md)) != 0) {
				char *na = number_str(a->number, sizeof(a->number));

				snprintf(why, why_len,
					 "it is another CRL under the number %s of %s (made "
					 "again from an older revocation index?)",
					 na ? na : "?", than);
				OPENSSL_free(na);
				return a;
			}
			if (cmp == 0 && b->unnumbered_since > a->unnumbered_since) {
				/* A CRL without a number was taken after the
				 * numbered one, and this is that one again
				 * without it (round-twelve tester 52), also in
				 * the same second (tester 57). By the order they
				 * were taken in, not by the latest thisUpdate of
				 * all: a lower number dated later (another
				 * signing host, a clock set back) made the
				 * running CRL "older" than itself (tester 55). */
				rv_tls_fmt_utc(a->this_update, at_a, sizeof(at_a));
				rv_tls_fmt_utc(b->unnumbered_since, at_b, sizeof(at_b));
				snprintf(why, why_len,
					 "it was issued at %s, before a CRL without a number "
					 "that was taken %s (%s)",
					 at_a, before ? "before this start" : "since", at_b);
				return a;
			}
			if (cmp < 0) {
				char *na = number_str(a->number, sizeof(a->number));
				char *nb = number_str(b->number, sizeof(b->number));

				snprintf(why, why_len, "its number %s is below %s%s %s",
					 na ? na : "?", than, before ? "," : "'s", nb ? nb : "?");
				OPENSSL_free(na);
				OPENSSL_free(nb);
				return a;
			}
			continue;
		}
		/* Dates alone, a number missing on one side: within
		 * DATE_SLACK_S they cannot tell a copy from the next CRL
		 * (`pki` dates its CRLs 5 minutes back: its first after one
		 * without a number, dated now, was refused: tester 57). */
		if (b->this_update > INT64_MIN + DATE_SLACK_S &&
		    a->this_update < b->this_update - DATE_SLACK_S) {
			rv_tls_fmt_utc(a->this_update, at_a, sizeof(at_a));
			rv_tls_fmt_utc(b->this_update, at_b, sizeof(at_b));
			snprintf(why, why_len,
				 "it was issued at %s, before %s (%s), and a number (cRLNumber) "
				 "is missing from %s to tell them apart",
				 at_a, than, at_b, a->numbered ? "that one" : "it");
			return a;
		}
	}
	return NULL;
}

/* signer_named writes the subject of the CA of |c| whose key is |md|
 * into |out| (empty: none of |c|'s). */
static void signer_named(const struct rv_tls_crls *c, const uint8_t md[SHA256_DIGEST_LENGTH],
			 char *out, size_t len)
{
	uint8_t k[SHA256_DIGEST_LENGTH];

	out[0] = '\0';
	for (size_t i = 0; i < c->nkept; i++) {
		if (key_md(c->kept_signer[i], k) && memcmp(k, md, sizeof(k)) == 0) {
			rv_tls_name_oneline(X509_get_subject_name(c->kept_signer[i]), out, len);
			return;
		}
	}
}

/* several_signers: are |c|'s CRLs of more than one CA key? */
static bool several_signers(const struct rv_tls_crls *c)
{
	for (size_t i = 1; i < c->nkept; i++) {
		if (!rv_tls_same_key(c->kept_signer[i], c->kept_signer[0])) {
			return true;
		}
	}
	return false;
}

bool rv_tls_crls_older(const struct rv_tls_crls *n, const struct rv_tls_crls *cur, bool before,
		       char *why, size_t why_len)
{
	const struct rv_tls_crl_seen *a = older_of(n, cur, before, why, why_len);
	char ca[160];
	size_t used;

	if (a == NULL) {
		return false;
	}
	/* Which CA's, of a file of several CAs' CRLs: a rotation has two,
	 * and the refusal named neither (round-sixty-eight tester 305). */
	signer_named(n, a->signer, ca, sizeof(ca));
	used = strlen(why);
	if (ca[0] && used < why_len && several_signers(n)) {
		snprintf(why + used, why_len - used, " (the CRL of CA %s)", ca);
	}
	return true;
}

void rv_tls_crls_carry(struct rv_tls_crls *n, const struct rv_tls_crls *cur)
{
	/* A signer the new file no longer has is remembered too: its CRL may
	 * come back, older. */
	for (size_t j = 0; j < RV_TLS_CRL_SEEN && cur->seen[j].have; j++) {
		seen_merge(n->seen, &cur->seen[j], MERGE_OLDER);
	}
}

void rv_tls_crls_add_newer(struct rv_tls_crls *old, const struct rv_tls_crls *n)
{
	for (size_t j = 0; j < RV_TLS_CRL_SEEN && n->seen[j].have; j++) {
		seen_merge(old->seen, &n->seen[j], MERGE_NEWER);
	}
}

void rv_tls_crls_strip(X509_STORE *store)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);

	/* From the end: a deletion keeps the stack's order, which lookups
	 * rely on. The object is the store's own (X509_STORE_add_crl's),
	 * freed as X509_STORE_free frees it. */
	for (size_t i = objs ? sk_X509_OBJECT_num(objs) : 0; i-- > 0;) {
		X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);

		if (X509_OBJECT_get_type(o) == X509_LU_CRL) {
			(void)sk_X509_OBJECT_delete(objs, i);
			X509_OBJECT_free_contents(o);
			OPENSSL_free(o);
		}
	}
	X509_VERIFY_PARAM_clear_flags(X509_STORE_get0_param(store), X509_V_FLAG_CRL_CHECK);
}

void rv_tls_crls_free(struct rv_tls_crls *c)
{
	for (size_t i = 0; i < c->nkept; i++) {
		X509_CRL_free(c->kept[i]);
		X509_free(c->kept_signer[i]);
	}
	c->nkept = 0;
}
