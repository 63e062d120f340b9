/*
 * http.c — the metrics endpoint's request parser and response head (see
 * http.h). One left-to-right pass over at most RV_HTTP_MAX_HEAD bytes: the
 * first error decides, running out of bytes means "read more", and only a
 * syntactically complete head gets the semantic checks (method, Host, body).
 */
#include "core/http.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Character classes of RFC 9110 §5.6.2 (tchar and field values) and RFC
 * 3986 (the request target). */
enum {
	C_TCHAR = 1u << 0,
	C_TARGET = 1u << 1, /* unreserved, sub-delims, ":@/?%" and "[]" (authority only) */
	C_VALUE = 1u << 2,  /* field-value: VCHAR, obs-text, SP, HTAB */
	C_HEX = 1u << 3,
};

static uint8_t cclass(uint8_t c)
{
	uint8_t m = 0;

	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
		m = C_TCHAR | C_TARGET;
	} else {
		switch (c) {
		case '-':
		case '.':
		case '_':
		case '~':
		case '!':
		case '$':
		case '&':
		case '\'':
		case '*':
		case '+':
		case '%':
			m = C_TCHAR | C_TARGET; /* in both sets */
			break;
		case '#':
		case '^':
		case '`':
		case '|':
			m = C_TCHAR;
			break;
		case '(':
		case ')':
		case ',':
		case ';':
		case '=':
		case ':':
		case '@':
		case '/':
		case '?':
		case '[':
		case ']':
			m = C_TARGET;
			break;
		default:
			break;
		}
	}
	if ((c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t') {
		m |= C_VALUE;
	}
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
		m |= C_HEX;
	}
	return m;
}

static bool is(uint8_t c, unsigned cls)
{
	return (cclass(c) & cls) != 0;
}

static enum rv_http_result fail(struct rv_http_req *r, int status, const char *why)
{
	r->status = status;
	r->why = why;
	return RV_HTTP_DONE;
}

/* parse_target checks the form of request-target |t| (|tlen| bytes, every
 * byte already of class C_TARGET) and copies its path into r->path. Returns
 * NULL or what is wrong. */
static const char *parse_target(struct rv_http_req *r, const uint8_t *t, size_t tlen)
{
	size_t p = 0, path_end, auth_end = 0;

	for (size_t i = 0; i < tlen; i++) {
		if (t[i] == '%' &&
		    (i + 2 >= tlen || !is(t[i + 1], C_HEX) || !is(t[i + 2], C_HEX))) {
			return "bad percent-encoding in the request target";
		}
	}
	if (t[0] != '/') {
		/* absolute-form: http://authority[/path][?query] */
		if (tlen < 7 || strncasecmp((const char *)t, "http://", 7) != 0) {
			return "request target is neither a path nor an http URL";
		}
		p = 7;
		while (p < tlen && t[p] != '/' && t[p] != '?') {
			if (t[p] == '@') {
				return "user information in the request target";
			}
			p++;
		}
		if (p == 7) {
			return "http URL without a host";
		}
		auth_end = p;
	}
	for (size_t i = auth_end; i < tlen; i++) {
		if (t[i] == '[' || t[i] == ']') {
			return "'[' or ']' outside the host of the request target";
		}
	}
	path_end = p;
	while (path_end < tlen && t[path_end] != '?') {
		path_end++;
	}
	if (path_end == p) {
		r->path[0] = '/'; /* "http://host" and "http://host?q" name "/" */
		r->path_len = 1;
	} else {
		memcpy(r->path, t + p, path_end - p);
		r->path_len = path_end - p;
	}
	r->path[r->path_len] = '\0';
	return NULL;
}

/* field_is: the field name |name| (|len| bytes) equals |want| (lower case),
 * ignoring case as RFC 9110 §5.1 says. */
static bool field_is(const uint8_t *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp((const char *)name, want, len) == 0;
}

/* line_end: at |*i| is CR LF or LF. Returns 1 (consumed, *i advanced), 0
 * (neither: the caller's error), -1 (a CR is the last byte: need more) or
 * -2 (a CR followed by something else). */
static int line_end(const uint8_t *buf, size_t n, size_t *i)
{
	if (buf[*i] == '\n') {
		(*i)++;
		return 1;
	}
	if (buf[*i] != '\r') {
		return 0;
	}
	if (*i + 1 >= n) {
		return -1;
	}
	if (buf[*i + 1] != '\n') {
		return -2;
	}
	*i += 2;
	return 1;
}

