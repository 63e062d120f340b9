/*
 * test_core_wire.c — table-driven tests of the data-header codec (core/wire.c).
 *
 *   ./build/<dir>/test/test_core_wire        (or: ctest -L unit -R core_wire)
 *
 * Every malformed datagram is rejected with its own named reason, checked
 * exactly; valid headers decode field by field and re-encode byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/wire.h"

struct hdr_case {
	char name[32];
	uint8_t type;
	uint8_t key_id;
	uint16_t flags_rsvd; /* flags byte << 8 | reserved byte */
	uint32_t index;
	uint64_t counter;
	size_t len; /* whole datagram, header + body + tag */
	enum rv_wire_err want;
};

#define LIM RV_REJECT_AFTER_MESSAGES

static const struct hdr_case hdr_cases[] = {
	/* Lengths. */
	{ "empty", 1, 0, 0, 7, 0, 0, RV_WIRE_TOO_SHORT },
	{ "one byte", 1, 0, 0, 7, 0, 1, RV_WIRE_TOO_SHORT },
	{ "header only", 1, 0, 0, 7, 0, RV_DATA_HDR_LEN, RV_WIRE_TOO_SHORT },
	{ "min - 1", 1, 0, 0, 7, 0, RV_MIN_DATAGRAM - 1, RV_WIRE_TOO_SHORT },
	{ "min (keepalive)", 1, 0, 0, 7, 0, RV_MIN_DATAGRAM, RV_WIRE_OK },
	{ "min + 1", 1, 0, 0, 7, 0, RV_MIN_DATAGRAM + 1, RV_WIRE_OK },
	{ "default mtu", 1, 0, 0, 7, 0, RV_DEFAULT_MTU + RV_DATA_OVERHEAD, RV_WIRE_OK },
	{ "max", 1, 0, 0, 7, 0, RV_MAX_DATAGRAM, RV_WIRE_OK },
	{ "max + 1", 1, 0, 0, 7, 0, RV_MAX_DATAGRAM + 1, RV_WIRE_TOO_LONG },
	{ "64 KiB", 1, 0, 0, 7, 0, 65535, RV_WIRE_TOO_LONG },
	/* Type. */
	{ "type 0", 0, 0, 0, 7, 0, 64, RV_WIRE_BAD_TYPE },
	{ "type 2", 2, 0, 0, 7, 0, 64, RV_WIRE_BAD_TYPE },
	{ "type 0xff", 0xff, 0, 0, 7, 0, 64, RV_WIRE_BAD_TYPE },
	/* Flags and the reserved byte. */
	{ "csum partial", 1, 0, 0x0100, 7, 0, 64, RV_WIRE_OK },
	{ "csum partial keepalive", 1, 0, 0x0100, 7, 0, RV_MIN_DATAGRAM, RV_WIRE_OK },
	{ "echo keepalive", 1, 0, 0x0200, 7, 0, RV_MIN_DATAGRAM, RV_WIRE_OK },
	{ "echo + csum partial", 1, 0, 0x0300, 7, 0, 64, RV_WIRE_OK },
	{ "small", 1, 0, 0x0400, 7, 0, 64, RV_WIRE_OK },
	{ "small + csum partial", 1, 0, 0x0500, 7, 0, 64, RV_WIRE_OK },
	{ "flag 0x08", 1, 0, 0x0800, 7, 0, 64, RV_WIRE_RESERVED },
	{ "echo + 0x08", 1, 0, 0x0a00, 7, 0, RV_MIN_DATAGRAM, RV_WIRE_RESERVED },
	{ "flag 0x80", 1, 0, 0x8000, 7, 0, 64, RV_WIRE_RESERVED },
	{ "csum partial + 0x80", 1, 0, 0x8100, 7, 0, 64, RV_WIRE_RESERVED },
	{ "reserved 0x01", 1, 0, 0x0001, 7, 0, 64, RV_WIRE_RESERVED },
	{ "partial + reserved", 1, 0, 0x0101, 7, 0, 64, RV_WIRE_RESERVED },
	{ "reserved 0xffff", 1, 0, 0xffff, 7, 0, 64, RV_WIRE_RESERVED },
	/* Receiver index. */
	{ "index 0", 1, 0, 0, 0, 0, 64, RV_WIRE_ZERO_INDEX },
	{ "index 1", 1, 0, 0, 1, 0, 64, RV_WIRE_OK },
	{ "index max", 1, 0, 0, UINT32_MAX, 0, 64, RV_WIRE_OK },
	/* Counter around the reject-after limit. */
	{ "counter 0", 1, 3, 0, 9, 0, 64, RV_WIRE_OK },
	{ "counter rekey", 1, 3, 0, 9, RV_REKEY_AFTER_MESSAGES, 64, RV_WIRE_OK },
	{ "counter lim - 2", 1, 3, 0, 9, LIM - 2, 64, RV_WIRE_OK },
	{ "counter lim - 1", 1, 3, 0, 9, LIM - 1, 64, RV_WIRE_OK },
	{ "counter lim", 1, 3, 0, 9, LIM, 64, RV_WIRE_COUNTER_LIMIT },
	{ "counter lim + 1", 1, 3, 0, 9, LIM + 1, 64, RV_WIRE_COUNTER_LIMIT },
	{ "counter max", 1, 3, 0, 9, UINT64_MAX, 64, RV_WIRE_COUNTER_LIMIT },
	/* Several faults at once: the documented check order decides. */
	{ "short beats type", 9, 0, 1, 0, UINT64_MAX, 20, RV_WIRE_TOO_SHORT },
	{ "long beats type", 9, 0, 1, 0, UINT64_MAX, RV_MAX_DATAGRAM + 1, RV_WIRE_TOO_LONG },
	{ "type beats reserved", 9, 0, 1, 0, UINT64_MAX, 64, RV_WIRE_BAD_TYPE },
	{ "reserved beats index", 1, 0, 1, 0, UINT64_MAX, 64, RV_WIRE_RESERVED },
	{ "index beats counter", 1, 0, 0, 0, UINT64_MAX, 64, RV_WIRE_ZERO_INDEX },
	/* key_id is opaque to the parser. */
	{ "key_id 0xff", 1, 0xff, 0, 0x01020304, 0x0a0b0c0d0e0f1011ull, 64, RV_WIRE_OK },
};

