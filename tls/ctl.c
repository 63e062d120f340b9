/*
 * ctl.c — the control peer interface (ctl.h) and what the server's and the
 * client's state machines share (struct rv_ctl_peer in internal.h): output
 * framing, ERROR and GOODBYE, the messages both ends handle alike, the
 * common timers, the start of a rekey and the budget for rekeys the peer
 * starts. I/O-free and clock-free, like the state machines themselves.
 */
#include "tls/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h" /* unit constants only: time is a parameter */
#include "core/config.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "tls/internal.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The refill period of the peer's budgets (peer_rekeys, counter_rekeys):
 * RV_CTL_PEER_REKEYS_PER_MIN tokens a minute. */
#define PEER_REKEY_TOKEN_NS (60 * RV_NSEC_PER_SEC / RV_CTL_PEER_REKEYS_PER_MIN)

/* bucket_refill adds to |b| the tokens earned since its last refill, one
 * every |per| ns, up to |cap|. */
static void bucket_refill(struct rv_ctl_bucket *b, uint32_t cap, uint64_t per, uint64_t now_ns)
{
	uint64_t earned = (now_ns - b->refill_ns) / per;

	if (earned > 0) {
		b->tokens = (uint32_t)min_u64(cap, b->tokens + earned);
		b->refill_ns += earned * per;
	}
}

void rv_ctl_peer_init(struct rv_ctl_peer *c, const struct rv_ctl_peer_ops *ops,
		      const struct rv_ctl_env *env, bool is_server, const char *name,
		      const uint8_t *exporter, uint32_t caps, const struct rv_ip_addr *prev4,
		      const struct rv_ip_addr *prev6, uint64_t now_ns)
{
	struct rv_ctl_msg m;

	c->ops = ops;
	c->env = env;
	c->name = name;
	rv_ctlkey_init(&c->key, is_server, exporter);
	c->last_rx_ns = now_ns;
	c->last_tx_ns = now_ns;
	c->last_data_ka_ns = now_ns;
	c->peer_rekeys = (struct rv_ctl_bucket){ RV_CTL_PEER_REKEYS_PER_MIN, now_ns };
	c->counter_rekeys = (struct rv_ctl_bucket){ RV_CTL_PEER_REKEYS_PER_MIN, now_ns };
	c->own_rekeys = (struct rv_ctl_bucket){ env->own_rekeys_per_min, now_ns };
	c->tls_key_updates = (struct rv_ctl_bucket){ RV_CTL_PEER_REKEYS_PER_MIN, now_ns };
	c->report_log = (struct rv_ctl_bucket){ RV_CTL_REPORT_LOG_BURST, now_ns };
	/* The server's own settings; a client has none (0) and uses the
	 * defaults until CONFIG brings the server's. */
	c->keepalive_ns = (uint64_t)(env->cfg->keepalive_ms ? env->cfg->keepalive_ms
							    : RV_CTL_DEFAULT_KEEPALIVE_MS) *
			  RV_NSEC_PER_MSEC;
	c->dead_peer_ns = (uint64_t)(env->cfg->dead_peer_ms ? env->cfg->dead_peer_ms
							    : RV_CTL_DEFAULT_DEAD_PEER_MS) *
			  RV_NSEC_PER_MSEC;
	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_HELLO;
	m.hello.max_ver = RV_CTL_PROTO_MAX;
	m.hello.min_ver = RV_CTL_PROTO_MIN;
	m.hello.caps = caps;
	if (prev4 && prev4->family == AF_INET) {
		m.hello.flags |= RV_CTL_F_HAS_V4;
		memcpy(m.hello.prev4, prev4->a, 4);
	}
	if (prev6 && prev6->family == AF_INET6) {
		m.hello.flags |= RV_CTL_F_HAS_V6;
		memcpy(m.hello.prev6, prev6->a, 16);
	}
	rv_ctl_emit(c, &m);
}

void rv_ctl_peer_ended(struct rv_ctl_peer *c, uint64_t now_ns)
{
	if (c) {
		c->ended_ns = now_ns;
	}
}

void rv_ctl_peer_free(struct rv_ctl_peer *c)
{
	if (!c) {
		return;
	}
	if (c->session) {
		/* Phase 1: unpublish. Phase 2 (free + wipe) runs in
		 * rv_qsbr_reclaim once every worker has passed a quiescent
		 * point. rv_demux_remove also clears the demux default if this
		 * session was it (the client's one route for all traffic). */
		rv_demux_remove(c->env->demux, c->session);
		rv_qsbr_retire(c->env->qsbr, rv_session_retire_node(c->session),
			       rv_session_free_node);
		c->session = NULL;
	}
	rv_ctlkey_cleanup(&c->key);
	c->ops->destroy(c);
}

void rv_ctl_emit(struct rv_ctl_peer *c, const struct rv_ctl_msg *m)
{
	size_t n;

	if (rv_ctl_encode(c->out.buf + c->out.len, sizeof(c->out.buf) - c->out.len, &n, m)) {
		/* Our own messages are valid and small, and the caller drains
		 * the buffer after every batch of frames: a bug, not input. */
		rv_warnx("%s%scannot encode %s (output full or invalid)", c->name,
			 c->name[0] ? ": " : "", rv_ctl_type_str(m->type));
		return;
	}
	c->out.len += n;
}

void rv_ctl_error_msg(struct rv_ctl_msg *m, enum rv_ctl_code code, const char *text)
{
	memset(m, 0, sizeof(*m));
	m->type = RV_CTL_ERROR;
	m->error.code = code;
	m->error.text_len = (uint8_t)strnlen(text, RV_CTL_MAX_TEXT);
	memcpy(m->error.text, text, m->error.text_len);
	for (size_t i = 0; i < m->error.text_len; i++) {
		if (m->error.text[i] < 0x20 || m->error.text[i] > 0x7e) {
			m->error.text[i] = '?';
		}
	}
}

