/*
 * dial.c — the client role of the control loop: pick a server, resolve its
 * name (again on every attempt: addresses change), connect, and after every
 * loss reconnect with jittered exponential backoff, failing over to the
 * next configured server.
 *
 * Name resolution blocks in getaddrinfo, so it runs on a short-lived helper
 * thread that reports through an eventfd read on the control ring; the
 * loop keeps serving the management socket meanwhile. An IP literal needs
 * no thread.
 *
 * Backoff: after an attempt that failed or a session that ended, the next
 * attempt waits a random time in [backoff/2, 3*backoff/2), so a thousand
 * clients of a restarted server come back spread over the window instead
 * of in lockstep; backoff doubles after every failed attempt (from
 * reconnect_min up to reconnect_max) and starts over once a session has
 * been running for STABLE_MS. A session that ends sooner counts as a
 * failed attempt, for the backoff, for max_attempts and for the failover:
 * a server that lets the client in and drops it at once (a crash loop, a
 * broken or hostile server) was otherwise reconnected to every
 * reconnect_min for ever, and --max-attempts never ended it. While servers
 * remain untried in the current round, the next one is tried after
 * reconnect_min only.
 */
#include <arpa/inet.h>
#include <linux/capability.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/status.h"
#include "crypto/kdf.h"
#include "crypto/mem.h"
#include "crypto/rand.h"
#include "tls/ctl_client.h"
#include "tls/internal.h"
#include "uring/dataplane.h"
#include "uring/rtnl.h"

/* A name's addresses tried in turn: one that does not accept the TCP
 * connection within handshake_timeout gives way to the next, before the
 * next server is tried. */
#define RESOLVE_MAX 4

/* How long a session runs before it counts as a success. Longer than a
 * few keepalives and a first rekey, so a server that drops its clients
 * soon after they come up is caught; short enough that a session ended by
 * an ordinary server restart or reload has usually passed it. */
#define STABLE_MS 10000

struct resolve_job {
	char host[RV_CONFIG_HOST_MAX];
	char port[8];
	struct sockaddr_storage sa[RESOLVE_MAX];
	socklen_t sa_len[RESOLVE_MAX];
	unsigned num; /* addresses in sa[] */
	int err;      /* getaddrinfo result */
};

/* struct resolve_req is one lookup on a thread of its own, on the heap:
 * getaddrinfo cannot be interrupted, and a client told to stop must not
 * wait for a resolver that does not answer (up to timeout x attempts x
 * nameservers: past systemd's stop timeout). The thread is detached; the
 * loop and the thread each hold a reference, the last one frees it, and
 * the thread writes the loop's eventfd through a duplicate of its own. */
struct resolve_req {
	_Atomic int refs;
	_Atomic bool done; /* the results below are written */
	int efd;
	struct resolve_job job;
};

/* Lookup threads alive, abandoned ones included: a reload that takes the
 * name being looked up out of the list abandons its lookup, but past this
 * many it lets the lookup end instead (the new list is tried then), so a
 * storm of reloads under a resolver that does not answer cannot pile up a
 * thread per reload for the resolver's whole timeout. */
#define RESOLVE_THREADS_MAX 4
static _Atomic unsigned resolve_threads;

static void req_put(struct resolve_req *r)
{
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
		free(r);
	}
}

struct rv_client_side {
	struct rv_chan *chan; /* the connection to the server, or NULL */
	struct rv_ltimer retry;
	struct rv_ltimer stable_timer; /* STABLE_MS after the tunnel came up */
	unsigned failed_attempts, tried_in_round;
	uint64_t tunnels_up, attempts_failed; /* since the start (status) */
	char last_end[RV_STATUS_TEXT_MAX];    /* why the last connection ended */
	uint64_t last_end_ns;		      /* when (0: none yet) */
	/* Why the last attempt failed, and when: status said only how many
	 * had, while the client never got in (round-twenty-nine tester 147). */
	char last_failure[RV_STATUS_TEXT_MAX];
	uint64_t last_failure_ns;
	uint32_t backoff_ms;
	enum rv_loop_exit last_fail; /* how to give up after the last failure */
	bool up;		     /* the current connection's tunnel came up */
	bool stable;		     /* and stayed up for STABLE_MS */
	bool roamed;		     /* it ended for this host's address gone */
	bool config_failed;	     /* the current connection's CONFIG could not be applied */
	/* The retry waiting follows an attempt that found no way to the
	 * server (unreachable), and may be brought forward once when the
	 * host's network changes: not after a kick or a replacement, which
	 * wait on purpose, nor after a refusal (the way was there), and not
	 * twice within reconnect_max (hastened_ns): a host whose routes churn
	 * made a retry every 0.6 s against a server that kept refusing
	 * (round-fifty-five tester 231). */
	bool unreachable, may_hasten;
	uint64_t hastened_ns;
	/* Since when the way to the server leaves from the tunnel's own
	 * address alone (0: it does not; way_from). */
	uint64_t tunnel_way_ns;
	/* rv_client_net_changed looks again while it does (an address
	 * tentative): the change that ends it may come unsaid. */
	struct rv_ltimer way_recheck;
	unsigned way_rechecks;
	/* A reload restarted the list (server_order, the servers): the next
	 * connection takes server_idx as it is, even after a session that
	 * counted as a failed attempt (it took the next one: tester 234). */
	bool list_restarted;
	size_t server_idx;
	/* resolution */
	int efd;
	uint64_t efd_val;
	bool resolving;
	struct resolve_req *req; /* while resolving */
	struct resolve_job job;
	unsigned addr_idx; /* of job.sa[], connected to or tried now */
	/* the server being talked to */
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char server_str[RV_CONFIG_HOST_MAX + 96];
	struct rv_ip_addr last4, last6; /* addresses of the last CONFIG, asked back */
	/* The last answers of the names looked up (host, port and addresses;
	 * err unused), for when a lookup fails: a pushed route that covers
	 * the nameserver leads its queries into the tunnel, which is down
	 * while the client reconnects (it never got back in). One per listed
	 * name: best_way looks at each (4 left a list of 5 names unjudged:
	 * round-seventy tester 326). */
	struct resolve_job known[RV_CONFIG_MAX_SERVERS];
	unsigned known_next;
	/* The end of our own certificate the current connection was made
	 * with, and the reconnection a renewal asks for before it. */
	int64_t chan_cert_end;
	uint8_t chan_cert_id[32]; /* rv_tls_ctx_own_id of the certificate it was made with */
	struct rv_ltimer renew_timer;
};

static struct rv_client_side *side(const struct rv_loop *l)
{
	return l->role_state;
}

/* note_failure records why an attempt failed, for status. */
RV_PRINTF(2, 3) static void note_failure(struct rv_loop *l, const char *fmt, ...)
{
	struct rv_client_side *s = side(l);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_failure, sizeof(s->last_failure), fmt, ap);
	va_end(ap);
	s->last_failure_ns = l->now_ns ? l->now_ns : 1;
}

/* The configured servers, in order. */
static size_t num_servers(const struct rv_config *cfg)
{
	return cfg->num_servers ? cfg->num_servers : 1;
}

static void server_at(const struct rv_config *cfg, size_t i, const char **host, uint16_t *port)
{
	if (cfg->num_servers == 0) {
		*host = cfg->server_host;
		*port = cfg->server_port;
		return;
	}
	i %= cfg->num_servers;
	*host = cfg->servers[i].host;
	*port = cfg->servers[i].port;
}

