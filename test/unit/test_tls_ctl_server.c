/*
 * test_tls_ctl_server.c — the server and client control state machines
 * (tls/ctl_server.h, tls/ctl_client.h, tls/ctlkey.h) talking to each other
 * in memory, with real session tables, address pool and QSBR domain but no
 * TLS and no I/O: bring-up to a running session whose keys match (a packet
 * sealed by one side opens on the other), rekeys started by either side and
 * by both at once, teardown that releases everything, dead-peer detection,
 * protocol violations, and address assignment (fixed, previous, pool).
 *
 *   build/<dir>/test/test_tls_ctl_server
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/ippool.h"
#include "core/qsbr.h"
#include "core/session.h"
#include "core/wire.h"
#include "crypto/rand.h"
#include "tls/ctl_client.h"
#include "tls/ctl_server.h"

struct side {
	struct rv_config cfg;
	struct rv_demux *demux;
	struct rv_qsbr *qsbr;
	struct rv_ippool *pool;
	struct rv_ctl_env env;
	int configs, keepalives;
};

static struct side srv, cli;
static uint8_t exporter[32];
static uint64_t now;

static int on_config(void *ctx, const struct rv_ctl_config *c)
{
	struct side *s = ctx;

	(void)c;
	s->configs++;
	return 0;
}

static void send_keepalive(void *ctx, struct rv_session *s)
{
	(void)s;
	((struct side *)ctx)->keepalives++;
}

static void side_init(struct side *s, enum rv_config_role role)
{
	memset(s, 0, sizeof(*s));
	rv_config_defaults(&s->cfg, role);
	s->demux = rv_demux_new(64);
	s->qsbr = rv_qsbr_new(4);
	cr_assert(s->demux && s->qsbr);
	if (role == RV_CONFIG_SERVER) {
		s->pool = rv_ippool_new(&s->cfg.pool4.addr, s->cfg.pool4.len, &s->cfg.pool6.addr,
					s->cfg.pool6.len, 16, NULL);
		cr_assert_not_null(s->pool);
	}
	s->env.cfg = &s->cfg;
	s->env.demux = s->demux;
	s->env.qsbr = s->qsbr;
	s->env.pool = s->pool;
	s->env.data_port = 4434;
	s->env.ctx = s;
	s->env.send_keepalive = send_keepalive;
	s->env.on_config = role == RV_CONFIG_CLIENT ? on_config : NULL;
}

/* start_time_ns is the injected clock's starting value: RV_TEST_NOW_S
 * seconds (default 1000). ctest runs this suite at 0 s, 30 s and 10^7 s, so
 * the state machines are shown not to depend on the machine's uptime: time
 * enters them only through their |now_ns| arguments. */
static uint64_t start_time_ns(void)
{
	const char *e = getenv("RV_TEST_NOW_S");

	return (e ? strtoull(e, NULL, 10) : 1000) * RV_NSEC_PER_SEC;
}

static void setup(void)
{
	side_init(&srv, RV_CONFIG_SERVER);
	side_init(&cli, RV_CONFIG_CLIENT);
	rv_rand_bytes(exporter, sizeof(exporter));
	now = start_time_ns();
}

static void teardown(void)
{
	rv_qsbr_free(srv.qsbr);
	rv_qsbr_free(cli.qsbr);
	rv_demux_free(srv.demux);
	rv_demux_free(cli.demux);
	rv_ippool_free(srv.pool);
}

TestSuite(ctl, .init = setup, .fini = teardown, .timeout = 20);

static struct rv_endpoint server_ep(void)
{
	struct rv_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.in4.sin_family = AF_INET;
	ep.in4.sin_port = htons(4433);
	inet_pton(AF_INET, "192.0.2.1", &ep.in4.sin_addr);
	ep.len = sizeof(ep.in4);
	return ep;
}

/* deliver feeds every frame in |out| to the other side; returns the first
 * CLOSE (or CONTINUE) and empties |out|. */
