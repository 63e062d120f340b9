/*
 * gso.c — userspace TSO/USO segmentation and TCP GRO (see gso.h).
 *
 * Checksums are computed as a native-order one's complement sum (RFC 1071:
 * the sum is byte-order independent as long as every term is added in the
 * same order and the result is stored with memcpy), 32 bits at a time into
 * a 64-bit accumulator.
 */
#include "core/gso.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "core/compiler.h"

enum {
	IPPROTO_TCP_ = 6,
	IPPROTO_UDP_ = 17,
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_URG = 0x20,
	TCP_ECE = 0x40,
	TCP_CWR = 0x80,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* add64 is a 64-bit one's complement addition (end-around carry). Sums mod
 * 2^64 - 1 are sums mod 0xffff too, since 0xffff divides 2^64 - 1. */
static inline uint64_t add64(uint64_t a, uint64_t b)
{
	uint64_t r = a + b;

	return r + (r < a);
}

uint64_t rv_inet_csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	/* Four independent 64-bit accumulators, each with its own carry
	 * count: "s += w; c += s < w" compiles to add + adc, about two
	 * instructions per 8 bytes, with no dependency between the chains.
	 * Each carry stands for 2^64, which is 1 mod 2^64 - 1. */
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;

	while (len >= 32) {
		uint64_t a, b, d, e;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&d, p + 16, 8);
		memcpy(&e, p + 24, 8);
		s0 += a;
		c0 += s0 < a;
		s1 += b;
		c1 += s1 < b;
		s2 += d;
		c2 += s2 < d;
		s3 += e;
		c3 += s3 < e;
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t a;
		memcpy(&a, p, 8);
		s0 += a;
		c0 += s0 < a;
		p += 8;
		len -= 8;
	}
	sum = add64(add64(add64(sum, s0), add64(s1, s2)), add64(s3, (c0 + c1) + (c2 + c3)));
	if (len >= 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		sum = add64(sum, a);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t a;
		memcpy(&a, p, 2);
		sum = add64(sum, a);
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t a;
		memcpy(&a, last, 2);
		sum = add64(sum, a);
	}
	return sum;
}

uint16_t rv_inet_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* A 16-bit value in network order, as a native-order checksum term. */
static uint64_t term16(uint16_t host)
{
	return htons(host);
}

static void store_csum(uint8_t *p, uint16_t folded_inverted)
{
	memcpy(p, &folded_inverted, 2);
}

bool rv_ipv4_csum_ok(const uint8_t *ip, size_t hlen)
{
	return rv_inet_csum_fold(rv_inet_csum_add(0, ip, hlen)) == 0xffff;
}

void rv_ipv4_fix_csum(uint8_t *ip, size_t hlen)
{
	ip[10] = ip[11] = 0;
	store_csum(ip + 10, (uint16_t)~rv_inet_csum_fold(rv_inet_csum_add(0, ip, hlen)));
}

/* Pseudo-header sum for an L4 segment of |l4_len| bytes. */
uint64_t rv_inet_pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len)
{
	uint64_t sum = v6 ? rv_inet_csum_add(0, ip + 8, 32) : rv_inet_csum_add(0, ip + 12, 8);

	/* add64, not +: all-ones addresses (255.255.255.255, ffff:...) sum
	 * to 2^64 - 1, and a plain add would drop the carry. */
	return add64(add64(sum, term16(proto)), term16((uint16_t)l4_len));
}

bool rv_vnet_hdr_parse(struct rv_vnet_hdr *out, const uint8_t *p, size_t len)
{
	if (len < RV_VNET_HDR_LEN) {
		return false;
	}
	out->flags = p[0];
	out->gso_type = p[1];
	out->hdr_len = le16(p + 2);
	out->gso_size = le16(p + 4);
	out->csum_start = le16(p + 6);
	out->csum_offset = le16(p + 8);
	return true;
}

