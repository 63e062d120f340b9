/*
 * mgmt.c — the management socket (see core/mgmt.h for the protocol), served
 * asynchronously from the control ring: accept, read one request line,
 * check the caller's credentials, carry the request out, send the reply,
 * close. Up to MGMT_SLOTS requests are in progress at once; each has
 * MGMT_TIMEOUT_NS from its connect, and from each part of its reply its
 * caller reads (MGMT_REPLY_MAX_NS in all), so a caller that connects and
 * stalls costs a slot for a few seconds and never the loop's time.
 *
 * Access: the socket is created mode 0660, owned by admin_group when one is
 * configured (root's group otherwise). SO_PEERCRED / SO_PEERGROUPS tell who
 * is asking: root may do anything; admin_group members may read (status)
 * and, with admin_group_write, also change state (kick, rekey, reload,
 * log-level). Everything else is refused with an error reply and a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/file.h"
#include "core/log.h"
#include "core/mgmt.h"
#include "core/qsbr.h"
#include "core/status.h"
#include "core/strbuf.h"
#include "tls/internal.h"
#include "tls/slots.h"
#include "uring/dataplane.h"

enum {
	MGMT_SLOTS = 32,
	/* A request's deadline, and once its reply goes out, the longest
	 * its caller may read less than a send of it: a caller reading a
	 * large status slowly (a loaded machine) was cut at 5 s from its
	 * connect, and a cut reply ends as a whole one does (round-sixty-six
	 * tester 281). */
	MGMT_TIMEOUT_NS = 5 * RV_NSEC_PER_SEC,
	/* and the longest a reply may take, read as slowly as it may be */
	MGMT_REPLY_MAX_NS = 60 * RV_NSEC_PER_SEC,
	/* How often the socket's path is looked at (path_check). */
	MGMT_CHECK_NS = 5 * RV_NSEC_PER_SEC,
	/* A send's size is the socket buffer's grain, the part its caller
	 * must read before SIOCOUTQ falls: at 256 KB a reader of 7 KB a
	 * second looked idle (round-sixty-six tester 286). */
	MGMT_SEND_CHUNK = 16 * 1024,
	MAX_GROUPS = 64,
};

struct mgmt_conn {
	struct rv_slot slot; /* first: the table's (fd, generation, timer) */
	bool sending;
	bool may_read, may_write;
	uid_t uid;
	size_t req_len;
	char req[RV_MGMT_MAX_REQ + 1];
	/* The reply: its own words, then a status's rendering (shared with
	 * the requests of its format that waited with it: render.c), then
	 * the cut note and the end mark. */
	struct rv_strbuf reply;
	struct rv_render *body;
	struct rv_strbuf tail;
	struct rv_render_ask ask; /* a status waiting for its rendering */
	bool end_mark;
	size_t sent;
	uint64_t accepted_ns;
	int unread; /* SIOCOUTQ at the last look: what its caller has not read */
};

struct rv_mgmt {
	struct rv_slots slots;
	char path[108];
	dev_t dev; /* the socket file we bound, removed at exit if still ours */
	ino_t ino;
	bool have_group;
	gid_t admin_gid;
	bool said;		/* path_check's trouble said (until it ends) */
	struct rv_ltimer check; /* path_check */
	uint64_t requests, refused, malformed;
	struct mgmt_conn conns[MGMT_SLOTS];
};

static void conn_free(struct rv_slot *s)
{
	struct mgmt_conn *c = container_of(s, struct mgmt_conn, slot);

	rv_render_cancel(&c->ask);
	rv_render_put(c->body);
	c->body = NULL;
	rv_strbuf_free(&c->reply);
	rv_strbuf_free(&c->tail);
}

static const struct rv_slots_ops mgmt_slots_ops = {
	.name = "management",
	.accept_op = RV_OP_MGMT_ACCEPT,
	.cancel_op = RV_OP_MGMT_SEND,
	.release = conn_free,
	/* No busy reply: an operator's request waits for a free slot (silent
	 * callers are closed for it: slots.c) rather than fail. */
	.takes_reserve = true,
	.local = true,
};

/* ---- the socket -------------------------------------------------------- */

static const char *file_kind(mode_t mode)
{
	if (S_ISREG(mode)) {
		return "regular file";
	}
	if (S_ISDIR(mode)) {
		return "directory";
	}
	if (S_ISLNK(mode)) {
		return "symbolic link";
	}
	return "file that is not a socket";
}

/* peer_alive: is the process that listens on the socket |probe| connected
 * to still running? A process killed with -9 keeps its listening socket
 * (and so answers connect()) until the kernel has torn down its io_uring,
 * after the process itself is a zombie: a restart at once must not take
 * that for a running instance. True when it cannot tell. The peer's
 * credentials go to |*cr| (pid 0: unknown). */
