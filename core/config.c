/*
 * config.c — parsing and validation of the server and client configuration
 * (see config.h). Table-driven: core/config_keys.def lists every key with
 * its roles, flags, default and documentation; here each key gets a setter,
 * set_<name>(), that parses a value or explains what is wrong with it, and
 * the defaults are applied through the same setters, so a default in the
 * table that does not parse fails the unit test, not a user.
 */
#include "core/config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/certname.h"
#include "core/compiler.h"
#include "core/file.h"
#include "core/log.h"
#include "core/wire.h"
#include "crypto/aead.h"

#define BOTH (RV_CONFIG_SERVER | RV_CONFIG_CLIENT)
#define SRV RV_CONFIG_SERVER
#define CLI RV_CONFIG_CLIENT

#define REPEAT RV_CONFIG_KEY_REPEAT
#define RESTART RV_CONFIG_KEY_RESTART
#define REQUIRED RV_CONFIG_KEY_REQUIRED

typedef int (*setter_fn)(struct rv_config *c, const char *v, char *why, size_t why_len);

#define RV_DAY_MS 86400000u /* the longest duration a key takes */

/* --- value parsers ---------------------------------------------------- */

static int parse_u64(const char *v, uint64_t max, uint64_t *out, char *why, size_t why_len)
{
	unsigned long long x;
	char *end;

	if (v[0] < '0' || v[0] > '9') {
		snprintf(why, why_len, "'%s' is not a non-negative integer", v);
		return -EINVAL;
	}
	errno = 0;
	x = strtoull(v, &end, 10);
	if (*end != '\0') {
		snprintf(why, why_len, "'%s' is not a non-negative integer", v);
		return -EINVAL;
	}
	if (errno == ERANGE) {
		x = ULLONG_MAX; /* too large, said below */
	}
	if (x > max) {
		snprintf(why, why_len, "%s is too large (at most %llu)", v,
			 (unsigned long long)max);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static int parse_uint(const char *v, unsigned max, unsigned *out, char *why, size_t why_len)
{
	uint64_t x;
	int ret = parse_u64(v, max, &x, why, why_len);

	if (!ret) {
		*out = (unsigned)x;
	}
	return ret;
}

/* parse_duration_ms: "N", "Ns", "Nms", "Nm" -> milliseconds, at most
 * |max_ms| (one day, or a key's own bound: keepalive = 4294968 was said to
 * be longer than one day, keepalive = 65536 to be over 65535 s: round-
 * sixty-seven tester 291). */
static int parse_duration_ms(const char *v, uint32_t max_ms, uint32_t *out, char *why,
			     size_t why_len)
{
	unsigned long long x, mult = 1000;
	char *end;

	if (v[0] < '0' || v[0] > '9') {
		goto bad;
	}
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno) {
		goto bad;
	}
	if (strcmp(end, "ms") == 0) {
		mult = 1;
	} else if (strcmp(end, "s") == 0 || *end == '\0') {
		mult = 1000;
	} else if (strcmp(end, "m") == 0) {
		mult = 60000;
	} else {
		goto bad;
	}
	if (x > max_ms / mult || x * mult > max_ms) {
		if (max_ms == RV_DAY_MS) {
			snprintf(why, why_len, "%s is longer than one day", v);
		} else {
			snprintf(why, why_len, "%s is longer than %u s", v, max_ms / 1000);
		}
		return -EINVAL;
	}
	*out = (uint32_t)(x * mult);
	return 0;
bad:
	snprintf(why, why_len, "'%s' is not a duration (write e.g. 10, 10s, 500ms or 2m)", v);
	return -EINVAL;
}

static int parse_bool(const char *v, bool *out, char *why, size_t why_len)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	snprintf(why, why_len, "'%s' is not a boolean (write yes or no)", v);
	return -EINVAL;
}

static int parse_str(char *dst, size_t cap, const char *v, char *why, size_t why_len)
{
	size_t n = strlen(v);

	if (n == 0) {
		snprintf(why, why_len, "empty value");
		return -EINVAL;
	}
	if (n >= cap) {
		snprintf(why, why_len, "value is %zu characters long (at most %zu)", n, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static int parse_addr(struct rv_ip_addr *out, const char *s)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static bool addr_unspecified(const struct rv_ip_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->a, zero, a->family == AF_INET ? 4 : 16) == 0;
}

/* addr_v4mapped: is |a| an IPv4 address written as IPv6 (::ffff:a.b.c.d)? */
static bool addr_v4mapped(const struct rv_ip_addr *a)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return a->family == AF_INET6 && memcmp(a->a, prefix, sizeof(prefix)) == 0;
}

static bool addr_multicast(const struct rv_ip_addr *a)
{
	return a->family == AF_INET ? (a->a[0] & 0xf0) == 0xe0 : a->a[0] == 0xff;
}

int rv_prefix_parse(struct rv_prefix *out, const char *s)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max, plen;

	if (alen == 0 || alen >= sizeof(buf)) {
		return -EINVAL;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (parse_addr(&out->addr, buf)) {
		return -EINVAL;
	}
	max = out->addr.family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		unsigned long x;

		if (slash[1] < '0' || slash[1] > '9') {
			return -EINVAL;
		}
		errno = 0;
		x = strtoul(slash + 1, &end, 10);
		if (errno || *end != '\0' || x > max) {
			return -EINVAL;
		}
		plen = (unsigned)x;
	} else {
		plen = max;
	}
	out->len = (uint8_t)plen;
	return 0;
}

/* host_bits_all: are |p|'s host bits all |one| (a network's broadcast
 * address) or all zero (its network address)? */
static bool host_bits_all(const struct rv_prefix *p, bool one)
{
	unsigned max = p->addr.family == AF_INET ? 32 : 128;

	for (unsigned bit = p->len; bit < max; bit++) {
		if (!(p->addr.a[bit / 8] & (0x80 >> (bit % 8))) == one) {
			return false;
		}
	}
	return true;
}

static bool host_bits_zero(const struct rv_prefix *p)
{
	return host_bits_all(p, false);
}

bool rv_prefix_contains(const struct rv_prefix *p, const struct rv_ip_addr *a)
{
	if (p->addr.family == 0 || p->addr.family != a->family) {
		return false;
	}
	for (unsigned bit = 0; bit < p->len; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if ((p->addr.a[bit / 8] & m) != (a->a[bit / 8] & m)) {
			return false;
		}
	}
	return true;
}

bool rv_prefix_covers(const struct rv_prefix *outer, const struct rv_prefix *inner)
{
	return outer->len <= inner->len && rv_prefix_contains(outer, &inner->addr);
}

bool rv_prefix_overlap(const struct rv_prefix *a, const struct rv_prefix *b)
{
	return rv_prefix_covers(a, b) || rv_prefix_covers(b, a);
}

/* visible_ascii: is |v| printable ASCII without blanks, and free of the
 * characters in |also|? */
static bool visible_ascii(const char *v, const char *also)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~' || strchr(also, *p) != NULL) {
			return false;
		}
	}
	return true;
}

/* host_is_ipv6: is |s| an IPv6 address, with a zone (%eth0: an interface
 * name, 1..15 characters, no ':' or '/') or not? */
