/*
 * ctlmsg.c — encode and strict decode of control messages (see ctlmsg.h).
 *
 * Decoding is two steps: read every field through an rv_rd cursor (a short
 * body is TRUNCATED, leftover bytes are TRAILING), then validate the decoded
 * values with the same function the encoder uses, so anything we can send we
 * also accept, and nothing else.
 */
#include "core/ctlmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/rd.h"
#include "core/wire.h"
#include "crypto/aead.h"

static bool route_bits_ok(const struct rv_ctl_route *r)
{
	size_t alen = r->family == 4 ? 4 : 16;

	for (size_t bit = r->prefix; bit < alen * 8; bit++) {
		if (r->addr[bit / 8] & (0x80 >> (bit % 8))) {
			return false;
		}
	}
	/* Bytes past an IPv4 address are not on the wire; keep them zero. */
	for (size_t i = alen; i < 16; i++) {
		if (r->addr[i]) {
			return false;
		}
	}
	return true;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++) {
		acc |= p[i];
	}
	return acc == 0;
}

static enum rv_ctl_err validate_config(const struct rv_ctl_config *c)
{
	if (c->flags & ~RV_CTL_F_ALL) {
		return RV_CTL_E_RESERVED;
	}
	if (c->flags & RV_CTL_F_HAS_V4) {
		if (c->prefix4 == 0 || c->prefix4 > 32) {
			return RV_CTL_E_PREFIX;
		}
	} else if (c->prefix4 != 0 || !all_zero(c->addr4, 4)) {
		return RV_CTL_E_PREFIX;
	}
	if (c->flags & RV_CTL_F_HAS_V6) {
		if (c->prefix6 == 0 || c->prefix6 > 128) {
			return RV_CTL_E_PREFIX;
		}
	} else if (c->prefix6 != 0 || !all_zero(c->addr6, 16)) {
		return RV_CTL_E_PREFIX;
	}
	if (c->mtu < RV_MIN_MTU || c->mtu > RV_MAX_MTU) {
		return RV_CTL_E_MTU;
	}
	if (c->data_port == 0) {
		return RV_CTL_E_PORT;
	}
	if (c->server_index == 0 || c->client_index == 0) {
		return RV_CTL_E_INDEX;
	}
	if (c->keepalive_s == 0 || c->dead_peer_s <= c->keepalive_s || c->rekey_s == 0) {
		return RV_CTL_E_TIMER;
	}
	if (c->cipher != RV_AEAD_AES256GCM && c->cipher != RV_AEAD_CHACHA20POLY1305) {
		return RV_CTL_E_CIPHER;
	}
	if (c->num_routes > RV_CTL_MAX_ROUTES) {
		return RV_CTL_E_ROUTES;
	}
	for (unsigned i = 0; i < c->num_routes; i++) {
		const struct rv_ctl_route *r = &c->routes[i];

		if (r->family != 4 && r->family != 6) {
			return RV_CTL_E_ROUTE_FAMILY;
		}
		if (r->prefix > (r->family == 4 ? 32 : 128)) {
			return RV_CTL_E_PREFIX;
		}
		if (!route_bits_ok(r)) {
			return RV_CTL_E_ROUTE_BITS;
		}
	}
	return RV_CTL_OK;
}

