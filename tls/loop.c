/*
 * loop.c — the control thread's event loop (see loop.h): wait on the ring
 * until the next timer, dispatch each completion by its user_data op
 * (uring/udata.h) to the piece that owns it, run the timers that are due,
 * free closed connections, reclaim retired sessions. Also the signals, the
 * shutdown sequence and the service notifications.
 *
 * This is the one place in the control plane that reads the clock: every
 * turn takes rv_now_ns() once and hands it down (l->now_ns); the protocol
 * state machines only ever see it as an argument.
 */
#include "tls/loop.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "core/session.h"
#include "core/strbuf.h"
#include "tls/crlstate.h"
#include "tls/internal.h"
#include "tls/slots.h"
#include "uring/ctlring.h"
#include "uring/ring.h"
#include "uring/dataplane.h"

enum {
	RING_ENTRIES = 1024,
	CQE_BATCH = 256,
	WHEEL_TICK_NS = 10 * RV_NSEC_PER_MSEC,
	WHEEL_SLOTS = 4096, /* 41 s per rotation */
	RECLAIM_NS = 100 * RV_NSEC_PER_MSEC,
	/* How often the rate-limited log call sites are looked at while one
	 * holds a count of refused lines (core/log.h). */
	LOGFLUSH_NS = RV_NSEC_PER_SEC,
	SHUTDOWN_GRACE_NS = 1000 * RV_NSEC_PER_MSEC,
	/* Below this many connections a heap trim would not be worth it. */
	TRIM_MIN_PEAK = 256,
	/* Connections beyond the session limit: half-open ones, replaced
	 * ones still sending their GOODBYE, and headroom. */
	EXTRA_CHANS = 64,
};

/* A wake this much later than the next timer counts as a stall; what was
 * waiting meanwhile is judged by it for this long after (mgmt.c). */
#define STALL_NS (2 * RV_NSEC_PER_SEC)
/* A wake this much later than the next timer (a stop, no CPU) leaves what
 * peers sent meanwhile unread: none is given up on until it is read
 * (tls/ctl.c, RV_CTL_WAKE_GRACE_MS). A SIGCONT alone is no late wake: one
 * sent to a process never stopped would buy graces. */
#define LATE_NS (100 * RV_NSEC_PER_MSEC)
#define STALL_RECENT_NS (5 * RV_NSEC_PER_SEC)

bool rv_loop_stalled_recently(const struct rv_loop *l)
{
	return l->stall_seen_ns != 0 && l->now_ns - l->stall_seen_ns < STALL_RECENT_NS;
}

/* ---- the ring behind struct rv_ctl_io ---------------------------------- */

static int io_accept(void *ctx, int fd, uint64_t ud)
{
	return rv_ctlring_accept(ctx, fd, ud);
}

static int io_recv(void *ctx, int fd, void *buf, size_t len, uint64_t ud)
{
	return rv_ctlring_recv(ctx, fd, buf, len, ud);
}

static int io_send(void *ctx, int fd, const void *buf, size_t len, uint64_t ud)
{
	return rv_ctlring_send(ctx, fd, buf, len, ud);
}

static int io_connect(void *ctx, int fd, const struct sockaddr *sa, socklen_t len, uint64_t ud)
{
	return rv_ctlring_connect(ctx, fd, sa, len, ud);
}

static int io_read(void *ctx, int fd, void *buf, size_t len, uint64_t ud)
{
	return rv_ctlring_read(ctx, fd, buf, len, ud);
}

static int io_cancel_fd(void *ctx, int fd, uint64_t ud)
{
	return rv_ctlring_cancel_fd(ctx, fd, ud);
}

/* ---- time ------------------------------------------------------------- */

/* now reads the loop's clock: the monotonic clock, or the one a test
 * passed (rv_loop_params.now_ns). */
static uint64_t now(const struct rv_loop *l)
{
	return l->p.now_ns ? l->p.now_ns(l->p.ctx) : rv_now_ns();
}

