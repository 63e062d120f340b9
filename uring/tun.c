/*
 * tun.c — TUN queues (ioctl), ownership of the device (a lock file and
 * IFF_TUN_EXCL), the eBPF programs that pick a packet's queue, and
 * interface configuration (ioctl + uring/rtnl.c).
 *
 * Why a lock as well as IFF_TUN_EXCL: after SIGKILL the old process is gone
 * (its parent has reaped it) but its device lingers until the kernel has
 * torn down the old io_uring, which holds the TUN files. During that time
 * "a device with queues" looks the same whether its holder is alive or
 * dying. The kernel drops a dead process's flock in exit_files(), before
 * the process can be reaped and well before the io_uring exit work releases
 * the device, so "lock free, device still there" means a dying owner (wait
 * for it) and "lock taken" a live one (fail at once). IFF_TUN_EXCL then
 * guarantees that the first queue is on a device of this process's making,
 * so nothing an earlier owner configured can survive. A lock file rather
 * than an abstract unix socket: abstract names live in the network
 * namespace, where any unprivileged process could take ours first; the lock
 * directory is root's.
 */
#include "uring/tun.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <linux/ip.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/file.h"
#include "core/log.h"
#include "uring/compat.h"
#include "uring/holder.h"
#include "uring/rtnl.h"

enum {
	CLAIM_POLL_MS = 10,
	/* rv_tun_set_addrs_routes repeats its listing until a pass finds
	 * nothing stale: deleting during a kernel dump can make the dump skip
	 * an entry. A handful of passes always suffices; the bound only stops
	 * a runaway loop if something keeps adding entries. */
	SYNC_MAX_PASSES = 16,
	/* rv_ns_lock opens its lock file again when a sweep removed the one
	 * it had opened before it got the flock; each round means another
	 * process swept in that instant, so a few always suffice. */
	LOCK_MAX_OPENS = 8,
	/* rv_ns_lock gives up on a holder once it has seen it live (neither
	 * exiting nor stopping) this long: a killed process shows it is
	 * exiting within microseconds of taking its SIGKILL, and until then
	 * the signal shows as pending. */
	LIVE_CONFIRM_MS = 50,
	/* rv_flock_wait gives up on a live holder after this long: a
	 * predecessor sent SIGTERM marks its locks stopping only once its
	 * loop has seen the signal (cli/notify.c). */
	FLOCK_LIVE_CONFIRM_MS = 500,
};

/* --- ownership ------------------------------------------------------------ */

/* lock_path names the lock of |name| in this process's network namespace:
 * the same name in two namespaces is two devices. */
static int lock_path(char *out, size_t out_len, const char *kind, const char *name)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0) {
		return -errno;
	}
	if ((size_t)snprintf(out, out_len, "%s/%s-%s.%llu.lock", RV_TUN_LOCK_DIR, kind, name,
			     (unsigned long long)st.st_ino) >= out_len) {
		return -ENAMETOOLONG;
	}
	return 0;
}

/* lock_says reads what the holder wrote into its lock: its PID (0: none
 * yet), and in |*stopping| whether it added that it is stopping
 * (rv_ns_lock_stopping). */
static long lock_says(int fd, bool *stopping)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	*stopping = false;
	if (n <= 0) {
		return 0;
	}
	buf[n] = '\0';
	*stopping = strstr(buf, " stopping") != NULL;
	return strtol(buf, NULL, 10);
}

/* holder_state: what can be told of the process holding the flock on |fd|:
 * going when it says in the lock that it is stopping (rv_ns_lock_stopping)
 * or pid_state finds it on its way out; unseen unless /proc/locks names
 * the PID the lock holds (another PID namespace, no /proc, a holder that
 * is no ringvpn: a PID /proc/locks keeps for a process that left its lock
 * to a child may be another process's by now). */
static enum rv_holder holder_state(int fd)
{
	long pid = rv_flock_holder(fd);
	bool stopping;
	long own = lock_says(fd, &stopping);

	if (stopping) {
		return RV_HOLDER_GOING;
	}
	return pid > 0 && pid == own ? rv_pid_state(pid) : RV_HOLDER_UNSEEN;
}

/* ns_lock_wait takes |fd|'s flock, waiting up to RV_TUN_CLAIM_WAIT_MS for a
 * holder that is going away or cannot be seen; one seen live for
 * LIVE_CONFIRM_MS ends the wait (-EBUSY). */
static int ns_lock_wait(int fd)
{
	unsigned live_ms = 0;

	for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += CLAIM_POLL_MS) {
		enum rv_holder h;

		if (errno != EWOULDBLOCK) {
			return -errno;
		}
		h = holder_state(fd);
		live_ms = h == RV_HOLDER_LIVE ? live_ms + CLAIM_POLL_MS : 0;
		if (waited >= RV_TUN_CLAIM_WAIT_MS || live_ms > LIVE_CONFIRM_MS) {
			return -EBUSY;
		}
		if (rv_sleep_ms(CLAIM_POLL_MS)) {
			return -EINTR;
		}
	}
	return 0;
}

void rv_ns_lock_stopping(int fd)
{
	char buf[40];
	int n;

	if (fd < 0) {
		return;
	}
	n = snprintf(buf, sizeof(buf), "%ld stopping\n", (long)getpid());
	if (pwrite(fd, buf, (size_t)n, 0) != n) {
		rv_debug("cannot mark a lock as stopping: %s", strerror(errno));
	}
}

/* open_lock_entry opens |de| of RV_TUN_LOCK_DIR |dir| read-only if it is
 * one of rv_ns_lock's files (tun-*.lock, udp-*.lock): its fd, or -1. */
static int open_lock_entry(DIR *dir, const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	if ((de->d_type != DT_REG && de->d_type != DT_UNKNOWN) || len < 5 ||
	    strcmp(de->d_name + len - 5, ".lock") ||
	    (strncmp(de->d_name, "tun-", 4) && strncmp(de->d_name, "udp-", 4))) {
		return -1;
	}
	return openat(dirfd(dir), de->d_name,
		      O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
}

/* pid_stopping: does a lock of RV_TUN_LOCK_DIR that process |pid| (as
 * /proc/locks names it here) holds say that it has begun to stop
 * (rv_ns_lock_stopping)? The PID the lock says is the holder's own, of
 * its PID namespace: a container's was never this one's (round-sixty-nine
 * tester 314). */
static bool pid_stopping(long pid)
{
	DIR *dir = opendir(RV_TUN_LOCK_DIR);
	struct dirent *de;
	bool found = false;

	if (!dir) {
		return false;
	}
	while (!found && (de = readdir(dir))) {
		bool stopping;
		int fd = open_lock_entry(dir, de);

		if (fd < 0) {
			continue;
		}
		(void)lock_says(fd, &stopping);
		found = stopping && rv_flock_holder(fd) == pid;
		close(fd);
	}
	closedir(dir);
	return found;
}

/* left_it: has process |pid| none of its descriptors on the file open as
 * |fd|? /proc/locks names the process that took a lock, which may have left
 * it to another and be gone, its PID another's by now (round-sixty-nine
 * tester 314). False when it cannot be told: a ringvpn is not dumpable,
 * and without CAP_SYS_PTRACE its descriptors cannot be followed (the
 * holder went unnamed then: tester 317), nor can they where /proc hides
 * the process (hidepid=invisible, as under the units: round-seventy tester
 * 318's holder was taken for gone, its stopping mark unread). */
static bool left_it(long pid, int fd)
{
	char dir[48];
	struct stat want, st;
	struct dirent *de;
	bool found = false, unknown = false;
	DIR *d;

	if (fstat(fd, &want) < 0) {
		return false;
	}
	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	d = opendir(dir);
	if (!d) {
		return errno == ENOENT && !rv_pid_hidden(pid);
	}
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.') {
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, 0) != 0) {
			unknown |= errno == EACCES || errno == EPERM;
			continue;
		}
		found = st.st_dev == want.st_dev && st.st_ino == want.st_ino;
	}
	closedir(d);
	return !found && !unknown;
}

int rv_flock_wait(int fd, unsigned max_ms, long *holder, bool *going)
{
	unsigned live_ms = 0;

	*holder = 0;
	*going = false;
	for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += CLAIM_POLL_MS) {
		enum rv_holder h;
		long pid;

		if (errno != EWOULDBLOCK) {
			return -errno;
		}
		/* A live holder that is not stopping is another server on
		 * the file, not a predecessor going away: refused without
		 * the whole wait (round-sixty-nine tester 311). */
		pid = rv_flock_holder(fd);
		if (pid > 0 && left_it(pid, fd)) {
			pid = 0; /* not the holder any more: unseen */
		}
		h = pid > 0 ? rv_pid_state(pid) : RV_HOLDER_UNSEEN;
		*going = h == RV_HOLDER_GOING || (pid > 0 && pid_stopping(pid));
		live_ms = h == RV_HOLDER_LIVE && !*going ? live_ms + CLAIM_POLL_MS : 0;
		if (waited >= max_ms || live_ms > FLOCK_LIVE_CONFIRM_MS) {
			*holder = pid;
			return -EBUSY;
		}
		if (rv_sleep_ms(CLAIM_POLL_MS)) {
			return -EINTR;
		}
	}
	return 0;
}

/* still_named: does |name| in |dirfd| still name the file open as |fd|? A
 * lock file another process swept away after we opened it is no lock: a
 * third may since have created a new one under the name and locked that. */
