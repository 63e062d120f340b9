/*
 * test_core_session.c — two sessions wired back to back (A's remote index is
 * B's local index and vice versa) exchange sealed batches in memory: round
 * trips, tampering, replay, key epochs and rollover, limits, endpoint.
 *
 *   ./build/<dir>/test/test_core_session --verbose
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <criterion/criterion.h>

#include "core/clock.h"
#include "core/qsbr.h"
#include "core/replay.h"
#include "core/session.h"
#include "core/wire.h"

enum {
	IDX_A = 0x11111111,
	IDX_B = 0x22222222,
	BUF_LEN = RV_DATA_HDR_LEN + RV_MAX_MTU + RV_TAG_LEN,
};

struct pkt_buf {
	uint8_t data[BUF_LEN];
};

struct pair {
	struct rv_session *a, *b;
	struct rv_qsbr *q;
};

static void key_for(uint8_t *key, uint32_t epoch, uint8_t dir)
{
	for (size_t i = 0; i < RV_AEAD_KEY_LEN; i++) {
		key[i] = (uint8_t)(epoch * 31 + i * 7 + dir);
	}
}

static void pair_new(struct pair *p, const struct rv_session_params *tmpl)
{
	struct rv_session_params pa = { 0 }, pb;

	if (tmpl) {
		pa = *tmpl;
	}
	pb = pa;
	pa.local_index = IDX_A;
	pa.remote_index = IDX_B;
	pb.local_index = IDX_B;
	pb.remote_index = IDX_A;
	p->a = rv_session_new(&pa);
	p->b = rv_session_new(&pb);
	p->q = rv_qsbr_new(4);
	cr_assert(p->a && p->b && p->q);
}

static void pair_free(struct pair *p)
{
	rv_session_free(p->a);
	rv_session_free(p->b);
	rv_qsbr_free(p->q);
}

/* The tests run on an injected clock: no result may depend on how long the
 * machine has been up (see the time_* tests below). */
#define T_NOW (7 * RV_NSEC_PER_SEC)

/* install_both gives both ends epoch |e|: A sends with key "ab", B with "ba". */
static void install_both(struct pair *p, uint32_t e)
{
	uint8_t ab[RV_AEAD_KEY_LEN], ba[RV_AEAD_KEY_LEN];

	key_for(ab, e, 0xab);
	key_for(ba, e, 0xba);
	cr_assert_eq(rv_session_install_epoch(p->a, p->q, e, ab, ba, T_NOW), 0);
	cr_assert_eq(rv_session_install_epoch(p->b, p->q, e, ba, ab, T_NOW), 0);
}

static void fill(uint8_t *payload, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		payload[i] = (uint8_t)(seed + i * 13);
	}
}

/* seal_one seals |len| bytes of pattern |seed| into |b|; returns the result
 * and stores the datagram length. */
static enum rv_session_result seal_one(struct rv_session *s, struct pkt_buf *b, size_t len,
				       uint32_t seed, uint64_t now, uint32_t *out_dlen)
{
	struct rv_pkt pkt = { .buf = b->data, .len = (uint32_t)len };
	enum rv_session_result r;

	fill(b->data + RV_DATA_HDR_LEN, len, seed);
	r = rv_session_seal_batch(s, &pkt, 1, now);
	*out_dlen = pkt.len;
	return r;
}

/* open_one parses and opens one datagram (a copy, so |b| stays reusable). */
static enum rv_session_result open_one(struct rv_session *s, const struct pkt_buf *b, uint32_t dlen,
				       uint64_t now, uint32_t *out_len)
{
	static struct pkt_buf copy;
	struct rv_data_hdr hdr;
	struct rv_pkt pkt = { .buf = copy.data, .len = dlen };
	enum rv_session_result res;
	size_t n;

	memcpy(copy.data, b->data, dlen);
	cr_assert_eq(rv_wire_parse_data_hdr(&hdr, copy.data, dlen), RV_WIRE_OK);
	n = rv_session_open_batch(s, &pkt, &hdr, &res, 1, now);
	cr_assert_eq(n, (res == RV_SESSION_OK || res == RV_SESSION_KEY_ROLLED ||
			 res == RV_SESSION_REKEY_SOON)
				? 1u
				: 0u);
	if (out_len) {
		*out_len = pkt.len;
	}
	return res;
}

Test(session, new_rejects_bad_params)
{
	struct rv_session_params p = { .local_index = 1, .remote_index = 0 };

	cr_assert_null(rv_session_new(&p));
	p.remote_index = 2;
	p.local_index = 0;
	cr_assert_null(rv_session_new(&p));
	p.local_index = 1;
	p.vaddr4.family = AF_INET6;
	cr_assert_null(rv_session_new(&p));
	p.vaddr4.family = AF_INET;
	p.alg = (enum rv_aead_alg)77;
	cr_assert_null(rv_session_new(&p));
	p.alg = RV_AEAD_NONE;
	struct rv_session *s = rv_session_new(&p);
	cr_assert_not_null(s);
	cr_assert_eq(rv_session_local_index(s), 1u);
	cr_assert_eq(rv_session_remote_index(s), 2u);
	cr_assert_eq(rv_session_tx_epoch(s), 0u);
	rv_session_free(s);
	rv_session_free(NULL);
}

/* The peer's name is copied (the caller's buffer is gone by the time a
 * worker logs), cut to fit, and "peer" when none was given. */
