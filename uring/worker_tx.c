/*
 * worker_tx.c — the TX path: TUN read -> (segment) -> demux by inner
 * destination -> seal a run per session -> UDP sendmsg (UDP_SEGMENT).
 *
 * A TUN superframe is never copied as a whole: each segment's headers are
 * built in a POOL_TX chunk and its payload is sealed straight out of the
 * superframe into the chunk (out-of-place AEAD), segments back to back, so
 * one GSO run of up to 64 datagrams is usually one iovec. A plain packet is
 * sealed in place in its TUN buffer.
 *
 * Zero copy (zerocopy = auto|on): runs go out with SENDMSG_ZC, from a
 * registered buffer when every iovec of the run lies in one of the
 * registered pools (IORING_RECVSEND_FIXED_BUF, buf_index = the pool), and
 * their buffers are released on the kernel's notification rather than on
 * the send's result. The notification says whether the kernel had to copy
 * after all (IORING_SEND_ZC_REPORT_USAGE): on a veth or loopback path the
 * datagram is delivered to a local socket, which copies it, so zero-copy
 * saves nothing there and costs a second completion. In auto mode 64
 * "copied" notifications in a row switch the worker back to plain sends.
 * A kernel that refuses fixed buffers for SENDMSG_ZC (-EINVAL, before 6.15)
 * turns them off; one that refuses zero-copy turns it off (each logged
 * once, the run counted as udp_send drops).
 *
 * A TUN packet for which no session exists is dropped and counted
 * (RV_DROP_NO_ROUTE). The server routes its whole pool into the TUN, so
 * that is what a packet to an offline client's address meets: it is
 * answered with ICMP "destination unreachable" (core/icmp.h), so that a
 * ping says so and a connect fails at once rather than timing out (a
 * server only: cfg.icmp_unreach). The
 * answer is written to the TUN as the receive path writes: headers built in
 * a write slot, the quote straight out of the packet's TUN buffer, held
 * until the write completes. At most ICMP_RATE answers a second per worker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <string.h>

#include "core/clock.h"
#include "core/demux.h"
#include "core/icmp.h"
#include "core/ip.h"
#include "core/log.h"
#include "uring/compat.h"
#include "uring/internal.h"
#include "uring/udata.h"

/* A worker's ICMP answers, and one source's share of them: a client's flood
 * of packets that get one (TTL 1 to another client, pings of offline
 * addresses) took every answer, and the others' connects to offline
 * addresses waited for a timeout instead of failing at once. */
enum { ICMP_RATE = 100, ICMP_BURST = 20, ICMP_SRC_RATE = 10, ICMP_SRC_BURST = 5 };

static void drop(struct rv_worker *w, uint32_t handle, enum rv_drop_reason why)
{
	rv_drop_add(&w->ctr, why, 1);
	rv_worker_release(w, handle);
}

/* refill adds a token bucket's due tokens: |rate| a second, up to |burst|. */
static void refill(uint64_t *at_ns, unsigned *tokens, uint64_t now, unsigned rate, unsigned burst)
{
	uint64_t step = RV_NSEC_PER_SEC / rate;

	if (now < *at_ns) {
		*at_ns = now; /* the wall clock stepped back */
	}
	if (now - *at_ns >= step) {
		uint64_t t = *tokens + (now - *at_ns) / step;

		*tokens = t < burst ? (unsigned)t : burst;
		*at_ns = now;
	}
}

/* icmp_token takes one of the worker's ICMP answers for one to |to|:
 * ICMP_RATE a second, up to ICMP_BURST saved (a flood to an offline address
 * gets a trickle), of which one source gets ICMP_SRC_RATE. A source is the
 * session the answer goes to (a client rotating its sources over the
 * network behind it is one), or the address if none. The last
 * RV_ICMP_SOURCES sources keep their shares; a new one takes the place of
 * the one answered longest ago, with a full burst (sources in turn are held
 * to the worker's rate alone, as before there were shares). */
static bool icmp_token(struct rv_worker *w, const struct rv_ip_addr *to)
{
	const struct rv_session *s;
	uint64_t now = w->rt_now_ns;
	uint32_t index;
	unsigned b = 0;

	refill(&w->icmp_at_ns, &w->icmp_tokens, now, ICMP_RATE, ICMP_BURST);
	if (w->icmp_tokens == 0) {
		return false; /* a flood's packets cost no lookup */
	}
	s = rv_worker_lookup_addr(w, to);
	index = s != NULL ? rv_session_local_index(s) : 0;
	for (unsigned i = 0; i < RV_ICMP_SOURCES; i++) {
		if (w->icmp_src[i].index == index &&
		    (index != 0 || rv_ip_addr_equal(&w->icmp_src[i].addr, to))) {
			b = i;
			goto found;
		}
		if (w->icmp_src[i].at_ns < w->icmp_src[b].at_ns) {
			b = i;
		}
	}
	w->icmp_src[b].index = index;
	w->icmp_src[b].addr = *to;
	w->icmp_src[b].at_ns = 0;
	w->icmp_src[b].tokens = 0;
found:
	refill(&w->icmp_src[b].at_ns, &w->icmp_src[b].tokens, now, ICMP_SRC_RATE, ICMP_SRC_BURST);
	if (w->icmp_src[b].tokens == 0) {
		return false;
	}
	w->icmp_tokens--;
	w->icmp_src[b].tokens--;
	return true;
}

/* may_answer: may a packet no session takes get an ICMP answer, by its
 * addresses? Not one to the IPv4 pool's network or broadcast address (a
 * broadcast on the TUN link: no error for it, and none from such an
 * address). Not, with client_to_client = off, one from a client: answers
 * for offline addresses and silence for online ones (whose packets are
 * dropped as c2c_off) would tell a client who is online. */
static bool may_answer(const struct rv_worker *w, const struct rv_ip_info *ip)
{
	enum rv_pool_place at = rv_dataplane_pool_place(w->dp, &ip->dst);

	if (at == RV_POOL_NET || at == RV_POOL_BCAST) {
		return false;
	}
	if (w->c2c == RV_CONFIG_C2C_OFF) {
		const struct rv_demux *d = w->dp->cfg.demux;

		if ((ip->src.family == AF_INET ? rv_demux_by_dst4(d, ip->src.a)
					       : rv_demux_by_dst6(d, ip->src.a)) != NULL) {
			return false;
		}
	}
	return true;
}

/* rv_worker_no_route drops a TUN packet that no session takes and, on a server,
 * answers it with ICMP "destination unreachable" when it may (not itself an
 * error, a token and a write slot free): the packet's buffer then goes with
 * the answer, released when it is written. The answer comes from the
 * unreachable address itself: from one of the server's own addresses, the
 * server's kernel would drop it as a martian (a local source arriving on the
 * TUN), the packets it forwards for clients included. */