static bool still_named(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && S_ISREG(a.st_mode) &&
	       fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* sweep_stale removes the lock files nobody holds: one is left behind by
 * every namespace a ringvpn ran in (a process that dropped root cannot
 * remove its own, and one killed with -9 never does), and a host that
 * starts ringvpn in short-lived namespaces would gather them until /run is
 * cleared. Holding the flock while unlinking, and rv_ns_lock's check that
 * the name still leads to the file it locked, keep two claimants of the
 * same name from both succeeding. Best effort: a file it cannot lock or
 * remove stays. */
static void sweep_stale(void)
{
	DIR *dir = opendir(RV_TUN_LOCK_DIR);
	struct dirent *de;

	if (!dir) {
		return;
	}
	while ((de = readdir(dir))) {
		int fd = open_lock_entry(dir, de);

		if (fd < 0) {
			continue;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && still_named(dirfd(dir), de->d_name, fd)) {
			(void)unlinkat(dirfd(dir), de->d_name, 0);
		}
		close(fd);
	}
	closedir(dir);
}

int rv_ns_lock(const char *kind, const char *what, const char *name, int *out_fd)
{
	struct stat st;
	char path[128], pid[24];
	const char *base;
	int fd = -1, dirfd, ret, n;

	*out_fd = -1;
	ret = lock_path(path, sizeof(path), kind, name);
	if (ret) {
		/* Said here: the caller names the lock directory. */
		rv_warn(ret,
			"%s %s: cannot name its lock (this network namespace: "
			"/proc/self/ns/net)",
			what, name);
		return ret;
	}
	if (mkdir(RV_TUN_LOCK_DIR, 0700) < 0 && errno != EEXIST) {
		return -errno;
	}
	sweep_stale();
	dirfd = open(RV_TUN_LOCK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		return -errno;
	}
	base = path + strlen(RV_TUN_LOCK_DIR) + 1;
	for (int opens = 0;; opens++) {
		fd = openat(dirfd, base, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
			    0600);
		if (fd < 0) {
			ret = -errno;
			/* Something else put there (a directory, a link) while
			 * this process waited, or from the start. */
			rv_warn(ret, "%s %s: cannot open its lock %s", what, name, path);
			break;
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			/* A FIFO or device planted there: no lock of ours. */
			rv_warnx("%s %s: its lock %s is not a regular file", what, name, path);
			close(fd);
			fd = -1;
			ret = -EINVAL;
			break;
		}
		ret = ns_lock_wait(fd);
		if (ret || still_named(dirfd, base, fd)) {
			break;
		}
		close(fd);
		fd = -1;
		if (opens + 1 == LOCK_MAX_OPENS) {
			rv_warnx("%s %s: its lock %s was removed under this process %d times", what,
				 name, path, LOCK_MAX_OPENS);
			ret = -EBUSY;
			break;
		}
	}
	close(dirfd);
	if (fd < 0) {
		return ret;
	}
	if (ret) {
		if (ret == -EBUSY) {
			/* The PID the kernel names, in this PID namespace; the one
			 * written in the lock is the holder's own (1 in a
			 * container of its own). */
			bool stopping;
			long owner = rv_flock_holder(fd), own = lock_says(fd, &stopping);
			char who[96];

			if (owner > 0) {
				snprintf(who, sizeof(who), "process %ld", owner);
			} else if (own > 0) {
				snprintf(who, sizeof(who),
					 "another process (its lock says PID %ld, perhaps of "
					 "another PID namespace)",
					 own);
			} else {
				snprintf(who, sizeof(who), "another ringvpn process");
			}
			if (stopping) {
				rv_warnx("%s %s is in use by %s, still stopping after %u ms", what,
					 name, who, (unsigned)RV_TUN_CLAIM_WAIT_MS);
			} else {
				rv_warnx("%s %s is in use by %s%s", what, name, who,
					 owner > 0 ? " (another ringvpn?)" : "");
			}
		}
		close(fd);
		return ret;
	}
	/* Only a message aid: the lock itself is the flock, not this PID. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		rv_warn(-errno, "%s %s: cannot write the owner PID into %s", what, name, path);
	}
	*out_fd = fd;
	return 0;
}

bool rv_tun_foreign_owner(const char *name, const struct rv_rtnl_link *lk, char *why, size_t len)
{
	char who[64] = "";

	if (lk->have_owner && lk->owner != 0) {
		snprintf(who, sizeof(who), "the owner (uid %u)", (unsigned)lk->owner);
	}
	if (lk->have_group) {
		size_t n = strlen(who);

		snprintf(who + n, sizeof(who) - n, "%sthe group (gid %u)", n ? " and " : "",
			 (unsigned)lk->group);
	}
	if (!who[0]) {
		return false;
	}
	snprintf(why, len,
		 "TUN %s: %s of the persistent device may attach a queue of its own while "
		 "ringvpn runs, and read and write the tunnel's packets in the clear (give it "
		 "no owner or group: `ip tuntap del dev %s mode tun` and `ip tuntap add dev %s "
		 "mode tun multi_queue`, or let ringvpn make it)",
		 name, who, name, name);
	return true;
}

static bool holds_tun(const char *dir, const char *fd, void *arg);

bool rv_tun_unfit(const char *name, const struct rv_rtnl_link *lk, char *why, size_t len)
{
	char want[IFNAMSIZ], comm[64];
	long pid = 0;

	snprintf(want, sizeof(want), "%s", name);
	if (!lk->is_tun) {
		snprintf(why, len, "%s exists and is not a TUN device; choose another tun name",
			 name);
	} else if (lk->tun_info && lk->is_tap) {
		snprintf(why, len,
			 "%s is a TAP device; ringvpn needs a TUN device (choose another name)",
			 name);
	} else if (lk->tun_info && !lk->multi_queue && !lk->persist &&
		   rv_holder_find(holds_tun, want, true, &pid) == RV_HOLDER_LIVE) {
		/* Not persistent, it lives only while its process holds it
		 * (the kernel counts no queues of such a device): that
		 * process named, not the device blamed, at the start, -n and
		 * a reload (round-sixty-eight testers 303, 307). */
		rv_proc_comm(pid, comm, sizeof(comm));
		snprintf(why, len,
			 "TUN %s is held by another process, %ld (%s), as a device without "
			 "multi_queue, which goes when that process closes it; choose another "
			 "tun name",
			 name, pid, comm);
	} else if (lk->tun_info && !lk->multi_queue) {
		snprintf(why, len,
			 "%s is a TUN device without multi_queue; delete it or recreate it "
			 "with `ip tuntap add dev %s mode tun multi_queue`",
			 name, name);
	} else {
		return false;
	}
	return true;
}

/* check_kind: can a device that exists under our name become ours once no
 * queue is attached? Logs and returns -EEXIST when it never can. */
static int check_kind(const char *name, const struct rv_rtnl_link *lk)
{
	char why[256];

	if (rv_tun_unfit(name, lk, why, sizeof(why))) {
		rv_warnx("%s", why);
		return -EEXIST;
	}
	return 0;
}

/* holds_tun: is descriptor |fd| in /proc's |dir| (a process's or a
 * thread's "fd") a TUN queue of device |name|: the clone device (10:200)
 * under whatever path it was opened (a chroot's own node was passed over:
 * round-fifty-eight tester 242), its fdinfo's "iff:" the name? */
static bool holds_tun(const char *dir, const char *fd, void *arg)
{
	const char *name = arg;
	char path[320], buf[512], *p;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, fd);
	if (stat(path, &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 ||
	    minor(st.st_rdev) != 200) {
		return false;
	}
	snprintf(path, sizeof(path), "%sinfo/%s", dir, fd); /* .../fdinfo/N */
	if (rv_proc_read_path(path, buf, sizeof(buf)) <= 0 ||
	    (p = strstr(buf, "\niff:\t")) == NULL) {
		return false;
	}
	p += strlen("\niff:\t");
	return strncmp(p, name, strlen(name)) == 0 && p[strlen(name)] == '\n';
}

/* wait_unheld waits until no device |name| exists or it is an idle
 * persistent TUN device: for at most RV_TUN_CLAIM_WAIT_MS while a live
 * process may hold it, and up to RV_TUN_DYING_WAIT_MS while no process
 * this one can see does (a killed owner's queues, the kernel still
 * releasing them). */