uint64_t rv_loop_clock(const struct rv_loop *l)
{
	return now(l);
}

/* ---- timers ------------------------------------------------------------ */

void rv_loop_arm(struct rv_loop *l, struct rv_ltimer *lt,
		 void (*fn)(struct rv_loop *l, struct rv_ltimer *lt), uint64_t when_ns)
{
	lt->fn = fn;
	rv_wheel_arm(l->wheel, &lt->t, when_ns);
}

void rv_loop_disarm(struct rv_loop *l, struct rv_ltimer *lt)
{
	rv_wheel_cancel(l->wheel, &lt->t);
}

static void run_timers(struct rv_loop *l)
{
	struct rv_timer *t;

	while (!l->done && (t = rv_wheel_expire(l->wheel, l->now_ns)) != NULL) {
		struct rv_ltimer *lt = container_of(t, struct rv_ltimer, t);

		lt->fn(l, lt);
	}
}

static void on_reclaim(struct rv_loop *l, struct rv_ltimer *lt)
{
	rv_qsbr_reclaim(l->env.qsbr);
	if (rv_qsbr_pending(l->env.qsbr) > 0) {
		rv_loop_arm(l, lt, on_reclaim, l->now_ns + RECLAIM_NS);
	}
}

/* schedule_reclaim makes sure retired sessions and keys are freed once the
 * workers have moved on, without a periodic tick when nothing is pending. */
static void schedule_reclaim(struct rv_loop *l)
{
	if (rv_qsbr_pending(l->env.qsbr) > 0 && !rv_timer_armed(&l->reclaim_timer.t)) {
		rv_loop_arm(l, &l->reclaim_timer, on_reclaim, l->now_ns + RECLAIM_NS);
	}
}

static void on_logflush(struct rv_loop *l, struct rv_ltimer *lt)
{
	if (rv_log_flush_suppressed(l->now_ns)) {
		rv_loop_arm(l, lt, on_logflush, l->now_ns + LOGFLUSH_NS);
	}
}

/* schedule_logflush has the log say, a second or two after a flood of
 * some rate-limited line has ended, how many of its lines were refused
 * (the site's next line would, but may never come); no tick while no site
 * refuses anything. A worker's refusal is seen at the next wake of this
 * loop. */
static void schedule_logflush(struct rv_loop *l)
{
	if (!rv_timer_armed(&l->logflush_timer.t) && rv_log_suppressing()) {
		rv_loop_arm(l, &l->logflush_timer, on_logflush, l->now_ns + LOGFLUSH_NS);
	}
}

/* ---- notifications ----------------------------------------------------- */

void rv_loop_notify(struct rv_loop *l, enum rv_loop_event ev, const char *fmt, ...)
{
	char status[256];
	va_list ap;

	if (!l->p.notify) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	l->p.notify(l->p.ctx, ev, status);
}

static void on_watchdog(struct rv_loop *l, struct rv_ltimer *lt)
{
	rv_loop_notify(l, RV_LOOP_WATCHDOG, "%s", "");
	if (l->role == &rv_server_role) {
		rv_loop_notify(l, RV_LOOP_STATUS, "%zu session(s)", rv_server_sessions(l));
	}
	rv_loop_arm(l, lt, on_watchdog, l->now_ns + l->p.watchdog_ns);
}

/* ---- operator actions on every session --------------------------------- */

unsigned rv_loop_handshake_room(const struct rv_loop *l)
{
	uint64_t used = (uint64_t)l->cfg->max_clients + EXTRA_CHANS;

	/* (The table is capped at RV_UDATA_OWNER_MAX: at least one.) */
	return l->max_chans > used ? (unsigned)(l->max_chans - used) : 1;
}

