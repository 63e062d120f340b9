/*
 * mgmt.c — the management commands: `ringvpn status`, `kick`, `rekey`,
 * `reload` and `log-level` talk to a running server or client over its
 * status socket (protocol and access rules: core/mgmt.h).
 *
 *   ringvpn status [-s SOCK] [--json | --prometheus | --kv] [--watch [SECS]]
 *   ringvpn kick NAME [-s SOCK]
 *   ringvpn rekey [NAME] [-s SOCK]
 *   ringvpn reload [-s SOCK]
 *   ringvpn log-level LEVEL [-s SOCK]
 *
 * Without -s the server's default socket is tried, then the server unit's
 * (/run/ringvpn/server.sock), then the client's.
 * `status --watch` redraws every SECS (default 1) seconds like top, with
 * per-session receive and transmit rates computed from two snapshots.
 */
#include "cli/cmds.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/exit.h"
#include "cli/say.h"
#include "core/certname.h"
#include "core/file.h"
#include "core/log.h"
#include "core/mgmt.h"
#include "core/status.h"
#include "core/strbuf.h"

/* Tried in order without -s: the server's default, where the server's unit
 * puts it, the client's default. */
static const char *const default_sockets[] = { "/run/ringvpn-server.sock",
					       "/run/ringvpn/server.sock",
					       "/run/ringvpn-client.sock" };
#define NUM_DEFAULT_SOCKETS (sizeof(default_sockets) / sizeof(default_sockets[0]))
_Static_assert(NUM_DEFAULT_SOCKETS == 3, "request() names the three");

/* A process that cannot accept (stopped, stuck, or out of file
 * descriptors, when its backlog fills) must not hang the caller: connect,
 * send, every read and the whole reply give up after this long. The server
 * itself answers in milliseconds, even with 10,000 sessions. */
#define REQUEST_TIMEOUT_S 15

static int try_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REQUEST_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	/* On a Unix socket the send timeout bounds connect() too. With a
	 * timeout, a call stopped and continued (Ctrl-Z, a cgroup freeze)
	 * fails with EINTR instead of going on (signal(7)): tried again
	 * (round-sixty-seven tester 291). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    TEMP_FAILURE_RETRY(connect(fd, (struct sockaddr *)&sun, sizeof(sun)))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* default_connect tries the default sockets in turn and sets |*path| to
 * the one that answered, else to the first that exists (its error says the
 * most: a stale socket refuses, a stuck process times out), else to the
 * first. */
static int default_connect(const char **path)
{
	int fd, err = ENOENT;

	*path = default_sockets[0];
	for (size_t i = 0; i < NUM_DEFAULT_SOCKETS; i++) {
		fd = try_connect(default_sockets[i]);
		if (fd >= 0) {
			*path = default_sockets[i];
			return fd;
		}
		if (errno != ENOENT && err == ENOENT) {
			err = errno;
			*path = default_sockets[i];
		}
	}
	errno = err;
	return -1;
}

/* say_who_answers: a socket in a directory every user may write may be any
 * user's: whatever answered was printed as the server's status, and a
 * `reload` said applied (round-twenty-six tester 121). Said once (--watch
 * asks again and again), with the process that answers. */
static void say_who_answers(int fd, const char *path)
{
	char sb[PATH_MAX], wb[PATH_MAX + 64];
	static bool said;
	char why[PATH_MAX + 64];
	struct ucred cr;
	socklen_t len = sizeof(cr);

	/* Every user's only: the caller knows no service's group. */
	if (said || !rv_dir_everyones(path, false, 0, why, sizeof(why)) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		return;
	}
	said = true;
	fprintf(stderr,
		"ringvpn: warning: %s: %s: who may write there may have put a socket of "
		"their own there; this one is held by pid %d, uid %u\n",
		rv_cli_shown(path, sb, sizeof(sb)), rv_cli_shown(why, wb, sizeof(wb)), (int)cr.pid,
		(unsigned)cr.uid);
}

/* Set by status --watch while it waits for a server gone: the first failed
 * connect was said, the others are not (one a second, for as long as the
 * wait lasts: round-twenty-nine tester 144). */
static bool connect_quiet;

/* request sends |req| and reads the whole reply into |out| (status line
 * included). Returns 0 or an exit code after printing why. */