static int wait_unheld(const char *name)
{
	uint64_t t0 = rv_now_ns(), waited_ms, look_ms = RV_TUN_CLAIM_WAIT_MS;
	struct rv_rtnl_link lk;
	enum rv_holder who = RV_HOLDER_LIVE;
	char want[IFNAMSIZ];
	bool slept = false;
	long pid = 0;
	int ret;

	snprintf(want, sizeof(want), "%s", name);
	for (;;) {
		ret = rv_rtnl_get_link(&lk, name);
		if (ret == -ENODEV) {
			break;
		}
		if (ret) {
			rv_warn(ret, "TUN %s: cannot look the device up", name);
			return ret;
		}
		ret = check_kind(name, &lk);
		if (ret) {
			return ret;
		}
		/* Without the kernel's queue count (Linux < 4.15) an existing
		 * device counts as held until it goes away. */
		if (lk.tun_info && lk.num_queues == 0) {
			break;
		}
		waited_ms = (rv_now_ns() - t0) / RV_NSEC_PER_MSEC;
		if (waited_ms >= look_ms) {
			enum rv_holder was = who;

			/* Looked at again each second: a live holder may
			 * come while the dead one's queues go. None is seen
			 * while a killed process's queues outlive it (the
			 * kernel tears its io_uring down: up to 2.8 s on a
			 * busy 2-core host, and a restart that waited 3 s
			 * blamed "another process": round-fifty-seven tester
			 * 241), nor a queue another process's ring or a
			 * socket's message in flight holds, nor one whose
			 * device moved here from another namespace (the
			 * holder's namespace is the one compared: README
			 * Limitations). */
			who = rv_holder_find(holds_tun, want, true, &pid);
			/* Said as of now: the look itself takes a while with
			 * many processes (tester 246). */
			waited_ms = (rv_now_ns() - t0) / RV_NSEC_PER_MSEC;
			look_ms = waited_ms + 1000;
			if (who == RV_HOLDER_LIVE) {
				char comm[64];

				rv_proc_comm(pid, comm, sizeof(comm));
				rv_warnx("TUN %s is held by another process, %ld (%s): %u "
					 "queue(s) attached after %llu ms, and it holds no "
					 "ringvpn's ownership lock",
					 name, pid, comm, lk.num_queues,
					 (unsigned long long)waited_ms);
				return -EBUSY;
			}
			if (waited_ms >= RV_TUN_DYING_WAIT_MS) {
				rv_warnx("TUN %s is held: %u queue(s) still attached after %llu ms "
					 "by no process this one %s",
					 name, lk.num_queues, (unsigned long long)waited_ms,
					 who == RV_HOLDER_UNSEEN
						 ? "may look at (some are hidden from it: another "
						   "user's, with /proc's hidepid or without "
						   "CAP_SYS_PTRACE, or another PID namespace's; or "
						   "one has threads of over 256 descriptor tables)"
						 : "can see (one of another PID namespace, a "
						   "ring's "
						   "registered file, or a device moved here from "
						   "another network namespace?)");
				return -EBUSY;
			}
			if (was == RV_HOLDER_LIVE) {
				rv_info("TUN %s: its %u queue(s) are still attached after %llu ms, "
					"by no process this one %s: a killed owner's, which the "
					"kernel is still releasing? Waiting up to %u s for them",
					name, lk.num_queues, (unsigned long long)waited_ms,
					who == RV_HOLDER_UNSEEN ? "may look at" : "can see",
					(unsigned)(RV_TUN_DYING_WAIT_MS / 1000));
			}
		}
		if (rv_sleep_ms(CLAIM_POLL_MS)) {
			return -EINTR;
		}
		slept = true;
	}
	if (slept) {
		waited_ms = (rv_now_ns() - t0) / RV_NSEC_PER_MSEC;
		rv_info("TUN %s: waited %llu ms for the previous owner's device to go away", name,
			(unsigned long long)waited_ms);
	}
	return 0;
}

int rv_tun_held(const char *name, unsigned own, char *why, size_t len)
{
	struct rv_rtnl_link lk;

	/* |own|: this process's device, renamed to |name| (its queues were
	 * said as another process's: tester 264); it goes with the process
	 * at a restart. */
	if (name == NULL || name[0] == '\0' || strchr(name, '%') != NULL ||
	    rv_rtnl_get_link(&lk, name) != 0 || !lk.tun_info || lk.num_queues == 0 ||
	    (own != 0 && lk.ifindex == own)) {
		return 0;
	}
	snprintf(why, len,
		 "TUN %s has %u queue(s) attached by another process (a start waits up to %u ms "
		 "for them to go, a killed owner's, then fails)",
		 name, lk.num_queues, (unsigned)RV_TUN_CLAIM_WAIT_MS);
	return 1;
}

int rv_tun_claim(const char *name, int *out_lock_fd)
{
	int ret, fd = -1;

	*out_lock_fd = -1;
	if (name == NULL || name[0] == '\0' || strchr(name, '%') != NULL) {
		return 0;
	}
	if (strlen(name) >= IFNAMSIZ || strchr(name, '/') != NULL) {
		return -EINVAL;
	}
	ret = rv_ns_lock("tun", "TUN", name, &fd);
	if (ret == -EBUSY || ret == -EINTR) {
		return ret;
	}
	if (ret) {
		rv_warn(ret,
			"TUN %s: no ownership lock in %s (continuing; a live owner is then "
			"recognised only after %u ms)",
			name, RV_TUN_LOCK_DIR, (unsigned)RV_TUN_CLAIM_WAIT_MS);
	}
	ret = wait_unheld(name);
	if (ret) {
		if (fd >= 0) {
			close(fd);
		}
		return ret;
	}
	*out_lock_fd = fd;
	return 0;
}

/* --- queues ---------------------------------------------------------------- */

static int tun_attach(const char *name, short flags, char *out_name, int *out_fd)
{
	struct ifreq ifr;
	int fd, ret;

	/* The clone device named when it is what failed (the queue's
	 * error read as if the device NAME were missing). */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EACCES) {
			struct stat st;

			/* CAP_NET_ADMIN does not open a device its mode keeps
			 * from this user (a unit's start on a 0600 node blamed
			 * CAP_NET_ADMIN alone: round-eighteen tester 84). */
			if (stat("/dev/net/tun", &st) == 0) {
				rv_warnx("/dev/net/tun: %s (mode %04o, owner %u:%u: not read-write "
					 "for uid %u, which may not override it; udev makes it "
					 "0666, or give it a group of this user's)",
					 strerror(-ret), (unsigned)(st.st_mode & 07777),
					 (unsigned)st.st_uid, (unsigned)st.st_gid,
					 (unsigned)geteuid());
				return ret;
			}
		}
		rv_warnx("/dev/net/tun: %s (%s)", strerror(-ret),
			 ret == -ENOENT ? "no TUN clone device here: modprobe tun, or give the "
					  "container /dev/net/tun"
					: "the TUN clone device cannot be opened");
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	if (name != NULL) {
		memcpy(ifr.ifr_name, name, strlen(name));
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		if (ret == -ENOTTY) {
			rv_warnx("/dev/net/tun is not the TUN clone device (TUNSETIFF: %s)",
				 strerror(-ret));
		}
		return ret;
	}
	memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
	out_name[IFNAMSIZ - 1] = '\0';
	*out_fd = fd;
	return 0;
}

int rv_tun_open(const char *name, bool vnet_hdr, bool create, char *out_name, int *out_fd)
{
	short flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet_hdr ? IFF_VNET_HDR : 0);
	bool adopted = false, restricted = false;
	int fd = -1, ret;

	if (name != NULL && strlen(name) >= IFNAMSIZ) {
		return -ENAMETOOLONG;
	}
	ret = tun_attach(name, create ? (short)(flags | IFF_TUN_EXCL) : flags, out_name, &fd);
	if (ret == -EBUSY && create) {
		/* The name exists: adopt it only if nobody holds it (an idle
		 * persistent device); never join somebody else's. */
		struct rv_rtnl_link lk;

		ret = rv_rtnl_get_link(&lk, name);
		if (ret == 0 && check_kind(name, &lk) == 0 && lk.tun_info && lk.num_queues == 0) {
			char why[512];

			ret = tun_attach(name, flags, out_name, &fd);
			adopted = true;
			restricted = lk.restricted;
			/* The administrator's choice, kept; but said (a user of
			 * the device's read the tunnel's packets, unsaid: round-
			 * forty tester 203). */
			if (ret == 0 && rv_tun_foreign_owner(name, &lk, why, sizeof(why))) {
				rv_warnx("%s", why);
			}
		} else if (ret == 0) {
			rv_warnx("TUN %s is held by another process (%u queue(s) attached); not "
				 "joining it",
				 name, lk.num_queues);
			ret = -EBUSY;
		}
	}
	if (ret) {
		return ret;
	}
	/* A TUN device without an owner or a group lets any process that may
	 * open /dev/net/tun (0666 on Debian) attach a queue of its own, read a
	 * share of the tunnel's packets and write packets that the host takes
	 * as the VPN's, from any client's address (a hostile tester). Owner
	 * root: attaching then takes root or CAP_NET_ADMIN, which the control
	 * thread keeps. A persistent device an administrator gave an owner or
	 * group keeps them. */
	if (create && !restricted) {
		/* Uid 0 of this user namespace; one that does not map it
		 * refuses (EINVAL): said, and the device stays as it was. */
		if (ioctl(fd, TUNSETOWNER, 0UL) < 0) {
			rv_warn(-errno,
				"TUN %s: cannot make root its owner (TUNSETOWNER): any process "
				"that "
				"may open /dev/net/tun here can attach a queue to it",
				out_name);
		} else if (adopted) {
			rv_info("TUN %s: the persistent device had no owner: root owns it now, so "
				"that no other user can attach a queue",
				out_name);
		}
	}
	if (vnet_hdr) {
		int sz = 10; /* struct virtio_net_hdr, no num_buffers */
		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	*out_fd = fd;
	return 0;
}

int rv_tun_set_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

/* An eBPF instruction, spelled out: the kernel's builder macros are not
 * part of its user-space headers. */
#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* KEY_WORD (three instructions): the packet's 32-bit word at |pkt_off|,
 * which a legacy load gives in host order, stored back in network order at
 * r10 + |stack_off|. */
