/*
 * worker_rx.c — the RX path: UDP recvmsg (split by the GRO segment size) ->
 * header checks -> session by receiver index -> open a run per session ->
 * inner checks (valid IP, source is the session's own address) -> endpoint
 * update (NAT rebinding, authenticated packets only) -> TUN write, TCP
 * segments of one flow coalesced into a superframe when TUN offload is on.
 *
 * AQM. When this side is the bottleneck, the standing queue of the tunnel
 * forms in the UDP socket's receive queue, which the worker cannot see into.
 * The kernel stamps each datagram when it queues it (SO_TIMESTAMPNS), so each
 * receive tells how long its datagrams waited there; CoDel (core/codel.h)
 * turns a wait that stays above target for an interval into a drop of one
 * bulk datagram (never a small one), before decryption: the load is shed at
 * the ingress, counted (RV_DROP_AQM), and the inner TCP flow halves its
 * window, which empties the queue that pings and ACKs were waiting in.
 *
 * Nothing about a session changes for a datagram that fails a check before
 * or during AEAD open: rv_session_open_batch_newest updates the replay
 * window only for authenticated packets, and the endpoint moves only to the
 * source (and our local address) of the run's newest authenticated
 * datagram: the highest counter its epoch has seen (move_endpoint).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "core/clock.h"
#include "core/demux.h"
#include "core/gso.h"
#include "core/ip.h"
#include "core/log.h"
#include "uring/compat.h"
#include "uring/internal.h"
#include "uring/udata.h"

/* wire_drop_reason names the drop for a header that failed to parse; |e| is
 * never RV_WIRE_OK (the caller checks first). */
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
		break;
	}
	return RV_DROP_BAD_TYPE;
}

static void release_bid_hold(struct rv_worker *w, unsigned bid)
{
	rv_worker_release(w, rv_handle(POOL_UDPRX, bid));
}

/* rv_worker_recv_behind: does a receive of the bulk socket wait in the ring's
 * completions behind the one being handled? The completions of this turn
 * are advanced only after all of them are handled, so the ring's count of
 * ready ones always held this one (and every other kind): a lone datagram
 * never counted as lone (round-ten tester 48). */
bool rv_worker_recv_behind(const struct rv_worker *w)
{
	const struct io_uring *ring = &w->ring.ring;
	unsigned tail = io_uring_smp_load_acquire(ring->cq.ktail);

	for (unsigned h = w->cq_next; h != tail; h++) {
		const struct io_uring_cqe *c =
			&ring->cq.cqes[io_uring_cqe_index(ring, h, ring->cq.ring_mask)];
		uint64_t ud = io_uring_cqe_get_data64(c);

		if (rv_udata_op(ud) == RV_OP_UDP_RECV && rv_udata_idx(ud) == 0 && c->res > 0) {
			return true;
		}
	}
	return false;
}

/* backlog_empty: the datagram just received is alone: the turn's only
 * receive of the bulk socket (the small one's are another queue, and a
 * ping beside a lone datagram made it a queue: round-twelve tester 54), of
 * at most two datagrams (after the first, at most one packet is left,
 * which RFC 8289 counts as no queue: a fragmented ping's pair was dropped,
 * the same tester), and nothing waits behind it in the ring's completions
 * or in the socket. Then its
 * sojourn was how late this worker ran, not a standing queue, and CoDel is
 * told so (RFC 8289: no drop while at most one packet is queued, and the
 * wait above target starts over). The last of a turn's many receives has
 * nothing behind it either, and yet ended a queue that stood: taken for
 * lone, it reset CoDel at every turn's end, and the ping p99 beside a
 * saturating stream doubled (perf/results/ab-codel-lone-first-20261204).
 * A lone full-size datagram on a busy host was dropped without any queue
 * (a hostile tester: 3-12 of 200 pings of 1420 bytes).
 * Asked only of a datagram above target, and the system call only for a
 * turn's only receive of one datagram: none per packet of a stream. */
static bool backlog_empty(struct rv_worker *w, uint32_t ndg)
{
	int queued = 0;

	if (ndg > 2 || w->turn_recvs > 1 || rv_worker_recv_behind(w) ||
	    ioctl(w->udp_fd, SIOCINQ, &queued) != 0 || queued > 0) {
		return false;
	}
	rv_codel_empty(&w->codel);
	return true;
}

/* aqm_victim returns the offset of the datagram to drop on CoDel's advice:
 * the receive's first, unless its datagrams are of the small class (at
 * most RV_PRIO_MAX_LEN inner bytes: pings, ACKs, keystrokes, what the AQM
 * protects): then UINT32_MAX. Half the MTU was the line, and a TCP stream
 * of smaller segments (MSS 600) built the standing queue while every drop
 * landed on the other sessions' full-size datagrams (round-twelve tester
 * 54). */
static uint32_t aqm_victim(uint32_t plen, uint32_t seg)
{
	/* A train of the small class (a GRO batch the kernel steered to
	 * this socket by its merged length) is a stream of small segments,
	 * not what the small socket carries: a TCP stream of 200-byte
	 * segments built the queue, and every drop fell on other sessions
	 * (round-twelve tester 58). */
	if ((seg <= RV_PRIO_MAX_LEN + RV_DATA_OVERHEAD && plen <= seg) || plen < seg) {
		return UINT32_MAX;
	}
	return 0;
}

