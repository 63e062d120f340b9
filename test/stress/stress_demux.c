/*
 * stress_demux.c — lock-free session lookup against a churning writer.
 *
 * Reader threads (the workers' role) loop: look sessions up by receiver index,
 * by inner destination address and by an address inside the networks behind
 * them, check the anti-spoofing answer, touch what they find (immutable
 * fields, the endpoint seqlock, a seal of a small packet), sometimes report
 * a NAT rebinding, and pass a QSBR quiescent point after every batch; now and
 * then they go offline for a short sleep, as a worker does around a blocking
 * wait.
 *
 * The writer thread (the control thread's role) churns: create + install +
 * publish with a network per session (a /25 and a /112), unpublish + retire,
 * move a session's networks to another session and back (what a reload
 * does), rekey published sessions (installing every third epoch evicts a
 * slot and retires its keys through QSBR while readers are live), and
 * reclaims on a timer. Trie nodes the demux replaces are retired too. The
 * networks of some seats are held while nobody owns them
 * (rv_demux_set_reserved), and which ones changes now and then: their
 * placeholder is swapped in and out under the readers, who must never be
 * handed it.
 *
 * Then, for the last fifth of the time, an open storm: several threads open copies
 * of the same datagrams on one session; each must be accepted exactly once.
 *
 * A retired session is freed by rv_session_free, which wipes (memsets) the
 * whole object before free(): a reader that used a freed session would see a
 * zero index (counted as an error in any build) and, under ASan, trip a
 * use-after-free report (key objects come from crypto/secmem, which poisons
 * what it frees); under TSan a missing happens-before between a
 * reader's last access and the free is reported as a race.
 *
 *   stress_demux [seconds]        (default 5; exit 0 = clean)
 *   cmake -S . -B build/tsan -DRV_SANITIZE=thread && ... && build/tsan/test/stress_demux
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/demux.h"
#include "core/qsbr.h"
#include "core/session.h"
#include "core/wire.h"
#include "test/lib/t_stress.h"

enum {
	NUM_READERS = 3,
	POSITIONS = 512, /* session "seats" the writer churns over */
	READ_BATCH = 32, /* lookups between quiescent points */
	PAYLOAD = 64,
};

struct reader_stats {
	uint64_t lookups, hits, net_hits, seals, no_key, turns, errors;
};

static struct rv_demux *demux;
static struct rv_qsbr *qsbr;
static atomic_bool stop;
/* Receiver index published at each position (0: empty). The writer stores
 * it after rv_demux_add and clears it before rv_demux_remove; readers may
 * read a stale one, which is exactly the race under test. */
static _Atomic uint32_t seat_index[POSITIONS];
static _Atomic uint64_t error_count;

static void seat_addr4(unsigned pos, uint8_t out[4])
{
	out[0] = 10;
	out[1] = 77;
	out[2] = (uint8_t)(pos >> 8);
	out[3] = (uint8_t)pos;
}

static void seat_addr6(unsigned pos, uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = 0xfd;
	out[1] = 0x77;
	out[14] = (uint8_t)(pos >> 8);
	out[15] = (uint8_t)pos;
}

static void fail(const char *what, unsigned pos)
{
	fprintf(stderr, "stress_demux: ERROR %s (seat %u)\n", what, pos);
	atomic_fetch_add(&error_count, 1);
}

/* The networks behind the session at each position: 172.16.x.y/25 and
 * fd78::pos:0/112. */
static void seat_nets(unsigned pos, struct rv_prefix out[2])
{
	memset(out, 0, 2 * sizeof(*out));
	out[0].addr.family = AF_INET;
	out[0].addr.a[0] = 172;
	out[0].addr.a[1] = 16;
	out[0].addr.a[2] = (uint8_t)(pos >> 1);
	out[0].addr.a[3] = (uint8_t)((pos & 1) << 7);
	out[0].len = 25;
	out[1].addr.family = AF_INET6;
	out[1].addr.a[0] = 0xfd;
	out[1].addr.a[1] = 0x78;
	out[1].addr.a[12] = (uint8_t)(pos >> 8);
	out[1].addr.a[13] = (uint8_t)pos;
	out[1].len = 112;
}

