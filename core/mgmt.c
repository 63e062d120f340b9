/*
 * mgmt.c — the management request grammar (see mgmt.h): one table, one
 * strict parser, one formatter.
 */
#include "core/mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

const struct rv_mgmt_cmd_info rv_mgmt_cmds[RV_MGMT_NUM_CMDS] = {
	[RV_MGMT_STATUS] = { "status", "[human|json|prometheus|kv] [end]", false,
			     "show the state, sessions and counters" },
	[RV_MGMT_KICK] = { "kick", "NAME", true,
			   "end NAME's session now (GOODBYE kicked) and release it" },
	[RV_MGMT_REKEY] = { "rekey", "[NAME]", true,
			    "start a new key epoch for every session, or NAME's" },
	[RV_MGMT_RELOAD] = { "reload", "", true,
			     "re-read the configuration and apply what can be applied" },
	[RV_MGMT_LOG_LEVEL] = { "log-level", "error|warn|info|debug", true,
				"change how much is logged" },
};

static const char *const format_names[] = {
	[RV_MGMT_HUMAN] = "human",
	[RV_MGMT_JSON] = "json",
	[RV_MGMT_PROMETHEUS] = "prometheus",
	[RV_MGMT_KV] = "kv",
};

static const char *const level_names[] = {
	[RV_LOG_FATAL] = "error", /* fatal and other errors only ("fatal" is taken too) */
	[RV_LOG_WARN] = "warn",
	[RV_LOG_INFO] = "info",
	[RV_LOG_DEBUG] = "debug",
};

const char *rv_mgmt_format_name(enum rv_mgmt_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : "?";
}

const char *rv_mgmt_level_name(int level)
{
	return level >= 0 && (size_t)level < sizeof(level_names) / sizeof(level_names[0])
		       ? level_names[level]
		       : "?";
}

/* word takes the next space-separated word of [*p, end) into |out|.
 * Returns its length (0: none left), or -1 if longer than |out| holds. */
static int word(const char **p, const char *end, char *out, size_t out_len)
{
	const char *s = *p, *e;

	while (s < end && *s == ' ') {
		s++;
	}
	e = s;
	while (e < end && *e != ' ') {
		e++;
	}
	*p = e;
	if ((size_t)(e - s) >= out_len) {
		return -1;
	}
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return (int)(e - s);
}

static int lookup(const char *w, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(w, names[i])) {
			return (int)i;
		}
	}
	return -1;
}

