/*
 * ip.c — validation of inner IPv4/IPv6 headers for the demultiplexer (see ip.h).
 *
 * Only what demultiplexing and anti-spoofing need is interpreted: version,
 * header length, the IP length field, protocol and the two addresses. Options
 * and extension headers are skipped over, not parsed. Every length field is
 * checked against the bytes actually present before it is believed, and
 * |out| is written only when the whole header is valid. IPv4 addresses are
 * stored zero-padded to 16 bytes so whole-struct comparisons also work.
 */
#include "core/ip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/rd.h"

enum {
	IPV4_MIN_HDR = 20,
	IPV6_HDR = 40,
};

_Static_assert(AF_INET <= UINT8_MAX && AF_INET6 <= UINT8_MAX, "family fits rv_ip_addr.family");

static enum rv_ip_err parse_v4(struct rv_ip_info *out, const uint8_t *pkt, size_t len)
{
	if (unlikely(len < IPV4_MIN_HDR)) {
		return RV_IP_TOO_SHORT;
	}
	struct rv_ip_info info = { 0 };
	struct rv_rd rd;
	uint8_t ver_ihl, proto;
	uint16_t total_len;
	rv_rd_init(&rd, pkt, len);
	/* version/IHL, DSCP/ECN, total length, id, flags/fragment, TTL, proto,
	 * checksum, source, destination. */
	if (!rv_rd_u8(&rd, &ver_ihl) || !rv_rd_skip(&rd, 1) || !rv_rd_u16(&rd, &total_len) ||
	    !rv_rd_skip(&rd, 4 + 1) || !rv_rd_u8(&rd, &proto) || !rv_rd_skip(&rd, 2) ||
	    !rv_rd_bytes(&rd, info.src.a, 4) || !rv_rd_bytes(&rd, info.dst.a, 4)) {
		return RV_IP_TOO_SHORT;
	}
	size_t hdr_len = (size_t)(ver_ihl & 0x0f) * 4;
	if (unlikely(hdr_len < IPV4_MIN_HDR || hdr_len > len)) {
		return RV_IP_BAD_HDR_LEN;
	}
	if (unlikely(total_len > len || total_len < hdr_len)) {
		return RV_IP_BAD_TOTAL_LEN;
	}
	info.src.family = AF_INET;
	info.dst.family = AF_INET;
	info.total_len = total_len;
	info.proto = proto;
	info.hdr_len = (uint8_t)hdr_len;
	*out = info;
	return RV_IP_OK;
}

static enum rv_ip_err parse_v6(struct rv_ip_info *out, const uint8_t *pkt, size_t len)
{
	if (unlikely(len < IPV6_HDR)) {
		return RV_IP_TOO_SHORT;
	}
	struct rv_ip_info info = { 0 };
	struct rv_rd rd;
	uint16_t payload_len;
	uint8_t next_hdr;
	rv_rd_init(&rd, pkt, len);
	/* version/class/flow label, payload length, next header, hop limit,
	 * source, destination. */
	if (!rv_rd_skip(&rd, 4) || !rv_rd_u16(&rd, &payload_len) || !rv_rd_u8(&rd, &next_hdr) ||
	    !rv_rd_skip(&rd, 1) || !rv_rd_bytes(&rd, info.src.a, 16) ||
	    !rv_rd_bytes(&rd, info.dst.a, 16)) {
		return RV_IP_TOO_SHORT;
	}
	/*
	 * total_len is a uint16_t, like every IP length field: a packet whose
	 * payload length plus the fixed header exceeds 65535 cannot be
	 * described and is larger than anything a TUN device hands us (GSO
	 * superframes stay within 64 KiB), so it is rejected here too.
	 * Jumbograms (payload length 0 plus a hop-by-hop option) are not
	 * supported: they read as a bare 40-byte packet and the caller trims.
	 */
	size_t total_len = (size_t)payload_len + IPV6_HDR;
	if (unlikely(total_len > len || total_len > UINT16_MAX)) {
		return RV_IP_BAD_TOTAL_LEN;
	}
	info.src.family = AF_INET6;
	info.dst.family = AF_INET6;
	info.total_len = (uint16_t)total_len;
	info.proto = next_hdr;
	info.hdr_len = IPV6_HDR;
	*out = info;
	return RV_IP_OK;
}

