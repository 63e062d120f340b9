/*
 * x509path.h — what the certificate verifier leaves to its caller when
 * every CA of a chain is a trust anchor.
 *
 * ringvpn builds a peer's chain from its CA file alone (tls/ctx.c), so each
 * CA there, intermediates too, is a trust anchor, and BoringSSL's verifier
 * checks the path length constraints and extended key usages of the
 * untrusted part of a chain only; X509_V_FLAG_CRL_CHECK looks at the leaf
 * alone. The handshake (tls/), the re-verification of live sessions and
 * `pki verify` (pki/) check them here, the same way.
 */
#ifndef RV_CRYPTO_X509PATH_H
#define RV_CRYPTO_X509PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h> /* XKU_* */

/* rv_x509_no_issuer: does the verification error |e| say that a
 * certificate's issuer is not among the CAs (with the chain built from the
 * CA file alone, the peer's intermediate may be what is missing)? */
static inline bool rv_x509_no_issuer(long e)
{
	return e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
}

/* rv_x509_chain_ca_unfit: the first CA of |chain| (leaf first, as
 * X509_STORE_CTX_get0_chain gives it) with more CAs below it than its
 * basicConstraints pathLenConstraint allows, or with an extended key usage
 * that leaves out the leaf's use |xku| (XKU_SSL_CLIENT, XKU_SSL_SERVER),
 * as the verifier checks the CAs that are not trust anchors; |*why| is then X509_V_ERR_PATH_LENGTH_EXCEEDED or
 * X509_V_ERR_INVALID_PURPOSE. NULL if none (or |chain| is NULL). */
X509 *rv_x509_chain_ca_unfit(STACK_OF(X509) * chain, uint32_t xku, long *why);

/* What a ringvpn peer reads of a TLS Certificate message: BoringSSL's
 * default max_cert_list, which both ends keep (tls/ctx.c checks its own
 * file against SSL_CTX_get_max_cert_list; `pki verify` against this). */
#define RV_X509_CERT_MSG_MAX ((size_t)100 * 1024)

/* rv_x509_cert_msg_len: the length of the TLS 1.3 Certificate message that
 * carries |leaf| (NULL: the first of |chain| is the leaf) and the
 * certificates of |chain| (may be NULL) after it: its request context and
 * list length, and for each certificate its length, its DER and an empty
 * extensions block. */
size_t rv_x509_cert_msg_len(X509 *leaf, STACK_OF(X509) * chain);

/* rv_x509_unfit_why: what rv_x509_chain_ca_unfit's |why| means of the CA
 * it named, for the use |xku|: "path length constraint exceeded", or "its
 * extended key usage leaves out TLS client use" (the verifier's
 * "unsupported certificate purpose" sent operators to the leaf: round-
 * sixty-seven tester 292). */
const char *rv_x509_unfit_why(long why, uint32_t xku);

/* rv_x509_valid_now: is |x| within its validity now? rv_x509_same_key:
 * do |a| and |b| carry the same public key? */
bool rv_x509_valid_now(X509 *x);
bool rv_x509_same_key(X509 *a, X509 *b);

/* rv_x509_outdone_copy: is CA certificate |i| of |all| a copy of another
 * one there (the same name and key: a CA re-issued to extend it) that
 * serves better, valid now where it is not or ending later (with equal
 * ends, the first in the file)? Only the best copy goes into a store:
 * chain building takes the first copy whose name and key match, and with
 * the old one first its expiry ended every session although the new one
 * stood beside it (a hostile tester). The handshake's store (tls/ctx.c)
 * and `pki verify` take the same copy (round-sixty-seven tester 292). */
bool rv_x509_outdone_copy(STACK_OF(X509) * all, size_t i);

/* rv_x509_use_part: the part of |x| that keeps it from the use |xku| when
 * X509_check_purpose refuses it: "extended key usage" when that leaves the
 * use out, else "key usage". */
const char *rv_x509_use_part(X509 *x, uint32_t xku);

/* rv_x509_crl_lists_ca: does |crl|, if |issuer| signed it, list the CA
 * certificate |x| (issued by |issuer|) as revoked? The signature is checked
 * only for a CRL that lists it: a CRL of another CA of the same name must
 * not count. */
bool rv_x509_crl_lists_ca(X509_CRL *crl, X509 *x, X509 *issuer);

