/*
 * strbuf.c — growable, bounded text buffer (see strbuf.h).
 */
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t bound(const struct rv_strbuf *b)
{
	return b->max ? b->max : RV_STRBUF_DEFAULT_MAX;
}

/* reserve makes room for |extra| more bytes plus the NUL. */
static bool reserve(struct rv_strbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t ncap;
	char *np;

	if (b->truncated || extra > bound(b) || b->len + extra > bound(b)) {
		b->truncated = true;
		return false;
	}
	if (need <= b->cap) {
		return true;
	}
	ncap = b->cap ? b->cap : 4096;
	while (ncap < need) {
		ncap *= 2;
	}
	np = realloc(b->p, ncap);
	if (!np) {
		b->truncated = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

void rv_strbuf_append(struct rv_strbuf *b, const char *s, size_t len)
{
	if (!reserve(b, len)) {
		return;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void rv_strbuf_printf(struct rv_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* rv_utf8_len: the length of the well-formed UTF-8 sequence at |s| (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
size_t rv_utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf) {
			return 0; /* the NUL that ends |s| stops here too */
		}
	}
	return n;
}

void rv_strbuf_json_str(struct rv_strbuf *b, const char *s)
{
	rv_strbuf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			rv_strbuf_append(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			rv_strbuf_printf(b, "\\u%04x", c);
		} else if (c < 0x80) {
			rv_strbuf_append(b, s, 1);
		} else {
			/* Well-formed UTF-8 as it is, any other byte as U+FFFD,
			 * as the JSON log writes it: a path or a link name of
			 * Latin-1 bytes made the whole status no JSON (round-
			 * forty-two tester 206). */
			size_t n = rv_utf8_len((const unsigned char *)s);

			if (n) {
				rv_strbuf_append(b, s, n);
				s += n - 1;
			} else {
				rv_strbuf_append(b, "\\ufffd", 6);
			}
		}
	}
	rv_strbuf_append(b, "\"", 1);
}

void rv_strbuf_end_past(struct rv_strbuf *b, const char *text)
{
	size_t n = strlen(text);
	bool cut = b->truncated;

	b->max = bound(b) + n;
	b->truncated = false;
	rv_strbuf_append(b, text, n);
	b->truncated = cut || b->truncated;
}

const char *rv_strbuf_str(const struct rv_strbuf *b)
{
	return b->p ? b->p : "";
}

void rv_strbuf_reset(struct rv_strbuf *b)
{
	b->len = 0;
	b->truncated = false;
	if (b->p) {
		b->p[0] = '\0';
	}
}

void rv_strbuf_free(struct rv_strbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->truncated = false;
}
