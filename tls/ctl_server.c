/*
 * ctl_server.c — server side of the control protocol for one client (see
 * ctl_server.h). I/O-free: frames in, frames out, effects on the session
 * tables, the address pool and the lease memory.
 */
#include "tls/ctl_server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h" /* unit constants only: time is a parameter */
#include "core/config.h"
#include "core/demux.h"
#include "core/ippool.h"
#include "core/lease.h"
#include "core/log.h"
#include "crypto/rand.h"
#include "crypto/secmem.h"
#include "tls/internal.h"

/* Free addresses the allocator passes over, kept for other names, in the
 * pool's order and then at random places, before it takes one anyway
 * (alloc_unkept). */
enum { ALLOC_TRIES = 64 };

/* A pool with no free address but ones kept for others gives the one
 * released longest ago, but not the last one a client left less than this
 * ago (rv_leases_released_last): that client is most likely reconnecting (a
 * connection reset, a dead peer found) and would come back to find it
 * taken and the pool full (round-thirteen tester 60: 3 s after a reset, and
 * shut out from then on). */
#define KEPT_FIRMLY_NS (120 * RV_NSEC_PER_SEC)

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
	struct rv_ctl_peer c; /* first: a struct rv_ctl_peer * is a server * */
	enum state st;
	char cn[RV_CONFIG_NAME_MAX + 1];
	struct rv_ip_addr v4, v6;	/* family 0: none held */
	struct rv_ip_addr prev4, prev6; /* addresses the client asks to get back */
	uint32_t client_index;		/* the client's receiver index (CONFIG) */
	uint64_t setup_by_ns;		/* HELLO, then the first key, due by then */
	bool config_stale;		/* a reload changed what CONFIG said before running */
};

static struct rv_ctl_server *srv(struct rv_ctl_peer *p)
{
	return (struct rv_ctl_server *)p;
}

static const struct rv_ctl_server *csrv(const struct rv_ctl_peer *p)
{
	return (const struct rv_ctl_server *)p;
}

/* setup_deadline: HELLO, and then the first key, are due within
 * handshake_timeout of the connection and of HELLO. */
static uint64_t setup_deadline(const struct rv_ctl_env *env, uint64_t now_ns)
{
	return now_ns + (uint64_t)env->cfg->handshake_timeout_ms * RV_NSEC_PER_MSEC;
}

/* release_addrs returns the addresses to the pool and marks their leases
 * ended now (the client may have them back within the lease lifetime);
 * |final|: the client cannot come back for them (rv_leases_release_final). */
static void release_addrs(struct rv_ctl_server *p, uint64_t now_ns, bool final)
{
	struct rv_ip_addr *held[] = { &p->v4, &p->v6 };

	for (size_t i = 0; i < 2; i++) {
		if (!held[i]->family) {
			continue;
		}
		rv_ippool_release(p->c.env->pool, held[i]);
		if (p->c.env->leases && final) {
			rv_leases_release_final(p->c.env->leases, held[i], now_ns);
		} else if (p->c.env->leases) {
			rv_leases_release(p->c.env->leases, held[i], now_ns);
		}
		memset(held[i], 0, sizeof(*held[i]));
	}
}

static void destroy(struct rv_ctl_peer *c)
{
	struct rv_ctl_server *p = srv(c);

	/* The lease ends when the loop ended the session; failing that
	 * (rv_ctl_peer_ended not called), the last time we heard from the
	 * client. */
	/* A certificate no longer valid (revoked, expired) does not come back
	 * for its address: no hold of a full pool for it (a newcomer was
	 * refused for 2 minutes after a revocation: round-thirteen tester 63),
	 * still kept for the name against a pool walk until lease_time. */
	release_addrs(p, p->c.ended_ns ? p->c.ended_ns : p->c.last_rx_ns,
		      p->c.sent_code == RV_CTL_CODE_REVOKED);
	rv_secmem_free(p, sizeof(*p));
}

/* firm_room: how many free addresses of |family|'s pool may be held firmly
 * for clients on their way back (KEPT_FIRMLY_NS): the pool's addresses
 * open to anyone (not fixed ones: with as many fixed names as max_clients,
 * an empty server refused newcomers: round-twenty-seven tester 134) beyond
 * max_clients, or half of them, rounded up, in a smaller pool. Held without
 * bound, they refused every newcomer while places were free: 2 x
 * max_clients names that left (with a GOODBYE or not) with the server
 * empty, fewer beside live sessions (round-twenty-seven testers 130, 132).
 * Past it, the one released longest ago goes to the newcomer; the newest
 * ones, likeliest back soonest (a renewal reconnects within a second),
 * stay. */