static void up_send_keepalive(void *ctx, struct rv_session *s, bool echo)
{
	struct rv_loop *l = ctx;

	if (l->dp && s) {
		(void)rv_dataplane_send_keepalive(l->dp, s, echo);
	}
}

/* ---- backoff ----------------------------------------------------------- */

int rv_client_local_failure(struct rv_loop *l, int err)
{
	int e = err < 0 ? -err : err;

	switch (e) {
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		rv_warnx("giving up: this host is out of %s (raise the open-file limit, "
			 "LimitNOFILE= in the unit)",
			 e == ENOMEM ? "memory" : "file descriptors");
		l->exit = RV_LOOP_FAILED;
		l->done = true;
		break;
	case ENODEV:
		rv_warnx("giving up: TUN %s is gone",
			 l->dp ? rv_dataplane_tun_name(l->dp) : "device");
		l->exit = RV_LOOP_TUN_FAILED;
		l->done = true;
		break;
	default:
		break;
	}
	return err;
}

static void attempt(struct rv_loop *l);

static void on_retry(struct rv_loop *l, struct rv_ltimer *lt)
{
	(void)lt;
	attempt(l);
}

/* schedule_retry arms the next attempt after a connection ended: a
 * success when it ran for STABLE_MS (|stable|), a failed attempt
 * otherwise; |fail| is how to give up if this failure is the last one
 * max_attempts allows (RV_LOOP_GAVE_UP_* and the like: the last failure's
 * kind decides the exit code). */
static void schedule_retry(struct rv_loop *l, bool stable, enum rv_loop_exit fail, bool kicked,
			   bool replaced)
{
	struct rv_client_side *s = side(l);
	const struct rv_config *cfg = l->cfg;
	uint32_t delay;

	if (l->stopping || l->done) {
		return;
	}
	/* A kick is no failure of the server's, however soon it came; nor is
	 * the replacement of a session that ran (another holder of the
	 * certificate took over). One replaced before it ran is a failed
	 * attempt: a server that answered every HELLO so kept a client with
	 * --max-attempts going for ever (a hostile tester). */
	if (stable || kicked) {
		s->failed_attempts = 0;
		s->tried_in_round = 0;
		/* An operator who kicks a client wants it gone for a while, not
		 * back within a second: it waits the longest backoff. */
		s->backoff_ms = kicked || replaced ? cfg->reconnect_max_ms : cfg->reconnect_min_ms;
	} else {
		s->failed_attempts++;
		s->attempts_failed++;
		s->tried_in_round++;
		s->last_fail = fail;
		/* Fail over: the next server of the list. */
		if (!s->list_restarted) {
			s->server_idx = (s->server_idx + 1) % num_servers(cfg);
		}
		if (replaced) {
			s->backoff_ms = cfg->reconnect_max_ms;
		}
	}
	s->list_restarted = false;
	if (l->p.max_attempts && s->failed_attempts >= l->p.max_attempts) {
		rv_warnx("giving up after %u failed attempt%s", s->failed_attempts,
			 s->failed_attempts == 1 ? "" : "s");
		l->exit = s->last_fail;
		l->done = true;
		return;
	}
	if (!stable && !kicked && !replaced && s->tried_in_round < num_servers(cfg)) {
		delay = cfg->reconnect_min_ms; /* an untried server: go on */
	} else {
		if (s->tried_in_round >= num_servers(cfg)) {
			s->tried_in_round = 0;
		}
		delay = s->backoff_ms / 2 + rv_rand_u32() % (s->backoff_ms + 1);
		s->backoff_ms = s->backoff_ms > cfg->reconnect_max_ms / 2 ? cfg->reconnect_max_ms
									  : s->backoff_ms * 2;
	}
	rv_info("reconnecting in %u ms", delay);
	s->may_hasten =
		!stable && !kicked && !replaced && fail == RV_LOOP_GAVE_UP_NET && s->unreachable &&
		(s->hastened_ns == 0 ||
		 l->now_ns - s->hastened_ns >= (uint64_t)cfg->reconnect_max_ms * RV_NSEC_PER_MSEC);
	rv_loop_arm(l, &s->retry, on_retry, l->now_ns + (uint64_t)delay * RV_NSEC_PER_MSEC);
}

/* How long after the host's network changed a retry waiting out its
 * backoff comes: the rest of a change (an address, then its routes; a
 * DHCP lease's) has arrived by then. */
#define NET_CHANGED_MS 500

/* way_to: would a datagram to |sa| leave now, from an address of the
 * host's own (way_from: to the server's address)? A UDP socket connected to it (nothing is
 * sent) is given the route's source: none where no route leads (or an
 * unreachable, prohibit or blackhole one), and the tunnel's own address
 * where the host's new one is still tentative (IPv6 duplicate address
 * detection): the attempt then waited out its TCP timeout and used the
 * credit up (round-fifty-six tester 236). */
enum way {
	WAY_OK,	    /* from an address of the host's own (or cannot tell) */
	WAY_NONE,   /* no route */
	WAY_TUNNEL, /* from the tunnel's own address */
};

static enum way way_to(const struct rv_client_side *s, const struct sockaddr_storage *sa,
		       socklen_t sa_len)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct rv_endpoint ep;
	struct rv_ip_addr src;
	enum way way = WAY_NONE;
	int fd = socket(sa->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		return WAY_OK; /* cannot tell: the attempt will */
	}
	if (connect(fd, (const struct sockaddr *)sa, sa_len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    rv_endpoint_from_sa(&ep, &ss, len)) {
		rv_endpoint_addr(&ep, &src);
		way = rv_ip_addr_equal(&src, &s->last4) || rv_ip_addr_equal(&src, &s->last6)
			      ? WAY_TUNNEL
			      : WAY_OK;
	}
	close(fd);
	return way;
}

static enum way way_from(const struct rv_client_side *s)
{
	return way_to(s, &s->sa, s->sa_len);
}

/* listed: is the server |j| names (its host and port) in |cfg|'s list? */
static bool listed(const struct rv_config *cfg, const struct resolve_job *j)
{
	for (size_t i = 0; i < num_servers(cfg); i++) {
		const char *host;
		uint16_t port;
		char p[8];

		server_at(cfg, i, &host, &port);
		snprintf(p, sizeof(p), "%u", port);
		if (!strcmp(host, j->host) && !strcmp(p, j->port)) {
			return true;
		}
	}
	return false;
}

/* better_way: the better of |a| and the best way to an address of |j|. */
static enum way better_way(const struct rv_client_side *s, enum way a, const struct resolve_job *j)
{
	for (unsigned i = 0; i < j->num && a != WAY_OK; i++) {
		enum way w = way_to(s, &j->sa[i], j->sa_len[i]);

		if (w == WAY_OK || (w == WAY_TUNNEL && a == WAY_NONE)) {
			a = w;
		}
	}
	return a;
}

static bool literal_addr(struct resolve_job *j, uint16_t port);

/* best_way: the best way to a server of the list: the address tried last,
 * any other its name gave, or one of another listed server (its literal,
 * or what the last lookup of its name gave). An attempt ends on its name's
 * last address and a list's attempts on its last server, and the way back
 * may be to another (a dual-stack name whose IPv6 network came back while
 * the attempts ended on its IPv4 address, unreachable: the client waited
 * its whole backoff, round-seventy tester 320; a list whose second server
 * stays unreachable: tester 323). */