Test(session, peer_name)
{
	struct rv_session_params p = { .local_index = 1, .remote_index = 2 };
	char name[RV_SESSION_PEER_NAME_MAX + 10];
	struct rv_session *s;

	s = rv_session_new(&p);
	cr_assert_not_null(s);
	cr_assert_str_eq(rv_session_peer_name(s), "peer");
	rv_session_free(s);

	snprintf(name, sizeof(name), "client client1");
	p.peer_name = name;
	s = rv_session_new(&p);
	cr_assert_not_null(s);
	name[0] = 'X';
	cr_assert_str_eq(rv_session_peer_name(s), "client client1");
	rv_session_free(s);

	/* "client " and the longest certificate name fit whole; past that,
	 * the name is cut. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name, "client ", 7);
	name[7 + RV_CERT_NAME_MAX] = '\0';
	s = rv_session_new(&p);
	cr_assert_not_null(s);
	cr_assert_str_eq(rv_session_peer_name(s), name);
	rv_session_free(s);
	name[7 + RV_CERT_NAME_MAX] = 'n';
	s = rv_session_new(&p);
	cr_assert_not_null(s);
	cr_assert_eq(strlen(rv_session_peer_name(s)), (size_t)RV_SESSION_PEER_NAME_MAX - 1);
	rv_session_free(s);
}

Test(session, no_key_before_activation)
{
	struct pair p;
	struct pkt_buf b;
	uint32_t dlen;

	pair_new(&p, NULL);
	cr_assert_eq(seal_one(p.a, &b, 10, 1, T_NOW, &dlen), RV_SESSION_NO_KEY);
	install_both(&p, 1);
	/* Installed for receiving only. */
	cr_assert_eq(seal_one(p.a, &b, 10, 1, T_NOW, &dlen), RV_SESSION_NO_KEY);
	cr_assert_eq(rv_session_activate_epoch(p.a, 2), -ENOENT);
	cr_assert_eq(rv_session_activate_epoch(p.a, 0), -ENOENT);
	cr_assert_eq(rv_session_activate_epoch(p.a, 1), 0);
	cr_assert_eq(seal_one(p.a, &b, 10, 1, T_NOW, &dlen), RV_SESSION_OK);
	pair_free(&p);
}

/* Batches of mixed sizes both ways; every plaintext and header is checked. */
Test(session, round_trip_sizes)
{
	static const uint32_t sizes[] = { 0, 1, 15, 16, 17, 64, 576, 1280, 1420, 1500, RV_MAX_MTU };
	enum { N = ARRAY_SIZE(sizes) };
	static struct pkt_buf bufs[N];
	struct rv_pkt pkts[N];
	struct rv_data_hdr hdrs[N];
	enum rv_session_result res[N];
	struct rv_session_stats st;
	struct pair p;
	uint64_t now = T_NOW, total = 0;

	pair_new(&p, NULL);
	install_both(&p, 1);
	cr_assert_eq(rv_session_activate_epoch(p.a, 1), 0);
	cr_assert_eq(rv_session_activate_epoch(p.b, 1), 0);

	for (int round = 0; round < 3; round++) {
		struct rv_session *tx = round % 2 ? p.b : p.a;
		struct rv_session *rx = round % 2 ? p.a : p.b;

		for (size_t i = 0; i < N; i++) {
			pkts[i] = (struct rv_pkt){ .buf = bufs[i].data, .len = sizes[i] };
			fill(bufs[i].data + RV_DATA_HDR_LEN, sizes[i], (uint32_t)(i + round));
		}
		cr_assert_eq(rv_session_seal_batch(tx, pkts, N, now), RV_SESSION_OK);
		for (size_t i = 0; i < N; i++) {
			cr_assert_eq(pkts[i].len, sizes[i] + RV_DATA_OVERHEAD);
			cr_assert_eq(rv_wire_parse_data_hdr(&hdrs[i], pkts[i].buf, pkts[i].len),
				     RV_WIRE_OK);
			cr_assert_eq(hdrs[i].type, RV_MSG_DATA);
			cr_assert_eq(hdrs[i].key_id, 1);
			cr_assert_eq(hdrs[i].receiver_index, rv_session_local_index(rx));
			/* round 2 is A's second batch: its counters continue. */
			cr_assert_eq(hdrs[i].counter, (round == 2 ? N : 0) + i);
		}
		cr_assert_eq(rv_session_open_batch(rx, pkts, hdrs, res, N, now), N);
		for (size_t i = 0; i < N; i++) {
			uint8_t want[RV_MAX_MTU];

			cr_assert_eq(res[i], RV_SESSION_OK, "pkt %zu: %s", i,
				     rv_session_result_str(res[i]));
			cr_assert_eq(pkts[i].len, sizes[i]);
			fill(want, sizes[i], (uint32_t)(i + round));
			cr_assert_arr_eq(bufs[i].data + RV_DATA_HDR_LEN, want, sizes[i]);
		}
		cr_assert_eq(rv_session_last_rx_ns(rx), now);
	}
	for (size_t i = 0; i < N; i++) {
		total += sizes[i];
	}
	rv_session_get_stats(p.a, &st);
	/* The empty one (a keepalive) is sent but is no packet of the
	 * tunnel's: the session counts what the worker counts. */
	cr_assert_eq(st.tx_packets, 2 * (N - 1));
	cr_assert_eq(st.tx_bytes, 2 * total);
	/* Opened is not yet received: the worker counts what it passes on. */
	cr_assert_eq(st.rx_packets, 0);
	rv_session_count_rx(p.a, N, total);
	rv_session_get_stats(p.a, &st);
	cr_assert_eq(st.rx_packets, N);
	cr_assert_eq(st.rx_bytes, total);
	cr_assert_eq(st.tx_epoch, 1u);
	pair_free(&p);
}

/* A forged packet is rejected without touching the replay window: the
 * genuine packet with the same (or the forged) counter still opens. */
Test(session, tamper_is_auth_fail_and_leaves_replay_alone)
{
	static struct pkt_buf good, bad, later;
	struct rv_session_stats st;
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen, dlen2, len;

	pair_new(&p, NULL);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	rv_session_activate_epoch(p.b, 1);
	cr_assert_eq(seal_one(p.a, &good, 100, 7, now, &dlen), RV_SESSION_OK);

	/* Each of: a ciphertext byte, the tag, the counter in the header. */
	const size_t flips[] = { RV_DATA_HDR_LEN + 3, dlen - 1, 15 };
	for (size_t k = 0; k < ARRAY_SIZE(flips); k++) {
		bad = good;
		bad.data[flips[k]] ^= 0x01;
		cr_assert_eq(open_one(p.b, &bad, dlen, now, NULL), RV_SESSION_AUTH_FAIL,
			     "flip at %zu", flips[k]);
	}
	/* Header counter changed to 1: must not mark 1 as seen. */
	cr_assert_eq(seal_one(p.a, &later, 50, 8, now, &dlen2), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &later, dlen2, now, &len), RV_SESSION_OK);
	cr_assert_eq(len, 50u);
	cr_assert_eq(open_one(p.b, &good, dlen, now, &len), RV_SESSION_OK);
	cr_assert_eq(len, 100u);
	/* Truncated to an empty message: the tag no longer matches. */
	cr_assert_eq(seal_one(p.a, &bad, 100, 9, now, &dlen2), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &bad, RV_DATA_OVERHEAD, now, NULL), RV_SESSION_AUTH_FAIL);
	cr_assert_eq(open_one(p.b, &bad, dlen2, now, &len), RV_SESSION_OK);

	rv_session_get_stats(p.b, &st);
	cr_assert_eq(st.drop[RV_DROP_AUTH], 4u);
	cr_assert_eq(rv_session_last_rx_ns(p.a), 0u);
	pair_free(&p);
}

