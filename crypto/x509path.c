/*
 * x509path.c — path length constraints of a verified chain (x509path.h).
 */
#include "crypto/x509path.h"

bool rv_x509_chain_pathlen_ok(STACK_OF(X509) * chain)
{
	/* The CA at |i| has i - 1 CAs below it (the leaf is at 0), so the
	 * first CA cannot break its own. */
	for (size_t i = 2; chain != NULL && i < sk_X509_num(chain); i++) {
		long max = X509_get_pathlen(sk_X509_value(chain, i));

		if (max >= 0 && (long)(i - 1) > max) {
			return false;
		}
	}
	return true;
}
