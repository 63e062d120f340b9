/*
 * worker.c — one data-plane worker thread: setup, the event loop, buffer
 * release and teardown. The TX path (TUN -> UDP) is in worker_tx.c, the RX
 * path (UDP -> TUN) in worker_rx.c.
 *
 * The loop, once per turn:
 *   1. go QSBR-offline, submit everything queued and wait for >= 1 CQE
 *      (one io_uring_enter; with DEFER_TASKRUN completions are only posted
 *      here), come back online;
 *   2. reap every CQE with io_uring_for_each_cqe and advance the CQ once;
 *      TUN reads and UDP receives are parsed into the TX and RX batches;
 *   3. flush the batches: seal + UDP sendmsg, open + TUN write;
 *   4. give recycled buffers back to the kernel (one store per ring) and
 *      re-arm whatever multishot request ended (no F_MORE, or -ENOBUFS
 *      because every buffer was in flight: re-armed once some came back);
 *   5. rv_qsbr_quiescent: no session pointer survives the turn.
 * Turn budget: a turn's length is what a packet that arrives during it
 * waits, whichever direction it goes, so each turn reads at most about
 * w->turn_budget bytes from the TUN and as much from the socket. The kernel
 * fills every provided buffer it owns in one go, so the budget is kept by
 * how many buffers it owns (rv_bufring limit): budget / the bytes per buffer
 * of the last turn, at least RV_TURN_MIN_BUFS. Bulk traffic (64 KiB per
 * buffer) gets a few buffers per turn, small packets (one per buffer) get
 * all of them. When bulk follows small packets the kernel owns them all, so
 * a turn also stops reaping once it has read its budget from either side
 * (over_budget): the rest waits, in order, for the next turn. In the
 * spirit of BQL: bytes in flight inside the worker are bounded, and what has
 * not been read waits in the kernel's queues, which the AQM (worker_rx.c)
 * and the TUN queue length keep short.
 * Stop: rv_dataplane_stop sets w->stop and writes the worker's eventfd, whose
 * read is always in flight; the loop then ends and the ring is torn down.
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/busyrun.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "uring/compat.h"
#include "uring/internal.h"
#include "uring/udata.h"

static size_t round_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

static unsigned pow2_at_least(unsigned x)
{
	unsigned p = 1;

	while (p < x && p < 32768) {
		p <<= 1;
	}
	return p;
}

void rv_worker_release(struct rv_worker *w, uint32_t handle)
{
	unsigned id = handle & 0xffffff;

	switch (handle >> 24) {
	case POOL_TUNRD:
		rv_bufring_recycle(&w->tunrd, id);
		break;
	case POOL_UDPRX:
		if (--w->udprx_refs[id] == 0) {
			rv_bufring_recycle(&w->udprx, id);
		}
		break;
	case POOL_TX:
		if (--w->tx_refs[id] == 0) {
			w->tx_free[w->tx_nfree++] = (uint16_t)id;
		}
		break;
	default:
		rv_warnx_rl("worker %u: release of bad handle 0x%x", w->id, handle);
		break;
	}
}

/* ring_warn logs a failed ring or buffer-ring setup. Without
 * CAP_IPC_LOCK, a ring's memory and a buffer ring's pages count against
 * the locked-memory limit (8 MiB under systemd by default, about 150 KiB a
 * worker), so ENOMEM there is most likely that limit. */
static void ring_warn(const struct rv_worker *w, int ret, const char *what)
{
	char why[256];

	rv_warnx("worker %u: %s: %s", w->id, what, rv_ring_strerror(ret, why, sizeof(why)));
}