/* seat_of returns the position of a session from its own address, or
 * POSITIONS if the address is not one of ours (a freed session?). */
static unsigned seat_of(const struct rv_session *s)
{
	const uint8_t *a = rv_session_vaddr4(s)->a;
	unsigned pos = (unsigned)a[2] << 8 | a[3];

	return a[0] == 10 && a[1] == 77 && pos < POSITIONS ? pos : POSITIONS;
}

/* use_session touches everything a worker would on the TX path. */
static void use_session(struct rv_session *s, uint32_t want_index, unsigned pos, uint8_t *buf,
			struct reader_stats *st)
{
	struct rv_endpoint ep;
	struct rv_pkt pkt = { .buf = buf, .len = PAYLOAD };
	enum rv_session_result r;
	uint8_t a4[4];

	if (want_index && rv_session_local_index(s) != want_index) {
		fail("index mismatch (freed session?)", pos);
	}
	seat_addr4(pos, a4);
	if (memcmp(rv_session_vaddr4(s)->a, a4, 4) != 0 || rv_session_remote_index(s) == 0) {
		fail("vaddr/remote mismatch (freed session?)", pos);
	}
	rv_session_get_endpoint(s, &ep);
	if (ep.len != 0 && ep.sa.sa_family != AF_INET) {
		fail("torn endpoint", pos);
	}
	r = rv_session_seal_batch(s, &pkt, 1, rv_coarse_now_ns());
	if (r == RV_SESSION_OK || r == RV_SESSION_REKEY_SOON) {
		st->seals++;
		if (pkt.len != PAYLOAD + RV_DATA_OVERHEAD || buf[0] != RV_MSG_DATA) {
			fail("bad sealed packet", pos);
		}
	} else if (r == RV_SESSION_NO_KEY) {
		/* The writer evicted the sending epoch mid-rekey: allowed. */
		st->no_key++;
	} else {
		fail(rv_session_result_str(r), pos);
	}
}

static void *reader(void *arg)
{
	struct reader_stats *st = arg;
	uint8_t buf[RV_DATA_HDR_LEN + PAYLOAD + RV_TAG_LEN];
	uint32_t rnd = (uint32_t)(uintptr_t)arg | 1;
	unsigned id;

	if (rv_qsbr_register(qsbr, &id) != 0) {
		fail("register", 0);
		return NULL;
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < READ_BATCH; k++) {
			unsigned pos = t_xorshift32(&rnd) % POSITIONS;
			uint32_t idx = atomic_load_explicit(&seat_index[pos], memory_order_relaxed);
			struct rv_session *s;
			uint8_t a4[4], a6[16];

			st->lookups += 2;
			if (idx) {
				s = rv_demux_by_index(demux, idx);
				if (s) {
					st->hits++;
					use_session(s, idx, pos, buf, st);
				}
			}
			if (t_xorshift32(&rnd) & 1) {
				seat_addr4(pos, a4);
				s = rv_demux_by_dst4(demux, a4);
			} else {
				seat_addr6(pos, a6);
				s = rv_demux_by_dst6(demux, a6);
			}
			if (s) {
				st->hits++;
				use_session(s, 0, pos, buf, st);
				if (!rv_demux_source_ok(demux, s, rv_session_vaddr4(s))) {
					fail("own address refused as a source", pos);
				}
				if ((t_xorshift32(&rnd) & 1023) == 0) {
					struct rv_endpoint ep = { .len = sizeof(ep.in4) };

					ep.in4.sin_family = AF_INET;
					ep.in4.sin_port = (uint16_t)t_xorshift32(&rnd);
					rv_session_update_endpoint(s, &ep, NULL);
				}
			}
		}
		for (int k = 0; k < READ_BATCH / 4; k++) {
			unsigned pos = t_xorshift32(&rnd) % POSITIONS, owner;
			struct rv_prefix net[2];
			struct rv_ip_addr in, out = { .family = AF_INET, .a = { 192, 0, 2, 1 } };
			struct rv_session *s;

			/* An address inside one of pos's networks: whoever owns it
			 * now (pos, or a session it was moved to) must be a live
			 * or just-retired session, never a freed one. */
			seat_nets(pos, net);
			in = net[k & 1].addr;
			in.a[in.family == AF_INET ? 3 : 15] |= (uint8_t)(t_xorshift32(&rnd) & 0x7f);
			s = in.family == AF_INET ? rv_demux_by_dst4(demux, in.a)
						 : rv_demux_by_dst6(demux, in.a);
			st->lookups++;
			if (!s) {
				continue;
			}
			st->net_hits++;
			owner = seat_of(s);
			if (owner == POSITIONS) {
				fail("network owned by a session that is not ours (freed?)", pos);
				continue;
			}
			use_session(s, 0, owner, buf, st);
			if (rv_demux_source_ok(demux, s, &out) || rv_demux_by_dst4(demux, out.a)) {
				fail("an address nobody owns was accepted", pos);
			}
		}
		st->turns++;
		t_reader_turn(qsbr, id, &rnd);
	}
	rv_qsbr_unregister(qsbr, id);
	return NULL;
}

