/*
 * t_vectors.c — reader for the data files in test/vectors/; format in t_vectors.h.
 */
#include "test/lib/t_vectors.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	MAX_FIELDS = 16,
	MAX_NAME = 32,
};

struct field {
	char name[MAX_NAME];
	char *raw; /* value text, continuation lines appended */
	uint8_t *val;
	size_t len;
};

struct t_vectors {
	FILE *fp;
	char *path;
	char *line;
	size_t line_cap;
	unsigned lineno;
	unsigned rec_line;
	struct field fields[MAX_FIELDS];
	size_t num_fields;
	char err[512];
};

struct t_vectors *t_vectors_open(const char *path)
{
	struct t_vectors *tv = calloc(1, sizeof(*tv));

	if (tv == NULL) {
		return NULL;
	}
	tv->path = strdup(path);
	tv->fp = fopen(path, "r");
	if (tv->path == NULL || tv->fp == NULL) {
		int e = errno;

		t_vectors_free(tv);
		errno = e;
		return NULL;
	}
	return tv;
}

static void clear_record(struct t_vectors *tv)
{
	for (size_t i = 0; i < tv->num_fields; i++) {
		free(tv->fields[i].raw);
		free(tv->fields[i].val);
	}
	memset(tv->fields, 0, sizeof(tv->fields));
	tv->num_fields = 0;
}

void t_vectors_free(struct t_vectors *tv)
{
	if (tv == NULL) {
		return;
	}
	clear_record(tv);
	if (tv->fp != NULL) {
		fclose(tv->fp);
	}
	free(tv->line);
	free(tv->path);
	free(tv);
}

static enum t_vectors_result fail(struct t_vectors *tv, const char *what)
{
	snprintf(tv->err, sizeof(tv->err), "%s:%u: %s", tv->path, tv->lineno, what);
	clear_record(tv);
	return T_VECTORS_ERROR;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = tolower(c);
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

/* parse_value decodes |s| (hex or "literal") into a fresh buffer. */
static bool parse_value(const char *s, uint8_t **out, size_t *out_len, const char **why)
{
	size_t n = strlen(s);
	uint8_t *buf = malloc(n / 2 + 1); /* at least 1 so empty values are non-NULL */
	size_t len = 0;

	if (buf == NULL) {
		*why = "out of memory";
		return false;
	}
	if (s[0] == '"') {
		const char *end = strrchr(s + 1, '"');

		if (end == NULL || end[1] != '\0') {
			*why = "unterminated or trailing text after quoted value";
			goto err;
		}
		free(buf);
		len = (size_t)(end - (s + 1));
		buf = malloc(len + 1);
		if (buf == NULL) {
			*why = "out of memory";
			return false;
		}
		memcpy(buf, s + 1, len);
		goto done;
	}
	for (size_t i = 0; s[i] != '\0';) {
		int hi, lo;

		if (isspace((unsigned char)s[i])) {
			i++;
			continue;
		}
		hi = hexval((unsigned char)s[i]);
		lo = s[i + 1] != '\0' ? hexval((unsigned char)s[i + 1]) : -1;
		if (hi < 0 || lo < 0) {
			*why = "bad hex digit or odd number of digits";
			goto err;
		}
		buf[len++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
done:
	*out = buf;
	*out_len = len;
	return true;
err:
	free(buf);
	return false;
}

static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1])) {
		s[--n] = '\0';
	}
}

/* finish_record decodes every field's text once the record is complete. */
static enum t_vectors_result finish_record(struct t_vectors *tv)
{
	for (size_t i = 0; i < tv->num_fields; i++) {
		struct field *f = &tv->fields[i];
		const char *why = NULL;

		if (!parse_value(f->raw, &f->val, &f->len, &why)) {
			char what[128];

			snprintf(what, sizeof(what), "field %s of the record at line %u: %s",
				 f->name, tv->rec_line, why);
			return fail(tv, what);
		}
	}
	return T_VECTORS_RECORD;
}

/* append_raw adds a continuation line to the last field's text. */
static bool append_raw(struct field *f, const char *more)
{
	size_t a = strlen(f->raw), b = strlen(more);
	char *n = realloc(f->raw, a + b + 2);

	if (n == NULL) {
		return false;
	}
	n[a] = ' ';
	memcpy(n + a + 1, more, b + 1);
	f->raw = n;
	return true;
}

enum t_vectors_result t_vectors_next(struct t_vectors *tv)
{
	clear_record(tv);
	for (;;) {
		ssize_t got = getline(&tv->line, &tv->line_cap, tv->fp);
		char *p, *colon;
		struct field *f;

		if (got < 0) {
			if (ferror(tv->fp)) {
				return fail(tv, "read error");
			}
			return tv->num_fields ? finish_record(tv) : T_VECTORS_EOF;
		}
		tv->lineno++;
		rstrip(tv->line);
		p = tv->line;
		while (isspace((unsigned char)*p)) {
			p++;
		}
		if (*p == '#') {
			continue;
		}
		if (*p == '\0') {
			if (tv->num_fields) {
				return finish_record(tv);
			}
			continue;
		}
		if (p != tv->line) {
			/* Indented: continues the previous field's hex value. */
			if (tv->num_fields == 0) {
				return fail(tv, "continuation line outside a record");
			}
			f = &tv->fields[tv->num_fields - 1];
			if (f->raw[0] == '"') {
				return fail(tv, "quoted values cannot continue on the next line");
			}
			if (!append_raw(f, p)) {
				return fail(tv, "out of memory");
			}
			continue;
		}
		colon = strchr(p, ':');
		if (colon == NULL || colon == p || (size_t)(colon - p) >= MAX_NAME) {
			return fail(tv, "expected NAME: value");
		}
		if (tv->num_fields == 0) {
			tv->rec_line = tv->lineno;
		}
		if (tv->num_fields == MAX_FIELDS) {
			return fail(tv, "too many fields in one record");
		}
		*colon = '\0';
		if (t_vectors_has(tv, p)) {
			return fail(tv, "duplicate field in record");
		}
		f = &tv->fields[tv->num_fields];
		memcpy(f->name, p, (size_t)(colon - p) + 1);
		p = colon + 1;
		while (isspace((unsigned char)*p)) {
			p++;
		}
		f->raw = strdup(p);
		if (f->raw == NULL) {
			return fail(tv, "out of memory");
		}
		tv->num_fields++;
	}
}

static const struct field *find(const struct t_vectors *tv, const char *name)
{
	for (size_t i = 0; i < tv->num_fields; i++) {
		if (strcmp(tv->fields[i].name, name) == 0) {
			return &tv->fields[i];
		}
	}
	return NULL;
}

const uint8_t *t_vectors_get(const struct t_vectors *tv, const char *name, size_t *out_len)
{
	const struct field *f = find(tv, name);

	if (f == NULL) {
		return NULL;
	}
	*out_len = f->len;
	return f->val;
}

bool t_vectors_has(const struct t_vectors *tv, const char *name)
{
	return find(tv, name) != NULL;
}

unsigned t_vectors_line(const struct t_vectors *tv)
{
	return tv->rec_line;
}

const char *t_vectors_error(const struct t_vectors *tv)
{
	return tv->err;
}