void rv_worker_no_route(struct rv_worker *w, uint8_t *pkt, uint32_t len, uint32_t handle,
			const struct rv_ip_info *ip)
{
	struct rv_write_slot *sl;
	struct io_uring_sqe *sqe;
	size_t h, quote, vh = w->vnet ? RV_VNET_HDR_LEN : 0;
	unsigned slot;

	rv_drop_add(&w->ctr, RV_DROP_NO_ROUTE, 1);
	if (!w->dp->cfg.icmp_unreach || w->write_nfree == 0 || !may_answer(w, ip)) {
		rv_worker_release(w, handle);
		return;
	}
	sl = &w->write_slots[w->write_free[w->write_nfree - 1]];
	/* A packet that gets no answer (a later fragment, an ICMP error)
	 * spends no token: a flood of them must not silence the rest. */
	h = rv_icmp_unreach(sl->hdr + vh, &ip->dst, pkt, len, ip, &quote);
	sqe = h && icmp_token(w, &ip->src) ? rv_ring_get_sqe(&w->ring) : NULL;
	if (sqe == NULL) {
		rv_worker_release(w, handle);
		return;
	}
	slot = w->write_free[--w->write_nfree];
	if (vh) {
		static const struct rv_vnet_hdr none; /* checksums complete, no GSO */

		rv_vnet_hdr_write(sl->hdr, &none);
	}
	sl->iov[0] = (struct iovec){ .iov_base = sl->hdr, .iov_len = vh + h };
	sl->iov[1] = (struct iovec){ .iov_base = pkt, .iov_len = quote };
	sl->niov = 2;
	sl->num = 1;
	sl->handles[0] = handle;
	sl->sess_index = 0; /* the worker's answer, no session's packet */
	sl->bytes = 0;
	io_uring_prep_writev(sqe, w->sqe_tun, sl->iov, sl->niov, 0);
	sqe->flags |= w->sqe_fd_flags;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_TUN_WRITE, (uint8_t)w->id, slot));
	w->writes_inflight++;
	rv_ctr_add(&w->ctr, RV_CTR_ICMP_UNREACH, 1);
}

bool rv_worker_addr_inside(const struct rv_worker *w, const struct rv_ip_addr *a, bool unknown)
{
	return rv_worker_lookup_addr(w, a) != NULL && !rv_dataplane_host_has(w->dp, a, unknown);
}

struct rv_session *rv_worker_lookup_addr(const struct rv_worker *w, const struct rv_ip_addr *a)
{
	const struct rv_demux *d = w->dp->cfg.demux;

	return a->family == AF_INET ? rv_demux_by_dst4(d, a->a) : rv_demux_by_dst6(d, a->a);
}

struct rv_session *rv_worker_lookup_dst(const struct rv_worker *w, const struct rv_ip_info *ip)
{
	return rv_worker_lookup_addr(w, &ip->dst);
}

/* tx_push queues one inner packet in class |cls|: |len| bytes at |pkt|
 * (header room in front) followed by |extra_len| bytes at |extra| (NULL:
 * none), sealed into the space behind pkt + len with header flags |flags|. */
static void tx_push(struct rv_worker *w, unsigned cls, uint8_t *pkt, uint32_t len, uint32_t handle,
		    struct rv_session *s, const uint8_t *extra, uint32_t extra_len, uint8_t flags)
{
	struct rv_txq *q = &w->txq[cls];

	if (q->n == q->cap) {
		/* Small packets first, also when the bulk class fills. */
		rv_worker_flush_tx(w, Q_PRIO);
		if (cls == Q_BULK) {
			rv_worker_flush_tx(w, Q_BULK);
		}
	}
	q->it[q->n++] = (struct rv_tx_item){
		.buf = pkt - RV_DATA_HDR_LEN,
		.len = len,
		.handle = handle,
		.s = s,
		.extra = extra,
		.extra_len = extra_len,
		.flags = flags,
		.ecn = w->ecn && len != 0 ? rv_ip_ecn(pkt) : 0, /* 0: a keepalive's echo */
	};
}

/* tx_add validates one inner packet at |pkt| (RV_DATA_HDR_LEN of headroom
 * in front, RV_TAG_LEN of tailroom behind) and queues it for its session. */
static void tx_add(struct rv_worker *w, uint8_t *pkt, uint32_t len, uint32_t handle)
{
	enum rv_drop_reason why;
	struct rv_ip_info ip;
	struct rv_session *s;
	uint8_t flags = 0;
	unsigned cls;

	if (unlikely(rv_ip_parse(&ip, pkt, len) != RV_IP_OK)) {
		drop(w, handle, RV_DROP_BAD_INNER);
		return;
	}
	if (unlikely(ip.total_len > w->mtu)) {
		drop(w, handle, RV_DROP_TOO_BIG);
		return;
	}
	why = rv_worker_not_carried(pkt, len, &ip);
	if (unlikely(why != RV_DROP_MAX)) {
		drop(w, handle, why);
		return;
	}
	s = rv_worker_lookup_dst(w, &ip);
	if (unlikely(s == NULL)) {
		rv_worker_no_route(w, pkt, len, handle, &ip);
		return;
	}
	len = ip.total_len;
	/* A TUN buffer has the room of a full packet. */
	cls = rv_worker_tx_class(w, pkt, &len, w->mtu, &ip, s, &flags);
	tx_push(w, cls, pkt, len, handle, s, NULL, 0, flags);
}

/* A flow's small packets are a flood when they outrun SMALL_RATE_NS each
 * (25,600 a second) by more than SMALL_BURST of them: its packets go
 * unflagged for SMALL_FLOOD_HOLD_NS after (small_flag). A stream of small
 * packets of a few Mbit/s (a call: 4,000-13,000 a second of 64 bytes) is
 * not, also when its worker, held off the CPU for up to 40 ms, reads them
 * at once: counted in windows of 10 ms by the turn that read them, a
 * 13,000 a second stream beside two busy processes was taken for a flood
 * every few hundred ms and reordered at each turn of its flag (3.8-7.4 %
 * of it: round-seventy-one tester 327). */
#define SMALL_RATE_NS (RV_NSEC_PER_SEC / 25600)
#define SMALL_BURST 512
#define SMALL_FLOOD_HOLD_NS (100 * RV_NSEC_PER_MSEC)

/* small_flag returns the header flags of a small-class packet of flow
 * |flow| (rv_flow_bit's bit number) for session |s|: RV_DATA_F_SMALL where
 * the peer takes it (core/wire.h), so that its socket steering keeps a
 * flow of them together when a send merges several (round-sixty-nine
 * tester 310), unless the flow floods: flagged, one client's 64-byte flood
 * filled the receiver's small socket, which other sessions' pings share
 * (11.8 % of them lost, none before: round-seventy testers 323, 325);
 * unflagged, its trains go to the bulk lane by their length, as before.
 * Counted per flow, not per session: a download's ACKs are a flood of
 * their own beside a call in the same session (tester 326). Per worker: a
 * flow's small packets leave through one. The rate is a GCRA (one time a
 * flow: how far its packets have used up the rate, at most the burst
 * ahead of now), on the turn's monotonic clock (mono_now_ns, read once a
 * turn): the realtime clock stepped back 60 s held a flow unflagged for
 * the 60 s (tester 327). */
static uint8_t small_flag(struct rv_worker *w, unsigned flow, const struct rv_session *s)
{
	uint8_t f = rv_session_small_flag(s);
	uint64_t now = w->mono_now_ns;
	uint64_t tat;

	if (f == 0) {
		return 0;
	}
	tat = w->small_tat[flow] > now ? w->small_tat[flow] : now;
	tat += SMALL_RATE_NS;
	if (tat - now > (uint64_t)SMALL_BURST * SMALL_RATE_NS) {
		w->small_flood_until[flow] = now + SMALL_FLOOD_HOLD_NS;
		tat = now + (uint64_t)SMALL_BURST * SMALL_RATE_NS;
	}
	w->small_tat[flow] = tat;
	return now < w->small_flood_until[flow] ? 0 : f;
}