void rv_worker_udp_recv(struct rv_worker *w, unsigned bid, uint32_t len)
{
	uint8_t *buf = rv_bufring_buf(&w->udprx, bid);
	struct io_uring_recvmsg_out *o;
	const struct rv_demux *d = w->dp->cfg.demux;
	uint8_t *payload;
	uint32_t plen, seg, ndg, victim = UINT32_MAX;
	bool mark = false;
	unsigned src;
	int gro = 0, ecn = -1;
	struct timespec ts = { 0, 0 };
	struct in6_addr local = IN6ADDR_ANY_INIT;
	unsigned ifindex = 0;

	rv_ctr_add(&w->ctr, RV_CTR_UDP_RECVS, 1);
	w->udprx_refs[bid] = 1; /* our hold while splitting */
	o = io_uring_recvmsg_validate(buf, (int)len, &w->recv_msg);
	if (unlikely(o == NULL)) {
		rv_drop_add(&w->ctr, RV_DROP_BAD_RECV, 1);
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
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		} else if (w->pktinfo && rv_cmsg_local(cm, &local)) {
			ifindex = rv_cmsg_ifindex(cm);
			continue;
		} else if (ecn < 0 && w->ecn) {
			ecn = rv_cmsg_ecn(cm);
		}
	}
	payload = io_uring_recvmsg_payload(o, &w->recv_msg);
	plen = io_uring_recvmsg_payload_length(o, (int)len, &w->recv_msg);
	seg = gro > 0 && (uint32_t)gro < plen ? (uint32_t)gro : plen;
	if (unlikely(seg == 0)) {
		/* An empty datagram: as short as one can be. */
		rv_drop_add(&w->ctr, RV_DROP_SHORT, 1);
		release_bid_hold(w, bid);
		return;
	}
	ndg = (plen + seg - 1) / seg;
	if (unlikely(ndg > RV_RX_BATCH)) {
		rv_drop_add(&w->ctr, RV_DROP_BAD_RECV, ndg);
		release_bid_hold(w, bid);
		return;
	}
	if (ts.tv_sec != 0) {
		uint64_t at = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		uint64_t sojourn = w->rt_now_ns > at ? w->rt_now_ns - at : 0;
		/* CoDel watches the bulk socket's queue: the small socket's
		 * datagrams, waiting less, ended its wait and its dropping
		 * (round-twelve tester 58). */
		bool aqm = w->aqm && !w->rx_small_sock;
		uint32_t pick = aqm ? aqm_victim(plen, seg) : UINT32_MAX;

		rv_gauge_set(&w->gauges, RV_GAUGE_UDP_SOJOURN_US, sojourn / 1000);
		rv_gauge_max(&w->gauges, RV_GAUGE_UDP_SOJOURN_MAX_US, sojourn / 1000);
		/* The turn's first bulk datagram arrived a whole interval
		 * after the last turn had handled every one before it: the
		 * queue stood empty that long, and the wait above target
		 * that the last burst started ends (RFC 8289: an empty queue
		 * resets first_above_time). It survived the idle gap, and
		 * the next burst's first datagram was dropped on arrival
		 * (test_ecn 7). Not at every empty moment, as the RFC has
		 * it: between the turns of a saturating stream the queue is
		 * often empty for a few microseconds, and a reset at each
		 * kept CoDel from ever acting (test_ecn 5 marked nothing;
		 * resets at turn ends doubled the ping p99 beside a stream:
		 * perf/results/ab-codel-lone-first-20261204). */
		if (aqm && w->turn_recvs == 1 && at > w->rt_end_ns &&
		    at - w->rt_end_ns >= w->codel.p.interval_ns) {
			rv_codel_empty(&w->codel);
		}
		/* Drops by datagrams, not by receives (core/codel.h). */
		if (pick != UINT32_MAX) {
			rv_codel_pick_note(&w->aqm_pick, ndg);
		}
		/* A late datagram alone is no standing queue: it neither
		 * starts the wait nor goes on with one. Its wait used to
		 * survive until the next drop was asked, and the first of a
		 * later burst was dropped without waiting an interval
		 * (round-ten tester 48); a keepalive alone in the gap after
		 * a burst did not end that burst's wait (test_ecn 7). */
		if (aqm && !(rv_codel_above(&w->codel, sojourn) && backlog_empty(w, ndg)) &&
		    rv_codel_update(&w->codel, sojourn, w->rt_now_ns)) {
			/* Not picked: the next receive is asked. */
			victim = pick != UINT32_MAX && rv_codel_pick(&w->aqm_pick, ndg)
					 ? pick
					 : UINT32_MAX;
			if (victim != UINT32_MAX) {
				rv_codel_dropped(&w->codel, w->rt_now_ns);
				/* An ECN-capable datagram (a GRO batch has one
				 * field) is marked CE rather than dropped, while
				 * marks can still work. */
				mark = ecn > 0 && rv_codel_may_mark(&w->codel, sojourn);
			}
		}
	}
	if (w->rxq[Q_BULK].n + ndg > w->rxq[Q_BULK].cap ||
	    w->rxq[Q_PRIO].n + ndg > w->rxq[Q_PRIO].cap || w->nsrcs == RV_RX_SRCS) {
		rv_worker_flush_rx(w, Q_PRIO);
		rv_worker_flush_rx(w, Q_BULK);
	}
	src = w->nsrcs;
	if (unlikely(!rv_sock_canon_endpoint(&w->rx_srcs[src], io_uring_recvmsg_name(o),
					     o->namelen))) {
		rv_drop_add(&w->ctr, RV_DROP_BAD_SRC, ndg);
		release_bid_hold(w, bid);
		return;
	}
	w->rx_srcs[src].local = local;
	w->rx_src_ifs[src] = ifindex;
	w->nsrcs++;
	for (uint32_t off = 0; off < plen; off += seg) {
		uint8_t *dg = payload + off;
		uint32_t dlen = plen - off < seg ? plen - off : seg;
		struct rv_data_hdr hdr;
		enum rv_wire_err err;
		struct rv_session *s;
		struct rv_rxq *q;

		/* CoDel's pick is dropped before decryption, or marked CE
		 * once opened: the flow backs off without losing the packet.
		 * The drop is charged to the session the header names too (not
		 * authenticated yet: a forger could charge another's), so that
		 * where the drops land shows (they showed in no session's
		 * counters: round-twelve tester 54). */
		if (unlikely(off == victim) && !mark) {
			rv_drop_add(&w->ctr, RV_DROP_AQM, 1);
			if (rv_wire_parse_data_hdr(&hdr, dg, dlen) == RV_WIRE_OK &&
			    (s = rv_demux_by_index(d, hdr.receiver_index)) != NULL) {
				(void)rv_session_count_drop(s, RV_DROP_AQM, 1);
			}
			continue;
		}
		err = rv_wire_parse_data_hdr(&hdr, dg, dlen);
		if (unlikely(err != RV_WIRE_OK)) {
			rv_drop_add(&w->ctr, wire_drop_reason(err), 1);
			/* A counter past the limit names a session, charged as
			 * every drop before authentication is (README,
			 * Limitations): the worker's total alone rose
			 * (round-thirty tester 149). */
			if (err == RV_WIRE_COUNTER_LIMIT &&
			    (s = rv_demux_by_index(d, hdr.receiver_index)) != NULL) {
				(void)rv_session_count_drop(s, RV_DROP_KEY_EXPIRED, 1);
			}
			continue;
		}
		s = rv_demux_by_index(d, hdr.receiver_index);
		if (unlikely(s == NULL)) {
			rv_drop_add(&w->ctr, RV_DROP_UNKNOWN_INDEX, 1);
			continue;
		}
		q = &w->rxq[dlen <= RV_PRIO_MAX_LEN + RV_DATA_OVERHEAD ? Q_PRIO : Q_BULK];
		q->it[q->n++] = (struct rv_rx_item){
			.buf = dg,
			.len = dlen,
			.handle = rv_handle(POOL_UDPRX, bid),
			.src = (uint16_t)src,
			.ecn = ecn > 0 ? (uint8_t)ecn : 0,
			.aqm_mark = off == victim,
			.s = s,
			.hdr = hdr,
		};
		w->udprx_refs[bid]++;
	}
	release_bid_hold(w, bid);
}

