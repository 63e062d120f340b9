/*
 * ctlload.c — the control plane's load generator: one process that plays N
 * ringvpn clients against a real server, each with its own certificate, a
 * full TLS 1.3 mutual-auth handshake, HELLO/CONFIG, the key exchange, and
 * sealed keepalives over UDP (no TUN, no workers). perf/ctlload.sh builds
 * the namespaces, the server and the scripted events around it; the README
 * of perf/ has the figures.
 *
 *   ctlload run --server ADDR:PORT --name NAME --ca CA.crt --certs DIR
 *               --count N --sources ADDR[+K][,ADDR[+K]...] [--prefix load]
 *               [--window W] [--reconnect-min MS] [--reconnect-max MS]
 *               [--handshake-timeout MS]
 *       Client i (1..N) uses DIR/<prefix>i.crt and .key and connects from
 *       source address (i-1) mod S ("10.77.1.1+64" is 64 consecutive
 *       addresses). --window bounds the connections not yet running (default
 *       0: none). Then reads commands from stdin, one per line, and answers
 *       each with one line on stdout, "ok ..." or "err ...":
 *         start                 every idle client connects now (a storm)
 *         mark                  t = 0 for later answers and the timeline
 *         rec FILE | rec off    every 100 ms, one timeline line to FILE:
 *                               t, clients running / ctl / tls / connecting /
 *                               backoff / closing / idle, and the running
 *                               totals tls_ok hs_timeouts closed_by_server
 *                               closed_by_ctl udp_keepalive
 *         wait running N SECS   until at least N clients run ("ok t=...")
 *         wait idle N SECS      until at least N clients are idle
 *         wait epoch E SECS     until every client runs with sending epoch >= E
 *         snap                  note every client's sending epoch
 *         wait rekeyed 0 SECS   until every client runs with a sending epoch
 *                               newer than at the last snap
 *         epochs                lowest and highest sending epoch
 *         probe PPS | probe off ICMP echo through client 1 at PPS per second
 *         churn PCT MINUTES     replace PCT % of the clients per minute (half
 *                               with GOODBYE, half with a TCP reset; each
 *                               reconnects at once), answer when done
 *         stop                  GOODBYE to everyone; answer when all are idle
 *         stats                 counters as key=value
 *         quit
 *   ctlload floor --ca CA.crt --server-cert C --server-key K --client-cert C
 *                 --client-key K --name NAME [--count N]
 *       CPU time of one TLS 1.3 mutual-auth ECDSA P-256 handshake, in memory.
 *   ctlload certs --ca-dir DIR --out DIR --count N [--prefix load]
 *       Issues the client certificates that are missing (pki/, the code
 *       behind `ringvpn pki client`).
 */
#include "perf/ctlload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/demux.h"
#include "crypto/rand.h"

enum wait_kind {
	W_NONE = 0,
	W_RUNNING,
	W_IDLE,
	W_EPOCH,
	W_REKEYED,
	W_CHURN,
	W_STOP,
};

enum {
	REC_NS = 100 * RV_NSEC_PER_MSEC,
	PENDING_MAX = 65536,
};

/* The command script's state: the one command that is still running (a
 * wait, churn or stop) holds back the lines after it. */
struct ld_script {
	uint64_t mark_ns;
	enum wait_kind wait;
	unsigned wait_n;
	uint64_t wait_deadline_ns;
	/* churn */
	uint64_t churn_total, churn_done, churn_gap_ns, churn_next_ns;
	/* timeline */
	FILE *rec;
	uint64_t rec_next_ns, epoch_next_ns;
	char pending[PENDING_MAX];
	size_t pending_len;
	bool eof;
};

static void reply(const char *fmt, ...) RV_PRINTF(1, 2);

static void reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static double since_mark(const struct ld *ld, uint64_t now)
{
	return (double)(now - ld->script->mark_ns) / 1e9;
}