static size_t firm_room(const struct rv_ctl_env *env, int family)
{
	size_t cap = rv_ippool_open_capacity(env->pool, family), max = env->cfg->max_clients;
	size_t beyond = cap > max ? cap - max : 0, half = (cap + 1) / 2;

	return beyond > half ? beyond : half;
}

/* alloc_unkept takes the pool's next free address that is not kept for
 * another name (rv_leases_kept_for_other): a client that reconnects in a
 * loop must not walk onto the address of one that left a moment ago and
 * will ask for it back. When the next ALLOC_TRIES free addresses are all
 * kept for others, ALLOC_TRIES more at random places of the pool are
 * tried: after a restart the search starts at the pool's first address,
 * where the returning clients' leases lie together, and a newcomer took
 * the first of them, its owner one of the next 64, and so on (46 of 3,000
 * clients lost their addresses with thousands free: round-thirty-two
 * tester 165). Only when those are all kept too (a pool nearly full of
 * recent leases: with half the free ones kept, about one chance in 2^64),
 * or every free one is, does the one released longest ago go, a client's
 * last one within KEPT_FIRMLY_NS after every other; of a pool with no more
 * free than firm_room, never such a one (-EBUSY then). The ones passed over go back to the pool.
 * |*out| is written only on success: the client's record is what its end
 * gives back (release_addrs), and the last address passed over, left there
 * on -EBUSY, went back to the pool a second time when the refused client's
 * connection closed, while another session held it again (round-twenty-
 * seven tester 126). */
static int alloc_unkept(struct rv_ctl_server *p, int family, const struct rv_ip_addr *avoid,
			struct rv_ip_addr *out, uint64_t now_ns)
{
	const struct rv_ctl_env *env = p->c.env;
	struct rv_ip_addr tried[2 * ALLOC_TRIES], got;
	size_t n = 0, keep = 0;
	int ret;

	for (;;) {
		/* Those passed over stay taken meanwhile: each is tried once. */
		ret = n < ALLOC_TRIES
			      ? rv_ippool_alloc(env->pool, family, &got)
			      : rv_ippool_alloc_near(env->pool, family, rv_rand_u32(), &got);
		if (ret || !env->leases ||
		    !rv_leases_kept_for_other(env->leases, &got, p->cn, now_ns)) {
			break;
		}
		tried[n++] = got;
		if (n == 2 * ALLOC_TRIES) {
			break;
		}
	}
	if (n != 0 && (ret || n == 2 * ALLOC_TRIES)) {
		/* Every one tried is kept for someone: the one released
		 * longest ago (the lease table's own eviction order), but not
		 * one a client left last a moment ago while another is free. */
		bool firm[2 * ALLOC_TRIES];

		for (size_t i = 0; i < n; i++) {
			firm[i] = rv_leases_released_last(env->leases, &tried[i], now_ns,
							  KEPT_FIRMLY_NS);
		}
		for (size_t i = 1; i < n; i++) {
			if (rv_ip_addr_equal(&tried[keep], avoid) ||
			    (!rv_ip_addr_equal(&tried[i], avoid) &&
			     (firm[keep] > firm[i] ||
			      (firm[keep] == firm[i] &&
			       rv_leases_released_at(env->leases, &tried[i]) <
				       rv_leases_released_at(env->leases, &tried[keep]))))) {
				keep = i;
			}
		}
		/* The free ones: those tried, and with more to try, the
		 * pool's others (counted only when the first 128 free ones
		 * tried were all held: refused only then, a newcomer took the
		 * one left longest ago while more than 128 were free, and the
		 * bound was 127 in any pool: round-sixty-five tester 270). */
		if (firm[keep] && (ret ? n : n + rv_ippool_open_free(env->pool, family)) <=
					  firm_room(env, family)) {
			ret = -EBUSY; /* full, but for clients on their way back */
			goto out;
		}
		got = tried[keep];
		tried[keep] = tried[--n];
		ret = 0;
	}
	if (ret == 0) {
		*out = got;
	}
out:
	for (size_t i = 0; i < n; i++) {
		rv_ippool_release(env->pool, &tried[i]);
	}
	return ret;
}

