/*
 * blast.c — a small UDP packet source and sink for the packet-rate search
 * (perf/run.sh, PPS_TOOL=blast): the same cost per datagram whether the
 * rate is paced or not, so that every system is measured with one sender.
 * Paced iperf3 spends about twice the CPU per datagram of unpaced iperf3
 * and cannot send past about 107,000 64-byte datagrams a second on the
 * 2-vCPU VM of the README, while the bare veth was measured unpaced at
 * 204,000: no VPN could show more than half of it.
 *
 *   blast send ADDR PORT SIZE RATE SECONDS   RATE 0: as fast as it goes
 *   blast recv ADDR PORT SECONDS             bound to ADDR:PORT
 *
 * send prints "sent N"; recv prints "received N" once SECONDS have passed
 * since its first datagram, or 2 s after the last one. Datagrams go out
 * in batches of 32 (sendmmsg), each batch at its time on a CLOCK_MONOTONIC
 * schedule (a late batch is sent at once, not made up for later in a
 * burst); both sockets have 2 MiB buffers, as iperf3 -w 2M in perf/run.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 32, MAX_SIZE = 1472, BUF_BYTES = 2 << 20 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_addr(const char *host, const char *port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	long p = strtol(port, NULL, 10);

	memset(ss, 0, sizeof(*ss));
	if (p <= 0 || p > 65535) {
		return -1;
	}
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*v6);
		return 0;
	}
	return -1;
}

/* open_socket: a UDP socket with 2 MiB buffers, connected to |ss| (the
 * sender) or bound to it (the receiver). */
static int open_socket(const struct sockaddr_storage *ss, socklen_t len, bool to_bind)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), buf = BUF_BYTES;

	if (fd < 0) {
		perror("blast: socket");
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if ((to_bind ? bind(fd, (const struct sockaddr *)ss, len)
		     : connect(fd, (const struct sockaddr *)ss, len)) != 0) {
		perror(to_bind ? "blast: bind" : "blast: connect");
		close(fd);
		return -1;
	}
	return fd;
}

/* set_msgs points |n| messages at one buffer each, |stride| bytes apart
 * from |bufs|, |len| bytes long. */
static void set_msgs(struct mmsghdr *msgs, struct iovec *iov, uint8_t *bufs, size_t stride,
		     size_t len, int n)
{
	memset(msgs, 0, (size_t)n * sizeof(*msgs));
	for (int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ .iov_base = bufs + (size_t)i * stride, .iov_len = len };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

static int do_send(const struct sockaddr_storage *dst, socklen_t dst_len, size_t size,
		   uint64_t rate, uint64_t secs)
{
	static uint8_t payload[BATCH][MAX_SIZE];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t sent = 0, start, end, next, step;
	int fd = open_socket(dst, dst_len, false);

	if (fd < 0) {
		return 1;
	}
	set_msgs(msgs, iov, payload[0], sizeof(payload[0]), size, BATCH);
	step = rate ? (uint64_t)BATCH * 1000000000u / rate : 0;
	start = now_ns();
	end = start + secs * 1000000000u;
	next = start;
	for (uint64_t t = start; t < end; t = now_ns()) {
		int n;

		if (step && t < next) {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
					       .tv_nsec = (long)(next % 1000000000u) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		for (int i = 0; i < BATCH; i++) {
			uint64_t seq = sent + (uint64_t)i;

			memcpy(payload[i], &seq, sizeof(seq));
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0) {
			sent += (uint64_t)n;
		} else if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR &&
			   errno != ECONNREFUSED) {
			perror("blast: sendmmsg");
			close(fd);
			return 1;
		}
		/* The schedule, not the clock: a late batch does not move the
		 * next one later; one more than a batch late drops the debt. */
		next += step;
		if (step && now_ns() > next + step) {
			next = now_ns();
		}
	}
	close(fd);
	printf("sent %llu\n", (unsigned long long)sent);
	return 0;
}

static int do_recv(const struct sockaddr_storage *at, socklen_t at_len, uint64_t secs)
{
	static uint8_t bufs[64][MAX_SIZE + 64];
	struct mmsghdr msgs[64];
	struct iovec iov[64];
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	uint64_t got = 0, first = 0, last = 0, t0 = now_ns();
	int fd = open_socket(at, at_len, true);

	if (fd < 0) {
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	set_msgs(msgs, iov, bufs[0], sizeof(bufs[0]), sizeof(bufs[0]), 64);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = recvmmsg(fd, msgs, 64, 0, NULL);
		uint64_t t = now_ns();

		if (n > 0) {
			got += (uint64_t)n;
			last = t;
			if (!first) {
				first = t;
			}
		}
		if (first && (t - first > (secs + 1) * 1000000000u || t - last > 2000000000u)) {
			break;
		}
		if (!first && t - t0 > 30 * 1000000000ull) {
			break; /* nothing came */
		}
	}
	close(fd);
	printf("received %llu\n", (unsigned long long)got);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (argc == 7 && !strcmp(argv[1], "send") && parse_addr(argv[2], argv[3], &ss, &len) == 0) {
		long size = strtol(argv[4], NULL, 10);

		if (size < 8 || size > MAX_SIZE) {
			fprintf(stderr, "blast: SIZE must be 8..%d\n", MAX_SIZE);
			return 2;
		}
		return do_send(&ss, len, (size_t)size, strtoull(argv[5], NULL, 10),
			       strtoull(argv[6], NULL, 10));
	}
	if (argc == 5 && !strcmp(argv[1], "recv") && parse_addr(argv[2], argv[3], &ss, &len) == 0) {
		return do_recv(&ss, len, strtoull(argv[4], NULL, 10));
	}
	fprintf(stderr, "usage: blast send ADDR PORT SIZE RATE SECONDS | blast recv ADDR PORT "
			"SECONDS\n");
	return 2;
}