unsigned rv_loop_rekey(struct rv_loop *l, const char *name, unsigned asked[RV_CTL_REKEY_KINDS])
{
	struct rv_chan *c;
	unsigned n = 0;

	memset(asked, 0, RV_CTL_REKEY_KINDS * sizeof(asked[0]));
	if (name) {
		c = NULL;
		if (l->role == &rv_server_role) {
			c = rv_server_find(l, name);
		} else {
			/* A client's session is named by its server's
			 * certificate, as its status lists it (every name
			 * found none: round-twenty-five tester 116). */
			struct rv_chan *k;

			rv_chans_foreach(l, i, k)
			{
				if (k->ctl && rv_ctl_peer_session(k->ctl) &&
				    !strcmp(k->name, name)) {
					c = k;
				}
			}
		}
		if (!c || !c->ctl) {
			return 0;
		}
		asked[rv_ctl_peer_request_rekey(c->ctl, l->now_ns)]++;
		rv_chan_kick(l, c);
		return 1;
	}
	/* Sessions only: a connection waiting for its HELLO has no key to
	 * replace (it was counted as one that "starts now": round-twenty-five
	 * tester 115). */
	rv_chans_foreach(l, i, c)
	{
		if (c->ctl && rv_ctl_peer_session(c->ctl)) {
			asked[rv_ctl_peer_request_rekey(c->ctl, l->now_ns)]++;
			rv_chan_kick(l, c);
			n++;
		}
	}
	return n;
}

/* ---- shutdown ---------------------------------------------------------- */

static void on_stop_deadline(struct rv_loop *l, struct rv_ltimer *lt)
{
	(void)lt;
	l->done = true;
}

void rv_loop_begin_stop(struct rv_loop *l)
{
	struct rv_chan *c;

	if (l->stopping) {
		return;
	}
	l->stopping = true;
	rv_loop_notify(l, RV_LOOP_STOPPING, "stopping");
	l->role->stop(l);
	rv_chans_foreach(l, i, c)
	{
		rv_chan_set_reason(c, "shutting down");
		if (c->ctl) {
			rv_chan_goodbye(l, c, RV_CTL_CODE_SHUTDOWN, "shutting down");
		} else {
			c->ended_here = true;
			rv_chan_close(l, c);
		}
	}
	rv_loop_arm(l, &l->stop_timer, on_stop_deadline, l->now_ns + SHUTDOWN_GRACE_NS);
}

/* ---- signals ----------------------------------------------------------- */

static void arm_signal(struct rv_loop *l)
{
	if (l->io.read(l->io.ctx, l->sigfd, &l->siginfo, sizeof(l->siginfo),
		       rv_udata(RV_OP_CTL_SIGNAL, 0, 0))) {
		rv_warnx("cannot re-arm the signal read");
	}
}

/* from_other_user: a signal not from root, when only root may send one:
 * sent by kill or tgkill by a process whose uid is not root's, sent any
 * other way (sigqueue: the sender writes the uid), or raised for a file whose owner any process of this
 * process's user may set (F_SETOWN/F_SETSIG: POLL_* codes, which carry no
 * sender; a round-two tester stopped a server so). A terminal's ^C or
 * hangup comes from the kernel (SI_KERNEL). */