static bool host_is_ipv6(const char *s)
{
	char buf[INET6_ADDRSTRLEN];
	size_t n = strcspn(s, "%");
	struct in6_addr a;

	if (n >= sizeof(buf)) {
		return false;
	}
	if (s[n] == '%') {
		const char *zone = s + n + 1;
		size_t zl = strlen(zone);

		if (zl == 0 || zl >= IF_NAMESIZE || !visible_ascii(zone, "/:%")) {
			return false;
		}
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* endpoint_addr: |host| as the address a socket would take it for, if it
 * is one: IPv4 in every form getaddrinfo takes ("0", "127.1"), IPv6 with
 * its zone (%eth0) set aside in |*zoned|, an IPv4-mapped one as IPv4 (the
 * checks below missed [::ffff:224.0.0.1], [ff02::1%lo] and "0"). */
static bool endpoint_addr(const char *host, struct rv_ip_addr *a, bool *zoned)
{
	char buf[INET6_ADDRSTRLEN];
	size_t n = strcspn(host, "%");
	struct in_addr v4;

	memset(a, 0, sizeof(*a));
	*zoned = host[n] == '%';
	if (n >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, host, n);
	buf[n] = '\0';
	if (!*zoned && inet_aton(buf, &v4)) {
		a->family = AF_INET;
		memcpy(a->a, &v4, 4);
		return true;
	}
	if (inet_pton(AF_INET6, buf, a->a) != 1) {
		return false; /* a name */
	}
	a->family = AF_INET6;
	if (addr_v4mapped(a)) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = AF_INET;
	}
	return true;
}

/* v4_other_form_of: is the address of |tok| (before any '/') an IPv4 address
 * that only inet_aton's other forms take (a leading zero, read as octal by
 * some tools: 010.20.0.0 as 8.20.0.0; 127.1; hex)? Then |why| says so,
 * quoting the value |v| it is of: of an endpoint (host_literal_bad), and
 * of pool4, route, subnet, fixed, accept_routes and push_dns, which
 * refused such a value as no prefix or address, without saying why
 * (round-thirty tester 150). */
static bool v4_other_form_of(const char *v, const char *tok, char *why, size_t why_len)
{
	char a[INET6_ADDRSTRLEN], as[INET_ADDRSTRLEN];
	size_t n = strcspn(tok, "/");
	struct in_addr v4;
	uint8_t canon[4];

	if (n >= sizeof(a)) {
		return false;
	}
	memcpy(a, tok, n);
	a[n] = '\0';
	if (strpbrk(a, " \t") || !inet_aton(a, &v4) || inet_pton(AF_INET, a, canon) == 1) {
		return false;
	}
	inet_ntop(AF_INET, &v4, as, sizeof(as));
	snprintf(why, why_len,
		 "'%s': '%s' would be read as %s: write an IPv4 address as four numbers 0-255 "
		 "with dots, without leading zeros",
		 v, a, as);
	return true;
}

static bool v4_other_form(const char *tok, char *why, size_t why_len)
{
	return v4_other_form_of(tok, tok, why, why_len);
}

/* host_literal_bad: is |host| (from |v|) an address no endpoint can be? A
 * multicast or broadcast one, or an IPv6 link-local one without its zone:
 * the kernel cannot tell which link, and the socket failed only at run time
 * with a bare EINVAL, which a client took for a network failure and
 * retried for ever (a hostile tester). Names and other addresses pass. */
static bool host_literal_bad(const char *host, const char *v, char *why, size_t why_len)
{
	struct rv_ip_addr a;
	bool zoned;

	if (!endpoint_addr(host, &a, &zoned)) {
		return false;
	}
	/* A blank inside: inet_aton stops at it and took "0 junk" for 0
	 * (round-twenty-eight tester 140); said as what it is. */
	if (strpbrk(host, " \t")) {
		snprintf(why, why_len, "'%s': a blank inside the address '%s'", v, host);
		return true;
	}
	/* inet_aton's other forms (127.1, 0x7f000001, a leading zero read as
	 * octal: 10.88.1.010 is 10.88.1.8): the address connected to was not
	 * the one written, and -n said OK (round-twenty-eight tester 139). */
	if (a.family == AF_INET && !zoned && !strchr(host, ':') && !addr_unspecified(&a) &&
	    v4_other_form_of(v, host, why, why_len)) {
		return true;
	}
	if (addr_multicast(&a) ||
	    (a.family == AF_INET && memcmp(a.a, "\xff\xff\xff\xff", 4) == 0)) {
		snprintf(why, why_len, "'%s' is a %s address", v,
			 addr_multicast(&a) ? "multicast" : "broadcast");
		return true;
	}
	if (a.family == AF_INET6 && !zoned && a.a[0] == 0xfe && (a.a[1] & 0xc0) == 0x80) {
		snprintf(why, why_len,
			 "'%s': a link-local address needs the interface it is on "
			 "([%s%%eth0]:port)",
			 v, host);
		return true;
	}
	/* The resolver refuses a zone on any other address ("Name or
	 * service not known"), which passed -n and failed at every try
	 * (round-sixteen tester 76). */
	if (zoned && !addr_unspecified(&a) &&
	    !(a.family == AF_INET6 && a.a[0] == 0xfe && (a.a[1] & 0xc0) == 0x80)) {
		snprintf(why, why_len,
			 "'%s': only a link-local address (fe80::/10) takes an interface "
			 "(%s); leave it out",
			 v, strchr(host, '%'));
		return true;
	}
	return false;
}

/* host_name_bad: |host|, not an address, cannot be a host name (RFC 1123
 * letters, digits, hyphens and dots, with underscores as resolvers take
 * them): a leading '-' or '.', another character, or digits and dots alone
 * (the resolver reads "300" as 0.0.1.44). Such a value passed `-n` and
 * failed only at the start's resolution (`listen = -1`: exit 15, a hostile
 * tester). Empty is all addresses where a caller allows it. */
static bool host_name_bad(const char *host, const char *v, char *why, size_t why_len)
{
	struct rv_ip_addr a;
	bool zoned;

	if (!host[0] || endpoint_addr(host, &a, &zoned)) {
		return false;
	}
	if (host[0] == '-' || host[0] == '.' ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") !=
		    strlen(host)) {
		snprintf(why, why_len, "'%s': '%s' is not a host name or an IP address", v, host);
		return true;
	}
	if (strspn(host, "0123456789.") == strlen(host)) {
		snprintf(why, why_len,
			 "'%s': '%s' is not an IPv4 address (four numbers 0-255 with dots) nor a "
			 "host name",
			 v, host);
		return true;
	}
	/* A final dot is a fully qualified name's; an empty label elsewhere
	 * is no name, though a hosts file may answer for it: `server =
	 * vpn.test..:4433` passed -n and its name never matched the
	 * certificate (round-fifty-seven tester 239). */
	if (strstr(host, "..") != NULL) {
		snprintf(why, why_len, "'%s': '%s' is no host name (an empty label in it)", v,
			 host);
		return true;
	}
	return false;
}

/* The line or the flag a setter is applying, for a warning about it: set
 * by apply() around the setter (a file is parsed by one thread at a time,
 * but a reload's and a check's may meet, hence per thread). */
static __thread const char *setting_origin;
static __thread uint32_t setting_line; /* its file's line (set by the parser); 0: a flag */

/* say_maybe_port: a bare IPv6 address whose last group could be a port
 * (fd00::1:5555, itself an address) is taken whole, on port |def|, but
 * said, with the bracketed form for a port: it passed -n without a word
 * (round-twenty-nine tester 147). */
static void say_maybe_port(const char *host, uint16_t def)
{
	const char *o = setting_origin, *last = strrchr(host, ':');
	char head[RV_CONFIG_HOST_MAX];
	size_t n = (size_t)(last - host), digits = strspn(last + 1, "0123456789");

	if (digits == 0 || digits > 5 || last[1 + digits] != '\0' || n == 0 || host[n - 1] == ':' ||
	    n >= sizeof(head) || strtoul(last + 1, NULL, 10) > 65535) {
		return;
	}
	memcpy(head, host, n);
	head[n] = '\0';
	if (!host_is_ipv6(head)) {
		return;
	}
	rv_warnx("%s%s%s is taken as the IPv6 address %s on port %u; for port %s of %s write "
		 "[%s]:%s",
		 o ? o : "", o ? ": " : "", host, host, def, last + 1, head, head, last + 1);
}

/* parse_host_port: "host", "host:port", "[v6]", "[v6]:port", or a bare v6
 * literal. |def| is the port when none is given. */
static int parse_host_port(char *host, size_t host_cap, uint16_t *port, uint16_t def, const char *v,
			   char *why, size_t why_len)
{
	const char *h = v, *p = NULL;
	size_t hlen;
	uint64_t x;

	if (v[0] == '[') {
		const char *rb = strchr(v, ']');

		if (!rb) {
			snprintf(why, why_len, "'%s': missing ']' after the IPv6 address", v);
			return -EINVAL;
		}
		h = v + 1;
		hlen = (size_t)(rb - h);
		if (rb[1] == ':') {
			p = rb + 2;
		} else if (rb[1] != '\0') {
			snprintf(why, why_len, "'%s': expected ':port' after ']'", v);
			return -EINVAL;
		}
	} else {
		const char *colon = strchr(v, ':');

		if (colon && strchr(colon + 1, ':')) {
			hlen = strlen(v); /* bare IPv6 literal, no port */
		} else if (colon) {
			hlen = (size_t)(colon - v);
			p = colon + 1;
		} else {
			hlen = strlen(v);
		}
	}
	if (hlen >= host_cap) {
		snprintf(why, why_len, "host name too long (at most %zu characters)", host_cap - 1);
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	/* A host with a colon or a zone in it can only be an IPv6 address,
	 * and so can one in brackets: a name with two ports
	 * (vpn.example.org:443:1), a zone with a port in it
	 * (fe80::1%lo:4433) failed only when resolved or bound. */
	if ((strpbrk(host, ":%") != NULL || v[0] == '[') && !host_is_ipv6(host)) {
		snprintf(why, why_len,
			 "'%s' is not host, host:port, an IPv6 address or [IPv6]:port", v);
		return -EINVAL;
	}
	if (host_literal_bad(host, v, why, why_len) || host_name_bad(host, v, why, why_len)) {
		return -EINVAL;
	}
	*port = def;
	if (v[0] != '[' && strchr(host, ':')) {
		say_maybe_port(host, def);
	}
	if (p) {
		if (parse_u64(p, 65535, &x, why, why_len) || x == 0) {
			snprintf(why, why_len, "'%s': port must be 1..65535", v);
			return -EINVAL;
		}
		*port = (uint16_t)x;
	}
	return 0;
}

/* --- setters ----------------------------------------------------------- */

/* Setters are named for their key (set_<key>); the field may differ. */
#define STR_SETTER(key, field)                                                         \
	static int set_##key(struct rv_config *c, const char *v, char *why, size_t wl) \
	{                                                                              \
		return parse_str(c->field, sizeof(c->field), v, why, wl);              \
	}
STR_SETTER(ca, ca)
STR_SETTER(cert, cert)
STR_SETTER(key, key)
STR_SETTER(crl, crl)
STR_SETTER(status_socket, status_socket)
STR_SETTER(user, user)
STR_SETTER(group, group)
STR_SETTER(admin_group, admin_group)
STR_SETTER(lease_file, lease_file)
STR_SETTER(crl_state, crl_state)

/* server_name is matched against the server certificate's DNS or IP
 * names: one with a blank or a control character (a typo, a pasted line)
 * could never match, and every handshake would fail. */
static int set_server_name(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (!visible_ascii(v, "")) {
		/* A byte past ASCII: an internationalized name, which a
		 * certificate carries in its xn-- form (it was said to hold a
		 * blank or a control character: round-sixty-seven tester
		 * 291). */
		bool wide = false;

		for (const char *p = v; *p; p++) {
			wide = wide || (unsigned char)*p > 0x7e;
		}
		snprintf(why, wl, "'%s' is no host name or address (%s)", v,
			 wide ? "a character past ASCII in it: write an internationalized name in "
				"its xn-- form, as certificates carry it"
			      : "a blank or a control character in it");
		return -EINVAL;
	}
	/* One final dot is a fully qualified name's (left out when it is
	 * looked for); an empty label anywhere else never matches a
	 * certificate (`vpn.test..` passed -n: round-fifty-six tester 234). */
	if (v[0] == '.' || strstr(v, "..") != NULL) {
		snprintf(why, wl, "'%s' is no host name (an empty label in it)", v);
		return -EINVAL;
	}
	/* The name or address a certificate carries, nothing around it: a
	 * port, a scheme, a path, brackets, a zone or a wildcard matched no
	 * certificate, after -n said OK (`vpn.test:4433` copied from
	 * `server`: round-sixty-seven tester 289). */
	struct rv_ip_addr a;
	unsigned char bin[16];
	bool zoned;

	if (endpoint_addr(v, &a, &zoned) ? zoned : host_name_bad(v, v, why, wl)) {
		snprintf(why, wl,
			 "'%s' is no host name or IP address as a certificate carries it (no port, "
			 "scheme, path, brackets, zone or wildcard)",
			 v);
		return -EINVAL;
	}
	/* An address as the certificate check reads one: four numbers with
	 * dots, or IPv6 not mapping an IPv4 one. 10.88.257, 0x0a580101 and
	 * ::ffff:10.88.1.1 passed, and the check took them for a DNS name
	 * or for 16 bytes, matching no certificate (tester 291). */
	if (endpoint_addr(v, &a, &zoned) && inet_pton(AF_INET, v, bin) != 1 &&
	    (inet_pton(AF_INET6, v, bin) != 1 || a.family == AF_INET)) {
		snprintf(why, wl,
			 "'%s' is an address in a form the certificate check does not read as one: "
			 "write an IPv4 address as four numbers 0-255 with dots, without leading "
			 "zeros",
			 v);
		return -EINVAL;
	}
	return parse_str(c->server_name, sizeof(c->server_name), v, why, wl);
}

#define BOOL_SETTER(key, field)                                                        \
	static int set_##key(struct rv_config *c, const char *v, char *why, size_t wl) \
	{                                                                              \
		return parse_bool(v, &c->field, why, wl);                              \
	}
BOOL_SETTER(offload_tun, offload_tun)
BOOL_SETTER(offload_gso, offload_gso)
BOOL_SETTER(offload_csum, offload_csum)
BOOL_SETTER(offload_gro, offload_gro)
BOOL_SETTER(ecn, ecn)
BOOL_SETTER(balance_workers, balance_workers)
BOOL_SETTER(seccomp, seccomp)
BOOL_SETTER(admin_group_write, admin_group_write)
BOOL_SETTER(accept_dns, accept_dns)

#define DUR_SETTER(key, field, min_ms, max_ms)                                         \
	static int set_##key(struct rv_config *c, const char *v, char *why, size_t wl) \
	{                                                                              \
		uint32_t ms;                                                           \
		if (parse_duration_ms(v, (max_ms), &ms, why, wl)) {                    \
			return -EINVAL;                                                \
		}                                                                      \
		if (ms < (min_ms)) {                                                   \
			snprintf(why, wl, "%s is too short (at least %u ms)", v,       \
				 (unsigned)(min_ms));                                  \
			return -EINVAL;                                                \
		}                                                                      \
		c->field = ms;                                                         \
		return 0;                                                              \
	}
/* keepalive and dead_peer_timeout go to the peer in whole seconds of 16
 * bits (the CONFIG message). */
DUR_SETTER(keepalive, keepalive_ms, 1000, UINT16_MAX * 1000u)
DUR_SETTER(dead_peer_timeout, dead_peer_ms, 2000, UINT16_MAX * 1000u)
DUR_SETTER(rekey_interval, rekey_ms, 1000, RV_DAY_MS)
DUR_SETTER(handshake_timeout, handshake_timeout_ms, 100, RV_DAY_MS)
DUR_SETTER(reconnect_min, reconnect_min_ms, 10, RV_DAY_MS)
DUR_SETTER(reconnect_max, reconnect_max_ms, 10, RV_DAY_MS)
DUR_SETTER(lease_time, lease_time_ms, 1000, RV_DAY_MS)

/* set_tun takes what the kernel takes as an interface name (its
 * dev_valid_name): not "." or "..", no '/', ':' (an alias) or space. */
static int set_tun(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (!strcmp(v, ".") || !strcmp(v, "..") || !visible_ascii(v, "/:")) {
		snprintf(why, wl,
			 "'%s' is not a valid interface name (not . or .., no '/', ':' or "
			 "spaces)",
			 v);
		return -EINVAL;
	}
	/* The kernel refuses them (EINVAL): they would clash with the
	 * sysctl directories net.ipv4.conf.all and .default. `-n` said OK
	 * and the start exited 14 (round-thirty-six tester 182). */
	if (!strcmp(v, "all") || !strcmp(v, "default")) {
		snprintf(why, wl,
			 "'%s' is a name the kernel keeps for its settings of all interfaces "
			 "(net.ipv4.conf.%s): choose another",
			 v, v);
		return -EINVAL;
	}
	/* A name with '%' is a template the kernel numbers, and it takes one
	 * "%d" and no other '%' (dev_alloc_name): `rvs%s` passed -n and
	 * every reload, and the start exited 14 with "Invalid argument"
	 * (round-sixty-seven tester 289). */
	const char *pct = strchr(v, '%');

	if (pct && (pct[1] != 'd' || strchr(pct + 2, '%'))) {
		snprintf(why, wl,
			 "'%s' is not a valid interface name: a '%%' is taken only as one '%%d' "
			 "(a template the kernel numbers: rv%%d)",
			 v);
		return -EINVAL;
	}
	return parse_str(c->tun, sizeof(c->tun), v, why, wl);
}

static int set_workers(struct rv_config *c, const char *v, char *why, size_t wl)
{
	/* The data plane's RV_MAX_WORKERS (uring/ is not core's to include). */
	return parse_uint(v, 255, &c->workers, why, wl);
}

static int set_worker_nice(struct rv_config *c, const char *v, char *why, size_t wl)
{
	bool neg = v[0] == '-';
	unsigned n;

	if (parse_uint(v + (neg || v[0] == '+'), 20, &n, why, wl) || (!neg && n > 19)) {
		snprintf(why, wl, "'%s' is not a nice value in -20..19", v);
		return -EINVAL;
	}
	c->worker_nice = neg ? -(int)n : (int)n;
	return 0;
}

static int set_worker_slice_us(struct rv_config *c, const char *v, char *why, size_t wl)
{
	unsigned n;

	/* The kernel's own bounds for a requested slice (it would clamp). */
	if (parse_uint(v, 100000, &n, why, wl) || (n != 0 && n < 100)) {
		snprintf(why, wl, "'%s' is not 0 or a time slice in 100..100000 microseconds", v);
		return -EINVAL;
	}
	c->worker_slice_us = n;
	return 0;
}

static int set_aqm_target_us(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (parse_uint(v, 1000000, &c->aqm_target_us, why, wl)) {
		snprintf(why, wl, "'%s' is not 0 (off) or a sojourn in 1..1000000 microseconds", v);
		return -EINVAL;
	}
	return 0;
}

static int set_aqm_interval_us(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (parse_uint(v, 10000000, &c->aqm_interval_us, why, wl) || c->aqm_interval_us < 1000) {
		snprintf(why, wl, "'%s' is not an interval in 1000..10000000 microseconds", v);
		return -EINVAL;
	}
	return 0;
}

static int set_worker_rtprio(struct rv_config *c, const char *v, char *why, size_t wl)
{
	/* Threaded interrupt handlers run at SCHED_FIFO 50: a worker at 50 or
	 * above would run ahead of the handlers that bring it its packets. */
	if (parse_uint(v, 49, &c->worker_rtprio, why, wl)) {
		snprintf(why, wl,
			 "'%s' is not a real-time priority in 0..49 (50 and above would run ahead "
			 "of the kernel's threaded interrupt handlers)",
			 v);
		return -EINVAL;
	}
	return 0;
}

static int set_mtu(struct rv_config *c, const char *v, char *why, size_t wl)
{
	uint64_t mtu;

	/* Any size, its bounds said: a value past 2^32 was said to be at
	 * most 4294967295 (round-sixty-seven tester 289). */
	if (parse_u64(v, UINT64_MAX, &mtu, why, wl)) {
		return -EINVAL;
	}
	if (mtu < RV_MIN_MTU || mtu > RV_MAX_MTU) {
		snprintf(why, wl, "mtu %s is outside %d..%d", v, RV_MIN_MTU, RV_MAX_MTU);
		return -EINVAL;
	}
	c->mtu = (unsigned)mtu;
	return 0;
}

static int set_log_level(struct rv_config *c, const char *v, char *why, size_t wl)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (!strcmp(v, names[i])) {
			c->log_level = i;
			return 0;
		}
	}
	if (!strcmp(v, "fatal")) { /* the name of "error" before */
		c->log_level = 0;
		return 0;
	}
	snprintf(why, wl, "'%s' is not a log level (write error, warn, info or debug)", v);
	return -EINVAL;
}

