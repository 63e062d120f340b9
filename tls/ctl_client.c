/*
 * ctl_client.c — client side of the control protocol (see ctl_client.h).
 */
#include "tls/ctl_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h" /* unit constants only: time is a parameter */
#include "core/config.h"
#include "core/demux.h"
#include "core/log.h"
#include "crypto/secmem.h"
#include "tls/internal.h"

enum state {
	ST_WAIT_HELLO,
	ST_WAIT_CONFIG,
	ST_WAIT_KEY1,
	ST_RUNNING,
};

static const char *const state_names[] = {
	[ST_WAIT_HELLO] = "wait-hello",
	[ST_WAIT_CONFIG] = "wait-config",
	[ST_WAIT_KEY1] = "wait-key",
	[ST_RUNNING] = "running",
};

struct rv_ctl_client {
	struct rv_ctl_peer c; /* first: a struct rv_ctl_peer * is a client * */
	enum state st;
	struct rv_endpoint server;
	uint32_t client_index, server_index; /* of the first CONFIG */
	/* Until running, each step (HELLO, CONFIG, the first key) is due
	 * within handshake_timeout of the one before, as the server demands
	 * of its clients: a server that authenticated and then only sent
	 * keepalives held the client in wait-hello for ever, with a healthy
	 * second server in its list never tried. */
	uint64_t setup_by_ns;
	/* DNS pushed before the first key: applied once the tunnel runs (it
	 * pointed the host's lookups into a tunnel that might never come up). */
	struct rv_ctl_dns dns;
	bool dns_waiting;
};

static struct rv_ctl_client *cli(struct rv_ctl_peer *p)
{
	return (struct rv_ctl_client *)p;
}

static const struct rv_ctl_client *ccli(const struct rv_ctl_peer *p)
{
	return (const struct rv_ctl_client *)p;
}

static void destroy(struct rv_ctl_peer *c)
{
	rv_secmem_free(c, sizeof(struct rv_ctl_client));
}

static uint64_t setup_deadline(const struct rv_ctl_client *p, uint64_t now_ns)
{
	return now_ns + (uint64_t)p->c.env->cfg->handshake_timeout_ms * RV_NSEC_PER_MSEC;
}

static void adopt_timers(struct rv_ctl_client *p, const struct rv_ctl_config *c)
{
	p->c.keepalive_ns = (uint64_t)c->keepalive_s * RV_NSEC_PER_SEC;
	p->c.dead_peer_ns = (uint64_t)c->dead_peer_s * RV_NSEC_PER_SEC;
}

static enum rv_ctl_result do_config(struct rv_ctl_client *p, const struct rv_ctl_config *c,
				    uint64_t now_ns)
{
	const struct rv_ctl_env *env = p->c.env;
	struct rv_session_params sp;
	int ret;

	ret = env->on_config ? env->on_config(env->ctx, c, false) : 0;
	if (ret == -EBADMSG) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL,
					 "CONFIG refused: it assigns an address this host cannot "
					 "take");
	}
	if (ret) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_INTERNAL,
					 "cannot apply configuration: %s", strerror(-ret));
	}
	memset(&sp, 0, sizeof(sp));
	/* A client has one peer: the workers' log lines call it as dial.c's do. */
	sp.peer_name = "server";
	sp.local_index = c->client_index;
	sp.remote_index = c->server_index;
	if (c->flags & RV_CTL_F_HAS_V4) {
		sp.vaddr4.family = AF_INET;
		memcpy(sp.vaddr4.a, c->addr4, 4);
	}
	if (c->flags & RV_CTL_F_HAS_V6) {
		sp.vaddr6.family = AF_INET6;
		memcpy(sp.vaddr6.a, c->addr6, 16);
	}
	/* The server forwards traffic from anywhere behind it, but only what
	 * this host routes into the tunnel may come out of it (on_session
	 * below): a split tunnel must not take packets posing as its LAN. */
	sp.any_source = false;
	sp.alg = (enum rv_aead_alg)c->cipher;
	sp.csum_partial = env->cfg->offload_csum && (p->c.peer_caps & RV_CTL_CAP_CSUM_PARTIAL);
	sp.small_flag = p->c.peer_caps & RV_CTL_CAP_DATA_SMALL;
	/* The server's address and announced port: what comes from
	 * elsewhere is opened (it may be the server's) but never moves it. */
	sp.endpoint = p->server;
	sp.endpoint_fixed = true;
	if (sp.endpoint.sa.sa_family == AF_INET) {
		sp.endpoint.in4.sin_port = htons(c->data_port);
	} else {
		sp.endpoint.in6.sin6_port = htons(c->data_port);
	}
	p->c.session = rv_session_new(&sp);
	if (!p->c.session) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_INTERNAL, "cannot create session");
	}
	ret = rv_demux_add(env->demux, p->c.session);
	if (ret) {
		rv_session_free(p->c.session); /* never published */
		p->c.session = NULL;
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_INTERNAL, "cannot publish session: %s",
					 strerror(-ret));
	}
	rv_demux_set_default(env->demux, p->c.session);
	/* Before the first key: no packet is opened without its sources. */
	ret = env->on_session ? env->on_session(env->ctx, p->c.session) : 0;
	if (ret) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_INTERNAL,
					 "cannot publish the tunnel's networks: %s",
					 strerror(-ret));
	}
	adopt_timers(p, c);
	p->client_index = c->client_index;
	p->server_index = c->server_index;
	p->st = ST_WAIT_KEY1;
	p->setup_by_ns = setup_deadline(p, now_ns);
	return RV_CTL_CONTINUE;
}

