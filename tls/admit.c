/*
 * admit.c — the server role of the control loop: listen, admit half-open
 * connections fairly, authenticate, keep one session per certificate name,
 * and end sessions on an operator's kick or a revocation. Applying a
 * reloaded configuration is in srvconf.c, the lease file in leasefile.c.
 *
 * Admission. Every accepted connection is registered in core/admit.h by
 * its source (an IPv4 address or an IPv6 /64) until its TLS handshake
 * completes. When a source passes max_handshaking_per_source, or all of
 * them together pass max_handshaking, the victim core/admit picks is
 * closed: the oldest connection of the heaviest source, one that has not
 * even sent its ClientHello before one that has. A flood of plain TCP
 * connects from one address therefore only ever evicts its own, and a slow
 * honest client (150 ms and more of latency) keeps its slot. Every
 * connection still has cfg->handshake_timeout to finish.
 *
 * One session per name. Authenticated connections are indexed by
 * certificate name (core/nametab.h); a second connection with the same
 * name replaces the first, whose session and addresses are released before
 * the new one asks for them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/admit.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/ippool.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/nametab.h"
#include "core/qsbr.h"
#include "core/status.h"
#include "core/strbuf.h"
#include "crypto/kdf.h"
#include "crypto/mem.h"
#include "tls/conn.h"
#include "tls/ctl_server.h"
#include "tls/firsts.h"
#include "tls/internal.h"
#include "tls/leasefile.h"
#include "tls/server_side.h"
#include "tls/subnets.h"
#include "uring/dataplane.h"
#include "uring/holder.h"
#include "uring/sock.h"

/* While accepts keep failing, a line this often. */
#define ACCEPT_LOG_NS (60 * RV_NSEC_PER_SEC)

enum {
	ACCEPT_RETRY_NS = 100 * RV_NSEC_PER_MSEC,
	/* Lease changes reach the lease file within this time. */
	LEASE_FLUSH_NS = 100 * RV_NSEC_PER_MSEC,
	/* At most this much added to a control message's or a timer's
	 * latency; see server_linger_ns. */
	SERVER_LINGER_NS = 4 * RV_NSEC_PER_MSEC,
	SERVER_TIMER_SLACK_NS = 10 * RV_NSEC_PER_MSEC,
};

static struct rv_server_side *side(const struct rv_loop *l)
{
	return rv_server_side_of(l);
}

/* ---- upcalls of the control peers -------------------------------------- */

/* ---- listening --------------------------------------------------------- */

