/*
 * http.c — the Prometheus metrics endpoint (metrics_listen; README
 * "Metrics"): a TCP listener served from the control ring the way the
 * management socket is (mgmt.c), with the same slot table (slots.h). Each
 * connection carries one request,
 * parsed by core/http.c, and gets one response: the text exposition of the
 * same snapshot `ringvpn status --prometheus` prints, or an error status.
 * Then the connection is closed (every response says Connection: close).
 *
 * The exposition is rendered at most once a second (METRICS_FRESH_NS): a
 * request within a second of the last rendering gets that one, shared by
 * every connection that sends it (counted references, not a copy each),
 * and a rendering waits for the render budget (render.c). Rendered for
 * every scrape, 16 scrapers in a loop at 5,000 sessions held the control
 * thread at 81 % and a TLS handshake's first reply 0.2-1.2 s, and each
 * caller that read nothing held a rendering of its own (round-seventy
 * tester 321).
 *
 * The loop never waits for a client: accept, recv and send are ring
 * operations, and a client that stalls holds one of HTTP_SLOTS slots until
 * its deadline — HTTP_REQUEST_NS to deliver its request head, HTTP_SEND_NS
 * without progress while its response goes out. While every slot is busy,
 * new connections wait in the kernel's backlog (one already accepted gets
 * 503 at once). The only work done on the loop's time is rendering the
 * snapshot: a few milliseconds for thousands of sessions, once a second at
 * most.
 *
 * After the response the write side is shut down and the connection read
 * (and discarded) until the client closes it or HTTP_LINGER_NS pass, so a
 * client that sent more than we read (a refused request with a body) still
 * gets its response rather than a reset.
 *
 * Every response is counted by status (ringvpn_metrics_requests_total);
 * refused requests are logged at a limited rate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "core/mgmt.h"
#include "core/status.h"
#include "core/strbuf.h"
#include "tls/internal.h"
#include "tls/slots.h"
#include "uring/holder.h"
#include "uring/sock.h"

enum {
	HTTP_SLOTS = 8,
	HTTP_REQUEST_NS = 5 * RV_NSEC_PER_SEC,
	HTTP_SEND_NS = 10 * RV_NSEC_PER_SEC,
	HTTP_LINGER_NS = 1 * RV_NSEC_PER_SEC,
	HTTP_SEND_CHUNK = 256 * 1024,
	HTTP_MAX_BODY = 64 * 1024 * 1024,
	/* How long a rendering is served to the requests after it. */
	METRICS_FRESH_NS = RV_NSEC_PER_SEC,
};

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";
static const char metrics_path[] = "/metrics";

enum conn_state {
	READING,   /* waiting for the request head */
	WAITING,   /* the request taken, its rendering waits for the render budget */
	SENDING,   /* the response is going out */
	LINGERING, /* response sent, write side shut: reading until EOF */
};

struct http_conn {
	struct rv_slot slot; /* first: the table's (fd, generation, timer) */
	bool recv_armed;
	enum conn_state state;
	char peer[64];
	size_t req_len;
	uint8_t req[RV_HTTP_MAX_HEAD];
	struct rv_strbuf out[2]; /* response head, and the body of an error */
	struct rv_render *body;	 /* a 200's body: the shared exposition */
	struct rv_render_ask ask;
	bool head_only;	 /* HEAD: the body's length, not the body */
	size_t seg, off; /* sending: the part and the offset in it */
};

struct rv_http {
	struct rv_slots slots;
	uint64_t responses[RV_HTTP_NUM_CODES]; /* by rv_http_code_at() */
	struct rv_render *last;		       /* the last exposition rendered */
	struct http_conn conns[HTTP_SLOTS];
};

/* ---- the listener ------------------------------------------------------ */

static void conn_free(struct rv_slot *s)
{
	struct http_conn *c = container_of(s, struct http_conn, slot);

	rv_render_cancel(&c->ask);
	rv_render_put(c->body);
	c->body = NULL;
	rv_strbuf_free(&c->out[0]);
	rv_strbuf_free(&c->out[1]);
}

/* on_busy counts and logs the 503 the slot table answered. */
static void on_busy(struct rv_loop *l)
{
	l->http->responses[rv_http_code_index(503)]++;
	rv_warnx_rl("metrics: all %d connection slots busy and %d callers waiting: answered 503",
		    HTTP_SLOTS, RV_SLOTS_WAIT);
}

