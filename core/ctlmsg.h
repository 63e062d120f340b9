/*
 * ctlmsg.h — the control protocol spoken inside the TLS 1.3 session.
 *
 * Framing. Every message is one frame:
 *
 *    0        1        2        3        4
 *   +--------+--------+--------+--------+-------------------+
 *   | ver=1  |  type  |  body_len u16 BE |  body (body_len)  |
 *   +--------+--------+--------+--------+-------------------+
 *
 * - ver: RV_CTL_VERSION. A frame of another version is rejected
 *   (RV_CTL_E_VERSION); the session is then closed with ERROR(VERSION).
 * - type: enum rv_ctl_type; anything else is rejected (RV_CTL_E_TYPE).
 * - body_len: at most RV_CTL_MAX_BODY; the body must be exactly as long as
 *   its type requires (RV_CTL_E_TRUNCATED / RV_CTL_E_TRAILING).
 * All integers are big-endian. Reserved fields and flag bits must be zero.
 *
 * Bodies:
 *   HELLO       max_ver u8 | min_ver u8 | reserved u16 | caps u32 |
 *               flags u8 (HAS_V4|HAS_V6) | prev4 [4] | prev6 [16]          (29)
 *               Both ends send one first. caps: RV_CTL_CAP_* bits; unknown
 *               bits are ignored (that is what they are for). A reconnecting
 *               client names the addresses it had (prev4/prev6, flagged by
 *               HAS_V4/HAS_V6; zero when absent) so that the server can give
 *               them back and applications keep their sockets; the server
 *               sends flags 0.
 *   CONFIG      server -> client, once, after both HELLOs:
 *               flags u8 (HAS_V4|HAS_V6) | prefix4 u8 | addr4 [4] |
 *               prefix6 u8 | addr6 [16] | mtu u16 | data_port u16 |
 *               server_index u32 | client_index u32 | keepalive_s u16 |
 *               dead_peer_s u16 | rekey_s u32 | cipher u8 | num_routes u8 |
 *               routes: family u8 (4|6) | prefix u8 | addr [4|16]
 *               server_index: receiver index the client puts in packets to
 *               the server; client_index: the one the server puts in packets
 *               to the client. An absent family has prefix and address zero.
 *               Routes have no bits set beyond their prefix.
 *   KEY         epoch u32 | x25519_pub [32]                               (36)
 *   KEY_ACK     epoch u32 | x25519_pub [32]                               (36)
 *   KEY_CONFIRM epoch u32                                                 (4)
 *   KEEPALIVE   (empty)                                                   (0)
 *   GOODBYE     code u16                                                  (2)
 *   ERROR       code u16 | text_len u8 | text [text_len printable ASCII]
 *   DNS         server -> client, only to a client whose HELLO has
 *               RV_CTL_CAP_DNS, after CONFIG: num_servers u8 (1..4; 0
 *               only to one with RV_CTL_CAP_DNS_EMPTY: the push withdrawn,
 *               or a search domain alone) |
 *               servers: family u8 (4|6) | addr [4|16] | domain_len u8 |
 *               domain [domain_len: letters, digits, '-' and '.'] (search
 *               domain, may be empty)
 *   DATA_STATUS server -> client, only to a client whose HELLO has
 *               RV_CTL_CAP_DATA_STATUS; client -> server, only to a server
 *               whose HELLO has RV_CTL_CAP_DATA_ECHO; while running, and only
 *               when the state changes: silent u8 (0|1) | seconds u32   (5)
 *               silent 1: the sender has had no data-channel datagram from
 *               the receiver for |seconds| (at least 1) while the control
 *               connection lives (UDP blocked on the way); silent 0: one
 *               came again (seconds 0). Other values are rejected
 *               (RV_CTL_E_DATA_STATUS). A client finds it by the server's
 *               answers to its keepalives (RV_DATA_F_ECHO, core/wire.h).
 *
 * Capability-gated messages. A server sends CONFIG again while the session
 * runs (after a configuration reload changed routes, timers or the MTU)
 * only to a client whose HELLO has RV_CTL_CAP_CONFIG_UPDATE; the update
 * keeps the addresses and receiver indices of the first CONFIG. DNS goes
 * only to clients with RV_CTL_CAP_DNS, DATA_STATUS only to clients with
 * RV_CTL_CAP_DATA_STATUS and to servers with RV_CTL_CAP_DATA_ECHO. A peer never sends a message the other did not
 * announce, so older peers keep working.
 *
 * Key epochs (see core/session.h for the data-plane side). The initiator of
 * epoch E sends KEY(E, its fresh X25519 public key); the responder generates
 * its own pair, derives the epoch keys (crypto/kdf.h: salt = TLS exporter,
 * ikm = X25519 shared secret), installs E for receiving, and answers
 * KEY_ACK(E, its public key); the initiator derives, installs E, activates it
 * for sending and sends KEY_CONFIRM(E); the responder activates E for
 * sending on KEY_CONFIRM (or earlier, on the first data packet under E).
 * Epoch 1 follows CONFIG with the server as initiator. Later epochs may be
 * started by either side; if both send KEY(E) at once, the server's wins and
 * the client abandons its own.
 */
