/*
 * log.h — the four kinds of log call (rule #12 in STYLE.md).
 *
 * rv_warn appends strerror(-err) to the message; rv_warnx does not;
 * rv_info/rv_debug are informational; rv_fatal is for startup only and
 * still returns (only cli/ may exit). Lines go to stderr, one write(2) per
 * line, so they are safe to call from any thread, in one of three formats
 * (enum rv_log_format):
 *
 *   text     server[1234] info: message
 *   journal  <6>message          (syslog priority; journald adds the rest)
 *   json     {"ts":"2026-11-29T17:00:00.123Z","level":"info","role":"server",
 *             "pid":1234,"msg":"message"}
 *
 * rv_ratelimit() is a token bucket per call site: per-packet problems log
 * through it so a flood of bad input costs a counter increment, not a write.
 */
#ifndef RV_CORE_LOG_H
#define RV_CORE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

enum rv_log_level {
	RV_LOG_FATAL = 0,
	RV_LOG_WARN = 1,
	RV_LOG_INFO = 2,
	RV_LOG_DEBUG = 3,
};

/* enum rv_log_format: the form of each line (see the top of this file).
 * AUTO is resolved by the caller (cli/ looks at JOURNAL_STREAM); log.c
 * prints it as TEXT. */
enum rv_log_format {
	RV_LOG_FMT_AUTO = 0,
	RV_LOG_FMT_TEXT,
	RV_LOG_FMT_JOURNAL,
	RV_LOG_FMT_JSON,
	/* `-n`'s own form, for a check run by hand (not a name the
	 * configuration takes): warnings and errors as "ringvpn: warning: ..."
	 * and "ringvpn: ...", like the check's own lines; the rest as TEXT. */
	RV_LOG_FMT_CHECK,
};

/* rv_log_set_format selects the line format (default TEXT). Call it before
 * threads start logging. */
void rv_log_set_format(enum rv_log_format fmt);
enum rv_log_format rv_log_get_format(void);

/* rv_log_format_from_name: the format named |name| ("auto", "text",
 * "journal", "json"), in *out; false for another name. */
bool rv_log_format_from_name(const char *name, enum rv_log_format *out);

/* rv_log_set_level sets the most verbose level printed (default RV_LOG_INFO). */
void rv_log_set_level(enum rv_log_level level);
enum rv_log_level rv_log_get_level(void);

/* rv_log_open sets up where lines go now rather than at the first line (a
 * terminal or FIFO gets a descriptor of its own: core/log.c): call it
 * early, before privileges are dropped or descriptors counted. */
void rv_log_open(void);

/* rv_log_set_prefix sets a short tag (e.g. "server") printed on each line. The
 * string is borrowed and must outlive all logging. */
void rv_log_set_prefix(const char *prefix);

/* rv_warn logs |fmt| followed by ": " and strerror(|err|); |err| may be
 * negative (-errno) or positive. */
void rv_warn(int err, const char *fmt, ...) RV_PRINTF(2, 3);
void rv_warnx(const char *fmt, ...) RV_PRINTF(1, 2);
void rv_info(const char *fmt, ...) RV_PRINTF(1, 2);
void rv_debug(const char *fmt, ...) RV_PRINTF(1, 2);
void rv_fatal(const char *fmt, ...) RV_PRINTF(1, 2);

/* rv_log_sanitize replaces in place, in |len| bytes of text, what would act
 * on a terminal rather than be shown: control characters but newline and
 * tab, DEL, and the C1 controls of UTF-8 (U+0080..U+009F), each byte by
 * '?'. Every log line goes through it; so do management replies the CLI
 * prints (a configuration value or a name may be quoted in them). */
void rv_log_sanitize(char *s, size_t len);

/* rv_shown_ascii copies |s| into |out| (|len| bytes, cut to fit), each byte
 * outside printable ASCII as '?': for names that may hold nothing else (a
 * certificate name, a link name as status shows it). Returns |out|. */
const char *rv_shown_ascii(char *out, size_t len, const char *s);

