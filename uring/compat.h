/*
 * compat.h — constants missing from liburing 2.3 and Debian 12's kernel
 * headers. Each is guarded by #ifndef and names the kernel that added it.
 * No other file carries feature #ifs (STYLE.md rule #6).
 */
#ifndef RV_URING_COMPAT_H
#define RV_URING_COMPAT_H

#include <linux/if_tun.h>
#include <netinet/udp.h>

#include <liburing.h>

/* Linux 6.7: multishot read with a provided buffer ring. */
#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT 49
#endif

/* Linux 6.0 / 6.1 (present in 2.3's io_uring.h, kept for older headers). */
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_RECV_MULTISHOT
#define IORING_RECV_MULTISHOT (1U << 1)
#endif

/* Linux 4.18 / 5.0: UDP GSO and GRO (glibc has them; linux/udp.h too). */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* Linux 6.2: USO on TUN (TUNSETOFFLOAD). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* Linux 5.18: virtio_net_hdr gso_type for UDP_L4 (USO). */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* Linux 6.2: SEND_ZC/SENDMSG_ZC report whether the kernel had to copy. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

/* io_uring_prep_read_multishot (liburing 2.5): |bgid| names the provided
 * buffer ring; the kernel picks a buffer per completion. */
static inline void rv_prep_read_multishot(struct io_uring_sqe *sqe, int fd, unsigned bgid)
{
	io_uring_prep_rw(IORING_OP_READ_MULTISHOT, sqe, fd, NULL, 0, 0);
	sqe->buf_group = (__u16)bgid;
	sqe->flags |= IOSQE_BUFFER_SELECT;
}

/* Linux 3.14: sched_setattr(2)'s argument (its first version, 48 bytes).
 * glibc before 2.41 does not declare it, and <linux/sched/types.h> of
 * Debian 12 clashes with <sched.h>. Linux 6.12 reads sched_runtime of a
 * SCHED_OTHER task as the time slice it asks for. */
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif
struct rv_sched_attr {
	__u32 size;
	__u32 sched_policy;
	__u64 sched_flags;
	__s32 sched_nice;
	__u32 sched_priority;
	__u64 sched_runtime;
	__u64 sched_deadline;
	__u64 sched_period;
};

#endif /* RV_URING_COMPAT_H */