void rv_vnet_hdr_write(uint8_t *out, const struct rv_vnet_hdr *h)
{
	out[0] = h->flags;
	out[1] = h->gso_type;
	put_le16(out + 2, h->hdr_len);
	put_le16(out + 4, h->gso_size);
	put_le16(out + 6, h->csum_start);
	put_le16(out + 8, h->csum_offset);
}

enum rv_gso_err rv_gso_finish_csum(uint8_t *pkt, size_t len, const struct rv_vnet_hdr *vh)
{
	uint16_t c;

	if (!(vh->flags & RV_VNET_F_NEEDS_CSUM)) {
		return RV_GSO_OK;
	}
	if ((size_t)vh->csum_start + vh->csum_offset + 2 > len) {
		return RV_GSO_BAD_CSUM;
	}
	c = (uint16_t)~rv_inet_csum_fold(
		rv_inet_csum_add(0, pkt + vh->csum_start, len - vh->csum_start));
	store_csum(pkt + vh->csum_start + vh->csum_offset, c == 0 ? 0xffff : c);
	return RV_GSO_OK;
}

enum rv_gso_err rv_gso_plan_init(struct rv_gso_plan *f, const uint8_t *pkt, size_t len,
				 const struct rv_vnet_hdr *vh)
{
	uint8_t type = vh->gso_type & (uint8_t)~RV_VNET_GSO_ECN;
	size_t l3_hlen, l4_off, hlen, payload, nseg;
	uint8_t proto;

	memset(f, 0, sizeof(*f));
	if (len < 20) {
		return RV_GSO_SHORT;
	}
	switch (type) {
	case RV_VNET_GSO_TCPV4:
	case RV_VNET_GSO_TCPV6:
		f->tcp = true;
		break;
	case RV_VNET_GSO_UDP_L4:
		f->tcp = false;
		break;
	default:
		return RV_GSO_BAD_TYPE;
	}
	if (pkt[0] >> 4 == 4) {
		size_t tot;
		if (type == RV_VNET_GSO_TCPV6) {
			return RV_GSO_BAD_IP;
		}
		l3_hlen = (size_t)(pkt[0] & 0xf) * 4;
		tot = get16(pkt + 2);
		if (l3_hlen < 20 || tot < l3_hlen || tot > len) {
			return RV_GSO_BAD_IP;
		}
		if ((get16(pkt + 6) & 0x3fff) != 0) {
			return RV_GSO_BAD_IP; /* a fragment cannot be segmented */
		}
		len = tot;
		proto = pkt[9];
		l4_off = l3_hlen;
	} else if (pkt[0] >> 4 == 6) {
		size_t tot;
		if (type == RV_VNET_GSO_TCPV4 || len < 40) {
			return RV_GSO_BAD_IP;
		}
		f->v6 = true;
		l3_hlen = 40;
		tot = 40 + (size_t)get16(pkt + 4);
		if (tot > len) {
			return RV_GSO_BAD_IP;
		}
		len = tot;
		proto = pkt[6];
		/* Extension headers: trust csum_start for the L4 offset. */
		l4_off = (vh->flags & RV_VNET_F_NEEDS_CSUM) && vh->csum_start >= 40 ? vh->csum_start
										    : 40;
		if (l4_off == 40 && proto != (f->tcp ? IPPROTO_TCP_ : IPPROTO_UDP_)) {
			return RV_GSO_BAD_IP;
		}
	} else {
		return RV_GSO_BAD_IP;
	}
	if (!f->v6 && proto != (f->tcp ? IPPROTO_TCP_ : IPPROTO_UDP_)) {
		return RV_GSO_BAD_IP;
	}
	if (f->tcp) {
		size_t thl;
		if (l4_off + 20 > len) {
			return RV_GSO_BAD_L4;
		}
		thl = (size_t)(pkt[l4_off + 12] >> 4) * 4;
		if (thl < 20 || l4_off + thl > len) {
			return RV_GSO_BAD_L4;
		}
		hlen = l4_off + thl;
	} else {
		if (l4_off + 8 > len) {
			return RV_GSO_BAD_L4;
		}
		hlen = l4_off + 8;
	}
	if (hlen > UINT16_MAX) {
		/* IPv6 csum_start near 64 KiB: the headers would not fit the
		 * plan's 16-bit fields nor any segment. */
		return RV_GSO_BAD_L4;
	}
	payload = len - hlen;
	if (vh->gso_size == 0 || payload == 0) {
		return RV_GSO_BAD_SIZE;
	}
	nseg = (payload + vh->gso_size - 1) / vh->gso_size;
	if (nseg > RV_GSO_MAX_SEGS) {
		return RV_GSO_BAD_SIZE;
	}
	f->l3_hlen = (uint16_t)l3_hlen;
	f->l4_off = (uint16_t)l4_off;
	f->hlen = (uint16_t)hlen;
	f->mss = vh->gso_size;
	f->payload = (uint32_t)payload;
	f->nseg = (uint32_t)nseg;
	f->ip_id = f->v6 ? 0 : get16(pkt + 4);
	f->seq = f->tcp ? get32(pkt + l4_off + 4) : 0;
	f->tcp_flags = f->tcp ? pkt[l4_off + 13] : 0;
	return RV_GSO_OK;
}

