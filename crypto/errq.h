/*
 * errq.h — turns BoringSSL's thread-local error queue into one string.
 * Used by crypto/, tls/ and pki/ after a BoringSSL call has failed (tested by
 * its return value, never by the queue); the caller logs the string, since
 * crypto/ sits below core/ and has no logger of its own.
 */
#ifndef RV_CRYPTO_ERRQ_H
#define RV_CRYPTO_ERRQ_H

#include <stddef.h>

/* rv_crypto_errors_str writes the queued reasons to |buf| (clearing the queue)
 * and returns buf; "unknown error" if the queue was empty. */
const char *rv_crypto_errors_str(char *buf, size_t buf_len);

#endif /* RV_CRYPTO_ERRQ_H */