static enum rv_ctl_result deliver(struct rv_ctl_out *out, struct rv_ctl_server *s,
				  struct rv_ctl_client *c)
{
	enum rv_ctl_result r = RV_CTL_CONTINUE;
	size_t off = 0, flen;

	while (off < out->len && r == RV_CTL_CONTINUE) {
		cr_assert_eq(rv_ctl_frame_len(out->buf + off, out->len - off, &flen), RV_CTL_OK);
		r = s ? rv_ctl_server_on_frame(s, out->buf + off, flen, now)
		      : rv_ctl_client_on_frame(c, out->buf + off, flen, now);
		off += flen;
	}
	out->len = 0;
	return r;
}

/* pump runs both directions until both output buffers stay empty. */
static void pump(struct rv_ctl_server *s, struct rv_ctl_client *c)
{
	for (int i = 0; i < 10; i++) {
		struct rv_ctl_out *so = rv_ctl_server_out(s), *co = rv_ctl_client_out(c);

		if (so->len == 0 && co->len == 0) {
			return;
		}
		cr_assert_eq(deliver(so, NULL, c), RV_CTL_CONTINUE, "client: %s",
			     rv_ctl_client_reason(c));
		cr_assert_eq(deliver(co, s, NULL), RV_CTL_CONTINUE, "server: %s",
			     rv_ctl_server_reason(s));
	}
	cr_assert_fail("conversation did not settle");
}

static void bring_up(struct rv_ctl_server **s, struct rv_ctl_client **c, const char *cn,
		     const struct rv_ip_addr *prev4)
{
	struct rv_endpoint ep = server_ep();

	*s = rv_ctl_server_new(&srv.env, cn, exporter, now);
	*c = rv_ctl_client_new(&cli.env, exporter, &ep, prev4, NULL, now);
	cr_assert(*s && *c);
	pump(*s, *c);
	cr_assert(rv_ctl_client_running(*c), "client state %s", rv_ctl_client_state(*c));
	cr_assert_str_eq(rv_ctl_server_state(*s), "running");
}

/* send_one seals one packet on |from| and opens it on |to|. */
static enum rv_session_result send_one(struct rv_session *from, struct rv_session *to)
{
	uint8_t buf[RV_DATA_HDR_LEN + 64 + RV_TAG_LEN];
	struct rv_pkt pkt = { .buf = buf, .len = 20 };
	struct rv_data_hdr hdr;
	enum rv_session_result res, seal;

	memset(buf, 0, sizeof(buf));
	buf[RV_DATA_HDR_LEN] = 0x45; /* looks like IPv4; content is not checked here */
	seal = rv_session_seal_batch(from, &pkt, 1, now);
	cr_assert(seal == RV_SESSION_OK || seal == RV_SESSION_REKEY_SOON, "seal: %s",
		  rv_session_result_str(seal));
	cr_assert_eq(rv_wire_parse_data_hdr(&hdr, buf, pkt.len), RV_WIRE_OK);
	cr_assert_eq(hdr.receiver_index, rv_session_local_index(to));
	rv_session_open_batch(to, &pkt, &hdr, &res, 1, now);
	return res;
}

static void traffic_ok(struct rv_ctl_server *s, struct rv_ctl_client *c)
{
	enum rv_session_result r;

	r = send_one(rv_ctl_client_session(c), rv_ctl_server_session(s));
	cr_assert(r == RV_SESSION_OK || r == RV_SESSION_KEY_ROLLED, "c->s %s",
		  rv_session_result_str(r));
	r = send_one(rv_ctl_server_session(s), rv_ctl_client_session(c));
	cr_assert(r == RV_SESSION_OK || r == RV_SESSION_KEY_ROLLED, "s->c %s",
		  rv_session_result_str(r));
}

