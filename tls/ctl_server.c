/*
 * ctl_server.c — server side of the control protocol for one client (see
 * ctl_server.h). I/O-free: frames in, frames out, effects on the session
 * tables and the address pool.
 */
#include "tls/ctl_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/ippool.h"
#include "core/log.h"
#include "crypto/mem.h"
#include "crypto/rand.h"
#include "tls/internal.h"

enum state {
	ST_WAIT_HELLO,
	ST_WAIT_KEY1,
	ST_RUNNING,
};

static const char *const state_names[] = {
	[ST_WAIT_HELLO] = "wait-hello",
	[ST_WAIT_KEY1] = "wait-key",
	[ST_RUNNING] = "running",
};

struct rv_ctl_server {
	struct rv_ctl_peer c;
	enum state st;
	char cn[RV_CONFIG_NAME_MAX + 1];
	struct rv_ip_addr v4, v6;	/* family 0: none held */
	struct rv_ip_addr prev4, prev6; /* addresses the client asks to get back */
};

struct rv_ctl_server *rv_ctl_server_new(const struct rv_ctl_env *env, const char *cn,
					const uint8_t *exporter, uint64_t now_ns)
{
	struct rv_ctl_server *p = calloc(1, sizeof(*p));

	if (!p) {
		return NULL;
	}
	snprintf(p->cn, sizeof(p->cn), "%s", cn);
	rv_ctl_peer_init(&p->c, env, true, p->cn, exporter, NULL, NULL, now_ns);
	return p;
}

static void release_addrs(struct rv_ctl_server *p)
{
	if (p->v4.family) {
		rv_ippool_release(p->c.env->pool, &p->v4);
		memset(&p->v4, 0, sizeof(p->v4));
	}
	if (p->v6.family) {
		rv_ippool_release(p->c.env->pool, &p->v6);
		memset(&p->v6, 0, sizeof(p->v6));
	}
}

void rv_ctl_server_free(struct rv_ctl_server *p)
{
	if (!p) {
		return;
	}
	rv_ctl_peer_cleanup(&p->c);
	release_addrs(p);
	rv_memzero(p, sizeof(*p));
	free(p);
}

/* reserved_for_other: is |a| the fixed address of another certificate name? */
static bool reserved_for_other(const struct rv_ctl_server *p, const struct rv_ip_addr *a)
{
	const struct rv_config *cfg = p->c.env->cfg;

	for (size_t i = 0; i < cfg->num_fixed; i++) {
		if (strcmp(cfg->fixed[i].name, p->cn) != 0 &&
		    (rv_ip_addr_equal(&cfg->fixed[i].v4, a) ||
		     rv_ip_addr_equal(&cfg->fixed[i].v6, a))) {
			return true;
		}
	}
	return false;
}

/* assign_one takes an address of |family|: the fixed one of the client's
 * name; else the one it had before (a reconnect), if still free and not
 * reserved for another name; else the pool's next free one. */
static int assign_one(struct rv_ctl_server *p, int family, const struct rv_ip_addr *fixed,
		      const struct rv_ip_addr *prev, struct rv_ip_addr *out)
{
	struct rv_ippool *pool = p->c.env->pool;
	int ret;

	if (fixed->family) {
		ret = rv_ippool_alloc_specific(pool, fixed);
		if (!ret) {
			*out = *fixed;
		}
		return ret;
	}
	if (prev->family == family && !reserved_for_other(p, prev) &&
	    rv_ippool_alloc_specific(pool, prev) == 0) {
		*out = *prev;
		return 0;
	}
	return rv_ippool_alloc(pool, family, out);
}

/* assign_addrs takes this client's addresses in each family of the pool. */
static int assign_addrs(struct rv_ctl_server *p)
{
	static const struct rv_ip_addr none;
	const struct rv_config_fixed *f = rv_config_find_fixed(p->c.env->cfg, p->cn);
	struct rv_ippool *pool = p->c.env->pool;
	int ret;

	if (rv_ippool_prefix_len(pool, AF_INET)) {
		ret = assign_one(p, AF_INET, f ? &f->v4 : &none, &p->prev4, &p->v4);
		if (ret) {
			return ret;
		}
	}
	if (rv_ippool_prefix_len(pool, AF_INET6) && (p->c.peer_caps & RV_CTL_CAP_IPV6)) {
		ret = assign_one(p, AF_INET6, f ? &f->v6 : &none, &p->prev6, &p->v6);
		if (ret) {
			release_addrs(p);
			return ret;
		}
	}
	return 0;
}

