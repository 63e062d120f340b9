/*
 * test_core_mgmt.c — the management request parser (core/mgmt.c): each
 * command with its arguments, and each malformed request refused with what
 * was wrong; formatting a request and parsing it back gives the same.
 *
 *   ./build/<dir>/test/test_core_mgmt          (or: ctest -L unit -R core_mgmt)
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/mgmt.h"

static int parse(const char *line, struct rv_mgmt_req *req, char *err, size_t err_len)
{
	memset(req, 0, sizeof(*req));
	err[0] = '\0';
	return rv_mgmt_parse(req, line, strlen(line), err, err_len);
}

Test(core_mgmt, good_requests)
{
	struct rv_mgmt_req r;
	char err[256];

	cr_assert_eq(parse("status\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.cmd, RV_MGMT_STATUS);
	cr_assert_eq(r.format, RV_MGMT_HUMAN);
	cr_assert_eq(parse("status json\r\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.format, RV_MGMT_JSON);
	cr_assert_eq(parse("  status   kv", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.format, RV_MGMT_KV);
	cr_assert(!r.end_mark);
	cr_assert_eq(parse("status kv end\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.format, RV_MGMT_KV);
	cr_assert(r.end_mark);
	cr_assert_eq(parse("status end\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.format, RV_MGMT_HUMAN);
	cr_assert(r.end_mark);
	cr_assert_eq(parse("kick client1\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.cmd, RV_MGMT_KICK);
	cr_assert_str_eq(r.name, "client1");
	cr_assert_eq(parse("rekey\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(r.name, "");
	cr_assert_eq(parse("reload\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.cmd, RV_MGMT_RELOAD);
	cr_assert_eq(parse("log-level fatal\n", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.level, RV_LOG_FATAL);
}

Test(core_mgmt, bad_requests_say_what)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "\n", "empty request" },
		{ "   ", "empty request" },
		{ "frob\n", "unknown command 'frob'" },
		{ "status yaml\n", "unknown format 'yaml'" },
		{ "kick\n", "which session?" },
		{ "reload now\n", "takes no argument" },
		{ "log-level loud\n", "expected error, warn, info or debug" },
		{ "status json extra\n", "too many arguments" },
		/* What a server before the end mark says to it: the CLI's cue
		 * to ask again without (cli/mgmt.c). */
		{ "status json end extra\n", "status: too many arguments" },
		{ "status end json\n", "status: too many arguments" },
		{ "status end end\n", "status: too many arguments" },
		{ "status \x01\n", "not printable" },
	};
	struct rv_mgmt_req r;
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(parse(cases[i].line, &r, err, sizeof(err)), -EINVAL, "'%s' taken",
			     cases[i].line);
		cr_assert_not_null(strstr(err, cases[i].want), "'%s': %s", cases[i].line, err);
	}
}

/* A first word longer than any command is an unknown command, not an empty
 * request (it said "empty request"); an over-long argument says so. */
Test(core_mgmt, long_words)
{
	struct rv_mgmt_req r;
	char line[RV_MGMT_MAX_REQ], err[256];

	memset(line, 'a', 255);
	line[255] = '\0';
	cr_assert_eq(parse(line, &r, err, sizeof(err)), -EINVAL);
	cr_assert_null(strstr(err, "empty"), "%s", err);
	cr_assert_not_null(strstr(err, "unknown command"), "%s", err);
	memcpy(line, "kick ", 5);
	cr_assert_eq(parse(line, &r, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "argument longer than 64 bytes"), "%s", err);
}

Test(core_mgmt, format_parses_back)
{
	struct rv_mgmt_req in = { .cmd = RV_MGMT_KICK }, out;
	char line[RV_MGMT_MAX_REQ], err[256];

	memcpy(in.name, "site-a", 7);
	cr_assert_eq(rv_mgmt_format(line, sizeof(line), &in), 0);
	cr_assert_eq(parse(line, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.cmd, RV_MGMT_KICK);
	cr_assert_str_eq(out.name, "site-a");
}

/* The end mark is written only for a status, and parses back. */
Test(core_mgmt, end_mark_parses_back)
{
	struct rv_mgmt_req in = { .cmd = RV_MGMT_STATUS,
				  .format = RV_MGMT_PROMETHEUS,
				  .end_mark = true },
			   out;
	char line[RV_MGMT_MAX_REQ], err[256];

	cr_assert_eq(rv_mgmt_format(line, sizeof(line), &in), 0);
	cr_assert_str_eq(line, "status prometheus end\n");
	cr_assert_eq(parse(line, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.format, RV_MGMT_PROMETHEUS);
	cr_assert(out.end_mark);
	in.end_mark = false;
	cr_assert_eq(rv_mgmt_format(line, sizeof(line), &in), 0);
	cr_assert_str_eq(line, "status prometheus\n");
	in = (struct rv_mgmt_req){ .cmd = RV_MGMT_RELOAD, .end_mark = true };
	cr_assert_eq(rv_mgmt_format(line, sizeof(line), &in), 0);
	cr_assert_str_eq(line, "reload\n");
}