struct writer_stats {
	uint64_t adds, removes, rekeys, evictions, moves, freed, add_fail;
};

/* Sessions freed by QSBR reclaim (the demux's trie nodes are freed there
 * too, and counted only in w.freed). */
static uint64_t sessions_freed;

static void session_free_counted(struct rv_qsbr_node *node)
{
	sessions_freed++;
	rv_session_free_node(node);
}

static struct writer_stats w;

static struct rv_session *seats[POSITIONS]; /* writer-private */
static uint32_t seat_epoch[POSITIONS];

static void keys_for(uint32_t epoch, unsigned pos, uint8_t *k1, uint8_t *k2)
{
	for (int i = 0; i < RV_AEAD_KEY_LEN; i++) {
		k1[i] = (uint8_t)(epoch + pos + i);
		k2[i] = (uint8_t)(epoch * 3 + pos + i);
	}
}

static int seat_fill(unsigned pos)
{
	struct rv_session_params p = { .remote_index = 0x5eed0000u + pos };
	uint8_t k1[RV_AEAD_KEY_LEN], k2[RV_AEAD_KEY_LEN];
	struct rv_session *s;
	int ret;

	ret = rv_demux_alloc_index(demux, &p.local_index);
	if (ret) {
		return ret;
	}
	p.vaddr4.family = AF_INET;
	seat_addr4(pos, p.vaddr4.a);
	p.vaddr6.family = AF_INET6;
	seat_addr6(pos, p.vaddr6.a);
	s = rv_session_new(&p);
	if (!s) {
		return -ENOMEM;
	}
	keys_for(1, pos, k1, k2);
	ret = rv_session_install_epoch(s, qsbr, 1, k1, k2, rv_coarse_now_ns());
	if (ret == 0) {
		ret = rv_session_activate_epoch(s, 1);
	}
	if (ret == 0) {
		ret = rv_demux_add(demux, s);
	}
	if (ret == 0) {
		struct rv_prefix net[2];

		seat_nets(pos, net);
		ret = rv_demux_set_prefixes(demux, s, net, 2);
		if (ret) {
			/* published for a moment: retire, not free */
			rv_demux_remove(demux, s);
			rv_qsbr_retire(qsbr, rv_session_retire_node(s), session_free_counted);
			w.adds++;
			return ret;
		}
	}
	if (ret) {
		rv_session_free(s);
		return ret;
	}
	seats[pos] = s;
	seat_epoch[pos] = 1;
	atomic_store_explicit(&seat_index[pos], p.local_index, memory_order_relaxed);
	return 0;
}

static void seat_empty(unsigned pos)
{
	struct rv_session *s = seats[pos];

	atomic_store_explicit(&seat_index[pos], 0, memory_order_relaxed);
	/* Phase 1: unpublish (tables and default). Phase 2: retire; freed by
	 * a later rv_qsbr_reclaim once every reader has quiesced. */
	rv_demux_remove(demux, s);
	rv_qsbr_retire(qsbr, rv_session_retire_node(s), session_free_counted);
	seats[pos] = NULL;
}

