/*
 * sandbox.c — the seccomp allowlist (see sandbox.h).
 */
#include "cli/sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/sched.h>
#include <seccomp.h>

#include "core/compiler.h"
#include "core/log.h"

/* Allowed without conditions, grouped by who needs them. Names the running
 * architecture does not have are skipped. */
static const char *const allowed[] = {
	/* memory (glibc, BoringSSL, buffer rings, thread stacks) */
	"brk",
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	"mlock",
	"munlock",
	"mincore",
	/* threads, signals, time */
	"futex",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"set_tid_address",
	"exit",
	"exit_group",
	"gettid",
	"getpid",
	"getppid",
	"tgkill",
	"tkill",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigtimedwait",
	"sigaltstack",
	"restart_syscall",
	"sched_yield",
	"sched_getaffinity",
	"sched_setaffinity",
	"getcpu",
	"nanosleep",
	"clock_nanosleep",
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"time",
	"prctl",
	"capget",
	"capset",
	"membarrier",
	/* identity and limits (read only) */
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getgroups",
	"getresuid",
	"getresgid",
	"getrlimit",
	"prlimit64",
	"uname",
	"sysinfo",
	"getrandom",
	"getcwd", /* realpath(3) of a relative path: the CRL watch's targets */
	/* files: config and certificates on reload, /proc, the status socket,
	 * TUN, the resolver's /etc files and NSS modules */
	"openat",
	"open",
	"openat2", /* the lease file made anew at its path (tls/leasefile.c) */
	"flock",
	"close",
	"close_range",
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"pwritev2", /* log lines: RWF_NOWAIT (core/log.c) */
	"lseek",
	"fstat",
	"newfstatat",
	"stat",
	"lstat",
	"statx",
	"fcntl",
	"ioctl",
	"getdents64",
	"unlink",
	"unlinkat",
	"access",
	"faccessat",
	"faccessat2",
	"readlink",
	"readlinkat",
	"getxattr", /* ACLs of the trust files at a reload (core/file.c) */
	"fgetxattr",
	"fchmod",
	"chmod",
	"fchmodat",
	"umask",
	/* the status socket made anew given its admin_group, as at the
	 * start (tls/mgmt.c; glibc's lchown is fchownat on some
	 * architectures): the kernel lets a process without CAP_CHOWN give
	 * its own file only a group it is a member of */
	"lchown",
	"fchownat",
	"mkdir",
	"mkdirat",
	"rename",
	"renameat",
	"renameat2",
	"fsync",
	"fdatasync",
	"ftruncate",
	"dup",
	"dup2",
	"dup3",
	"pipe",
	"pipe2",
	"eventfd2",
	"signalfd4",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"inotify_init1",
	"inotify_add_watch",
	"inotify_rm_watch",
	/* sockets (the family is checked in socket() below) */
	"socketpair",
	"bind",
	"listen",
	"accept",
	"accept4",
	"connect",
	"getsockname",
	"getpeername",
	"setsockopt",
	"getsockopt",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"shutdown",
	/* io_uring */
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
};

static const int socket_families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

/* bpf(): only updates of the tables made before the filter (a server's TUN
 * lanes); nothing can be loaded or created. */
static const int bpf_cmds[] = { BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM };

/* Sanitizer builds (RV_SANITIZE): LeakSanitizer stops the world at exit
 * from a cloned task that ptraces every thread, and the runtimes make
 * system calls of their own at unpredictable points; these test builds run
 * without the filter (rv_sandbox_apply says so). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RV_SANITIZER_RUNTIME 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RV_SANITIZER_RUNTIME 1
#endif
#endif

/* Writes "|prefix||n|\n" to stderr without stdio (signal context). */
static void write_num(const char *prefix, long n)
{
	char buf[96];
	size_t len = strlen(prefix), i;
	char digits[24];
	int nd = 0;

	if (len > sizeof(buf) - 26) {
		len = sizeof(buf) - 26;
	}
	memcpy(buf, prefix, len);
	if (n < 0) {
		buf[len++] = '-';
		n = -n;
	}
	do {
		digits[nd++] = (char)('0' + n % 10);
		n /= 10;
	} while (n && nd < (int)sizeof(digits));
	for (i = 0; nd > 0; i++) {
		buf[len++] = digits[--nd];
	}
	buf[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

/* A trapped system call: say which, then die of SIGSYS (SA_NODEFER lets the
 * re-raised signal take its default action from inside this handler). */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	struct sigaction dfl = { 0 };

	(void)uctx;
	write_num("ringvpn: seccomp: system call not allowed, killing the process: ",
		  si->si_syscall);
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSYS);
}

int rv_sandbox_apply(char *err, size_t err_len)
{
	struct sigaction sa = { 0 };
	scmp_filter_ctx ctx;
	int ret;

#ifdef RV_SANITIZER_RUNTIME
	(void)err;
	(void)err_len;
	(void)on_sigsys;
	rv_warnx("sanitizer build: the seccomp filter is off");
	return 0;
#endif
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		ret = -errno;
		snprintf(err, err_len, "seccomp: sigaction: %s", strerror(errno));
		return ret;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, err_len, "seccomp: out of memory");
		return -ENOMEM;
	}
	/* Every thread at once, and PR_SET_NO_NEW_PRIVS on each. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret == 0) {
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	}
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr != __NR_SCMP_ERROR && nr >= 0) {
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		}
	}
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(socket_families); i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket_families[i]));
	}
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(bpf_cmds); i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)bpf_cmds[i]));
	}
	if (ret == 0) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, (scmp_datum_t)CLONE_THREAD,
					       CLONE_THREAD));
	}
	if (ret == 0) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	}
	if (ret == 0) {
		ret = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	if (ret) {
		snprintf(err, err_len, "seccomp: cannot install the filter: %s", strerror(-ret));
		return ret;
	}
	return 0;
}