#ifndef RV_CORE_CTLMSG_H
#define RV_CORE_CTLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RV_CTL_VERSION = 1,
	RV_CTL_HDR_LEN = 4,
	RV_CTL_MAX_BODY = 1024,
	RV_CTL_MAX_FRAME = RV_CTL_HDR_LEN + RV_CTL_MAX_BODY,
	RV_CTL_MAX_ROUTES = 32,
	RV_CTL_MAX_TEXT = 200,
	RV_CTL_PUB_LEN = 32,
	RV_CTL_HELLO_LEN = 8 + 1 + 4 + 16,
	RV_CTL_CONFIG_FIXED_LEN = 1 + 1 + 4 + 1 + 16 + 2 + 2 + 4 + 4 + 2 + 2 + 4 + 1 + 1,
	RV_CTL_KEY_LEN = 4 + RV_CTL_PUB_LEN,
	RV_CTL_CONFIRM_LEN = 4,
	RV_CTL_GOODBYE_LEN = 2,
	RV_CTL_DATA_STATUS_LEN = 1 + 4,
	RV_CTL_MAX_DNS = 4,
	RV_CTL_MAX_DOMAIN = 64,
};

_Static_assert(RV_CTL_CONFIG_FIXED_LEN == 45, "CONFIG fixed part");
_Static_assert(RV_CTL_HELLO_LEN == 29, "HELLO body");
_Static_assert(RV_CTL_DATA_STATUS_LEN == 5, "DATA_STATUS body");
_Static_assert(RV_CTL_CONFIG_FIXED_LEN + RV_CTL_MAX_ROUTES * (2 + 16) <= RV_CTL_MAX_BODY,
	       "largest CONFIG fits a frame");
_Static_assert(2 + 1 + RV_CTL_MAX_TEXT <= RV_CTL_MAX_BODY, "largest ERROR fits a frame");
_Static_assert(RV_CTL_MAX_BODY <= UINT16_MAX, "body length is a u16");

enum rv_ctl_type {
	RV_CTL_HELLO = 1,
	RV_CTL_CONFIG = 2,
	RV_CTL_KEY = 3,
	RV_CTL_KEY_ACK = 4,
	RV_CTL_KEY_CONFIRM = 5,
	RV_CTL_KEEPALIVE = 6,
	RV_CTL_GOODBYE = 7,
	RV_CTL_ERROR = 8,
	RV_CTL_DNS = 9,
	RV_CTL_DATA_STATUS = 10,
};

enum {
	RV_CTL_CAP_IPV6 = 1u << 0,	    /* can use an IPv6 virtual address */
	RV_CTL_CAP_CHACHA = 1u << 1,	    /* can use ChaCha20-Poly1305 */
	RV_CTL_CAP_CLIENT_REKEY = 1u << 2,  /* may start a rekey itself */
	RV_CTL_CAP_CONFIG_UPDATE = 1u << 3, /* accepts CONFIG again while running */
	RV_CTL_CAP_DNS = 1u << 4,	    /* accepts DNS */
	RV_CTL_CAP_CSUM_PARTIAL = 1u << 5,  /* accepts data packets flagged
					     * RV_DATA_F_CSUM_PARTIAL (core/wire.h) */
	RV_CTL_CAP_DNS_EMPTY = 1u << 6,	    /* accepts DNS with no server */
	RV_CTL_CAP_DATA_STATUS = 1u << 7,   /* accepts DATA_STATUS */
	RV_CTL_CAP_DATA_ECHO = 1u << 8,	    /* answers data-channel keepalives flagged
					     * RV_DATA_F_ECHO (core/wire.h), and
					     * accepts DATA_STATUS (server) */
	RV_CTL_CAP_DATA_SMALL = 1u << 9,    /* accepts data packets flagged
					     * RV_DATA_F_SMALL (core/wire.h) */
};