static int request(const char *path, const struct rv_mgmt_req *req, struct rv_strbuf *out)
{
	char sb[PATH_MAX];
	char line[RV_MGMT_MAX_REQ + 1], buf[65536];
	size_t off = 0, len;
	struct timespec t0;
	ssize_t n;
	int fd, send_err = 0, rerr;

	if (rv_mgmt_format(line, sizeof(line), req)) {
		if (req->cmd == RV_MGMT_KICK || req->cmd == RV_MGMT_REKEY) {
			char shown[sizeof(req->name)];

			/* What no name holds (a control character, a byte
			 * past ASCII: a newline, a terminal escape, a bidi
			 * override) as '?' (round-fifteen testers 72, 73). */
			fprintf(stderr,
				"ringvpn: '%s' is no client's name (a certificate name: 1-%d "
				"printable ASCII characters, no spaces)\n",
				rv_shown_ascii(shown, sizeof(shown), req->name), RV_CERT_NAME_MAX);
		} else {
			fprintf(stderr, "ringvpn: invalid request argument\n");
		}
		return RV_EXIT_USAGE;
	}
	bool defaults = path == NULL;

	if (path) {
		fd = try_connect(path);
	} else {
		fd = default_connect(&path);
	}
	if (fd < 0 && connect_quiet) {
		return errno == EACCES || errno == EPERM ? RV_EXIT_PERM : RV_EXIT_NET;
	}
	if (fd < 0 && errno == EAGAIN) {
		fprintf(stderr,
			"ringvpn: cannot connect to %s: not accepted within %d s (the process is "
			"stuck or stopped, or out of file descriptors: see its log)\n",
			rv_cli_shown(path, sb, sizeof(sb)), REQUEST_TIMEOUT_S);
		return RV_EXIT_NET;
	}
	if (fd < 0) {
		/* The hint fits the cause: "is it running?" was said of a
		 * socket the caller may not use, and of a path that is no
		 * socket at all (round-eleven tester 51). */
		int e = errno;
		struct stat st;
		const char *hint =
			"is the server or client running? give its status_socket with -s";

		if (e == EACCES || e == EPERM) {
			hint = "only root and the members of its admin_group may use it";
		} else if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			hint = "that is no socket: give the status_socket with -s";
		}
		/* Every default tried, none there: all three named (only the
		 * first was, and a unit's socket is the second: round-twenty-six
		 * tester 122). */
		if (defaults && e == ENOENT) {
			fprintf(stderr, "ringvpn: cannot connect to %s, %s or %s: %s (%s)\n",
				default_sockets[0], default_sockets[1], default_sockets[2],
				strerror(e), hint);
			return RV_EXIT_NET;
		}
		fprintf(stderr, "ringvpn: cannot connect to %s: %s (%s)\n",
			rv_cli_shown(path, sb, sizeof(sb)), strerror(e), hint);
		return e == EACCES || e == EPERM ? RV_EXIT_PERM : RV_EXIT_NET;
	}
	say_who_answers(fd, path);
	len = strlen(line);
	while (off < len) {
		n = TEMP_FAILURE_RETRY(send(fd, line + off, len - off, MSG_NOSIGNAL));
		if (n <= 0) {
			/* The other end may have answered and closed before
			 * reading (a refusal): its answer is still to be read. */
			send_err = n < 0 ? errno : EPIPE;
			break;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	/* The whole reply within the time as well, not each read alone: a
	 * peer that trickles a byte every 10 s held the caller for ever
	 * (round-twenty-six tester 124). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t;
		int64_t left_us;
		struct timeval tv;

		/* Each read waits only what is left of the whole (it could
		 * wait 15 s more after 14.9: round-twenty-six tester 125). */
		clock_gettime(CLOCK_MONOTONIC, &t);
		left_us = (int64_t)REQUEST_TIMEOUT_S * 1000000 - (t.tv_sec - t0.tv_sec) * 1000000 -
			  (t.tv_nsec - t0.tv_nsec) / 1000;
		if (left_us <= 0) {
			/* The time is up, but what waits in the socket is
			 * read: a caller stopped longer than the time (Ctrl-Z)
			 * had the whole reply there, and said there was none
			 * (round-sixty-seven tester 296). */
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				rv_strbuf_append(out, buf, (size_t)n);
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
				n = -1;
				errno = EAGAIN;
			}
			break;
		}
		tv.tv_sec = left_us / 1000000;
		tv.tv_usec = left_us % 1000000;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR) {
			/* Stopped and continued: what came is kept, and the
			 * rest waited for within the time left (a reload the
			 * server applied was said unanswered, exit 15: tester
			 * 291). */
			continue;
		}
		if (n <= 0) {
			break;
		}
		rv_strbuf_append(out, buf, (size_t)n);
	}
	rerr = errno;
	close(fd);
	if (n < 0 && (rerr == EAGAIN || rerr == EWOULDBLOCK) && out->len > 0) {
		fprintf(stderr,
			"ringvpn: no whole reply from %s within %d s (%zu bytes came): given up\n",
			rv_cli_shown(path, sb, sizeof(sb)), REQUEST_TIMEOUT_S, out->len);
		return RV_EXIT_NET;
	}
	if (send_err != 0 && out->len == 0) {
		fprintf(stderr, "ringvpn: send: %s\n", strerror(send_err));
		return RV_EXIT_NET;
	}
	/* The reply may quote a configuration value or a name: no control
	 * character but newline and tab reaches the terminal (an escape
	 * sequence in a value would act on it). */
	if (out->p) {
		rv_log_sanitize(out->p, out->len);
	}
	if (n < 0 && (rerr == EAGAIN || rerr == EWOULDBLOCK)) {
		fprintf(stderr,
			"ringvpn: no reply from %s within %d s (the process is stuck or stopped, "
			"or out of file descriptors: see its log); if it has not read the "
			"request yet, it drops it unread\n",
			rv_cli_shown(path, sb, sizeof(sb)), REQUEST_TIMEOUT_S);
		return RV_EXIT_NET;
	}
	if (n < 0 || out->len == 0) {
		/* Closed unanswered (reset, when the request was left
		 * unread): a process that stops serves only the request it
		 * was taking (three reloads sent to a stopping server:
		 * round-sixty-six testers 284, 286). */
		fprintf(stderr, "ringvpn: no reply from %s%s\n", rv_cli_shown(path, sb, sizeof(sb)),
			n == 0 || rerr == ECONNRESET
				? ": it closed the connection unanswered (stopping, or stopped?)"
				: "");
		return RV_EXIT_NET;
	}
	return 0;
}

