/*
 * say.c — the command line's errors and warnings (say.h).
 */
#include "cli/say.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* in_log_form: json and journal want every line in their form, at its
 * priority (a bare line is dropped by a shipper, and journald files it at
 * the unit's default priority). */
static bool in_log_form(void)
{
	return rv_log_get_format() == RV_LOG_FMT_JOURNAL || rv_log_get_format() == RV_LOG_FMT_JSON;
}

/* say prints |msg| as an error or a warning (say.h). */
static void say(bool warn, const char *msg)
{
	char buf[1024];
	size_t n = strlen(msg) < sizeof(buf) ? strlen(msg) : sizeof(buf) - 1;

	memcpy(buf, msg, n);
	buf[n] = '\0';
	if (in_log_form()) {
		if (warn) {
			rv_warnx("%s", buf);
		} else {
			rv_fatal("%s", buf);
		}
		return;
	}
	rv_log_sanitize(buf, n);
	/* One message, one line: the log joins lines, this printed them
	 * (an option named "--x\nconfiguration OK": round-forty-four tester
	 * 209). */
	for (char *c = buf; *c; c++) {
		*c = *c == '\n' || *c == '\t' ? '?' : *c;
	}
	fprintf(stderr, "ringvpn: %s%s\n", warn ? "warning: " : "", buf);
}

/* write_all writes |n| bytes of |p| to stderr's descriptor; false when it
 * cannot. */
static bool write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* A 0xc2 that ended the last write, held back: with the byte that comes
 * next it may be a C1 control (a chunk's or a write's boundary let one
 * through: round-forty-five tester 210). */
static bool c2_held;

/* shown_write is stderr's write for the commands that echo what they were
 * given (a socket path, an option, a command's name): C0 controls but the
 * line's end and a tab, DEL and the C1 controls of UTF-8 as '?', so that
 * no escape sequence reaches the terminal (an unknown command set its
 * title: round-forty-four tester 209). */
static ssize_t shown_write(void *cookie, const char *p, size_t n)
{
	char buf[512];
	size_t k = 0;

	(void)cookie;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		bool pair = false;

		if (k + 3 > sizeof(buf)) { /* a held 0xc2 and a pair at most */
			if (!write_all(buf, k)) {
				return -1;
			}
			k = 0;
		}
		if (c2_held) {
			c2_held = false;
			if (c >= 0x80 && c <= 0x9f) {
				buf[k++] = '?';
				buf[k++] = '?';
				continue;
			}
			buf[k++] = (char)0xc2;
		}
		if (c == 0xc2 && i + 1 == n) {
			c2_held = true;
			continue;
		}
		pair = c == 0xc2 && (unsigned char)p[i + 1] >= 0x80 &&
		       (unsigned char)p[i + 1] <= 0x9f;
		if (pair) {
			buf[k++] = '?';
			buf[k++] = '?';
			i++;
		} else {
			buf[k++] =
				(c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? '?' : (char)c;
		}
	}
	return write_all(buf, k) ? (ssize_t)n : -1;
}

const char *rv_cli_shown(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; len && s[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (len) {
		buf[i] = '\0';
	}
	return buf;
}

void rv_cli_unknown_letter(const char *cmd, int letter)
{
	unsigned char c = (unsigned char)letter;
	char what[80];

	/* A byte of a multibyte character (an en dash pasted for '-') cannot
	 * be shown alone. */
	if (c > 0x20 && c < 0x7f) {
		snprintf(what, sizeof(what), "unknown option -%c (see --help)", c);
	} else {
		snprintf(what, sizeof(what),
			 "unknown option: a short option that is not an ASCII letter (see --help)");
	}
	if (cmd) {
		fprintf(stderr, "ringvpn %s: %s\n", cmd, what);
	} else {
		rv_cli_say_err(what);
	}
}

void rv_cli_stderr_shown(void)
{
	static const cookie_io_functions_t io = { .write = shown_write };
	FILE *f = fopencookie(NULL, "w", io);

	if (f) {
		setvbuf(f, NULL, _IOLBF, 0);
		stderr = f;
	}
}

void rv_cli_say_err(const char *msg)
{
	say(false, msg);
}

void rv_cli_say_errf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say(false, buf);
}

void rv_cli_say_warnf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say(true, buf);
}