Test(session, duplicate_is_replay)
{
	static struct pkt_buf b, c1, c2;
	struct rv_pkt pkts[2] = { { c1.data, 0, 0 }, { c2.data, 0, 0 } };
	struct rv_data_hdr hdrs[2];
	enum rv_session_result res[2];
	struct rv_session_stats st;
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen;

	pair_new(&p, NULL);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	rv_session_activate_epoch(p.b, 1);
	cr_assert_eq(seal_one(p.a, &b, 33, 1, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_REPLAY);

	/* Both copies of one datagram in one batch: pass 1 admits both, the
	 * locked update takes only the first. */
	cr_assert_eq(seal_one(p.a, &b, 33, 2, now, &dlen), RV_SESSION_OK);
	c1 = b;
	c2 = b;
	pkts[0].len = pkts[1].len = dlen;
	rv_wire_parse_data_hdr(&hdrs[0], c1.data, dlen);
	rv_wire_parse_data_hdr(&hdrs[1], c2.data, dlen);
	cr_assert_eq(rv_session_open_batch(p.b, pkts, hdrs, res, 2, now), 1u);
	cr_assert_eq(res[0], RV_SESSION_OK);
	cr_assert_eq(res[1], RV_SESSION_REPLAY);
	rv_session_get_stats(p.b, &st);
	cr_assert_eq(st.drop[RV_DROP_REPLAY], 2u);
	pair_free(&p);
}

/* ep4 is the IPv4 endpoint |addr|:|port|. */
static struct rv_endpoint ep4(const char *addr, uint16_t port)
{
	struct rv_endpoint e = { 0 };

	e.in4.sin_family = AF_INET;
	e.in4.sin_port = htons(port);
	inet_pton(AF_INET, addr, &e.in4.sin_addr);
	e.len = sizeof(e.in4);
	return e;
}

/* open_newest opens copies of the datagrams bufs[idx[0..n)] (lengths dlen[])
 * in one batch; returns rv_session_open_batch_newest's *newest after
 * checking every one was accepted. */
static size_t open_newest(struct rv_session *s, const struct pkt_buf *bufs, const uint32_t *dlen,
			  const unsigned *idx, size_t n, uint64_t now)
{
	static struct pkt_buf copies[8];
	struct rv_pkt pkts[8];
	struct rv_data_hdr hdrs[8];
	enum rv_session_result res[8];
	size_t newest = 99;

	cr_assert_leq(n, 8u);
	for (size_t i = 0; i < n; i++) {
		copies[i] = bufs[idx[i]];
		pkts[i] = (struct rv_pkt){ .buf = copies[i].data, .len = dlen[idx[i]] };
		cr_assert_eq(rv_wire_parse_data_hdr(&hdrs[i], copies[i].data, pkts[i].len),
			     RV_WIRE_OK);
	}
	cr_assert_eq(rv_session_open_batch_newest(s, pkts, hdrs, res, n, now, &newest), n);
	return newest;
}

/* Only a peer's newest datagram may move its endpoint: an on-path attacker
 * who holds one back and delivers it later from elsewhere (a victim's
 * address) must not steer the session's traffic there. A datagram is
 * "newest" when its counter is the highest its epoch has seen and its epoch
 * is not older than the newest the peer has sent under; a late one is
 * still opened. */
Test(session, only_the_newest_datagram_moves_the_endpoint)
{
	static struct pkt_buf b[11];
	uint32_t dlen[11];
	struct pair p;
	uint64_t now = T_NOW;

	pair_new(&p, NULL);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	rv_session_activate_epoch(p.b, 1);
	for (unsigned i = 0; i < 6; i++) {
		cr_assert_eq(seal_one(p.a, &b[i], 40, i, now, &dlen[i]), RV_SESSION_OK);
	}
	/* Counters 0, 1, 3: the last is the newest. */
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 0, 1, 3 }, 3, now), 2u);
	/* 2 arrives late: opened, moves nothing. */
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 2 }, 1, now), 1u);
	/* 5 then 4: 5 is. */
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 5, 4 }, 2, now), 0u);

	/* Epoch 1's counter 6 is held back while both ends move to epoch 2:
	 * though the highest epoch 1 has seen, it is late. */
	cr_assert_eq(seal_one(p.a, &b[6], 40, 6, now, &dlen[6]), RV_SESSION_OK);
	install_both(&p, 2);
	rv_session_activate_epoch(p.a, 2);
	rv_session_activate_epoch(p.b, 2);
	cr_assert_eq(seal_one(p.a, &b[7], 40, 7, now, &dlen[7]), RV_SESSION_OK);
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 7 }, 1, now), 0u);
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 6 }, 1, now), 1u);

	/* b sends under epoch 3 already, a still under 2 (b's switch
	 * reaches it a round trip later): a's newest datagram of 2 moves
	 * the endpoint (it did not, and a NAT rebinding then went unfollowed
	 * for that round trip: round-sixty-two tester 252). Once a has sent
	 * under 3, a datagram of 2 is late. */
	install_both(&p, 3);
	rv_session_activate_epoch(p.b, 3);
	cr_assert_eq(seal_one(p.a, &b[8], 40, 8, now, &dlen[8]), RV_SESSION_OK);
	cr_assert_eq(seal_one(p.a, &b[9], 40, 9, now, &dlen[9]), RV_SESSION_OK);
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 8 }, 1, now), 0u);
	/* Not for ever: an idle peer's held-back datagram of 2 moved it until
	 * the peer's next keepalive (tester 256); past the grace after our
	 * epoch 3 came, a round trip's worth, it is late. */
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 9 }, 1,
				 now + RV_SESSION_SWITCH_GRACE_NS + 1),
		     1u);
	rv_session_activate_epoch(p.a, 3);
	cr_assert_eq(seal_one(p.a, &b[10], 40, 10, now, &dlen[10]), RV_SESSION_OK);
	cr_assert_eq(open_newest(p.b, b, dlen, (unsigned[]){ 10 }, 1, now), 0u);
	pair_free(&p);
}