static int set_log_format(struct rv_config *c, const char *v, char *why, size_t wl)
{
	enum rv_log_format fmt;

	if (rv_log_format_from_name(v, &fmt)) {
		c->log_format = (int)fmt;
		return 0;
	}
	snprintf(why, wl, "'%s' is not a log format (write auto, text, journal or json)", v);
	return -EINVAL;
}

static int set_listen(struct rv_config *c, const char *v, char *why, size_t wl)
{
	uint64_t port;

	/* A bare number is a port on all addresses. */
	if (v[0] >= '0' && v[0] <= '9' && strspn(v, "0123456789") == strlen(v)) {
		if (parse_u64(v, 65535, &port, why, wl) || port == 0) {
			snprintf(why, wl, "port '%s' must be 1..65535", v);
			return -EINVAL;
		}
		c->listen_host[0] = '\0';
		c->listen_port = (uint16_t)port;
		return 0;
	}
	return parse_host_port(c->listen_host, sizeof(c->listen_host), &c->listen_port,
			       RV_CONFIG_DEFAULT_PORT, v, why, wl);
}

static int set_data_port(struct rv_config *c, const char *v, char *why, size_t wl)
{
	uint64_t port;

	if (parse_u64(v, 65535, &port, why, wl)) {
		return -EINVAL;
	}
	c->data_port = (uint16_t)port; /* 0: ephemeral (tests) */
	return 0;
}

static int set_local_port(struct rv_config *c, const char *v, char *why, size_t wl)
{
	uint64_t port;

	if (parse_u64(v, 65535, &port, why, wl)) {
		return -EINVAL;
	}
	c->local_port = (uint16_t)port;
	return 0;
}

static int set_pool(struct rv_prefix *dst, int family, const char *v, char *why, size_t wl)
{
	struct rv_prefix p;
	unsigned max = family == AF_INET ? 32 : 128;

	if (!strcmp(v, "none")) {
		memset(dst, 0, sizeof(*dst));
		return 0;
	}
	if (rv_prefix_parse(&p, v) || p.addr.family != family) {
		if (family == AF_INET && v4_other_form(v, why, wl)) {
			return -EINVAL;
		}
		snprintf(why, wl, "'%s' is not an %s prefix (write e.g. %s, or none)", v,
			 family == AF_INET ? "IPv4" : "IPv6",
			 family == AF_INET ? "10.99.0.0/24" : "fd99::/64");
		return -EINVAL;
	}
	if (p.len > max - 2 || p.len < (family == AF_INET ? 8 : 16)) {
		snprintf(why, wl,
			 "pool %s: prefix length must be %u..%u (room for the server "
			 "and at least one client)",
			 v, family == AF_INET ? 8 : 16, max - 2);
		return -EINVAL;
	}
	if (!host_bits_zero(&p)) {
		snprintf(why, wl, "pool %s has host bits set; write the network address", v);
		return -EINVAL;
	}
	*dst = p;
	return 0;
}

static int set_pool4(struct rv_config *c, const char *v, char *why, size_t wl)
{
	return set_pool(&c->pool4, AF_INET, v, why, wl);
}

static int set_pool6(struct rv_config *c, const char *v, char *why, size_t wl)
{
	return set_pool(&c->pool6, AF_INET6, v, why, wl);
}

/* at_line: "line N: " for an entry of a file's line |line|, for the
 * errors of rv_config_validate (the caller names the file); "" for a
 * flag's. They said no line (tester 140). */
static const char *at_line(uint32_t line, char *buf, size_t len)
{
	if (!line) {
		return "";
	}
	snprintf(buf, len, "line %u: ", line);
	return buf;
}

/* also_line appends to the error |err| the line of the other entry it
 * names (0: a flag's, none): "given to both" named one line alone
 * (round-twenty-nine tester 144). */
static void also_line(char *err, size_t err_len, uint32_t line)
{
	size_t n = strlen(err);

	if (line && n < err_len) {
		snprintf(err + n, err_len - n, " (line %u too)", line);
	}
}

/* say_no_length: a network |text| of |key| (parsed into |p|) written
 * without its length is one address, as it always was (an old file keeps
 * its meaning: README Upgrade), but said at every load: a forgotten "/24"
 * was taken as one address without a word (round-twenty-six testers 119,
 * 124). */
static void say_no_length(const char *key, const char *text, const struct rv_prefix *p)
{
	const char *o = setting_origin;
	bool flag = o && o[0] == '-';

	if (strchr(text, '/')) {
		return;
	}
	/* Where: a file's line ("t.conf:3: route ..."), or the flag itself
	 * ("--route ..."); it said neither (round-twenty-six tester 124). */
	rv_warnx("%s%s%s %s has no prefix length: taken as %s/%u, this one address alone (write "
		 "the length of the network meant, or /%u to keep it so and silence this)",
		 o && !flag ? o : "", o && !flag ? ": " : "", flag ? o : key, text, text, p->len,
		 p->len);
}

static int set_route(struct rv_config *c, const char *v, char *why, size_t wl)
{
	struct rv_prefix p;

	if (rv_prefix_parse(&p, v)) {
		if (v4_other_form(v, why, wl)) {
			return -EINVAL;
		}
		snprintf(why, wl,
			 "'%s' is not a prefix (write e.g. 192.168.10.0/24 or "
			 "fd00:10::/64)",
			 v);
		return -EINVAL;
	}
	say_no_length("route", v, &p);
	if (!host_bits_zero(&p)) {
		snprintf(why, wl, "route %s has host bits set; write the network address", v);
		return -EINVAL;
	}
	if (c->num_routes >= RV_CONFIG_MAX_ROUTES) {
		snprintf(why, wl, "more than %d routes", RV_CONFIG_MAX_ROUTES);
		return -EINVAL;
	}
	c->route_line[c->num_routes] = setting_line;
	c->routes[c->num_routes++] = p;
	return 0;
}

