/*
 * rd.h — bounds-checked byte cursors: struct rv_rd reads, struct rv_wr writes.
 *
 * Every parser of bytes that came from outside the process (the data header,
 * inner IP headers, control messages, config) reads through an rv_rd, in the
 * spirit of BoringSSL's CBS: a (pointer, remaining length) pair that only
 * ever shrinks. Each getter either consumes exactly what it asked for and
 * returns true, or consumes nothing, leaves its output untouched and returns
 * false. Nothing is ever cast from the buffer to a struct, and multi-byte
 * integers are big-endian (network order).
 *
 * struct rv_wr is the encoding twin over a caller-provided buffer. Its error
 * is sticky: after the first write that does not fit, every later write fails
 * too and nothing more is written, so an encoder may issue a run of writes and
 * check rv_wr_ok() once at the end.
 *
 * Both structs are plain values over borrowed memory: they allocate nothing,
 * need no cleanup, and the caller keeps the buffer alive while they are used.
 * Not thread-safe; one cursor per thread.
 *
 * The layouts are public, and the fixed-width getters and putters are static
 * inline below, because the packet path decodes and encodes every data
 * header through them: out of line, the five calls per header cost more than
 * the rest of the receive checks together (perf/bench_replay.c). Use the
 * functions, not the fields.
 */
#ifndef RV_CORE_RD_H
#define RV_CORE_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/compiler.h"

/* Host <-> big-endian for the inline getters and putters below (the one
 * byte-order conditional in the tree). */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define RV_BE16(x) ((uint16_t)(x))
#define RV_BE32(x) ((uint32_t)(x))
#define RV_BE64(x) ((uint64_t)(x))
#else
#define RV_BE16(x) __builtin_bswap16(x)
#define RV_BE32(x) __builtin_bswap32(x)
#define RV_BE64(x) __builtin_bswap64(x)
#endif

struct rv_rd {
	const uint8_t *p; /* next unread byte */
	size_t len;	  /* bytes left at p */
};

/* rv_rd_init points |rd| at |len| bytes at |data| (borrowed). A NULL |data|
 * gives an empty reader whatever |len| says. */
static inline void rv_rd_init(struct rv_rd *rd, const uint8_t *data, size_t len)
{
	rd->p = data;
	rd->len = data != NULL ? len : 0;
}

/* rv_rd_left returns the number of unread bytes. */
static inline size_t rv_rd_left(const struct rv_rd *rd)
{
	return rd->len;
}

/* rv_rd_data returns a pointer to the next unread byte (valid for
 * rv_rd_left() bytes, borrowed from the buffer given to rv_rd_init). */
static inline const uint8_t *rv_rd_data(const struct rv_rd *rd)
{
	return rd->p;
}

/* rv_rd_skip consumes |len| bytes, or returns false if fewer remain. A
 * zero-length skip does no pointer arithmetic: the buffer may be NULL, and
 * NULL + 0 is undefined in C (UBSan reports it). */
RV_MUST_CHECK static inline bool rv_rd_skip(struct rv_rd *rd, size_t len)
{
	if (unlikely(rd->len < len)) {
		return false;
	}
	if (len != 0) {
		rd->p += len;
		rd->len -= len;
	}
	return true;
}

/* rv_rd_bytes copies the next |len| bytes into |out|. It returns false,
 * consuming and copying nothing, if fewer than |len| bytes remain. */
RV_MUST_CHECK static inline bool rv_rd_bytes(struct rv_rd *rd, uint8_t *out, size_t len)
{
	if (unlikely(rd->len < len)) {
		return false;
	}
	if (len != 0) {
		memcpy(out, rd->p, len);
		rd->p += len;
		rd->len -= len;
	}
	return true;
}

/* rv_rd_u8 .. rv_rd_u64 read a big-endian integer into |*out|. They return
 * false, consuming nothing and leaving |*out| alone, if fewer bytes remain.
 * memcpy into a local is the portable unaligned load; compilers turn it and
 * the byte swap into a single instruction. */
RV_MUST_CHECK static inline bool rv_rd_u8(struct rv_rd *rd, uint8_t *out)
{
	if (unlikely(rd->len < 1)) {
		return false;
	}
	*out = rd->p[0];
	rd->p += 1;
	rd->len -= 1;
	return true;
}

RV_MUST_CHECK static inline bool rv_rd_u16(struct rv_rd *rd, uint16_t *out)
{
	uint16_t v;
	if (unlikely(rd->len < sizeof(v))) {
		return false;
	}
	memcpy(&v, rd->p, sizeof(v));
	*out = RV_BE16(v);
	rd->p += sizeof(v);
	rd->len -= sizeof(v);
	return true;
}

RV_MUST_CHECK static inline bool rv_rd_u32(struct rv_rd *rd, uint32_t *out)
{
	uint32_t v;
	if (unlikely(rd->len < sizeof(v))) {
		return false;
	}
	memcpy(&v, rd->p, sizeof(v));
	*out = RV_BE32(v);
	rd->p += sizeof(v);
	rd->len -= sizeof(v);
	return true;
}