static void start_conn(struct rv_loop *l, struct rv_slot *s);

/* whole_request: do the bytes sent hold a request head the parser takes
 * (a blank line alone is none: 16 callers sending one kept every scrape
 * out, a round-two tester)? */
static bool whole_request(const char *buf, size_t n)
{
	struct rv_http_req req;

	return rv_http_parse(&req, (const uint8_t *)buf, n, false) == RV_HTTP_DONE &&
	       req.status == 200;
}

static const struct rv_slots_ops http_slots_ops = {
	.name = "metrics",
	.accept_op = RV_OP_HTTP_ACCEPT,
	.cancel_op = RV_OP_HTTP_SEND,
	.release = conn_free,
	.busy_reply = "HTTP/1.1 503 Service Unavailable\r\n"
		      "Content-Length: 0\r\nConnection: close\r\n\r\n",
	.on_busy = on_busy,
	.start = start_conn,
	.whole = whole_request,
};

int rv_http_open(struct rv_loop *l, char *err, size_t err_len)
{
	const struct rv_config *cfg = l->cfg;
	struct rv_endpoint ep;
	char addr[64], ip[48], what[96];
	struct rv_http *h;
	int fd, ret, one = 1;

	if (cfg->metrics_addr.family == 0) {
		return 0;
	}
	rv_ip_addr_str(&cfg->metrics_addr, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), cfg->metrics_addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 cfg->metrics_port);
	rv_endpoint_set(&ep, &cfg->metrics_addr, cfg->metrics_port);
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	fd = socket(ep.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "metrics_listen %s: socket: %s", addr, strerror(errno));
		free(h);
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A predecessor killed with -9 holds the port a while (rv_bind_wait). */
	snprintf(what, sizeof(what), "metrics_listen %s", addr);
	ret = rv_bind_wait(fd, &ep.sa, ep.len, RV_BIND_WAIT_MS, what);
	if (ret == 0 && listen(fd, 64) != 0) {
		ret = -errno;
	}
	if (ret) {
		char who[200];

		if (ret == -EADDRINUSE && rv_port_holder(IPPROTO_TCP, &ep.sa, who, sizeof(who))) {
			snprintf(err, err_len, "metrics_listen %s: cannot listen: %s, held by %s",
				 addr, strerror(-ret), who);
		} else {
			snprintf(err, err_len, "metrics_listen %s: cannot listen: %s", addr,
				 strerror(-ret));
		}
		close(fd);
		free(h);
		return ret;
	}
	rv_slots_init(&h->slots, &http_slots_ops, h->conns, HTTP_SLOTS, sizeof(h->conns[0]));
	h->slots.listen_fd = fd;
	l->http = h;
	rv_slots_arm_accept(l, &h->slots);
	rv_info("metrics: serving http://%s%s", addr, metrics_path);
	return 0;
}

void rv_http_free(struct rv_loop *l)
{
	struct rv_http *h = l->http;

	if (!h) {
		return;
	}
	/* Called once the ring is gone (or never existed): the kernel holds
	 * no reference to a connection's buffers any more. */
	rv_slots_free(&h->slots);
	rv_render_put(h->last);
	free(h);
	l->http = NULL;
}

void rv_http_fill(const struct rv_loop *l, struct rv_status *st)
{
	if (!l->http) {
		return;
	}
	st->have_metrics = true;
	memcpy(st->metrics_responses, l->http->responses, sizeof(st->metrics_responses));
}

/* ---- one connection ---------------------------------------------------- */

static uint64_t cud(struct rv_loop *l, const struct http_conn *c, enum rv_op op)
{
	return rv_slots_udata(&l->http->slots, &c->slot, op);
}

static void conn_close(struct rv_loop *l, struct http_conn *c)
{
	rv_slots_close(l, &l->http->slots, &c->slot);
}

static void arm_recv(struct rv_loop *l, struct http_conn *c)
{
	/* Lingering reads land at the start of the buffer: the request has
	 * been answered and nothing reads it any more. */
	size_t off = c->state == READING ? c->req_len : 0;

	if (l->io.recv(l->io.ctx, c->slot.fd, c->req + off, sizeof(c->req) - off,
		       cud(l, c, RV_OP_HTTP_RECV))) {
		conn_close(l, c);
		return;
	}
	c->slot.inflight++;
	c->recv_armed = true;
}

