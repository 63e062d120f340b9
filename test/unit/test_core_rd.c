/*
 * test_core_rd.c — table-driven tests of the bounds-checked cursors (core/rd.c).
 *
 *   ./build/<dir>/test/test_core_rd          (or: ctest -L unit -R core_rd)
 *
 * The invariant under test: a read either consumes exactly what it asked for
 * and succeeds, or consumes nothing, leaves its output untouched and fails.
 * Writers fail sticky: after one write that does not fit, nothing more lands.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/rd.h"

static const uint8_t seq[] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8,
};

enum op { OP_U8, OP_U16, OP_U32, OP_U64 };

struct int_case {
	enum op op;
	size_t avail; /* bytes given to the reader */
	bool ok;
	uint64_t value; /* expected when ok */
};

/* Each fixed-width read at exactly its size, one byte short, and with spare. */
static const struct int_case int_cases[] = {
	/* 0 */ { OP_U8, 0, false, 0 },
	/* 1 */ { OP_U8, 1, true, 0x01 },
	/* 2 */ { OP_U8, 5, true, 0x01 },
	/* 3 */ { OP_U16, 1, false, 0 },
	/* 4 */ { OP_U16, 2, true, 0x0102 },
	/* 5 */ { OP_U16, 3, true, 0x0102 },
	/* 6 */ { OP_U32, 3, false, 0 },
	/* 7 */ { OP_U32, 4, true, 0x01020304 },
	/* 8 */ { OP_U32, 9, true, 0x01020304 },
	/* 9 */ { OP_U64, 0, false, 0 },
	/* 10 */ { OP_U64, 7, false, 0 },
	/* 11 */ { OP_U64, 8, true, 0x0102030405060708ull },
	/* 12 */ { OP_U64, 24, true, 0x0102030405060708ull },
};

static size_t op_size(enum op op)
{
	static const size_t sz[] = { 1, 2, 4, 8 };
	return sz[op];
}

static bool do_read(struct rv_rd *rd, enum op op, uint64_t *out)
{
	bool ok = false;
	uint8_t v8 = 0xaa;
	uint16_t v16 = 0xaaaa;
	uint32_t v32 = 0xaaaaaaaa;
	uint64_t v64 = 0xaaaaaaaaaaaaaaaaull;
	switch (op) {
	case OP_U8:
		ok = rv_rd_u8(rd, &v8);
		*out = ok ? v8 : (v8 == 0xaa ? 0xaa : 0xbad);
		break;
	case OP_U16:
		ok = rv_rd_u16(rd, &v16);
		*out = ok ? v16 : (v16 == 0xaaaa ? 0xaa : 0xbad);
		break;
	case OP_U32:
		ok = rv_rd_u32(rd, &v32);
		*out = ok ? v32 : (v32 == 0xaaaaaaaa ? 0xaa : 0xbad);
		break;
	case OP_U64:
		ok = rv_rd_u64(rd, &v64);
		*out = ok ? v64 : (v64 == 0xaaaaaaaaaaaaaaaaull ? 0xaa : 0xbad);
		break;
	}
	return ok;
}

Test(core_rd, fixed_width_reads)
{
	for (size_t i = 0; i < ARRAY_SIZE(int_cases); i++) {
		const struct int_case *c = &int_cases[i];
		/* An exact-size heap copy, so ASan flags any overread. */
		uint8_t *buf = malloc(c->avail ? c->avail : 1);
		cr_assert_not_null(buf);
		memcpy(buf, seq, c->avail);
		struct rv_rd rd;
		rv_rd_init(&rd, buf, c->avail);
		uint64_t v;
		bool ok = do_read(&rd, c->op, &v);
		cr_assert_eq(ok, c->ok, "case %zu: ok=%d want %d", i, ok, c->ok);
		if (ok) {
			cr_assert_eq(v, c->value, "case %zu: value %#llx want %#llx", i,
				     (unsigned long long)v, (unsigned long long)c->value);
			cr_assert_eq(rv_rd_left(&rd), c->avail - op_size(c->op), "case %zu", i);
			cr_assert_eq(rv_rd_data(&rd), buf + op_size(c->op), "case %zu", i);
		} else {
			cr_assert_eq(v, 0xaa, "case %zu: output touched on failure", i);
			cr_assert_eq(rv_rd_left(&rd), c->avail, "case %zu: consumed on failure", i);
			cr_assert_eq(rv_rd_data(&rd), buf, "case %zu", i);
		}
		free(buf);
	}
}