unsigned rv_worker_tx_class(struct rv_worker *w, uint8_t *pkt, uint32_t *len, uint32_t room,
			    const struct rv_ip_info *ip, const struct rv_session *s, uint8_t *flags)
{
	uint64_t bit;

	if (unlikely(rv_ip_fragment(pkt, ip))) {
		/* A fragment keeps its datagram's order: the receiver's kernel
		 * drops an IPv4 datagram whose fragments come too far apart
		 * (ipfrag_max_dist: 25 of 39,360 3000-byte datagrams arrived
		 * in bursts). A small one is padded past the small class (the
		 * receiver trims to the IP length), so that a server's socket
		 * for small datagrams does not take it either. Only within
		 * |room|: a forwarded packet lies in its datagram, which the
		 * next one of a GRO batch follows (a ringvpn peer pads such a
		 * fragment itself; an unpadded one had the bytes behind it
		 * zeroed, past the buffer's end at a batch's last). */
		if (*len <= RV_PRIO_MAX_LEN && room > RV_PRIO_MAX_LEN) {
			memset(pkt + *len, 0, RV_PRIO_MAX_LEN + 1 - *len);
			*len = RV_PRIO_MAX_LEN + 1;
		}
		return Q_BULK;
	}
	bit = rv_flow_bit(pkt, *len, ip);
	if (*len <= RV_PRIO_MAX_LEN && !(w->bulk_flows & bit)) {
		*flags |= small_flag(w, (unsigned)__builtin_ctzll(bit), s);
		return Q_PRIO;
	}
	w->bulk_flows |= bit;
	return Q_BULK;
}

void rv_worker_forward(struct rv_worker *w, unsigned cls, uint8_t *pkt, uint32_t len,
		       uint32_t handle, struct rv_session *to, uint8_t flags)
{
	tx_push(w, cls, pkt, len, handle, to, NULL, 0, flags);
}

/* tx_chunk: the start of send chunk |id| (POOL_TX). */
static uint8_t *tx_chunk(const struct rv_worker *w, unsigned id)
{
	return w->tx_base + (size_t)id * w->tx_buf_size;
}

bool rv_worker_icmp_error(struct rv_worker *w, const uint8_t *pkt, const struct rv_ip_info *ip,
			  struct rv_session *from, enum rv_icmp_kind kind, uint32_t ptr)
{
	static const enum rv_counter ctr[] = {
		[RV_ICMP_UNREACH] = RV_CTR_ICMP_UNREACH,
		[RV_ICMP_TIME_EXCEEDED] = RV_CTR_ICMP_TIME_EXCEEDED,
		[RV_ICMP_PARAM_PROBLEM] = RV_CTR_ICMP_PARAM_PROBLEM,
		[RV_ICMP_PARAM_PROBLEM_OPTION] = RV_CTR_ICMP_PARAM_PROBLEM,
	};
	bool unreach = kind == RV_ICMP_UNREACH;
	struct rv_ip_addr self;
	/* Within the tunnel's MTU: a client's may be below IPv6's 1280,
	 * which the quote would fill (round-twenty-seven tester 131). */
	size_t room = w->mtu > RV_ICMP_HDR_MAX ? w->mtu - RV_ICMP_HDR_MAX : 0;
	size_t len = ip->total_len < room ? ip->total_len : room;
	size_t h, quote;
	uint8_t *cur;
	unsigned id;

	/* Without TUN offloads the worker has no send chunks: no answer. */
	if (w->tx_nfree == 0 ||
	    (!unreach && !rv_dataplane_pool_self(w->dp, ip->src.family, &self))) {
		return false;
	}
	id = w->tx_free[w->tx_nfree - 1];
	cur = tx_chunk(w, id) + RV_DATA_HDR_LEN;
	/* Unreachable from the address itself, as no_route answers. */
	h = rv_icmp_error(cur, kind, ptr, unreach ? &ip->dst : &self, pkt, len, ip, &quote);
	/* A packet that gets no answer (an ICMP error itself) spends no token. */
	if (h == 0 || !icmp_token(w, &ip->src)) {
		return false;
	}
	w->tx_nfree--;
	w->tx_refs[id] = 1;
	memcpy(cur + h, pkt, quote);
	tx_push(w, Q_PRIO, cur, (uint32_t)(h + quote), rv_handle(POOL_TX, id), from, NULL, 0, 0);
	rv_ctr_add(&w->ctr, ctr[kind], 1);
	return true;
}

/* segs_fitting: how many of |plan|'s segments from |from| on fit a chunk of
 * |size| bytes: all when their whole fits (the common case), else as many
 * full-size ones as fit (only the last segment is short), at least one
 * (the MTU bounds a segment). */
static uint32_t segs_fitting(const struct rv_gso_plan *plan, uint32_t from, size_t size)
{
	uint32_t rest = plan->nseg - from;
	size_t full = (size_t)plan->hlen + plan->mss + RV_DATA_OVERHEAD;
	size_t need = plan->payload - (size_t)from * plan->mss +
		      (size_t)rest * (plan->hlen + RV_DATA_OVERHEAD);

	if (need <= size) {
		return rest;
	}
	return size / full > 1 ? (uint32_t)(size / full) : 1;
}

/* tx_superframe cuts a TUN superframe into segments without copying its
 * payload: each segment's headers are built in a POOL_TX chunk and its
 * payload is sealed out of the superframe into the chunk behind them, so the
 * superframe's TUN buffer is held until this turn's seal (tx_holds). A
 * superframe whose segments' headers do not all fit one chunk (IPv6
 * extension headers of hundreds of bytes on each of 128 segments) takes
 * several: each was dropped, and such a TCP flow ran 20-50 times slower. */