Test(ctl, bring_up_and_matching_keys)
{
	struct rv_ctl_server *s;
	struct rv_ctl_client *c;
	char a[64];

	bring_up(&s, &c, "client1", NULL);
	cr_assert_eq(cli.configs, 1);
	cr_assert_eq(cli.keepalives, 1, "client announces its endpoint at once");
	cr_assert_eq(rv_ctl_server_epoch(s), 1);
	cr_assert_eq(rv_session_tx_epoch(rv_ctl_client_session(c)), 1);
	cr_assert_eq(rv_demux_count(srv.demux), 1);
	cr_assert_str_eq(rv_ip_addr_str(rv_session_vaddr4(rv_ctl_server_session(s)), a, sizeof(a)),
			 "10.99.0.2");
	cr_assert_eq(rv_session_remote_index(rv_ctl_client_session(c)),
		     rv_session_local_index(rv_ctl_server_session(s)));
	traffic_ok(s, c);
	rv_ctl_client_free(c);
	rv_ctl_server_free(s);
}

Test(ctl, different_exporters_do_not_talk)
{
	struct rv_ctl_server *s;
	struct rv_ctl_client *c;
	struct rv_endpoint ep = server_ep();
	uint8_t other[32];

	rv_rand_bytes(other, sizeof(other));
	s = rv_ctl_server_new(&srv.env, "client1", exporter, now);
	c = rv_ctl_client_new(&cli.env, other, &ep, NULL, NULL, now);
	pump(s, c);
	cr_assert_eq(send_one(rv_ctl_client_session(c), rv_ctl_server_session(s)),
		     RV_SESSION_AUTH_FAIL);
	rv_ctl_client_free(c);
	rv_ctl_server_free(s);
}

Test(ctl, rekeys_from_either_side_and_both_at_once)
{
	struct rv_ctl_server *s;
	struct rv_ctl_client *c;
	uint8_t old[RV_DATA_HDR_LEN + 64 + RV_TAG_LEN];
	struct rv_pkt pkt = { .buf = old, .len = 20 };
	struct rv_data_hdr hdr;
	enum rv_session_result res;

	bring_up(&s, &c, "client1", NULL);
	/* A packet sealed under epoch 1 and delivered late, after the rekey. */
	memset(old, 0, sizeof(old));
	rv_session_seal_batch(rv_ctl_client_session(c), &pkt, 1, now);

	/* Too soon after epoch 1: the request waits for the minimum spacing. */
	rv_ctl_server_request_rekey(s);
	cr_assert_eq(rv_ctl_server_tick(s, now), RV_CTL_CONTINUE);
	cr_assert_eq(rv_ctl_server_out(s)->len, 0);
	now += 2 * RV_NSEC_PER_SEC;
	cr_assert_eq(rv_ctl_server_tick(s, now), RV_CTL_CONTINUE);
	pump(s, c);
	cr_assert_eq(rv_ctl_server_epoch(s), 2);
	cr_assert_eq(rv_session_tx_epoch(rv_ctl_client_session(c)), 2);
	traffic_ok(s, c);
	cr_assert_eq(rv_wire_parse_data_hdr(&hdr, old, pkt.len), RV_WIRE_OK);
	rv_session_open_batch(rv_ctl_server_session(s), &pkt, &hdr, &res, 1, now);
	cr_assert_eq(res, RV_SESSION_OK, "epoch-1 packet after the rekey: %s",
		     rv_session_result_str(res));

	now += 2 * RV_NSEC_PER_SEC;
	rv_ctl_client_request_rekey(c);
	cr_assert_eq(rv_ctl_client_tick(c, now), RV_CTL_CONTINUE);
	pump(s, c);
	cr_assert_eq(rv_session_tx_epoch(rv_ctl_client_session(c)), 3);
	cr_assert_eq(rv_ctl_server_epoch(s), 3);
	traffic_ok(s, c);

	/* Both start epoch 4 at once: the server's KEY wins. */
	now += 2 * RV_NSEC_PER_SEC;
	rv_ctl_client_request_rekey(c);
	rv_ctl_server_request_rekey(s);
	cr_assert_eq(rv_ctl_client_tick(c, now), RV_CTL_CONTINUE);
	cr_assert_eq(rv_ctl_server_tick(s, now), RV_CTL_CONTINUE);
	pump(s, c);
	cr_assert_eq(rv_ctl_server_epoch(s), 4);
	cr_assert_eq(rv_session_tx_epoch(rv_ctl_client_session(c)), 4);
	traffic_ok(s, c);

	/* The timer alone rekeys too. */
	srv.cfg.rekey_ms = 5000;
	now += 5 * RV_NSEC_PER_SEC;
	cr_assert_eq(rv_ctl_server_tick(s, now), RV_CTL_CONTINUE);
	pump(s, c);
	cr_assert_eq(rv_ctl_server_epoch(s), 5);
	traffic_ok(s, c);
	rv_ctl_client_free(c);
	rv_ctl_server_free(s);
}

