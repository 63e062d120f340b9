/*
 * ctlload_data.c — the load generator's UDP data channel (see ctlload.h).
 *
 * One UDP socket serves every slot: the server finds a session by the
 * receiver index in each datagram and learns its endpoint from the first
 * authenticated one, so N sessions may share one source address and port.
 * Keepalives are real data messages (empty, sealed under the session's
 * sending epoch by core/session.h), sent when the client state machine asks
 * through its send_keepalive upcall — the first right after epoch 1, so the
 * server learns the endpoint, then every keepalive interval from CONFIG.
 *
 * Everything the server sends is opened, so a key the server uses and the
 * client lacks shows up as a failed open (udp_bad). The probe sends ICMP echo
 * requests through one session to the server's tunnel address (the first
 * host of the pool the session's address came from) at a fixed rate; the
 * server's kernel answers through the tunnel, so a rekey that loses packets
 * in either direction shows as a missing reply.
 */
#include "perf/ctlload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/demux.h"
#include "core/wire.h"
#include "tls/ctl.h"

enum {
	RECV_BATCH = 32,
	PROBE_ICMP_ID = 0x7276,
	PROBE_PAYLOAD = 56,
	PROBE_IP_LEN = 20 + 8 + PROBE_PAYLOAD,
	UDP_RCVBUF = 4 << 20,
};

static uint8_t rx_bufs[RECV_BATCH][LD_UBUF_LEN];