enum rv_ctl_result rv_ctl_close_with(struct rv_ctl_peer *c, enum rv_ctl_code code, const char *fmt,
				     ...)
{
	struct rv_ctl_msg m;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	rv_ctl_error_msg(&m, code, c->reason);
	rv_ctl_emit(c, &m);
	c->sent_code = code;
	c->closed = true;
	return RV_CTL_CLOSE;
}

void rv_ctl_peer_goodbye(struct rv_ctl_peer *c, enum rv_ctl_code code, const char *reason)
{
	struct rv_ctl_msg m = { .type = RV_CTL_GOODBYE };

	if (c->closed) {
		return;
	}
	m.goodbye_code = code;
	rv_ctl_emit(c, &m);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	c->sent_code = code;
	c->closed = true;
}

/* recv_common decodes |frame| into |m| and handles what both ends treat
 * alike (malformed frames, KEEPALIVE, GOODBYE, ERROR). Returns true when the
 * role must handle |m|; false with the result in |*out_res|. */
static bool recv_common(struct rv_ctl_peer *c, struct rv_ctl_msg *m, const uint8_t *frame,
			size_t len, uint64_t now_ns, enum rv_ctl_result *out_res)
{
	enum rv_ctl_err err;

	*out_res = RV_CTL_CLOSE;
	if (c->closed) {
		return false;
	}
	err = rv_ctl_decode(m, frame, len);
	/* A frame of another version is no common version, as ctlmsg.h
	 * says (it went as a malformed message: round-twenty-seven tester
	 * 127); the peer's exit and the server's counting take both alike. */
	if (err == RV_CTL_E_VERSION) {
		*out_res = rv_ctl_close_with(c, RV_CTL_CODE_VERSION,
					     "%s sent a control frame of version %u, this end "
					     "speaks %u",
					     c->ops->peer_role, len ? frame[0] : 0, RV_CTL_VERSION);
		return false;
	}
	if (err != RV_CTL_OK) {
		*out_res = rv_ctl_close_with(c, RV_CTL_CODE_PROTOCOL,
					     "malformed control message: %s", rv_ctl_err_str(err));
		return false;
	}
	if (now_ns - c->last_rx_ns > c->keepalive_ns + c->keepalive_ns / 2) {
		c->rx_resumed_ns = now_ns;
	}
	c->last_rx_ns = now_ns;
	switch (m->type) {
	case RV_CTL_KEEPALIVE:
		*out_res = RV_CTL_CONTINUE;
		return false;
	case RV_CTL_GOODBYE:
		snprintf(c->reason, sizeof(c->reason), "%s said goodbye (%s)", c->ops->peer_role,
			 rv_ctl_code_str(m->goodbye_code));
		c->error_code = m->goodbye_code;
		c->got_goodbye = true;
		c->closed = true;
		return false;
	case RV_CTL_ERROR:
		/* "server full: server full": the text often is the code's name. */
		if (strcmp(m->error.text, rv_ctl_code_str(m->error.code)) == 0) {
			snprintf(c->reason, sizeof(c->reason), "%s reported error %s",
				 c->ops->peer_role, m->error.text);
		} else {
			/* Quoted: the peer's words, which could pass for a line
			 * of the log's own (round-sixty-two tester 254), its
			 * quotes escaped (it closed the quote itself: 256). */
			char text[2 * 150 + 1];
			size_t n = 0;

			for (const char *p = m->error.text; *p && p - m->error.text < 150; p++) {
				if (*p == '"' || *p == '\\') {
					text[n++] = '\\';
				}
				text[n++] = *p;
			}
			text[n] = '\0';
			snprintf(c->reason, sizeof(c->reason), "%s reported error %s: \"%.300s\"%s",
				 c->ops->peer_role, rv_ctl_code_str(m->error.code), text,
				 strlen(m->error.text) > 150 ? " (cut at 150 characters)" : "");
		}
		c->error_code = m->error.code;
		c->got_error = true;
		c->closed = true;
		return false;
	default:
		return true;
	}
}

enum rv_ctl_result rv_ctl_peer_on_frame(struct rv_ctl_peer *c, const uint8_t *frame, size_t len,
					uint64_t now_ns)
{
	enum rv_ctl_result r;
	struct rv_ctl_msg m;

	if (!recv_common(c, &m, frame, len, now_ns, &r)) {
		return r;
	}
	return c->ops->on_msg(c, &m, now_ns);
}

enum rv_ctl_result rv_ctl_check_hello(struct rv_ctl_peer *c, const struct rv_ctl_hello *h)
{
	if (h->min_ver > RV_CTL_PROTO_MAX || h->max_ver < RV_CTL_PROTO_MIN) {
		return rv_ctl_close_with(c, RV_CTL_CODE_VERSION,
					 "%s speaks protocol %u..%u, %s %u..%u", c->ops->peer_role,
					 h->min_ver, h->max_ver,
					 c->key.is_server ? "server" : "client", RV_CTL_PROTO_MIN,
					 RV_CTL_PROTO_MAX);
	}
	c->peer_caps = h->caps;
	return RV_CTL_CONTINUE;
}

/* tell_data_status sends DATA_STATUS(|silent|, |seconds|) to a peer that
 * takes it: a client whose HELLO announced RV_CTL_CAP_DATA_STATUS, a server
 * whose HELLO announced RV_CTL_CAP_DATA_ECHO. */
static void tell_data_status(struct rv_ctl_peer *c, bool silent, uint64_t seconds, uint64_t now_ns)
{
	struct rv_ctl_msg m = { .type = RV_CTL_DATA_STATUS };

	if (!(c->peer_caps & (c->key.is_server ? RV_CTL_CAP_DATA_STATUS : RV_CTL_CAP_DATA_ECHO))) {
		return;
	}
	m.data_status.silent = silent;
	if (silent) {
		m.data_status.seconds = seconds == 0	       ? 1
					: seconds > UINT32_MAX ? UINT32_MAX
							       : (uint32_t)seconds;
	}
	rv_ctl_emit(c, &m);
	c->last_tx_ns = now_ns;
}

