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

/* reversed checks that the file's order does not decide: |data| (parsed
 * into |a|, |damaged| lines) with its lines of |line| bytes after the
 * header's |hl| put in the reverse order must read as the same records
 * (the first of two lines of a signer decided, tester 103), unless the
 * table is full (then the order picks who has a line, and that is said). */
static void reversed(const uint8_t *data, size_t size, size_t hl, size_t line,
		     const struct rv_tls_crl_seen *a, unsigned damaged)
{
	static struct rv_tls_crl_seen c[RV_TLS_CRL_SEEN];
	static char rev[64 * 1024 + 1];
	size_t n = (size - hl) / line, off = hl;
	unsigned damaged2, first2;
	char err[512];

	if (size > sizeof(rev) || a[RV_TLS_CRL_SEEN - 1].have) {
		return;
	}
	memcpy(rev, data, hl);
	for (size_t i = n; i-- > 0; off += line) {
		memcpy(rev + off, data + hl + i * line, line);
	}
	memcpy(rev + off, data + off, size - off); /* a cut last line stays last */
	if (rv_crlstate_parse(rev, size, "f", c, &damaged2, &first2, err, sizeof(err)) != 0 ||
	    damaged2 != damaged || c[RV_TLS_CRL_SEEN - 1].have) {
		abort();
	}
	for (size_t i = 0; i < RV_TLS_CRL_SEEN && a[i].have; i++) {
		size_t j = 0;

		while (j < RV_TLS_CRL_SEEN && c[j].have &&
		       memcmp(c[j].signer, a[i].signer, sizeof(a[i].signer)) != 0) {
			j++;
		}
		if (j == RV_TLS_CRL_SEEN || !same(&a[i], &c[j])) {
			abort();
		}
	}
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
	if (a[0].have) {
		const char *nl = memchr(text, '\n', len);
		size_t hl = (size_t)(nl - text) + 1, n = 0;

		while (n < RV_TLS_CRL_SEEN && a[n].have) {
			n++;
		}
		if (size >= hl && !memcmp(data, text, hl)) {
			reversed(data, size, hl, (len - hl) / n, a, damaged);
		}
	}
	return 0;
}
