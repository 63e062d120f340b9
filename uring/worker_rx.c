/*
 * worker_rx.c — the RX path: UDP recvmsg (split by the GRO segment size) ->
 * header checks -> session by receiver index -> open a run per session ->
 * inner checks (valid IP, source is the session's own address) -> endpoint
 * update (NAT rebinding, authenticated packets only) -> TUN write, TCP
 * segments of one flow coalesced into a superframe when TUN offload is on.
 *
 * Nothing about a session changes for a datagram that fails a check before
 * or during AEAD open: rv_session_open_batch updates the replay window only
 * for authenticated packets, and the endpoint is updated from the source of
 * the last authenticated datagram of the run.
 */
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/demux.h"
#include "core/ip.h"
#include "core/log.h"
#include "uring/compat.h"
#include "uring/internal.h"
#include "uring/udata.h"

static enum rv_drop_reason wire_drop_reason(enum rv_wire_err e)
{
	switch (e) {
	case RV_WIRE_TOO_SHORT:
		return RV_DROP_SHORT;
	case RV_WIRE_TOO_LONG:
		return RV_DROP_TOO_BIG;
	case RV_WIRE_BAD_TYPE:
		return RV_DROP_BAD_TYPE;
	case RV_WIRE_RESERVED:
		return RV_DROP_RESERVED;
	case RV_WIRE_ZERO_INDEX:
		return RV_DROP_UNKNOWN_INDEX;
	case RV_WIRE_COUNTER_LIMIT:
		return RV_DROP_KEY_EXPIRED;
	case RV_WIRE_OK:
	default:
		return RV_DROP_SHORT;
	}
}

static enum rv_drop_reason open_drop_reason(enum rv_session_result r)
{
	switch (r) {
	case RV_SESSION_NO_KEY:
		return RV_DROP_NO_KEY;
	case RV_SESSION_EXPIRED:
		return RV_DROP_KEY_EXPIRED;
	case RV_SESSION_REPLAY:
		return RV_DROP_REPLAY;
	case RV_SESSION_TOO_OLD:
		return RV_DROP_TOO_OLD;
	case RV_SESSION_AUTH_FAIL:
	case RV_SESSION_OK:
	case RV_SESSION_REKEY_SOON:
	case RV_SESSION_KEY_ROLLED:
	default:
		return RV_DROP_AUTH;
	}
}

static void release_bid_hold(struct rv_worker *w, unsigned bid)
{
	rv_worker_release(w, rv_handle(POOL_UDPRX, bid));
}

void rv_worker_udp_recv(struct rv_worker *w, unsigned bid, uint32_t len)
{
	uint8_t *buf = rv_bufring_buf(&w->udprx, bid);
	struct io_uring_recvmsg_out *o;
	const struct rv_demux *d = w->dp->cfg.demux;
	uint8_t *payload;
	uint32_t plen, seg, ndg;
	unsigned src;
	int gro = 0;

	rv_ctr_add(&w->ctr, RV_CTR_UDP_RECVS, 1);
	w->udprx_refs[bid] = 1; /* our hold while splitting */
	o = io_uring_recvmsg_validate(buf, (int)len, &w->recv_msg);
	if (unlikely(o == NULL)) {
		rv_drop_add(&w->ctr, RV_DROP_SHORT, 1);
		release_bid_hold(w, bid);
		return;
	}
	if (unlikely(o->flags & MSG_TRUNC)) {
		rv_drop_add(&w->ctr, RV_DROP_TOO_BIG, 1);
		release_bid_hold(w, bid);
		return;
	}
	if (o->flags & MSG_CTRUNC) {
		rv_warnx_rl("worker %u: recvmsg control data truncated", w->id);
	}
	for (struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(o, &w->recv_msg); cm != NULL;
	     cm = io_uring_recvmsg_cmsg_nexthdr(o, &w->recv_msg, cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			memcpy(&gro, CMSG_DATA(cm), sizeof(gro));
		}
	}
	payload = io_uring_recvmsg_payload(o, &w->recv_msg);
	plen = io_uring_recvmsg_payload_length(o, (int)len, &w->recv_msg);
	seg = gro > 0 && (uint32_t)gro < plen ? (uint32_t)gro : plen;
	if (unlikely(seg == 0)) {
		rv_drop_add(&w->ctr, RV_DROP_SHORT, 1);
		release_bid_hold(w, bid);
		return;
	}
	ndg = (plen + seg - 1) / seg;
	if (unlikely(ndg > RV_RX_BATCH)) {
		rv_drop_add(&w->ctr, RV_DROP_SHORT, ndg);
		release_bid_hold(w, bid);
		return;
	}
	if (w->nrx + ndg > RV_RX_BATCH || w->nsrcs == RV_RX_SRCS) {
		rv_worker_flush_rx(w);
	}
	src = w->nsrcs;
	if (unlikely(!rv_sock_canon_endpoint(&w->rx_srcs[src], io_uring_recvmsg_name(o),
					     o->namelen))) {
		rv_drop_add(&w->ctr, RV_DROP_SHORT, ndg);
		release_bid_hold(w, bid);
		return;
	}
	w->nsrcs++;
	for (uint32_t off = 0; off < plen; off += seg) {
		uint8_t *dg = payload + off;
		uint32_t dlen = plen - off < seg ? plen - off : seg;
		struct rv_data_hdr *hdr = &w->hdrs[w->nrx];
		enum rv_wire_err err = rv_wire_parse_data_hdr(hdr, dg, dlen);
		struct rv_session *s;

		if (unlikely(err != RV_WIRE_OK)) {
			rv_drop_add(&w->ctr, wire_drop_reason(err), 1);
			continue;
		}
		s = rv_demux_by_index(d, hdr->receiver_index);
		if (unlikely(s == NULL)) {
			rv_drop_add(&w->ctr, RV_DROP_UNKNOWN_INDEX, 1);
			continue;
		}
		w->rxb[w->nrx++] = (struct rv_rx_item){
			.buf = dg,
			.len = dlen,
			.handle = rv_handle(POOL_UDPRX, bid),
			.src = (uint16_t)src,
			.s = s,
		};
		w->udprx_refs[bid]++;
	}
	release_bid_hold(w, bid);
}

