/*
 * dp_peer.c — rvt_dp_peer: the data plane with ONE static session, for
 * testing the packet path before the control plane exists.
 *
 *   rvt_dp_peer --tun rva --port 51820 --peer 10.77.0.2:51820 \
 *       --local-index 0x11111111 --remote-index 0x22222222 \
 *       --send-key HEX64 --recv-key HEX64 --vaddr4 10.99.0.2 --vaddr6 fd99::2 \
 *       [--any-source] [--workers N] [--pin|--no-pin] [--offload tun,gso,gro|none] [--v6]
 *       [--mtu M] [--counters FILE] [--spoof FILE] [--zerocopy auto|on|off]
 *       [--no-csum-partial] [--no-udp-coalesce] [--reply-from-local] [--default]
 *
 * --vaddr4/--vaddr6 are the PEER's tunnel addresses (egress demux and the
 * inner source check). Keys are installed as epoch 1 and activated.
 * The peer is taken to accept partial checksums (RV_DATA_F_CSUM_PARTIAL),
 * as a ringvpn peer announces, unless --no-csum-partial stands in for an
 * older peer that does not. --reply-from-local gives the server's endpoint
 * rules (reply_from_local: it never follows a peer into its tunnel).
 * --default makes the session the egress for every destination, as a
 * client's session to its server is. With offloads, UDP runs are coalesced
 * on the TUN write (offload_udp_coalesce = yes, which the product leaves off
 * by default) so that test_dataplane.sh covers it; --no-udp-coalesce turns
 * that off.
 *
 * Signals (handled synchronously with sigwait on the main thread):
 *   SIGINT/SIGTERM  write counters, rv_dataplane_stop, free, exit 0
 *   SIGUSR1         write counters to --counters FILE (atomically via rename)
 *   SIGUSR2         read --spoof FILE: each line is an inner packet in hex,
 *                   sealed with the session (real counters, so it passes
 *                   authentication and replay checks) and sent to the peer;
 *                   an empty line sends a keepalive (rv_dataplane_send_keepalive);
 *                   "wrap SRC4:PORT DST4:PORT" sends, as the inner packet, a
 *                   UDP datagram between those addresses that carries a sealed
 *                   keepalive of the session, whose counter is above the
 *                   packet's (as a hostile client that owns its keys seals
 *                   it): the peer's kernel hands it to the peer's own data
 *                   socket, from inside its tunnel, as the newest datagram
 *                   (the routing loop a round-ten tester made).
 *                   This is how the test injects an authenticated packet with a
 *                   spoofed inner source.
 * Counters file: "name value" lines: worker sums (tx_packets, drop_auth, ...)
 * and the session's (session_tx_packets, session_drop_spoof, ...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "core/session.h"
#include "crypto/mem.h"
#include "uring/dataplane.h"

struct opts {
	const char *tun, *peer, *counters, *spoof;
	const char *send_key_hex, *recv_key_hex;
	const char *vaddr4, *vaddr6, *offload, *zerocopy;
	unsigned port, workers, mtu;
	uint32_t local_index, remote_index;
	bool any_source, v6, no_csum_partial, no_udp_coalesce, reply_from_local, is_default;
	enum rv_config_pin pin; /* pin_workers: auto unless told */
};

