/*
 * privdrop.c — switching to an unprivileged user and shedding capabilities
 * (see privdrop.h for the order and the per-thread subtleties).
 */
#include "cli/privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/say.h"
#include "core/log.h"

/* capset(2) on the calling thread: permitted = effective = |keep| (a mask of
 * capabilities 0..31), inheritable = none. Raw syscall: async-signal-safe. */
static int set_caps(uint32_t keep)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	data[0].effective = keep;
	data[0].permitted = keep;
	return syscall(SYS_capset, &hdr, data) == 0 ? 0 : -errno;
}

bool rv_privdrop_has_net_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) != 0) {
		return true;
	}
	return data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

bool rv_privdrop_signals_root_only(const struct rv_privdrop *pd)
{
	unsigned long inner = 1, outer = 1, count = 0;
	FILE *f;
	bool initial;

	if (!pd->switch_ids) {
		return false; /* the units' user sends its own SIGHUP (ExecReload) */
	}
	/* In a user namespace (a userns-remapped container) a sender outside
	 * it, the runtime's root stopping the service, arrives as the
	 * overflow uid, like a stranger: the rule would turn docker stop
	 * into a SIGKILL (a round-two tester). Only the initial namespace
	 * maps every uid to itself. */
	f = fopen("/proc/self/uid_map", "re");
	initial = f && fscanf(f, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 &&
		  outer == 0 && count == 4294967295ul;
	if (f) {
		fclose(f);
	}
	return initial;
}

int rv_privdrop_early(void)
{
	struct rlimit no_core = { 0, 0 };

	/* Not dumpable: no core file with key material, and processes of the
	 * user we drop to cannot ptrace us or read /proc/PID/mem. The kernel
	 * would also clear it on the uid switch; this covers the time before
	 * and the `user = root` case. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0) {
		return -errno;
	}
	return 0;
}

/* in_my_groups: |gid| is this process's effective or a supplementary
 * group. */
bool rv_privdrop_in_my_groups(gid_t gid)
{
	int n = getgroups(0, NULL);
	gid_t *groups;
	bool in = getegid() == gid;

	if (in || n <= 0 || (groups = calloc((size_t)n, sizeof(*groups))) == NULL) {
		return in;
	}
	n = getgroups(n, groups);
	for (int i = 0; !in && i < n; i++) {
		in = groups[i] == gid;
	}
	free(groups);
	return in;
}

/* user_in_group: is |user| (primary group |pgid|) a member of |gid| by
 * the group database? */
static bool user_in_group(const char *user, gid_t pgid, gid_t gid)
{
	int n = 0;
	gid_t none, *groups;
	bool in = pgid == gid;

	/* The first call only counts them (-1, with |n| set). */
	getgrouplist(user, pgid, &none, &n);
	if (in || n <= 0 || (groups = calloc((size_t)n, sizeof(*groups))) == NULL) {
		return in;
	}
	if (getgrouplist(user, pgid, groups, &n) < 0) {
		n = 0;
	}
	for (int i = 0; !in && i < n; i++) {
		in = groups[i] == gid;
	}
	free(groups);
	return in;
}

int rv_privdrop_resolve(struct rv_privdrop *pd, const struct rv_config *cfg, char *err,
			size_t err_len)
{
	const char *user = cfg->user;
	struct passwd *pw;
	struct group *gr;
	gid_t admin_gid = 0;
	bool admin = false;

	memset(pd, 0, sizeof(*pd));
	/* The management socket's group, looked up here with the others: at
	 * `-n` and before the TUN is set up, not when the socket is made (an
	 * exit with the network's code once the tunnel was up). */
	if (cfg->admin_group[0]) {
		errno = 0;
		gr = getgrnam(cfg->admin_group);
		if (!gr) {
			snprintf(err, err_len, "admin_group '%s' does not exist", cfg->admin_group);
			return errno ? -errno : -ENOENT;
		}
		admin = true;
		admin_gid = gr->gr_gid;
		/* Started unprivileged (the units), the process can give the
		 * socket only to a group it is in (no CAP_CHOWN): the start
		 * failed with exit 9 blaming CAP_NET_ADMIN, and -n said OK (a
		 * hostile tester). */
		if (geteuid() != 0 && !rv_privdrop_in_my_groups(gr->gr_gid)) {
			snprintf(err, err_len,
				 "admin_group '%s': this process's user (uid %u) is not a member, "
				 "so the status socket cannot be given to it (usermod -aG %s "
				 "USER, or SupplementaryGroups=%s in the unit)",
				 cfg->admin_group, (unsigned)geteuid(), cfg->admin_group,
				 cfg->admin_group);
			return -EPERM;
		}
	}
	if (!user[0]) {
		user = getpwnam("ringvpn") ? "ringvpn" : "nobody";
	}
	pd->shared_user = !strcmp(user, "nobody");
	if (!strcmp(user, "root")) {
		pd->keep_root = true;
		snprintf(pd->user, sizeof(pd->user), "root");
		return 0;
	}
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, err_len, "user '%s' does not exist (set `user` to an existing one)",
			 user);
		return errno ? -errno : -ENOENT;
	}
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	snprintf(pd->user, sizeof(pd->user), "%s", user);
	/* Root gives the socket to any group before its drop; the units
	 * start as the user, who can give it only to a group of its own:
	 * said at -n as root, the operator's check (a round-two tester). */
	if (admin && geteuid() == 0 && !user_in_group(user, pw->pw_gid, admin_gid)) {
		rv_cli_say_warnf("admin_group '%s': user %s is not a member; started as "
				 "that user (the units) the start is refused (exit 16): usermod "
				 "-aG %s %s, or SupplementaryGroups=%s in the unit",
				 cfg->admin_group, user, cfg->admin_group, user, cfg->admin_group);
	}
	if (cfg->group[0]) {
		errno = 0;
		gr = getgrnam(cfg->group);
		if (!gr) {
			snprintf(err, err_len, "group '%s' does not exist", cfg->group);
			return errno ? -errno : -ENOENT;
		}
		pd->gid = gr->gr_gid;
		snprintf(pd->group, sizeof(pd->group), "%s", cfg->group);
		/* Group 0 owns much of a system (/etc/shadow's group on some,
		 * root's files generally): said (a round-four tester). */
		if (pd->gid == 0) {
			rv_cli_say_warnf(
				"group = %s: the process keeps group id 0 after "
				"the drop, and with it whatever that group may read or write; "
				"leave "
				"`group` unset (the user's own group) or name an unprivileged "
				"one",
				cfg->group);
		}
	} else {
		gr = getgrgid(pd->gid);
		/* A group without a name is named by its number, which the
		 * advice's chgrp takes too ("chgrp ?" could not work:
		 * round-seventeen tester 80). */
		if (gr != NULL) {
			snprintf(pd->group, sizeof(pd->group), "%s", gr->gr_name);
		} else {
			snprintf(pd->group, sizeof(pd->group), "%u", (unsigned)pd->gid);
		}
	}
	if (geteuid() == 0) {
		struct stat st;

		pd->switch_ids = true;
		/* Read-write for the user we become? (owner, group or other bits) */
		if (stat("/dev/net/tun", &st) == 0) {
			mode_t need = st.st_uid == pd->uid   ? S_IRUSR | S_IWUSR
				      : st.st_gid == pd->gid ? S_IRGRP | S_IWGRP
							     : S_IROTH | S_IWOTH;

			pd->tun_needs_dac = (st.st_mode & need) != need;
		}
		return 0;
	}
	/* Started unprivileged (systemd User=): nothing to switch to, unless
	 * the configuration asks for a user we are not. */
	if (cfg->user[0] && pd->uid != geteuid()) {
		snprintf(err, err_len, "cannot switch to user %s: not started as root", user);
		return -EPERM;
	}
	pd->uid = geteuid();
	pd->gid = getegid();
	return 0;
}

