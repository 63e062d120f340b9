/*
 * test_core_http.c — the metrics endpoint's request parser (core/http.c):
 * a numbered table of requests and their verdicts, the size limits at the
 * edge and ±1, the prefix property (a prefix of a request is either
 * "partial" or already gets the whole request's verdict) and the response
 * head.
 *
 *   ./build/<dir>/test/test_core_http          (or: ctest -L unit -R core_http)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/http.h"

struct req_case {
	const char *in;
	int status; /* 0: partial */
	const char *path;
};

#define H11 " HTTP/1.1\r\nHost: 127.0.0.1:9586\r\n"

static const struct req_case cases[] = {
	/* 0 */ { "GET /metrics" H11 "\r\n", 200, "/metrics" },
	/* 1 */ { "GET /metrics HTTP/1.0\r\n\r\n", 200, "/metrics" },
	/* 2 */ { "HEAD /metrics" H11 "\r\n", 200, "/metrics" },
	/* 3 */ { "GET /metrics?a=b&c=%20" H11 "\r\n", 200, "/metrics" },
	/* 4 */ { "GET http://127.0.0.1:9586/metrics" H11 "\r\n", 200, "/metrics" },
	/* 5 */ { "GET HTTP://[::1]:9586/metrics?x" H11 "\r\n", 200, "/metrics" },
	/* 6 */ { "GET http://h" H11 "\r\n", 200, "/" },
	/* 7 */ { "GET /metrics HTTP/1.0\n\n", 200, "/metrics" },
	/* 8 */ { "\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n", 200, "/metrics" },
	/* 9 */ { "GET /metrics HTTP/1.9\r\nHost: x\r\n\r\n", 200, "/metrics" },
	/* 10 */
	{ "GET / HTTP/1.1\r\nhOsT:x\r\nAccept: text/plain;version=0.0.4;q=0.5,*/*\r\n"
	  "User-Agent: Prometheus/2.42.0\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
	  "Content-Length: 0\r\nAccept-Encoding: gzip\r\n\r\n",
	  200, "/" },
	/* 11 */ { "GET /metrics" H11 "X: \xc3\xa9\t v \r\n\r\n", 200, "/metrics" },
	/* 12 */ { "GET /nope" H11 "\r\n", 200, "/nope" }, /* 404 is the endpoint's call */

	/* method */
	/* 13 */ { "POST /metrics" H11 "\r\n", 405, NULL },
	/* 14 */ { "get /metrics" H11 "\r\n", 405, NULL },
	/* 15 */ { "POST /metrics" H11 "Content-Length: 5\r\n\r\nhello", 405, NULL },
	/* 16 */ { " GET /metrics" H11 "\r\n", 400, NULL },
	/* 17 */ { "G(T /metrics" H11 "\r\n", 400, NULL },
	/* 18 */ { "GET\t/metrics" H11 "\r\n", 400, NULL },
	/* target */
	/* 19 */ { "GET  /metrics" H11 "\r\n", 400, NULL },
	/* 20 */ { "GET metrics" H11 "\r\n", 400, NULL },
	/* 21 */ { "GET * HTTP/1.1\r\n\r\n", 400, NULL },
	/* 22 */ { "GET /a\"b" H11 "\r\n", 400, NULL },
	/* 23 */ { "GET /a%2" H11 "\r\n", 400, NULL },
	/* 24 */ { "GET /a%zz" H11 "\r\n", 400, NULL },
	/* 25 */ { "GET /a#frag" H11 "\r\n", 400, NULL },
	/* 26 */ { "GET /[x]" H11 "\r\n", 400, NULL },
	/* 27 */ { "GET http:///metrics" H11 "\r\n", 400, NULL },
	/* 28 */ { "GET http://u@h/metrics" H11 "\r\n", 400, NULL },
	/* 29 */ { "GET ftp://h/metrics" H11 "\r\n", 400, NULL },
	/* 30 */ { "GET /metrics\r\n\r\n", 400, NULL }, /* HTTP/0.9 */
	/* 31 */ { "GET /\xff" H11 "\r\n", 400, NULL },
	/* version */
	/* 32 */ { "GET /metrics HTTP/2.0\r\n\r\n", 505, NULL },
	/* 33 */ { "GET /metrics HTTP/0.9\r\n\r\n", 505, NULL },
	/* 34 */ { "GET /metrics http/1.1\r\n\r\n", 400, NULL },
	/* 35 */ { "GET /metrics HTTP/1.1 \r\n\r\n", 400, NULL },
	/* 36 */ { "GET /metrics HTTP/1.10\r\n\r\n", 400, NULL },
	/* 37 */ { "GET /metrics HTTP/1\r\n\r\n", 400, NULL },
	/* 38 */ { "GET /metrics HTTP/1.1\rX\n\r\n", 400, NULL },
	/* header fields */
	/* 39 */ { "GET /metrics HTTP/1.1\r\n\r\n", 400, NULL }, /* no Host */
	/* 40 */ { "GET /metrics" H11 "Host: y\r\n\r\n", 400, NULL },
	/* 41 */ { "GET /metrics HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, NULL },
	/* 42 */ { "GET /metrics" H11 "X : y\r\n\r\n", 400, NULL },
	/* 43 */ { "GET /metrics" H11 "X: y\r\n z\r\n\r\n", 400, NULL },
	/* 44 */ { "GET /metrics" H11 ": y\r\n\r\n", 400, NULL },
	/* 45 */ { "GET /metrics" H11 "X: a\x01z\r\n\r\n", 400, NULL },
	/* 46 */ { "GET /metrics" H11 "X: a\rz\r\n\r\n", 400, NULL },
	/* 47 */ { "GET /metrics" H11 "X(: y\r\n\r\n", 400, NULL },
	/* 48 */ { "GET /metrics" H11 "\r\r\n", 400, NULL },
	/* 49 */ { "GET /metrics" H11 "Content-Length: 1\r\n\r\nx", 400, NULL },
	/* 50 */ { "GET /metrics" H11 "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", 400, NULL },
	/* 51 */ { "GET /metrics" H11 "Content-Length: -1\r\n\r\n", 400, NULL },
	/* 52 */ { "GET /metrics" H11 "Content-Length:\r\n\r\n", 400, NULL },
	/* 53 */ { "GET /metrics" H11 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, NULL },
	/* 54 */ { "GET /metrics" H11 "X: \x7f\r\n\r\n", 400, NULL },
	/* incomplete */
	/* 55 */ { "", 0, NULL },
	/* 56 */ { "\r", 0, NULL },
	/* 57 */ { "GET", 0, NULL },
	/* 58 */ { "GET /metrics HTTP/1.", 0, NULL },
	/* 59 */ { "GET /metrics HTTP/1.1\r", 0, NULL },
	/* 60 */ { "GET /metrics" H11, 0, NULL },
	/* 61 */ { "GET /metrics" H11 "\r", 0, NULL },
	/* 62 */ { "GET /metrics" H11 "X: y", 0, NULL },
	/* 63 */ { "\x16\x03\x01\x02\x00", 400, NULL }, /* a TLS ClientHello */
	/* 64 */ { "\x00", 400, NULL },
	/* 65 */ { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, NULL }, /* the h2 preface */
	/* 66 */ { "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 405, NULL },
	/* 67 */ { "CONNECT 127.0.0.1:9586" H11 "\r\n", 405, NULL },
	/* 68 */ { "OPTIONS * HTTP/1.1\r\n\r\n", 405, NULL },
	/* 69 */ { "GET 127.0.0.1:9586" H11 "\r\n", 400, NULL },
};

static enum rv_http_result parse_str(struct rv_http_req *r, const char *s, size_t len, bool eof)
{
	return rv_http_parse(r, (const uint8_t *)s, len, eof);
}

static size_t case_len(const struct req_case *c)
{
	/* Case 64 is a lone NUL byte. */
	return c->in[0] == '\0' && c->status ? 1 : strlen(c->in);
}

/* The table's cases run in one test each, not one test per case: Criterion
 * starts a process per test, which cost 140 processes here (35 s under
 * ASan). Every message names its case. */
static void check_case(int i)
{
	const struct req_case *c = &cases[i];
	size_t len = case_len(c);
	struct rv_http_req r;
	enum rv_http_result res = parse_str(&r, c->in, len, false);

	if (c->status == 0) {
		cr_assert_eq(res, RV_HTTP_PARTIAL, "case %d: want partial, got %d (%s)", i,
			     r.status, r.why);
		/* The peer closing now makes it a bad request. */
		cr_assert_eq(parse_str(&r, c->in, len, true), RV_HTTP_DONE, "case %d", i);
		cr_assert_eq(r.status, 400, "case %d: eof", i);
		return;
	}
	cr_assert_eq(res, RV_HTTP_DONE, "case %d: want %d, got partial", i, c->status);
	cr_assert_eq(r.status, c->status, "case %d: want %d, got %d (%s)", i, c->status, r.status,
		     r.why);
	if (c->status == 200) {
		cr_assert_str_eq(r.why, "", "case %d", i);
		cr_assert_str_eq(r.path, c->path, "case %d", i);
		cr_assert_eq(r.path_len, strlen(c->path), "case %d", i);
		cr_assert(r.method == RV_HTTP_GET || r.method == RV_HTTP_HEAD, "case %d", i);
		cr_assert(r.head_len <= len, "case %d", i);
	} else {
		cr_assert(r.why && r.why[0], "case %d: an error says why", i);
	}
}

Test(core_http, table)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		check_case((int)i);
	}
}

