/*
 * test_core_ctlmsg.c — the control-protocol codec (core/ctlmsg.h):
 * round trips of every message type, framing of partial input, and a
 * numbered table of malformed frames, each rejected with its own reason.
 *
 *   build/<dir>/test/test_core_ctlmsg
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/ctlmsg.h"
#include "crypto/aead.h"

static struct rv_ctl_msg valid_config(unsigned num_routes)
{
	struct rv_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_CONFIG;
	m.config.flags = RV_CTL_F_HAS_V4 | RV_CTL_F_HAS_V6;
	m.config.prefix4 = 24;
	memcpy(m.config.addr4, "\x0a\x63\x00\x02", 4);
	m.config.prefix6 = 64;
	m.config.addr6[0] = 0xfd;
	m.config.addr6[1] = 0x99;
	m.config.addr6[15] = 2;
	m.config.mtu = 1420;
	m.config.data_port = 4434;
	m.config.server_index = 0x11223344;
	m.config.client_index = 0x55667788;
	m.config.keepalive_s = 10;
	m.config.dead_peer_s = 30;
	m.config.rekey_s = 120;
	m.config.cipher = RV_AEAD_AES256GCM;
	m.config.num_routes = (uint8_t)num_routes;
	for (unsigned i = 0; i < num_routes; i++) {
		struct rv_ctl_route *r = &m.config.routes[i];

		r->family = i % 2 ? 6 : 4;
		r->prefix = i % 2 ? 48 : 16;
		r->addr[0] = i % 2 ? 0xfd : 192;
		r->addr[1] = (uint8_t)(i % 2 ? 0 : 168);
	}
	return m;
}

static size_t enc(uint8_t *buf, size_t cap, const struct rv_ctl_msg *m)
{
	size_t n;

	cr_assert_eq(rv_ctl_encode(buf, cap, &n, m), 0, "encode %s", rv_ctl_type_str(m->type));
	return n;
}

static void roundtrip(const struct rv_ctl_msg *m, size_t want_len)
{
	uint8_t buf[RV_CTL_MAX_FRAME];
	struct rv_ctl_msg out;
	size_t n = enc(buf, sizeof(buf), m), flen;

	cr_assert_eq(n, want_len, "%s: %zu bytes, want %zu", rv_ctl_type_str(m->type), n, want_len);
	cr_assert_eq(rv_ctl_frame_len(buf, n, &flen), RV_CTL_OK);
	cr_assert_eq(flen, n);
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_OK);
	cr_assert_eq(memcmp(&out, m, sizeof(out)), 0, "%s decodes to what was encoded",
		     rv_ctl_type_str(m->type));
}

Test(ctlmsg, roundtrip_every_type)
{
	struct rv_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_HELLO;
	m.hello.max_ver = 3;
	m.hello.min_ver = 1;
	m.hello.caps = 0xdeadbeef;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_HELLO_LEN);
	m.hello.flags = RV_CTL_F_HAS_V4 | RV_CTL_F_HAS_V6;
	m.hello.prev4[0] = 10;
	m.hello.prev6[0] = 0xfd;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_HELLO_LEN);

	m = valid_config(0);
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_CONFIG_FIXED_LEN);
	m = valid_config(RV_CTL_MAX_ROUTES);
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_CONFIG_FIXED_LEN + 16 * 6 + 16 * 18);
	m.config.flags = RV_CTL_F_HAS_V6; /* IPv6 only */
	m.config.prefix4 = 0;
	memset(m.config.addr4, 0, 4);
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_CONFIG_FIXED_LEN + 16 * 6 + 16 * 18);

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_KEY;
	m.key.epoch = 7;
	memset(m.key.pub, 0xab, sizeof(m.key.pub));
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_KEY_LEN);
	m.type = RV_CTL_KEY_ACK;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_KEY_LEN);

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_KEY_CONFIRM;
	m.confirm_epoch = 0xffffffff;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_CONFIRM_LEN);

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_KEEPALIVE;
	roundtrip(&m, RV_CTL_HDR_LEN);

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_GOODBYE;
	m.goodbye_code = RV_CTL_CODE_SHUTDOWN;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_GOODBYE_LEN);

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_ERROR;
	m.error.code = RV_CTL_CODE_NO_ADDRESS;
	m.error.text_len = 13;
	memcpy(m.error.text, "pool is full!", 13);
	roundtrip(&m, RV_CTL_HDR_LEN + 3 + 13);
	m.error.text_len = RV_CTL_MAX_TEXT;
	memset(m.error.text, 'x', RV_CTL_MAX_TEXT);
	roundtrip(&m, RV_CTL_HDR_LEN + 3 + RV_CTL_MAX_TEXT);

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_DATA_STATUS;
	m.data_status.silent = 1;
	m.data_status.seconds = 75;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_DATA_STATUS_LEN);
	m.data_status.seconds = UINT32_MAX;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_DATA_STATUS_LEN);
	m.data_status.silent = 0;
	m.data_status.seconds = 0;
	roundtrip(&m, RV_CTL_HDR_LEN + RV_CTL_DATA_STATUS_LEN);
}