/* The bounding set limits what any exec could ever regain; only
 * CAP_NET_ADMIN stays. Needs CAP_SETPCAP, so it runs before the uid
 * switch; a process started without it (systemd already set the bounding
 * set) skips it. */
static int drop_bounding_set(uint32_t keep)
{
	for (int cap = 0; cap <= 63; cap++) {
		if ((cap < 32 && (keep & (1u << cap))) ||
		    prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) {
			continue;
		}
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			return -errno;
		}
	}
	return 0;
}

int rv_privdrop_apply(const struct rv_privdrop *pd, bool tun_later, char *err, size_t err_len)
{
	uint32_t keep = 1u << CAP_NET_ADMIN; /* both < 32: one word */
	int ret;

	if (pd->keep_root) {
		rv_warnx("user = root: keeping every privilege (not recommended)");
		return 0;
	}
	if (tun_later && pd->tun_needs_dac) {
		keep |= 1u << CAP_DAC_OVERRIDE;
		rv_info("/dev/net/tun is not read-write for user %s: keeping CAP_DAC_OVERRIDE "
			"until the TUN device is open",
			pd->user);
	}
	if (pd->switch_ids) {
		ret = drop_bounding_set(keep);
		if (ret) {
			snprintf(err, err_len, "cannot drop the capability bounding set: %s",
				 strerror(-ret));
			return ret;
		}
		/* Only this thread keeps its permitted set across the switch; glibc
		 * applies setgroups/setresgid/setresuid to every thread, and the
		 * kernel clears the capabilities of the others. */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(1, &pd->gid) != 0 ||
		    setresgid(pd->gid, pd->gid, pd->gid) != 0 ||
		    setresuid(pd->uid, pd->uid, pd->uid) != 0 ||
		    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
			ret = -errno;
			snprintf(err, err_len, "cannot switch to user %s, group %s: %s", pd->user,
				 pd->group, strerror(-ret));
			return ret;
		}
	}
	/* Ambient capabilities (systemd's AmbientCapabilities=) are cleared:
	 * nothing we could exec inherits them. */
	ret = set_caps(keep);
	if (ret == 0 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
		ret = -errno;
	}
	if (ret == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		ret = -errno;
	}
	if (ret) {
		snprintf(err, err_len, "cannot limit capabilities to CAP_NET_ADMIN: %s",
			 strerror(-ret));
		return ret;
	}
	ret = rv_privdrop_threads(err, err_len);
	if (ret) {
		return ret;
	}
	rv_info("running as user %s (uid %u), group %s (gid %u), CAP_NET_ADMIN on the control "
		"thread only",
		pd->user, (unsigned)pd->uid, pd->group, (unsigned)pd->gid);
	if (pd->shared_user && pd->switch_ids) {
		/* Any process of nobody's may kill or stop this one (the
		 * control signals it takes from root only, in the initial user
		 * namespace), limit it (prlimit), and read what group nogroup
		 * may (hostile testers). */
		rv_warnx("user nobody is shared with other services: their processes can kill, "
			 "stop (SIGKILL, SIGSTOP) or limit this one, and read the files its group "
			 "may; give "
			 "ringvpn a user of its own (useradd --system --no-create-home --shell "
			 "/usr/sbin/nologin ringvpn) or set `user`");
	}
	return 0;
}