static struct rv_write_slot *write_slot_get(struct rv_worker *w, unsigned *out_slot,
					    struct io_uring_sqe **out_sqe)
{
	if (unlikely(w->write_nfree == 0)) {
		return NULL;
	}
	*out_sqe = rv_ring_get_sqe(&w->ring);
	if (unlikely(*out_sqe == NULL)) {
		return NULL;
	}
	*out_slot = w->write_free[--w->write_nfree];
	return &w->write_slots[*out_slot];
}

static void write_single(struct rv_worker *w, struct rv_rx_item *it)
{
	struct rv_write_slot *sl;
	struct io_uring_sqe *sqe;
	unsigned slot;
	uint8_t *p = it->buf;
	uint32_t len = it->len;

	sl = write_slot_get(w, &slot, &sqe);
	if (unlikely(sl == NULL)) {
		rv_drop_add(&w->ctr, RV_DROP_NO_BUF, 1);
		rv_worker_release(w, it->handle);
		return;
	}
	if (w->vnet) {
		/* The data header in front of the plaintext is spent: the
		 * virtio header (no GSO, checksum to be verified) goes there. */
		static const struct rv_vnet_hdr none;
		p -= RV_VNET_HDR_LEN;
		len += RV_VNET_HDR_LEN;
		rv_vnet_hdr_write(p, &none);
	}
	sl->num = 1;
	sl->niov = 0;
	sl->handles[0] = it->handle;
	io_uring_prep_write(sqe, w->sqe_tun, p, len, 0);
	sqe->flags |= w->sqe_fd_flags;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_TUN_WRITE, (uint8_t)w->id, slot));
}

/* write_gro writes the run of rxb[] items listed in |idx| (g->num of them)
 * as one superframe with writev: merged headers, then each payload. */
static void write_gro(struct rv_worker *w, const struct rv_gro *g, const unsigned *idx,
		      uint8_t *const *pay, const uint32_t *pay_len)
{
	struct rv_write_slot *sl;
	struct io_uring_sqe *sqe;
	unsigned slot;

	sl = write_slot_get(w, &slot, &sqe);
	if (unlikely(sl == NULL)) {
		rv_drop_add(&w->ctr, RV_DROP_NO_BUF, g->num);
		for (unsigned k = 0; k < g->num; k++) {
			rv_worker_release(w, w->rxb[idx[k]].handle);
		}
		return;
	}
	sl->iov[0].iov_base = sl->hdr;
	sl->iov[0].iov_len = rv_gro_finish(g, sl->hdr);
	for (unsigned k = 0; k < g->num; k++) {
		sl->iov[k + 1].iov_base = pay[k];
		sl->iov[k + 1].iov_len = pay_len[k];
		sl->handles[k] = w->rxb[idx[k]].handle;
	}
	sl->num = g->num;
	sl->niov = (uint16_t)(g->num + 1);
	io_uring_prep_writev(sqe, w->sqe_tun, sl->iov, sl->niov, 0);
	sqe->flags |= w->sqe_fd_flags;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_TUN_WRITE, (uint8_t)w->id, slot));
}