/* A client's session has the server's endpoint from the control plane:
 * nothing a datagram says moves it. */
Test(session, fixed_endpoint_never_moves)
{
	struct rv_endpoint e4 = ep4("192.0.2.7", 4434), e5 = ep4("192.0.2.7", 9999), got;
	struct rv_session_params prm = { .local_index = 5, .remote_index = 6 };
	struct rv_session *s;

	prm.endpoint = e4;
	prm.endpoint_fixed = true;
	s = rv_session_new(&prm);
	cr_assert_not_null(s);
	cr_assert_not(rv_session_update_endpoint(s, &e5, NULL));
	rv_session_get_endpoint(s, &got);
	cr_assert(rv_endpoint_equal(&got, &e4));
	rv_session_free(s);

	/* The local address is part of the endpoint: a datagram to another of
	 * our addresses moves where replies leave from. */
	prm.endpoint_fixed = false;
	s = rv_session_new(&prm);
	cr_assert_not_null(s);
	inet_pton(AF_INET6, "::ffff:192.0.2.99", &e5.local);
	e5.in4.sin_port = e4.in4.sin_port;
	cr_assert(rv_session_update_endpoint(s, &e5, NULL));
	rv_session_get_endpoint(s, &got);
	cr_assert(rv_endpoint_equal(&got, &e5));
	cr_assert_eq(memcmp(&got.local, &e5.local, sizeof(got.local)), 0);
	rv_session_free(s);
}

Test(session, old_counter_is_too_old)
{
	static struct pkt_buf first, b[64];
	struct rv_pkt pkts[64];
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen, last_dlen = 0;
	size_t sent = 1;

	pair_new(&p, NULL);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	rv_session_activate_epoch(p.b, 1);
	cr_assert_eq(seal_one(p.a, &first, 8, 1, now, &dlen), RV_SESSION_OK);
	/* Push the window one full width past counter 0. */
	while (sent <= RV_REPLAY_WINDOW) {
		for (size_t i = 0; i < 64; i++) {
			pkts[i] = (struct rv_pkt){ .buf = b[i].data, .len = 0 };
		}
		cr_assert_eq(rv_session_seal_batch(p.a, pkts, 64, now), RV_SESSION_OK);
		sent += 64;
		last_dlen = pkts[63].len;
	}
	cr_assert_eq(open_one(p.b, &b[63], last_dlen, now, NULL), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &first, dlen, now, NULL), RV_SESSION_TOO_OLD);
	/* One still inside the window opens. */
	cr_assert_eq(open_one(p.b, &b[0], last_dlen, now, NULL), RV_SESSION_OK);
	pair_free(&p);
}

Test(session, unknown_key_id_is_no_key)
{
	static struct pkt_buf b;
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen;

	pair_new(&p, NULL);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	rv_session_activate_epoch(p.b, 1);
	cr_assert_eq(seal_one(p.a, &b, 20, 1, now, &dlen), RV_SESSION_OK);
	b.data[1] = 2; /* key_id of an epoch B never installed */
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_NO_KEY);
	b.data[1] = 1;
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_OK);
	pair_free(&p);
}

