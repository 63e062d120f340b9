/*
 * udata.h — what an SQE's 64-bit user_data carries: the operation (8 bits),
 * an owner (worker or connection id, 8 bits) and a 32-bit index (buffer id or
 * slot). Encoded and decoded inline; completions are routed by op with a
 * switch whose default is loud (STYLE.md rule #18).
 */
#ifndef RV_URING_UDATA_H
#define RV_URING_UDATA_H

#include <stdint.h>

enum rv_op {
	RV_OP_NONE = 0,
	RV_OP_TUN_READ,	 /* idx: unused (buffer id comes from cqe flags) */
	RV_OP_UDP_RECV,	 /* multishot recvmsg */
	RV_OP_UDP_SEND,	 /* idx: send slot */
	RV_OP_TUN_WRITE, /* idx: write slot */
	RV_OP_WAKE,	 /* eventfd read: stop or poke */
	RV_OP_MAX,
};

static inline uint64_t rv_udata(enum rv_op op, uint8_t owner, uint32_t idx)
{
	return (uint64_t)op << 56 | (uint64_t)owner << 48 | idx;
}

static inline enum rv_op rv_udata_op(uint64_t ud)
{
	return (enum rv_op)(ud >> 56);
}

static inline uint8_t rv_udata_owner(uint64_t ud)
{
	return (uint8_t)(ud >> 48);
}

static inline uint32_t rv_udata_idx(uint64_t ud)
{
	return (uint32_t)ud;
}

#endif /* RV_URING_UDATA_H */