/* Most paths rv_privdrop_unreadable takes: one bit each below
 * RV_PRIVDROP_UNCHECKED in the child's exit status. */
enum { MAX_PATHS = 7, MAX_LINKS = 40 /* the kernel's MAXSYMLINKS */ };
_Static_assert(1u << MAX_PATHS == RV_PRIVDROP_UNCHECKED, "a path's bit would be the flag's");

/* follow_link replaces the prefix buf[0..end) of the path in |buf|, a
 * symbolic link, by its target (relative to the link's directory), the rest
 * of the path kept. Returns false if it cannot (unreadable, too long). */
static bool follow_link(char *buf, size_t end)
{
	char tgt[PATH_MAX], out[PATH_MAX];
	size_t dir = 0, tl, rest = strlen(buf + end);
	char c = buf[end];
	ssize_t r;

	buf[end] = '\0';
	r = readlink(buf, tgt, sizeof(tgt));
	buf[end] = c;
	if (r <= 0 || (size_t)r >= sizeof(tgt)) {
		return false;
	}
	tl = (size_t)r;
	if (tgt[0] != '/') {
		/* The link's directory, slash included: "a/b/link" -> "a/b/". */
		for (size_t i = 0; i < end; i++) {
			dir = buf[i] == '/' ? i + 1 : dir;
		}
	}
	if (dir + tl + rest + 1 > sizeof(out)) {
		return false;
	}
	memcpy(out, buf, dir);
	memcpy(out + dir, tgt, tl);
	memcpy(out + dir + tl, buf + end, rest + 1);
	memcpy(buf, out, dir + tl + rest + 1);
	return true;
}