static enum way best_way(const struct rv_loop *l, const struct rv_client_side *s)
{
	enum way best = better_way(s, way_from(s), &s->job);
	struct resolve_job j;

	for (size_t i = 0; i < num_servers(l->cfg) && best != WAY_OK; i++) {
		const char *host;
		uint16_t port;

		server_at(l->cfg, i, &host, &port);
		snprintf(j.host, sizeof(j.host), "%s", host);
		snprintf(j.port, sizeof(j.port), "%u", port);
		if (literal_addr(&j, port)) {
			best = better_way(s, best, &j);
		}
	}
	for (size_t i = 0; i < sizeof(s->known) / sizeof(s->known[0]) && best != WAY_OK; i++) {
		if (s->known[i].num > 0 && listed(l->cfg, &s->known[i])) {
			best = better_way(s, best, &s->known[i]);
		}
	}
	return best;
}

/* Looks at the way again at most this many times after a change. */
enum { WAY_RECHECKS = 20 };

static void on_way_recheck(struct rv_loop *l, struct rv_ltimer *lt)
{
	(void)lt;
	rv_client_net_changed(l);
}

void rv_client_net_changed(struct rv_loop *l)
{
	struct rv_client_side *s = side(l);
	uint64_t soon = l->now_ns + NET_CHANGED_MS * RV_NSEC_PER_MSEC;
	bool recheck = s->way_recheck.t.armed == false && s->way_rechecks > 0;

	/* Once per wait: a host whose routes churn (a routing daemon) must
	 * not turn the backoff into a retry every half second. */
	if (l->stopping || l->done || s->chan || s->resolving || !s->may_hasten ||
	    !s->retry.t.armed || s->retry.t.expires_ns <= soon) {
		return;
	}
	/* Not until the host has a way to the server: a link's carrier came
	 * before its address, and the attempt it brought forward failed and
	 * used the credit that the address's return then lacked (round-
	 * fifty-six tester 234). A server known by name alone is tried. */
	if (s->sa_len != 0) {
		enum way way = best_way(l, s);

		/* From the tunnel's own address: a new address still
		 * tentative (duplicate address detection), whose end is
		 * looked at every NET_CHANGED_MS (under load the client
		 * waited its whole backoff, 19 s: the suite, round sixty-six). */
		if (way == WAY_TUNNEL) {
			s->way_rechecks = recheck ? s->way_rechecks - 1 : WAY_RECHECKS;
			if (s->way_rechecks > 0) {
				rv_loop_arm(l, &s->way_recheck, on_way_recheck, soon);
			}
			return;
		}
		if (way != WAY_OK) {
			return;
		}
	}
	s->way_rechecks = 0;
	s->may_hasten = false;
	s->hastened_ns = l->now_ns;
	rv_info("this host's network changed: reconnecting in %u ms, not %.1f s", NET_CHANGED_MS,
		(double)(s->retry.t.expires_ns - l->now_ns) / 1e9);
	rv_loop_arm(l, &s->retry, on_retry, soon);
}

/* ---- reload ------------------------------------------------------------ */

/* job_listed: is the server of the current attempt in the list? */
static bool job_listed(const struct rv_loop *l, const struct rv_client_side *s)
{
	return listed(l->cfg, &s->job);
}

/* first_server: the index of the server a client starts its list at: the
 * first, or with server_order = random one at random (a reload that listed
 * servers anew took the first whatever the order: round-fifty-five tester
 * 232). */
static size_t first_server(const struct rv_loop *l)
{
	return l->cfg->server_order_random ? rv_rand_u32() % num_servers(l->cfg) : 0;
}

void rv_client_order_changed(struct rv_loop *l)
{
	struct rv_client_side *s = side(l);

	s->server_idx = first_server(l);
	s->tried_in_round = 0;
	s->list_restarted = s->chan != NULL; /* the connection's end must not move it */
}

void rv_client_servers_changed(struct rv_loop *l, struct rv_strbuf *log)
{
	struct rv_client_side *s = side(l);
	bool listed = job_listed(l, s);
	char was[RV_STATUS_TEXT_MAX];

	/* With its port: a reload that changed only the port named the host
	 * as gone from the list (round-twenty-six tester 122). */
	snprintf(was, sizeof(was), strchr(s->job.host, ':') ? "[%s]:%s" : "%s:%s", s->job.host,
		 s->job.port);
	/* The list starts over: at its first server, the preferred one, or
	 * at one at random. */
	rv_client_order_changed(l);
	if (s->resolving && !listed) {
		unsigned live = atomic_load_explicit(&resolve_threads, memory_order_relaxed);

		if (live >= RESOLVE_THREADS_MAX) {
			/* rv_client_on_resolved finds it unlisted. */
			rv_strbuf_printf(log,
					 "applied: server list (%s, being looked up, is no longer "
					 "in it; %u lookups hang: the new list is tried when this "
					 "one ends)\n",
					 was, live);
			return;
		}
		/* Its lookup is abandoned (the thread ends on its own; its
		 * wake-up finds nothing to do) and the new list tried now. */
		req_put(s->req);
		s->req = NULL;
		s->resolving = false;
		rv_strbuf_printf(log,
				 "applied: server list (%s, being looked up, is no longer in it: "
				 "trying the new list)\n",
				 was);
		attempt(l);
		return;
	}
	if (s->chan && !listed) {
		rv_strbuf_printf(log,
				 "applied: server list (%s is no longer in it: reconnecting)\n",
				 was);
		rv_chan_goodbye(l, s->chan, RV_CTL_CODE_RECONFIG, "the server list changed");
	} else {
		rv_strbuf_printf(log, "applied: server list (used from the next connection)\n");
	}
}

/* ---- resolution and connect -------------------------------------------- */

static void *resolve_thread(void *arg)
{
	struct resolve_req *r = arg;
	struct resolve_job *j = &r->job;
	struct addrinfo hints, *res = NULL;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];
	uint64_t one = 1;
	ssize_t w;

	/* The lookup parses answers from the network and needs no capability,
	 * but a thread starts with its creator's: the control thread's
	 * CAP_NET_ADMIN (a round-four tester). Emptied for this thread alone
	 * (the ambient set goes with the permitted one) once the process runs
	 * as its user: while it is root, the drop to come changes every
	 * thread's uid (glibc's setxid, which aborts the process if a thread
	 * cannot) and then clears this one's capabilities by its signal. */
	memset(none, 0, sizeof(none));
	if (geteuid() != 0) {
		(void)syscall(SYS_capset, &hdr, none);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	j->err = getaddrinfo(j->host, j->port, &hints, &res);
	j->num = 0;
	for (const struct addrinfo *a = res; j->err == 0 && a && j->num < RESOLVE_MAX;
	     a = a->ai_next) {
		if (a->ai_addrlen <= sizeof(j->sa[0])) {
			memcpy(&j->sa[j->num], a->ai_addr, a->ai_addrlen);
			j->sa_len[j->num++] = a->ai_addrlen;
		}
	}
	if (j->err == 0 && j->num == 0) {
		j->err = EAI_FAIL;
	}
	freeaddrinfo(res);
	atomic_store_explicit(&r->done, true, memory_order_release);
	w = write(r->efd, &one, sizeof(one));
	(void)w;
	close(r->efd);
	req_put(r);
	atomic_fetch_sub_explicit(&resolve_threads, 1, memory_order_relaxed);
	return NULL;
}

