/*
 * config.h — the configuration of `ringvpn server` and `ringvpn client`.
 *
 * File format: one `key = value` per line; `#` starts a comment (anywhere on
 * a line), blank lines are ignored, keys are lower-case, values run to the
 * end of the line with surrounding blanks trimmed. `route` and `fixed` may
 * repeat; any other key given twice is an error. Every error names
 * file:line (or the flag) and what to do about it. The keys are documented
 * in conf/server.conf.example and conf/client.conf.example.
 *
 * Durations accept a unit suffix: `ms`, `s` (default), `m`.
 *
 * A struct rv_config is a plain value (no allocation): rv_config_defaults,
 * then rv_config_parse_buf/rv_config_load for the file, then rv_config_set
 * for command-line overrides, then rv_config_validate.
 */
#ifndef RV_CORE_CONFIG_H
#define RV_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

enum rv_config_role {
	RV_CONFIG_SERVER = 1,
	RV_CONFIG_CLIENT = 2,
};

enum {
	RV_CONFIG_PATH_MAX = 256,
	RV_CONFIG_NAME_MAX = 64, /* certificate common name (matches RV_TLS_CN_MAX) */
	RV_CONFIG_HOST_MAX = 256,
	RV_CONFIG_IFNAME_MAX = 16, /* IFNAMSIZ */
	RV_CONFIG_MAX_ROUTES = 32, /* matches RV_CTRL_MAX_ROUTES */
	RV_CONFIG_MAX_FIXED = 256,
	RV_CONFIG_LINE_MAX = 1024,
	RV_CONFIG_DEFAULT_PORT = 4433,
};

/* struct rv_prefix is an address with a prefix length (a route or a pool). */
struct rv_prefix {
	struct rv_ip_addr addr;
	uint8_t len;
};

/* struct rv_config_fixed pins the addresses of one certificate name. */
struct rv_config_fixed {
	char name[RV_CONFIG_NAME_MAX + 1];
	struct rv_ip_addr v4; /* family 0: from the pool */
	struct rv_ip_addr v6; /* family 0: from the pool */
};

struct rv_config {
	enum rv_config_role role;

	/* both */
	char ca[RV_CONFIG_PATH_MAX];
	char cert[RV_CONFIG_PATH_MAX];
	char key[RV_CONFIG_PATH_MAX];
	char crl[RV_CONFIG_PATH_MAX]; /* "" = no revocation list */
	char tun[RV_CONFIG_IFNAME_MAX];
	char status_socket[108]; /* sun_path */
	unsigned workers;	 /* 0 = one per CPU */
	bool pin_workers;
	bool offload_tun, offload_gso, offload_gro;
	int log_level;		/* enum rv_log_level */
	char admin_group[32];	/* owner group of status_socket ("": root) */
	bool admin_group_write; /* admin_group may also change state */
	unsigned mtu;		/* server: pushed to clients; client: the most it takes */

	/* server */
	char listen_host[RV_CONFIG_HOST_MAX]; /* "" = all addresses */
	uint16_t listen_port;
	uint16_t data_port;
	struct rv_prefix pool4, pool6; /* family 0: disabled */
	struct rv_prefix routes[RV_CONFIG_MAX_ROUTES];
	size_t num_routes;
	struct rv_config_fixed fixed[RV_CONFIG_MAX_FIXED];
	size_t num_fixed;
	uint32_t keepalive_ms;
	uint32_t dead_peer_ms;
	uint32_t rekey_ms;
	uint64_t rekey_packets; /* 0 = data-plane default */
	uint32_t handshake_timeout_ms;
	unsigned max_handshaking;
	unsigned max_handshaking_per_source;
	char lease_file[RV_CONFIG_PATH_MAX]; /* "" = leases kept in memory only */
	uint32_t lease_time_ms;		     /* how long a returning client gets its address */
	unsigned max_clients;
	uint8_t cipher; /* enum rv_aead_alg */

	/* client */
	char server_host[RV_CONFIG_HOST_MAX];
	uint16_t server_port;
	char server_name[RV_CONFIG_HOST_MAX]; /* "" = server_host */
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
};

/* rv_config_defaults fills |c| with the defaults of |role|. */
void rv_config_defaults(struct rv_config *c, enum rv_config_role role);

/* rv_config_parse_buf applies the `key = value` lines of |len| bytes at |buf|
 * (need not be NUL-terminated) to |c|; |name| names the source in errors.
 * Returns 0 or -EINVAL with "name:line: problem; what to do" in |err|. */
int rv_config_parse_buf(struct rv_config *c, const char *name, const char *buf, size_t len,
			char *err, size_t err_len);

/* rv_config_load reads and parses the file |path|. Returns 0, -EINVAL (parse
 * error) or -errno (cannot read; |err| says which file). */
int rv_config_load(struct rv_config *c, const char *path, char *err, size_t err_len);

/* rv_config_set applies one setting (a command-line override: repeated keys
 * replace instead of failing). |origin| names it in errors (e.g. "--listen").
 * Returns 0 or -EINVAL. */
int rv_config_set(struct rv_config *c, const char *origin, const char *key, const char *value,
		  char *err, size_t err_len);

/* rv_config_validate checks cross-field rules (required files, pools,
 * timers, fixed addresses inside pools and unique). Returns 0 or -EINVAL. */
int rv_config_validate(const struct rv_config *c, char *err, size_t err_len);

/* rv_config_find_fixed returns the fixed entry for certificate name |name|,
 * or NULL. */
const struct rv_config_fixed *rv_config_find_fixed(const struct rv_config *c, const char *name);

/* rv_prefix_parse parses "addr/len" (or "addr", meaning a host prefix).
 * Returns 0 or -EINVAL. */
int rv_prefix_parse(struct rv_prefix *out, const char *s);

/* rv_prefix_contains: is |a| inside |p|? */
bool rv_prefix_contains(const struct rv_prefix *p, const struct rv_ip_addr *a);

#endif /* RV_CORE_CONFIG_H */