Test(ctl, teardown_releases_everything)
{
	struct rv_ctl_server *s;
	struct rv_ctl_client *c;

	bring_up(&s, &c, "client1", NULL);
	cr_assert_eq(rv_ippool_in_use(srv.pool, AF_INET), 1);
	cr_assert_eq(rv_ippool_in_use(srv.pool, AF_INET6), 1);
	rv_ctl_client_goodbye(c, RV_CTL_CODE_SHUTDOWN);
	cr_assert_eq(deliver(rv_ctl_client_out(c), s, NULL), RV_CTL_CLOSE);
	cr_assert(strstr(rv_ctl_server_reason(s), "goodbye"), "%s", rv_ctl_server_reason(s));
	rv_ctl_server_free(s);
	rv_ctl_client_free(c);
	cr_assert_eq(rv_demux_count(srv.demux), 0);
	cr_assert_eq(rv_demux_count(cli.demux), 0);
	cr_assert_eq(rv_ippool_in_use(srv.pool, AF_INET), 0);
	cr_assert_eq(rv_ippool_in_use(srv.pool, AF_INET6), 0);
	cr_assert_eq(rv_qsbr_pending(srv.qsbr), 1);
	cr_assert_eq(rv_qsbr_reclaim(srv.qsbr), 1, "no reader: the grace period is over");
	cr_assert_eq(rv_qsbr_reclaim(cli.qsbr), 1);
	cr_assert_eq(rv_qsbr_pending(srv.qsbr), 0);
}

Test(ctl, keepalives_and_dead_peer)
{
	struct rv_ctl_server *s;
	struct rv_ctl_client *c;

	bring_up(&s, &c, "client1", NULL);
	now += (uint64_t)srv.cfg.keepalive_ms * RV_NSEC_PER_MSEC;
	cr_assert_eq(rv_ctl_server_tick(s, now), RV_CTL_CONTINUE);
	cr_assert_gt(rv_ctl_server_out(s)->len, 0, "control keepalive sent");
	pump(s, c);
	now += (uint64_t)srv.cfg.dead_peer_ms * RV_NSEC_PER_MSEC + 1;
	cr_assert_eq(rv_ctl_server_tick(s, now), RV_CTL_CLOSE);
	cr_assert(strstr(rv_ctl_server_reason(s), "silent"), "%s", rv_ctl_server_reason(s));
	cr_assert_eq(rv_ctl_client_tick(c, now), RV_CTL_CLOSE);
	rv_ctl_client_free(c);
	rv_ctl_server_free(s);
}