/* blocked_dir finds the first directory on the way to |path| that this
 * process cannot search and copies its name to |dir| (|dir_len| bytes), or
 * leaves |dir| "" if there is none or the name does not fit. A file the
 * user may read behind such a directory cannot be opened all the same, and
 * the advice to make the file readable changed nothing (a hostile tester:
 * a 0644 certificate in a 0700 directory). Symbolic links on the way, the
 * file's own included, are followed (as many as the kernel follows): the
 * directory that blocks the file may be on its target's path alone
 * (round-nine tester 45: the link's path was looked at, and the file's
 * advice given). Returns false when it cannot tell (a name that does not
 * fit, a link it cannot follow): the file's advice would be a guess there
 * (round-ten tester 47). Real and effective ids are the user's here, so
 * faccessat's real-id check is the user's, ACLs included.
 * Async-signal-safe: it runs in a forked child. */
static bool blocked_dir(const char *path, char *dir, size_t dir_len)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	int hops = 0;

	dir[0] = '\0';
	if (len >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, path, len + 1);
restart:
	len = strlen(buf);
	for (size_t i = 0; i <= len; i++) {
		/* "/" itself, each prefix before a slash, and the whole path */
		size_t end = i == 0 && buf[0] == '/' ? 1 : i;
		struct stat st;
		char c;

		/* Each directory once: "a//b" is "a/b". */
		if ((i < len && buf[i] != '/') || (i > 0 && buf[i - 1] == '/') ||
		    (i == 0 && buf[0] != '/')) {
			continue;
		}
		c = buf[end];
		buf[end] = '\0';
		if (lstat(buf, &st) != 0) {
			return false;
		}
		if (S_ISLNK(st.st_mode)) {
			buf[end] = c;
			if (hops++ < MAX_LINKS && follow_link(buf, end)) {
				goto restart;
			}
			return false;
		}
		if (i < len && S_ISDIR(st.st_mode) && faccessat(AT_FDCWD, buf, X_OK, 0) != 0 &&
		    errno == EACCES) {
			if (end >= dir_len) {
				return false;
			}
			memcpy(dir, buf, end + 1);
			return true;
		}
		buf[end] = c;
	}
	return true; /* none: the file itself */
}

/* What the checking child tells its parent through the pipe. */
struct answer {
	char dirs[MAX_PATHS][RV_PRIVDROP_DIR_MAX];
	uint8_t unnamed; /* a bit per path whose obstacle blocked_dir could not tell */
};

/* unreadable_here: the mask of rv_privdrop_unreadable, as this process's
 * user now, with the blocking directory of each path in |a|. Only
 * async-signal-safe calls: it runs in a forked child too. */
