/*
 * icmp.h — "destination unreachable" for a TUN packet that no session takes,
 * and "time exceeded" or "parameter problem" for one forwarded from client
 * to client at its last hop or with options a router refuses.
 *
 * The server routes a whole pool into its TUN device, so a packet to the
 * address of a client that is offline (or to a network behind one) reaches
 * a worker that has nowhere to send it. Answering with ICMP (as a router
 * does: RFC 1812 §4.3.2.7, RFC 4443 §3.1) makes a ping say "Destination Host
 * Unreachable" and a TCP connect fail at once (EHOSTUNREACH) instead of
 * timing out. This module decides whether a packet may be answered and
 * builds the error's IP and ICMP headers; the quoted start of the original
 * stays where it is, and the caller writes headers and quote together.
 * Pure; thread-safe.
 */
#ifndef RV_CORE_ICMP_H
#define RV_CORE_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

enum {
	RV_ICMP_HDR_MAX = 48, /* IPv6 header + ICMPv6 header */
	/* How much of the original an error quotes: as much as keeps the
	 * error within 576 bytes (IPv4, RFC 1812 §4.3.2.3) or 1280 (IPv6,
	 * RFC 4443 §2.4(c)). */
	RV_ICMP4_MAX = 576,
	RV_ICMP6_MAX = 1280,
};

/* rv_icmp_unreach builds into |out| the headers of an ICMP error from |src|
 * (of the packet's family) to the source of the packet |pkt| (|len| bytes,
 * parsed into |ip|): ICMPv4 type 3 code 1 (host unreachable) or ICMPv6 type
 * 1 code 3 (address unreachable), quoting the first |*quote_len| bytes of
 * |pkt|, which the checksum covers. Returns the header length (28 or 48),
 * or 0 when no error may be sent: |src| is not of the packet's family, the
 * packet is itself an ICMP error (or a redirect), a fragment other than the
 * first, or from an address no answer can go to (unspecified, loopback,
 * multicast, broadcast). */
size_t rv_icmp_unreach(uint8_t out[RV_ICMP_HDR_MAX], const struct rv_ip_addr *src,
		       const uint8_t *pkt, size_t len, const struct rv_ip_info *ip,
		       size_t *quote_len);

enum rv_icmp_kind {
	RV_ICMP_UNREACH,
	RV_ICMP_TIME_EXCEEDED,
	RV_ICMP_PARAM_PROBLEM,
	RV_ICMP_PARAM_PROBLEM_OPTION, /* ICMPv6's code 2, an unrecognised option;
				       * IPv4's parameter problem */
};

/* rv_icmp_error is rv_icmp_unreach for an error of |kind|:
 * RV_ICMP_TIME_EXCEEDED for a packet whose TTL or hop limit ran out where
 * it was forwarded (client_to_client = internal): ICMPv4 type 11 code 0,
 * ICMPv6 type 3 code 0, from |src| (the server's own address: the hop
 * traceroute shows); RV_ICMP_PARAM_PROBLEM for an IPv4 packet dropped for
 * its options there, as a Linux router answers one whose options its parse
 * refuses: ICMPv4 type 12 code 0 from |src|, |ptr| the offset of the byte
 * at fault from the start of the header (RFC 792); for an IPv6 packet
 * dropped for its Hop-by-Hop options, ICMPv6 type 4, code 0 (an erroneous
 * field) or 2 (RV_ICMP_PARAM_PROBLEM_OPTION), |ptr| the offset from the
 * start of the packet (RFC 4443). |ptr| is 0 for the other kinds. */
size_t rv_icmp_error(uint8_t out[RV_ICMP_HDR_MAX], enum rv_icmp_kind kind, uint32_t ptr,
		     const struct rv_ip_addr *src, const uint8_t *pkt, size_t len,
		     const struct rv_ip_info *ip, size_t *quote_len);

#endif /* RV_CORE_ICMP_H */