/* reply_body checks the status line: prints an error and returns an exit
 * code, or returns 0 and points |*body| after the "ok" line. */
static int reply_body(const char *path, const struct rv_strbuf *r, const char **body)
{
	char sb[PATH_MAX];
	const char *s = rv_strbuf_str(r);

	if (!strncmp(s, "ok\n", 3)) {
		*body = s + 3;
		return 0;
	}
	if (strncmp(s, "error: ", 7) != 0) {
		/* Another program's socket: the first bytes say enough (it
		 * printed up to 32 MiB of what one sent, on one line: a
		 * hostile tester). */
		int n = (int)strcspn(s, "\n");

		fprintf(stderr,
			"ringvpn: bad reply from %s (not a ringvpn status socket?): %.*s%s (%zu "
			"bytes)\n",
			rv_cli_shown(path, sb, sizeof(sb)), n < 120 ? n : 120, s,
			n > 120 || (size_t)n + 1 < r->len ? " ..." : "", r->len);
		return RV_EXIT_FAILURE;
	}
	fprintf(stderr, "ringvpn: ");
	fputs(s, stderr);
	if (!strstr(s, "\n")) {
		fputc('\n', stderr);
	}
	return strstr(s, "permission denied") ? RV_EXIT_PERM : RV_EXIT_FAILURE;
}

/* output_failed: could what went to stdout not be written (a full disk,
 * a closed pipe)? Said: `--watch` stops (it wrote into the void for
 * ever); a single request's output is checked by main() at exit. */
static bool output_failed(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout)) {
		return false;
	}
	fprintf(stderr, "ringvpn: cannot write the output: %s\n", strerror(errno));
	return true;
}

/* reply_cut: does status reply |body| (in |r|) say it was cut at the
 * server's bound, or end where no whole one does (the server closed it at
 * its deadline: a cut reply ends as a whole one, and one was printed with
 * exit 0: round-sixty-six tester 281)? Asked with the end mark (|marked|),
 * a reply without it is cut wherever it ends (one cut just after a line's
 * end looked whole: tester 286); the mark is taken off |r|. A server from
 * before the mark is not told a cut after a whole line. */
static const char *reply_cut(struct rv_strbuf *r, const char *body, enum rv_mgmt_format fmt,
			     bool marked)
{
	size_t n = strlen(body), e = strlen(RV_MGMT_END_LINE);
	bool ended = false;
	const char *last;

	if (marked && n >= e && !strcmp(body + n - e, RV_MGMT_END_LINE) &&
	    (n == e || body[n - e - 1] == '\n')) {
		n -= e;
		r->len = (size_t)(body - r->p) + n;
		r->p[r->len] = '\0';
		ended = true;
	}
	if (n == 0 || body[n - 1] != '\n') {
		return "it ends inside a line";
	}
	for (last = body + n - 1; last > body && last[-1] != '\n'; last--) {
	}
	if (!strncmp(last, RV_MGMT_CUT_NOTE, strlen(RV_MGMT_CUT_NOTE))) {
		return "it was longer than the largest reply";
	}
	if (fmt == RV_MGMT_JSON && (n < 2 || body[n - 2] != '}')) {
		return "its JSON does not end";
	}
	if (marked && !ended) {
		return "it stops before its end mark";
	}
	return NULL;
}

