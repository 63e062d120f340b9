/*
 * t_pki.h — a throw-away test PKI for unit and integration tests, built with
 * pki/ in a fresh temporary directory (never committed, keys never reused).
 *
 * Layout under p->dir (the same as test/integ/mkpki.sh produces):
 *   ca/ca.crt ca/ca.key ca/ca.crl ca/revoked.txt   the CA (CN "ringvpn test CA")
 *   server.crt server.key      server cert for T_PKI_SERVER_NAME ("vpn.test")
 *   client1.crt client1.key    valid client certs, CN "client1", "client2"
 *   client2.crt client2.key
 *   expired.crt expired.key    client cert (CN "expired") that expired a day ago
 *   other-ca/ca.crt ...        a second, unrelated CA
 *   rogue.crt rogue.key        client cert (CN "rogue") signed by other-ca
 *   revoked.crt revoked.key    client cert (CN "revoked") listed in ca/ca.crl
 *
 * Usage:
 *   struct t_pki p;
 *   cr_assert_eq(t_pki_create(&p), 0);
 *   ... use p.ca_crt, p.server_crt, p.client_crt[0], ...
 *   t_pki_destroy(&p);
 * Not thread-safe against concurrent use of one struct; separate structs are
 * independent.
 */
#ifndef RV_TEST_LIB_T_PKI_H
#define RV_TEST_LIB_T_PKI_H

#include <stddef.h>

#define T_PKI_SERVER_NAME "vpn.test"
#define T_PKI_NUM_CLIENTS 2
#define T_PKI_PATH 512

struct t_pki {
	char dir[T_PKI_PATH]; /* temporary root, removed by t_pki_destroy */
	char ca_dir[T_PKI_PATH];
	char ca_crt[T_PKI_PATH];
	char ca_key[T_PKI_PATH];
	char ca_crl[T_PKI_PATH];
	char server_crt[T_PKI_PATH];
	char server_key[T_PKI_PATH];
	char client_crt[T_PKI_NUM_CLIENTS][T_PKI_PATH]; /* CN client1, client2 */
	char client_key[T_PKI_NUM_CLIENTS][T_PKI_PATH];
	char expired_crt[T_PKI_PATH];
	char expired_key[T_PKI_PATH];
	char other_ca_dir[T_PKI_PATH];
	char other_ca_crt[T_PKI_PATH];
	char other_ca_key[T_PKI_PATH];
	char rogue_crt[T_PKI_PATH];
	char rogue_key[T_PKI_PATH];
	char revoked_crt[T_PKI_PATH];
	char revoked_key[T_PKI_PATH];
};

/* t_pki_create builds the whole PKI above in a new directory rvt-pki-XXXXXX
 * under $TMPDIR (default /dev/shm, else /tmp) and fills |p|. Returns 0, or
 * -errno after printing the reason to stderr (and removing what it made). */
int t_pki_create(struct t_pki *p);

/* t_pki_add_client issues one more valid client certificate with common name
 * |name| into p->dir (|name|.crt, |name|.key) and writes the paths to
 * |out_crt| and |out_key| (each T_PKI_PATH bytes). Returns 0 or -errno. */
int t_pki_add_client(const struct t_pki *p, const char *name, char *out_crt, char *out_key);

/* t_pki_destroy removes p->dir and everything in it; a zeroed |p| is a no-op. */
void t_pki_destroy(struct t_pki *p);

#endif /* RV_TEST_LIB_T_PKI_H */