/* take_one takes an address of |family|: the fixed one of the client's
 * name (reserved in the pool for it alone); else the one it had before, if
 * the server last leased it to this very name and it is free (the client
 * asks for it in HELLO; a client whose process restarted remembers nothing,
 * and gets the newest of the name's leases that is free); else the pool's next free
 * one not kept for another name. */
static int take_one(struct rv_ctl_server *p, int family, const struct rv_ip_addr *fixed,
		    const struct rv_ip_addr *prev, struct rv_ip_addr *out, uint64_t now_ns)
{
	const struct rv_ctl_env *env = p->c.env;
	char a[64];
	int ret, refused = 0; /* why the address asked back was not given (0: none asked) */

	if (fixed->family) {
		ret = rv_ippool_alloc_reserved(env->pool, fixed);
		if (!ret) {
			*out = *fixed;
		}
		return ret;
	}
	if (prev->family == family) {
		ret = -ENOENT;
		/* Its own, also after lease_time: nobody was given it since
		 * (it was given the pool's next, and said as "not last
		 * leased to it", at every return of a client away longer than
		 * lease_time: round-thirty-six tester 185). */
		if (env->leases && rv_leases_last_of(env->leases, prev, p->cn)) {
			ret = rv_ippool_alloc_specific(env->pool, prev);
		}
		if (ret == 0) {
			*out = *prev;
			return 0;
		}
		refused = ret;
	}
	/* The name's own lease, also when the address asked back is not of
	 * this pool: a client that moved over from another server asks for
	 * that one's address, and got a new one here at every move
	 * (round-twenty-two tester 97). One of the pool that is not its own
	 * still gets the pool's next, as before. */
	if (env->leases && (!refused || !rv_ippool_contains(env->pool, prev))) {
		struct rv_ip_addr mine[RV_LEASES_OF_MAX];
		size_t n = rv_leases_of(env->leases, p->cn, family, now_ns, mine, RV_LEASES_OF_MAX);

		for (size_t i = 0; i < n; i++) {
			if (rv_ippool_alloc_specific(env->pool, &mine[i]) == 0) {
				*out = mine[i];
				if (refused) {
					char b[64];

					rv_info("client %s: asked for %s back, not of this "
						"pool: given its lease %s",
						p->cn, rv_ip_addr_str(prev, a, sizeof(a)),
						rv_ip_addr_str(out, b, sizeof(b)));
				}
				return 0;
			}
		}
	}
	ret = alloc_unkept(p, family, prev, out, now_ns);
	/* Said once the address is known: the pool's next free one may be
	 * the very one asked for ("assigning another", then the same:
	 * round-eleven tester 51). */
	if (refused && ret == 0 && rv_ip_addr_equal(out, prev)) {
		rv_conn_info(p->c.quiet,
			     "client %s: asked for %s back, which the server did not last lease to "
			     "it: assigned all the same, as the pool's next free address",
			     p->cn, rv_ip_addr_str(prev, a, sizeof(a)));
	} else if (refused) {
		rv_conn_info(p->c.quiet, "client %s: asked for %s back, %s: assigning another",
			     p->cn, rv_ip_addr_str(prev, a, sizeof(a)),
			     refused == -EINVAL
				     ? "which is no longer an address the pool hands out"
				     : "which the server did not last lease to it (or which is "
				       "taken)");
	}
	return ret;
}

/* assign_addrs takes this client's addresses in each family of the pool. */
static int assign_addrs(struct rv_ctl_server *p, uint64_t now_ns, int *failed_family)
{
	static const struct rv_ip_addr none;
	const struct rv_ctl_env *env = p->c.env;
	const struct rv_config_fixed *f = rv_config_find_fixed(env->cfg, p->cn);
	int ret;

	*failed_family = AF_INET;
	if (rv_ippool_prefix_len(env->pool, AF_INET)) {
		ret = take_one(p, AF_INET, f ? &f->v4 : &none, &p->prev4, &p->v4, now_ns);
		if (ret) {
			return ret;
		}
	}
	*failed_family = AF_INET6;
	if (rv_ippool_prefix_len(env->pool, AF_INET6) && (p->c.peer_caps & RV_CTL_CAP_IPV6)) {
		ret = take_one(p, AF_INET6, f ? &f->v6 : &none, &p->prev6, &p->v6, now_ns);
		if (ret) {
			release_addrs(p, now_ns, false);
			return ret;
		}
	}
	if (env->leases) {
		uint64_t forgotten = rv_leases_forgotten(env->leases);

		if (p->v4.family) {
			rv_leases_grant(env->leases, &p->v4, p->cn, now_ns);
		}
		if (p->v6.family) {
			rv_leases_grant(env->leases, &p->v6, p->cn, now_ns);
		}
		/* The table is sized for both pools (tls/admit.c); a pool
		 * moved by reloads can still outgrow it. Said, as a client
		 * then gets another address than its own (round-thirty
		 * tester 155: nothing said it). */
		if (rv_leases_forgotten(env->leases) != forgotten) {
			rv_warnx_rl("address leases: the table is full, and the oldest one a "
				    "client may still come back for is forgotten (%llu so far): "
				    "that client gets another address",
				    (unsigned long long)rv_leases_forgotten(env->leases));
		}
	}
	return 0;
}

