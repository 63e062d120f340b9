/*
 * ring.c — io_uring setup and SQE acquisition (see ring.h).
 */
#include "uring/ring.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "uring/compat.h"

static int try_init(struct rv_ring *r, unsigned entries, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags | IORING_SETUP_CQSIZE;
	p.cq_entries = entries * 4;
	return io_uring_queue_init_params(entries, &r->ring, &p);
}

static void probe_ops(struct rv_ring *r)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(&r->ring);

	if (probe == NULL) {
		return;
	}
	r->has_read_mshot = io_uring_opcode_supported(probe, IORING_OP_READ_MULTISHOT);
	/* Multishot recvmsg came with IORING_OP_SEND_ZC's release (6.0). */
	r->has_recvmsg_mshot = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
	r->has_sendmsg_zc = io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
	io_uring_free_probe(probe);
}

int rv_ring_init(struct rv_ring *r, unsigned entries, bool single_issuer)
{
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
		0,
	};
	int ret = -EINVAL;

	for (size_t i = single_issuer ? 0 : 1; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		ret = try_init(r, entries, flag_sets[i]);
		if (ret == 0) {
			r->setup_flags = flag_sets[i];
			if (i > 0 && single_issuer) {
				static struct rv_ratelimit once;
				if (rv_ratelimit_ok(&once)) {
					rv_info("io_uring: DEFER_TASKRUN refused, using flags 0x%x",
						flag_sets[i]);
				}
			}
			break;
		}
		if (ret != -EINVAL) {
			break;
		}
	}
	if (ret < 0) {
		memset(r, 0, sizeof(*r));
		return ret;
	}
	r->ready = true;
	/* A registered ring fd saves an fdget per io_uring_enter; optional. */
	(void)io_uring_register_ring_fd(&r->ring);
	probe_ops(r);
	return 0;
}

void rv_ring_cleanup(struct rv_ring *r)
{
	if (r->ready) {
		io_uring_queue_exit(&r->ring);
	}
	memset(r, 0, sizeof(*r));
}

struct io_uring_sqe *rv_ring_get_sqe(struct rv_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (sqe != NULL) {
		return sqe;
	}
	if (io_uring_submit(&r->ring) < 0) {
		return NULL;
	}
	return io_uring_get_sqe(&r->ring);
}
