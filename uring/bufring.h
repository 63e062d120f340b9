/*
 * bufring.h — a provided buffer ring done by hand (liburing 2.3 lacks
 * io_uring_setup_buf_ring): one mmap for the ring, one for the buffers,
 * io_uring_register_buf_ring to hand them to the kernel.
 *
 * Buffer |bid| lives at base + bid * buf_size; the kernel is given the region
 * [data_off, data_off + data_len) of it, so a buffer can keep headroom in
 * front of what the kernel writes (the data header goes there) and tailroom
 * behind it (the AEAD tag).
 *
 * Exactly-once recycling: a buffer id reaches the kernel either at init or
 * through one rv_bufring_recycle; the caller recycles each id once per
 * completion that consumed it. rv_bufring_commit publishes recycled ids with
 * one release store per loop turn (bounded by b->limit).
 *
 * Threads: owned by one worker; not thread-safe.
 */
#ifndef RV_URING_BUFRING_H
#define RV_URING_BUFRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

struct rv_bufring {
	struct io_uring_buf_ring *br;
	size_t ring_bytes;
	uint8_t *base;
	size_t base_bytes;
	size_t buf_size;
	uint32_t data_off;
	uint32_t data_len;
	unsigned num_bufs; /* power of two */
	unsigned mask;
	unsigned pending; /* recycled since the last commit */
	unsigned avail;	  /* ids currently owned by the kernel */
	unsigned limit;	  /* at most this many owned by the kernel (<= num_bufs) */
	uint16_t bgid;
	bool registered;
};

/* rv_bufring_init maps |num_bufs| (a power of two, <= 32768) buffers of
 * |buf_size| bytes, registers them as group |bgid| with |ring| and gives them
 * all to the kernel. |b| must be zero-initialised. Returns 0 or -errno (|b|
 * is then safe to clean up). */
int rv_bufring_init(struct rv_bufring *b, struct io_uring *ring, uint16_t bgid, unsigned num_bufs,
		    size_t buf_size, uint32_t data_off, uint32_t data_len);

/* rv_bufring_cleanup unregisters and unmaps. Call after the ring has stopped
 * using the group (or with ring == NULL once the ring is gone). Zero-state safe. */
void rv_bufring_cleanup(struct rv_bufring *b, struct io_uring *ring);

static inline uint8_t *rv_bufring_buf(const struct rv_bufring *b, unsigned bid)
{
	return b->base + (size_t)bid * b->buf_size;
}

/* rv_bufring_consumed notes that a completion took buffer from the kernel. */
static inline void rv_bufring_consumed(struct rv_bufring *b)
{
	b->avail--;
}

/* rv_bufring_recycle gives |bid| back (visible at the next commit). */
static inline void rv_bufring_recycle(struct rv_bufring *b, unsigned bid)
{
	io_uring_buf_ring_add(b->br, rv_bufring_buf(b, bid) + b->data_off, b->data_len,
			      (unsigned short)bid, (int)b->mask, (int)b->pending);
	b->pending++;
}

/* rv_bufring_commit publishes recycled ids, but never more than b->limit in
 * the kernel's hands: the rest stay staged (already written into the ring
 * beyond its tail, invisible to the kernel) for a later commit. With a
 * multishot request the kernel fills every buffer it owns in one go, so the
 * limit bounds how much one loop turn reads. */
static inline void rv_bufring_commit(struct rv_bufring *b)
{
	unsigned n = b->pending;

	if (b->avail + n > b->limit) {
		n = b->limit > b->avail ? b->limit - b->avail : 0;
	}
	if (n != 0) {
		io_uring_buf_ring_advance(b->br, (int)n);
		b->avail += n;
		b->pending -= n;
	}
}

/* rv_bufring_set_limit changes how many ids the kernel may own (clamped to
 * [1, num_bufs]); takes effect at the next commit. */
static inline void rv_bufring_set_limit(struct rv_bufring *b, unsigned limit)
{
	b->limit = limit < 1 ? 1 : limit > b->num_bufs ? b->num_bufs : limit;
}

#endif /* RV_URING_BUFRING_H */