static int make_session(struct rv_ctl_server *p)
{
	const struct rv_config *cfg = p->c.env->cfg;
	struct rv_session_params sp;
	char name[RV_SESSION_PEER_NAME_MAX];
	uint32_t idx;
	int ret;

	ret = rv_demux_alloc_index(p->c.env->demux, &idx);
	if (ret) {
		return ret;
	}
	memset(&sp, 0, sizeof(sp));
	/* The workers' log lines name the client as ours do. */
	snprintf(name, sizeof(name), "client %s", p->cn);
	sp.peer_name = name;
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
	sp.csum_partial = cfg->offload_csum && (p->c.peer_caps & RV_CTL_CAP_CSUM_PARTIAL);
	sp.small_flag = p->c.peer_caps & RV_CTL_CAP_DATA_SMALL;
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
	p->client_index = sp.remote_index;
	return 0;
}

/* add_route appends |r| to the CONFIG's routes (validation keeps routes +
 * subnets within RV_CTL_MAX_ROUTES; past it, nothing is added). */
static void add_route(struct rv_ctl_config *c, const struct rv_prefix *r)
{
	bool v4 = r->addr.family == AF_INET;

	if (c->num_routes >= RV_CTL_MAX_ROUTES) {
		return;
	}
	c->routes[c->num_routes].family = v4 ? 4 : 6;
	c->routes[c->num_routes].prefix = r->len;
	memcpy(c->routes[c->num_routes].addr, r->addr.a, v4 ? 4 : 16);
	c->num_routes++;
}

static void fill_config(struct rv_ctl_server *p, struct rv_ctl_config *c)
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
	c->client_index = p->client_index;
	c->keepalive_s = (uint16_t)(cfg->keepalive_ms / 1000);
	c->dead_peer_s = (uint16_t)(cfg->dead_peer_ms / 1000);
	c->rekey_s = cfg->rekey_ms / 1000;
	c->cipher = cfg->cipher;
	for (size_t i = 0; i < cfg->num_routes; i++) {
		add_route(c, &cfg->routes[i]);
	}
	/* The networks behind the other clients, so that sites reach each
	 * other; never the client's own, which are on its LAN side. */
	for (size_t i = 0; i < cfg->num_subnets; i++) {
		if (strcmp(cfg->subnets[i].name, p->cn) != 0) {
			add_route(c, &cfg->subnets[i].p);
		}
	}
}

/* emit_dns queues the pushed DNS servers to a client that takes them. With
 * none (push_dns not set, or a search domain alone) only to a client that
 * takes an empty list, at every CONFIG: it withdraws what it applied
 * before, from this server before a reload or from another one before a
 * restart or a failover (it kept the old servers, unreachable ones
 * included). */