static int setup_pools(struct rv_worker *w)
{
	const struct rv_dataplane_config *cfg = &w->dp->cfg;
	bool tso = w->vnet && w->dp->tun_offload_flags != 0;
	unsigned small = pow2_at_least(cfg->bufs_per_worker ? cfg->bufs_per_worker : 1024);
	/* 64 KiB buffers (superframes, GRO batches): the kernel takes provided
	 * buffers in FIFO order, so every buffer in the ring is touched in turn
	 * and a ring larger than the working set only pushes the copies out of
	 * the CPU caches. 32 TUN / 64 UDP buffers ran dry a handful of times
	 * per second at full rate (a state: the kernel queues meanwhile) and
	 * keep the rings at 2 + 4 MiB instead of 8 + 16 MiB. */
	unsigned big = small / 32 < 32 ? 32 : small / 32;
	size_t data_len, buf_size, head;
	int ret;

	/* TUN reads: the packet starts at RV_DATA_HDR_LEN, the virtio header
	 * (if any) just before it; RV_TAG_LEN of tailroom after the maximum. */
	if (tso) {
		data_len = RV_VNET_HDR_LEN + 65535;
	} else {
		data_len = (w->vnet ? RV_VNET_HDR_LEN : 0) + w->mtu + 64;
	}
	buf_size = round_up(RV_DATA_HDR_LEN + data_len + RV_TAG_LEN, 64);
	ret = rv_bufring_init(&w->tunrd, &w->ring.ring, BGID_TUNRD, tso ? big : small, buf_size,
			      RV_DATA_HDR_LEN - (w->vnet ? RV_VNET_HDR_LEN : 0),
			      (uint32_t)data_len);
	if (ret < 0) {
		ring_warn(w, ret, "TUN buffer ring");
		return ret;
	}

	/* UDP receive: recvmsg_out | name | control | payload (many datagrams
	 * with GRO, so a 64 KiB payload area). */
	memset(&w->recv_msg, 0, sizeof(w->recv_msg));
	/* Rounded up so the control data that follows the name is aligned. */
	w->recv_msg.msg_namelen = (sizeof(struct sockaddr_in6) + 7) & ~7u;
	/* With pktinfo, a dual-stack socket's IPv4 datagram brings both
	 * IPV6_PKTINFO and IP_PKTINFO (rv_udp_enable_pktinfo): room for two,
	 * or the IP_TOS after them is cut off (MSG_CTRUNC) and ECN lost. */
	w->recv_msg.msg_controllen = RV_CMSG_GRO_SPACE + RV_CMSG_TS_SPACE + RV_CMSG_TOS_SPACE +
				     (w->pktinfo ? 2 * RV_CMSG_PKTINFO_SPACE : 0);
	/* Padded so that the datagrams start on a cache line either way. */
	head = sizeof(struct io_uring_recvmsg_out) + w->recv_msg.msg_namelen +
	       w->recv_msg.msg_controllen;
	w->recv_msg.msg_controllen += round_up(head, 64) - head;
	data_len = sizeof(struct io_uring_recvmsg_out) + w->recv_msg.msg_namelen +
		   w->recv_msg.msg_controllen +
		   (w->gro ? 65535 : w->rx_mtu + RV_DATA_OVERHEAD + 64);
	buf_size = round_up(data_len, 64);
	ret = rv_bufring_init(&w->udprx, &w->ring.ring, BGID_UDPRX, w->gro ? big * 2 : small,
			      buf_size, 0, (uint32_t)buf_size);
	if (ret < 0) {
		ring_warn(w, ret, "UDP buffer ring");
		return ret;
	}
	w->udprx_refs = calloc(w->udprx.num_bufs, sizeof(*w->udprx_refs));
	if (w->udprx_refs == NULL) {
		return -ENOMEM;
	}

	/* Segmentation output (only when TUN hands us superframes). */
	if (tso) {
		/* A chunk holds every segment of the largest superframe we
		 * accept: 64 KiB of payload plus, per segment, headers of at
		 * most 128 bytes and the data header and tag. */
		w->tx_num = RV_TX_CHUNKS;
		w->tx_buf_size =
			round_up(65535 + (size_t)RV_GSO_MAX_SEGS * (128 + RV_DATA_OVERHEAD), 4096);
		w->tx_base_bytes = w->tx_num * w->tx_buf_size;
		w->tx_base = mmap(NULL, w->tx_base_bytes, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w->tx_base == MAP_FAILED) {
			w->tx_base = NULL;
			return -ENOMEM;
		}
		w->tx_free = calloc(w->tx_num, sizeof(*w->tx_free));
		w->tx_refs = calloc(w->tx_num, sizeof(*w->tx_refs));
		if (w->tx_free == NULL || w->tx_refs == NULL) {
			return -ENOMEM;
		}
		for (unsigned i = 0; i < w->tx_num; i++) {
			w->tx_free[i] = (uint16_t)(w->tx_num - 1 - i);
		}
		w->tx_nfree = w->tx_num;
	}

	/* Without GSO every datagram needs its own sendmsg (GSO may also be
	 * switched off at run time, when the route refuses it); without TUN
	 * coalescing every packet its own write. Slots are touched LIFO, so
	 * the unused tail costs address space only. */
	w->num_send_slots = w->tunrd.num_bufs + w->tx_num * RV_GSO_MAX_SEGS;
	if (w->num_send_slots > 16384) {
		w->num_send_slots = 16384;
	}
	/* With GRO one receive buffer may hold RV_GRO_MAX_SEGS datagrams that
	 * do not coalesce (UDP, small packets): each then needs its own write. */
	w->num_write_slots = w->gro ? w->udprx.num_bufs * RV_GRO_MAX_SEGS : w->udprx.num_bufs;
	if (w->num_write_slots > 16384) {
		w->num_write_slots = 16384;
	}
	if (w->num_write_slots < 1024) {
		w->num_write_slots = 1024;
	}
	w->send_slots = calloc(w->num_send_slots, sizeof(*w->send_slots));
	w->send_free = calloc(w->num_send_slots, sizeof(*w->send_free));
	w->write_slots = calloc(w->num_write_slots, sizeof(*w->write_slots));
	w->write_free = calloc(w->num_write_slots, sizeof(*w->write_free));
	for (unsigned c = 0; c < RV_NUM_CLASSES; c++) {
		w->txq[c].cap = c == Q_PRIO ? RV_PRIO_BATCH : RV_TX_BATCH;
		w->txq[c].it = calloc(w->txq[c].cap, sizeof(*w->txq[c].it));
		w->rxq[c].cap = c == Q_PRIO ? RV_PRIO_BATCH : RV_RX_BATCH;
		w->rxq[c].it = calloc(w->rxq[c].cap, sizeof(*w->rxq[c].it));
		if (w->txq[c].it == NULL || w->rxq[c].it == NULL) {
			return -ENOMEM;
		}
	}
	w->tx_holds = calloc(RV_TX_BATCH + 1, sizeof(*w->tx_holds));
	w->exts = calloc(RV_TX_BATCH, sizeof(*w->exts));
	w->rx_srcs = calloc(RV_RX_SRCS, sizeof(*w->rx_srcs));
	w->rx_src_ifs = calloc(RV_RX_SRCS, sizeof(*w->rx_src_ifs));
	w->pkts = calloc(RV_TX_BATCH > RV_RX_BATCH ? RV_TX_BATCH : RV_RX_BATCH, sizeof(*w->pkts));
	w->rx_pkts = calloc(RV_RX_BATCH, sizeof(*w->rx_pkts));
	w->hdrs = calloc(RV_RX_BATCH, sizeof(*w->hdrs));
	w->results = calloc(RV_RX_BATCH, sizeof(*w->results));
	if (w->send_slots == NULL || w->send_free == NULL || w->write_slots == NULL ||
	    w->write_free == NULL || w->rx_srcs == NULL || w->rx_src_ifs == NULL ||
	    w->pkts == NULL || w->rx_pkts == NULL || w->hdrs == NULL || w->results == NULL ||
	    w->tx_holds == NULL || w->exts == NULL) {
		return -ENOMEM;
	}
	for (unsigned i = 0; i < w->num_send_slots; i++) {
		w->send_free[i] = (uint16_t)(w->num_send_slots - 1 - i);
	}
	w->send_nfree = w->num_send_slots;
	for (unsigned i = 0; i < w->num_write_slots; i++) {
		w->write_free[i] = (uint16_t)(w->num_write_slots - 1 - i);
	}
	w->write_nfree = w->num_write_slots;
	return 0;
}