/* hold_every keeps the networks of every |step|-th seat while nobody owns
 * them (a reload giving the server a new list of subnets). */
static void hold_every(unsigned step)
{
	static struct rv_prefix held[POSITIONS * 2];
	size_t n = 0;

	for (unsigned pos = 0; pos < POSITIONS; pos += step) {
		seat_nets(pos, &held[n]);
		n += 2;
	}
	if (rv_demux_set_reserved(demux, held, n) != 0) {
		fail("hold networks", step);
	}
}

/* seat_move hands pos's networks to the session at |to| (a reload moving a
 * site), or back to pos itself when |to| == pos. */
static void seat_move(unsigned pos, unsigned to)
{
	struct rv_prefix net[2];

	seat_nets(pos, net);
	for (int i = 0; i < 2; i++) {
		if (rv_demux_add_prefix(demux, seats[to], &net[i]) != 0) {
			fail("move network", pos);
		}
	}
	w.moves++;
}

static void seat_rekey(unsigned pos)
{
	uint8_t k1[RV_AEAD_KEY_LEN], k2[RV_AEAD_KEY_LEN];
	uint32_t e = seat_epoch[pos] + 1;

	keys_for(e, pos, k1, k2);
	/* From epoch 4 on this evicts epoch e-3 and retires its keys through
	 * QSBR while readers may still be sealing with them. */
	if (rv_session_install_epoch(seats[pos], qsbr, e, k1, k2, rv_coarse_now_ns()) != 0 ||
	    rv_session_activate_epoch(seats[pos], e) != 0) {
		fail("rekey", pos);
		return;
	}
	if (e > 3) {
		w.evictions++; /* one key object retired, freed by rv_qsbr_reclaim */
	}
	seat_epoch[pos] = e;
}

/*
 * Phase 2, open storm: OPEN_THREADS threads open copies of the same sealed
 * datagrams on one session at once, each in ascending counter order. The
 * replay window is shared under the slot lock, so every datagram must be
 * accepted exactly once in total and every other copy refused as a replay.
 */
enum { OPEN_THREADS = 2, STORM_PKTS = 2048, STORM_BATCH = 32, STORM_LEN = 48 };

struct storm_thread {
	uint8_t bufs[STORM_PKTS][RV_DATA_HDR_LEN + STORM_LEN + RV_TAG_LEN];
	uint32_t lens[STORM_PKTS];
	uint64_t accepted, replays, other;
	struct rv_session *s;
};

static void *storm_opener(void *arg)
{
	struct storm_thread *t = arg;
	uint64_t now = rv_coarse_now_ns();

	for (size_t b = 0; b < STORM_PKTS; b += STORM_BATCH) {
		struct rv_pkt pkts[STORM_BATCH];
		struct rv_data_hdr hdrs[STORM_BATCH];
		enum rv_session_result res[STORM_BATCH];

		for (size_t i = 0; i < STORM_BATCH; i++) {
			pkts[i] = (struct rv_pkt){ .buf = t->bufs[b + i], .len = t->lens[b + i] };
			if (rv_wire_parse_data_hdr(&hdrs[i], pkts[i].buf, pkts[i].len) !=
			    RV_WIRE_OK) {
				fail("storm parse", 0);
			}
		}
		t->accepted += rv_session_open_batch(t->s, pkts, hdrs, res, STORM_BATCH, now);
		for (size_t i = 0; i < STORM_BATCH; i++) {
			if (res[i] == RV_SESSION_REPLAY) {
				t->replays++;
			} else if (res[i] == RV_SESSION_OK) {
				if (pkts[i].len != STORM_LEN ||
				    pkts[i].buf[RV_DATA_HDR_LEN] != (uint8_t)(b + i)) {
					fail("storm plaintext", 0);
				}
			} else {
				t->other++;
			}
		}
	}
	return NULL;
}

