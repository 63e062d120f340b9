/*
 * config.h — the configuration of `ringvpn server` and `ringvpn client`.
 *
 * File format: one `key = value` per line; `#` starts a comment (anywhere on
 * a line), blank lines are ignored, keys are lower-case, values run to the
 * end of the line with surrounding blanks trimmed. Keys marked repeatable
 * (`route`, `fixed`, `subnet`) may repeat; any other key given twice is an error.
 * Every error names file:line (or the flag) and what to do about it.
 *
 * The keys, their roles, value forms, defaults, documentation and whether a
 * reload can apply them are one table, core/config_keys.def; this header
 * exposes it (rv_config_key_at) so the command line, --help, the man page
 * and the example files are all made from it.
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
	RV_CONFIG_MAX_SUBNETS = 32, /* each is pushed to clients: routes + subnets <= 32 */
	RV_CONFIG_LINE_MAX = 1024,
	RV_CONFIG_DEFAULT_PORT = 4433,
	RV_CONFIG_METRICS_PORT = 9586,
	RV_CONFIG_MAX_KEYS = 128, /* size of the |given| bitmap */
	RV_CONFIG_MAX_SERVERS = 8,
	RV_CONFIG_MAX_ACCEPT = 16, /* accept_routes prefixes */
	RV_CONFIG_MAX_DNS = 4,	   /* = RV_CTL_MAX_DNS */
	RV_CONFIG_DOMAIN_MAX = 64, /* = RV_CTL_MAX_DOMAIN */
};

/* enum rv_config_section: the headings keys are documented under. */
enum rv_config_section {
	RV_CONFIG_SEC_NET,
	RV_CONFIG_SEC_CERT,
	RV_CONFIG_SEC_TUNNEL,
	RV_CONFIG_SEC_LIMITS,
	RV_CONFIG_SEC_DATAPLANE,
	RV_CONFIG_SEC_OPS,
	RV_CONFIG_SEC_PRIVILEGE,
	RV_CONFIG_NUM_SECTIONS,
};

enum rv_config_key_flag {
	RV_CONFIG_KEY_REPEAT = 1u << 0,	  /* may be given several times; each adds */
	RV_CONFIG_KEY_RESTART = 1u << 1,  /* a reload cannot apply a change */
	RV_CONFIG_KEY_REQUIRED = 1u << 2, /* must be given (file or flag) */
};

/* struct rv_config_key describes one key of core/config_keys.def. Every
 * string is static; |def| and |example| may be NULL and may contain
 * "{role}" (see rv_config_expand). */
struct rv_config_key {
	const char *name;
	unsigned roles; /* OR of enum rv_config_role */
	enum rv_config_section section;
	unsigned flags; /* OR of enum rv_config_key_flag */
	const char *syntax;
	const char *def;
	const char *example;
	const char *doc;
};

/* struct rv_config_server is one server a client may connect to. */
struct rv_config_server {
	char host[RV_CONFIG_HOST_MAX];
	uint16_t port;
};

/* Which pushed routes a client installs (accept_routes). */
enum rv_config_accept {
	RV_CONFIG_ACCEPT_ALL = 0,
	RV_CONFIG_ACCEPT_NONE,
	RV_CONFIG_ACCEPT_LIST, /* those inside one of accept[] */
};

/* struct rv_config_fixed pins the addresses of one certificate name. */
struct rv_config_fixed {
	char name[RV_CONFIG_NAME_MAX + 1];
	struct rv_ip_addr v4; /* family 0: from the pool */
	struct rv_ip_addr v6; /* family 0: from the pool */
};

/* client_to_client: how the server carries traffic between two clients. */
enum rv_config_c2c {
	RV_CONFIG_C2C_KERNEL = 0, /* through the server's TUN and kernel routing */
	RV_CONFIG_C2C_INTERNAL,	  /* inside the data plane, session to session */
	RV_CONFIG_C2C_OFF,	  /* dropped and counted */
};

/* pin_workers: whether worker k is bound to one CPU. */
enum rv_config_pin {
	RV_CONFIG_PIN_AUTO = 0, /* when there is one worker per allowed CPU */
	RV_CONFIG_PIN_YES,
	RV_CONFIG_PIN_NO,
};

/* offload_udp_coalesce: which runs of UDP datagrams of one flow are written
 * to the TUN as one USO superframe (README, "UDP coalescing"). */
enum rv_config_coalesce {
	RV_CONFIG_COALESCE_AUTO = 0, /* small datagrams only (RV_GRO_UDP_AUTO_MAX) */
	RV_CONFIG_COALESCE_YES,
	RV_CONFIG_COALESCE_NO,
};

/* zerocopy: how UDP sends are made (see README "Zero copy"). */
enum rv_config_zc {
	RV_CONFIG_ZC_AUTO = 0,
	RV_CONFIG_ZC_ON,
	RV_CONFIG_ZC_OFF,
};

