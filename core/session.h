/*
 * session.h — one peer's data-channel state: indices, virtual addresses, the
 * peer's UDP endpoint, three key slots and per-session counters.
 *
 * Ownership and threads
 * ---------------------
 * The control thread is the only writer of a session's configuration and
 * keys: it creates the session, installs and retires key epochs, publishes
 * it in a struct rv_demux, unpublishes it, and finally frees it after a QSBR
 * grace period (rv_qsbr_retire with rv_session_retire_node). Workers only
 * find a session through the demux tables and may use the pointer until their
 * next rv_qsbr_quiescent() call; they never keep it across loop turns.
 *
 * Workers call the seal/open batch functions concurrently (several workers
 * may send for one session): send counters are reserved with one atomic add
 * per batch, the replay window is serialised by a per-slot spinlock taken once
 * per batch, and per-session counters are atomic adds once per batch.
 *
 * Keys and rollover
 * -----------------
 * A session holds up to three key epochs (previous/current/next), each with a
 * send and a receive AEAD, a send counter and a replay window. Epoch E lives
 * in slot E % 3; a packet names its epoch by key_id = E & 0xff. Rollover:
 *   1. both ends derive epoch E+1; each installs it (rv_session_install_epoch)
 *      for receiving before telling the peer it has done so;
 *   2. the end that knows the peer has installed E+1 activates it for sending
 *      (rv_session_activate_epoch);
 *   3. the other end switches its sending to E+1 automatically on the first
 *      authenticated packet received under E+1 (RV_SESSION_KEY_ROLLED), or when
 *      the control plane activates it, whichever comes first;
 *   4. epoch E stays installed for receiving until E+3 needs its slot, which
 *      the control plane must not do sooner than one grace period later,
 *      or until the control plane drops it (rv_session_drop_epoch: once it
 *      is two behind the active epoch, tls/ctlkey.c).
 * No packet is lost for key reasons as long as rekeys are at least one RTT
 * apart.
 */
#ifndef RV_CORE_SESSION_H
#define RV_CORE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/certname.h"
#include "core/counters.h"
#include "core/ip.h"
#include "core/qsbr.h"
#include "core/wire.h"
#include "crypto/aead.h"

struct rv_session;

/* struct rv_endpoint is a peer's UDP address (IPv4 or IPv6) and, where
 * known, our own address its datagrams were sent to: replies leave from it,
 * so that a host with several addresses answers from the one the peer
 * talks to (a NAT or stateful firewall on the way drops anything else). */
struct rv_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
	socklen_t len;	       /* 0 = unknown */
	struct in6_addr local; /* IPv4 as v4-mapped; :: = unknown (the route picks) */
};

/* rv_endpoint_equal compares family, address and port, and the local address. */
bool rv_endpoint_equal(const struct rv_endpoint *a, const struct rv_endpoint *b);
/* rv_endpoint_str formats "addr:port" / "[addr]:port" into |buf| (>= 64 bytes). */
const char *rv_endpoint_str(const struct rv_endpoint *ep, char *buf, size_t buf_len);
/* rv_endpoint_addr fills |out| with the endpoint's address (an IPv4-mapped
 * IPv6 address as its IPv4 address; family 0 for an unknown family). */
void rv_endpoint_addr(const struct rv_endpoint *ep, struct rv_ip_addr *out);
/* rv_endpoint_set makes |ep| the socket address of |a| (IPv4 or IPv6) and
 * |port|: rv_endpoint_addr's inverse, for a bind or a connect. */
void rv_endpoint_set(struct rv_endpoint *ep, const struct rv_ip_addr *a, uint16_t port);
/* rv_endpoint_from_sa makes |ep| the socket address |sa| of |len| bytes (a
 * getsockname's or getpeername's), local address unknown. False, |ep|
 * zeroed (unknown), when it is longer than an IPv6 one. */
bool rv_endpoint_from_sa(struct rv_endpoint *ep, const void *sa, socklen_t len);

enum {
	/* "client " + a certificate name + NUL: see rv_session_params.peer_name. */
	RV_SESSION_PEER_NAME_MAX = 8 + RV_CERT_NAME_MAX,
};

/* How long after the epoch we send under was installed the peer's newest
 * datagram of the epoch before may still move its endpoint: the peer
 * switches a round trip after us (rv_session_open_batch_newest). */
#define RV_SESSION_SWITCH_GRACE_NS (2ull * 1000000000ull)