static void seg_hdrs(const struct rv_gso_plan *f, uint32_t i, uint8_t *o, const uint8_t *pkt,
		     bool partial)
{
	uint32_t off = i * (uint32_t)f->mss;
	uint32_t chunk = rv_gso_seg_payload_len(f, i);
	size_t seg_len = (size_t)f->hlen + chunk;
	size_t l4_len = seg_len - f->l4_off;
	uint8_t *l4 = o + f->l4_off;
	uint64_t sum;
	uint16_t c;

	memcpy(o, pkt, f->hlen);
	if (f->v6) {
		put16(o + 4, (uint16_t)(seg_len - 40));
	} else {
		put16(o + 2, (uint16_t)seg_len);
		put16(o + 4, (uint16_t)(f->ip_id + i));
		rv_ipv4_fix_csum(o, f->l3_hlen);
	}
	/* The L4 header length is a multiple of 4 (TCP) or 8 (UDP), so the
	 * payload starts at an even offset and its sum simply adds on. */
	if (f->tcp) {
		uint8_t fl = f->tcp_flags;
		put32(l4 + 4, f->seq + off);
		if (i + 1 < f->nseg) {
			fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		}
		if (i > 0) {
			fl &= (uint8_t)~TCP_CWR;
		}
		l4[13] = fl;
		l4[16] = l4[17] = 0;
		sum = rv_inet_pseudo_sum(o, f->v6, IPPROTO_TCP_, l4_len);
		if (partial) {
			/* CHECKSUM_PARTIAL: the uninverted pseudo-header sum. */
			store_csum(l4 + 16, rv_inet_csum_fold(sum));
			return;
		}
		sum = rv_inet_csum_add(sum, l4, (size_t)f->hlen - f->l4_off);
		sum = rv_inet_csum_add(sum, pkt + f->hlen + off, chunk);
		c = (uint16_t)~rv_inet_csum_fold(sum);
		store_csum(l4 + 16, c);
	} else {
		put16(l4 + 4, (uint16_t)l4_len);
		l4[6] = l4[7] = 0;
		sum = rv_inet_pseudo_sum(o, f->v6, IPPROTO_UDP_, l4_len);
		if (partial) {
			store_csum(l4 + 6, rv_inet_csum_fold(sum));
			return;
		}
		sum = rv_inet_csum_add(sum, l4, (size_t)f->hlen - f->l4_off);
		sum = rv_inet_csum_add(sum, pkt + f->hlen + off, chunk);
		c = (uint16_t)~rv_inet_csum_fold(sum);
		store_csum(l4 + 6, c == 0 ? 0xffff : c);
	}
}

void rv_gso_seg_hdrs(const struct rv_gso_plan *f, uint32_t i, uint8_t *o, const uint8_t *pkt)
{
	seg_hdrs(f, i, o, pkt, false);
}

void rv_gso_seg_hdrs_partial(const struct rv_gso_plan *f, uint32_t i, uint8_t *o,
			     const uint8_t *pkt)
{
	seg_hdrs(f, i, o, pkt, true);
}

