/*
 * gso.h — TUN offload support done in userspace: virtio_net_hdr decoding,
 * TCP/UDP segmentation with checksums for IPv4/IPv6 superframes (TX), and
 * GRO coalescing of consecutive in-order TCP segments of one flow back into a
 * superframe (RX). Pure: no I/O, no allocation; thread-safe.
 *
 * With IFF_VNET_HDR every TUN read starts with a 10-byte virtio_net_hdr
 * (little-endian on every host we run on: legacy virtio is native-endian and
 * x86/arm64 are LE; the header is decoded explicitly as LE):
 *
 *    u8 flags | u8 gso_type | le16 hdr_len | le16 gso_size | le16 csum_start | le16 csum_offset
 *
 * A superframe (gso_type != NONE) is one IP header + one TCP/UDP header + up
 * to 64 KiB of payload that must be cut into gso_size-byte pieces, each with
 * its own headers and checksums. A non-GSO packet may still carry
 * NEEDS_CSUM: its L4 checksum must be finished from csum_start.
 *
 * Coalescing on RX is conservative, like Linux's tcp_gro_receive: same
 * addresses, ports, IP header fields, TCP header length and options, same
 * ack, in sequence, only ACK/PSH flags, equal segment sizes except a shorter
 * last one; a PSH or short segment ends the run. UDP datagrams of one flow
 * coalesce the same way into a USO superframe (Linux's udp_gro_receive: same
 * addresses, ports and IP header fields, equal sizes, a shorter one ends the
 * run), which the kernel cuts back into the same datagrams. Segment
 * checksums are not re-verified: the bytes were authenticated by the AEAD,
 * and the superframe is handed to the kernel as CHECKSUM_PARTIAL (as
 * wireguard-go does).
 */
#ifndef RV_CORE_GSO_H
#define RV_CORE_GSO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RV_VNET_HDR_LEN = 10,
	RV_VNET_F_NEEDS_CSUM = 1,
	RV_VNET_F_DATA_VALID = 2,
	RV_VNET_GSO_NONE = 0,
	RV_VNET_GSO_TCPV4 = 1,
	RV_VNET_GSO_UDP = 3, /* UFO: never enabled, rejected */
	RV_VNET_GSO_TCPV6 = 4,
	RV_VNET_GSO_UDP_L4 = 5, /* USO (Linux 6.2) */
	RV_VNET_GSO_ECN = 0x80,
	RV_GSO_MAX_SEGS = 128, /* more is a malformed superframe */
	RV_GRO_MAX_SEGS = 64,
	RV_GRO_MAX_LEN = 65535, /* IP total length of a coalesced frame */
	/* offload_udp_coalesce = auto: the largest UDP datagram (IP length)
	 * coalesced. A receiving socket's default buffer (208 KiB) holds some
	 * 200 such, and their bursts cost it no more loss than datagrams
	 * written one by one; 1200-byte ones overflowed it 4 times as often
	 * (README, "UDP coalescing on the TUN write"). */
	RV_GRO_UDP_AUTO_MAX = 576,
	RV_GRO_HDR_MAX = RV_VNET_HDR_LEN + 60 + 60 + 2, /* vnet + IP + TCP/UDP headers */
};

/* struct rv_vnet_hdr is the decoded (host-order) virtio_net_hdr. */
struct rv_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

enum rv_gso_err {
	RV_GSO_OK = 0,
	RV_GSO_SHORT,	 /* fewer bytes than the headers need */
	RV_GSO_BAD_TYPE, /* unknown gso_type or UFO */
	RV_GSO_BAD_CSUM, /* csum_start/offset outside the packet */
	RV_GSO_BAD_IP,	 /* IP header does not match gso_type / is malformed */
	RV_GSO_BAD_L4,	 /* TCP/UDP header malformed */
	RV_GSO_BAD_SIZE, /* gso_size 0, or too many segments */
	RV_GSO_NO_ROOM,	 /* an output buffer is too small */
};

/* rv_vnet_hdr_parse decodes the first RV_VNET_HDR_LEN bytes at |p|. Returns
 * false if |len| is too short. */
bool rv_vnet_hdr_parse(struct rv_vnet_hdr *out, const uint8_t *p, size_t len);

/* rv_vnet_hdr_write encodes |h| into RV_VNET_HDR_LEN bytes at |out|. */
void rv_vnet_hdr_write(uint8_t *out, const struct rv_vnet_hdr *h);

/* rv_gso_finish_csum completes a NEEDS_CSUM packet in place (|pkt| is the IP
 * packet, |len| its length). No-op without NEEDS_CSUM. */
enum rv_gso_err rv_gso_finish_csum(uint8_t *pkt, size_t len, const struct rv_vnet_hdr *vh);

/* rv_gso_num_segs returns how many segments rv_gso_segment will produce for
 * the superframe (1 for gso_type NONE), or 0 if it is malformed. */
size_t rv_gso_num_segs(const uint8_t *pkt, size_t len, const struct rv_vnet_hdr *vh);