static void emit_dns(struct rv_ctl_server *p)
{
	const struct rv_config *cfg = p->c.env->cfg;
	struct rv_ctl_msg m;

	if (!(p->c.peer_caps & RV_CTL_CAP_DNS)) {
		return;
	}
	if (cfg->num_push_dns == 0 && !(p->c.peer_caps & RV_CTL_CAP_DNS_EMPTY)) {
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_DNS;
	for (size_t i = 0; i < cfg->num_push_dns && i < RV_CTL_MAX_DNS; i++) {
		bool v4 = cfg->push_dns[i].family == AF_INET;

		m.dns.servers[i].family = v4 ? 4 : 6;
		memcpy(m.dns.servers[i].addr, cfg->push_dns[i].a, v4 ? 4 : 16);
		m.dns.num_servers++;
	}
	m.dns.domain_len = (uint8_t)strnlen(cfg->push_domain, RV_CTL_MAX_DOMAIN);
	memcpy(m.dns.domain, cfg->push_domain, m.dns.domain_len);
	rv_ctl_emit(&p->c, &m);
}

/* adopt_timers takes the keepalive and dead-peer timeouts of env->cfg: the
 * client is told the same values in CONFIG. */
static void adopt_timers(struct rv_ctl_server *p)
{
	const struct rv_config *cfg = p->c.env->cfg;

	p->c.keepalive_ns = (uint64_t)cfg->keepalive_ms * RV_NSEC_PER_MSEC;
	p->c.dead_peer_ns = (uint64_t)cfg->dead_peer_ms * RV_NSEC_PER_MSEC;
}

static enum rv_ctl_result do_wait_hello(struct rv_ctl_server *p, const struct rv_ctl_msg *m,
					uint64_t now_ns)
{
	struct rv_ctl_msg out;
	char a4[64] = "-", a6[64] = "-";
	int ret, family;

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
	ret = p->c.env->on_hello ? p->c.env->on_hello(p->c.env->ctx, &p->c) : 0;
	if (ret == -ENOSPC) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_FULL, "server full");
	}
	if (ret) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_INTERNAL, "cannot admit %s: %s", p->cn,
					 strerror(-ret));
	}
	ret = assign_addrs(p, now_ns, &family);
	if (ret) {
		/* The keep lasts lease_time when that is shorter (it said 2
		 * minutes of a keep of 60 s: round-twenty-seven tester 130). */
		uint64_t keep_s = p->c.env->cfg->lease_time_ms / 1000;
		char kept[160];

		if (keep_s >= KEPT_FIRMLY_NS / RV_NSEC_PER_SEC) {
			snprintf(kept, sizeof(kept), "2 minutes");
		} else {
			snprintf(kept, sizeof(kept), "%" PRIu64 " s", keep_s);
		}
		/* Which pool: the other may be nearly empty (a pool6 of a /126
		 * beside a pool4 of a /24: "pool exhausted" sent the operator
		 * to the wrong one). */
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_NO_ADDRESS,
					 "no address for %s%s: %s%s%s", p->cn,
					 family == AF_INET ? " in pool4" : " in pool6",
					 ret == -ENOSPC	 ? "pool exhausted"
					 : ret == -EBUSY ? "pool exhausted (its free addresses are "
							   "kept for "
							   "clients that left less than "
					 : ret == -EADDRINUSE ? "fixed address in use"
					 : ret == -ENOENT     ? "fixed address not reserved"
							      : strerror(-ret),
					 ret == -EBUSY ? kept : "", ret == -EBUSY ? " ago)" : "");
	}
	ret = make_session(p);
	if (ret) {
		return rv_ctl_close_with(&p->c,
					 ret == -ENOSPC ? RV_CTL_CODE_FULL : RV_CTL_CODE_INTERNAL,
					 "cannot create session: %s", strerror(-ret));
	}
	ret = rv_ctl_server_publish_subnets(&p->c, p->c.env->cfg, true);
	if (ret) {
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_INTERNAL,
					 "cannot publish the networks behind %s: %s", p->cn,
					 strerror(-ret));
	}
	adopt_timers(p);
	memset(&out, 0, sizeof(out));
	out.type = RV_CTL_CONFIG;
	fill_config(p, &out.config);
	rv_ctl_emit(&p->c, &out);
	emit_dns(p);
	if (p->v4.family) {
		rv_ip_addr_str(&p->v4, a4, sizeof(a4));
	}
	if (p->v6.family) {
		rv_ip_addr_str(&p->v6, a6, sizeof(a6));
	}
	rv_conn_info(p->c.quiet, "client %s: assigned %s %s, index %08x", p->cn, a4, a6,
		     rv_session_local_index(p->c.session));
	p->st = ST_WAIT_KEY1;
	p->setup_by_ns = setup_deadline(p->c.env, now_ns);
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
						 rv_ctlkey_why(&p->c.key, ret));
		}
		rv_ctl_emit(&p->c, &out);
		if (p->st == ST_WAIT_KEY1) {
			p->st = ST_RUNNING;
			p->c.running_since_ns = now_ns;
			if (p->config_stale) {
				p->config_stale = false;
				rv_ctl_server_push_config(&p->c, now_ns);
			}
			rv_conn_info(p->c.quiet, "client %s: session up (epoch %u)", p->cn,
				     m->key.epoch);
		} else {
			rv_debug("client %s: epoch %u active", p->cn, m->key.epoch);
		}
		return RV_CTL_CONTINUE;
	case RV_CTL_KEY:
		if (p->st != ST_RUNNING || !(p->c.peer_caps & RV_CTL_CAP_CLIENT_REKEY)) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL, "unexpected KEY");
		}
		if (rv_ctlkey_busy(&p->c.key) && p->c.key.initiated == m->key.epoch) {
			/* Both started epoch E at once: ours wins (the client
			 * abandons its own), no budget is charged. */
			return RV_CTL_CONTINUE;
		}
		if (!rv_ctl_peer_rekey_allowed(&p->c, now_ns)) {
			char why[sizeof(p->c.reason)];

			snprintf(why, sizeof(why), "%s", p->c.reason);
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_RATE, "%s", why);
		}
		ret = rv_ctlkey_respond(&p->c.key, p->c.session, qsbr, &m->key, &out, now_ns);
		if (ret == -EALREADY) {
			return RV_CTL_CONTINUE; /* our own KEY wins the race */
		}
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
		return RV_CTL_CONTINUE;
	case RV_CTL_DATA_STATUS:
		/* Whether our datagrams reach the client: it finds that by our
		 * answers to its keepalives (we announced RV_CTL_CAP_DATA_ECHO). */
		if (p->st != ST_RUNNING) {
			return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL,
						 "unexpected DATA_STATUS");
		}
		rv_ctl_peer_told_data_status(&p->c, &m->data_status, now_ns);
		return RV_CTL_CONTINUE;
	default:
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_PROTOCOL, "unexpected %s",
					 rv_ctl_type_str(m->type));
	}
}

