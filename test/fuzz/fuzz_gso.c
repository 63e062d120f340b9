/*
 * fuzz_gso.c — libFuzzer harness for TUN offload support (core/gso.c):
 * virtio_net_hdr decoding, TSO/USO segmentation of TUN superframes (TX, bytes
 * from the local kernel) and TCP/UDP GRO coalescing of decrypted inner
 * packets (RX, bytes from an authenticated but possibly malicious peer).
 *
 *   scripts/fuzz.sh gso                  (clang + libFuzzer)
 *   build/fuzz/test/fuzz_gso test/fuzz/corpus/gso
 *   ctest -R fuzz-replay/gso             (replays the corpus, any compiler)
 *
 * Input: ctl(1) | virtio_net_hdr(10) | [if ctl & 1: le16 n] | rest.
 * The superframe is |rest|, or with ctl & 1 |rest| repeated to 40 + n bytes
 * (so that 64 KiB superframes are reachable from short inputs). |rest| is
 * also carved into up to 80 packets for GRO, see carve().
 *
 * Every buffer handed to core/gso.c is a heap block of exactly the size the
 * API allows, so ASan reports any byte written or read outside it.
 * Properties checked:
 *  - an accepted plan is consistent (headers inside the packet, segment
 *    count and sizes add up) and agrees with rv_gso_num_segs/rv_gso_segment;
 *  - every segment has a valid IPv4 header checksum, right IP length, TCP
 *    sequence number and a verifying L4 checksum (independent RFC 1071 sum);
 *  - a segment left partial (no IPv6 extension header) is accepted by
 *    rv_csum_partial_at and finishes to the same verifying checksum;
 *  - a rejected superframe is rejected by rv_gso_segment with the same error;
 *  - a GRO run's merged frame is no longer than its inputs and within
 *    RV_GRO_MAX_LEN, and re-planning it (as the kernel would segment it)
 *    yields exactly the original segments' payloads and sequence numbers
 *    (UDP: ports); UDP joins a run only where the TUN takes USO.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gso.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                       \
	do {                              \
		if (!(cond)) {            \
			__builtin_trap(); \
		}                         \
	} while (0)

enum { MAX_PKTS = 80, MAX_DERIVED = 2000 };

static void *xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	check(p != NULL);
	return p;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reference RFC 1071 sum over network-order 16-bit words. */
static uint64_t ref_sum(uint64_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2) {
		sum += (uint64_t)(p[i] << 8 | p[i + 1]);
	}
	if (len & 1) {
		sum += (uint64_t)p[len - 1] << 8;
	}
	return sum;
}

static uint16_t ref_fold(uint64_t sum)
{
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)sum;
}

/* check_segment verifies segment |i| of plan |p| assembled in |seg|. */
static void check_segment(const struct rv_gso_plan *p, uint32_t i, const uint8_t *seg,
			  size_t seg_len)
{
	uint64_t sum;

	if (p->v6) {
		check(be16(seg + 4) == seg_len - 40);
		sum = ref_sum(0, seg + 8, 32);
	} else {
		check(be16(seg + 2) == seg_len);
		check(be16(seg + 4) == (uint16_t)(p->ip_id + i));
		check(ref_fold(ref_sum(0, seg, p->l3_hlen)) == 0xffff);
		sum = ref_sum(0, seg + 12, 8);
	}
	if (p->tcp) {
		check(be32(seg + p->l4_off + 4) == p->seq + i * (uint32_t)p->mss);
	} else {
		check(be16(seg + p->l4_off + 4) == seg_len - p->l4_off);
	}
	sum += (p->tcp ? 6u : 17u) + (uint64_t)(seg_len - p->l4_off);
	check(ref_fold(ref_sum(sum, seg + p->l4_off, seg_len - p->l4_off)) == 0xffff);
}