/* write_lost counts |n| packets of session |s|, |bytes| inner bytes, that
 * were counted received and never reached the TUN: a drop of |why| to the
 * worker and to the session, taken out of the session's rx (the worker's
 * drop was counted alone, and the session's rx kept them: round-twenty-five
 * tester 110). */
static void write_lost(struct rv_worker *w, struct rv_session *s, enum rv_drop_reason why,
		       unsigned n, uint64_t bytes)
{
	rv_drop_add(&w->ctr, why, n);
	if (s != NULL) {
		rv_session_count_drop(s, why, n);
		rv_session_uncount_rx(s, n, bytes);
	}
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
		write_lost(w, it->s, RV_DROP_NO_BUF, 1, it->len);
		rv_worker_release(w, it->handle);
		return;
	}
	if (w->vnet) {
		/* The data header in front of the plaintext is spent: the
		 * virtio header goes there. No GSO; the checksum is to be
		 * verified, or, for a packet the peer left partial, to be
		 * completed by whoever needs it (a local socket does not). */
		struct rv_vnet_hdr vh = {
			.flags = it->csum_start != 0 ? RV_VNET_F_NEEDS_CSUM : 0,
			.csum_start = it->csum_start,
			.csum_offset = it->csum_offset,
		};

		p -= RV_VNET_HDR_LEN;
		len += RV_VNET_HDR_LEN;
		rv_vnet_hdr_write(p, &vh);
	}
	sl->num = 1;
	sl->niov = 0;
	sl->handles[0] = it->handle;
	sl->sess_index = rv_session_local_index(it->s);
	sl->bytes = it->len;
	io_uring_prep_write(sqe, w->sqe_tun, p, len, 0);
	sqe->flags |= w->sqe_fd_flags;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_TUN_WRITE, (uint8_t)w->id, slot));
	w->writes_inflight++;
}

/* write_gro writes the run of rx[] items listed in |idx| (g->num of them)
 * as one superframe with writev: merged headers, then each payload. */
static void write_gro(struct rv_worker *w, const struct rv_rx_item *rx, const struct rv_gro *g,
		      const unsigned *idx, uint8_t *const *pay, const uint32_t *pay_len)
{
	struct rv_write_slot *sl;
	struct io_uring_sqe *sqe;
	unsigned slot;
	uint32_t bytes = 0;

	sl = write_slot_get(w, &slot, &sqe);
	if (unlikely(sl == NULL)) {
		for (unsigned k = 0; k < g->num; k++) {
			bytes += rx[idx[k]].len;
			rv_worker_release(w, rx[idx[k]].handle);
		}
		write_lost(w, rx[idx[0]].s, RV_DROP_NO_BUF, g->num, bytes);
		return;
	}
	sl->iov[0].iov_base = sl->hdr;
	sl->iov[0].iov_len = rv_gro_finish(g, sl->hdr);
	for (unsigned k = 0; k < g->num; k++) {
		sl->iov[k + 1].iov_base = pay[k];
		sl->iov[k + 1].iov_len = pay_len[k];
		sl->handles[k] = rx[idx[k]].handle;
		bytes += rx[idx[k]].len;
	}
	sl->sess_index = rv_session_local_index(rx[idx[0]].s);
	sl->bytes = bytes;
	sl->num = g->num;
	sl->niov = (uint16_t)(g->num + 1);
	rv_ctr_add(&w->ctr, g->udp ? RV_CTR_TUN_GRO_UDP : RV_CTR_TUN_GRO_TCP, g->num);
	io_uring_prep_writev(sqe, w->sqe_tun, sl->iov, sl->niov, 0);
	sqe->flags |= w->sqe_fd_flags;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_TUN_WRITE, (uint8_t)w->id, slot));
	w->writes_inflight++;
}

