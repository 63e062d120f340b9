/*
 * errq.c — drains BoringSSL's thread-local error queue into one string,
 * "lib:reason; lib:reason", oldest first.
 */
#include "crypto/errq.h"

#include <stdio.h>

#include "crypto/boringssl.h"

const char *rv_crypto_errors_str(char *buf, size_t buf_len)
{
	size_t used = 0;
	uint32_t e;

	if (buf == NULL || buf_len == 0) {
		ERR_clear_error();
		return "unknown error";
	}
	buf[0] = '\0';
	/* Keep popping after the buffer is full: the contract is that the queue is
	 * empty afterwards, so stale reasons never leak into a later message. */
	while ((e = ERR_get_error()) != 0) {
		const char *lib = ERR_lib_error_string(e);
		const char *reason = ERR_reason_error_string(e);
		char unknown[32];
		int n;

		if (used + 1 >= buf_len) {
			continue;
		}
		if (reason == NULL) {
			snprintf(unknown, sizeof(unknown), "reason(%u)",
				 (unsigned)ERR_GET_REASON(e));
			reason = unknown;
		}
		n = snprintf(buf + used, buf_len - used, "%s%s:%s", used ? "; " : "",
			     lib ? lib : "unknown library", reason);
		if (n < 0) {
			break;
		}
		used += (size_t)n;
		if (used >= buf_len) {
			used = buf_len - 1; /* truncated; snprintf already terminated it */
		}
	}
	if (used == 0) {
		snprintf(buf, buf_len, "unknown error");
	}
	return buf;
}