/* DATA_STATUS on the wire: silent u8 | seconds u32, big-endian. */
Test(ctlmsg, data_status_layout)
{
	struct rv_ctl_msg m = { .type = RV_CTL_DATA_STATUS }, out;
	static const uint8_t want[] = { 1, 10, 0, 5, 1, 0x00, 0x01, 0x02, 0x03 };
	uint8_t buf[RV_CTL_MAX_FRAME];
	size_t n;

	m.data_status.silent = 1;
	m.data_status.seconds = 0x010203;
	n = enc(buf, sizeof(buf), &m);
	cr_assert_eq(n, sizeof(want));
	cr_assert_eq(memcmp(buf, want, n), 0);
	cr_assert_eq(rv_ctl_decode(&out, want, sizeof(want)), RV_CTL_OK);
	cr_assert_eq(out.data_status.seconds, 0x010203);
	cr_assert_str_eq(rv_ctl_type_str(RV_CTL_DATA_STATUS), "DATA_STATUS");
}

Test(ctlmsg, framing_needs_every_byte)
{
	struct rv_ctl_msg m = valid_config(3);
	uint8_t buf[RV_CTL_MAX_FRAME * 2];
	size_t n = enc(buf, sizeof(buf), &m), flen;

	/* Every proper prefix of a frame asks for more; two frames back to
	 * back are split at the right place. */
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(rv_ctl_frame_len(buf, i, &flen), RV_CTL_E_NEED_MORE, "prefix %zu", i);
		cr_assert_eq(rv_ctl_decode(&m, buf, i), RV_CTL_E_TRUNCATED, "decode prefix %zu", i);
	}
	memcpy(buf + n, buf, n);
	cr_assert_eq(rv_ctl_frame_len(buf, 2 * n, &flen), RV_CTL_OK);
	cr_assert_eq(flen, n);
	cr_assert_eq(rv_ctl_decode(&m, buf, 2 * n), RV_CTL_E_TRAILING);
}

Test(ctlmsg, encode_refuses_invalid_and_small_buffers)
{
	struct rv_ctl_msg m = valid_config(2);
	uint8_t buf[RV_CTL_MAX_FRAME];
	size_t n;

	cr_assert_eq(rv_ctl_encode(buf, 10, &n, &m), -ENOSPC);
	m.config.mtu = 100;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), -EINVAL);
	m.type = 99;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), -EINVAL);

	/* DATA_STATUS: silent 0 or 1 only, its seconds as it says. */
	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_DATA_STATUS;
	m.data_status.silent = 2;
	m.data_status.seconds = 5;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), -EINVAL);
	m.data_status.silent = 1;
	m.data_status.seconds = 0;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), -EINVAL);
	m.data_status.silent = 0;
	m.data_status.seconds = 5;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), -EINVAL);
}

/* A malformed-frame case: start from a valid message of |base| (0 hello,
 * 1 config with 2 routes, 2 key, 3 confirm, 4 goodbye, 5 error, 6 keepalive,
 * 7 dns, 8 data status silent for 5 s), set byte |off| to |val| (or change
 * the length by |grow| bytes), expect |err|. */
struct bad {
	int base;
	int off; /* -1: none */
	uint8_t val;
	int grow; /* appended zero bytes (> 0) or removed bytes (< 0), body_len fixed up */
	enum rv_ctl_err err;
};