/* Every proper prefix of a request is "partial" or already has the whole
 * request's verdict (errors only: a prefix of a good request is never
 * done before its empty line). */
static void check_prefixes(int i)
{
	const struct req_case *c = &cases[i];
	size_t len = case_len(c);
	struct rv_http_req whole, r;

	if (c->status == 0) {
		return;
	}
	rv_http_parse(&whole, (const uint8_t *)c->in, len, false);
	for (size_t k = 0; k < len; k++) {
		enum rv_http_result res = parse_str(&r, c->in, k, false);

		if (res == RV_HTTP_PARTIAL) {
			continue;
		}
		cr_assert_neq(r.status, 200, "case %d: prefix %zu done as 200", i, k);
		cr_assert_eq(r.status, whole.status, "case %d: prefix %zu says %d, whole %d", i, k,
			     r.status, whole.status);
	}
}

Test(core_http, prefixes)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		check_prefixes((int)i);
	}
}

/* A request for /|target_len bytes| with |pad| bytes of one header value. */
static char *build(size_t target_len, size_t num_headers, size_t pad, size_t *out_len)
{
	size_t cap = target_len + num_headers * 16 + pad + 256;
	char *s = malloc(cap);
	size_t n = 0;

	cr_assert_not_null(s);
	n += (size_t)snprintf(s + n, cap - n, "GET /");
	memset(s + n, 'a', target_len - 1);
	n += target_len - 1;
	n += (size_t)snprintf(s + n, cap - n, " HTTP/1.1\r\nHost: h\r\n");
	for (size_t i = 1; i < num_headers; i++) {
		n += (size_t)snprintf(s + n, cap - n, "X-%zu: v\r\n", i);
	}
	if (pad) {
		n += (size_t)snprintf(s + n, cap - n, "P: ");
		memset(s + n, 'p', pad);
		n += pad;
		n += (size_t)snprintf(s + n, cap - n, "\r\n");
	}
	n += (size_t)snprintf(s + n, cap - n, "\r\n");
	*out_len = n;
	return s;
}

