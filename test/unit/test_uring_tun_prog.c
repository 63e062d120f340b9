/*
 * test_uring_tun_prog.c — the TUN queue-selection programs (uring/tun.c),
 * run by the kernel on made-up packets (BPF_PROG_TEST_RUN): the client's
 * program sends small packets to the last queue and large ones to the
 * others; the server's looks the destination up in its table of the
 * sessions' addresses (IPv4 and IPv6), then by longest prefix in its table
 * of the networks behind them (an address beats a network that holds it, a
 * longer network a shorter one), takes the next lane for a small packet,
 * falls back to the destination's last word when the address is in
 * neither (or no longer), and picks queue 0 for a packet too short to hold
 * its address; setting and clearing an entry say whether it was new or
 * there. The size limit is inclusive. Skips when the kernel refuses eBPF
 * to this process.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "uring/tun.h"

enum { SMALL_MAX = 256, ETH_LEN = 14 };

/* run gives |prog_fd| an IP packet of |len| bytes for |dst| (v4: 4 bytes,
 * v6: 16) behind an Ethernet header, as the test runner wants it, and
 * returns the queue the program picked. An IPv6 |len| under 40 cuts the
 * header short; it goes with the IPv4 EtherType, since the runner refuses
 * an IPv6 one so short (the program reads only the version nibble). */
static bool frag; /* run's packet is a fragment (IPv4 MF; an IPv6 fragment header) */

static uint32_t run(int prog_fd, const uint8_t *dst, size_t dst_len, size_t len)
{
	static uint8_t pkt[ETH_LEN + 2000];
	union bpf_attr attr;
	uint8_t *ip = pkt + ETH_LEN;
	int ret;

	cr_assert(len <= sizeof(pkt) - ETH_LEN && len >= 20);
	memset(pkt, 0, sizeof(pkt));
	if (dst_len == 16 && len < 40) {
		pkt[12] = 0x08, pkt[13] = 0x00;
		ip[0] = 0x60;
	} else if (dst_len == 4) {
		pkt[12] = 0x08, pkt[13] = 0x00;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(len >> 8), ip[3] = (uint8_t)len;
		ip[8] = 64, ip[9] = 17;
		ip[6] = frag ? 0x20 : 0; /* MF */
		memcpy(ip + 12, "\x0a\x00\x00\x01", 4);
		memcpy(ip + 16, dst, 4);
	} else {
		pkt[12] = 0x86, pkt[13] = 0xdd;
		ip[0] = 0x60;
		ip[4] = (uint8_t)((len - 40) >> 8), ip[5] = (uint8_t)(len - 40);
		ip[6] = frag ? 44 : 17, ip[7] = 64;
		ip[8] = 0xfd, ip[23] = 1;
		memcpy(ip + 24, dst, 16);
	}
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)prog_fd;
	attr.test.data_in = (uint64_t)(uintptr_t)pkt;
	attr.test.data_size_in = (uint32_t)(ETH_LEN + len);
	attr.test.repeat = 1;
	ret = (int)syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr));
	cr_assert_eq(ret, 0, "BPF_PROG_TEST_RUN (%zu bytes): %s", len, strerror(errno));
	return attr.test.retval;
}

static int loaded(int fd)
{
	if (fd == -EPERM || fd == -EACCES) {
		cr_skip_test("eBPF not allowed here: %s", strerror(-fd));
	}
	cr_assert_geq(fd, 0, "load: %s", strerror(-fd));
	return fd;
}

static const uint8_t v4_in[4] = { 10, 0, 0, 5 }, v4_out[4] = { 10, 0, 0, 6 };
static const uint8_t v6_in[16] = { 0xfd, [15] = 7 }, v6_out[16] = { 0xfd, [15] = 8 };

Test(tun_prog, client_small_packets_take_the_last_queue)
{
	int fd = loaded(rv_tun_prog_by_size(3, SMALL_MAX));

	cr_assert_eq(run(fd, v4_in, 4, 84), 2, "a ping");
	cr_assert_eq(run(fd, v4_in, 4, 256), 2, "at the limit");
	cr_assert_eq(run(fd, v4_in, 4, 257), 0, "one past it (flow hash 0 here)");
	cr_assert_eq(run(fd, v6_in, 16, 1500), 0);
	cr_assert_eq(run(fd, v6_in, 16, 104), 2);
	close(fd);
	cr_assert_eq(rv_tun_prog_by_size(1, SMALL_MAX), -EINVAL, "one queue: nothing to pick");
}

/* lanes loads the server's program over new tables in which 10.0.0.5 has
 * lane 1 and fd00::7 lane 0 (|a4|, |a6|). */
