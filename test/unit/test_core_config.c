/*
 * test_core_config.c — the config parser (core/config.h): a full server and
 * client file, value forms (durations, host:port, prefixes, fixed entries),
 * and a numbered table of bad files, each rejected with file:line and its
 * reason.
 *
 *   build/<dir>/test/test_core_config
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "crypto/aead.h"

static struct rv_config cfg;
static char err[1024];

static int parse(enum rv_config_role role, const char *text)
{
	rv_config_defaults(&cfg, role);
	err[0] = '\0';
	return rv_config_parse_buf(&cfg, "t.conf", text, strlen(text), err, sizeof(err));
}

Test(config, server_file)
{
	static const char text[] =
		"# a server\n"
		"listen = [::1]:5000   # control port\n"
		"data_port = 5001\r\n"
		"  tun=rvx  \n"
		"\n"
		"ca = /etc/ca.crt\ncert = /etc/s.crt\nkey = /etc/s.key\ncrl = /etc/ca.crl\n"
		"pool4 = 10.1.0.0/16\npool6 = fd01::/64\n"
		"route = 192.168.0.0/24\nroute = fd02::/48\n"
		"fixed = alice 10.1.0.10 fd01::10\nfixed = bob fd01::20\n"
		"keepalive = 5s\ndead_peer_timeout = 1m\nrekey_interval = 30\n"
		"rekey_packets = 1000000\nhandshake_timeout = 1500ms\nmax_handshaking = 8\n"
		"max_clients = 100\ncipher = chacha20-poly1305\nworkers = 2\npin_workers = yes\n"
		"offload_gso = off\nlog_level = debug\nmtu = 1380\nstatus_socket = /tmp/s.sock\n";
	char a[64];

	cr_assert_eq(parse(RV_CONFIG_SERVER, text), 0, "%s", err);
	cr_assert_eq(rv_config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.listen_host, "::1");
	cr_assert_eq(cfg.listen_port, 5000);
	cr_assert_eq(cfg.data_port, 5001);
	cr_assert_str_eq(cfg.tun, "rvx");
	cr_assert_str_eq(cfg.crl, "/etc/ca.crl");
	cr_assert_eq(cfg.pool4.len, 16);
	cr_assert_str_eq(rv_ip_addr_str(&cfg.pool6.addr, a, sizeof(a)), "fd01::");
	cr_assert_eq(cfg.num_routes, 2);
	cr_assert_eq(cfg.routes[1].addr.family, AF_INET6);
	cr_assert_eq(cfg.num_fixed, 2);
	cr_assert_not_null(rv_config_find_fixed(&cfg, "alice"));
	cr_assert_eq(rv_config_find_fixed(&cfg, "bob")->v4.family, 0);
	cr_assert_null(rv_config_find_fixed(&cfg, "carol"));
	cr_assert_eq(cfg.keepalive_ms, 5000);
	cr_assert_eq(cfg.dead_peer_ms, 60000);
	cr_assert_eq(cfg.rekey_ms, 30000);
	cr_assert_eq(cfg.handshake_timeout_ms, 1500);
	cr_assert_eq(cfg.rekey_packets, 1000000);
	cr_assert_eq(cfg.cipher, RV_AEAD_CHACHA20POLY1305);
	cr_assert(cfg.pin_workers);
	cr_assert_not(cfg.offload_gso);
	cr_assert(cfg.offload_gro);
	cr_assert_eq(cfg.log_level, RV_LOG_DEBUG);
	cr_assert_eq(cfg.mtu, 1380);
}

Test(config, client_file_and_overrides)
{
	cr_assert_eq(parse(RV_CONFIG_CLIENT, "server = vpn.example.org\nca = a\ncert = b\nkey = c\n"
					     "reconnect_min = 100ms\nreconnect_max = 10s\n"),
		     0, "%s", err);
	cr_assert_str_eq(cfg.server_host, "vpn.example.org");
	cr_assert_eq(cfg.server_port, RV_CONFIG_DEFAULT_PORT);
	cr_assert_eq(rv_config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
	/* Overrides replace values instead of counting as duplicates. */
	cr_assert_eq(rv_config_set(&cfg, "--server", "server", "[fd00::1]:443", err, sizeof(err)),
		     0);
	cr_assert_str_eq(cfg.server_host, "fd00::1");
	cr_assert_eq(cfg.server_port, 443);
	cr_assert_eq(rv_config_set(&cfg, "--server", "server", "10.0.0.1:7", err, sizeof(err)), 0);
	cr_assert_str_eq(cfg.server_host, "10.0.0.1");
	cr_assert_eq(rv_config_set(&cfg, "--reconnect-max", "reconnect_max", "50ms", err,
				   sizeof(err)),
		     0);
	cr_assert_eq(rv_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "reconnect_max"), "%s", err);
	cr_assert_eq(rv_config_set(&cfg, "--pool4", "pool4", "10.1.0.0/24", err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "--pool4: key 'pool4' is not a client setting"), "%s", err);
}