static void tx_superframe(struct rv_worker *w, uint8_t *pkt, uint32_t len, uint32_t handle,
			  const struct rv_vnet_hdr *vh)
{
	struct rv_gso_plan plan;
	struct rv_ip_info ip;
	struct rv_session *s;
	enum rv_gso_err err;
	enum rv_drop_reason why;
	uint8_t *cur = NULL, flags;
	uint32_t left = 0;
	unsigned id = 0, pad;

	err = rv_gso_plan_init(&plan, pkt, len, vh);
	if (unlikely(err != RV_GSO_OK || rv_ip_parse(&ip, pkt, len) != RV_IP_OK)) {
		rv_warnx_rl("worker %u: malformed TUN superframe (%u bytes, gso_type %u, gso_size "
			    "%u): %s",
			    w->id, len, vh->gso_type, vh->gso_size,
			    err != RV_GSO_OK ? rv_gso_err_str(err) : "bad IP header");
		drop(w, handle, RV_DROP_BAD_VNET);
		return;
	}
	if (unlikely((size_t)plan.hlen + (plan.nseg > 1 ? plan.mss : plan.payload) > w->mtu)) {
		rv_warnx_rl("worker %u: TUN superframe with segments of %u bytes, above the tunnel "
			    "MTU %u: dropped",
			    w->id, plan.hlen + (plan.nseg > 1 ? plan.mss : plan.payload), w->mtu);
		rv_drop_add(&w->ctr, RV_DROP_TOO_BIG, plan.nseg);
		rv_worker_release(w, handle);
		return;
	}
	/* As single packets are (tx_add): a USO send to a broadcast,
	 * multicast or link-local address, or from a link-local one, stays
	 * on the link. */
	why = rv_worker_not_carried(pkt, len, &ip);
	if (unlikely(why != RV_DROP_MAX)) {
		rv_drop_add(&w->ctr, why, plan.nseg);
		rv_worker_release(w, handle);
		return;
	}
	s = rv_worker_lookup_dst(w, &ip);
	if (unlikely(s == NULL)) {
		/* One answer for the superframe, as for its first segment. */
		rv_drop_add(&w->ctr, RV_DROP_NO_ROUTE, plan.nseg - 1);
		rv_worker_no_route(w, pkt, len, handle, &ip);
		return;
	}
	if (unlikely(w->tx_nfree == 0)) {
		rv_drop_add(&w->ctr, RV_DROP_NO_BUF, plan.nseg);
		rv_worker_release(w, handle);
		return;
	}
	w->bulk_flows |= rv_flow_bit(pkt, len, &ip);
	/* A peer that takes partial checksums gets each segment's checksum
	 * as the kernel handed it over, unfinished: the one pass over the
	 * payload left is the seal's. The peer finds the L4 header behind
	 * the IP header, so an IPv6 extension header gets a full checksum. */
	flags = rv_session_csum_partial(s) && plan.l4_off == plan.l3_hlen ? RV_DATA_F_CSUM_PARTIAL
									  : 0;
	/* The in-buffer part is padded with the first payload bytes to a
	 * multiple of the AES block: the payload slice then starts on a block
	 * boundary of the GCM stream, which spares BoringSSL a byte-wise
	 * partial block and one single-block AES call per segment. */
	pad = (16 - plan.hlen % 16) % 16;
	for (uint32_t i = 0; i < plan.nseg; i++) {
		uint32_t chunk = rv_gso_seg_payload_len(&plan, i);
		uint32_t head = pad < chunk ? pad : chunk;
		const uint8_t *pay = pkt + plan.hlen + (size_t)i * plan.mss;
		uint8_t *seg;

		if (left == 0) {
			/* A new chunk, its count of segments set before any
			 * is queued: a flush in tx_push may drop (release)
			 * some of them at once. */
			if (unlikely(w->tx_nfree == 0)) {
				rv_drop_add(&w->ctr, RV_DROP_NO_BUF, plan.nseg - i);
				break;
			}
			id = w->tx_free[--w->tx_nfree];
			left = segs_fitting(&plan, i, w->tx_buf_size);
			w->tx_refs[id] = (uint16_t)left;
			cur = tx_chunk(w, id);
		}
		left--;
		seg = cur + RV_DATA_HDR_LEN;
		if (flags != 0) {
			rv_gso_seg_hdrs_partial(&plan, i, seg, pkt);
		} else {
			rv_gso_seg_hdrs(&plan, i, seg, pkt);
		}
		memcpy(seg + plan.hlen, pay, head);
		tx_push(w, Q_BULK, seg, plan.hlen + head, rv_handle(POOL_TX, id), s, pay + head,
			chunk - head, flags);
		cur = seg + plan.hlen + chunk + RV_TAG_LEN;
	}
	w->tx_holds[w->ntx_holds++] = handle;
}

void rv_worker_tun_read(struct rv_worker *w, unsigned bid, uint32_t len)
{
	uint8_t *pkt = rv_bufring_buf(&w->tunrd, bid) + RV_DATA_HDR_LEN;
	uint32_t handle = rv_handle(POOL_TUNRD, bid);
	struct rv_vnet_hdr vh;

	rv_ctr_add(&w->ctr, RV_CTR_TUN_READS, 1);
	if (!w->vnet) {
		tx_add(w, pkt, len, handle);
		return;
	}
	if (unlikely(!rv_vnet_hdr_parse(&vh, pkt - RV_VNET_HDR_LEN, len))) {
		drop(w, handle, RV_DROP_BAD_VNET);
		return;
	}
	len -= RV_VNET_HDR_LEN;
	if (vh.gso_type == RV_VNET_GSO_NONE) {
		if (unlikely(rv_gso_finish_csum(pkt, len, &vh) != RV_GSO_OK)) {
			drop(w, handle, RV_DROP_BAD_VNET);
			return;
		}
		tx_add(w, pkt, len, handle);
		return;
	}
	tx_superframe(w, pkt, len, handle, &vh);
}

/* drop_range drops it[from, to), packets of one session: counted to the
 * worker and to the session, and, once |sealed| (w->pkts holds their
 * datagrams), taken back from the session's tx counters, which the seal
 * counted: they said sent what never left (a tester). */
static void drop_range(struct rv_worker *w, const struct rv_tx_item *it, unsigned from, unsigned to,
		       enum rv_drop_reason why, bool sealed)
{
	uint64_t pkts = 0, bytes = 0;

	for (unsigned k = from; k < to; k++) {
		rv_worker_release(w, it[k].handle);
		if (sealed) {
			pkts += w->pkts[k].len != RV_DATA_OVERHEAD;
			bytes += w->pkts[k].len - RV_DATA_OVERHEAD;
		}
	}
	rv_drop_add(&w->ctr, why, to - from);
	if (to > from && it[from].s != NULL) {
		rv_session_count_drop(it[from].s, why, to - from);
		rv_session_uncount_tx(it[from].s, pkts, bytes);
	}
}

/* send_failed counts |n| datagrams of |sl| that the kernel refused, |pkts|
 * and |bytes| of them inner: to the worker and, if it is still there, to
 * the slot's session. Returns how a log line names the peer. */
static const char *send_failed(struct rv_worker *w, const struct rv_send_slot *sl, unsigned n,
			       uint64_t pkts, uint64_t bytes)
{
	struct rv_session *s = rv_demux_by_index(w->dp->cfg.demux, sl->sess_index);

	rv_drop_add(&w->ctr, RV_DROP_UDP_SEND, n);
	if (s == NULL) {
		return "a session gone since";
	}
	rv_session_count_drop(s, RV_DROP_UDP_SEND, n);
	rv_session_uncount_tx(s, pkts, bytes);
	return rv_session_peer_name(s);
}

/* rv_worker_say_refusal says a line of the worker's refused sends
 * (core/refusals.h), in the worker's words. */