/* rv_gso_segment cuts the superframe |pkt|/|len| described by |vh| into
 * segments, writing segment i to out[i] (capacity |out_cap| bytes each) and
 * its length to out_lens[i]; *out_num receives the count (<= max_out).
 * Every segment gets a correct IP total length / payload length, IPv4 id
 * (incremented per segment) and header checksum, TCP sequence number and
 * flags (FIN/PSH only on the last, CWR only on the first), and a full L4
 * checksum. gso_type NONE yields one copy with its checksum finished.
 * A segment longer than 65535 bytes (possible for IPv6) is RV_GSO_NO_ROOM. */
enum rv_gso_err rv_gso_segment(uint8_t *const *out, uint16_t *out_lens, size_t *out_num,
			       size_t max_out, size_t out_cap, const uint8_t *pkt, size_t len,
			       const struct rv_vnet_hdr *vh);

/* struct rv_gso_plan is a validated superframe cut into segments without
 * copying it: segment i is hlen bytes of headers (built by
 * rv_gso_seg_hdrs) followed by payload bytes [i * mss, i * mss + len) of the
 * superframe's payload, which starts at pkt + hlen. Filled by
 * rv_gso_plan_init; read-only afterwards. */
struct rv_gso_plan {
	bool v6;
	bool tcp;
	uint16_t l3_hlen; /* IPv4 IHL * 4, IPv6 40 */
	uint16_t l4_off;  /* start of the TCP/UDP header */
	uint16_t hlen;	  /* every header up to the payload */
	uint16_t mss;	  /* payload bytes per segment (the last may be shorter) */
	uint32_t payload; /* payload bytes in the superframe */
	uint32_t nseg;
	uint16_t ip_id; /* IPv4 id of the first segment */
	uint32_t seq;	/* TCP sequence number of the first segment */
	uint8_t tcp_flags;
};

/* rv_gso_plan_init validates the superframe |pkt|/|len| described by |vh|
 * (gso_type != NONE) and fills |p|. Returns RV_GSO_OK or why not. */
enum rv_gso_err rv_gso_plan_init(struct rv_gso_plan *p, const uint8_t *pkt, size_t len,
				 const struct rv_vnet_hdr *vh);

/* rv_gso_seg_payload_len returns the payload length of segment |i| < nseg. */
static inline uint32_t rv_gso_seg_payload_len(const struct rv_gso_plan *p, uint32_t i)
{
	uint32_t off = i * (uint32_t)p->mss;

	return p->payload - off < p->mss ? p->payload - off : p->mss;
}

/* rv_gso_seg_hdrs writes segment |i|'s p->hlen bytes of headers to |out| (IP
 * length, IPv4 id and header checksum, TCP sequence and flags, UDP length,
 * and the full L4 checksum over the headers and the segment's payload as it
 * lies in |pkt|). |out| must not overlap |pkt|'s headers. The segment's
 * payload is pkt + p->hlen + i * p->mss, rv_gso_seg_payload_len bytes. */
void rv_gso_seg_hdrs(const struct rv_gso_plan *p, uint32_t i, uint8_t *out, const uint8_t *pkt);

/* rv_gso_seg_hdrs_partial is rv_gso_seg_hdrs for a segment sent with
 * RV_DATA_F_CSUM_PARTIAL (core/wire.h): the L4 checksum field gets only the
 * pseudo-header sum (CHECKSUM_PARTIAL), and the payload is not read. Only
 * for a plan whose l4_off is its l3_hlen (no IPv6 extension header): the
 * receiver finds the L4 header with rv_csum_partial_at. */
void rv_gso_seg_hdrs_partial(const struct rv_gso_plan *p, uint32_t i, uint8_t *out,
			     const uint8_t *pkt);

/* rv_csum_partial_at tells where the L4 checksum of the IP packet
 * |pkt|/|len| (exactly its IP length) starts and lies, for a packet that may
 * carry RV_DATA_F_CSUM_PARTIAL: TCP or UDP right behind the IP header (an
 * IPv4 header with options counts, an IPv6 extension header does not), not
 * an IPv4 fragment, L4 header complete. On true, *start is the L4 offset
 * and *offset the checksum field's offset in it (16 TCP, 6 UDP): what a
 * NEEDS_CSUM virtio header says, and what rv_gso_finish_csum completes. */
bool rv_csum_partial_at(const uint8_t *pkt, size_t len, uint16_t *start, uint16_t *offset);

/* struct rv_gro is one coalescing run. Zero state = no run. */
struct rv_gro {
	const uint8_t *head; /* first packet (borrowed) */
	uint16_t ip_hlen;
	uint16_t l4_hlen;     /* TCP header with options, or 8 (UDP) */
	uint16_t seg_size;    /* payload length of the first segment */
	uint16_t num;	      /* segments in the run */
	uint32_t next_seq;    /* TCP */
	uint32_t payload_len; /* sum of payload lengths */
	bool v6;
	bool udp;	    /* a USO run of UDP datagrams */
	bool closed;	    /* PSH or short segment seen: nothing may follow */
	uint8_t last_flags; /* TCP flags of the last segment (PSH carried over) */
};