/* rv_x509_chain_ca_revoked: the first CA certificate of the chain |xs| has
 * verified, between the leaf and the root, that a CRL of the store from its
 * issuer lists; NULL if none. A root's own CRL listing the root revokes
 * nothing a peer can rely on, and most roots publish none. */
X509 *rv_x509_chain_ca_revoked(X509_STORE_CTX *xs);

/* rv_x509_leaf_signed: is the leaf of the chain |xs| has built signed by
 * its issuer there (true when the chain holds no issuer to ask)? The
 * verifier looks at the CRL and the CAs' dates before the signatures: a
 * certificate forged with the CA's name, signed by any key, is refused as
 * revoked or expired unless its caller asks this first. */
bool rv_x509_leaf_signed(X509_STORE_CTX *xs);

/* rv_x509_issuer_in_store: of a certificate |x| whose issuer |xs| found
 * none for (rv_x509_no_issuer), what the store holds under its issuer's
 * name: no CA of that name, CAs of that name but none with the key that
 * signed |x| (a CA made anew under the old name, or a forgery), one with
 * that key whose certificate |x|'s authority key identifier does not name
 * (a CA re-issued under the same key), or one with that key that may not
 * issue (its key usage or basic constraints). */
enum rv_x509_issuer_kind {
	RV_X509_ISSUER_ABSENT,
	RV_X509_ISSUER_OTHER_KEY,
	RV_X509_ISSUER_OTHER_CERT,
	RV_X509_ISSUER_CANNOT_SIGN,
};
enum rv_x509_issuer_kind rv_x509_issuer_in_store(X509_STORE_CTX *xs, X509 *x);

/* rv_x509_issuer_why: the words that follow "its issuer NAME is in the CA
 * file" for a CA of the right key that was refused (OTHER_CERT,
 * CANNOT_SIGN); NULL for the other kinds. The handshake and `pki verify`
 * say them alike. */
const char *rv_x509_issuer_why(enum rv_x509_issuer_kind kind);

/* rv_x509_signs_tls13: is |x|'s key one of those the handshake's signature
 * algorithms take (ECDSA P-256, P-384; RSA-PSS, whose SHA-256 form needs a
 * modulus of 522 bits or more)? The handshake (tls/ctx.c) and `pki verify`
 * judge alike. */
bool rv_x509_signs_tls13(X509 *x);

/* Most octets of a serial number (RFC 5280 4.1.2.2), counted without the
 * sign octet DER puts before a value whose top bit is set: the 40 hex
 * digits a CA's revoked.txt holds (pki/crl.c). */
#define RV_X509_SERIAL_MAX 20

/* rv_x509_serial_unfit: what keeps |x|'s serial number from being one RFC
 * 5280 4.1.2.2 allows, a positive integer of at most RV_X509_SERIAL_MAX
 * octets: "zero", "negative", "longer than 20 octets" (or "unreadable");
 * NULL when it is one. `pki revoke` can list no other serial in a CA's
 * revoked.txt, so a certificate of another could never be revoked by the
 * deployment's own tool: the handshake (tls/ctx.c), `pki verify` and
 * `pki revoke` refuse it alike (round-seventy tester 322). */
const char *rv_x509_serial_unfit(const X509 *x);

/* rv_x509_chain_serial_unfit: the first certificate of |chain| (leaf
 * first, as X509_STORE_CTX_get0_chain gives it) whose serial number
 * rv_x509_serial_unfit refuses, with its word in |*why|; NULL if none (or
 * |chain| is NULL). The chain's last, when it is a self-signed root above
 * the leaf, is passed over: a trust anchor of the CA file, which no CRL
 * revokes. An intermediate is not: its issuer's CRL revokes it, and `pki
 * crl` could not list such a serial, so a revoked intermediate of serial 0
 * was let back in by the next CRL while the leaf alone was checked
 * (round-seventy tester 324). The handshake (tls/ctx.c), the
 * re-verification of live sessions and `pki verify` refuse alike. */
X509 *rv_x509_chain_serial_unfit(STACK_OF(X509) * chain, const char **why);

/* rv_x509_self_signed: is |x| a root, its own issuer (the name, and the
 * key identifiers when present) that may sign certificates? */
bool rv_x509_self_signed(X509 *x);

/* What follows "its serial number is WHY" wherever that refusal is said,
 * in one wording. */
#define RV_X509_SERIAL_RULE                                                                 \
	" (RFC 5280 allows a positive integer of at most 20 octets): `ringvpn pki revoke` " \
	"could not revoke it"

#endif /* RV_CRYPTO_X509PATH_H */
