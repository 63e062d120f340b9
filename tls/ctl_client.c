/*
 * ctl_client.c — client side of the control protocol (see ctl_client.h).
 */
#include "tls/ctl_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "crypto/mem.h"
#include "tls/ctlkey.h"

enum state {
	ST_WAIT_HELLO,
	ST_WAIT_CONFIG,
	ST_WAIT_KEY1,
	ST_RUNNING,
	ST_CLOSED,
};

static const char *const state_names[] = {
	[ST_WAIT_HELLO] = "wait-hello",
	[ST_WAIT_CONFIG] = "wait-config",
	[ST_WAIT_KEY1] = "wait-key",
	[ST_RUNNING] = "running",
	[ST_CLOSED] = "closed",
};

struct rv_ctl_client {
	const struct rv_ctl_env *env;
	enum state st;
	struct rv_ctlkey key;
	struct rv_endpoint server;
	struct rv_session *session;
	uint32_t peer_caps;
	uint64_t keepalive_ns, dead_peer_ns;
	uint64_t last_rx_ns, last_tx_ns, last_data_ka_ns;
	bool rekey_wanted;
	unsigned error_code;
	struct rv_ctl_out out;
	char reason[256];
};

static void emit(struct rv_ctl_client *p, const struct rv_ctrl_msg *m)
{
	size_t n;

	if (rv_ctrl_encode(p->out.buf + p->out.len, sizeof(p->out.buf) - p->out.len, &n, m)) {
		rv_warnx("cannot encode %s (output full or invalid)", rv_ctrl_type_str(m->type));
		return;
	}
	p->out.len += n;
}

static enum rv_ctl_result close_with(struct rv_ctl_client *p, enum rv_ctrl_code code,
				     const char *fmt, ...) RV_PRINTF(3, 4);

static enum rv_ctl_result close_with(struct rv_ctl_client *p, enum rv_ctrl_code code,
				     const char *fmt, ...)
{
	struct rv_ctrl_msg m;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	memset(&m, 0, sizeof(m));
	m.type = RV_CTRL_ERROR;
	m.error.code = code;
	m.error.text_len = (uint8_t)strnlen(p->reason, RV_CTRL_MAX_TEXT);
	memcpy(m.error.text, p->reason, m.error.text_len);
	for (size_t i = 0; i < m.error.text_len; i++) {
		if (m.error.text[i] < 0x20 || m.error.text[i] > 0x7e) {
			m.error.text[i] = '?';
		}
	}
	emit(p, &m);
	p->st = ST_CLOSED;
	return RV_CTL_CLOSE;
}

struct rv_ctl_client *rv_ctl_client_new(const struct rv_ctl_env *env, const uint8_t *exporter,
					const struct rv_endpoint *server,
					const struct rv_ip_addr *prev4,
					const struct rv_ip_addr *prev6, uint64_t now_ns)
{
	struct rv_ctl_client *p = calloc(1, sizeof(*p));
	struct rv_ctrl_msg m;

	if (!p) {
		return NULL;
	}
	p->env = env;
	p->server = *server;
	rv_ctlkey_init(&p->key, false, exporter);
	p->last_rx_ns = now_ns;
	p->last_tx_ns = now_ns;
	p->keepalive_ns = (uint64_t)env->cfg->keepalive_ms * RV_NSEC_PER_MSEC;
	p->dead_peer_ns = (uint64_t)env->cfg->dead_peer_ms * RV_NSEC_PER_MSEC;
	memset(&m, 0, sizeof(m));
	m.type = RV_CTRL_HELLO;
	m.hello.max_ver = RV_CTL_PROTO_MAX;
	m.hello.min_ver = RV_CTL_PROTO_MIN;
	m.hello.caps = RV_CTRL_CAP_IPV6 | RV_CTRL_CAP_CHACHA | RV_CTRL_CAP_CLIENT_REKEY;
	if (prev4 && prev4->family == AF_INET) {
		m.hello.flags |= RV_CTRL_F_HAS_V4;
		memcpy(m.hello.prev4, prev4->a, 4);
	}
	if (prev6 && prev6->family == AF_INET6) {
		m.hello.flags |= RV_CTRL_F_HAS_V6;
		memcpy(m.hello.prev6, prev6->a, 16);
	}
	emit(p, &m);
	return p;
}

void rv_ctl_client_free(struct rv_ctl_client *p)
{
	if (!p) {
		return;
	}
	if (p->session) {
		rv_demux_set_default(p->env->demux, NULL);
		rv_demux_remove(p->env->demux, p->session);
		rv_qsbr_retire(p->env->qsbr, rv_session_retire_node(p->session),
			       rv_session_free_node);
		p->session = NULL;
	}
	rv_ctlkey_cleanup(&p->key);
	rv_memzero(p, sizeof(*p));
	free(p);
}

static enum rv_ctl_result do_config(struct rv_ctl_client *p, const struct rv_ctrl_config *c)
{
	struct rv_session_params sp;
	int ret;