Test(core_rd, big_endian_high_bytes)
{
	struct rv_rd rd;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	rv_rd_init(&rd, seq + 16, 8);
	cr_assert(rv_rd_u64(&rd, &v64));
	cr_assert_eq(v64, 0xfffefdfcfbfaf9f8ull);
	rv_rd_init(&rd, seq + 16, 8);
	cr_assert(rv_rd_u32(&rd, &v32));
	cr_assert_eq(v32, 0xfffefdfcu);
	cr_assert(rv_rd_u16(&rd, &v16));
	cr_assert_eq(v16, 0xfbfa);
	cr_assert_eq(rv_rd_left(&rd), 2);
}

Test(core_rd, sequence_then_exhaustion)
{
	struct rv_rd rd;
	uint8_t a;
	uint16_t b;
	uint32_t c;
	uint64_t d;
	rv_rd_init(&rd, seq, 15);
	cr_assert(rv_rd_u8(&rd, &a) && a == 0x01);
	cr_assert(rv_rd_u16(&rd, &b) && b == 0x0203);
	cr_assert(rv_rd_u32(&rd, &c) && c == 0x04050607);
	cr_assert_eq(rv_rd_left(&rd), 8);
	cr_assert(rv_rd_u64(&rd, &d) && d == 0x08090a0b0c0d0e0full);
	cr_assert_eq(rv_rd_left(&rd), 0);
	cr_assert_not(rv_rd_u8(&rd, &a));
	cr_assert(rv_rd_skip(&rd, 0));
	cr_assert_not(rv_rd_skip(&rd, 1));
}

struct span_case {
	size_t avail;
	size_t want;
	bool ok;
};

static const struct span_case span_cases[] = {
	/* 0 */ { 0, 0, true },
	/* 1 */ { 0, 1, false },
	/* 2 */ { 10, 10, true },
	/* 3 */ { 10, 11, false },
	/* 4 */ { 10, 3, true },
	/* 5 */ { 10, SIZE_MAX, false },
	/* 6 */ { 10, SIZE_MAX - 5, false },
};

Test(core_rd, bytes_skip_span)
{
	for (size_t i = 0; i < ARRAY_SIZE(span_cases); i++) {
		const struct span_case *c = &span_cases[i];
		uint8_t out[16];
		struct rv_rd rd, sub;

		memset(out, 0xaa, sizeof(out));
		rv_rd_init(&rd, seq, c->avail);
		/* |out| is smaller than some wants: those fail before copying. */
		bool ok = rv_rd_bytes(&rd, out, c->want);
		cr_assert_eq(ok, c->ok, "bytes case %zu", i);
		cr_assert_eq(rv_rd_left(&rd), c->avail - (ok ? c->want : 0), "bytes case %zu", i);
		if (ok) {
			cr_assert_arr_eq(out, seq, c->want, "bytes case %zu", i);
		} else {
			cr_assert_eq(out[0], 0xaa, "bytes case %zu: copied on failure", i);
		}

		rv_rd_init(&rd, seq, c->avail);
		cr_assert_eq(rv_rd_skip(&rd, c->want), c->ok, "skip case %zu", i);
		cr_assert_eq(rv_rd_left(&rd), c->avail - (c->ok ? c->want : 0), "skip case %zu", i);

		rv_rd_init(&rd, seq, c->avail);
		memset(&sub, 0, sizeof(sub));
		cr_assert_eq(rv_rd_span(&rd, &sub, c->want), c->ok, "span case %zu", i);
		if (c->ok) {
			cr_assert_eq(rv_rd_left(&sub), c->want, "span case %zu", i);
			cr_assert_eq(rv_rd_data(&sub), seq, "span case %zu", i);
			cr_assert_eq(rv_rd_left(&rd), c->avail - c->want, "span case %zu", i);
		} else {
			cr_assert_null(rv_rd_data(&sub), "span case %zu: out set on failure", i);
			cr_assert_eq(rv_rd_left(&rd), c->avail, "span case %zu", i);
		}
	}
}

struct sub_case {
	uint8_t in[8];
	size_t avail;
	size_t prefix;
	bool ok;
	size_t body_len; /* when ok */
	size_t left;	 /* parent bytes left after, when ok */
};