/* build writes the header fields by hand (not through the code under test)
 * into an exact-size heap buffer so ASan sees any overread. */
static uint8_t *build(const struct hdr_case *c)
{
	uint8_t *pkt = malloc(c->len ? c->len : 1);
	cr_assert_not_null(pkt);
	memset(pkt, 0x77, c->len);
	uint8_t hdr[RV_DATA_HDR_LEN] = {
		c->type,
		c->key_id,
		(uint8_t)(c->flags_rsvd >> 8),
		(uint8_t)c->flags_rsvd,
	};
	for (int i = 0; i < 4; i++) {
		hdr[4 + i] = (uint8_t)(c->index >> (24 - 8 * i));
	}
	for (int i = 0; i < 8; i++) {
		hdr[8 + i] = (uint8_t)(c->counter >> (56 - 8 * i));
	}
	memcpy(pkt, hdr, c->len < sizeof(hdr) ? c->len : sizeof(hdr));
	return pkt;
}

static void check_parse(const struct hdr_case *c)
{
	uint8_t *pkt = build(c);
	struct rv_data_hdr h;
	memset(&h, 0xee, sizeof(h));
	enum rv_wire_err err = rv_wire_parse_data_hdr(&h, pkt, c->len);
	cr_assert_eq(err, c->want, "%s: got %d (%s), want %d (%s)", c->name, err,
		     rv_wire_err_str(err), c->want, rv_wire_err_str(c->want));
	if (err == RV_WIRE_COUNTER_LIMIT) {
		/* Whose it claims to be, for the drop's charge. */
		cr_assert_eq(h.receiver_index, c->index, "%s", c->name);
		cr_assert_eq(h.counter, c->counter, "%s", c->name);
	}
	if (err == RV_WIRE_OK) {
		cr_assert_eq(h.type, RV_MSG_DATA, "%s", c->name);
		cr_assert_eq(h.key_id, c->key_id, "%s", c->name);
		cr_assert_eq(h.flags, c->flags_rsvd >> 8, "%s", c->name);
		cr_assert_eq(h.receiver_index, c->index, "%s", c->name);
		cr_assert_eq(h.counter, c->counter, "%s", c->name);

		uint8_t again[RV_DATA_HDR_LEN + 1];
		again[RV_DATA_HDR_LEN] = 0x99;
		rv_wire_write_data_hdr(again, &h);
		cr_assert_arr_eq(again, pkt, RV_DATA_HDR_LEN, "%s: re-encoding differs", c->name);
		cr_assert_eq(again[RV_DATA_HDR_LEN], 0x99, "%s: wrote past the header", c->name);
	}
	free(pkt);
}