	ret = p->env->on_config ? p->env->on_config(p->env->ctx, c) : 0;
	if (ret) {
		return close_with(p, RV_CTRL_CODE_INTERNAL, "cannot apply configuration: %s",
				  strerror(-ret));
	}
	memset(&sp, 0, sizeof(sp));
	sp.local_index = c->client_index;
	sp.remote_index = c->server_index;
	if (c->flags & RV_CTRL_F_HAS_V4) {
		sp.vaddr4.family = AF_INET;
		memcpy(sp.vaddr4.a, c->addr4, 4);
	}
	if (c->flags & RV_CTRL_F_HAS_V6) {
		sp.vaddr6.family = AF_INET6;
		memcpy(sp.vaddr6.a, c->addr6, 16);
	}
	/* The server forwards traffic from anywhere behind it. */
	sp.any_source = true;
	sp.alg = (enum rv_aead_alg)c->cipher;
	sp.endpoint = p->server;
	if (sp.endpoint.sa.sa_family == AF_INET) {
		sp.endpoint.in4.sin_port = htons(c->data_port);
	} else {
		sp.endpoint.in6.sin6_port = htons(c->data_port);
	}
	p->session = rv_session_new(&sp);
	if (!p->session) {
		return close_with(p, RV_CTRL_CODE_INTERNAL, "cannot create session");
	}
	ret = rv_demux_add(p->env->demux, p->session);
	if (ret) {
		rv_session_free(p->session);
		p->session = NULL;
		return close_with(p, RV_CTRL_CODE_INTERNAL, "cannot publish session: %s",
				  strerror(-ret));
	}
	rv_demux_set_default(p->env->demux, p->session);
	p->keepalive_ns = (uint64_t)c->keepalive_s * RV_NSEC_PER_SEC;
	p->dead_peer_ns = (uint64_t)c->dead_peer_s * RV_NSEC_PER_SEC;
	p->st = ST_WAIT_KEY1;
	return RV_CTL_CONTINUE;
}

static enum rv_ctl_result on_key_msg(struct rv_ctl_client *p, const struct rv_ctrl_msg *m,
				     uint64_t now_ns)
{
	struct rv_ctrl_msg out;
	int ret;

	switch (m->type) {
	case RV_CTRL_KEY:
		ret = rv_ctlkey_respond(&p->key, p->session, p->env->qsbr, &m->key, &out, now_ns);
		if (ret) {
			return close_with(p, RV_CTRL_CODE_KEY, "KEY for epoch %u rejected: %s",
					  m->key.epoch, strerror(-ret));
		}
		emit(p, &out);
		return RV_CTL_CONTINUE;
	case RV_CTRL_KEY_CONFIRM:
		if (rv_ctlkey_confirmed(&p->key, p->session, m->confirm_epoch)) {
			return close_with(p, RV_CTRL_CODE_KEY, "unexpected KEY_CONFIRM(%u)",
					  m->confirm_epoch);
		}
		if (p->st == ST_WAIT_KEY1) {
			p->st = ST_RUNNING;
			/* Tell the server our UDP endpoint right away. */
			if (p->env->send_keepalive) {
				p->env->send_keepalive(p->env->ctx, p->session);
			}
			p->last_data_ka_ns = now_ns;
		}
		return RV_CTL_CONTINUE;
	case RV_CTRL_KEY_ACK:
		if (p->st != ST_RUNNING) {
			break;
		}
		ret = rv_ctlkey_complete(&p->key, p->session, p->env->qsbr, &m->key, &out, now_ns);
		if (ret) {
			return close_with(p, RV_CTRL_CODE_KEY, "KEY_ACK for epoch %u rejected: %s",
					  m->key.epoch, strerror(-ret));
		}
		emit(p, &out);
		return RV_CTL_CONTINUE;
	default:
		break;
	}
	return close_with(p, RV_CTRL_CODE_PROTOCOL, "unexpected %s", rv_ctrl_type_str(m->type));
}

