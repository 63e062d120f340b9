/*
 * sandbox.h — the seccomp allowlist of `ringvpn server` and `ringvpn client`
 * (libseccomp). Installed once set-up is done (after rv_privdrop_apply) on
 * every thread at once (SECCOMP_FILTER_FLAG_TSYNC); threads created later
 * inherit it. It allows the system calls the control loop, the data-plane
 * workers, BoringSSL, glibc's resolver (the client resolves its server's
 * name on every connection attempt) and the coming inotify watch of the
 * CRL use, and:
 *   - socket(2) only for AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK;
 *   - clone(2) only for threads (CLONE_THREAD); clone3(2), whose flags a
 *     filter cannot read, fails with ENOSYS so glibc falls back to clone;
 *   - no execve, fork, ptrace, mount, module, bpf, keyctl, ... calls.
 * Any other call is trapped: a handler writes which system call it was to
 * stderr and the process dies of SIGSYS.
 *
 * Sanitizer builds (ASan, TSan) skip the filter: their runtimes need
 * ptrace, fork-like clones and more at exit.
 *
 * io_uring operations are not system calls: what a ring does (reads,
 * writes, sends, accepts, ...) is not filtered here (see the README's
 * threat model).
 */
#ifndef RV_CLI_SANDBOX_H
#define RV_CLI_SANDBOX_H

#include <stddef.h>

/* rv_sandbox_apply installs the filter on every thread of the process.
 * Returns 0, or -errno with a reason in |err|. */
int rv_sandbox_apply(char *err, size_t err_len);

#endif /* RV_CLI_SANDBOX_H */
