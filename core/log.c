/*
 * log.c — line-at-a-time logging to stderr and per-call-site rate limits.
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/strbuf.h"

static _Atomic int log_level = RV_LOG_INFO;
/* Lines not written since the last note of it (emit). */
static _Atomic uint64_t lines_unwritten;
static _Atomic int log_format = RV_LOG_FMT_TEXT;
static const char *_Atomic log_prefix = "ringvpn";

void rv_log_set_level(enum rv_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum rv_log_level rv_log_get_level(void)
{
	return (enum rv_log_level)atomic_load(&log_level);
}

void rv_log_set_format(enum rv_log_format fmt)
{
	atomic_store(&log_format, (int)fmt);
}

enum rv_log_format rv_log_get_format(void)
{
	return (enum rv_log_format)atomic_load(&log_format);
}

bool rv_log_format_from_name(const char *name, enum rv_log_format *out)
{
	static const struct {
		const char *name;
		enum rv_log_format fmt;
	} names[] = {
		{ "auto", RV_LOG_FMT_AUTO },
		{ "text", RV_LOG_FMT_TEXT },
		{ "journal", RV_LOG_FMT_JOURNAL },
		{ "json", RV_LOG_FMT_JSON },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i].name)) {
			*out = names[i].fmt;
			return true;
		}
	}
	return false;
}

void rv_log_set_prefix(const char *prefix)
{
	atomic_store(&log_prefix, prefix);
}

/* The names log_level takes: an error line said "fatal", and a shipper that
 * kept level "error" missed the stop lines (round-fourteen tester 66). */
static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* put appends |n| bytes to |line| at |*off| (truncating at |cap|). */
static void put(char *line, size_t cap, size_t *off, const char *s, size_t n)
{
	if (*off >= cap) {
		return;
	}
	if (n > cap - *off) {
		n = cap - *off;
	}
	memcpy(line + *off, s, n);
	*off += n;
}

/* put_json_str appends |s| as the body of a JSON string, leaving |keep|
 * bytes of |cap| free for what closes the line: quotes, backslashes and
 * control characters escaped, a byte that is not part of well-formed
 * UTF-8 as U+FFFD (a config value or a peer's name may hold any byte: a
 * line of raw 0xff was no JSON a shipper could read, round-fifteen tester
 * 72). What does not fit is cut between characters, never inside an
 * escape or a sequence (a message of quotes doubled past the line and
 * lost the line's closing quote and brace: the same tester). */
static void put_json_str(char *line, size_t cap, size_t *off, const char *s, size_t keep)
{
	/* Room for the "..." that marks a cut, too. */
	size_t room = cap > keep + 3 ? cap - keep - 3 : 0;

	while (*s) {
		const unsigned char *c = (const unsigned char *)s;
		char esc[8];
		const char *out = esc;
		size_t n = 1, used = 1;

		if (*c == '"' || *c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*c;
			n = 2;
		} else if (*c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *c);
			n = 6;
		} else if (*c < 0x80) {
			out = s;
		} else if ((n = rv_utf8_len(c)) != 0) {
			out = s;
			used = n;
		} else {
			out = "\\ufffd";
			n = 6;
		}
		if (*off + n > room) {
			put(line, cap, off, "...", 3);
			return;
		}
		put(line, cap, off, out, n);
		s += used;
	}
}

/* json_line wraps the message |msg| in one JSON object with a UTC time
 * stamp (the realtime clock: log shippers want wall time). */
static size_t json_line(char *line, size_t cap, enum rv_log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char head[128];
	size_t off = 0;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(head, sizeof(head),
		     "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"role\":"
		     "\"",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[level]);
	put(line, cap, &off, head, n < 0 ? 0 : (size_t)n);
	put_json_str(line, cap, &off, atomic_load(&log_prefix), 64);
	n = snprintf(head, sizeof(head), "\",\"pid\":%d,\"msg\":\"", (int)getpid());
	put(line, cap, &off, head, n < 0 ? 0 : (size_t)n);
	put_json_str(line, cap, &off, msg, 2);
	put(line, cap, &off, "\"}", 2);
	return off;
}

void rv_log_sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
			s[i] = '?';
		} else if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			/* U+0080..U+009F in UTF-8: C1 controls (U+009B is CSI). */
			s[i] = '?';
			s[++i] = '?';
		}
	}
}