static bool peer_alive(int probe, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (getsockopt(probe, SOL_SOCKET, SO_PEERCRED, cr, &len) != 0 || cr->pid <= 0) {
		cr->pid = 0;
		return true;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)cr->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return errno != ENOENT;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return true;
	}
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* clear_stale removes what a crashed instance left at |path|: a socket that
 * nobody answers on, or whose process is dead (one of a running instance
 * answers connect()). Anything else there is the operator's: a slip in
 * status_socket must not delete a config file, so it is refused. */
static int clear_stale(const char *path, const struct sockaddr_un *sun, char *err, size_t err_len)
{
	struct ucred cr;
	struct stat st;
	int probe, ret;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT) {
			return 0;
		}
		ret = -errno;
		snprintf(err, err_len, "status socket %s: %s", path, strerror(errno));
		return ret;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, err_len,
			 "status socket %s: a %s is there, which ringvpn will not replace (set "
			 "status_socket to another path)",
			 path, file_kind(st.st_mode));
		return -EEXIST;
	}
	/* Non-blocking: a listener whose backlog is full held the start in
	 * connect() for ever, SIGTERM unheard (round-twenty-six tester 124).
	 * A full backlog is a live listener, unless it is a process killed
	 * with -9 under load whose socket the kernel is still tearing down:
	 * three seconds at most for that. */
	ret = 0;
	for (int tries = 0;; tries++) {
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (probe < 0) {
			break;
		}
		ret = connect(probe, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ? 0 : -errno;
		if (ret != -EAGAIN || tries == 60) {
			break;
		}
		close(probe);
		usleep(50 * 1000);
	}
	if (probe >= 0 && ret == -EAGAIN) {
		close(probe);
		snprintf(err, err_len,
			 "status socket %s is in use by a running process that accepts no "
			 "connection (its backlog is full: another instance, stuck? set "
			 "status_socket to another path)",
			 path);
		return -EADDRINUSE;
	}
	if (probe >= 0 && ret == 0 && peer_alive(probe, &cr)) {
		/* Who holds it: another user's process was called "a running
		 * instance" (round-twenty-six tester 121). */
		if (cr.pid > 0) {
			snprintf(err, err_len,
				 "status socket %s is in use by a running process (pid %d, uid "
				 "%u: another instance? set status_socket to another path)",
				 path, (int)cr.pid, (unsigned)cr.uid);
		} else {
			snprintf(err, err_len,
				 "status socket %s is in use by a running process (another "
				 "instance? set status_socket to another path)",
				 path);
		}
		close(probe);
		return -EADDRINUSE;
	}
	if (probe >= 0) {
		close(probe);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, err_len, "cannot remove the stale status socket %s: %s", path,
			 strerror(errno));
		return ret;
	}
	return 0;
}

/* listener binds a listening socket at |sun|'s path, mode 0660 and of
 * the admin group when one is set, and records the file it made. Returns
 * the socket, or -errno; |*group_failed| says whether giving it the group
 * failed (the socket was made, and removed again). */
static int listener(struct rv_mgmt *m, const struct sockaddr_un *sun, bool *group_failed)
{
	const char *path = sun->sun_path;
	struct stat st;
	mode_t old;
	int fd, ret;

	*group_failed = false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -errno;
	}
	old = umask(0117); /* 0660 */
	ret = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	if (ret) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (listen(fd, 64) != 0) {
		ret = -errno;
	} else if (m->have_group &&
		   /* lchown: a link put in the socket's place (in a directory
		    * the service user may write) is not followed to a file of
		    * its choosing. */
		   lchown(path, (uid_t)-1, m->admin_gid) != 0) {
		ret = -errno;
		*group_failed = true;
	}
	if (ret) {
		unlink(path); /* ours: bind made it */
		close(fd);
		return ret;
	}
	/* The file bind made (fstat of the socket would give the socket's
	 * inode, not the file's). */
	if (lstat(path, &st) == 0) {
		m->dev = st.st_dev;
		m->ino = st.st_ino;
	}
	return fd;
}

/* say_path_trust warns when others may replace the socket at |path|: a
 * user who owns a directory on the way can rename the socket aside and
 * bind one of their own, and root's `ringvpn kick` then got "kicked" from
 * an impostor while the session went on (a round-four tester). Said at the
 * start and when the socket is made anew (a directory opened to everyone
 * meanwhile was unsaid: round-seventy-one tester 329). */