static int usage(void)
{
	fprintf(stderr,
		"usage: rvt_dp_peer --tun NAME --port P --peer ADDR:PORT --local-index N\n"
		"       --remote-index N --send-key HEX64 --recv-key HEX64 [--vaddr4 A]\n"
		"       [--vaddr6 A] [--any-source] [--workers N] [--pin|--no-pin] [--v6]\n"
		"       [--offload tun,gso,gro|none] [--mtu M] [--counters FILE] [--spoof FILE]\n"
		"       [--zerocopy auto|on|off] [--no-csum-partial] [--no-udp-coalesce]\n"
		"       [--reply-from-local] [--default]\n");
	return 2;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* parse_hex decodes |s| into |out| (cap bytes); returns the length or -1. */
static long parse_hex(uint8_t *out, size_t cap, const char *s)
{
	size_t n = 0;

	while (s[0] != '\0' && s[0] != '\n') {
		int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;
		if (hi < 0 || lo < 0 || n == cap) {
			return -1;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return (long)n;
}

static bool parse_endpoint(struct rv_endpoint *ep, const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hlen;
	long port;

	memset(ep, 0, sizeof(*ep));
	if (colon == NULL) {
		return false;
	}
	hlen = (size_t)(colon - s);
	if (s[0] == '[' && hlen >= 2 && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		return false;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535) {
		return false;
	}
	if (inet_pton(AF_INET, host, &ep->in4.sin_addr) == 1) {
		ep->in4.sin_family = AF_INET;
		ep->in4.sin_port = htons((uint16_t)port);
		ep->len = sizeof(ep->in4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &ep->in6.sin6_addr) == 1) {
		ep->in6.sin6_family = AF_INET6;
		ep->in6.sin6_port = htons((uint16_t)port);
		ep->len = sizeof(ep->in6);
		return true;
	}
	return false;
}

static bool parse_vaddr(struct rv_ip_addr *a, const char *s, int family)
{
	memset(a, 0, sizeof(*a));
	if (s == NULL) {
		return true;
	}
	if (inet_pton(family, s, a->a) != 1) {
		return false;
	}
	a->family = (uint8_t)family;
	return true;
}

static void write_counters(const char *path, struct rv_dataplane *dp, struct rv_session *s)
{
	struct rv_counters c;
	struct rv_session_stats st;
	char tmp[4096];
	FILE *f;

	if (path == NULL) {
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL) {
		rv_warn(-errno, "%s", tmp);
		return;
	}
	rv_dataplane_counters(dp, UINT32_MAX, &c);
	for (int i = 0; i < RV_CTR_MAX; i++) {
		fprintf(f, "%s %llu\n", rv_counter_name((enum rv_counter)i),
			(unsigned long long)rv_ctr_get(&c, (enum rv_counter)i));
	}
	for (int i = 0; i < RV_DROP_MAX; i++) {
		fprintf(f, "drop_%s %llu\n", rv_drop_name((enum rv_drop_reason)i),
			(unsigned long long)rv_drop_get(&c, (enum rv_drop_reason)i));
	}
	{
		struct rv_gauges g;

		rv_dataplane_gauges(dp, UINT32_MAX, &g);
		for (int i = 0; i < RV_GAUGE_MAX; i++) {
			fprintf(f, "%s %llu\n", rv_gauge_name((enum rv_gauge)i),
				(unsigned long long)rv_gauge_get(&g, (enum rv_gauge)i));
		}
	}
	rv_session_get_stats(s, &st);
	fprintf(f, "session_tx_packets %llu\nsession_tx_bytes %llu\n",
		(unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes);
	fprintf(f, "session_rx_packets %llu\nsession_rx_bytes %llu\n",
		(unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes);
	for (int i = 0; i < RV_DROP_MAX; i++) {
		fprintf(f, "session_drop_%s %llu\n", rv_drop_name((enum rv_drop_reason)i),
			(unsigned long long)st.drop[i]);
	}
	fprintf(f, "session_tx_epoch %u\nworkers %u\nport %u\n", st.tx_epoch,
		rv_dataplane_num_workers(dp), rv_dataplane_port(dp));
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		rv_warn(-errno, "%s", path);
	}
}

/* ip4_port parses "A.B.C.D:PORT" into network-order |addr| and |port|. */
static bool ip4_port(const char *s, uint8_t addr[4], uint16_t *port)
{
	char host[32];
	const char *colon = strrchr(s, ':');
	long p;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
		return false;
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	p = strtol(colon + 1, NULL, 10);
	if (inet_pton(AF_INET, host, addr) != 1 || p <= 0 || p > 65535) {
		return false;
	}
	*port = htons((uint16_t)p);
	return true;
}

/* What the spoofing needs of the session: the session, and for "wrap"
 * what makes a second one with its keys. */
struct spoofer {
	struct rv_session *s;
	struct rv_qsbr *q;
	struct rv_session_params params;
	uint8_t send_key[RV_AEAD_KEY_LEN], recv_key[RV_AEAD_KEY_LEN];
};

static bool seal_empty(struct rv_session *s, uint8_t *buf, uint64_t *counter)
{
	struct rv_pkt k = { .buf = buf, .len = 0 };
	enum rv_session_result r = rv_session_seal_batch(s, &k, 1, rv_coarse_now_ns());
	struct rv_data_hdr h;

	if ((r != RV_SESSION_OK && r != RV_SESSION_REKEY_SOON) ||
	    rv_wire_parse_data_hdr(&h, buf, k.len) != RV_WIRE_OK) {
		return false;
	}
	*counter = h.counter;
	return true;
}

/* keepalive_ahead seals into |ka| a keepalive whose counter is two above
 * the session's next one (C): the session's C is burnt here, C + 1 seals
 * the packet that carries it, and the caller burns C + 2 after that. A
 * second session with the same keys counts up to C + 2 and seals it. */
static bool keepalive_ahead(struct spoofer *sp, uint8_t ka[RV_DATA_OVERHEAD])
{
	struct rv_session *twin = rv_session_new(&sp->params);
	uint64_t c, t = 0;
	bool ok = false;

	if (twin == NULL || !seal_empty(sp->s, ka, &c) ||
	    rv_session_install_epoch(twin, sp->q, 1, sp->send_key, sp->recv_key,
				     rv_coarse_now_ns()) < 0 ||
	    rv_session_activate_epoch(twin, 1) < 0) {
		goto out;
	}
	do {
		if (!seal_empty(twin, ka, &t)) {
			goto out;
		}
	} while (t < c + 2);
	ok = t == c + 2;
out:
	if (twin != NULL) {
		rv_session_free(twin);
	}
	return ok;
}

/* wrap_keepalive writes at |out| an IPv4 UDP datagram from |line|'s source
 * to its destination ("SRC4:PORT DST4:PORT") carrying a keepalive of the
 * session sealed ahead of the packet (keepalive_ahead), and returns its
 * length, or -1. */
static long wrap_keepalive(uint8_t *out, struct spoofer *sp, const char *line)
{
	char src[48], dst[48];
	uint8_t ka[RV_DATA_OVERHEAD];
	struct rv_pkt k = { .buf = ka, .len = RV_DATA_OVERHEAD };
	uint16_t sport, dport, tot;
	uint32_t sum = 0;

	if (sscanf(line, "wrap %47s %47s", src, dst) != 2 || !ip4_port(src, out + 12, &sport) ||
	    !ip4_port(dst, out + 16, &dport) || !keepalive_ahead(sp, ka)) {
		return -1;
	}
	tot = (uint16_t)(28 + k.len);
	out[0] = 0x45;
	out[1] = 0;
	out[2] = (uint8_t)(tot >> 8);
	out[3] = (uint8_t)tot;
	memset(out + 4, 0, 4);
	out[6] = 0x40; /* DF */
	out[8] = 64;
	out[9] = 17;
	out[10] = out[11] = 0;
	for (unsigned i = 0; i < 20; i += 2) {
		sum += (uint32_t)out[i] << 8 | out[i + 1];
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	out[10] = (uint8_t)(~sum >> 8);
	out[11] = (uint8_t)~sum;
	memcpy(out + 20, &sport, 2);
	memcpy(out + 22, &dport, 2);
	out[24] = (uint8_t)((tot - 20) >> 8);
	out[25] = (uint8_t)(tot - 20);
	out[26] = out[27] = 0; /* no UDP checksum (IPv4 allows it) */
	memcpy(out + 28, ka, k.len);
	return tot;
}

/* send_spoof seals each line of |path| as an inner packet and sends it to
 * the peer from worker 0's socket (through the keepalive path for empty
 * lines). Runs on the main thread, like the control plane would. */
static void send_spoof(const char *path, struct rv_dataplane *dp, struct spoofer *sp)
{
	struct rv_session *s = sp->s;
	char line[4200];
	FILE *f;
	int sock = -1;

	if (path == NULL || (f = fopen(path, "r")) == NULL) {
		rv_warnx("SIGUSR2: no --spoof file to read");
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		uint8_t buf[RV_DATA_OVERHEAD + 2048];
		struct rv_pkt pkt = { .buf = buf };
		struct rv_endpoint ep;
		enum rv_session_result r;
		long n;

		if (line[0] == '\n' || line[0] == '\0') {
			int ret = rv_dataplane_send_keepalive(dp, s, false);
			if (ret < 0) {
				rv_warn(ret, "keepalive");
			}
			continue;
		}
		bool wrap = strncmp(line, "wrap ", 5) == 0;

		n = wrap ? wrap_keepalive(buf + RV_DATA_HDR_LEN, sp, line)
			 : parse_hex(buf + RV_DATA_HDR_LEN, 2048, line);
		if (n <= 0) {
			rv_warnx("%s: bad line", path);
			continue;
		}
		pkt.len = (uint32_t)n;
		r = rv_session_seal_batch(s, &pkt, 1, rv_coarse_now_ns());
		if (r != RV_SESSION_OK && r != RV_SESSION_REKEY_SOON) {
			rv_warnx("seal: %s", rv_session_result_str(r));
			continue;
		}
		if (wrap) {
			/* The carried keepalive's counter, burnt here: the
			 * session's next packet would be a replay. */
			uint8_t burn[RV_DATA_OVERHEAD];
			uint64_t c;

			(void)seal_empty(s, burn, &c);
		}
		rv_session_get_endpoint(s, &ep);
		if (sock < 0) {
			sock = socket(ep.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		}
		if (sock < 0 || sendto(sock, buf, pkt.len, 0, &ep.sa, ep.len) < 0) {
			rv_warn(-errno, "spoof send");
		}
	}
	if (sock >= 0) {
		close(sock);
	}
	fclose(f);
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tun", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "peer", required_argument, NULL, 'P' },
		{ "local-index", required_argument, NULL, 'l' },
		{ "remote-index", required_argument, NULL, 'r' },
		{ "send-key", required_argument, NULL, 's' },
		{ "recv-key", required_argument, NULL, 'R' },
		{ "vaddr4", required_argument, NULL, '4' },
		{ "vaddr6", required_argument, NULL, '6' },
		{ "any-source", no_argument, NULL, 'a' },
		{ "workers", required_argument, NULL, 'w' },
		{ "pin", no_argument, NULL, 'i' },
		{ "no-pin", no_argument, NULL, 'I' },
		{ "v6", no_argument, NULL, 'v' },
		{ "offload", required_argument, NULL, 'o' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "counters", required_argument, NULL, 'c' },
		{ "spoof", required_argument, NULL, 'S' },
		{ "reply-from-local", no_argument, NULL, 'L' },
		{ "zerocopy", required_argument, NULL, 'z' },
		{ "no-csum-partial", no_argument, NULL, 'C' },
		{ "no-udp-coalesce", no_argument, NULL, 'U' },
		{ "default", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->workers = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->tun = optarg;
			break;
		case 'p':
			o->port = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'P':
			o->peer = optarg;
			break;
		case 'l':
			o->local_index = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			o->remote_index = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o->send_key_hex = optarg;
			break;
		case 'R':
			o->recv_key_hex = optarg;
			break;
		case '4':
			o->vaddr4 = optarg;
			break;
		case '6':
			o->vaddr6 = optarg;
			break;
		case 'a':
			o->any_source = true;
			break;
		case 'w':
			o->workers = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			o->pin = RV_CONFIG_PIN_YES;
			break;
		case 'I':
			o->pin = RV_CONFIG_PIN_NO;
			break;
		case 'v':
			o->v6 = true;
			break;
		case 'o':
			o->offload = optarg;
			break;
		case 'm':
			o->mtu = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			o->counters = optarg;
			break;
		case 'S':
			o->spoof = optarg;
			break;
		case 'L':
			o->reply_from_local = true;
			break;
		case 'z':
			o->zerocopy = optarg;
			break;
		case 'C':
			o->no_csum_partial = true;
			break;
		case 'U':
			o->no_udp_coalesce = true;
			break;
		case 'D':
			o->is_default = true;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || o->tun == NULL || o->peer == NULL || o->local_index == 0 ||
	    o->remote_index == 0 || o->send_key_hex == NULL || o->recv_key_hex == NULL ||
	    o->port > 65535) {
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rv_dataplane_config cfg;
	struct rv_session_params params;
	struct rv_dataplane *dp = NULL;
	struct rv_session *s = NULL;
	struct rv_demux *demux = NULL;
	struct rv_qsbr *q = NULL;
	uint8_t send_key[RV_AEAD_KEY_LEN], recv_key[RV_AEAD_KEY_LEN];
	static struct spoofer sp; /* zeroed: its keys are kept for "wrap" */
	struct opts o;
	sigset_t set;
	int ret, status = 1;

	if (parse_opts(&o, argc, argv) < 0) {
		return usage();
	}
	rv_log_set_prefix("dp_peer");
	memset(&params, 0, sizeof(params));
	params.local_index = o.local_index;
	params.remote_index = o.remote_index;
	params.any_source = o.any_source;
	params.csum_partial = !o.no_csum_partial;
	if (!parse_endpoint(&params.endpoint, o.peer)) {
		fprintf(stderr, "rvt_dp_peer: bad --peer '%s' (want ADDR:PORT or [ADDR]:PORT)\n",
			o.peer);
		return 2;
	}
	if (!parse_vaddr(&params.vaddr4, o.vaddr4, AF_INET) ||
	    !parse_vaddr(&params.vaddr6, o.vaddr6, AF_INET6)) {
		fprintf(stderr, "rvt_dp_peer: bad --vaddr4/--vaddr6\n");
		return 2;
	}
	if (parse_hex(send_key, sizeof(send_key), o.send_key_hex) != RV_AEAD_KEY_LEN ||
	    parse_hex(recv_key, sizeof(recv_key), o.recv_key_hex) != RV_AEAD_KEY_LEN) {
		fprintf(stderr, "rvt_dp_peer: keys must be %d hex bytes\n", RV_AEAD_KEY_LEN);
		return 2;
	}

	/* Signals go to the main thread's sigwait; workers inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	q = rv_qsbr_new(64);
	demux = q ? rv_demux_new(16, q) : NULL;
	s = rv_session_new(&params);
	if (q == NULL || demux == NULL || s == NULL) {
		fprintf(stderr, "rvt_dp_peer: out of memory or bad session parameters\n");
		goto out;
	}
	ret = rv_session_install_epoch(s, q, 1, send_key, recv_key, rv_coarse_now_ns());
	sp = (struct spoofer){ .s = s, .q = q, .params = params };
	memcpy(sp.send_key, send_key, sizeof(send_key));
	memcpy(sp.recv_key, recv_key, sizeof(recv_key));
	rv_memzero(send_key, sizeof(send_key));
	rv_memzero(recv_key, sizeof(recv_key));
	if (ret < 0 || rv_session_activate_epoch(s, 1) < 0) {
		fprintf(stderr, "rvt_dp_peer: installing epoch 1 failed: %s\n", strerror(-ret));
		goto out;
	}
	ret = rv_demux_add(demux, s);
	if (ret < 0) {
		fprintf(stderr, "rvt_dp_peer: demux add: %s\n", strerror(-ret));
		goto out;
	}
	if (o.is_default) {
		rv_demux_set_default(demux, s);
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.tun_name = o.tun;
	cfg.num_workers = o.workers;
	cfg.pin_workers = o.pin;
	cfg.mtu = o.mtu;
	cfg.udp_port = (uint16_t)o.port;
	cfg.udp_v6 = o.v6;
	cfg.reply_from_local = o.reply_from_local;
	if (o.offload == NULL || strcmp(o.offload, "none") != 0) {
		const char *off = o.offload ? o.offload : "tun,gso,gro";
		cfg.offload_tun = strstr(off, "tun") != NULL;
		cfg.offload_gso = strstr(off, "gso") != NULL;
		cfg.offload_gro = strstr(off, "gro") != NULL;
		cfg.udp_coalesce =
			o.no_udp_coalesce ? RV_CONFIG_COALESCE_NO : RV_CONFIG_COALESCE_YES;
	}
	if (o.zerocopy != NULL) {
		cfg.zerocopy = !strcmp(o.zerocopy, "on")    ? RV_CONFIG_ZC_ON
			       : !strcmp(o.zerocopy, "off") ? RV_CONFIG_ZC_OFF
							    : RV_CONFIG_ZC_AUTO;
	}
	cfg.demux = demux;
	cfg.qsbr = q;
	ret = rv_dataplane_start(&dp, &cfg);
	if (ret < 0) {
		fprintf(stderr, "rvt_dp_peer: data plane start: %s\n", strerror(-ret));
		goto out;
	}
	printf("ready tun=%s port=%u workers=%u\n", rv_dataplane_tun_name(dp),
	       rv_dataplane_port(dp), rv_dataplane_num_workers(dp));
	fflush(stdout);

	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0) {
			continue;
		}
		if (sig == SIGUSR1) {
			write_counters(o.counters, dp, s);
		} else if (sig == SIGUSR2) {
			send_spoof(o.spoof, dp, &sp);
		} else {
			break;
		}
	}
	write_counters(o.counters, dp, s);
	status = 0;

out:
	rv_memzero(&sp, sizeof(sp));
	rv_dataplane_stop(dp);
	if (s != NULL) {
		rv_demux_remove(demux, s);
		rv_session_free(s);
	}
	rv_demux_free(demux);
	rv_qsbr_free(q);
	return status;
}
