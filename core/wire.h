/*
 * wire.h — every on-wire structure of the ringvpn data channel.
 *
 * A data message is one UDP datagram:
 *
 *    0        1        2        3        4                8               16
 *   +--------+--------+--------+--------+----------------+----------------+--------------+--------+
 *   |  type  | key_id | flags  | rsvd=0 | receiver_index |    counter     |  ciphertext  |  tag   |
 *   |  u8=1  |   u8   |   u8   |   u8   |    u32 BE      |    u64 BE      |  0..MTU      |  16 B  |
 *   +--------+--------+--------+--------+----------------+----------------+--------------+--------+
 *
 * - type: RV_MSG_DATA. Anything else is rejected (RV_WIRE_BAD_TYPE).
 * - key_id: low 8 bits of the key epoch the packet was sealed under. The
 *   receiver holds at most three epochs (previous/current/next), so the low
 *   bits name the key slot without trial decryption.
 * - flags: RV_DATA_F_* bits. RV_DATA_F_CSUM_PARTIAL says that the inner
 *   packet's TCP or UDP checksum field holds only the pseudo-header sum (the
 *   kernel's CHECKSUM_PARTIAL, virtio's NEEDS_CSUM): the rest of the sum was
 *   never computed, since the AEAD tag already proves the packet intact. It
 *   is set only on a TCP/UDP packet whose L4 header directly follows the IP
 *   header (no IPv4 fragment, no IPv6 extension header), and only towards a
 *   peer whose HELLO announced RV_CTL_CAP_CSUM_PARTIAL (core/ctlmsg.h): older
 *   receivers reject the byte. The receiver hands such a packet to its TUN as
 *   NEEDS_CSUM, or completes the sum itself where it cannot.
 *   RV_DATA_F_ECHO, on an empty message (a keepalive), asks the receiver for
 *   an empty message back (not flagged: no loop); a client sets it only
 *   towards a server whose HELLO announced RV_CTL_CAP_DATA_ECHO, so that it
 *   can tell whether the server's datagrams reach it. On any other message
 *   it means nothing. RV_DATA_F_SMALL marks a packet of the sender's small
 *   class (at most RV_PRIO_MAX_LEN inner bytes, not empty, not a fragment,
 *   not part of a bulk flow, not an ICMP error; in a run of a few of its
 *   session, not a flood: uring/worker_tx.c flag_small), set only towards a
 *   peer whose HELLO announced
 *   RV_CTL_CAP_DATA_SMALL: the receiver's socket steering reads it in a UDP
 *   GSO train's first datagram, whose merged length alone would send a
 *   train of small datagrams to the bulk lane while the flow's single
 *   datagrams take the small one (reordered: round-sixty-nine tester 310).
 *   Opening ignores it. Unknown flag bits are rejected (RV_WIRE_RESERVED).
 * - rsvd: must be zero; a sender never sets it, a receiver rejects it
 *   (RV_WIRE_RESERVED) so it can carry meaning in a later version.
 * - receiver_index: random 32-bit value chosen by the receiver for this
 *   session (never 0); the receiver finds the session by it in O(1).
 * - counter: per-epoch, per-direction message counter, starting at 0, never
 *   repeated under one key. It is the AEAD nonce: 4 zero bytes || counter BE.
 * - The 16-byte header is the AEAD additional data, so every header field is
 *   authenticated; the ciphertext is an inner IPv4 or IPv6 packet, or empty
 *   (a keepalive).
 *
 * Overhead is 32 bytes plus the outer IP/UDP header: with an IPv6 underlay
 * (40 + 8) a 1500-byte link carries a 1420-byte tunnel MTU.
 */
#ifndef RV_CORE_WIRE_H
#define RV_CORE_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum rv_msg_type {
	RV_MSG_DATA = 1,
};

