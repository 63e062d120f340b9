/*
 * bufring.c — provided buffer rings by hand (see bufring.h).
 */
#include "uring/bufring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int rv_bufring_init(struct rv_bufring *b, struct io_uring *ring, uint16_t bgid, unsigned num_bufs,
		    size_t buf_size, uint32_t data_off, uint32_t data_len)
{
	struct io_uring_buf_reg reg;
	int ret;

	if (num_bufs == 0 || num_bufs > 32768 || (num_bufs & (num_bufs - 1)) != 0 ||
	    (size_t)data_off + data_len > buf_size) {
		return -EINVAL;
	}
	b->ring_bytes = (size_t)num_bufs * sizeof(struct io_uring_buf);
	b->br = map_anon(b->ring_bytes);
	if (b->br == NULL) {
		return -ENOMEM;
	}
	b->base_bytes = (size_t)num_bufs * buf_size;
	b->base = map_anon(b->base_bytes);
	if (b->base == NULL) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	b->buf_size = buf_size;
	b->data_off = data_off;
	b->data_len = data_len;
	b->num_bufs = num_bufs;
	b->limit = num_bufs;
	b->mask = (unsigned)io_uring_buf_ring_mask(num_bufs);
	b->bgid = bgid;
	io_uring_buf_ring_init(b->br);

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	reg.ring_entries = num_bufs;
	reg.bgid = bgid;
	ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret < 0) {
		goto err_unmap;
	}
	b->registered = true;
	for (unsigned i = 0; i < num_bufs; i++) {
		rv_bufring_recycle(b, i);
	}
	rv_bufring_commit(b);
	return 0;

err_unmap:
	rv_bufring_cleanup(b, NULL);
	return ret;
}

void rv_bufring_cleanup(struct rv_bufring *b, struct io_uring *ring)
{
	if (b->registered && ring != NULL) {
		(void)io_uring_unregister_buf_ring(ring, b->bgid);
	}
	if (b->base != NULL) {
		munmap(b->base, b->base_bytes);
	}
	if (b->br != NULL) {
		munmap(b->br, b->ring_bytes);
	}
	memset(b, 0, sizeof(*b));
}