bool rv_csum_partial_at(const uint8_t *pkt, size_t len, uint16_t *start, uint16_t *offset)
{
	size_t l4, min_l4;
	uint8_t proto;

	if (len < 20) {
		return false;
	}
	if (pkt[0] >> 4 == 4) {
		l4 = (size_t)(pkt[0] & 0xf) * 4;
		if (l4 < 20 || get16(pkt + 2) != len || (get16(pkt + 6) & 0x3fff) != 0) {
			return false; /* also a fragment: its L4 header is elsewhere */
		}
		proto = pkt[9];
	} else if (pkt[0] >> 4 == 6) {
		if (len < 40 || 40 + (size_t)get16(pkt + 4) != len) {
			return false;
		}
		l4 = 40;
		proto = pkt[6];
	} else {
		return false;
	}
	if (proto == IPPROTO_TCP_) {
		*offset = 16;
		min_l4 = 20;
	} else if (proto == IPPROTO_UDP_) {
		*offset = 6;
		min_l4 = 8;
	} else {
		return false;
	}
	if (l4 + min_l4 > len) {
		return false;
	}
	*start = (uint16_t)l4;
	return true;
}

size_t rv_gso_num_segs(const uint8_t *pkt, size_t len, const struct rv_vnet_hdr *vh)
{
	struct rv_gso_plan f;

	if (vh->gso_type == RV_VNET_GSO_NONE) {
		return 1;
	}
	return rv_gso_plan_init(&f, pkt, len, vh) == RV_GSO_OK ? f.nseg : 0;
}

enum rv_gso_err rv_gso_segment(uint8_t *const *out, uint16_t *out_lens, size_t *out_num,
			       size_t max_out, size_t out_cap, const uint8_t *pkt, size_t len,
			       const struct rv_vnet_hdr *vh)
{
	struct rv_gso_plan f;
	enum rv_gso_err err;

	*out_num = 0;
	if (vh->gso_type == RV_VNET_GSO_NONE) {
		/* out_lens are 16-bit: an IPv6 jumbo-sized packet cannot be reported. */
		if (max_out < 1 || len > out_cap || len > UINT16_MAX) {
			return RV_GSO_NO_ROOM;
		}
		memcpy(out[0], pkt, len);
		err = rv_gso_finish_csum(out[0], len, vh);
		if (err == RV_GSO_OK) {
			out_lens[0] = (uint16_t)len;
			*out_num = 1;
		}
		return err;
	}
	err = rv_gso_plan_init(&f, pkt, len, vh);
	if (err != RV_GSO_OK) {
		return err;
	}
	if (f.nseg > max_out) {
		return RV_GSO_BAD_SIZE;
	}
	/* The first segment is the longest; out_lens are 16-bit, and an IPv6
	 * segment may reach 40 + 65535 bytes. */
	if ((size_t)f.hlen + (f.nseg > 1 ? f.mss : f.payload) > out_cap ||
	    (size_t)f.hlen + (f.nseg > 1 ? f.mss : f.payload) > UINT16_MAX) {
		return RV_GSO_NO_ROOM;
	}
	for (uint32_t i = 0; i < f.nseg; i++) {
		uint32_t chunk = rv_gso_seg_payload_len(&f, i);

		rv_gso_seg_hdrs(&f, i, out[i], pkt);
		memcpy(out[i] + f.hlen, pkt + f.hlen + (size_t)i * f.mss, chunk);
		out_lens[i] = (uint16_t)(f.hlen + chunk);
	}
	*out_num = f.nseg;
	return RV_GSO_OK;
}

/* gro_seg: a coalescing candidate's layout. */
struct gro_seg {
	size_t ip_hlen, l4_hlen, payload;
	bool v6, udp;
	uint8_t flags; /* TCP only */
};

/* parse_ip_l4 finds the IP header of a TCP (or, with |udp_ok|, UDP) packet
 * exactly |len| bytes long: IPv4 without options or fragmentation, IPv6
 * with the L4 header as next header. */