int ld_data_init(struct ld *ld)
{
	const struct sockaddr_storage *src = &ld->o.sources[0];
	int sz = UDP_RCVBUF;

	ld->ubuf = malloc(LD_UBUF_LEN);
	if (!ld->ubuf) {
		return -ENOMEM;
	}
	ld->udp_fd = socket(src->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ld->udp_fd < 0) {
		fprintf(stderr, "ctlload: UDP socket: %s\n", strerror(errno));
		return -errno;
	}
	/* FORCE (we run as root) so a burst of keepalives after a storm is not
	 * cut by the default limit; fall back silently otherwise. */
	if (setsockopt(ld->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz))) {
		setsockopt(ld->udp_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (bind(ld->udp_fd, (const struct sockaddr *)src,
		 src->ss_family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6))) {
		fprintf(stderr, "ctlload: UDP bind: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

void ld_data_cleanup(struct ld *ld)
{
	if (ld->udp_fd >= 0) {
		close(ld->udp_fd);
	}
	free(ld->ubuf);
}

int ld_data_on_config(void *ctx, const struct rv_ctl_config *cfg, bool update)
{
	struct ld_sess *s = ctx;

	(void)update; /* an update may move the address too */
	if (cfg->flags & RV_CTL_F_HAS_V4) {
		memcpy(s->addr4, cfg->addr4, 4);
		s->prefix4 = cfg->prefix4;
	}
	return 0;
}

/* send_sealed seals |len| payload bytes at |buf| + RV_DATA_HDR_LEN for |s|
 * with header flags |flags| and sends the datagram to the session's
 * endpoint. */
static int send_sealed(struct ld *ld, struct rv_session *s, uint8_t *buf, uint32_t len,
		       uint8_t flags)
{
	struct rv_pkt pkt = { .buf = buf, .len = len, .flags = flags };
	enum rv_session_result r;
	struct rv_endpoint ep;

	r = rv_session_seal_batch(s, &pkt, 1, rv_coarse_now_ns());
	if (r != RV_SESSION_OK && r != RV_SESSION_REKEY_SOON) {
		return -ENOKEY;
	}
	rv_session_get_endpoint(s, &ep);
	if (!ep.len) {
		return -EDESTADDRREQ;
	}
	if (sendto(ld->udp_fd, buf, pkt.len, MSG_DONTWAIT, &ep.sa, ep.len) < 0) {
		return -errno;
	}
	return 0;
}

void ld_data_keepalive(void *ctx, struct rv_session *s, bool echo)
{
	struct ld_sess *slot = ctx;
	uint8_t buf[RV_DATA_OVERHEAD];

	if (!s) {
		return;
	}
	if (send_sealed(slot->ld, s, buf, 0, echo ? RV_DATA_F_ECHO : 0)) {
		slot->ld->st.ka_tx_fail++;
	} else {
		slot->ld->st.ka_tx++;
	}
}

static uint16_t inet_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* build_echo writes an IPv4 ICMP echo request from |src| to |dst| with
 * sequence number |seq| into |p| (PROBE_IP_LEN bytes). */
static void build_echo(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint16_t seq)
{
	uint16_t c;

	memset(p, 0, PROBE_IP_LEN);
	p[0] = 0x45;
	p[2] = PROBE_IP_LEN >> 8;
	p[3] = PROBE_IP_LEN & 0xff;
	p[4] = seq >> 8;
	p[5] = seq & 0xff;
	p[6] = 0x40; /* DF */
	p[8] = 64;   /* TTL */
	p[9] = 1;    /* ICMP */
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	c = inet_csum(p, 20);
	p[10] = c >> 8;
	p[11] = c & 0xff;
	p[20] = 8; /* echo request */
	p[24] = PROBE_ICMP_ID >> 8;
	p[25] = PROBE_ICMP_ID & 0xff;
	p[26] = seq >> 8;
	p[27] = seq & 0xff;
	for (int i = 0; i < PROBE_PAYLOAD; i++) {
		p[28 + i] = (uint8_t)i;
	}
	c = inet_csum(p + 20, 8 + PROBE_PAYLOAD);
	p[22] = c >> 8;
	p[23] = c & 0xff;
}

/* is_echo_reply: |p| is our probe's echo reply. */
static bool is_echo_reply(const uint8_t *p, size_t len)
{
	return len >= 28 && (p[0] >> 4) == 4 && p[9] == 1 && p[20] == 0 && p[21] == 0 &&
	       (p[24] << 8 | p[25]) == PROBE_ICMP_ID;
}

void ld_data_probe_tick(struct ld *ld, uint64_t now_ns)
{
	struct ld_sess *s = ld->probe;
	uint64_t gap;
	uint8_t buf[RV_DATA_HDR_LEN + PROBE_IP_LEN + RV_TAG_LEN];
	uint8_t dst[4];
	uint32_t net;

	if (!s || !ld->probe_pps || s->st != LD_RUNNING) {
		return;
	}
	gap = RV_NSEC_PER_SEC / ld->probe_pps;
	if (ld->probe_next_ns == 0) {
		ld->probe_next_ns = now_ns;
	}
	/* The server's tunnel address is the first host of the pool. */
	memcpy(&net, s->addr4, 4);
	net = ntohl(net);
	net = (s->prefix4 ? net & ~((1u << (32 - s->prefix4)) - 1) : 0) + 1;
	net = htonl(net);
	memcpy(dst, &net, 4);
	while (ld->probe_next_ns <= now_ns) {
		build_echo(buf + RV_DATA_HDR_LEN, s->addr4, dst, ld->probe_seq++);
		if (send_sealed(ld, rv_ctl_peer_session(s->cli), buf, PROBE_IP_LEN, 0) == 0) {
			ld->st.probe_tx++;
		}
		ld->probe_next_ns += gap;
	}
}

static void handle_dgram(struct ld *ld, uint8_t *buf, size_t len, uint64_t now)
{
	struct rv_pkt pkt = { .buf = buf, .len = (uint32_t)len };
	enum rv_session_result res;
	struct rv_data_hdr h;
	struct rv_session *s;
	bool probe;

	ld->st.udp_rx++;
	if (rv_wire_parse_data_hdr(&h, buf, len) != RV_WIRE_OK) {
		ld->st.udp_bad++;
		return;
	}
	s = rv_demux_by_index(ld->demux, h.receiver_index);
	if (!s) {
		/* A session this side has already closed. */
		ld->st.udp_unknown++;
		return;
	}
	probe = ld->probe && ld->probe->cli && s == rv_ctl_peer_session(ld->probe->cli);
	if (rv_session_open_batch(s, &pkt, &h, &res, 1, now) == 0) {
		ld->st.udp_bad++;
		ld->st.probe_bad += probe;
		return;
	}
	ld->st.udp_ok++;
	if (pkt.len == 0) {
		ld->st.udp_keepalive++;
		return;
	}
	if (probe && is_echo_reply(buf + RV_DATA_HDR_LEN, pkt.len)) {
		ld->st.probe_rx++;
	}
}

void ld_data_on_recv(struct ld *ld, int res)
{
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	uint64_t now = rv_coarse_now_ns();
	int n;

	if (res > 0) {
		handle_dgram(ld, ld->ubuf, (size_t)res, now);
	}
	/* Drain what else is queued without another trip through the ring. */
	do {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < RECV_BATCH; i++) {
			iov[i].iov_base = rx_bufs[i];
			iov[i].iov_len = LD_UBUF_LEN;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(ld->udp_fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			handle_dgram(ld, rx_bufs[i], msgs[i].msg_len, now);
		}
	} while (n == RECV_BATCH);
}