/* do_config_update applies a CONFIG the server sent while running (after a
 * reload on its side): new routes, timers or MTU. The addresses and indices
 * are those of the session; a server that changes them breaks the protocol. */
static enum rv_ctl_result do_config_update(struct rv_ctl_client *p, const struct rv_ctl_config *c)
{
	const struct rv_ctl_env *env = p->c.env;
	const struct rv_ip_addr *v4 = rv_session_vaddr4(p->c.session);
	const struct rv_ip_addr *v6 = rv_session_vaddr6(p->c.session);
	int ret;

	if (c->client_index != p->client_index || c->server_index != p->server_index ||
	    !!(c->flags & RV_CTL_F_HAS_V4) != (v4->family == AF_INET) ||
	    !!(c->flags & RV_CTL_F_HAS_V6) != (v6->family == AF_INET6) ||
	    (v4->family && memcmp(c->addr4, v4->a, 4) != 0) ||
	    (v6->family && memcmp(c->addr6, v6->a, 16) != 0)) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL,
					 "CONFIG update changes the session's addresses or "
					 "indices");
	}
	ret = env->on_config ? env->on_config(env->ctx, c, true) : 0;
	if (ret) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_INTERNAL,
					 "cannot apply configuration update: %s", strerror(-ret));
	}
	adopt_timers(p, c);
	return RV_CTL_CONTINUE;
}

static enum rv_ctl_result on_key_msg(struct rv_ctl_client *p, const struct rv_ctl_msg *m,
				     uint64_t now_ns)
{
	const struct rv_ctl_env *env = p->c.env;
	struct rv_ctl_msg out;
	int ret;

	switch (m->type) {
	case RV_CTL_KEY:
		ret = rv_ctlkey_respond(&p->c.key, p->c.session, env->qsbr, &m->key, &out, now_ns);
		if (ret) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_KEY,
						 "KEY for epoch %u rejected: %s", m->key.epoch,
						 rv_ctlkey_why(&p->c.key, ret));
		}
		rv_ctl_emit(&p->c, &out);
		return RV_CTL_CONTINUE;
	case RV_CTL_KEY_CONFIRM:
		if (rv_ctlkey_confirmed(&p->c.key, p->c.session, m->confirm_epoch)) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_KEY,
						 "unexpected KEY_CONFIRM(%u)", m->confirm_epoch);
		}
		if (p->st == ST_WAIT_KEY1) {
			p->st = ST_RUNNING;
			p->c.running_since_ns = now_ns;
			/* Tell the server our UDP endpoint right away. */
			rv_ctl_peer_data_keepalive(&p->c, now_ns);
			if (p->dns_waiting && env->on_dns) {
				env->on_dns(env->ctx, &p->dns);
			}
			p->dns_waiting = false;
		}
		return RV_CTL_CONTINUE;
	case RV_CTL_KEY_ACK:
		if (p->st != ST_RUNNING) {
			break;
		}
		ret = rv_ctlkey_complete(&p->c.key, p->c.session, env->qsbr, &m->key, &out, now_ns);
		if (ret) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_KEY,
						 "KEY_ACK for epoch %u rejected: %s", m->key.epoch,
						 rv_ctlkey_why(&p->c.key, ret));
		}
		rv_ctl_emit(&p->c, &out);
		return RV_CTL_CONTINUE;
	case RV_CTL_CONFIG:
		if (p->st != ST_RUNNING) {
			break;
		}
		return do_config_update(p, &m->config);
	case RV_CTL_DNS:
		if (p->st != ST_RUNNING) {
			p->dns = m->dns; /* the last push counts */
			p->dns_waiting = true;
		} else if (env->on_dns) {
			env->on_dns(env->ctx, &m->dns);
		}
		return RV_CTL_CONTINUE;
	case RV_CTL_DATA_STATUS:
		if (p->st != ST_RUNNING) {
			break;
		}
		rv_ctl_peer_told_data_status(&p->c, &m->data_status, now_ns);
		return RV_CTL_CONTINUE;
	default:
		break;
	}
	return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL, "unexpected %s",
				 rv_ctl_type_str(m->type));
}