int rv_server_listen_socket(const struct rv_config *cfg, uint16_t port, char *err, size_t err_len)
{
	struct addrinfo hints, *res = NULL, *ai;
	char where[RV_CONFIG_HOST_MAX + 16], what[RV_CONFIG_HOST_MAX + 32], svc[8];
	int fd, ret, one = 1, zero = 0;

	rv_config_listen_str(cfg, where, sizeof(where));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(svc, sizeof(svc), "%u", port);
	ret = getaddrinfo(cfg->listen_host[0] ? cfg->listen_host : NULL, svc, &hints, &res);
	if (ret) {
		snprintf(err, err_len, "cannot listen on %s: %s", where, gai_strerror(ret));
		return -EINVAL;
	}
	/* All addresses: IPv6 (dual-stack) where there is one. A named host:
	 * its first address, said when it has others (an IPv4 client of a
	 * name with both families was refused, unsaid: round-sixty-four
	 * tester 265). */
	for (ai = res; ai->ai_next && !cfg->listen_host[0] && ai->ai_family != AF_INET6;
	     ai = ai->ai_next) {
	}
	if (cfg->listen_host[0] && res->ai_next) {
		char first[NI_MAXHOST] = "?", a[NI_MAXHOST];
		unsigned others = 0;

		(void)getnameinfo(res->ai_addr, res->ai_addrlen, first, sizeof(first), NULL, 0,
				  NI_NUMERICHOST);
		for (struct addrinfo *o = res->ai_next; o; o = o->ai_next) {
			others += getnameinfo(o->ai_addr, o->ai_addrlen, a, sizeof(a), NULL, 0,
					      NI_NUMERICHOST) == 0 &&
				  strcmp(a, first) != 0;
		}
		if (others) {
			rv_warnx("listen %s: the name has %u other address(es); the "
				 "control channel listens on its first, %s, alone (give an "
				 "address, or leave the host out for every one)",
				 where, others, first);
		}
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && errno == EAFNOSUPPORT && ai->ai_family == AF_INET6 && !cfg->listen_host[0]) {
		/* A kernel without IPv6 (ipv6.disable=1): every address is
		 * IPv4's alone. The default `listen = PORT` exited 15 there
		 * (round-sixty-five tester 275), as the data plane does not. */
		for (ai = res; ai && ai->ai_family != AF_INET; ai = ai->ai_next) {
		}
		if (ai) {
			rv_info("listen %s: this kernel has no IPv6 (Address family not supported "
				"by protocol): the control channel listens on IPv4 alone",
				where);
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		} else {
			errno = EAFNOSUPPORT;
			ai = res;
		}
	}
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot listen on %s (the control channel's TCP socket): %s",
			 where, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	/* A predecessor killed with -9 keeps its listening socket until the
	 * kernel has torn its control ring down, which may be well after its
	 * TUN and UDP sockets went (the start waited for those): under load a
	 * restart at once exited 15, "Address already in use". */
	snprintf(what, sizeof(what), "TCP %s (control)", where);
	ret = rv_bind_wait(fd, ai->ai_addr, ai->ai_addrlen, port ? RV_BIND_WAIT_MS : 0, what);
	if (ret) {
		char who[200];

		if (ret == -EADDRINUSE &&
		    rv_port_holder(IPPROTO_TCP, ai->ai_addr, who, sizeof(who))) {
			snprintf(err, err_len, "cannot listen on %s: %s, held by %s", where,
				 strerror(-ret), who);
		} else {
			snprintf(err, err_len, "cannot listen on %s: %s", where, strerror(-ret));
		}
		close(fd);
		goto out;
	}
	ret = fd;
out:
	freeaddrinfo(res);
	return ret;
}

bool rv_server_listen_addr(const struct rv_loop *l, struct rv_ip_addr *out, unsigned *ifindex)
{
	struct rv_endpoint ep = { .len = sizeof(ep.in6) };

	if (side(l)->listen_fd < 0 || getsockname(side(l)->listen_fd, &ep.sa, &ep.len) != 0) {
		return false;
	}
	rv_endpoint_addr(&ep, out);
	*ifindex = ep.sa.sa_family == AF_INET6 ? ep.in6.sin6_scope_id : 0;
	return out->family != 0 && !rv_ip_addr_unspecified(out);
}

static int open_listener(struct rv_loop *l, char *err, size_t err_len)
{
	int fd = rv_server_listen_socket(l->cfg, l->cfg->listen_port, err, err_len);

	if (fd < 0) {
		return fd;
	}
	/* A deep backlog: during a connect storm (all clients of a restarted
	 * server at once) the kernel queues them while the loop catches up;
	 * SYN cookies take over beyond it. */
	if (listen(fd, 4096) != 0) {
		int ret = -errno;
		char where[RV_CONFIG_HOST_MAX + 16];

		snprintf(err, err_len, "cannot listen on %s: %s",
			 rv_config_listen_str(l->cfg, where, sizeof(where)), strerror(errno));
		close(fd);
		return ret;
	}
	side(l)->listen_fd = fd;
	return 0;
}

static void arm_accept(struct rv_loop *l);

static void on_accept_retry(struct rv_loop *l, struct rv_ltimer *lt)
{
	(void)lt;
	arm_accept(l);
}

static void arm_accept(struct rv_loop *l)
{
	struct rv_server_side *s = side(l);

	if (l->stopping || s->accept_armed || s->listen_fd < 0) {
		return;
	}
	if (l->io.accept(l->io.ctx, s->listen_fd, rv_udata(RV_OP_CTL_ACCEPT, 0, 0))) {
		rv_loop_arm(l, &s->accept_retry, on_accept_retry, l->now_ns + ACCEPT_RETRY_NS);
		return;
	}
	s->accept_armed = true;
}

/* accept_failed logs a failing accept: at once when the failures begin,
 * then once a minute with their count (the accept is retried ten times a
 * second, each of which would be a line), and rv_server_on_accept says when
 * they end. Connections wait in the kernel's backlog meanwhile. */
static void accept_failed(struct rv_loop *l, struct rv_server_side *s, int res)
{
	s->accept_err = -res;
	if (s->accept_fails++ == 0) {
		s->accept_fail_since_ns = l->now_ns;
		s->accept_fail_logged_ns = l->now_ns;
		rv_warnx("accept: %s%s", strerror(-res),
			 res == -EMFILE || res == -ENFILE
				 ? ": new connections wait until descriptors free up (raise the "
				   "open-file limit, LimitNOFILE= in the unit)"
				 : "");
	} else if (l->now_ns - s->accept_fail_logged_ns >= ACCEPT_LOG_NS) {
		s->accept_fail_logged_ns = l->now_ns;
		rv_warnx("accept: %s, still (%" PRIu64 " failed accepts in %.0f s)", strerror(-res),
			 s->accept_fails, (double)(l->now_ns - s->accept_fail_since_ns) / 1e9);
	}
}

/* How many victims, each found talking, one accept passes over. */
enum { TALKING_CHECKS = 8 };

/* The smallest ClientHello body a TLS 1.3 client sends: version,
 * random, session id, cipher suites, compression and the extensions it
 * needs (supported_versions, key_share, signature_algorithms) come to more
 * than this; a real one is some 250 bytes and more. */
enum { HELLO_MIN = 128 };

/* hello_waiting: does a whole TLS record holding a whole ClientHello wait
 * in |fd|? What the loop, once it reads it, takes for a talking peer
 * (chan.c pump). Any byte was taken for one here, and a flood sending one
 * byte a connection kept every client out (round-thirteen tester 62); so
 * did a record of six bytes claiming a ClientHello of one (tester 63). A
 * ClientHello replayed whole still passes (README, Limitations). */
static bool hello_waiting(int fd)
{
	uint8_t h[9];
	int queued = 0;
	size_t rec, msg;

	if (ioctl(fd, SIOCINQ, &queued) != 0 || queued < (int)sizeof(h) ||
	    recv(fd, h, sizeof(h), MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof(h)) {
		return false;
	}
	rec = (size_t)h[3] << 8 | h[4];
	msg = (size_t)h[6] << 16 | (size_t)h[7] << 8 | h[8];
	/* handshake record (22), TLS 1.x, its first message a ClientHello
	 * (1) of a believable size, whole in the record, the whole record in */
	return h[0] == 22 && h[1] == 3 && h[5] == 1 && msg >= HELLO_MIN && msg + 4 <= rec &&
	       (size_t)queued >= 5 + rec;
}

/* silent_victim: |victim|, or, while it turns out to be talking, the next.
 * A connection whose ClientHello has arrived but was not read yet counts
 * as silent until the loop reads it, and a flood of silent connections
 * from many sources, each within its own limit, made the whole table turn
 * over faster than the loop read: the victim rule ("the source holding the
 * most") took honest connections as often as the flood's, and nobody got in
 * (round-thirteen tester 60: 124 sources, no session in 30 s). A whole
 * ClientHello waiting in the socket promotes the victim (admit.h: HELLO),
 * and the rule picks again. A flood that sends ClientHellos is not stopped
 * by this (README, Limitations). */
static struct rv_admit_entry *silent_victim(struct rv_server_side *s, struct rv_admit_entry *victim)
{
	for (unsigned k = 0; victim && k < TALKING_CHECKS; k++) {
		struct rv_chan *v = container_of(victim, struct rv_chan, admit);
		struct rv_admit_entry *next;

		if (!hello_waiting(v->fd)) {
			break;
		}
		rv_admit_promote(s->admit, victim);
		next = rv_admit_victim(s->admit);
		if (next == victim) {
			break;
		}
		victim = next;
	}
	return victim;
}

void rv_server_on_accept(struct rv_loop *l, int res)
{
	struct rv_server_side *s = side(l);
	struct sockaddr_storage ss;
	struct rv_endpoint ep;
	struct rv_admit_entry *victim;
	struct rv_ip_addr src;
	socklen_t sl = sizeof(ss);
	struct rv_chan *c;
	int one = 1;

	s->accept_armed = false;
	if (res < 0) {
		if (res != -ECANCELED && !l->stopping) {
			accept_failed(l, s, res);
		}
		/* Out of fds or memory: retry shortly, not in a spin. */
		rv_loop_arm(l, &s->accept_retry, on_accept_retry, l->now_ns + ACCEPT_RETRY_NS);
		return;
	}
	if (s->accept_fails != 0) {
		rv_info("accepting connections again after %" PRIu64 " failed accepts in %.1f s",
			s->accept_fails, (double)(l->now_ns - s->accept_fail_since_ns) / 1e9);
		s->accept_fails = 0;
	}
	if (l->stopping) {
		close(res);
		return;
	}
	arm_accept(l);
	memset(&ep, 0, sizeof(ep));
	if (getpeername(res, (struct sockaddr *)&ss, &sl) == 0) {
		(void)rv_endpoint_from_sa(&ep, &ss, sl);
	}
	c = rv_chan_new(l, res, &ep);
	if (!c) {
		rv_warnx_rl("refusing connection: %u connections open", l->num_chans);
		return;
	}
	s->accepted++;
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rv_endpoint_addr(&c->peer, &src); /* a v4-mapped source counts as IPv4 */
	victim = silent_victim(s, rv_admit_add(s->admit, &c->admit, &src));
	if (victim) {
		struct rv_chan *v = container_of(victim, struct rv_chan, admit);

		/* No reason is set, so nothing is logged per eviction: during a
		 * flood that would be a flood of its own. The counter shows in
		 * `ringvpn status`. */
		s->evicted++;
		v->hs_counted = true;
		rv_warnx_rl("half-open connections over the limit: closing %s (%zu sources, "
			    "%zu without ClientHello)",
			    v->peer_str, rv_admit_sources(s->admit),
			    rv_admit_count(s->admit, RV_ADMIT_CONNECTED));
		rv_admit_remove(s->admit, victim);
		rv_chan_close(l, v);
		if (v == c) {
			return;
		}
	}
	rv_chan_start(l, c, NULL);
}

/* ---- the role ---------------------------------------------------------- */

static void server_hello(struct rv_loop *l, struct rv_chan *c)
{
	rv_admit_promote(side(l)->admit, &c->admit);
}

static void server_closing(struct rv_loop *l, struct rv_chan *c);

/* rv_server_end sends GOODBYE(|code|) and releases the session, keys and
 * addresses at once, not when the GOODBYE has gone out: the caller is about
 * to hand them to someone else (a replacing connection, a reloaded pool). */
void rv_server_end(struct rv_loop *l, struct rv_chan *c, enum rv_ctl_code code, const char *reason)
{
	rv_chan_goodbye(l, c, code, reason);
	if (!c->closing && c->ctl) {
		server_closing(l, c);
		rv_ctl_peer_ended(c->ctl, l->now_ns);
		rv_ctl_peer_free(c->ctl);
		c->ctl = NULL;
		c->released = true;
	}
}

/* replace_old ends the session of another connection named like |c|: the
 * newer connection wins, so a client that lost its old connection (crash,
 * NAT timeout) is never locked out by a stale session. Its session and
 * addresses are released now, before the new connection asks for them. */
/* same_host: do two "host:port" strings ("[v6]:port" alike) name one host? */
static bool same_host(const char *a, const char *b)
{
	const char *ea = strrchr(a, ':'), *eb = strrchr(b, ':');

	return ea && eb && ea - a == eb - b && !strncmp(a, b, (size_t)(ea - a));
}

static void replace_old(struct rv_loop *l, struct rv_chan *c)
{
	struct rv_server_side *s = side(l);
	struct rv_name_node *n = rv_nametab_find(s->names, c->name);
	struct rv_chan *o;

	if (!n) {
		return;
	}
	o = container_of(n, struct rv_chan, name_node);
	if (same_host(c->peer_str, o->peer_str)) {
		rv_conn_info(c->quiet, "client %s: new connection from %s replaces the one from %s",
			     c->name, c->peer_str, o->peer_str);
	} else {
		/* From another host: logged whatever the name's rate, the
		 * trace of a copied certificate (a name that had reconnected
		 * often took over from elsewhere at debug level: round-ten
		 * tester 46), each name's first in a minute at least, and
		 * the rest within the log's limit, counted (two hosts
		 * fighting over one certificate wrote a line for each
		 * connection, 44 a second: round-thirty-two tester 170). */
		static struct rv_firsts names;

		rv_log_rl_or(RV_LOG_INFO, rv_info, rv_firsts_new_key(&names, c->name, l->now_ns),
			     "client ...: new connection from ... replaces the one from ... "
			     "(another host)",
			     "client %s: new connection from %s replaces the one from %s", c->name,
			     c->peer_str, o->peer_str);
	}
	s->replaced++;
	rv_server_end(l, o, RV_CTL_CODE_REPLACED,
		      "replaced by a newer connection with the same name");
}

/*
 * name_may_log: may this connection of |name| log its routine lines
 * (authenticated, replaces, assigned, session up, disconnected)? A name
 * that connects and leaves in a loop (a crash loop, a script, a stolen
 * certificate) would otherwise write four lines per connection for ever.
 * Each name gets a burst of QUIET_BURST connections, then one every
 * QUIET_INTERVAL_NS (a token bucket kept as the time the next is due, as
 * core/log.c's); the others log at debug level, and the next one logged
 * says how many were not (|*missed|).
 *
 * Names take slots of a table four times max_clients (at the start),
 * probed QUIET_PROBE at a time from a keyed hash of the name; a slot whose
 * name has its whole burst back (due in the past) is as good as free, and
 * one whose name was logged once and no more is given up next (it gets a
 * fresh burst if it comes back: more lines, never fewer): only names that
 * come back hold slots (a once-only name held one for 30 s, and the table
 * spilled at three quarters full: round-eight tester 39). It
 * had 256 slots, and a collision reset a slot: past ~256 names in a loop
 * (a pool too small for the clients, two copies of a fleet) every
 * connection was logged, 500 lines a second (a hostile tester). A name
 * that finds no slot (more names in a loop than the table holds) shares
 * one bucket with the others that found none, of QUIET_SPILL_BURST lines
 * and one a second after: |*spilled| says so.
 */
enum { QUIET_BURST = 6, QUIET_PROBE = 16, QUIET_SPILL_BURST = 20 };
#define QUIET_INTERVAL_NS (30 * RV_NSEC_PER_SEC)
#define QUIET_SPILL_INTERVAL_NS RV_NSEC_PER_SEC

/* bucket_take: the token bucket of name_may_log on |q|; |*note|: the
 * first connection left out since the bucket was last full (the note that
 * the limit holds was said at every interval: a hostile tester counted two
 * lines a name each 30 s). */
static bool bucket_take(struct rv_name_quiet *q, uint64_t now_ns, unsigned burst,
			uint64_t interval_ns, uint32_t *missed, bool *note)
{
	uint64_t from = q->due_ns > now_ns ? q->due_ns : now_ns;

	if (q->due_ns <= now_ns) {
		q->noted = false;
	}
	if (from - now_ns > (burst - 1) * interval_ns) {
		*missed = ++q->missed;
		*note = !q->noted;
		q->noted = true;
		return false;
	}
	q->due_ns = from + interval_ns;
	*missed = q->missed;
	q->missed = 0;
	return true;
}

/* name_may_log: may this connection of |name| be logged (bucket_take)?
 * |*slot|: the name's slot, or quiet_spill if it found none. */
static bool name_may_log(struct rv_server_side *s, const char *name, uint64_t now_ns,
			 uint32_t *missed, bool *spilled, bool *note, struct rv_name_quiet **slot)
{
	uint64_t hash = rv_siphash(&s->quiet_key, name, strlen(name));
	uint64_t key = hash | 1; /* never 0: 0 marks a slot no name has taken */
	struct rv_name_quiet *q, *spare = NULL, *once = NULL;

	*spilled = false;
	*note = false;
	for (size_t i = 0; i < QUIET_PROBE; i++) {
		q = &s->quiet[((hash >> 1) + i) & (s->quiet_slots - 1)];
		if (q->key == key) {
			*slot = q;
			return bucket_take(q, now_ns, QUIET_BURST, QUIET_INTERVAL_NS, missed, note);
		}
		if (q->held > 0) {
			continue;
		}
		if (!spare && (q->key == 0 || q->due_ns <= now_ns)) {
			spare = q;
		} else if (!once && q->missed == 0 && q->due_ns <= now_ns + QUIET_INTERVAL_NS) {
			once = q;
		}
	}
	if (!spare) {
		spare = once;
	}
	if (spare) {
		*spare = (struct rv_name_quiet){
			.key = key,
			.report_log = { RV_CTL_REPORT_LOG_BURST, now_ns },
		};
		*slot = spare;
		return bucket_take(spare, now_ns, QUIET_BURST, QUIET_INTERVAL_NS, missed, note);
	}
	*spilled = true;
	*slot = &s->quiet_spill;
	return bucket_take(&s->quiet_spill, now_ns, QUIET_SPILL_BURST, QUIET_SPILL_INTERVAL_NS,
			   missed, note);
}

/* The places max_clients counts: one per name that holds a session or
 * waits for its HELLO, once if it does both. */
static size_t places_taken(const struct rv_server_side *s)
{
	return rv_nametab_count(s->names) + rv_nametab_count(s->waiting) - s->waiting_named;
}

/* wait_add puts |c| among those waiting for their HELLO (the table has no
 * other of its name: its caller ended that one). */
static int wait_add(struct rv_server_side *s, struct rv_chan *c)
{
	int ret;

	c->wait_node.name = c->name;
	ret = rv_nametab_insert(s->waiting, &c->wait_node);
	if (ret) {
		c->wait_node.name = NULL;
		return ret;
	}
	c->wait_named = rv_nametab_find(s->names, c->name) != NULL;
	s->waiting_named += c->wait_named;
	return 0;
}

static void wait_del(struct rv_server_side *s, struct rv_chan *c)
{
	if (!c->wait_node.name) {
		return;
	}
	rv_nametab_remove(s->waiting, &c->wait_node);
	c->wait_node.name = NULL;
	s->waiting_named -= c->wait_named;
	c->wait_named = false;
}

/* name_del takes |c|'s session out of the name table: one of its name that
 * waits takes a place of its own from now on. */
static void name_del(struct rv_server_side *s, struct rv_chan *c)
{
	struct rv_name_node *w;

	if (!c->name_node.name) {
		return;
	}
	rv_nametab_remove(s->names, &c->name_node);
	c->name_node.name = NULL;
	w = rv_nametab_find(s->waiting, c->name);
	if (w) {
		struct rv_chan *o = container_of(w, struct rv_chan, wait_node);

		s->waiting_named -= o->wait_named;
		o->wait_named = false;
	}
}

/* say_full: |c| is refused, max_clients places taken; by what (it said
 * "50 sessions" while 50 connections that never said HELLO held them and
 * status showed no session: a hostile tester). */
static void say_full(struct rv_loop *l, const struct rv_chan *c)
{
	struct rv_server_side *s = side(l);

	rv_warnx_rl("client %s (%s) refused: server full (max_clients %u: %zu sessions, %zu "
		    "authenticated connections awaiting their HELLO)",
		    c->name, c->peer_str, l->cfg->max_clients, rv_nametab_count(s->names),
		    rv_nametab_count(s->waiting) - s->waiting_named);
}

static void server_authenticated(struct rv_loop *l, struct rv_chan *c)
{
	struct rv_server_side *s = side(l);
	uint8_t exp[RV_EXPORTER_LEN];
	struct rv_name_node *wait;
	struct rv_name_quiet *slot;
	uint32_t missed = 0;
	bool spilled, note;

	rv_admit_remove(s->admit, &c->admit);
	s->hs_ok++;
	rv_status_hs_observe(s->hs_buckets, &s->hs_sum, &s->hs_count,
			     (double)(l->now_ns - c->start_ns) / 1e9);
	c->quiet = !name_may_log(s, c->name, l->now_ns, &missed, &spilled, &note, &slot);
	if (note && spilled) {
		rv_info("more client names connect and leave often than the server keeps apart "
			"(a table of %zu: four times max_clients at the start, 256 at least): the "
			"connections of "
			"the others are logged %d at once, then one a second, the rest at debug "
			"level",
			s->quiet_slots, QUIET_SPILL_BURST);
	} else if (note) {
		rv_info("client %s connects and leaves often (%d times in a row within %u s): of "
			"its next connections one in %u s is logged, the others at debug level",
			c->name, QUIET_BURST + 1,
			(unsigned)((QUIET_BURST - 1) * QUIET_INTERVAL_NS / RV_NSEC_PER_SEC),
			(unsigned)(QUIET_INTERVAL_NS / RV_NSEC_PER_SEC));
	}
	/* One connection of a name waits for its HELLO at a time: a newer one
	 * takes the older one's place at once. Those waiting count against
	 * the limit with the sessions; one whose name holds a session does
	 * not (it replaces that one at its HELLO: server_on_hello). */
	wait = rv_nametab_find(s->waiting, c->name);
	if (wait) {
		struct rv_chan *o = container_of(wait, struct rv_chan, wait_node);

		rv_server_end(l, o, RV_CTL_CODE_REPLACED,
			      "replaced by a newer connection with the same name before its HELLO");
	}
	if (places_taken(s) >= l->cfg->max_clients && !rv_nametab_find(s->names, c->name) &&
	    !wait) {
		say_full(l, c);
		rv_chan_send_error(l, c, RV_CTL_CODE_FULL, "server full");
		c->reason[0] = '\0'; /* said above; not again at the close */
		s->refused_full++;
		return;
	}
	if (rv_tls_conn_export(c->tls, exp, sizeof(exp))) {
		rv_chan_send_error(l, c, RV_CTL_CODE_INTERNAL, "TLS exporter unavailable");
		return;
	}
	c->ctl = rv_ctl_server_new(&l->env, c->name, exp, l->now_ns);
	rv_memzero(exp, sizeof(exp));
	if (!c->ctl) {
		rv_chan_send_error(l, c, RV_CTL_CODE_INTERNAL, "out of memory");
		return;
	}
	c->ctl->quiet = c->quiet;
	c->ctl->report_log_shared = &slot->report_log;
	c->quiet_slot = slot;
	slot->held++;
	c->ctl->owner = c;
	if (wait_add(s, c) != 0) {
		/* -EEXIST cannot happen (the older one left above). */
		rv_chan_send_error(l, c, RV_CTL_CODE_INTERNAL, "out of memory");
		return;
	}
	/* Its session ends when its certificate does (reload.c's expiry
	 * check), not at whatever reload comes next. */
	c->peer_not_after = rv_tls_conn_peer_not_after(c->tls);
	rv_watch_expiry_at(l, c->peer_not_after);
	if (!c->quiet && missed && spilled) {
		rv_info("client %s authenticated from %s (%u connection(s) of names the server "
			"does not keep apart were not logged since the last one)",
			c->name, c->peer_str, missed);
	} else if (!c->quiet && missed) {
		rv_info("client %s authenticated from %s (%u connection(s) of this name since "
			"the last one logged were not: past %d in a row it is logged once in "
			"%u s)",
			c->name, c->peer_str, missed, QUIET_BURST,
			(unsigned)(QUIET_INTERVAL_NS / RV_NSEC_PER_SEC));
	} else {
		rv_conn_info(c->quiet, "client %s authenticated from %s", c->name, c->peer_str);
	}
}

/* server_on_hello (env->on_hello): the connection's HELLO is accepted: it
 * replaces another connection of its name now, and holds the name. */
static int server_on_hello(void *ctx, struct rv_ctl_peer *p)
{
	struct rv_loop *l = ctx;
	struct rv_chan *c = p->owner;
	struct rv_server_side *s = side(l);
	int ret;

	wait_del(s, c);
	/* Judged before the session it replaces ends: a connection refused
	 * here ended a working session too (round-twenty-nine tester 142).
	 * One whose name holds a session takes its place. Others took the
	 * places while this one said HELLO (counted by the close's code, as
	 * ended with FULL). */
	if (!rv_nametab_find(s->names, c->name) && places_taken(s) >= l->cfg->max_clients) {
		say_full(l, c);
		return -ENOSPC;
	}
	replace_old(l, c);
	c->name_node.name = c->name;
	ret = rv_nametab_insert(s->names, &c->name_node);
	if (ret) {
		/* -EEXIST cannot happen (replace_old removed the old one);
		 * -ENOMEM leaves the node out of a table that could not grow. */
		c->name_node.name = NULL;
	}
	return ret;
}

static void server_progressed(struct rv_loop *l, struct rv_chan *c)
{
	(void)l;
	(void)c;
}

/* refused_for_protocol: did the server end |c| for what the client sent
 * (a malformed or unexpected message, a HELLO it cannot serve, a failed key
 * exchange)? */
static bool refused_for_protocol(const struct rv_chan *c)
{
	unsigned code = rv_ctl_peer_sent_code(c->ctl);

	/* RATE before a session: a flood of TLS KeyUpdates (counted nowhere:
	 * round-sixty-two tester 256). */
	return code == RV_CTL_CODE_PROTOCOL || code == RV_CTL_CODE_VERSION ||
	       code == RV_CTL_CODE_KEY || code == RV_CTL_CODE_RATE;
}

/* count_end counts why the server ended |c|'s session. A connection
 * without one (waiting for its HELLO, refused at it) ended no session:
 * a CRL revoking a name that only waited, a timeout of the wait or a HELLO
 * refused as a protocol error were counted as sessions ended
 * (round-fourteen tester 68). Its TLS handshake is counted (ok), and the
 * log says why it closed. Refusals (server full, no address) are counted
 * as such, and have no session by nature. */
static void count_end(struct rv_server_side *s, struct rv_chan *c)
{
	unsigned code = rv_ctl_peer_sent_code(c->ctl);

	if (code == RV_CTL_CODE_FULL || code == RV_CTL_CODE_NO_ADDRESS) {
		s->ended[code]++;
	} else if (!rv_ctl_peer_session(c->ctl)) {
		/* Refused for what it sent before its session (a cipher it
		 * cannot use): no session ended, but a refusal, which left no
		 * trace in any count (round-twenty-one tester 94). */
		s->refused_protocol += refused_for_protocol(c) || c->tls_broken;
		s->refused_no_hello += code == RV_CTL_CODE_TIMEOUT;
		return;
	} else if (c->cert_expired) {
		s->expired++; /* sent as REVOKED (reload.c, reverify) */
	} else if (c->cert_untrusted) {
		s->untrusted++; /* the same */
	} else if (code != RV_CTL_CODE_NONE && code < RV_CTL_CODE_MAX) {
		s->ended[code]++;
	} else if (c->tls_broken) {
		s->tls_broken++; /* a record forged or broken on the way: not the client leaving */
	} else if (c->closed_here) {
		return; /* this end's doing (a slow reader: counted as such), not the client's */
	} else if (rv_ctl_peer_got_goodbye(c->ctl)) {
		s->left_goodbye++; /* the client ended it, and said so */
	} else if (rv_ctl_peer_got_error(c->ctl)) {
		s->left_error++;
	} else {
		s->left_closed++; /* the connection closed or broke, nothing said */
	}
}

static void server_closing(struct rv_loop *l, struct rv_chan *c)
{
	struct rv_server_side *s = side(l);
	const char *why, *left;

	rv_admit_remove(s->admit, &c->admit);
	name_del(s, c);
	wait_del(s, c);
	if (c->quiet_slot) {
		c->quiet_slot->held--;
		c->quiet_slot = NULL;
	}
	if (c->tls_failed && !c->authed) {
		s->hs_failed++;
		s->hs_refused[c->refusal]++;
	} else if (!c->authed && !c->hs_counted && !l->stopping) {
		/* Closed or reset by the caller before it finished: not a
		 * TLS failure, but it was in no count at all. */
		s->hs_aborted++;
	}
	if (c->released) {
		return; /* logged when its peer was released */
	}
	if (!c->ctl) {
		if (c->reason[0] && c->authed) {
			rv_conn_info(c->quiet, "client %s (%s): connection closed: %s", c->name,
				     c->peer_str, c->reason);
		} else if (c->reason[0] && !l->stopping) {
			rv_debug("connection from %s closed: %s", c->peer_str, c->reason);
		}
		return;
	}
	count_end(s, c);
	if (rv_ctl_peer_sent_code(c->ctl) == RV_CTL_CODE_NO_ADDRESS) {
		/* Refused, as "server full" is: said whatever the name's
		 * connections-and-leaves limit, and nothing was held. */
		rv_warnx_rl("client %s (%s) refused: %s", c->name, c->peer_str,
			    c->reason[0] ? c->reason : rv_ctl_peer_reason(c->ctl));
		return;
	}
	/* One that never had a session says so: the log is the only record
	 * of it (count_end; round-fourteen tester 69). The server's verdict
	 * on what the client sent is a failure, said at warn whatever the
	 * name's connects-and-leaves limit (a client refused at every HELLO
	 * was said once in 30 s, at info: round-twenty-one tester 94). */
	why = c->reason[0] ? c->reason : rv_ctl_peer_reason(c->ctl);
	left = rv_ctl_peer_session(c->ctl) ? "session, keys and address released"
					   : "it had no session yet";
	if (refused_for_protocol(c) || c->tls_broken ||
	    rv_ctl_peer_sent_code(c->ctl) == RV_CTL_CODE_RATE) {
		/* The shared limit only for a name that connects and leaves
		 * often: one client's flood of refusals hid another's
		 * (round-twenty-two tester 97). A session ended for asking
		 * too much is a verdict on the client too (it went to debug
		 * once the name connected and left often: round-thirty-six
		 * tester 177). */
		rv_warnx_rl_or(!c->quiet, "client %s (%s): disconnected: %s; %s", c->name,
			       c->peer_str, why, left);
	} else {
		rv_conn_info(c->quiet, "client %s (%s): disconnected: %s; %s", c->name, c->peer_str,
			     why, left);
	}
}

/* ---- the lease file (tls/leasefile.h) ----------------------------------- */

static void on_lease_timer(struct rv_loop *l, struct rv_ltimer *lt)
{
	rv_leasefile_flush(side(l)->lease_file, l->now_ns);
	rv_loop_arm(l, lt, on_lease_timer, l->now_ns + LEASE_FLUSH_NS);
}

struct rv_admit_limits rv_server_admit_limits(const struct rv_config *cfg)
{
	struct rv_admit_limits lim = { .max_total = rv_config_max_handshaking(cfg) };

	lim.max_per_source = cfg->max_handshaking_per_source;
	if (lim.max_per_source == 0 || lim.max_per_source > lim.max_total) {
		lim.max_per_source = lim.max_total;
	}
	return lim;
}

/* A session's addresses and networks name its lane on the TUN side too:
 * the demux tells of each change, on whichever path made it (a session
 * made or gone, a network published, pruned or handed over by a reload). */
static void on_demux_change(void *ctx, const struct rv_prefix *key, bool own,
			    const struct rv_session *owner)
{
	struct rv_loop *l = ctx;

	rv_dataplane_lane_changed(l->dp, key, own, owner);
}

static int server_start(struct rv_loop *l, char *err, size_t err_len)
{
	struct rv_admit_limits lim = rv_server_admit_limits(l->cfg);
	struct rv_server_side *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	s->listen_fd = -1;
	l->role_state = s;
	rv_siphash_key_init(&s->quiet_key);
	s->quiet_spill.report_log = (struct rv_ctl_bucket){ RV_CTL_REPORT_LOG_BURST, l->now_ns };
	s->quiet_slots = 256;
	while (s->quiet_slots < 4 * (size_t)l->cfg->max_clients) {
		s->quiet_slots <<= 1;
	}
	s->quiet = calloc(s->quiet_slots, sizeof(*s->quiet));
	s->admit = rv_admit_new(&lim);
	s->names = rv_nametab_new(l->cfg->max_clients);
	s->waiting = rv_nametab_new(l->cfg->max_clients);
	/* A record per address: each pool hands out up to twice max_clients
	 * (rv_ippool), both pools together four times; twice in all lost
	 * the leases of clients away past max_clients + 32 names
	 * (round-thirty tester 155). */
	s->leases = rv_leases_new(4 * (size_t)l->cfg->max_clients + 64,
				  (uint64_t)l->cfg->lease_time_ms * RV_NSEC_PER_MSEC);
	if (!s->quiet || !s->admit || !s->names || !s->waiting || !s->leases) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	ret = rv_ippool_reserve_fixed(l->env.pool, l->cfg, err, err_len);
	if (ret) {
		return ret;
	}
	l->env.leases = s->leases;
	if (l->cfg->lease_file[0]) {
		ret = rv_leasefile_open(&s->lease_file, s->leases, l->cfg->lease_file,
					l->p.service_uid, l->p.service_gid, l->now_ns, err,
					err_len);
		if (ret) {
			return ret;
		}
	}
	rv_loop_arm(l, &s->lease_timer, on_lease_timer, l->now_ns + LEASE_FLUSH_NS);
	l->env.data_port = l->dp ? rv_dataplane_port(l->dp) : l->cfg->data_port;
	/* No data-channel keepalives from the server: the client sends one
	 * every keepalive, which is what keeps a NAT mapping in front of it
	 * open and tells the server its endpoint; the server's would only
	 * cost it one send per session per keepalive (at 10,000 sessions,
	 * a sixth of its steady control-thread CPU: README, "Control plane
	 * at scale"). Liveness is the control channel's business both ways. */
	l->env.send_keepalive = NULL;
	l->env.on_hello = server_on_hello;
	rv_demux_watch(l->env.demux, on_demux_change, l);
	ret = rv_subnets_hold(l->env.demux, l->cfg);
	if (ret) {
		snprintf(err, err_len, "cannot hold the networks behind clients: %s",
			 strerror(-ret));
		return ret;
	}
	ret = rv_server_balance_start(l);
	if (ret) {
		snprintf(err, err_len, "out of memory");
		return ret;
	}
	ret = open_listener(l, err, err_len);
	if (ret) {
		return ret;
	}
	arm_accept(l);
	return 0;
}

static void server_stop(struct rv_loop *l)
{
	struct rv_server_side *s = side(l);

	/* A pending accept completes with an error; nothing new comes in. */
	if (s->listen_fd >= 0) {
		shutdown(s->listen_fd, SHUT_RDWR);
	}
	rv_loop_disarm(l, &s->accept_retry);
}

static void server_free(struct rv_loop *l)
{
	struct rv_server_side *s = side(l);

	if (!s) {
		return;
	}
	/* The watcher's context is |l|, about to go. */
	rv_demux_watch(l->env.demux, NULL, NULL);
	rv_server_balance_free(l);
	rv_leasefile_close(s->lease_file, l->now_ns);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
	}
	rv_admit_free(s->admit);
	rv_nametab_free(s->names);
	rv_nametab_free(s->waiting);
	rv_leases_free(s->leases);
	if (!rv_tunwatch_renamed(l)) { /* else the name is another link's */
		rv_server_tun_withdraw(l->dp, l->env.pool);
	}
	rv_ippool_free(l->env.pool);
	l->env.pool = NULL;
	free(s->quiet);
	free(s);
	l->role_state = NULL;
}

/* handshaking counts the half-open connections, before and after their
 * ClientHello. */
static size_t handshaking(const struct rv_server_side *s)
{
	return rv_admit_count(s->admit, RV_ADMIT_CONNECTED) +
	       rv_admit_count(s->admit, RV_ADMIT_HELLO);
}

/* fill_subnets gives |st| the networks behind clients: whose, whether a
 * session of that name holds it now, whether the TUN routes it. */
static void fill_subnets(struct rv_loop *l, struct rv_status *st)
{
	_Static_assert((int)RV_STATUS_MAX_SUBNETS == (int)RV_CONFIG_MAX_SUBNETS,
		       "one place per subnet");
	st->num_subnets = l->cfg->num_subnets;
	for (size_t i = 0; i < st->num_subnets; i++) {
		const struct rv_config_subnet *n = &l->cfg->subnets[i];
		struct rv_status_subnet *o = &st->subnets[i];
		struct rv_chan *c = rv_server_find(l, n->name);

		snprintf(o->name, sizeof(o->name), "%s", n->name);
		o->p = n->p;
		o->override = n->override;
		o->live = c && c->ctl && c->ctl->session;
		o->routed = !rv_subnets_taken(&n->p);
	}
}

static int server_report(struct rv_loop *l, struct rv_status *st)
{
	struct rv_server_side *s = side(l);
	const struct rv_config *cfg = l->cfg;
	struct rv_chan *c;

	st->role = "server";
	rv_config_listen_str(cfg, st->listen, sizeof(st->listen));
	st->data_port = l->env.data_port;
	st->sessions = rv_nametab_count(s->names);
	/* Those waiting for their HELLO are still setting up. */
	st->handshaking = handshaking(s);
	st->awaiting_hello = rv_nametab_count(s->waiting);
	st->accepted = s->accepted;
	st->listen_gone = l->listen_gone_said;
	st->left_goodbye = s->left_goodbye;
	st->left_error = s->left_error;
	st->left_closed = s->left_closed;
	st->hs_ok = s->hs_ok;
	st->hs_failed = s->hs_failed;
	st->hs_revoked = s->hs_refused[RV_TLS_REFUSED_REVOKED];
	st->hs_expired = s->hs_refused[RV_TLS_REFUSED_EXPIRED];
	st->hs_untrusted = s->hs_refused[RV_TLS_REFUSED_UNTRUSTED];
	st->hs_aborted = s->hs_aborted;
	st->refused_full = s->refused_full + s->ended[RV_CTL_CODE_FULL];
	st->refused_no_address = s->ended[RV_CTL_CODE_NO_ADDRESS];
	st->refused_protocol = s->refused_protocol;
	st->refused_no_hello = s->refused_no_hello;
	st->hs_evicted = s->evicted;
	st->replaced = s->replaced;
	st->moves = s->moves;
	st->away = l->dp ? rv_dataplane_pins(l->dp) : 0;
	st->kicked = s->ended[RV_CTL_CODE_KICKED];
	st->revoked = s->ended[RV_CTL_CODE_REVOKED];
	st->expired = s->expired;
	st->untrusted = s->untrusted;
	st->rate_limited = s->ended[RV_CTL_CODE_RATE];
	st->reconfigured = s->ended[RV_CTL_CODE_RECONFIG];
	st->timed_out = s->ended[RV_CTL_CODE_TIMEOUT];
	st->protocol_errors = s->ended[RV_CTL_CODE_PROTOCOL] + s->ended[RV_CTL_CODE_VERSION] +
			      s->ended[RV_CTL_CODE_KEY] + s->tls_broken;
	st->pool4_in_use = rv_ippool_in_use(l->env.pool, AF_INET);
	st->pool4_size = rv_ippool_capacity(l->env.pool, AF_INET);
	st->pool6_in_use = rv_ippool_in_use(l->env.pool, AF_INET6);
	st->pool6_size = rv_ippool_capacity(l->env.pool, AF_INET6);
	st->tun_lanes = rv_dataplane_lane_entries(l->dp);
	if (s->accept_fails) {
		st->accept_failures = s->accept_fails;
		st->accept_failing_s = (l->now_ns - s->accept_fail_since_ns) / RV_NSEC_PER_SEC;
		snprintf(st->accept_error, sizeof(st->accept_error), "%s", strerror(s->accept_err));
	}
	if (s->lease_file) {
		uint64_t since;

		st->lease_file.configured = true;
		st->lease_file.unsaved = rv_leasefile_unsaved(s->lease_file, st->lease_file.why,
							      sizeof(st->lease_file.why), &since);
		if (st->lease_file.unsaved) {
			st->lease_file.unsaved_s =
				(l->now_ns > since ? l->now_ns - since : 0) / RV_NSEC_PER_SEC;
		}
	}
	memcpy(st->hs_buckets, s->hs_buckets, sizeof(st->hs_buckets));
	st->hs_sum = s->hs_sum;
	st->hs_count = s->hs_count;
	fill_subnets(l, st);
	rv_chans_foreach(l, i, c)
	{
		struct rv_status_peer *p;

		if (!c->ctl) {
			continue;
		}
		p = rv_status_add_peer(st);
		if (!p) {
			return -ENOMEM;
		}
		rv_chan_fill_status(l, c, p);
		if (l->dp && rv_dataplane_lanes(l->dp) > 1 && rv_ctl_peer_session(c->ctl)) {
			p->worker = (int)rv_demux_lane_of(rv_ctl_peer_session(c->ctl));
		}
	}
	return 0;
}

/* server_linger_ns: a server with thousands of connections has
 * completions due every fraction of a millisecond once they are all up
 * (keepalives), and waking for each costs more than the work. So it
 * gathers them for a few milliseconds, except while any handshake is in
 * flight: a handshake takes several round trips and real CPU, and holding
 * each step back would stretch a connect storm several-fold. */
static uint64_t server_linger_ns(struct rv_loop *l)
{
	struct rv_server_side *s = side(l);

	return handshaking(s) ? 0 : SERVER_LINGER_NS;
}

const struct rv_role rv_server_role = {
	.name = "server",
	.start = server_start,
	.stop = server_stop,
	.free = server_free,
	.hello = server_hello,
	.authenticated = server_authenticated,
	.progressed = server_progressed,
	.closing = server_closing,
	.report = server_report,
	.linger_ns = server_linger_ns,
	.timer_slack_ns = SERVER_TIMER_SLACK_NS,
};

/* ---- operator actions -------------------------------------------------- */

struct rv_chan *rv_server_find(struct rv_loop *l, const char *name)
{
	struct rv_name_node *n =
		l->role == &rv_server_role ? rv_nametab_find(side(l)->names, name) : NULL;

	return n ? container_of(n, struct rv_chan, name_node) : NULL;
}

struct rv_chan *rv_server_find_waiting(struct rv_loop *l, const char *name)
{
	struct rv_name_node *n =
		l->role == &rv_server_role ? rv_nametab_find(side(l)->waiting, name) : NULL;

	return n ? container_of(n, struct rv_chan, wait_node) : NULL;
}

size_t rv_server_sessions(const struct rv_loop *l)
{
	return l->role == &rv_server_role ? rv_nametab_count(side(l)->names) : 0;
}
