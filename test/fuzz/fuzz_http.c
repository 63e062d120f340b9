/*
 * fuzz_http.c — libFuzzer harness for the metrics endpoint's HTTP request
 * parser (core/http.c).
 *
 *   scripts/fuzz.sh http                 (clang + libFuzzer)
 *   build/fuzz/test/fuzz_http test/fuzz/corpus/http
 *   ctest -L fuzz-replay                 (replays the corpus, any compiler)
 *
 * Properties checked on every input:
 *  - the verdict is "partial" only for fewer than RV_HTTP_MAX_HEAD bytes and
 *    no end of input, else one of the statuses http.h documents, with a
 *    reason exactly when it is an error;
 *  - an accepted request is a GET or HEAD whose path starts with '/', fits
 *    RV_HTTP_MAX_TARGET and holds no query; its head ends in LF inside the
 *    input, and the head alone gets the same verdict (nothing after it is
 *    read);
 *  - the prefix property: a prefix that already has a verdict has the
 *    verdict of the whole input, and a prefix is never accepted before its
 *    head is complete;
 *  - the response head for the verdict names the status and its length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)              \
	do {                     \
		if (!(cond)) {   \
			abort(); \
		}                \
	} while (0)

static bool known_error(int status)
{
	return status == 400 || status == 405 || status == 414 || status == 431 || status == 505;
}

static void check_prefix(const uint8_t *data, size_t cut, const struct rv_http_req *whole)
{
	struct rv_http_req r;

	if (rv_http_parse(&r, data, cut, false) == RV_HTTP_PARTIAL) {
		return;
	}
	if (r.status == 200) {
		/* Accepted early only if the whole input's head is this one. */
		check(whole->status == 200 && r.head_len == whole->head_len);
		return;
	}
	check(r.status == whole->status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_http_req r, again;
	enum rv_http_result res = rv_http_parse(&r, data, size, false);
	struct rv_strbuf head = { 0 };
	char want[32];

	if (res == RV_HTTP_PARTIAL) {
		check(size < RV_HTTP_MAX_HEAD);
		check(rv_http_parse(&again, data, size, true) == RV_HTTP_DONE);
		check(again.status == 400);
		return 0;
	}
	check(res == RV_HTTP_DONE);
	if (r.status == 200) {
		check(r.why && r.why[0] == '\0');
		check(r.method == RV_HTTP_GET || r.method == RV_HTTP_HEAD);
		check(r.minor <= 1);
		check(r.path_len >= 1 && r.path_len <= RV_HTTP_MAX_TARGET);
		check(r.path[0] == '/' && strlen(r.path) == r.path_len);
		check(strchr(r.path, '?') == NULL && strchr(r.path, ' ') == NULL);
		check(r.head_len >= 1 && r.head_len <= size && r.head_len <= RV_HTTP_MAX_HEAD);
		check(data[r.head_len - 1] == '\n');
		check(r.num_headers <= RV_HTTP_MAX_HEADERS);
		check(rv_http_parse(&again, data, r.head_len, true) == RV_HTTP_DONE);
		check(again.status == 200 && again.head_len == r.head_len);
		check(strcmp(again.path, r.path) == 0 && again.method == r.method);
	} else {
		check(known_error(r.status));
		check(r.why && r.why[0] != '\0');
		check(r.status != 405 || r.method == RV_HTTP_METHOD_OTHER);
	}
	/* Cut points: the middle and one chosen by the input itself. */
	if (size > 1) {
		check_prefix(data, size / 2, &r);
		check_prefix(data, data[0] % size, &r);
		check_prefix(data, size - 1, &r);
	}
	rv_http_response_head(&head, r.status, "text/plain", size, (int64_t)size * 977);
	snprintf(want, sizeof(want), "HTTP/1.1 %d ", r.status);
	check(strncmp(rv_strbuf_str(&head), want, strlen(want)) == 0);
	check(head.len >= 4 && memcmp(head.p + head.len - 4, "\r\n\r\n", 4) == 0);
	rv_strbuf_free(&head);
	return 0;
}