static int verdict(const char *s, size_t len)
{
	struct rv_http_req r;

	if (rv_http_parse(&r, (const uint8_t *)s, len, false) == RV_HTTP_PARTIAL) {
		return 0;
	}
	return r.status;
}

Test(core_http, target_limit)
{
	size_t len;
	char *s;

	s = build(RV_HTTP_MAX_TARGET, 1, 0, &len);
	cr_assert_eq(verdict(s, len), 200);
	free(s);
	s = build(RV_HTTP_MAX_TARGET + 1, 1, 0, &len);
	cr_assert_eq(verdict(s, len), 414);
	free(s);
}

Test(core_http, header_count_limit)
{
	size_t len;
	char *s;

	s = build(8, RV_HTTP_MAX_HEADERS, 0, &len);
	cr_assert_eq(verdict(s, len), 200);
	free(s);
	s = build(8, RV_HTTP_MAX_HEADERS + 1, 0, &len);
	cr_assert_eq(verdict(s, len), 431);
	free(s);
}

Test(core_http, head_size_limit)
{
	size_t base, len;
	char *s;

	/* "P: " + pad + CRLF on top of the rest: find the pad that makes the
	 * head exactly RV_HTTP_MAX_HEAD bytes. */
	s = build(8, 1, 1, &base);
	free(s);
	s = build(8, 1, 1 + RV_HTTP_MAX_HEAD - base, &len);
	cr_assert_eq(len, RV_HTTP_MAX_HEAD);
	cr_assert_eq(verdict(s, len), 200);
	free(s);
	s = build(8, 1, 2 + RV_HTTP_MAX_HEAD - base, &len);
	cr_assert_eq(len, RV_HTTP_MAX_HEAD + 1);
	cr_assert_eq(verdict(s, len), 431);
	/* Without its end the cut head is too large as well. */
	cr_assert_eq(verdict(s, RV_HTTP_MAX_HEAD), 431);
	cr_assert_eq(verdict(s, RV_HTTP_MAX_HEAD - 1), 0);
	free(s);
}