static const struct sub_case sub_cases[] = {
	/* 0: empty body, u8 prefix */ { { 0x00 }, 1, 1, true, 0, 0 },
	/* 1: u8 prefix 2, body 2, 1 spare */ { { 0x02, 0xaa, 0xbb, 0xcc }, 4, 1, true, 2, 1 },
	/* 2: u8 prefix claims 3, only 2 */ { { 0x03, 0xaa, 0xbb }, 3, 1, false, 0, 0 },
	/* 3: no room for the prefix */ { { 0 }, 0, 1, false, 0, 0 },
	/* 4: u16 prefix, one byte of it */ { { 0x00 }, 1, 2, false, 0, 0 },
	/* 5: u16 prefix 3, exact */ { { 0x00, 0x03, 1, 2, 3 }, 5, 2, true, 3, 0 },
	/* 6: u16 prefix 0x0100, short */ { { 0x01, 0x00, 1, 2, 3 }, 5, 2, false, 0, 0 },
	/* 7: u32 prefix 2 */ { { 0, 0, 0, 2, 9, 9, 9 }, 7, 4, true, 2, 1 },
	/* 8: u32 prefix 0xffffffff */ { { 0xff, 0xff, 0xff, 0xff, 1, 2 }, 6, 4, false, 0, 0 },
	/* 9: u32 prefix, 3 bytes */ { { 0, 0, 0 }, 3, 4, false, 0, 0 },
	/* 10: bad prefix width 3 */ { { 0, 0, 1, 7 }, 4, 3, false, 0, 0 },
	/* 11: bad prefix width 8 */ { { 0, 0, 0, 0, 0, 0, 0, 0 }, 8, 8, false, 0, 0 },
	/* 12: bad prefix width 0 */ { { 0 }, 1, 0, false, 0, 0 },
};

Test(core_rd, length_prefixed_sub)
{
	for (size_t i = 0; i < ARRAY_SIZE(sub_cases); i++) {
		const struct sub_case *c = &sub_cases[i];
		uint8_t *buf = malloc(c->avail ? c->avail : 1);
		cr_assert_not_null(buf);
		memcpy(buf, c->in, c->avail);
		struct rv_rd rd, sub = { 0 };
		rv_rd_init(&rd, buf, c->avail);
		bool ok = rv_rd_sub(&rd, &sub, c->prefix);
		cr_assert_eq(ok, c->ok, "case %zu", i);
		if (ok) {
			cr_assert_eq(rv_rd_left(&sub), c->body_len, "case %zu", i);
			cr_assert_eq(rv_rd_data(&sub), buf + c->prefix, "case %zu", i);
			cr_assert_eq(rv_rd_left(&rd), c->left, "case %zu", i);
		} else {
			cr_assert_eq(rv_rd_left(&rd), c->avail, "case %zu: consumed on failure", i);
			cr_assert_eq(rv_rd_data(&rd), buf, "case %zu", i);
		}
		/* The fixed-width spellings agree with the generic one. */
		if (c->prefix == 1 || c->prefix == 2 || c->prefix == 4) {
			struct rv_rd rd2, sub2;
			rv_rd_init(&rd2, buf, c->avail);
			bool ok2 = c->prefix == 1   ? rv_rd_sub_u8(&rd2, &sub2)
				   : c->prefix == 2 ? rv_rd_sub_u16(&rd2, &sub2)
						    : rv_rd_sub_u32(&rd2, &sub2);
			cr_assert_eq(ok2, ok, "case %zu: fixed-width spelling", i);
		}
		free(buf);
	}
}

Test(core_rd, nested_subs)
{
	/* outer u16 len 6: { u8 len 2: {0xaa 0xbb}, u8 len 2: {0xcc 0xdd} }, tail 0xee */
	static const uint8_t msg[] = { 0x00, 0x06, 0x02, 0xaa, 0xbb, 0x02, 0xcc, 0xdd, 0xee };
	struct rv_rd rd, outer, in1, in2;
	uint8_t v;
	rv_rd_init(&rd, msg, sizeof(msg));
	cr_assert(rv_rd_sub_u16(&rd, &outer));
	cr_assert(rv_rd_sub_u8(&outer, &in1));
	cr_assert(rv_rd_sub_u8(&outer, &in2));
	cr_assert_eq(rv_rd_left(&outer), 0);
	cr_assert(rv_rd_u8(&in2, &v) && v == 0xcc);
	cr_assert(rv_rd_skip(&in1, 2));
	cr_assert_not(rv_rd_u8(&in1, &v), "a sub-reader never reads past its own end");
	cr_assert(rv_rd_u8(&rd, &v) && v == 0xee);
}

Test(core_rd, null_buffer)
{
	struct rv_rd rd, sub;
	uint8_t v;
	rv_rd_init(&rd, NULL, 100);
	cr_assert_eq(rv_rd_left(&rd), 0, "a NULL buffer has no bytes whatever len says");
	cr_assert_not(rv_rd_u8(&rd, &v));
	cr_assert(rv_rd_skip(&rd, 0));
	cr_assert(rv_rd_bytes(&rd, NULL, 0));
	cr_assert(rv_rd_span(&rd, &sub, 0));
	cr_assert_eq(rv_rd_left(&sub), 0);
}