static unsigned unreadable_here(const char *const *paths, size_t n, struct answer *a)
{
	unsigned mask = 0;

	for (size_t i = 0; i < n && i < MAX_PATHS; i++) {
		int fd;

		if (!paths[i] || !paths[i][0]) {
			continue;
		}
		fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0) {
			close(fd);
		} else if (errno == EACCES || errno == EPERM) {
			mask |= 1u << i;
			if (!blocked_dir(paths[i], a->dirs[i], RV_PRIVDROP_DIR_MAX)) {
				a->unnamed |= (uint8_t)(1u << i);
			}
		}
	}
	return mask;
}

unsigned rv_privdrop_unreadable(const struct rv_privdrop *pd, const char *const *paths, size_t n,
				bool dropped, char (*dirs)[RV_PRIVDROP_DIR_MAX], unsigned *unnamed)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	struct answer found;
	int status = 0, fds[2];
	pid_t pid, got;

	_Static_assert(sizeof(found) <= PIPE_BUF, "the child's answer is written in one piece");
	memset(&found, 0, sizeof(found));
	for (size_t i = 0; dirs && i < n; i++) {
		dirs[i][0] = '\0';
	}
	if (unnamed) {
		*unnamed = 0;
	}
	if (pd->keep_root || !pd->switch_ids) {
		return 0;
	}
	/* The exit status carries the mask; the directories come through a
	 * pipe, written whole before the child exits (MAX_PATHS * 2 bytes,
	 * far below PIPE_BUF, so the write neither blocks nor splits) and
	 * read after waitpid. Non-blocking: a child another thread forked
	 * meanwhile may hold the write end too. A pipe that fails costs the
	 * directories only: each file is then said as unreadable itself. */
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		fds[0] = fds[1] = -1;
	}
	/* SIGCHLD ignored (inherited from a supervisor or a script) would
	 * reap the child before waitpid, and its answer with it. */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old);
	/* In a child, without any capability: a client's control thread may
	 * keep CAP_DAC_OVERRIDE until its TUN is open, which a reload does
	 * not have. */
	pid = fork();
	if (pid == 0) {
		unsigned mask;

		if (!dropped &&
		    (setgroups(1, &pd->gid) != 0 || setresgid(pd->gid, pd->gid, pd->gid) != 0 ||
		     setresuid(pd->uid, pd->uid, pd->uid) != 0)) {
			_exit(RV_PRIVDROP_UNCHECKED);
		}
		if (set_caps(0) != 0) {
			_exit(RV_PRIVDROP_UNCHECKED);
		}
		mask = unreadable_here(paths, n, &found);
		if (fds[1] >= 0) {
			/* A short write leaves the parent a short read: no
			 * directories, the mask still right. */
			ssize_t w = write(fds[1], &found, sizeof(found));

			(void)w;
		}
		_exit((int)mask);
	}
	if (fds[1] >= 0) {
		close(fds[1]);
	}
	do {
		got = pid > 0 ? waitpid(pid, &status, 0) : -1;
	} while (got < 0 && errno == EINTR);
	sigaction(SIGCHLD, &old, NULL);
	if (fds[0] >= 0) {
		if (got == pid && read(fds[0], &found, sizeof(found)) == (ssize_t)sizeof(found)) {
			for (size_t i = 0; dirs && i < n && i < MAX_PATHS; i++) {
				char real[PATH_MAX];

				/* Terminated whatever the child wrote; a relative
				 * link's "a/../b" said as the directory it is (every
				 * directory before it can be searched). */
				found.dirs[i][RV_PRIVDROP_DIR_MAX - 1] = '\0';
				memcpy(dirs[i], found.dirs[i], RV_PRIVDROP_DIR_MAX);
				if (found.dirs[i][0] && realpath(found.dirs[i], real) &&
				    strlen(real) < RV_PRIVDROP_DIR_MAX) {
					memcpy(dirs[i], real, strlen(real) + 1);
				}
			}
			if (unnamed) {
				*unnamed = found.unnamed;
			}
		}
		close(fds[0]);
	}
	return got == pid && WIFEXITED(status) ? (unsigned)WEXITSTATUS(status)
					       : RV_PRIVDROP_UNCHECKED;
}