/* old_server: the server refused the end mark (one from before it); asked
 * without it since, until --watch waits for a server again. */
static bool old_server;

/* ask_status asks for a status with the end mark, and once more without it
 * of a server from before the mark, which refuses the word; |*marked|: the
 * reply was asked with it. */
static int ask_status(const char *path, const struct rv_mgmt_req *req, struct rv_strbuf *out,
		      bool *marked)
{
	struct rv_mgmt_req r = *req;
	int code;

	r.end_mark = !old_server;
	code = request(path, &r, out);
	if (code == 0 && r.end_mark &&
	    !strcmp(rv_strbuf_str(out), "error: status: too many arguments\n")) {
		old_server = true;
		rv_strbuf_reset(out);
		r.end_mark = false;
		code = request(path, &r, out);
	}
	*marked = r.end_mark;
	return code;
}

static int run(const char *path, const struct rv_mgmt_req *req)
{
	struct rv_strbuf r = { .max = RV_MGMT_MAX_REPLY + 4096 };
	const char *body;
	bool marked = false;
	int code;

	code = req->cmd == RV_MGMT_STATUS ? ask_status(path, req, &r, &marked)
					  : request(path, req, &r);
	if (code == 0) {
		code = reply_body(path, &r, &body);
		if (code == 0) {
			/* Looked at before it is printed: the end mark is
			 * taken off. */
			const char *cut = req->cmd == RV_MGMT_STATUS
						  ? reply_cut(&r, body, req->format, marked)
						  : NULL;

			/* A long reply fails inside fputs: its reason is kept
			 * for main's message, by which errno has changed (a
			 * tester). */
			if (fputs(body, stdout) == EOF) {
				rv_cli_output_failed(errno);
			}
			if (cut) {
				char sb[PATH_MAX];

				fprintf(stderr,
					"ringvpn: the reply from %s is cut (%s): %zu bytes came "
					"(see its log)\n",
					rv_cli_shown(path, sb, sizeof(sb)), cut, r.len);
				code = RV_EXIT_FAILURE;
			}
			/* A reload applied with a part that failed (a route
			 * the host refused) is not a success for a script. */
			if (req->cmd == RV_MGMT_RELOAD &&
			    (!strncmp(body, "failed: ", 8) || strstr(body, "\nfailed: "))) {
				code = RV_EXIT_FAILURE;
			}
		}
	}
	rv_strbuf_free(&r);
	return code;
}

/* ---- status --watch ---------------------------------------------------- */

struct watch_row {
	char name[65];
	uint32_t index; /* the session's receiver index: a new session, a new one */
	uint64_t rx, tx;
};

/* kv_get copies the value of |key| in a `key=value` line. */
static bool kv_get(const char *line, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, " \n");

			snprintf(out, len, "%.*s", (int)n, p + kl + 1);
			return true;
		}
	}
	return false;
}

