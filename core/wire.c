/*
 * wire.c — validation and encoding of the data-message header (see wire.h).
 *
 * Validation happens in a fixed order, cheapest and most telling first, so a
 * given bad datagram always earns the same reason and drop counter: length,
 * then type, then flags and reserved byte, then receiver index, then counter. All of it
 * happens before any session lookup or key is touched.
 */
#include "core/wire.h"

#include "core/compiler.h"
#include "core/rd.h"

enum rv_wire_err rv_wire_parse_data_hdr(struct rv_data_hdr *out, const uint8_t *pkt, size_t len)
{
	if (unlikely(len < RV_MIN_DATAGRAM)) {
		return RV_WIRE_TOO_SHORT;
	}
	if (unlikely(len > RV_MAX_DATAGRAM)) {
		return RV_WIRE_TOO_LONG;
	}

	struct rv_rd rd;
	uint8_t type, key_id, flags, reserved;
	uint32_t index;
	uint64_t counter;
	rv_rd_init(&rd, pkt, RV_DATA_HDR_LEN);
	if (unlikely(!rv_rd_u8(&rd, &type) || !rv_rd_u8(&rd, &key_id) || !rv_rd_u8(&rd, &flags) ||
		     !rv_rd_u8(&rd, &reserved) || !rv_rd_u32(&rd, &index) ||
		     !rv_rd_u64(&rd, &counter))) {
		/* Unreachable after the length check; kept so the reader's
		 * verdict, not our arithmetic, is what guards the buffer. */
		return RV_WIRE_TOO_SHORT;
	}

	if (unlikely(type != RV_MSG_DATA)) {
		return RV_WIRE_BAD_TYPE;
	}
	if (unlikely((flags & ~RV_DATA_F_KNOWN) != 0 || reserved != 0)) {
		return RV_WIRE_RESERVED;
	}
	if (unlikely(index == 0)) {
		return RV_WIRE_ZERO_INDEX;
	}
	out->type = type;
	out->key_id = key_id;
	out->flags = flags;
	out->receiver_index = index;
	out->counter = counter;
	if (unlikely(counter >= RV_REJECT_AFTER_MESSAGES)) {
		return RV_WIRE_COUNTER_LIMIT; /* |out| says whose it claims to be */
	}
	return RV_WIRE_OK;
}

void rv_wire_write_data_hdr(uint8_t *out, const struct rv_data_hdr *hdr)
{
	struct rv_wr wr;
	rv_wr_init(&wr, out, RV_DATA_HDR_LEN);
	rv_wr_u8(&wr, hdr->type);
	rv_wr_u8(&wr, hdr->key_id);
	rv_wr_u8(&wr, hdr->flags);
	rv_wr_u8(&wr, 0);
	rv_wr_u32(&wr, hdr->receiver_index);
	rv_wr_u64(&wr, hdr->counter);
	/* The header has a fixed size, so the writes cannot fail; the
	 * _Static_assert in wire.h pins the layout these writes spell out. */
}

const char *rv_wire_err_str(enum rv_wire_err err)
{
	switch (err) {
	case RV_WIRE_OK:
		return "ok";
	case RV_WIRE_TOO_SHORT:
		return "datagram shorter than header and tag";
	case RV_WIRE_TOO_LONG:
		return "datagram longer than the largest data message";
	case RV_WIRE_BAD_TYPE:
		return "unknown message type";
	case RV_WIRE_RESERVED:
		return "unknown header flag or reserved byte set";
	case RV_WIRE_ZERO_INDEX:
		return "receiver index 0";
	case RV_WIRE_COUNTER_LIMIT:
		return "counter at or beyond the reject-after limit";
	}
	return "unknown wire error";
}