static void say_path_trust(struct rv_loop *l, const char *path)
{
	char why[PATH_MAX + 64];

	/* The service user's own directory (the units' RuntimeDirectory) is
	 * no stranger's, unless other services share that user (nobody): then
	 * it is, before the privilege drop and after it (made anew after the
	 * drop, a socket in nobody's directory went unsaid: round-seventy-one
	 * tester 333). */
	uid_t self = l->p.service_shared ? 0 : geteuid() == 0 ? l->p.service_uid : geteuid();

	if (rv_path_stranger(path, self, why, sizeof(why))) {
		rv_warnx("status socket %s: %s, who can put a socket of their own in its place "
			 "and answer `status`, `kick` and `reload` in this process's name",
			 path, why);
	} else if (rv_dir_everyones(path, true, l->p.service_shared ? 0 : l->p.service_gid, why,
				    sizeof(why))) {
		rv_warnx("status socket %s: %s: who may write there can put a socket of their "
			 "own in its place, and answer `status`, `kick` and `reload` in this "
			 "process's name (use a directory of root's, such as /run/ringvpn)",
			 path, why);
	}
}

int rv_mgmt_open(struct rv_loop *l, char *err, size_t err_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = l->cfg->status_socket;
	struct rv_mgmt *m;
	bool group_failed;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, err_len, "status socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	rv_slots_init(&m->slots, &mgmt_slots_ops, m->conns, MGMT_SLOTS, sizeof(m->conns[0]));
	l->mgmt = m;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (l->cfg->admin_group[0]) {
		struct group *g = getgrnam(l->cfg->admin_group);

		if (!g) {
			snprintf(err, err_len, "admin_group '%s': no such group",
				 l->cfg->admin_group);
			return -EINVAL;
		}
		m->admin_gid = g->gr_gid;
		m->have_group = true;
	}
	strcpy(sun.sun_path, path);
	ret = clear_stale(path, &sun, err, err_len);
	if (ret) {
		return ret;
	}
	fd = listener(m, &sun, &group_failed);
	if (fd < 0) {
		snprintf(err, err_len, "cannot set up status socket %s: %s", path, strerror(-fd));
		return fd;
	}
	say_path_trust(l, path);
	m->slots.listen_fd = fd;
	return 0;
}

void rv_mgmt_free(struct rv_loop *l)
{
	struct rv_mgmt *m = l->mgmt;

	if (!m) {
		return;
	}
	/* Called after the ring is gone (or never existed): nothing is in
	 * flight any more. */
	if (m->slots.listen_fd >= 0) {
		struct stat st;

		/* Only our own socket: another instance may have replaced it. */
		/* After the privilege drop its directory may not be the
		 * service user's to write: said, not silently left (round-
		 * forty tester 201). */
		if (lstat(m->path, &st) == 0 && st.st_dev == m->dev && st.st_ino == m->ino &&
		    unlink(m->path) != 0 && errno != ENOENT) {
			rv_info("status socket %s left in place: %s (its directory is not the "
				"service user's to write; the next start replaces it)",
				m->path, strerror(errno));
		}
	}
	rv_loop_disarm(l, &m->check);
	rv_slots_free(&m->slots);
	free(m);
	l->mgmt = NULL;
}

/* ---- one request ------------------------------------------------------- */

static uint64_t cud(struct rv_loop *l, const struct mgmt_conn *c, enum rv_op op)
{
	return rv_slots_udata(&l->mgmt->slots, &c->slot, op);
}

static void conn_close(struct rv_loop *l, struct mgmt_conn *c)
{
	rv_slots_close(l, &l->mgmt->slots, &c->slot);
}

/* unread: how much of what was sent on |c| its caller has not read yet
 * (the socket's send queue, in the kernel's accounting); -1: unknown. */