static void open_storm(double seconds, uint64_t *out_rounds, uint64_t *out_accepted)
{
	struct rv_session_params pa = { .local_index = 1, .remote_index = 2 };
	struct rv_session_params pb = { .local_index = 2, .remote_index = 1 };
	static struct storm_thread th[OPEN_THREADS];
	uint8_t k1[RV_AEAD_KEY_LEN] = { 1 }, k2[RV_AEAD_KEY_LEN] = { 2 };
	struct rv_session *a = rv_session_new(&pa), *b = rv_session_new(&pb);
	uint64_t deadline = rv_now_ns() + (uint64_t)(seconds * 1e9);
	uint64_t rounds = 0, accepted = 0;

	if (!a || !b || rv_session_install_epoch(a, NULL, 1, k1, k2, rv_coarse_now_ns()) ||
	    rv_session_install_epoch(b, NULL, 1, k2, k1, rv_coarse_now_ns()) ||
	    rv_session_activate_epoch(a, 1) || rv_session_activate_epoch(b, 1)) {
		fail("storm setup", 0);
		goto out;
	}
	while (rv_now_ns() < deadline) {
		pthread_t tid[OPEN_THREADS];
		uint64_t round_accepted = 0, round_replays = 0;

		/* Seal into thread 0's buffers, copy to the others. */
		for (size_t i = 0; i < STORM_PKTS; i += STORM_BATCH) {
			struct rv_pkt pkts[STORM_BATCH];

			for (size_t j = 0; j < STORM_BATCH; j++) {
				pkts[j] = (struct rv_pkt){ .buf = th[0].bufs[i + j],
							   .len = STORM_LEN };
				memset(pkts[j].buf + RV_DATA_HDR_LEN, (uint8_t)(i + j), STORM_LEN);
			}
			if (rv_session_seal_batch(a, pkts, STORM_BATCH, rv_coarse_now_ns()) !=
			    RV_SESSION_OK) {
				fail("storm seal", 0);
				goto out;
			}
			for (size_t j = 0; j < STORM_BATCH; j++) {
				th[0].lens[i + j] = pkts[j].len;
			}
		}
		for (int t = 0; t < OPEN_THREADS; t++) {
			if (t > 0) {
				memcpy(th[t].bufs, th[0].bufs, sizeof(th[0].bufs));
				memcpy(th[t].lens, th[0].lens, sizeof(th[0].lens));
			}
			th[t].s = b;
			th[t].accepted = th[t].replays = th[t].other = 0;
		}
		for (int t = 0; t < OPEN_THREADS; t++) {
			pthread_create(&tid[t], NULL, storm_opener, &th[t]);
		}
		for (int t = 0; t < OPEN_THREADS; t++) {
			pthread_join(tid[t], NULL);
			round_accepted += th[t].accepted;
			round_replays += th[t].replays;
			if (th[t].other) {
				fail("storm: refused for another reason", 0);
			}
		}
		if (round_accepted != STORM_PKTS ||
		    round_replays != (uint64_t)STORM_PKTS * (OPEN_THREADS - 1)) {
			fprintf(stderr, "stress_demux: ERROR storm accepted %llu replays %llu\n",
				(unsigned long long)round_accepted,
				(unsigned long long)round_replays);
			atomic_fetch_add(&error_count, 1);
		}
		rounds++;
		accepted += round_accepted;
	}
out:
	rv_session_free(a);
	rv_session_free(b);
	*out_rounds = rounds;
	*out_accepted = accepted;
}

