/*
 * sc_fail.c — rvt_sc_fail: run a command on which the given system calls
 * fail with the given errno, as a host that refuses them would make them
 * (io_uring disabled by a sysctl or a container's seccomp profile, a task
 * limit refusing threads), without changing the host for anyone else.
 *
 *   rvt_sc_fail ERRNO NR[,NR...] -- CMD [ARGS...]
 *
 * x86-64 system call numbers (io_uring_setup 425, clone 56, clone3 435).
 * NR/I&MASK=VAL fails the call only when (argument I & MASK) == VAL, on
 * its low 32 bits: 426/3&9=1 is io_uring_enter with GETEVENTS (1) and
 * without EXT_ARG (8), the data plane's workers' wait and not the control
 * ring's, which waits with a timeout.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

enum { MAX_NRS = 16 };

struct rule {
	unsigned nr;
	int arg; /* -1: any arguments */
	unsigned mask, val;
};

int main(int argc, char **argv)
{
	struct sock_filter f[5 + 6 * MAX_NRS];
	struct rule rules[MAX_NRS];
	unsigned n = 0, k = 0;
	char *list, *tok, *save = NULL;
	int err;

	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: rvt_sc_fail ERRNO NR[,NR...] -- CMD [ARGS...]\n");
		return 2;
	}
	err = atoi(argv[1]);
	list = argv[2];
	for (tok = strtok_r(list, ",", &save); tok && n < MAX_NRS;
	     tok = strtok_r(NULL, ",", &save)) {
		struct rule *r = &rules[n++];

		r->arg = -1;
		if (sscanf(tok, "%u/%d&%i=%i", &r->nr, &r->arg, &r->mask, &r->val) != 4) {
			r->nr = (unsigned)atoi(tok);
			r->arg = -1;
		} else if (r->arg < 0 || r->arg > 5) {
			fprintf(stderr, "rvt_sc_fail: argument index %d\n", r->arg);
			return 2;
		}
	}
	/* Another architecture's calls are let through (this is a test
	 * helper for x86-64 hosts, not a sandbox). */
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < n; i++) {
		const struct rule *r = &rules[i];

		if (r->arg < 0) {
			f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, r->nr, 0,
							      1);
			f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
							      SECCOMP_RET_ERRNO |
								      (err & SECCOMP_RET_DATA));
			continue;
		}
		/* Past the argument's test the accumulator is reloaded with
		 * the call's number for the next rule. */
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, r->nr, 0, 5);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						      offsetof(struct seccomp_data, args) +
							      8 * r->arg);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, r->mask);
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, r->val, 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						      SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA));
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						      offsetof(struct seccomp_data, nr));
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	struct sock_fprog prog = { .len = (unsigned short)k, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("rvt_sc_fail: seccomp");
		return 1;
	}
	execvp(argv[4], argv + 4);
	perror("rvt_sc_fail: exec");
	return 127;
}
