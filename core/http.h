/*
 * http.h — a minimal, strict HTTP/1.1 request parser for the metrics
 * endpoint (tls/http.c), and the response head that goes with it. I/O-free:
 * bytes in, a verdict out; fuzzed (test/fuzz/fuzz_http.c) and table-tested
 * (test/unit/test_core_http.c).
 *
 * What is accepted (RFC 9112, the subset a scraper needs):
 *   request-line = method SP request-target SP HTTP-version CRLF
 *     method          GET or HEAD (any other token: 405)
 *     request-target  origin-form ("/metrics?x=y") or absolute-form
 *                     ("http://host:port/metrics"), RFC 3986 characters
 *                     only, at most RV_HTTP_MAX_TARGET bytes (else 414);
 *                     of another method, any form ("*" of OPTIONS, a
 *                     CONNECT's authority): its answer is the 405
 *     HTTP-version    HTTP/1.0 or HTTP/1.1 (HTTP/1.x, x > 1, is taken as
 *                     1.1; another major version: 505)
 *   header fields   token ":" OWS value OWS, values of visible ASCII,
 *                   obs-text, SP and HTAB; at most RV_HTTP_MAX_HEADERS
 *                   (else 431); an HTTP/1.1 request needs exactly one Host
 *   the head        ends with an empty line; at most RV_HTTP_MAX_HEAD bytes
 *                   in all (else 431, or 414 while still in the request line)
 * Lines end with CRLF or a bare LF (RFC 9112 §2.2 lets a recipient accept
 * it); a CR not followed by LF, obs-fold, whitespace before a field's colon,
 * control characters, a Transfer-Encoding and a non-zero Content-Length are
 * rejected with 400. Empty lines before the request line are skipped.
 * Every other header field is checked for syntax and then ignored: the
 * endpoint answers one request per connection and closes it, so
 * Connection, Keep-Alive and Expect change nothing.
 *
 * The first error found reading left to right decides the verdict, so a
 * prefix of a request that is already wrong gets the same answer as the
 * whole request: the caller may parse again after every read and answer
 * as soon as the verdict is known.
 */
#ifndef RV_CORE_HTTP_H
#define RV_CORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

enum {
	RV_HTTP_MAX_HEAD = 8192,  /* request line, header fields and the empty line */
	RV_HTTP_MAX_TARGET = 512, /* request-target, in bytes */
	RV_HTTP_MAX_HEADERS = 64, /* header fields */
	RV_HTTP_NUM_CODES = 10,	  /* statuses a response may have (rv_http_code_at) */
};

enum rv_http_method {
	RV_HTTP_METHOD_NONE = 0, /* not read yet, or malformed */
	RV_HTTP_GET,
	RV_HTTP_HEAD,
	RV_HTTP_METHOD_OTHER, /* a valid token we do not serve (405) */
};

enum rv_http_result {
	RV_HTTP_PARTIAL, /* the head is incomplete and nothing is wrong yet: read more */
	RV_HTTP_DONE,	 /* the verdict is in req->status */
};

struct rv_http_req {
	int status;		    /* 200: a well-formed GET or HEAD; else the error to answer */
	const char *why;	    /* static text: what was wrong ("" when status is 200) */
	enum rv_http_method method; /* as far as it was read (HEAD: answer without a body) */
	uint8_t minor;		    /* HTTP/1.minor: 0 or 1 (status 200) */
	size_t head_len;	    /* bytes of the head, empty line included (status 200) */
	unsigned num_headers;
	size_t path_len;
	char path[RV_HTTP_MAX_TARGET + 1]; /* target path, query removed (status 200) */
};

/* rv_http_parse examines the first |len| bytes received on a connection
 * (|eof|: the peer will send nothing more). Returns RV_HTTP_PARTIAL when
 * they are a valid but incomplete request head (only when |len| <
 * RV_HTTP_MAX_HEAD and !|eof|), else RV_HTTP_DONE with |out| filled: status
 * 200 (bytes after the head are not looked at) or one of 400, 405, 414,
 * 431, 505 with |why|. Pure; thread-safe. */
enum rv_http_result rv_http_parse(struct rv_http_req *out, const uint8_t *buf, size_t len,
				  bool eof);

/* rv_http_reason returns the reason phrase of |status| ("Not Found"), or
 * "Error" for a status this module does not know. */
const char *rv_http_reason(int status);

/* The statuses a response may have: 200, and the errors of rv_http_parse,
 * 404, 408, 500, 503. rv_http_code_at returns the |i|-th (i <
 * RV_HTTP_NUM_CODES, ascending); rv_http_code_index returns the index of
 * |status|, or -1. For counting responses by status. */
int rv_http_code_at(size_t i);
int rv_http_code_index(int status);

/* rv_http_date formats |unix_s| as an IMF-fixdate ("Sun, 06 Nov 1994
 * 08:49:37 GMT") into |buf| (at least 30 bytes) and returns buf. */
const char *rv_http_date(char *buf, size_t buf_len, int64_t unix_s);

/* rv_http_response_head appends the status line and header fields of a
 * response whose body is |body_len| bytes of |content_type|: Date (from
 * |unix_s|), Content-Type, Content-Length, Connection: close, and Allow for
 * 405. The caller appends the body (none for HEAD). */
void rv_http_response_head(struct rv_strbuf *out, int status, const char *content_type,
			   size_t body_len, int64_t unix_s);

#endif /* RV_CORE_HTTP_H */