/* fixed = NAME ADDR [ADDR] */
/* like_prefix: does |tok| read as a network, or a slip of one: an IPv4
 * address's digits and dots (or an IPv6 address's hex digits with a colon)
 * before a '/', whatever follows ("10.66.0.0/24", "10.66/16", "fd66::/64",
 * "10.66.0.0/33", "10.66.0.0/24x", "/24")? No certificate of `ringvpn pki`
 * carries a '/'; a name such as "dc/1" is not taken for one (tester 140). */
static bool like_prefix(const char *tok)
{
	const char *slash = strchr(tok, '/');
	size_t n;

	if (!slash) {
		return false;
	}
	n = (size_t)(slash - tok);
	if (strspn(tok, "0123456789.") >= n) {
		return true;
	}
	return memchr(tok, ':', n) && strspn(tok, "0123456789abcdefABCDEF.:") >= n;
}

/* client_name copies |tok|, a client's name (its certificate's) on a line
 * of |key|, into |dst| (RV_CONFIG_NAME_MAX + 1 bytes), or says why no
 * certificate can carry it (an entry for it would never match) or why it
 * must be a slip (|usage| says the line's form). */
static int client_name(char *dst, const char *key, const char *tok, const char *usage, char *why,
		       size_t wl)
{
	size_t n = strlen(tok);
	struct rv_ip_addr a;

	/* A line without its name took its first prefix for one: accepted,
	 * its other networks pushed to every client and routed nowhere
	 * (round-twenty-eight tester 135; "10.66/16" too, tester 138). A
	 * bare address is a name `ringvpn pki client` issues (10.1.2.3):
	 * taken, and said, since the name may be what is missing (refused,
	 * it failed configurations that worked: tester 138). Quotes are no
	 * syntax here: they would be part of the name. */
	if (like_prefix(tok)) {
		snprintf(why, wl,
			 "the client's name is missing: '%s' is a network, or a slip of one (%s)",
			 tok, usage);
		return -EINVAL;
	}
	if (n > 0 && (strchr("\"'", tok[0]) || strchr("\"'", tok[n - 1]))) {
		snprintf(why, wl, "name %s: write it without quotes, which would be part of it",
			 tok);
		return -EINVAL;
	}
	if (n > RV_CONFIG_NAME_MAX) {
		snprintf(why, wl, "name '%s' longer than %d characters", tok, RV_CONFIG_NAME_MAX);
		return -EINVAL;
	}
	if (!rv_cert_name_ok((const unsigned char *)tok, n)) {
		snprintf(why, wl,
			 "name '%s' is no client's: a certificate name is printable ASCII "
			 "without spaces",
			 tok);
		return -EINVAL;
	}
	if (parse_addr(&a, tok) == 0) {
		const char *o = setting_origin;
		bool flag = o && o[0] == '-';

		/* `ringvpn pki client` issues an IPv4 address as a name, not
		 * an IPv6 one (tester 140). */
		rv_warnx("%s%s%s: the name %s is an address: taken as a client's name%s%s%s; if "
			 "the name is missing, write it first",
			 o && !flag ? o : "", o && !flag ? ": " : "", flag ? o : key, tok,
			 a.family == AF_INET ? " (one `ringvpn pki client --name " : "",
			 a.family == AF_INET ? tok : "", a.family == AF_INET ? "` issues)" : "");
	}
	memcpy(dst, tok, n + 1);
	return 0;
}

static int set_fixed(struct rv_config *c, const char *v, char *why, size_t wl)
{
	struct rv_config_fixed f;
	char buf[RV_CONFIG_LINE_MAX];
	char *save = NULL, *tok;
	int n = 0;

	memset(&f, 0, sizeof(f));
	if (strlen(v) >= sizeof(buf)) {
		snprintf(why, wl, "value too long");
		return -EINVAL;
	}
	strcpy(buf, v);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), n++) {
		struct rv_ip_addr a;

		if (n == 0) {
			if (client_name(f.name, "fixed", tok, "write NAME IPV4 [IPV6]", why, wl)) {
				return -EINVAL;
			}
			continue;
		}
		if (n <= 2 && parse_addr(&a, tok) && v4_other_form(tok, why, wl)) {
			return -EINVAL;
		}
		if (n > 2 || parse_addr(&a, tok)) {
			snprintf(why, wl,
				 "'%s': write NAME IPV4 [IPV6], e.g. "
				 "fixed = alice 10.99.0.10 fd99::10",
				 v);
			return -EINVAL;
		}
		if (a.family == AF_INET ? f.v4.family != 0 : f.v6.family != 0) {
			snprintf(why, wl, "'%s': two addresses of one family", v);
			return -EINVAL;
		}
		if (a.family == AF_INET) {
			f.v4 = a;
		} else {
			f.v6 = a;
		}
	}
	if (n < 2) {
		snprintf(why, wl,
			 "'%s': write NAME IPV4 [IPV6], e.g. "
			 "fixed = alice 10.99.0.10 fd99::10",
			 v);
		return -EINVAL;
	}
	if (rv_config_find_fixed(c, f.name)) {
		snprintf(why, wl, "name '%s' already has a fixed address", f.name);
		return -EINVAL;
	}
	if (c->num_fixed >= RV_CONFIG_MAX_FIXED) {
		snprintf(why, wl, "more than %d fixed entries", RV_CONFIG_MAX_FIXED);
		return -EINVAL;
	}
	c->fixed_line[c->num_fixed] = setting_line;
	c->fixed[c->num_fixed++] = f;
	return 0;
}

/* subnet = NAME [override] PREFIX [PREFIX]*; each prefix is one entry. */
static int set_subnet(struct rv_config *c, const char *v, char *why, size_t wl)
{
	static const char usage[] = "write NAME [override] PREFIXES, e.g. subnet = site-a "
				    "10.20.0.0/24 fd20::/64";
	struct rv_config_subnet sn;
	char buf[RV_CONFIG_LINE_MAX];
	char *save = NULL, *tok;
	size_t first = c->num_subnets;
	int n = 0;

	memset(&sn, 0, sizeof(sn));
	if (strlen(v) >= sizeof(buf)) {
		snprintf(why, wl, "value too long");
		return -EINVAL;
	}
	strcpy(buf, v);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), n++) {
		if (n == 0) {
			if (client_name(sn.name, "subnet", tok, usage, why, wl)) {
				goto fail;
			}
			continue;
		}
		if (n == 1 && !strcmp(tok, "override")) {
			sn.override = true;
			continue;
		}
		if (rv_prefix_parse(&sn.p, tok)) {
			if (!v4_other_form(tok, why, wl)) {
				snprintf(why, wl, "'%s' is not a prefix (%s)", tok, usage);
			}
			goto fail;
		}
		say_no_length("subnet", tok, &sn.p);
		if (!host_bits_zero(&sn.p)) {
			snprintf(why, wl, "subnet %s has host bits set; write the network address",
				 tok);
			goto fail;
		}
		for (size_t i = 0; i < c->num_subnets; i++) {
			if (!strcmp(c->subnets[i].name, sn.name) &&
			    rv_prefix_equal(&c->subnets[i].p, &sn.p)) {
				snprintf(why, wl, "%s already has subnet %s", sn.name, tok);
				goto fail;
			}
		}
		if (c->num_subnets >= RV_CONFIG_MAX_SUBNETS) {
			snprintf(why, wl, "more than %d subnets (each is pushed to every client)",
				 RV_CONFIG_MAX_SUBNETS);
			goto fail;
		}
		c->subnet_line[c->num_subnets] = setting_line;
		c->subnets[c->num_subnets++] = sn;
	}
	if (c->num_subnets == first) {
		snprintf(why, wl, "'%s': no prefix (%s)", v, usage);
		return -EINVAL;
	}
	return 0;
fail:
	c->num_subnets = first; /* the line is taken whole or not at all */
	return -EINVAL;
}

static int set_rekey_packets(struct rv_config *c, const char *v, char *why, size_t wl)
{
	return parse_u64(v, 1ull << 60, &c->rekey_packets, why, wl);
}

size_t rv_config_pool_hosts(const struct rv_config *c)
{
	return 2 * (size_t)c->max_clients;
}

unsigned rv_config_max_handshaking(const struct rv_config *c)
{
	unsigned q = c->max_clients / 4;

	if (c->max_handshaking != 0) {
		return c->max_handshaking;
	}
	return q < 64 ? 64 : q > 1024 ? 1024 : q;
}

static int set_max_handshaking(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (!strcmp(v, "auto")) {
		c->max_handshaking = 0;
		return 0;
	}
	if (parse_uint(v, 100000, &c->max_handshaking, why, wl)) {
		/* (it named only a number: round-twenty-five tester 115) */
		snprintf(why, wl, "'%.64s' is neither auto nor a count (1 to 100000)", v);
		return -EINVAL;
	}
	if (c->max_handshaking == 0) {
		snprintf(why, wl, "must be at least 1");
		return -EINVAL;
	}
	return 0;
}

static int set_max_handshaking_per_source(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (parse_uint(v, 100000, &c->max_handshaking_per_source, why, wl)) {
		return -EINVAL;
	}
	if (c->max_handshaking_per_source == 0) {
		snprintf(why, wl, "must be at least 1");
		return -EINVAL;
	}
	return 0;
}

static int set_max_clients(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (parse_uint(v, 65000, &c->max_clients, why, wl)) {
		return -EINVAL;
	}
	if (c->max_clients == 0) {
		snprintf(why, wl, "must be at least 1");
		return -EINVAL;
	}
	return 0;
}

static int set_cipher(struct rv_config *c, const char *v, char *why, size_t wl)
{
	enum rv_aead_alg a = rv_aead_alg_parse(v);

	if (a == RV_AEAD_NONE) {
		snprintf(why, wl, "'%s' is not a cipher (write aes-256-gcm or chacha20-poly1305)",
			 v);
		return -EINVAL;
	}
	c->cipher = (uint8_t)a;
	return 0;
}

/* parse_word sets *out to the index of |v| in |names| (NULL-terminated). */
static int parse_word(uint8_t *out, const char *const *names, const char *v, char *why, size_t wl)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		if (!strcmp(v, names[i])) {
			*out = (uint8_t)i;
			return 0;
		}
	}
	snprintf(why, wl, "'%s' is not one of %s|%s|%s", v, names[0], names[1], names[2]);
	return -EINVAL;
}

static int set_client_to_client(struct rv_config *c, const char *v, char *why, size_t wl)
{
	static const char *const names[] = { "kernel", "internal", "off", NULL };

	return parse_word(&c->client_to_client, names, v, why, wl);
}

/* parse_auto_bool: auto, or yes and no as any boolean (both keys were
 * booleans once); the enums of such keys are AUTO, YES, NO in that order. */
_Static_assert(RV_CONFIG_PIN_AUTO == 0 && RV_CONFIG_PIN_YES == 1 && RV_CONFIG_PIN_NO == 2 &&
		       RV_CONFIG_COALESCE_AUTO == 0 && RV_CONFIG_COALESCE_YES == 1 &&
		       RV_CONFIG_COALESCE_NO == 2,
	       "auto|yes|no enums");
static int parse_auto_bool(uint8_t *out, const char *v, char *why, size_t wl)
{
	bool on;

	if (!strcmp(v, "auto")) {
		*out = 0;
		return 0;
	}
	if (parse_bool(v, &on, why, wl)) {
		snprintf(why, wl, "'%s' is not one of auto|yes|no", v);
		return -EINVAL;
	}
	*out = on ? 1 : 2;
	return 0;
}

