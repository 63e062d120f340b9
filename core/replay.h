/*
 * replay.h — anti-replay window over 64-bit message counters (RFC 6479).
 *
 * A ring of RV_REPLAY_BLOCKS 64-bit words; the window accepts counters up to
 * RV_REPLAY_WINDOW behind the highest counter seen. Each check and update is
 * O(1) (advancing clears at most RV_REPLAY_BLOCKS words, amortised O(1)).
 *
 * Use: rv_replay_check before decrypting (read-only, cheap rejection), then
 * rv_replay_update only after the AEAD has authenticated the packet; update
 * re-checks, because another packet may have taken the counter in between.
 *
 * Not thread-safe: the caller serialises access to one window.
 */
#ifndef RV_CORE_REPLAY_H
#define RV_CORE_REPLAY_H

#include <stdint.h>

enum {
	RV_REPLAY_BLOCKS = 64,			/* power of two */
	RV_REPLAY_BITS = RV_REPLAY_BLOCKS * 64, /* 4096 */
	RV_REPLAY_WINDOW = RV_REPLAY_BITS - 64, /* 4032 counters */
};

enum rv_replay_result {
	RV_REPLAY_OK = 0,    /* fresh counter (update: now marked seen) */
	RV_REPLAY_DUPLICATE, /* already seen */
	RV_REPLAY_TOO_OLD,   /* left of the window */
	RV_REPLAY_LIMIT,     /* counter >= RV_REJECT_AFTER_MESSAGES */
};

/* struct rv_replay: layout public because it is embedded in key slots. The
 * zero state is a valid empty window. */
struct rv_replay {
	uint64_t next; /* one more than the highest counter accepted; 0 = none yet */
	uint64_t bitmap[RV_REPLAY_BLOCKS];
};

/* rv_replay_init resets |r| to an empty window. */
void rv_replay_init(struct rv_replay *r);

/* rv_replay_check reports whether |counter| would be accepted, without
 * changing |r|. */
enum rv_replay_result rv_replay_check(const struct rv_replay *r, uint64_t counter);

/* rv_replay_update checks |counter| again and, if fresh, marks it seen and
 * slides the window. Call only for authenticated packets. */
enum rv_replay_result rv_replay_update(struct rv_replay *r, uint64_t counter);

const char *rv_replay_result_str(enum rv_replay_result res);

#endif /* RV_CORE_REPLAY_H */