/* asks_echo: our keepalives ask for an answer (RV_DATA_F_ECHO): we are a
 * client and the server announced RV_CTL_CAP_DATA_ECHO. */
static bool asks_echo(const struct rv_ctl_peer *c)
{
	return !c->key.is_server && (c->peer_caps & RV_CTL_CAP_DATA_ECHO);
}

/* data_ka_period: how long after the last data-channel keepalive the next
 * is due. Every keepalive, but every RV_CTL_ECHO_RETRY_MS while the last
 * one's answer is missing and the silence is not declared yet (a session
 * running). An answer is anything from the server since the ask: the data
 * plane stamps it with the coarse clock, up to a tick (10 ms at HZ=100)
 * behind ours, hence the slack. */
static uint64_t data_ka_period(const struct rv_ctl_peer *c)
{
	const uint64_t retry = (uint64_t)RV_CTL_ECHO_RETRY_MS * RV_NSEC_PER_MSEC;
	const uint64_t slack = 20 * RV_NSEC_PER_MSEC;

	if (asks_echo(c) && c->data_silent_ns == 0 && retry < c->keepalive_ns &&
	    rv_session_last_rx_ns(c->session) + slack < c->last_data_ka_ns) {
		return retry;
	}
	return c->keepalive_ns;
}

void rv_ctl_peer_data_keepalive(struct rv_ctl_peer *c, uint64_t now_ns)
{
	struct rv_endpoint ep;

	if (c->env->send_keepalive == NULL) {
		return;
	}
	/* A data-plane keepalive keeps NAT mappings open; pointless until
	 * the peer's endpoint is known (the server learns it from the
	 * client's first packet). Each asks for an answer where the peer
	 * gives one, busy or not: a run of answers one keepalive apart
	 * (closer after a lost one) is what lets data_watch wait only the
	 * dead-peer timeout, which may be a second above it. */
	rv_session_get_endpoint(c->session, &ep);
	if (ep.len) {
		c->env->send_keepalive(c->env->ctx, c->session, asks_echo(c));
	}
	c->last_data_ka_ns = now_ns;
}

/* watches_data: does this end watch the datagrams its peer sends? A client
 * sends a data-channel keepalive every keepalive interval, so the server
 * always can; a server that answers each lets its client do it too. */
static bool watches_data(const struct rv_ctl_peer *c)
{
	return c->key.is_server || (c->env->send_keepalive != NULL && asks_echo(c));
}

/* dead_line: when a peer silent since |since_ns| is given up on: more than
 * dead_peer_ns later, and not within RV_CTL_WAKE_GRACE_MS of a late wake
 * of this process after |since_ns| (it was stopped or without CPU). What
 * the peer sent meanwhile waits unread in the socket and is read first: a
 * stop shorter than the timeout ended sessions whose peer kept talking,
 * the silence blamed on it. */
static uint64_t dead_line(const struct rv_ctl_peer *c, uint64_t since_ns)
{
	const uint64_t *late = c->env->woke_late_ns;
	uint64_t at = since_ns + c->dead_peer_ns + 1;

	if (late != NULL && *late > since_ns) {
		at = max_u64(at, *late + (uint64_t)RV_CTL_WAKE_GRACE_MS * RV_NSEC_PER_MSEC);
	}
	return at;
}

/* data_heard_ns: when the peer's last authenticated datagram came, if after
 * its last control frame (0: not). */
static uint64_t data_heard_ns(const struct rv_ctl_peer *c)
{
	uint64_t rx = c->session != NULL ? rv_session_last_rx_ns(c->session) : 0;

	return rx > c->last_rx_ns ? rx : 0;
}

/* keys_end_ns: when the session's sending keys expire, 0: no session or
 * no keys. */
static uint64_t keys_end_ns(const struct rv_ctl_peer *c)
{
	return c->session != NULL ? rv_session_tx_expires_ns(c->session) : 0;
}

/* keys_dead_line: when the session ends for its keys' end (UINT64_MAX:
 * no keys yet), not within RV_CTL_WAKE_GRACE_MS of a late wake of this
 * process (what the peer sent meanwhile, a KEY_CONFIRM, is read first). */
static uint64_t keys_dead_line(const struct rv_ctl_peer *c)
{
	const uint64_t *late = c->env->woke_late_ns;
	uint64_t end = keys_end_ns(c);

	if (end == 0) {
		return UINT64_MAX;
	}
	if (late != NULL && *late + (uint64_t)RV_CTL_WAKE_GRACE_MS * RV_NSEC_PER_MSEC > end) {
		end = *late + (uint64_t)RV_CTL_WAKE_GRACE_MS * RV_NSEC_PER_MSEC;
	}
	return end;
}

/* data_alive_line: a control connection silent while the peer's datagrams
 * keep coming is a TCP path that lost packets, not a dead peer: after an
 * outage of a few seconds TCP's backed-off retransmission may come later
 * than the dead-peer timeout, and sessions ended with their traffic still
 * flowing. Such a silence is given until a dead-peer timeout after the last
 * datagram, at most a second timeout after the last frame (without the
 * control connection no key exchange can be made). 0: none given. */
static uint64_t data_alive_line(const struct rv_ctl_peer *c)
{
	uint64_t rx = data_heard_ns(c), line, end;

	if (!rx) {
		return 0;
	}
	line = min_u64(rx + c->dead_peer_ns + 1, c->last_rx_ns + 2 * c->dead_peer_ns + 1);
	/* Nor past the sending keys' end: without the control connection no
	 * new ones come, and the tunnel carried nothing for up to a minute
	 * while both ends showed it running (a dead_peer_timeout over 60 s:
	 * round-sixty-eight tester 299). Ended then, a client connects anew. */
	end = keys_end_ns(c);
	return end && end < line ? end : line;
}

/* rx_dead_line: dead_line for the peer's last frame, the grace given once
 * a silence: the late wake that first finds it past the timeout buys
 * RV_CTL_WAKE_GRACE_MS to read what waited, later ones nothing (a process
 * stopped 0.6 s in every 0.9 kept a dead peer for good). */