#define KEY_WORD(pkt_off, stack_off)                                      \
	INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, (pkt_off)),               \
		INSN(BPF_ALU | BPF_END | BPF_TO_BE, BPF_REG_0, 0, 0, 32), \
		INSN(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_0, (stack_off), 0)

/* KEY_LAST_WORD (four instructions): KEY_WORD for the address's last word,
 * at r10 - 4, keeping it in host order in r8 too: the fallback lane. */
#define KEY_LAST_WORD(pkt_off)                                                 \
	INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, (pkt_off)),                    \
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_8, BPF_REG_0, 0, 0), \
		INSN(BPF_ALU | BPF_END | BPF_TO_BE, BPF_REG_0, 0, 0, 32),      \
		INSN(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_0, -4, 0)

/* MAP_LOOKUP (five instructions: the table's fd takes two): r0 = the value
 * under the key at r10 + |key_off| in the table |map_fd|, or 0. */
#define MAP_LOOKUP(map_fd, key_off)                                                 \
	INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, (map_fd)), \
		INSN(0, 0, 0, 0, 0),                                                \
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),     \
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, (key_off)),      \
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem)

/* load_prog loads |insns| as a socket filter; returns its fd or -errno. */
static int load_prog(const struct bpf_insn *insns, size_t cnt)
{
	union bpf_attr attr;
	int prog_fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)cnt;
	/* It calls no helper that needs a licence: an empty string. */
	attr.license = (uint64_t)(uintptr_t) "";
	prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	return prog_fd < 0 ? -errno : prog_fd;
}

int rv_tun_prog_by_size(unsigned n, unsigned small_max)
{
	/* r6 is the packet (struct __sk_buff; legacy loads want it there);
	 * r0 the queue, which the device takes modulo its queue count. The
	 * bulk queues are picked by the flow hash the stack gave the packet
	 * (a TCP socket's txhash), so one flow keeps one queue. A fragment
	 * is never small: through the last queue it overtook its datagram's
	 * first fragments, and a receiver drops an IPv4 datagram whose
	 * fragments come too far apart (ipfrag_max_dist). */
	const struct bpf_insn prog[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_6,
		     offsetof(struct __sk_buff, len), 0),
		INSN(BPF_JMP | BPF_JGT | BPF_K, BPF_REG_0, 0, 11, (int32_t)small_max), /* bulk */
		INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 0), /* version, IHL */
		INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_0, 0, 0, 4),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 4, 6),
		INSN(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, 6), /* MF, fragment offset */
		INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_0, 0, 0, 0x3fff),
		INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 5, 0),  /* bulk */
		INSN(BPF_JMP | BPF_JA, 0, 0, 2, 0),		      /* small */
		INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 6),	      /* IPv6 next header */
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 44), /* bulk */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, (int32_t)(n - 1)),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_6,
		     offsetof(struct __sk_buff, hash), 0),
		INSN(BPF_ALU | BPF_MOD | BPF_K, BPF_REG_0, 0, 0, (int32_t)(n - 1)),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	if (n < 2 || small_max > INT32_MAX) {
		return -EINVAL;
	}
	return load_prog(prog, sizeof(prog) / sizeof(prog[0]));
}

/* v4mapped writes |addr| as 16 bytes in network order, IPv4 as
 * ::ffff:a.b.c.d: the lane tables' keys, as the program builds them from the
 * packet. */
static void v4mapped(uint8_t out[16], const struct rv_ip_addr *addr)
{
	if (addr->family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, addr->a, 4);
	} else {
		memcpy(out, addr->a, 16);
	}
}

/* The networks' table is a longest-prefix-match trie: its key is the prefix
 * length in host order, then the address. */
struct net_key {
	uint32_t prefixlen;
	uint8_t addr[16];
};

static int map_new(uint32_t type, uint32_t key_size, unsigned max_entries)
{
	union bpf_attr attr;
	int map_fd;

	if (max_entries == 0) {
		return -EINVAL;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = key_size;
	attr.value_size = sizeof(uint32_t);
	attr.max_entries = max_entries;
	/* Memory for the entries there are (and the trie requires it). */
	attr.map_flags = BPF_F_NO_PREALLOC;
	map_fd = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	return map_fd < 0 ? -errno : map_fd;
}

int rv_tun_lanes_new(unsigned max_peers)
{
	return map_new(BPF_MAP_TYPE_HASH, 16, max_peers);
}

int rv_tun_nets_new(unsigned max_nets)
{
	return map_new(BPF_MAP_TYPE_LPM_TRIE, sizeof(struct net_key), max_nets);
}

int rv_tun_prog_by_lane(unsigned n, unsigned small_max, int hosts_fd, int nets_fd,
			bool small_queues)
{
	if (n < 2 || small_max > INT32_MAX || hosts_fd < 0 || nets_fd < 0) {
		return -EINVAL;
	}
	/* r6 the packet (legacy loads BPF_ABS want it there: big-endian
	 * reads of the IP header, turned back to network order for the keys;
	 * one past the end ends the program with 0), r7 1 for a small
	 * packet, r8 the destination's last word (the fallback lane). The
	 * address is on the stack at r10 - 16, the trie's prefix length in
	 * front of it at r10 - 20. A fragment is never small: through the
	 * other lane it overtook its datagram's first fragments, and a
	 * receiver drops an IPv4 datagram whose fragments come too far apart
	 * (ipfrag_max_dist). */
	const struct bpf_insn prog[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_1,
		     offsetof(struct __sk_buff, len), 0),
		INSN(BPF_JMP | BPF_JGT | BPF_K, BPF_REG_0, 0, 1, (int32_t)small_max),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, 1),
		INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 0), /* version, IHL */
		INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_0, 0, 0, 4),
		/* to the IPv6 branch, past 4 + 3 + 4 + 1 instructions */
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 12, 6),
		INSN(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, 6), /* MF, fragment offset */
		INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_0, 0, 0, 0x3fff),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 1, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -16, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -12, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -8, (int32_t)htonl(0xffff)),
		KEY_LAST_WORD(16),			    /* IPv4 daddr */
		INSN(BPF_JMP | BPF_JA, 0, 0, 16, 0),	    /* to the lookups, past 3 + 3 * 3 + 4 */
		INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 6), /* IPv6 next header */
		INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 1, 44), /* a fragment header */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, 0),
		KEY_WORD(24, -16), /* IPv6 daddr */
		KEY_WORD(28, -12),
		KEY_WORD(32, -8),
		KEY_LAST_WORD(36),
		/* the sessions' addresses; a hit goes to the lane, past 1 + 5 + 1 */
		MAP_LOOKUP(hosts_fd, -16),
		INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 7, 0),
		/* else the networks behind them, by longest prefix */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -20, 128),
		MAP_LOOKUP(nets_fd, -20),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 1, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_8, BPF_REG_0, 0, 0), /* the lane */
		INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_8, 0, 0),
		INSN(BPF_ALU | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0),
		INSN(BPF_ALU | BPF_MOD | BPF_K, BPF_REG_0, 0, 0, (int32_t)n),
		/* a small packet to the small queues, past the n bulk ones */
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_7, 0, 1, 0),
		INSN(BPF_ALU | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, small_queues ? (int32_t)n : 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	return load_prog(prog, sizeof(prog) / sizeof(prog[0]));
}

/* map_set puts |key| in |map_fd| at |lane|: 1 if the entry is new, 0 if it
 * was there (its lane replaced), -errno. */
static int map_set(int map_fd, const void *key, unsigned lane)
{
	uint32_t value = lane;
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = (uint64_t)(uintptr_t)key;
	attr.value = (uint64_t)(uintptr_t)&value;
	/* A new entry first, so that the caller can count them. */
	attr.flags = BPF_NOEXIST;
	if (syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof(attr)) == 0) {
		return 1;
	}
	if (errno != EEXIST) {
		return -errno;
	}
	attr.flags = BPF_EXIST;
	return syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof(attr)) < 0 ? -errno : 0;
}

/* map_clear takes |key| out of |map_fd|: 1 if it was there, 0 if not, -errno. */
static int map_clear(int map_fd, const void *key)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = (uint64_t)(uintptr_t)key;
	if (syscall(SYS_bpf, BPF_MAP_DELETE_ELEM, &attr, sizeof(attr)) == 0) {
		return 1;
	}
	return errno == ENOENT ? 0 : -errno;
}

int rv_tun_lane_set(int map_fd, const struct rv_ip_addr *addr, unsigned lane)
{
	uint8_t key[16];

	v4mapped(key, addr);
	return map_set(map_fd, key, lane);
}

int rv_tun_lane_clear(int map_fd, const struct rv_ip_addr *addr)
{
	uint8_t key[16];

	v4mapped(key, addr);
	return map_clear(map_fd, key);
}

static void net_key(struct net_key *k, const struct rv_prefix *net)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = net->len + (net->addr.family == AF_INET ? 96u : 0u);
	v4mapped(k->addr, &net->addr);
}

int rv_tun_net_set(int map_fd, const struct rv_prefix *net, unsigned lane)
{
	struct net_key k;

	net_key(&k, net);
	return map_set(map_fd, &k, lane);
}

int rv_tun_net_clear(int map_fd, const struct rv_prefix *net)
{
	struct net_key k;

	net_key(&k, net);
	return map_clear(map_fd, &k);
}