int rv_privdrop_tun_open(const struct rv_privdrop *pd, char *err, size_t err_len)
{
	int ret;

	if (pd->keep_root) {
		return 0;
	}
	ret = set_caps(1u << CAP_NET_ADMIN);
	if (ret) {
		snprintf(err, err_len, "cannot limit capabilities to CAP_NET_ADMIN: %s",
			 strerror(-ret));
		return ret;
	}
	return rv_privdrop_threads(err, err_len);
}

/* --- other threads ----------------------------------------------------- */

/* The threads whose handler dropped (by id) and the count of those that
 * could not: each signalled thread is waited for until it is in the first
 * or gone. A thread that ended between its signal and its handler (the
 * client's resolver, whose lookup of "localhost" had just finished) ran
 * none, and the drop waited its full 5 s for it: the client came up 5 s
 * late, and a test's 10 s wait ran out on a busy machine. */
#define DROP_MAX_THREADS 1024
static _Atomic pid_t threads_done[DROP_MAX_THREADS];
static _Atomic unsigned threads_dropped, threads_failed;

/* Runs in the signalled thread: empty its capability sets. Only for this
 * process's own tgkill: the shared service user may send SIGRTMIN too, and
 * one to the control thread took its CAP_NET_ADMIN for good, silently (a
 * hostile tester; the next reload or reconnection then failed with EPERM). */
static void drop_caps_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)sig;
	(void)uc;
	if (si->si_code != SI_TKILL || si->si_pid != getpid()) {
		return;
	}
	if (set_caps(0) == 0 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
		unsigned i = atomic_fetch_add(&threads_dropped, 1);

		if (i < DROP_MAX_THREADS) {
			atomic_store(&threads_done[i], (pid_t)syscall(SYS_gettid));
		}
	} else {
		atomic_fetch_add(&threads_failed, 1);
	}
	errno = saved;
}

/* read_task_file reads /proc/self/task/|tid|/|name| into |buf|. */
static int read_task_file(pid_t tid, const char *name, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, name);
	f = fopen(path, "re");
	if (!f) {
		return -errno;
	}
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

/* thread_has_caps: does |tid| still hold any permitted, effective or
 * ambient capability? */
static bool thread_has_caps(pid_t tid)
{
	static const char *const sets[] = { "CapPrm:", "CapEff:", "CapAmb:" };
	char status[4096];

	int ret = read_task_file(tid, "status", status, sizeof(status));

	if (ret) {
		/* Gone (exited), or cannot tell: out of descriptors is no
		 * proof the drop worked. */
		return ret != -ENOENT && ret != -ESRCH;
	}
	for (size_t i = 0; i < 3; i++) {
		const char *p = strstr(status, sets[i]);

		if (p && strtoull(p + strlen(sets[i]), NULL, 16) != 0) {
			return true;
		}
	}
	return false;
}

/* thread_settled: has |tid| run drop_caps_handler, or ended? */
static bool thread_settled(pid_t tid, bool look)
{
	unsigned n = atomic_load(&threads_dropped);
	char comm[32];

	for (unsigned i = 0; i < n && i < DROP_MAX_THREADS; i++) {
		if (atomic_load(&threads_done[i]) == tid) {
			return true;
		}
	}
	return look && read_task_file(tid, "comm", comm, sizeof(comm)) == -ENOENT;
}

/* ask_threads signals every other thread to run drop_caps_handler, waits
 * for each to run it or end, and checks. */