static uint64_t rx_dead_line(const struct rv_ctl_peer *c)
{
	uint64_t line;

	if (c->grace_used && c->grace_rx_ns == c->last_rx_ns) {
		line = max_u64(c->last_rx_ns + c->dead_peer_ns + 1,
			       c->grace_late_ns +
				       (uint64_t)RV_CTL_WAKE_GRACE_MS * RV_NSEC_PER_MSEC);
	} else {
		line = dead_line(c, c->last_rx_ns);
	}
	return max_u64(line, data_alive_line(c));
}

/* key_dead_line: when a key exchange in flight is given up on; a control
 * connection that went silent meanwhile while the datagrams still come
 * gets what rx_dead_line gives it. */
static uint64_t key_dead_line(const struct rv_ctl_peer *c)
{
	uint64_t line = max_u64(dead_line(c, c->key.busy_since_ns), data_alive_line(c));

	/* The connection came back during the exchange: our KEY waits in
	 * TCP's backed-off retransmission, and the peer's first frame must not
	 * end what the silence's grace kept (it did, at once). Bounded, so that
	 * a peer going quiet and back again cannot keep an exchange open. */
	if (c->rx_resumed_ns > c->key.busy_since_ns) {
		line = max_u64(line, min_u64(c->rx_resumed_ns + c->dead_peer_ns + 1,
					     c->key.busy_since_ns + 3 * c->dead_peer_ns + 1));
	}
	return line;
}

/* control_outlived_data: has the control channel heard from the peer
 * within a keepalive (and a quarter, for the way's delay) of the data
 * channel's deadline, |last| being the data channel's last datagram? Then
 * the peer lives and only its datagrams are missing. A peer gone
 * altogether falls silent on both within a keepalive of each other, which
 * with the dead-peer timeout at twice the keepalive or more (the default is
 * three times) leaves it the dead-peer timeout's to judge: "UDP may be
 * blocked; the session stays up" was said just before its session ended. */
static bool control_outlived_data(const struct rv_ctl_peer *c, uint64_t last)
{
	return c->last_rx_ns + c->keepalive_ns + c->keepalive_ns / 4 >= last + c->dead_peer_ns;
}

/* fails_over: does a client leave a server whose data channel went
 * silent? Only for another server of its list: with one, the session stays
 * up (traffic resumes at once when the path comes back), while a client
 * with several stayed for ever on a server whose UDP a firewall dropped,
 * the control connection and its rekeys alive, and never tried the next
 * one (round-twenty-one tester 95). */
static bool fails_over(const struct rv_ctl_peer *c)
{
	return !c->key.is_server && c->env->cfg != NULL && c->env->cfg->num_servers > 1;
}

/* fail_over ends a client's session whose data channel went silent, for
 * the next server of its list: said to the server with the reason (a
 * GOODBYE said only "peer timed out" while the control connection
 * lived: round-twenty-two tester 97). */
static bool fail_over(struct rv_ctl_peer *c)
{
	c->data_failed = true;
	(void)rv_ctl_close_with(c, RV_CTL_CODE_TIMEOUT,
				"no data-channel datagram from the server: trying the next server");
	return true;
}

/* data_watch: a session whose data channel stays silent towards this end
 * for the dead-peer timeout while its control connection lives has its UDP
 * path blocked (a firewall rule, a middlebox that lost the mapping). The
 * session stays up, since traffic resumes at once when the path comes back,
 * but the operator is told, once, and again when it works; so is the peer
 * (DATA_STATUS, on each of these two changes only), whose own status then
 * shows the direction it cannot see. A client with other servers to try
 * ends the session instead (fails_over). Returns true when it did. */
static bool data_watch(struct rv_ctl_peer *c, uint64_t now_ns)
{
	uint64_t rx = rv_session_last_rx_ns(c->session), last, secs;
	struct rv_endpoint ep;
	char a[80];

	if (c->data_silent_ns != 0) {
		if (rx > c->data_silent_ns) {
			if (!c->key.is_server) {
				rv_info("data-channel (UDP) datagrams from the "
					"server arrive again");
			} else {
				rv_info_rl("client %s: data channel works again", c->name);
			}
			c->data_silent_ns = 0;
			tell_data_status(c, false, 0, now_ns);
		} else if (fails_over(c)) {
			/* A reload listed another server since the silence was
			 * declared, which it only said then (the client stayed:
			 * round-twenty-two tester 97). */
			rv_warnx("no data-channel (UDP) datagram from the server for %u s, and the "
				 "server list has another now: trying the next server",
				 (unsigned)((now_ns - max_u64(rx, c->running_since_ns)) /
					    RV_NSEC_PER_SEC));
			return fail_over(c);
		}
		return false;
	}
	last = rx > c->running_since_ns ? rx : c->running_since_ns;
	if (now_ns <= last || now_ns < dead_line(c, last) || !control_outlived_data(c, last)) {
		return false;
	}
	secs = (now_ns - last) / RV_NSEC_PER_SEC;
	if (c->key.is_server) {
		/* Rate-limited: a server-wide block would say it of every
		 * session. */
		rv_warnx_rl("client %s: no data-channel datagram for %u s while its control "
			    "connection lives: UDP to the data port may be blocked on the way "
			    "(the session stays up)",
			    c->name, (unsigned)secs);
	} else {
		/* Its answers to our keepalives stopped too: either way may
		 * be blocked, which the server's DATA_STATUS tells apart. */
		rv_session_get_endpoint(c->session, &ep);
		rv_warnx("no data-channel (UDP) datagram from the server for %u s although every "
			 "keepalive asks it for one: UDP from %s, or to it, may be blocked on the "
			 "way; %s",
			 (unsigned)secs, rv_endpoint_str(&ep, a, sizeof(a)),
			 fails_over(c) ? "trying the next server" : "the session stays up");
		if (fails_over(c)) {
			return fail_over(c);
		}
	}
	c->data_silent_ns = now_ns;
	tell_data_status(c, true, secs, now_ns);
	return false;
}