/* All cases in one test, not a test (a process) per case: Criterion's
 * process start-ups made this file cost 9 s under ASan. Every message names
 * its case. */
Test(core_wire, parse)
{
	for (size_t i = 0; i < ARRAY_SIZE(hdr_cases); i++) {
		check_parse(&hdr_cases[i]);
	}
}

Test(core_wire, write_known_bytes)
{
	static const uint8_t want[RV_DATA_HDR_LEN] = {
		0x01, 0x2a, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	};
	struct rv_data_hdr h = {
		.type = RV_MSG_DATA,
		.key_id = 42,
		.receiver_index = 0xdeadbeef,
		.counter = 0x0102030405ull,
	};
	uint8_t out[RV_DATA_HDR_LEN];
	memset(out, 0xff, sizeof(out));
	rv_wire_write_data_hdr(out, &h);
	cr_assert_arr_eq(out, want, sizeof(want));

	/* The flags go to byte 2; byte 3 stays zero. */
	h.flags = RV_DATA_F_CSUM_PARTIAL;
	memset(out, 0xff, sizeof(out));
	rv_wire_write_data_hdr(out, &h);
	cr_assert_eq(out[2], 0x01);
	cr_assert_eq(out[3], 0x00);
	cr_assert_arr_eq(out + 4, want + 4, sizeof(want) - 4);
}

Test(core_wire, err_strings_distinct)
{
	static const enum rv_wire_err all[] = {
		RV_WIRE_OK,	  RV_WIRE_TOO_SHORT,  RV_WIRE_TOO_LONG,	     RV_WIRE_BAD_TYPE,
		RV_WIRE_RESERVED, RV_WIRE_ZERO_INDEX, RV_WIRE_COUNTER_LIMIT,
	};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		const char *s = rv_wire_err_str(all[i]);
		cr_assert_not_null(s);
		cr_assert_neq(strcmp(s, "unknown wire error"), 0, "reason %zu unnamed", i);
		for (size_t j = 0; j < i; j++) {
			cr_assert_str_neq(s, rv_wire_err_str(all[j]), "reasons %zu and %zu", i, j);
		}
	}
	cr_assert_str_eq(rv_wire_err_str((enum rv_wire_err)99), "unknown wire error");
}

/* Every single-byte corruption of a valid header lands on a named reason:
 * the byte's field decides which. key_id is free-form, and no single byte
 * of a small counter can reach the limit (that needs the top 51 bits set). */
Test(core_wire, every_byte_flipped)
{
	uint8_t pkt[RV_MIN_DATAGRAM] = { 0 };
	struct rv_data_hdr h = {
		.type = RV_MSG_DATA, .key_id = 1, .receiver_index = 1, .counter = 5
	};
	rv_wire_write_data_hdr(pkt, &h);
	for (size_t off = 0; off < RV_DATA_HDR_LEN; off++) {
		for (unsigned v = 0; v < 256; v++) {
			uint8_t mut[RV_MIN_DATAGRAM];
			memcpy(mut, pkt, sizeof(mut));
			mut[off] = (uint8_t)v;
			struct rv_data_hdr out;
			enum rv_wire_err err = rv_wire_parse_data_hdr(&out, mut, sizeof(mut));
			enum rv_wire_err want = RV_WIRE_OK;
			if (off == 0 && v != RV_MSG_DATA) {
				want = RV_WIRE_BAD_TYPE;
			} else if ((off == 2 && (v & ~RV_DATA_F_KNOWN) != 0) ||
				   (off == 3 && v != 0)) {
				want = RV_WIRE_RESERVED;
			} else if (off == 7 && v == 0) {
				want = RV_WIRE_ZERO_INDEX;
			}
			cr_assert_eq(err, want, "offset %zu value %#x: got %s", off, v,
				     rv_wire_err_str(err));
		}
	}
}