int rv_mgmt_parse(struct rv_mgmt_req *out, const char *buf, size_t len, char *err, size_t err_len)
{
	const char *p = buf, *end = buf + len;
	char w[RV_MGMT_NAME_MAX + 2], extra[2];
	int n, i;

	memset(out, 0, sizeof(*out));
	if (len > RV_MGMT_MAX_REQ) {
		snprintf(err, err_len, "request longer than %d bytes", RV_MGMT_MAX_REQ);
		return -EINVAL;
	}
	if (end > p && end[-1] == '\n') {
		end--;
		if (end > p && end[-1] == '\r') {
			end--;
		}
	}
	for (const char *q = p; q < end; q++) {
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) {
			snprintf(err, err_len, "request byte %zu is not printable ASCII",
				 (size_t)(q - buf));
			return -EINVAL;
		}
	}
	n = word(&p, end, w, sizeof(w));
	if (n <= 0) {
		/* -1: a word too long for any command (it said "empty"). */
		snprintf(err, err_len,
			 "%s request (commands: status, kick, rekey, reload, log-level)",
			 n < 0 ? "unknown command in" : "empty");
		return -EINVAL;
	}
	for (i = 0; i < RV_MGMT_NUM_CMDS; i++) {
		if (!strcmp(w, rv_mgmt_cmds[i].name)) {
			break;
		}
	}
	if (i == RV_MGMT_NUM_CMDS) {
		snprintf(err, err_len,
			 "unknown command '%.32s' (commands: status, kick, rekey, "
			 "reload, log-level)",
			 w);
		return -EINVAL;
	}
	out->cmd = (enum rv_mgmt_cmd)i;
	n = word(&p, end, w, sizeof(w));
	if (n < 0 || (n > RV_MGMT_NAME_MAX)) {
		snprintf(err, err_len, "%s: argument longer than %d bytes", rv_mgmt_cmds[i].name,
			 RV_MGMT_NAME_MAX);
		return -EINVAL;
	}
	switch (out->cmd) {
	case RV_MGMT_STATUS:
		if (n > 0 && strcmp(w, "end") != 0) {
			int f = lookup(w, format_names,
				       sizeof(format_names) / sizeof(format_names[0]));

			if (f < 0) {
				snprintf(err, err_len,
					 "status: unknown format '%.32s' (human, json, prometheus, "
					 "kv)",
					 w);
				return -EINVAL;
			}
			out->format = (enum rv_mgmt_format)f;
			n = word(&p, end, w, sizeof(w));
		}
		if (n > 0 && !strcmp(w, "end")) {
			out->end_mark = true;
		} else if (n != 0) {
			snprintf(err, err_len, "status: too many arguments");
			return -EINVAL;
		}
		break;
	case RV_MGMT_KICK:
		if (n == 0) {
			snprintf(err, err_len, "kick: which session? (kick NAME)");
			return -EINVAL;
		}
		memcpy(out->name, w, (size_t)n + 1);
		break;
	case RV_MGMT_REKEY:
		if (n > 0) {
			memcpy(out->name, w, (size_t)n + 1);
		}
		break;
	case RV_MGMT_RELOAD:
		if (n > 0) {
			snprintf(err, err_len, "reload takes no argument");
			return -EINVAL;
		}
		break;
	case RV_MGMT_LOG_LEVEL:
		out->level =
			n > 0 ? lookup(w, level_names, sizeof(level_names) / sizeof(level_names[0]))
			      : -1;
		if (out->level < 0 && n > 0 && !strcmp(w, "fatal")) {
			out->level = RV_LOG_FATAL;
		}
		if (out->level < 0) {
			snprintf(err, err_len, "log-level: expected error, warn, info or debug");
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	if (word(&p, end, extra, sizeof(extra)) != 0) {
		snprintf(err, err_len, "%s: too many arguments", rv_mgmt_cmds[i].name);
		return -EINVAL;
	}
	return 0;
}

int rv_mgmt_format(char *buf, size_t len, const struct rv_mgmt_req *req)
{
	struct rv_mgmt_req check;
	char err[128];
	const char *arg = "";
	int n;

	if ((unsigned)req->cmd >= RV_MGMT_NUM_CMDS) {
		return -EINVAL;
	}
	switch (req->cmd) {
	case RV_MGMT_STATUS:
		arg = rv_mgmt_format_name(req->format);
		break;
	case RV_MGMT_KICK:
	case RV_MGMT_REKEY:
		arg = req->name;
		break;
	case RV_MGMT_LOG_LEVEL:
		arg = rv_mgmt_level_name(req->level);
		break;
	default:
		break;
	}
	n = snprintf(buf, len, "%s%s%s%s\n", rv_mgmt_cmds[req->cmd].name, arg[0] ? " " : "", arg,
		     req->cmd == RV_MGMT_STATUS && req->end_mark ? " end" : "");
	if (n < 0 || (size_t)n >= len) {
		return -ENOSPC;
	}
	/* What we send must parse: refuse names with spaces and the like,
	 * and must parse as the name given (" a" was sent as "a", and " "
	 * as no name: every session to rekey). */
	if (rv_mgmt_parse(&check, buf, (size_t)n, err, sizeof(err))) {
		return -EINVAL;
	}
	if ((req->cmd == RV_MGMT_KICK || req->cmd == RV_MGMT_REKEY) &&
	    strcmp(check.name, req->name) != 0) {
		return -EINVAL;
	}
	return 0;
}