static void write_run(struct rv_worker *w, struct rv_rx_item *rx, unsigned from, unsigned to)
{
	unsigned idx[RV_GRO_MAX_SEGS];
	uint8_t *pay[RV_GRO_MAX_SEGS];
	uint32_t pay_len[RV_GRO_MAX_SEGS];

	for (unsigned k = from; k < to;) {
		struct rv_gro g;
		unsigned m;

		if (rx[k].s == NULL) {
			k++;
			continue;
		}
		if (!w->vnet || !rv_gro_csum_ok(rx[k].buf, rx[k].len, rx[k].csum_start != 0) ||
		    !rv_gro_start(&g, rx[k].buf, rx[k].len, w->uso_max)) {
			write_single(w, &rx[k]);
			k++;
			continue;
		}
		idx[0] = k;
		pay[0] = rx[k].buf + g.ip_hlen + g.l4_hlen;
		pay_len[0] = g.payload_len;
		for (m = k + 1; m < to && g.num < RV_GRO_MAX_SEGS; m++) {
			const uint8_t *p;
			size_t pl;

			if (rx[m].s == NULL) {
				continue;
			}
			if (!rv_gro_csum_ok(rx[m].buf, rx[m].len, rx[m].csum_start != 0) ||
			    !rv_gro_append(&g, rx[m].buf, rx[m].len, &p, &pl)) {
				break;
			}
			idx[g.num - 1] = m;
			pay[g.num - 1] = rx[m].buf + (p - rx[m].buf);
			pay_len[g.num - 1] = (uint32_t)pl;
		}
		if (g.num >= 2) {
			write_gro(w, rx, &g, idx, pay, pay_len);
			/* Items skipped inside the run were dropped already. */
			k = m;
		} else {
			write_single(w, &rx[k]);
			k++;
		}
	}
}

/* finish_csum completes the checksum |it| (opened at |plain|, |len| bytes)
 * left partial, as the kernel would for a NEEDS_CSUM packet. */
static void finish_csum(struct rv_rx_item *it, uint8_t *plain, uint32_t len)
{
	struct rv_vnet_hdr vh = {
		.flags = RV_VNET_F_NEEDS_CSUM,
		.csum_start = it->csum_start,
		.csum_offset = it->csum_offset,
	};

	/* Cannot fail: rv_csum_partial_at placed the field inside. */
	(void)rv_gso_finish_csum(plain, len, &vh);
	it->csum_start = 0;
}

/* bad_inner drops an opened packet the TUN must not get: authenticated, so
 * the session's own peer sent it, and the operator is told which (each
 * session named at its first, as for spoofing). */
static void bad_inner(struct rv_worker *w, struct rv_session *s, const char *what)
{
	rv_warnx_rl_or(rv_session_count_drop(s, RV_DROP_BAD_INNER, 1) == 0,
		       "worker %u: dropped a packet of %s (session %08x): %s", w->id,
		       rv_session_peer_name(s), rv_session_local_index(s), what);
	rv_drop_add(&w->ctr, RV_DROP_BAD_INNER, 1);
}

/* hdr_bad drops a packet to another client (or to an offline client's
 * address) whose IPv4 header checksum is wrong, as a router drops it
 * before it routes: forwarded inside, its TTL was taken down and the
 * checksum patched to stay wrong, the other client's kernel dropped it
 * after a seal and a send, and an offline address answered it
 * (round-twenty-three tester 100). On the TUN's way the server's kernel
 * drops it. So is one with a source route option, which the kernel's way
 * drops (accept_source_route is off by default) and the data plane
 * forwarded (round-thirty-two tester 163), and one with options the
 * kernel refuses (rv_ip_v4_options_bad, rv_ip_v6_hbh_bad), answered as the
 * kernel answers them. */
static bool hdr_bad(struct rv_worker *w, struct rv_rx_item *it, const uint8_t *plain,
		    const struct rv_ip_info *ip)
{
	const char *why;
	unsigned ptr;
	bool option;

	/* IPv6's Hop-by-Hop options too, which a router judges before it
	 * routes: forwarded inside, the other client's kernel dropped them
	 * and answered from its own address, nothing counted (round
	 * sixty-eight tester 300). */
	if (ip->dst.family == AF_INET6) {
		why = rv_ip_v6_hbh_bad(plain, ip->total_len, &ptr, &option);
		if (why == NULL) {
			return false;
		}
		bad_inner(w, it->s, why);
		if (ptr != 0) {
			rv_worker_icmp_error(w, plain, ip, it->s,
					     option ? RV_ICMP_PARAM_PROBLEM_OPTION
						    : RV_ICMP_PARAM_PROBLEM,
					     ptr);
		}
		rv_worker_release(w, it->handle);
		return true;
	}
	if (ip->dst.family != AF_INET) {
		return false;
	}
	if (!rv_ipv4_csum_ok(plain, ip->hdr_len)) {
		bad_inner(w, it->s, "its IPv4 header checksum is wrong");
	} else if (ip->hdr_len > 20 &&
		   (why = rv_ip_v4_options_bad(plain, ip->hdr_len, &ptr)) != NULL) {
		bad_inner(w, it->s, why);
		if (ptr != 0) {
			rv_worker_icmp_error(w, plain, ip, it->s, RV_ICMP_PARAM_PROBLEM,
					     (uint8_t)ptr);
		}
	} else {
		return false;
	}
	rv_worker_release(w, it->handle);
	return true;
}

/* forward_c2c handles a packet from one client to another client's virtual
 * address (client_to_client = internal | off): sealed at once for the other
 * session from where it was opened (its data header and tag room are
 * there), or dropped. Returns C2C_NOT_OURS when the destination is no
 * session (the packet goes to the TUN as usual), unless it is a client's
 * all the same (offline_client): with off dropped, else to_offline. With
 * kernel, only that last case is handled here. The sender's source was
 * checked already; the receiving session's key rules apply in the seal,
 * and the tunnel MTU as on the TUN's way (a sender may seal a larger
 * packet than its TUN would give it: the other client's TUN must not get
 * one, nor the underlay a fragmented datagram). */
enum c2c_result { C2C_NOT_OURS, C2C_FORWARDED, C2C_DROPPED };

/* offline_client: is |dst| a client's address no session has now (of the
 * pool, not the server's own, or in a network behind a client)? With
 * client_to_client = off such a packet is dropped too: on the TUN the
 * server's kernel would route it back out and may answer (time exceeded,
 * a redirect), which online clients' addresses never get, telling the
 * sender who is online. */