/* use_addr makes the name's |i|-th address the one to connect to. */
static void use_addr(struct rv_client_side *s, unsigned i)
{
	s->addr_idx = i;
	memcpy(&s->sa, &s->job.sa[i], s->job.sa_len[i]);
	s->sa_len = s->job.sa_len[i];
}

/* own_cert_end: the end of our own certificate (0: unknown). */
static int64_t own_cert_end(struct rv_loop *l)
{
	struct rv_tls_expiry e;

	if (!l->tls) {
		return 0;
	}
	rv_tls_ctx_expiry(l->tls, &e);
	return e.cert_not_after;
}

/* other_way: of the name's addresses after this one, makes the first
 * whose way does not leave from the tunnel's own address the one to
 * connect to. A name of both families whose IPv6 address the client's own
 * pushed routes cover (::/1, 8000::/1) was tried at that address alone,
 * for ever, after the IPv4 path it had run on failed, and after it came
 * back (round-sixty-seven tester 294). Never one before it: those were
 * tried in this attempt, and going back to one that had just refused the
 * connection looped without a backoff or a count (tester 295). False, the
 * address unchanged, if none. */
static bool other_way(struct rv_client_side *s)
{
	unsigned at = s->addr_idx;

	for (unsigned i = at + 1; i < s->job.num; i++) {
		use_addr(s, i);
		if (way_from(s) != WAY_TUNNEL) {
			return true;
		}
	}
	use_addr(s, at);
	return false;
}

/* tunnel_way: the way to the server leaves from the tunnel's own address
 * (the host lost its address of the family and kept its default route:
 * IPv6 renumbering). An attempt's SYNs from it could never be answered:
 * it held the client handshake_timeout after an address came back, used
 * an attempt, and the server's answers into its TUN were later said as
 * spoofed (round-sixty-six tester 285). Looked at again every
 * NET_CHANGED_MS up to handshake_timeout instead, and counted as a failed
 * attempt only then; another server of a list is tried at once. True when
 * |connect_to| is to give up this attempt. */
static bool tunnel_way(struct rv_loop *l)
{
	struct rv_client_side *s = side(l);
	bool list = num_servers(l->cfg) > 1;

	if (way_from(s) != WAY_TUNNEL) {
		s->tunnel_way_ns = 0;
		return false;
	}
	if (s->job.num > 1 && other_way(s)) {
		rv_info("the way to an address of server %s leaves from the tunnel's own (a route "
			"into the tunnel covers it, or this host has no address of that family): "
			"trying its next address",
			s->job.host);
		s->tunnel_way_ns = 0;
		return false;
	}
	if (s->tunnel_way_ns == 0) {
		s->tunnel_way_ns = l->now_ns ? l->now_ns : 1;
		rv_info("no address of this host's reaches server %s yet (a packet to it would "
			"leave from the tunnel's own: a route into the tunnel covers it, or this "
			"host has no address of that family): %s",
			s->job.host, list ? "trying the next server" : "waiting for one");
	}
	/* Looked at again only when no address before this one was tried in
	 * the attempt: one that refused it is tried first in the next, and
	 * waiting here looped on it twice a second, uncounted (round-sixty-
	 * seven tester 297). */
	if (!list && s->addr_idx == 0 &&
	    l->now_ns - s->tunnel_way_ns <
		    (uint64_t)l->cfg->handshake_timeout_ms * RV_NSEC_PER_MSEC) {
		rv_loop_arm(l, &s->retry, on_retry, l->now_ns + NET_CHANGED_MS * RV_NSEC_PER_MSEC);
		return true;
	}
	s->tunnel_way_ns = 0;
	s->unreachable = true;
	note_failure(l, "no address of this host's reaches server %s", s->job.host);
	schedule_retry(l, false, RV_LOOP_GAVE_UP_NET, false, false);
	return true;
}

static void connect_to(struct rv_loop *l)
{
	struct rv_client_side *s = side(l);
	struct rv_endpoint ep;
	struct rv_chan *c;
	int fd, one = 1;

	if (tunnel_way(l)) {
		return;
	}
	(void)rv_endpoint_from_sa(&ep, &s->sa, s->sa_len);
	fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;

		rv_warn(err, "socket");
		(void)rv_client_local_failure(l, err);
		if (!l->done) {
			schedule_retry(l, false, RV_LOOP_GAVE_UP_NET, false, false);
		}
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = rv_chan_new(l, fd, &ep);
	if (!c) {
		schedule_retry(l, false, RV_LOOP_GAVE_UP_NET, false, false);
		return;
	}
	snprintf(s->server_str, sizeof(s->server_str), "%s (%s)", s->job.host, c->peer_str);
	s->chan = c;
	s->chan_cert_end = own_cert_end(l);
	if (l->tls) {
		rv_tls_ctx_own_id(l->tls, s->chan_cert_id);
	}
	rv_loop_disarm(l, &s->renew_timer);
	rv_hostcfg_server(l, &ep);
	if (l->io.connect(l->io.ctx, fd, (const struct sockaddr *)&s->sa, s->sa_len,
			  rv_udata(RV_OP_CTL_CONNECT, c->id, c->gen))) {
		rv_chan_set_reason(c, "control ring full");
		rv_chan_close(l, c);
		return;
	}
	c->inflight++;
	/* handshake_timeout counts from here: a server that drops the SYNs
	 * would otherwise hold the client for the kernel's SYN retries (over
	 * two minutes) before it tries the next server. */
	rv_chan_arm_deadline(l, c);
}

static void arm_resolved(struct rv_loop *l)
{
	struct rv_client_side *s = side(l);

	if (l->io.read(l->io.ctx, s->efd, &s->efd_val, sizeof(s->efd_val),
		       rv_udata(RV_OP_CTL_RESOLVED, 0, 0))) {
		rv_warnx("cannot arm the resolver notification");
	}
}

/* known_answer: the last answer for the job's host and port, or NULL. */
static struct resolve_job *known_answer(struct rv_client_side *s)
{
	for (size_t i = 0; i < sizeof(s->known) / sizeof(s->known[0]); i++) {
		struct resolve_job *k = &s->known[i];

		if (k->num > 0 && !strcmp(k->host, s->job.host) && !strcmp(k->port, s->job.port)) {
			return k;
		}
	}
	return NULL;
}

/* remember_answer keeps the job's answer (replacing the name's last one,
 * or the oldest). */
static void remember_answer(struct rv_client_side *s)
{
	struct resolve_job *k = known_answer(s);

	if (k == NULL) {
		k = &s->known[s->known_next++ % (sizeof(s->known) / sizeof(s->known[0]))];
	}
	*k = s->job;
}