static enum rv_ctl_result on_msg(struct rv_ctl_peer *c, const struct rv_ctl_msg *m, uint64_t now_ns)
{
	struct rv_ctl_server *p = srv(c);

	if (p->st == ST_WAIT_HELLO) {
		return do_wait_hello(p, m, now_ns);
	}
	return on_key_msg(p, m, now_ns);
}

static uint64_t rekey_deadline(const struct rv_ctl_server *p)
{
	return p->c.key.last_change_ns + (uint64_t)p->c.env->cfg->rekey_ms * RV_NSEC_PER_MSEC;
}

static enum rv_ctl_result tick(struct rv_ctl_peer *c, uint64_t now_ns)
{
	struct rv_ctl_server *p = srv(c);

	if ((p->st == ST_WAIT_HELLO || p->st == ST_WAIT_KEY1) && now_ns >= p->setup_by_ns) {
		/* Keepalives alone keep a connection alive, not a slot for
		 * ever: an authenticated peer that never says HELLO, or never
		 * answers the first KEY (it holds an address and an index), is
		 * shut. */
		return rv_ctl_close_with(&p->c, RV_CTL_CODE_TIMEOUT, "no %s within %u ms",
					 p->st == ST_WAIT_HELLO ? "HELLO"
								: "KEY_ACK for the first key",
					 p->c.env->cfg->handshake_timeout_ms);
	}
	if (p->st != ST_RUNNING) {
		return RV_CTL_CONTINUE;
	}
	/* The deadline counts from the last key change, which an exchange in
	 * flight has not made yet: wanted then, it started a second exchange
	 * right after (every timed rekey came in pairs). */
	if (!rv_ctlkey_busy(&p->c.key) && now_ns >= rekey_deadline(p)) {
		p->c.rekey_wanted = true;
	}
	if (rv_ctl_rekey_due(&p->c, now_ns)) {
		p->c.rekey_wanted = false;
		return rv_ctl_start_rekey(&p->c, now_ns);
	}
	return RV_CTL_CONTINUE;
}

static uint64_t next_ns(const struct rv_ctl_peer *c)
{
	const struct rv_ctl_server *p = csrv(c);

	if (p->st == ST_WAIT_HELLO || p->st == ST_WAIT_KEY1) {
		return p->setup_by_ns;
	}
	/* A timed rekey is not due while an exchange is in flight. */
	return p->st == ST_RUNNING && !rv_ctlkey_busy(&p->c.key) ? rekey_deadline(p) : UINT64_MAX;
}

static bool running(const struct rv_ctl_peer *c)
{
	return csrv(c)->st == ST_RUNNING;
}