static bool offline_client(const struct rv_worker *w, const struct rv_ip_addr *dst)
{
	enum rv_pool_place at = rv_dataplane_pool_place(w->dp, dst);

	/* The host's own addresses among the clients' are the host's, with
	 * off too (they were dropped as c2c_off: round-twenty-six tester
	 * 123). */
	return (at == RV_POOL_CLIENT || at == RV_POOL_NET || at == RV_POOL_BCAST ||
		rv_demux_held(w->dp->cfg.demux, dst)) &&
	       !rv_dataplane_host_has(w->dp, dst, true);
}

/* offline_place: could |dst| be an offline client's (to_offline), when no
 * session has it? A client address of the pool, or a network behind a
 * client the demux holds for it while it is away, that the server's host
 * neither holds nor routes itself (rv_dataplane_host_has); or the IPv4
 * pool's network address, which this kernel takes for a unicast address
 * and routes straight back out of the TUN (round-twenty-six tester 120:
 * each packet crossed the TUN twice, counted against no one). */
static bool offline_place(const struct rv_worker *w, const struct rv_ip_addr *dst)
{
	if (!w->offline_at_ingress) {
		return false;
	}
	switch (rv_dataplane_pool_place(w->dp, dst)) {
	case RV_POOL_CLIENT:
	case RV_POOL_NET:
		break;
	case RV_POOL_OUTSIDE:
		if (!rv_demux_held(w->dp->cfg.demux, dst)) {
			return false;
		}
		break;
	default:
		return false;
	}
	return !rv_dataplane_host_has(w->dp, dst, true);
}

/* no_ipv6 counts an IPv6 packet that came for a client whose TUN carries
 * none and answers it, when it was for the client's own address, with
 * "address unreachable" from that address (rv_worker_icmp_error; what the
 * kernel's way would say of an address no one holds): the server's source
 * check takes it as the client's own. The caller releases the packet. */
static void no_ipv6(struct rv_worker *w, struct rv_session *s, const uint8_t *plain,
		    const struct rv_ip_info *ip)
{
	rv_drop_add(&w->ctr, RV_DROP_NO_IPV6, 1);
	rv_session_count_drop(s, RV_DROP_NO_IPV6, 1);
	if (rv_ip_addr_equal(&ip->dst, rv_session_vaddr6(s))) {
		rv_worker_icmp_error(w, plain, ip, s, RV_ICMP_UNREACH, 0);
	}
}

/* drop_c2c drops a client's packet that is not passed on, counted as |why|
 * for the worker and against the sender's session. */
static enum c2c_result drop_c2c(struct rv_worker *w, struct rv_rx_item *it, enum rv_drop_reason why)
{
	rv_drop_add(&w->ctr, why, 1);
	rv_session_count_drop(it->s, why, 1);
	rv_worker_release(w, it->handle);
	return C2C_DROPPED;
}

/* to_offline drops a client's packet to an offline client's address (of the
 * pool or a network behind a client; client_to_client = kernel | internal)
 * as it arrives, counted against the sender, and answers it as the kernel's
 * way would have: "time exceeded" at its last hop, else "destination
 * unreachable". Written to the TUN, the server's kernel routed it straight
 * back into one of the TUN's queues, and a flood of them there crowded out
 * other clients' packets (round-sixteen tester 77), counted nowhere against
 * the one who sent it. The pool's broadcast address is not a client's: it
 * still goes to the server's kernel, which takes it as its own; its network
 * address, which the kernel routes back out, is dropped unanswered. */
static enum c2c_result to_offline(struct rv_worker *w, struct rv_rx_item *it, uint8_t *plain,
				  const struct rv_ip_info *ip)
{
	/* TTL at byte 8 of an IPv4 header, the hop limit at byte 7 of IPv6. */
	bool last = (plain[0] >> 4 == 4 ? plain[8] : plain[7]) <= 1;
	enum rv_drop_reason why = last ? RV_DROP_TTL : RV_DROP_NO_ROUTE;

	if (hdr_bad(w, it, plain, ip)) {
		return C2C_DROPPED;
	}
	/* The network address is no host's: unanswered, as the broadcast
	 * address is on the TUN's way (may_answer). */
	if (rv_dataplane_pool_place(w->dp, &ip->dst) == RV_POOL_NET) {
		return drop_c2c(w, it, RV_DROP_NO_ROUTE);
	}
	if (w->tx_num == 0) {
		/* No send chunks to build an answer in (TUN offloads off).
		 * At its last hop the packet goes to the server's kernel,
		 * which answers it and sends nothing back into the TUN; else
		 * the answer is written to the TUN, as for a TUN packet to
		 * the address, within the same ICMP rate. */
		if (last) {
			return C2C_NOT_OURS;
		}
		rv_session_count_drop(it->s, why, 1);
		rv_worker_no_route(w, plain, ip->total_len, it->handle, ip);
		return C2C_DROPPED;
	}
	rv_worker_icmp_error(w, plain, ip, it->s, last ? RV_ICMP_TIME_EXCEEDED : RV_ICMP_UNREACH,
			     0);
	return drop_c2c(w, it, why);
}