static int ask_threads(char *err, size_t err_len)
{
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid(), tids[DROP_MAX_THREADS];
	bool settled[DROP_MAX_THREADS] = { false };
	unsigned sent = 0, left;
	struct dirent *de;
	DIR *d;

	atomic_store(&threads_dropped, 0);
	atomic_store(&threads_failed, 0);
	for (unsigned i = 0; i < DROP_MAX_THREADS; i++) {
		atomic_store(&threads_done[i], 0);
	}
	d = opendir("/proc/self/task");
	if (!d) {
		int e = errno;

		snprintf(err, err_len, "/proc/self/task: %s", strerror(e));
		return -e;
	}
	while ((de = readdir(d)) != NULL && sent < sizeof(tids) / sizeof(tids[0])) {
		pid_t tid = (pid_t)atoi(de->d_name);
		char comm[32];

		if (tid <= 0 || tid == self) {
			continue;
		}
		/* io_uring's io-wq and SQPOLL threads take no signals. */
		if (read_task_file(tid, "comm", comm, sizeof(comm)) == 0 &&
		    !strncmp(comm, "iou-", 4)) {
			continue;
		}
		/* EAGAIN: the user's RLIMIT_SIGPENDING is used up, which any
		 * process of a shared user can do; skipped, the thread kept
		 * every capability, unsaid (a round-four tester). ESRCH: it
		 * has just ended. */
		for (int tries = 0;; tries++) {
			struct timespec ms = { 0, 1000000 };

			if (syscall(SYS_tgkill, pid, tid, SIGRTMIN) == 0) {
				tids[sent++] = tid;
				break;
			}
			if (errno == ESRCH) {
				break;
			}
			if (errno != EAGAIN || tries == 200) {
				int e = errno;

				closedir(d);
				snprintf(err, err_len,
					 "thread %d cannot be asked to drop its capabilities: %s%s",
					 (int)tid, strerror(e),
					 e == EAGAIN ? " (the user's queued signals are at their "
						       "limit, RLIMIT_SIGPENDING: another process "
						       "of this user holds them)"
						     : "");
				return -EPERM;
			}
			nanosleep(&ms, NULL);
		}
	}
	closedir(d);
	/* Each handler runs as soon as its thread is scheduled (a worker in
	 * io_uring_enter returns -EINTR and carries on); whether a thread
	 * has ended is looked at every 10 ms. */
	left = sent;
	for (int i = 0; i < 5000 && left > 0 && !atomic_load(&threads_failed); i++) {
		struct timespec ms = { 0, 1000000 };

		for (unsigned k = 0; k < sent; k++) {
			if (!settled[k] && thread_settled(tids[k], i % 10 == 9)) {
				settled[k] = true;
				left--;
			}
		}
		if (left > 0) {
			nanosleep(&ms, NULL);
		}
	}
	for (unsigned i = 0; i < sent; i++) {
		if (thread_has_caps(tids[i])) {
			snprintf(err, err_len, "thread %d still holds capabilities", (int)tids[i]);
			return -EPERM;
		}
	}
	if (atomic_load(&threads_failed)) {
		snprintf(err, err_len, "%u thread(s) could not drop their capabilities",
			 atomic_load(&threads_failed));
		return -EPERM;
	}
	if (sent) {
		rv_debug("cleared the capabilities of %u other thread(s)", sent);
	}
	return 0;
}

int rv_privdrop_threads(char *err, size_t err_len)
{
	struct sigaction sa = { 0 }, ign = { 0 };
	int ret;

	sa.sa_sigaction = drop_caps_handler;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) != 0) {
		snprintf(err, err_len, "sigaction: %s", strerror(errno));
		return -errno;
	}
	ret = ask_threads(err, err_len);
	/* Ignored from now on: by its default action another user's SIGRTMIN
	 * would end the process. */
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	(void)sigaction(SIGRTMIN, &ign, NULL);
	return ret;
}