/* The rollover of session.h, step by step. */
Test(session, rollover)
{
	static struct pkt_buf old1, new2, back, b;
	uint8_t k[RV_AEAD_KEY_LEN] = { 0 };
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen_old1, dlen_new2, dlen, len;

	pair_new(&p, NULL);
	install_both(&p, 1);
	/* Only A activates; B follows on A's first packet. */
	rv_session_activate_epoch(p.a, 1);
	cr_assert_eq(seal_one(p.a, &b, 10, 1, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_KEY_ROLLED);
	cr_assert_eq(rv_session_tx_epoch(p.b), 1u);
	cr_assert_eq(seal_one(p.a, &old1, 11, 2, now, &dlen_old1), RV_SESSION_OK);

	/* Step 1: both install 2 (receive only). */
	install_both(&p, 2);
	cr_assert_eq(rv_session_tx_epoch(p.a), 1u);
	cr_assert_eq(rv_session_install_epoch(p.a, p.q, 2, k, k, T_NOW), -EINVAL);
	cr_assert_eq(rv_session_install_epoch(p.a, p.q, 1, k, k, T_NOW), -EINVAL);
	cr_assert_eq(rv_session_install_epoch(p.a, p.q, 0, k, k, T_NOW), -EINVAL);
	/* Step 2: A activates 2. */
	cr_assert_eq(rv_session_activate_epoch(p.a, 2), 0);
	cr_assert_eq(rv_session_activate_epoch(p.a, 1), 0); /* older: no change */
	cr_assert_eq(rv_session_tx_epoch(p.a), 2u);
	cr_assert_eq(seal_one(p.a, &new2, 12, 3, now, &dlen_new2), RV_SESSION_OK);
	cr_assert_eq(new2.data[1], 2);
	/* Step 3: B switches on the first packet under 2, once. */
	cr_assert_eq(open_one(p.b, &new2, dlen_new2, now, &len), RV_SESSION_KEY_ROLLED);
	cr_assert_eq(len, 12u);
	cr_assert_eq(rv_session_tx_epoch(p.b), 2u);
	/* Overlap: a packet sealed under 1 (in flight) still opens. */
	cr_assert_eq(open_one(p.b, &old1, dlen_old1, now, &len), RV_SESSION_OK);
	cr_assert_eq(len, 11u);
	cr_assert_eq(seal_one(p.a, &b, 13, 4, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_OK);
	cr_assert_eq(seal_one(p.b, &back, 14, 5, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(back.data[1], 2);
	cr_assert_eq(open_one(p.a, &back, dlen, now, NULL), RV_SESSION_OK);

	/* Epoch 3 lands in slot 0, epoch 4 in slot 1, evicting epoch 1 (E-1 of
	 * E+2 with E = 2); epoch 2 stays. */
	install_both(&p, 3);
	cr_assert_eq(seal_one(p.a, &old1, 15, 6, now, &dlen_old1), RV_SESSION_OK); /* epoch 2 */
	install_both(&p, 4);
	/* Re-seal a packet under epoch 1 is impossible now: check via key_id. */
	b = new2;
	b.data[1] = 1;
	cr_assert_eq(open_one(p.b, &b, dlen_new2, now, NULL), RV_SESSION_NO_KEY);
	cr_assert_eq(open_one(p.b, &old1, dlen_old1, now, NULL), RV_SESSION_OK);
	cr_assert_eq(rv_session_activate_epoch(p.a, 1), -ENOENT);
	cr_assert_eq(rv_session_activate_epoch(p.a, 4), 0);
	cr_assert_eq(seal_one(p.a, &b, 16, 7, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(b.data[1], 4);
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_KEY_ROLLED);
	cr_assert_eq(rv_session_tx_epoch(p.b), 4u);

	/* Installing over the sending epoch stops sending (rule 4 broken by
	 * the caller): 7 evicts 4 from slot 1. */
	install_both(&p, 5);
	install_both(&p, 6);
	install_both(&p, 7);
	cr_assert_eq(rv_session_tx_epoch(p.a), 0u);
	cr_assert_eq(seal_one(p.a, &b, 16, 7, now, &dlen), RV_SESSION_NO_KEY);
	/* key_id wraps mod 256: epoch 7+256 would collide with 7 in another
	 * slot (7 % 3 = 1, 263 % 3 = 2). */
	cr_assert_eq(rv_session_install_epoch(p.a, p.q, 263, k, k, T_NOW), -EINVAL);
	cr_assert_eq(rv_session_install_epoch(p.a, p.q, 264, k, k, T_NOW), 0);

	/* drop_epoch. */
	cr_assert_eq(rv_session_drop_epoch(p.b, p.q, 4), -ENOENT);
	cr_assert_eq(rv_session_activate_epoch(p.b, 7), 0);
	cr_assert_eq(rv_session_drop_epoch(p.b, p.q, 7), 0);
	cr_assert_eq(rv_session_tx_epoch(p.b), 0u);
	cr_assert_eq(rv_session_activate_epoch(p.b, 7), -ENOENT);
	pair_free(&p);
}

/* Epoch numbers wrap the 8-bit key_id: 255 -> 256 -> 257. */
Test(session, key_id_wraps)
{
	static struct pkt_buf b;
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen;

	pair_new(&p, NULL);
	for (uint32_t e = 254; e <= 258; e++) {
		install_both(&p, e);
		cr_assert_eq(rv_session_activate_epoch(p.a, e), 0);
		cr_assert_eq(seal_one(p.a, &b, 9, e, now, &dlen), RV_SESSION_OK);
		cr_assert_eq(b.data[1], (uint8_t)e);
		cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_KEY_ROLLED);
		cr_assert_eq(rv_session_tx_epoch(p.b), e);
	}
	pair_free(&p);
}

Test(session, rekey_soon_reported_once)
{
	static struct pkt_buf b;
	struct rv_session_params prm = { .rekey_after_messages = 10,
					 .rekey_after_ns = 5 * RV_NSEC_PER_SEC };
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen;

	pair_new(&p, &prm);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	cr_assert_not(rv_session_take_rekey_request(p.a, NULL));
	for (int i = 1; i <= 20; i++) {
		enum rv_session_result r = seal_one(p.a, &b, 5, (uint32_t)i, now, &dlen);

		cr_assert_eq(r, i == 10 ? RV_SESSION_REKEY_SOON : RV_SESSION_OK, "message %d: %s",
			     i, rv_session_result_str(r));
		/* Still a valid packet; the receiver reports the limit too
		 * (its caller wakes the control thread), once. */
		cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), i == 1	   ? RV_SESSION_KEY_ROLLED
								 : i == 10 ? RV_SESSION_REKEY_SOON
									   : RV_SESSION_OK);
	}
	cr_assert(rv_session_take_rekey_request(p.a, NULL));
	cr_assert_not(rv_session_take_rekey_request(p.a, NULL));
	/* The receiver counts the sender's packets under the key as well (a
	 * client is not told the server's limit), once. */
	cr_assert(rv_session_take_rekey_request(p.b, NULL), "the receiver did not ask");
	cr_assert_not(rv_session_take_rekey_request(p.b, NULL));

	/* The next epoch has its own flag; here the age triggers it. */
	install_both(&p, 2);
	rv_session_activate_epoch(p.a, 2);
	cr_assert_eq(seal_one(p.a, &b, 5, 0, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(seal_one(p.a, &b, 5, 0, now + 6 * RV_NSEC_PER_SEC, &dlen),
		     RV_SESSION_REKEY_SOON);
	cr_assert_eq(seal_one(p.a, &b, 5, 0, now + 7 * RV_NSEC_PER_SEC, &dlen), RV_SESSION_OK);
	cr_assert(rv_session_take_rekey_request(p.a, NULL));

	/* A request not taken before its epoch was replaced is answered by
	 * that replacement: dropped, not a second exchange. */
	install_both(&p, 3);
	rv_session_activate_epoch(p.a, 3);
	cr_assert_eq(seal_one(p.a, &b, 5, 0, now + 13 * RV_NSEC_PER_SEC, &dlen),
		     RV_SESSION_REKEY_SOON);
	install_both(&p, 4);
	rv_session_activate_epoch(p.a, 4);
	cr_assert(rv_session_rekey_requested(p.a));
	cr_assert_not(rv_session_take_rekey_request(p.a, NULL),
		      "a request for epoch 3 after epoch 4");
	cr_assert_not(rv_session_rekey_requested(p.a));
	pair_free(&p);
}

Test(session, reject_after_time_is_expired)
{
	static struct pkt_buf b;
	struct rv_session_params prm = { .reject_after_ns = 2 * RV_NSEC_PER_SEC };
	struct rv_session_stats st;
	struct pair p;
	uint64_t now = T_NOW;
	uint32_t dlen;

	pair_new(&p, &prm);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, now + 3 * RV_NSEC_PER_SEC, &dlen), RV_SESSION_EXPIRED);
	rv_session_get_stats(p.a, &st);
	cr_assert_eq(st.tx_packets, 1u);
	/* The datagram sealed in time is refused once its epoch is too old,
	 * and accepted while it is not (replay untouched by the refusal). */
	cr_assert_eq(seal_one(p.a, &b, 5, 1, now, &dlen), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &b, dlen, now + 3 * RV_NSEC_PER_SEC, NULL), RV_SESSION_EXPIRED);
	cr_assert_eq(open_one(p.b, &b, dlen, now, NULL), RV_SESSION_KEY_ROLLED);
	/* A fresh epoch works again. */
	install_both(&p, 2);
	rv_session_activate_epoch(p.a, 2);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, T_NOW, &dlen), RV_SESSION_OK);
	rv_session_get_stats(p.b, &st);
	cr_assert_eq(st.drop[RV_DROP_KEY_EXPIRED], 1u);
	pair_free(&p);
}