int rv_tun_steer(int fd, int prog_fd)
{
	/* The device holds its own reference to the program. */
	return ioctl(fd, TUNSETSTEERINGEBPF, &prog_fd) < 0 ? -errno : 0;
}

/* --- interface ------------------------------------------------------------- */

static int ifreq_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int s, ret = 0;

	if (strlen(ifname) >= IFNAMSIZ) {
		return -ENAMETOOLONG;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		return -errno;
	}
	memcpy(ifr->ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(s, req, ifr) < 0) {
		ret = -errno;
	}
	close(s);
	return ret;
}

int rv_tun_get_mtu(const char *ifname)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(ifname, SIOCGIFMTU, &ifr);
	return ret < 0 ? ret : ifr.ifr_mtu;
}

int rv_tun_set_mtu(const char *ifname, unsigned mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = (int)mtu;
	return ifreq_ioctl(ifname, SIOCSIFMTU, &ifr);
}

/* read_flag reads the first character of |path|: '0', '1', or 0 with
 * errno set when it cannot. */
static char read_flag(const char *path)
{
	char v = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &v, 1) != 1) {
			v = 0;
		}
		close(fd);
	}
	return v;
}

/* kernel_ipv6_off: does the kernel run without IPv6 (no /proc/sys/net/ipv6)? */
static bool kernel_ipv6_off(char *why, size_t why_len)
{
	int fd = open("/proc/sys/net/ipv6", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	snprintf(why, why_len, "this kernel runs without IPv6 (ipv6.disable=1, or none)");
	return true;
}

bool rv_host_ipv6_off(char *why, size_t why_len)
{
	if (kernel_ipv6_off(why, why_len)) {
		return true;
	}
	if (read_flag("/proc/sys/net/ipv6/conf/all/disable_ipv6") == '1') {
		snprintf(why, why_len,
			 "IPv6 is disabled on this host (net.ipv6.conf.all.disable_ipv6 = 1)");
		return true;
	}
	if (read_flag("/proc/sys/net/ipv6/conf/default/disable_ipv6") == '1') {
		snprintf(why, why_len,
			 "IPv6 is disabled on every new device of this host "
			 "(net.ipv6.conf.default.disable_ipv6 = 1)");
		return true;
	}
	return false;
}

bool rv_tun_ipv6_off(const char *ifname, char *why, size_t why_len)
{
	char path[96], v;
	struct ifreq ifr;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	v = read_flag(path);
	if (v == '0') {
		return false;
	}
	if (v == '1') {
		/* The setting that did it, which outlives the device (the
		 * per-device key named after `default` went with the TUN). */
		char host[160];

		if (rv_host_ipv6_off(host, sizeof(host))) {
			snprintf(why, why_len, "%s", host);
		} else {
			snprintf(why, why_len,
				 "IPv6 is disabled on %s (net.ipv6.conf.%s.disable_ipv6 = 1)",
				 ifname, ifname);
		}
		return true;
	}
	if (errno != ENOENT) {
		return false; /* cannot tell: as if on (the add then says why) */
	}
	if (kernel_ipv6_off(why, why_len)) {
		return true;
	}
	/* The kernel drops a device's whole IPv6 state, its conf directory
	 * with it, below 1280: that is no disable_ipv6 (a message said so). */
	memset(&ifr, 0, sizeof(ifr));
	if (ifreq_ioctl(ifname, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu < RV_IPV6_MIN_MTU) {
		snprintf(why, why_len,
			 "the MTU of %s is %d, below %u, the least IPv6 runs on (someone set it "
			 "so)",
			 ifname, ifr.ifr_mtu, (unsigned)RV_IPV6_MIN_MTU);
		return true;
	}
	snprintf(why, why_len, "%s has no IPv6 (no net.ipv6.conf.%s)", ifname, ifname);
	return true;
}

int rv_tun_no_router_solicitations(const char *ifname)
{
	char path[96];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/router_solicitations", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT ? 0 : -errno; /* no IPv6 on it: none sent */
	}
	if (write(fd, "0\n", 2) != 2) {
		ret = -errno;
	}
	close(fd);
	return ret;
}

int rv_tun_set_txqueuelen(const char *ifname, unsigned qlen)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_qlen = (int)qlen;
	return ifreq_ioctl(ifname, SIOCSIFTXQLEN, &ifr);
}

static int get_flags(const char *ifname, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	return ifreq_ioctl(ifname, SIOCGIFFLAGS, ifr);
}

int rv_tun_set_up(const char *ifname)
{
	struct ifreq ifr;
	int ret = get_flags(ifname, &ifr);

	if (ret < 0) {
		return ret;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ifreq_ioctl(ifname, SIOCSIFFLAGS, &ifr);
}

int rv_tun_is_up(const char *ifname)
{
	struct ifreq ifr;
	int ret = get_flags(ifname, &ifr);

	return ret < 0 ? ret : (ifr.ifr_flags & IFF_UP) != 0;
}

/* --- addresses and routes ------------------------------------------------- */

struct sync {
	const char *ifname;
	unsigned ifindex;
	const struct rv_prefix *want;
	size_t num_want;
	unsigned deleted;
	bool quiet; /* no line per entry deleted: the caller says it once */
	bool given; /* addresses: delete those wanted, not all the others */
};

static bool wanted(const struct sync *s, const struct rv_prefix *p)
{
	for (size_t i = 0; i < s->num_want; i++) {
		if (rv_prefix_equal(&s->want[i], p)) {
			return true;
		}
	}
	return false;
}

/* drop_addr removes a listed address that is not one of s->want (stale), or
 * with s->given one that is (the caller's own, at exit). */
static int drop_addr(void *ctx, const struct rv_rtnl_addr *a)
{
	struct sync *s = ctx;
	bool mine = wanted(s, &a->local) && rv_ip_addr_equal(&a->peer, &a->local.addr);
	char buf[64];
	int ret;

	/* IPv6 link-local addresses are the kernel's, not configuration. */
	if (s->given ? !mine
		     : mine || (a->local.addr.family == AF_INET6 && a->scope == RT_SCOPE_LINK)) {
		return 0;
	}
	ret = rv_rtnl_del_addr(s->ifindex, a);
	/* Deleting an IPv4 primary also deletes its subnet's secondaries
	 * (unless promote_secondaries is set): they may be gone already. */
	if (ret == -EADDRNOTAVAIL) {
		return 0;
	}
	if (ret) {
		rv_warn(ret, "%s: cannot remove address %s/%u", s->ifname,
			rv_ip_addr_str(&a->local.addr, buf, sizeof(buf)), a->local.len);
		return ret;
	}
	if (!s->quiet) {
		rv_info_rl("%s: removed stale address %s/%u", s->ifname,
			   rv_ip_addr_str(&a->local.addr, buf, sizeof(buf)), a->local.len);
	}
	s->deleted++;
	return 0;
}

static int drop_stale_route(void *ctx, const struct rv_prefix *dst)
{
	struct sync *s = ctx;
	char buf[64];
	int ret;

	if (wanted(s, dst)) {
		return 0;
	}
	ret = rv_rtnl_del_route(s->ifindex, dst, RV_TUN_RTPROT);
	if (ret == -ESRCH) {
		return 0;
	}
	if (ret) {
		rv_warn(ret, "%s: cannot remove route %s/%u", s->ifname,
			rv_ip_addr_str(&dst->addr, buf, sizeof(buf)), dst->len);
		return ret;
	}
	if (!s->quiet) {
		rv_info_rl("%s: removed stale route %s/%u", s->ifname,
			   rv_ip_addr_str(&dst->addr, buf, sizeof(buf)), dst->len);
	}
	s->deleted++;
	return 0;
}

/* drop_stale runs one listing (|addrs| or routes) until a pass deletes
 * nothing. */
static int drop_stale(struct sync *s, bool addrs)
{
	for (unsigned pass = 0; pass < SYNC_MAX_PASSES; pass++) {
		int ret;

		s->deleted = 0;
		ret = addrs ? rv_rtnl_list_addrs(s->ifindex, drop_addr, s)
			    : rv_rtnl_list_routes(s->ifindex, RV_TUN_RTPROT, drop_stale_route, s);
		if (ret) {
			if (s->deleted == 0) {
				rv_warn(ret, "%s: cannot list %s", s->ifname,
					addrs ? "addresses" : "routes");
			}
			return ret;
		}
		if (s->deleted == 0) {
			return 0;
		}
	}
	rv_warnx("%s: %s keep appearing; giving up after %u passes", s->ifname,
		 addrs ? "stale addresses" : "stale routes", (unsigned)SYNC_MAX_PASSES);
	return -EAGAIN;
}

static bool valid_prefixes(const struct rv_prefix *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned bits = p[i].addr.family == AF_INET ? 32 : 128;

		if ((p[i].addr.family != AF_INET && p[i].addr.family != AF_INET6) ||
		    p[i].len > bits) {
			return false;
		}
	}
	return true;
}

static int add_addrs(const char *ifname, unsigned ifindex, const struct rv_prefix *addrs,
		     size_t num_addrs)
{
	char buf[64];

	for (size_t i = 0; i < num_addrs; i++) {
		int ret = rv_rtnl_add_addr(ifindex, &addrs[i]);

		if (ret && ret != -EEXIST) {
			rv_warn(ret, "%s: cannot add address %s/%u", ifname,
				rv_ip_addr_str(&addrs[i].addr, buf, sizeof(buf)), addrs[i].len);
			return ret;
		}
	}
	return 0;
}