/* rv_gro_start begins a run at |pkt| if it is a coalescable TCP segment
 * (IPv4 without options/fragmentation or IPv6 with TCP as next header,
 * payload > 0, flags ACK[/PSH] only) or a UDP datagram of at most |udp_max|
 * bytes (IP length; 0: no UDP, as for a TUN that takes no USO superframes;
 * same IP rules, payload > 0, its UDP length matching). The datagrams that
 * join it are of its size or one shorter last one. Returns false
 * otherwise. */
bool rv_gro_start(struct rv_gro *g, const uint8_t *pkt, size_t len, size_t udp_max);

/* rv_gro_append adds |pkt| to the run if it continues the flow; on false the
 * run is unchanged. Sets *out_payload / *out_payload_len to the part of
 * |pkt| that joins the superframe. */
bool rv_gro_append(struct rv_gro *g, const uint8_t *pkt, size_t len, const uint8_t **out_payload,
		   size_t *out_payload_len);

/* rv_gro_csum_ok: may |pkt| join a run as far as its checksums go? A run's
 * superframe gets a fresh IPv4 header checksum and its L4 checksum is
 * computed by the kernel (NEEDS_CSUM), which would make a corrupted segment
 * valid: an IPv4 header checksum must be right, and so must the L4
 * checksum, unless the sender left it partial (|partial|: there is none
 * yet). A segment that fails is written alone, and the kernel drops it. A
 * packet that is no candidate at all passes (rv_gro_start refuses it). */
bool rv_gro_csum_ok(const uint8_t *pkt, size_t len, bool partial);

/* rv_gro_finish writes the vnet header and the merged IP+TCP/UDP headers of a
 * run with num >= 2 into |out| (RV_GRO_HDR_MAX bytes) and returns their
 * length. The run's first payload follows the head's headers; the caller
 * writes out[0..ret) followed by each segment's payload. The L4 checksum
 * holds the pseudo-header sum (CHECKSUM_PARTIAL) and the vnet header asks
 * for GSO (TCPV4/TCPV6, or UDP_L4 with the superframe's UDP length). */
size_t rv_gro_finish(const struct rv_gro *g, uint8_t *out);

/* rv_inet_csum returns the 16-bit one's complement sum (not inverted) of
 * |len| bytes at |p| added to |sum|, folded. Exposed for tests. */
uint16_t rv_inet_csum_fold(uint64_t sum);
uint64_t rv_inet_csum_add(uint64_t sum, const uint8_t *p, size_t len);

/* rv_inet_pseudo_sum is the (unfolded) sum of the TCP/UDP/ICMPv6
 * pseudo-header of the IP header at |ip|: its addresses, |proto| and
 * |l4_len|. rv_ipv4_fix_csum sets the checksum of the IPv4 header at |ip|
 * (|hlen| bytes). Also core/icmp.c's. */
uint64_t rv_inet_pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len);
void rv_ipv4_fix_csum(uint8_t *ip, size_t hlen);
/* rv_ipv4_csum_ok: is the checksum of the IPv4 header at |ip| (|hlen|
 * bytes) right? */
bool rv_ipv4_csum_ok(const uint8_t *ip, size_t hlen);

const char *rv_gso_err_str(enum rv_gso_err err);

/* struct rv_gso_refusals: a worker's memory of the paths whose route refused
 * GSO sends of datagrams of some size or more (EMSGSIZE: a path MTU below
 * the tunnel's), so that they get such datagrams one by one for a while
 * instead of each run being refused and resent behind later sends
 * (reordered). A path is an address, an IPv6 one's /64: a client hopping
 * between its own ports or addresses (each followed as a NAT rebinding)
 * takes one place. With more refusing paths than places (a narrow uplink
 * under many clients) every destination gets datagrams of the smallest
 * refused size one by one (|floor|), since evicting one would only have it
 * refused again at its next run. Zeroed: empty. */
enum { RV_GSO_REFUSALS = 16 };
struct rv_gso_refusals {
	struct {
		struct sockaddr_in6 dst; /* or a struct sockaddr_in, by family */
		uint32_t size;
		uint64_t until_ns;
	} e[RV_GSO_REFUSALS];
	uint64_t until_ns; /* the latest until_ns of them all (0: none) */
	uint32_t floor;
	uint64_t floor_until_ns;
};

/* rv_gso_refused: are GSO sends of |size|-byte datagrams to |dst| refused
 * at |now_ns|? */
bool rv_gso_refused(const struct rv_gso_refusals *t, const struct sockaddr_in6 *dst, uint32_t size,
		    uint64_t now_ns);

/* rv_gso_note_refused remembers that |dst| refused |size|-byte datagrams,
 * for |hold_ns|. */
void rv_gso_note_refused(struct rv_gso_refusals *t, const struct sockaddr_in6 *dst, uint32_t size,
			 uint64_t now_ns, uint64_t hold_ns);

#endif /* RV_CORE_GSO_H */
