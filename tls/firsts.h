/*
 * firsts.h — which keys (a certificate's name and serial, a client's name)
 * had a line of their own said lately, so that one key's flood stays within
 * its call site's rate limit while another key's first line is still said.
 *
 * A flood of refusals of one expired certificate used up the limit that a
 * revoked certificate's refusal, from another host, shared: its serial and
 * source were never said (round-thirty-two tester 170).
 *
 * Keys are remembered by a keyed hash for RV_FIRSTS_WINDOW_S, the last
 * RV_FIRSTS_KEYS of them; at most RV_FIRSTS_PER_S first lines a second
 * (an attacker holding many certificates does not get a line for each).
 * One thread (the control thread's).
 */
#ifndef RV_TLS_FIRSTS_H
#define RV_TLS_FIRSTS_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/siphash.h"

enum {
	RV_FIRSTS_WINDOW_S = 60,
	RV_FIRSTS_PER_S = 5,
	/* Every key a window can take (64 were forgotten in 13 s, and said
	 * again: round-thirty-two tester 173). */
	RV_FIRSTS_KEYS = 512,
};
_Static_assert(RV_FIRSTS_KEYS >= RV_FIRSTS_WINDOW_S * RV_FIRSTS_PER_S,
	       "a window's first lines are all remembered");

/* struct rv_firsts is zero-initialised static storage (its hash key is
 * drawn at its first use). */
struct rv_firsts {
	struct rv_siphash_key key;
	bool keyed;
	uint64_t hash[RV_FIRSTS_KEYS];
	uint64_t at_ns[RV_FIRSTS_KEYS];
	unsigned next;
	uint64_t second_ns; /* the second whose first lines are counted */
	unsigned in_second;
};

/* rv_firsts_new_key: is |key| one whose line was not said in the last
 * RV_FIRSTS_WINDOW_S (and the second's budget not spent)? If so it is
 * remembered as said at |now_ns|. */
bool rv_firsts_new_key(struct rv_firsts *f, const char *key, uint64_t now_ns);

#endif /* RV_TLS_FIRSTS_H */