static void on_linger_timeout(struct rv_loop *l, struct rv_ltimer *lt)
{
	conn_close(l, container_of(lt, struct http_conn, slot.timer));
}

static void on_send_timeout(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct http_conn *c = container_of(lt, struct http_conn, slot.timer);

	rv_warnx_rl("metrics: %s read no response data for %u s: closed", c->peer,
		    (unsigned)(HTTP_SEND_NS / RV_NSEC_PER_SEC));
	conn_close(l, c);
}

/* send_more sends the next chunk of the response, or, once all of it is
 * out, shuts the write side and lingers. */
static void send_more(struct rv_loop *l, struct http_conn *c)
{
	const struct rv_strbuf *part[2] = { &c->out[0], c->body ? &c->body->text : &c->out[1] };
	size_t left;

	while (c->seg < 2 && c->off == part[c->seg]->len) {
		c->seg++;
		c->off = 0;
	}
	if (c->seg == 2) {
		c->state = LINGERING;
		c->slot.answered = true;
		c->slot.answered_ns = l->now_ns;
		shutdown(c->slot.fd, SHUT_WR);
		rv_loop_arm(l, &c->slot.timer, on_linger_timeout, l->now_ns + HTTP_LINGER_NS);
		if (!c->recv_armed) {
			arm_recv(l, c);
		}
		return;
	}
	left = part[c->seg]->len - c->off;
	if (l->io.send(l->io.ctx, c->slot.fd, part[c->seg]->p + c->off,
		       left > HTTP_SEND_CHUNK ? HTTP_SEND_CHUNK : left,
		       cud(l, c, RV_OP_HTTP_SEND))) {
		conn_close(l, c);
		return;
	}
	c->slot.inflight++;
	rv_slots_progress(l, &c->slot);
}

/* answer builds the response of |status|, with the exposition |body| (a
 * 200) or a text that says |why| (an error), and starts sending it. */
static void answer(struct rv_loop *l, struct http_conn *c, int status, const char *why,
		   struct rv_render *body)
{
	struct rv_strbuf *head = &c->out[0], *text = &c->out[1];
	int idx;

	if (body) {
		c->body = rv_render_get(body);
	} else {
		rv_warnx_rl("metrics: request from %s refused: %d %s: %s", c->peer, status,
			    rv_http_reason(status), why);
		rv_strbuf_printf(text, "%d %s: %s\n", status, rv_http_reason(status), why);
	}
	idx = rv_http_code_index(status);
	if (idx >= 0) {
		l->http->responses[idx]++;
	}
	rv_http_response_head(head, status, status == 200 ? content_type : "text/plain",
			      c->body ? c->body->text.len : text->len, (int64_t)time(NULL));
	if (c->head_only) {
		/* The head announced its length. */
		rv_render_put(c->body);
		c->body = NULL;
		rv_strbuf_reset(text);
	}
	c->state = SENDING;
	c->seg = 0;
	c->off = 0;
	rv_loop_arm(l, &c->slot.timer, on_send_timeout, l->now_ns + HTTP_SEND_NS);
	send_more(l, c);
}

/* on_rendered answers a request that asked for a rendering with it, and
 * keeps it for the requests of the next second. */
static void on_rendered(struct rv_loop *l, struct rv_render_ask *a, struct rv_render *r)
{
	struct http_conn *c = container_of(a, struct http_conn, ask);
	struct rv_http *h = l->http;

	if (r->err || r->text.truncated) {
		rv_warnx_rl("metrics: cannot render the exposition: %s",
			    strerror(r->err ? -r->err : E2BIG));
		answer(l, c, 500, "the metrics could not be rendered", NULL);
		return;
	}
	rv_render_put(h->last);
	h->last = rv_render_get(r);
	answer(l, c, 200, "", r);
}

/* respond answers a request with verdict |r| (NULL: the request head did
 * not arrive in time): the exposition of the last second, or a fresh one
 * when the render budget allows (WAITING until then), or an error. */