static enum c2c_result forward_c2c(struct rv_worker *w, struct rv_rx_item *it, uint8_t *plain,
				   uint32_t plen, const struct rv_ip_info *ip)
{
	struct rv_session *to;
	uint8_t flags = it->csum_start != 0 ? RV_DATA_F_CSUM_PARTIAL : 0;
	enum rv_drop_reason why;
	uint32_t len;
	unsigned cls;

	if (w->c2c == RV_CONFIG_C2C_KERNEL) {
		/* Only a client's address (not the pool's own nor its link's)
		 * costs a lookup: everything else is the kernel's. */
		return offline_place(w, &ip->dst) && rv_worker_lookup_dst(w, ip) == NULL
			       ? to_offline(w, it, plain, ip)
			       : C2C_NOT_OURS;
	}
	to = rv_worker_lookup_dst(w, ip);
	/* What the server's host holds or routes itself inside a network
	 * behind a client (its own address there, a part or the whole it
	 * routes elsewhere) is the host's, as on the kernel's way: it went
	 * to the network's client, which could then answer as the server
	 * (round-twenty-six tester 119). */
	if (to != NULL && rv_dataplane_host_has(w->dp, &ip->dst, false)) {
		return C2C_NOT_OURS;
	}
	if (to == NULL && w->c2c != RV_CONFIG_C2C_OFF) {
		return offline_place(w, &ip->dst) ? to_offline(w, it, plain, ip) : C2C_NOT_OURS;
	}
	if (to == NULL && !offline_client(w, &ip->dst)) {
		return C2C_NOT_OURS;
	}
	/* Forwarded as a router does: one hop less (the kernel way takes one
	 * too), and not at all at the last, which is answered with ICMP time
	 * exceeded from the server's address (the hop traceroute shows). */
	if (w->c2c == RV_CONFIG_C2C_INTERNAL && hdr_bad(w, it, plain, ip)) {
		return C2C_DROPPED;
	}
	if (w->c2c == RV_CONFIG_C2C_OFF || ip->total_len > w->mtu || !rv_ip_hop(plain)) {
		why = w->c2c == RV_CONFIG_C2C_OFF ? RV_DROP_C2C_OFF
		      : ip->total_len > w->mtu	  ? RV_DROP_TOO_BIG
						  : RV_DROP_TTL;
		if (why == RV_DROP_TTL) {
			rv_worker_icmp_error(w, plain, ip, it->s, RV_ICMP_TIME_EXCEEDED, 0);
		}
		return drop_c2c(w, it, why);
	}
	if (flags != 0 && !rv_session_csum_partial(to)) {
		/* The receiving peer wants whole checksums. */
		finish_csum(it, plain, ip->total_len);
		flags = 0;
	}
	rv_ctr_add(&w->ctr, RV_CTR_C2C_FORWARDED, 1);
	len = ip->total_len;
	/* The datagram's own plaintext is the room there is. */
	cls = rv_worker_tx_class(w, plain, &len, plen, ip, to, &flags);
	rv_worker_forward(w, cls, plain, len, it->handle, to, flags);
	return C2C_FORWARDED;
}

/* ecn_decap passes the outer header's ECN field to the opened packet at
 * |plain| (RFC 6040), then CoDel's mark; false: the packet is to be dropped
 * (counted here). */
static bool ecn_decap(struct rv_worker *w, struct rv_rx_item *it, uint8_t *plain)
{
	switch (rv_ip_ecn_decap(plain, it->ecn)) {
	case RV_ECN_KEPT:
		break;
	case RV_ECN_MARKED:
		rv_ctr_add(&w->ctr, RV_CTR_ECN_CE, 1);
		break;
	case RV_ECN_DROP:
		rv_ctr_add(&w->ctr, RV_CTR_ECN_CE, 1);
		rv_drop_add(&w->ctr, RV_DROP_ECN, 1);
		/* RFC 6040 asks for the line: a device on the path that sets
		 * CE on every datagram drops all traffic that is not
		 * ECN-capable, and the session looks healthy otherwise. Each
		 * session is named at its first such drop, whatever another
		 * session's flood used of the call site's rate. */
		rv_warnx_rl_or(rv_session_count_drop(it->s, RV_DROP_ECN, 1) == 0,
			       "worker %u: dropped a packet of %s (session %08x): congestion "
			       "experienced "
			       "(CE) on the outer header, but the inner packet is not ECN-capable "
			       "(RFC 6040); if something on the path marks every datagram, set "
			       "ecn = no",
			       w->id, rv_session_peer_name(it->s), rv_session_local_index(it->s));
		return false;
	}
	if (!it->aqm_mark) {
		return true;
	}
	/* Outside it said ECN-capable; a peer may lie about the inside. */
	if (rv_ip_ecn_decap(plain, RV_ECN_CE) == RV_ECN_DROP) {
		rv_drop_add(&w->ctr, RV_DROP_AQM, 1);
		(void)rv_session_count_drop(it->s, RV_DROP_AQM, 1);
		return false;
	}
	rv_ctr_add(&w->ctr, RV_CTR_AQM_CE, 1);
	return true;
}

/* inside_tunnel: would following |s|'s peer to |ep| loop through the
 * tunnel? A client sealed a datagram of its own session inside one of its
 * packets to the server's data port: the server followed it there, and
 * from then on sealed each packet again as it came round, a core spent
 * until the session ended (round-ten tester 48). Datagrams in by the
 * server's own TUN (|ifindex|) loop only when their source is |s|'s own
 * (its address or a network it carries), no session's (a dead end), or
 * another session's whose own endpoint lies inside the tunnel too (two
 * site clients each inside the other's network: round-thirty-six tester
 * 183): a host of another client's site that is a client itself, its
 * datagrams carried by that site's session, was refused a data plane
 * (tester 179). Where the interface is not known, an address of the
 * pool or of a network some session carries is taken to be inside: it
 * refused a client whose address lies in a site's network that the host
 * routes elsewhere, which reached the server by its link (round-thirty-two
 * tester 167). */
static bool inside_tunnel(const struct rv_worker *w, const struct rv_session *s,
			  const struct rv_endpoint *ep, unsigned ifindex)
{
	struct rv_ip_addr a;
	const struct rv_session *by;
	bool by_tun;

	if (!w->pktinfo) {
		return false; /* a client: its routes decide, and it has no pool */
	}
	if (ifindex != 0 && w->dp->tun_ifindex != 0 && ifindex != w->dp->tun_ifindex) {
		return false;
	}
	by_tun = ifindex != 0 && w->dp->tun_ifindex != 0;
	rv_endpoint_addr(ep, &a);
	if (a.family == 0) {
		return by_tun;
	}
	by = rv_worker_lookup_addr(w, &a);
	if (by_tun && by != NULL && by != s) {
		/* Its carrier's own endpoint inside the tunnel too: a
		 * datagram to it would come round again (seal_run drops it,
		 * should the carrier move there later: tester 183). */
		struct rv_endpoint carrier;

		rv_session_get_endpoint(by, &carrier);
		rv_endpoint_addr(&carrier, &a);
		return a.family != 0 && rv_worker_addr_inside(w, &a, false);
	}
	if (by_tun) {
		return true; /* its own, or no session's */
	}
	return by != NULL || rv_dataplane_pool_place(w->dp, &a) != RV_POOL_OUTSIDE;
}