/* data_watch_at: when data_watch has something to decide. A silence is
 * declared at the dead-peer timeout, not at the next keepalive's tick, which
 * may come a whole keepalive later (no extra wake-up while datagrams come:
 * the keepalive's tick is sooner); once declared, its end is looked for
 * every RV_CTL_ECHO_RETRY_MS, so that it is said, and the peer told, soon
 * after the first datagram (only sessions found silent tick so often). */
static uint64_t data_watch_at(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	uint64_t rx = rv_session_last_rx_ns(c->session);
	uint64_t last = rx > c->running_since_ns ? rx : c->running_since_ns;

	if (c->data_silent_ns != 0) {
		return now_ns + (uint64_t)RV_CTL_ECHO_RETRY_MS * RV_NSEC_PER_MSEC;
	}
	/* With the control channel as quiet, the dead-peer deadline comes
	 * first (or a frame, after which this is asked again). */
	return control_outlived_data(c, last)
		       ? dead_line(c, last)
		       : max_u64(dead_line(c, last), dead_line(c, c->last_rx_ns));
}

/* report_log_take: may a line about the peer's report be logged now (its
 * own budget, RV_CTL_REPORT_LOG_BURST)? Takes a token if so. */
static bool report_log_take(struct rv_ctl_peer *c, uint64_t now_ns)
{
	struct rv_ctl_bucket *b = c->report_log_shared ? c->report_log_shared : &c->report_log;

	bucket_refill(b, RV_CTL_REPORT_LOG_BURST, (uint64_t)RV_CTL_REPORT_LOG_MS * RV_NSEC_PER_MSEC,
		      now_ns);
	if (b->tokens == 0) {
		return false;
	}
	b->tokens--;
	return true;
}

void rv_ctl_peer_told_data_status(struct rv_ctl_peer *c, const struct rv_ctl_data_status *d,
				  uint64_t now_ns)
{
	uint64_t for_ns = (uint64_t)d->seconds * RV_NSEC_PER_SEC, since;
	unsigned secs;
	bool change = d->silent ? c->told_silent_ns == 0 : c->told_silent_ns != 0;
	bool say = change && report_log_take(c, now_ns);
	struct rv_endpoint ep;
	char a[80];

	if (!d->silent) {
		if (say && !c->key.is_server) {
			rv_info("the server receives data-channel (UDP) datagrams from this client "
				"again");
		} else if (say) {
			rv_info_rl("client %s: our data-channel datagrams reach it again", c->name);
		}
		c->told_silent_ns = 0;
		return;
	}
	/* The silence began |seconds| ago by our clock, but not before the
	 * session came up, whatever the peer says. */
	since = for_ns < now_ns ? now_ns - for_ns : 0;
	if (since < c->running_since_ns) {
		since = c->running_since_ns;
	}
	/* Said as bounded, as status shows it: the peer's figure went into
	 * the log as sent ("none for 4294967295 s" of a session a second old:
	 * a hostile tester). */
	secs = (unsigned)((now_ns - since) / RV_NSEC_PER_SEC);
	secs = secs < d->seconds ? secs : d->seconds;
	if (say) {
		rv_session_get_endpoint(c->session, &ep);
		rv_endpoint_str(&ep, a, sizeof(a));
		if (!c->key.is_server) {
			rv_warnx("the server receives no data-channel (UDP) datagrams from this "
				 "client for %u s: UDP to %s may be blocked on the way; "
				 "the session stays up",
				 secs, a);
		} else if (rv_session_last_rx_ns(c->session) == 0) {
			/* No datagram has come from it at all: nothing to
			 * answer, no address of it to name ("its keepalives,
			 * which we answer, do not come (none for 0 s) ... UDP
			 * from (none)" of a session a second old: round-fifteen
			 * tester 70). */
			rv_warnx_rl("client %s: data channel silent: no data-channel datagram "
				    "has come from it since its session began %u s ago, and it "
				    "reports none of ours: UDP from it may be blocked on the "
				    "way, ours maybe too (the session stays up)",
				    c->name,
				    (unsigned)((now_ns - c->running_since_ns) / RV_NSEC_PER_SEC));
		} else if (rv_session_last_rx_ns(c->session) > since + RV_NSEC_PER_SEC) {
			/* Its keepalives came meanwhile, and we answered
			 * each: the loss is on our way to it. A second of
			 * margin: the peer counts whole seconds, down, so
			 * |since| may be up to one late, and what was on the
			 * way when both ways closed came after it: half the
			 * silences of both ways were said as ours alone (a
			 * hostile tester). */
			rv_warnx_rl("client %s: our data-channel datagrams do not reach it "
				    "(none for %u s, it reports) although its own reach us: "
				    "UDP to %s may be blocked on the way (the session stays up)",
				    c->name, secs, a);
		} else {
			/* None came to answer: its way is blocked, maybe
			 * ours too; ours may have carried nothing but those
			 * answers, so its report proves nothing of ours ("both
			 * ways" was said with only its way blocked: round-eleven
			 * tester 49). */
			rv_warnx_rl("client %s: data channel silent: its keepalives, which we "
				    "answer, do not come (none for %u s), and it reports none of "
				    "ours (we may have had nothing else to send): UDP from %s "
				    "may be blocked on the way, ours maybe too (the session "
				    "stays up)",
				    c->name, secs, a);
		}
	}
	c->told_silent_ns = since != 0 ? since : 1; /* never 0: "none" */
}

/* peer_rekey_for_counter: the peer's packets reached the rekey limit. Its
 * counters are its own to choose, so a peer that jumps them to the limit
 * under each new epoch asks for exchanges without end (67 a minute); such
 * exchanges take tokens of a budget of their own, as large as the one its
 * KEYs spend, and wait for one (its session is not ended: the rest is its
 * own data's to lose). Not the same budget: an honest client whose upload
 * passed rekey_packets every few seconds left none for its own KEY, and
 * was disconnected for the one its operator asked for. */