static const struct bad bads[] = {
	/* 0-4: framing */
	{ 6, 0, 2, 0, RV_CTL_E_VERSION },
	{ 6, 1, 0, 0, RV_CTL_E_TYPE },
	{ 6, 1, 11, 0, RV_CTL_E_TYPE },
	{ 6, 2, 0x05, 0, RV_CTL_E_TOO_LONG }, /* body_len 0x0500 > 1024 */
	{ 6, -1, 0, 1, RV_CTL_E_TRAILING },   /* keepalive with a body */
	/* 5-9: hello */
	{ 0, 5, 0, 0, RV_CTL_E_HELLO_VERSIONS }, /* min_ver 0 */
	{ 0, 5, 9, 0, RV_CTL_E_HELLO_VERSIONS }, /* min_ver > max_ver */
	{ 0, 6, 1, 0, RV_CTL_E_RESERVED },
	{ 0, 12, 4, 0, RV_CTL_E_RESERVED }, /* unknown flag */
	{ 0, 13, 10, 0, RV_CTL_E_PREFIX },  /* prev4 without HAS_V4 */
	/* 10-22: config (2 routes: 192.168.0.0/16 and fd00::/48) */
	{ 1, 4, 4, 0, RV_CTL_E_RESERVED },
	{ 1, 5, 33, 0, RV_CTL_E_PREFIX },
	{ 1, 5, 0, 0, RV_CTL_E_PREFIX },
	{ 1, 10, 129, 0, RV_CTL_E_PREFIX },
	{ 1, 27, 0x24, 0, RV_CTL_E_MTU }, /* 0x248c = 9356 */
	{ 1, 47, 0, 0, RV_CTL_E_CIPHER },
	{ 1, 47, 3, 0, RV_CTL_E_CIPHER },
	{ 1, 48, 33, 0, RV_CTL_E_ROUTES },
	{ 1, 48, 3, 0, RV_CTL_E_TRUNCATED }, /* a route announced but absent */
	{ 1, 49, 5, 0, RV_CTL_E_ROUTE_FAMILY },
	{ 1, 50, 33, 0, RV_CTL_E_PREFIX },
	{ 1, 53, 1, 0, RV_CTL_E_ROUTE_BITS }, /* 192.168.0.1/16 */
	{ 1, -1, 0, -1, RV_CTL_E_TRUNCATED },
	/* 23-26: keys */
	{ 2, 7, 0, 0, RV_CTL_E_EPOCH },
	{ 2, -1, 0, -1, RV_CTL_E_TRUNCATED },
	{ 2, -1, 0, 1, RV_CTL_E_TRAILING },
	{ 3, 7, 0, 0, RV_CTL_E_EPOCH },
	/* 27-30: goodbye and error */
	{ 4, 5, 99, 0, RV_CTL_E_CODE },
	{ 5, 7, 0x07, 0, RV_CTL_E_TEXT },   /* control character in the text */
	{ 5, 6, 4, 0, RV_CTL_E_TRUNCATED }, /* text_len beyond the body */
	{ 5, 5, 200, 0, RV_CTL_E_CODE },
	/* 31-37: dns (servers 10.0.0.53 and fd00::53, domain "corp.example") */
	{ 7, 4, 0, 0, RV_CTL_E_TRAILING },    /* no server: the servers are left over */
	{ 7, 4, 5, 0, RV_CTL_E_DNS },	      /* more than 4 */
	{ 7, 5, 5, 0, RV_CTL_E_DNS },	      /* family 5 */
	{ 7, 4, 3, 0, RV_CTL_E_DNS },	      /* third server's family is the domain length */
	{ 7, 27, 65, 53, RV_CTL_E_DOMAIN },   /* domain_len 65 */
	{ 7, 28, '_', 0, RV_CTL_E_DOMAIN },   /* bad character */
	{ 7, -1, 0, -1, RV_CTL_E_TRUNCATED }, /* domain cut short */
	/* 38-45: data status (silent 1, seconds 5: bytes 4 and 5..8) */
	{ 8, 4, 2, 0, RV_CTL_E_DATA_STATUS },	 /* silent 2 */
	{ 8, 4, 0xff, 0, RV_CTL_E_DATA_STATUS }, /* silent 255 */
	{ 8, 4, 0, 0, RV_CTL_E_DATA_STATUS },	 /* not silent, with seconds */
	{ 8, 8, 0, 0, RV_CTL_E_DATA_STATUS },	 /* silent for 0 s */
	{ 8, -1, 0, -1, RV_CTL_E_TRUNCATED },	 /* seconds cut short */
	{ 8, -1, 0, -5, RV_CTL_E_TRUNCATED },	 /* no body */
	{ 8, -1, 0, 1, RV_CTL_E_TRAILING },
	{ 8, 1, 11, 0, RV_CTL_E_TYPE }, /* the type after it is unknown */
};