int rv_ip6_upper(const uint8_t *pkt, size_t len, size_t *off)
{
	uint8_t next = pkt[6];
	size_t at = 40;

	for (int i = 0; i <= RV_IP6_MAX_EXT; i++) {
		size_t hl;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (len < at + 2) {
				return RV_IP6_UNTOLD;
			}
			hl = ((size_t)pkt[at + 1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (len < at + 2) {
				return RV_IP6_UNTOLD;
			}
			hl = ((size_t)pkt[at + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (len < at + 8) {
				return RV_IP6_UNTOLD;
			}
			if (((pkt[at + 2] << 8 | pkt[at + 3]) & 0xfff8) != 0) {
				return RV_IP6_LATER_FRAGMENT;
			}
			hl = 8;
			break;
		default:
			*off = at;
			return next; /* TCP, UDP, ICMPv6, ESP, no next header, ... */
		}
		if (i == RV_IP6_MAX_EXT || at + hl > len) {
			return RV_IP6_UNTOLD;
		}
		next = pkt[at];
		at += hl;
	}
	return RV_IP6_UNTOLD;
}

enum rv_ip_err rv_ip_parse(struct rv_ip_info *out, const uint8_t *pkt, size_t len)
{
	if (unlikely(len == 0)) {
		return RV_IP_TOO_SHORT;
	}
	switch (pkt[0] >> 4) {
	case 4:
		return parse_v4(out, pkt, len);
	case 6:
		return parse_v6(out, pkt, len);
	default:
		return RV_IP_BAD_VERSION;
	}
}

/* csum_replace16 updates the one's-complement checksum at |csum| for one
 * 16-bit word of the header changed from |from| to |to| (RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m')). */
static void csum_replace16(uint8_t *csum, uint16_t from, uint16_t to)
{
	uint32_t sum = (uint16_t) ~((uint32_t)csum[0] << 8 | csum[1]);

	sum += (uint16_t)~from;
	sum += to;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (uint16_t)~sum;
	csum[0] = (uint8_t)(sum >> 8);
	csum[1] = (uint8_t)sum;
}

bool rv_ip_hop(uint8_t *pkt)
{
	if ((pkt[0] >> 4) == 4) {
		uint16_t from = (uint16_t)(pkt[8] << 8 | pkt[9]);

		if (pkt[8] <= 1) {
			return false;
		}
		pkt[8]--;
		csum_replace16(pkt + 10, from, (uint16_t)(pkt[8] << 8 | pkt[9]));
		return true;
	}
	if (pkt[7] <= 1) {
		return false;
	}
	pkt[7]--; /* IPv6 has no header checksum */
	return true;
}

enum rv_ecn_decap rv_ip_ecn_decap(uint8_t *pkt, uint8_t outer)
{
	uint8_t inner = rv_ip_ecn(pkt), to = inner;
	enum rv_ecn_decap ret = RV_ECN_KEPT;

	if (outer == RV_ECN_CE) {
		if (inner == RV_ECN_NOT_ECT) {
			return RV_ECN_DROP;
		}
		to = RV_ECN_CE;
		/* A mark the inner packet had already (copied outside by
		 * the encapsulator) is no congestion on this way. */
		ret = inner == RV_ECN_CE ? RV_ECN_KEPT : RV_ECN_MARKED;
	} else if (outer == RV_ECN_ECT1 && inner == RV_ECN_ECT0) {
		to = RV_ECN_ECT1;
	}
	if (to == inner) {
		return ret;
	}
	if ((pkt[0] >> 4) == 4) {
		uint16_t from = (uint16_t)(pkt[0] << 8 | pkt[1]);

		pkt[1] = (uint8_t)((pkt[1] & ~3u) | to);
		csum_replace16(pkt + 10, from, (uint16_t)(pkt[0] << 8 | pkt[1]));
	} else {
		pkt[1] = (uint8_t)((pkt[1] & ~0x30u) | (unsigned)to << 4);
	}
	return ret;
}

bool rv_ip_addr_equal(const struct rv_ip_addr *x, const struct rv_ip_addr *y)
{
	if (x->family != y->family) {
		return false;
	}
	switch (x->family) {
	case AF_INET:
		return memcmp(x->a, y->a, 4) == 0;
	case AF_INET6:
		return memcmp(x->a, y->a, 16) == 0;
	default:
		/* An address of no family never names a peer. */
		return false;
	}
}

const char *rv_ip_err_str(enum rv_ip_err err)
{
	switch (err) {
	case RV_IP_OK:
		return "ok";
	case RV_IP_TOO_SHORT:
		return "shorter than the fixed IP header";
	case RV_IP_BAD_VERSION:
		return "IP version is neither 4 nor 6";
	case RV_IP_BAD_HDR_LEN:
		return "IPv4 header length below 20 bytes or beyond the packet";
	case RV_IP_BAD_TOTAL_LEN:
		return "IP length field beyond the bytes present or below the header";
	}
	return "unknown IP error";
}

const char *rv_ip_addr_str(const struct rv_ip_addr *a, char *buf, size_t buf_len)
{
	if (buf_len == 0) {
		return buf;
	}
	if (a->family != AF_INET && a->family != AF_INET6) {
		snprintf(buf, buf_len, "<af %u>", a->family);
		return buf;
	}
	socklen_t n = buf_len > INET6_ADDRSTRLEN ? INET6_ADDRSTRLEN : (socklen_t)buf_len;
	if (inet_ntop(a->family, a->a, buf, n) == NULL) {
		/* Only a buffer too small for this address gets here. */
		snprintf(buf, buf_len, "?");
	}
	return buf;
}

const char *rv_ip_v6_hbh_bad(const uint8_t *p, size_t len, unsigned *ptr_at, bool *unknown_option)
{
	static const char malformed[] = "its IPv6 Hop-by-Hop options are malformed (routers "
					"drop it)";
	unsigned end, pad = 0, count = 0;

	*ptr_at = 0;
	*unknown_option = false;
	if (len < 40 || p[6] != 0) {
		return NULL;
	}
	if (len < 48 || (end = 40 + ((unsigned)p[41] + 1) * 8) > len) {
		return malformed;
	}
	for (unsigned at = 42; at < end;) {
		unsigned type = p[at], olen;

		if (type == 0) { /* Pad1 */
			if (++pad > 7) {
				return malformed;
			}
			at++;
			continue;
		}
		if (at + 2 > end || (olen = p[at + 1]) > end - at - 2) {
			return malformed;
		}
		if (type == 1) { /* PadN: zeros, and no more than 7 in a row */
			pad += olen + 2;
			for (unsigned i = 0; i < olen; i++) {
				if (p[at + 2 + i] != 0) {
					return malformed;
				}
			}
			if (pad > 7) {
				return malformed;
			}
			at += olen + 2;
			continue;
		}
		pad = 0;
		if (++count > 8) {
			return malformed;
		}
		switch (type) {
		case 0x05: /* Router Alert */
			if (olen != 2) {
				return malformed;
			}
			break;
		case 0xc2: /* Jumbo Payload: never with a length, never short */
			if (olen != 4 || (at & 3) != 2) {
				return malformed;
			}
			/* Its value if too small, else the packet's length
			 * if there is one; else it is no jumbogram of the
			 * length it says, unanswered. */
			if (((uint32_t)p[at + 2] << 24 | (uint32_t)p[at + 3] << 16 |
			     (uint32_t)p[at + 4] << 8 | p[at + 5]) <= 0xffff) {
				*ptr_at = at + 2;
			} else if (p[4] != 0 || p[5] != 0) {
				*ptr_at = at;
			}
			return "it carries a Jumbo Payload option (routers drop it)";
		case 0x31: /* IOAM: 4n-aligned (whether on or off here) */
			if (at & 3) {
				return malformed;
			}
			break;
		case 0x07: /* CALIPSO: refused while no DOI is set up, the
			    * default (as IPv4's CIPSO: tester 307) */
			return "it carries a CALIPSO option (routers without a CALIPSO DOI "
			       "drop it)";
		default:
			switch (type >> 6) {
			case 0:
				break; /* skipped */
			case 1:
				return "it carries an IPv6 Hop-by-Hop option whose action is to "
				       "discard the packet";
			case 3:
				if (p[24] == 0xff) {
					return "it carries an IPv6 Hop-by-Hop option whose action "
					       "is "
					       "to discard the packet";
				}
				/* fall through */
			default:
				*ptr_at = at;
				*unknown_option = true;
				return "it carries an IPv6 Hop-by-Hop option whose action is to "
				       "discard the packet and answer";
			}
		}
		at += olen + 2;
	}
	return NULL;
}

const char *rv_ip_v4_options_bad(const uint8_t *p, unsigned hlen, unsigned *ptr_at)
{
	static const char malformed[] = "its IPv4 options are malformed (routers drop it)";
	bool rr = false, ts = false, srr = false;

	for (unsigned at = 20; at < hlen;) {
		unsigned type = p[at], len, ptr;

		if (type == 0) {
			break; /* end of options */
		}
		if (type == 1) {
			at++; /* no-op */
			continue;
		}
		*ptr_at = at;
		if (at + 1 >= hlen || (len = p[at + 1]) < 2 || len > hlen - at) {
			return malformed;
		}
		ptr = len > 2 ? p[at + 2] : 0;
		switch (type) {
		case 0x83: /* loose and strict source routes */
		case 0x89:
			*ptr_at = len < 3 ? at + 1 : ptr < 4 ? at + 2 : at;
			if (len < 3 || ptr < 4 || srr) {
				return malformed;
			}
			srr = true;
			break;
		case 0x07: /* record route: 4-byte slots from pointer 4 */
			*ptr_at = rr ? at : len < 3 ? at + 1 : at + 2;
			if (rr || len < 3 || ptr < 4 || (ptr <= len && ptr + 3 > len)) {
				return malformed;
			}
			rr = true;
			break;
		case 0x44: /* timestamp: 4- or 8-byte slots from pointer 5 */
			*ptr_at = ts ? at : len < 4 ? at + 1 : at + 2;
			if (ts || len < 4 || ptr < 5) {
				return malformed;
			}
			ts = true;
			if (ptr <= len) {
				unsigned flag = p[at + 3] & 0xf;

				/* Room for a time stamp, whatever the flag;
				 * and for an address before it (flags 1, 3). */
				if (ptr + 3 > len || ((flag == 1 || flag == 3) && ptr + 7 > len)) {
					return malformed;
				}
			} else if ((p[at + 3] & 0xf) != 3 && (p[at + 3] >> 4) == 15) {
				/* No slot left and the overflow count full; a
				 * full prespecified one has none to count. */
				*ptr_at = at + 3;
				return malformed;
			}
			break;
		case 0x86: /* CIPSO: refused unless a DOI is set up (netlabel) */
			*ptr_at = 0;
			return "it carries a CIPSO security label (an IPv4 option routers drop)";
		case 0x94: /* router alert */
			*ptr_at = at + 1;
			if (len < 4) {
				return malformed;
			}
			break;
		default:
			break;
		}
		at += len;
	}
	*ptr_at = 0;
	return srr ? "it carries a source route (an IPv4 option routers drop)" : NULL;
}