void rv_client_on_resolved(struct rv_loop *l, int res)
{
	struct rv_client_side *s = side(l);

	(void)res;
	if (!s->resolving) {
		arm_resolved(l); /* an abandoned lookup's wake-up */
		return;
	}
	if (!atomic_load_explicit(&s->req->done, memory_order_acquire)) {
		arm_resolved(l); /* not this lookup's wake-up */
		return;
	}
	s->job.err = s->req->job.err;
	s->job.num = s->req->job.num;
	memcpy(s->job.sa, s->req->job.sa, sizeof(s->job.sa));
	memcpy(s->job.sa_len, s->req->job.sa_len, sizeof(s->job.sa_len));
	req_put(s->req);
	s->req = NULL;
	s->resolving = false;
	arm_resolved(l);
	if (l->stopping) {
		return;
	}
	if (!job_listed(l, s)) {
		/* A reload took the server out of the list while it was looked
		 * up: it connected there all the same, and stayed. */
		rv_info("server %s left the list while it was looked up: trying the new list",
			s->job.host);
		attempt(l);
		return;
	}
	if (s->job.err) {
		const struct resolve_job *k = known_answer(s);

		if (k == NULL) {
			rv_warnx("cannot resolve server %s: %s", s->job.host,
				 gai_strerror(s->job.err));
			note_failure(l, "cannot resolve server %.120s: %s", s->job.host,
				     gai_strerror(s->job.err));
			s->unreachable = true; /* no nameserver reached, maybe */
			schedule_retry(l, false, RV_LOOP_GAVE_UP_NET, false, false);
			return;
		}
		rv_warnx("cannot resolve server %s: %s: trying the %u address(es) it had before",
			 s->job.host, gai_strerror(s->job.err), k->num);
		s->job = *k;
	} else {
		remember_answer(s);
	}
	use_addr(s, 0);
	connect_to(l);
}

/* literal_addr fills the job's address when the host is an IP literal. */
static bool literal_addr(struct resolve_job *j, uint16_t port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&j->sa[0];
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&j->sa[0];

	memset(&j->sa[0], 0, sizeof(j->sa[0]));
	j->num = 1;
	if (inet_pton(AF_INET, j->host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		j->sa_len[0] = sizeof(*in4);
		return true;
	}
	if (inet_pton(AF_INET6, j->host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		j->sa_len[0] = sizeof(*in6);
		return true;
	}
	return false;
}

static void attempt(struct rv_loop *l)
{
	struct rv_client_side *s = side(l);
	const char *host;
	pthread_t thread;
	uint16_t port;
	int ret;

	if (l->stopping || s->chan || s->resolving) {
		return;
	}
	s->unreachable = false;
	server_at(l->cfg, s->server_idx, &host, &port);
	snprintf(s->job.host, sizeof(s->job.host), "%s", host);
	snprintf(s->job.port, sizeof(s->job.port), "%u", port);
	s->job.err = 0;
	if (literal_addr(&s->job, port)) {
		use_addr(s, 0);
		connect_to(l);
		return;
	}
	s->req = calloc(1, sizeof(*s->req));
	if (s->req == NULL) {
		rv_warnx("cannot start the resolver: out of memory");
		schedule_retry(l, false, RV_LOOP_GAVE_UP_NET, false, false);
		return;
	}
	s->req->job = s->job;
	atomic_init(&s->req->refs, 2);
	s->req->efd = fcntl(s->efd, F_DUPFD_CLOEXEC, 0);
	atomic_fetch_add_explicit(&resolve_threads, 1, memory_order_relaxed);
	ret = s->req->efd < 0 ? errno : pthread_create(&thread, NULL, resolve_thread, s->req);
	if (ret) {
		atomic_fetch_sub_explicit(&resolve_threads, 1, memory_order_relaxed);
		rv_warnx("cannot start the resolver thread: %s%s", strerror(ret),
			 ret == EAGAIN ? " (the task limit: pids.max, TasksMax= in the unit, "
					 "RLIMIT_NPROC; tried again)"
				       : "");
		if (s->req->efd >= 0) {
			close(s->req->efd);
		}
		free(s->req);
		s->req = NULL;
		(void)rv_client_local_failure(l, ret);
		/* The host's limit, not the network's: exit 1 should it give
		 * up here (it said 15, "name resolution failed"). */
		schedule_retry(l, false, RV_LOOP_FAILED, false, false);
		return;
	}
	pthread_detach(thread);
	s->resolving = true;
}

/* A control connection made from an address the host no longer has (a
 * DHCP lease renewed to another, a laptop's link changed) is dead: the
 * kernel sends nothing from it, while the data plane follows the new
 * address at once. It was noticed only at twice dead_peer_timeout, blamed
 * on the TCP path, and no key exchange could run meanwhile (round-forty
 * tester 198). */
void rv_client_addr_gone(struct rv_loop *l, const struct rv_ip_addr *gone, unsigned ifindex)
{
	struct rv_client_side *s = side(l);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct rv_endpoint ep;
	struct rv_ip_addr mine;
	unsigned oif = 0, plen = 0;
	bool host = false;
	char a[64];

	if (!s->chan || s->chan->closing || s->chan->fd < 0 ||
	    getsockname(s->chan->fd, (struct sockaddr *)&ss, &len) != 0 ||
	    !rv_endpoint_from_sa(&ep, &ss, len)) {
		return;
	}
	rv_endpoint_addr(&ep, &mine);
	if (!rv_ip_addr_equal(&mine, gone)) {
		return;
	}
	/* A link-local address is its link's: the same one on another link
	 * does not carry the connection (taken for a copy that stays, the
	 * connection waited out its timeout: round-forty-two tester 205). */
	if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&ep.in6.sin6_addr)) {
		if (ep.in6.sin6_scope_id != ifindex) {
			return; /* that copy was on another link */
		}
	} else if (rv_rtnl_route_oif(&mine, &oif, &plen, &host) == 0 && host) {
		return; /* another copy of it stays, on another link */
	}
	rv_ip_addr_str(&mine, a, sizeof(a));
	rv_info("this host's address %s, which the control connection to server %s was made "
		"from, is gone: connecting again",
		a, s->server_str);
	rv_chan_set_reason(s->chan, "this host's address %s, the control connection's, is gone", a);
	s->chan->ended_here = true;
	s->roamed = true;
	rv_chan_close(l, s->chan);
}

void rv_client_on_connect(struct rv_loop *l, struct rv_chan *c, int res)
{
	struct rv_client_side *s = side(l);

	if (res < 0) {
		/* A refusal (ECONNREFUSED) came from a server that was there. */
		s->unreachable = res == -ENETUNREACH || res == -EHOSTUNREACH || res == -ENETDOWN ||
				 res == -EADDRNOTAVAIL || res == -ETIMEDOUT;
		rv_warnx("cannot connect to server %s: %s", s->server_str, strerror(-res));
		rv_chan_set_reason(c, "connect: %s", strerror(-res));
		c->connect_failed = true;
		rv_chan_close(l, c);
		return;
	}
	rv_hostcfg_ctl_source(l, c->fd);
	/* Each server of a list is checked against its own name, unless
	 * server_name says which name every one must carry. */
	rv_chan_start(l, c, l->cfg->server_name[0] ? NULL : s->job.host);
}

/* ---- the role ---------------------------------------------------------- */

static void client_hello(struct rv_loop *l, struct rv_chan *c)
{
	(void)l;
	(void)c;
}