static struct rv_ctl_msg valid_dns(void)
{
	struct rv_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RV_CTL_DNS;
	m.dns.num_servers = 2;
	m.dns.servers[0].family = 4;
	memcpy(m.dns.servers[0].addr, "\x0a\x00\x00\x35", 4);
	m.dns.servers[1].family = 6;
	m.dns.servers[1].addr[0] = 0xfd;
	m.dns.servers[1].addr[15] = 0x53;
	m.dns.domain_len = 12;
	memcpy(m.dns.domain, "corp.example", 12);
	return m;
}

/* Frame layout of valid_dns: header 4 | num 1 (off 4) | fam 1 (5) addr 4 |
 * fam 1 (10) addr 16 | domain_len 1 (27)... */
Test(ctlmsg, dns_roundtrip)
{
	struct rv_ctl_msg m = valid_dns(), out;
	uint8_t buf[RV_CTL_MAX_FRAME];
	size_t n;

	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), 0);
	cr_assert_eq(n, (size_t)RV_CTL_HDR_LEN + 1 + 5 + 17 + 1 + 12);
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_OK);
	cr_assert_eq(out.dns.num_servers, 2);
	cr_assert_str_eq(out.dns.domain, "corp.example");
	cr_assert_eq(memcmp(out.dns.servers[1].addr, m.dns.servers[1].addr, 16), 0);
	m.dns.domain_len = 0;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), 0);
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_OK);
	cr_assert_eq(out.dns.domain[0], '\0');
	/* No server (RV_CTL_CAP_DNS_EMPTY): the push withdrawn. */
	m.dns.num_servers = 0;
	cr_assert_eq(rv_ctl_encode(buf, sizeof(buf), &n, &m), 0);
	cr_assert_eq(n, (size_t)RV_CTL_HDR_LEN + 2);
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_OK);
	cr_assert_eq(out.dns.num_servers, 0);
}

static size_t base_frame(int base, uint8_t *buf, size_t cap)
{
	struct rv_ctl_msg m;

	memset(&m, 0, sizeof(m));
	switch (base) {
	case 0:
		m.type = RV_CTL_HELLO;
		m.hello.max_ver = m.hello.min_ver = 1;
		break;
	case 1:
		m = valid_config(2);
		break;
	case 2:
		m.type = RV_CTL_KEY;
		m.key.epoch = 1;
		break;
	case 3:
		m.type = RV_CTL_KEY_CONFIRM;
		m.confirm_epoch = 1;
		break;
	case 4:
		m.type = RV_CTL_GOODBYE;
		break;
	case 5:
		m.type = RV_CTL_ERROR;
		m.error.code = 1;
		m.error.text_len = 3;
		memcpy(m.error.text, "abc", 3);
		break;
	case 7:
		m = valid_dns();
		break;
	case 8:
		m.type = RV_CTL_DATA_STATUS;
		m.data_status.silent = 1;
		m.data_status.seconds = 5;
		break;
	default:
		m.type = RV_CTL_KEEPALIVE;
		break;
	}
	return enc(buf, cap, &m);
}

static void check_bad(size_t idx, const struct bad *b)
{
	uint8_t buf[RV_CTL_MAX_FRAME * 2];
	struct rv_ctl_msg out;
	size_t n = base_frame(b->base, buf, sizeof(buf));

	memset(buf + n, 0, sizeof(buf) - n);
	if (b->off >= 0) {
		buf[b->off] = b->val;
	}
	if (b->grow) {
		size_t body = n - RV_CTL_HDR_LEN + (size_t)(ptrdiff_t)b->grow;

		n += (size_t)(ptrdiff_t)b->grow;
		buf[2] = (uint8_t)(body >> 8);
		buf[3] = (uint8_t)body;
	}
	cr_assert_eq(rv_ctl_decode(&out, buf, n), b->err, "case %zu: got '%s', want '%s'", idx,
		     rv_ctl_err_str(rv_ctl_decode(&out, buf, n)), rv_ctl_err_str(b->err));
}