static const char *state(const struct rv_ctl_peer *c)
{
	return state_names[csrv(c)->st];
}

static const struct rv_ctl_peer_ops server_ops = {
	.peer_role = "client",
	.on_msg = on_msg,
	.tick = tick,
	.next_ns = next_ns,
	.running = running,
	.state = state,
	.destroy = destroy,
};

struct rv_ctl_peer *rv_ctl_server_new(const struct rv_ctl_env *env, const char *cn,
				      const uint8_t *exporter, uint64_t now_ns)
{
	struct rv_ctl_server *p = rv_secmem_alloc(sizeof(*p));

	if (!p) {
		return NULL;
	}
	snprintf(p->cn, sizeof(p->cn), "%s", cn);
	p->setup_by_ns = setup_deadline(env, now_ns);
	rv_ctl_peer_init(&p->c, &server_ops, env, true, p->cn, exporter,
			 RV_CTL_CAP_IPV6 | RV_CTL_CAP_CHACHA | RV_CTL_CAP_CLIENT_REKEY |
				 RV_CTL_CAP_DATA_ECHO | RV_CTL_CAP_DATA_SMALL |
				 (env->cfg->offload_csum ? RV_CTL_CAP_CSUM_PARTIAL : 0),
			 NULL, NULL, now_ns);
	return &p->c;
}

bool rv_ctl_server_keeps_dns(const struct rv_ctl_peer *c)
{
	return (c->peer_caps & RV_CTL_CAP_DNS) && !(c->peer_caps & RV_CTL_CAP_DNS_EMPTY);
}

bool rv_ctl_server_push_config(struct rv_ctl_peer *c, uint64_t now_ns)
{
	struct rv_ctl_server *p = srv(c);
	struct rv_ctl_msg out;

	if (c->closed) {
		return false;
	}
	if (p->st != ST_RUNNING) {
		/* CONFIG went out before the reload and the session is not up
		 * yet: the update goes out once it is (on_key_msg). Before
		 * CONFIG, the one it gets is made from the new file anyway. */
		p->config_stale = p->st == ST_WAIT_KEY1;
		return false;
	}
	adopt_timers(p);
	if (!(c->peer_caps & RV_CTL_CAP_CONFIG_UPDATE)) {
		return false;
	}
	memset(&out, 0, sizeof(out));
	out.type = RV_CTL_CONFIG;
	fill_config(p, &out.config);
	rv_ctl_emit(c, &out);
	emit_dns(p);
	c->last_tx_ns = now_ns;
	return true;
}

int rv_ctl_server_publish_subnets(struct rv_ctl_peer *c, const struct rv_config *cfg, bool prune)
{
	struct rv_ctl_server *p = srv(c);
	struct rv_prefix nets[RV_CONFIG_MAX_SUBNETS];
	size_t n = rv_config_subnets_of(cfg, p->cn, nets, RV_CONFIG_MAX_SUBNETS);
	int ret = 0;

	if (!c->session) {
		return 0;
	}
	if (prune) {
		ret = rv_demux_set_prefixes(c->env->demux, c->session, nets, n);
	}
	for (size_t i = 0; !prune && !ret && i < n; i++) {
		ret = rv_demux_add_prefix(c->env->demux, c->session, &nets[i]);
	}
	if (!ret && n) {
		rv_debug("client %s: %zu network(s) behind it published", p->cn, n);
	}
	return ret;
}

static int claim_one(const struct rv_ctl_server *p, struct rv_ippool *pool,
		     const struct rv_ip_addr *a)
{
	const struct rv_config_fixed *f = rv_config_find_fixed(p->c.env->cfg, p->cn);
	const struct rv_ip_addr *fixed = !f ? NULL : a->family == AF_INET ? &f->v4 : &f->v6;

	if (!a->family) {
		return 0;
	}
	if (fixed && rv_ip_addr_equal(fixed, a)) {
		return rv_ippool_alloc_reserved(pool, a);
	}
	return rv_ippool_alloc_specific(pool, a);
}

int rv_ctl_server_claim_addrs(const struct rv_ctl_peer *c, struct rv_ippool *pool)
{
	const struct rv_ctl_server *p = csrv(c);
	int ret;

	ret = claim_one(p, pool, &p->v4);
	if (ret) {
		return ret;
	}
	ret = claim_one(p, pool, &p->v6);
	if (ret && p->v4.family) {
		rv_ippool_release(pool, &p->v4);
	}
	return ret;
}