static void peer_rekey_for_counter(struct rv_ctl_peer *c, uint64_t now_ns)
{
	bucket_refill(&c->counter_rekeys, RV_CTL_PEER_REKEYS_PER_MIN, PEER_REKEY_TOKEN_NS, now_ns);
	if (c->counter_rekeys.tokens > 0) {
		c->counter_rekeys.tokens--;
		c->rekey_for_peer = false;
		c->rekey_wanted = true;
		return;
	}
	if (!c->rekey_for_peer_said) {
		c->rekey_for_peer_said = true;
		rv_warnx_rl("%s%s%s: its packet counters reached the rekey limit more than %u "
			    "times in a minute; the next key exchange waits",
			    c->ops->peer_role, c->name[0] ? " " : "", c->name,
			    (unsigned)RV_CTL_PEER_REKEYS_PER_MIN);
	}
}

enum rv_ctl_result rv_ctl_peer_key_updates(struct rv_ctl_peer *c, uint64_t key_updates,
					   uint64_t tickets, uint64_t now_ns)
{
	/* Named by what overdrew the budget: the two tickets a TLS server
	 * sends at the start made every KeyUpdate flood "KeyUpdates and
	 * session tickets" (tester 263). */
	bool by_updates = key_updates > c->key_updates_seen, by_tickets = tickets > c->tickets_seen;
	uint64_t more = (key_updates - c->key_updates_seen) + (tickets - c->tickets_seen);

	/* Closed already: its end is being said (a second close said it
	 * twice). */
	if (c->closed || (!by_updates && !by_tickets)) {
		return RV_CTL_CONTINUE;
	}
	c->key_updates_seen = key_updates;
	c->tickets_seen = tickets;
	bucket_refill(&c->tls_key_updates, RV_CTL_PEER_REKEYS_PER_MIN, PEER_REKEY_TOKEN_NS, now_ns);
	if (more > c->tls_key_updates.tokens) {
		return rv_ctl_close_with(c, RV_CTL_CODE_RATE,
					 "%s sent more than %u TLS %s in a minute",
					 c->ops->peer_role, (unsigned)RV_CTL_PEER_REKEYS_PER_MIN,
					 !by_tickets   ? "KeyUpdates"
					 : !by_updates ? "session tickets"
						       : "KeyUpdates and session tickets");
	}
	c->tls_key_updates.tokens -= (uint32_t)more;
	return RV_CTL_CONTINUE;
}

void rv_ctl_peer_partial(struct rv_ctl_peer *c, size_t bytes, uint64_t now_ns)
{
	/* Called after a read that brought bytes: those held came now (a
	 * smaller count is a new frame's, after one completed). */
	if (bytes) {
		c->partial_last_ns = now_ns;
	}
	c->partial_bytes = bytes;
}

enum rv_ctl_result rv_ctl_peer_tick(struct rv_ctl_peer *c, uint64_t now_ns)
{
	bool running, by_peer = false;