static bool from_other_user(const struct rv_loop *l)
{
	/* Named, so that the lines it held back are counted (a storm from
	 * the service's own user went uncounted: round-thirty-two tester
	 * 170). */
	static struct rv_ratelimit rl = { .level = RV_LOG_WARN, .what = "signal ... ignored" };
	const struct signalfd_siginfo *si = &l->siginfo;
	uint32_t held;
	bool sent = si->ssi_code <= 0;
	/* Only kill() and tgkill() have the kernel fill the sender's uid in;
	 * with sigqueue (SI_QUEUE) and the other codes a sender writes its own
	 * account, and a round-four tester reloaded a server 530 times in 5 s
	 * as nobody "from uid 0". */
	bool vouched = si->ssi_code == SI_USER || si->ssi_code == SI_TKILL;

	if (!l->p.signals_root_only || si->ssi_code == SI_KERNEL || (vouched && si->ssi_uid == 0)) {
		return false;
	}
	if (si->ssi_signo != SIGINT && si->ssi_signo != SIGTERM && si->ssi_signo != SIGHUP &&
	    si->ssi_signo != SIGUSR1) {
		return false;
	}
	if (!rv_ratelimit_ok(&rl)) {
		return true;
	}
	held = rv_ratelimit_take_suppressed(&rl);
	if (held != 0) {
		rv_warnx("(%u more lines like the next were suppressed)", held);
	}
	if (sent && vouched) {
		rv_warnx("signal %u from uid %u (pid %u) ignored: started as root, this process "
			 "takes it from root only (its user may be shared)",
			 si->ssi_signo, si->ssi_uid, si->ssi_pid);
	} else if (sent) {
		rv_warnx("signal %u sent with its sender's own account (code %d, e.g. sigqueue; "
			 "it claims uid %u, pid %u) ignored: started as root, this process takes "
			 "it from root only, by kill or tgkill",
			 si->ssi_signo, si->ssi_code, si->ssi_uid, si->ssi_pid);
	} else {
		rv_warnx("signal %u for a file's owner (code %d, F_SETOWN) ignored: started as "
			 "root, this process takes it from root only",
			 si->ssi_signo, si->ssi_code);
	}
	return true;
}

static void on_signal(struct rv_loop *l, int res)
{
	if (res == (int)sizeof(l->siginfo) && !from_other_user(l) && l->stopping &&
	    l->siginfo.ssi_signo != SIGCONT) {
		/* Stopping: a reload re-read the CA, CRL and keys and told the
		 * service manager READY=1 after STOPPING=1, and a rekey began
		 * with sessions on their way out (round-sixty-six tester
		 * 280). Said once. */
		static bool said;

		if (!said) {
			said = true;
			rv_info("signal %u while stopping: ignored", l->siginfo.ssi_signo);
		}
	} else if (res == (int)sizeof(l->siginfo) && !from_other_user(l)) {
		switch (l->siginfo.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			rv_info("signal %u: shutting down", l->siginfo.ssi_signo);
			rv_loop_begin_stop(l);
			break;
		case SIGUSR1: {
			static struct rv_ratelimit rl; /* a signal storm: not a line each */
			unsigned asked[RV_CTL_REKEY_KINDS], n = rv_loop_rekey(l, NULL, asked);

			if (rv_ratelimit_ok(&rl)) {
				rv_info("SIGUSR1: rekeying %u session(s)", n);
			}
			break;
		}
		case SIGCONT:
			/* Continued after a stop: everything that arrived meanwhile
			 * waited on a process that could not run. A SIGCONT is also
			 * sent to processes that were never stopped (job control,
			 * supervisors): only one that ends a turn of STALL_NS or
			 * more counts, its work with its wait: a stop while the
			 * loop worked (a busy machine) ended no long wait, and a
			 * kick whose asker had given up was carried out (the suite
			 * beside two testers' floods). */
			if (l->turn_ns >= STALL_NS) {
				l->stall_seen_ns = l->now_ns;
				rv_info("continued after a stop (SIGCONT, %.1f s)",
					(double)l->turn_ns / 1e9);
			}
			break;
		case SIGHUP: {
			struct rv_strbuf out = { .max = 64 * 1024 };

			rv_info("SIGHUP: reloading the configuration");
			(void)rv_reload(l, &out);
			rv_strbuf_free(&out);
			break;
		}
		default:
			break;
		}
	}
	arm_signal(l);
}

/* ---- memory ------------------------------------------------------------ */

/* ring_busy takes a wait the kernel refused for now (EAGAIN: it could not
 * allocate a request; EBUSY: its completion queue overflowed) as the
 * workers do (core/busyrun.h): one passes, but a run of them is a ring that
 * fails, said once (and a spell that comes soon after another only in
 * the next one said) and tried again each millisecond, and after
 * RV_RING_GIVE_UP_NS of that the process ends (exit 1). The first one
 * ended it at once (round-fifty tester 222). True when the loop is to end. */
