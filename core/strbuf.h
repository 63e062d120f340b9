/*
 * strbuf.h — a growable text buffer for replies and reports built on the
 * control thread (status output, reload summaries). Bounded: appends past
 * |max| bytes are dropped and the buffer is marked truncated, so a reply
 * can never grow without limit.
 *
 * Zero state: an empty buffer with the default bound (RV_STRBUF_DEFAULT_MAX).
 * Single-threaded.
 */
#ifndef RV_CORE_STRBUF_H
#define RV_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

enum { RV_STRBUF_DEFAULT_MAX = 64 * 1024 * 1024 };

struct rv_strbuf {
	char *p; /* NUL-terminated when non-NULL */
	size_t len, cap;
	size_t max;	/* 0: RV_STRBUF_DEFAULT_MAX */
	bool truncated; /* an append did not fit in |max| (or memory ran out) */
};

/* rv_strbuf_printf appends formatted text. */
void rv_strbuf_printf(struct rv_strbuf *b, const char *fmt, ...) RV_PRINTF(2, 3);

/* rv_strbuf_append appends |len| bytes. Once an append did not fit,
 * nothing more is taken: the text stays a prefix of what was written (a
 * later, shorter piece was glued to the cut: round-sixty-six tester 281). */
void rv_strbuf_append(struct rv_strbuf *b, const char *s, size_t len);

/* rv_strbuf_end_past ends |b| with |text| past its bound, in room its
 * maker kept above it: the note that it was cut, which the cut refused
 * with the rest, or an end mark. A truncated buffer stays truncated. */
void rv_strbuf_end_past(struct rv_strbuf *b, const char *text);

/* rv_strbuf_json_str appends |s| as a JSON string literal (quoted,
 * escaped). */
void rv_strbuf_json_str(struct rv_strbuf *b, const char *s);

/* rv_utf8_len: the length of the well-formed UTF-8 sequence at |s| (RFC
 * 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
size_t rv_utf8_len(const unsigned char *s);

/* rv_strbuf_str returns the text ("" when empty). */
const char *rv_strbuf_str(const struct rv_strbuf *b);

/* rv_strbuf_reset empties |b| and keeps its memory; rv_strbuf_free frees it
 * (back to the zero state). */
void rv_strbuf_reset(struct rv_strbuf *b);
void rv_strbuf_free(struct rv_strbuf *b);

#endif /* RV_CORE_STRBUF_H */
