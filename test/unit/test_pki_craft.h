/*
 * test_pki_craft.h — certificates another tool would issue (test_pki_craft.c).
 */
#ifndef RV_TEST_UNIT_TEST_PKI_CRAFT_H
#define RV_TEST_UNIT_TEST_PKI_CRAFT_H

#include "test/lib/t_pki.h"

/* t_pki_reserial writes to |out| a copy of the certificate |crt| with the
 * serial |hex| (BN_hex2bn's form: "-5" is negative, and any length),
 * signed again by p's CA, as another tool would issue it. Returns 0 or
 * -errno after printing the reason to stderr. */
int t_pki_reserial(const struct t_pki *p, const char *crt, const char *hex, const char *out);

/* An intermediate CA of p's CA (t_pki_intermediate), in p->dir: |dir|, a
 * CA directory to issue from; |crt|, its certificate as p's CA issued it;
 * |cas|, a CA file of p's CA and it. */
struct t_pki_int {
	char dir[T_PKI_PATH + 64];
	char crt[T_PKI_PATH + 64];
	char cas[T_PKI_PATH + 64];
};

/* t_pki_intermediate makes the intermediate CA |name| of p's CA, its
 * certificate of the serial |hex| (as t_pki_reserial takes it), as
 * another tool would issue it, and fills |out|. Returns 0 or -errno after
 * printing the reason to stderr. */
int t_pki_intermediate(const struct t_pki *p, const char *name, const char *hex,
		       struct t_pki_int *out);

/* Serials for t_pki_reserial: first the T_PKI_NUM_UNFIT that RFC 5280
 * forbids, with the word rv_x509_serial_unfit says of each (|why|), then
 * two it allows (|why| NULL): 20 octets with the top bit set, and 1. */
struct t_pki_serial {
	const char *hex, *why;
};
#define T_PKI_NUM_SERIALS 5
#define T_PKI_NUM_UNFIT 3
extern const struct t_pki_serial t_pki_serials[T_PKI_NUM_SERIALS];

#endif /* RV_TEST_UNIT_TEST_PKI_CRAFT_H */