static bool ring_busy(struct rv_loop *l, int err)
{
	static const struct timespec ms = { 0, 1000000 };
	unsigned unsaid = 0;
	char more[96];

	if (!rv_busy_run_note(&l->ring_busy, l->now_ns)) {
		return false;
	}
	/* Nothing is read meanwhile: a silence the peers seem to keep is
	 * this process's, as a stop's is (they were ended as silent, their
	 * TCP path blamed: round-fifty tester 223). */
	l->woke_late_ns = l->now_ns;
	l->stall_seen_ns = l->now_ns;
	switch (rv_ring_spell_fail(&l->ring_spells, l->now_ns, &unsaid)) {
	case RV_SPELL_SAY:
		rv_warnx("control ring wait: %s (tried again each millisecond; the process ends "
			 "if it fails for 10 s)%s",
			 strerror(-err), rv_ring_spells_unsaid(more, sizeof(more), unsaid));
		break;
	case RV_SPELL_GIVE_UP:
		rv_warnx("control ring wait has failed for 10 s (%s): exiting", strerror(-err));
		l->exit = RV_LOOP_FAILED;
		l->done = true;
		return true;
	case RV_SPELL_GOES_ON:
		break;
	}
	nanosleep(&ms, NULL);
	return false;
}

/* trim_heap gives freed heap memory back to the system once the number of
 * connections has halved since its peak: thousands of departed clients
 * otherwise leave their TLS and connection memory in malloc's free lists,
 * and the server's RSS stays at its high-water mark. Rare (each trim halves
 * the mark), so its cost (a walk of the heap) does not matter. */
static void trim_heap(struct rv_loop *l)
{
	if (l->num_chans > l->chans_peak) {
		l->chans_peak = l->num_chans;
	} else if (l->chans_peak >= TRIM_MIN_PEAK && l->num_chans < l->chans_peak / 2) {
		malloc_trim(0);
		l->chans_peak = l->num_chans;
		l->trim_at_idle = true;
	} else if (l->trim_at_idle && l->num_chans == 0 && rv_qsbr_pending(l->env.qsbr) == 0) {
		/* The halvings stop below TRIM_MIN_PEAK: once everybody has
		 * left, give back the rest too, so an idle server's RSS does
		 * not depend on where the last halving fell. Not before the
		 * departed sessions themselves are freed (a grace period after
		 * their connections): trimmed earlier, their memory stayed in
		 * malloc's free lists, and a second round of 1,000 clients
		 * once ended 8 MB above the first (test_control_load). */
		malloc_trim(0);
		l->trim_at_idle = false;
	}
}

/* ---- rekey requests from the data plane --------------------------------- */

/* A worker that finds a session's sending epoch near its packet limit sets
 * the session's flag and writes the data plane's eventfd; only then are the
 * sessions asked, so an idle peer's timer fires for its keepalive and
 * dead-peer deadlines, not once a second to poll a flag. */
static void arm_rekey(struct rv_loop *l)
{
	int fd = rv_dataplane_rekey_fd(l->dp);

	if (fd >= 0 && l->io.read(l->io.ctx, fd, &l->rekey_val, sizeof(l->rekey_val),
				  rv_udata(RV_OP_CTL_REKEY, 0, 0))) {
		rv_warnx("cannot arm the data plane's rekey notification (rekeys by packet "
			 "count wait for the next keepalive)");
	}
}

