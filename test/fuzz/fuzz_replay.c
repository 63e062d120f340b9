/*
 * fuzz_replay.c — libFuzzer harness for the anti-replay window (core/replay.c),
 * checked step by step against a naive reference model.
 *
 *   scripts/fuzz.sh                      (all harnesses, clang + libFuzzer)
 *   build/fuzz/test/fuzz_replay test/fuzz/corpus/replay
 *   ctest -L fuzz-replay                 (replays the corpus, any compiler)
 *
 * The input is a little program: each op byte picks how the next counter is
 * formed (absolute, forward or backward from the highest seen, around the
 * window edge, around the reject-after limit, a repeat of an earlier one, or
 * a reset). The model keeps every accepted counter in a plain list and
 * decides by the definition: LIMIT at or past the limit, TOO_OLD when
 * RV_REPLAY_WINDOW or more behind the highest, DUPLICATE when listed, else
 * OK. rv_replay_check must agree without changing the window, and
 * rv_replay_update must agree too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/replay.h"
#include "core/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                       \
	do {                              \
		if (!(cond)) {            \
			__builtin_trap(); \
		}                         \
	} while (0)

enum { MAX_OPS = 1024 };

struct model {
	bool any;
	uint64_t max;
	size_t num_seen;
	uint64_t seen[MAX_OPS];
};

static enum rv_replay_result model_decide(const struct model *m, uint64_t c)
{
	if (c >= RV_REJECT_AFTER_MESSAGES) {
		return RV_REPLAY_LIMIT;
	}
	if (m->any && c <= m->max && m->max - c >= RV_REPLAY_WINDOW) {
		return RV_REPLAY_TOO_OLD;
	}
	for (size_t i = 0; i < m->num_seen; i++) {
		if (m->seen[i] == c) {
			return RV_REPLAY_DUPLICATE;
		}
	}
	return RV_REPLAY_OK;
}

static void model_accept(struct model *m, uint64_t c)
{
	m->seen[m->num_seen++] = c;
	if (!m->any || c > m->max) {
		m->max = c;
	}
	m->any = true;
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, size_t bytes)
{
	uint64_t v = 0;
	for (size_t i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->n > 0) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct rv_replay r, before;
	struct in in = { data, size };

	memset(&m, 0, sizeof(m));
	rv_replay_init(&r);
	for (int ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
		uint8_t op = (uint8_t)take(&in, 1);
		uint64_t c;
		switch (op & 7) {
		case 0:
			c = take(&in, 8);
			break;
		case 1:
			c = m.max + take(&in, 1);
			break;
		case 2:
			c = m.max + take(&in, 2);
			break;
		case 3:
			c = m.max - take(&in, 1);
			break;
		case 4:
			c = m.max - take(&in, 2);
			break;
		case 5: /* around the window edge */
			c = m.max - RV_REPLAY_WINDOW + (uint64_t)(int64_t)(int8_t)take(&in, 1);
			break;
		case 6: /* around the reject-after limit */
			c = RV_REJECT_AFTER_MESSAGES + (uint64_t)(int64_t)(int8_t)take(&in, 1);
			break;
		default: /* a repeat, or a reset */
			if (op == 0xff) {
				rv_replay_init(&r);
				memset(&m, 0, sizeof(m));
				continue;
			}
			if (m.num_seen == 0) {
				continue;
			}
			c = m.seen[take(&in, 2) % m.num_seen];
			break;
		}

		enum rv_replay_result want = model_decide(&m, c);
		before = r;
		check(rv_replay_check(&r, c) == want);
		check(memcmp(&before, &r, sizeof(r)) == 0);
		check(rv_replay_update(&r, c) == want);
		if (want == RV_REPLAY_OK) {
			model_accept(&m, c);
			check(r.next == m.max + 1);
			check(rv_replay_check(&r, c) == RV_REPLAY_DUPLICATE);
		} else {
			check(memcmp(&before, &r, sizeof(r)) == 0);
		}
		check(rv_replay_result_str(want) != NULL);
	}
	return 0;
}
