/*
 * err.c — filling struct rv_pki_err, with BoringSSL's error queue appended
 * where a BoringSSL call failed (STYLE.md rule 11: test the return value,
 * then drain the queue into the message).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/errq.h"
#include "pki/internal.h"

static void RV_PRINTF(3, 0)
	verrf(struct rv_pki_err *err, enum rv_pki_err_kind kind, const char *fmt, va_list ap)
{
	err->kind = kind;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

void pki_errf(struct rv_pki_err *err, enum rv_pki_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL) {
		return;
	}
	va_start(ap, fmt);
	verrf(err, kind, fmt, ap);
	va_end(ap);
}

void pki_err_ssl(struct rv_pki_err *err, enum rv_pki_err_kind kind, const char *fmt, ...)
{
	char q[384];
	size_t n;
	va_list ap;

	rv_crypto_errors_str(q, sizeof(q));
	if (err == NULL) {
		return;
	}
	va_start(ap, fmt);
	verrf(err, kind, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	if (n < sizeof(err->msg)) {
		snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)", q);
	}
}

void pki_note(struct rv_pki_err *err, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (err == NULL) {
		return;
	}
	n = strlen(err->msg);
	if (n != 0 && n + 2 < sizeof(err->msg)) {
		memcpy(err->msg + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
}