/* rv_endpoint_from_sa: what getsockname gives, as an endpoint; a socket
 * address longer than an IPv6 one is none. */
Test(session, endpoint_from_sa)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct rv_endpoint ep, want = ep4("192.0.2.7", 4433);
	struct rv_ip_addr a;
	char buf[64];

	cr_assert(rv_endpoint_from_sa(&ep, &want.in4, sizeof(want.in4)));
	cr_assert(rv_endpoint_equal(&ep, &want));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(4433);
	inet_pton(AF_INET6, "2001:db8::7", &in6->sin6_addr);
	cr_assert(rv_endpoint_from_sa(&ep, &ss, sizeof(*in6)));
	cr_assert_str_eq(rv_endpoint_str(&ep, buf, sizeof(buf)), "[2001:db8::7]:4433");
	rv_endpoint_addr(&ep, &a);
	cr_assert_eq(a.family, AF_INET6);
	cr_assert_not(rv_endpoint_from_sa(&ep, &ss, sizeof(ss)));
	cr_assert_eq(ep.len, 0u);
	cr_assert_str_eq(rv_endpoint_str(&ep, buf, sizeof(buf)), "(none)");
}

Test(session, endpoint)
{
	struct rv_session_params prm = { .local_index = 5, .remote_index = 6 };
	struct rv_endpoint e4 = { 0 }, e6 = { 0 }, got;
	struct rv_session *s;
	char buf[64];

	s = rv_session_new(&prm);
	cr_assert_not_null(s);
	rv_session_get_endpoint(s, &got);
	cr_assert_eq(got.len, 0u);
	cr_assert_str_eq(rv_endpoint_str(&got, buf, sizeof(buf)), "(none)");

	e4 = ep4("192.0.2.7", 4433);
	cr_assert(rv_session_update_endpoint(s, &e4, NULL));
	cr_assert_not(rv_session_update_endpoint(s, &e4, NULL));
	rv_session_get_endpoint(s, &got);
	cr_assert(rv_endpoint_equal(&got, &e4));
	cr_assert_str_eq(rv_endpoint_str(&got, buf, sizeof(buf)), "192.0.2.7:4433");

	e4.in4.sin_port = htons(4434); /* NAT rebinding: new port */
	cr_assert(rv_session_update_endpoint(s, &e4, NULL));
	rv_session_get_endpoint(s, &got);
	cr_assert_eq(ntohs(got.in4.sin_port), 4434);

	e6.in6.sin6_family = AF_INET6;
	e6.in6.sin6_port = htons(51820);
	inet_pton(AF_INET6, "2001:db8::1", &e6.in6.sin6_addr);
	e6.len = sizeof(e6.in6);
	cr_assert(rv_session_update_endpoint(s, &e6, NULL));
	rv_session_get_endpoint(s, &got);
	cr_assert(rv_endpoint_equal(&got, &e6));
	cr_assert_not(rv_endpoint_equal(&got, &e4));
	cr_assert_str_eq(rv_endpoint_str(&got, buf, sizeof(buf)), "[2001:db8::1]:51820");
	/* As logs show a control connection's peer: a dual-stack socket's
	 * IPv4 peer as IPv4, a link-local one with its interface. */
	struct rv_endpoint m = e6;
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &m.in6.sin6_addr);
	cr_assert_str_eq(rv_endpoint_str(&m, buf, sizeof(buf)), "192.0.2.9:51820");
	inet_pton(AF_INET6, "fe80::1", &m.in6.sin6_addr);
	/* By its name (lo is 1 in every namespace; an index alone left the
	 * operator to look it up: round-thirty tester 153), by its number
	 * where no interface has it. */
	m.in6.sin6_scope_id = 1;
	cr_assert_str_eq(rv_endpoint_str(&m, buf, sizeof(buf)), "[fe80::1%lo]:51820");
	m.in6.sin6_scope_id = 999999;
	cr_assert_str_eq(rv_endpoint_str(&m, buf, sizeof(buf)), "[fe80::1%999999]:51820");

	/* Nonsense is refused, the old endpoint kept. */
	struct rv_endpoint bad = { .len = 3 };
	bad.sa.sa_family = AF_UNIX;
	cr_assert_not(rv_session_update_endpoint(s, &bad, NULL));
	rv_session_get_endpoint(s, &got);
	cr_assert(rv_endpoint_equal(&got, &e6));
	rv_session_free(s);

	/* Initial endpoint from params. */
	prm.endpoint = e4;
	s = rv_session_new(&prm);
	rv_session_get_endpoint(s, &got);
	cr_assert(rv_endpoint_equal(&got, &e4));
	rv_session_free(s);
}

/* Which sources a session may send from is the demux's question now
 * (test_core_demux.c: networks_longest_match_and_sources); here only the
 * addresses it was made with and the spoof counter. */
Test(session, addresses_and_spoof_counter)
{
	struct rv_session_params prm = { .local_index = 5, .remote_index = 6 };
	struct rv_ip_addr a4 = { .family = AF_INET, .a = { 10, 8, 0, 2 } };
	struct rv_session *s;

	prm.vaddr4 = a4;
	s = rv_session_new(&prm);
	cr_assert(rv_ip_addr_equal(rv_session_vaddr4(s), &a4));
	cr_assert_eq(rv_session_vaddr4(s)->family, AF_INET);
	cr_assert_eq(rv_session_vaddr6(s)->family, 0);
	rv_session_count_drop(s, RV_DROP_SPOOF, 3);
	struct rv_session_stats st;
	rv_session_get_stats(s, &st);
	cr_assert_eq(st.drop[RV_DROP_SPOOF], 3u);
	rv_session_free(s);
}

/* Two threads seal concurrently for one session: every counter is used
 * exactly once, and every datagram opens at the peer. */