int main(int argc, char **argv)
{
	struct reader_stats rst[NUM_READERS] = { 0 };
	pthread_t th[NUM_READERS];
	double seconds = argc > 1 ? atof(argv[1]) : 5.0;
	uint64_t deadline, next_reclaim;
	uint32_t rnd = 0x12345u;
	uint64_t lookups = 0, hits = 0, net_hits = 0, seals = 0, no_key = 0, turns = 0;

	if (seconds <= 0 || seconds > 600) {
		fprintf(stderr, "usage: stress_demux [seconds]\n");
		return 2;
	}
	qsbr = rv_qsbr_new(NUM_READERS);
	demux = qsbr ? rv_demux_new(POSITIONS, qsbr) : NULL;
	if (!demux || !qsbr) {
		fprintf(stderr, "stress_demux: setup failed\n");
		return 1;
	}
	hold_every(2);
	for (int i = 0; i < NUM_READERS; i++) {
		pthread_create(&th[i], NULL, reader, &rst[i]);
	}

	deadline = rv_now_ns() + (uint64_t)(seconds * 0.8 * 1e9);
	next_reclaim = 0;
	while (rv_now_ns() < deadline) {
		unsigned pos = t_xorshift32(&rnd) % POSITIONS;
		uint32_t op = t_xorshift32(&rnd) % 16;

		if (!seats[pos]) {
			if (seat_fill(pos) == 0) {
				w.adds++;
			} else {
				w.add_fail++;
			}
		} else if (op == 0) {
			seat_rekey(pos);
			w.rekeys++;
		} else if (op == 1 || op == 2) {
			unsigned to = op == 2 ? pos : t_xorshift32(&rnd) % POSITIONS;

			if (seats[to]) {
				seat_move(pos, to);
			}
		} else if (op < 8) {
			seat_empty(pos);
			w.removes++;
		} else if (op == 8 && t_xorshift32(&rnd) % 64 == 0) {
			hold_every(2 + t_xorshift32(&rnd) % 3);
		}
		if (rv_now_ns() >= next_reclaim) {
			w.freed += rv_qsbr_reclaim(qsbr);
			next_reclaim = rv_now_ns() + 100000; /* the control timer */
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < NUM_READERS; i++) {
		pthread_join(th[i], NULL);
	}
	for (unsigned pos = 0; pos < POSITIONS; pos++) {
		if (seats[pos]) {
			seat_empty(pos);
			w.removes++;
		}
	}
	/* No reader is registered any more: everything can go. */
	w.freed += rv_qsbr_reclaim(qsbr);
	/* Everything retired was freed: every session, every evicted epoch
	 * and some batches of trie nodes. */
	if (rv_qsbr_pending(qsbr) != 0 || sessions_freed != w.adds ||
	    w.freed <= w.adds + w.evictions || rv_demux_count(demux) != 0) {
		fprintf(stderr,
			"stress_demux: ERROR leak: adds %llu, sessions freed %llu, evicted keys "
			"%llu, objects freed %llu, pending %zu\n",
			(unsigned long long)w.adds, (unsigned long long)sessions_freed,
			(unsigned long long)w.evictions, (unsigned long long)w.freed,
			rv_qsbr_pending(qsbr));
		atomic_fetch_add(&error_count, 1);
	}
	rv_qsbr_free(qsbr);
	rv_demux_free(demux);

	uint64_t storm_rounds, storm_accepted;
	open_storm(seconds * 0.2, &storm_rounds, &storm_accepted);

	for (int i = 0; i < NUM_READERS; i++) {
		lookups += rst[i].lookups;
		hits += rst[i].hits;
		net_hits += rst[i].net_hits;
		seals += rst[i].seals;
		no_key += rst[i].no_key;
		turns += rst[i].turns;
	}
	printf("stress_demux: %.1fs readers=%d lookups=%llu hits=%llu network_hits=%llu seals=%llu "
	       "no_key=%llu quiescent=%llu | writer adds=%llu removes=%llu rekeys=%llu moves=%llu "
	       "freed=%llu add_fail=%llu | open storm rounds=%llu accepted=%llu | errors=%llu\n",
	       seconds, NUM_READERS, (unsigned long long)lookups, (unsigned long long)hits,
	       (unsigned long long)net_hits, (unsigned long long)seals, (unsigned long long)no_key,
	       (unsigned long long)turns, (unsigned long long)w.adds, (unsigned long long)w.removes,
	       (unsigned long long)w.rekeys, (unsigned long long)w.moves,
	       (unsigned long long)w.freed, (unsigned long long)w.add_fail,
	       (unsigned long long)storm_rounds, (unsigned long long)storm_accepted,
	       (unsigned long long)atomic_load(&error_count));
	if (hits == 0 || net_hits == 0 || w.moves == 0 || w.freed == 0 || w.rekeys == 0 ||
	    storm_rounds == 0) {
		fprintf(stderr, "stress_demux: ERROR nothing exercised\n");
		return 1;
	}
	return atomic_load(&error_count) ? 1 : 0;
}