Test(config, validation_of_required_and_cross_fields)
{
	cr_assert_eq(parse(RV_CONFIG_SERVER, "cert = b\nkey = c\n"), 0);
	cr_assert_eq(rv_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "'ca' is not set"), "%s", err);
	cr_assert_eq(parse(RV_CONFIG_CLIENT, "ca = a\ncert = b\nkey = c\n"), 0);
	cr_assert_eq(rv_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "'server' is not set"), "%s", err);

	static const struct {
		const char *text;
		const char *reason;
	} bad[] = {
		{ "keepalive = 10\ndead_peer_timeout = 10\n", "must be longer than keepalive" },
		{ "keepalive = 1500ms\n", "whole seconds" },
		{ "rekey_interval = 10m\n", "rekey_interval must be at most" },
		{ "pool4 = none\npool6 = none\n", "both none" },
		{ "fixed = a 10.0.0.5\n", "outside pool4" },
		{ "fixed = a 10.99.0.5\nfixed = b 10.99.0.5\n", "share an address" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];

		snprintf(text, sizeof(text), "ca = a\ncert = b\nkey = c\n%s", bad[i].text);
		cr_assert_eq(parse(RV_CONFIG_SERVER, text), 0, "case %zu: %s", i, err);
		cr_assert_eq(rv_config_validate(&cfg, err, sizeof(err)), -EINVAL, "case %zu", i);
		cr_assert(strstr(err, bad[i].reason), "case %zu: '%s'", i, err);
	}
}

/* Bad files: each must fail to parse with this "t.conf:LINE:" prefix and
 * reason text. */
static const struct {
	enum rv_config_role role;
	const char *text;
	const char *where;
	const char *reason;
} bad_files[] = {
	/* 0 */ { RV_CONFIG_SERVER, "bogus = 1\n", "t.conf:1:", "unknown key 'bogus'" },
	/* 1 */ { RV_CONFIG_SERVER, "\n\nserver = x\n", "t.conf:3:", "not a server setting" },
	/* 2 */ { RV_CONFIG_CLIENT, "pool4 = 10.0.0.0/24\n", "t.conf:1:", "not a client setting" },
	/* 3 */ { RV_CONFIG_SERVER, "tun = a\ntun = b\n", "t.conf:2:", "given twice" },
	/* 4 */ { RV_CONFIG_SERVER, "just words\n", "t.conf:1:", "expected 'key = value'" },
	/* 5 */ { RV_CONFIG_SERVER, "= 5\n", "t.conf:1:", "missing key" },
	/* 6 */ { RV_CONFIG_SERVER, "mtu =   # nothing\n", "t.conf:1:", "has no value" },
	/* 7 */ { RV_CONFIG_SERVER, "mtu = 500\n", "t.conf:1:", "outside 576..9000" },
	/* 8 */ { RV_CONFIG_SERVER, "mtu = -1\n", "t.conf:1:", "not a non-negative integer" },
	/* 9 */ { RV_CONFIG_SERVER, "mtu = 1400x\n", "t.conf:1:", "not a non-negative integer" },
	/* 10 */ { RV_CONFIG_SERVER, "keepalive = 5h\n", "t.conf:1:", "not a duration" },
	/* 11 */ { RV_CONFIG_SERVER, "keepalive = 500ms\n", "t.conf:1:", "too short" },
	/* 12 */ { RV_CONFIG_SERVER, "keepalive = 99999999\n", "t.conf:1:", "longer than one day" },
	/* 13 */ { RV_CONFIG_SERVER, "pin_workers = maybe\n", "t.conf:1:", "not a boolean" },
	/* 14 */ { RV_CONFIG_SERVER, "pool4 = fd00::/64\n", "t.conf:1:", "not an IPv4 prefix" },
	/* 15 */ { RV_CONFIG_SERVER, "pool4 = 10.0.0.1/24\n", "t.conf:1:", "host bits set" },
	/* 16 */ { RV_CONFIG_SERVER, "pool4 = 10.0.0.0/31\n", "t.conf:1:", "prefix length" },
	/* 17 */ { RV_CONFIG_SERVER, "pool6 = fd00::/200\n", "t.conf:1:", "not an IPv6 prefix" },
	/* 18 */ { RV_CONFIG_SERVER, "route = 10.0.0.0/33\n", "t.conf:1:", "not a prefix" },
	/* 19 */ { RV_CONFIG_SERVER, "route = 10.0.0.1/8\n", "t.conf:1:", "host bits" },
	/* 20 */ { RV_CONFIG_SERVER, "fixed = alice\n", "t.conf:1:", "write NAME IPV4" },
	/* 21 */
	{ RV_CONFIG_SERVER, "fixed = alice 10.1.1.1 10.1.1.2\n", "t.conf:1:", "two addresses" },
	/* 22 */
	{ RV_CONFIG_SERVER, "fixed = a 1.1.1.1\nfixed = a 1.1.1.2\n",
	  "t.conf:2:", "already has a fixed address" },
	/* 23 */ { RV_CONFIG_SERVER, "cipher = rot13\n", "t.conf:1:", "not a cipher" },
	/* 24 */ { RV_CONFIG_SERVER, "listen = 1.2.3.4:0\n", "t.conf:1:", "port must be" },
	/* 25 */ { RV_CONFIG_SERVER, "listen = [::1\n", "t.conf:1:", "missing ']'" },
	/* 26 */ { RV_CONFIG_SERVER, "listen = 99999\n", "t.conf:1:", "1..65535" },
	/* 27 */ { RV_CONFIG_CLIENT, "server = :80\n", "t.conf:1:", "empty host" },
	/* 28 */ { RV_CONFIG_SERVER, "tun = a/b\n", "t.conf:1:", "not a valid interface name" },
	/* 29 */ { RV_CONFIG_SERVER, "tun = a-name-that-is-too-long\n", "t.conf:1:", "at most 15" },
	/* 30 */ { RV_CONFIG_SERVER, "log_level = loud\n", "t.conf:1:", "not a log level" },
	/* 31 */ { RV_CONFIG_SERVER, "max_handshaking = 0\n", "t.conf:1:", "at least 1" },
	/* 32 */ { RV_CONFIG_SERVER, "workers = 1000\n", "t.conf:1:", "too large" },
};