static void free_pools(struct rv_worker *w)
{
	rv_bufring_cleanup(&w->tunrd, NULL);
	rv_bufring_cleanup(&w->udprx, NULL);
	if (w->tx_base != NULL) {
		munmap(w->tx_base, w->tx_base_bytes);
		w->tx_base = NULL;
	}
	free(w->udprx_refs);
	free(w->tx_free);
	free(w->tx_refs);
	free(w->tx_holds);
	free(w->exts);
	free(w->send_slots);
	free(w->send_free);
	free(w->write_slots);
	free(w->write_free);
	for (unsigned c = 0; c < RV_NUM_CLASSES; c++) {
		free(w->txq[c].it);
		free(w->rxq[c].it);
		w->txq[c].it = NULL;
		w->rxq[c].it = NULL;
	}
	free(w->rx_srcs);
	free(w->rx_src_ifs);
	free(w->pkts);
	free(w->rx_pkts);
	free(w->hdrs);
	free(w->results);
	w->udprx_refs = NULL;
	w->tx_free = NULL;
	w->tx_refs = NULL;
	w->tx_holds = NULL;
	w->exts = NULL;
	w->send_slots = NULL;
	w->send_free = NULL;
	w->write_slots = NULL;
	w->write_free = NULL;
	w->rx_srcs = NULL;
	w->rx_src_ifs = NULL;
	w->pkts = NULL;
	w->rx_pkts = NULL;
	w->hdrs = NULL;
	w->results = NULL;
}

/* setup_zerocopy turns on SENDMSG_ZC when asked for and the kernel has it,
 * and registers the pools sends are made from (TX chunks, TUN buffers, UDP
 * receive buffers for client-to-client forwarding) as fixed buffers; a
 * refusal (memlock limit, old kernel) leaves zero-copy on without them. */
static void setup_zerocopy(struct rv_worker *w)
{
	int ret;

	w->zc_mode = w->dp->cfg.zerocopy;
	if (w->zc_mode == RV_CONFIG_ZC_OFF) {
		return;
	}
	if (!w->ring.has_sendmsg_zc) {
		if (w->id == 0) {
			rv_info("io_uring: no SENDMSG_ZC on this kernel; zero-copy sends off");
		}
		return;
	}
	w->zc = true;
	w->zc_nregions = 0;
	if (w->tx_base != NULL) {
		w->zc_regions[w->zc_nregions++] =
			(struct iovec){ .iov_base = w->tx_base, .iov_len = w->tx_base_bytes };
	}
	w->zc_regions[w->zc_nregions++] =
		(struct iovec){ .iov_base = w->tunrd.base, .iov_len = w->tunrd.base_bytes };
	w->zc_regions[w->zc_nregions++] =
		(struct iovec){ .iov_base = w->udprx.base, .iov_len = w->udprx.base_bytes };
	ret = io_uring_register_buffers(&w->ring.ring, w->zc_regions, w->zc_nregions);
	w->zc_fixed = ret == 0;
	/* Said by the first worker refused, whichever it is (worker 0
	 * alone said it, and a limit that let it through and refused the
	 * next went unsaid), with the limit it most likely is (round-sixty-
	 * five tester 275). */
	if (ret < 0 && !atomic_exchange(&w->dp->zc_refusal_said, true)) {
		char why[256];

		rv_info("io_uring: registering %u send buffers of worker %u refused: %s; zero-copy "
			"sends without them",
			w->zc_nregions, w->id, rv_ring_strerror(ret, why, sizeof(why)));
	}
}