static void print_stats(const struct ld *ld)
{
	const struct ld_stats *st = &ld->st;

	reply("ok idle=%u backoff=%u connecting=%u tls=%u ctl=%u running=%u closing=%u "
	      "connects=%llu connect_fail=%llu tls_ok=%llu tls_fail=%llu hs_timeouts=%llu "
	      "reached_running=%llu closed_by_server=%llu closed_by_us=%llu closed_by_ctl=%llu "
	      "ka_tx=%llu ka_tx_fail=%llu udp_rx=%llu udp_ok=%llu udp_bad=%llu udp_unknown=%llu "
	      "udp_keepalive=%llu probe_tx=%llu probe_rx=%llu probe_bad=%llu",
	      ld->num_state[LD_IDLE], ld->num_state[LD_BACKOFF], ld->num_state[LD_CONNECTING],
	      ld->num_state[LD_TLS], ld->num_state[LD_CTL], ld->num_state[LD_RUNNING],
	      ld->num_state[LD_CLOSING], (unsigned long long)st->connects,
	      (unsigned long long)st->connect_fail, (unsigned long long)st->tls_ok,
	      (unsigned long long)st->tls_fail, (unsigned long long)st->hs_timeouts,
	      (unsigned long long)st->running, (unsigned long long)st->closed_by_server,
	      (unsigned long long)st->closed_by_us, (unsigned long long)st->closed_by_ctl,
	      (unsigned long long)st->ka_tx, (unsigned long long)st->ka_tx_fail,
	      (unsigned long long)st->udp_rx, (unsigned long long)st->udp_ok,
	      (unsigned long long)st->udp_bad, (unsigned long long)st->udp_unknown,
	      (unsigned long long)st->udp_keepalive, (unsigned long long)st->probe_tx,
	      (unsigned long long)st->probe_rx, (unsigned long long)st->probe_bad);
}

static void rec_line(struct ld *ld, uint64_t now)
{
	const struct ld_stats *st = &ld->st;

	fprintf(ld->script->rec, "%.2f %u %u %u %u %u %u %u %llu %llu %llu %llu %llu\n",
		since_mark(ld, now), ld->num_state[LD_RUNNING], ld->num_state[LD_CTL],
		ld->num_state[LD_TLS], ld->num_state[LD_CONNECTING], ld->num_state[LD_BACKOFF],
		ld->num_state[LD_CLOSING], ld->num_state[LD_IDLE], (unsigned long long)st->tls_ok,
		(unsigned long long)st->hs_timeouts, (unsigned long long)st->closed_by_server,
		(unsigned long long)st->closed_by_ctl, (unsigned long long)st->udp_keepalive);
}

/* churn_one closes one running client, picked at random, and lets it
 * reconnect at once: the server sees one client leave and a new connection
 * (same name, new session and address) arrive. */
static void churn_one(struct ld *ld)
{
	struct ld_script *sc = ld->script;

	for (int tries = 0; tries < 64; tries++) {
		struct ld_sess *s = &ld->sess[rv_rand_u32() % ld->o.count];

		if (s->st == LD_RUNNING && s != ld->probe) {
			ld_close_sess(ld, s, sc->churn_done % 2 == 1, LD_AFTER_NOW);
			break;
		}
	}
	sc->churn_done++; /* a miss (nobody running) counts too: time moves on */
}

static void start_wait(struct ld *ld, enum wait_kind w, unsigned n, double secs)
{
	ld->script->wait = w;
	ld->script->wait_n = n;
	ld->script->wait_deadline_ns = rv_now_ns() + (uint64_t)(secs * 1e9);
}

