/*
 * say.c — the command line's errors and warnings (say.h).
 */
#include "cli/say.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
	fprintf(stderr, "ringvpn: %s%s\n", warn ? "warning: " : "", buf);
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