RV_MUST_CHECK static inline bool rv_rd_u64(struct rv_rd *rd, uint64_t *out)
{
	uint64_t v;
	if (unlikely(rd->len < sizeof(v))) {
		return false;
	}
	memcpy(&v, rd->p, sizeof(v));
	*out = RV_BE64(v);
	rd->p += sizeof(v);
	rd->len -= sizeof(v);
	return true;
}

/* rv_rd_span sets |out| to a reader over the next |len| bytes (no copy; the
 * bytes stay borrowed from the parent's buffer) and consumes them from |rd|.
 * It returns false, changing neither reader, if fewer than |len| remain. */
bool rv_rd_span(struct rv_rd *rd, struct rv_rd *out, size_t len) RV_MUST_CHECK;

/* rv_rd_sub reads a big-endian length prefix of |prefix_len| bytes (1, 2 or
 * 4), then sets |out| to a reader over that many following bytes and consumes
 * prefix and body from |rd|. It returns false, changing neither reader, if
 * |prefix_len| is not 1, 2 or 4, or if the prefix or the body does not fit in
 * what remains. rv_rd_sub_u8/u16/u32 are the fixed-width spellings. */
bool rv_rd_sub(struct rv_rd *rd, struct rv_rd *out, size_t prefix_len) RV_MUST_CHECK;
bool rv_rd_sub_u8(struct rv_rd *rd, struct rv_rd *out) RV_MUST_CHECK;
bool rv_rd_sub_u16(struct rv_rd *rd, struct rv_rd *out) RV_MUST_CHECK;
bool rv_rd_sub_u32(struct rv_rd *rd, struct rv_rd *out) RV_MUST_CHECK;

struct rv_wr {
	uint8_t *p; /* start of the buffer */
	size_t cap; /* its size */
	size_t len; /* bytes written so far */
	bool err;   /* sticky: a write did not fit */
};

/* rv_wr_init points |wr| at |cap| writable bytes at |buf| (borrowed). A
 * zero-initialised rv_wr is a writer with no space: every non-empty write
 * fails. */
void rv_wr_init(struct rv_wr *wr, uint8_t *buf, size_t cap);

/* rv_wr_bytes appends |len| bytes from |in|; rv_wr_zeros appends |len| zero
 * bytes. Each returns false, writes nothing and sets the sticky error if it
 * does not fit or if the error is already set. */
bool rv_wr_bytes(struct rv_wr *wr, const uint8_t *in, size_t len);
bool rv_wr_zeros(struct rv_wr *wr, size_t len);

/* rv_wr_u8 .. rv_wr_u64 append a big-endian integer, with the same failure
 * rules as rv_wr_bytes. */
static inline bool rv_wr_u8(struct rv_wr *wr, uint8_t v)
{
	if (unlikely(wr->err || wr->cap - wr->len < sizeof(v))) {
		wr->err = true;
		return false;
	}
	wr->p[wr->len++] = v;
	return true;
}

static inline bool rv_wr_u16(struct rv_wr *wr, uint16_t v)
{
	if (unlikely(wr->err || wr->cap - wr->len < sizeof(v))) {
		wr->err = true;
		return false;
	}
	v = RV_BE16(v);
	memcpy(wr->p + wr->len, &v, sizeof(v));
	wr->len += sizeof(v);
	return true;
}

static inline bool rv_wr_u32(struct rv_wr *wr, uint32_t v)
{
	if (unlikely(wr->err || wr->cap - wr->len < sizeof(v))) {
		wr->err = true;
		return false;
	}
	v = RV_BE32(v);
	memcpy(wr->p + wr->len, &v, sizeof(v));
	wr->len += sizeof(v);
	return true;
}

static inline bool rv_wr_u64(struct rv_wr *wr, uint64_t v)
{
	if (unlikely(wr->err || wr->cap - wr->len < sizeof(v))) {
		wr->err = true;
		return false;
	}
	v = RV_BE64(v);
	memcpy(wr->p + wr->len, &v, sizeof(v));
	wr->len += sizeof(v);
	return true;
}

/* rv_wr_reserve appends |len| bytes whose content the caller fills in later
 * through |*out_ptr| (e.g. a length prefix known only after the body). On
 * failure it returns false, sets the sticky error and sets |*out_ptr| to
 * NULL. The pointer stays valid as long as the buffer does; for len == 0 it
 * may be NULL and must not be used. */
bool rv_wr_reserve(struct rv_wr *wr, uint8_t **out_ptr, size_t len);

/* rv_wr_ok returns true if no write has failed. */
bool rv_wr_ok(const struct rv_wr *wr);

/* rv_wr_len returns the number of bytes written (not counting failed
 * writes). */
size_t rv_wr_len(const struct rv_wr *wr);

/* rv_wr_left returns the space left, or 0 once the error is set. */
size_t rv_wr_left(const struct rv_wr *wr);

#endif /* RV_CORE_RD_H */