static int set_pin_workers(struct rv_config *c, const char *v, char *why, size_t wl)
{
	return parse_auto_bool(&c->pin_workers, v, why, wl);
}

static int set_offload_udp_coalesce(struct rv_config *c, const char *v, char *why, size_t wl)
{
	return parse_auto_bool(&c->offload_udp_coalesce, v, why, wl);
}

static int set_zerocopy(struct rv_config *c, const char *v, char *why, size_t wl)
{
	static const char *const names[] = { "auto", "on", "off", NULL };

	return parse_word(&c->zerocopy, names, v, why, wl);
}

static int set_server(struct rv_config *c, const char *v, char *why, size_t wl)
{
	struct rv_config_server *s;

	if (c->num_servers >= RV_CONFIG_MAX_SERVERS) {
		snprintf(why, wl, "more than %d servers", RV_CONFIG_MAX_SERVERS);
		return -EINVAL;
	}
	s = &c->servers[c->num_servers];
	if (parse_host_port(s->host, sizeof(s->host), &s->port, RV_CONFIG_DEFAULT_PORT, v, why,
			    wl)) {
		return -EINVAL;
	}
	if (!s->host[0]) {
		snprintf(why, wl, "empty host name");
		return -EINVAL;
	}
	/* 0.0.0.0 and :: reach this host's own listener (a test setup's
	 * accident), never a server elsewhere. */
	struct rv_ip_addr a;
	bool zoned;

	if (endpoint_addr(s->host, &a, &zoned) && addr_unspecified(&a)) {
		snprintf(why, wl, "'%s' is the unspecified address, not a server's", v);
		return -EINVAL;
	}
	/* As a route given twice is (it was taken without a word, and tried
	 * twice as often: round-sixty-seven tester 289). */
	for (unsigned i = 0; i < c->num_servers; i++) {
		if (!strcasecmp(c->servers[i].host, s->host) && c->servers[i].port == s->port) {
			snprintf(why, wl, "server %s port %u is given twice (keep one)", s->host,
				 (unsigned)s->port);
			return -EINVAL;
		}
	}
	if (c->num_servers++ == 0) {
		snprintf(c->server_host, sizeof(c->server_host), "%s", s->host);
		c->server_port = s->port;
	}
	return 0;
}

static int set_server_order(struct rv_config *c, const char *v, char *why, size_t wl)
{
	if (!strcmp(v, "ordered") || !strcmp(v, "random")) {
		c->server_order_random = !strcmp(v, "random");
		return 0;
	}
	snprintf(why, wl, "'%s': expected ordered or random", v);
	return -EINVAL;
}

/* next_word copies the next word of *|p| (separated by blanks or commas)
 * into |out| and advances; returns false at the end. A word that does not
 * fit is cut, ending in "...", and *|cut| set: no value that long is
 * valid, and the message names what it was. */
static bool next_word(const char **p, char *out, size_t len, bool *cut)
{
	const char *s = *p + strspn(*p, " \t,");
	size_t n = strcspn(s, " \t,");

	*p = s + n;
	*cut = n >= len;
	if (n == 0) {
		return false;
	}
	if (*cut) {
		snprintf(out, len, "%.*s...", (int)(len - 4), s);
	} else {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return true;
}

/* empty_item: has the list |v| an empty item, a comma with no word before
 * it or after it (",10.0.0.0/8", "a,,b", "a,")? Said in |why|. Blanks
 * alone separate too, and may stand beside a comma. Such a list passed as
 * its other items (round-sixty-four tester 262's nit): a word lost in
 * editing? */
static bool empty_item(const char *v, char *why, size_t wl)
{
	bool want = true, comma = false, empty = false;

	for (const char *s = v; *s && !empty; s++) {
		if (*s == ',') {
			empty = want;
			want = comma = true;
		} else if (*s != ' ' && *s != '\t') {
			want = false;
		}
	}
	if (empty || (comma && want)) {
		snprintf(why, wl,
			 "'%s' has an empty item (a comma with nothing before or after it)", v);
		return true;
	}
	return false;
}

static const char *special_range(const struct rv_prefix *p);

static int set_accept_routes(struct rv_config *c, const char *v, char *why, size_t wl)
{
	const char *special;
	char w[64];
	bool cut;

	c->num_accept = 0;
	if (!strcmp(v, "yes") || !strcmp(v, "no")) {
		c->accept_routes = !strcmp(v, "yes") ? RV_CONFIG_ACCEPT_ALL : RV_CONFIG_ACCEPT_NONE;
		return 0;
	}
	c->accept_routes = RV_CONFIG_ACCEPT_LIST;
	if (empty_item(v, why, wl)) {
		return -EINVAL;
	}
	while (next_word(&v, w, sizeof(w), &cut)) {
		if (c->num_accept >= RV_CONFIG_MAX_ACCEPT) {
			snprintf(why, wl, "more than %d prefixes", RV_CONFIG_MAX_ACCEPT);
			return -EINVAL;
		}
		if (cut || rv_prefix_parse(&c->accept[c->num_accept], w)) {
			if (!cut && v4_other_form(w, why, wl)) {
				return -EINVAL;
			}
			snprintf(why, wl,
				 "'%s' is not yes, no or a list of prefixes (e.g. 10.20.0.0/16, "
				 "fd00:20::/48)",
				 w);
			return -EINVAL;
		}
		/* As for routes and subnets: 10.20.0.5/16 is a typo of which? */
		if (!host_bits_zero(&c->accept[c->num_accept])) {
			snprintf(why, wl, "%s has host bits set; write the network address", w);
			return -EINVAL;
		}
		say_no_length("accept_routes", w, &c->accept[c->num_accept]);
		/* A server pushes no route in a special-purpose block: such a
		 * prefix matched nothing (::ffff:10.0.0.0/104 took no route
		 * where 10.0.0.0/8 was meant, silently). */
		special = special_range(&c->accept[c->num_accept]);
		if (special) {
			snprintf(why, wl,
				 "%s lies in the %s block, where no server pushes a route%s", w,
				 special,
				 strstr(special, "mapped") ? " (write an IPv4 prefix as IPv4)"
							   : "");
			return -EINVAL;
		}
		c->num_accept++;
	}
	if (c->num_accept == 0) {
		snprintf(why, wl, "expected yes, no or a list of prefixes");
		return -EINVAL;
	}
	return 0;
}

static int set_push_dns(struct rv_config *c, const char *v, char *why, size_t wl)
{
	const char *given = v;
	char w[64];
	bool cut;

	c->num_push_dns = 0;
	c->push_dns_line = setting_line;
	if (v[strspn(v, " \t,")] == '\0' && v[0] != '\0') {
		/* Separators only: a list whose addresses went missing. */
		snprintf(why, wl, "'%s' names no address (leave the key out for none)", given);
		return -EINVAL;
	}
	if (empty_item(v, why, wl)) {
		return -EINVAL;
	}
	while (next_word(&v, w, sizeof(w), &cut)) {
		const struct rv_ip_addr *a = &c->push_dns[c->num_push_dns];
		const char *special;

		if (c->num_push_dns >= RV_CONFIG_MAX_DNS) {
			snprintf(why, wl, "more than %d DNS servers", RV_CONFIG_MAX_DNS);
			return -EINVAL;
		}
		if (cut || parse_addr(&c->push_dns[c->num_push_dns], w)) {
			if (cut || !v4_other_form(w, why, wl)) {
				snprintf(why, wl, "'%s' is not an IPv4 or IPv6 address", w);
			}
			return -EINVAL;
		}
		/* No client can send a query there: it was pushed all the same.
		 * An IPv4 address written as IPv6 (::ffff:a.b.c.d) is written
		 * as IPv4, so that the same checks see it. */
		if (addr_v4mapped(a)) {
			snprintf(why, wl, "%s: write an IPv4 address as IPv4", w);
			return -EINVAL;
		}
		for (size_t i = 0; i < c->num_push_dns; i++) {
			if (rv_ip_addr_equal(&c->push_dns[i], a)) {
				snprintf(why, wl, "%s is named twice", w);
				return -EINVAL;
			}
		}
		if (addr_unspecified(a) || addr_multicast(a) ||
		    (a->family == AF_INET && memcmp(a->a, "\xff\xff\xff\xff", 4) == 0)) {
			snprintf(why, wl, "%s is %s address, not a DNS server's", w,
				 addr_multicast(a)     ? "a multicast"
				 : addr_unspecified(a) ? "the unspecified"
						       : "the broadcast");
			return -EINVAL;
		}
		/* Loopback, link-local and the like: each client would ask
		 * itself or its own link, not the server's network (127.0.0.53,
		 * each client host's own resolver, was pushed). */
		special = rv_config_special_addr(a);
		if (special) {
			snprintf(why, wl,
				 "%s lies in the %s block: each client would send its queries "
				 "there on its own host or link, not through the tunnel",
				 w, special);
			return -EINVAL;
		}
		c->num_push_dns++;
	}
	return 0;
}

static int set_push_domain(struct rv_config *c, const char *v, char *why, size_t wl)
{
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.')) {
			snprintf(why, wl, "'%s' is not a domain name (letters, digits, '-', '.')",
				 v);
			return -EINVAL;
		}
	}
	if (n > RV_CONFIG_DOMAIN_MAX) {
		snprintf(why, wl, "domain longer than %d characters", RV_CONFIG_DOMAIN_MAX);
		return -EINVAL;
	}
	/* Labels of 1..63 characters, not starting or ending with '-' (RFC
	 * 1123); a trailing '.' (the root) is allowed. "a..b" was taken and
	 * pushed to every client's resolver. */
	for (size_t i = 0, len = 0; n > 0 && i <= n; i++) {
		if (i < n && v[i] != '.') {
			len++;
			continue;
		}
		if ((len == 0 && !(i == n && n > 0 && v[n - 1] == '.')) || len > 63 ||
		    (len > 0 && (v[i - len] == '-' || v[i - 1] == '-'))) {
			snprintf(why, wl,
				 "'%s' is not a domain name (labels of 1-63 characters, not "
				 "starting or ending with '-')",
				 v);
			return -EINVAL;
		}
		len = 0;
	}
	memcpy(c->push_domain, v, n + 1);
	return 0;
}

static int set_metrics_listen(struct rv_config *c, const char *v, char *why, size_t wl)
{
	char host[RV_CONFIG_HOST_MAX];
	uint16_t port;

	if (!strcmp(v, "none")) {
		memset(&c->metrics_addr, 0, sizeof(c->metrics_addr));
		c->metrics_port = 0;
		return 0;
	}
	/* A link-local address takes an interface, which the endpoint does
	 * not bind to: refused for what it is (the parser's advice to add
	 * the interface led to "not an IP address": round-thirty tester 153). */
	{
		const char *h = v[0] == '[' ? v + 1 : v;
		size_t n = strcspn(h, v[0] == '[' ? "]%" : "%");
		struct in6_addr a6;
		char b[INET6_ADDRSTRLEN];

		if (n < sizeof(b)) {
			memcpy(b, h, n);
			b[n] = '\0';
			if (inet_pton(AF_INET6, b, &a6) == 1 && a6.s6_addr[0] == 0xfe &&
			    (a6.s6_addr[1] & 0xc0) == 0x80) {
				snprintf(why, wl,
					 "'%s': a link-local address cannot be metrics_listen (the "
					 "endpoint binds to no interface): use a global or "
					 "unique-local address, [::] or 0.0.0.0",
					 v);
				return -EINVAL;
			}
		}
	}
	if (parse_host_port(host, sizeof(host), &port, RV_CONFIG_METRICS_PORT, v, why, wl)) {
		return -EINVAL;
	}
	/* An address, not a name: the endpoint binds once at start, and which
	 * interface it listens on must not depend on a resolver. */
	if (parse_addr(&c->metrics_addr, host)) {
		snprintf(why, wl,
			 "'%s' is not an IP address with an optional port (e.g. 127.0.0.1:9586 "
			 "or [::1]:9586)",
			 v);
		return -EINVAL;
	}
	c->metrics_port = port;
	return 0;
}