static void exec_line(struct ld *ld, char *line)
{
	struct ld_script *sc = ld->script;
	char *argv[8];
	int argc = 0;

	for (char *tok = strtok(line, " \t"); tok && argc < 8; tok = strtok(NULL, " \t")) {
		argv[argc++] = tok;
	}
	if (argc == 0) {
		return;
	}
	if (!strcmp(argv[0], "start")) {
		ld_start_all(ld);
		reply("ok");
	} else if (!strcmp(argv[0], "mark")) {
		sc->mark_ns = rv_now_ns();
		reply("ok");
	} else if (!strcmp(argv[0], "rec") && argc == 2) {
		if (sc->rec) {
			fclose(sc->rec);
			sc->rec = NULL;
		}
		if (strcmp(argv[1], "off") != 0) {
			sc->rec = fopen(argv[1], "w");
			if (!sc->rec) {
				reply("err %s: %s", argv[1], strerror(errno));
				return;
			}
			fprintf(sc->rec, "# t running ctl tls connecting backoff closing idle "
					 "tls_ok hs_timeouts closed_by_server closed_by_ctl "
					 "udp_keepalive\n");
			sc->rec_next_ns = 0;
		}
		reply("ok");
	} else if (!strcmp(argv[0], "wait") && argc == 4) {
		enum wait_kind w = !strcmp(argv[1], "running")	 ? W_RUNNING
				   : !strcmp(argv[1], "idle")	 ? W_IDLE
				   : !strcmp(argv[1], "epoch")	 ? W_EPOCH
				   : !strcmp(argv[1], "rekeyed") ? W_REKEYED
								 : W_NONE;

		if (w == W_NONE) {
			reply("err wait running|idle|epoch|rekeyed N SECS");
			return;
		}
		start_wait(ld, w, (unsigned)strtoul(argv[2], NULL, 10), strtod(argv[3], NULL));
		sc->epoch_next_ns = 0;
	} else if (!strcmp(argv[0], "snap")) {
		ld_snap_epochs(ld);
		reply("ok");
	} else if (!strcmp(argv[0], "epochs")) {
		uint32_t lo, hi;

		ld_epochs(ld, &lo, &hi);
		reply("ok min=%u max=%u running=%u", lo, hi, ld->num_state[LD_RUNNING]);
	} else if (!strcmp(argv[0], "probe") && argc == 2) {
		if (!strcmp(argv[1], "off")) {
			ld->probe_pps = 0;
		} else {
			ld->probe = &ld->sess[0];
			ld->probe_pps = (uint32_t)strtoul(argv[1], NULL, 10);
			ld->probe_next_ns = 0;
		}
		reply("ok probe_tx=%llu probe_rx=%llu probe_bad=%llu",
		      (unsigned long long)ld->st.probe_tx, (unsigned long long)ld->st.probe_rx,
		      (unsigned long long)ld->st.probe_bad);
	} else if (!strcmp(argv[0], "churn") && argc == 3) {
		double pct = strtod(argv[1], NULL), minutes = strtod(argv[2], NULL);
		double per_min = ld->o.count * pct / 100.0;

		if (per_min < 1 || minutes <= 0) {
			reply("err churn PCT MINUTES: fewer than one client per minute");
			return;
		}
		sc->churn_total = (uint64_t)(per_min * minutes + 0.5);
		sc->churn_done = 0;
		sc->churn_gap_ns = (uint64_t)(60e9 / per_min);
		sc->churn_next_ns = rv_now_ns();
		start_wait(ld, W_CHURN, 0, minutes * 60 + 60);
	} else if (!strcmp(argv[0], "stop")) {
		ld_stop_all(ld);
		start_wait(ld, W_STOP, ld->o.count, 60);
	} else if (!strcmp(argv[0], "stats")) {
		print_stats(ld);
	} else if (!strcmp(argv[0], "quit")) {
		reply("ok");
		ld->done = true;
	} else {
		reply("err unknown command '%s'", argv[0]);
	}
}

/* run_pending executes buffered lines until one of them must wait. */
static void run_pending(struct ld *ld)
{
	struct ld_script *sc = ld->script;
	char *nl;

	while (sc->wait == W_NONE && !ld->done &&
	       (nl = memchr(sc->pending, '\n', sc->pending_len)) != NULL) {
		size_t n = (size_t)(nl - sc->pending) + 1;
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)(n - 1), sc->pending);
		memmove(sc->pending, sc->pending + n, sc->pending_len - n);
		sc->pending_len -= n;
		exec_line(ld, line);
	}
	if (sc->wait == W_NONE && sc->eof && !ld->done) {
		ld->done = true;
	}
}

void ld_cmd_input(struct ld *ld, const uint8_t *buf, size_t len)
{
	struct ld_script *sc = ld->script;

	if (len == 0) {
		sc->eof = true;
	} else if (len > sizeof(sc->pending) - sc->pending_len) {
		fprintf(stderr, "ctlload: command input too long\n");
		sc->eof = true;
	} else {
		memcpy(sc->pending + sc->pending_len, buf, len);
		sc->pending_len += len;
	}
	run_pending(ld);
}