static void client_authenticated(struct rv_loop *l, struct rv_chan *c)
{
	struct rv_client_side *s = side(l);
	uint8_t exp[RV_EXPORTER_LEN];
	struct rv_endpoint ep;

	if (rv_tls_conn_export(c->tls, exp, sizeof(exp))) {
		rv_chan_set_reason(c, "TLS exporter unavailable");
		rv_chan_close(l, c);
		return;
	}
	(void)rv_endpoint_from_sa(&ep, &s->sa, s->sa_len);
	s->config_failed = false;
	c->ctl = rv_ctl_client_new(&l->env, exp, &ep, &s->last4, &s->last6, l->now_ns);
	rv_memzero(exp, sizeof(exp));
	if (!c->ctl) {
		rv_chan_set_reason(c, "out of memory");
		rv_chan_close(l, c);
		return;
	}
	/* Its expiry is said when it comes (reload.c), and shown in status. */
	c->peer_not_after = rv_tls_conn_peer_not_after(c->tls);
	rv_watch_expiry_at(l, c->peer_not_after);
	rv_info("connected to %s; server certificate verified (%s)", s->server_str, c->name);
}

/* on_stable: the tunnel has been up for STABLE_MS; the next loss starts
 * a fresh backoff. */
static void on_stable(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct rv_client_side *s = side(l);

	(void)lt;
	s->stable = true;
	s->failed_attempts = 0;
	s->tried_in_round = 0;
	s->backoff_ms = l->cfg->reconnect_min_ms;
}

static void client_progressed(struct rv_loop *l, struct rv_chan *c)
{
	struct rv_client_side *s = side(l);
	struct rv_session *sess;

	if (!c->ctl || !c->was_running || s->up) {
		return;
	}
	s->up = true;
	s->tunnels_up++;
	rv_loop_arm(l, &s->stable_timer, on_stable, l->now_ns + STABLE_MS * RV_NSEC_PER_MSEC);
	sess = rv_ctl_peer_session(c->ctl);
	if (sess) {
		s->last4 = *rv_session_vaddr4(sess);
		s->last6 = *rv_session_vaddr6(sess);
	}
	rv_info("tunnel up");
}

static void on_next_addr(struct rv_loop *l, struct rv_ltimer *lt)
{
	(void)lt;
	if (!side(l)->chan && !l->stopping && !l->done) {
		connect_to(l);
	}
}

/* own_expired_s returns how long ago our own certificate expired, at least
 * 1 s (0: it has not). */
static int64_t own_expired_s(struct rv_loop *l)
{
	int64_t now = (int64_t)time(NULL), end = own_cert_end(l);

	return end && end <= now ? now - end + 1 : 0;
}

/* own_valid_until: is our own certificate valid now? Its end, UTC, in
 * |out| (32 bytes) when it is. */
static bool own_valid_until(struct rv_loop *l, char out[32])
{
	time_t end = (time_t)own_cert_end(l);
	struct tm tm;

	return end > time(NULL) && gmtime_r(&end, &tm) &&
	       strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) > 0;
}

/* fail_kind: how the client gives up (the exit code) if the end of |c| is
 * the last failure max_attempts allows. What the server said decides,
 * then the TLS handshake, then what this client said on closing. */
static enum rv_loop_exit fail_kind(const struct rv_client_side *s, const struct rv_chan *c)
{
	unsigned got = c->ctl ? rv_ctl_peer_error_code(c->ctl) : 0;
	unsigned sent = c->ctl ? rv_ctl_peer_sent_code(c->ctl) : 0;

	switch (got) {
	case RV_CTL_CODE_NONE:
		break;
	case RV_CTL_CODE_NO_ADDRESS:
	case RV_CTL_CODE_FULL:
	case RV_CTL_CODE_REPLACED:
		/* Authenticated, then turned away for capacity, or for
		 * another holder of the certificate: not a TLS failure (it
		 * exited 6 for a full pool). */
		return RV_LOOP_GAVE_UP_REFUSED;
	case RV_CTL_CODE_REVOKED:
		/* The server refused our certificate on checking it again. */
		return RV_LOOP_GAVE_UP_TLS;
	case RV_CTL_CODE_PROTOCOL:
	case RV_CTL_CODE_VERSION:
	case RV_CTL_CODE_KEY:
	case RV_CTL_CODE_INTERNAL:
	case RV_CTL_CODE_RATE:
		/* TLS went well: a version skew or a broken server is no
		 * matter of certificates (it exited 6). */
		return RV_LOOP_GAVE_UP_PROTOCOL;
	default:
		return RV_LOOP_GAVE_UP_NET; /* shutdown, reconfig, timeout, kicked... */
	}
	if (c->tls_failed) {
		return RV_LOOP_GAVE_UP_TLS;
	}
	/* A record of the server's that failed its check after the
	 * handshake (forged on the way, or a broken server): no matter of
	 * certificates (it exited 6 before the session ran, 15 after:
	 * round-twenty-seven tester 131). */
	if (c->tls_broken) {
		return RV_LOOP_GAVE_UP_PROTOCOL;
	}
	switch (sent) {
	case RV_CTL_CODE_PROTOCOL:
	case RV_CTL_CODE_VERSION:
	case RV_CTL_CODE_KEY:
		return RV_LOOP_GAVE_UP_PROTOCOL; /* we refused what the server sent */
	case RV_CTL_CODE_INTERNAL:
		/* The TUN refused the CONFIG's addresses or routes; else out
		 * of a resource (it exited 15, as for the network). */
		return s->config_failed ? RV_LOOP_TUN_FAILED : RV_LOOP_FAILED;
	default:
		return RV_LOOP_GAVE_UP_NET;
	}
}