/* run_plan checks an accepted plan and cuts |pkt| with rv_gso_seg_hdrs. */
static void run_plan(const struct rv_gso_plan *p, const uint8_t *pkt, size_t len)
{
	uint64_t total = 0;

	check(p->mss > 0 && p->nseg >= 1 && p->nseg <= RV_GSO_MAX_SEGS);
	check(p->l3_hlen >= 20 && p->l3_hlen <= p->l4_off);
	check((size_t)p->l4_off + (p->tcp ? 20 : 8) <= p->hlen);
	check(p->payload > 0 && (size_t)p->hlen + p->payload <= len);
	check((uint64_t)p->nseg * p->mss >= p->payload);
	check((uint64_t)(p->nseg - 1) * p->mss < p->payload);
	for (uint32_t i = 0; i < p->nseg; i++) {
		uint32_t chunk = rv_gso_seg_payload_len(p, i);
		size_t off = (size_t)p->hlen + (size_t)i * p->mss;
		size_t seg_len = (size_t)p->hlen + chunk;
		uint8_t *hdr = xmalloc(p->hlen);
		uint8_t *seg;

		check(chunk > 0 && chunk <= p->mss && off + chunk <= len);
		total += chunk;
		rv_gso_seg_hdrs(p, i, hdr, pkt);
		seg = xmalloc(seg_len);
		memcpy(seg, hdr, p->hlen);
		memcpy(seg + p->hlen, pkt + off, chunk);
		check_segment(p, i, seg, seg_len);
		if (p->l4_off == p->l3_hlen) {
			/* What a sender leaves partial (uring/worker_tx.c) the
			 * receiver must accept and finish to the same bytes. */
			struct rv_vnet_hdr vh = { .flags = RV_VNET_F_NEEDS_CSUM };

			rv_gso_seg_hdrs_partial(p, i, seg, pkt);
			check(rv_csum_partial_at(seg, seg_len, &vh.csum_start, &vh.csum_offset));
			check(vh.csum_start == p->l4_off && vh.csum_offset == (p->tcp ? 16 : 6));
			check(rv_gso_finish_csum(seg, seg_len, &vh) == RV_GSO_OK);
			check_segment(p, i, seg, seg_len);
		}
		free(seg);
		free(hdr);
	}
	check(total == p->payload);
}

/* run_segment checks rv_gso_segment against the plan, with exact buffers. */
static void run_segment(const uint8_t *pkt, size_t len, const struct rv_vnet_hdr *vh,
			const struct rv_gso_plan *p, enum rv_gso_err plan_err)
{
	uint8_t *out[RV_GSO_MAX_SEGS];
	uint16_t out_lens[RV_GSO_MAX_SEGS];
	size_t n = 0, cap, nbuf;
	enum rv_gso_err err;

	if (vh->gso_type == RV_VNET_GSO_NONE) {
		cap = len;
		nbuf = 1;
	} else if (plan_err == RV_GSO_OK) {
		cap = (size_t)p->hlen + (p->nseg > 1 ? p->mss : p->payload);
		nbuf = p->nseg;
	} else {
		err = rv_gso_segment(out, out_lens, &n, 0, 0, pkt, len, vh);
		check(err == plan_err && n == 0);
		return;
	}
	if (cap > UINT16_MAX) {
		/* out_lens are 16-bit: an IPv6 packet or segment of more than
		 * 65535 bytes (payload length up to 65535) is refused. */
		uint8_t *one = xmalloc(cap);

		for (size_t i = 0; i < nbuf; i++) {
			out[i] = one;
		}
		err = rv_gso_segment(out, out_lens, &n, nbuf, cap, pkt, len, vh);
		check(err == RV_GSO_NO_ROOM && n == 0);
		free(one);
		return;
	}
	for (size_t i = 0; i < nbuf; i++) {
		out[i] = xmalloc(cap);
	}
	err = rv_gso_segment(out, out_lens, &n, nbuf, cap, pkt, len, vh);
	if (vh->gso_type == RV_VNET_GSO_NONE) {
		uint8_t *copy = xmalloc(len);
		enum rv_gso_err e2;

		memcpy(copy, pkt, len);
		e2 = rv_gso_finish_csum(copy, len, vh);
		check(err == e2);
		if (err == RV_GSO_OK) {
			check(n == 1 && out_lens[0] == len);
			check(len == 0 || memcmp(out[0], copy, len) == 0);
		} else {
			check(n == 0);
		}
		free(copy);
	} else {
		check(err == RV_GSO_OK && n == p->nseg);
		for (uint32_t i = 0; i < n; i++) {
			size_t seg_len = (size_t)p->hlen + rv_gso_seg_payload_len(p, i);
			check(out_lens[i] == seg_len);
			check_segment(p, i, out[i], seg_len);
		}
		/* One buffer too few, one byte too small: refused, nothing written. */
		if (nbuf > 1) {
			check(rv_gso_segment(out, out_lens, &n, nbuf - 1, cap, pkt, len, vh) ==
			      RV_GSO_BAD_SIZE);
		}
		check(rv_gso_segment(out, out_lens, &n, nbuf, cap - 1, pkt, len, vh) ==
		      RV_GSO_NO_ROOM);
	}
	for (size_t i = 0; i < nbuf; i++) {
		free(out[i]);
	}
}

