/*
 * holder.h — which other process holds something this one needs (a TUN
 * device's queue, a port), looked up in /proc for the messages of a start
 * that cannot have it.
 *
 * A look reads every process's descriptor tables: a start-up aid, never
 * on a hot path. Call it before the seccomp filter is installed (it uses
 * kcmp(2), which the filter does not allow; under the filter each thread's
 * table is taken for the leader's).
 */
#ifndef RV_URING_HOLDER_H
#define RV_URING_HOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* What can be told of a process that holds something. One whose state
 * cannot be told is waited for like one going away by the TUN lock's
 * wait (uring/tun.c): a killed process keeps its descriptors while the
 * kernel frees its memory, and /proc may hide it. */
enum rv_holder {
	RV_HOLDER_GOING,  /* exiting, stopping, or gone */
	RV_HOLDER_LIVE,	  /* none of those */
	RV_HOLDER_UNSEEN, /* its state cannot be told here */
};

/* rv_proc_read_path reads the start of |path| into |buf| (NUL-terminated):
 * its length, or -1 when it cannot (gone, hidden, no /proc). */
ssize_t rv_proc_read_path(const char *path, char *buf, size_t len);

/* rv_proc_read reads /proc/|pid|/|what| (rv_proc_read_path). */
ssize_t rv_proc_read(long pid, const char *what, char *buf, size_t len);

/* rv_proc_comm writes process |pid|'s command name into |out|, shown in
 * plain ASCII ("?" when it cannot be read). */
void rv_proc_comm(long pid, char *out, size_t len);

/* rv_pid_hidden: is process |pid| alive but hidden from this one by /proc
 * (mounted with hidepid=invisible, as the units' ProtectProc=invisible
 * does: a process this one may not trace, a ringvpn never dumpable, is not
 * listed)? */
bool rv_pid_hidden(long pid);

/* rv_pid_state: is process |pid| on its way out (gone, a zombie, exiting,
 * a SIGKILL pending), live, or hidden from this one (/proc mounted with
 * hidepid, no /proc)? */
enum rv_holder rv_pid_state(long pid);

/* A test of one descriptor: |dir| is a /proc "fd" directory (a process's
 * or a thread's), |fd| a name in it. */
typedef bool (*rv_holds_fn)(const char *dir, const char *fd, void *arg);

/* rv_holder_find looks through /proc for another process with a
 * descriptor |holds| accepts, of this network namespace alone when
 * |this_netns|: RV_HOLDER_LIVE with its PID in |*pid| when one is found
 * that is not on its way out; RV_HOLDER_GOING when none is;
 * RV_HOLDER_UNSEEN when some processes are hidden from this one (hidepid,
 * descriptors closed to it, no /proc) or one holding it is in a network
 * namespace closed to this one. */
enum rv_holder rv_holder_find(rv_holds_fn holds, void *arg, bool this_netns, long *pid);

/* rv_port_holder writes into |out| who holds a socket of |proto|
 * (IPPROTO_TCP or IPPROTO_UDP) bound to |sa|'s port on an address that
 * overlaps |sa|'s, in this thread's network namespace, for a bind there
 * that failed: "process 1234 (nc) of uid 0", "this process itself (...)",
 * or "a socket made by uid 0 that no process this one can see has open
 * (...)". The surest holder is named first: a socket on the very address,
 * then a wildcard of its family (and [::] for an IPv4 address unless the
 * kernel's socket diagnostics say it is IPV6_V6ONLY), then [::] not told
 * so, then a TCP connection (SO_REUSEADDR is told nowhere). False,
 * |out| empty, when no such socket is listed (no /proc). */
bool rv_port_holder(int proto, const struct sockaddr *sa, char *out, size_t len);

#endif