/* struct rv_config_subnet is one network behind the client named |name|. */
struct rv_config_subnet {
	char name[RV_CONFIG_NAME_MAX + 1];
	struct rv_prefix p;
	bool override; /* carved out of another name's subnet on purpose */
};

/* The least MTU IPv6 runs on (RFC 8200): below it the kernel takes a
 * device's IPv6 addresses away and refuses new ones. */
enum { RV_IPV6_MIN_MTU = 1280 };

struct rv_config {
	enum rv_config_role role;
	uint64_t given[RV_CONFIG_MAX_KEYS / 64]; /* bit i: key i was set by file or flag */
	bool unterminated; /* rv_config_load: the file's last line had no newline */

	/* both */
	char ca[RV_CONFIG_PATH_MAX];
	char cert[RV_CONFIG_PATH_MAX];
	char key[RV_CONFIG_PATH_MAX];
	char crl[RV_CONFIG_PATH_MAX]; /* "" = no revocation list */
	char tun[RV_CONFIG_IFNAME_MAX];
	char status_socket[108];  /* sun_path */
	unsigned workers;	  /* 0 = one per CPU the process may use */
	uint8_t pin_workers;	  /* enum rv_config_pin */
	int worker_nice;	  /* setpriority value of the workers, -20..19 */
	unsigned worker_rtprio;	  /* SCHED_FIFO priority of the workers, 0 = none */
	unsigned worker_slice_us; /* EEVDF slice the workers request, 0 = default */
	bool offload_tun, offload_gso, offload_gro, offload_csum;
	uint8_t offload_udp_coalesce; /* enum rv_config_coalesce */
	bool ecn;		  /* the inner ECN field on the outer header and back (RFC 6040) */
	unsigned aqm_target_us;	  /* CoDel on the UDP receive queues; 0: off */
	unsigned aqm_interval_us; /* CoDel's interval */
	bool balance_workers;	  /* server: move busy sessions between workers */
	int log_level;		  /* enum rv_log_level */
	int log_format;		  /* enum rv_log_format */
	char user[64];		  /* "" = ringvpn if it exists, else nobody */
	char group[64];		  /* "" = the user's primary group */
	bool seccomp;
	char admin_group[32];	/* owner group of status_socket ("": root) */
	bool admin_group_write; /* admin_group may also change state */
	unsigned mtu;		/* server: pushed to clients; client: the most it takes */

	/* the metrics endpoint (metrics_listen); family 0: off */
	struct rv_ip_addr metrics_addr;
	uint16_t metrics_port;

	/* server */
	char listen_host[RV_CONFIG_HOST_MAX]; /* "" = all addresses */
	uint16_t listen_port;
	uint16_t data_port;
	struct rv_prefix pool4, pool6; /* family 0: disabled */
	struct rv_prefix routes[RV_CONFIG_MAX_ROUTES];
	size_t num_routes;
	struct rv_config_fixed fixed[RV_CONFIG_MAX_FIXED];
	size_t num_fixed;
	struct rv_config_subnet subnets[RV_CONFIG_MAX_SUBNETS];
	size_t num_subnets;
	/* The file's line of each route, fixed and subnet entry (0: a flag),
	 * for the errors of rv_config_validate, which judge them against
	 * keys that may come later in the file. */
	uint32_t route_line[RV_CONFIG_MAX_ROUTES];
	uint32_t fixed_line[RV_CONFIG_MAX_FIXED];
	uint32_t subnet_line[RV_CONFIG_MAX_SUBNETS];
	uint32_t keepalive_ms;
	uint32_t dead_peer_ms;
	uint32_t rekey_ms;
	uint64_t rekey_packets; /* 0 = data-plane default */
	uint32_t handshake_timeout_ms;
	unsigned max_handshaking; /* 0 = auto: rv_config_max_handshaking */
	unsigned max_handshaking_per_source;
	char lease_file[RV_CONFIG_PATH_MAX]; /* "" = leases kept in memory only */
	char crl_state[RV_CONFIG_PATH_MAX];  /* "" = CRL numbers kept in memory only */
	uint32_t lease_time_ms;		     /* how long a returning client gets its address */
	unsigned max_clients;
	uint8_t cipher;		  /* enum rv_aead_alg */
	uint8_t client_to_client; /* enum rv_config_c2c */
	uint8_t zerocopy;	  /* enum rv_config_zc */
	struct rv_ip_addr push_dns[RV_CONFIG_MAX_DNS];
	size_t num_push_dns;
	uint32_t push_dns_line; /* its file's line (0: a flag's, or none) */
	char push_domain[RV_CONFIG_DOMAIN_MAX + 1];