struct rv_session_params {
	/* How the log names the peer: "client NAME" (NAME the certificate's,
	 * as the control plane logs it) on a server, "server" on a client;
	 * copied, cut to RV_SESSION_PEER_NAME_MAX - 1 bytes. NULL or "":
	 * "peer". */
	const char *peer_name;
	uint32_t local_index;	       /* peers put this in packets to us; != 0 */
	uint32_t remote_index;	       /* we put this in packets to the peer; != 0 */
	struct rv_ip_addr vaddr4;      /* family 0: none */
	struct rv_ip_addr vaddr6;      /* family 0: none */
	bool any_source;	       /* no source check (test peers; the client checks too) */
	bool csum_partial;	       /* the peer announced RV_CTL_CAP_CSUM_PARTIAL */
	bool small_flag;	       /* the peer announced RV_CTL_CAP_DATA_SMALL */
	enum rv_aead_alg alg;	       /* RV_AEAD_NONE means AES-256-GCM */
	uint64_t rekey_after_messages; /* 0: RV_REKEY_AFTER_MESSAGES */
	uint64_t rekey_after_ns;       /* 0: RV_REKEY_AFTER_TIME_S */
	uint64_t reject_after_ns;      /* 0: RV_REJECT_AFTER_TIME_S */
	struct rv_endpoint endpoint;   /* len 0: learn from the first authenticated packet */
	bool endpoint_fixed;	       /* client side: the endpoint is the server's, from the
					* control plane; datagrams never move it */
};

/* A packet buffer handed to the seal/open batch calls. |buf| points at the
 * RV_DATA_HDR_LEN bytes of header room; the payload follows it and at least
 * RV_TAG_LEN bytes of tailroom follow the payload. |flags| (RV_DATA_F_*) go
 * into the sealed header; set RV_DATA_F_CSUM_PARTIAL only for a session
 * whose rv_session_csum_partial is true. Opening ignores them. */
struct rv_pkt {
	uint8_t *buf;
	uint32_t len;
	uint8_t flags;
};

enum rv_session_result {
	RV_SESSION_OK = 0,
	RV_SESSION_REKEY_SOON, /* sealed or opened; the epoch nears a limit (reported once):
				* the caller wakes the control thread */
	RV_SESSION_KEY_ROLLED, /* opened; sending switched to the packet's newer epoch */
	RV_SESSION_NO_KEY,     /* no usable epoch (none active / key_id unknown) */
	RV_SESSION_EXPIRED,    /* epoch past its reject-after count or age */
	RV_SESSION_AUTH_FAIL,  /* AEAD open failed */
	RV_SESSION_REPLAY,     /* counter already seen */
	RV_SESSION_TOO_OLD,    /* counter left of the replay window */
};

/* rv_session_new allocates a session from |params| (copied). Returns NULL on
 * -ENOMEM or invalid params (zero index). Control thread. */
struct rv_session *rv_session_new(const struct rv_session_params *params);

/* rv_session_free wipes every key and frees |s|. Only after the session was
 * unpublished and a grace period passed (or it was never published). NULL ok. */
void rv_session_free(struct rv_session *s);

/* rv_session_retire_node returns the embedded QSBR node; pass it to
 * rv_qsbr_retire(q, node, rv_session_free_node) after unpublishing. */
struct rv_qsbr_node *rv_session_retire_node(struct rv_session *s);
void rv_session_free_node(struct rv_qsbr_node *node);

/* rv_session_install_epoch installs epoch |epoch| (> every installed epoch)
 * with directional keys |send_key| and |recv_key| (RV_AEAD_KEY_LEN each,
 * copied; caller wipes), born at |now_ns| (monotonic; the epoch expires
 * RV_REJECT_AFTER_TIME_S later). It may receive at once; it sends only once
 * activated. If its slot still holds an older epoch, that epoch is
 * unpublished and handed to rv_qsbr_retire(|q|): it is wiped after a grace
 * period, and this call never waits for the workers. The keys live in
 * crypto/secmem memory (not in core dumps). Control thread. Returns 0,
 * -EINVAL (epoch not newer), or -ENOMEM. */
int rv_session_install_epoch(struct rv_session *s, struct rv_qsbr *q, uint32_t epoch,
			     const uint8_t *send_key, const uint8_t *recv_key, uint64_t now_ns);

/* rv_session_activate_epoch makes installed |epoch| the sending epoch if it is
 * newer than the current one. Returns 0 or -ENOENT. Any thread. */
int rv_session_activate_epoch(struct rv_session *s, uint32_t epoch);

/* rv_session_drop_epoch removes |epoch| (receive and send) and retires its
 * keys through |q| (wiped after a grace period; never blocks). Control
 * thread. Returns 0 or -ENOENT. */