static void client_closing(struct rv_loop *l, struct rv_chan *c)
{
	struct rv_client_side *s = side(l);
	bool reached_running = c->was_running;
	unsigned code = c->ctl ? rv_ctl_peer_error_code(c->ctl) : 0;
	enum rv_loop_exit fail = fail_kind(s, c);
	/* Turned away before the tunnel came up: said at warn level. */
	bool rejected =
		!reached_running &&
		(c->tls_failed || (code != RV_CTL_CODE_NONE && code != RV_CTL_CODE_SHUTDOWN));
	/* An operator's kick: forgiven only for a session that ran (below). */
	bool kicked = code == RV_CTL_CODE_KICKED;
	/* Replaced: a newer connection with this certificate took over while
	 * this one lived, so another process or host holds it too. Coming
	 * straight back would take it back, and the two would take turns
	 * several times a second for ever; like a kick, wait the longest. */
	bool replaced = code == RV_CTL_CODE_REPLACED;
	/* This end presents its previous certificate: a renewal waits in its
	 * files (not a file it only cannot open, unchanged). */
	bool previous = l->tls && rv_tls_ctx_own_kept(l->tls) && !rv_tls_ctx_own_unchanged(l->tls);
	/* This end's own doing before a control peer (a stop, a reload of the
	 * server list, an address gone) is no failed attempt: counted, a reload
	 * mid-handshake ended a client under --max-attempts 1 (round-fifty-six
	 * tester 238). */
	bool given_up = c->ended_here && !c->ctl && !reached_running;
	char until[32];

	if (c->ctl) {
		struct rv_session *sess = rv_ctl_peer_session(c->ctl);

		if (sess) {
			s->last4 = *rv_session_vaddr4(sess);
			s->last6 = *rv_session_vaddr6(sess);
		}
	}
	if (c->connect_timed_out) {
		rv_warnx("cannot connect to server %s: %s", s->server_str, c->reason);
	}
	/* Shown while the attempts fail in a row (a session that held
	 * starts the count again, and hides it). */
	if (c->reason[0] && !given_up) {
		note_failure(l, "server %.120s: %.255s", s->server_str, c->reason);
	}
	/* A connection's end, not a connect that failed: the next attempt's
	 * "connection refused" overwrote why the session ended within a
	 * fraction of a second (round-twenty-five tester 117). Nor one the
	 * far end closed before TLS was done (a relay or balancer that
	 * accepts and closes while the server is away: said as a
	 * disconnection, and taking the session's end's place, at each
	 * attempt: round-fifty-six tester 235). */
	if (c->reason[0] && !c->connect_failed && !c->ctl && !rejected &&
	    (c->ended_here || l->stopping)) {
		/* This end's own doing (a stop, a reload, an address gone):
		 * no failure of the server's to warn of (tester 237). */
		rv_info("connection attempt to server %s given up: %s", s->server_str, c->reason);
	} else if (c->reason[0] && !c->connect_failed && !c->ctl && !rejected) {
		rv_warnx("cannot connect to server %s: %s (before TLS was done)", s->server_str,
			 c->reason);
	} else if (c->reason[0] && !c->connect_failed && reached_running) {
		/* A session's end alone: a handshake refused at the next
		 * attempt (the server's certificate from a CA this end does
		 * not take, a revoked client) is that attempt's failure, and
		 * took the place of why the session ended (round-sixty-eight
		 * tester 301). */
		snprintf(s->last_end, sizeof(s->last_end), "server %.120s: %.255s", s->server_str,
			 c->reason);
		s->last_end_ns = l->now_ns ? l->now_ns : 1;
	}
	/* A connect that failed was said as such: no "disconnected" from a
	 * connection there never was (round-fifteen tester 71). */
	if (c->reason[0] && !rejected && !c->connect_failed && c->ctl) {
		/* A malformed message or a version skew from the server: the
		 * operator's to look at (at info it went unseen); so is a
		 * server this end cut off for what it asked (a flood of TLS
		 * KeyUpdates: tester 256). */
		if (fail == RV_LOOP_GAVE_UP_PROTOCOL ||
		    rv_ctl_peer_sent_code(c->ctl) == RV_CTL_CODE_RATE) {
			rv_warnx("disconnected from server %s: %s", s->server_str, c->reason);
		} else {
			rv_info("disconnected from server %s: %s", s->server_str, c->reason);
		}
	}
	if (rejected) {
		/* Who refused whom: our check of the server's certificate, or the
		 * server's alert about ours. */
		if (strstr(c->reason, "certificate verification failed")) {
			rv_warnx("server %s: its certificate refused: %s", s->server_str,
				 c->reason);
		} else if (strstr(c->reason, "does not speak TLS")) {
			rv_warnx("server %s is no ringvpn server (wrong port?): %s", s->server_str,
				 c->reason);
		} else if (own_expired_s(l) > 0 && previous) {
			/* "Renew it" sent the operator to renew what was renewed
			 * already: the renewal waits for its files (a hostile
			 * tester). */
			rv_warnx("server %s rejected the connection: our own certificate expired "
				 "%lld s ago; it is the previous one, kept while the certificate "
				 "or "
				 "key in its files cannot be used (why was said when they changed; "
				 "they are watched, and one staged ahead of its start is taken "
				 "then: the next attempt after that presents it)",
				 s->server_str, (long long)own_expired_s(l));
		} else if (own_expired_s(l) > 0) {
			/* Not the clocks: ours ran out while we were up (at the
			 * start it is an exit 4). */
			rv_warnx("server %s rejected the connection: our own certificate expired "
				 "%lld s ago; renew it (the certificate files are watched: the "
				 "next attempt takes the new one)",
				 s->server_str, (long long)own_expired_s(l));
		} else if (strstr(c->reason, "certificate expired") && own_valid_until(l, until)) {
			/* Ours is valid: an expired CRL or CA on the server
			 * refuses every peer with the same alert (a hostile
			 * tester was sent to the clocks and its own
			 * certificate). */
			rv_warnx("server %s rejected the connection: %s; our certificate is valid "
				 "until %s, so the server's CRL or CA may have expired, or its "
				 "clock is wrong",
				 s->server_str, c->reason, until);
		} else {
			/* Each refusal says that this end runs its previous
			 * certificate: a renewal waiting for its key was said
			 * once, at the change, and the refusals after it (its
			 * old certificate revoked) only "certificate revoked"
			 * (a hostile tester). */
			rv_warnx("server %s rejected the connection: %s%s", s->server_str,
				 c->reason,
				 previous ? " (this end presents its previous certificate: the one "
					    "in "
					    "its cert file cannot be used, said when it changed)"
					  : "");
		}
	}
	if (code == RV_CTL_CODE_REPLACED) {
		/* The delay is said by schedule_retry, which may give up
		 * instead (it said "trying again in 2.0 s", then gave up, or
		 * came back at another, jittered time: a hostile tester). */
		rv_warnx("replaced by another connection with this client's certificate (does "
			 "another host use it? give each its own): the next attempt waits the "
			 "longest backoff (reconnect_max %.1f s, jittered)",
			 l->cfg->reconnect_max_ms / 1000.0);
	}
	if (c == s->chan) {
		/* A server whose datagrams never came, or stopped, while another
		 * is listed (ctl.c data_watch): the next one, however long the
		 * session ran. */
		bool data_failed = c->ctl && rv_ctl_peer_data_failed(c->ctl);
		/* Ended because this host's address went (roaming, a new DHCP
		 * lease): no failure of the server's, however short the
		 * session; two quick roams ended a client with --max-attempts 2
		 * (round-sixty-four tester 265). */
		bool roamed = s->roamed;
		bool stable = (s->stable || roamed) && !data_failed;
		/* A kick of a session that ran STABLE_MS is forgiven; a sooner
		 * one, or one before the session, is a failed attempt that waits
		 * the longest backoff, as a replacement is (a server that kicked
		 * at every HELLO, or 0.1 s after every start, kept
		 * --max-attempts going for ever: round-twenty-one tester 94,
		 * round-twenty-two tester 97). */
		bool early_kick = kicked && !stable;

		s->chan = NULL;
		s->up = false;
		s->stable = false;
		s->roamed = false;
		rv_loop_disarm(l, &s->stable_timer);
		if (reached_running && !stable && !data_failed && !l->stopping) {
			rv_info("the session lasted %.1f s, under %u s: counted as a failed "
				"attempt",
				(double)(l->now_ns - c->up_ns) / RV_NSEC_PER_SEC, STABLE_MS / 1000);
		}
		if (given_up) {
			/* Tried again after reconnect_min (with what the
			 * reload changed), the backoff and the counts as they
			 * were. */
			s->list_restarted = false;
			if (!l->stopping && !l->done) {
				rv_loop_arm(l, &s->retry, on_retry,
					    l->now_ns + (uint64_t)l->cfg->reconnect_min_ms *
								RV_NSEC_PER_MSEC);
			}
			return;
		}
		/* No TCP connection to this address: the name's next one
		 * first, then the next server. */
		if (!c->tls && !reached_running && s->addr_idx + 1 < s->job.num && !l->stopping &&
		    !l->done) {
			use_addr(s, s->addr_idx + 1);
			rv_info("trying the next address of %s", s->job.host);
			rv_loop_arm(l, &s->retry, on_next_addr, l->now_ns);
			return;
		}
		if (c->connect_timed_out) {
			s->unreachable = true; /* no answer to the SYNs */
		}
		schedule_retry(l, stable, fail, kicked && stable, replaced || early_kick);
	}
}