static int make_session(struct rv_ctl_server *p, uint32_t *out_client_index)
{
	const struct rv_config *cfg = p->c.env->cfg;
	struct rv_session_params sp;
	uint32_t idx;
	int ret;

	ret = rv_demux_alloc_index(p->c.env->demux, &idx);
	if (ret) {
		return ret;
	}
	memset(&sp, 0, sizeof(sp));
	sp.local_index = idx;
	do {
		/* The client has one session, so its index only has to be
		 * non-zero; it is random so it reveals nothing. */
		sp.remote_index = rv_rand_u32();
	} while (sp.remote_index == 0);
	sp.vaddr4 = p->v4;
	sp.vaddr6 = p->v6;
	sp.any_source = false;
	sp.alg = (enum rv_aead_alg)cfg->cipher;
	sp.rekey_after_messages = cfg->rekey_packets;
	p->c.session = rv_session_new(&sp);
	if (!p->c.session) {
		return -ENOMEM;
	}
	ret = rv_demux_add(p->c.env->demux, p->c.session);
	if (ret) {
		rv_session_free(p->c.session); /* never published */
		p->c.session = NULL;
		return ret;
	}
	*out_client_index = sp.remote_index;
	return 0;
}

static void fill_config(struct rv_ctl_server *p, struct rv_ctl_config *c, uint32_t client_index)
{
	const struct rv_config *cfg = p->c.env->cfg;

	memset(c, 0, sizeof(*c));
	if (p->v4.family) {
		c->flags |= RV_CTL_F_HAS_V4;
		c->prefix4 = (uint8_t)rv_ippool_prefix_len(p->c.env->pool, AF_INET);
		memcpy(c->addr4, p->v4.a, 4);
	}
	if (p->v6.family) {
		c->flags |= RV_CTL_F_HAS_V6;
		c->prefix6 = (uint8_t)rv_ippool_prefix_len(p->c.env->pool, AF_INET6);
		memcpy(c->addr6, p->v6.a, 16);
	}
	c->mtu = (uint16_t)cfg->mtu;
	c->data_port = p->c.env->data_port;
	c->server_index = rv_session_local_index(p->c.session);
	c->client_index = client_index;
	c->keepalive_s = (uint16_t)(cfg->keepalive_ms / 1000);
	c->dead_peer_s = (uint16_t)(cfg->dead_peer_ms / 1000);
	c->rekey_s = cfg->rekey_ms / 1000;
	c->cipher = cfg->cipher;
	for (size_t i = 0; i < cfg->num_routes && i < RV_CTL_MAX_ROUTES; i++) {
		const struct rv_prefix *r = &cfg->routes[i];
		bool v4 = r->addr.family == AF_INET;

		c->routes[c->num_routes].family = v4 ? 4 : 6;
		c->routes[c->num_routes].prefix = r->len;
		memcpy(c->routes[c->num_routes].addr, r->addr.a, v4 ? 4 : 16);
		c->num_routes++;
	}
}

static enum rv_ctl_result do_wait_hello(struct rv_ctl_server *p, const struct rv_ctl_msg *m,
					uint64_t now_ns)
{
	struct rv_ctl_msg out;
	uint32_t client_index;
	char a4[64] = "-", a6[64] = "-";
	int ret;

	if (m->type != RV_CTL_HELLO) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL, "expected HELLO, got %s",
					 rv_ctl_type_str(m->type));
	}
	if (rv_ctl_check_hello(&p->c, &m->hello) == RV_CTL_CLOSE) {
		return RV_CTL_CLOSE;
	}
	if (m->hello.flags & RV_CTL_F_HAS_V4) {
		p->prev4.family = AF_INET;
		memcpy(p->prev4.a, m->hello.prev4, 4);
	}
	if (m->hello.flags & RV_CTL_F_HAS_V6) {
		p->prev6.family = AF_INET6;
		memcpy(p->prev6.a, m->hello.prev6, 16);
	}
	if (p->c.env->cfg->cipher == RV_AEAD_CHACHA20POLY1305 &&
	    !(p->c.peer_caps & RV_CTL_CAP_CHACHA)) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL,
					 "server uses chacha20-poly1305, client cannot");
	}
	ret = assign_addrs(p);
	if (ret) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_NO_ADDRESS, "no address for %s: %s",
					 p->cn,
					 ret == -ENOSPC	      ? "pool exhausted"
					 : ret == -EADDRINUSE ? "fixed address in use"
							      : strerror(-ret));
	}
	ret = make_session(p, &client_index);
	if (ret) {
		return rv_ctl_close_with(&p->c,
					 ret == -ENOSPC ? RV_CTL_CODE_FULL : RV_CTL_CODE_INTERNAL,
					 "cannot create session: %s", strerror(-ret));
	}
	memset(&out, 0, sizeof(out));
	out.type = RV_CTL_CONFIG;
	fill_config(p, &out.config, client_index);
	rv_ctl_emit(&p->c, &out);
	if (p->v4.family) {
		rv_ip_addr_str(&p->v4, a4, sizeof(a4));
	}
	if (p->v6.family) {
		rv_ip_addr_str(&p->v6, a6, sizeof(a6));
	}
	rv_info("client %s: assigned %s %s, index %08x", p->cn, a4, a6,
		rv_session_local_index(p->c.session));
	p->st = ST_WAIT_KEY1;
	return rv_ctl_start_rekey(&p->c, now_ns);
}

