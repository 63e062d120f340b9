/*
 * rd.c — bounds-checked byte cursors (see rd.h): the parts not inlined there.
 *
 * Every length comparison is written as "want <= left" on size_t values that
 * are already known to be in range, never as "p + want <= end", so a huge
 * |len| from a hostile length prefix cannot wrap a pointer. Zero-length
 * operations never do pointer arithmetic, because the buffer may be NULL and
 * NULL + 0 is undefined in C (UBSan reports it).
 */
#include "core/rd.h"

#include <string.h>

/* advance consumes |n| bytes already known to be present. */
static void advance(struct rv_rd *rd, size_t n)
{
	if (n != 0) {
		rd->p += n;
		rd->len -= n;
	}
}

/* get_be reads |n| (<= 8) bytes as a big-endian integer. */
static bool get_be(struct rv_rd *rd, uint64_t *out, size_t n)
{
	if (unlikely(rd->len < n)) {
		return false;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		v = (v << 8) | rd->p[i];
	}
	advance(rd, n);
	*out = v;
	return true;
}

bool rv_rd_span(struct rv_rd *rd, struct rv_rd *out, size_t len)
{
	if (unlikely(rd->len < len)) {
		return false;
	}
	out->p = rd->p;
	out->len = len;
	advance(rd, len);
	return true;
}

bool rv_rd_sub(struct rv_rd *rd, struct rv_rd *out, size_t prefix_len)
{
	if (prefix_len != 1 && prefix_len != 2 && prefix_len != 4) {
		return false;
	}
	/* Work on a copy so a body that does not fit leaves |rd| untouched. */
	struct rv_rd tmp = *rd;
	uint64_t body_len;
	if (!get_be(&tmp, &body_len, prefix_len)) {
		return false;
	}
	/* body_len < 2^32, so it fits size_t on every target we build for. */
	if (!rv_rd_span(&tmp, out, (size_t)body_len)) {
		return false;
	}
	*rd = tmp;
	return true;
}

bool rv_rd_sub_u8(struct rv_rd *rd, struct rv_rd *out)
{
	return rv_rd_sub(rd, out, 1);
}

bool rv_rd_sub_u16(struct rv_rd *rd, struct rv_rd *out)
{
	return rv_rd_sub(rd, out, 2);
}

bool rv_rd_sub_u32(struct rv_rd *rd, struct rv_rd *out)
{
	return rv_rd_sub(rd, out, 4);
}

void rv_wr_init(struct rv_wr *wr, uint8_t *buf, size_t cap)
{
	wr->p = buf;
	wr->cap = buf != NULL ? cap : 0;
	wr->len = 0;
	wr->err = false;
}

/* claim sets |*out_dst| to |n| bytes at the write position and advances past
 * them, or returns false (setting the sticky error) if they do not fit. For
 * n == 0 on a writer without a buffer, |*out_dst| is NULL and must not be
 * used, which every caller guarantees by touching it only when n != 0. */
static bool claim(struct rv_wr *wr, uint8_t **out_dst, size_t n)
{
	*out_dst = NULL;
	if (unlikely(wr->err || wr->cap - wr->len < n)) {
		wr->err = true;
		return false;
	}
	if (wr->p != NULL) {
		*out_dst = wr->p + wr->len;
	}
	wr->len += n;
	return true;
}

bool rv_wr_bytes(struct rv_wr *wr, const uint8_t *in, size_t len)
{
	uint8_t *dst;
	if (!claim(wr, &dst, len)) {
		return false;
	}
	if (len != 0) {
		memcpy(dst, in, len);
	}
	return true;
}

bool rv_wr_zeros(struct rv_wr *wr, size_t len)
{
	uint8_t *dst;
	if (!claim(wr, &dst, len)) {
		return false;
	}
	if (len != 0) {
		memset(dst, 0, len);
	}
	return true;
}

bool rv_wr_reserve(struct rv_wr *wr, uint8_t **out_ptr, size_t len)
{
	return claim(wr, out_ptr, len);
}

bool rv_wr_ok(const struct rv_wr *wr)
{
	return !wr->err;
}

size_t rv_wr_len(const struct rv_wr *wr)
{
	return wr->len;
}

size_t rv_wr_left(const struct rv_wr *wr)
{
	return wr->err ? 0 : wr->cap - wr->len;
}