static void write_run(struct rv_worker *w, unsigned from, unsigned to)
{
	unsigned idx[RV_GRO_MAX_SEGS];
	uint8_t *pay[RV_GRO_MAX_SEGS];
	uint32_t pay_len[RV_GRO_MAX_SEGS];

	for (unsigned k = from; k < to;) {
		struct rv_gro g;
		unsigned m;

		if (w->rxb[k].s == NULL) {
			k++;
			continue;
		}
		memset(&g, 0, sizeof(g));
		if (!w->vnet || !rv_gro_start(&g, w->rxb[k].buf, w->rxb[k].len)) {
			write_single(w, &w->rxb[k]);
			k++;
			continue;
		}
		idx[0] = k;
		pay[0] = w->rxb[k].buf + g.ip_hlen + g.tcp_hlen;
		pay_len[0] = g.payload_len;
		for (m = k + 1; m < to && g.num < RV_GRO_MAX_SEGS; m++) {
			const uint8_t *p;
			size_t pl;

			if (w->rxb[m].s == NULL) {
				continue;
			}
			if (!rv_gro_append(&g, w->rxb[m].buf, w->rxb[m].len, &p, &pl)) {
				break;
			}
			idx[g.num - 1] = m;
			pay[g.num - 1] = w->rxb[m].buf + (p - w->rxb[m].buf);
			pay_len[g.num - 1] = (uint32_t)pl;
		}
		if (g.num >= 2) {
			write_gro(w, &g, idx, pay, pay_len);
			/* Items skipped inside the run were dropped already. */
			k = m;
		} else {
			write_single(w, &w->rxb[k]);
			k++;
		}
	}
}

static void open_run(struct rv_worker *w, unsigned from, unsigned to, uint64_t now)
{
	struct rv_session *s = w->rxb[from].s;
	int last_src = -1;
	uint64_t rx_bytes = 0, rx_pkts = 0, keepalives = 0;

	for (unsigned k = from; k < to; k++) {
		w->pkts[k] = (struct rv_pkt){ .buf = w->rxb[k].buf, .len = w->rxb[k].len };
	}
	(void)rv_session_open_batch(s, &w->pkts[from], &w->hdrs[from], &w->results[from], to - from,
				    now);
	for (unsigned k = from; k < to; k++) {
		struct rv_rx_item *it = &w->rxb[k];
		enum rv_session_result r = w->results[k];
		struct rv_ip_info ip;
		uint8_t *plain;
		uint32_t plen;

		if (unlikely(r != RV_SESSION_OK && r != RV_SESSION_KEY_ROLLED)) {
			rv_drop_add(&w->ctr, open_drop_reason(r), 1);
			goto drop;
		}
		last_src = it->src;
		plain = it->buf + RV_DATA_HDR_LEN;
		plen = w->pkts[k].len;
		if (plen == 0) {
			keepalives++;
			goto drop;
		}
		if (unlikely(rv_ip_parse(&ip, plain, plen) != RV_IP_OK)) {
			rv_drop_add(&w->ctr, RV_DROP_BAD_INNER, 1);
			goto drop;
		}
		if (unlikely(!rv_demux_source_ok(w->dp->cfg.demux, s, &ip.src))) {
			char a[64];
			rv_warnx_rl("worker %u: dropped packet from session %08x with spoofed "
				    "inner source %s",
				    w->id, rv_session_local_index(s),
				    rv_ip_addr_str(&ip.src, a, sizeof(a)));
			rv_drop_add(&w->ctr, RV_DROP_SPOOF, 1);
			rv_session_count_drop(s, RV_DROP_SPOOF, 1);
			goto drop;
		}
		it->buf = plain;
		it->len = ip.total_len;
		rx_pkts++;
		rx_bytes += ip.total_len;
		continue;
drop:
		rv_worker_release(w, it->handle);
		it->s = NULL;
	}
	if (last_src >= 0) {
		(void)rv_session_update_endpoint(s, &w->rx_srcs[last_src]);
	}
	rv_ctr_add(&w->ctr, RV_CTR_RX_PACKETS, rx_pkts);
	rv_ctr_add(&w->ctr, RV_CTR_RX_BYTES, rx_bytes);
	if (keepalives != 0) {
		rv_ctr_add(&w->ctr, RV_CTR_KEEPALIVES, keepalives);
	}
	write_run(w, from, to);
}

void rv_worker_flush_rx(struct rv_worker *w)
{
	uint64_t now;

	if (w->nrx == 0) {
		w->nsrcs = 0;
		return;
	}
	now = rv_coarse_now_ns();
	for (unsigned i = 0; i < w->nrx;) {
		unsigned j = i + 1;
		while (j < w->nrx && w->rxb[j].s == w->rxb[i].s) {
			j++;
		}
		open_run(w, i, j, now);
		i = j;
	}
	w->nrx = 0;
	w->nsrcs = 0;
}

void rv_worker_write_done(struct rv_worker *w, unsigned slot, int res)
{
	struct rv_write_slot *sl;

	if (unlikely(slot >= w->num_write_slots)) {
		rv_warnx_rl("worker %u: write completion for bad slot %u", w->id, slot);
		return;
	}
	sl = &w->write_slots[slot];
	if (likely(res >= 0)) {
		rv_ctr_add(&w->ctr, RV_CTR_TUN_WRITES, 1);
	} else {
		rv_drop_add(&w->ctr, RV_DROP_TUN_WRITE, sl->num);
		rv_warnx_rl("worker %u: TUN write of %u packets: %s", w->id, sl->num,
			    strerror(-res));
	}
	for (unsigned k = 0; k < sl->num; k++) {
		rv_worker_release(w, sl->handles[k]);
	}
	w->write_free[w->write_nfree++] = (uint16_t)slot;
}