/* wait_done checks the running command's condition and answers it. */
static void wait_done(struct ld *ld, uint64_t now)
{
	struct ld_script *sc = ld->script;
	bool done = false, expired = now >= sc->wait_deadline_ns;
	uint32_t lo = 0, hi = 0;

	switch (sc->wait) {
	case W_RUNNING:
		done = ld->num_state[LD_RUNNING] >= sc->wait_n;
		break;
	case W_IDLE:
	case W_STOP:
		done = ld->num_state[LD_IDLE] >= sc->wait_n;
		break;
	case W_EPOCH:
	case W_REKEYED:
		/* O(N): only every 100 ms. */
		if (now < sc->epoch_next_ns && !expired) {
			return;
		}
		sc->epoch_next_ns = now + REC_NS;
		ld_epochs(ld, &lo, &hi);
		done = ld->num_state[LD_RUNNING] == ld->o.count &&
		       (sc->wait == W_EPOCH ? lo >= sc->wait_n : ld_num_rekeyed(ld) == ld->o.count);
		break;
	case W_CHURN:
		while (sc->churn_done < sc->churn_total && now >= sc->churn_next_ns) {
			churn_one(ld);
			sc->churn_next_ns += sc->churn_gap_ns;
		}
		done = sc->churn_done >= sc->churn_total;
		break;
	case W_NONE:
		return;
	}
	if (!done && !expired) {
		return;
	}
	if (done) {
		reply("ok t=%.3f running=%u idle=%u min_epoch=%u max_epoch=%u replaced=%llu "
		      "tls_ok=%llu",
		      since_mark(ld, now), ld->num_state[LD_RUNNING], ld->num_state[LD_IDLE], lo,
		      hi, (unsigned long long)sc->churn_done, (unsigned long long)ld->st.tls_ok);
	} else {
		reply("err timeout t=%.3f running=%u idle=%u min_epoch=%u", since_mark(ld, now),
		      ld->num_state[LD_RUNNING], ld->num_state[LD_IDLE], lo);
	}
	sc->wait = W_NONE;
	run_pending(ld);
}

void ld_cmd_tick(struct ld *ld, uint64_t now_ns)
{
	struct ld_script *sc = ld->script;

	if (sc->rec && now_ns >= sc->rec_next_ns) {
		rec_line(ld, now_ns);
		sc->rec_next_ns = now_ns + REC_NS;
	}
	wait_done(ld, now_ns);
}

/* --- options -------------------------------------------------------------- */

static int parse_hostport(const char *s, struct sockaddr_storage *out, socklen_t *out_len)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *res;

	if (!colon || (size_t)(colon - s) >= sizeof(host)) {
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (getaddrinfo(host, colon + 1, &hints, &res)) {
		return -EINVAL;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*out_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* parse_sources reads "ADDR[+K],..." (K consecutive IPv4 addresses). */
static int parse_sources(struct ld_opts *o, const char *arg)
{
	char buf[4096], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *plus = strchr(item, '+');
		unsigned k = plus ? (unsigned)strtoul(plus + 1, NULL, 10) : 1;
		struct sockaddr_in in4 = { .sin_family = AF_INET };
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };

		if (plus) {
			*plus = '\0';
		}
		if (inet_pton(AF_INET, item, &in4.sin_addr) == 1) {
			uint32_t a = ntohl(in4.sin_addr.s_addr);

			for (unsigned i = 0; i < k; i++) {
				if (o->num_sources == LD_MAX_SOURCES) {
					return -E2BIG;
				}
				in4.sin_addr.s_addr = htonl(a + i);
				memcpy(&o->sources[o->num_sources++], &in4, sizeof(in4));
			}
		} else if (inet_pton(AF_INET6, item, &in6.sin6_addr) == 1 && k == 1) {
			if (o->num_sources == LD_MAX_SOURCES) {
				return -E2BIG;
			}
			memcpy(&o->sources[o->num_sources++], &in6, sizeof(in6));
		} else {
			return -EINVAL;
		}
	}
	return o->num_sources ? 0 : -EINVAL;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: ctlload run --server ADDR:PORT --name NAME --ca CA --certs DIR --count N\n"
		"                   --sources ADDR[+K][,...] [--prefix P] [--window W]\n"
		"                   [--reconnect-min MS] [--reconnect-max MS] "
		"[--handshake-timeout MS]\n"
		"       ctlload floor --ca CA --server-cert C --server-key K --client-cert C\n"
		"                     --client-key K --name NAME [--count N]\n"
		"       ctlload certs --ca-dir DIR --out DIR --count N [--prefix P]\n"
		"(commands for run: see the top of perf/ctlload.c)\n");
	return 2;
}