static void fuzz_gso(const uint8_t *pkt, size_t len, const struct rv_vnet_hdr *vh)
{
	struct rv_gso_plan plan;
	enum rv_gso_err err = rv_gso_plan_init(&plan, pkt, len, vh);

	check(rv_gso_err_str(err) != NULL);
	if (vh->gso_type != RV_VNET_GSO_NONE) {
		check(rv_gso_num_segs(pkt, len, vh) == (err == RV_GSO_OK ? plan.nseg : 0));
	} else {
		check(rv_gso_num_segs(pkt, len, vh) == 1);
	}
	if (err == RV_GSO_OK) {
		run_plan(&plan, pkt, len);
	}
	run_segment(pkt, len, vh, &plan, err);
}

struct pkts {
	uint8_t *p[MAX_PKTS];
	size_t len[MAX_PKTS];
	size_t n;
};

/* carve cuts |d| into packets. Record: op(1), then
 *  op & 0x80 == 0: raw packet, le16 length, that many bytes (clamped);
 *  op & 0x80:      the next segment of the last raw packet's flow: its
 *                  headers, sequence number continued, le16 payload length
 *                  (mod MAX_DERIVED), PSH if op & 0x40, and with op & 0x20
 *                  one header byte (le16 offset, u8 value) xored in. */
static void carve(struct pkts *k, const uint8_t *d, size_t n)
{
	const uint8_t *tmpl = NULL;
	size_t tmpl_len = 0, hl = 0;
	uint32_t seq = 0;

	k->n = 0;
	while (n > 0 && k->n < MAX_PKTS) {
		uint8_t op = d[0];
		size_t len;
		uint8_t *p;

		d++;
		n--;
		if (n < 2) {
			break;
		}
		len = (size_t)(d[0] | d[1] << 8);
		d += 2;
		n -= 2;
		if (!(op & 0x80)) {
			len = len < n ? len : n;
			p = xmalloc(len);
			memcpy(p, d, len);
			d += len;
			n -= len;
			tmpl = p;
			tmpl_len = len;
			hl = 0;
			if (len >= 28 && (p[0] == 0x45 || p[0] >> 4 == 6)) {
				size_t ihl = p[0] == 0x45 ? 20 : 40;
				if ((p[0] == 0x45 ? p[9] : p[6]) == 17 && len >= ihl + 8) {
					hl = ihl + 8; /* UDP: derived ones keep its length right */
				} else if (len >= ihl + 20) {
					hl = ihl + (size_t)(p[ihl + 12] >> 4) * 4;
					seq = be32(p + ihl + 4) +
					      (uint32_t)(len > hl ? len - hl : 0);
					if (hl < ihl + 20 || hl > len) {
						hl = 0;
					}
				}
			}
		} else {
			size_t ihl, pay = len % MAX_DERIVED;
			if (tmpl == NULL || hl == 0) {
				continue;
			}
			ihl = tmpl[0] == 0x45 ? 20 : 40;
			len = hl + pay;
			p = xmalloc(len);
			memcpy(p, tmpl, hl < tmpl_len ? hl : tmpl_len);
			for (size_t i = hl; i < len; i++) {
				p[i] = (uint8_t)(i * 7 + k->n);
			}
			if (ihl == 20) {
				p[2] = (uint8_t)(len >> 8);
				p[3] = (uint8_t)len;
			} else {
				p[4] = (uint8_t)((len - 40) >> 8);
				p[5] = (uint8_t)(len - 40);
			}
			if (hl == ihl + 8) {
				p[ihl + 4] = (uint8_t)((len - ihl) >> 8);
				p[ihl + 5] = (uint8_t)(len - ihl);
			} else {
				p[ihl + 4] = (uint8_t)(seq >> 24);
				p[ihl + 5] = (uint8_t)(seq >> 16);
				p[ihl + 6] = (uint8_t)(seq >> 8);
				p[ihl + 7] = (uint8_t)seq;
				p[ihl + 13] = (uint8_t)(op & 0x40 ? 0x18 : 0x10);
				seq += (uint32_t)pay;
			}
			if ((op & 0x20) && n >= 3) {
				size_t at = (size_t)(d[0] | d[1] << 8) % hl;
				p[at] ^= d[2];
				d += 3;
				n -= 3;
			}
		}
		k->p[k->n] = p;
		k->len[k->n] = len;
		k->n++;
	}
}