/* struct rv_ratelimit limits a call site's lines: a zero-initialised one
 * allows RV_RATELIMIT_BURST lines at once, then one per
 * RV_RATELIMIT_INTERVAL_NS, and a burst again after as long a quiet spell
 * (a token bucket, kept as the time its next line is due). One with |what|
 * set (the rv_warnx_rl family's, always static) joins, at its first
 * refusal, the list rv_log_flush_suppressed walks; |level|, |what| and
 * |next| are that list's. */
struct rv_ratelimit {
	_Atomic uint64_t due_ns;
	_Atomic uint32_t suppressed;
	_Atomic bool listed;
	enum rv_log_level level;
	const char *what;
	struct rv_ratelimit *next;
};

#define RV_RATELIMIT_BURST 10
#define RV_RATELIMIT_INTERVAL_NS 1000000000ull

/* rv_ratelimit_ok returns true if a line may be logged now, else counts it
 * as suppressed. Safe from any thread; never blocks. */
bool rv_ratelimit_ok(struct rv_ratelimit *rl);

/* rv_ratelimit_ok_at is rv_ratelimit_ok at |now_ns| (CLOCK_MONOTONIC, as
 * rv_coarse_now_ns), for a caller that has the time already or keeps its
 * own (a test). */
bool rv_ratelimit_ok_at(struct rv_ratelimit *rl, uint64_t now_ns);

/* rv_ratelimit_take_suppressed returns how many lines were refused since
 * the last call, and starts that count again. */
uint32_t rv_ratelimit_take_suppressed(struct rv_ratelimit *rl);

/* rv_log_flush_suppressed logs, for each rv_warnx_rl-family call site that
 * refused lines and has refused none for over a RV_RATELIMIT_INTERVAL_NS
 * (two lines would be allowed at |now_ns|, CLOCK_MONOTONIC), how many it
 * refused, naming the site by its format: otherwise that count would wait
 * for the site's next line, which may never come. UINT64_MAX says them all
 * (at exit). Returns whether a site still holds a count. Safe from any
 * thread. */
bool rv_log_flush_suppressed(uint64_t now_ns);

/* rv_log_suppressing returns whether a call site has refused a line since
 * the last call: whoever calls rv_log_flush_suppressed starts from it. */
bool rv_log_suppressing(void);

/* rv_warnx_rl logs like rv_warnx at most at the rate allowed by a static
 * bucket private to the call site; a line after some were refused says
 * how many. rv_warnx_rl_or logs when |force| too, past the limit: a line
 * that must be said once whatever others used up (the first of its kind
 * for one peer, while another peer floods the call site). rv_info_rl is
 * rv_warnx_rl at level info. */
#define rv_warnx_rl(...) rv_warnx_rl_or(false, __VA_ARGS__)
#define rv_warnx_rl_or(force, fmt, ...) \
	rv_log_rl_or(RV_LOG_WARN, rv_warnx, force, fmt, fmt, ##__VA_ARGS__)
#define rv_info_rl(fmt, ...) rv_log_rl_or(RV_LOG_INFO, rv_info, false, fmt, fmt, ##__VA_ARGS__)
/* rv_warnx_rl_as: rv_warnx_rl whose lines, when some are refused, are
 * named |what| (a constant string), not by their format: call sites that
 * share a format but not a limit are told apart in the count's line. */
#define rv_warnx_rl_as(what, fmt, ...) \
	rv_log_rl_or(RV_LOG_WARN, rv_warnx, false, what, fmt, ##__VA_ARGS__)
#define rv_log_rl_or(lvl, log_fn, force, what_, fmt, ...)                                     \
	do {                                                                                  \
		static struct rv_ratelimit rl__ = { .level = (lvl), .what = (what_) };        \
		if ((force) || rv_ratelimit_ok(&rl__)) {                                      \
			uint32_t n__ = rv_ratelimit_take_suppressed(&rl__);                   \
			if (n__ != 0) {                                                       \
				log_fn("(%u more lines like the next were suppressed)", n__); \
			}                                                                     \
			log_fn(fmt, ##__VA_ARGS__);                                           \
		}                                                                             \
	} while (0)

#endif /* RV_CORE_LOG_H */