Test(core_http, long_request_line)
{
	char *s = malloc(RV_HTTP_MAX_HEAD);

	cr_assert_not_null(s);
	memset(s, 'A', RV_HTTP_MAX_HEAD); /* a method token that never ends */
	cr_assert_eq(verdict(s, RV_HTTP_MAX_HEAD), 414);
	cr_assert_eq(verdict(s, RV_HTTP_MAX_HEAD - 1), 0);
	free(s);
}

/* A head of empty lines only is a bad request, not a request line too long
 * (there is none). */
Test(core_http, only_empty_lines)
{
	char *s = malloc(RV_HTTP_MAX_HEAD);

	cr_assert_not_null(s);
	for (size_t i = 0; i < RV_HTTP_MAX_HEAD; i += 2) {
		memcpy(s + i, "\r\n", 2);
	}
	cr_assert_eq(verdict(s, RV_HTTP_MAX_HEAD), 400);
	cr_assert_eq(verdict(s, RV_HTTP_MAX_HEAD - 2), 0);
	/* Shifted by one LF: the limit cuts a CRLF after its CR. */
	s[0] = '\n';
	for (size_t i = 1; i + 1 < RV_HTTP_MAX_HEAD; i += 2) {
		memcpy(s + i, "\r\n", 2);
	}
	s[RV_HTTP_MAX_HEAD - 1] = '\r';
	cr_assert_eq(verdict(s, RV_HTTP_MAX_HEAD), 400);
	free(s);
}

Test(core_http, trailing_bytes_ignored)
{
	static const char s[] = "GET /metrics HTTP/1.0\r\n\r\nGET /other HTTP/1.0\r\n\r\n";
	struct rv_http_req r;

	cr_assert_eq(rv_http_parse(&r, (const uint8_t *)s, sizeof(s) - 1, false), RV_HTTP_DONE);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.path, "/metrics");
	cr_assert_eq(r.head_len, strlen("GET /metrics HTTP/1.0\r\n\r\n"));
	cr_assert_eq(r.minor, 0);
}

Test(core_http, date)
{
	char buf[40];

	/* RFC 9110 §5.6.7's example. */
	cr_assert_str_eq(rv_http_date(buf, sizeof(buf), 784111777),
			 "Sun, 06 Nov 1994 08:49:37 GMT");
	cr_assert_str_eq(rv_http_date(buf, sizeof(buf), 0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

Test(core_http, response_head)
{
	struct rv_strbuf b = { 0 };

	rv_http_response_head(&b, 200, "text/plain; version=0.0.4; charset=utf-8", 1234, 784111777);
	cr_assert_str_eq(rv_strbuf_str(&b),
			 "HTTP/1.1 200 OK\r\n"
			 "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			 "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			 "Content-Length: 1234\r\n"
			 "Connection: close\r\n\r\n");
	rv_strbuf_reset(&b);
	rv_http_response_head(&b, 405, "text/plain", 0, 0);
	cr_assert(strstr(rv_strbuf_str(&b), "HTTP/1.1 405 Method Not Allowed\r\n") ==
		  rv_strbuf_str(&b));
	cr_assert_not_null(strstr(rv_strbuf_str(&b), "\r\nAllow: GET, HEAD\r\n\r\n"));
	rv_strbuf_free(&b);
	cr_assert_str_eq(rv_http_reason(431), "Request Header Fields Too Large");
	cr_assert_str_eq(rv_http_reason(999), "Error");
}

Test(core_http, status_codes)
{
	static const int verdicts[] = { 200, 400, 405, 414, 431, 505 };
	int prev = 0;

	for (size_t i = 0; i < RV_HTTP_NUM_CODES; i++) {
		int code = rv_http_code_at(i);

		cr_assert_gt(code, prev, "ascending at %zu", i);
		cr_assert_eq(rv_http_code_index(code), (int)i);
		cr_assert_str_neq(rv_http_reason(code), "Error", "%d has a reason", code);
		prev = code;
	}
	cr_assert_eq(rv_http_code_at(RV_HTTP_NUM_CODES), 0);
	cr_assert_eq(rv_http_code_index(302), -1);
	/* Every verdict of the parser can be counted. */
	for (size_t i = 0; i < ARRAY_SIZE(verdicts); i++) {
		cr_assert_geq(rv_http_code_index(verdicts[i]), 0, "%d", verdicts[i]);
	}
}