	if (c->closed) {
		return RV_CTL_CLOSE;
	}
	if (now_ns > c->last_rx_ns + c->dead_peer_ns && c->env->woke_late_ns != NULL &&
	    *c->env->woke_late_ns > c->last_rx_ns &&
	    !(c->grace_used && c->grace_rx_ns == c->last_rx_ns)) {
		c->grace_used = true;
		c->grace_rx_ns = c->last_rx_ns;
		c->grace_late_ns = *c->env->woke_late_ns;
	}
	if (now_ns >= rx_dead_line(c)) {
		const uint64_t *stall = c->env->stall_seen_ns;
		/* Woken late during the silence, this side may be the one that
		 * went quiet: its peer gave up on it meanwhile. */
		bool own = stall && *stall > c->last_rx_ns;

		uint64_t data = data_heard_ns(c), end = keys_end_ns(c);
		char also[192] = "";

		/* Said only when the datagrams still come: a peer silent on
		 * both (stopped, gone) ends a timeout after its last one. */
		if (data != 0 && now_ns - min_u64(data, now_ns) < c->dead_peer_ns) {
			snprintf(also, sizeof(also),
				 " (its datagrams came until %u ms ago: the control "
				 "connection's TCP path may be blocked%s)",
				 (unsigned)((now_ns - min_u64(data, now_ns)) / RV_NSEC_PER_MSEC),
				 end && end <= now_ns ? "; the keys in use expired, and new "
							"ones need it"
						      : "");
		}
		char what[128];

		/* Bytes of a frame since the last whole one (in the same read
		 * too): no silence (tester 254; 256: a whole frame and the
		 * start of the next in one read were said as silent). */
		if (c->partial_bytes && c->partial_last_ns >= c->last_rx_ns) {
			snprintf(what, sizeof(what),
				 "sent no whole control message for %u ms (%zu bytes of one came "
				 "in pieces, the last %u ms ago)",
				 (unsigned)((now_ns - c->last_rx_ns) / RV_NSEC_PER_MSEC),
				 c->partial_bytes,
				 (unsigned)((now_ns - min_u64(c->partial_last_ns, now_ns)) /
					    RV_NSEC_PER_MSEC));
		} else {
			snprintf(what, sizeof(what), "silent for %u ms",
				 (unsigned)((now_ns - c->last_rx_ns) / RV_NSEC_PER_MSEC));
		}
		return rv_ctl_close_with(c, RV_CTL_CODE_TIMEOUT, "%s%s%s %s%s%s", c->ops->peer_role,
					 c->name[0] ? " " : "", c->name, what,
					 own ? " (this process was itself stopped or without CPU "
					       "meanwhile: the silence may be its own)"
					     : "",
					 also);
	}
	if (now_ns >= keys_dead_line(c)) {
		/* The keys in use expired with no new ones: the tunnel carries
		 * nothing from then on. A control connection that went silent
		 * less than the dead-peer timeout before (an outage that began
		 * late in the keys' life) kept the session "running" until
		 * that timeout (round-sixty-eight tester 305). */
		uint64_t quiet = now_ns - min_u64(c->last_rx_ns, now_ns);
		char why[160];

		/* Silent past a keepalive and a quarter: the way, not the peer's
		 * answer to a KEY, is what is missing. */
		if (quiet > c->keepalive_ns + c->keepalive_ns / 4) {
			snprintf(why, sizeof(why),
				 "the key exchange needs the control connection, silent for %u ms: "
				 "its TCP path may be blocked",
				 (unsigned)(quiet / RV_NSEC_PER_MSEC));
		} else {
			snprintf(why, sizeof(why), "%s",
				 rv_ctlkey_busy(&c->key)
					 ? "the key exchange in flight did not finish"
					 : "no key exchange was made in time");
		}
		return rv_ctl_close_with(c, RV_CTL_CODE_TIMEOUT,
					 "%s%s%s: the keys in use expired with no new ones (%s)",
					 c->ops->peer_role, c->name[0] ? " " : "", c->name, why);
	}
	if (rv_ctlkey_busy(&c->key) && now_ns >= key_dead_line(c)) {
		/* The peer keeps the connection alive but never finishes
		 * the exchange: the session would keep its old key until that
		 * expires, and no later rekey could start. */
		/* Its other frames kept coming after our KEY went out: the
		 * peer lives, and our frames may be what does not arrive. */
		bool heard = c->key.initiated != 0 && c->last_rx_ns > c->key.busy_since_ns &&
			     c->rx_resumed_ns <= c->key.busy_since_ns;

		return rv_ctl_close_with(c, RV_CTL_CODE_TIMEOUT,
					 "%s%s%s did not finish the key exchange of epoch %u "
					 "within %u ms%s",
					 c->ops->peer_role, c->name[0] ? " " : "", c->name,
					 rv_ctlkey_pending(&c->key),
					 (unsigned)(c->dead_peer_ns / RV_NSEC_PER_MSEC),
					 heard ? " (its other frames came meanwhile: ours may not "
						 "reach it)"
					       : "");
	}
	if (now_ns - c->last_tx_ns >= c->keepalive_ns) {
		struct rv_ctl_msg m = { .type = RV_CTL_KEEPALIVE };

		rv_ctl_emit(c, &m);
		c->last_tx_ns = now_ns;
	}
	running = c->ops->running(c);
	if (running && c->env->send_keepalive && now_ns - c->last_data_ka_ns >= data_ka_period(c)) {
		rv_ctl_peer_data_keepalive(c, now_ns);
	}
	/* Not while an exchange is in flight: it answers the request (taken
	 * after it, the request is for the epoch it replaced). */
	if (running && !rv_ctlkey_busy(&c->key) &&
	    rv_session_take_rekey_request(c->session, &by_peer)) {
		if (by_peer) {
			c->rekey_for_peer = true;
		} else {
			c->rekey_wanted = true;
		}
	}
	if (c->rekey_for_peer && !c->rekey_wanted && !rv_ctlkey_busy(&c->key)) {
		peer_rekey_for_counter(c, now_ns);
	}
	if (running && watches_data(c) && data_watch(c, now_ns)) {
		return RV_CTL_CLOSE;
	}
	if (running) {
		rv_ctlkey_retire(&c->key, c->session, c->env->qsbr, now_ns);
	}
	return c->ops->tick(c, now_ns);
}

/* own_per_token_ns: the refill period of a client's own budget (0: none). */
static uint64_t own_per_token_ns(const struct rv_ctl_peer *c)
{
	unsigned n = c->key.is_server ? 0 : c->env->own_rekeys_per_min;

	return n ? 60 * RV_NSEC_PER_SEC / n : 0;
}

/* own_rekey_at: when a client may start its next key exchange by its own
 * budget (0: now). Its server enforces one (rv_ctl_peer_rekey_allowed); the
 * client keeps under it. A server's exchanges are not limited here. */
static uint64_t own_rekey_at(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	uint64_t per = own_per_token_ns(c);

	if (per == 0 || c->own_rekeys.tokens > 0 || now_ns - c->own_rekeys.refill_ns >= per) {
		return 0;
	}
	return c->own_rekeys.refill_ns + per;
}

/* own_rekey_take spends a token of the client's budget (refilled first). */
static void own_rekey_take(struct rv_ctl_peer *c, uint64_t now_ns)
{
	uint64_t per = own_per_token_ns(c);

	if (per == 0) {
		return;
	}
	bucket_refill(&c->own_rekeys, c->env->own_rekeys_per_min, per, now_ns);
	if (c->own_rekeys.tokens > 0) {
		c->own_rekeys.tokens--;
	}
}

uint64_t rv_ctl_peer_next_ns(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	uint64_t next = now_ns + (uint64_t)RV_CTL_MAX_TICK_MS * RV_NSEC_PER_MSEC;

	if (c->closed) {
		return now_ns;
	}
	next = min_u64(next, rx_dead_line(c));
	next = min_u64(next, keys_dead_line(c));
	next = min_u64(next, c->last_tx_ns + c->keepalive_ns);
	if (c->ops->running(c)) {
		if (c->env->send_keepalive) {
			next = min_u64(next, c->last_data_ka_ns + data_ka_period(c));
		}
		if (watches_data(c)) {
			next = min_u64(next, data_watch_at(c, now_ns));
		}
	}
	/* While a key exchange is in flight nothing rekey-related is due but
	 * its deadline: its answer arrives as a frame, after which the caller
	 * asks again. */
	if (rv_ctlkey_busy(&c->key)) {
		next = min_u64(next, key_dead_line(c));
	} else if (c->rekey_for_peer && !c->rekey_wanted) {
		next = min_u64(next, c->counter_rekeys.refill_ns + PEER_REKEY_TOKEN_NS);
	} else if (c->rekey_wanted) {
		uint64_t at =
			c->key.last_change_ns + (uint64_t)RV_CTL_MIN_REKEY_MS * RV_NSEC_PER_MSEC;
		uint64_t own = own_rekey_at(c, now_ns);

		next = min_u64(next, own > at ? own : at);
	}
	next = min_u64(next, c->ops->next_ns(c));
	/* A deadline in the past means "due now", never "in 2^64 ns". */
	return next < now_ns ? now_ns : next;
}