static bool text_ok(const char *t, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((uint8_t)t[i] < 0x20 || (uint8_t)t[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

static enum rv_ctl_err validate_dns(const struct rv_ctl_dns *d)
{
	/* 0 goes only to a peer that announced it (RV_CTL_CAP_DNS_EMPTY). */
	if (d->num_servers > RV_CTL_MAX_DNS) {
		return RV_CTL_E_DNS;
	}
	for (unsigned i = 0; i < d->num_servers; i++) {
		const struct rv_ctl_dns_server *s = &d->servers[i];

		if (s->family != 4 && s->family != 6) {
			return RV_CTL_E_DNS;
		}
		if (s->family == 4 && !all_zero(s->addr + 4, 12)) {
			return RV_CTL_E_DNS;
		}
	}
	if (d->domain_len > RV_CTL_MAX_DOMAIN) {
		return RV_CTL_E_DOMAIN;
	}
	for (unsigned i = 0; i < d->domain_len; i++) {
		char c = d->domain[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.')) {
			return RV_CTL_E_DOMAIN;
		}
	}
	return RV_CTL_OK;
}

/* validate checks the decoded values of |m| (shared by encode and decode). */
static enum rv_ctl_err validate(const struct rv_ctl_msg *m)
{
	switch (m->type) {
	case RV_CTL_HELLO:
		if (m->hello.min_ver == 0 || m->hello.min_ver > m->hello.max_ver) {
			return RV_CTL_E_HELLO_VERSIONS;
		}
		if (m->hello.flags & ~RV_CTL_F_ALL) {
			return RV_CTL_E_RESERVED;
		}
		if ((!(m->hello.flags & RV_CTL_F_HAS_V4) && !all_zero(m->hello.prev4, 4)) ||
		    (!(m->hello.flags & RV_CTL_F_HAS_V6) && !all_zero(m->hello.prev6, 16))) {
			return RV_CTL_E_PREFIX;
		}
		return RV_CTL_OK;
	case RV_CTL_CONFIG:
		return validate_config(&m->config);
	case RV_CTL_KEY:
	case RV_CTL_KEY_ACK:
		return m->key.epoch == 0 ? RV_CTL_E_EPOCH : RV_CTL_OK;
	case RV_CTL_KEY_CONFIRM:
		return m->confirm_epoch == 0 ? RV_CTL_E_EPOCH : RV_CTL_OK;
	case RV_CTL_KEEPALIVE:
		return RV_CTL_OK;
	case RV_CTL_GOODBYE:
		return m->goodbye_code >= RV_CTL_CODE_MAX ? RV_CTL_E_CODE : RV_CTL_OK;
	case RV_CTL_ERROR:
		if (m->error.code >= RV_CTL_CODE_MAX) {
			return RV_CTL_E_CODE;
		}
		if (m->error.text_len > RV_CTL_MAX_TEXT ||
		    !text_ok(m->error.text, m->error.text_len)) {
			return RV_CTL_E_TEXT;
		}
		return RV_CTL_OK;
	case RV_CTL_DNS:
		return validate_dns(&m->dns);
	case RV_CTL_DATA_STATUS:
		if (m->data_status.silent > 1 ||
		    (m->data_status.silent == 1) != (m->data_status.seconds != 0)) {
			return RV_CTL_E_DATA_STATUS;
		}
		return RV_CTL_OK;
	default:
		return RV_CTL_E_TYPE;
	}
}

static bool type_known(uint8_t t)
{
	return t >= RV_CTL_HELLO && t <= RV_CTL_DATA_STATUS;
}

enum rv_ctl_err rv_ctl_frame_len(const uint8_t *buf, size_t len, size_t *out_len)
{
	struct rv_rd rd;
	uint8_t ver, type;
	uint16_t body_len;

	*out_len = 0;
	rv_rd_init(&rd, buf, len);
	if (!rv_rd_u8(&rd, &ver)) {
		return RV_CTL_E_NEED_MORE;
	}
	if (ver != RV_CTL_VERSION) {
		return RV_CTL_E_VERSION;
	}
	if (!rv_rd_u8(&rd, &type)) {
		return RV_CTL_E_NEED_MORE;
	}
	if (!type_known(type)) {
		return RV_CTL_E_TYPE;
	}
	if (!rv_rd_u16(&rd, &body_len)) {
		return RV_CTL_E_NEED_MORE;
	}
	if (body_len > RV_CTL_MAX_BODY) {
		return RV_CTL_E_TOO_LONG;
	}
	if (rv_rd_left(&rd) < body_len) {
		return RV_CTL_E_NEED_MORE;
	}
	*out_len = RV_CTL_HDR_LEN + (size_t)body_len;
	return RV_CTL_OK;
}

static bool read_config(struct rv_rd *rd, struct rv_ctl_config *c, enum rv_ctl_err *err)
{
	if (!rv_rd_u8(rd, &c->flags) || !rv_rd_u8(rd, &c->prefix4) ||
	    !rv_rd_bytes(rd, c->addr4, 4) || !rv_rd_u8(rd, &c->prefix6) ||
	    !rv_rd_bytes(rd, c->addr6, 16) || !rv_rd_u16(rd, &c->mtu) ||
	    !rv_rd_u16(rd, &c->data_port) || !rv_rd_u32(rd, &c->server_index) ||
	    !rv_rd_u32(rd, &c->client_index) || !rv_rd_u16(rd, &c->keepalive_s) ||
	    !rv_rd_u16(rd, &c->dead_peer_s) || !rv_rd_u32(rd, &c->rekey_s) ||
	    !rv_rd_u8(rd, &c->cipher) || !rv_rd_u8(rd, &c->num_routes)) {
		*err = RV_CTL_E_TRUNCATED;
		return false;
	}
	if (c->num_routes > RV_CTL_MAX_ROUTES) {
		*err = RV_CTL_E_ROUTES;
		return false;
	}
	for (unsigned i = 0; i < c->num_routes; i++) {
		struct rv_ctl_route *r = &c->routes[i];

		memset(r->addr, 0, sizeof(r->addr));
		if (!rv_rd_u8(rd, &r->family) || !rv_rd_u8(rd, &r->prefix)) {
			*err = RV_CTL_E_TRUNCATED;
			return false;
		}
		if (r->family != 4 && r->family != 6) {
			*err = RV_CTL_E_ROUTE_FAMILY;
			return false;
		}
		if (!rv_rd_bytes(rd, r->addr, r->family == 4 ? 4 : 16)) {
			*err = RV_CTL_E_TRUNCATED;
			return false;
		}
	}
	return true;
}

static bool read_dns(struct rv_rd *rd, struct rv_ctl_dns *d, enum rv_ctl_err *err)
{
	struct rv_rd dom;

	if (!rv_rd_u8(rd, &d->num_servers)) {
		*err = RV_CTL_E_TRUNCATED;
		return false;
	}
	if (d->num_servers > RV_CTL_MAX_DNS) {
		*err = RV_CTL_E_DNS;
		return false;
	}
	for (unsigned i = 0; i < d->num_servers; i++) {
		struct rv_ctl_dns_server *s = &d->servers[i];

		if (!rv_rd_u8(rd, &s->family)) {
			*err = RV_CTL_E_TRUNCATED;
			return false;
		}
		if (s->family != 4 && s->family != 6) {
			*err = RV_CTL_E_DNS;
			return false;
		}
		if (!rv_rd_bytes(rd, s->addr, s->family == 4 ? 4 : 16)) {
			*err = RV_CTL_E_TRUNCATED;
			return false;
		}
	}
	if (!rv_rd_sub_u8(rd, &dom)) {
		*err = RV_CTL_E_TRUNCATED;
		return false;
	}
	if (rv_rd_left(&dom) > RV_CTL_MAX_DOMAIN) {
		*err = RV_CTL_E_DOMAIN;
		return false;
	}
	d->domain_len = (uint8_t)rv_rd_left(&dom);
	if (!rv_rd_bytes(&dom, (uint8_t *)d->domain, d->domain_len)) {
		*err = RV_CTL_E_TRUNCATED;
		return false;
	}
	d->domain[d->domain_len] = '\0';
	return true;
}

enum rv_ctl_err rv_ctl_decode(struct rv_ctl_msg *out, const uint8_t *buf, size_t len)
{
	enum rv_ctl_err err = RV_CTL_OK;
	struct rv_rd rd, body;
	uint8_t ver, type;
	uint16_t reserved;
	size_t flen;

	err = rv_ctl_frame_len(buf, len, &flen);
	if (err == RV_CTL_E_NEED_MORE) {
		return RV_CTL_E_TRUNCATED;
	}
	if (err != RV_CTL_OK) {
		return err;
	}
	if (flen != len) {
		return RV_CTL_E_TRAILING;
	}
	rv_rd_init(&rd, buf, len);
	if (!rv_rd_u8(&rd, &ver) || !rv_rd_u8(&rd, &type) || !rv_rd_sub_u16(&rd, &body)) {
		return RV_CTL_E_TRUNCATED; /* unreachable after frame_len */
	}
	memset(out, 0, sizeof(*out));
	out->type = type;
	switch (type) {
	case RV_CTL_HELLO:
		if (!rv_rd_u8(&body, &out->hello.max_ver) ||
		    !rv_rd_u8(&body, &out->hello.min_ver) || !rv_rd_u16(&body, &reserved) ||
		    !rv_rd_u32(&body, &out->hello.caps) || !rv_rd_u8(&body, &out->hello.flags) ||
		    !rv_rd_bytes(&body, out->hello.prev4, 4) ||
		    !rv_rd_bytes(&body, out->hello.prev6, 16)) {
			return RV_CTL_E_TRUNCATED;
		}
		if (reserved != 0) {
			return RV_CTL_E_RESERVED;
		}
		break;
	case RV_CTL_CONFIG:
		if (!read_config(&body, &out->config, &err)) {
			return err;
		}
		break;
	case RV_CTL_KEY:
	case RV_CTL_KEY_ACK:
		if (!rv_rd_u32(&body, &out->key.epoch) ||
		    !rv_rd_bytes(&body, out->key.pub, RV_CTL_PUB_LEN)) {
			return RV_CTL_E_TRUNCATED;
		}
		break;
	case RV_CTL_KEY_CONFIRM:
		if (!rv_rd_u32(&body, &out->confirm_epoch)) {
			return RV_CTL_E_TRUNCATED;
		}
		break;
	case RV_CTL_KEEPALIVE:
		break;
	case RV_CTL_GOODBYE:
		if (!rv_rd_u16(&body, &out->goodbye_code)) {
			return RV_CTL_E_TRUNCATED;
		}
		break;
	case RV_CTL_ERROR: {
		struct rv_rd text;

		if (!rv_rd_u16(&body, &out->error.code) || !rv_rd_sub_u8(&body, &text)) {
			return RV_CTL_E_TRUNCATED;
		}
		if (rv_rd_left(&text) > RV_CTL_MAX_TEXT) {
			return RV_CTL_E_TEXT;
		}
		out->error.text_len = (uint8_t)rv_rd_left(&text);
		if (!rv_rd_bytes(&text, (uint8_t *)out->error.text, out->error.text_len)) {
			return RV_CTL_E_TRUNCATED;
		}
		out->error.text[out->error.text_len] = '\0';
		break;
	}
	case RV_CTL_DNS:
		if (!read_dns(&body, &out->dns, &err)) {
			return err;
		}
		break;
	case RV_CTL_DATA_STATUS:
		if (!rv_rd_u8(&body, &out->data_status.silent) ||
		    !rv_rd_u32(&body, &out->data_status.seconds)) {
			return RV_CTL_E_TRUNCATED;
		}
		break;
	default:
		return RV_CTL_E_TYPE;
	}
	if (rv_rd_left(&body) != 0) {
		return RV_CTL_E_TRAILING;
	}
	return validate(out);
}

static void write_body(struct rv_wr *wr, const struct rv_ctl_msg *m)
{
	const struct rv_ctl_config *c = &m->config;

	switch (m->type) {
	case RV_CTL_HELLO:
		rv_wr_u8(wr, m->hello.max_ver);
		rv_wr_u8(wr, m->hello.min_ver);
		rv_wr_u16(wr, 0);
		rv_wr_u32(wr, m->hello.caps);
		rv_wr_u8(wr, m->hello.flags);
		rv_wr_bytes(wr, m->hello.prev4, 4);
		rv_wr_bytes(wr, m->hello.prev6, 16);
		break;
	case RV_CTL_CONFIG:
		rv_wr_u8(wr, c->flags);
		rv_wr_u8(wr, c->prefix4);
		rv_wr_bytes(wr, c->addr4, 4);
		rv_wr_u8(wr, c->prefix6);
		rv_wr_bytes(wr, c->addr6, 16);
		rv_wr_u16(wr, c->mtu);
		rv_wr_u16(wr, c->data_port);
		rv_wr_u32(wr, c->server_index);
		rv_wr_u32(wr, c->client_index);
		rv_wr_u16(wr, c->keepalive_s);
		rv_wr_u16(wr, c->dead_peer_s);
		rv_wr_u32(wr, c->rekey_s);
		rv_wr_u8(wr, c->cipher);
		rv_wr_u8(wr, c->num_routes);
		for (unsigned i = 0; i < c->num_routes; i++) {
			rv_wr_u8(wr, c->routes[i].family);
			rv_wr_u8(wr, c->routes[i].prefix);
			rv_wr_bytes(wr, c->routes[i].addr, c->routes[i].family == 4 ? 4 : 16);
		}
		break;
	case RV_CTL_KEY:
	case RV_CTL_KEY_ACK:
		rv_wr_u32(wr, m->key.epoch);
		rv_wr_bytes(wr, m->key.pub, RV_CTL_PUB_LEN);
		break;
	case RV_CTL_KEY_CONFIRM:
		rv_wr_u32(wr, m->confirm_epoch);
		break;
	case RV_CTL_KEEPALIVE:
		break;
	case RV_CTL_GOODBYE:
		rv_wr_u16(wr, m->goodbye_code);
		break;
	case RV_CTL_ERROR:
		rv_wr_u16(wr, m->error.code);
		rv_wr_u8(wr, m->error.text_len);
		rv_wr_bytes(wr, (const uint8_t *)m->error.text, m->error.text_len);
		break;
	case RV_CTL_DNS:
		rv_wr_u8(wr, m->dns.num_servers);
		for (unsigned i = 0; i < m->dns.num_servers; i++) {
			const struct rv_ctl_dns_server *srv = &m->dns.servers[i];

			rv_wr_u8(wr, srv->family);
			rv_wr_bytes(wr, srv->addr, srv->family == 4 ? 4 : 16);
		}
		rv_wr_u8(wr, m->dns.domain_len);
		rv_wr_bytes(wr, (const uint8_t *)m->dns.domain, m->dns.domain_len);
		break;
	case RV_CTL_DATA_STATUS:
		rv_wr_u8(wr, m->data_status.silent);
		rv_wr_u32(wr, m->data_status.seconds);
		break;
	default:
		break;
	}
}

int rv_ctl_encode(uint8_t *out, size_t cap, size_t *out_len, const struct rv_ctl_msg *m)
{
	struct rv_wr wr;
	uint8_t *len_field;
	size_t body_len;

	*out_len = 0;
	if (validate(m) != RV_CTL_OK) {
		return -EINVAL;
	}
	rv_wr_init(&wr, out, cap);
	rv_wr_u8(&wr, RV_CTL_VERSION);
	rv_wr_u8(&wr, m->type);
	if (!rv_wr_reserve(&wr, &len_field, 2)) {
		return -ENOSPC;
	}
	write_body(&wr, m);
	if (!rv_wr_ok(&wr)) {
		return -ENOSPC;
	}
	body_len = rv_wr_len(&wr) - RV_CTL_HDR_LEN;
	if (body_len > RV_CTL_MAX_BODY) {
		return -EINVAL;
	}
	len_field[0] = (uint8_t)(body_len >> 8);
	len_field[1] = (uint8_t)body_len;
	*out_len = rv_wr_len(&wr);
	return 0;
}

const char *rv_ctl_err_str(enum rv_ctl_err err)
{
	static const char *const names[RV_CTL_E_MAX] = {
		[RV_CTL_OK] = "ok",
		[RV_CTL_E_NEED_MORE] = "incomplete frame",
		[RV_CTL_E_VERSION] = "unsupported frame version",
		[RV_CTL_E_TYPE] = "unknown message type",
		[RV_CTL_E_TOO_LONG] = "body longer than 1024 bytes",
		[RV_CTL_E_TRUNCATED] = "body shorter than its type requires",
		[RV_CTL_E_TRAILING] = "bytes after the last field",
		[RV_CTL_E_RESERVED] = "reserved field or flag not zero",
		[RV_CTL_E_HELLO_VERSIONS] = "hello min_ver 0 or above max_ver",
		[RV_CTL_E_PREFIX] = "address prefix out of range, or absent address not zero",
		[RV_CTL_E_MTU] = "mtu outside 576..9000",
		[RV_CTL_E_PORT] = "data port 0",
		[RV_CTL_E_INDEX] = "receiver index 0",
		[RV_CTL_E_TIMER] = "keepalive 0, dead-peer timeout not above keepalive, or rekey 0",
		[RV_CTL_E_CIPHER] = "unknown cipher",
		[RV_CTL_E_ROUTES] = "more than 32 routes",
		[RV_CTL_E_ROUTE_FAMILY] = "route family not 4 or 6",
		[RV_CTL_E_ROUTE_BITS] = "route has bits set beyond its prefix",
		[RV_CTL_E_EPOCH] = "key epoch 0",
		[RV_CTL_E_CODE] = "unknown code",
		[RV_CTL_E_TEXT] = "error text too long or not printable ASCII",
		[RV_CTL_E_DNS] = "DNS message without servers, with more than 4, or a bad family",
		[RV_CTL_E_DOMAIN] = "DNS search domain longer than 64 bytes or with bad characters",
		[RV_CTL_E_DATA_STATUS] = "DATA_STATUS silent not 0 or 1, or its seconds 0 when "
					 "silent or not 0 when not",
	};
	if ((unsigned)err >= RV_CTL_E_MAX || !names[err]) {
		return "?";
	}
	return names[err];
}

const char *rv_ctl_type_str(unsigned type)
{
	static const char *const names[] = {
		[RV_CTL_HELLO] = "HELLO",
		[RV_CTL_CONFIG] = "CONFIG",
		[RV_CTL_KEY] = "KEY",
		[RV_CTL_KEY_ACK] = "KEY_ACK",
		[RV_CTL_KEY_CONFIRM] = "KEY_CONFIRM",
		[RV_CTL_KEEPALIVE] = "KEEPALIVE",
		[RV_CTL_GOODBYE] = "GOODBYE",
		[RV_CTL_ERROR] = "ERROR",
		[RV_CTL_DNS] = "DNS",
		[RV_CTL_DATA_STATUS] = "DATA_STATUS",
	};
	if (type >= sizeof(names) / sizeof(names[0]) || !names[type]) {
		return "?";
	}
	return names[type];
}

const char *rv_ctl_caps_str(uint32_t caps, char *buf, size_t len)
{
	static const char *const names[] = {
		"ipv6",		"chacha20",	"client-rekey", "config-update", "dns",
		"csum-partial", "dns-withdraw", "data-status",	"data-echo",	 "data-small",
	};
	size_t off = 0;

	if (len == 0) {
		return buf;
	}
	buf[0] = '\0';
	for (unsigned i = 0; i < 32 && off < len; i++) {
		int n;

		if (!(caps & (1u << i))) {
			continue;
		}
		n = i < ARRAY_SIZE(names)
			    ? snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i])
			    : snprintf(buf + off, len - off, "%sbit%u", off ? "," : "", i);
		off += n > 0 ? (size_t)n : 0;
	}
	if (!buf[0]) {
		snprintf(buf, len, "-");
	}
	return buf;
}

const char *rv_ctl_code_str(unsigned code)
{
	static const char *const names[RV_CTL_CODE_MAX] = {
		[RV_CTL_CODE_NONE] = "none",
		[RV_CTL_CODE_PROTOCOL] = "protocol error",
		[RV_CTL_CODE_VERSION] = "no common version",
		[RV_CTL_CODE_NO_ADDRESS] = "address pool exhausted",
		[RV_CTL_CODE_REPLACED] = "replaced by a newer connection",
		[RV_CTL_CODE_SHUTDOWN] = "shutting down",
		[RV_CTL_CODE_INTERNAL] = "internal error",
		[RV_CTL_CODE_TIMEOUT] = "peer timed out",
		[RV_CTL_CODE_KEY] = "key exchange failed",
		[RV_CTL_CODE_FULL] = "server full",
		[RV_CTL_CODE_KICKED] = "kicked by the operator",
		[RV_CTL_CODE_REVOKED] = "certificate revoked or no longer valid",
		[RV_CTL_CODE_RATE] = "too many requests",
		[RV_CTL_CODE_RECONFIG] = "ended by a configuration or certificate change",
	};
	if (code >= RV_CTL_CODE_MAX) {
		return "?";
	}
	return names[code];
}