/* ifindex looks |ifname| up: 0 and its index, or -errno: ENODEV when there
 * is no such device, EMFILE when no socket could be had to ask. (glibc's
 * if_nametoindex leaves errno at ENOENT when its socket fails: out of
 * descriptors was said "No such file or directory", exit 14.) */
static int ifindex(const char *ifname, unsigned *idx)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(ifname, SIOCGIFINDEX, &ifr);
	*idx = ret ? 0 : (unsigned)ifr.ifr_ifindex;
	return ret;
}

/* probe_addr sets |out| to the |i|th address of |p| route_used asks the
 * kernel about: its first, then those at a half, a quarter and three
 * quarters of it, each also followed by the one after it (one of the
 * host's own addresses answers for itself, not for the network). False
 * when |p| is too small for an |i|th. */
static bool probe_addr(const struct rv_prefix *p, unsigned i, struct rv_ip_addr *out)
{
	/* The top two host bits set, the last bit set, and how many host
	 * bits that takes; in the order of that need. */
	static const struct {
		uint8_t top, last, need;
	} probes[] = { { 0, 0, 0 },    { 0, 1, 1 },    { 0x80, 0, 1 }, { 0x80, 1, 2 },
		       { 0x40, 0, 2 }, { 0xc0, 0, 2 }, { 0x40, 1, 3 }, { 0xc0, 1, 3 } };
	unsigned bits = p->addr.family == AF_INET ? 32 : 128;

	if (i >= ARRAY_SIZE(probes) || probes[i].need > bits - p->len) {
		return false;
	}
	*out = p->addr;
	for (unsigned b = 0; b < 2; b++) {
		if (probes[i].top & (0x80u >> b)) {
			unsigned bit = p->len + b;

			out->a[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
		}
	}
	out->a[bits / 8 - 1] |= probes[i].last;
	return true;
}

/* probe_next: from the |*i|th on, the first address probe_addr gives that
 * is not the unspecified one (no destination: a lookup of 0.0.0.0 fails,
 * EHOSTUNREACH, which refused a full tunnel's 0.0.0.0/1: round-sixteen
 * tester 76), |*i| left at it. False when there is none. */
static bool probe_next(const struct rv_prefix *p, unsigned *i, struct rv_ip_addr *out)
{
	for (; probe_addr(p, *i, out); (*i)++) {
		if (!rv_ip_addr_unspecified(out)) {
			return true;
		}
	}
	return false;
}

/* struct inside_walk gathers what rv_rtnl_list_other_routes finds inside
 * |net|, through another device (note_inside): the parts of a route of
 * ours (|addr| NULL), or of the network of a pool's address |addr|. At
 * most 4 lines a walk. */
struct inside_walk {
	const char *ifname;
	const struct rv_prefix *addr, *net;
	unsigned said;
};

static void say_pool_elsewhere(const struct inside_walk *o, const struct rv_prefix *dst,
			       const char *dev);

static int note_inside(void *ctx, const struct rv_prefix *dst, unsigned oif)
{
	struct inside_walk *o = ctx;
	char dev[32], n[64], d[64];

	/* Routes around the network (a default route, a 10.0.0.0/8 LAN
	 * around a 10.99.0.0/24 pool) yield to the longer one through the
	 * TUN: only what lies inside it takes a part away, and for a pool
	 * the network itself. */
	if (dst->addr.family != o->net->addr.family || dst->len < o->net->len ||
	    (!o->addr && dst->len == o->net->len) || !rv_prefix_contains(o->net, &dst->addr) ||
	    rv_prefix_link_local(dst) || o->said >= 4) {
		/* (a link's own: each device's fe80::/64 said as "a part"
		 * of a pushed 8000::/1 used up the four lines before the
		 * real parts, round-thirteen tester 61) */
		return 0;
	}
	rv_rtnl_dev_name(oif, dev, sizeof(dev));
	o->said++;
	if (o->addr) {
		say_pool_elsewhere(o, dst, dev);
		return 0;
	}
	rv_ip_addr_str(&o->net->addr, n, sizeof(n));
	rv_ip_addr_str(&dst->addr, d, sizeof(d));
	rv_warnx("%s: route %s/%u: a part of it (%s/%u) the host routes through %s", o->ifname, n,
		 o->net->len, d, dst->len, dev);
	return 0;
}

/* link_around says a network of a link of the host's that holds all of a
 * route of ours: the link's hosts with addresses in the route are reached
 * through the tunnel from then on, and their packets to this host are
 * answered into it. A site network carved out of the server's link to a
 * client cut that client off, unsaid (round-thirty-six tester 179). */
/* How many link_around said (rv_tun_links_around_said), on the control
 * thread, which alone installs routes. */
static unsigned links_around_said;

unsigned rv_tun_links_around_said(void)
{
	return links_around_said;
}

static int link_around(void *ctx, const struct rv_prefix *dst, unsigned oif)
{
	const struct inside_walk *o = ctx;
	char dev[32], n[64], d[64];

	if (dst->addr.family != o->net->addr.family || dst->len >= o->net->len ||
	    !rv_prefix_contains(dst, &o->net->addr) || rv_prefix_link_local(dst)) {
		return 0;
	}
	rv_rtnl_dev_name(oif, dev, sizeof(dev));
	rv_ip_addr_str(&o->net->addr, n, sizeof(n));
	rv_ip_addr_str(&dst->addr, d, sizeof(d));
	rv_warnx("%s: route %s/%u lies inside %s/%u, the network of the host's link %s: its hosts "
		 "there are reached through the tunnel from now on, and cannot reach this host "
		 "(the server's operator chooses a network outside the link's; a client refuses "
		 "pushed routes with accept_routes)",
		 o->ifname, n, o->net->len, d, dst->len, dev);
	links_around_said++;
	return -1; /* one line: the innermost link would do as well */
}

/* note_parts says each longer route of the main table through another
 * device inside |p| (at most 4): the lookup of one address of the network
 * missed every part that did not hold it (a tester: a /24 inside a site's
 * /16 went elsewhere, unsaid, on the server and on clients alike). */
static void note_parts(const char *ifname, unsigned ifindex, const struct rv_prefix *p)
{
	struct inside_walk w = { .ifname = ifname, .net = p };

	(void)rv_rtnl_list_other_routes(ifindex, note_inside, &w);
	(void)rv_rtnl_list_other_links(ifindex, link_around, &w);
}

/* struct same_walk finds a route of the main table to exactly |p| through
 * another device (same_elsewhere). */
struct same_walk {
	const struct rv_prefix *p;
	unsigned oif;
};

static int same_elsewhere(void *ctx, const struct rv_prefix *dst, unsigned oif)
{
	struct same_walk *w = ctx;

	if (rv_prefix_equal(dst, w->p)) {
		w->oif = oif;
		return -1; /* found: stop */
	}
	return 0;
}

/* route_used: after route |p| via the device was added (or the kernel said
 * one exists: EEXIST), does the host send |p|'s addresses through it? Not
 * when it routes the same network elsewhere (a route of its own, whatever
 * its metric: IPv4 refuses ours at the same one, and ours, at metric 0,
 * took the place of one at a higher metric without a word, round-thirteen
 * tester 59; IPv6 took ours beside it at 1024), when a routing
 * rule sends it to another table (the match is then shorter than ours,
 * through another device), or when it refuses it (a prohibit, blackhole
 * or unreachable rule or route): each is said. A longer route elsewhere
 * inside |p| takes only its part, which is said too (note_parts), and |p|
 * counts as used. Looks up the network's first address (`ip route get ...
 * fibmatch`), or another of its addresses when that is one of the host's
 * own; a lookup that fails otherwise counts as used. */
static bool route_used(const char *ifname, unsigned ifindex, const struct rv_prefix *p)
{
	char buf[64], dev[32];
	struct same_walk same = { .p = p };
	struct rv_ip_addr a;
	unsigned oif = 0, len = 0;
	bool host = true;
	int ret = 0;

	(void)rv_rtnl_list_other_routes(ifindex, same_elsewhere, &same);
	if (same.oif) {
		rv_ip_addr_str(&p->addr, buf, sizeof(buf));
		rv_rtnl_dev_name(same.oif, dev, sizeof(dev));
		rv_warnx("%s: route %s/%u not used: the host routes that network through %s (a "
			 "route of its own, whatever its metric; remove it, or leave the network "
			 "out)",
			 ifname, buf, p->len, dev);
		return false;
	}
	/* An answer about one of the host's own addresses says nothing of the
	 * network's route: IPv6's subnet-router anycast address, the network's
	 * first, is one on a forwarding host with an address in the network
	 * (a /128 that made the host's own /64 look like a part of it). Then
	 * another address of the network is asked. */
	for (unsigned i = 0; host && probe_next(p, &i, &a); i++) {
		ret = rv_rtnl_route_oif(&a, &oif, &len, &host);
	}
	rv_ip_addr_str(&p->addr, buf, sizeof(buf));
	if (host) {
		if (p->len < (p->addr.family == AF_INET ? 32u : 128u)) {
			return true; /* every address asked is the host's: cannot tell */
		}
		rv_warnx("%s: route %s/%u not used: the host's own address", ifname, buf, p->len);
		return false;
	}
	if (ret == -EACCES || ret == -EINVAL || ret == -ENETUNREACH || ret == -EHOSTUNREACH ||
	    (ret == 0 && oif == 0)) {
		rv_warnx("%s: route %s/%u not used: the host's routing refuses that network (a "
			 "prohibit, blackhole or unreachable rule or route)",
			 ifname, buf, p->len);
		return false;
	}
	if (ret != 0 || oif == ifindex || len > p->len) {
		note_parts(ifname, ifindex, p);
		return true;
	}
	rv_rtnl_dev_name(oif, dev, sizeof(dev));
	/* No route of the main table to it elsewhere (same_elsewhere): a
	 * rule took the lookup to another table (a route there of the same
	 * length was said to be "a route of its own": round-thirteen tester
	 * 61). */
	rv_warnx("%s: route %s/%u not used: the host routes that network through %s (a routing "
		 "rule to another table; remove it, or leave the network out)",
		 ifname, buf, p->len, dev);
	return false;
}

int rv_tun_route_elsewhere(const char *ifname, const struct rv_prefix *p, unsigned *out_oif)
{
	struct rv_rtnl_match m;
	struct rv_ip_addr a;
	unsigned idx;
	int ret = ifindex(ifname, &idx);

	*out_oif = 0;
	if (ret) {
		return ret;
	}
	/* The host's own addresses answer for themselves (::1 for ::/1, an
	 * address of the host's inside the network): the next is asked (one
	 * answer of the host's passed over the network: round-twenty-five
	 * tester 117). */
	for (unsigned i = 0; probe_next(p, &i, &a); i++) {
		if (rv_rtnl_route_match(&a, idx, &m) != 0) {
			return 0; /* cannot tell */
		}
		if (m.host) {
			continue;
		}
		/* A route to exactly the network, of the main table (a rule to
		 * another table may hold only for the host's own packets, `iif
		 * lo`: taken for the host's, ours went, and the clients' traffic
		 * forwarded through the TUN with it: tester 117), not through
		 * the device, or of several ways one not through it (a
		 * multipath route with the TUN first sent half the network out:
		 * tester 117). */
		if (m.oif == 0 || m.oif == idx || m.len != p->len || m.table != RT_TABLE_MAIN) {
			return 0;
		}
		*out_oif = m.oif;
		return 1;
	}
	return 0;
}

/* claim_route adds route |p| via |ifindex| (tagged RV_TUN_RTPROT) and keeps
 * it only where the host sends the network through it (route_used): one it
 * does not would lie in wait, and take the network over when the host's own
 * way goes (a link flap flushed the host's route, and ours, put back by the
 * TUN's repair, held the network for good: round-thirteen tester 59).
 * Returns 0, 1 when not used (said; none of ours left), or the netlink
 * error of the add; |*existed| (may be NULL): the kernel had the route
 * already (EEXIST), ours or another's. */
static int claim_route(const char *ifname, unsigned ifindex, const struct rv_prefix *p,
		       bool *existed)
{
	int ret = rv_rtnl_add_route(ifindex, p, RV_TUN_RTPROT);

	if (existed) {
		*existed = ret == -EEXIST;
	}
	if (ret != 0 && ret != -EEXIST) {
		return ret;
	}
	if (route_used(ifname, ifindex, p)) {
		return 0;
	}
	ret = rv_rtnl_del_route(ifindex, p, RV_TUN_RTPROT);
	if (ret != 0 && ret != -ESRCH && ret != -ENOENT) {
		char buf[64];

		rv_warn(ret, "%s: cannot take off its route %s/%u, which is not used", ifname,
			rv_ip_addr_str(&p->addr, buf, sizeof(buf)), p->len);
	}
	return 1;
}

static void say_pool_elsewhere(const struct inside_walk *o, const struct rv_prefix *dst,
			       const char *dev)
{
	char a[64], n[64];

	rv_ip_addr_str(&dst->addr, n, sizeof(n));
	rv_ip_addr_str(&o->addr->addr, a, sizeof(a));
	if (dst->len == o->net->len) {
		rv_warnx("%s: the network of its address %s/%u is this host's through %s: what "
			 "is sent to it does not enter the tunnel (choose a pool no link of the "
			 "host uses)",
			 o->ifname, a, o->addr->len, dev);
	} else {
		rv_warnx("%s: %s/%u, inside the network of its address %s/%u, is this host's "
			 "through %s: what is sent there does not enter the tunnel (choose a pool "
			 "no link of the host uses)",
			 o->ifname, n, dst->len, a, o->addr->len, dev);
	}
}

/* note_pools_elsewhere says each route through another device that lies
 * inside the network of one of |addrs| (a pool), or is it: the clients
 * given its addresses, and that link's hosts, were taken for one another,
 * silently (a hostile tester; one lookup of the network's first address
 * missed a link inside a /16 pool). At most 4 lines an address. */
static void note_pools_elsewhere(const char *ifname, unsigned idx, const struct rv_prefix *addrs,
				 size_t num_addrs)
{
	for (size_t i = 0; i < num_addrs; i++) {
		struct rv_prefix net = addrs[i];
		struct inside_walk o = { .ifname = ifname, .addr = &addrs[i], .net = &net };

		if (net.len >= (net.addr.family == AF_INET ? 32u : 128u)) {
			continue; /* set alone: no network */
		}
		rv_prefix_clear_host(&net);
		(void)rv_rtnl_list_other_routes(idx, note_inside, &o);
	}
}

/* struct foreign_walk marks those of |routes| (the first 64) whose bit
 * is in |of| and that a route through the device carries (note_route): of
 * ringvpn's in |ours|, of another's in |bits|. */
struct foreign_walk {
	const struct rv_prefix *routes;
	size_t num;
	uint64_t of, ours, bits;
	bool walk_ours;
};

static int note_route(void *ctx, const struct rv_prefix *dst)
{
	struct foreign_walk *w = ctx;

	for (size_t i = 0; i < w->num && i < 64; i++) {
		if (((w->of >> i) & 1) && rv_prefix_equal(dst, &w->routes[i])) {
			*(w->walk_ours ? &w->ours : &w->bits) |= 1ull << i;
		}
	}
	return 0;
}

int rv_tun_set_addrs_routes(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
			    const struct rv_prefix *routes, size_t num_routes, uint64_t *unused,
			    uint64_t *foreign)
{
	struct foreign_walk fw = { .routes = routes, .num = num_routes };
	struct sync s = { .ifname = ifname };
	char buf[64];
	int ret, stale;

	if (!valid_prefixes(addrs, num_addrs) || !valid_prefixes(routes, num_routes)) {
		return -EINVAL;
	}
	ret = ifindex(ifname, &s.ifindex);
	if (ret) {
		return ret;
	}
	/* New addresses go on before stale ones come off: the kernel flushes
	 * every IPv4 route through a device (an administrator's too) when its
	 * last IPv4 address goes. With promote_secondaries a new address in
	 * the stale one's subnet (a secondary) becomes primary when the stale
	 * primary is deleted instead of being deleted with it; should the
	 * setting be refused, the second add_addrs puts it back. */
	ret = rv_rtnl_set_ipv4_conf(s.ifindex, IPV4_DEVCONF_PROMOTE_SECONDARIES, 1);
	if (ret && ret != -EAFNOSUPPORT) {
		rv_debug("%s: promote_secondaries: %s", ifname, strerror(-ret));
	}
	s.want = addrs;
	s.num_want = num_addrs;
	ret = add_addrs(ifname, s.ifindex, addrs, num_addrs);
	/* Stale ones come off even when an add failed: a caller that tries
	 * again with the next set (a client reconnecting) would otherwise
	 * pile up one address per try. */
	stale = drop_stale(&s, true);
	if (!ret) {
		ret = stale;
	}
	if (!ret) {
		ret = add_addrs(ifname, s.ifindex, addrs, num_addrs);
	}
	if (ret) {
		return ret;
	}
	note_pools_elsewhere(ifname, s.ifindex, addrs, num_addrs);
	s.want = routes;
	s.num_want = num_routes;
	ret = drop_stale(&s, false);
	if (ret) {
		return ret;
	}
	for (size_t i = 0; i < num_routes; i++) {
		bool existed = false;

		ret = claim_route(ifname, s.ifindex, &routes[i], &existed);
		if (ret >= 0) {
			if (ret > 0 && unused && i < 64) {
				*unused |= 1ull << i;
			}
			if (ret == 0 && existed && i < 64) {
				fw.of |= 1ull << i;
			}
			continue;
		}
		if (ret) {
			rv_warn(ret, "%s: cannot add route %s/%u", ifname,
				rv_ip_addr_str(&routes[i].addr, buf, sizeof(buf)), routes[i].len);
			return ret;
		}
	}
	/* One an administrator put through the device in place of ours
	 * (the add found it: EEXIST, and ours is not there) serves, but it
	 * is not ours, and a client counted it installed without a word
	 * (round-sixty-five tester 271; the server's rv_tun_add_route says
	 * it). Ours beside one of another metric is ours, and one not used
	 * is none (both were counted twice, the sum going below zero:
	 * tester 277). Two looks for all: the EEXIST of ours at a re-apply
	 * too. */
	if (foreign && fw.of) {
		fw.walk_ours = true;
		(void)rv_rtnl_list_routes(s.ifindex, RV_TUN_RTPROT, note_route, &fw);
		fw.of &= ~fw.ours;
		fw.walk_ours = false;
		if (fw.of) {
			(void)rv_rtnl_list_routes_but(s.ifindex, RV_TUN_RTPROT, note_route, &fw);
		}
	}
	if (foreign) {
		*foreign = fw.bits;
	}
	return 0;
}

static int note_v4_route(void *ctx, const struct rv_prefix *dst)
{
	if (dst->addr.family == AF_INET) {
		*(bool *)ctx = true;
	}
	return 0;
}

/* is_persistent: |ifname| is a TUN device that outlives its owner. */
static bool is_persistent(const char *ifname)
{
	struct rv_rtnl_link lk;

	return rv_rtnl_get_link(&lk, ifname) == 0 && lk.tun_info && lk.persist;
}

bool rv_tun_withdraw(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
		     const char *who)
{
	bool kept4;

	if (!is_persistent(ifname)) {
		return false;
	}
	if (rv_tun_unset_addrs_routes(ifname, addrs, num_addrs, &kept4) != 0) {
		return true;
	}
	if (num_addrs == 0) {
		/* Nothing of this process's: a killed one's routes. */
		rv_info("TUN %s is persistent: ringvpn's routes on it removed (none of this %s's: "
			"it applied no configuration)",
			ifname, who);
	} else {
		rv_info("TUN %s is persistent: the routes this %s installed removed, and its "
			"address(es)%s",
			ifname, who,
			kept4 ? " but IPv4 (the device carries IPv4 routes of its own, which the "
				"kernel would take along with its last IPv4 address)"
			      : "");
	}
	return true;
}

int rv_tun_unset_addrs_routes(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
			      bool *kept4)
{
	struct sync s = { .ifname = ifname, .quiet = true };
	struct rv_prefix left[2];
	size_t n = 0;
	int ret, ret2;

	ret = ifindex(ifname, &s.ifindex);
	if (ret) {
		return ret;
	}
	/* The kernel flushes every IPv4 route through a device that loses
	 * its last IPv4 address: with another's there (an administrator's,
	 * proto boot or static, or a routing daemon's, bird, dhcp: any but
	 * ours and the kernel's own, round-seventeen tester 81), the IPv4
	 * addresses stay. */
	*kept4 = false;
	(void)rv_rtnl_list_routes_but(s.ifindex, RV_TUN_RTPROT, note_v4_route, kept4);
	for (size_t i = 0; i < num_addrs && n < ARRAY_SIZE(left); i++) {
		if (!(*kept4 && addrs[i].addr.family == AF_INET)) {
			left[n++] = addrs[i];
		}
	}
	/* Routes first: every ringvpn route (none wanted), then the
	 * addresses, whose going takes the kernel's connected routes. */
	ret = drop_stale(&s, false);
	s.want = left;
	s.num_want = n;
	s.deleted = 0;
	s.given = true;
	ret2 = rv_rtnl_list_addrs(s.ifindex, drop_addr, &s);
	if (ret2 && s.deleted == 0) {
		rv_warn(ret2, "%s: cannot list addresses", ifname);
	}
	return ret ? ret : ret2;
}

int rv_tun_set_gso_max_segs(const char *ifname, unsigned segs)
{
	unsigned idx;
	int ret = ifindex(ifname, &idx);

	return ret ? ret : rv_rtnl_set_gso_max_segs(idx, segs);
}

int rv_tun_set_fq_codel(const char *ifname, unsigned num_queues)
{
	unsigned idx;
	int ret = ifindex(ifname, &idx);

	if (ret) {
		return ret;
	}
	if (num_queues <= 1) {
		return rv_rtnl_replace_qdisc(idx, TC_H_ROOT, 0, "fq_codel");
	}
	/* mq at the root (handle 1:) and fq_codel under each of its classes
	 * 1:1 .. 1:n, one per TUN queue: no lock shared between workers. */
	ret = rv_rtnl_replace_qdisc(idx, TC_H_ROOT, TC_H_MAKE(1u << 16, 0), "mq");
	for (unsigned q = 1; ret == 0 && q <= num_queues; q++) {
		ret = rv_rtnl_replace_qdisc(idx, TC_H_MAKE(1u << 16, q), 0, "fq_codel");
	}
	return ret;
}

/* struct have notes which of |addrs| a device holds (bit i: addrs[i]). */
struct have {
	const struct rv_prefix *addrs;
	size_t num;
	uint64_t bits;
};

static int note_have(void *ctx, const struct rv_rtnl_addr *a)
{
	struct have *h = ctx;

	/* An IPv6 address is one whatever its length: held at another, the
	 * add fails (EEXIST) and announces as above (tester 267); an IPv4
	 * one at another length is another, and is added beside it. */
	for (size_t i = 0; i < h->num && i < 64; i++) {
		if ((rv_prefix_equal(&h->addrs[i], &a->local) ||
		     (a->local.addr.family == AF_INET6 &&
		      rv_ip_addr_equal(&h->addrs[i].addr, &a->local.addr))) &&
		    rv_ip_addr_equal(&a->peer, &a->local.addr)) {
			h->bits |= 1ull << i;
		}
	}
	return 0;
}

int rv_tun_add_missing(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
		       const struct rv_prefix *routes, size_t num_routes, unsigned *added,
		       uint64_t *unused, uint64_t *put)
{
	struct have have = { .addrs = addrs, .num = num_addrs };
	unsigned idx;
	int ret = ifindex(ifname, &idx);

	*added = 0;
	if (ret) {
		return ret;
	}
	/* Only the addresses it lacks: asked to add one it has (EEXIST), the
	 * kernel announces the device's multicast memberships anew, an MLD
	 * report into the TUN at each check, every 5 s, which the workers
	 * counted as link_scope drops on an idle server (round-sixty-four
	 * tester 266). Unlisted, all are asked, as before. */
	if (rv_rtnl_list_addrs(idx, note_have, &have) != 0) {
		have.bits = 0;
	}
	/* Addresses first: a route needs its device to have one. Then each
	 * address's own network, which the kernel adds with the address but
	 * an `ip route del` can take away alone (the address then stays, and
	 * re-adding it changes nothing); an address alone (/32, /128) has
	 * none, and one made for it was a repair of nothing, said. One
	 * failure does not stop the rest: the first is returned. */
	for (size_t i = 0; i < 2 * num_addrs + num_routes; i++) {
		int r;

		if (i >= num_addrs && i < 2 * num_addrs &&
		    addrs[i - num_addrs].len ==
			    (addrs[i - num_addrs].addr.family == AF_INET ? 32 : 128)) {
			continue;
		}
		if (i < num_addrs && i < 64 && (have.bits >> i) & 1) {
			continue;
		}
		r = i < num_addrs ? rv_rtnl_add_addr(idx, &addrs[i])
		    : i < 2 * num_addrs
			    ? rv_rtnl_add_prefix_route(idx, &addrs[i - num_addrs])
			    : rv_rtnl_add_route(idx, &routes[i - 2 * num_addrs], RV_TUN_RTPROT);
		/* A route put back is judged as when it was first added: the
		 * host may have a way of its own to the network now (one
		 * added at a higher metric, after ours was taken off), and
		 * ours would take the network from it (round-thirteen tester
		 * 61). */
		if (r == 0 && i >= 2 * num_addrs &&
		    !route_used(ifname, idx, &routes[i - 2 * num_addrs])) {
			size_t k = i - 2 * num_addrs;

			(void)rv_rtnl_del_route(idx, &routes[k], RV_TUN_RTPROT);
			if (unused && k < 64) {
				*unused |= 1ull << k;
			}
			continue;
		}
		if (r == 0) {
			(*added)++;
			if (put && i >= 2 * num_addrs && i - 2 * num_addrs < 64) {
				*put |= 1ull << (i - 2 * num_addrs);
			}
		} else if (r != -EEXIST && !ret) {
			ret = r;
		}
	}
	return ret;
}

/* same_through: same_elsewhere for a walk of one device's routes (no oif:
 * the device's own, noted as 1). */
static int same_through(void *ctx, const struct rv_prefix *dst)
{
	return same_elsewhere(ctx, dst, 1);
}

int rv_tun_add_route(const char *ifname, const struct rv_prefix *p)
{
	struct same_walk other = { .p = p };
	bool existed = false;
	unsigned idx;
	int ret = ifindex(ifname, &idx);

	if (ret) {
		return ret;
	}
	/* One of an administrator's through the device already: the add
	 * finds it (EEXIST) and it serves, but it is not ours, and was said
	 * as ours (round-sixty-two tester 253). Looked for only then: ours
	 * added beside one at another metric is ours (tester 255), and the
	 * look dumps the main tables. */
	ret = claim_route(ifname, idx, p, &existed);
	if (ret == 0 && existed) {
		(void)rv_rtnl_list_routes_but(idx, RV_TUN_RTPROT, same_through, &other);
	}
	return ret == 0 && other.oif ? 2 : ret;
}

int rv_tun_del_route(const char *ifname, const struct rv_prefix *p)
{
	unsigned idx;
	int ret = ifindex(ifname, &idx);

	if (ret) {
		return ret;
	}
	ret = rv_rtnl_del_route(idx, p, RV_TUN_RTPROT);
	return ret == -ESRCH || ret == -ENOENT ? 1 : ret;
}