void rv_worker_say_refusal(void *arg, const struct rv_refusal_line *l)
{
	static const char *const ends[] = {
		[RV_REFUSAL_OTHER_REASON] = "are refused for another reason now",
		[RV_REFUSAL_PASSED] = "pass again",
		[RV_REFUSAL_QUIET] = "saw no refusal for 5 s (its session may be gone)",
		[RV_REFUSAL_STOPPING] = "are no longer tried (the worker stops)",
	};
	const struct rv_worker *w = arg;

	switch (l->kind) {
	case RV_REFUSAL_BEGINS:
		rv_warnx("worker %u: %" PRIu64 " datagram(s) to %s (session %08x)%s refused: %s "
			 "(those after them, until a send passes, are counted and said at its end)",
			 w->id, l->n, l->who, l->sess, l->how, strerror(l->err));
		break;
	case RV_REFUSAL_ENDS:
		rv_info("worker %u: UDP sends to session %08x %s; %" PRIu64 " %sdatagram(s) were "
			"refused (%s) over %.1f s",
			w->id, l->sess, ends[l->why], l->n, l->unsaid ? "" : "more ",
			strerror(l->err), (double)l->lasted_ns / 1e9);
		break;
	case RV_REFUSAL_SPILL_BEGINS:
		rv_warnx("worker %u: UDP sends to more than %d sessions are refused at once (%s, "
			 "to %s first): those past %d are counted together and said when none "
			 "has been refused for 5 s",
			 w->id, RV_REFUSAL_SPELLS, strerror(l->err), l->who, RV_REFUSAL_SPELLS);
		break;
	case RV_REFUSAL_SPILL_ENDS:
		rv_info("worker %u: %" PRIu64 " datagram(s) to sessions past the %d followed "
			"were refused over %.1f s%s",
			w->id, l->n, RV_REFUSAL_SPELLS, (double)l->lasted_ns / 1e9,
			l->why == RV_REFUSAL_STOPPING ? " (the worker stops)" : "; none for 5 s");
		break;
	case RV_REFUSAL_HELD:
		rv_info("worker %u: %" PRIu64 " datagram(s) were refused in %u spell(s) whose "
			"lines were held back (at most %d lines at once, then one a second)",
			w->id, l->n, l->spells, RV_RATELIMIT_BURST);
		break;
	}
}

/* zc_region returns the registered pool that holds every iovec, or -1. */
static int zc_region(const struct rv_worker *w, const struct iovec *iov, unsigned niov)
{
	for (unsigned r = 0; r < w->zc_nregions; r++) {
		const uint8_t *lo = w->zc_regions[r].iov_base;
		const uint8_t *hi = lo + w->zc_regions[r].iov_len;
		unsigned k = 0;

		while (k < niov && (const uint8_t *)iov[k].iov_base >= lo &&
		       (const uint8_t *)iov[k].iov_base + iov[k].iov_len <= hi) {
			k++;
		}
		if (k == niov) {
			return (int)r;
		}
	}
	return -1;
}

/* prep_send fills |sqe| with |sl|'s datagrams: zero-copy when sl->zc (from
 * the registered pool its buffers lie in, if any), else a plain sendmsg. */
static void prep_send(struct rv_worker *w, struct io_uring_sqe *sqe, unsigned slot,
		      struct rv_send_slot *sl)
{
	sl->zc_fixed = false;
	if (sl->zc) {
		int region = w->zc_fixed ? zc_region(w, sl->iov, (unsigned)sl->msg.msg_iovlen) : -1;

		io_uring_prep_sendmsg_zc(sqe, w->sqe_udp, &sl->msg, 0);
		sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
		if (region >= 0) {
			sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
			sqe->buf_index = (uint16_t)region;
			sl->zc_fixed = true;
		}
	} else {
		io_uring_prep_sendmsg(sqe, w->sqe_udp, &sl->msg, 0);
	}
	sqe->flags |= w->sqe_fd_flags;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_UDP_SEND, (uint8_t)w->id, slot));
}

/* send_run queues one sendmsg for it[from, from+m) (sealed, equal sizes but
 * a shorter last one) to |dst|, from |src| (see rv_cmsg_put_send). */
static void send_run(struct rv_worker *w, const struct rv_tx_item *it, unsigned from, unsigned m,
		     const struct sockaddr_in6 *dst, socklen_t dst_len, const struct in6_addr *src)
{
	struct rv_send_slot *sl;
	struct io_uring_sqe *sqe;
	unsigned slot, niov;

	if (unlikely(w->send_nfree == 0)) {
		drop_range(w, it, from, from + m, RV_DROP_NO_BUF, true);
		return;
	}
	sqe = rv_ring_get_sqe(&w->ring);
	if (unlikely(sqe == NULL)) {
		drop_range(w, it, from, from + m, RV_DROP_NO_BUF, true);
		return;
	}
	slot = w->send_free[--w->send_nfree];
	sl = &w->send_slots[slot];
	sl->dst = *dst;
	sl->src = *src;
	sl->num = (uint16_t)m;
	sl->sess_index = rv_session_local_index(it[from].s);
	sl->pkts = 0;
	sl->inner_bytes = 0;
	/* Segments cut from one superframe lie back to back in their chunk:
	 * adjacent datagrams merge into one iovec. */
	niov = 0;
	for (unsigned k = 0; k < m; k++) {
		const struct rv_pkt *p = &w->pkts[from + k];
		if (niov > 0 &&
		    (uint8_t *)sl->iov[niov - 1].iov_base + sl->iov[niov - 1].iov_len == p->buf) {
			sl->iov[niov - 1].iov_len += p->len;
		} else {
			sl->iov[niov].iov_base = p->buf;
			sl->iov[niov].iov_len = p->len;
			niov++;
		}
		sl->handles[k] = it[from + k].handle;
		sl->inner_bytes += p->len - RV_DATA_OVERHEAD;
		sl->pkts += p->len != RV_DATA_OVERHEAD;
	}
	memset(&sl->msg, 0, sizeof(sl->msg));
	sl->msg.msg_name = &sl->dst;
	sl->msg.msg_namelen = dst_len;
	sl->msg.msg_iov = sl->iov;
	sl->msg.msg_iovlen = niov;
	sl->gso = m > 1;
	sl->seg = (uint16_t)w->pkts[from].len;
	sl->ecn = it[from].ecn;
	rv_cmsg_put_send(&sl->msg, sl->cmsg.buf, sl->gso ? sl->seg : 0, sl->ecn, dst, src);
	sl->zc = w->zc;
	sl->wait_notif = false;
	sl->resend = false;
	sl->zc_err = sl->src_err = 0;
	sl->zc_failed = false;
	prep_send(w, sqe, slot, sl);
	w->sends_inflight++;
	w->tx_turn_bytes += sl->inner_bytes;
}

/* A zero-copy send pins its pages as skb fragments: at most RV_ZC_MAX_PAGES
 * of them (MAX_SKB_FRAGS is 17), else the kernel answers EMSGSIZE. struct
 * zc_span counts the pages a run's iovecs (adjacent packets merged, as in
 * send_run) touch. */
struct zc_span {
	const uint8_t *start, *end; /* the open iovec */
	unsigned closed_pages;	    /* pages of the iovecs before it */
};

static unsigned pages_of(const uint8_t *a, const uint8_t *b)
{
	return (unsigned)(((uintptr_t)b - 1) / 4096 - (uintptr_t)a / 4096 + 1);
}

static void zc_span_init(struct zc_span *z, const struct rv_pkt *p)
{
	z->start = p->buf;
	z->end = p->buf + p->len;
	z->closed_pages = 0;
}

/* GSO_REFUSAL_NS: how long a destination whose route refused a GSO send
 * gets its larger datagrams one send each. Sent as GSO again, they would be
 * refused and sent one by one when the refusal completes, after the sends
 * submitted behind them: reordered. */
#define GSO_REFUSAL_NS (10 * RV_NSEC_PER_SEC)