enum rv_ctl_result rv_ctl_client_on_frame(struct rv_ctl_client *p, const uint8_t *frame,
					  size_t len, uint64_t now_ns)
{
	struct rv_ctrl_msg m;
	enum rv_ctrl_err err;

	if (p->st == ST_CLOSED) {
		return RV_CTL_CLOSE;
	}
	err = rv_ctrl_decode(&m, frame, len);
	if (err != RV_CTRL_OK) {
		return close_with(p, RV_CTRL_CODE_PROTOCOL, "malformed control message: %s",
				  rv_ctrl_err_str(err));
	}
	p->last_rx_ns = now_ns;
	switch (m.type) {
	case RV_CTRL_KEEPALIVE:
		return RV_CTL_CONTINUE;
	case RV_CTRL_GOODBYE:
		snprintf(p->reason, sizeof(p->reason), "server said goodbye (%s)",
			 rv_ctrl_code_str(m.goodbye_code));
		p->error_code = m.goodbye_code;
		p->st = ST_CLOSED;
		return RV_CTL_CLOSE;
	case RV_CTRL_ERROR:
		snprintf(p->reason, sizeof(p->reason), "server reported error %s: %.150s",
			 rv_ctrl_code_str(m.error.code), m.error.text);
		p->error_code = m.error.code;
		p->st = ST_CLOSED;
		return RV_CTL_CLOSE;
	default:
		break;
	}
	switch (p->st) {
	case ST_WAIT_HELLO:
		if (m.type != RV_CTRL_HELLO) {
			return close_with(p, RV_CTRL_CODE_PROTOCOL, "expected HELLO, got %s",
					  rv_ctrl_type_str(m.type));
		}
		if (m.hello.min_ver > RV_CTL_PROTO_MAX || m.hello.max_ver < RV_CTL_PROTO_MIN) {
			return close_with(p, RV_CTRL_CODE_VERSION,
					  "server speaks protocol %u..%u, client %u..%u",
					  m.hello.min_ver, m.hello.max_ver, RV_CTL_PROTO_MIN,
					  RV_CTL_PROTO_MAX);
		}
		p->peer_caps = m.hello.caps;
		p->st = ST_WAIT_CONFIG;
		return RV_CTL_CONTINUE;
	case ST_WAIT_CONFIG:
		if (m.type != RV_CTRL_CONFIG) {
			return close_with(p, RV_CTRL_CODE_PROTOCOL, "expected CONFIG, got %s",
					  rv_ctrl_type_str(m.type));
		}
		return do_config(p, &m.config);
	case ST_WAIT_KEY1:
	case ST_RUNNING:
		return on_key_msg(p, &m, now_ns);
	case ST_CLOSED:
	default:
		return RV_CTL_CLOSE;
	}
}

enum rv_ctl_result rv_ctl_client_tick(struct rv_ctl_client *p, uint64_t now_ns)
{
	if (p->st == ST_CLOSED) {
		return RV_CTL_CLOSE;
	}
	if (now_ns - p->last_rx_ns > p->dead_peer_ns) {
		return close_with(p, RV_CTRL_CODE_TIMEOUT, "server silent for %u ms",
				  (unsigned)((now_ns - p->last_rx_ns) / RV_NSEC_PER_MSEC));
	}
	if (now_ns - p->last_tx_ns >= p->keepalive_ns) {
		struct rv_ctrl_msg m = { .type = RV_CTRL_KEEPALIVE };

		emit(p, &m);
		p->last_tx_ns = now_ns;
	}
	if (p->st != ST_RUNNING) {
		return RV_CTL_CONTINUE;
	}
	if (now_ns - p->last_data_ka_ns >= p->keepalive_ns && p->env->send_keepalive) {
		p->env->send_keepalive(p->env->ctx, p->session);
		p->last_data_ka_ns = now_ns;
	}
	if (rv_session_take_rekey_request(p->session)) {
		p->rekey_wanted = true;
	}
	if (p->rekey_wanted && (p->peer_caps & RV_CTRL_CAP_CLIENT_REKEY) &&
	    !rv_ctlkey_busy(&p->key) &&
	    now_ns - p->key.last_change_ns >= (uint64_t)RV_CTL_MIN_REKEY_MS * RV_NSEC_PER_MSEC) {
		struct rv_ctrl_msg m;

		p->rekey_wanted = false;
		if (rv_ctlkey_initiate(&p->key, &m, now_ns)) {
			return close_with(p, RV_CTRL_CODE_INTERNAL, "cannot generate a key pair");
		}
		emit(p, &m);
		p->last_tx_ns = now_ns;
	}
	return RV_CTL_CONTINUE;
}

void rv_ctl_client_request_rekey(struct rv_ctl_client *p)
{
	p->rekey_wanted = true;
}

void rv_ctl_client_goodbye(struct rv_ctl_client *p, enum rv_ctrl_code code)
{
	struct rv_ctrl_msg m = { .type = RV_CTRL_GOODBYE };

	m.goodbye_code = code;
	emit(p, &m);
	p->st = ST_CLOSED;
}

struct rv_ctl_out *rv_ctl_client_out(struct rv_ctl_client *p)
{
	return &p->out;
}

bool rv_ctl_client_running(const struct rv_ctl_client *p)
{
	return p->st == ST_RUNNING;
}

const char *rv_ctl_client_reason(const struct rv_ctl_client *p)
{
	return p->reason[0] ? p->reason : "connection closed";
}

const char *rv_ctl_client_state(const struct rv_ctl_client *p)
{
	return state_names[p->st];
}

struct rv_session *rv_ctl_client_session(const struct rv_ctl_client *p)
{
	return p->session;
}

uint64_t rv_ctl_client_rekeys(const struct rv_ctl_client *p)
{
	return p->key.num_rekeys;
}

unsigned rv_ctl_client_error_code(const struct rv_ctl_client *p)
{
	return p->error_code;
}