Test(config, bad_files_name_file_line_and_reason)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		cr_assert_eq(parse(bad_files[i].role, bad_files[i].text), -EINVAL,
			     "case %zu parsed", i);
		cr_assert(strncmp(err, bad_files[i].where, strlen(bad_files[i].where)) == 0,
			  "case %zu: '%s' does not start with %s", i, err, bad_files[i].where);
		cr_assert(strstr(err, bad_files[i].reason), "case %zu: '%s' lacks '%s'", i, err,
			  bad_files[i].reason);
	}
}

Test(config, binary_and_long_lines)
{
	static const char nul[] = "mtu = 1400\nta\0x = 1\n";
	char big[RV_CONFIG_LINE_MAX + 64];

	rv_config_defaults(&cfg, RV_CONFIG_SERVER);
	cr_assert_eq(rv_config_parse_buf(&cfg, "t.conf", nul, sizeof(nul) - 1, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "t.conf:2: NUL byte"), "%s", err);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(parse(RV_CONFIG_SERVER, big), -EINVAL);
	cr_assert(strstr(err, "t.conf:1: line longer than"), "%s", err);
	/* A final line without newline still counts. */
	cr_assert_eq(parse(RV_CONFIG_SERVER, "mtu = 1400\nmtu = 1300"), -EINVAL);
	cr_assert(strstr(err, "t.conf:2:"), "%s", err);
}

Test(config, load_missing_file)
{
	rv_config_defaults(&cfg, RV_CONFIG_SERVER);
	cr_assert_eq(rv_config_load(&cfg, "/nonexistent/x.conf", err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "/nonexistent/x.conf"), "%s", err);
}

Test(config, prefix_helpers)
{
	struct rv_prefix p;
	struct rv_ip_addr a = { .family = AF_INET };

	cr_assert_eq(rv_prefix_parse(&p, "10.1.0.0/16"), 0);
	inet_pton(AF_INET, "10.1.200.3", a.a);
	cr_assert(rv_prefix_contains(&p, &a));
	inet_pton(AF_INET, "10.2.0.1", a.a);
	cr_assert_not(rv_prefix_contains(&p, &a));
	cr_assert_eq(rv_prefix_parse(&p, "fd00::1"), 0);
	cr_assert_eq(p.len, 128);
	cr_assert_eq(rv_prefix_parse(&p, "10.0.0.0/"), -EINVAL);
	cr_assert_eq(rv_prefix_parse(&p, "/8"), -EINVAL);
	cr_assert_eq(rv_prefix_parse(&p, "host.example/8"), -EINVAL);
}