static void on_rekey(struct rv_loop *l, int res)
{
	struct rv_chan *c;
	unsigned worker;
	int err;

	if (res < 0 && res != -EAGAIN && res != -EINTR) {
		if (res != -ECANCELED) {
			rv_warn(res, "rekey notification");
		}
		return;
	}
	/* Either ends the process as a stop does: the peers are told
	 * GOODBYE(shutdown) (they were left to find the connection closed,
	 * the server's log blaming each client for it: round-twenty-five
	 * tester 110), with the exit code of the failure. */
	if ((err = rv_dataplane_ring_failed(l->dp, &worker)) != 0 && !l->done && !l->stopping) {
		rv_warnx("worker %u: io_uring_enter has failed on every call for 10 s (%s): "
			 "exiting, the data plane carries nothing",
			 worker, strerror(-err));
		l->exit = RV_LOOP_FAILED;
		rv_loop_begin_stop(l);
		return;
	}
	if (rv_dataplane_failed(l->dp) != 0 && !l->done && !l->stopping) {
		/* Someone deleted the TUN device: nothing can be carried until
		 * a restart makes it again (the units restart on failure). */
		rv_warnx("TUN %s is gone (%s): exiting", rv_dataplane_tun_name(l->dp),
			 strerror(-rv_dataplane_failed(l->dp)));
		l->exit = RV_LOOP_TUN_FAILED;
		rv_loop_begin_stop(l);
		return;
	}
	rv_chans_foreach(l, i, c)
	{
		struct rv_session *s;

		if (c->ctl && !c->closing && (s = rv_ctl_peer_session(c->ctl)) != NULL &&
		    rv_session_rekey_requested(s)) {
			rv_chan_on_timer(l, c);
		}
	}
	arm_rekey(l);
}

/* ---- dispatch ---------------------------------------------------------- */

static void dispatch(struct rv_loop *l, const struct rv_ctlring_cqe *cqe)
{
	enum rv_op op = rv_udata_op(cqe->user_data);
	struct rv_chan *c;

	switch (op) {
	case RV_OP_CTL_SIGNAL:
		on_signal(l, cqe->res);
		return;
	case RV_OP_CTL_ACCEPT:
		rv_server_on_accept(l, cqe->res);
		return;
	case RV_OP_CTL_WATCH:
		rv_watch_on_cqe(l, cqe->res);
		return;
	case RV_OP_CTL_RESOLVED:
		rv_client_on_resolved(l, cqe->res);
		return;
	case RV_OP_CTL_REKEY:
		on_rekey(l, cqe->res);
		return;
	case RV_OP_CTL_NETLINK:
		rv_tunwatch_on_cqe(l, cqe->res);
		return;
	case RV_OP_MGMT_ACCEPT:
	case RV_OP_MGMT_RECV:
	case RV_OP_MGMT_SEND:
		rv_mgmt_on_cqe(l, op, cqe->user_data, cqe->res);
		return;
	case RV_OP_HTTP_ACCEPT:
	case RV_OP_HTTP_RECV:
	case RV_OP_HTTP_SEND:
		rv_http_on_cqe(l, op, cqe->user_data, cqe->res);
		return;
	case RV_OP_CTL_RECV:
	case RV_OP_CTL_SEND:
	case RV_OP_CTL_CONNECT:
	case RV_OP_CTL_CANCEL:
		c = rv_chan_by_ud(l, cqe->user_data);
		if (c) {
			rv_chan_on_cqe(l, c, op, cqe->res);
		}
		return;
	default:
		rv_warnx("control ring: unexpected completion op %d (res %d)", (int)op, cqe->res);
		return;
	}
}

/* ---- lifetime ---------------------------------------------------------- */