/* set_nice gives thread |tid| the nice value |nice|; a refusal leaves the
 * inherited one. */
static void set_nice(pid_t tid, int nice, bool log)
{
	if (setpriority(PRIO_PROCESS, (id_t)tid, nice) == 0) {
		if (log) {
			rv_info("workers run at nice %d", nice);
		}
	} else if (log) {
		int err = errno;

		rv_warn(err, "worker_nice = %d refused (continuing at nice %d)", nice,
			getpriority(PRIO_PROCESS, (id_t)tid));
	}
}

/* set_slice asks the normal scheduler (EEVDF, Linux 6.12 and later) for a
 * time slice of |us| microseconds for thread |tid|: sched_runtime of a task
 * in a fair class, which needs no privilege. sched_setattr sets the policy
 * and nice value too, so the thread's own are read first and written back
 * unchanged (an operator's SCHED_BATCH stays). Older kernels take the call
 * and ignore the slice; 6.12 and later report every fair task's slice when
 * it is read back, older ones 0, which tells them apart. */
static void set_slice(pid_t tid, unsigned us, bool log)
{
	uint64_t want = (uint64_t)us * 1000;
	struct rv_sched_attr a;

	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, tid, &a, sizeof(a), 0) != 0) {
		if (log) {
			rv_warn(errno, "worker_slice_us = %u: cannot read the workers' policy", us);
		}
		return;
	}
	if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH &&
	    a.sched_policy != SCHED_IDLE) {
		if (log) {
			rv_warnx("worker_slice_us = %u ignored: the workers are not in the "
				 "normal scheduler",
				 us);
		}
		return;
	}
	a.size = sizeof(a);
	a.sched_flags &= SCHED_FLAG_RESET_ON_FORK;
	a.sched_runtime = want;
	if (syscall(SYS_sched_setattr, tid, &a, 0) != 0) {
		if (log) {
			rv_warn(errno, "worker_slice_us = %u refused", us);
		}
		return;
	}
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, tid, &a, sizeof(a), 0) != 0 || a.sched_runtime != want) {
		if (log) {
			rv_warnx("worker_slice_us = %u ignored: this kernel does not take a "
				 "thread's time slice (Linux 6.12 or later does)",
				 us);
		}
		return;
	}
	if (log) {
		rv_info("workers ask for a %u us time slice", us);
	}
}

/* set_priority gives this thread (on Linux priorities are per thread, so
 * the control thread keeps its own) the configured one: SCHED_FIFO at
 * worker_rtprio, where a packet's wake-up preempts any normal task instead
 * of waiting for it to be scheduled out (README, "Worker priority"), else
 * the nice value worker_nice. RESET_ON_FORK keeps anything the thread might
 * start out of the real-time class. Workers start before the privilege
 * drop, so only a process started without CAP_SYS_NICE is refused: worker 0
 * logs it, a refused worker_rtprio falls back to worker_nice, and a refused
 * nice value leaves the inherited one. Then, in the normal scheduler, the
 * time slice worker_slice_us asks for, if any. */