enum { CONC_THREADS = 2, CONC_BATCHES = 200, CONC_BATCH = 8 };
static struct pkt_buf conc_bufs[CONC_THREADS][CONC_BATCHES * CONC_BATCH];
static uint32_t conc_lens[CONC_THREADS][CONC_BATCHES * CONC_BATCH];
static struct rv_session *conc_s;
static uint64_t conc_now;

static void *conc_sealer(void *arg)
{
	size_t t = (size_t)arg;

	for (size_t b = 0; b < CONC_BATCHES; b++) {
		struct rv_pkt pkts[CONC_BATCH];

		for (size_t i = 0; i < CONC_BATCH; i++) {
			pkts[i] = (struct rv_pkt){ .buf = conc_bufs[t][b * CONC_BATCH + i].data,
						   .len = 40 };
		}
		if (rv_session_seal_batch(conc_s, pkts, CONC_BATCH, conc_now) != RV_SESSION_OK) {
			return (void *)1;
		}
		for (size_t i = 0; i < CONC_BATCH; i++) {
			conc_lens[t][b * CONC_BATCH + i] = pkts[i].len;
		}
	}
	return NULL;
}

Test(session, concurrent_seal_unique_counters)
{
	enum { TOTAL = CONC_THREADS * CONC_BATCHES * CONC_BATCH };
	static bool seen[TOTAL];
	pthread_t th[CONC_THREADS];
	struct pair p;

	pair_new(&p, NULL);
	install_both(&p, 1);
	rv_session_activate_epoch(p.a, 1);
	rv_session_activate_epoch(p.b, 1);
	conc_s = p.a;
	conc_now = T_NOW;
	for (size_t t = 0; t < CONC_THREADS; t++) {
		pthread_create(&th[t], NULL, conc_sealer, (void *)t);
	}
	for (size_t t = 0; t < CONC_THREADS; t++) {
		void *ret;

		pthread_join(th[t], &ret);
		cr_assert_null(ret);
	}
	for (size_t t = 0; t < CONC_THREADS; t++) {
		for (size_t i = 0; i < CONC_BATCHES * CONC_BATCH; i++) {
			struct rv_data_hdr h;

			cr_assert_eq(rv_wire_parse_data_hdr(&h, conc_bufs[t][i].data,
							    conc_lens[t][i]),
				     RV_WIRE_OK);
			cr_assert_lt(h.counter, (uint64_t)TOTAL);
			cr_assert_not(seen[h.counter], "counter %llu twice",
				      (unsigned long long)h.counter);
			seen[h.counter] = true;
			cr_assert_eq(open_one(p.b, &conc_bufs[t][i], conc_lens[t][i], conc_now,
					      NULL),
				     RV_SESSION_OK);
		}
	}
	pair_free(&p);
}

Test(session, result_names)
{
	cr_assert_str_eq(rv_session_result_str(RV_SESSION_OK), "ok");
	cr_assert_str_eq(rv_session_result_str(RV_SESSION_TOO_OLD), "too_old");
	cr_assert_str_eq(rv_session_result_str((enum rv_session_result)99), "?");
}

/* seal_batch_ext: headers in the buffer, payload elsewhere (a superframe
 * slice); the peer opens it to the concatenation, counters continue, and
 * tx_bytes counts both pieces. */
Test(session, seal_batch_ext_scatter)
{
	static const uint32_t heads[] = { 0, 20, 40, 52, 60 };
	static const uint32_t extras[] = { 0, 1, 1368, 100, 1380 };
	enum { N = ARRAY_SIZE(heads) };
	static struct pkt_buf bufs[N];
	static uint8_t src[N][1500];
	struct rv_pkt pkts[N];
	struct rv_pkt_extra ext[N];
	struct rv_data_hdr hdrs[N];
	enum rv_session_result res[N];
	struct rv_session_stats st;
	struct pair p;
	uint64_t now = T_NOW, total = 0;

	pair_new(&p, NULL);
	install_both(&p, 1);
	cr_assert_eq(rv_session_activate_epoch(p.a, 1), 0);
	cr_assert_eq(rv_session_activate_epoch(p.b, 1), 0);
	for (size_t i = 0; i < N; i++) {
		fill(bufs[i].data + RV_DATA_HDR_LEN, heads[i], (uint32_t)i);
		fill(src[i], extras[i], (uint32_t)(i + 100));
		pkts[i] = (struct rv_pkt){ .buf = bufs[i].data, .len = heads[i] };
		ext[i] = (struct rv_pkt_extra){ .p = src[i], .len = extras[i] };
		total += heads[i] + extras[i];
	}
	cr_assert_eq(rv_session_seal_batch_ext(p.a, pkts, ext, N, now), RV_SESSION_OK);
	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(pkts[i].len, heads[i] + extras[i] + RV_DATA_OVERHEAD);
		cr_assert_eq(rv_wire_parse_data_hdr(&hdrs[i], pkts[i].buf, pkts[i].len),
			     RV_WIRE_OK);
		cr_assert_eq(hdrs[i].counter, i);
	}
	cr_assert_eq(rv_session_open_batch(p.b, pkts, hdrs, res, N, now), N);
	for (size_t i = 0; i < N; i++) {
		uint8_t want[1500];

		cr_assert_eq(res[i], RV_SESSION_OK, "pkt %zu: %s", i,
			     rv_session_result_str(res[i]));
		cr_assert_eq(pkts[i].len, heads[i] + extras[i]);
		fill(want, heads[i], (uint32_t)i);
		cr_assert_arr_eq(bufs[i].data + RV_DATA_HDR_LEN, want, heads[i]);
		fill(want, extras[i], (uint32_t)(i + 100));
		cr_assert_arr_eq(bufs[i].data + RV_DATA_HDR_LEN + heads[i], want, extras[i]);
	}
	rv_session_get_stats(p.a, &st);
	cr_assert_eq(st.tx_packets, N - 1, "the empty one is not counted");
	cr_assert_eq(st.tx_bytes, total);
	/* NULL extras is the plain batch seal; counters continue. */
	pkts[0] = (struct rv_pkt){ .buf = bufs[0].data, .len = 10 };
	cr_assert_eq(rv_session_seal_batch_ext(p.a, pkts, NULL, 1, now), RV_SESSION_OK);
	cr_assert_eq(rv_wire_parse_data_hdr(&hdrs[0], pkts[0].buf, pkts[0].len), RV_WIRE_OK);
	cr_assert_eq(hdrs[0].counter, N);
	pair_free(&p);
}

