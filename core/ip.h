/*
 * ip.h — just enough inner-packet parsing for the demultiplexer.
 *
 * The demultiplexer needs an inner packet's version, source and destination;
 * nothing else of the packet is interpreted. Parsing validates the version
 * nibble, the minimum header length and the IP length field against the bytes
 * actually present.
 */
#ifndef RV_CORE_IP_H
#define RV_CORE_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* AF_INET */

/* struct rv_ip_addr holds an IPv4 (family AF_INET, first 4 bytes of a) or IPv6
 * address in network byte order. */
struct rv_ip_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

/* struct rv_prefix is an address with a prefix length: a route, a pool, an
 * interface address, a network behind a client. */
struct rv_prefix {
	struct rv_ip_addr addr;
	uint8_t len;
};

/* rv_prefixes_keep_v4 keeps the IPv4 ones of the |n| prefixes |p|, in
 * order, and returns how many: what goes on a device that carries no IPv6
 * now. */
static inline size_t rv_prefixes_keep_v4(struct rv_prefix *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i].addr.family == AF_INET) {
			p[k++] = p[i];
		}
	}
	return k;
}

/* rv_prefix_clear_host clears |p|'s host bits: an interface address
 * (10.99.0.2/24) becomes its network (10.99.0.0/24). */
static inline void rv_prefix_clear_host(struct rv_prefix *p)
{
	unsigned max = p->addr.family == AF_INET ? 32 : 128;

	for (unsigned bit = p->len; bit < max; bit++) {
		p->addr.a[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	}
}

struct rv_ip_info {
	struct rv_ip_addr src;
	struct rv_ip_addr dst;
	uint16_t total_len; /* length claimed by the IP header */
	uint8_t proto;	    /* IPv4 protocol / IPv6 next header */
	uint8_t hdr_len;    /* IPv4 IHL*4 or 40 */
};

enum rv_ip_err {
	RV_IP_OK = 0,
	RV_IP_TOO_SHORT,     /* shorter than the fixed header */
	RV_IP_BAD_VERSION,   /* version nibble not 4 or 6 */
	RV_IP_BAD_HDR_LEN,   /* IPv4 IHL < 5 or beyond the packet */
	RV_IP_BAD_TOTAL_LEN, /* length field larger than the bytes present, or too small */
};

/* rv_ip_parse validates |len| bytes at |pkt| as an IPv4 or IPv6 packet and
 * fills |out|. Trailing bytes beyond total_len are allowed (the caller trims).
 * Pure; thread-safe. */
enum rv_ip_err rv_ip_parse(struct rv_ip_info *out, const uint8_t *pkt, size_t len);

/* rv_ip_fragment: is the parsed packet at |pkt| a fragment (IPv4: MF or an
 * offset; IPv6: a fragment header first)? */
static inline bool rv_ip_fragment(const uint8_t *pkt, const struct rv_ip_info *ip)
{
	if (pkt[0] >> 4 == 4) {
		return ((pkt[6] << 8 | pkt[7]) & 0x3fff) != 0;
	}
	return ip->proto == 44;
}

/* rv_ip_v4_later_fragment: is the IPv4 packet at |pkt| a fragment after the
 * first (an offset)? Its transport header, and so an ICMP type, is in the
 * first one only. */
static inline bool rv_ip_v4_later_fragment(const uint8_t *pkt)
{
	return ((pkt[6] << 8 | pkt[7]) & 0x1fff) != 0;
}

/* rv_ip6_upper finds the upper-layer header of the IPv6 packet |pkt| (|len|
 * bytes, its fixed header whole) behind its extension headers (hop-by-hop,
 * routing, destination options, AH, and a first fragment's header; at most
 * RV_IP6_MAX_EXT of them): returns its protocol and puts its offset in
 * |*off|; or RV_IP6_LATER_FRAGMENT for a fragment after the first, whose
 * upper layer is in the first; or RV_IP6_UNTOLD for a chain cut short by
 * the packet's end or longer than that. */
enum {
	RV_IP6_MAX_EXT = 32,
	RV_IP6_LATER_FRAGMENT = -1,
	RV_IP6_UNTOLD = -2,
};
int rv_ip6_upper(const uint8_t *pkt, size_t len, size_t *off);

/* rv_ip_v4_options_bad says why a router drops the IPv4 header of |hlen| bytes
 * at |p| for its options, or NULL, and sets |*ptr_at| to the offset of the
 * byte at fault that a Linux router's "parameter problem" names, or to 0
 * where it drops the packet unanswered. Answered: options the kernel's
 * parse refuses, an option whose length is under 2 or runs past the header
 * (the option), a record route or timestamp given twice (the second), or
 * one too short (its length) or whose pointer is under its first slot or
 * leaves no room for what it points at (its pointer), a full timestamp
 * (not a prespecified one) whose overflow count is full (its flags), a
 * router alert under 4 bytes (its length); a source route of those forms
 * too. Unanswered: a well-formed source route (accept_source_route is off
 * by default; round-thirty-two tester 163), and a CIPSO label (Linux
 * refuses one when no DOI is set up, its default; tester 228). Each
 * pointer as a Linux 6.18 router answered in a namespace of ours
 * (test_core_ip). A record route of length 0 was forwarded (round-fifty-three
 * tester 227), and the refused ones went unanswered. */
const char *rv_ip_v4_options_bad(const uint8_t *p, unsigned hlen, unsigned *ptr_at);

/* rv_ip_v6_hbh_bad says why a Linux router drops the IPv6 packet of |len|
 * bytes at |p| for its Hop-by-Hop options (ip6_parse_tlv's rules), or
 * NULL (none, or none at fault), and sets |*ptr_at| to the offset from the
 * packet's start that its "parameter problem" names (0: dropped
 * unanswered) and |*unknown_option| to whether that is code 2, an option
 * it does not know whose action says to answer, rather than code 0, an
 * erroneous field (a Jumbo Payload in a packet with a length). Unanswered:
 * a header cut short, an option running past it, more than 7 bytes of
 * padding in a row or padding that is not zeros, more than 8 options, a
 * Router Alert or Jumbo Payload of the wrong length, an unknown option of
 * the discard action, and one of the answer-unless-multicast action to a
 * multicast address (round-sixty-eight tester 300). */
const char *rv_ip_v6_hbh_bad(const uint8_t *p, size_t len, unsigned *ptr_at, bool *unknown_option);

/* rv_ip_hop decrements the TTL (IPv4, header checksum updated) or hop
 * limit (IPv6) of packet |pkt|, as a router forwarding it does. Returns
 * false, changing nothing, when it is 1 or 0: the packet must not be
 * forwarded. |pkt| holds a parsed header (rv_ip_parse). */
bool rv_ip_hop(uint8_t *pkt);

/* ECN field values (RFC 3168): the two low bits of the IPv4 TOS byte or the
 * IPv6 traffic class. */
enum rv_ecn { RV_ECN_NOT_ECT = 0, RV_ECN_ECT1 = 1, RV_ECN_ECT0 = 2, RV_ECN_CE = 3 };

/* rv_ip_ecn returns the ECN field of the IPv4 or IPv6 packet at |pkt| (a
 * parsed header): what a tunnel copies into the outer header it adds
 * (RFC 6040 normal mode). */
static inline uint8_t rv_ip_ecn(const uint8_t *pkt)
{
	return (pkt[0] >> 4) == 4 ? pkt[1] & 3 : (pkt[1] >> 4) & 3;
}

enum rv_ecn_decap {
	RV_ECN_KEPT,   /* the inner field stands (or took ECT(1); or CE was there) */
	RV_ECN_MARKED, /* congestion experienced on this way: the inner packet now says CE */
	RV_ECN_DROP,   /* CE outside, but the inner transport cannot be told */
};

/* rv_ip_ecn_decap combines the ECN field |outer| a tunnel datagram arrived
 * with into its inner packet |pkt| (a parsed header; the IPv4 checksum is
 * updated), as RFC 6040 section 4.2 tabulates: a CE mark set on the way
 * reaches the inner packet, an ECT(1) outside turns an inner ECT(0) into
 * ECT(1) (L4S), and a CE mark on a packet whose inner header is Not-ECT means
 * the packet must be dropped, the only congestion signal left. */
enum rv_ecn_decap rv_ip_ecn_decap(uint8_t *pkt, uint8_t outer);

/* rv_ip_addr_equal compares family and the family's address bytes. */
bool rv_ip_addr_equal(const struct rv_ip_addr *x, const struct rv_ip_addr *y);

/* rv_ip_addr_unspecified: is |a| 0.0.0.0 or ::? */
static inline bool rv_ip_addr_unspecified(const struct rv_ip_addr *a)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		if (a->a[i]) {
			return false;
		}
	}
	return true;
}

/* rv_prefix_link_local: is |p| inside a link's own block (fe80::/10,
 * 169.254.0.0/16)? No tunnel's route takes such a network from a link. */
static inline bool rv_prefix_link_local(const struct rv_prefix *p)
{
	const uint8_t *a = p->addr.a;

	return p->addr.family == AF_INET6 ? p->len >= 10 && a[0] == 0xfe && (a[1] & 0xc0) == 0x80
					  : p->len >= 16 && a[0] == 169 && a[1] == 254;
}

/* rv_prefix_equal: the same network (family, address bits, length)? */
static inline bool rv_prefix_equal(const struct rv_prefix *a, const struct rv_prefix *b)
{
	return a->len == b->len && rv_ip_addr_equal(&a->addr, &b->addr);
}

const char *rv_ip_err_str(enum rv_ip_err err);

/* rv_ip_addr_str formats |a| into |buf| (at least 46 bytes) and returns buf. */
const char *rv_ip_addr_str(const struct rv_ip_addr *a, char *buf, size_t buf_len);

#endif /* RV_CORE_IP_H */