/* gro_check merges run |idx| (g->num packets) and re-segments it. */
static void gro_check(const struct rv_gro *g, const struct pkts *k, const size_t *idx,
		      const uint8_t *const *pay, const size_t *pay_len)
{
	uint8_t *hdr = xmalloc(RV_GRO_HDR_MAX);
	size_t hlen = rv_gro_finish(g, hdr);
	size_t in_total = 0, pay_total = 0, sf_len, off;
	struct rv_vnet_hdr vh;
	struct rv_gso_plan plan;
	uint8_t *sf;

	check(g->num >= 2 && g->num <= RV_GRO_MAX_SEGS);
	check(hlen == RV_VNET_HDR_LEN + (size_t)g->ip_hlen + g->l4_hlen);
	check(hlen <= RV_GRO_HDR_MAX);
	for (uint16_t j = 0; j < g->num; j++) {
		in_total += k->len[idx[j]];
		pay_total += pay_len[j];
		check(pay[j] >= k->p[idx[j]] &&
		      pay[j] + pay_len[j] == k->p[idx[j]] + k->len[idx[j]]);
	}
	check(pay_total == g->payload_len);
	sf_len = hlen - RV_VNET_HDR_LEN + pay_total;
	check(sf_len <= in_total && sf_len <= RV_GRO_MAX_LEN);
	sf = xmalloc(sf_len);
	memcpy(sf, hdr + RV_VNET_HDR_LEN, hlen - RV_VNET_HDR_LEN);
	off = hlen - RV_VNET_HDR_LEN;
	for (uint16_t j = 0; j < g->num; j++) {
		memcpy(sf + off, pay[j], pay_len[j]);
		off += pay_len[j];
	}
	check(rv_vnet_hdr_parse(&vh, hdr, RV_VNET_HDR_LEN));
	check(vh.hdr_len == hlen - RV_VNET_HDR_LEN && vh.gso_size == g->seg_size);
	if (g->udp) {
		/* The kernel cuts by it: the UDP length covers the superframe. */
		check(vh.gso_type == RV_VNET_GSO_UDP_L4 &&
		      be16(sf + g->ip_hlen + 4) == sf_len - g->ip_hlen);
	}
	/* What the kernel does with it: segment it back. */
	check(rv_gso_plan_init(&plan, sf, sf_len, &vh) == RV_GSO_OK);
	check(plan.nseg == g->num && plan.hlen == hlen - RV_VNET_HDR_LEN);
	off = plan.hlen;
	for (uint16_t j = 0; j < g->num; j++) {
		const uint8_t *orig = k->p[idx[j]] + g->ip_hlen;

		check(rv_gso_seg_payload_len(&plan, j) == pay_len[j]);
		if (g->udp) {
			check(memcmp(orig, sf + g->ip_hlen, 4) == 0); /* ports */
		} else {
			check(plan.seq + (uint32_t)(off - plan.hlen) == be32(orig + 4));
		}
		off += pay_len[j];
	}
	run_plan(&plan, sf, sf_len);
	free(sf);
	free(hdr);
}