static void respond(struct rv_loop *l, struct http_conn *c, const struct rv_http_req *r)
{
	struct rv_http *h = l->http;
	int status = r ? r->status : 408;
	const char *why = r ? r->why : "no complete request within the deadline";

	c->head_only = r && r->method == RV_HTTP_HEAD;
	if (status == 200 && strcmp(r->path, metrics_path) != 0) {
		status = 404;
		why = "no such path (the metrics are at /metrics)";
	}
	if (status != 200) {
		answer(l, c, status, why, NULL);
		return;
	}
	if (h->last && l->now_ns - h->last->made_ns < METRICS_FRESH_NS) {
		answer(l, c, 200, "", h->last);
		return;
	}
	/* Its request deadline stays armed meanwhile (on_request_timeout). */
	c->state = WAITING;
	c->ask.format = RV_MGMT_PROMETHEUS;
	c->ask.max = HTTP_MAX_BODY;
	c->ask.done = on_rendered;
	rv_render_request(l, &c->ask);
}

static void on_request_timeout(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct http_conn *c = container_of(lt, struct http_conn, slot.timer);

	if (c->state == WAITING) {
		rv_render_cancel(&c->ask);
		answer(l, c, 503,
		       "not rendered within the deadline: the control thread's render budget is "
		       "spent (renderings may take half of its time)",
		       NULL);
		return;
	}
	/* Its receive stays armed: what it brings is ignored (SENDING) or
	 * drained (LINGERING). */
	respond(l, c, NULL);
}

static void on_recv(struct rv_loop *l, struct http_conn *c, int res)
{
	struct rv_http_req req;

	c->recv_armed = false;
	if (res < 0) {
		conn_close(l, c);
		return;
	}
	switch (c->state) {
	case READING:
		if (res == 0 && c->req_len == 0) {
			conn_close(l, c); /* connected and left (a port probe): no request */
			return;
		}
		c->req_len += (size_t)res;
		if (rv_http_parse(&req, c->req, c->req_len, res == 0) == RV_HTTP_PARTIAL) {
			arm_recv(l, c);
			return;
		}
		c->slot.asked = true;
		respond(l, c, &req);
		return;
	case WAITING:
	case SENDING:
		return; /* a late read after a 408: send_more re-arms when done */
	case LINGERING:
		if (res == 0) {
			conn_close(l, c);
		} else {
			arm_recv(l, c);
		}
		return;
	}
}

/* start_conn starts reading the request of the connection in slot |s|. */
static void start_conn(struct rv_loop *l, struct rv_slot *s)
{
	struct http_conn *c = container_of(s, struct http_conn, slot);
	struct sockaddr_in6 sa;
	socklen_t sa_len = sizeof(sa);
	struct rv_endpoint ep;

	c->state = READING;
	snprintf(c->peer, sizeof(c->peer), "?");
	if (getpeername(s->fd, (struct sockaddr *)&sa, &sa_len) == 0 &&
	    rv_sock_canon_endpoint(&ep, (struct sockaddr *)&sa, sa_len)) {
		rv_endpoint_str(&ep, c->peer, sizeof(c->peer));
	}
	rv_loop_arm(l, &c->slot.timer, on_request_timeout, l->now_ns + HTTP_REQUEST_NS);
	arm_recv(l, c);
}

static void on_accept(struct rv_loop *l, int res)
{
	struct rv_slot *s = rv_slots_accepted(l, &l->http->slots, res);

	if (s) {
		start_conn(l, s);
	}
}

void rv_http_on_cqe(struct rv_loop *l, enum rv_op op, uint64_t ud, int res)
{
	struct rv_http *h = l->http;
	struct rv_slot *s;
	struct http_conn *c;

	if (!h) {
		return;
	}
	if (op == RV_OP_HTTP_ACCEPT) {
		on_accept(l, res);
		return;
	}
	s = rv_slots_completed(l, &h->slots, ud);
	if (!s) {
		return;
	}
	c = container_of(s, struct http_conn, slot);
	if (op == RV_OP_HTTP_RECV) {
		on_recv(l, c, res);
		return;
	}
	/* RV_OP_HTTP_SEND */
	if (res <= 0) {
		conn_close(l, c);
		return;
	}
	c->off += (size_t)res;
	rv_loop_arm(l, &c->slot.timer, on_send_timeout, l->now_ns + HTTP_SEND_NS);
	send_more(l, c);
}
