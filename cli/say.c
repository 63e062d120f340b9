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

const char *rv_cli_shown(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s) < len ? strlen(s) : len - 1;

	memcpy(buf, s, n);
	buf[n] = '\0';
	rv_log_sanitize(buf, n);
	/* One message, one line: the log joins lines, a terminal shows them
	 * (an option named "--x\nconfiguration OK": round-forty-four tester
	 * 209). */
	for (char *c = buf; *c; c++) {
		*c = *c == '\n' || *c == '\t' ? '?' : *c;
	}
	return buf;
}

/* say prints |msg| as an error or a warning (say.h). */
static void say(bool warn, const char *msg)
{
	char buf[1024];

	if (in_log_form()) {
		if (warn) {
			rv_warnx("%s", msg);
		} else {
			rv_fatal("%s", msg);
		}
		return;
	}
	fprintf(stderr, "ringvpn: %s%s\n", warn ? "warning: " : "",
		rv_cli_shown(msg, buf, sizeof(buf)));
}

static void vsay(bool warn, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	say(warn, buf);
}

void rv_cli_say_err(const char *msg)
{
	say(false, msg);
}

void rv_cli_say_errf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(false, fmt, ap);
	va_end(ap);
}

void rv_cli_say_warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(true, fmt, ap);
	va_end(ap);
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

bool rv_cli_value_looks_like_option(char *const *argv, int optind, const char *optarg)
{
	return optarg && optind >= 2 && optarg == argv[optind - 1] && !strncmp(optarg, "--", 2);
}

int rv_cli_long_given_value(const struct option *opts, const char *arg, int letter)
{
	size_t n;

	if (letter == 0 || strncmp(arg, "--", 2) != 0) {
		return 0;
	}
	n = strcspn(arg + 2, "=");
	if (arg[2 + n] != '=') {
		return 0;
	}
	for (const struct option *o = opts; o->name; o++) {
		if (o->val == letter && strncmp(o->name, arg + 2, n) == 0) {
			return strlen(o->name) == n && n != 0 ? 1 : 2;
		}
	}
	return 0;
}

const char *rv_cli_cut_short(char *const *argv, int optind, const char *optarg, const char *name,
			     int *out_len)
{
	/* The option's word: the last one read, or the one before it when
	 * its value came as a word of its own (which may begin with "--"
	 * too: `--socket --json`). */
	const char *a = optarg && optind >= 2 && optarg == argv[optind - 1] ? argv[optind - 2]
									    : argv[optind - 1];
	size_t n;

	if (strncmp(a, "--", 2) != 0) {
		return NULL;
	}
	n = strcspn(a + 2, "=");
	if (n >= strlen(name)) {
		return NULL;
	}
	*out_len = (int)n;
	return a + 2;
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

/* A 0xc2 that ended the bytes shown so far, held back: with the byte that
 * comes next it may be a C1 control (a chunk's or a write's boundary let
 * one through: round-forty-five tester 210). */
static bool c2_held;

/* shown_write is stderr's write for the commands that echo what they were
 * given (a socket path, an option, a command's name): what the log shows
 * as '?' (rv_log_sanitize), so that no escape sequence reaches the terminal
 * (an unknown command set its title: round-forty-four tester 209). */
static ssize_t shown_write(void *cookie, const char *p, size_t n)
{
	char buf[513];
	size_t done = 0;

	(void)cookie;
	while (done < n) {
		size_t k = c2_held, take = n - done < sizeof(buf) - k ? n - done : sizeof(buf) - k;

		buf[0] = (char)0xc2; /* the held one, if any, comes first */
		memcpy(buf + k, p + done, take);
		k += take;
		done += take;
		c2_held = (unsigned char)buf[k - 1] == 0xc2;
		k -= c2_held;
		rv_log_sanitize(buf, k);
		if (!write_all(buf, k)) {
			return -1;
		}
	}
	return (ssize_t)n;
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