enum rv_http_result rv_http_parse(struct rv_http_req *r, const uint8_t *buf, size_t len, bool eof)
{
	size_t n = len < RV_HTTP_MAX_HEAD ? len : RV_HTTP_MAX_HEAD;
	size_t i = 0, start, vstart;
	bool in_request_line = true;
	unsigned hosts = 0, content_lengths = 0;
	bool body = false, transfer_encoding = false;
	const char *why;
	int le;

	memset(r, 0, sizeof(*r));
	r->why = "";

	/* Empty lines before the request line (RFC 9112 §2.2). A head of
	 * nothing else (a CR cut at the limit included) has no request line
	 * to be too long: 400, not 414. */
	while (i < n && (buf[i] == '\r' || buf[i] == '\n')) {
		le = line_end(buf, n, &i);
		if (le == -1) {
			if (n == RV_HTTP_MAX_HEAD) {
				return fail(r, 400, "only empty lines");
			}
			goto partial;
		}
		if (le == -2) {
			return fail(r, 400, "CR without LF");
		}
	}
	if (i == RV_HTTP_MAX_HEAD) {
		return fail(r, 400, "only empty lines");
	}

	/* method SP */
	start = i;
	while (i < n && is(buf[i], C_TCHAR)) {
		i++;
	}
	if (i == n) {
		goto partial;
	}
	if (i == start || buf[i] != ' ') {
		return fail(r, 400, "malformed method");
	}
	if (i - start == 3 && memcmp(buf + start, "GET", 3) == 0) {
		r->method = RV_HTTP_GET;
	} else if (i - start == 4 && memcmp(buf + start, "HEAD", 4) == 0) {
		r->method = RV_HTTP_HEAD;
	} else {
		r->method = RV_HTTP_METHOD_OTHER;
	}
	i++;

	/* request-target SP */
	start = i;
	while (i < n && buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\n') {
		if (i - start >= RV_HTTP_MAX_TARGET) {
			return fail(r, 414, "request target too long");
		}
		if (!is(buf[i], C_TARGET)) {
			return fail(r, 400, "invalid character in the request target");
		}
		i++;
	}
	if (i == n) {
		goto partial;
	}
	if (i == start) {
		return fail(r, 400, "empty request target");
	}
	if (buf[i] != ' ') {
		return fail(r, 400, "request line without an HTTP version");
	}
	/* The target's form is judged for the methods served: OPTIONS's
	 * asterisk-form and CONNECT's authority-form are well-formed, and
	 * their answer is 405, not a bad target (round-fifty-three tester
	 * 226). */
	why = r->method == RV_HTTP_METHOD_OTHER ? NULL : parse_target(r, buf + start, i - start);
	if (why) {
		return fail(r, 400, why);
	}
	i++;

	/* HTTP-version: "HTTP/" DIGIT "." DIGIT */
	vstart = i;
	for (size_t k = 0; k < 8; k++, i++) {
		static const char form[] = "HTTP/1.1"; /* digits at 5 and 7 */

		if (i == n) {
			goto partial;
		}
		if (k == 5 || k == 7 ? buf[i] < '0' || buf[i] > '9' : buf[i] != (uint8_t)form[k]) {
			return fail(r, 400, "malformed HTTP version");
		}
	}
	if (i == n) {
		goto partial;
	}
	le = line_end(buf, n, &i);
	if (le == -1) {
		goto partial;
	}
	if (le != 1) {
		return fail(r, 400, "junk after the HTTP version");
	}
	if (buf[vstart + 5] != '1') {
		return fail(r, 505, "HTTP version not supported (1.0 and 1.1 are)");
	}
	/* HTTP/1.x with x > 1 is served as 1.1 (RFC 9110 §6.2). */
	r->minor = buf[vstart + 7] == '0' ? 0 : 1;
	in_request_line = false;

