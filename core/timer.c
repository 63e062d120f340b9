/*
 * timer.c — hashed timing wheel (see timer.h for the contract).
 *
 * State. |cur| is the tick the wheel stands on; |now| the largest now_ns
 * seen. Invariants:
 *   - cur <= now / tick_ns;
 *   - every timer on a slot list has a tick >= cur. A timer armed at or
 *     before now goes straight to the due list; one armed later has a tick
 *     >= now's. (Timers of ticks between cur and now's can be due while
 *     they wait on their slots: cur stops short of now's tick when a call
 *     returns early with a due timer; the next call walks on.)
 *   - |cur_min| is at or below the earliest expiry among slot(cur)'s timers
 *     whose tick is cur (0 when not known yet, UINT64_MAX when there are
 *     none), so "is anything in the current tick due?" costs one compare
 *     and a slot is rescanned only when something in it has come due;
 *   - |due_min| is at or below the earliest expiry on the due list
 *     (UINT64_MAX when the list is empty).
 * rv_wheel_expire walks cur forward, slot by slot (jumping over empty slots
 * through the bitmap), moving every timer with expires_ns <= now to the due
 * list, and hands those out one per call. While cur is behind now's tick,
 * every timer of tick cur is due, so leaving a slot never strands a timer;
 * a timer of a later rotation stays where it is. When the gap to now's tick
 * is a whole rotation or more, one pass over every non-empty slot finds all
 * due timers at once and cur jumps to now's tick.
 *
 * Tick arithmetic divides instead of multiplying back (expires_ns / tick_ns
 * == cur rather than expires_ns < (cur + 1) * tick_ns), so times near
 * UINT64_MAX cannot overflow; tick_start() saturates.
 */
#include "core/timer.h"

#include <stdlib.h>

enum {
	DUE_SLOT = UINT32_MAX, /* rv_timer.slot of a timer on the due list */
};

struct rv_wheel {
	uint64_t tick_ns;
	uint64_t now;
	uint64_t cur;
	uint64_t cur_min;
	uint64_t due_min;
	struct rv_timer *due;
	size_t count;	/* armed timers, due list included */
	size_t num_due; /* of which on the due list */
	uint32_t mask;	/* num_slots - 1 */
	size_t num_words;
	uint64_t *bitmap; /* bit k: slot k is non-empty */
	struct rv_timer **slots;
};

struct rv_wheel *rv_wheel_new(uint64_t tick_ns, unsigned num_slots, uint64_t now_ns)
{
	struct rv_wheel *w;

	if (tick_ns == 0 || num_slots < RV_WHEEL_MIN_SLOTS || num_slots > RV_WHEEL_MAX_SLOTS ||
	    (num_slots & (num_slots - 1))) {
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		return NULL;
	}
	w->tick_ns = tick_ns;
	w->now = now_ns;
	w->cur = now_ns / tick_ns;
	w->cur_min = UINT64_MAX;
	w->due_min = UINT64_MAX;
	w->mask = num_slots - 1;
	w->num_words = num_slots / 64;
	w->bitmap = calloc(w->num_words, sizeof(*w->bitmap));
	w->slots = calloc(num_slots, sizeof(*w->slots));
	if (!w->bitmap || !w->slots) {
		rv_wheel_free(w);
		return NULL;
	}
	return w;
}

void rv_wheel_free(struct rv_wheel *w)
{
	if (!w) {
		return;
	}
	free(w->slots);
	free(w->bitmap);
	free(w);
}

static inline uint32_t slot_of(const struct rv_wheel *w, uint64_t tick)
{
	return (uint32_t)(tick & w->mask);
}

static inline bool slot_busy(const struct rv_wheel *w, uint32_t s)
{
	return w->bitmap[s / 64] >> (s % 64) & 1;
}

/* tick_start returns the first nanosecond of |tick|, or UINT64_MAX if that
 * is not representable. */
static uint64_t tick_start(const struct rv_wheel *w, uint64_t tick)
{
	return tick > UINT64_MAX / w->tick_ns ? UINT64_MAX : tick * w->tick_ns;
}

static void list_push(struct rv_timer **head, struct rv_timer *t)
{
	t->prev = NULL;
	t->next = *head;
	if (*head) {
		(*head)->prev = t;
	}
	*head = t;
}

/* unlink_timer takes |t| off whichever list it is on (it stays armed). */
static void unlink_timer(struct rv_wheel *w, struct rv_timer *t)
{
	struct rv_timer **head = t->slot == DUE_SLOT ? &w->due : &w->slots[t->slot];

	if (t->prev) {
		t->prev->next = t->next;
	} else {
		*head = t->next;
	}
	if (t->next) {
		t->next->prev = t->prev;
	}
	t->next = NULL;
	t->prev = NULL;
	if (t->slot == DUE_SLOT) {
		w->num_due--;
		if (!w->due) {
			w->due_min = UINT64_MAX;
		}
	} else if (!*head) {
		w->bitmap[t->slot / 64] &= ~(1ull << (t->slot % 64));
	}
}

static void push_due(struct rv_wheel *w, struct rv_timer *t)
{
	t->slot = DUE_SLOT;
	list_push(&w->due, t);
	w->num_due++;
	if (t->expires_ns < w->due_min) {
		w->due_min = t->expires_ns;
	}
}

/* push_slot files |t| (expires_ns > w->now, so its tick is >= cur). */
static void push_slot(struct rv_wheel *w, struct rv_timer *t)
{
	uint64_t tick = t->expires_ns / w->tick_ns;
	uint32_t s = slot_of(w, tick);

	t->slot = s;
	list_push(&w->slots[s], t);
	w->bitmap[s / 64] |= 1ull << (s % 64);
	if (tick == w->cur && t->expires_ns < w->cur_min) {
		w->cur_min = t->expires_ns;
	}
}