static size_t parse_rows(const char *body, struct watch_row *rows, size_t max)
{
	size_t n = 0;

	for (const char *l = body; l && *l && n < max;
	     l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char v[32];

		if (strncmp(l, "session ", 8) != 0) {
			continue;
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		kv_get(l, "name", rows[n].name, sizeof(rows[n].name));
		if (kv_get(l, "index", v, sizeof(v))) {
			rows[n].index = (uint32_t)strtoul(v, NULL, 16);
		}
		if (kv_get(l, "rx_bytes", v, sizeof(v))) {
			rows[n].rx = strtoull(v, NULL, 10);
		}
		if (kv_get(l, "tx_bytes", v, sizeof(v))) {
			rows[n].tx = strtoull(v, NULL, 10);
		}
		n++;
	}
	return n;
}

static int row_cmp(const void *a, const void *b)
{
	const struct watch_row *x = a, *y = b;
	int c = (x->index > y->index) - (x->index < y->index);

	return c != 0 ? c : strcmp(x->name, y->name);
}

/* since sets |*rx| and |*tx| to what |cur| carried since |prev| (sorted by
 * row_cmp): a session not in it (its index is new: a client that came,
 * came back or was replaced since) carried all of its counters since, as
 * they start at zero with it. Matched by name alone, a session that
 * replaced a busier one made its counters go back, 18 billion Gbit/s. */
static void since(const struct watch_row *prev, size_t nprev, const struct watch_row *cur,
		  uint64_t *rx, uint64_t *tx)
{
	const struct watch_row *p = bsearch(cur, prev, nprev, sizeof(*prev), row_cmp);

	*rx = cur->rx;
	*tx = cur->tx;
	if (p != NULL) {
		*rx = cur->rx >= p->rx ? cur->rx - p->rx : cur->rx;
		*tx = cur->tx >= p->tx ? cur->tx - p->tx : cur->tx;
	}
}

static const char *rate(double bytes_per_s, char *buf, size_t len)
{
	double bits = bytes_per_s * 8;

	if (bits >= 1e9) {
		snprintf(buf, len, "%.2f Gbit/s", bits / 1e9);
	} else if (bits >= 1e6) {
		snprintf(buf, len, "%.2f Mbit/s", bits / 1e6);
	} else {
		snprintf(buf, len, "%.1f kbit/s", bits / 1e3);
	}
	return buf;
}

static int watch(const char *path, unsigned secs)
{
	enum { MAX_ROWS = 100000 };
	struct watch_row *prev = calloc(MAX_ROWS, sizeof(*prev));
	struct watch_row *cur = calloc(MAX_ROWS, sizeof(*cur));
	size_t nprev = 0;
	bool tty = isatty(STDOUT_FILENO), first = true, drawn = false, waiting = false;
	struct timespec at, prev_at = { 0, 0 };
	int code = 0;

	if (!prev || !cur) {
		free(prev);
		free(cur);
		fprintf(stderr, "ringvpn: out of memory\n");
		return RV_EXIT_FAILURE;
	}
	for (;;) {
		struct rv_mgmt_req human = { .cmd = RV_MGMT_STATUS, .format = RV_MGMT_HUMAN };
		struct rv_mgmt_req kv = { .cmd = RV_MGMT_STATUS, .format = RV_MGMT_KV };
		struct rv_strbuf h = { .max = RV_MGMT_MAX_REPLY + 4096 },
				 k = { .max = RV_MGMT_MAX_REPLY + 4096 };
		const char *hb, *kb, *cut;
		bool hm = false, km = false;
		size_t ncur;

		code = ask_status(path, &human, &h, &hm);
		if (!code) {
			code = reply_body(path, &h, &hb);
		}
		if (!code) {
			code = ask_status(path, &kv, &k, &km);
		}
		if (!code) {
			code = reply_body(path, &k, &kb);
		}
		if (code) {
			rv_strbuf_free(&h);
			rv_strbuf_free(&k);
			/* A server restarting (or not up yet again) is waited
			 * for, its counters taken afresh: the watch ended. As
			 * long as it takes, said once: a second failed try
			 * ended it, within any restart longer than the
			 * interval (round-twenty-nine tester 141). */
			if (code == RV_EXIT_NET && drawn) {
				if (!waiting) {
					/* Not "the server": a client's socket
					 * is watched as well (tester 262). */
					fprintf(stderr,
						"ringvpn: status --watch: waiting for ringvpn to "
						"answer at %s again, trying every %u s (Ctrl-C to "
						"stop)\n",
						path, secs);
				}
				waiting = true;
				connect_quiet = true;
				/* What answers next may be a newer one. */
				old_server = false;
				first = true;
				sleep(secs);
				continue;
			}
			break;
		}
		/* A cut reply is not drawn: its half rows were, unsaid
		 * (round-sixty-six tester 284). */
		cut = reply_cut(&h, hb, RV_MGMT_HUMAN, hm);
		if (cut == NULL) {
			cut = reply_cut(&k, kb, RV_MGMT_KV, km);
		}
		if (cut) {
			fprintf(stderr,
				"ringvpn: status --watch: the reply from %s is cut (%s): not "
				"drawn\n",
				path, cut);
			rv_strbuf_free(&h);
			rv_strbuf_free(&k);
			sleep(secs);
			continue;
		}
		/* The rates are over the time that passed between two
		 * snapshots, not the interval asked for: a server slow to
		 * answer (2 s under 150 waiting callers) made each round
		 * longer, and the rates several times too high (round-eleven
		 * tester 51). */
		clock_gettime(CLOCK_MONOTONIC, &at);
		ncur = parse_rows(kb, cur, MAX_ROWS);
		if (tty) {
			fputs("\033[H\033[2J", stdout); /* home, clear */
		}
		fputs(hb, stdout);
		printf("\n%-24s %16s %16s   (every %u s)\n", "RATES", "RX", "TX", secs);
		for (size_t i = 0; i < ncur; i++) {
			char r1[32], r2[32];
			uint64_t rx = 0, tx = 0;
			double dt = (double)(at.tv_sec - prev_at.tv_sec) +
				    (double)(at.tv_nsec - prev_at.tv_nsec) / 1e9;

			if (!first && dt > 0) {
				since(prev, nprev, &cur[i], &rx, &tx);
			} else {
				dt = 1;
			}
			printf("%-24s %16s %16s\n", cur[i].name,
			       rate((double)rx / dt, r1, sizeof(r1)),
			       rate((double)tx / dt, r2, sizeof(r2)));
		}
		if (output_failed()) {
			rv_strbuf_free(&h);
			rv_strbuf_free(&k);
			code = RV_EXIT_FAILURE;
			break;
		}
		memcpy(prev, cur, ncur * sizeof(*cur));
		nprev = ncur;
		qsort(prev, nprev, sizeof(*prev), row_cmp);
		first = false;
		drawn = true;
		waiting = false;
		connect_quiet = false;
		prev_at = at;
		rv_strbuf_free(&h);
		rv_strbuf_free(&k);
		sleep(secs);
	}
	free(prev);
	free(cur);
	return code;
}

/* ---- commands ---------------------------------------------------------- */

static void usage(FILE *f, enum rv_mgmt_cmd cmd)
{
	const struct rv_mgmt_cmd_info *c = &rv_mgmt_cmds[cmd];

	if (cmd == RV_MGMT_STATUS) {
		fprintf(f,
			"Usage: ringvpn status [-s SOCK] [--json|--prometheus|--kv | "
			"--watch [SECS]]\n\n"
			"  %s.\n"
			"  --json          versioned JSON (schema in core/status.h and the "
			"README)\n"
			"  --prometheus    Prometheus text exposition (node_exporter textfile "
			"collector)\n"
			"  --kv            key=value lines, one per session and worker "
			"(scripts)\n"
			"  --watch [SECS]  redraw every SECS seconds (default 1) with "
			"per-session rates (the text view)\n",
			c->help);
	} else {
		fprintf(f, "Usage: ringvpn %s%s%s [-s SOCK]\n\n  %s.\n", c->name,
			c->args[0] ? " " : "", c->args, c->help);
	}
	fprintf(f,
		"  -s, --socket SOCK   the server's or client's status_socket (default the "
		"first of %s, %s, %s that answers)\n"
		"  -h, --help          this help\n\n"
		"Access: root, or members of the configured admin_group (changing state "
		"needs admin_group_write).\n",
		default_sockets[0], default_sockets[1], default_sockets[2]);
}

/* valid_name: may |a| be sent as the NAME of kick or rekey? Else says why.
 * An empty one would be sent as none, every session to rekey (a script's
 * unset variable: round-eleven tester 49); one with spaces in it is
 * refused by the request's own check (rv_mgmt_format, request). */
static bool valid_name(enum rv_mgmt_cmd which, const char *a)
{
	size_t n = strlen(a);

	if (n > RV_MGMT_NAME_MAX) {
		fprintf(stderr, "ringvpn %s: name longer than %d bytes\n", rv_mgmt_cmds[which].name,
			RV_MGMT_NAME_MAX);
		return false;
	}
	if (n == 0) {
		fprintf(stderr,
			"ringvpn: '%s' is no client's name (a certificate name: 1-%d printable "
			"ASCII characters, no spaces)%s\n",
			a, RV_CERT_NAME_MAX,
			which == RV_MGMT_REKEY ? "; without NAME, every session" : "");
		return false;
	}
	return true;
}

/* long_error: what getopt's '?' for the word |arg| (argv[optind - 1]) was,
 * |letter| its optopt: 0 when not that long option's (a letter of a
 * short-option cluster, -xh); 1 a value given to the option named whole
 * that takes none (`--json=1`); 2 an unknown long option (optopt 0), one
 * cut short given a value (`--js=1`), or an option of status's alone on
 * another command (`kick --json=1`). Judged by the word getopt stopped at,
 * not by the next one: a letter found in it (`-s/run/ringvpn/...` holds a
 * 'p') was taken for a cluster (round-fifty-one tester 224). */
static int long_error(const struct option *lopts, const char *arg, int letter, bool status)
{
	int e;

	if (strncmp(arg, "--", 2) != 0) {
		return 0;
	}
	if (letter == 0) {
		return 2;
	}
	e = rv_cli_long_given_value(lopts, arg, letter);
	return e == 1 && !status && strchr("jpkwr", letter) ? 2 : e;
}

static int cmd(enum rv_mgmt_cmd which, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "kv", no_argument, NULL, 'k' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "rekey", optional_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rv_mgmt_req req = { .cmd = which };
	const char *path = NULL;
	char sb[PATH_MAX]; /* what is echoed, shown (rv_cli_shown) */
	unsigned watch_secs = 0;
	bool rekey_given = false;
	int c, nargs = 0, li = -1, e;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", lopts, &li)) != -1) {
		bool status_only = c == 'j' || c == 'p' || c == 'k' || c == 'w' || c == 'r';
		const char *cut;
		int cut_len;

		if (status_only && which != RV_MGMT_STATUS) {
			fprintf(stderr, "ringvpn %s: unknown option %s (see --help)\n",
				rv_mgmt_cmds[which].name,
				rv_cli_shown(argv[optind - 1], sb, sizeof(sb)));
			return RV_EXIT_USAGE;
		}
		/* `status --wat` was taken for --watch, where the service's own
		 * command line asks for whole names (round-forty-four tester
		 * 209): the same here, after the options of status alone (tester
		 * 222). */
		if (li >= 0 && c != '?' && c != ':' &&
		    (cut = rv_cli_cut_short(argv, optind, optarg, lopts[li].name, &cut_len)) !=
			    NULL) {
			fprintf(stderr,
				"ringvpn %s: --%.*s: write the option's whole name (--%s, or see "
				"--help)\n",
				rv_mgmt_cmds[which].name, cut_len,
				rv_cli_shown(cut, sb, sizeof(sb)), lopts[li].name);
			return RV_EXIT_USAGE;
		}
		li = -1;
		/* A flag given twice: the last one was taken silently, and
		 * `kick -s server.sock -s client.sock` went to the client
		 * (round-eleven tester 51). */
		if ((c == 's' && path) || (c == 'w' && watch_secs) || (c == 'r' && rekey_given)) {
			fprintf(stderr, "ringvpn %s: flag '%s' given twice\n",
				rv_mgmt_cmds[which].name,
				c == 's'   ? "--socket"
				: c == 'w' ? "--watch"
					   : "--rekey");
			return RV_EXIT_USAGE;
		}
		switch (c) {
		case 's':
			if (!optarg[0]) {
				fprintf(stderr, "ringvpn %s: -s needs a socket's path\n",
					rv_mgmt_cmds[which].name);
				return RV_EXIT_USAGE;
			}
			/* `status -s --json` asked a socket named "--json" (as
			 * `server --tun --bogus` named its TUN: round-forty-
			 * eight tester 217). */
			if (rv_cli_value_looks_like_option(argv, optind, optarg)) {
				const char *v = rv_cli_shown(optarg, sb, sizeof(sb));

				/* The flag as typed (tester 219's nit). */
				const char *flag = strncmp(argv[optind - 2], "--", 2) == 0
							   ? argv[optind - 2]
							   : "-s";

				fprintf(stderr,
					"ringvpn %s: %s: its value '%s' looks like an option (a "
					"value missing?); write --socket=%s if it is the path\n",
					rv_mgmt_cmds[which].name, flag, v, v);
				return RV_EXIT_USAGE;
			}
			path = optarg;
			break;
		case 'j':
		case 'p':
		case 'k': {
			int f = c == 'j'   ? RV_MGMT_JSON
				: c == 'p' ? RV_MGMT_PROMETHEUS
					   : RV_MGMT_KV;

			/* The last one was taken silently (a tester); the
			 * same one twice is refused as every flag is
			 * (round-fifteen tester 72). */
			if ((int)req.format == f) {
				fprintf(stderr, "ringvpn status: flag '%s' given twice\n",
					rv_cli_shown(argv[optind - 1], sb, sizeof(sb)));
				return RV_EXIT_USAGE;
			}
			if (req.format != RV_MGMT_HUMAN && (int)req.format != f) {
				fprintf(stderr, "ringvpn status: --json, --prometheus and --kv are "
						"alternatives: give one\n");
				return RV_EXIT_USAGE;
			}
			req.format = f;
			break;
		}
		case 'w': {
			const char *v = optarg;

			/* `--watch -1` is a wrong number, not an unknown
			 * option -1 (round-twenty-six tester 121). */
			if (!v && optind < argc &&
			    (argv[optind][0] != '-' || isdigit((unsigned char)argv[optind][1]))) {
				v = argv[optind++];
			}
			char *end = NULL;

			watch_secs = v ? (unsigned)strtoul(v, &end, 10) : 1;
			if (watch_secs == 0 || watch_secs > 3600 ||
			    (v && (*end != '\0' || *v == '-'))) {
				fprintf(stderr, "ringvpn status: --watch takes 1..3600 seconds\n");
				return RV_EXIT_USAGE;
			}
			break;
		}
		case 'r': {
			/* The old spelling of `ringvpn rekey [NAME]`. */
			const char *name = optarg;

			if (!name && optind < argc && argv[optind][0] != '-') {
				name = argv[optind++];
			}
			req.cmd = RV_MGMT_REKEY;
			rekey_given = true;
			if (name && !valid_name(which, name)) {
				return RV_EXIT_USAGE;
			}
			snprintf(req.name, sizeof(req.name), "%s", name ? name : "");
			break;
		}
		case 'h':
			usage(stdout, which);
			return RV_EXIT_OK;
		case ':':
			fprintf(stderr, "ringvpn %s: option %s needs a value\n",
				rv_mgmt_cmds[which].name,
				rv_cli_shown(argv[optind - 1], sb, sizeof(sb)));
			return RV_EXIT_USAGE;
		default:
			/* A long option that takes no value given one
			 * (`--json=1`): getopt's optopt is its letter, which
			 * was said as an unknown -j (round-fifty tester 223). */
			if ((e = long_error(lopts, argv[optind - 1], optopt,
					    which == RV_MGMT_STATUS)) != 0) {
				fprintf(stderr, "ringvpn %s: %s %s (see --help)\n",
					rv_mgmt_cmds[which].name,
					e == 1 ? "a value given to an option that takes none:"
					       : "unknown option",
					rv_cli_shown(argv[optind - 1], sb, sizeof(sb)));
				return RV_EXIT_USAGE;
			}
			/* A letter of a cluster (-xh): getopt has not moved past
			 * it, and the argument before was named (round-forty-six
			 * tester 211). */
			if (optopt != 0 && !strchr("sh", optopt)) {
				rv_cli_unknown_letter(rv_mgmt_cmds[which].name, optopt);
				return RV_EXIT_USAGE;
			}
			fprintf(stderr, "ringvpn %s: unknown option %s (see --help)\n",
				rv_mgmt_cmds[which].name,
				rv_cli_shown(argv[optind - 1], sb, sizeof(sb)));
			return RV_EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++, nargs++) {
		const char *a = argv[optind];

		if (nargs == 0 && (which == RV_MGMT_KICK || which == RV_MGMT_REKEY)) {
			if (!valid_name(which, a)) {
				return RV_EXIT_USAGE;
			}
			snprintf(req.name, sizeof(req.name), "%s", a);
		} else if (nargs == 0 && which == RV_MGMT_LOG_LEVEL) {
			/* "fatal" is the old name of "error", as in the config. */
			req.level = !strcmp(a, "fatal") ? 0 : -1;
			for (int lv = 0; lv < 4; lv++) {
				if (!strcmp(a, rv_mgmt_level_name(lv))) {
					req.level = lv;
				}
			}
			if (req.level < 0) {
				fprintf(stderr,
					"ringvpn log-level: '%s' is not one of error, warn, "
					"info, debug\n",
					rv_cli_shown(a, sb, sizeof(sb)));
				return RV_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "ringvpn %s: unexpected argument '%s' (see --help)\n",
				rv_mgmt_cmds[which].name, rv_cli_shown(a, sb, sizeof(sb)));
			return RV_EXIT_USAGE;
		}
	}
	if ((which == RV_MGMT_KICK || which == RV_MGMT_LOG_LEVEL) && nargs == 0) {
		fprintf(stderr, "ringvpn %s: missing %s (see --help)\n", rv_mgmt_cmds[which].name,
			rv_mgmt_cmds[which].args);
		return RV_EXIT_USAGE;
	}
	if (watch_secs && req.format != RV_MGMT_HUMAN) {
		/* It drew the text view and dropped the format unsaid. */
		fprintf(stderr, "ringvpn status: --watch draws the text view; for --json, "
				"--prometheus or --kv, run it at intervals\n");
		return RV_EXIT_USAGE;
	}
	if (watch_secs) {
		return watch(path, watch_secs);
	}
	return run(path, &req);
}

int rv_cmd_status(int argc, char **argv)
{
	return cmd(RV_MGMT_STATUS, argc, argv);
}

int rv_cmd_kick(int argc, char **argv)
{
	return cmd(RV_MGMT_KICK, argc, argv);
}

int rv_cmd_rekey(int argc, char **argv)
{
	return cmd(RV_MGMT_REKEY, argc, argv);
}

int rv_cmd_reload(int argc, char **argv)
{
	return cmd(RV_MGMT_RELOAD, argc, argv);
}

int rv_cmd_log_level(int argc, char **argv)
{
	return cmd(RV_MGMT_LOG_LEVEL, argc, argv);
}