	/* header fields, up to the empty line */
	for (;;) {
		size_t name, name_len, val, val_end;

		if (i == n) {
			goto partial;
		}
		if (buf[i] == '\r' || buf[i] == '\n') {
			le = line_end(buf, n, &i);
			if (le == -1) {
				goto partial;
			}
			if (le == -2) {
				return fail(r, 400, "CR without LF");
			}
			break;
		}
		if (buf[i] == ' ' || buf[i] == '\t') {
			return fail(r, 400, "folded header line (obs-fold)");
		}
		if (++r->num_headers > RV_HTTP_MAX_HEADERS) {
			return fail(r, 431, "too many header fields");
		}
		name = i;
		while (i < n && is(buf[i], C_TCHAR)) {
			i++;
		}
		if (i == n) {
			goto partial;
		}
		if (buf[i] != ':') {
			return fail(r, 400,
				    buf[i] == ' ' || buf[i] == '\t'
					    ? "whitespace between a field name and its colon"
					    : "malformed header field name");
		}
		if (i == name) {
			return fail(r, 400, "empty header field name");
		}
		name_len = i - name;
		i++;
		while (i < n && (buf[i] == ' ' || buf[i] == '\t')) {
			i++;
		}
		val = i;
		while (i < n && buf[i] != '\r' && buf[i] != '\n') {
			if (!is(buf[i], C_VALUE)) {
				return fail(r, 400, "control character in a header field value");
			}
			i++;
		}
		if (i == n) {
			goto partial;
		}
		val_end = i;
		while (val_end > val && (buf[val_end - 1] == ' ' || buf[val_end - 1] == '\t')) {
			val_end--;
		}
		le = line_end(buf, n, &i);
		if (le == -1) {
			goto partial;
		}
		if (le == -2) {
			return fail(r, 400, "CR without LF");
		}
		if (field_is(buf + name, name_len, "host")) {
			hosts++;
		} else if (field_is(buf + name, name_len, "transfer-encoding")) {
			transfer_encoding = true;
		} else if (field_is(buf + name, name_len, "content-length")) {
			content_lengths++;
			if (val == val_end) {
				return fail(r, 400, "empty Content-Length");
			}
			for (size_t k = val; k < val_end; k++) {
				if (buf[k] < '0' || buf[k] > '9') {
					return fail(r, 400, "malformed Content-Length");
				}
				body = body || buf[k] != '0';
			}
		}
	}
	r->head_len = i;

	/* The head is well-formed: now what it asks for. */
	if (r->method == RV_HTTP_METHOD_OTHER) {
		return fail(r, 405, "method not allowed (GET and HEAD are)");
	}
	if (r->minor == 1 && hosts != 1) {
		return fail(r, 400, hosts ? "more than one Host field" : "no Host field");
	}
	if (hosts > 1) {
		return fail(r, 400, "more than one Host field");
	}
	if (transfer_encoding || content_lengths > 1 || body) {
		return fail(r, 400, "a request body is not accepted");
	}
	r->status = 200;
	return RV_HTTP_DONE;

partial:
	if (n == RV_HTTP_MAX_HEAD) {
		return in_request_line ? fail(r, 414, "request line too long")
				       : fail(r, 431, "request head too large");
	}
	if (eof) {
		return fail(r, 400, "connection closed before the end of the request head");
	}
	return RV_HTTP_PARTIAL;
}

static const struct {
	int status;
	const char *reason;
} codes[RV_HTTP_NUM_CODES] = {
	{ 200, "OK" },
	{ 400, "Bad Request" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 414, "URI Too Long" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
};

int rv_http_code_at(size_t i)
{
	return i < RV_HTTP_NUM_CODES ? codes[i].status : 0;
}

int rv_http_code_index(int status)
{
	for (size_t i = 0; i < RV_HTTP_NUM_CODES; i++) {
		if (codes[i].status == status) {
			return (int)i;
		}
	}
	return -1;
}

const char *rv_http_reason(int status)
{
	int i = rv_http_code_index(status);

	return i < 0 ? "Error" : codes[i].reason;
}

const char *rv_http_date(char *buf, size_t buf_len, int64_t unix_s)
{
	/* Fixed English names: strftime's %a/%b would follow the locale. */
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)unix_s;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 70;
		tm.tm_mday = 1;
		tm.tm_wday = 4;
	}
	snprintf(buf, buf_len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
	return buf;
}

void rv_http_response_head(struct rv_strbuf *out, int status, const char *content_type,
			   size_t body_len, int64_t unix_s)
{
	char date[40];

	rv_strbuf_printf(out,
			 "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n",
			 status, rv_http_reason(status), rv_http_date(date, sizeof(date), unix_s),
			 content_type, body_len);
	if (status == 405) {
		rv_strbuf_printf(out, "Allow: GET, HEAD\r\n");
	}
	rv_strbuf_printf(out, "\r\n");
}