const char *rv_shown_ascii(char *out, size_t len, const char *s)
{
	size_t i = 0;

	for (; s[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	out[i] = '\0';
	return out;
}

/* The longest line, its newline in: what a pipe takes whole in one write
 * (emit: a longer one could go in part, the rest lost unsaid and the next
 * line glued to it, round-thirty tester 152). A reload's report of two
 * dozen keys passed the 1,024 bytes lines had, and was cut in the middle
 * of a word with no sign of it (round-thirty tester 151). */
#define LOG_LINE_MAX PIPE_BUF
#define LOG_MSG_MAX LOG_LINE_MAX

/* mark_cut ends the text of |o| bytes at |buf| that was cut: back to the
 * start of its last character, dropped if the cut took part of it, then
 * "..." (room for it is the caller's). Returns the new length. */
static size_t mark_cut(char *buf, size_t o)
{
	size_t k = o;

	while (k > 0 && ((unsigned char)buf[k - 1] & 0xc0) == 0x80) {
		k--;
	}
	if (k > 0 && (unsigned char)buf[k - 1] >= 0xc0) {
		unsigned char lead = (unsigned char)buf[k - 1];
		size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

		if (o - (k - 1) < want) {
			o = k - 1;
		}
	}
	memcpy(buf + o, "...", 3);
	return o + 3;
}

/* one_line copies the message |in| of |len| bytes (|cut|: it did not fit
 * where it was made) to |out| as one log line: a line after the first
 * would reach journald as an entry of its own, without the priority, and
 * a text log without the prefix. Trailing newlines go, inner ones become
 * "; ". Other control characters (from a configuration value or a peer's
 * text quoted in the message) become '?' (rv_log_sanitize): a terminal
 * escape must not reach whoever reads the log. A message that does not
 * fit ends in "..." after its last whole character. */
static void one_line(char *in, size_t len, bool cut, char *out, size_t cap)
{
	size_t o = 0, room = cap - 4; /* "..." and the NUL */

	while (!cut && len > 0 && in[len - 1] == '\n') {
		len--;
	}
	rv_log_sanitize(in, len);
	for (size_t i = 0; i < len; i++) {
		size_t need = in[i] == '\n' ? 2 : 1;

		if (o + need > room) {
			cut = true;
			break;
		}
		if (in[i] == '\n') {
			out[o++] = ';';
			out[o++] = ' ';
		} else {
			out[o++] = in[i];
		}
	}
	if (cut) {
		o = mark_cut(out, o);
	}
	out[o] = '\0';
}

/* How stderr is written without waiting for its reader: RWF_NOWAIT for a
 * socket (journald's stream); for a pipe, a named FIFO or a terminal, a
 * description of its own opened non-blocking through /proc/self/fd/2 (the
 * one stderr shares with the parent must keep its flags; a terminal refuses
 * RWF_NOWAIT, and poll says it has room while a line may still block);
 * a plain write for a file, where a write does not wait for a reader (and
 * RWF_NOWAIT would drop lines whenever the filesystem had to allocate). */
enum { OUT_PLAIN, OUT_NOWAIT, OUT_OWN };
static int out_kind = OUT_PLAIN, out_fd = STDERR_FILENO;
static pthread_once_t out_once = PTHREAD_ONCE_INIT;

static void out_init(void)
{
	struct stat st;
	int fd;

	if (fstat(STDERR_FILENO, &st) != 0) {
		return;
	}
	if (S_ISSOCK(st.st_mode)) {
		out_kind = OUT_NOWAIT;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
		return;
	}
	fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		out_fd = fd;
		out_kind = OUT_OWN;
	} else if (S_ISFIFO(st.st_mode)) {
		out_kind = OUT_NOWAIT; /* an anonymous pipe takes it */
	}
}

void rv_log_open(void)
{
	pthread_once(&out_once, out_init);
}

/* emit writes one line to stderr (one write, so that lines of several
 * threads never interleave) without waiting for whoever reads it: a log
 * pipe nobody empties stopped the control thread, and with it the VPN. A
 * line that cannot go now is dropped (false). A line fits in PIPE_BUF
 * (LOG_LINE_MAX), so a pipe with room takes it whole; a terminal may take
 * part of one. */
static bool emit_once(char *line, size_t len);

/* emit writes |line| whole, or returns false: the line is then counted as
 * not written (vlog), whatever the error (a full disk, a file size limit,
 * a reader that does not keep up). A line cut short by the error (the
 * disk filled within it) ends with a newline before the next line that
 * goes through: the next was glued to it, and the lost lines went unsaid
 * (round-sixty-eight tester 303). */
static bool emit(char *line, size_t len)
{
	/* One writer at a time while a line is torn: another thread's
	 * failed line cleared the mark a cut one had set (tester 306). */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static bool torn;
	char nl = '\n';
	bool ok = true;

	pthread_mutex_lock(&lock);
	if (torn) {
		ok = emit_once(&nl, 1);
		torn = !ok;
	}
	if (ok && !emit_once(line, len)) {
		torn = errno == 0;
		ok = false;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

/* Why the last line was not written (0: a part of it was). */
static _Atomic int unwritten_err;

static bool emit_once(char *line, size_t len)
{
	struct iovec iov = { .iov_base = line, .iov_len = len };
	size_t sent = 0;
	ssize_t w;
	int fd;

	pthread_once(&out_once, out_init);
	fd = out_kind == OUT_OWN ? out_fd : STDERR_FILENO;
	if (out_kind == OUT_NOWAIT) {
		w = pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);
		if (w < 0 && errno == EOPNOTSUPP) {
			w = write(fd, line, len); /* a named FIFO: no better way */
		}
	} else {
		w = write(fd, line, len);
	}
	/* A part taken: a stream socket's (its reader is there), a file's
	 * last room or its size limit. The rest is tried once: a file's
	 * refusal gives the reason. */
	if (w >= 0 && (size_t)w < len) {
		sent = (size_t)w;
		w = sent > 0 ? write(fd, line + sent, len - sent) : -1;
		if (w >= 0 ? sent + (size_t)w < len : sent == 0) {
			errno = w >= 0 || sent == 0 ? ENOSPC : errno;
			w = -1;
		}
	}
	if (w < 0) {
		atomic_store(&unwritten_err, errno);
		errno = sent > 0 ? 0 : errno; /* a part went: the line is torn */
		return false;
	}
	return true;
}

/* put_text appends |msg| to the line of |off| bytes at |line|, within
 * |cap| bytes, cut and marked (mark_cut) where it does not fit. Returns
 * the new length. */
static size_t put_text(char *line, size_t cap, size_t off, const char *msg)
{
	size_t n = strlen(msg);

	if (off > cap - 3) {
		off = cap - 3; /* a head snprintf cut (a prefix of thousands of bytes) */
	}
	if (off + n <= cap) {
		memcpy(line + off, msg, n);
		return off + n;
	}
	n = cap - 3 - off; /* and the mark */
	memcpy(line + off, msg, n);
	return mark_cut(line, off + n);
}

/* write_line writes the one-line message |msg| at |level| in the log's format;
 * false when it could not go (emit). A message longer than the line is cut,
 * marked. */
static bool write_line(enum rv_log_level level, const char *msg)
{
	/* syslog(3) priorities: err, warning, info, debug. */
	static const int prio[] = { 3, 4, 6, 7 };
	char line[LOG_LINE_MAX];
	size_t off, cap = sizeof(line) - 1; /* the newline's room */
	int n;

	switch (atomic_load(&log_format)) {
	case RV_LOG_FMT_JSON:
		off = json_line(line, cap, level, msg);
		break;
	case RV_LOG_FMT_JOURNAL:
		n = snprintf(line, cap, "<%d>", prio[level]);
		off = put_text(line, cap, n < 0 ? 0 : (size_t)n, msg);
		break;
	case RV_LOG_FMT_CHECK:
		if (level <= RV_LOG_WARN) {
			n = snprintf(line, cap, "ringvpn: %s",
				     level == RV_LOG_WARN ? "warning: " : "");
			off = put_text(line, cap, n < 0 ? 0 : (size_t)n, msg);
			break;
		}
		/* fall through */
	default:
		n = snprintf(line, cap, "%s[%d] %s: ", atomic_load(&log_prefix), (int)getpid(),
			     level_names[level]);
		off = put_text(line, cap, n < 0 ? 0 : (size_t)n, msg);
		break;
	}
	if (off > cap) {
		off = cap;
	}
	line[off++] = '\n';
	return emit(line, off);
}

static void RV_PRINTF(3, 0) vlog(enum rv_log_level level, int err, const char *fmt, va_list ap)
{
	char raw[LOG_MSG_MAX], msg[LOG_MSG_MAX];
	size_t mlen;
	uint64_t lost;
	bool cut;
	int n;

	if ((int)level > atomic_load(&log_level)) {
		return;
	}
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	mlen = n < 0 ? 0 : (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
	cut = n >= (int)sizeof(raw);
	if (err != 0 && !cut) {
		n = snprintf(raw + mlen, sizeof(raw) - mlen, ": %s",
			     strerror(err < 0 ? -err : err));
		cut = n >= (int)(sizeof(raw) - mlen);
		mlen += n < 0 ? 0 : (size_t)n;
		mlen = mlen < sizeof(raw) ? mlen : sizeof(raw) - 1;
	}
	one_line(raw, mlen, cut, msg, sizeof(msg));
	/* Lines lost to a reader that did not keep up are said first, once
	 * it takes lines again; no line goes before that (a gap is never
	 * silent). */
	lost = atomic_exchange(&lines_unwritten, 0); /* claimed: one thread says it */
	if (lost != 0) {
		char note[128];

		int why = atomic_load(&unwritten_err);

		snprintf(note, sizeof(note), "%llu log line(s) not written: %s",
			 (unsigned long long)lost,
			 why == EAGAIN || why == 0 ? "the log's reader did not keep up"
						   : strerror(why));
		if (!write_line(RV_LOG_WARN, note)) {
			atomic_fetch_add(&lines_unwritten, lost + 1);
			return;
		}
	}
	if (!write_line(level, msg)) {
		atomic_fetch_add(&lines_unwritten, 1);
	}
}

void rv_warn(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(RV_LOG_WARN, err == 0 ? EIO : err, fmt, ap);
	va_end(ap);
}

void rv_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(RV_LOG_WARN, 0, fmt, ap);
	va_end(ap);
}

void rv_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(RV_LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void rv_debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(RV_LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void rv_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(RV_LOG_FATAL, 0, fmt, ap);
	va_end(ap);
}

/* The call sites that have refused a line, pushed once each and never
 * removed (they are static), and whether one refused a line since the last
 * look. */
static _Atomic(struct rv_ratelimit *) suppressing_sites;
static atomic_bool suppressing_news;

static void note_refusal(struct rv_ratelimit *rl)
{
	if (rl->what != NULL &&
	    !atomic_exchange_explicit(&rl->listed, true, memory_order_relaxed)) {
		struct rv_ratelimit *head =
			atomic_load_explicit(&suppressing_sites, memory_order_relaxed);

		do {
			rl->next = head;
		} while (!atomic_compare_exchange_weak_explicit(&suppressing_sites, &head, rl,
								memory_order_release,
								memory_order_relaxed));
	}
	atomic_store_explicit(&suppressing_news, true, memory_order_relaxed);
}

bool rv_ratelimit_ok(struct rv_ratelimit *rl)
{
	return rv_ratelimit_ok_at(rl, rv_coarse_now_ns());
}

bool rv_ratelimit_ok_at(struct rv_ratelimit *rl, uint64_t now)
{
	const uint64_t slack = (RV_RATELIMIT_BURST - 1) * RV_RATELIMIT_INTERVAL_NS;
	uint64_t due = atomic_load_explicit(&rl->due_ns, memory_order_relaxed);

	for (;;) {
		uint64_t from = due > now ? due : now;

		if (from - now > slack) {
			if (atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed) ==
			    0) {
				note_refusal(rl);
			}
			return false;
		}
		if (atomic_compare_exchange_weak_explicit(&rl->due_ns, &due,
							  from + RV_RATELIMIT_INTERVAL_NS,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			return true;
		}
	}
}

uint32_t rv_ratelimit_take_suppressed(struct rv_ratelimit *rl)
{
	return atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
}

static void log_at(enum rv_log_level level, const char *fmt, ...) RV_PRINTF(2, 3);
static void log_at(enum rv_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

bool rv_log_flush_suppressed(uint64_t now_ns)
{
	const uint64_t quiet_backlog = (RV_RATELIMIT_BURST - 2) * RV_RATELIMIT_INTERVAL_NS;
	bool left = false;

	for (struct rv_ratelimit *rl =
		     atomic_load_explicit(&suppressing_sites, memory_order_acquire);
	     rl != NULL; rl = rl->next) {
		uint32_t n;

		if (atomic_load_explicit(&rl->suppressed, memory_order_relaxed) == 0) {
			continue;
		}
		/* Quiet: two lines would be allowed now, so its last refusal
		 * was over an interval ago (one is refused with less than one
		 * allowed). Until then its next line carries the count. */
		if (now_ns != UINT64_MAX &&
		    atomic_load_explicit(&rl->due_ns, memory_order_relaxed) >
			    now_ns + quiet_backlog) {
			left = true;
			continue;
		}
		n = rv_ratelimit_take_suppressed(rl);
		if (n != 0) {
			log_at(rl->level, "(%u more lines like \"%s\" were suppressed; none since)",
			       n, rl->what);
		}
	}
	return left;
}

bool rv_log_suppressing(void)
{
	return atomic_exchange_explicit(&suppressing_news, false, memory_order_relaxed);
}
