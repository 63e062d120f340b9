/*
 * replay.c — RFC 6479 anti-replay window (see replay.h).
 *
 * Bit (c mod RV_REPLAY_BITS) of the ring records whether counter c was seen,
 * for the counters still inside the window. r->next is one more than the
 * highest counter accepted, so the window is
 *
 *     [next - RV_REPLAY_WINDOW, next - 1]        (clamped at 0)
 *
 * i.e. the RV_REPLAY_WINDOW most recent counter values, the highest included.
 * Because the window is one 64-bit block shorter than the ring, the block
 * holding its oldest counter never shares a ring slot with the block holding
 * the newest, which is what lets a slide clear whole words (RFC 6479 §2):
 * moving the top from block B to block B' zeroes the ring slots of blocks
 * B+1 .. B', at most RV_REPLAY_BLOCKS words however far the counter jumps.
 *
 * The first counter ever accepted (next == 0) needs no clearing: the zero
 * state and rv_replay_init both start with an all-zero ring, and nothing has
 * been marked since.
 */
#include "core/replay.h"

#include <string.h>

#include "core/compiler.h"
#include "core/wire.h"

enum {
	BLOCK_SHIFT = 6,
	BLOCK_BITS = 64,
	BLOCK_MASK = RV_REPLAY_BLOCKS - 1,
};

_Static_assert((RV_REPLAY_BLOCKS & (RV_REPLAY_BLOCKS - 1)) == 0, "blocks is a power of two");
_Static_assert(RV_REPLAY_WINDOW <= RV_REPLAY_BITS - BLOCK_BITS, "window leaves one spare block");
_Static_assert(RV_REPLAY_WINDOW >= 2048, "window of at least 2048 (DESIGN.md)");

void rv_replay_init(struct rv_replay *r)
{
	memset(r, 0, sizeof(*r));
}

enum rv_replay_result rv_replay_check(const struct rv_replay *r, uint64_t counter)
{
	if (unlikely(counter >= RV_REJECT_AFTER_MESSAGES)) {
		return RV_REPLAY_LIMIT;
	}
	if (likely(counter >= r->next)) {
		return RV_REPLAY_OK;
	}
	/* counter < next here, so the subtraction cannot wrap. */
	if (unlikely(r->next - counter > RV_REPLAY_WINDOW)) {
		return RV_REPLAY_TOO_OLD;
	}
	uint64_t word = r->bitmap[(counter >> BLOCK_SHIFT) & BLOCK_MASK];
	if (word & (1ull << (counter & (BLOCK_BITS - 1)))) {
		return RV_REPLAY_DUPLICATE;
	}
	return RV_REPLAY_OK;
}

enum rv_replay_result rv_replay_update(struct rv_replay *r, uint64_t counter)
{
	enum rv_replay_result res = rv_replay_check(r, counter);
	if (res != RV_REPLAY_OK) {
		return res;
	}
	uint64_t block = counter >> BLOCK_SHIFT;
	if (counter >= r->next) {
		if (r->next != 0) {
			uint64_t top = (r->next - 1) >> BLOCK_SHIFT;
			uint64_t gap = block - top;
			if (gap >= RV_REPLAY_BLOCKS) {
				/* Jumped past the whole ring: nothing in it is
				 * inside the new window. */
				memset(r->bitmap, 0, sizeof(r->bitmap));
			} else {
				for (uint64_t i = 1; i <= gap; i++) {
					r->bitmap[(top + i) & BLOCK_MASK] = 0;
				}
			}
		}
		r->next = counter + 1;
	}
	r->bitmap[block & BLOCK_MASK] |= 1ull << (counter & (BLOCK_BITS - 1));
	return RV_REPLAY_OK;
}

const char *rv_replay_result_str(enum rv_replay_result res)
{
	switch (res) {
	case RV_REPLAY_OK:
		return "ok";
	case RV_REPLAY_DUPLICATE:
		return "counter already seen";
	case RV_REPLAY_TOO_OLD:
		return "counter left of the replay window";
	case RV_REPLAY_LIMIT:
		return "counter at or beyond the reject-after limit";
	}
	return "unknown replay result";
}
