/*
 * timer.h — a hashed timing wheel for the control thread: handshake
 * timeouts, keepalives, dead-peer detection and rekey deadlines of thousands
 * of connections, at O(1) per arm/cancel and O(expired + slots passed) per
 * expiry pass, never O(all timers).
 *
 * Time is a parameter (STYLE: protocol cores read no clock): every call that
 * needs "now" takes |now_ns| (monotonic nanoseconds, any starting value,
 * including 0 and values near 10^7 s or 2^63 ns).
 *
 * Layout: |num_slots| (power of two) lists, slot k holding timers whose
 * expiry tick (expires_ns / tick_ns) is congruent to k; a timer further away
 * than one rotation sits in its slot and is skipped until its tick comes
 * round ("rounds" are implicit: an entry is due only when expires_ns <= now).
 * Timers found due, or armed at or before the wheel's "now" (the largest
 * now_ns rv_wheel_expire has seen, or rv_wheel_new's), wait on a separate
 * due list. A bitmap of non-empty slots lets the wheel skip empty slots and
 * rv_wheel_next_ns find the next slot to visit in O(num_slots / 64).
 *
 * Cost: arm, cancel and returning a due timer are O(1). Moving past a slot
 * costs its length, so a timer more than one rotation away is looked at
 * once per rotation (size the wheel so that tick_ns * num_slots covers the
 * usual timeouts); a gap longer than one rotation between two expiry calls
 * costs one rotation (num_slots / 64 bitmap words plus every armed timer),
 * not the gap.
 *
 * Timers are embedded in their owner (no allocation per timer); the wheel
 * never frees them. A timer belongs to at most one wheel at a time.
 * Single-threaded: the control thread only.
 */
#ifndef RV_CORE_TIMER_H
#define RV_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct rv_timer is embedded in its owner; zero state = not armed. Fields
 * are private to timer.c. */
struct rv_timer {
	struct rv_timer *next, *prev;
	uint64_t expires_ns;
	uint32_t slot; /* slot index, or the due list */
	bool armed;
};

enum {
	RV_WHEEL_MIN_SLOTS = 64,
	RV_WHEEL_MAX_SLOTS = 1 << 24,
};

struct rv_wheel;

/* rv_wheel_new creates a wheel of |num_slots| (power of two, RV_WHEEL_MIN_SLOTS
 * to RV_WHEEL_MAX_SLOTS) slots of |tick_ns| (>= 1) each, starting at |now_ns|.
 * Returns NULL on -ENOMEM or bad arguments. The only allocation the wheel
 * ever makes. */
struct rv_wheel *rv_wheel_new(uint64_t tick_ns, unsigned num_slots, uint64_t now_ns);

/* rv_wheel_free frees the wheel (not the timers; armed ones are simply
 * forgotten and must not be passed to the freed wheel). NULL ok. */
void rv_wheel_free(struct rv_wheel *w);

/* rv_wheel_arm (re)arms |t| (zero state, disarmed, or armed on |w|) to expire
 * at |expires_ns|. A time at or before the wheel's now expires on the next
 * rv_wheel_expire call. O(1). */
void rv_wheel_arm(struct rv_wheel *w, struct rv_timer *t, uint64_t expires_ns);

/* rv_wheel_cancel disarms |t|; idempotent (a zero-state or disarmed timer is
 * ignored), O(1). */
void rv_wheel_cancel(struct rv_wheel *w, struct rv_timer *t);

/* rv_timer_armed reports whether |t| is armed. */
bool rv_timer_armed(const struct rv_timer *t);

/* rv_wheel_expire removes and returns one timer with expires_ns <= |now_ns|
 * (disarmed; the caller may re-arm it at once: re-armed at or before
 * |now_ns|, it is due again and comes back in the same drain), or NULL when
 * none is due.
 * Timers are returned in no particular order, not even by expiry. A caller
 * drains with `while ((t = rv_wheel_expire(w, now))) ...`. |now_ns| must not
 * go backwards: a value below the largest one seen so far is taken as that
 * one. Amortised cost per call: O(1) plus the slots the wheel moves past (a
 * gap longer than one rotation costs one rotation, not the gap). Never
 * returns a timer that is not due, never misses one that is due. */
struct rv_timer *rv_wheel_expire(struct rv_wheel *w, uint64_t now_ns);

/* rv_wheel_next_ns returns an absolute time at or before the earliest
 * expiry of any armed timer (the exact expiry when the earliest timers sit
 * in the current tick or on the due list; otherwise the start of the next
 * non-empty slot's tick, which may be earlier than the real expiry when that
 * slot only holds timers of later rotations), or UINT64_MAX when no timer is
 * armed (or every armed timer expires at UINT64_MAX). A loop waits until
 * then and calls rv_wheel_expire; a result at or before |now_ns| means "call
 * it now". The bound depends only on the wheel's state, not on |now_ns|.
 * O(num_slots / 64) at worst, O(1) when a timer is due in the current tick
 * or on the due list. */
uint64_t rv_wheel_next_ns(const struct rv_wheel *w, uint64_t now_ns);

/* rv_wheel_count returns the number of armed timers. */
size_t rv_wheel_count(const struct rv_wheel *w);

#endif /* RV_CORE_TIMER_H */
