/*
 * ctl.c — what the server's and the client's control state machines share
 * (see struct rv_ctl_peer in internal.h): output framing, ERROR and GOODBYE,
 * the messages both ends handle alike, the common timers and the start of a
 * rekey. I/O-free, like the state machines themselves.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "tls/internal.h"

void rv_ctl_peer_init(struct rv_ctl_peer *c, const struct rv_ctl_env *env, bool is_server,
		      const char *name, const uint8_t *exporter, const struct rv_ip_addr *prev4,
		      const struct rv_ip_addr *prev6, uint64_t now_ns)
{
	struct rv_ctl_msg m;

	c->env = env;
	c->peer_role = is_server ? "client" : "server";
	c->name = name;
	rv_ctlkey_init(&c->key, is_server, exporter);
	c->last_rx_ns = now_ns;
	c->last_tx_ns = now_ns;
	/* The client replaces these with the server's values from CONFIG. */
	c->keepalive_ns = (uint64_t)env->cfg->keepalive_ms * RV_NSEC_PER_MSEC;
	c->dead_peer_ns = (uint64_t)env->cfg->dead_peer_ms * RV_NSEC_PER_MSEC;
	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_HELLO;
	m.hello.max_ver = RV_CTL_PROTO_MAX;
	m.hello.min_ver = RV_CTL_PROTO_MIN;
	m.hello.caps = RV_CTL_CAP_IPV6 | RV_CTL_CAP_CHACHA | RV_CTL_CAP_CLIENT_REKEY;
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

void rv_ctl_peer_cleanup(struct rv_ctl_peer *c)
{
	if (c->session) {
		/* Phase 1: unpublish. Phase 2 (free + wipe) runs in
		 * rv_qsbr_reclaim once every worker has passed a quiescent
		 * point. Only the client publishes its session as the demux
		 * default (its one route for all traffic). */
		if (!c->key.is_server) {
			rv_demux_set_default(c->env->demux, NULL);
		}
		rv_demux_remove(c->env->demux, c->session);
		rv_qsbr_retire(c->env->qsbr, rv_session_retire_node(c->session),
			       rv_session_free_node);
		c->session = NULL;
	}
	rv_ctlkey_cleanup(&c->key);
}

void rv_ctl_emit(struct rv_ctl_peer *c, const struct rv_ctl_msg *m)
{
	size_t n;

	if (rv_ctl_encode(c->out.buf + c->out.len, sizeof(c->out.buf) - c->out.len, &n, m)) {
		/* Our own messages are valid and small; the loop drains the
		 * buffer after every call, so this is a bug, not an input. */
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
	c->closed = true;
	return RV_CTL_CLOSE;
}

void rv_ctl_goodbye(struct rv_ctl_peer *c, enum rv_ctl_code code)
{
	struct rv_ctl_msg m = { .type = RV_CTL_GOODBYE };

	m.goodbye_code = code;
	rv_ctl_emit(c, &m);
	c->closed = true;
}

bool rv_ctl_recv(struct rv_ctl_peer *c, struct rv_ctl_msg *m, const uint8_t *frame, size_t len,
		 uint64_t now_ns, enum rv_ctl_result *out_res)
{
	enum rv_ctl_err err;

	*out_res = RV_CTL_CLOSE;
	if (c->closed) {
		return false;
	}
	err = rv_ctl_decode(m, frame, len);
	if (err != RV_CTL_OK) {
		*out_res = rv_ctl_close_with(c, RV_CTL_CODE_PROTOCOL,
					     "malformed control message: %s", rv_ctl_err_str(err));
		return false;
	}
	c->last_rx_ns = now_ns;
	switch (m->type) {
	case RV_CTL_KEEPALIVE:
		*out_res = RV_CTL_CONTINUE;
		return false;
	case RV_CTL_GOODBYE:
		snprintf(c->reason, sizeof(c->reason), "%s said goodbye (%s)", c->peer_role,
			 rv_ctl_code_str(m->goodbye_code));
		c->error_code = m->goodbye_code;
		c->closed = true;
		return false;
	case RV_CTL_ERROR:
		snprintf(c->reason, sizeof(c->reason), "%s reported error %s: %.150s", c->peer_role,
			 rv_ctl_code_str(m->error.code), m->error.text);
		c->error_code = m->error.code;
		c->closed = true;
		return false;
	default:
		return true;
	}
}

enum rv_ctl_result rv_ctl_check_hello(struct rv_ctl_peer *c, const struct rv_ctl_hello *h)
{
	if (h->min_ver > RV_CTL_PROTO_MAX || h->max_ver < RV_CTL_PROTO_MIN) {
		return rv_ctl_close_with(c, RV_CTL_CODE_VERSION,
					 "%s speaks protocol %u..%u, %s %u..%u", c->peer_role,
					 h->min_ver, h->max_ver,
					 c->key.is_server ? "server" : "client", RV_CTL_PROTO_MIN,
					 RV_CTL_PROTO_MAX);
	}
	c->peer_caps = h->caps;
	return RV_CTL_CONTINUE;
}

enum rv_ctl_result rv_ctl_tick(struct rv_ctl_peer *c, bool running, uint64_t now_ns)
{
	if (c->closed) {
		return RV_CTL_CLOSE;
	}
	if (now_ns - c->last_rx_ns > c->dead_peer_ns) {
		return rv_ctl_close_with(c, RV_CTL_CODE_TIMEOUT, "%s%s%s silent for %u ms",
					 c->peer_role, c->name[0] ? " " : "", c->name,
					 (unsigned)((now_ns - c->last_rx_ns) / RV_NSEC_PER_MSEC));
	}
	if (now_ns - c->last_tx_ns >= c->keepalive_ns) {
		struct rv_ctl_msg m = { .type = RV_CTL_KEEPALIVE };

		rv_ctl_emit(c, &m);
		c->last_tx_ns = now_ns;
	}
	if (!running) {
		return RV_CTL_CONTINUE;
	}
	if (now_ns - c->last_data_ka_ns >= c->keepalive_ns && c->env->send_keepalive) {
		struct rv_endpoint ep;

		/* A data-plane keepalive keeps NAT mappings open; pointless
		 * until the peer's endpoint is known (the server learns it
		 * from the client's first packet). */
		rv_session_get_endpoint(c->session, &ep);
		if (ep.len) {
			c->env->send_keepalive(c->env->ctx, c->session);
		}
		c->last_data_ka_ns = now_ns;
	}
	if (rv_session_take_rekey_request(c->session)) {
		c->rekey_wanted = true;
	}
	return RV_CTL_CONTINUE;
}

bool rv_ctl_rekey_due(const struct rv_ctl_peer *c, uint64_t now_ns)
{
	return c->rekey_wanted && !rv_ctlkey_busy(&c->key) &&
	       now_ns - c->key.last_change_ns >= (uint64_t)RV_CTL_MIN_REKEY_MS * RV_NSEC_PER_MSEC;
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
	rv_ctl_emit(c, &m);
	c->last_tx_ns = now_ns;
	return RV_CTL_CONTINUE;
}

const char *rv_ctl_reason(const struct rv_ctl_peer *c)
{
	return c->reason[0] ? c->reason : "connection closed";
}
