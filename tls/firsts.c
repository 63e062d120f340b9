/*
 * firsts.c — keys whose line was said lately (see firsts.h).
 */
#include "tls/firsts.h"

#include <string.h>

#include "core/clock.h"

bool rv_firsts_new_key(struct rv_firsts *f, const char *key, uint64_t now_ns)
{
	uint64_t h, window = (uint64_t)RV_FIRSTS_WINDOW_S * RV_NSEC_PER_SEC;

	if (!f->keyed) {
		rv_siphash_key_init(&f->key);
		f->keyed = true;
	}
	h = rv_siphash(&f->key, key, strlen(key));
	/* Times are stored one on, so that 0 is an empty slot: now_ns | 1
	 * lay ahead of an even now_ns, and a key said in the same turn of the
	 * loop was new again (round-thirty-two tester 173). */
	for (unsigned i = 0; i < RV_FIRSTS_KEYS; i++) {
		if (f->at_ns[i] != 0 && f->hash[i] == h && now_ns + 1 - f->at_ns[i] < window) {
			return false;
		}
	}
	if (now_ns - f->second_ns >= RV_NSEC_PER_SEC) {
		f->second_ns = now_ns;
		f->in_second = 0;
	}
	if (f->in_second >= RV_FIRSTS_PER_S) {
		return false;
	}
	f->in_second++;
	f->hash[f->next] = h;
	f->at_ns[f->next] = now_ns + 1;
	f->next = (f->next + 1) % RV_FIRSTS_KEYS;
	return true;
}
