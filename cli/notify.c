/*
 * notify.c — sd_notify(3) messages for Type=notify units (see notify.h).
 */
#include "cli/notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "core/log.h"
#include "uring/dataplane.h"
#include "uring/tun.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* send_state sends |state| to NOTIFY_SOCKET as sd_notify(3) does, but never
 * waits: sd_notify blocks while the socket's queue is full, and a service
 * manager (or a parent posing as one) that does not read it froze the
 * control thread for good, SIGTERM and `status` unanswered (round-seventeen
 * tester 80). What cannot go at once is dropped and said. */
static void send_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	ssize_t sent;
	int fd;

	if (path == NULL || path[0] == '\0') {
		return;
	}
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		rv_warnx_rl("NOTIFY_SOCKET '%s' is no socket path: systemd not told", path);
		return;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0'; /* abstract */
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rv_warnx_rl("NOTIFY_SOCKET %s: %s: systemd not told", path, strerror(errno));
		return;
	}
	sent = sendto(fd, state, strlen(state), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		rv_warnx_rl("NOTIFY_SOCKET %s is full (the service manager does not read it): "
			    "'%.*s' dropped",
			    path, (int)strcspn(state, "\n"), state);
	} else if (sent < 0) {
		rv_warnx_rl("NOTIFY_SOCKET %s: %s: systemd not told", path, strerror(errno));
	}
	close(fd);
}

void rv_notify_init(struct rv_notify *n)
{
	uint64_t usec = 0;

	n->watchdog_ns = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		n->watchdog_ns = usec * 1000 / 2;
		rv_debug("systemd watchdog: pinging every %llu ms",
			 (unsigned long long)(n->watchdog_ns / 1000000));
	}
}

void rv_notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	send_state(msg);
}

void rv_notify_stopping(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=%s", status);
	send_state(msg);
}

/* The locks rv_notify_loop_event marks stopping (rv_notify_mark_on_stop):
 * one process, one loop. */
static struct {
	int tun_lock;
	struct rv_dataplane *dp;
} stop_marks = { -1, NULL };

void rv_notify_loop_event(void *ctx, enum rv_loop_event ev, const char *status)
{
	char msg[512];

	(void)ctx;
	switch (ev) {
	case RV_LOOP_READY:
		/* READY=1 was sent by the command once its sockets existed. */
		break;
	case RV_LOOP_STATUS:
		snprintf(msg, sizeof(msg), "STATUS=%s", status);
		send_state(msg);
		break;
	case RV_LOOP_WATCHDOG:
		/* Sent from a timer of the control loop, so a loop that hangs
		 * stops the pings and systemd restarts the service. */
		send_state("WATCHDOG=1");
		break;
	case RV_LOOP_RELOADING:
		/* MONOTONIC_USEC lets systemd tell this reload from an older one. */
		snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
			 (unsigned long long)(mono_ns() / 1000));
		send_state(msg);
		break;
	case RV_LOOP_RELOADED:
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status[0] ? status : "reloaded");
		send_state(msg);
		break;
	case RV_LOOP_STOPPING:
		/* A start meanwhile (a script that did not wait) waits for
		 * this process instead of refusing it: the locks were marked
		 * only once the goodbyes were done, a second and more after
		 * the signal, and the lease file's holder was refused after
		 * half a second of that (round-sixty-nine tester 314). */
		rv_ns_lock_stopping(stop_marks.tun_lock);
		rv_dataplane_stopping(stop_marks.dp);
		rv_notify_stopping("stopping: saying goodbye to every peer");
		break;
	}
}

void rv_notify_mark_on_stop(int tun_lock, struct rv_dataplane *dp)
{
	stop_marks.tun_lock = tun_lock;
	stop_marks.dp = dp;
}
