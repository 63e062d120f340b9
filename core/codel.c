/*
 * codel.c — CoDel's control law (see codel.h and RFC 8289 section 5).
 */
#include "core/codel.h"

#include <string.h>

/* isqrt returns floor(sqrt(x)) (Newton's method, a few steps per drop). */
static uint64_t isqrt(uint64_t x)
{
	uint64_t r = x, y = (x + 1) / 2;

	if (x < 2) {
		return x;
	}
	while (y < r) {
		r = y;
		y = (r + x / r) / 2;
	}
	return r;
}

static uint64_t control_law(const struct rv_codel *c, uint64_t t)
{
	uint64_t n = c->count > 0 ? c->count : 1;

	/* interval / sqrt(n) in 1/1024 steps: sqrt(n << 20) = 1024 sqrt(n). */
	return t + c->p.interval_ns * 1024 / isqrt(n << 20);
}

void rv_codel_init(struct rv_codel *c, const struct rv_codel_params *p)
{
	memset(c, 0, sizeof(*c));
	c->p = *p;
}

bool rv_codel_update(struct rv_codel *c, uint64_t sojourn_ns, uint64_t now_ns)
{
	bool standing;

	if (sojourn_ns < c->p.target_ns) {
		c->first_above_ns = 0;
		standing = false;
	} else if (c->first_above_ns == 0) {
		c->first_above_ns = now_ns + c->p.interval_ns;
		standing = false;
	} else {
		standing = now_ns >= c->first_above_ns;
	}
	if (c->dropping) {
		if (!standing) {
			c->dropping = false;
			return false;
		}
		return now_ns >= c->drop_next_ns;
	}
	return standing;
}

bool rv_codel_above(const struct rv_codel *c, uint64_t sojourn_ns)
{
	return sojourn_ns >= c->p.target_ns;
}

void rv_codel_empty(struct rv_codel *c)
{
	c->first_above_ns = 0;
	c->dropping = false;
}

bool rv_codel_may_mark(const struct rv_codel *c, uint64_t sojourn_ns)
{
	return sojourn_ns < c->p.interval_ns;
}

void rv_codel_dropped(struct rv_codel *c, uint64_t now_ns)
{
	if (c->dropping) {
		c->count++;
		c->drop_next_ns = control_law(c, c->drop_next_ns);
		return;
	}
	/* Entering the dropping state: start near the previous drop rate if
	 * we were dropping recently (the queue came back), else at 1. */
	{
		uint32_t delta = c->count - c->last_count;

		c->count =
			delta > 1 && now_ns - c->drop_next_ns < 16 * c->p.interval_ns ? delta : 1;
	}
	c->dropping = true;
	c->last_count = c->count;
	c->drop_next_ns = control_law(c, now_ns);
}

void rv_codel_pick_note(struct rv_codel_pick *p, uint32_t ndg)
{
	uint32_t avg = p->avg16 ? p->avg16 : 16;

	/* Rounded: truncated, it stuck at 23 after a stream's batches, and
	 * receives of one then took each drop a receive late (tester 58). */
	p->avg16 = (avg * 7 + ndg * 16 + 4) / 8;
}

bool rv_codel_pick(struct rv_codel_pick *p, uint32_t ndg)
{
	/* Half an average receive's worth: a receive of one in a queue of
	 * ones takes the drop at once. */
	p->credit16 += ndg * 16;
	if (p->credit16 * 2 < p->avg16) {
		return false;
	}
	p->credit16 = 0;
	return true;
}
