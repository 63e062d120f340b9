/*
 * ring.c — io_uring setup and SQE acquisition (see ring.h).
 */
#include "uring/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* refused: io_uring_setup failed with EPERM, EACCES or ENOSYS, the host's
 * refusal of io_uring itself: said once for all rings, with the cause the
 * host shows, as -ENOSYS (exit 1). EPERM was said "insufficient privilege
 * (needs root or CAP_NET_ADMIN)" to a server running as root, ENOSYS
 * blamed the TUN. */
static int refused(int err)
{
	static atomic_bool said;
	char v = '?';
	int fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &v, 1) != 1) {
			v = '?';
		}
		close(fd);
	}
	if (atomic_exchange(&said, true)) {
		return -ENOSYS; /* every worker meets it: said once */
	}
	if (v == '2') {
		rv_warnx("io_uring is disabled on this host (sysctl kernel.io_uring_disabled = 2), "
			 "and ringvpn runs on it: set 0, or 1 with ringvpn's group in "
			 "kernel.io_uring_group");
	} else if (v == '1') {
		rv_warnx("io_uring is kept to CAP_SYS_ADMIN and kernel.io_uring_group on this host "
			 "(sysctl kernel.io_uring_disabled = 1), and ringvpn runs on it: put its "
			 "group there, or set 0");
	} else if (err == -ENOSYS) {
		rv_warnx("this kernel has no io_uring (built without it, or a sandbox that hides "
			 "it), and ringvpn runs on it");
	} else {
		rv_warnx("io_uring refused (%s): a container's seccomp profile (Docker's default "
			 "refuses io_uring) or a security module; ringvpn runs on io_uring",
			 strerror(-err));
	}
	return -ENOSYS;
}

const char *rv_ring_strerror(int err, char *buf, size_t len)
{
	struct rlimit rl, as;

	/* An address-space limit (ulimit -v, LimitAS=) refuses the same
	 * mappings with the same error: named too where one is set, the
	 * locked-memory one alone sent the operator the wrong way (round-
	 * sixty-five tester 275). */
	if (err == -ENOMEM && getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
		snprintf(buf, len,
			 "%s (the address-space limit is %llu KiB now, ulimit -v or LimitAS= in "
			 "the unit; if that is not it, the locked-memory limit, which every ring "
			 "counts against)",
			 strerror(-err), (unsigned long long)as.rlim_cur / 1024);
	} else if (err == -ENOMEM && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
		   rl.rlim_cur != RLIM_INFINITY) {
		snprintf(buf, len,
			 "%s (if that is the locked-memory limit, %llu KiB now, which every "
			 "ring counts against: raise it, LimitMEMLOCK= in the unit, or set fewer "
			 "workers)",
			 strerror(-err), (unsigned long long)rl.rlim_cur / 1024);
	} else {
		snprintf(buf, len, "%s", strerror(-err));
	}
	return buf;
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
		/* EACCES: what a security module's hook returns. */
		return ret == -EPERM || ret == -EACCES || ret == -ENOSYS ? refused(ret) : ret;
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
