/*
 * ctl.h — what the per-peer control state machines (ctl_server.h,
 * ctl_client.h) share: the environment they act on, the upcalls through which
 * they reach the outside world, their output buffer and their outcome.
 *
 * The state machines do no I/O (STYLE.md rule 4): the control loop feeds them
 * decoded-from-TLS frames and clock ticks, sends what they leave in their
 * output buffer, and closes the connection when they say so. Data-plane
 * effects (sessions, demux entries, addresses) happen directly on the
 * objects in struct rv_ctl_env, which the control thread alone writes.
 */
#ifndef RV_TLS_CTL_H
#define RV_TLS_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "core/ctlmsg.h"
#include "core/session.h"

struct rv_config;
struct rv_demux;
struct rv_ippool;
struct rv_qsbr;

enum {
	RV_CTL_OUT_CAP = 8192,
	RV_CTL_PROTO_MAX = 1,
	RV_CTL_PROTO_MIN = 1,
	/* Two epochs are never installed less than this apart: epoch E-1 must
	 * outlive packets in flight under it (core/session.h rollover rule 4). */
	RV_CTL_MIN_REKEY_MS = 900,
};

struct rv_ctl_env {
	const struct rv_config *cfg; /* borrowed */
	struct rv_demux *demux;	     /* borrowed; the data plane reads it */
	struct rv_qsbr *qsbr;	     /* borrowed */
	struct rv_ippool *pool;	     /* server: virtual addresses */
	uint16_t data_port;	     /* server: bound UDP data port */
	void *ctx;		     /* passed to the upcalls */
	/* send_keepalive queues an empty data message to |s| (may be NULL). */
	void (*send_keepalive)(void *ctx, struct rv_session *s);
	/* on_config (client): apply a CONFIG (TUN address, MTU, routes, data
	 * plane). Returns 0 or -errno (the session is then closed). */
	int (*on_config)(void *ctx, const struct rv_ctl_config *cfg);
};

/* struct rv_ctl_out collects encoded frames for the TLS connection. */
struct rv_ctl_out {
	uint8_t buf[RV_CTL_OUT_CAP];
	size_t len;
};

enum rv_ctl_result {
	RV_CTL_CONTINUE = 0,
	RV_CTL_CLOSE, /* send what is in out, then close; the reason says why */
};

#endif /* RV_TLS_CTL_H */