Test(ctl, protocol_violations_close_with_error)
{
	struct rv_endpoint ep = server_ep();
	struct rv_ctl_server *s = rv_ctl_server_new(&srv.env, "client1", exporter, now);
	struct rv_ctl_client *c = rv_ctl_client_new(&cli.env, exporter, &ep, NULL, NULL, now);
	static const uint8_t garbage[] = { 1, 6, 0, 1, 0 };
	struct rv_ctl_msg m;
	uint8_t buf[RV_CTL_MAX_FRAME];
	size_t n, flen;

	/* KEY before HELLO. */
	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_KEY;
	m.key.epoch = 1;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), 0);
	rv_ctl_server_out(s)->len = 0;
	cr_assert_eq(rv_ctl_server_on_frame(s, buf, n, now), RV_CTL_CLOSE);
	cr_assert(strstr(rv_ctl_server_reason(s), "expected HELLO"), "%s", rv_ctl_server_reason(s));
	/* The peer is told why, in an ERROR frame. */
	cr_assert_eq(rv_ctl_frame_len(rv_ctl_server_out(s)->buf, rv_ctl_server_out(s)->len, &flen),
		     RV_CTL_OK);
	cr_assert_eq(rv_ctl_decode(&m, rv_ctl_server_out(s)->buf, flen), RV_CTL_OK);
	cr_assert_eq(m.type, RV_CTL_ERROR);
	cr_assert_eq(m.error.code, RV_CTL_CODE_PROTOCOL);
	rv_ctl_server_free(s);
	cr_assert_eq(rv_demux_count(srv.demux), 0);

	/* A malformed frame. */
	cr_assert_eq(rv_ctl_client_on_frame(c, garbage, sizeof(garbage), now), RV_CTL_CLOSE);
	cr_assert(strstr(rv_ctl_client_reason(c), "malformed"), "%s", rv_ctl_client_reason(c));
	rv_ctl_client_free(c);

	/* KEY_ACK for an epoch never offered. */
	bring_up(&s, &c, "client2", NULL);
	m.type = RV_CTL_KEY_ACK;
	m.key.epoch = 9;
	memset(m.key.pub, 9, sizeof(m.key.pub));
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), 0);
	cr_assert_eq(rv_ctl_server_on_frame(s, buf, n, now), RV_CTL_CLOSE);
	cr_assert(strstr(rv_ctl_server_reason(s), "KEY_ACK for epoch 9"), "%s",
		  rv_ctl_server_reason(s));
	rv_ctl_server_free(s);
	rv_ctl_client_free(c);
}

Test(ctl, addresses_fixed_previous_and_pool)
{
	struct rv_ctl_server *s1, *s2, *s3;
	struct rv_ctl_client *c1, *c2, *c3;
	struct rv_ip_addr prev = { .family = AF_INET };
	char a[64], err[256];

	cr_assert_eq(rv_config_set(&srv.cfg, "t", "fixed", "alice 10.99.0.7", err, sizeof(err)), 0);
	bring_up(&s1, &c1, "alice", NULL);
	cr_assert_str_eq(rv_ip_addr_str(rv_session_vaddr4(rv_ctl_server_session(s1)), a, sizeof(a)),
			 "10.99.0.7");
	/* A client asking for alice's address does not get it... */
	inet_pton(AF_INET, "10.99.0.7", prev.a);
	rv_ctl_server_free(s1);
	rv_ctl_client_free(c1);
	bring_up(&s2, &c2, "bob", &prev);
	cr_assert_str_neq(rv_ip_addr_str(rv_session_vaddr4(rv_ctl_server_session(s2)), a,
					 sizeof(a)),
			  "10.99.0.7");
	/* ...but a free pool address it had before, it gets back. */
	inet_pton(AF_INET, "10.99.0.9", prev.a);
	bring_up(&s3, &c3, "carol", &prev);
	cr_assert_str_eq(rv_ip_addr_str(rv_session_vaddr4(rv_ctl_server_session(s3)), a, sizeof(a)),
			 "10.99.0.9");
	rv_ctl_server_free(s2);
	rv_ctl_client_free(c2);
	rv_ctl_server_free(s3);
	rv_ctl_client_free(c3);
}