/* zc_span_add adds |p| unless the run would then span too many pages. */
static bool zc_span_add(struct zc_span *z, const struct rv_pkt *p)
{
	struct zc_span n = *z;

	if (p->buf == n.end) {
		n.end += p->len;
	} else {
		n.closed_pages += pages_of(n.start, n.end);
		n.start = p->buf;
		n.end = p->buf + p->len;
	}
	if (n.closed_pages + pages_of(n.start, n.end) > RV_ZC_MAX_PAGES) {
		return false;
	}
	*z = n;
	return true;
}

/* seal_send seals it[from, to), packets of one session, and sends them to
 * |ep|, the session's endpoint. */
static void seal_send(struct rv_worker *w, const struct rv_tx_item *it, unsigned from, unsigned to,
		      uint64_t now, const struct rv_endpoint *ep)
{
	struct rv_session *s = it[from].s;
	unsigned n = to - from;
	enum rv_session_result r;
	enum rv_drop_reason why;
	struct sockaddr_in6 dst;
	socklen_t dst_len;

	if (n == 0) {
		return;
	}
	for (unsigned k = from; k < to; k++) {
		w->pkts[k] =
			(struct rv_pkt){ .buf = it[k].buf, .len = it[k].len, .flags = it[k].flags };
		w->exts[k] = (struct rv_pkt_extra){ .p = it[k].extra, .len = it[k].extra_len };
	}
	r = rv_session_seal_batch_ext(s, &w->pkts[from], &w->exts[from], n, now);
	if (unlikely(rv_session_drop_reason(r, &why))) {
		/* Not a datagram that failed to open, which no_key counts:
		 * ours, before the session's first key is in (a round trip
		 * of the control channel after the session is; round-forty-
		 * seven tester 214). */
		drop_range(w, it, from, to, why == RV_DROP_NO_KEY ? RV_DROP_TX_NO_KEY : why, false);
		return;
	}
	/* REKEY_SOON: the session's flag is set; wake the control thread,
	 * which reads it (rv_session_take_rekey_request). Once per epoch. */
	if (unlikely(r == RV_SESSION_REKEY_SOON)) {
		rv_dataplane_note_rekey(w->dp);
	}
	dst_len = rv_sock_dest(&dst, ep, w->udp_v6);
	if (unlikely(dst_len == 0)) {
		drop_range(w, it, from, to, RV_DROP_NO_ENDPOINT, true);
		return;
	}
	for (unsigned k = from; k < to;) {
		uint32_t size = w->pkts[k].len, bytes = size;
		unsigned m = 1;
		struct zc_span zs;

		zc_span_init(&zs, &w->pkts[k]);
		if (w->gso && !rv_gso_refused(&w->gso_refusals, &dst, size, now)) {
			while (k + m < to && m < RV_SEND_MAX_SEGS) {
				uint32_t l = w->pkts[k + m].len;
				/* One send, one outer header: one ECN field. */
				if (l > size || bytes + l > RV_SEND_MAX_BYTES ||
				    it[k + m].ecn != it[k].ecn ||
				    (w->zc && !zc_span_add(&zs, &w->pkts[k + m]))) {
					break;
				}
				m++;
				bytes += l;
				if (l < size) {
					break;
				}
			}
		}
		send_run(w, it, k, m, &dst, dst_len, &ep->local);
		k += m;
	}
}

static uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* own_datagram: is the inner packet of |it| a UDP datagram from our data
 * port |sport| to |to| port |port|, the session's own endpoint (|to| NULL:
 * to anywhere)? Such a packet is one of ours that the host routed back
 * into the TUN. Sealed again, it would go round once more, a little longer
 * each time, until too big for the MTU: one packet made some twenty, and a
 * stream kept a core busy. Another socket's datagram to that address and
 * port (a VPN inside the tunnel to the same server) is no loop, and goes
 * (it was dropped: round-thirty-two tester 167). A non-first fragment
 * carries no port and goes once: its first was dropped here. */
static bool own_datagram(const struct rv_tx_item *it, uint16_t sport, const struct rv_ip_addr *to,
			 uint16_t port)
{
	const uint8_t *p = it->buf + RV_DATA_HDR_LEN;
	uint32_t len = it->len;
	size_t l4;

	if (len < 28) {
		return false;
	}
	if (p[0] >> 4 == 4) {
		if ((to && (to->family != AF_INET || memcmp(p + 16, to->a, 4) != 0)) ||
		    p[9] != IPPROTO_UDP || rv_ip_v4_later_fragment(p)) {
			return false;
		}
		l4 = (p[0] & 15) * 4u;
	} else if (len < 48 || (to && (to->family != AF_INET6 || memcmp(p + 24, to->a, 16) != 0)) ||
		   rv_ip6_upper(p, len, &l4) != IPPROTO_UDP) {
		return false;
	}
	return len >= l4 + 4 && load_be16(p + l4) == sport &&
	       (!to || load_be16(p + l4 + 2) == port);
}

/* source_carried: does a session carry the inner packet's source address,
 * and the host not hold it (a host inside the tunnel, not this one)? The
 * server's own address inside a network behind a client is its own: its
 * datagrams from there went round (round-thirty-seven tester 188). */
static bool source_carried(const struct rv_worker *w, const struct rv_tx_item *it)
{
	const uint8_t *p = it->buf + RV_DATA_HDR_LEN;
	struct rv_ip_addr src = { 0 };

	if (p[0] >> 4 == 4) {
		src.family = AF_INET;
		memcpy(src.a, p + 12, 4);
	} else {
		src.family = AF_INET6;
		memcpy(src.a, p + 8, 16);
	}
	/* (an overflowed table's unknown taken for the host's: a drop
	 * rather than a loop) */
	return rv_worker_addr_inside(w, &src, true);
}

/* seal_run seals and sends it[from, to), packets of one session, but for
 * those that would loop: dropped as `loop`, and said. One of ours to the
 * session's own endpoint loops (own_datagram); so does one of ours to
 * anywhere when that endpoint itself lies inside the tunnel (a session
 * carries its address): it comes back sealed, to be sealed again. A host
 * of a site that is a client itself is served through its site's session
 * (round-thirty-six tester 179), but only where that session's own
 * endpoint is outside: two site clients whose endpoints lay in each
 * other's networks sent every datagram round between them for ever, a
 * core spent (tester 183). */
