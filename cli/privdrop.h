/*
 * privdrop.h — least privilege for `ringvpn server` and `ringvpn client`.
 *
 * Order of calls (all on the control thread, the one that runs the loop):
 *
 *   rv_privdrop_early     at start, before any key is read: not dumpable, no
 *                         core files (keys must not reach a core dump, and
 *                         other processes of the same user cannot ptrace us)
 *   rv_privdrop_resolve   after the config is parsed: look up `user` and
 *                         `group` (NSS still works: seccomp is not on yet)
 *   rv_privdrop_apply     after the TUN device, sockets and TLS context are
 *                         set up: switch uid/gid, keep CAP_NET_ADMIN on this
 *                         thread only, empty the bounding set of everything
 *                         else, PR_SET_NO_NEW_PRIVS, and clear every
 *                         capability of every other thread (workers)
 *   rv_privdrop_tun_open  client: once its data plane runs (workers and TUN
 *                         queues exist, created on the first session):
 *                         drops CAP_DAC_OVERRIDE if it was kept (below) and
 *                         clears the new workers' capabilities
 *
 * A client opens /dev/net/tun only on its first session. Where that device
 * is not read-write for the user it drops to (some containers make it
 * 0600), its control thread keeps CAP_DAC_OVERRIDE until then.
 *
 * Capabilities are per thread: the uid switch clears those of threads that
 * did not ask to keep them (only this thread sets PR_SET_KEEPCAPS), but a
 * process started without root (systemd's User= with AmbientCapabilities=)
 * switches no uid, and threads created later copy the creator's sets. So
 * rv_privdrop_threads asks each other thread to drop its own with a signal
 * (capset(2) only changes the calling thread), then checks
 * /proc/self/task/TID/status. io_uring's kernel threads (iou-*) are skipped:
 * they take no signals and run requests with the submitter's credentials.
 */
#ifndef RV_CLI_PRIVDROP_H
#define RV_CLI_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/config.h"

struct rv_privdrop {
	bool keep_root;	    /* user = root: keep every privilege (not recommended) */
	bool switch_ids;    /* started as root: setresuid/setresgid to uid/gid */
	bool tun_needs_dac; /* /dev/net/tun is not read-write for uid/gid */
	bool shared_user;   /* nobody by default: other services' user too */
	uid_t uid;
	gid_t gid;
	char user[64];
	char group[64];
};

/* rv_privdrop_signals_root_only: should the process take its control
 * signals (INT, TERM, HUP, USR1) from root only? When it starts as root and
 * drops to a user others may share, in the initial user namespace (where
 * a sender's uid means what it says). */
bool rv_privdrop_signals_root_only(const struct rv_privdrop *pd);

/* rv_privdrop_in_my_groups: is |gid| this process's group or one of its
 * supplementary groups? */
bool rv_privdrop_in_my_groups(gid_t gid);

/* rv_privdrop_has_net_admin: does this thread hold CAP_NET_ADMIN in its
 * effective set (true when it cannot tell)? */
bool rv_privdrop_has_net_admin(void);

/* rv_privdrop_early makes the process non-dumpable and sets RLIMIT_CORE to
 * 0. Returns 0 or -errno. */
int rv_privdrop_early(void);

/* rv_privdrop_resolve fills |pd| from cfg->user and cfg->group: user default
 * "ringvpn" when that user exists, else "nobody"; group default the user's
 * primary group. A process not started as root keeps its ids (it cannot
 * switch), which is an error only if `user` names somebody else. Returns 0,
 * or -errno with a reason in |err|. */
int rv_privdrop_resolve(struct rv_privdrop *pd, const struct rv_config *cfg, char *err,
			size_t err_len);

/* rv_privdrop_apply drops to |pd| as described at the top. Must run on the
 * control thread after every privileged setup step; CAP_NET_ADMIN stays in
 * this thread's permitted and effective sets (the server changes TUN
 * addresses on reload, the client re-applies addresses and routes after a
 * reconnection). |tun_later|: the TUN device is opened after this call
 * (client), so CAP_DAC_OVERRIDE stays too when pd->tun_needs_dac, until
 * rv_privdrop_tun_open. Returns 0, or -errno with a reason in |err|. */
int rv_privdrop_apply(const struct rv_privdrop *pd, bool tun_later, char *err, size_t err_len);

/* rv_privdrop_tun_open is for a caller that passed |tun_later|: call it once
 * the TUN queues are open. Returns 0, or -errno with a reason in |err|. */
int rv_privdrop_tun_open(const struct rv_privdrop *pd, char *err, size_t err_len);

/* The bit of rv_privdrop_unreadable's mask that says the check could not
 * be made; the room for a blocking directory's name (a longer one is not
 * named). */
enum { RV_PRIVDROP_UNCHECKED = 1u << 7, RV_PRIVDROP_DIR_MAX = 512 };

/* rv_privdrop_unreadable: which of |paths| (at most 7; NULL or "" skipped)
 * the user of |pd| cannot open for reading (EACCES or EPERM), as a bit
 * mask (bit i for paths[i]), as a child process without capabilities
 * finds them: before rv_privdrop_apply (`-n`, as root) the child switches to
 * the user and group first, after it (|dropped|) it is that user. A process
 * that switches no ids reads as it did at the start: 0. RV_PRIVDROP_UNCHECKED
 * when the child could not be made or could not switch. |dirs| (NULL: not
 * wanted) has |n| entries: for each path in the mask, the first directory
 * on its way the user cannot search, symbolic links followed (then making
 * the file readable changes nothing), or "" when no such directory was
 * found (the file itself is the obstacle) or when it could not be told: a
 * bit in |*unnamed| (NULL: not wanted) says that (a name longer than
 * RV_PRIVDROP_DIR_MAX, a link that cannot be followed). */
unsigned rv_privdrop_unreadable(const struct rv_privdrop *pd, const char *const *paths, size_t n,
				bool dropped, char (*dirs)[RV_PRIVDROP_DIR_MAX], unsigned *unnamed);

/* rv_privdrop_threads clears every capability of every thread but the
 * caller (and io_uring's kernel threads), then verifies it. Returns 0, or
 * -errno with a reason in |err|. */
int rv_privdrop_threads(char *err, size_t err_len);

#endif /* RV_CLI_PRIVDROP_H */