/* Time is a parameter: an epoch's age counts from the |now_ns| it was
 * installed at, whatever the machine's uptime. The same sequence runs with
 * the epoch born at 0 s (a freshly booted machine), 30 s and 10^7 s. */
/* pair_born makes |p| with |prm|, epoch 1 installed on both at |birth|,
 * a's sending under it. */
static void pair_born(struct pair *p, const struct rv_session_params *prm, uint64_t birth)
{
	uint8_t ab[RV_AEAD_KEY_LEN], ba[RV_AEAD_KEY_LEN];

	pair_new(p, prm);
	key_for(ab, 1, 0xab);
	key_for(ba, 1, 0xba);
	cr_assert_eq(rv_session_install_epoch(p->a, p->q, 1, ab, ba, birth), 0);
	cr_assert_eq(rv_session_install_epoch(p->b, p->q, 1, ba, ab, birth), 0);
	rv_session_activate_epoch(p->a, 1);
}

static void epoch_age_at(uint64_t birth)
{
	static struct pkt_buf b;
	const uint64_t s = RV_NSEC_PER_SEC;
	struct rv_session_params prm = { .rekey_after_ns = 10 * s, .reject_after_ns = 20 * s };
	struct pair p;
	uint32_t dlen;

	pair_born(&p, &prm, birth);
	/* A worker's coarse clock may read a little before the install time. */
	if (birth > 0) {
		cr_assert_eq(seal_one(p.a, &b, 5, 1, birth - 1, &dlen), RV_SESSION_OK);
	}
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth, &dlen), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &b, dlen, birth, NULL), RV_SESSION_KEY_ROLLED);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth + 10 * s - 1, &dlen), RV_SESSION_OK);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth + 10 * s, &dlen), RV_SESSION_REKEY_SOON);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth + 20 * s - 1, &dlen), RV_SESSION_OK);
	cr_assert_eq(open_one(p.b, &b, dlen, birth + 20 * s - 1, NULL), RV_SESSION_OK);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth + 20 * s, &dlen), RV_SESSION_EXPIRED);
	cr_assert_eq(seal_one(p.b, &b, 5, 1, birth + 20 * s, &dlen), RV_SESSION_EXPIRED);
	pair_free(&p);
}

Test(session, time_epoch_born_at_0s)
{
	epoch_age_at(0);
}

Test(session, time_epoch_born_at_30s)
{
	epoch_age_at(30 * RV_NSEC_PER_SEC);
}

Test(session, time_epoch_born_at_1e7s)
{
	epoch_age_at(10000000ull * RV_NSEC_PER_SEC);
}

/* Replacing an epoch never waits for the workers: with a reader that never
 * passes a quiescent point, installs still return at once; the replaced keys
 * wait in the QSBR queue and are freed once the reader moves on. */
Test(session, install_never_waits_for_readers, .timeout = 10)
{
	static struct pkt_buf b;
	struct pair p;
	unsigned id;
	uint32_t dlen;

	pair_new(&p, NULL);
	cr_assert_eq(rv_qsbr_register(p.q, &id), 0);
	for (uint32_t e = 1; e <= 9; e++) {
		install_both(&p, e);
		cr_assert_eq(rv_session_activate_epoch(p.a, e), 0);
		cr_assert_eq(seal_one(p.a, &b, 8, e, T_NOW, &dlen), RV_SESSION_OK);
		cr_assert_eq(open_one(p.b, &b, dlen, T_NOW, NULL), RV_SESSION_KEY_ROLLED);
	}
	/* Epochs 1..6 were evicted on both sides: 12 key objects retired. */
	cr_assert_eq(rv_qsbr_pending(p.q), 12u);
	cr_assert_eq(rv_qsbr_reclaim(p.q), 0u);
	rv_qsbr_quiescent(p.q, id);
	cr_assert_eq(rv_qsbr_reclaim(p.q), 12u);
	cr_assert_eq(rv_session_drop_epoch(p.b, p.q, 9), 0);
	cr_assert_eq(rv_qsbr_pending(p.q), 1u);
	rv_qsbr_unregister(p.q, id);
	pair_free(&p);
}

/* One table maps results to drop reasons for the session and the workers:
 * every result that is a drop has its own reason, the others none. */
Test(session, drop_reason_table)
{
	static const struct {
		enum rv_session_result r;
		bool drop;
		enum rv_drop_reason why;
	} cases[] = {
		{ RV_SESSION_OK, false, 0 },
		{ RV_SESSION_REKEY_SOON, false, 0 },
		{ RV_SESSION_KEY_ROLLED, false, 0 },
		{ RV_SESSION_NO_KEY, true, RV_DROP_NO_KEY },
		{ RV_SESSION_EXPIRED, true, RV_DROP_KEY_EXPIRED },
		{ RV_SESSION_AUTH_FAIL, true, RV_DROP_AUTH },
		{ RV_SESSION_REPLAY, true, RV_DROP_REPLAY },
		{ RV_SESSION_TOO_OLD, true, RV_DROP_TOO_OLD },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum rv_drop_reason why = RV_DROP_MAX;

		cr_assert_eq(rv_session_drop_reason(cases[i].r, &why), cases[i].drop, "case %zu",
			     i);
		if (cases[i].drop) {
			cr_assert_eq(why, cases[i].why, "case %zu", i);
		}
	}
}

/* By default a sender asks for new keys 30 s before their end, after the
 * longest rekey_interval (150 s), which times the server's own exchanges:
 * at 120 s it rekeyed every 120 s whatever rekey_interval said (round
 * sixty-eight tester 305). */
Test(session, default_rekey_request_after_the_longest_rekey_interval)
{
	static struct pkt_buf b;
	const uint64_t s = RV_NSEC_PER_SEC, birth = 1000 * s;
	struct rv_session_params prm = { 0 };
	struct pair p;
	uint32_t dlen;

	pair_born(&p, &prm, birth);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth + 150 * s - 1, &dlen), RV_SESSION_OK);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth + 150 * s, &dlen), RV_SESSION_REKEY_SOON);
	cr_assert_eq(seal_one(p.a, &b, 5, 1, birth + 180 * s, &dlen), RV_SESSION_EXPIRED);
	pair_free(&p);
}