static void set_priority(struct rv_worker *w, const struct rv_dataplane_config *cfg)
{
	pid_t tid = (pid_t)gettid();
	bool log = w->id == 0;

	if (cfg->worker_rtprio != 0) {
		struct sched_param sp = { .sched_priority = (int)cfg->worker_rtprio };

		if (sched_setscheduler(tid, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0) {
			if (log) {
				rv_info("workers run at real-time priority %u (SCHED_FIFO)",
					cfg->worker_rtprio);
				if (cfg->worker_slice_us != 0) {
					rv_warnx("worker_slice_us = %u ignored: real-time workers "
						 "run until they block",
						 cfg->worker_slice_us);
				}
			}
			return;
		}
		if (log) {
			rv_warn(errno,
				"worker_rtprio = %u refused (continuing in the normal scheduler)",
				cfg->worker_rtprio);
		}
	}
	if (cfg->worker_nice != 0) {
		set_nice(tid, cfg->worker_nice, log);
	}
	if (cfg->worker_slice_us != 0) {
		set_slice(tid, cfg->worker_slice_us, log);
	}
}

static int worker_setup(struct rv_worker *w)
{
	const struct rv_dataplane_config *cfg = &w->dp->cfg;
	int ret;

	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (ret != 0) {
			rv_warn(ret, "worker %u: pinning to CPU %d (continuing unpinned)", w->id,
				w->cpu);
		}
	}
	set_priority(w, cfg);
	atomic_store_explicit(&w->tid, (int)gettid(), memory_order_relaxed);
	ret = rv_ring_init(&w->ring, RV_RING_ENTRIES, true);
	if (ret < 0) {
		if (ret != -ENOSYS) { /* else said, with the host's reason */
			ring_warn(w, ret, "io_uring setup");
		}
		return ret;
	}
	{
		/* The small socket and queue, where there are, after the two
		 * every worker has. */
		int fds[4] = { w->tun_fd, w->udp_fd }, *sqe_fds[4] = { &w->sqe_tun, &w->sqe_udp };
		unsigned n = 2;

		w->sqe_tun = w->tun_fd;
		w->sqe_tun_small = w->tun_small_fd;
		w->sqe_udp = w->udp_fd;
		w->sqe_udp_small = w->udp_small_fd;
		w->sqe_fd_flags = 0;
		if (w->udp_small_fd >= 0) {
			sqe_fds[n] = &w->sqe_udp_small;
			fds[n++] = w->udp_small_fd;
		}
		if (w->tun_small_fd >= 0) {
			sqe_fds[n] = &w->sqe_tun_small;
			fds[n++] = w->tun_small_fd;
		}
		ret = io_uring_register_files(&w->ring.ring, fds, n);
		if (ret == 0) {
			for (unsigned i = 0; i < n; i++) {
				*sqe_fds[i] = (int)i;
			}
			w->sqe_fd_flags = IOSQE_FIXED_FILE;
		} else if (w->id == 0) {
			rv_info("io_uring: file registration refused (%s); using plain fds",
				strerror(-ret));
		}
	}
	w->tun_mshot = w->ring.has_read_mshot;
	if (!w->tun_mshot && w->id == 0) {
		rv_info("io_uring: no multishot read; keeping %d TUN reads in flight",
			RV_TUN_READS_SINGLE);
	}
	ret = setup_pools(w);
	if (ret < 0) {
		return ret;
	}
	{
		const struct rv_codel_params cp = {
			.target_ns = (uint64_t)(cfg->aqm_target_us ? cfg->aqm_target_us
								   : RV_AQM_TARGET_US) *
				     1000,
			.interval_ns = (uint64_t)(cfg->aqm_interval_us ? cfg->aqm_interval_us
								       : RV_AQM_INTERVAL_US) *
				       1000,
		};
		rv_codel_init(&w->codel, &cp);
	}
	w->turn_budget = cfg->turn_budget ? cfg->turn_budget : RV_TURN_BUDGET_DEFAULT;
	if (w->turn_budget == UINT32_MAX) {
		w->turn_budget = 0; /* unlimited */
	}
	setup_zerocopy(w);
	ret = rv_qsbr_register(cfg->qsbr, &w->qsbr_id);
	if (ret < 0) {
		rv_warn(ret, "worker %u: QSBR registration", w->id);
		return ret;
	}
	w->qsbr_registered = true;
	return 0;
}

static void worker_teardown(struct rv_worker *w)
{
	if (w->tun_dry != 0 || w->udp_dry != 0) {
		rv_info("worker %u: buffer rings ran dry %llu (TUN, %u buffers) / %llu (UDP, %u "
			"buffers) times",
			w->id, (unsigned long long)w->tun_dry, w->tunrd.num_bufs,
			(unsigned long long)w->udp_dry, w->udprx.num_bufs);
	}
	if (w->qsbr_registered) {
		rv_qsbr_unregister(w->dp->cfg.qsbr, w->qsbr_id);
		w->qsbr_registered = false;
	}
	/* The ring goes first: it cancels every request that still points into
	 * the buffers and slots freed below. */
	rv_ring_cleanup(&w->ring);
	free_pools(w);
}

/* arm_recv starts the multishot recvmsg on the worker's own socket (|which|
 * 0) or its small one (1). Both take buffers from the one UDP pool and
 * complete into the same turn; the small socket only spares its datagrams
 * the wait in the other's queue. */
static void arm_recv(struct rv_worker *w, unsigned which)
{
	struct io_uring_sqe *sqe = rv_ring_get_sqe(&w->ring);

	if (sqe == NULL) {
		return;
	}
	io_uring_prep_recvmsg_multishot(sqe, which ? w->sqe_udp_small : w->sqe_udp, &w->recv_msg,
					0);
	sqe->flags |= IOSQE_BUFFER_SELECT | w->sqe_fd_flags;
	sqe->buf_group = BGID_UDPRX;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_UDP_RECV, (uint8_t)w->id, which));
	w->recv_armed[which] = true;
}

/* arm_tun_read starts a read of the worker's TUN queue (|which| 0) or its
 * small one (1). Both take buffers from the one TUN pool and complete into
 * the same turn. */
static void arm_tun_read(struct rv_worker *w, unsigned which)
{
	struct io_uring_sqe *sqe = rv_ring_get_sqe(&w->ring);
	int fd = which ? w->sqe_tun_small : w->sqe_tun;

	if (sqe == NULL) {
		return;
	}
	if (w->tun_mshot) {
		rv_prep_read_multishot(sqe, fd, BGID_TUNRD);
	} else {
		io_uring_prep_read(sqe, fd, NULL, w->tunrd.data_len, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID_TUNRD;
	}
	sqe->flags |= w->sqe_fd_flags;
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_TUN_READ, (uint8_t)w->id, which));
	w->tun_inflight[which]++;
}