enum {
	RV_CTL_F_HAS_V4 = 1u << 0,
	RV_CTL_F_HAS_V6 = 1u << 1,
	RV_CTL_F_ALL = RV_CTL_F_HAS_V4 | RV_CTL_F_HAS_V6,
};

/* Codes carried by GOODBYE and ERROR. */
enum rv_ctl_code {
	RV_CTL_CODE_NONE = 0,
	RV_CTL_CODE_PROTOCOL = 1,   /* malformed or unexpected message */
	RV_CTL_CODE_VERSION = 2,    /* no common protocol version */
	RV_CTL_CODE_NO_ADDRESS = 3, /* address pool exhausted */
	RV_CTL_CODE_REPLACED = 4,   /* a newer connection with the same name took over */
	RV_CTL_CODE_SHUTDOWN = 5,   /* the sender is shutting down */
	RV_CTL_CODE_INTERNAL = 6,   /* resource failure on the sender */
	RV_CTL_CODE_TIMEOUT = 7,    /* peer silent for too long */
	RV_CTL_CODE_KEY = 8,	    /* key exchange failed */
	RV_CTL_CODE_FULL = 9,	    /* server at its session limit */
	RV_CTL_CODE_KICKED = 10,    /* an operator ended the session */
	RV_CTL_CODE_REVOKED = 11,   /* the peer's certificate is no longer valid */
	RV_CTL_CODE_RATE = 12,	    /* the peer asked for too much (e.g. rekeys) */
	RV_CTL_CODE_RECONFIG = 13,  /* a reload took away what the session used, or a
				     * client reconnects with a renewed certificate */
	RV_CTL_CODE_MAX,
};

/* Why a frame was rejected. */
enum rv_ctl_err {
	RV_CTL_OK = 0,
	RV_CTL_E_NEED_MORE,	 /* (framing only) incomplete frame: read more */
	RV_CTL_E_VERSION,	 /* frame version is not RV_CTL_VERSION */
	RV_CTL_E_TYPE,		 /* unknown message type */
	RV_CTL_E_TOO_LONG,	 /* body_len > RV_CTL_MAX_BODY */
	RV_CTL_E_TRUNCATED,	 /* body shorter than its type requires */
	RV_CTL_E_TRAILING,	 /* bytes left after the body's last field */
	RV_CTL_E_RESERVED,	 /* reserved field or flag bit not zero */
	RV_CTL_E_HELLO_VERSIONS, /* min_ver > max_ver or min_ver 0 */
	RV_CTL_E_PREFIX,	 /* prefix out of range, or absent family not zero */
	RV_CTL_E_MTU,		 /* mtu outside RV_MIN_MTU..RV_MAX_MTU */
	RV_CTL_E_PORT,		 /* data_port 0 */
	RV_CTL_E_INDEX,		 /* a receiver index is 0 */
	RV_CTL_E_TIMER,		 /* keepalive 0, dead_peer <= keepalive, or rekey 0 */
	RV_CTL_E_CIPHER,	 /* unknown cipher */
	RV_CTL_E_ROUTES,	 /* more than RV_CTL_MAX_ROUTES routes */
	RV_CTL_E_ROUTE_FAMILY,	 /* route family not 4 or 6 */
	RV_CTL_E_ROUTE_BITS,	 /* route address has bits beyond its prefix */
	RV_CTL_E_EPOCH,		 /* epoch 0 */
	RV_CTL_E_CODE,		 /* unknown GOODBYE/ERROR code */
	RV_CTL_E_TEXT,		 /* ERROR text too long or not printable ASCII */
	RV_CTL_E_DNS,		 /* DNS: no server, more than 4, or bad family */
	RV_CTL_E_DOMAIN,	 /* DNS: search domain too long or bad characters */
	RV_CTL_E_DATA_STATUS,	 /* DATA_STATUS: silent not 0 or 1, or seconds not as it says */
	RV_CTL_E_MAX,
};