static bool parse_ip_l4(struct gro_seg *t, const uint8_t *p, size_t len, bool udp_ok)
{
	uint8_t proto;

	if (len < 28) {
		return false;
	}
	if (p[0] == 0x45) {
		if (get16(p + 2) != len || (get16(p + 6) & 0x3fff) != 0) {
			return false;
		}
		proto = p[9];
		t->v6 = false;
		t->ip_hlen = 20;
	} else if (p[0] >> 4 == 6) {
		if (len < 48 || 40 + (size_t)get16(p + 4) != len) {
			return false;
		}
		proto = p[6];
		t->v6 = true;
		t->ip_hlen = 40;
	} else {
		return false;
	}
	if (proto != IPPROTO_TCP_ && (proto != IPPROTO_UDP_ || !udp_ok)) {
		return false;
	}
	t->udp = proto == IPPROTO_UDP_;
	return true;
}

static bool parse_gro_seg(struct gro_seg *t, const uint8_t *p, size_t len, bool udp_ok)
{
	const uint8_t *th;

	if (!parse_ip_l4(t, p, len, udp_ok)) {
		return false;
	}
	th = p + t->ip_hlen;
	if (t->udp) {
		/* The UDP length must say what the IP length says: the
		 * superframe's is rewritten, a disagreement would be lost. */
		t->l4_hlen = 8;
		t->flags = 0;
		if (t->ip_hlen + 8 >= len || get16(th + 4) != len - t->ip_hlen) {
			return false; /* short, or no payload to coalesce */
		}
		t->payload = len - t->ip_hlen - 8;
		return true;
	}
	if (t->ip_hlen + 20 > len) {
		return false;
	}
	t->l4_hlen = (size_t)(th[12] >> 4) * 4;
	if (t->l4_hlen < 20 || t->ip_hlen + t->l4_hlen >= len) {
		return false; /* no payload: nothing to coalesce */
	}
	t->flags = th[13];
	if (!(t->flags & TCP_ACK) ||
	    (t->flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_URG | TCP_ECE | TCP_CWR)) != 0) {
		return false;
	}
	t->payload = len - t->ip_hlen - t->l4_hlen;
	return true;
}

bool rv_gro_start(struct rv_gro *g, const uint8_t *pkt, size_t len, size_t udp_max)
{
	struct gro_seg t;

	memset(g, 0, sizeof(*g));
	if (!parse_gro_seg(&t, pkt, len, len <= udp_max) || len > RV_GRO_MAX_LEN) {
		return false;
	}
	g->head = pkt;
	g->ip_hlen = (uint16_t)t.ip_hlen;
	g->l4_hlen = (uint16_t)t.l4_hlen;
	g->seg_size = (uint16_t)t.payload;
	g->num = 1;
	g->payload_len = (uint32_t)t.payload;
	g->v6 = t.v6;
	g->udp = t.udp;
	if (!t.udp) {
		g->next_seq = get32(pkt + t.ip_hlen + 4) + (uint32_t)t.payload;
		g->closed = (t.flags & TCP_PSH) != 0;
		g->last_flags = t.flags;
	}
	return true;
}

