/*
 * udata.h — what an SQE's 64-bit user_data carries, for every ring in the
 * program (the data-plane workers' and the control thread's): the
 * operation (8 bits), an owner (24 bits: a worker id, a connection or
 * management slot) and a 32-bit index (a buffer id or send slot, or the
 * owner slot's generation, so that a completion for a slot that has since
 * been reused is recognised). Encoded and decoded inline; completions are
 * routed by op with a switch whose default is loud (STYLE.md rule #18).
 *
 *    63      56 55                    32 31                           0
 *   +----------+------------------------+------------------------------+
 *   |    op    |  owner (24 bits)       |  index / generation          |
 *   +----------+------------------------+------------------------------+
 */
#ifndef RV_URING_UDATA_H
#define RV_URING_UDATA_H

#include <stdint.h>

enum rv_op {
	RV_OP_NONE = 0,
	/* data-plane workers (uring/worker*.c); owner: worker id */
	RV_OP_TUN_READ,	 /* idx: 0 the worker's TUN queue, 1 its small one */
	RV_OP_UDP_RECV,	 /* multishot recvmsg; idx: 0 own socket, 1 small one */
	RV_OP_UDP_SEND,	 /* idx: send slot */
	RV_OP_TUN_WRITE, /* idx: write slot */
	RV_OP_WAKE,	 /* eventfd read: stop or poke */
	/* control thread (tls/); owner: slot, idx: generation */
	RV_OP_CTL_ACCEPT,  /* control listener (owner 0) */
	RV_OP_CTL_CONNECT, /* client's connection to its server */
	RV_OP_CTL_RECV,	   /* control connection */
	RV_OP_CTL_SEND,
	RV_OP_CTL_CANCEL,   /* cancel of a closing connection's operations */
	RV_OP_CTL_SIGNAL,   /* signalfd read (owner 0) */
	RV_OP_CTL_WATCH,    /* inotify read: certificate / CRL files changed */
	RV_OP_CTL_RESOLVED, /* eventfd read: a server name was resolved (client) */
	RV_OP_CTL_REKEY,    /* eventfd read: the data plane saw an epoch near a limit */
	RV_OP_CTL_NETLINK,  /* rtnetlink read: the TUN device's links, addresses, routes */
	RV_OP_MGMT_ACCEPT,  /* management socket listener (owner 0) */
	RV_OP_MGMT_RECV,    /* management connection */
	RV_OP_MGMT_SEND,
	RV_OP_HTTP_ACCEPT, /* metrics endpoint listener (owner 0) */
	RV_OP_HTTP_RECV,   /* metrics connection */
	RV_OP_HTTP_SEND,
	RV_OP_MAX,
};

_Static_assert(RV_OP_MAX <= 256, "op fits 8 bits");

enum { RV_UDATA_OWNER_MAX = (1u << 24) - 1 };

static inline uint64_t rv_udata(enum rv_op op, uint32_t owner, uint32_t idx)
{
	return (uint64_t)op << 56 | (uint64_t)(owner & RV_UDATA_OWNER_MAX) << 32 | idx;
}

static inline enum rv_op rv_udata_op(uint64_t ud)
{
	return (enum rv_op)(ud >> 56);
}

static inline uint32_t rv_udata_owner(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & RV_UDATA_OWNER_MAX;
}

static inline uint32_t rv_udata_idx(uint64_t ud)
{
	return (uint32_t)ud;
}

#endif /* RV_URING_UDATA_H */