/* on_config applies a CONFIG to the host (hostcfg.c), remembering a failure
 * for the exit code. */
static int on_config(void *loop, const struct rv_ctl_config *c, bool update)
{
	struct rv_loop *l = loop;
	int ret = rv_hostcfg_apply(loop, c, update);

	if (ret) {
		side(l)->config_failed = true;
	}
	return ret;
}

static int client_start(struct rv_loop *l, char *err, size_t err_len)
{
	struct rv_client_side *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	l->role_state = s;
	s->backoff_ms = l->cfg->reconnect_min_ms;
	s->server_idx = first_server(l);
	s->efd = eventfd(0, EFD_CLOEXEC);
	if (s->efd < 0) {
		snprintf(err, err_len, "eventfd: %s", strerror(errno));
		return -errno;
	}
	l->env.send_keepalive = up_send_keepalive;
	l->env.own_rekeys_per_min = RV_CTL_OWN_REKEYS_PER_MIN;
	l->env.on_config = on_config;
	l->env.on_dns = rv_hostcfg_dns;
	l->env.on_session = rv_hostcfg_session;
	arm_resolved(l);
	attempt(l);
	return 0;
}

struct rv_session *rv_client_session(struct rv_loop *l)
{
	const struct rv_chan *c = side(l) ? side(l)->chan : NULL;

	return c && c->ctl ? rv_ctl_peer_session(c->ctl) : NULL;
}

static void client_stop(struct rv_loop *l)
{
	rv_loop_disarm(l, &side(l)->retry);
	rv_loop_disarm(l, &side(l)->way_recheck);
	rv_loop_disarm(l, &side(l)->stable_timer);
	rv_loop_disarm(l, &side(l)->renew_timer);
}

/* A renewed certificate before the one the session was made with ends:
 * the server would end the session at the old one's end (counted as
 * expired), and the client come back with the new one after a drop it
 * did not plan; so it reconnects, on its own time, a minute before. */
enum { RENEW_LEAD_S = 60 };

static void on_renew(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct rv_client_side *s = side(l);

	(void)lt;
	if (s->chan && !s->chan->closing) {
		int64_t left = s->chan_cert_end - (int64_t)time(NULL);
		char in[32];

		/* As status and the reply say a duration (it was "2591871 s":
		 * round-forty tester 200). */
		rv_info("reconnecting with the renewed certificate (the one this session was made "
			"with ends in %s)",
			rv_fmt_age(left > 0 ? (uint64_t)left : 0, in, sizeof(in)));
		rv_chan_goodbye(l, s->chan, RV_CTL_CODE_RECONFIG,
				"reconnecting with the renewed certificate");
	}
}

void rv_client_cert_changed(struct rv_loop *l, struct rv_strbuf *log)
{
	struct rv_client_side *s = side(l);
	int64_t now = (int64_t)time(NULL), end = own_cert_end(l), at;
	char age[32];
	uint8_t id[32];
	bool replaced;

	if (!s || !s->chan || !s->chan_cert_end || !l->tls) {
		return;
	}
	rv_tls_ctx_own_id(l->tls, id);
	if (memcmp(id, s->chan_cert_id, sizeof(id)) == 0) {
		return;
	}
	/* Ending no later than the session's: not an extension but a
	 * replacement (a new key after a compromise, a re-issue capped at the
	 * CA's end). It was not seen at all while only the end was compared
	 * (a hostile tester), and waiting for the old end would keep the old
	 * key in use: it reconnects now. */
	replaced = end <= s->chan_cert_end;
	at = replaced ? now : s->chan_cert_end - RENEW_LEAD_S;
	at = at > now ? at : now;
	rv_loop_arm(l, &s->renew_timer, on_renew,
		    l->now_ns + (uint64_t)(at - now) * RV_NSEC_PER_SEC);
	if (replaced) {
		rv_strbuf_printf(log,
				 "applied: own certificate replaced by one that ends no later "
				 "(the session was made with the old one: it reconnects with the "
				 "new one now)\n");
		return;
	}
	/* As status shows ends ("824d23h"), not in seconds (round-twenty-six
	 * tester 122). */
	rv_strbuf_printf(log,
			 "applied: own certificate renewed (the session goes on with the one it "
			 "was made with, which ends in %s; it reconnects with the new one %s)\n",
			 rv_fmt_age((uint64_t)(s->chan_cert_end - now), age, sizeof(age)),
			 at == now ? "now" : "a minute before that");
}

static void client_free(struct rv_loop *l)
{
	struct rv_client_side *s = side(l);

	if (!s) {
		return;
	}
	rv_hostcfg_withdraw(l);
	if (s->resolving) {
		/* Not waited for: the thread frees the request when its lookup
		 * ends, or the process's exit ends it first. */
		req_put(s->req);
		s->req = NULL;
	}
	if (s->efd >= 0) {
		close(s->efd);
	}
	free(s);
	l->role_state = NULL;
}

static int client_report(struct rv_loop *l, struct rv_status *st)
{
	struct rv_client_side *s = side(l);
	struct rv_chan *c = s->chan;
	const char *host;
	uint16_t port;

	st->role = "client";
	server_at(l->cfg, s->server_idx, &host, &port);
	snprintf(st->server, sizeof(st->server), "%s", s->server_str[0] ? s->server_str : host);
	snprintf(st->state, sizeof(st->state), "%s",
		 !c	   ? (s->resolving ? "resolving" : "backoff")
		 : !c->ctl ? "connecting"
			   : rv_ctl_peer_state(c->ctl));
	st->failed_attempts = s->failed_attempts;
	st->tunnels_up = s->tunnels_up;
	st->attempts_failed = s->attempts_failed;
	snprintf(st->last_end, sizeof(st->last_end), "%s", s->last_end);
	st->last_end_age_s =
		s->last_end_ns ? (int64_t)((l->now_ns - s->last_end_ns) / RV_NSEC_PER_SEC) : -1;
	/* While attempts fail in a row: why the last one did. */
	snprintf(st->last_failure, sizeof(st->last_failure), "%s", s->last_failure);
	st->last_failure_age_s =
		s->last_failure_ns && s->failed_attempts > 0
			? (int64_t)((l->now_ns - s->last_failure_ns) / RV_NSEC_PER_SEC)
			: -1;
	st->sessions = c && c->ctl && rv_ctl_peer_running(c->ctl) ? 1 : 0;
	if (c && c->ctl) {
		struct rv_status_peer *p = rv_status_add_peer(st);

		if (!p) {
			return -ENOMEM;
		}
		rv_chan_fill_status(l, c, p);
		/* The addresses set on the TUN: an IPv6 one it cannot take
		 * was listed as if set (round-twenty-seven tester 129). */
		if (rv_hostcfg_no_ipv6(l)) {
			p->v6.family = 0;
		}
	}
	return 0;
}

const struct rv_role rv_client_role = {
	.name = "client",
	.start = client_start,
	.stop = client_stop,
	.free = client_free,
	.hello = client_hello,
	.authenticated = client_authenticated,
	.progressed = client_progressed,
	.closing = client_closing,
	.report = client_report,
};