static void arm_wake(struct rv_worker *w)
{
	struct io_uring_sqe *sqe = rv_ring_get_sqe(&w->ring);

	if (sqe == NULL) {
		return;
	}
	io_uring_prep_read(sqe, w->wake_fd, &w->wake_buf, sizeof(w->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_WAKE, (uint8_t)w->id, 0));
	w->wake_armed = true;
}

static void rearm(struct rv_worker *w)
{
	if (!w->recv_armed[1] && w->udp_small_fd >= 0 && w->udprx.avail > 0) {
		arm_recv(w, 1);
	}
	if (!w->recv_armed[0] && w->udprx.avail > 0) {
		arm_recv(w, 0);
	}
	/* The small queue first: its reads take buffers before the bulk's. */
	for (unsigned which = w->tun_small_fd >= 0 ? 2 : 1; which-- > 0 && !w->tun_gone;) {
		unsigned *inflight = &w->tun_inflight[which];

		if (w->tun_mshot) {
			if (*inflight == 0 && w->tunrd.avail > 0) {
				arm_tun_read(w, which);
			}
			continue;
		}
		while (*inflight < RV_TUN_READS_SINGLE &&
		       w->tun_inflight[0] + w->tun_inflight[1] < w->tunrd.avail) {
			arm_tun_read(w, which);
		}
	}
	if (!w->wake_armed && !atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		arm_wake(w);
	}
}

static bool transient(int res)
{
	return res == -EAGAIN || res == -EINTR || res == -ECANCELED;
}

static void on_tun_read(struct rv_worker *w, const struct io_uring_cqe *cqe, unsigned which)
{
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		w->tun_inflight[which]--;
	}
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS) {
			w->tun_dry++;
			/* Every TUN buffer is in flight (waiting for UDP sends):
			 * a state, not a loss. The kernel keeps the packets queued
			 * (dropping at txqueuelen, counted by the device) until we
			 * re-arm once buffers come back. */
		} else if (cqe->res == -EBADFD || cqe->res == -ENODEV) {
			/* The device was deleted under us (its queue is
			 * detached: every read fails at once). Re-arming would
			 * spin; the control thread ends the process. */
			if (!w->tun_gone) {
				w->tun_gone = true;
				rv_warnx("worker %u: TUN read: %s: the device is gone", w->id,
					 strerror(-cqe->res));
				rv_dataplane_note_tun_gone(w->dp, cqe->res);
			}
		} else if (!transient(cqe->res)) {
			rv_warnx_rl("worker %u: TUN read: %s", w->id, strerror(-cqe->res));
		}
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER)) {
		return;
	}
	rv_bufring_consumed(&w->tunrd);
	if (which) {
		rv_ctr_add(&w->ctr, RV_CTR_TUN_SMALL, 1);
	}
	w->tun_turn_bufs++;
	w->tun_turn_bytes += (uint32_t)cqe->res;
	rv_worker_tun_read(w, cqe->flags >> IORING_CQE_BUFFER_SHIFT, (uint32_t)cqe->res);
}

static void on_udp_recv(struct rv_worker *w, const struct io_uring_cqe *cqe, unsigned which)
{
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		w->recv_armed[which] = false;
	}
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS) {
			w->udp_dry++;
			/* As for TUN: the socket queues (and the kernel counts
			 * RcvbufErrors) until buffers come back and we re-arm. */
		} else if (!transient(cqe->res)) {
			rv_warnx_rl("worker %u: UDP recvmsg: %s", w->id, strerror(-cqe->res));
		}
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER)) {
		return;
	}
	rv_bufring_consumed(&w->udprx);
	if (which) {
		rv_ctr_add(&w->ctr, RV_CTR_UDP_SMALL, 1);
	}
	w->udp_turn_bufs++;
	w->turn_recvs += !which;
	w->rx_small_sock = which;
	w->udp_turn_bytes += (uint32_t)cqe->res;
	rv_worker_udp_recv(w, cqe->flags >> IORING_CQE_BUFFER_SHIFT, (uint32_t)cqe->res);
}

static void dispatch(struct rv_worker *w, const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);

	switch (rv_udata_op(ud)) {
	case RV_OP_TUN_READ:
		on_tun_read(w, cqe, rv_udata_idx(ud) != 0);
		break;
	case RV_OP_UDP_RECV:
		on_udp_recv(w, cqe, rv_udata_idx(ud) != 0);
		break;
	case RV_OP_UDP_SEND:
		rv_worker_send_done(w, rv_udata_idx(ud), cqe->res, cqe->flags);
		break;
	case RV_OP_TUN_WRITE:
		rv_worker_write_done(w, rv_udata_idx(ud), cqe->res);
		break;
	case RV_OP_WAKE:
		w->wake_armed = false;
		break;
	case RV_OP_NONE:
	case RV_OP_MAX:
	default:
		rv_warnx_rl("worker %u: completion with unknown op %u (res %d)", w->id,
			    (unsigned)rv_udata_op(ud), cqe->res);
		break;
	}
}

/* budget_limit turns this turn's reads into next turn's buffer limit. */
static void budget_limit(struct rv_worker *w, struct rv_bufring *b, uint64_t *bytes, unsigned *bufs)
{
	if (*bufs != 0) {
		uint64_t per_buf = *bytes / *bufs + 1;
		uint64_t n = w->turn_budget / per_buf;

		rv_bufring_set_limit(b, n < RV_TURN_MIN_BUFS ? RV_TURN_MIN_BUFS : (unsigned)n);
	}
	*bytes = 0;
	*bufs = 0;
}