static void seal_run(struct rv_worker *w, const struct rv_tx_item *it, unsigned from, unsigned to,
		     uint64_t now)
{
	struct rv_session *s = it[from].s;
	struct rv_endpoint ep;
	struct rv_ip_addr to_addr;
	uint16_t port;
	unsigned start = from;
	int inside = -1; /* does a session carry the endpoint? (-1: not asked yet) */
	char ep_str[64];

	rv_session_get_endpoint(s, &ep);
	rv_endpoint_addr(&ep, &to_addr);
	port = ntohs(ep.sa.sa_family == AF_INET ? ep.in4.sin_port : ep.in6.sin6_port);
	for (unsigned k = from; to_addr.family != 0 && k < to; k++) {
		bool to_own;

		/* Only a datagram of ours asks more: the common packet costs a
		 * header look, and no lookup. */
		if (likely(!own_datagram(&it[k], w->dp->port, NULL, 0))) {
			continue;
		}
		to_own = own_datagram(&it[k], w->dp->port, &to_addr, port);
		/* A client sends to its server alone, and a datagram from a
		 * host inside the tunnel (a session carries its source) is
		 * another host's whatever its port: forwarded UDP of a LAN
		 * from the data port's number was dropped (round-thirty-seven
		 * tester 187). */
		if (!to_own && (!w->pktinfo || source_carried(w, &it[k]))) {
			continue;
		}
		if (!to_own && inside < 0) {
			/* (an overflowed table's unknown taken for not the
			 * host's: a drop rather than a loop) */
			inside = rv_worker_addr_inside(w, &to_addr, false);
		}
		if (!to_own && inside <= 0) {
			continue; /* to a host of a site, its session's endpoint outside */
		}
		seal_send(w, it, start, k, now, &ep);
		drop_range(w, it, k, k + 1, RV_DROP_LOOP, false);
		start = k + 1;
		if (!to_own) {
			rv_warnx_rl("worker %u: a datagram of ours came back through the TUN to go "
				    "into %s's session, whose own endpoint %s lies inside the "
				    "tunnel: "
				    "dropped as a routing loop",
				    w->id, rv_session_peer_name(s),
				    rv_endpoint_str(&ep, ep_str, sizeof(ep_str)));
		} else {
			rv_warnx_rl(
				"worker %u: a datagram of ours to %s came back through the TUN: "
				"dropped as a routing loop (the host routes %s into the tunnel)",
				w->id, rv_session_peer_name(s),
				rv_endpoint_str(&ep, ep_str, sizeof(ep_str)));
		}
	}
	seal_send(w, it, start, to, now, &ep);
}

void rv_worker_flush_tx(struct rv_worker *w, unsigned cls)
{
	struct rv_txq *q = &w->txq[cls];

	if (q->n != 0) {
		uint64_t now = rv_coarse_now_ns();

		for (unsigned i = 0, j; i < q->n; i = j) {
			j = RV_RUN_END(q, i);
			seal_run(w, q->it, i, j, now);
		}
		q->n = 0;
	}
	if (cls != Q_BULK) {
		return;
	}
	/* Every segment cut from these superframes is sealed (or dropped):
	 * their TUN buffers can go back to the kernel. */
	for (unsigned i = 0; i < w->ntx_holds; i++) {
		rv_worker_release(w, w->tx_holds[i]);
	}
	w->ntx_holds = 0;
	w->bulk_flows = 0;
}

/* zc_notified handles a zero-copy notification: whether the kernel copied,
 * and auto mode's decision that zero-copy is not worth it on this path. */
static void zc_notified(struct rv_worker *w, int res)
{
	if (!((unsigned)res & IORING_NOTIF_USAGE_ZC_COPIED)) {
		w->zc_copied_run = 0;
		return;
	}
	rv_ctr_add(&w->ctr, RV_CTR_ZC_COPIED, 1);
	if (++w->zc_copied_run >= 64 && w->zc_mode == RV_CONFIG_ZC_AUTO && w->zc) {
		w->zc = false;
		rv_info("worker %u: the kernel copies zero-copy sends anyway (local delivery: veth "
			"or loopback); plain sends from now on",
			w->id);
	}
}

/* zc_refused handles a zero-copy send the kernel would not take, |fixed|
 * whether it was from registered buffers (a step back: without them). */
static void zc_refused(struct rv_worker *w, bool fixed, int res)
{
	if (fixed && w->zc_fixed) {
		w->zc_fixed = false;
		rv_warn(res, "worker %u: SENDMSG_ZC from registered buffers refused; without them",
			w->id);
	} else if (w->zc) {
		w->zc = false;
		rv_warn(res, "worker %u: SENDMSG_ZC refused; plain sends", w->id);
	}
}

/* resend_plain sends a refused zero-copy send's datagrams again as a plain
 * sendmsg from the same slot, once the kernel holds none of its pages (its
 * notification has come, or none will). Returns false when no SQE is free. */
static bool resend_plain(struct rv_worker *w, unsigned slot, struct rv_send_slot *sl)
{
	struct io_uring_sqe *sqe = rv_ring_get_sqe(&w->ring);

	if (sqe == NULL) {
		return false;
	}
	sl->zc = false;
	prep_send(w, sqe, slot, sl);
	return true;
}

/* send_each sends a GSO send's datagrams one by one, now, after the kernel
 * refused them as one with |cause|. EMSGSIZE: a segment does not fit the
 * route's MTU (a path MTU below the tunnel's, learnt from an ICMP
 * "fragmentation needed", or a smaller link); alone, a datagram too large
 * for the path is fragmented by the kernel instead of refused, and a
 * warning says to lower the mtu. Later runs of that size to that
 * destination go out without GSO for GSO_REFUSAL_NS (rv_gso_refused): only
 * the sends already in flight arrive out of order. Another cause: the
 * datagrams alone tell whether the device refused GSO or the way to the
 * peer refuses any send. An exception, not the packet path: one
 * non-blocking sendmsg per datagram. Datagrams lie whole inside the slot's
 * iovecs (only whole ones are merged), |sl->seg| bytes each but the run's
 * last. Returns how many went out; those refused are counted and said as
 * the slot's session's refusals. */
static uint64_t send_each(struct rv_worker *w, struct rv_send_slot *sl, int cause)
{
	uint64_t sent = 0, pkts = 0, bytes = 0, lost_pkts = 0, lost_bytes = 0;
	unsigned failed = 0;
	int err = 0;

	for (size_t i = 0; i < sl->msg.msg_iovlen; i++) {
		uint8_t *p = sl->iov[i].iov_base;
		size_t left = sl->iov[i].iov_len;

		while (left > 0) {
			size_t len = left < sl->seg ? left : sl->seg;
			struct iovec iov = { .iov_base = p, .iov_len = len };
			struct msghdr m = {
				.msg_name = &sl->dst,
				.msg_namelen = sl->msg.msg_namelen,
				.msg_iov = &iov,
				.msg_iovlen = 1,
			};

			rv_cmsg_put_send(&m, sl->cmsg.buf, 0, sl->ecn, &sl->dst, &sl->src);

			if (sendmsg(w->udp_fd, &m, MSG_DONTWAIT) == (ssize_t)len) {
				sent++;
				pkts += len != RV_DATA_OVERHEAD;
				bytes += len - RV_DATA_OVERHEAD;
			} else {
				failed++;
				lost_pkts += len != RV_DATA_OVERHEAD;
				lost_bytes += len - RV_DATA_OVERHEAD;
				err = errno;
			}
			p += len;
			left -= len;
		}
	}
	rv_ctr_add(&w->ctr, RV_CTR_TX_PACKETS, pkts);
	rv_ctr_add(&w->ctr, RV_CTR_TX_BYTES, bytes);
	rv_ctr_add(&w->ctr, RV_CTR_UDP_SENDS, sent);
	if (cause == EMSGSIZE) {
		rv_ctr_add(&w->ctr, RV_CTR_GSO_SPLIT, 1);
	}
	if (cause == EMSGSIZE && !w->gso_split_warned) {
		w->gso_split_warned = true;
		rv_warnx("worker %u: UDP send of %u datagrams as one: %s (a path MTU below the "
			 "tunnel's: the outgoing interface's, or over IPv6 one that an ICMPv6 "
			 "\"packet too big\" reported, which anyone can forge down to 1280): such "
			 "sends go out one datagram at a time, for the kernel to fragment (counted "
			 "as gso_split); lower mtu if the path is that narrow",
			 w->id, sl->num, strerror(EMSGSIZE));
	}
	if (failed != 0) {
		const char *who = send_failed(w, sl, failed, lost_pkts, lost_bytes);

		rv_refusals_note(&w->refusals, sl->sess_index, err, failed, rv_coarse_now_ns(), who,
				 ", sent one by one,");
	}
	return sent;
}

