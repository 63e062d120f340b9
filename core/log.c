/*
 * log.c — line-at-a-time logging to stderr and per-call-site rate limits.
 */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

static _Atomic int log_level = RV_LOG_INFO;
static const char *_Atomic log_prefix = "ringvpn";

void rv_log_set_level(enum rv_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum rv_log_level rv_log_get_level(void)
{
	return (enum rv_log_level)atomic_load(&log_level);
}

void rv_log_set_prefix(const char *prefix)
{
	atomic_store(&log_prefix, prefix);
}

static void RV_PRINTF(3, 0) vlog(enum rv_log_level level, int err, const char *fmt, va_list ap)
{
	static const char *const names[] = { "fatal", "warn", "info", "debug" };
	char line[1024];
	size_t off;
	int n;

	if ((int)level > atomic_load(&log_level)) {
		return;
	}
	n = snprintf(line, sizeof(line), "%s[%d] %s: ", atomic_load(&log_prefix), (int)getpid(),
		     names[level]);
	off = n < 0 ? 0 : (size_t)n;
	if (off < sizeof(line)) {
		n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
		off += n < 0 ? 0 : (size_t)n;
	}
	if (err != 0 && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, ": %s",
			     strerror(err < 0 ? -err : err));
		off += n < 0 ? 0 : (size_t)n;
	}
	if (off >= sizeof(line) - 1) {
		off = sizeof(line) - 2;
	}
	line[off++] = '\n';
	/* One write per line so lines from several threads never interleave. */
	ssize_t w = write(STDERR_FILENO, line, off);
	(void)w;
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

bool rv_ratelimit_ok(struct rv_ratelimit *rl)
{
	uint64_t now = rv_coarse_now_ns();
	uint64_t next = atomic_load_explicit(&rl->next_ns, memory_order_relaxed);

	if (now >= next) {
		/* A new interval: whoever wins the exchange resets the burst. */
		if (atomic_compare_exchange_strong(&rl->next_ns, &next,
						   now + RV_RATELIMIT_INTERVAL_NS)) {
			atomic_store_explicit(&rl->burst_used, 0, memory_order_relaxed);
		}
	}
	if (atomic_fetch_add_explicit(&rl->burst_used, 1, memory_order_relaxed) <
	    RV_RATELIMIT_BURST) {
		return true;
	}
	atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
	return false;
}