int rv_session_drop_epoch(struct rv_session *s, struct rv_qsbr *q, uint32_t epoch);

/* rv_session_tx_epoch returns the sending epoch (0 = none active). */
uint32_t rv_session_tx_epoch(const struct rv_session *s);

/* rv_session_tx_expires_ns: when the sending epoch's keys stop sealing
 * (monotonic; born plus the reject-after age), 0 with none. Control
 * thread. */
uint64_t rv_session_tx_expires_ns(const struct rv_session *s);

/* rv_session_seal_batch seals |num| packets for |s| under its sending epoch:
 * on entry pkts[i].len is the payload length (payload at buf +
 * RV_DATA_HDR_LEN); on RV_SESSION_OK/REKEY_SOON each pkts[i].len is the
 * datagram length. On NO_KEY/EXPIRED nothing is sealed. |now_ns| is a
 * (coarse) monotonic time. Any worker, concurrently. */
enum rv_session_result rv_session_seal_batch(struct rv_session *s, struct rv_pkt *pkts, size_t num,
					     uint64_t now_ns);

/* struct rv_pkt_extra names a read-only piece of payload that follows a
 * packet's in-buffer payload (see rv_session_seal_batch_ext). */
struct rv_pkt_extra {
	const uint8_t *p;
	uint32_t len;
};

/* rv_session_seal_batch_ext is rv_session_seal_batch where packet i's
 * plaintext is pkts[i].len bytes at buf + RV_DATA_HDR_LEN followed by
 * extras[i].len bytes at extras[i].p (only read; must not overlap the
 * buffer). The ciphertext of both lands contiguously after the header, then
 * the tag, so the buffer needs pkts[i].len + extras[i].len + RV_TAG_LEN bytes
 * after the header. This lets the data plane seal a payload slice straight
 * out of a TUN superframe into the send buffer. On OK/REKEY_SOON
 * pkts[i].len is the datagram length. extras == NULL is
 * rv_session_seal_batch. Any worker, concurrently. (Added by uring's data
 * plane; backward compatible.) */
enum rv_session_result rv_session_seal_batch_ext(struct rv_session *s, struct rv_pkt *pkts,
						 const struct rv_pkt_extra *extras, size_t num,
						 uint64_t now_ns);

/* rv_session_open_batch authenticates and decrypts |num| datagrams addressed
 * to |s| (hdrs[i] parsed from pkts[i] by rv_wire_parse_data_hdr). For each
 * packet |results[i]| says what happened; for OK and KEY_ROLLED the plaintext
 * (possibly empty: a keepalive) is at pkts[i].buf + RV_DATA_HDR_LEN and
 * pkts[i].len is set to its length. The replay window changes only for
 * authenticated packets. Returns how many packets were accepted. Any worker. */
size_t rv_session_open_batch(struct rv_session *s, struct rv_pkt *pkts,
			     const struct rv_data_hdr *hdrs, enum rv_session_result *results,
			     size_t num, uint64_t now_ns);

/* rv_session_open_batch_newest is rv_session_open_batch that also sets
 * *newest to the index of the last accepted packet that may move the peer's
 * endpoint, or to |num| if none may: a packet under the newest epoch the
 * peer has sent under (or a newer one), not older than the epoch we send
 * under (the one before it while that one is younger than
 * RV_SESSION_SWITCH_GRACE_NS), whose counter is the highest its epoch has
 * seen. A datagram held back on the way and delivered later (from
 * anywhere) moves nothing once a newer one has arrived, and is opened. */
size_t rv_session_open_batch_newest(struct rv_session *s, struct rv_pkt *pkts,
				    const struct rv_data_hdr *hdrs, enum rv_session_result *results,
				    size_t num, uint64_t now_ns, size_t *newest);

/* Peer endpoint: get is lock-free (seqlock); update stores |ep| if it differs
 * (NAT rebinding; call only for an authenticated packet that
 * rv_session_open_batch_newest named) and returns true if it changed, with
 * the endpoint before in |was| (NULL: not wanted); never for a session with
 * a fixed endpoint. An |ep| whose local address is unknown (::) keeps the
 * local address the endpoint had. Any thread. */
void rv_session_get_endpoint(const struct rv_session *s, struct rv_endpoint *out);
/* rv_session_endpoint_unchanged: would rv_session_update_endpoint(|s|, |ep|)
 * change nothing? Lock-free: a caller checks a new endpoint only then. */
bool rv_session_endpoint_unchanged(const struct rv_session *s, const struct rv_endpoint *ep);
bool rv_session_update_endpoint(struct rv_session *s, const struct rv_endpoint *ep,
				struct rv_endpoint *was);