static int unread(const struct mgmt_conn *c)
{
	int n;

	return ioctl(c->slot.fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

/* reply_len: the whole reply's length, its three parts'. */
static size_t reply_len(const struct mgmt_conn *c)
{
	return c->reply.len + (c->body ? c->body->text.len : 0) + c->tail.len;
}

/* reply_at returns where the reply's byte |off| is, and in |*left| how
 * many bytes of its part follow (0: the reply is all sent). */
static const char *reply_at(const struct mgmt_conn *c, size_t off, size_t *left)
{
	const struct rv_strbuf *parts[3] = { &c->reply, c->body ? &c->body->text : NULL, &c->tail };

	for (int i = 0; i < 3; i++) {
		if (parts[i] && off < parts[i]->len) {
			*left = parts[i]->len - off;
			return parts[i]->p + off;
		}
		off -= parts[i] ? parts[i]->len : 0;
	}
	*left = 0;
	return NULL;
}

static void on_timeout(struct rv_loop *l, struct rv_ltimer *lt);
static void send_more(struct rv_loop *l, struct mgmt_conn *c);

/* reply_rearm gives |c| MGMT_TIMEOUT_NS more, within MGMT_REPLY_MAX_NS of
 * its connect. */
static void reply_rearm(struct rv_loop *l, struct mgmt_conn *c)
{
	uint64_t until = l->now_ns + MGMT_TIMEOUT_NS;

	if (until > c->accepted_ns + MGMT_REPLY_MAX_NS) {
		until = c->accepted_ns + MGMT_REPLY_MAX_NS;
	}
	rv_loop_arm(l, &c->slot.timer, on_timeout, until);
}

static void on_timeout(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct mgmt_conn *c = container_of(lt, struct mgmt_conn, slot.timer);
	int now = c->sent > 0 ? unread(c) : -1;

	/* Read from since the last look: a send completes only once its
	 * caller has freed most of the socket's buffer (some 150 KB), and a
	 * steady reader of less than that in 5 s was cut (round-sixty-six
	 * tester 284). */
	if (now >= 0 && now < c->unread && l->now_ns < c->accepted_ns + MGMT_REPLY_MAX_NS) {
		c->unread = now;
		reply_rearm(l, c);
		return;
	}

	if (c->sent > 0) {
		rv_warnx_rl("management reply (uid %u) cut after %zu of %zu bytes: its caller "
			    "read less than %u KB of it in %u s, or it took %u s: closed",
			    (unsigned)c->uid, c->sent, reply_len(c),
			    (unsigned)MGMT_SEND_CHUNK / 1024,
			    (unsigned)(MGMT_TIMEOUT_NS / RV_NSEC_PER_SEC),
			    (unsigned)(MGMT_REPLY_MAX_NS / RV_NSEC_PER_SEC));
	} else if (c->ask.next) {
		/* Told to its caller too, as the metrics endpoint's 503 is: a
		 * close unanswered was said by the CLI as a server stopping
		 * (round-seventy-one tester 329). */
		rv_render_cancel(&c->ask);
		rv_warnx_rl("management status (uid %u) not rendered within %u s: the control "
			    "thread's render budget was spent (renderings may take half of its "
			    "time): answered with an error",
			    (unsigned)c->uid, (unsigned)(MGMT_TIMEOUT_NS / RV_NSEC_PER_SEC));
		rv_strbuf_printf(&c->reply,
				 "error: the status was not rendered within %u s: renderings of "
				 "it took their share of the server's control thread (half of "
				 "its time) for other requests; ask again\n",
				 (unsigned)(MGMT_TIMEOUT_NS / RV_NSEC_PER_SEC));
		reply_rearm(l, c);
		send_more(l, c);
		return;
	} else {
		rv_warnx_rl("management request (uid %u) not completed within %u s: closed",
			    (unsigned)c->uid, (unsigned)(MGMT_TIMEOUT_NS / RV_NSEC_PER_SEC));
	}
	conn_close(l, c);
}

static void arm_recv(struct rv_loop *l, struct mgmt_conn *c)
{
	if (l->io.recv(l->io.ctx, c->slot.fd, c->req + c->req_len, sizeof(c->req) - c->req_len,
		       cud(l, c, RV_OP_MGMT_RECV))) {
		conn_close(l, c);
		return;
	}
	c->slot.inflight++;
}

static void send_more(struct rv_loop *l, struct mgmt_conn *c)
{
	size_t left;
	const char *p = reply_at(c, c->sent, &left);

	if (left == 0) {
		conn_close(l, c);
		return;
	}
	if (l->io.send(l->io.ctx, c->slot.fd, p, left > MGMT_SEND_CHUNK ? MGMT_SEND_CHUNK : left,
		       cud(l, c, RV_OP_MGMT_SEND))) {
		conn_close(l, c);
		return;
	}
	c->slot.inflight++;
	c->sending = true;
	rv_slots_progress(l, &c->slot);
}

/* credentials records who is asking and what they may do. */
static void credentials(struct rv_loop *l, struct mgmt_conn *c)
{
	struct rv_mgmt *m = l->mgmt;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[MAX_GROUPS], *more = NULL;
	socklen_t glen = sizeof(groups);
	bool member = false;
	int ret;

	c->uid = (uid_t)-1;
	if (getsockopt(c->slot.fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		return;
	}
	c->uid = cred.uid;
	if (cred.uid == 0) {
		c->may_read = c->may_write = true;
		return;
	}
	if (m->have_group) {
		member = cred.gid == m->admin_gid;
		ret = member ? 0 : getsockopt(c->slot.fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen);

		/* More groups than the array holds (a directory's users often
		 * have): the kernel says how many, and they are asked again (a
		 * member of 70 groups was refused: round-forty tester 197). */
		if (!member && ret != 0 && errno == ERANGE && glen > sizeof(groups) &&
		    (more = malloc(glen)) != NULL) {
			ret = getsockopt(c->slot.fd, SOL_SOCKET, SO_PEERGROUPS, more, &glen);
		}
		for (size_t i = 0; !member && ret == 0 && i < glen / sizeof(gid_t); i++) {
			member = (more ? more : groups)[i] == m->admin_gid;
		}
		free(more);
	}
	c->may_read = member;
	c->may_write = member && l->cfg->admin_group_write;
}

int rv_mgmt_fill_status(struct rv_loop *l, struct rv_status *st)
{
	unsigned nw = l->dp ? rv_dataplane_num_workers(l->dp) : 0;

	snprintf(st->state, sizeof(st->state), "%s", l->stopping ? "stopping" : "running");
	st->uptime_s = (l->now_ns - l->started_ns) / RV_NSEC_PER_SEC;
	snprintf(st->tun, sizeof(st->tun), "%s", l->dp ? rv_dataplane_tun_name(l->dp) : "-");
	st->tun_state = rv_tunwatch_state(l, st->tun_now, sizeof(st->tun_now));
	st->have_tun_drops = l->dp && rv_dataplane_tun_drops(l->dp, &st->tun_drops) == 0;
	st->connections = l->num_chans;
	st->hs_timeouts = l->handshake_timeouts;
	st->slow_readers = l->slow_readers;
	st->reloads = l->reloads;
	st->reload_partial = l->reload_partial;
	st->reload_failures = l->reload_failures;
	st->qsbr_pending = rv_qsbr_pending(l->env.qsbr);
	st->demux_entries = rv_demux_count(l->env.demux);
	st->tun_lanes = -1; /* the server's report says otherwise */
	rv_watch_fill(l, st);
	rv_http_fill(l, st);
	rv_render_fill(l, st);
	if (nw) {
		st->workers = calloc(nw, sizeof(*st->workers));
		if (!st->workers) {
			return -ENOMEM;
		}
		st->num_workers = nw;
	}
	/* One snapshot per worker; the total is their sum, so it agrees with
	 * the worker lines and the kernel is asked once per socket. */
	memset(&st->total, 0, sizeof(st->total));
	for (unsigned w = 0; w < nw; w++) {
		struct rv_status_worker *out = &st->workers[w];
		struct rv_counters ctr;
		struct rv_gauges g;

		rv_dataplane_counters(l->dp, w, &ctr);
		rv_dataplane_gauges(l->dp, w, &g);
		for (int i = 0; i < RV_CTR_MAX; i++) {
			out->ctr[i] = rv_ctr_get(&ctr, (enum rv_counter)i);
			st->total.ctr[i] += out->ctr[i];
		}
		for (int d = 0; d < RV_DROP_MAX; d++) {
			out->drop[d] = rv_drop_get(&ctr, (enum rv_drop_reason)d);
			st->total.drop[d] += out->drop[d];
		}
		for (int q = 0; q < RV_GAUGE_MAX; q++) {
			out->gauge[q] = rv_gauge_get(&g, (enum rv_gauge)q);
			if (!rv_gauge_peak((enum rv_gauge)q)) {
				st->total.gauge[q] += out->gauge[q];
			} else if (out->gauge[q] > st->total.gauge[q]) {
				st->total.gauge[q] = out->gauge[q];
			}
		}
	}
	return l->role->report(l, st);
}

/* on_rendered answers a status with its rendering |r|. */
static void on_rendered(struct rv_loop *l, struct rv_render_ask *a, struct rv_render *r)
{
	struct mgmt_conn *c = container_of(a, struct mgmt_conn, ask);

	if (r->err) {
		rv_strbuf_printf(&c->reply, "error: out of memory\n");
	} else {
		rv_strbuf_printf(&c->reply, "ok\n");
		c->body = rv_render_get(r);
	}
	if (c->body && c->body->text.truncated) {
		/* Past the rendering's bound, which leaves it the room: the
		 * note was refused with the rest (round-sixty-six tester 281). */
		rv_strbuf_printf(&c->tail, "\n" RV_MGMT_CUT_NOTE "%zu bytes)\n",
				 c->reply.len + c->body->text.len);
	}
	if (!r->err && c->end_mark) {
		rv_strbuf_printf(&c->tail, "%s", RV_MGMT_END_LINE);
	}
	send_more(l, c);
}

/* ask_status asks for the rendering a status request wants: now, or when
 * the render budget allows (render.c); answered by on_rendered. */
static void ask_status(struct rv_loop *l, struct mgmt_conn *c, const struct rv_mgmt_req *req)
{
	c->end_mark = req->end_mark;
	c->ask.format = (int)req->format;
	/* Its "ok" line and the cut note fit within RV_MGMT_MAX_REPLY. */
	c->ask.max = RV_MGMT_MAX_REPLY - RV_MGMT_CUT_NOTE_MAX - strlen("ok\n");
	c->ask.done = on_rendered;
	rv_render_request(l, &c->ask);
}

/* rekey_reply says what the |n| sessions asked for a new epoch found: not
 * every request starts an exchange now, and one made while another waits
 * adds none (each was "started": six in 0.6 s made two exchanges, a script
 * counting rekeys was misled: round-twenty-five tester 111). */
static void rekey_reply(struct rv_strbuf *out, unsigned n, const unsigned asked[RV_CTL_REKEY_KINDS])
{
	rv_strbuf_printf(out, "ok\nrekey asked of %u session(s)\n", n);
	if (asked[RV_CTL_REKEY_NOW]) {
		rv_strbuf_printf(out, "%u start(s) now\n", asked[RV_CTL_REKEY_NOW]);
	}
	if (asked[RV_CTL_REKEY_BUSY]) {
		rv_strbuf_printf(out,
				 "%u finish the key exchange in flight first (a peer that never "
				 "does is disconnected after dead_peer_timeout)\n",
				 asked[RV_CTL_REKEY_BUSY]);
	}
	if (asked[RV_CTL_REKEY_LATER]) {
		rv_strbuf_printf(out,
				 "%u start(s) when allowed: %u ms after the last exchange, and a "
				 "client at most %u a minute\n",
				 asked[RV_CTL_REKEY_LATER], (unsigned)RV_CTL_MIN_REKEY_MS,
				 (unsigned)RV_CTL_OWN_REKEYS_PER_MIN);
	}
	if (asked[RV_CTL_REKEY_JOINED]) {
		rv_strbuf_printf(out,
				 "%u had one asked already that has not started: this request "
				 "joins it (one exchange for both)\n",
				 asked[RV_CTL_REKEY_JOINED]);
	}
}

static void execute(struct rv_loop *l, struct mgmt_conn *c, const struct rv_mgmt_req *req)
{
	struct rv_chan *ch;
	unsigned n, asked[RV_CTL_REKEY_KINDS];
	bool had;

	switch (req->cmd) {
	case RV_MGMT_KICK:
		if (l->role != &rv_server_role) {
			/* It said "no session named" of the session its status
			 * lists (a tester). */
			rv_strbuf_printf(&c->reply, "error: kick ends a client's session on a "
						    "server; this is a client (stop it to end its "
						    "session)\n");
			break;
		}
		ch = rv_server_find(l, req->name);
		/* Or its connection waiting for HELLO, which status lists (it
		 * was "no session named": a hostile tester). */
		ch = ch ? ch : rv_server_find_waiting(l, req->name);
		if (!ch || !ch->ctl) {
			rv_strbuf_printf(&c->reply, "error: no session named %s\n", req->name);
			break;
		}
		had = rv_ctl_peer_session(ch->ctl) != NULL;
		rv_info("client %s (%s): kicked by uid %u", ch->name, ch->peer_str,
			(unsigned)c->uid);
		rv_server_end(l, ch, RV_CTL_CODE_KICKED, "kicked by the operator");
		/* A connection without a session is closed, not counted as a
		 * session kicked (round-fourteen tester 69). */
		rv_strbuf_printf(&c->reply, "ok\nkicked %s: %s\n", req->name,
				 had ? "session, keys and addresses released"
				     : "its connection closed before its HELLO (no session)");
		break;
	case RV_MGMT_REKEY:
		n = rv_loop_rekey(l, req->name[0] ? req->name : NULL, asked);
		if (n == 0 && req->name[0]) {
			rv_strbuf_printf(&c->reply, "error: no matching session\n");
		} else if (n == 0) {
			/* Nothing to do is done (a scheduled rekey of an idle
			 * server must not fail). */
			rv_strbuf_printf(&c->reply, "ok\nno session to rekey\n");
		} else {
			rekey_reply(&c->reply, n, asked);
		}
		break;
	case RV_MGMT_RELOAD: {
		struct rv_strbuf log = { .max = 1024 * 1024 };

		if (rv_reload(l, &log) == 0) {
			rv_strbuf_printf(&c->reply, "ok\n%s", rv_strbuf_str(&log));
		} else {
			rv_strbuf_printf(&c->reply, "error: reload refused, nothing changed\n%s",
					 rv_strbuf_str(&log));
		}
		rv_strbuf_free(&log);
		break;
	}
	case RV_MGMT_LOG_LEVEL:
		rv_log_set_level((enum rv_log_level)req->level);
		rv_info("log level set to %s by uid %u", rv_mgmt_level_name(req->level),
			(unsigned)c->uid);
		rv_strbuf_printf(&c->reply, "ok\nlog level %s\n", rv_mgmt_level_name(req->level));
		break;
	default:
		rv_strbuf_printf(&c->reply, "error: unsupported command\n");
		break;
	}
}

/* requester_gone: has the other end closed its connection altogether? The
 * CLI shuts down only its sending side after the request (POLLRDHUP here)
 * and closes when it stops waiting for the reply (POLLHUP: a Unix socket
 * reports it once both directions are shut). A request whose asker gave up
 * (ringvpn reload or kick against a stopped or stuck process: it said it
 * failed) must not be carried out later as if nothing had happened. But a
 * caller may also send and close at once (`echo reload | nc -U -q0`) and
 * mean it: so it counts as given up only when this process was stopped or
 * starved just before (rv_loop_stalled_recently), which is when a request
 * can outwait its asker. */
static bool requester_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP);
}

static void process(struct rv_loop *l, struct mgmt_conn *c)
{
	struct rv_mgmt *m = l->mgmt;
	struct rv_mgmt_req req;
	char err[160];
	size_t len = c->req_len;
	char *nl = memchr(c->req, '\n', c->req_len);

	if (nl) {
		len = (size_t)(nl - c->req) + 1;
	}
	m->requests++;
	if (len > RV_MGMT_MAX_REQ) {
		/* The line runs on past the limit: refuse it, rather than act on
		 * its first RV_MGMT_MAX_REQ bytes as if that were the request.
		 * One byte more is read to tell: a request of exactly the limit
		 * closed without a newline was refused (round-thirty tester 151). */
		m->malformed++;
		rv_warnx_rl("management request from uid %u refused: longer than %d bytes",
			    (unsigned)c->uid, RV_MGMT_MAX_REQ);
		rv_strbuf_printf(&c->reply, "error: request longer than %d bytes\n",
				 RV_MGMT_MAX_REQ);
	} else if (rv_mgmt_parse(&req, c->req, len, err, sizeof(err))) {
		m->malformed++;
		rv_warnx_rl("management request from uid %u refused: %s", (unsigned)c->uid, err);
		rv_strbuf_printf(&c->reply, "error: %s\n", err);
	} else if (!c->may_read || (rv_mgmt_cmds[req.cmd].changes && !c->may_write)) {
		m->refused++;
		rv_warnx_rl("management request '%s' from uid %u refused: not permitted",
			    rv_mgmt_cmds[req.cmd].name, (unsigned)c->uid);
		rv_strbuf_printf(&c->reply, "error: permission denied (%s needs %s)\n",
				 rv_mgmt_cmds[req.cmd].name,
				 rv_mgmt_cmds[req.cmd].changes
					 ? "root, or admin_group with admin_group_write"
					 : "root or admin_group");
	} else if (rv_loop_stalled_recently(l) && requester_gone(c->slot.fd)) {
		if (rv_mgmt_cmds[req.cmd].changes) {
			rv_warnx_rl("management request '%s' from uid %u not carried out: its "
				    "requester gave up waiting and closed the connection before "
				    "it was read",
				    rv_mgmt_cmds[req.cmd].name, (unsigned)c->uid);
		}
		conn_close(l, c);
		return;
	} else if (req.cmd == RV_MGMT_STATUS) {
		ask_status(l, c, &req);
		return;
	} else {
		execute(l, c, &req);
	}
	send_more(l, c);
}

static void on_accept(struct rv_loop *l, int res)
{
	struct rv_slot *s = rv_slots_accepted(l, &l->mgmt->slots, res);
	struct mgmt_conn *c;

	if (!s) {
		return;
	}
	c = container_of(s, struct mgmt_conn, slot);
	c->reply.max = RV_MGMT_MAX_REPLY - RV_MGMT_CUT_NOTE_MAX;
	c->tail.max = RV_MGMT_CUT_NOTE_MAX;
	c->accepted_ns = l->now_ns;
	credentials(l, c);
	rv_loop_arm(l, &c->slot.timer, on_timeout, l->now_ns + MGMT_TIMEOUT_NS);
	arm_recv(l, c);
}

void rv_mgmt_on_cqe(struct rv_loop *l, enum rv_op op, uint64_t ud, int res)
{
	struct rv_mgmt *m = l->mgmt;
	struct rv_slot *s;
	struct mgmt_conn *c;

	if (!m) {
		return;
	}
	if (op == RV_OP_MGMT_ACCEPT) {
		on_accept(l, res);
		return;
	}
	s = rv_slots_completed(l, &m->slots, ud);
	if (!s) {
		return;
	}
	c = container_of(s, struct mgmt_conn, slot);
	if (op == RV_OP_MGMT_RECV) {
		if (res < 0) {
			conn_close(l, c);
			return;
		}
		if (res == 0 && c->req_len == 0 && requester_gone(c->slot.fd)) {
			/* Connected and closed without a word: another instance
			 * checking whether this socket is live. Not an error (one
			 * that waits for a reply to nothing gets one). */
			conn_close(l, c);
			return;
		}
		c->req_len += (size_t)res;
		if (res == 0 || memchr(c->req, '\n', c->req_len) || c->req_len > RV_MGMT_MAX_REQ) {
			c->slot.asked = true;
			process(l, c);
		} else {
			arm_recv(l, c);
		}
		return;
	}
	/* RV_OP_MGMT_SEND */
	c->sending = false;
	if (res <= 0) {
		conn_close(l, c);
		return;
	}
	c->sent += (size_t)res;
	if (c->sent < reply_len(c)) {
		c->unread = unread(c);
		reply_rearm(l, c);
	}
	send_more(l, c);
}

/* say_once logs |line| at warn level, once until the trouble ends. */
static void say_once(struct rv_mgmt *m, const char *line)
{
	if (!m->said) {
		rv_warnx("%s", line);
		m->said = true;
	}
}

/* path_check looks whether the socket is still where `ringvpn status`
 * looks for it. Deleted (a cleanup of /run, a careless rm), it is made
 * anew where the process may; else said, once: status, kick and reload
 * could no longer reach the process, and nothing said so (round-eleven
 * tester 51). Another file in its place (a second instance's socket) is
 * left alone, and said. */
static void on_path_check(struct rv_loop *l, struct rv_ltimer *lt)
{
	struct rv_mgmt *m = l->mgmt;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[2 * sizeof(m->path) + 400];
	bool group_failed;
	struct stat st;
	int fd;

	rv_loop_arm(l, lt, on_path_check, l->now_ns + MGMT_CHECK_NS);
	if (lstat(m->path, &st) == 0) {
		if (st.st_dev == m->dev && st.st_ino == m->ino) {
			m->said = false;
			return;
		}
		snprintf(line, sizeof(line),
			 "status socket %s was replaced by another file while this process ran "
			 "(a second instance?): `ringvpn status`, `kick` and `reload` reach that, "
			 "not this process (SIGHUP still reloads it)",
			 m->path);
		say_once(m, line);
		return;
	}
	/* A path this user cannot look at (a directory it may not search)
	 * tells nothing: not said. */
	if (errno != ENOENT) {
		return;
	}
	/* Made as at the start, its group given too: the units' process is
	 * the service user, a member of admin_group, and may give its own
	 * socket that group (the group alone was taken for a refusal, without
	 * a try, and the socket was not made again: round-seventy tester 321). */
	strcpy(sun.sun_path, m->path);
	fd = listener(m, &sun, &group_failed);
	if (fd < 0) {
		char why[256];

		if (group_failed) {
			snprintf(why, sizeof(why),
				 "it cannot be given admin_group %s (gid %u): %s%s",
				 l->cfg->admin_group, (unsigned)m->admin_gid, strerror(-fd),
				 fd == -EPERM
					 ? " (this process's user is not a member of that group, "
					   "and it has no CAP_CHOWN)"
					 : "");
		} else {
			snprintf(why, sizeof(why), "%s", strerror(-fd));
		}
		snprintf(line, sizeof(line),
			 "status socket %s was deleted while this process ran, and cannot be made "
			 "anew: %s; `ringvpn status`, `kick` and `reload` cannot reach this "
			 "process until a restart (SIGHUP still reloads it)",
			 m->path, why);
		say_once(m, line);
		return;
	}
	rv_slots_replace_listener(l, &m->slots, fd);
	m->said = false;
	rv_warnx("status socket %s was deleted while this process ran: made anew", m->path);
	say_path_trust(l, m->path);
}

void rv_mgmt_start(struct rv_loop *l)
{
	if (l->mgmt) {
		rv_slots_arm_accept(l, &l->mgmt->slots);
		rv_loop_arm(l, &l->mgmt->check, on_path_check, l->now_ns + MGMT_CHECK_NS);
	}
}
