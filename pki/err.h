/*
 * err.h — how pki/ reports a failure.
 *
 * Every pki/ function returns 0 or -errno (STYLE.md rule 9). On failure it
 * also fills a caller-provided struct rv_pki_err with a sentence that names
 * the file or argument and what to do, plus the class of object that failed,
 * so cli/ can log the message and pick an exit code without pki/ logging
 * (pki/ links only rv_crypto, which sits below the logger).
 */
#ifndef RV_PKI_ERR_H
#define RV_PKI_ERR_H

#include <stddef.h>

/* What a failure was about; cli/ maps each class to one exit code. */
enum rv_pki_err_kind {
	RV_PKI_ERR_NONE = 0,
	RV_PKI_ERR_USAGE, /* a bad argument (name, days, serial) */
	RV_PKI_ERR_CERT,  /* a certificate, CA or CRL is missing, unreadable or invalid */
	RV_PKI_ERR_KEY,	  /* a private key is missing, unreadable or invalid */
	RV_PKI_ERR_OP,	  /* the operation itself failed (exists, write, signing) */
};

struct rv_pki_err {
	enum rv_pki_err_kind kind;
	char msg[768];
};

#endif /* RV_PKI_ERR_H */