struct wr_case {
	size_t cap;
	size_t want_len; /* bytes written when everything fits */
	bool ok;
};

/* The same encoder (u8 u16 u32 u64 bytes[3] zeros[2] = 20 bytes) into
 * buffers from far too small to larger than needed. */
static const struct wr_case wr_cases[] = {
	/* 0 */ { 0, 0, false },
	/* 1 */ { 1, 1, false },
	/* 2 */ { 2, 1, false },
	/* 3 */ { 7, 7, false },
	/* 4 */ { 14, 7, false },
	/* 5 */ { 15, 15, false },
	/* 6 */ { 19, 18, false },
	/* 7 */ { 20, 20, true },
	/* 8 */ { 32, 20, true },
};

static void encode(struct rv_wr *wr)
{
	static const uint8_t three[] = { 0xa1, 0xa2, 0xa3 };
	rv_wr_u8(wr, 0x11);
	rv_wr_u16(wr, 0x2233);
	rv_wr_u32(wr, 0x44556677);
	rv_wr_u64(wr, 0x8899aabbccddeeffull);
	rv_wr_bytes(wr, three, sizeof(three));
	rv_wr_zeros(wr, 2);
}

Test(core_rd, writer_sticky_error)
{
	static const uint8_t want[] = {
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
		0xbb, 0xcc, 0xdd, 0xee, 0xff, 0xa1, 0xa2, 0xa3, 0x00, 0x00,
	};
	for (size_t i = 0; i < ARRAY_SIZE(wr_cases); i++) {
		const struct wr_case *c = &wr_cases[i];
		uint8_t buf[40];
		memset(buf, 0x5a, sizeof(buf));
		struct rv_wr wr;
		rv_wr_init(&wr, buf, c->cap);
		encode(&wr);
		cr_assert_eq(rv_wr_ok(&wr), c->ok, "case %zu", i);
		cr_assert_eq(rv_wr_len(&wr), c->want_len, "case %zu: len %zu", i, rv_wr_len(&wr));
		cr_assert_arr_eq(buf, want, c->want_len, "case %zu: content", i);
		/* Nothing beyond what was accounted for was touched. */
		for (size_t j = c->want_len; j < sizeof(buf); j++) {
			cr_assert_eq(buf[j], 0x5a, "case %zu: byte %zu written after error", i, j);
		}
		if (!c->ok) {
			cr_assert_eq(rv_wr_left(&wr), 0, "case %zu", i);
			cr_assert_not(rv_wr_u8(&wr, 1), "case %zu: error is sticky", i);
			cr_assert_not(rv_wr_zeros(&wr, 0), "case %zu: even empty writes fail", i);
		} else {
			cr_assert_eq(rv_wr_left(&wr), c->cap - 20, "case %zu", i);
		}
	}
}

Test(core_rd, writer_reserve_length_prefix)
{
	uint8_t buf[8];
	struct rv_wr wr;
	uint8_t *len_at;
	rv_wr_init(&wr, buf, sizeof(buf));
	cr_assert(rv_wr_reserve(&wr, &len_at, 2));
	size_t start = rv_wr_len(&wr);
	rv_wr_u32(&wr, 0xdeadbeef);
	size_t body = rv_wr_len(&wr) - start;
	len_at[0] = (uint8_t)(body >> 8);
	len_at[1] = (uint8_t)body;
	cr_assert(rv_wr_ok(&wr));

	/* ...and it reads back as a sub-reader. */
	struct rv_rd rd, sub;
	uint32_t v;
	rv_rd_init(&rd, buf, rv_wr_len(&wr));
	cr_assert(rv_rd_sub_u16(&rd, &sub));
	cr_assert(rv_rd_u32(&sub, &v) && v == 0xdeadbeef);

	uint8_t *p = buf;
	cr_assert_not(rv_wr_reserve(&wr, &p, 3), "only 2 bytes left");
	cr_assert_null(p);
	cr_assert_not(rv_wr_ok(&wr));
}

Test(core_rd, writer_zero_state_and_huge)
{
	struct rv_wr wr = { 0 };
	cr_assert_not(rv_wr_u8(&wr, 1), "a zero writer has no space");
	cr_assert_not(rv_wr_ok(&wr));

	uint8_t buf[4];
	rv_wr_init(&wr, buf, sizeof(buf));
	cr_assert_not(rv_wr_zeros(&wr, SIZE_MAX), "a huge length must not wrap the bounds check");
	cr_assert_eq(rv_wr_len(&wr), 0);
}
