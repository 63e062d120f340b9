/*
 * fuzz_crlstate.c — libFuzzer harness for the CRL state file's reader
 * (tls/crlstate.h rv_crlstate_parse): the file is written by the service
 * user, and a crash, a cut or a hand edit leaves anything in it.
 *
 * What is read from anything is written out (rv_crlstate_format) and read
 * again: the second read must find no damaged line and the same records (a
 * record that reads back as another would let an older CRL in, or refuse
 * the right one, at the next start). A refusal must say why, naming the
 * file.
 *
 *   clang build: -DRV_FUZZ=ON -> build/<dir>/test/fuzz_crlstate corpus/crlstate
 *   normal build: replay_crlstate test/fuzz/corpus/crlstate
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/crl.h"
#include "tls/crlstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct rv_tls_crl_seen *x, const struct rv_tls_crl_seen *y)
{
	return x->have == y->have && x->numbered == y->numbered && x->have_md == y->have_md &&
	       !memcmp(x->signer, y->signer, sizeof(x->signer)) &&
	       !memcmp(x->number, y->number, sizeof(x->number)) &&
	       x->this_update == y->this_update && x->unnumbered_since == y->unnumbered_since &&
	       (!x->have_md || !memcmp(x->crl_md, y->crl_md, sizeof(x->crl_md)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rv_tls_crl_seen a[RV_TLS_CRL_SEEN], b[RV_TLS_CRL_SEEN];
	static char text[RV_CRLSTATE_TEXT_MAX];
	unsigned damaged, first, damaged2, first2;
	char err[512];
	size_t len;

	err[0] = '\0';
	if (rv_crlstate_parse((const char *)data, size, "f", a, &damaged, &first, err,
			      sizeof(err)) != 0) {
		if (strncmp(err, "crl_state f ", 12) != 0) {
			abort(); /* a refusal says why, naming the file */
		}
		return 0;
	}
	if ((damaged == 0) != (first == 0)) {
		abort(); /* damaged lines are said with the first one's number */
	}
	for (size_t i = 0; i < RV_TLS_CRL_SEEN && a[i].have; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!memcmp(a[i].signer, a[j].signer, sizeof(a[i].signer))) {
				abort(); /* one record a signer: the first line alone
					  * decided, and a lower number first let an
					  * older CRL in */
			}
		}
	}
	len = rv_crlstate_format(a, text);
	if (len > sizeof(text) ||
	    rv_crlstate_parse(text, len, "f", b, &damaged2, &first2, err, sizeof(err)) != 0 ||
	    damaged2 != 0) {
		abort();
	}
	for (size_t i = 0; i < RV_TLS_CRL_SEEN; i++) {
		if (!same(&a[i], &b[i])) {
			abort();
		}
	}
	return 0;
}