int rv_loop_new(struct rv_loop **out, const struct rv_loop_params *p, char *err, size_t err_len)
{
	struct rv_loop *l;
	int ret;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	l->watch_fd = -1;
	l->spare_fd = -1;
	l->tunwatch_fd = -1;
	l->p = *p;
	l->cfg = malloc(sizeof(*l->cfg));
	if (!l->cfg) {
		ret = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto err_free;
	}
	*l->cfg = *p->cfg;
	l->role = l->cfg->role == RV_CONFIG_SERVER ? &rv_server_role : &rv_client_role;
	l->dp = p->dp;
	l->sigfd = p->sigfd;
	l->now_ns = now(l);
	l->started_ns = l->now_ns;
	l->wheel = rv_wheel_new(WHEEL_TICK_NS, WHEEL_SLOTS, l->now_ns);
	if (!l->wheel) {
		ret = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto err_free;
	}
	ret = rv_chans_init(l, l->role == &rv_server_role
				       ? l->cfg->max_clients + rv_config_max_handshaking(l->cfg) +
						 EXTRA_CHANS
				       : 4);
	if (ret) {
		snprintf(err, err_len, "out of memory");
		goto err_free;
	}
	l->env.cfg = l->cfg;
	l->env.demux = p->demux;
	l->env.qsbr = p->qsbr;
	l->env.stall_seen_ns = &l->stall_seen_ns;
	l->env.woke_late_ns = &l->woke_late_ns;
	l->env.pool = p->pool;
	l->env.ctx = l;
	ret = rv_ctlring_new(&l->ring, RING_ENTRIES);
	if (ret) {
		char why[256];

		snprintf(err, err_len, "control io_uring: %s",
			 rv_ring_strerror(ret, why, sizeof(why)));
		goto err_free;
	}
	l->io = (struct rv_ctl_io){
		.ctx = l->ring,
		.accept = io_accept,
		.recv = io_recv,
		.send = io_send,
		.connect = io_connect,
		.read = io_read,
		.cancel_fd = io_cancel_fd,
	};
	l->tls = p->tls; /* ownership taken only on success (see err_free) */
	if (l->cfg->crl_state[0]) {
		ret = rv_crlstate_open(&l->crl_state, l->cfg->crl_state, l->tls, p->service_uid,
				       err, err_len);
		if (ret) {
			goto err_free;
		}
	}
	ret = l->role->start(l, err, err_len);
	if (ret) {
		goto err_free;
	}
	rv_slots_refill_spare(l);
	if (l->cfg->status_socket[0]) {
		ret = rv_mgmt_open(l, err, err_len);
		if (ret) {
			goto err_free;
		}
	}
	ret = rv_http_open(l, err, err_len);
	if (ret) {
		goto err_free;
	}
	*out = l;
	return 0;

err_free:
	/* The pool stays the caller's on failure (loop.h): the role's free
	 * must not release it. */
	l->env.pool = NULL;
	rv_mgmt_free(l);
	l->role->free(l);
	rv_crlstate_close(l->crl_state);
	rv_chans_free(l);
	rv_ctlring_free(l->ring);
	rv_http_free(l);
	if (l->spare_fd >= 0) {
		close(l->spare_fd);
	}
	rv_wheel_free(l->wheel);
	free(l->cfg);
	free(l);
	return ret;
}

/* start arms what runs for the whole life of the loop (rv_loop_run's
 * start-up). */
static void start(struct rv_loop *l)
{
	l->started = true;
	l->exit = RV_LOOP_SIGNAL;
	if (l->dp) {
		arm_rekey(l);
	}
	if (l->sigfd >= 0) {
		arm_signal(l);
	}
	rv_mgmt_start(l);
	rv_tunwatch_start(l);
	rv_starve_start(l);
	(void)rv_watch_open(l);
	rv_watch_expiry(l);
	if (l->p.watchdog_ns) {
		rv_loop_arm(l, &l->watchdog_timer, on_watchdog, l->now_ns + l->p.watchdog_ns);
	}
	rv_loop_notify(l, RV_LOOP_READY, "%s running", l->role->name);
}

