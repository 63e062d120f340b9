/*
 * t_vectors.h — reader for known-answer test vector files in test/vectors/.
 *
 * File format (the shape of BoringSSL's file_test): records of "NAME: value"
 * lines separated by blank lines; '#' starts a comment line. A value is hex
 * (whitespace between digits is ignored, empty means zero bytes) or a
 * "double-quoted" literal taken byte for byte. A hex value may continue on
following lines that start with whitespace. Names are upper-case words.
 *
 *	# RFC 5869 A.1
 *	IKM: 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b
 *	SALT: 000102030405060708090a0b0c
 *
 * Test-only code: allocates freely, not thread-safe.
 */
#ifndef RV_TEST_LIB_T_VECTORS_H
#define RV_TEST_LIB_T_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct t_vectors;

enum t_vectors_result {
	T_VECTORS_RECORD = 0, /* a record was read */
	T_VECTORS_EOF,	      /* no more records */
	T_VECTORS_ERROR,      /* malformed file; see t_vectors_error */
};

/* t_vectors_open opens |path|. Returns NULL (errno set) if it cannot. */
struct t_vectors *t_vectors_open(const char *path);

/* t_vectors_free closes |tv|; NULL is a no-op. */
void t_vectors_free(struct t_vectors *tv);

/* t_vectors_next reads the next record, replacing the previous one. */
enum t_vectors_result t_vectors_next(struct t_vectors *tv);

/* t_vectors_get returns the value of field |name| in the current record and
 * its length in |*out_len|, or NULL if the record has no such field. The
 * pointer stays valid until the next t_vectors_next. A zero-length value
 * returns a valid non-NULL pointer. */
const uint8_t *t_vectors_get(const struct t_vectors *tv, const char *name, size_t *out_len);

/* t_vectors_has reports whether the current record has field |name|. */
bool t_vectors_has(const struct t_vectors *tv, const char *name);

/* t_vectors_line returns the line on which the current record starts. */
unsigned t_vectors_line(const struct t_vectors *tv);

/* t_vectors_error describes the last T_VECTORS_ERROR ("file:line: what"). */
const char *t_vectors_error(const struct t_vectors *tv);

#endif /* RV_TEST_LIB_T_VECTORS_H */
