/*
 * fuzz_wire.c — libFuzzer harness for the data-header codec (core/wire.c) and
 * the cursor it reads through (core/rd.c).
 *
 *   scripts/fuzz.sh                      (all harnesses, clang + libFuzzer)
 *   build/fuzz/test/fuzz_wire test/fuzz/corpus/wire
 *   ctest -L fuzz-replay                 (replays the corpus, any compiler)
 *
 * Properties checked on every input:
 *  - the parser returns a named reason and never reads past |size|;
 *  - an accepted header re-encodes to exactly the input's first 16 bytes
 *    (so decoding loses nothing, only known flags pass and the reserved byte
 *    is really zero), and the
 *    decoded fields honour every rule the parser claims to enforce;
 *  - the verdict equals an independent byte-by-byte reference of the rules,
 *    so no valid header is rejected and each invalid one earns the reason
 *    wire.h documents, in the documented order;
 *  - a walk over the input as length-prefixed records through rv_rd never
 *    reads out of bounds, and consumed + left always equals the input size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rd.h"
#include "core/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check aborts the process so libFuzzer records the input as a crash. */
#define check(cond)                       \
	do {                              \
		if (!(cond)) {            \
			__builtin_trap(); \
		}                         \
	} while (0)

/* Independent reference: the header rules spelled out byte by byte. */
static enum rv_wire_err reference(const uint8_t *d, size_t n)
{
	if (n < RV_MIN_DATAGRAM) {
		return RV_WIRE_TOO_SHORT;
	}
	if (n > RV_MAX_DATAGRAM) {
		return RV_WIRE_TOO_LONG;
	}
	if (d[0] != RV_MSG_DATA) {
		return RV_WIRE_BAD_TYPE;
	}
	if ((d[2] & ~(RV_DATA_F_CSUM_PARTIAL | RV_DATA_F_ECHO | RV_DATA_F_SMALL)) != 0 ||
	    d[3] != 0) {
		return RV_WIRE_RESERVED;
	}
	if ((d[4] | d[5] | d[6] | d[7]) == 0) {
		return RV_WIRE_ZERO_INDEX;
	}
	uint64_t c = 0;
	for (int i = 8; i < 16; i++) {
		c = c << 8 | d[i];
	}
	if (c >= RV_REJECT_AFTER_MESSAGES) {
		return RV_WIRE_COUNTER_LIMIT;
	}
	return RV_WIRE_OK;
}

/* Walk the input with the cursor as a sequence of length-prefixed records:
 * nothing it does may read out of bounds, and lengths must add up. */
static void walk(const uint8_t *data, size_t size)
{
	struct rv_rd rd;
	rv_rd_init(&rd, data, size);
	size_t consumed = 0;
	while (rv_rd_left(&rd) > 0) {
		uint8_t sel;
		if (!rv_rd_u8(&rd, &sel)) {
			break;
		}
		consumed++;
		size_t before = rv_rd_left(&rd);
		struct rv_rd sub = { 0 };
		bool ok;
		switch (sel & 3) {
		case 0:
			ok = rv_rd_sub_u8(&rd, &sub);
			break;
		case 1:
			ok = rv_rd_sub_u16(&rd, &sub);
			break;
		case 2:
			ok = rv_rd_sub_u32(&rd, &sub);
			break;
		default: {
			uint64_t v;
			ok = rv_rd_u64(&rd, &v);
			break;
		}
		}
		if (!ok) {
			check(rv_rd_left(&rd) == before);
			break;
		}
		consumed += before - rv_rd_left(&rd);
		uint8_t tmp[8];
		while (rv_rd_left(&sub) >= sizeof(tmp)) {
			check(rv_rd_bytes(&sub, tmp, sizeof(tmp)));
		}
		check(!rv_rd_bytes(&sub, tmp, rv_rd_left(&sub) + 1));
	}
	check(consumed + rv_rd_left(&rd) == size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_data_hdr hdr;
	enum rv_wire_err err = rv_wire_parse_data_hdr(&hdr, data, size);
	check(rv_wire_err_str(err) != NULL);
	check(err == reference(data, size));

	if (err == RV_WIRE_OK) {
		uint8_t again[RV_DATA_HDR_LEN];
		rv_wire_write_data_hdr(again, &hdr);
		check(memcmp(again, data, RV_DATA_HDR_LEN) == 0);
		check(hdr.type == RV_MSG_DATA);
		check(hdr.receiver_index != 0);
		check(hdr.counter < RV_REJECT_AFTER_MESSAGES);

		/* And the re-encoded header, with the original body, parses to the
		 * same fields. */
		uint8_t *copy = malloc(size);
		check(copy != NULL);
		memcpy(copy, data, size);
		memcpy(copy, again, sizeof(again));
		struct rv_data_hdr h2;
		check(rv_wire_parse_data_hdr(&h2, copy, size) == RV_WIRE_OK);
		check(h2.key_id == hdr.key_id && h2.receiver_index == hdr.receiver_index &&
		      h2.counter == hdr.counter);
		free(copy);
	}

	walk(data, size);
	return 0;
}