/* Accessors for immutable fields. */
uint32_t rv_session_local_index(const struct rv_session *s);
uint32_t rv_session_remote_index(const struct rv_session *s);

/* rv_session_peer_name returns the peer's name as rv_session_new copied it
 * (never NULL; lives as long as |s|), so that a worker's log line names the
 * client as the control plane's do: the index alone changes at reconnect and
 * is in no status output. Immutable; any thread. */
const char *rv_session_peer_name(const struct rv_session *s);

/* rv_session_alg returns the AEAD every key epoch of |s| uses, fixed by
 * rv_session_new (RV_AEAD_NONE there reads as RV_AEAD_AES256GCM here): a
 * reload that changes `cipher` leaves it, so status shows it per session.
 * Immutable; any thread. */
enum rv_aead_alg rv_session_alg(const struct rv_session *s);

/* rv_session_csum_partial: the peer takes packets whose inner checksum is
 * left partial (RV_DATA_F_CSUM_PARTIAL, core/wire.h). Immutable. */
bool rv_session_csum_partial(const struct rv_session *s);

/* rv_session_small_flag returns RV_DATA_F_SMALL where the peer takes it
 * (core/wire.h), else 0: the flag bits of a packet of the small class.
 * Immutable. */
uint8_t rv_session_small_flag(const struct rv_session *s);
const struct rv_ip_addr *rv_session_vaddr4(const struct rv_session *s);
const struct rv_ip_addr *rv_session_vaddr6(const struct rv_session *s);

/* rv_session_set_rekey_after changes how many packets under one key (sent
 * or received) make the data plane ask for new keys (0: the default): a
 * reload of rekey_packets, for the sessions that run. Any thread. */
void rv_session_set_rekey_after(struct rv_session *s, uint64_t messages);

/* rv_session_take_rekey_request returns true once after the data plane saw
 * the sending epoch near a limit, while that epoch still sends (control
 * thread clears it by calling; a request for an epoch already replaced is
 * dropped). |*by_peer| (may be NULL): the limit was a counter the peer
 * chose, which it may jump to ask for exchanges without end. */
bool rv_session_take_rekey_request(struct rv_session *s, bool *by_peer);

/* rv_session_rekey_requested tells whether the flag above is set, without
 * clearing it. Any thread. */
bool rv_session_rekey_requested(const struct rv_session *s);

/* rv_session_last_rx_ns: coarse time of the last authenticated packet (0: never). */
uint64_t rv_session_last_rx_ns(const struct rv_session *s);

struct rv_session_stats {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	uint64_t drop[RV_DROP_MAX];
	uint32_t tx_epoch;
};

/* rv_session_count_rx counts inner packets of |s| passed on (to the TUN or
 * to another session), |bytes| of them: rv_session_open_batch does not
 * count, since a packet opened may still be dropped. Any worker. */
void rv_session_count_rx(struct rv_session *s, uint64_t packets, uint64_t bytes);

/* rv_session_count_drop counts a drop attributed to |s| (e.g. spoof) and
 * returns the count before. Any worker. */
uint64_t rv_session_count_drop(struct rv_session *s, enum rv_drop_reason why, uint64_t n);

/* rv_session_uncount_tx takes back from |s|'s tx counters inner packets
 * that were sealed (and counted) but never left: a send the kernel
 * refused, no buffer or endpoint for it. */
void rv_session_uncount_tx(struct rv_session *s, uint64_t packets, uint64_t bytes);

/* rv_session_uncount_rx takes back from |s|'s rx counters inner packets
 * counted as passed on that never were: a TUN write refused, no write slot
 * for them. */
void rv_session_uncount_rx(struct rv_session *s, uint64_t packets, uint64_t bytes);

/* rv_session_get_stats snapshots the counters. Any thread. */
void rv_session_get_stats(const struct rv_session *s, struct rv_session_stats *out);

/* rv_session_bytes returns tx_bytes + rx_bytes (two loads, where
 * rv_session_get_stats reads every counter). Any thread. */
uint64_t rv_session_bytes(const struct rv_session *s);

const char *rv_session_result_str(enum rv_session_result r);

/* rv_session_drop_reason is the one mapping from a seal/open result to the
 * drop reason it is counted under (per session here, per worker in the data
 * plane): returns false for the results that are not drops (OK,
 * REKEY_SOON, KEY_ROLLED), else true with *out set. Pure; any thread. */
bool rv_session_drop_reason(enum rv_session_result r, enum rv_drop_reason *out);

#endif /* RV_CORE_SESSION_H */