bool rv_gro_append(struct rv_gro *g, const uint8_t *pkt, size_t len, const uint8_t **out_payload,
		   size_t *out_payload_len)
{
	const uint8_t *h = g->head;
	const uint8_t *th, *hth;
	struct gro_seg t;

	if (g->num == 0 || g->closed || g->num >= RV_GRO_MAX_SEGS) {
		return false;
	}
	if (!parse_gro_seg(&t, pkt, len, g->udp) || t.udp != g->udp || t.v6 != g->v6 ||
	    t.ip_hlen != g->ip_hlen || t.l4_hlen != g->l4_hlen || t.payload > g->seg_size ||
	    (size_t)g->ip_hlen + g->l4_hlen + g->payload_len + t.payload > RV_GRO_MAX_LEN) {
		return false;
	}
	if (g->v6) {
		/* version/traffic class/flow label, next header, hop limit, addresses */
		if (memcmp(h, pkt, 4) != 0 || memcmp(h + 6, pkt + 6, 34) != 0) {
			return false;
		}
	} else {
		/* TOS, DF, TTL, protocol, addresses (not length, id, checksum) */
		if (h[1] != pkt[1] || h[6] != pkt[6] || h[8] != pkt[8] ||
		    memcmp(h + 12, pkt + 12, 8) != 0) {
			return false;
		}
	}
	th = pkt + t.ip_hlen;
	hth = h + g->ip_hlen;
	if (memcmp(th, hth, 4) != 0) { /* ports */
		return false;
	}
	if (!g->udp) {
		/* As Linux GRO: the superframe carries the head's window and
		 * flags (AE included), so a segment whose differ (a window
		 * update) is not merged and lost in it. */
		if (get32(th + 4) != g->next_seq ||		      /* in sequence */
		    memcmp(th + 8, hth + 8, 4) != 0 ||		      /* same ack */
		    th[12] != hth[12] ||			      /* same AE bit */
		    ((th[13] ^ hth[13]) & ~TCP_PSH) != 0 ||	      /* same flags */
		    memcmp(th + 14, hth + 14, 2) != 0 ||	      /* same window */
		    memcmp(th + 20, hth + 20, t.l4_hlen - 20) != 0) { /* same options */
			return false;
		}
		g->next_seq += (uint32_t)t.payload;
		g->last_flags = t.flags;
		if (t.flags & TCP_PSH) {
			g->closed = true;
		}
	}
	g->num++;
	g->payload_len += (uint32_t)t.payload;
	/* Only the last segment may be short: the kernel cuts the superframe
	 * into gso_size pieces, so a short one inside would move the
	 * boundaries of every datagram after it. */
	if (t.payload < g->seg_size) {
		g->closed = true;
	}
	*out_payload = th + t.l4_hlen;
	*out_payload_len = t.payload;
	return true;
}

bool rv_gro_csum_ok(const uint8_t *pkt, size_t len, bool partial)
{
	struct gro_seg t;
	size_t l4_len;

	if (!parse_ip_l4(&t, pkt, len, true)) {
		return true;
	}
	if (!t.v6 && !rv_ipv4_csum_ok(pkt, t.ip_hlen)) {
		return false;
	}
	l4_len = len - t.ip_hlen;
	if (partial) {
		return true;
	}
	if (t.udp && l4_len >= 8 && get16(pkt + t.ip_hlen + 6) == 0) {
		/* IPv4: sent without a checksum, may join. IPv6 must have one
		 * (RFC 8200), and its kernel drops a zero; the sum alone cannot
		 * tell, as 0 and 0xffff fold alike, and a payload made to sum
		 * right came out of a superframe valid (round-twenty-two tester
		 * 98). */
		return !t.v6;
	}
	return rv_inet_csum_fold(
		       rv_inet_csum_add(rv_inet_pseudo_sum(pkt, t.v6,
							   t.udp ? IPPROTO_UDP_ : IPPROTO_TCP_,
							   l4_len),
					pkt + t.ip_hlen, l4_len)) == 0xffff;
}