	/* client */
	char server_host[RV_CONFIG_HOST_MAX]; /* the first of servers[] */
	uint16_t server_port;
	struct rv_config_server servers[RV_CONFIG_MAX_SERVERS];
	size_t num_servers;
	bool servers_overridden; /* a --server flag replaced the file's list */
	bool server_order_random;
	char server_name[RV_CONFIG_HOST_MAX]; /* "" = each server's host */
	uint16_t local_port;		      /* 0 = a free port at each start */
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	enum rv_config_accept accept_routes;
	struct rv_prefix accept[RV_CONFIG_MAX_ACCEPT];
	size_t num_accept;
	bool accept_dns;
};

/* rv_config_num_keys returns the number of keys in the table; rv_config_key_at
 * returns key |i| (< rv_config_num_keys()), in documentation order. */
size_t rv_config_num_keys(void);
const struct rv_config_key *rv_config_key_at(size_t i);

/* rv_config_key_find returns the key named |name|, or NULL. */
const struct rv_config_key *rv_config_key_find(const char *name);

/* rv_config_section_title returns the heading of |s| (e.g. "network"). */
const char *rv_config_section_title(enum rv_config_section s);

/* rv_config_role_name returns "server" or "client". */
const char *rv_config_role_name(enum rv_config_role role);

/* rv_config_expand copies |text| to |out| with each "{role}" replaced by
 * rv_config_role_name(|role|). Returns 0, or -ENOSPC when it did not fit
 * (|out| then holds a truncated, terminated copy). */
int rv_config_expand(char *out, size_t out_len, const char *text, enum rv_config_role role);

/* rv_config_given: was |key| set in |c| by the file or a flag (not only by
 * its default)? */
bool rv_config_given(const struct rv_config *c, const struct rv_config_key *key);

/* rv_config_defaults fills |c| with the defaults of |role|: every key of the
 * role with a default in the table is set from it. */
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

/* rv_config_listen_str writes the control listener as it is written in
 * the config ("*:4433", "10.0.0.1:4433", "[fd00::1]:4433") into |buf| and
 * returns |buf|. */
const char *rv_config_listen_str(const struct rv_config *c, char *buf, size_t len);

/* rv_config_pool_hosts: how many addresses of each pool are handed out to
 * any client (the pool's network may hold fewer): twice max_clients. A
 * pool of max_clients alone was full with half the clients connected while
 * the other half's addresses were kept for names that left in the last 2
 * minutes (rv_leases_kept_for_other): churn by many names refused newcomers
 * with the sessions far below max_clients (round-twenty-seven tester 126). */
size_t rv_config_pool_hosts(const struct rv_config *c);
/* rv_config_max_handshaking: the max_handshaking in force (auto: a quarter
 * of max_clients, within 64..1024). */
unsigned rv_config_max_handshaking(const struct rv_config *c);

/* rv_config_validate checks cross-field rules (required files, pools,
 * timers, fixed addresses inside pools and unique, subnets clear of the
 * pools, the routes and each other unless carved out with override, and
 * routes + subnets few enough to push). Returns 0 or -EINVAL. */
int rv_config_validate(const struct rv_config *c, char *err, size_t err_len);

/* rv_config_find_fixed returns the fixed entry for certificate name |name|,
 * or NULL. */
const struct rv_config_fixed *rv_config_find_fixed(const struct rv_config *c, const char *name);

/* rv_config_subnets_of copies the networks behind certificate name |name|
 * (NULL: behind any name) into out[0..max) and returns how many there are. */
size_t rv_config_subnets_of(const struct rv_config *c, const char *name, struct rv_prefix *out,
			    size_t max);

/* rv_prefix_parse parses "addr/len" (or "addr", meaning a host prefix).
 * Returns 0 or -EINVAL. */
int rv_prefix_parse(struct rv_prefix *out, const char *s);

/* rv_config_special_range names the special-purpose block (loopback,
 * 0.0.0.0/8, link-local, multicast, reserved, IPv4-compatible or -mapped)
 * that |p| lies in, or, with |or_inside|, also one that lies in |p|; NULL
 * when none. */
const char *rv_config_special_range(const struct rv_prefix *p, bool or_inside);

/* rv_config_special_addr is rv_config_special_range of the one address |a|
 * (a DNS server, which a client would reach on its own host or link). */
const char *rv_config_special_addr(const struct rv_ip_addr *a);

/* rv_prefix_contains: is |a| inside |p|? */
bool rv_prefix_contains(const struct rv_prefix *p, const struct rv_ip_addr *a);

/* rv_prefix_covers: is all of |inner| inside |outer| (same family, outer no
 * longer)? rv_prefix_overlap: does one cover the other? */
bool rv_prefix_covers(const struct rv_prefix *outer, const struct rv_prefix *inner);
bool rv_prefix_overlap(const struct rv_prefix *a, const struct rv_prefix *b);

#endif /* RV_CORE_CONFIG_H */