/* src_passed says that a send refused from its source address passed from
 * the route's: the address may be ours no longer. */
static void src_passed(struct rv_worker *w, const struct rv_send_slot *sl, int err)
{
	char a[INET6_ADDRSTRLEN];

	/* An IPv4 address as one (round-forty-eight tester 218). */
	if (IN6_IS_ADDR_V4MAPPED(&sl->src_refused)) {
		inet_ntop(AF_INET, &sl->src_refused.s6_addr[12], a, sizeof(a));
	} else {
		inet_ntop(AF_INET6, &sl->src_refused, a, sizeof(a));
	}
	rv_warnx_rl("worker %u: a UDP send from %s refused (%s): it went out from the route's "
		    "source (is the address still ours, and routed?)",
		    w->id, a, strerror(err));
}

void rv_worker_send_done(struct rv_worker *w, unsigned slot, int res, unsigned cqe_flags)
{
	struct rv_send_slot *sl;
	int zc_err, src_err;

	if (unlikely(slot >= w->num_send_slots)) {
		rv_warnx_rl("worker %u: send completion for bad slot %u", w->id, slot);
		return;
	}
	sl = &w->send_slots[slot];
	if (cqe_flags & IORING_CQE_F_NOTIF) {
		/* The kernel is done with the buffers of a zero-copy send. A
		 * refused one's says "copied", zero copy never having been
		 * used: not counted, nor taken for a path that copies (it made
		 * zc_copied exceed zc_sends: tester 245; and one client's
		 * unreachable route turned auto's zero copy off for the
		 * worker: round-sixty tester 247). */
		if (!sl->zc_failed) {
			zc_notified(w, res);
		}
		sl->zc_failed = false;
		goto done;
	}
	/* This result judges what a resend was made to tell (none: 0). */
	zc_err = sl->zc_err;
	src_err = sl->src_err;
	sl->zc_err = sl->src_err = 0;
	sl->zc_failed = res < 0 && sl->zc; /* its notification says nothing */
	if (likely(res >= 0)) {
		if (unlikely(rv_refusals_any(&w->refusals))) {
			rv_refusals_pass(&w->refusals, sl->sess_index, rv_coarse_now_ns());
		}
		if (unlikely(zc_err != 0)) {
			/* Plain passed: zero copy failed. Whether from registered
			 * buffers, the refused send was: the resend's prep_send
			 * cleared it (round-fifty-nine tester 245). */
			zc_refused(w, sl->zc_err_fixed, -zc_err);
		}
		if (unlikely(src_err != 0)) {
			src_passed(w, sl, src_err);
		}
		rv_ctr_add(&w->ctr, RV_CTR_TX_PACKETS, sl->pkts);
		rv_ctr_add(&w->ctr, RV_CTR_TX_BYTES, sl->inner_bytes);
		rv_ctr_add(&w->ctr, RV_CTR_UDP_SENDS, 1);
		if (sl->zc) {
			rv_ctr_add(&w->ctr, RV_CTR_ZC_SENDS, 1);
		}
	} else if (sl->zc && (res == -EINVAL || res == -EOPNOTSUPP || res == -EFAULT ||
			      res == -ENOMEM || res == -ENOBUFS)) {
		/* The kernel would not pin the pages: for good (falls back a
		 * step), or for now (ENOMEM: the locked-memory limit, which
		 * the pages of sends in flight fill until their
		 * notifications come; ENOBUFS: the socket's option memory).
		 * Either way these datagrams go out plain, not lost: at once,
		 * or when the notification that a failed SENDMSG_ZC still
		 * posts (F_MORE) has come. */
		/* Whether zero copy is at fault, the plain send tells: a
		 * blackhole route answers any send EINVAL, and one client's
		 * would turn zero copy off for every session (round-fifty-eight
		 * tester 244). First, from the same source: a refusal of
		 * zero copy was taken for one of the source, resent from the
		 * route's and said so, and zero copy never fell back (tester
		 * 245); a source refused still is the next result's. */
		if (res != -ENOMEM && res != -ENOBUFS) {
			sl->zc_err = (int16_t)-res;
			sl->zc_err_fixed = sl->zc_fixed;
		}
		rv_ctr_add(&w->ctr, RV_CTR_ZC_RESENT, 1);
		sl->resend = true;
	} else if (!IN6_IS_ADDR_UNSPECIFIED(&sl->src) &&
		   (res == -EINVAL || res == -EADDRNOTAVAIL || res == -ENETUNREACH)) {
		/* The address the peer sent to may be ours no longer (a VIP
		 * moved away, a temporary address expired, a rewritten
		 * destination): once more from the route's source, this send
		 * only. Not a refusal of zero copy or GSO, which would change
		 * how the worker sends for every session. Said if it passes
		 * so (src_passed); a way refused from any source (no route, a
		 * blackhole) said a line per datagram here, beside its spell
		 * (round-fifty-eight tester 244). */
		sl->src_refused = sl->src;
		sl->src_err = (int16_t)-res;
		memset(&sl->src, 0, sizeof(sl->src));
		rv_cmsg_put_send(&sl->msg, sl->cmsg.buf, sl->gso ? sl->seg : 0, sl->ecn, &sl->dst,
				 &sl->src);
		sl->resend = true;
	} else if (sl->gso && res == -EMSGSIZE) {
		rv_gso_note_refused(&w->gso_refusals, &sl->dst, sl->seg, rv_coarse_now_ns(),
				    GSO_REFUSAL_NS);
		send_each(w, sl, EMSGSIZE);
	} else if (sl->gso && w->gso && (res == -EIO || res == -EINVAL || res == -EOPNOTSUPP)) {
		/* The route's device may refuse UDP GSO (then off for the
		 * worker), or the way to this peer any send: a blackhole route
		 * answers EINVAL, and one client's turned GSO off for every
		 * session until a restart, its datagrams said in no line
		 * (round-fifty-eight tester 244). Sent alone, they tell. */
		if (send_each(w, sl, -res) != 0) {
			w->gso = false;
			rv_warn(res,
				"worker %u: UDP_SEGMENT send refused while its datagrams pass "
				"alone; disabling UDP GSO",
				w->id);
		}
	} else {
		/* Named, as the session's own drop lines are (a tester). */
		rv_refusals_note(&w->refusals, sl->sess_index, -res, sl->num, rv_coarse_now_ns(),
				 send_failed(w, sl, sl->num, sl->pkts, sl->inner_bytes), "");
	}
	if (cqe_flags & IORING_CQE_F_MORE) {
		sl->wait_notif = true; /* buffers still referenced by the kernel */
		return;
	}
done:
	if (sl->resend) {
		sl->resend = false;
		if (resend_plain(w, slot, sl)) {
			return;
		}
		(void)send_failed(w, sl, sl->num, sl->pkts, sl->inner_bytes);
	}
	for (unsigned k = 0; k < sl->num; k++) {
		rv_worker_release(w, sl->handles[k]);
	}
	w->send_free[w->send_nfree++] = (uint16_t)slot;
	w->sends_inflight--;
}