/* over_budget: has this turn read its budget from either side? The rest of
 * the completions wait for the next turn. The buffer limit alone bounds a
 * turn only once it has fallen: the kernel fills every buffer it owns, and
 * after a turn of small packets (or an idle spell after one) it owns them
 * all, so the first bulk turn read up to the whole ring, 1.3-2.6 MB against
 * a budget of 256 KiB (round-fourteen tester 65). */
static bool over_budget(const struct rv_worker *w)
{
	return w->turn_budget != 0 &&
	       (w->tun_turn_bytes >= w->turn_budget || w->udp_turn_bytes >= w->turn_budget);
}

static void publish_gauges(struct rv_worker *w)
{
	struct rv_gauges *g = &w->gauges;

	/* Held means in use here: a recycled buffer staged for the kernel
	 * (pending, behind the turn's budget) is free, not held (counted as
	 * held, an idle worker showed 26 of 32 TUN buffers "held"). */
	rv_gauge_set(g, RV_GAUGE_TUN_BUFS_KERNEL, w->tunrd.avail);
	rv_gauge_set(g, RV_GAUGE_TUN_BUFS_HELD,
		     w->tunrd.num_bufs - w->tunrd.avail - w->tunrd.pending);
	rv_gauge_set(g, RV_GAUGE_SEND_INFLIGHT, w->sends_inflight);
	rv_gauge_max(g, RV_GAUGE_TX_BATCH_MAX, w->tx_turn_bytes);
	rv_gauge_set(g, RV_GAUGE_UDP_BUFS_KERNEL, w->udprx.avail);
	rv_gauge_set(g, RV_GAUGE_UDP_BUFS_HELD,
		     w->udprx.num_bufs - w->udprx.avail - w->udprx.pending);
	rv_gauge_set(g, RV_GAUGE_WRITE_INFLIGHT, w->writes_inflight);
	rv_gauge_max(g, RV_GAUGE_RX_BATCH_MAX, w->rx_turn_bytes);
	w->tx_turn_bytes = 0;
	w->rx_turn_bytes = 0;
}

/* enter_failed waits a millisecond after a failed io_uring_enter (one that
 * fails every time, ENOMEM under pressure or a filter, spun a core), says
 * a spell of them (core/busyrun.h), and reports the ring as failed (the
 * control thread ends the process, exit 1) once the spell has lasted
 * RV_RING_GIVE_UP_NS. */
static void enter_failed(struct rv_worker *w, int err, struct rv_ring_spells *spells)
{
	static const struct timespec ms = { 0, 1000000 };
	unsigned unsaid = 0;
	char more[96];

	switch (rv_ring_spell_fail(spells, rv_now_ns(), &unsaid)) {
	case RV_SPELL_SAY:
		rv_warnx("worker %u: io_uring_enter: %s (tried again each millisecond; the "
			 "process ends if it fails for 10 s)%s",
			 w->id, strerror(-err), rv_ring_spells_unsaid(more, sizeof(more), unsaid));
		break;
	case RV_SPELL_GIVE_UP:
		rv_dataplane_note_ring_failed(w->dp, w->id, err);
		break;
	case RV_SPELL_GOES_ON:
		break;
	}
	nanosleep(&ms, NULL);
}

