/*
 * sc_fail.c — rvt_sc_fail: run a command on which the given system calls
 * fail with the given errno, as a host that refuses them would make them
 * (io_uring disabled by a sysctl or a container's seccomp profile, a task
 * limit refusing threads), without changing the host for anyone else.
 *
 *   rvt_sc_fail ERRNO NR[,NR...] -- CMD [ARGS...]
 *
 * x86-64 system call numbers (io_uring_setup 425, clone 56, clone3 435).
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

int main(int argc, char **argv)
{
	struct sock_filter f[4 + 2 * MAX_NRS];
	unsigned nrs[MAX_NRS], n = 0, k = 0;
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
		nrs[n++] = (unsigned)atoi(tok);
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
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						      SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA));
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