/* move_endpoint sends |s|'s datagrams to |ep| (in by interface |ifindex|)
 * from here on if it differs from where they went, counted and logged
 * (rate-limited); never into the tunnel (inside_tunnel). */
static void move_endpoint(struct rv_worker *w, struct rv_session *s, const struct rv_endpoint *ep,
			  unsigned ifindex)
{
	struct rv_endpoint old, to;

	/* The common case, once per batch: nothing to check or move. */
	if (rv_session_endpoint_unchanged(s, ep)) {
		return;
	}
	if (unlikely(inside_tunnel(w, s, ep, ifindex))) {
		char a[80];

		rv_warnx_rl("%s (session %08x): datagrams came through the tunnel itself, from %s: "
			    "not followed there (a routing loop)",
			    rv_session_peer_name(s), rv_session_local_index(s),
			    rv_endpoint_str(ep, a, sizeof(a)));
		return;
	}

	/* A receive that named no usable local address (::) keeps the one
	 * the peer's datagrams came to before (the session's rule). */
	if (!rv_session_update_endpoint(s, ep, &old)) {
		return;
	}
	rv_session_get_endpoint(s, &to);
	rv_ctr_add(&w->ctr, RV_CTR_ENDPOINT_MOVES, 1);
	/* The first one is where the peer was learnt: no news. */
	if (old.len != 0) {
		char a[80], b[80], la[INET6_ADDRSTRLEN], lb[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &to.local, la, sizeof(la));
		inet_ntop(AF_INET6, &old.local, lb, sizeof(lb));
		rv_info_rl("%s (session %08x): the peer's datagrams now come from %s to our %s "
			   "(were from %s to %s): ours follow",
			   rv_session_peer_name(s), rv_session_local_index(s),
			   rv_endpoint_str(&to, a, sizeof(a)), la,
			   rv_endpoint_str(&old, b, sizeof(b)), lb);
	}
}