static const struct rv_config_key keys[] = {
#define RV_CONFIG_KEY(name, roles, section, flags, syntax, def, example, doc) \
	{ #name, roles, RV_CONFIG_SEC_##section, flags, syntax, def, example, doc },
#include "core/config_keys.def"
#undef RV_CONFIG_KEY
};

/* path_shown: |path| as an error may quote it whole: one longer than 300
 * bytes shortened in the middle, "...", on whole characters (a -c path of
 * 2,100 characters cut the message, its cause and advice with it, in the
 * middle of a character: round-thirty tester 156). */
static const char *path_shown(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path), head = 150, tail = 140;

	if (n <= 300 || len < head + tail + 4) {
		return path;
	}
	while (head > 0 && ((unsigned char)path[head] & 0xc0) == 0x80) {
		head--; /* path[head] starts a character: cut before it */
	}
	while (tail > 0 && ((unsigned char)path[n - tail] & 0xc0) == 0x80) {
		tail--;
	}
	snprintf(buf, len, "%.*s...%s", (int)head, path, path + n - tail);
	return buf;
}

/* The setters, in the order of keys[]. */
static const setter_fn setters[] = {
#define RV_CONFIG_KEY(name, ...) set_##name,
#include "core/config_keys.def"
#undef RV_CONFIG_KEY
};

_Static_assert(ARRAY_SIZE(keys) == ARRAY_SIZE(setters), "one setter per key");
_Static_assert(ARRAY_SIZE(keys) <= RV_CONFIG_MAX_KEYS, "given bitmap");

size_t rv_config_num_keys(void)
{
	return ARRAY_SIZE(keys);
}

const struct rv_config_key *rv_config_key_at(size_t i)
{
	return i < ARRAY_SIZE(keys) ? &keys[i] : NULL;
}

const struct rv_config_key *rv_config_key_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!strcmp(keys[i].name, name)) {
			return &keys[i];
		}
	}
	return NULL;
}

const char *rv_config_section_title(enum rv_config_section s)
{
	static const char *const titles[RV_CONFIG_NUM_SECTIONS] = {
		[RV_CONFIG_SEC_NET] = "network",
		[RV_CONFIG_SEC_CERT] = "certificates",
		[RV_CONFIG_SEC_TUNNEL] = "tunnel",
		[RV_CONFIG_SEC_LIMITS] = "timers and limits",
		[RV_CONFIG_SEC_DATAPLANE] = "data plane",
		[RV_CONFIG_SEC_OPS] = "operation",
		[RV_CONFIG_SEC_PRIVILEGE] = "privileges",
	};

	return (unsigned)s < RV_CONFIG_NUM_SECTIONS ? titles[s] : "?";
}

const char *rv_config_role_name(enum rv_config_role role)
{
	return role == RV_CONFIG_SERVER ? "server" : "client";
}

int rv_config_expand(char *out, size_t out_len, const char *text, enum rv_config_role role)
{
	static const char tag[] = "{role}";
	const char *name = rv_config_role_name(role);
	size_t o = 0;

	if (out_len == 0) {
		return -ENOSPC;
	}
	for (const char *p = text; *p;) {
		const char *src = p;
		size_t n = 1;

		if (!strncmp(p, tag, sizeof(tag) - 1)) {
			src = name;
			n = strlen(name);
			p += sizeof(tag) - 1;
		} else {
			p++;
		}
		if (o + n >= out_len) {
			out[o] = '\0';
			return -ENOSPC;
		}
		memcpy(out + o, src, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

static size_t key_index(const struct rv_config_key *k)
{
	return (size_t)(k - keys);
}

bool rv_config_given(const struct rv_config *c, const struct rv_config_key *key)
{
	size_t i = key_index(key);

	return (c->given[i / 64] >> (i % 64)) & 1;
}

void rv_config_defaults(struct rv_config *c, enum rv_config_role role)
{
	char v[RV_CONFIG_LINE_MAX], why[256];

	memset(c, 0, sizeof(*c));
	c->role = role;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!keys[i].def || !(keys[i].roles & role)) {
			continue;
		}
		/* Defaults are checked by the unit test (every key, both roles):
		 * a failure here is a bug in the table, so it is loud. */
		if (rv_config_expand(v, sizeof(v), keys[i].def, role) ||
		    setters[i](c, v, why, sizeof(why))) {
			rv_warnx("config: default of %s ('%s') is invalid: %s", keys[i].name,
				 keys[i].def, why);
		}
	}
}

static int apply(struct rv_config *c, const char *origin, const char *key, const char *value,
		 char *err, size_t err_len, uint64_t *seen)
{
	const struct rv_config_key *k = rv_config_key_find(key);
	const char *role = rv_config_role_name(c->role);
	char why[512];
	size_t idx;
	int ret;

	if (!k) {
		const struct rv_config_key *meant;
		const char *bare = key + strspn(key, "-");
		char lower[64];
		size_t n = 0;

		/* A key written as a flag (--help's "--keepalive" too) or in
		 * capitals is named as it is meant, when it is one of this
		 * role's; and the keys' list is the help's, which every
		 * install has (the examples' path was a source tree's: round
		 * sixty-eight testers 301 and 305). */
		for (; bare[n] && n < sizeof(lower) - 1; n++) {
			lower[n] = bare[n] == '-' ? '_' : (char)tolower((unsigned char)bare[n]);
		}
		lower[n] = '\0';
		meant = !bare[n] ? rv_config_key_find(lower) : NULL;
		if (meant && (meant->roles & c->role)) {
			snprintf(err, err_len,
				 "%s: unknown key '%s': keys are written in lower case with '_', "
				 "as '%s'",
				 origin, key, lower);
		} else {
			snprintf(err, err_len,
				 "%s: unknown key '%s' (see ringvpn.conf(5) or `ringvpn %s --help` "
				 "for the keys)",
				 origin, key, role);
		}
		return -EINVAL;
	}
	if (!(k->roles & c->role)) {
		snprintf(err, err_len, "%s: key '%s' is not a %s setting (remove it)", origin, key,
			 role);
		return -EINVAL;
	}
	idx = key_index(k);
	if (seen && !(k->flags & RV_CONFIG_KEY_REPEAT)) {
		if ((seen[idx / 64] >> (idx % 64)) & 1) {
			snprintf(err, err_len, "%s: key '%s' given twice (keep one)", origin, key);
			return -EINVAL;
		}
		seen[idx / 64] |= 1ull << (idx % 64);
	}
	why[0] = '\0';
	setting_origin = origin;
	ret = setters[idx](c, value, why, sizeof(why));
	setting_origin = NULL;
	if (ret) {
		snprintf(err, err_len, "%s: %s: %s", origin, key, why);
		return -EINVAL;
	}
	c->given[idx / 64] |= 1ull << (idx % 64);
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
		*--e = '\0';
	}
	return s;
}

int rv_config_parse_buf(struct rv_config *c, const char *name, const char *buf, size_t len,
			char *err, size_t err_len)
{
	char line[RV_CONFIG_LINE_MAX + 1];
	char origin[RV_CONFIG_PATH_MAX + 32];
	uint64_t seen[RV_CONFIG_MAX_KEYS / 64] = { 0 };
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		char *l, *eq, *key, *value, *hash;
		int ret;

		lineno++;
		snprintf(origin, sizeof(origin), "%s:%u", name, lineno);
		if (llen > RV_CONFIG_LINE_MAX) {
			snprintf(err, err_len, "%s: line longer than %d characters", origin,
				 RV_CONFIG_LINE_MAX);
			return -EINVAL;
		}
		memcpy(line, buf + pos, llen);
		line[llen] = '\0';
		pos += llen + (nl ? 1 : 0);
		if (strlen(line) != llen) {
			snprintf(err, err_len, "%s: NUL byte in line (is this a text file?)",
				 origin);
			return -EINVAL;
		}
		/* A comment starts at a '#' that begins the line or follows a
		 * blank: one inside a word is part of it (a certificate name
		 * "site#a" could not be named, a path "srv#1.crt" was cut to
		 * "srv" and another file taken: round-fifteen testers 72, 73). */
		hash = line;
		while ((hash = strchr(hash, '#')) != NULL && hash > line && hash[-1] != ' ' &&
		       hash[-1] != '\t') {
			hash++;
		}
		if (hash) {
			*hash = '\0';
		}
		l = trim(line);
		if (!*l) {
			continue;
		}
		eq = strchr(l, '=');
		if (!eq) {
			snprintf(err, err_len, "%s: expected 'key = value', got '%s'", origin, l);
			return -EINVAL;
		}
		*eq = '\0';
		key = trim(l);
		value = trim(eq + 1);
		if (!*key) {
			snprintf(err, err_len, "%s: missing key before '='", origin);
			return -EINVAL;
		}
		if (!*value) {
			snprintf(err, err_len, "%s: key '%s' has no value", origin, key);
			return -EINVAL;
		}
		setting_line = lineno;
		ret = apply(c, origin, key, value, err, err_len, seen);
		setting_line = 0;
		/* Until 2026-12-04 a '#' inside a word began a comment too: an
		 * old file's "FILE#note" now names another file, its leases
		 * and CRL numbers left behind without a word (round-forty
		 * tester 204). Said at every load, as the error's cause. */
		if (ret) {
			size_t el = strnlen(err, err_len);

			if (strchr(value, '#') && el < err_len) {
				snprintf(err + el, err_len - el,
					 " (a '#' inside a word is part of the value; a comment "
					 "begins at the line's start or after a blank)");
			}
			return -EINVAL;
		}
		if (strchr(value, '#')) {
			rv_warnx("%s: %s = %s: the '#' is part of the value (a comment begins only "
				 "at the line's start or after a blank; versions before 2026-12-04 "
				 "began one at any '#'): write a blank before it if a comment was "
				 "meant",
				 origin, key, value);
		}
	}
	return 0;
}