static void worker_loop(struct rv_worker *w)
{
	struct io_uring *ring = &w->ring.ring;
	struct rv_qsbr *q = w->dp->cfg.qsbr;
	struct rv_ring_spells spells = { 0 };
	struct rv_busy_run busy = { 0 }; /* EAGAIN or EBUSY with nothing reaped */

	rearm(w);
	while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
		struct io_uring_cqe *cqe;
		struct timespec now;
		unsigned head, n = 0;
		bool cut = false;
		int ret;

		rv_qsbr_offline(q, w->qsbr_id);
		if (likely(!rv_refusals_busy(&w->refusals))) {
			ret = io_uring_submit_and_wait(ring, 1);
		} else {
			/* A spell of refused sends must be ended, its count
			 * said, 5 s after its last refusal, also on a worker
			 * with nothing else to do (it waited for the next
			 * datagram: round-fifty-six tester 234). */
			struct __kernel_timespec ts = { .tv_sec = 1 };

			ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
		}
		rv_qsbr_online(q, w->qsbr_id);
		/* The receive timestamps are CLOCK_REALTIME (SO_TIMESTAMPNS). */
		clock_gettime(CLOCK_REALTIME, &now);
		w->rt_now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		w->mono_now_ns = rv_coarse_now_ns();
		w->turn_recvs = 0;
		io_uring_for_each_cqe(ring, head, cqe)
		{
			w->cq_next = head + 1; /* what waits behind it (worker_rx.c) */
			dispatch(w, cqe);
			n++;
			if (over_budget(w)) {
				cut = true;
				break;
			}
		}
		io_uring_cq_advance(ring, n);
		/* An interruption or a full completion queue passes, and a
		 * turn that reaped something made progress; but a run of
		 * EAGAIN or EBUSY with nothing reaped is a ring that fails
		 * (core/busyrun.h). Never EINTR: a stop and continue, a
		 * debugger's attach, a cgroup's freeze each end an idle
		 * worker's wait so (tester 219). */
		if (ret < 0 && ret != -EINTR && n == 0 && (transient(ret) || ret == -EBUSY)) {
			(void)rv_busy_run_note(&busy, rv_now_ns());
		}
		if (ret < 0 && ((!transient(ret) && ret != -EBUSY && ret != -ETIME) ||
				(n == 0 && rv_busy_run_failing(&busy)))) {
			enter_failed(w, ret, &spells);
		} else if (ret >= 0 || n != 0) {
			uint64_t lasted_ns;
			unsigned gave_up;

			rv_busy_run_end(&busy);
			/* Not once the exit is decided: "works again" after
			 * "exiting" contradicted it (tester 219). */
			if (spells.since_ns != 0 && /* no clock read per turn */
			    rv_ring_spell_ok(&spells, rv_now_ns(), &lasted_ns) &&
			    rv_dataplane_ring_failed(w->dp, &gave_up) == 0) {
				rv_info("worker %u: io_uring_enter works again after %.1f s", w->id,
					(double)lasted_ns / 1e9);
			}
		}
		if (w->aqm && cut && rv_worker_recv_behind(w)) {
			/* Receives wait for the next turn: the queue did not
			 * empty, and will not have stood empty however long
			 * the turns go on being cut (an overload's). Left at
			 * the last uncut turn's end, it told worker_rx.c that
			 * the queue had stood empty an interval, and CoDel
			 * was reset at every turn of the overload. A turn cut
			 * by the TUN side with no receive behind emptied it. */
			w->rt_end_ns = UINT64_MAX;
		} else if (w->aqm && w->turn_recvs != 0) {
			/* Every datagram that arrived by now has been handled
			 * (or waits in the socket for buffers, and is older
			 * than any that arrives later): worker_rx.c's empty
			 * queue. Turns of the TUN alone say nothing of it. */
			clock_gettime(CLOCK_REALTIME, &now);
			w->rt_end_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		}
		/* Small packets of both directions first, handed to the kernel
		 * before the bulk of the turn is sealed or opened. With no bulk
		 * behind them the submit at the top of the loop comes as soon,
		 * and a turn of small packets costs one io_uring_enter, not two
		 * (the 64-byte packet rate). */
		if (w->txq[Q_PRIO].n != 0 || w->rxq[Q_PRIO].n != 0) {
			rv_worker_flush_tx(w, Q_PRIO);
			rv_worker_flush_rx(w, Q_PRIO);
			rv_worker_flush_tx(w, Q_PRIO); /* forwarded client to client */
			if (w->txq[Q_BULK].n != 0 || w->rxq[Q_BULK].n != 0) {
				(void)io_uring_submit(ring);
			}
		}
		rv_worker_flush_tx(w, Q_BULK);
		rv_worker_flush_rx(w, Q_BULK);
		/* What the receive side queued to send: packets forwarded
		 * client to client, ICMP answers to a client's packets (an
		 * offline client's address: every mode of a server). */
		if (w->txq[Q_PRIO].n != 0 || w->txq[Q_BULK].n != 0) {
			rv_worker_flush_tx(w, Q_PRIO);
			rv_worker_flush_tx(w, Q_BULK);
		}
		if (w->turn_budget != 0) {
			budget_limit(w, &w->tunrd, &w->tun_turn_bytes, &w->tun_turn_bufs);
			budget_limit(w, &w->udprx, &w->udp_turn_bytes, &w->udp_turn_bufs);
		}
		rv_bufring_commit(&w->tunrd);
		rv_bufring_commit(&w->udprx);
		rearm(w);
		publish_gauges(w);
		if (unlikely(rv_refusals_busy(&w->refusals))) {
			rv_refusals_sweep(&w->refusals, rv_coarse_now_ns(), false);
		}
		rv_qsbr_quiescent(q, w->qsbr_id);
	}
	rv_refusals_sweep(&w->refusals, rv_coarse_now_ns(), true);
}

static void report_ready(struct rv_worker *w, int err)
{
	struct rv_dataplane *dp = w->dp;

	pthread_mutex_lock(&dp->lock);
	if (w->id == 0) {
		dp->started_gso = w->gso;
		dp->started_gro = w->gro;
		dp->started_zc = w->zc;
		dp->started_zc_fixed = w->zc_fixed;
	}
	if (err < 0 && dp->start_err == 0) {
		dp->start_err = err;
	}
	dp->num_ready++;
	pthread_cond_broadcast(&dp->cond);
	pthread_mutex_unlock(&dp->lock);
}

void *rv_worker_main(void *arg)
{
	struct rv_worker *w = arg;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "rv-worker%u", w->id);
	pthread_setname_np(pthread_self(), name);
	ret = worker_setup(w);
	report_ready(w, ret);
	if (ret == 0) {
		worker_loop(w);
	}
	worker_teardown(w);
	return NULL;
}