bool rv_ctl_rekey_due(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	return c->rekey_wanted && !rv_ctlkey_busy(&c->key) &&
	       now_ns - c->key.last_change_ns >= (uint64_t)RV_CTL_MIN_REKEY_MS * RV_NSEC_PER_MSEC &&
	       own_rekey_at(c, now_ns) <= now_ns;
}

enum rv_ctl_result rv_ctl_start_rekey(struct rv_ctl_peer *c, uint64_t now_ns)
{
	struct rv_ctl_msg m;
	int ret;

	ret = rv_ctlkey_initiate(&c->key, &m, now_ns);
	if (ret == -EBUSY) {
		return RV_CTL_CONTINUE;
	}
	if (ret) {
		return rv_ctl_close_with(c, RV_CTL_CODE_INTERNAL, "cannot generate a key pair");
	}
	own_rekey_take(c, now_ns);
	rv_ctl_emit(c, &m);
	c->last_tx_ns = now_ns;
	return RV_CTL_CONTINUE;
}

bool rv_ctl_peer_rekey_allowed(struct rv_ctl_peer *c, uint64_t now_ns)
{
	/* Half the spacing we keep ourselves. The peer measures it from its
	 * own install of the previous epoch; we from when that exchange began
	 * here, which came before the peer's install whoever started it (our
	 * KEY was sent before the peer took it), so a late KEY_ACK (a TCP
	 * retransmission) does not shorten the gap we see. */
	const uint64_t min_gap = (uint64_t)RV_CTL_MIN_REKEY_MS * RV_NSEC_PER_MSEC / 2;
	const uint64_t since = now_ns - c->key.last_began_ns;

	bucket_refill(&c->peer_rekeys, RV_CTL_PEER_REKEYS_PER_MIN, PEER_REKEY_TOKEN_NS, now_ns);
	if (c->key.installed > 0 && since < min_gap) {
		snprintf(c->reason, sizeof(c->reason),
			 "%s started a key exchange %u ms after the last one (at least %u ms "
			 "required)",
			 c->ops->peer_role, (unsigned)(since / RV_NSEC_PER_MSEC),
			 (unsigned)(min_gap / RV_NSEC_PER_MSEC));
		return false;
	}
	if (c->peer_rekeys.tokens == 0) {
		snprintf(c->reason, sizeof(c->reason),
			 "%s started more than %u key exchanges in a minute", c->ops->peer_role,
			 (unsigned)RV_CTL_PEER_REKEYS_PER_MIN);
		return false;
	}
	c->peer_rekeys.tokens--;
	return true;
}

enum rv_ctl_rekey_ask rv_ctl_peer_request_rekey(struct rv_ctl_peer *c, uint64_t now_ns)
{
	bool joined = c->rekey_wanted;

	c->rekey_wanted = true;
	return joined			     ? RV_CTL_REKEY_JOINED
	       : rv_ctlkey_busy(&c->key)     ? RV_CTL_REKEY_BUSY
	       : rv_ctl_rekey_due(c, now_ns) ? RV_CTL_REKEY_NOW
					     : RV_CTL_REKEY_LATER;
}

struct rv_ctl_out *rv_ctl_peer_out(struct rv_ctl_peer *c)
{
	return &c->out;
}

bool rv_ctl_peer_running(const struct rv_ctl_peer *c)
{
	return !c->closed && c->ops->running(c);
}

const char *rv_ctl_peer_state(const struct rv_ctl_peer *c)
{
	return c->closed ? "closed" : c->ops->state(c);
}

const char *rv_ctl_peer_reason(const struct rv_ctl_peer *c)
{
	return c->reason[0] ? c->reason : "connection closed";
}

bool rv_ctl_peer_data_failed(const struct rv_ctl_peer *c)
{
	return c->data_failed;
}

bool rv_ctl_peer_got_goodbye(const struct rv_ctl_peer *c)
{
	return c->got_goodbye;
}

bool rv_ctl_peer_got_error(const struct rv_ctl_peer *c)
{
	return c->got_error;
}

unsigned rv_ctl_peer_error_code(const struct rv_ctl_peer *c)
{
	return c->error_code;
}

unsigned rv_ctl_peer_sent_code(const struct rv_ctl_peer *c)
{
	return c->sent_code;
}

struct rv_session *rv_ctl_peer_session(const struct rv_ctl_peer *c)
{
	return c->session;
}

uint64_t rv_ctl_peer_rekeys(const struct rv_ctl_peer *c)
{
	return c->key.num_rekeys;
}

uint64_t rv_ctl_peer_last_rekey_ns(const struct rv_ctl_peer *c)
{
	return c->key.last_change_ns;
}

/* own_silent_ns: how long the peer's datagrams have not come, once
 * data_watch found it (0: they come). */
static uint64_t own_silent_ns(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	uint64_t rx, last;

	if (c->data_silent_ns == 0 || c->session == NULL) {
		return 0;
	}
	rx = rv_session_last_rx_ns(c->session);
	if (rx > c->data_silent_ns) {
		return 0; /* it works again; the next tick says so */
	}
	last = rx > c->running_since_ns ? rx : c->running_since_ns;
	return now_ns > last ? now_ns - last : 1;
}

/* told_silent_ns: how long ours have not reached the peer, as it says. */
static uint64_t told_silent_ns(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	if (c->told_silent_ns == 0 || c->session == NULL) {
		return 0;
	}
	return now_ns > c->told_silent_ns ? now_ns - c->told_silent_ns : 1;
}

uint64_t rv_ctl_peer_data_silent_ns(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	return c->key.is_server ? own_silent_ns(c, now_ns) : told_silent_ns(c, now_ns);
}

uint64_t rv_ctl_peer_return_silent_ns(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	return c->key.is_server ? told_silent_ns(c, now_ns) : own_silent_ns(c, now_ns);
}