static int lanes(int *map, int *nets, struct rv_ip_addr *a4, struct rv_ip_addr *a6)
{
	*map = loaded(rv_tun_lanes_new(8));
	*nets = loaded(rv_tun_nets_new(8));
	*a4 = (struct rv_ip_addr){ .family = AF_INET };
	*a6 = (struct rv_ip_addr){ .family = AF_INET6 };
	memcpy(a4->a, v4_in, 4);
	memcpy(a6->a, v6_in, 16);
	cr_assert_eq(rv_tun_lane_set(*map, a4, 1), 1, "a new entry");
	cr_assert_eq(rv_tun_lane_set(*map, a6, 0), 1);
	return loaded(rv_tun_prog_by_lane(3, SMALL_MAX, *map, *nets, false));
}

Test(tun_prog, server_packets_follow_their_sessions_lane)
{
	struct rv_ip_addr a4, a6;
	int map, nets, fd = lanes(&map, &nets, &a4, &a6);

	/* In the table: the lane, and the next one for a small packet. */
	cr_assert_eq(run(fd, v4_in, 4, 1400), 1);
	cr_assert_eq(run(fd, v4_in, 4, 257), 1);
	cr_assert_eq(run(fd, v4_in, 4, 256), 2);
	cr_assert_eq(run(fd, v4_in, 4, 60), 2);
	cr_assert_eq(run(fd, v6_in, 16, 1400), 0);
	cr_assert_eq(run(fd, v6_in, 16, 80), 1);
	/* Not in the table: the address's last 32 bits mod 3 (10.0.0.6: 1;
	 * fd00::8: 2). */
	cr_assert_eq(run(fd, v4_out, 4, 1400), 1);
	cr_assert_eq(run(fd, v4_out, 4, 60), 2);
	cr_assert_eq(run(fd, v6_out, 16, 1400), 2);
	cr_assert_eq(run(fd, v6_out, 16, 80), 0);
	/* Moved to another lane, then taken out (10.0.0.5 mod 3: 0). */
	cr_assert_eq(rv_tun_lane_set(map, &a4, 2), 0, "an entry updated");
	cr_assert_eq(run(fd, v4_in, 4, 1400), 2);
	cr_assert_eq(rv_tun_lane_clear(map, &a4), 1, "removed");
	cr_assert_eq(rv_tun_lane_clear(map, &a4), 0, "absent: not an error");
	cr_assert_eq(run(fd, v4_in, 4, 1400), 0);
	cr_assert_eq(run(fd, v4_in, 4, 60), 1);
	/* An IPv6 header cut before the destination's last word: queue 0
	 * (fd00::7 would be lane 0 + 1 for its size). */
	cr_assert_eq(run(fd, v6_in, 16, 36), 0);
	cr_assert_eq(run(fd, v6_in, 16, 40), 1);
	close(fd);
	close(nets);
	close(map);
}

/* With a small queue per worker (a server's: 2n queues), a small packet
 * goes to the next lane's small queue, n + (lane + 1) % n, and never to a
 * queue a bulk flow fills, where the TUN dropped it with the bulk
 * (round-sixteen tester 77); bulk keeps its lane. */
Test(tun_prog, small_packets_take_the_small_queues)
{
	struct rv_ip_addr a4 = { .family = AF_INET }, a6 = { .family = AF_INET6 };
	int map = loaded(rv_tun_lanes_new(8)), nets = loaded(rv_tun_nets_new(8));
	int fd = loaded(rv_tun_prog_by_lane(3, SMALL_MAX, map, nets, true));

	memcpy(a4.a, v4_in, 4);
	memcpy(a6.a, v6_in, 16);
	cr_assert_eq(rv_tun_lane_set(map, &a4, 1), 1);
	cr_assert_eq(rv_tun_lane_set(map, &a6, 2), 1);
	cr_assert_eq(run(fd, v4_in, 4, 1400), 1, "bulk: its lane");
	cr_assert_eq(run(fd, v4_in, 4, 60), 3 + 2, "small: lane 2's small queue");
	cr_assert_eq(run(fd, v6_in, 16, 1400), 2);
	cr_assert_eq(run(fd, v6_in, 16, 80), 3 + 0, "lane 0's, past the last");
	/* Not in the table: the last 32 bits of 10.0.0.6 mod 3 = 1. */
	cr_assert_eq(run(fd, v4_out, 4, 1400), 1);
	cr_assert_eq(run(fd, v4_out, 4, 60), 3 + 2);
	/* A fragment is never small. */
	frag = true;
	cr_assert_eq(run(fd, v4_in, 4, 60), 1);
	frag = false;
	close(fd);
	close(nets);
	close(map);
}

static struct rv_prefix net(int family, const void *addr, unsigned len)
{
	struct rv_prefix p = { .addr = { .family = family }, .len = (uint8_t)len };

	memcpy(p.addr.a, addr, family == AF_INET ? 4 : 16);
	return p;
}