enum rv_data_flags {
	RV_DATA_F_CSUM_PARTIAL = 1u << 0,
	RV_DATA_F_ECHO = 1u << 1,
	RV_DATA_F_SMALL = 1u << 2,
	RV_DATA_F_KNOWN = RV_DATA_F_CSUM_PARTIAL | RV_DATA_F_ECHO | RV_DATA_F_SMALL,
};

enum rv_limits {
	RV_DATA_HDR_LEN = 16,
	RV_DATA_HDR_FLAGS_OFF = 2, /* flags, u8 */
	RV_DATA_HDR_INDEX_OFF = 4, /* receiver_index, u32 big-endian */
	RV_TAG_LEN = 16,
	RV_DATA_OVERHEAD = RV_DATA_HDR_LEN + RV_TAG_LEN,
	RV_MIN_DATAGRAM = RV_DATA_OVERHEAD, /* an empty (keepalive) message */
	RV_DEFAULT_MTU = 1420,
	RV_MIN_MTU = 576,
	RV_MAX_MTU = 9000,
	RV_MAX_DATAGRAM = RV_MAX_MTU + RV_DATA_OVERHEAD,
	/* A sender asks for a new epoch after this: a backstop 30 s before the
	 * epoch's end, after the longest rekey_interval (which times the
	 * server's own exchanges); at 120 s it rekeyed every session every
	 * 120 s whatever rekey_interval said (round-sixty-eight tester 305). */
	RV_REKEY_AFTER_TIME_S = 150,
	RV_REJECT_AFTER_TIME_S = 180, /* an epoch is unusable after this */
};

/* Message counts are 64-bit, so they live outside the int-sized enum. */
#define RV_REKEY_AFTER_MESSAGES (1ull << 60)
#define RV_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ull << 13))

/* struct rv_data_hdr is the decoded form of the 16-byte header. It is never
 * overlaid on a buffer: rv_wire_parse_data_hdr reads it field by field. */
struct rv_data_hdr {
	uint8_t type;
	uint8_t key_id;
	uint8_t flags; /* RV_DATA_F_* */
	uint32_t receiver_index;
	uint64_t counter;
};

/* Why a datagram was rejected before any key was touched. */
enum rv_wire_err {
	RV_WIRE_OK = 0,
	RV_WIRE_TOO_SHORT,     /* fewer than RV_MIN_DATAGRAM bytes */
	RV_WIRE_TOO_LONG,      /* more than RV_MAX_DATAGRAM bytes */
	RV_WIRE_BAD_TYPE,      /* type is not RV_MSG_DATA */
	RV_WIRE_RESERVED,      /* unknown flag bit or reserved byte set */
	RV_WIRE_ZERO_INDEX,    /* receiver_index 0 is never assigned */
	RV_WIRE_COUNTER_LIMIT, /* counter >= RV_REJECT_AFTER_MESSAGES */
};

_Static_assert(RV_DATA_HDR_LEN == 1 + 1 + 1 + 1 + 4 + 8, "data header layout");
_Static_assert(RV_DEFAULT_MTU + RV_DATA_OVERHEAD + 40 + 8 == 1500, "default MTU fits IPv6 on 1500");

/* rv_wire_parse_data_hdr validates |len| bytes at |pkt| as a data message and
 * decodes its header into |out|. It returns RV_WIRE_OK or the reason for
 * rejection; |out| is only meaningful on RV_WIRE_OK and on
 * RV_WIRE_COUNTER_LIMIT (the session it names is charged the drop). Pure;
 * thread-safe. */
enum rv_wire_err rv_wire_parse_data_hdr(struct rv_data_hdr *out, const uint8_t *pkt, size_t len);

/* rv_wire_write_data_hdr encodes |hdr| into the first RV_DATA_HDR_LEN bytes of
 * |out| (the reserved byte zero). */
void rv_wire_write_data_hdr(uint8_t *out, const struct rv_data_hdr *hdr);

/* rv_wire_err_str returns a static human-readable reason. */
const char *rv_wire_err_str(enum rv_wire_err err);

#endif /* RV_CORE_WIRE_H */