struct rv_ctl_route {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix;
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

struct rv_ctl_hello {
	uint8_t max_ver, min_ver;
	uint32_t caps;
	uint8_t flags;	  /* RV_CTL_F_HAS_V4 | RV_CTL_F_HAS_V6 */
	uint8_t prev4[4]; /* previous address (client), zero if absent */
	uint8_t prev6[16];
};

struct rv_ctl_config {
	uint8_t flags;
	uint8_t prefix4;
	uint8_t addr4[4];
	uint8_t prefix6;
	uint8_t addr6[16];
	uint16_t mtu;
	uint16_t data_port;
	uint32_t server_index;
	uint32_t client_index;
	uint16_t keepalive_s;
	uint16_t dead_peer_s;
	uint32_t rekey_s;
	uint8_t cipher; /* enum rv_aead_alg */
	uint8_t num_routes;
	struct rv_ctl_route routes[RV_CTL_MAX_ROUTES];
};

struct rv_ctl_dns_server {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

struct rv_ctl_dns {
	uint8_t num_servers;
	struct rv_ctl_dns_server servers[RV_CTL_MAX_DNS];
	uint8_t domain_len;
	char domain[RV_CTL_MAX_DOMAIN + 1]; /* NUL-terminated after decode */
};

struct rv_ctl_key {
	uint32_t epoch;
	uint8_t pub[RV_CTL_PUB_LEN];
};

struct rv_ctl_data_status {
	uint8_t silent;	  /* 1: no data-channel datagram for |seconds|; 0: they come again */
	uint32_t seconds; /* >= 1 when silent, else 0 */
};

struct rv_ctl_error {
	uint16_t code;
	uint8_t text_len;
	char text[RV_CTL_MAX_TEXT + 1]; /* NUL-terminated after decode */
};

/* struct rv_ctl_msg is one decoded message; |type| selects the member. */
struct rv_ctl_msg {
	uint8_t type;
	union {
		struct rv_ctl_hello hello;
		struct rv_ctl_config config;
		struct rv_ctl_key key;		       /* KEY and KEY_ACK */
		uint32_t confirm_epoch;		       /* KEY_CONFIRM */
		uint16_t goodbye_code;		       /* GOODBYE */
		struct rv_ctl_error error;	       /* ERROR */
		struct rv_ctl_dns dns;		       /* DNS */
		struct rv_ctl_data_status data_status; /* DATA_STATUS */
	};
};

/* rv_ctl_frame_len looks at the |len| bytes at |buf| (the start of a
 * stream): RV_CTL_OK with *out_len = whole frame length when a complete frame
 * is present, RV_CTL_E_NEED_MORE when more bytes are needed, or a framing
 * error (VERSION, TYPE, TOO_LONG) on which the stream must be closed. */
enum rv_ctl_err rv_ctl_frame_len(const uint8_t *buf, size_t len, size_t *out_len);

/* rv_ctl_decode validates and decodes exactly one frame of |len| bytes at
 * |buf| into |out|. Returns RV_CTL_OK or the reason for rejection (|out| is
 * then unspecified). Pure; thread-safe. */
enum rv_ctl_err rv_ctl_decode(struct rv_ctl_msg *out, const uint8_t *buf, size_t len);

/* rv_ctl_encode writes |m| as one frame into |out| (|cap| bytes) and sets
 * *out_len. The message is validated by the same rules as the decoder.
 * Returns 0, -EINVAL (invalid message; the log is the caller's) or -ENOSPC. */
int rv_ctl_encode(uint8_t *out, size_t cap, size_t *out_len, const struct rv_ctl_msg *m);

/* rv_ctl_err_str, rv_ctl_type_str and rv_ctl_code_str return static names. */
const char *rv_ctl_err_str(enum rv_ctl_err err);
const char *rv_ctl_type_str(unsigned type);
const char *rv_ctl_code_str(unsigned code);
/* rv_ctl_caps_str writes the names of the RV_CTL_CAP_* bits in |caps| into
 * |buf|, comma-separated, an unknown bit as "bitN" ("-" for none), cut to
 * |len| (RV_CTL_CAPS_STR_MAX holds all 32). Returns |buf|. */
#define RV_CTL_CAPS_STR_MAX 320
const char *rv_ctl_caps_str(uint32_t caps, char *buf, size_t len);

#endif /* RV_CORE_CTLMSG_H */