Test(tun_prog, networks_behind_sessions_follow_their_lane)
{
	static const uint8_t n16[4] = { 10, 20, 0, 0 }, n24[4] = { 10, 20, 5, 0 };
	static const uint8_t h1[4] = { 10, 20, 5, 9 }, h2[4] = { 10, 20, 7, 9 };
	static const uint8_t h3[4] = { 10, 21, 0, 9 }, n6[16] = { 0xfd, 0x20 };
	static const uint8_t h6[16] = { 0xfd, 0x20, [15] = 9 };
	struct rv_prefix p16 = net(AF_INET, n16, 16), p24 = net(AF_INET, n24, 24);
	struct rv_prefix p6 = net(AF_INET6, n6, 64);
	struct rv_ip_addr host = { .family = AF_INET };
	int map = loaded(rv_tun_lanes_new(8));
	int nets = loaded(rv_tun_nets_new(8));
	int fd = loaded(rv_tun_prog_by_lane(4, SMALL_MAX, map, nets, false));

	/* Fallbacks first (last word mod 4): 10.20.5.9 -> 1, 10.20.7.9 -> 1. */
	cr_assert_eq(run(fd, h1, 4, 1400), 1);
	cr_assert_eq(run(fd, h1, 4, 60), 2, "and the next for a small packet");
	cr_assert_eq(rv_tun_net_set(nets, &p16, 2), 1, "a new entry");
	cr_assert_eq(rv_tun_net_set(nets, &p24, 3), 1);
	cr_assert_eq(rv_tun_net_set(nets, &p6, 0), 1);
	cr_assert_eq(rv_tun_net_set(nets, &p6, 2), 0, "an entry updated");
	/* The longest prefix: 10.20.5.9 in the /24, 10.20.7.9 in the /16 only;
	 * 10.21.0.9 in neither (9 mod 4 = 1). Small packets take the next lane. */
	cr_assert_eq(run(fd, h1, 4, 1400), 3);
	cr_assert_eq(run(fd, h1, 4, 60), 0);
	cr_assert_eq(run(fd, h2, 4, 1400), 2);
	cr_assert_eq(run(fd, h2, 4, 60), 3);
	cr_assert_eq(run(fd, h3, 4, 1400), 1);
	cr_assert_eq(run(fd, h6, 16, 1400), 2);
	cr_assert_eq(run(fd, h6, 16, 80), 3);
	/* A session's own address beats a network that holds it. */
	memcpy(host.a, h1, 4);
	cr_assert_eq(rv_tun_lane_set(map, &host, 0), 1);
	cr_assert_eq(run(fd, h1, 4, 1400), 0);
	cr_assert_eq(rv_tun_lane_clear(map, &host), 1);
	/* The /24 gone: its addresses fall to the /16. */
	cr_assert_eq(rv_tun_net_clear(nets, &p24), 1, "removed");
	cr_assert_eq(rv_tun_net_clear(nets, &p24), 0, "absent: not an error");
	cr_assert_eq(run(fd, h1, 4, 1400), 2);
	cr_assert_eq(rv_tun_net_clear(nets, &p16), 1);
	cr_assert_eq(run(fd, h1, 4, 1400), 1);
	close(fd);
	close(nets);
	close(map);
	cr_assert_eq(rv_tun_nets_new(0), -EINVAL);
}

Test(tun_prog, a_full_table_says_so)
{
	struct rv_ip_addr a = { .family = AF_INET, .a = { 10, 0, 0, 1 } };
	int map = loaded(rv_tun_lanes_new(2));

	cr_assert_eq(rv_tun_lane_set(map, &a, 0), 1);
	a.a[3] = 2;
	cr_assert_eq(rv_tun_lane_set(map, &a, 1), 1);
	a.a[3] = 3;
	cr_assert_eq(rv_tun_lane_set(map, &a, 1), -E2BIG);
	a.a[3] = 2;
	cr_assert_eq(rv_tun_lane_set(map, &a, 0), 0, "an update of a present entry still works");
	close(map);
	cr_assert_eq(rv_tun_lanes_new(0), -EINVAL);
}

/* A small fragment goes with its datagram's bulk, not to the small lane:
 * there it overtook the datagram's first fragments, and the receiver's
 * kernel dropped most IPv4 datagrams so reordered (ipfrag_max_dist). */
Test(tun_prog, fragments_are_never_small)
{
	struct rv_ip_addr a4, a6;
	int size = loaded(rv_tun_prog_by_size(3, SMALL_MAX));
	int map, nets, lane = lanes(&map, &nets, &a4, &a6);

	frag = true;
	cr_assert_eq(run(size, v4_in, 4, 84), 0, "an IPv4 fragment (flow hash 0 here)");
	cr_assert_eq(run(size, v6_in, 16, 104), 0, "an IPv6 fragment");
	cr_assert_eq(run(lane, v4_in, 4, 60), 1, "its session's lane, not the next");
	cr_assert_eq(run(lane, v6_in, 16, 80), 0);
	frag = false;
	cr_assert_eq(run(size, v4_in, 4, 84), 2, "not a fragment: small");
	cr_assert_eq(run(size, v6_in, 16, 104), 2);
	cr_assert_eq(run(lane, v4_in, 4, 60), 2);
	cr_assert_eq(run(lane, v6_in, 16, 80), 1);
	close(lane);
	close(nets);
	close(map);
	close(size);
}