/* fuzz_gro coalesces the packets the way uring/worker_rx.c does, on a TUN
 * that takes USO superframes (|udp|) or not. */
static void fuzz_gro(const struct pkts *k, bool udp)
{
	size_t idx[RV_GRO_MAX_SEGS];
	const uint8_t *pay[RV_GRO_MAX_SEGS];
	size_t pay_len[RV_GRO_MAX_SEGS];

	for (size_t i = 0; i < k->n; i++) {
		/* Reads only the packet (ASan); a partial checksum is never
		 * checked, so it can only pass what a whole one passes. */
		check(rv_gro_csum_ok(k->p[i], k->len[i], true) ||
		      !rv_gro_csum_ok(k->p[i], k->len[i], false));
	}
	for (size_t i = 0; i < k->n;) {
		struct rv_gro g;
		size_t m;

		if (!rv_gro_start(&g, k->p[i], k->len[i], udp ? RV_GRO_MAX_LEN : 0)) {
			check(g.num == 0);
			i++;
			continue;
		}
		check(g.num == 1 && g.head == k->p[i] && (udp || !g.udp));
		check((size_t)g.ip_hlen + g.l4_hlen + g.payload_len == k->len[i]);
		idx[0] = i;
		pay[0] = k->p[i] + g.ip_hlen + g.l4_hlen;
		pay_len[0] = g.payload_len;
		for (m = i + 1; m < k->n && g.num < RV_GRO_MAX_SEGS; m++) {
			struct rv_gro before = g;
			const uint8_t *p = NULL;
			size_t pl = 0;

			if (!rv_gro_append(&g, k->p[m], k->len[m], &p, &pl)) {
				check(memcmp(&before, &g, sizeof(g)) == 0);
				break;
			}
			check(g.num == before.num + 1);
			check(pl > 0 && pl <= g.seg_size && p >= k->p[m] &&
			      p + pl == k->p[m] + k->len[m]);
			idx[g.num - 1] = m;
			pay[g.num - 1] = p;
			pay_len[g.num - 1] = pl;
		}
		if (g.num >= 2) {
			gro_check(&g, k, idx, pay, pay_len);
			i = m;
		} else {
			i++;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_vnet_hdr vh;
	const uint8_t *rest;
	size_t rest_len, len;
	struct pkts k;
	uint8_t ctl, *pkt;

	if (size < 1 + RV_VNET_HDR_LEN) {
		return 0;
	}
	ctl = data[0];
	check(rv_vnet_hdr_parse(&vh, data + 1, size - 1));
	{
		uint8_t enc[RV_VNET_HDR_LEN];
		rv_vnet_hdr_write(enc, &vh);
		check(memcmp(enc, data + 1, RV_VNET_HDR_LEN) == 0);
	}
	rest = data + 1 + RV_VNET_HDR_LEN;
	rest_len = size - 1 - RV_VNET_HDR_LEN;
	len = rest_len;
	if (ctl & 1) {
		if (rest_len < 2) {
			return 0;
		}
		len = 40 + (size_t)(rest[0] | rest[1] << 8);
		rest += 2;
		rest_len -= 2;
		if (rest_len == 0) {
			return 0;
		}
	}
	/* The superframe: |rest|, repeated up to |len| bytes. */
	pkt = xmalloc(len);
	for (size_t off = 0; off < len; off += rest_len) {
		size_t c = len - off < rest_len ? len - off : rest_len;
		memcpy(pkt + off, rest, c);
	}
	fuzz_gso(pkt, len, &vh);
	free(pkt);

	carve(&k, rest, rest_len);
	fuzz_gro(&k, false);
	fuzz_gro(&k, true);
	for (size_t i = 0; i < k.n; i++) {
		free(k.p[i]);
	}
	return 0;
}