bool rv_loop_step(struct rv_loop *l, enum rv_loop_exit *out_exit)
{
	struct rv_ctlring_cqe cqes[CQE_BATCH];
	uint64_t next, wait_ns, linger_ns = 0, t, t0;
	int n;

	if (!l->started) {
		start(l);
	}
	if (l->done) {
		goto out;
	}
	next = rv_wheel_next_ns(l->wheel, l->now_ns);
	if (l->role->timer_slack_ns && next != UINT64_MAX && next > l->now_ns) {
		/* Round up to the slack grid: timers due within one slack
		 * period fire in one turn. */
		uint64_t slack = l->role->timer_slack_ns, late = next + slack - 1;

		next = late < next ? UINT64_MAX : late - late % slack;
	}
	t = l->now_ns;
	if (l->role->linger_ns) {
		/* Linger only after a turn whose work took less time than its
		 * wait: with work waiting, time asleep would be lost. Nor while
		 * a management or metrics reply goes out briskly (slots.h
		 * rv_slots_progress): each of its parts would wait a linger. */
		t = now(l);
		if (t - l->now_ns < l->idle_ns && t >= l->brisk_until_ns) {
			linger_ns = l->role->linger_ns(l);
		}
	}
	wait_ns = next == UINT64_MAX ? UINT64_MAX : next > t ? next - t : 0;
	n = rv_ctlring_wait(l->ring, cqes, CQE_BATCH, wait_ns, linger_ns);
	t0 = l->now_ns;
	l->now_ns = now(l);
	l->idle_ns = l->now_ns - t;
	l->turn_ns = l->now_ns - t0;
	if (wait_ns != UINT64_MAX && l->idle_ns > wait_ns + linger_ns + LATE_NS) {
		l->woke_late_ns = l->now_ns;
	}
	if (wait_ns != UINT64_MAX && l->idle_ns > wait_ns + linger_ns + STALL_NS) {
		/* Woken long after the next timer was due: the process was
		 * stopped or had no CPU. What waited meanwhile (a management
		 * request whose asker gave up) may be judged by it. */
		l->stall_seen_ns = l->now_ns;
		rv_warnx_rl("control loop woke %.1f s late (the process was stopped or had no CPU)",
			    (double)(l->idle_ns - wait_ns - linger_ns) / 1e9);
	}
	if (n == -EAGAIN || n == -EBUSY) {
		if (ring_busy(l, n)) {
			goto out;
		}
		n = 0;
	} else if (n >= 0) {
		uint64_t lasted_ns;

		rv_busy_run_end(&l->ring_busy);
		if (rv_ring_spell_ok(&l->ring_spells, l->now_ns, &lasted_ns)) {
			rv_info("control ring wait works again after %.1f s",
				(double)lasted_ns / 1e9);
		}
	}
	if (n < 0 && n != -EINTR) {
		rv_warn(n, "control ring wait");
		l->exit = RV_LOOP_FAILED;
		l->done = true;
		goto out;
	}
	for (int i = 0; i < n && !l->done; i++) {
		dispatch(l, &cqes[i]);
	}
	run_timers(l);
	if (l->zombies) {
		rv_chans_reap(l);
	}
	trim_heap(l);
	schedule_reclaim(l);
	schedule_logflush(l);
	if (l->stopping && l->num_chans == 0) {
		l->done = true;
	}
out:
	*out_exit = l->exit;
	return !l->done;
}

enum rv_loop_exit rv_loop_run(struct rv_loop *l)
{
	enum rv_loop_exit ex;

	while (rv_loop_step(l, &ex)) {
	}
	return ex;
}

void rv_loop_free(struct rv_loop *l)
{
	struct rv_chan *c;

	if (!l) {
		return;
	}
	l->stopping = true;
	rv_chans_foreach(l, i, c)
	{
		rv_chan_close(l, c);
	}
	rv_mgmt_free(l);
	/* Freeing the ring cancels and reaps every operation still in flight,
	 * after which no kernel reference to a connection buffer remains. */
	rv_ctlring_free(l->ring);
	l->ring = NULL;
	rv_http_free(l);
	rv_chans_free(l);
	l->role->free(l);
	rv_crlstate_close(l->crl_state);
	if (l->watch_fd >= 0) {
		close(l->watch_fd);
	}
	rv_tunwatch_free(l);
	if (l->spare_fd >= 0) {
		close(l->spare_fd);
	}
	/* Sessions retired above are freed by the caller's rv_qsbr_free after
	 * it stopped the data plane. */
	rv_tls_ctx_free(l->tls);
	rv_wheel_free(l->wheel);
	free(l->cfg);
	free(l);
}