int rv_config_load(struct rv_config *c, const char *path, char *err, size_t err_len)
{
	enum { MAX_FILE = 1 << 20 };
	struct stat st;
	char *buf;
	size_t n;
	FILE *f;
	int ret;
	int fd = rv_open_regular(path);

	char shown[320];

	if (fd == -EISDIR || fd == -EINVAL) {
		snprintf(err, err_len, "config file %s is not a regular file (%s)",
			 path_shown(path, shown, sizeof(shown)),
			 fd == -EISDIR ? "a directory" : "a FIFO, socket or device");
		return -EINVAL;
	}
	if (fd < 0) {
		snprintf(err, err_len, "cannot open config file %s: %s%s",
			 path_shown(path, shown, sizeof(shown)), strerror(-fd),
			 fd == -ENOENT || fd == -ENOTDIR ? " (check the path given with -c)" : "");
		return fd;
	}
	/* The file decides the user to run as, the system call filter and
	 * every path root writes: one that any user may change hands them
	 * root (a hostile tester; as ssh refuses such a key). At a reload
	 * too. */
	if (fstat(fd, &st) == 0 && (st.st_mode & S_IWOTH)) {
		close(fd);
		snprintf(err, err_len,
			 "config file %s is writable by every user (mode %04o): refused (chmod o-w "
			 "it)",
			 path_shown(path, shown, sizeof(shown)), (unsigned)(st.st_mode & 07777));
		return -EINVAL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		ret = -errno;
		close(fd);
		snprintf(err, err_len, "cannot open config file %s: %s",
			 path_shown(path, shown, sizeof(shown)), strerror(-ret));
		return ret;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	n = fread(buf, 1, MAX_FILE + 1, f);
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, err_len, "cannot read config file %s", path);
		goto out;
	}
	if (n > MAX_FILE) {
		ret = -EINVAL;
		snprintf(err, err_len, "config file %s is larger than 1 MiB", path);
		goto out;
	}
	/* Read as it is, and said: a file cut short, or still being written,
	 * was applied unsaid (round-eleven tester 51); one an editor saved
	 * without its last newline cannot be told from it. */
	if (n > 0 && buf[n - 1] != '\n') {
		rv_warnx("config file %s: its last line has no newline (a file cut short, or "
			 "still being written?): read as it is",
			 path);
		c->unterminated = true;
	}
	/* A UTF-8 byte-order mark (some editors write one) is no part of the
	 * first key. */
	if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		ret = rv_config_parse_buf(c, path, buf + 3, n - 3, err, err_len);
	} else {
		ret = rv_config_parse_buf(c, path, buf, n, err, err_len);
	}
out:
	free(buf);
	fclose(f);
	return ret;
}

int rv_config_set(struct rv_config *c, const char *origin, const char *key, const char *value,
		  char *err, size_t err_len)
{
	/* The first --server replaces the file's list (further ones add to
	 * it): a server named on the command line is meant to be used, not
	 * to stand by behind the file's. */
	if (!strcmp(key, "server") && !c->servers_overridden) {
		c->servers_overridden = true;
		c->num_servers = 0;
	}
	return apply(c, origin, key, value, err, err_len, NULL);
}

const struct rv_config_fixed *rv_config_find_fixed(const struct rv_config *c, const char *name)
{
	for (size_t i = 0; i < c->num_fixed; i++) {
		if (!strcmp(c->fixed[i].name, name)) {
			return &c->fixed[i];
		}
	}
	return NULL;
}

/* subnet_str formats one subnet as "NAME PREFIX" into |buf|. */
static const char *subnet_str(const struct rv_config_subnet *s, char *buf, size_t len)
{
	char a[64];

	snprintf(buf, len, "%s %s/%u", s->name, rv_ip_addr_str(&s->p.addr, a, sizeof(a)), s->p.len);
	return buf;
}

static const char *prefix_str(const struct rv_prefix *p, char *buf, size_t len)
{
	char a[64];

	snprintf(buf, len, "%s/%u", rv_ip_addr_str(&p->addr, a, sizeof(a)), p->len);
	return buf;
}

/* rv_config_special_range (core/config.h): the name of the special-purpose
 * block |p| lies in (it cannot be routed through a tunnel: loopback,
 * link-local, multicast, reserved, IPv4-mapped), or NULL for an ordinary
 * unicast network. A shorter prefix that merely covers such a block
 * (0.0.0.0/1) is ordinary unless |or_inside|: the host's own routes for
 * the block win over it. special_range is it without |or_inside|. */