void rv_wheel_arm(struct rv_wheel *w, struct rv_timer *t, uint64_t expires_ns)
{
	if (t->armed) {
		unlink_timer(w, t);
	} else {
		t->armed = true;
		w->count++;
	}
	t->expires_ns = expires_ns;
	if (expires_ns <= w->now) {
		push_due(w, t);
	} else {
		push_slot(w, t);
	}
}

void rv_wheel_cancel(struct rv_wheel *w, struct rv_timer *t)
{
	if (!t->armed) {
		return;
	}
	unlink_timer(w, t);
	t->armed = false;
	w->count--;
}

bool rv_timer_armed(const struct rv_timer *t)
{
	return t->armed;
}

size_t rv_wheel_count(const struct rv_wheel *w)
{
	return w->count;
}

/* collect moves every timer of slot |s| with expires_ns <= |now| to the due
 * list and returns the earliest expiry among the ones left whose tick is
 * cur (UINT64_MAX: none). */
static uint64_t collect(struct rv_wheel *w, uint32_t s, uint64_t now)
{
	uint64_t min = UINT64_MAX;
	struct rv_timer *t, *next;

	for (t = w->slots[s]; t; t = next) {
		next = t->next;
		if (t->expires_ns <= now) {
			unlink_timer(w, t);
			push_due(w, t);
		} else if (t->expires_ns / w->tick_ns == w->cur && t->expires_ns < min) {
			min = t->expires_ns;
		}
	}
	return min;
}

/* next_busy finds the first non-empty slot at or after slot |from|, going
 * round; returns false if every slot is empty, else its distance from
 * |from| (0 .. num_slots - 1) in |*out_dist|. */
static bool next_busy(const struct rv_wheel *w, uint32_t from, uint64_t *out_dist)
{
	size_t i = from / 64;
	uint64_t bits = w->bitmap[i] & (~0ull << (from % 64));

	/* num_words + 1 words: the first one is visited again after the wrap
	 * for the slots below |from|. */
	for (size_t k = 0; k <= w->num_words; k++) {
		if (bits) {
			uint32_t s = (uint32_t)(i * 64 + (size_t)__builtin_ctzll(bits));

			*out_dist = (s - from) & w->mask;
			return true;
		}
		i = i + 1 == w->num_words ? 0 : i + 1;
		bits = w->bitmap[i];
	}
	return false;
}

/* full_pass handles a gap of a rotation or more: one visit to every
 * non-empty slot collects every due timer, then cur jumps to |now_tick|. */
static void full_pass(struct rv_wheel *w, uint64_t now, uint64_t now_tick)
{
	w->cur = now_tick;
	w->cur_min = UINT64_MAX;
	for (size_t i = 0; i < w->num_words; i++) {
		uint64_t bits = w->bitmap[i];

		while (bits) {
			uint32_t s = (uint32_t)(i * 64 + (size_t)__builtin_ctzll(bits));
			uint64_t m = collect(w, s, now);

			bits &= bits - 1;
			/* Only slot(cur) can hold timers of tick cur. */
			if (m < w->cur_min) {
				w->cur_min = m;
			}
		}
	}
}

/* advance moves cur to the next non-empty slot, or to |now_tick| if none
 * comes before it. */
static void advance(struct rv_wheel *w, uint64_t now_tick)
{
	uint64_t d;

	if (next_busy(w, slot_of(w, w->cur + 1), &d) && d + 1 <= now_tick - w->cur) {
		w->cur += d + 1;
	} else {
		w->cur = now_tick;
	}
	/* Whether the new slot holds timers of this tick is unknown until it
	 * is scanned: 0 forces the scan. */
	w->cur_min = slot_busy(w, slot_of(w, w->cur)) ? 0 : UINT64_MAX;
}

static struct rv_timer *pop_due(struct rv_wheel *w)
{
	struct rv_timer *t = w->due;

	unlink_timer(w, t);
	t->armed = false;
	w->count--;
	return t;
}

struct rv_timer *rv_wheel_expire(struct rv_wheel *w, uint64_t now_ns)
{
	uint64_t now_tick;

	if (now_ns < w->now) {
		now_ns = w->now;
	}
	w->now = now_ns;
	now_tick = now_ns / w->tick_ns;
	if (now_tick - w->cur > w->mask) {
		full_pass(w, now_ns, now_tick);
	}
	for (;;) {
		if (w->due) {
			return pop_due(w);
		}
		if (w->cur_min <= now_ns) {
			/* Leaves cur_min > now_ns: nothing due stays behind. */
			w->cur_min = collect(w, slot_of(w, w->cur), now_ns);
			continue;
		}
		if (w->cur == now_tick) {
			return NULL;
		}
		advance(w, now_tick);
	}
}

uint64_t rv_wheel_next_ns(const struct rv_wheel *w, uint64_t now_ns)
{
	uint64_t d;

	(void)now_ns; /* the bound is a property of the wheel alone */
	if (w->due) {
		return w->due_min;
	}
	if (w->count == w->num_due) {
		return UINT64_MAX;
	}
	if (w->cur_min != UINT64_MAX) {
		/* Timers of tick cur are earlier than any other slot timer. */
		uint64_t start = tick_start(w, w->cur);

		return w->cur_min > start ? w->cur_min : start;
	}
	/* No timer of tick cur: the earliest possible is the start of the
	 * next non-empty slot's tick (slot(cur) itself counts as one
	 * rotation ahead). count > num_due, so some slot is busy. */
	if (!next_busy(w, slot_of(w, w->cur + 1), &d) || w->cur > UINT64_MAX - (d + 1)) {
		return UINT64_MAX;
	}
	return tick_start(w, w->cur + d + 1);
}