size_t rv_gro_finish(const struct rv_gro *g, uint8_t *out)
{
	struct rv_vnet_hdr vh = {
		.flags = RV_VNET_F_NEEDS_CSUM,
		.gso_type = g->udp  ? RV_VNET_GSO_UDP_L4
			    : g->v6 ? RV_VNET_GSO_TCPV6
				    : RV_VNET_GSO_TCPV4,
		.hdr_len = (uint16_t)(g->ip_hlen + g->l4_hlen),
		.gso_size = g->seg_size,
		.csum_start = g->ip_hlen,
		.csum_offset = g->udp ? 6 : 16,
	};
	size_t hlen = (size_t)g->ip_hlen + g->l4_hlen;
	size_t l4_len = g->l4_hlen + (size_t)g->payload_len;
	uint8_t *ip = out + RV_VNET_HDR_LEN;
	uint8_t *l4 = ip + g->ip_hlen;
	uint8_t *csum = l4 + vh.csum_offset;

	rv_vnet_hdr_write(out, &vh);
	memcpy(ip, g->head, hlen);
	if (g->v6) {
		put16(ip + 4, (uint16_t)l4_len);
	} else {
		put16(ip + 2, (uint16_t)(g->ip_hlen + l4_len));
		rv_ipv4_fix_csum(ip, g->ip_hlen);
	}
	if (g->udp) {
		/* The kernel's segmentation derives each datagram's length
		 * and checksum from the superframe's. */
		put16(l4 + 4, (uint16_t)l4_len);
	} else {
		/* The segment that closed the run may carry PSH; Linux GRO
		 * ORs it in. */
		l4[13] |= g->last_flags & TCP_PSH;
	}
	csum[0] = csum[1] = 0;
	/* CHECKSUM_PARTIAL: the field holds the (uninverted) pseudo-header sum. */
	store_csum(csum, rv_inet_csum_fold(rv_inet_pseudo_sum(ip, g->v6,
							      g->udp ? IPPROTO_UDP_ : IPPROTO_TCP_,
							      l4_len)));
	return RV_VNET_HDR_LEN + hlen;
}

/* same_path: do |a| and |b| reach the same path, as far as a refusal goes?
 * The route's MTU is the address's, not the port's. */
static bool same_path(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b)
{
	if (a->sin6_family != b->sin6_family) {
		return false;
	}
	if (a->sin6_family == AF_INET) {
		return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
	}
	return memcmp(&a->sin6_addr, &b->sin6_addr, IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) ? 16 : 8) ==
	       0;
}

bool rv_gso_refused(const struct rv_gso_refusals *t, const struct sockaddr_in6 *dst, uint32_t size,
		    uint64_t now_ns)
{
	if (likely(now_ns >= t->until_ns)) {
		return false;
	}
	if (now_ns < t->floor_until_ns && size >= t->floor) {
		return true;
	}
	for (unsigned i = 0; i < RV_GSO_REFUSALS; i++) {
		if (now_ns < t->e[i].until_ns && size >= t->e[i].size &&
		    same_path(&t->e[i].dst, dst)) {
			return true;
		}
	}
	return false;
}

void rv_gso_note_refused(struct rv_gso_refusals *t, const struct sockaddr_in6 *dst, uint32_t size,
			 uint64_t now_ns, uint64_t hold_ns)
{
	unsigned at = RV_GSO_REFUSALS;

	for (unsigned i = 0; i < RV_GSO_REFUSALS; i++) {
		if (same_path(&t->e[i].dst, dst) && now_ns < t->e[i].until_ns) {
			at = i;
			size = size < t->e[i].size ? size : t->e[i].size;
			break;
		}
		if (at == RV_GSO_REFUSALS && now_ns >= t->e[i].until_ns) {
			at = i;
		}
	}
	if (at == RV_GSO_REFUSALS) {
		if (now_ns >= t->floor_until_ns || size < t->floor) {
			t->floor = size;
		}
		t->floor_until_ns = now_ns + hold_ns;
		t->until_ns = t->floor_until_ns;
		return;
	}
	t->e[at].dst = *dst;
	t->e[at].size = size;
	t->e[at].until_ns = now_ns + hold_ns;
	t->until_ns = t->e[at].until_ns;
}

const char *rv_gso_err_str(enum rv_gso_err err)
{
	switch (err) {
	case RV_GSO_OK:
		return "ok";
	case RV_GSO_SHORT:
		return "shorter than its headers";
	case RV_GSO_BAD_TYPE:
		return "unsupported gso_type";
	case RV_GSO_BAD_CSUM:
		return "csum_start/csum_offset outside the packet";
	case RV_GSO_BAD_IP:
		return "IP header does not match gso_type";
	case RV_GSO_BAD_L4:
		return "malformed TCP/UDP header";
	case RV_GSO_BAD_SIZE:
		return "bad gso_size or too many segments";
	case RV_GSO_NO_ROOM:
		return "segment larger than the output buffer";
	}
	return "?";
}