static enum rv_ctl_result on_msg(struct rv_ctl_peer *c, const struct rv_ctl_msg *m, uint64_t now_ns)
{
	struct rv_ctl_client *p = cli(c);

	switch (p->st) {
	case ST_WAIT_HELLO:
		if (m->type != RV_CTL_HELLO) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL,
						 "expected HELLO, got %s",
						 rv_ctl_type_str(m->type));
		}
		if (rv_ctl_check_hello(&p->c, &m->hello) == RV_CTL_CLOSE) {
			return RV_CTL_CLOSE;
		}
		p->st = ST_WAIT_CONFIG;
		p->setup_by_ns = setup_deadline(p, now_ns);
		return RV_CTL_CONTINUE;
	case ST_WAIT_CONFIG:
		if (m->type != RV_CTL_CONFIG) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL,
						 "expected CONFIG, got %s",
						 rv_ctl_type_str(m->type));
		}
		return do_config(p, &m->config, now_ns);
	case ST_WAIT_KEY1:
	case ST_RUNNING:
		return on_key_msg(p, m, now_ns);
	default:
		return RV_CTL_CLOSE;
	}
}

static enum rv_ctl_result tick(struct rv_ctl_peer *c, uint64_t now_ns)
{
	struct rv_ctl_client *p = cli(c);

	if (p->st != ST_RUNNING && now_ns >= p->setup_by_ns) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_TIMEOUT,
					 "no %s from the server within %u ms",
					 p->st == ST_WAIT_HELLO	   ? "HELLO"
					 : p->st == ST_WAIT_CONFIG ? "CONFIG"
								   : "first key",
					 p->c.env->cfg->handshake_timeout_ms);
	}
	if (p->st == ST_RUNNING && (p->c.peer_caps & RV_CTL_CAP_CLIENT_REKEY) &&
	    rv_ctl_rekey_due(&p->c, now_ns)) {
		p->c.rekey_wanted = false;
		return rv_ctl_start_rekey(&p->c, now_ns);
	}
	return RV_CTL_CONTINUE;
}

static uint64_t next_ns(const struct rv_ctl_peer *c)
{
	const struct rv_ctl_client *p = ccli(c);

	/* Running, the server drives timed rekeys. */
	return p->st == ST_RUNNING ? UINT64_MAX : p->setup_by_ns;
}

static bool running(const struct rv_ctl_peer *c)
{
	return ccli(c)->st == ST_RUNNING;
}

static const char *state(const struct rv_ctl_peer *c)
{
	return state_names[ccli(c)->st];
}

static const struct rv_ctl_peer_ops client_ops = {
	.peer_role = "server",
	.on_msg = on_msg,
	.tick = tick,
	.next_ns = next_ns,
	.running = running,
	.state = state,
	.destroy = destroy,
};

struct rv_ctl_peer *rv_ctl_client_new(const struct rv_ctl_env *env, const uint8_t *exporter,
				      const struct rv_endpoint *server,
				      const struct rv_ip_addr *prev4,
				      const struct rv_ip_addr *prev6, uint64_t now_ns)
{
	struct rv_ctl_client *p = rv_secmem_alloc(sizeof(*p));

	if (!p) {
		return NULL;
	}
	p->server = *server;
	rv_ctl_peer_init(&p->c, &client_ops, env, false, "", exporter,
			 RV_CTL_CAP_IPV6 | RV_CTL_CAP_CHACHA | RV_CTL_CAP_CLIENT_REKEY |
				 RV_CTL_CAP_CONFIG_UPDATE | RV_CTL_CAP_DATA_STATUS |
				 RV_CTL_CAP_DATA_SMALL |
				 (env->cfg->offload_csum ? RV_CTL_CAP_CSUM_PARTIAL : 0) |
				 (env->on_dns ? RV_CTL_CAP_DNS | RV_CTL_CAP_DNS_EMPTY : 0),
			 prev4, prev6, now_ns);
	p->setup_by_ns = setup_deadline(p, now_ns);
	return &p->c;
}