const char *rv_config_special_range(const struct rv_prefix *p, bool or_inside)
{
	static const struct {
		int family;
		uint8_t a[16];
		unsigned len;
		const char *name;
	} blocks[] = {
		{ AF_INET, { 0 }, 8, "'this network' (0.0.0.0/8)" },
		{ AF_INET, { 127 }, 8, "loopback (127.0.0.0/8)" },
		{ AF_INET, { 169, 254 }, 16, "link-local (169.254.0.0/16)" },
		{ AF_INET, { 224 }, 4, "multicast (224.0.0.0/4)" },
		{ AF_INET, { 240 }, 4, "reserved (240.0.0.0/4)" },
		{ AF_INET6, { 0 }, 96, "IPv4-compatible, loopback or unspecified (::/96)" },
		{ AF_INET6, { [10] = 0xff, [11] = 0xff }, 96, "IPv4-mapped (::ffff:0:0/96)" },
		{ AF_INET6, { 0xfe, 0x80 }, 10, "link-local (fe80::/10)" },
		{ AF_INET6, { 0xff }, 8, "multicast (ff00::/8)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++) {
		struct rv_prefix b = { .addr = { .family = blocks[i].family },
				       .len = blocks[i].len };

		memcpy(b.addr.a, blocks[i].a, 16);
		if (p->addr.family != b.addr.family) {
			continue;
		}
		if ((p->len >= b.len && rv_prefix_contains(&b, &p->addr)) ||
		    (or_inside && b.len >= p->len && rv_prefix_contains(p, &b.addr))) {
			return blocks[i].name;
		}
	}
	return NULL;
}

static const char *special_range(const struct rv_prefix *p)
{
	return rv_config_special_range(p, false);
}

const char *rv_config_special_addr(const struct rv_ip_addr *a)
{
	struct rv_prefix host = { .addr = *a, .len = a->family == AF_INET ? 32 : 128 };

	return rv_config_special_range(&host, false);
}

/* validate_pools: a pool hands its addresses out to clients, so no part
 * of it may be a special-purpose block (clients got fe80:1::2 and could
 * not reach each other: their packets stayed on the link). */
static int validate_pools(const struct rv_config *c, char *err, size_t err_len)
{
	const struct rv_prefix *pools[] = { &c->pool4, &c->pool6 };
	char x[160];

	for (size_t k = 0; k < 2; k++) {
		const char *special =
			pools[k]->addr.family ? rv_config_special_range(pools[k], true) : NULL;

		if (special) {
			snprintf(err, err_len, "%s %s takes in the %s block, which is not routed",
				 k ? "pool6" : "pool4", prefix_str(pools[k], x, sizeof(x)),
				 special);
			return -EINVAL;
		}
	}
	return 0;
}

/* validate_routes: a route is an ordinary network behind the server, given
 * once, not inside a pool (clients reach it through the tunnel already) and
 * not a default route (it would clash with the client's own: a full tunnel
 * is 0.0.0.0/1 and 128.0.0.0/1, or ::/1 and 8000::/1). */
static int validate_routes(const struct rv_config *c, char *err, size_t err_len)
{
	char x[160], y[160], l[32];

	for (size_t i = 0; i < c->num_routes; i++) {
		const struct rv_prefix *r = &c->routes[i];
		const struct rv_prefix *pools[] = { &c->pool4, &c->pool6 };
		const char *special = special_range(r);
		const char *at = at_line(c->route_line[i], l, sizeof(l));

		prefix_str(r, x, sizeof(x));
		if (r->len == 0) {
			snprintf(err, err_len,
				 "%sroute %s would clash with each client's default route: for "
				 "a full tunnel write %s",
				 at, x,
				 r->addr.family == AF_INET
					 ? "route = 0.0.0.0/1 and route = 128.0.0.0/1"
					 : "route = ::/1 and route = 8000::/1");
			return -EINVAL;
		}
		if (special) {
			snprintf(err, err_len,
				 "%sroute %s lies in the %s block, which is not routed", at, x,
				 special);
			return -EINVAL;
		}
		for (size_t k = 0; k < 2; k++) {
			/* Inside a pool, not merely covering it (a full tunnel's /1
			 * covers the pool, whose own route is the longer one). */
			if (pools[k]->addr.family && r->addr.family == pools[k]->addr.family &&
			    r->len >= pools[k]->len && rv_prefix_contains(pools[k], &r->addr)) {
				snprintf(err, err_len,
					 "%sroute %s lies inside %s %s, which clients reach "
					 "through the tunnel already: remove it",
					 at, x, k ? "pool6" : "pool4",
					 prefix_str(pools[k], y, sizeof(y)));
				return -EINVAL;
			}
		}
		for (size_t j = 0; j < i; j++) {
			if (c->routes[j].len == r->len &&
			    rv_ip_addr_equal(&c->routes[j].addr, &r->addr)) {
				snprintf(err, err_len, "%sroute %s is given twice", at, x);
				also_line(err, err_len, c->route_line[j]);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* subnet_alone_bad: may the |i|th subnet not be a network behind a client
 * whatever the others are (everything, a block that is not routed, a pool's
 * or a route's network)? Said in |err|. */
static bool subnet_alone_bad(const struct rv_config *c, size_t i, char *err, size_t err_len)
{
	char x[160], y[160], l[32];
	const struct rv_config_subnet *s = &c->subnets[i];
	const struct rv_prefix *pools[] = { &c->pool4, &c->pool6 };
	/* Also one that takes such a block in (224.0.0.0/3, fe00::/7):
	 * a network behind a client is an ordinary one, and the server
	 * and every client routed the block into the tunnel (mDNS and
	 * broadcasts sent without a device went there: round-thirteen
	 * tester 59). A route may (a full tunnel's /1 halves). */
	const char *special = rv_config_special_range(&s->p, true);
	const char *at = at_line(c->subnet_line[i], l, sizeof(l));

	if (s->p.len == 0 || special) {
		snprintf(err, err_len, "%ssubnet %s %s", at, subnet_str(s, x, sizeof(x)),
			 s->p.len == 0		? "is everything"
			 : special_range(&s->p) ? "lies in a block that is not routed"
						: "takes in a block that is not routed");
		if (special && s->p.len != 0) {
			snprintf(err + strlen(err), err_len - strlen(err), ": %s", special);
		}
		return true;
	}
	for (size_t k = 0; k < 2; k++) {
		if (pools[k]->addr.family && rv_prefix_overlap(pools[k], &s->p)) {
			snprintf(err, err_len,
				 "%ssubnet %s overlaps %s %s, where clients' own addresses "
				 "come from: choose a network outside the pools",
				 at, subnet_str(s, x, sizeof(x)), k ? "pool6" : "pool4",
				 prefix_str(pools[k], y, sizeof(y)));
			return true;
		}
	}
	for (size_t k = 0; k < c->num_routes; k++) {
		if (rv_prefix_overlap(&c->routes[k], &s->p)) {
			snprintf(err, err_len,
				 "%ssubnet %s overlaps route %s: a route is a network "
				 "behind the server, a subnet one behind a client; keep "
				 "one",
				 at, subnet_str(s, x, sizeof(x)),
				 prefix_str(&c->routes[k], y, sizeof(y)));
			also_line(err, err_len, c->route_line[k]);
			return true;
		}
	}
	return false;
}

/* subnet_conflict: does the |i|th subnet clash with another name's, or
 * its own name's, among the file's alone (|file_only|: the entries with a
 * line) or all? Said in |err|. An override enclosed by nothing is judged
 * with all (a flag's network may enclose a file's override). */
static bool subnet_conflict(const struct rv_config *c, size_t i, bool file_only, char *err,
			    size_t err_len)
{
	const struct rv_config_subnet *s = &c->subnets[i];
	char x[160], y[160], z[160], l[32];
	const char *at = at_line(c->subnet_line[i], l, sizeof(l));
	bool inside_other = false;

	for (size_t j = 0; j < c->num_subnets; j++) {
		const struct rv_config_subnet *o = &c->subnets[j];

		if (j == i || !rv_prefix_overlap(&o->p, &s->p)) {
			continue;
		}
		/* Any name's encloses an override, a flag's too; a clash with
		 * a flag's network waits for the second pass. */
		if (o->p.len < s->p.len && strcmp(o->name, s->name) != 0) {
			inside_other = true;
		}
		if (file_only && !c->subnet_line[j]) {
			continue;
		}
		if (!strcmp(o->name, s->name)) {
			snprintf(err, err_len,
				 "%ssubnet %s overlaps %s's own %s: remove the longer one", at,
				 subnet_str(s, x, sizeof(x)), o->name,
				 prefix_str(&o->p, y, sizeof(y)));
			/* Not its own line again (tester 253). */
			if (c->subnet_line[j] != c->subnet_line[i]) {
				also_line(err, err_len, c->subnet_line[j]);
			}
			return true;
		}
		if (o->p.len == s->p.len) {
			snprintf(err, err_len, "%ssubnet %s is given to both %s and %s", at,
				 prefix_str(&s->p, x, sizeof(x)), j < i ? o->name : s->name,
				 j < i ? s->name : o->name);
			also_line(err, err_len, c->subnet_line[j]);
			return true;
		}
		if (o->p.len < s->p.len) {
			if (!s->override) {
				snprintf(err, err_len,
					 "%ssubnet %s lies inside %s's %s: write 'subnet = %s "
					 "override "
					 "%s' to carve it out for %s (the longest match wins), or "
					 "choose another network",
					 at, subnet_str(s, x, sizeof(x)), o->name,
					 prefix_str(&o->p, y, sizeof(y)), s->name,
					 prefix_str(&s->p, z, sizeof(z)), s->name);
				also_line(err, err_len, c->subnet_line[j]);
				return true;
			}
		}
	}
	if (s->override && !inside_other) {
		snprintf(err, err_len,
			 "%ssubnet %s is marked override but lies inside no other name's subnet: "
			 "remove 'override'",
			 at, subnet_str(s, x, sizeof(x)));
		return true;
	}
	return false;
}

/*
 * validate_subnets: a network behind a client is nobody else's. It may not
 * overlap the pools (clients' own addresses) or a route (the server's
 * networks), nor another name's subnet, except that one lying inside
 * another name's subnet may be carved out with override: the longest match
 * then sends it to its own name. Nesting within one name is redundant.
 * Each network alone is judged before the clashes between them (advice to
 * carve a network out of another name's 0.0.0.0/0 led to the refusal of
 * 0.0.0.0/0 itself: round-sixty-two tester 253), and the file's entries
 * before the command line's (a flag's bad network was said first, and
 * blamed on the file, whose own error went unsaid: tester 255).
 */
static int validate_subnets(const struct rv_config *c, char *err, size_t err_len)
{
	if (c->num_routes + c->num_subnets > RV_CONFIG_MAX_ROUTES) {
		snprintf(err, err_len,
			 "%zu routes and %zu subnets: at most %d can be pushed to clients (merge "
			 "subnets into shorter prefixes, or drop some)",
			 c->num_routes, c->num_subnets, RV_CONFIG_MAX_ROUTES);
		return -EINVAL;
	}
	for (int pass = 0; pass < 2; pass++) {
		bool file_only = pass == 0;

		for (size_t i = 0; i < c->num_subnets; i++) {
			if (file_only == (c->subnet_line[i] != 0) &&
			    subnet_alone_bad(c, i, err, err_len)) {
				return -EINVAL;
			}
		}
		for (size_t i = 0; i < c->num_subnets; i++) {
			if ((!file_only || c->subnet_line[i]) &&
			    subnet_conflict(c, i, file_only, err, err_len)) {
				return -EINVAL;
			}
		}
	}
	return 0;
}

size_t rv_config_subnets_of(const struct rv_config *c, const char *name, struct rv_prefix *out,
			    size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->num_subnets; i++) {
		if (!name || !strcmp(c->subnets[i].name, name)) {
			if (n < max) {
				out[n] = c->subnets[i].p;
			}
			n++;
		}
	}
	return n;
}

static int validate_server(const struct rv_config *c, char *err, size_t err_len)
{
	char a[64], dl[32];

	if (!c->pool4.addr.family && !c->pool6.addr.family) {
		snprintf(err, err_len, "pool4 and pool6 are both none: set at least one");
		return -EINVAL;
	}
	/* pool4's network or broadcast address is no host's: a DNS server
	 * there answers no one (round-twenty-nine tester 146). */
	for (size_t i = 0; c->pool4.addr.family && c->pool4.len < 31 && i < c->num_push_dns; i++) {
		struct rv_prefix d = { .addr = c->push_dns[i], .len = c->pool4.len };
		bool net = host_bits_zero(&d);

		if (!rv_prefix_contains(&c->pool4, &d.addr) || (!net && !host_bits_all(&d, true))) {
			continue;
		}
		/* With its line, as the refusals of its parse (round-thirty
		 * tester 150). */
		snprintf(err, err_len, "%spush_dns %s is pool4's %s address, no host's",
			 at_line(c->push_dns_line, dl, sizeof(dl)),
			 rv_ip_addr_str(&d.addr, a, sizeof(a)), net ? "network" : "broadcast");
		return -EINVAL;
	}
	if (c->pool6.addr.family && c->mtu && c->mtu < RV_IPV6_MIN_MTU) {
		snprintf(err, err_len,
			 "mtu %u is below %u, the least IPv6 runs on, and pool6 is set: raise mtu "
			 "or set pool6 = none",
			 c->mtu, RV_IPV6_MIN_MTU);
		return -EINVAL;
	}
	for (size_t i = 0; c->mtu && c->mtu < RV_IPV6_MIN_MTU && i < c->num_routes + c->num_subnets;
	     i++) {
		const struct rv_prefix *p =
			i < c->num_routes ? &c->routes[i] : &c->subnets[i - c->num_routes].p;

		if (p->addr.family == AF_INET6) {
			char l[32];

			snprintf(err, err_len,
				 "%smtu %u is below %u, the least IPv6 runs on, and %s %s is IPv6: "
				 "raise mtu or leave it out",
				 at_line(i < c->num_routes ? c->route_line[i]
							   : c->subnet_line[i - c->num_routes],
					 l, sizeof(l)),
				 c->mtu, RV_IPV6_MIN_MTU, i < c->num_routes ? "route" : "subnet",
				 rv_ip_addr_str(&p->addr, a, sizeof(a)));
			return -EINVAL;
		}
	}
	/* Each one's bound before their order: keepalive = 65536 was said
	 * to want a longer dead_peer_timeout, itself at most 65535 s
	 * (round-sixty-seven tester 289). */
	if (c->keepalive_ms / 1000 > UINT16_MAX || c->dead_peer_ms / 1000 > UINT16_MAX) {
		snprintf(err, err_len, "%s must be at most 65535 s",
			 c->keepalive_ms / 1000 > UINT16_MAX ? "keepalive" : "dead_peer_timeout");
		return -EINVAL;
	}
	if (c->dead_peer_ms <= c->keepalive_ms) {
		snprintf(err, err_len,
			 "dead_peer_timeout (%u ms) must be longer than keepalive "
			 "(%u ms); at least 3x is recommended",
			 c->dead_peer_ms, c->keepalive_ms);
		return -EINVAL;
	}
	/* The key named, with its value (the three were named together:
	 * round-sixty-eight tester 307). */
	if (c->keepalive_ms % 1000 || c->dead_peer_ms % 1000 || c->rekey_ms % 1000) {
		const char *key = c->keepalive_ms % 1000   ? "keepalive"
				  : c->dead_peer_ms % 1000 ? "dead_peer_timeout"
							   : "rekey_interval";
		uint32_t ms = c->keepalive_ms % 1000   ? c->keepalive_ms
			      : c->dead_peer_ms % 1000 ? c->dead_peer_ms
						       : c->rekey_ms;

		snprintf(err, err_len, "%s (%u ms) must be whole seconds", key, ms);
		return -EINVAL;
	}
	if (c->rekey_ms > (RV_REJECT_AFTER_TIME_S - 30) * 1000u) {
		snprintf(err, err_len,
			 "rekey_interval (%u ms) must be at most %d s (keys expire after "
			 "%d s)",
			 c->rekey_ms, RV_REJECT_AFTER_TIME_S - 30, RV_REJECT_AFTER_TIME_S);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->num_fixed; i++) {
		const struct rv_config_fixed *f = &c->fixed[i];
		char l[32];
		const char *at = at_line(c->fixed_line[i], l, sizeof(l));

		if (f->v4.family && !rv_prefix_contains(&c->pool4, &f->v4)) {
			snprintf(err, err_len, "%sfixed %s: %s is outside pool4", at, f->name,
				 rv_ip_addr_str(&f->v4, a, sizeof(a)));
			return -EINVAL;
		}
		if (f->v6.family && !rv_prefix_contains(&c->pool6, &f->v6)) {
			snprintf(err, err_len, "%sfixed %s: %s is outside pool6", at, f->name,
				 rv_ip_addr_str(&f->v6, a, sizeof(a)));
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			const struct rv_config_fixed *g = &c->fixed[j];

			if ((f->v4.family && rv_ip_addr_equal(&f->v4, &g->v4)) ||
			    (f->v6.family && rv_ip_addr_equal(&f->v6, &g->v6))) {
				snprintf(err, err_len, "%sfixed %s and %s share an address", at,
					 g->name, f->name);
				return -EINVAL;
			}
		}
	}
	if (validate_pools(c, err, err_len) || validate_routes(c, err, err_len)) {
		return -EINVAL;
	}
	return validate_subnets(c, err, err_len);
}

const char *rv_config_listen_str(const struct rv_config *c, char *buf, size_t len)
{
	bool v6 = strchr(c->listen_host, ':') != NULL;

	snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", c->listen_host[0] ? c->listen_host : "*",
		 v6 ? "]" : "", c->listen_port);
	return buf;
}

int rv_config_validate(const struct rv_config *c, char *err, size_t err_len)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct rv_config_key *k = &keys[i];
		char flag[64];

		if (!(k->flags & RV_CONFIG_KEY_REQUIRED) || !(k->roles & c->role) ||
		    rv_config_given(c, k)) {
			continue;
		}
		snprintf(flag, sizeof(flag), "%s", k->name);
		for (char *p = flag; *p; p++) {
			*p = *p == '_' ? '-' : *p;
		}
		snprintf(err, err_len,
			 "'%s' is not set: give it (%s) in the config file or with --%s", k->name,
			 k->syntax, flag);
		return -EINVAL;
	}
	/* CoDel judges a queue by whether its wait stays above the target for
	 * a whole interval; a target not below the interval makes it drop
	 * where it should not or never (a round-twenty-three tester's 1 s
	 * target with a 1 ms interval was taken). */
	if (c->aqm_target_us && c->aqm_target_us >= c->aqm_interval_us) {
		snprintf(err, err_len,
			 "aqm_target_us (%u) must be below aqm_interval_us (%u); CoDel wants "
			 "about a twentieth of it",
			 c->aqm_target_us, c->aqm_interval_us);
		return -EINVAL;
	}
	if (c->role == RV_CONFIG_SERVER) {
		return validate_server(c, err, err_len);
	}
	if (c->reconnect_max_ms < c->reconnect_min_ms) {
		snprintf(err, err_len, "reconnect_max (%u ms) is below reconnect_min (%u ms)",
			 c->reconnect_max_ms, c->reconnect_min_ms);
		return -EINVAL;
	}
	return 0;
}