/* raise_nofile: each client holds one socket. */
static void raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (rl.rlim_max < need) {
			rl.rlim_max = need;
		}
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			fprintf(stderr, "ctlload: cannot raise the fd limit to %u: %s\n", need,
				strerror(errno));
		}
	}
}

/* struct args holds every flag of the three subcommands; each checks that
 * it got what it needs. */
struct args {
	struct ld_opts o;				     /* run */
	const char *ca_dir, *out;			     /* certs */
	const char *srv_cert, *srv_key, *cli_cert, *cli_key; /* floor */
};

static int parse_args(struct args *a, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "ca", required_argument, NULL, 'a' },
		{ "certs", required_argument, NULL, 'd' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "sources", required_argument, NULL, 'S' },
		{ "window", required_argument, NULL, 'w' },
		{ "reconnect-min", required_argument, NULL, 'm' },
		{ "reconnect-max", required_argument, NULL, 'M' },
		{ "handshake-timeout", required_argument, NULL, 't' },
		{ "ca-dir", required_argument, NULL, 'A' },
		{ "out", required_argument, NULL, 'o' },
		{ "server-cert", required_argument, NULL, 'C' },
		{ "server-key", required_argument, NULL, 'K' },
		{ "client-cert", required_argument, NULL, 'l' },
		{ "client-key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct ld_opts *o = &a->o;
	int c;

	o->cert_prefix = "load";
	/* The real client's defaults (core/config.c). */
	o->reconnect_min_ms = 500;
	o->reconnect_max_ms = 30000;
	o->handshake_timeout_ms = 5000;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_hostport(optarg, &o->server, &o->server_len)) {
				fprintf(stderr, "ctlload: --server %s: want ADDR:PORT\n", optarg);
				return -EINVAL;
			}
			break;
		case 'n':
			o->server_name = optarg;
			break;
		case 'a':
			o->ca = optarg;
			break;
		case 'd':
			o->cert_dir = optarg;
			break;
		case 'p':
			o->cert_prefix = optarg;
			break;
		case 'c':
			o->count = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			if (parse_sources(o, optarg)) {
				fprintf(stderr, "ctlload: --sources %s: want ADDR[+K],...\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'w':
			o->window = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o->reconnect_min_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'M':
			o->reconnect_max_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o->handshake_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'A':
			a->ca_dir = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'C':
			a->srv_cert = optarg;
			break;
		case 'K':
			a->srv_key = optarg;
			break;
		case 'l':
			a->cli_cert = optarg;
			break;
		case 'k':
			a->cli_key = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

static int cmd_run(struct args *a)
{
	static struct ld ld; /* large; zero state */
	struct ld_script *sc;
	int ret;

	ld.o = a->o;
	if (!ld.o.server_len || !ld.o.server_name || !ld.o.ca || !ld.o.cert_dir || !ld.o.count ||
	    ld.o.count > RV_DEMUX_MAX_SESSIONS || !ld.o.num_sources || ld.o.reconnect_min_ms == 0 ||
	    ld.o.reconnect_max_ms < ld.o.reconnect_min_ms) {
		return usage();
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		return 1;
	}
	ld.script = sc;
	raise_nofile(ld.o.count + 256);
	ret = ld_init(&ld);
	if (ret == 0) {
		reply("ready count=%u sources=%u", ld.o.count, ld.o.num_sources);
		sc->mark_ns = rv_now_ns();
		ret = ld_run(&ld);
	}
	ld_cleanup(&ld);
	if (sc->rec) {
		fclose(sc->rec);
	}
	free(sc);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct args a; /* large (the source list); zero state */
	const struct ld_opts *o = &a.o;

	if (argc < 2 || parse_args(&a, argc - 1, argv + 1)) {
		return usage();
	}
	if (!strcmp(argv[1], "run")) {
		return cmd_run(&a);
	}
	if (!strcmp(argv[1], "floor") && o->ca && a.srv_cert && a.srv_key && a.cli_cert &&
	    a.cli_key && o->server_name) {
		return ld_floor(o->ca, a.srv_cert, a.srv_key, a.cli_cert, a.cli_key, o->server_name,
				o->count ? o->count : 200)
			       ? 1
			       : 0;
	}
	if (!strcmp(argv[1], "certs") && a.ca_dir && a.out && o->count) {
		return ld_certs(a.ca_dir, a.out, o->cert_prefix, o->count) ? 1 : 0;
	}
	return usage();
}