Test(ctlmsg, malformed_frames_rejected_with_reason)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		check_bad(i, &bads[i]);
	}
}

Test(ctlmsg, zero_fields_rejected)
{
	struct rv_ctl_msg m = valid_config(0), out;
	uint8_t buf[RV_CTL_MAX_FRAME];
	size_t n;

	/* Fields set to invalid values are refused by the encoder too, so
	 * patch them into a valid frame by hand. */
	n = enc(buf, sizeof(buf), &m);
	buf[27] = 0x02;
	buf[28] = 0x3f; /* mtu 575 */
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_MTU);
	n = enc(buf, sizeof(buf), &m);
	buf[29] = buf[30] = 0;
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_PORT);
	n = enc(buf, sizeof(buf), &m);
	memset(buf + 31, 0, 4);
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_INDEX);
	n = enc(buf, sizeof(buf), &m);
	memset(buf + 35, 0, 4);
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_INDEX);
	n = enc(buf, sizeof(buf), &m);
	buf[39] = buf[40] = 0;
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_TIMER);
	n = enc(buf, sizeof(buf), &m);
	buf[41] = 0;
	buf[42] = 10; /* dead_peer == keepalive */
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_TIMER);
	n = enc(buf, sizeof(buf), &m);
	memset(buf + 43, 0, 4);
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_TIMER);
	n = enc(buf, sizeof(buf), &m);
	buf[4] = RV_CTL_F_HAS_V6; /* v4 absent but its address is set */
	cr_assert_eq(rv_ctl_decode(&out, buf, n), RV_CTL_E_PREFIX);
}

Test(ctlmsg, names)
{
	for (int e = 0; e < RV_CTL_E_MAX; e++) {
		cr_assert_str_neq(rv_ctl_err_str((enum rv_ctl_err)e), "?", "error %d unnamed", e);
	}
	cr_assert_str_eq(rv_ctl_err_str(RV_CTL_E_MAX), "?");
	cr_assert_str_eq(rv_ctl_type_str(RV_CTL_KEY_ACK), "KEY_ACK");
	cr_assert_str_eq(rv_ctl_type_str(0), "?");
	cr_assert_str_eq(rv_ctl_code_str(RV_CTL_CODE_REPLACED), "replaced by a newer connection");
	cr_assert_str_eq(rv_ctl_code_str(1000), "?");
}

/* The capabilities a peer announced, as status shows them: an older peer's
 * missing ones are seen (round-eighteen tester 86). */
Test(ctlmsg, caps_named)
{
	char b[320], small[12];

	cr_assert_str_eq(rv_ctl_caps_str(0, b, sizeof(b)), "-");
	cr_assert_str_eq(rv_ctl_caps_str(RV_CTL_CAP_IPV6 | RV_CTL_CAP_DNS, b, sizeof(b)),
			 "ipv6,dns");
	cr_assert_str_eq(rv_ctl_caps_str(RV_CTL_CAP_DATA_ECHO | (1u << 31), b, sizeof(b)),
			 "data-echo,bit31");
	cr_assert_str_eq(rv_ctl_caps_str(0x1ff, b, sizeof(b)),
			 "ipv6,chacha20,client-rekey,config-update,dns,csum-partial,dns-withdraw,"
			 "data-status,data-echo");
	cr_assert_lt(strlen(rv_ctl_caps_str(0xffffffffu, b, sizeof(b))), sizeof(b) - 1,
		     "every bit fits");
	/* Cut, never overrun. */
	cr_assert_eq(strlen(rv_ctl_caps_str(0x1ff, small, sizeof(small))), sizeof(small) - 1);
	cr_assert_str_eq(rv_ctl_caps_str(RV_CTL_CAP_DATA_SMALL, b, sizeof(b)), "data-small");
}
