/*
 * crl.h — revocation: the CA's revoked.txt index and the signed ca.crl.
 *
 * DIR/revoked.txt is the source of truth, one revoked certificate a line:
 *   <serial in hex> <revocation time, unix seconds> <subject, informational>
 * Lines starting with '#' and blank lines are ignored. DIR/ca.crl is rebuilt
 * from it on every change: a v2 CRL signed by the CA with lastUpdate = now,
 * nextUpdate = now + days (no later than the CA's end, with a note in the
 * rv_pki_err), an authorityKeyIdentifier and a cRLNumber one
 * higher than the previous ca.crl's. Both files are replaced atomically, so a
 * server re-reading ca.crl never sees a partial file. The commands that
 * change them hold the CA's lock (ca.h), so two run on one CA at the same
 * moment run one after the other.
 *
 * Free of BoringSSL types so cli/ can include it.
 */
#ifndef RV_PKI_CRL_H
#define RV_PKI_CRL_H

#include <stdbool.h>

#include "pki/err.h"

#define RV_PKI_CRL_DAYS_DEFAULT 30

struct rv_pki_ca;

/* What rv_pki_revoke* revoked: its serial (hex digits, as revoked.txt and
 * 'ringvpn pki show' give it), its subject ("" by serial), and whether it
 * was revoked already. */
struct rv_pki_revoked {
	char serial[41];
	char subject[256];
	bool already;
};

/* rv_pki_revoke adds the certificate in |cert_path| to the CA's revocation
 * index and rebuilds ca.crl valid for |crl_days| (0 means the default),
 * holding the CA's lock (ca.h): the one |ca| holds (rv_pki_ca_open_locked),
 * else taken here, refusing (-ESTALE) when the CA was replaced meanwhile.
 * The file must hold one certificate, issued by |ca|,
 * with a serial number a peer takes (RFC 5280: positive, at most 20
 * octets): -EINVAL otherwise, nothing written. If it was already revoked,
 * |out->already| is set and the CRL is rebuilt anyway. Returns 0 or
 * -errno with |err| filled. */
int rv_pki_revoke(const struct rv_pki_ca *ca, const char *cert_path, int crl_days,
		  struct rv_pki_revoked *out, struct rv_pki_err *err);

/* rv_pki_revoke_serial is rv_pki_revoke for a certificate known only by its
 * serial number |serial_hex| (hex digits, as 'ringvpn pki show' prints it). */
int rv_pki_revoke_serial(const struct rv_pki_ca *ca, const char *serial_hex, int crl_days,
			 struct rv_pki_revoked *out, struct rv_pki_err *err);

/* Most revocations lifted by one rv_pki_crl_update. */
#define RV_PKI_LIFT_MAX 64

/* rv_pki_crl_update rebuilds and re-signs ca.crl from revoked.txt (an empty
 * or missing index gives a valid empty CRL). A serial the previous ca.crl
 * revokes and the index no longer lists is refused (-EINVAL: the index lost
 * lines), but the |num_lift| serials (hex) in |lift|, whose revocations are
 * lifted on purpose: each must be revoked by the previous CRL and absent
 * from the index. rv_pki_revoke* refuse any such serial. The previous
 * CRL's revocations of a serial no certificate may carry (zero, negative,
 * longer than 20 octets: another tool's, or an older `pki revoke`'s),
 * which no index can list, are carried over as they are, with a note in
 * |err| (kind NONE); rv_pki_revoke* carry them over too. |crl_days| 0
 * means the default. Holds the CA's lock as rv_pki_revoke does. Returns 0
 * or -errno with |err| filled. */
int rv_pki_crl_update(const struct rv_pki_ca *ca, int crl_days, const char *const *lift,
		      size_t num_lift, struct rv_pki_err *err);

#endif /* RV_PKI_CRL_H */