static enum rv_ctl_result on_key_msg(struct rv_ctl_server *p, const struct rv_ctl_msg *m,
				     uint64_t now_ns)
{
	struct rv_qsbr *qsbr = p->c.env->qsbr;
	struct rv_ctl_msg out;
	int ret;

	switch (m->type) {
	case RV_CTL_KEY_ACK:
		ret = rv_ctlkey_complete(&p->c.key, p->c.session, qsbr, &m->key, &out, now_ns);
		if (ret) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_KEY,
						 "KEY_ACK for epoch %u rejected: %s", m->key.epoch,
						 strerror(-ret));
		}
		rv_ctl_emit(&p->c, &out);
		if (p->st == ST_WAIT_KEY1) {
			p->st = ST_RUNNING;
			rv_info("client %s: session up (epoch %u)", p->cn, m->key.epoch);
		} else {
			rv_debug("client %s: epoch %u active", p->cn, m->key.epoch);
		}
		return RV_CTL_CONTINUE;
	case RV_CTL_KEY:
		if (p->st != ST_RUNNING || !(p->c.peer_caps & RV_CTL_CAP_CLIENT_REKEY)) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL, "unexpected KEY");
		}
		ret = rv_ctlkey_respond(&p->c.key, p->c.session, qsbr, &m->key, &out, now_ns);
		if (ret == -EALREADY) {
			return RV_CTL_CONTINUE; /* our own KEY wins the race */
		}
		if (ret) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_KEY,
						 "KEY for epoch %u rejected: %s", m->key.epoch,
						 strerror(-ret));
		}
		rv_ctl_emit(&p->c, &out);
		return RV_CTL_CONTINUE;
	case RV_CTL_KEY_CONFIRM:
		if (rv_ctlkey_confirmed(&p->c.key, p->c.session, m->confirm_epoch)) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_KEY,
						 "unexpected KEY_CONFIRM(%u)", m->confirm_epoch);
		}
		return RV_CTL_CONTINUE;
	default:
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL, "unexpected %s",
					 rv_ctl_type_str(m->type));
	}
}

enum rv_ctl_result rv_ctl_server_on_frame(struct rv_ctl_server *p, const uint8_t *frame, size_t len,
					  uint64_t now_ns)
{
	enum rv_ctl_result r;
	struct rv_ctl_msg m;

	if (!rv_ctl_recv(&p->c, &m, frame, len, now_ns, &r)) {
		return r;
	}
	if (p->st == ST_WAIT_HELLO) {
		return do_wait_hello(p, &m, now_ns);
	}
	return on_key_msg(p, &m, now_ns);
}

enum rv_ctl_result rv_ctl_server_tick(struct rv_ctl_server *p, uint64_t now_ns)
{
	uint64_t rekey_ns = (uint64_t)p->c.env->cfg->rekey_ms * RV_NSEC_PER_MSEC;

	if (rv_ctl_tick(&p->c, p->st == ST_RUNNING, now_ns) == RV_CTL_CLOSE) {
		return RV_CTL_CLOSE;
	}
	if (p->st != ST_RUNNING) {
		return RV_CTL_CONTINUE;
	}
	if (now_ns - p->c.key.last_change_ns >= rekey_ns) {
		p->c.rekey_wanted = true;
	}
	if (rv_ctl_rekey_due(&p->c, now_ns)) {
		p->c.rekey_wanted = false;
		return rv_ctl_start_rekey(&p->c, now_ns);
	}
	return RV_CTL_CONTINUE;
}

void rv_ctl_server_request_rekey(struct rv_ctl_server *p)
{
	p->c.rekey_wanted = true;
}

void rv_ctl_server_goodbye(struct rv_ctl_server *p, enum rv_ctl_code code)
{
	rv_ctl_goodbye(&p->c, code);
}

struct rv_ctl_out *rv_ctl_server_out(struct rv_ctl_server *p)
{
	return &p->c.out;
}

const char *rv_ctl_server_cn(const struct rv_ctl_server *p)
{
	return p->cn;
}

const char *rv_ctl_server_reason(const struct rv_ctl_server *p)
{
	return rv_ctl_reason(&p->c);
}

const char *rv_ctl_server_state(const struct rv_ctl_server *p)
{
	return p->c.closed ? "closed" : state_names[p->st];
}

struct rv_session *rv_ctl_server_session(const struct rv_ctl_server *p)
{
	return p->c.session;
}

uint32_t rv_ctl_server_epoch(const struct rv_ctl_server *p)
{
	return p->c.session ? rv_session_tx_epoch(p->c.session) : 0;
}

uint64_t rv_ctl_server_rekeys(const struct rv_ctl_server *p)
{
	return p->c.key.num_rekeys;
}