static void open_run(struct rv_worker *w, struct rv_rx_item *rx, unsigned from, unsigned to,
		     uint64_t now)
{
	struct rv_session *s = rx[from].s;
	uint64_t rx_bytes = 0, rx_pkts = 0, keepalives = 0, echoes = 0;
	size_t newest;

	for (unsigned k = from; k < to; k++) {
		w->rx_pkts[k] = (struct rv_pkt){ .buf = rx[k].buf, .len = rx[k].len };
		w->hdrs[k] = rx[k].hdr;
	}
	(void)rv_session_open_batch_newest(s, &w->rx_pkts[from], &w->hdrs[from], &w->results[from],
					   to - from, now, &newest);
	/* The peer is where its newest datagram came from (a NAT rebinding,
	 * a roaming client): only that one may move it, so that a datagram
	 * held back on the way and delivered later, from anywhere, cannot
	 * steer the session's traffic (an on-path attacker could otherwise
	 * point it at a victim). Before the loop: an ECHO is answered to the
	 * endpoint as moved. */
	if (newest < to - from) {
		move_endpoint(w, s, &w->rx_srcs[rx[from + newest].src],
			      w->rx_src_ifs[rx[from + newest].src]);
	}
	for (unsigned k = from; k < to; k++) {
		struct rv_rx_item *it = &rx[k];
		enum rv_session_result r = w->results[k];
		struct rv_ip_info ip;
		enum rv_drop_reason why;
		uint8_t *plain;
		uint32_t plen;
		bool ll_src;

		if (unlikely(rv_session_drop_reason(r, &why))) {
			rv_drop_add(&w->ctr, why, 1);
			goto drop;
		}
		/* The peer's packets reached rekey_packets: the control
		 * thread is woken as by a send's REKEY_SOON. */
		if (unlikely(r == RV_SESSION_REKEY_SOON)) {
			rv_dataplane_note_rekey(w->dp);
		}
		plain = it->buf + RV_DATA_HDR_LEN;
		plen = w->rx_pkts[k].len;
		if (plen == 0) {
			keepalives++;
			if (it->hdr.flags & RV_DATA_F_ECHO) {
				/* The peer asks whether our datagrams reach it:
				 * the answer, empty and unflagged, is sealed where
				 * its keepalive was opened, and goes to the endpoint
				 * this run updates. */
				rv_worker_forward(w, Q_PRIO, plain, 0, it->handle, s, 0);
				echoes++;
				it->s = NULL;
				continue;
			}
			goto drop;
		}
		if (unlikely(rv_ip_parse(&ip, plain, plen) != RV_IP_OK)) {
			bad_inner(w, s, "not a well-formed IPv4 or IPv6 packet");
			goto drop;
		}
		/* IPv6 to a client whose TUN has none (its MTU under 1280,
		 * or IPv6 disabled): its sources lie in no network the client
		 * routes into the tunnel, and every packet was said as the
		 * server's spoof; the sender hears "unreachable" instead
		 * (round-twenty-seven tester 129). */
		if (unlikely(ip.src.family == AF_INET6 &&
			     atomic_load_explicit(&w->dp->no_ipv6, memory_order_relaxed))) {
			no_ipv6(w, s, plain, &ip);
			goto drop;
		}
		/* A link-local source never routes back to a session: what
		 * an older ringvpn carries (its server's kernel redirects from
		 * its link-local address) is counted as link_scope below, not
		 * said as spoofed (round-eighteen tester 86). */
		ll_src = rv_worker_link_local6(&ip.src);
		/* Nor is an address the server's host holds or routes itself
		 * inside a client's network a source of that client's:
		 * forwarded to another client inside the data plane
		 * (client_to_client = internal), a site posed as the server
		 * (round-twenty-six tester 119); the kernel's way dropped it
		 * unsaid. Not asked of the pools' addresses: a client's own
		 * is its own, whatever else holds it (all a client's traffic
		 * was dropped when the host held its leased address too:
		 * tester 123). */
		if (unlikely(!ll_src &&
			     (!rv_demux_source_ok(w->dp->cfg.demux, s, &ip.src) ||
			      (rv_dataplane_host_has(w->dp, &ip.src, false) &&
			       rv_dataplane_pool_place(w->dp, &ip.src) == RV_POOL_OUTSIDE)))) {
			char a[64];

			/* Its session ended while this turn held the packet
			 * (found by index when reaped): what a datagram for
			 * an ended session is, not the peer's spoof (a
			 * woken client blamed its server for ~220 of them:
			 * round-sixty-four tester 260). */
			if (rv_demux_removed(s)) {
				rv_drop_add(&w->ctr, RV_DROP_UNKNOWN_INDEX, 1);
				goto drop;
			}
			/* Each session named at its first, whatever another
			 * session's flood used of the call site's rate. */
			rv_warnx_rl_or(rv_session_count_drop(s, RV_DROP_SPOOF, 1) == 0,
				       "worker %u: dropped packet from %s (session %08x) with "
				       "spoofed inner source %s",
				       w->id, rv_session_peer_name(s), rv_session_local_index(s),
				       rv_ip_addr_str(&ip.src, a, sizeof(a)));
			rv_drop_add(&w->ctr, RV_DROP_SPOOF, 1);
			goto drop;
		}
		/* A redirect from the peer's own address, and a multicast,
		 * broadcast or link-local destination (the send side keeps
		 * them on the link; round-nineteen tester 88): after the
		 * source check, so that one from another source is a spoof,
		 * counted and said (round-nineteen tester 87). */
		why = rv_worker_not_carried(plain, plen, &ip);
		if (unlikely(why == RV_DROP_LINK_SCOPE)) {
			rv_session_count_drop(s, RV_DROP_LINK_SCOPE, 1);
			rv_drop_add(&w->ctr, RV_DROP_LINK_SCOPE, 1);
			goto drop;
		}
		if (unlikely(why == RV_DROP_BAD_INNER)) {
			bad_inner(w, s,
				  "IPv6 extension headers that cannot be looked through (more "
				  "than 32, or cut short)");
			goto drop;
		}
		/* After the source check: a spoofed packet is counted as
		 * that. */
		if (unlikely(it->ecn != 0 || it->aqm_mark) && !ecn_decap(w, it, plain)) {
			goto drop;
		}
		if (it->hdr.flags & RV_DATA_F_CSUM_PARTIAL) {
			/* The flag is authenticated, but only a TCP or UDP
			 * packet has a checksum to leave partial. */
			if (unlikely(!rv_csum_partial_at(plain, ip.total_len, &it->csum_start,
							 &it->csum_offset))) {
				bad_inner(w, s, "flagged partial checksum on a packet without one");
				goto drop;
			}
			/* Without a virtio header the TUN cannot be told;
			 * the sum is finished here instead. */
			if (!w->vnet) {
				finish_csum(it, plain, ip.total_len);
			}
		}
		if (w->c2c != RV_CONFIG_C2C_KERNEL || w->offline_at_ingress) {
			enum c2c_result fwd = forward_c2c(w, it, plain, plen, &ip);

			if (unlikely(fwd != C2C_NOT_OURS)) {
				/* Received (and counted so) only when passed on. */
				if (fwd == C2C_FORWARDED) {
					rx_pkts++;
					rx_bytes += ip.total_len;
				}
				it->s = NULL; /* the handle went to the send, or was released */
				continue;
			}
		}
		rx_pkts++;
		rx_bytes += ip.total_len;
		it->buf = plain;
		it->len = ip.total_len;
		continue;
drop:
		rv_worker_release(w, it->handle);
		it->s = NULL;
	}
	rv_ctr_add(&w->ctr, RV_CTR_RX_PACKETS, rx_pkts);
	rv_ctr_add(&w->ctr, RV_CTR_RX_BYTES, rx_bytes);
	rv_session_count_rx(s, rx_pkts, rx_bytes);
	if (keepalives != 0) {
		rv_ctr_add(&w->ctr, RV_CTR_KEEPALIVES, keepalives);
		rv_ctr_add(&w->ctr, RV_CTR_KEEPALIVE_ECHOES, echoes);
	}
	w->rx_turn_bytes += rx_bytes;
	write_run(w, rx, from, to);
}

void rv_worker_flush_rx(struct rv_worker *w, unsigned cls)
{
	struct rv_rxq *q = &w->rxq[cls];

	if (q->n != 0) {
		uint64_t now = rv_coarse_now_ns();

		for (unsigned i = 0, j; i < q->n; i = j) {
			j = RV_RUN_END(q, i);
			open_run(w, q->it, i, j, now);
		}
		q->n = 0;
	}
	/* The sources are shared by both classes. */
	if (w->rxq[Q_PRIO].n == 0 && w->rxq[Q_BULK].n == 0) {
		w->nsrcs = 0;
	}
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
		/* The session may have gone since (NULL): the worker's alone. */
		write_lost(w,
			   sl->sess_index ? rv_demux_by_index(w->dp->cfg.demux, sl->sess_index)
					  : NULL,
			   RV_DROP_TUN_WRITE, sl->num, sl->bytes);
		rv_warnx_rl("worker %u: TUN write of %u packets: %s", w->id, sl->num,
			    strerror(-res));
	}
	for (unsigned k = 0; k < sl->num; k++) {
		rv_worker_release(w, sl->handles[k]);
	}
	w->write_free[w->write_nfree++] = (uint16_t)slot;
	w->writes_inflight--;
}
